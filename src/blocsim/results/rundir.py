"""Write a run's result tables and provenance into a directory, atomically.

A run directory holds tidy CSV tables (``countries.csv``, ``flows.csv``, ...) and a
``run.json`` with the inputs, data hash, package version and solver diagnostics. It is
first written to a hidden sibling directory and then renamed into place, so a crash or
an error never leaves a half-written run behind.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from blocsim._version import __version__
from blocsim.data.run_record import read_run_record
from blocsim.errors import BlocsimError


def _read_umask() -> int:
    """The process umask, read once at import (``os.umask`` can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


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
        Target directory; its parent is created if missing. An existing *run* directory
        (one holding ``run.json``) or an empty directory is replaced only after the new one
        is complete. Anything else (a file, a folder with other content) is refused, so a
        mistyped ``--out`` never deletes user files.
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

    Raises
    ------
    BlocsimError
        ``out_dir`` exists and is not a run directory, or cannot be created.
    """
    target = Path(out_dir).resolve()
    _check_replaceable(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as error:
        raise BlocsimError(
            f"--out {out_dir}: cannot create the run directory ({error.strerror or error}); "
            "choose a writable location"
        ) from None
    staging.chmod(0o777 & ~_UMASK)
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


def _check_replaceable(target: Path) -> None:
    """Refuse to overwrite anything that is not a previous run directory or an empty folder."""
    if not target.exists():
        return
    if not target.is_dir():
        raise BlocsimError(f"--out {target}: is a file, not a directory; choose a directory path for the run")
    if (target / "run.json").is_file() or not any(target.iterdir()):
        return
    raise BlocsimError(
        f"--out {target}: the folder exists and is not a blocsim run directory (no run.json); "
        "it is left untouched: choose a new or empty folder, or remove it first"
    )


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
    meta = read_run_record(path)
    tables = {}
    for table_path in sorted(path.glob("*.csv")):
        try:
            tables[table_path.stem] = pd.read_csv(table_path)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise BlocsimError(f"{table_path}: cannot be read as CSV ({error}); re-run the scenario to rewrite it") from None
    return tables, meta
