"""The run record on disk: ``run.json``, the file that makes a folder a blocsim run, and reading it.

The ground floor of the run layout: the store (:mod:`blocsim.data.store`) catalogues a run
by its record, and :mod:`blocsim.results.rundir` writes and reads whole run directories
(tables and record) on top of this module.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from blocsim.errors import BlocsimError

#: File name of the run record inside a run directory.
RUN_RECORD = "run.json"


def read_run_record(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The run record (``run.json``) of a run directory, as written by :func:`blocsim.results.write_run`.

    Raises
    ------
    BlocsimError
        ``run_dir`` holds no ``run.json`` (not a run directory), or it is not a UTF-8 JSON object.
    """
    path = Path(run_dir)
    meta_path = path / RUN_RECORD
    if not meta_path.is_file():
        raise BlocsimError(f"{path}: not a blocsim run directory (no run.json); run a scenario with --out {path} first")
    raw = meta_path.read_bytes()
    try:
        meta = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise BlocsimError(f"{meta_path}: not UTF-8 text (byte 0x{raw[error.start]:02x} at line {line}, offset "
                           f"{error.start}); re-run the scenario to rewrite it") from None
    except json.JSONDecodeError as error:
        raise BlocsimError(f"{meta_path}: cannot be read as JSON ({error}); re-run the scenario to rewrite it") from None
    if not isinstance(meta, dict):
        raise BlocsimError(f"{meta_path}: must hold a JSON object (got {type(meta).__name__}); re-run the scenario")
    return meta
