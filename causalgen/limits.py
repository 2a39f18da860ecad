"""Documented limits on what causalgen reads from untrusted spec files, in one place.

Every limit bounds the cost of reading, checking, sampling or rendering a spec: a file beyond a
limit is refused with a :class:`~causalgen.errors.SpecError` naming the limit, before any work
proportional to the excess is done. The expression language's own bounds (length, node count,
nesting, constant exponents) live beside it in :mod:`causalgen.scm.expr`; ``docs/scenes.md``
lists them all.
"""

from __future__ import annotations

MAX_SPEC_BYTES = 1_000_000  # a spec file (TOML); the bundled ones are under 5 KB
MAX_TOML_NESTING = 32  # nested arrays / inline tables inside one TOML value
MAX_VARIABLES = 200  # variables of one SCM
MAX_SHAPES = 500  # shapes of one custom scene
MAX_TEXT_SHAPES = 64  # text shapes of one custom scene (each may cost a canvas-sized mask)
MAX_TEXT_PIXELS = 2**22  # one text box (supersampled; also <= the canvas): larger is drawn smaller

__all__ = ["MAX_SHAPES", "MAX_SPEC_BYTES", "MAX_TEXT_PIXELS", "MAX_TEXT_SHAPES", "MAX_TOML_NESTING", "MAX_VARIABLES"]
