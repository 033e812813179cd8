"""The run marker: how blocsim recognises its own run directories and the files in them.

Every run directory written by :func:`blocsim.results.write_run` holds a file
``.blocsim-run``::

    {"format": "blocsim-run", "schema": 1, "files": ["countries.csv", "flows.csv", "run.json", ...]}

``files`` (paths relative to the run directory, ``/``-separated) lists every file blocsim
wrote there: the tables and ``run.json`` at first, then ``report.html`` and
``figures/<chart>.png`` once the report commands add them (:func:`register_run_files`).
A folder is replaced only if everything in it is on that list, so a file a user saved in a
run folder is never deleted.

Run directories written before the marker existed ("legacy" runs: a ``run.json`` with the
blocsim provenance block, ``"package": "blocsim"``) are still read. They may be replaced
only if each file in them is one blocsim wrote: those listed in ``run.json["files"]``, plus
``report.html`` and ``figures/<chart>.png`` of the report commands. A folder whose
``run.json`` blocsim did not write is not a run directory.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterable

from blocsim.errors import BlocsimError
from blocsim.results.journal import parse_temp_name, write_file_atomic

MARKER_NAME = ".blocsim-run"
RUN_FORMAT = "blocsim-run"
#: Version of the run directory layout this blocsim writes and reads (1: tables + run.json
#: + marker with the file list).
RUN_SCHEMA = 1

#: Files the report commands of the release before the marker wrote into a run directory.
LEGACY_REPORT_FILES: frozenset[str] = frozenset(
    {"report.html", *(f"figures/{chart}.png" for chart in ("welfare", "map", "bloc", "revenue", "bilateral"))}
)
#: Temporary report files of that release (``tempfile.mkstemp`` names).
_LEGACY_REPORT_TEMP = re.compile(r"^\.report\.html\.[a-z0-9_]{8}\.tmp$")


def marker_text(files: Iterable[str]) -> str:
    """The marker's JSON text for a run directory holding ``files``."""
    record = {"format": RUN_FORMAT, "schema": RUN_SCHEMA, "files": sorted(set(files))}
    return json.dumps(record, indent=2) + "\n"


def _check_file_list(path: Path, files: Any) -> list[str]:
    if not isinstance(files, list) or not all(isinstance(name, str) for name in files):
        raise BlocsimError(f"{path}: field 'files' must be a list of file names (got {files!r}); re-run the scenario")
    for name in files:
        parts = name.split("/")
        if name.startswith("/") or "\\" in name or any(part in ("", ".", "..") for part in parts):
            raise BlocsimError(
                f"{path}: field 'files' holds {name!r}, not a relative path inside the run; re-run the scenario"
            )
    return files


def read_marker(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The checked marker of ``run_dir``, or None if it has none.

    Raises
    ------
    BlocsimError
        The marker is not valid JSON, not blocsim's format, or of a newer schema.
    """
    path = Path(run_dir) / MARKER_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise BlocsimError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        record = None
    if not isinstance(record, dict) or record.get("format") != RUN_FORMAT:
        raise BlocsimError(
            f"{path}: not a blocsim run marker (expected JSON with format {RUN_FORMAT!r}); "
            "the folder is left untouched: re-run the scenario into a new folder"
        )
    schema = record.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise BlocsimError(f"{path}: field 'schema' = {schema!r}; allowed: an integer from 1 to {RUN_SCHEMA}")
    if schema > RUN_SCHEMA:
        raise BlocsimError(
            f"{path}: run written by a newer blocsim (run schema {schema}; this version reads up to "
            f"{RUN_SCHEMA}); upgrade blocsim to read or replace it"
        )
    _check_file_list(path, record.get("files"))
    return record


def legacy_meta(run_dir: Path) -> dict[str, Any] | None:
    """``run.json`` of a run directory written before the marker existed, else None.

    A legacy run's ``run.json`` is a JSON object with ``"package": "blocsim"``.
    """
    try:
        meta = json.loads((run_dir / "run.json").read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(meta, dict) and meta.get("package") == "blocsim":
        return meta
    return None


def run_files(run_dir: Path) -> frozenset[str] | None:
    """Every file blocsim wrote in ``run_dir`` (relative paths), or None if it is not a run.

    Marked runs: the marker's list plus the marker. Legacy runs: ``run.json["files"]``,
    ``run.json`` and :data:`LEGACY_REPORT_FILES`.

    Raises
    ------
    BlocsimError
        The marker is invalid or of a newer schema (see :func:`read_marker`).
    """
    marker = read_marker(run_dir)
    if marker is not None:
        return frozenset({*marker["files"], MARKER_NAME})
    meta = legacy_meta(run_dir)
    if meta is None:
        return None
    listed = meta.get("files")
    names = listed if isinstance(listed, list) and all(isinstance(n, str) and "/" not in n for n in listed) else []
    return frozenset({*names, "run.json", *LEGACY_REPORT_FILES})


def _own_temporary(relative: str, files: frozenset[str]) -> bool:
    """Whether ``relative`` is a temporary file blocsim makes while writing one of ``files``."""
    folder, _, name = relative.rpartition("/")
    parsed = parse_temp_name(name)
    if parsed is not None and parsed.kind == "tmp":
        return (f"{folder}/{parsed.name}" if folder else parsed.name) in files
    return relative == name and "report.html" in files and _LEGACY_REPORT_TEMP.match(name) is not None


def foreign_files(run_dir: Path, files: frozenset[str]) -> list[str]:
    """Entries under ``run_dir`` that blocsim did not write (relative paths, folders end in ``/``).

    ``files`` is the run's list (:func:`run_files`). Symbolic links always count as foreign,
    as does a folder no listed file lives in.
    """
    foreign: list[str] = []

    def walk(folder: Path, prefix: str) -> None:
        for entry in sorted(folder.iterdir()):
            relative = prefix + entry.name
            if entry.is_symlink():
                foreign.append(relative)
            elif entry.is_dir():
                if any(name.startswith(relative + "/") for name in files):
                    walk(entry, relative + "/")
                else:
                    foreign.append(relative + "/")
            elif relative not in files and not _own_temporary(relative, files):
                foreign.append(relative)

    walk(run_dir, "")
    return foreign


def is_staging_dir(path: Path) -> bool:
    """Whether ``path`` carries blocsim's marker (valid, or empty as when a kill hit its write)."""
    marker = path / MARKER_NAME
    if not marker.is_file() or marker.is_symlink():
        return False
    try:
        return marker.stat().st_size == 0 or read_marker(path) is not None
    except BlocsimError:
        return False


def register_run_files(run_dir: str | os.PathLike[str], names: Iterable[str]) -> None:
    """Add ``names`` (paths relative to ``run_dir``) to the run's marker before writing them.

    Call it before writing the files, so a file blocsim writes is never unlisted. A legacy
    run (no marker) is left as it is: its report files are known by name.

    Raises
    ------
    BlocsimError
        The marker is invalid or of a newer schema.
    """
    path = Path(run_dir)
    marker = read_marker(path)
    if marker is None:
        return
    added = set(names)
    _check_file_list(path / MARKER_NAME, sorted(added))
    if added <= set(marker["files"]):
        return
    write_file_atomic(path / MARKER_NAME, marker_text([*marker["files"], *added]))
