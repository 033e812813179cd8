"""Write a run's result tables and provenance into a directory, atomically.

A run directory holds tidy CSV tables (``countries.csv``, ``flows.csv``, ...) and a
``run.json`` with the inputs, data hash, package version and solver diagnostics. It is
first written to a hidden sibling directory and then renamed into place, so a crash or
an error never leaves a half-written run behind.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from blocsim._version import __version__


def frame_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a DataFrame's values and column names (order-sensitive), hex."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def file_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, _dt.date, _dt.datetime)):
        return str(value)
    if isinstance(value, pd.DataFrame):
        return value.to_dict(orient="records")
    raise TypeError(f"cannot write {type(value).__name__} to run.json")


def provenance(**fields: Any) -> dict[str, Any]:
    """Standard provenance block: package version and UTC creation time, plus ``fields``."""
    return {
        "package": "blocsim",
        "version": __version__,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **fields,
    }


def write_run(
    out_dir: str | os.PathLike[str],
    tables: Mapping[str, pd.DataFrame],
    meta: Mapping[str, Any],
    *,
    extra_files: Mapping[str, str | bytes] | None = None,
) -> Path:
    """Write ``tables`` as ``<name>.csv`` and ``meta`` as ``run.json`` into ``out_dir``.

    Parameters
    ----------
    out_dir
        Target directory. An existing directory is replaced only after the new one is
        complete; its parent is created if missing.
    tables
        Mapping of table name (file stem) to DataFrame; written without the index.
    meta
        JSON-serialisable run description; :func:`provenance` fields are added if absent.
    extra_files
        Other files to place in the run directory (name -> text or bytes).

    Returns
    -------
    Path
        The final run directory.
    """
    target = Path(out_dir).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        for name, frame in tables.items():
            frame.to_csv(staging / f"{name}.csv", index=False)
        for name, content in (extra_files or {}).items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(staging / name, mode) as handle:
                handle.write(content)
        full_meta = {**provenance(), **dict(meta)}
        full_meta["files"] = sorted(p.name for p in staging.iterdir()) + ["run.json"]
        with open(staging / "run.json", "w") as handle:
            json.dump(full_meta, handle, indent=2, default=_json_default, sort_keys=False)
        _replace_dir(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _replace_dir(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``, swapping out an existing ``target`` last."""
    if not target.exists():
        os.replace(staging, target)
        return
    backup = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, backup)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def read_run(run_dir: str | os.PathLike[str]) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Read every ``*.csv`` table and ``run.json`` of a run directory."""
    path = Path(run_dir)
    meta_path = path / "run.json"
    if not meta_path.is_file():
        from blocsim.errors import BlocsimError

        raise BlocsimError(f"{path}: not a blocsim run directory (no run.json); run a scenario with --out {path} first")
    with open(meta_path) as handle:
        meta = json.load(handle)
    tables = {p.stem: pd.read_csv(p) for p in sorted(path.glob("*.csv"))}
    return tables, meta
