"""`causalvae evaluate-latents`: a foreign representation scored from files; mistakes exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from causalgen.io import open_dataset
from tests.cli.clirun import invoke


def test_latents_and_csv_graph_end_to_end(pendulum_file: Path, tmp_path: Path) -> None:
    with open_dataset(pendulum_file) as ds:
        labels, names, adj = ds.labels[:], ds.variable_names, ds.adjacency
    np.save(tmp_path / "z.npy", labels * 2.0 + 1.0)
    (tmp_path / "A.csv").write_text(",".join(names) + "\n" + "\n".join(
        ",".join(str(v) for v in row) for row in adj.T) + "\n")  # every edge reversed
    code, text = invoke("evaluate-latents", str(pendulum_file), str(tmp_path / "z.npy"),
                        "--graph", str(tmp_path / "A.csv"), "--out", str(tmp_path / "ev"))
    assert code == 0, text
    assert "MCC 1.000" in text and "SHD 4" in text
    r = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    for key in ("mcc", "mcc_spearman", "r2_linear", "r2_nonlinear", "mic", "tic_norm", "tic",
                "dci_d", "dci_c", "dci_i", "mig", "per_factor", "shd", "shd_cpdag", "precision",
                "recall", "sid"):
        assert key in r, key
    assert r["equivalence_class"] == "cpdag"


def test_bad_inputs_exit_2_and_write_nothing(pendulum_file: Path, tmp_path: Path) -> None:
    with open_dataset(pendulum_file) as ds:
        labels, names = ds.labels[:], ds.variable_names
    out = tmp_path / "ev"
    np.save(tmp_path / "short.npy", labels[:-1])
    np.save(tmp_path / "nan.npy", np.where(np.arange(len(labels))[:, None] == 3, np.inf, labels))
    np.save(tmp_path / "ok.npy", labels)
    (tmp_path / "bad.csv").write_text(",".join(names[:3]) + ",bob\n" + "0,0,0,0\n" * 4)
    np.save(tmp_path / "small.npy", np.zeros((2, 2)))
    cases = [
        (["short.npy"], "rows"),
        (["nan.npy"], "NaN or infinite"),
        (["ok.npy", "--graph", "bad.csv"], "unknown variable 'bob'"),
        (["ok.npy", "--graph", "small.npy"], "(4, 4)"),
        (["ok.npy", "--set", "graph_treshold=1"], "unknown evaluation key"),
        (["ok.npy", "--split", "test"], "rows"),
    ]
    for extra, message in cases:
        args = [str(tmp_path / extra[0]), *[str(tmp_path / a) if a.endswith((".csv", ".npy"))
                                            else a for a in extra[1:]]]
        code, text = invoke("evaluate-latents", str(pendulum_file), *args, "--out", str(out))
        assert code == 2 and message in text and "Traceback" not in text, (extra, text)
        assert not out.exists()


def test_latents_that_are_not_numpy_files_are_named_so(pendulum_file: Path, tmp_path: Path) -> None:
    # a CSV or the .h5 itself given as LATENTS was refused as "pickled (object) data. If you
    # trust the file you can load it unsafely...", numpy's message for anything it cannot place
    (tmp_path / "z.csv").write_text("0.1,0.2\n0.3,0.4\n")
    for latents in [tmp_path / "z.csv", pendulum_file]:
        code, text = invoke("evaluate-latents", str(pendulum_file), str(latents), "--out",
                            str(tmp_path / "ev"))
        assert code == 2 and "is not a .npy / .npz file" in text, text
        assert "pickle" not in text and "unsafely" not in text and not (tmp_path / "ev").exists()


def test_evaluate_refuses_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "notarun").mkdir()
    code, text = invoke("evaluate", str(tmp_path / "notarun"), "--set", "graph_threshold=0.2")
    assert code == 2 and "Traceback" not in text
    assert not (tmp_path / "notarun" / "evaluation.json").exists()
