"""Crash-safe file replacement and clean-up of blocsim's own temporary files.

Replacing a run directory takes two renames: the old run out of the way, the new run in.
A process killed between them would leave no run at the target. So the writer first
records its intent in a journal file beside the target::

    .<name>.blocsim-swap   {"format": "blocsim-swap", "schema": 1, "target": ..., "staging": ...,
                            "backup": ..., "owner": {"pid": ..., "host": ..., "start": ...}}

then renames, deletes the old run and deletes the journal last. Whoever touches the target
next (:func:`recover`, called by ``write_run`` and ``read_run``, hence by the store) and
finds the journal of a writer that is gone finishes the swap: if the new run is still in
its staging folder and nothing is at the target, it is moved in (roll forward); if the old
run never left the target, the staging folder is deleted (roll back). Either way one
complete run is at the target afterwards. The journal is created complete (written to a
temporary file, then hard-linked into place), so it also serves as the lock that keeps two
writers of the same target apart.

Temporary names carry their writer (:mod:`blocsim.data.staging`, shared with the datasets
built into the store). A temporary entry is removed only when its writer is gone and, for
directories, when the caller recognises it as blocsim's own (the run marker). Nothing else
is ever deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from blocsim.data.staging import (
    TempName,
    entries,
    host_tag,
    is_real_dir,
    parse_temp_name,
    path_exists,
    process_alive,
    process_start,
    sweep_stale_dirs,
    temp_name,
)
from blocsim.errors import BlocsimError

JOURNAL_FORMAT = "blocsim-swap"
JOURNAL_SCHEMA = 1
JOURNAL_SUFFIX = ".blocsim-swap"

#: Seconds a writer waits for another live process to finish replacing the same target.
SWAP_WAIT_SECONDS = 30.0


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (renames) to disk; a no-op where directories cannot be opened."""
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def fsync_tree(path: Path) -> None:
    """Flush every file under ``path`` and the folders themselves to disk."""
    for folder, _dirs, files in os.walk(path):
        for name in files:
            handle = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(handle)
            finally:
                os.close(handle)
        fsync_dir(Path(folder))


def clean_stale_files(directory: Path, name: str) -> list[Path]:
    """Delete temporary files of ``directory/name`` left by writers that are gone.

    Only regular files named ``.<name>.tmp-<pid>-<host>-<token>`` whose writer (same host)
    no longer runs are removed, as far as permissions allow. Returns the removed paths.
    """
    removed: list[Path] = []
    for entry in entries(directory):
        parsed = parse_temp_name(entry.name)
        if parsed is None or parsed.name != name or parsed.kind != "tmp":
            continue
        if entry.is_file() and not entry.is_symlink() and not process_alive(parsed.pid, parsed.host):
            try:
                entry.unlink(missing_ok=True)
            except OSError:
                continue  # best effort: a file that cannot be removed stays, and blocks nothing
            removed.append(entry)
    return removed


def write_file_atomic(path: str | os.PathLike[str], content: str | bytes) -> Path:
    """Write ``content`` (text as UTF-8) to ``path`` through a temporary sibling and a rename.

    Readers see the old file or the new one, never a part. Stale temporaries of ``path``
    left by killed writers are removed first (:func:`clean_stale_files`). The file gets the
    usual permissions (0o666 less the umask).
    """
    target = Path(path)
    clean_stale_files(target.parent, target.name)
    data = content.encode("utf-8") if isinstance(content, str) else content
    staging = target.with_name(temp_name(target.name, "tmp"))
    handle = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return target


def write_files(folder: str | os.PathLike[str], writers: Mapping[str, Callable[[Path], None]]) -> list[Path]:
    """Write several files into ``folder``: each to a temporary sibling first, then all renamed.

    Parameters
    ----------
    folder
        An existing folder.
    writers
        File name -> function writing that file's content to the path it is given.

    Returns
    -------
    list of Path
        The written files. An error while writing leaves no temporary and no file
        changed; each file is replaced whole, never partly written. Other files in
        ``folder`` are never touched; stale temporaries of these names left by killed
        writers are removed (:func:`clean_stale_files`).
    """
    base = Path(folder)
    staged: dict[str, Path] = {}
    try:
        for name, write in writers.items():
            clean_stale_files(base, name)
            staged[name] = base / temp_name(name, "tmp")
            write(staged[name])
        for name, temp in staged.items():
            os.replace(temp, base / name)
    except BaseException:
        for temp in staged.values():
            temp.unlink(missing_ok=True)
        raise
    return [base / name for name in staged]


def journal_path(target: Path) -> Path:
    """The journal file of a swap into ``target``: ``.<name>.blocsim-swap`` beside it."""
    return target.with_name(f".{target.name}{JOURNAL_SUFFIX}")


def _owner() -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "host": host_tag(), "start": process_start(pid)}


def _create_exclusive(path: Path, data: bytes) -> None:
    """Create ``path`` holding ``data`` complete, or raise FileExistsError if it exists."""
    staging = path.with_name(temp_name(path.name, "tmp"))
    with open(staging, "xb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    try:
        os.link(staging, path)
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system: an exclusive create instead
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            os.write(handle, data)
            os.fsync(handle)
        finally:
            os.close(handle)
    finally:
        staging.unlink(missing_ok=True)
    fsync_dir(path.parent)


def _read_journal(path: Path) -> dict[str, Any] | None:
    """The journal record, None if the file vanished or is empty; BlocsimError if not a journal."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not raw:
        return None  # an exclusive create killed before its single write: nothing was renamed
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        record = None
    if (
        not isinstance(record, dict)
        or record.get("format") != JOURNAL_FORMAT
        or record.get("schema") != JOURNAL_SCHEMA
        or not isinstance(record.get("owner"), dict)
    ):
        raise BlocsimError(
            f"{path}: not a blocsim swap journal (expected JSON with format {JOURNAL_FORMAT!r}, "
            f"schema {JOURNAL_SCHEMA}); blocsim leaves the folder beside it untouched: remove this file "
            "if you made it"
        )
    return record


def _owner_alive(record: dict[str, Any]) -> bool:
    owner = record["owner"]
    try:
        pid, host = int(owner["pid"]), str(owner["host"])
    except (KeyError, TypeError, ValueError):
        return True
    start = owner.get("start")
    return process_alive(pid, host, start if isinstance(start, int) else None)


def _journal_member(target: Path, record: dict[str, Any], key: str, kind: str) -> Path:
    """The staging or backup folder a journal names, checked to be a temp name of ``target``."""
    name = record.get(key)
    parsed = parse_temp_name(name) if isinstance(name, str) and "/" not in name and "\\" not in name else None
    if parsed is None or parsed.name != target.name or parsed.kind != kind:
        raise BlocsimError(
            f"{journal_path(target)}: field {key!r} = {name!r} is not a {kind} folder of {target.name}; "
            "blocsim leaves everything untouched: remove the journal if you made it"
        )
    return target.with_name(name)


def _finish(target: Path, record: dict[str, Any]) -> None:
    """Complete or undo the swap a dead writer journaled, leaving one complete run at ``target``."""
    staging = _journal_member(target, record, "staging", "tmp")
    backup = _journal_member(target, record, "backup", "old")
    if is_real_dir(staging):
        if path_exists(target):
            shutil.rmtree(staging)  # the old run never left: roll back
        else:
            os.rename(staging, target)  # the new run is complete: roll forward
            fsync_dir(target.parent)
    elif not path_exists(target) and is_real_dir(backup):
        os.rename(backup, target)  # the new run is gone: put the old one back
        fsync_dir(target.parent)
    if is_real_dir(backup) and path_exists(target):
        shutil.rmtree(backup)


def _claimed_journals(target: Path) -> list[tuple[Path, TempName]]:
    journal = journal_path(target)
    found = []
    for entry in entries(target.parent):
        parsed = parse_temp_name(entry.name)
        if parsed is not None and parsed.name == journal.name and parsed.kind == "claim":
            found.append((entry, parsed))
    return found


def recover(target: str | os.PathLike[str]) -> bool:
    """Finish or undo every swap into ``target`` whose writer is gone.

    Returns
    -------
    bool
        False if a live process is replacing (or recovering) ``target`` right now, True otherwise.

    Raises
    ------
    BlocsimError
        A journal beside ``target`` is not blocsim's, or names folders that are not
        temporary folders of ``target``.
    OSError
        A rename or delete failed (e.g. no write permission); the journal stays for the
        next attempt.
    """
    path = Path(target)
    journal = journal_path(path)
    clean_stale_files(path.parent, journal.name)
    quiet = True
    pending: list[Path] = []
    for claimed, parsed in _claimed_journals(path):
        if process_alive(parsed.pid, parsed.host):
            quiet = False  # another process is recovering this target right now
        else:
            pending.append(claimed)
    if journal.exists():
        record = _read_journal(journal)
        if record is None:
            journal.unlink(missing_ok=True)
        elif _owner_alive(record):
            quiet = False
        else:
            pending.append(journal)
    for found in pending:
        claimed = journal.with_name(temp_name(journal.name, "claim"))
        try:
            os.rename(found, claimed)  # only one process wins a journal
        except FileNotFoundError:
            continue
        record = _read_journal(claimed)
        if record is not None:
            _finish(path, record)
        claimed.unlink(missing_ok=True)
    return quiet


def _acquire(target: Path, record: dict[str, Any], wait: float) -> Path:
    """Create the journal of a swap into ``target``, waiting for a live writer to finish."""
    journal = journal_path(target)
    data = json.dumps(record, indent=2).encode()
    deadline = time.monotonic() + wait
    while True:
        try:
            _create_exclusive(journal, data)
            return journal
        except FileExistsError:
            pass
        if recover(target):
            continue
        if time.monotonic() > deadline:
            holder = _read_journal(journal) or {}
            owner = holder.get("owner") or {}
            raise BlocsimError(
                f"--out {target}: another blocsim process (pid {owner.get('pid', '?')}) is replacing this run "
                f"(journal {journal.name}); wait for it to finish and run again"
            )
        time.sleep(0.05)


def swap_directory(staging: Path, target: Path, *, check: Callable[[], None], wait: float | None = None) -> None:
    """Move the complete folder ``staging`` to ``target``, replacing what is there, crash-safely.

    Steps: journal created; ``check()`` (may raise to refuse); ``target`` renamed to a
    backup; ``staging`` renamed to ``target``; backup deleted; journal deleted. A process
    killed after any step leaves a state that :func:`recover` completes or rolls back. An
    exception (including ``check()``'s) puts the old ``target`` back and leaves ``staging``
    to the caller. ``wait`` (seconds, default :data:`SWAP_WAIT_SECONDS`) bounds the wait
    for another live process replacing the same target.
    """
    backup = target.with_name(temp_name(target.name, "old"))
    record = {
        "format": JOURNAL_FORMAT,
        "schema": JOURNAL_SCHEMA,
        "target": target.name,
        "staging": staging.name,
        "backup": backup.name,
        "owner": _owner(),
    }
    journal = _acquire(target, record, SWAP_WAIT_SECONDS if wait is None else wait)
    try:
        check()
        if path_exists(target):
            os.rename(target, backup)
        os.rename(staging, target)
        fsync_dir(target.parent)
    except BaseException:
        if is_real_dir(staging) and not path_exists(target) and is_real_dir(backup):
            os.rename(backup, target)
        journal.unlink(missing_ok=True)
        raise
    if is_real_dir(backup):
        shutil.rmtree(backup, ignore_errors=True)  # a part left behind is removed as stale later
    journal.unlink(missing_ok=True)


def clean_stale_dirs(target: Path, is_own: Callable[[Path], bool]) -> list[Path]:
    """Delete staging and backup folders of ``target`` left by writers that are gone.

    The rules of :func:`blocsim.data.staging.sweep_stale_dirs` (writer gone, ``is_own(folder)``
    by the run marker, a backup kept while nothing is at ``target``), and no folder a journal
    still names is touched; with a journal that is not blocsim's nothing is. Run
    :func:`recover` first. Returns the removed paths.
    """
    referenced: set[str] = set()
    journal = journal_path(target)
    for path in [journal, *(claimed for claimed, _ in _claimed_journals(target))]:
        try:
            record = _read_journal(path)
        except BlocsimError:
            return []  # a foreign journal: touch nothing
        if record is not None:
            referenced.update(str(record.get(key)) for key in ("staging", "backup"))
    return sweep_stale_dirs(target.parent, is_own, name=target.name, keep=referenced)
