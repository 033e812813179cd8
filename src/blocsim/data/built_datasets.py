"""Model datasets built into the store (``blocsim data build NAME``): list them, read their tables.

:mod:`blocsim.data.user_datasets` builds them and :func:`blocsim.data.load_dataset` turns what
:func:`read_built` returns into a :class:`~blocsim.data.datasets.Dataset`. A built dataset lives
in ``$BLOCSIM_HOME/store/datasets/NAME/`` (Parquet tables, ``meta.json`` and the build marker).

A build writes into a staging folder ``.NAME.tmp-<pid>-<host>-<token>`` beside it
(:mod:`blocsim.data.staging`) and renames it into place; a replaced dataset is moved aside as
``.NAME.old-...`` first. The marker ``.blocsim-build``, written into the staging folder before
anything else::

    {"format": "blocsim-build", "schema": 1, "owner": {"pid": ..., "host": ..., "start": ...},
     "files": ["countries.parquet", ..., "meta.json"]}

says that blocsim made the folder and which files it writes there. A build killed midway
leaves its staging folder; the next build or listing removes it
(:func:`sweep_stale_builds`) once its writer is gone, if it holds the marker and nothing but
the files listed there. Nothing else in the folder is ever deleted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from blocsim.data import user_build as ub
from blocsim.data.staging import host_tag, is_real_dir, process_start, sweep_stale_dirs

BUILD_MARKER = ".blocsim-build"
BUILD_FORMAT = "blocsim-build"
BUILD_SCHEMA = 1
#: The files a build writes into a dataset folder (besides the marker).
BUILD_FILES: tuple[str, ...] = (*(f"{table}.parquet" for table in ub.TABLE_NAMES), "meta.json")


def marker_text() -> str:
    """The JSON text of the build marker of a folder this process writes (:data:`BUILD_MARKER`)."""
    pid = os.getpid()
    record = {"format": BUILD_FORMAT, "schema": BUILD_SCHEMA,
              "owner": {"pid": pid, "host": host_tag(), "start": process_start(pid)}, "files": list(BUILD_FILES)}
    return json.dumps(record, indent=1) + "\n"


def is_build_folder(folder: Path) -> bool:
    """Whether blocsim's build made ``folder``: it holds a valid build marker and only the files the
    marker lists (no subfolder, no file of anyone else)."""
    try:
        record = json.loads((folder / BUILD_MARKER).read_text(encoding="utf-8"))
        found = {entry.name: is_real_dir(entry) or entry.is_symlink() for entry in folder.iterdir()}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    if not isinstance(record, dict) or record.get("format") != BUILD_FORMAT or record.get("schema") != BUILD_SCHEMA:
        return False
    listed = record.get("files")
    if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
        return False
    return all(name in {*listed, BUILD_MARKER} and not special for name, special in found.items())


def sweep_stale_builds(home: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the staging (and set-aside) folders of builds whose process is gone.

    Only folders named as a build's temporary folder (:func:`blocsim.data.staging.temp_name`)
    whose writer no longer runs and that :func:`is_build_folder` recognises (or empty ones)
    are removed; a set-aside previous dataset only while its dataset is in place. Returns the
    removed paths.
    """
    return sweep_stale_dirs(ub.built_root(home), is_build_folder)


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
    """Describe the built datasets like :func:`~blocsim.data.datasets.list_datasets` (``origin`` ``"built"``).

    Staging folders of killed builds are removed first (:func:`sweep_stale_builds`)."""
    sweep_stale_builds(home)
    out = []
    for name in built_names(home):
        meta = json.loads((ub.built_root(home) / name / "meta.json").read_text(encoding="utf-8"))
        out.append({
            "name": name, "title": meta["title"], "years": list(meta["years"]), "countries": list(meta["regions"]),
            "sectors": list(meta["sectors"]), "source": "; ".join(s["input"] for s in meta["sources"]),
            "region_count": len(meta["regions"]), "sector_count": len(meta["sectors"]), "origin": "built",
        })
    return out
