"""causalgen: synthetic causal image datasets whose causal truth is known.

A structural causal model (SCM) over named variables is sampled, optionally intervened on, turned
into images by a scene (physics in pymunk, drawing in Pillow) and written with its labels, noise,
graph and spec to one HDF5 file.
"""

from __future__ import annotations

__version__ = "0.1.0"
