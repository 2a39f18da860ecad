"""Checks shared by the causalgen and causalvae commands."""

from __future__ import annotations

from pathlib import Path

from causalgen.errors import CausalgenError


def check_png(out: Path) -> None:
    """Refuse a PNG output whose name or directory cannot work, before any work is done."""
    if out.suffix.lower() != ".png":
        raise CausalgenError(f"--out {out}: give a .png file name.")
    if not out.parent.exists():
        raise CausalgenError(f"--out {out}: the directory {out.parent} does not exist.")
