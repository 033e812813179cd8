"""Temporary files and folders named after their writer, and the sweep of those a killed writer left.

blocsim writes a folder (a run directory, a built dataset) or a file whole: first under a
temporary name beside its target, then renamed into place. Temporary names carry their
writer: ``.<name>.<kind>-<pid>-<host>-<token>`` (``host`` is a hash of the host name,
``token`` random; kinds ``tmp``, a file or folder being written, ``old``, a previous version
moved aside, ``claim``, a journal taken over by :mod:`blocsim.results.journal`).

A temporary folder is removed (:func:`sweep_stale_dirs`) only when its writer is gone (same
host; the PID no longer runs, is a zombie or belongs to a newer process) and the caller
recognises it as blocsim's own (its marker file); an empty one is removed with ``rmdir``.
Liveness of a process on another host, or on a platform without ``os.kill(pid, 0)``
semantics, cannot be known: such entries are kept. Nothing else is ever deleted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import secrets
import shutil
import socket
from pathlib import Path
from typing import Callable, Collection, Iterator

#: ``.<name>.<kind>-<pid>-<host>-<token>``.
_TEMP_NAME = re.compile(
    r"^\.(?P<name>.+)\.(?P<kind>tmp|old|claim)-(?P<pid>[0-9]+)-(?P<host>[0-9a-f]{8})-[0-9a-f]{8}$", re.DOTALL
)


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


def is_real_dir(path: Path) -> bool:
    """A folder, not a symbolic link to one."""
    return path.is_dir() and not path.is_symlink()


def path_exists(path: Path) -> bool:
    """Something is at ``path`` (a dangling symbolic link counts)."""
    return path.exists() or path.is_symlink()


def entries(directory: Path) -> Iterator[Path]:
    """The entries of ``directory`` in name order; none if it does not exist."""
    try:
        yield from sorted(directory.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return


def sweep_stale_dirs(directory: Path, is_own: Callable[[Path], bool], *, name: str | None = None,
                     keep: Collection[str] = ()) -> list[Path]:
    """Delete the temporary folders in ``directory`` left by writers that are gone.

    A folder ``.<name>.tmp-...`` or ``.<name>.old-...`` (any ``name`` when None) is removed only
    if its writer (same host) no longer runs, it is not in ``keep`` (names a journal still
    needs), and ``is_own(folder)`` (the caller's marker) says blocsim made it; an empty one is
    removed with ``rmdir``. A previous version (``old``) is kept while nothing is at
    ``directory/<name>``: it may be the only copy. Clean-up is best effort: a folder that cannot
    be removed is left. Returns the removed paths.
    """
    removed: list[Path] = []
    for entry in entries(directory):
        parsed = parse_temp_name(entry.name)
        if parsed is None or parsed.kind not in ("tmp", "old") or (name is not None and parsed.name != name):
            continue
        if entry.name in keep or not is_real_dir(entry) or process_alive(parsed.pid, parsed.host):
            continue
        if parsed.kind == "old" and not path_exists(directory / parsed.name):
            continue
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
