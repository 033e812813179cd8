"""The bundled Eurasian Economic Union dataset: its recipe and its compact tables.

``tables/`` holds the derived tables shipped with the package (read by
:func:`blocsim.data.load_dataset`); :func:`build_eaeu` rebuilds them byte-for-byte from the
original public files (``blocsim data build-eaeu --from DIR``). Methods and sources: ``DATA.md``.
"""

from __future__ import annotations

from pathlib import Path

from blocsim._lazy import lazy_exports

#: Folder of the bundled tables inside the installed package.
TABLES_DIR: Path = Path(__file__).resolve().parent / "tables"

_PUBLIC = {"build_eaeu": "blocsim.data.eaeu.build", "TABLES": "blocsim.data.eaeu.build"}
__all__ = ["TABLES_DIR", *_PUBLIC]
__getattr__ = lazy_exports(__name__, _PUBLIC)[0]


def __dir__() -> list[str]:
    return sorted(__all__)
