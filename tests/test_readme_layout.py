"""The README's Layout section works as written: its toy model and toy scene run.

The two Python blocks of the section are written out as modules and, in a fresh interpreter (so
the test process's registries stay as they are), the scene is registered with the README's line,
built, sampled and rendered, and the model is built from its registered config and trained for a
step on those images. A README edit that breaks either example fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import numpy as np, torch
from causalgen import scenes
from causalvae.config import RunConfig, apply_overrides
import toyvae
scenes.register("dot-v1", "dot:Dot", "a dot whose radius grows with x")
scene = scenes.make("dot-v1")
scm = scene.default_scm()
s = scm.sample(16, np.random.default_rng(0))
images = scene.render(s.as_dict(), 32)
assert images.shape == (16, 32, 32, 3) and images.dtype == np.uint8 and images.min() < 255
assert scm.adjacency().tolist() == [[0, 1], [0, 0]]
cfg = apply_overrides(RunConfig.default("toyvae"), ["weight=1", "image_size=32", "n_concepts=2"])
assert RunConfig.from_dict(cfg.to_dict()) == cfg
from causalvae.models import build_model
model = build_model("toyvae", cfg.model)
x = torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255
out = model(x, None)
out.loss.backward()
assert torch.isfinite(out.loss) and set(out.terms) >= {"kl"}
print("ok")
"""


def test_the_readme_toys_run(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = text[text.index("## Layout"):]
    model, scene = re.findall(r"```python\n(.*?)```", layout, re.S)[:2]
    assert '@register("toyvae", ToyVAEConfig)' in model
    assert 'register("dot-v1", "causalgen.scenes.dot:Dot"' in layout
    (tmp_path / "toyvae.py").write_text(model, encoding="utf-8")
    (tmp_path / "dot.py").write_text(scene, encoding="utf-8")
    env_path = f"{tmp_path}:{ROOT}"
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
