"""Soak: many random hostile spec files through load + generate, one after another in one process.

Each spec (from ``tests/causalgen/hostile_specs.py``) is written to a file, loaded and, when it
loads, generated (8 samples, one worker). The promise: every spec either works or is refused
with a CausalgenError -- no other exception (a traceback), no spec slower than ``--hang``
seconds, and the process's peak memory (max RSS) under ``--max-mb``. Prints the outcome counts,
the wall time, the slowest specs and the peak RSS; exits 1 on any broken promise.

    python bench/soak_hostile.py --count 1000 --seed 0
"""

from __future__ import annotations

import argparse
import collections
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "causalgen")]

from hostile_specs import hostile_spec, run_spec  # noqa: E402


class Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hang


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hang", type=int, default=60, help="seconds after which a spec hangs")
    ap.add_argument("--max-mb", type=int, default=1024)
    args = ap.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    outcomes: collections.Counter[str] = collections.Counter()
    broken: list[tuple[int, str]] = []
    times: list[tuple[float, int]] = []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for i in range(args.count):
            case = args.seed * 1_000_003 + i
            spec = d / "spec.toml"
            spec.write_bytes(hostile_spec(random.Random(case)))
            t0 = time.perf_counter()
            signal.alarm(args.hang)
            try:
                outcome = run_spec(spec, d / "out.h5")
            except Hang:
                outcome = "HANG"
                broken.append((case, f"no answer within {args.hang} s"))
            except BaseException as exc:  # a traceback: the promise is broken
                outcome = f"TRACEBACK {type(exc).__name__}"
                broken.append((case, "".join(traceback.format_exception(exc))[-2000:]))
            finally:
                signal.alarm(0)
            times.append((time.perf_counter() - t0, case))
            outcomes[outcome] += 1
    wall = time.perf_counter() - t_start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    times.sort(reverse=True)
    print(f"{args.count} hostile specs in {wall:.1f} s ({wall / args.count * 1000:.0f} ms each), "
          f"peak RSS {peak_mb:.0f} MB")
    print("outcomes:", dict(outcomes.most_common()))
    print("slowest (s, case):", [(round(t, 2), c) for t, c in times[:5]])
    if peak_mb > args.max_mb:
        broken.append((-1, f"peak RSS {peak_mb:.0f} MB > {args.max_mb} MB"))
    for case, what in broken:
        print(f"BROKEN case {case}: {what}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
