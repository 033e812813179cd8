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

Temporary names carry their writer: ``.<name>.<kind>-<pid>-<host>-<token>`` (``host`` is
a hash of the host name, ``token`` random). A temporary entry is removed only when its
writer is gone (same host; the PID no longer runs, is a zombie or belongs to a newer
process) and, for directories, when the caller recognises it as blocsim's own (the run
marker). Nothing else is ever deleted. Liveness of a process on another host, or on a
platform without ``os.kill(pid, 0)`` semantics, cannot be known: such entries are kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from blocsim.errors import BlocsimError

JOURNAL_FORMAT = "blocsim-swap"
JOURNAL_SCHEMA = 1
JOURNAL_SUFFIX = ".blocsim-swap"

#: ``.<name>.<kind>-<pid>-<host>-<token>``; kinds: ``tmp`` (a file or folder being
#: written), ``old`` (a run moved aside during a swap), ``claim`` (a journal taken over by
#: the process that recovers it).
_TEMP_NAME = re.compile(
    r"^\.(?P<name>.+)\.(?P<kind>tmp|old|claim)-(?P<pid>[0-9]+)-(?P<host>[0-9a-f]{8})-[0-9a-f]{8}$", re.DOTALL
)

#: Seconds a writer waits for another live process to finish replacing the same target.
SWAP_WAIT_SECONDS = 30.0


def host_tag() -> str:
    """First 8 hex digits of the SHA-256 of this machine's host name (part of temp names)."""
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def temp_name(name: str, kind: str) -> str:
    """A fresh temporary name for ``name`` owned by this process, e.g. ``.out.tmp-123-ab12cd34-9f8e7d6c``."""
    return f".{name}.{kind}-{os.getpid()}-{host_tag()}-{secrets.token_hex(4)}"


@dataclasses.dataclass(frozen=True)
class TempName:
    """A parsed temporary name: the entry it stands for, its kind and its writer."""

    name: str
    kind: str
    pid: int
    host: str


def parse_temp_name(entry: str) -> TempName | None:
    """Parse a name made by :func:`temp_name`; None for any other name."""
    match = _TEMP_NAME.match(entry)
    if match is None:
        return None
    return TempName(match["name"], match["kind"], int(match["pid"]), match["host"])


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks since boot) of ``pid`` from /proc, if available."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()
    if len(fields) < 20:
        return None
    return fields[0], int(fields[19])


def process_start(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (Linux), to tell a reused PID apart."""
    stat = _proc_stat(pid)
    return None if stat is None else stat[1]


def process_alive(pid: int, host: str, start: int | None = None) -> bool:
    """Whether the writer ``pid`` on ``host`` (a :func:`host_tag`) may still be running.

    True whenever this cannot be decided (another host, no POSIX signals): callers then keep
    the writer's files. ``start`` (from :func:`process_start`) detects a reused PID.
    """
    if host != host_tag() or os.name != "posix":
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # runs under another user
    except OSError:
        return True
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, started = stat
    if state == "Z":  # killed, not yet reaped by its parent
        return False
    return start is None or started == start


def _is_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


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
    for entry in _entries(directory):
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


def _entries(directory: Path) -> Iterator[Path]:
    try:
        yield from sorted(directory.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return


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
    if _is_dir(staging):
        if _exists(target):
            shutil.rmtree(staging)  # the old run never left: roll back
        else:
            os.rename(staging, target)  # the new run is complete: roll forward
            fsync_dir(target.parent)
    elif not _exists(target) and _is_dir(backup):
        os.rename(backup, target)  # the new run is gone: put the old one back
        fsync_dir(target.parent)
    if _is_dir(backup) and _exists(target):
        shutil.rmtree(backup)


def _claimed_journals(target: Path) -> list[tuple[Path, TempName]]:
    journal = journal_path(target)
    found = []
    for entry in _entries(target.parent):
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
        if _exists(target):
            os.rename(target, backup)
        os.rename(staging, target)
        fsync_dir(target.parent)
    except BaseException:
        if _is_dir(staging) and not _exists(target) and _is_dir(backup):
            os.rename(backup, target)
        journal.unlink(missing_ok=True)
        raise
    if _is_dir(backup):
        shutil.rmtree(backup, ignore_errors=True)  # a part left behind is removed as stale later
    journal.unlink(missing_ok=True)


def clean_stale_dirs(target: Path, is_own: Callable[[Path], bool]) -> list[Path]:
    """Delete staging and backup folders of ``target`` left by writers that are gone.

    A folder ``.<name>.tmp-...`` or ``.<name>.old-...`` beside ``target`` is removed only if
    its writer (same host) no longer runs, no journal names it, and ``is_own(folder)`` (the
    run marker) says blocsim made it; an empty one is removed with ``rmdir``. A backup
    (``old``) is kept while nothing is at ``target``. Clean-up is best effort: a folder that
    cannot be removed is left. Run :func:`recover` first. Returns the removed paths.
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
    removed: list[Path] = []
    for entry in _entries(target.parent):
        parsed = parse_temp_name(entry.name)
        if parsed is None or parsed.name != target.name or parsed.kind not in ("tmp", "old"):
            continue
        if entry.name in referenced or not _is_dir(entry) or process_alive(parsed.pid, parsed.host):
            continue
        if parsed.kind == "old" and not _exists(target):
            continue  # possibly the only copy of a run: never removed
        try:
            if not any(entry.iterdir()):
                entry.rmdir()
            elif is_own(entry):
                shutil.rmtree(entry)
            else:
                continue
        except OSError:
            continue
        removed.append(entry)
    return removed
