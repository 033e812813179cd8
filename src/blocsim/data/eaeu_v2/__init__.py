"""EAEU dataset v2: OECD ICIO 2011-2022 with ARM, KGZ, TJK and UZB carved out of its rest of world.

``tables/`` holds the Parquet tables shipped with the package (read by
:func:`blocsim.data.load_dataset` as ``"eaeu-2022v2"``); :func:`blocsim.data.eaeu_v2.build.build_eaeu_v2`
rebuilds them byte for byte from the original public files (``blocsim data build-eaeu --from DIR``).
One module per step: :mod:`.sources` (reading), :mod:`.icio` (ICIO flows), :mod:`.sectors` (sector
mapping), :mod:`.carve` (carve-out of the four small economies), :mod:`.tariffs` (the union's rules),
:mod:`.covariates` (gravity variables, countries), :mod:`.services`, :mod:`.fiscal`, :mod:`.labour`.
Methods and sources: ``DATA.md`` (section "EAEU dataset v2").
"""

from __future__ import annotations

from pathlib import Path

from blocsim._lazy import lazy_exports

#: Folder of the bundled Parquet tables inside the installed package.
TABLES_DIR: Path = Path(__file__).resolve().parent / "tables"

_PUBLIC = {"build_eaeu_v2": "blocsim.data.eaeu_v2.build"}
__all__ = ["TABLES_DIR", *_PUBLIC]
__getattr__ = lazy_exports(__name__, _PUBLIC)[0]


def __dir__() -> list[str]:
    return sorted(__all__)
