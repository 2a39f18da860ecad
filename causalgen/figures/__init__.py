"""Figures for papers, drawn with matplotlib (the optional ``figures`` extra) in one style.

:mod:`~causalgen.figures.style` holds the palette, fonts, label wrapping and saving by
extension; :mod:`~causalgen.figures.layout` the layered graph layout (Graphviz ``dot`` when
installed); :mod:`~causalgen.figures.graph` causal-graph drawings; :mod:`~causalgen.figures.samples`
the sample grids of ``causalgen show``. causalvae's run figures build on the same style. Importing
this package does not import matplotlib; drawing a figure does.
"""

from __future__ import annotations

from causalgen.figures.style import DPI, OKABE_ITO, check_suffix, have_matplotlib, save

__all__ = ["DPI", "OKABE_ITO", "check_suffix", "have_matplotlib", "save"]
