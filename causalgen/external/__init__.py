"""Bring external image data in: images with labels and a declared graph -> a schema-v1 file.

:func:`import_images` is the library behind ``causalgen import``; the file it writes has
``scene = "external/NAME"``, the chosen label columns (binary -1 / 1 attributes as 0 / 1), the
split and the declared graph, and no SCM: evaluation scores it against the labels and the
declared graph, and skips what needs a generator.
"""

from __future__ import annotations

from causalgen.external.importer import ImportReport, import_images

__all__ = ["ImportReport", "import_images"]
