"""Model datasets built into the store (``blocsim data build NAME``): list them and read their tables.

Reading only; :mod:`blocsim.data.user_datasets` builds them and :func:`blocsim.data.load_dataset`
turns what :func:`read_built` returns into a :class:`~blocsim.data.datasets.Dataset`. A built
dataset lives in ``$BLOCSIM_HOME/store/datasets/NAME/`` (Parquet tables and ``meta.json``).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pandas as pd

from blocsim.data import user_build as ub


def built_names(home: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the built datasets in the store (sorted)."""
    root = ub.built_root(home)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "meta.json").is_file()
                  and not p.name.startswith("."))


def read_built(
    name: str, home: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any], dict[str, pd.DataFrame]] | None:
    """Tables, meta and extra tables of built dataset ``name``, or ``None`` if there is none.

    Returns
    -------
    (tables, meta, extra) or None
        ``tables``: the Dataset contract's five tables; ``extra``: ``tariffs`` (the bilateral
        table, as the v2 export's ``tariffs.csv``) and ``tariffs_external`` (the per-importer table).
    """
    folder = ub.built_root(home) / name
    if not (folder / "meta.json").is_file():
        return None
    tables = {table: pd.read_parquet(folder / f"{table}.parquet") for table in ub.TABLE_NAMES}
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    extra = {"tariffs": tables.pop("tariffs_bilateral"), "tariffs_external": tables["tariffs"]}
    return tables, meta, extra


def built_stamp(name: str, home: str | os.PathLike[str] | None = None) -> tuple[str, int] | None:
    """Where built dataset ``name`` lives and when it was written (``meta.json``'s mtime, ns), or ``None``.

    Changes when the dataset is rebuilt (``--force``) or the store root moves, so that caches
    keyed on it (the scenario loader's dataset catalog) see the new tables at once.
    """
    meta = ub.built_root(home) / name / "meta.json"
    try:
        return str(meta), meta.stat().st_mtime_ns
    except OSError:
        return None


def list_built(home: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Describe the built datasets like :func:`~blocsim.data.datasets.list_datasets` (``origin`` ``"built"``)."""
    out = []
    for name in built_names(home):
        meta = json.loads((ub.built_root(home) / name / "meta.json").read_text(encoding="utf-8"))
        out.append({
            "name": name, "title": meta["title"], "years": list(meta["years"]), "countries": list(meta["regions"]),
            "sectors": list(meta["sectors"]), "source": "; ".join(s["input"] for s in meta["sources"]),
            "region_count": len(meta["regions"]), "sector_count": len(meta["sectors"]), "origin": "built",
        })
    return out
