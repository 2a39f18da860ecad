"""The spec files bundled with causalgen (``data/scenes/*.toml``), usable by name.

The package ships them as package data under ``causalgen/specs`` (in a source checkout that is a
link to ``data/scenes``), so ``causalgen scene chain`` and ``causalvae experiment chain`` work
from any directory and from an installed wheel. :func:`resolve_spec` turns a path or a bundled
name (with or without ``.toml``) into the file to load.
"""

from __future__ import annotations

import os
from pathlib import Path

from causalgen.errors import SpecError
from causalgen.scm.spec import did_you_mean

SPECS = Path(__file__).resolve().parent / "specs"


def spec_names() -> list[str]:
    """Names of the bundled spec files (without ``.toml``), sorted."""
    return sorted(p.stem for p in SPECS.glob("*.toml")) if SPECS.is_dir() else []


def bundled_spec(name: str) -> Path | None:
    """The bundled spec called ``name`` (``chain`` or ``chain.toml``), or None."""
    stem = name[:-5] if name.endswith(".toml") else name
    if os.sep in stem or "/" in stem or not stem:
        return None
    path = SPECS / f"{stem}.toml"
    return path if path.is_file() else None


def resolve_spec(target: str | os.PathLike) -> Path:
    """``target`` if it is an existing file, else the bundled spec of that name; a SpecError
    naming the bundled specs when it is neither."""
    path = Path(target)
    if path.exists():
        return path
    found = bundled_spec(str(target))
    if found is not None:
        return found
    names = spec_names()
    raise SpecError(f"no spec file {str(target)!r} and no bundled spec of that name"
                    f"{did_you_mean(path.stem, names)}; bundled specs: {', '.join(names)}.")
