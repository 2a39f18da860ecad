"""The one figure style of causalgen and causalvae: palette, fonts, label wrapping and saving.

Every figure of both packages is drawn with matplotlib through these helpers, so they share a
colour-blind-safe palette (Okabe and Ito, 2008), font sizes meant for a printed page, variable
names wrapped at word or underscore boundaries (never cut), units in labels where they are known,
and one way of saving: the file type follows the extension (``.png`` at 300 dpi by default,
``.pdf``, ``.svg``), written to a temporary name and renamed when complete. matplotlib is imported
lazily with the non-interactive Agg backend; a missing install gives :class:`FigureError` naming
``pip install causalgen[figures]``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from causalgen.errors import FigureError

# Okabe-Ito: distinguishable under the common colour-vision deficiencies, and in grey scale
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
CYCLE = [OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky",
                                "yellow", "black")]
NODE_FACE = "#E8F1FA"
NODE_EDGE = OKABE_ITO["blue"]
GREY = "#8C8C8C"
DPI = 300
SUFFIXES = (".png", ".pdf", ".svg")
FONT_SIZE = 9.0
INSTALL_HINT = "pip install 'causalgen[figures]'"

RC = {
    "font.size": FONT_SIZE, "axes.titlesize": FONT_SIZE + 1, "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE - 1, "ytick.labelsize": FONT_SIZE - 1,
    "legend.fontsize": FONT_SIZE - 1, "legend.frameon": False, "figure.dpi": 100,
    "savefig.dpi": DPI, "axes.spines.top": False, "axes.spines.right": False,
    "axes.linewidth": 0.8, "lines.linewidth": 1.4, "pdf.fonttype": 42, "svg.fonttype": "none",
    "font.family": "DejaVu Sans", "image.cmap": "cividis",
}


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend; FigureError naming the install when it is missing."""
    try:
        import matplotlib
    except ImportError as exc:  # figures are an optional extra
        raise FigureError(f"figures need matplotlib, which is not installed: {INSTALL_HINT}") from exc
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def have_matplotlib() -> bool:
    """Whether the figure extra is installed (for callers that draw figures only if they can)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def style() -> Iterator[Any]:
    """A context in which figures get the house style; yields ``matplotlib.pyplot``."""
    plt = pyplot()
    from cycler import cycler

    with plt.rc_context({**RC, "axes.prop_cycle": cycler(color=CYCLE)}):
        yield plt


def check_suffix(path: str | os.PathLike) -> Path:
    """``path`` as a Path, FigureError unless it ends in .png, .pdf or .svg."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise FigureError(f"{path}: a figure is written as .png, .pdf or .svg (by the extension).")
    return path


def save(fig: Any, path: str | os.PathLike, dpi: int = DPI) -> Path:
    """Write ``fig`` to ``path`` (type by extension, ``dpi`` for .png) atomically, then close it."""
    plt = pyplot()
    path = check_suffix(path)
    if not path.parent.exists():
        plt.close(fig)
        raise FigureError(f"the directory {path.parent} does not exist.")
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", pad_inches=0.04,
                    metadata={"Software": None} if path.suffix.lower() == ".png" else None)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        plt.close(fig)
    return path


_BREAK = re.compile(r"(?<=[_\- ])|(?=[A-Z][a-z])")  # after _ - or space, before CamelCase


def wrap(text: str, width: int = 14) -> str:
    """``text`` on lines of about ``width`` characters, broken after ``_``, ``-`` or a space;
    a piece longer than ``width`` stays whole. Joining the lines gives ``text`` back (spaces at
    a break are kept at the line's end), so nothing is ever cut."""
    pieces = [p for p in _BREAK.split(text) if p]
    lines: list[str] = []
    for piece in pieces:
        if lines and len(lines[-1].rstrip()) + len(piece.rstrip()) <= width:
            lines[-1] += piece
        else:
            lines.append(piece)
    return "\n".join(line.rstrip(" ") if i < len(lines) - 1 else line
                     for i, line in enumerate(lines)) if lines else text


def unwrap(label: str) -> str:
    """The text of a label that :func:`wrap` broke (for tests and checks)."""
    return label.replace("\n", "")


def with_unit(name: str, unit: str | None) -> str:
    """``name (unit)`` where the unit is known, else ``name``."""
    return f"{name} ({unit})" if unit and unit != "1" else name


def fmt_value(value: float, unit: str | None = None) -> str:
    """A value for a label: 3 significant digits, with its unit where known."""
    text = f"{value:.3g}"
    if unit and unit != "1":  # a no-break space: wrap() never parts a value from its unit
        text += "°" if unit in ("deg", "degree", "degrees", "°") else \
            "\u00a0" + unit.replace(" ", "\u00a0")
    return text
