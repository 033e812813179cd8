"""Write a run's result tables and provenance into a directory, crash-safely; read it back.

A run directory holds tidy CSV tables (``countries.csv``, ``flows.csv``, ...), a
``run.json`` with the inputs, data hash, package version and solver diagnostics, and the
marker ``.blocsim-run`` that lists every file blocsim wrote there
(:mod:`blocsim.results.marker`). It is first written to a hidden sibling folder and then
swapped into place under a journal (:mod:`blocsim.results.journal`), so a crash or a
``kill -9`` at any moment leaves either the old run or the new one, complete, at the
target; the next :func:`write_run` or :func:`read_run` of that target finishes or undoes
an interrupted swap and removes blocsim's stale temporary folders.

An existing folder is replaced only if it is empty or a blocsim run holding nothing but
files blocsim wrote; anything else is refused with the list of foreign files, so ``--out``
never deletes user files.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
from pydantic import ValidationError

from blocsim._version import __version__
from blocsim.data.run_record import RUN_RECORD, SCHEMA_VERSION, RunRecord, read_run_record, run_record_problem
from blocsim.errors import BlocsimError
from blocsim.results.journal import clean_stale_dirs, fsync_tree, journal_path, recover, swap_directory, temp_name
from blocsim.results.marker import (
    MARKER_NAME,
    foreign_files,
    legacy_meta,
    is_staging_dir,
    marker_text,
    read_marker,
    run_files,
)


def provenance(**fields: Any) -> dict[str, Any]:
    """Standard provenance block: package version and UTC creation time, plus ``fields``."""
    return {
        "package": "blocsim",
        "version": __version__,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **fields,
    }


def run_record(meta: RunRecord | Mapping[str, Any], files: list[str]) -> RunRecord:
    """The record ``write_run`` writes: ``meta`` (a record, or its fields without provenance) with ``files``.

    A dict gets :func:`provenance` and the current ``schema_version`` where it has none and
    is validated into a :class:`~blocsim.data.run_record.RunRecord`.

    Raises
    ------
    BlocsimError
        ``meta`` is not a valid record (unknown key, missing field, wrong type), naming the field.
    """
    if isinstance(meta, RunRecord):
        return meta.model_copy(update={"files": files})
    fields = {"schema_version": SCHEMA_VERSION, **provenance(), **dict(meta), "files": files}
    try:
        return RunRecord.model_validate(fields)
    except ValidationError as error:
        raise BlocsimError(f"run.json to write: {run_record_problem(error)}") from None


def write_run(
    out_dir: str | os.PathLike[str],
    tables: Mapping[str, pd.DataFrame],
    meta: RunRecord | Mapping[str, Any],
    *,
    extra_files: Mapping[str, str | bytes] | None = None,
) -> Path:
    """Write ``tables`` as ``<name>.csv`` and ``meta`` as ``run.json`` into ``out_dir``.

    Parameters
    ----------
    out_dir
        Target directory; its parent is created if missing. A missing or empty folder, or
        a blocsim run directory holding only files blocsim wrote (its marker's list; for a
        run of the release before the marker, the files its ``run.json`` lists plus
        ``report.html`` and ``figures/<chart>.png``), is replaced once the new run is
        complete. Anything else (a file, a folder that is not a blocsim run, a run holding
        files a user added) is refused and left untouched.
    tables
        Mapping of table name (file stem, a plain file name) to DataFrame; written without
        the index.
    meta
        The run record: a :class:`~blocsim.data.run_record.RunRecord`, or a dict of its
        fields, validated into one (:func:`provenance` and ``schema_version`` added if
        absent); ``files`` is set here. Written as ``run.json``.
    extra_files
        Other files to place in the run directory (plain name -> text or bytes).

    Returns
    -------
    Path
        The final run directory.

    Raises
    ------
    BlocsimError
        ``out_dir`` cannot be replaced (listing the files blocsim did not write), cannot be
        created, or another process is replacing it; a table or file name is not a plain
        file name; ``meta`` is not a valid run record (nothing is written).
    """
    target = Path(out_dir).resolve()
    if target.parent == target:
        raise BlocsimError(f"--out {out_dir}: is the file-system root; choose a folder for the run")
    names = [f"{name}.csv" for name in tables] + list(extra_files or {})
    for name in names:
        _check_plain_name(name)
    record = run_record(meta, sorted([*names, RUN_RECORD]))
    _prepare(target)
    staging = _make_staging(target, out_dir)
    try:
        (staging / MARKER_NAME).write_text(marker_text([]))  # blocsim's from the first moment on
        for name, frame in tables.items():
            frame.to_csv(staging / f"{name}.csv", index=False)
        for name, content in (extra_files or {}).items():
            (staging / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        (staging / RUN_RECORD).write_text(record.model_dump_json(indent=1, exclude_none=True) + "\n", encoding="utf-8")
        (staging / MARKER_NAME).write_text(marker_text(record.files))
        fsync_tree(staging)
        swap_directory(staging, target, check=lambda: _check_replaceable(target))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _check_plain_name(name: str) -> None:
    if name in ("run.json", MARKER_NAME):
        raise BlocsimError(f"run file name {name!r}: reserved for blocsim's own run description")
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise BlocsimError(f"run file name {name!r}: must be a plain file name (no folders, not hidden)")


def _prepare(target: Path) -> None:
    """Finish interrupted swaps into ``target``, drop stale staging folders, check it may be replaced."""
    if not target.parent.is_dir():
        return  # created (or refused) by _make_staging; nothing to recover or check
    try:
        recover(target)
        clean_stale_dirs(target, is_staging_dir)
    except OSError as error:
        raise BlocsimError(
            f"--out {target}: an interrupted earlier write could not be completed ({error.strerror or error}); "
            f"check the permissions of {target.parent}"
        ) from None
    _check_replaceable(target)


def _make_staging(target: Path, out_dir: str | os.PathLike[str]) -> Path:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(temp_name(target.name, "tmp"))
        staging.mkdir(0o777)  # the umask applies: the run gets the usual permissions
    except OSError as error:
        raise BlocsimError(
            f"--out {out_dir}: cannot create the run directory ({error.strerror or error}); "
            "choose a writable location"
        ) from None
    return staging


def _listing(entries: list[str], limit: int = 10) -> str:
    shown = ", ".join(entries[:limit])
    return shown + (f" and {len(entries) - limit} more" if len(entries) > limit else "")


def _check_replaceable(target: Path) -> None:
    """Refuse to replace anything but an empty folder or a run holding only blocsim's files."""
    if not (target.exists() or target.is_symlink()):
        return
    if not target.is_dir():
        raise BlocsimError(f"--out {target}: is a file, not a directory; choose a directory path for the run")
    if not any(target.iterdir()):
        return
    files = run_files(target)
    if files is None:
        raise BlocsimError(
            f"--out {target}: not a blocsim run directory (no {MARKER_NAME} marker and no run.json written by "
            "blocsim); it is left untouched: choose a new or empty folder"
        )
    foreign = foreign_files(target, files)
    if foreign:
        raise BlocsimError(
            f"--out {target}: the run folder holds {len(foreign)} file(s) blocsim did not write: {_listing(foreign)}; "
            "nothing was changed. Move them out of the folder and run again, or choose another --out"
        )


def read_run(run_dir: str | os.PathLike[str]) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Read every ``*.csv`` table and ``run.json`` of a run directory.

    A swap into ``run_dir`` that a killed writer left unfinished is completed or undone
    first. The marker is checked (format and schema); a folder without one is read only if
    its ``run.json`` carries blocsim's provenance (a run of the release before the marker).

    Returns
    -------
    tables : dict of str to DataFrame
        Every ``<name>.csv`` by ``name``.
    meta : dict
        ``run.json``, validated as a :class:`~blocsim.data.run_record.RunRecord`
        (:func:`~blocsim.data.read_run_record`), as plain values without the optional
        blocks the run lacks (``RunRecord.as_dict``).

    Raises
    ------
    BlocsimError
        Not a blocsim run directory, a newer run schema, a file that cannot be read
        (not UTF-8, not JSON/CSV), or a ``run.json`` that is not a valid run record (an
        unknown key, a wrong type), naming the file and field.
    """
    path = Path(run_dir)
    meta_path = path / "run.json"
    _recover_before_read(path, missing=not meta_path.is_file())
    if read_marker(path) is None and legacy_meta(path) is None and meta_path.is_file():
        raise BlocsimError(
            f"{path}: not a blocsim run directory (no {MARKER_NAME} marker, and run.json lacks blocsim's "
            '"package": "blocsim" provenance); run a scenario with --out to make one'
        )
    meta = read_run_record(path).as_dict()
    tables = {}
    for table_path in sorted(path.glob("*.csv")):
        try:
            tables[table_path.stem] = pd.read_csv(table_path, encoding="utf-8")
        except UnicodeDecodeError as error:
            raise BlocsimError(
                f"{table_path}: {_not_utf8(table_path, error)}; blocsim reads run tables as UTF-8: save the file "
                "as UTF-8 (e.g. `iconv -f latin1 -t utf-8`) or re-run the scenario"
            ) from None
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise BlocsimError(f"{table_path}: cannot be read as CSV ({error}); re-run the scenario to rewrite it") from None
    return tables, meta


def _not_utf8(path: Path, error: UnicodeDecodeError) -> str:
    """'not UTF-8 text (byte 0xf4 at line 2, offset 13)', located in the whole file."""
    try:
        raw = path.read_bytes()
        raw.decode("utf-8")
    except UnicodeDecodeError as whole:
        offset = whole.start
        line = raw.count(b"\n", 0, offset) + 1
        return f"not UTF-8 text (byte 0x{raw[offset]:02x} at line {line}, offset {offset})"
    except OSError:
        pass
    return f"not UTF-8 text ({error.reason})"


def _recover_before_read(path: Path, *, missing: bool) -> None:
    """Complete or undo a swap into ``path`` that a killed writer left (journal beside it)."""
    target = path.resolve()
    if not (missing or journal_path(target).exists()):
        return
    try:
        recover(target)
    except OSError as error:
        if missing:
            raise BlocsimError(
                f"{path}: an interrupted replacement of this run could not be completed "
                f"({error.strerror or error}); run blocsim where {path.parent} is writable"
            ) from None
