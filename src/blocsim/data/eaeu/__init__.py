"""The bundled Eurasian Economic Union dataset: its recipe and its compact tables.

``tables/`` holds the derived tables shipped with the package (read by
:func:`blocsim.data.load_dataset`); :func:`build_eaeu` rebuilds them byte-for-byte from the
original public files (``blocsim data build-eaeu --from DIR``). Methods and sources: ``DATA.md``.
"""

from __future__ import annotations

from pathlib import Path

#: Folder of the bundled tables inside the installed package.
TABLES_DIR: Path = Path(__file__).resolve().parent / "tables"

__all__ = ["TABLES_DIR"]
