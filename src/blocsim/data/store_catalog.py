"""Locked access to the store's DuckDB catalog, shared by every part of :class:`blocsim.data.Store`.

The store (:mod:`blocsim.data.store`) keeps its catalog in ``store/catalog.duckdb`` and its
advisory lock file in ``store/.lock``. :class:`CatalogAccess` is the one place that takes the
lock and opens a connection; the datasets part (:mod:`blocsim.data.store`), the runs catalogue
(:mod:`blocsim.data.store_runs`) and the jobs table (:mod:`blocsim.data.store_jobs`) all go
through it.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import threading
from pathlib import Path
from typing import Any, Iterator, Sequence

import duckdb
import pandas as pd

from blocsim.errors import StoreError

try:  # POSIX advisory locks; elsewhere fall back to a per-process lock
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_FALLBACK_LOCK = threading.RLock()


def utc_now() -> str:
    """The current time in UTC as ISO 8601 text, to the second (e.g. ``2026-01-31T12:00:00+00:00``)."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class CatalogAccess:
    """The lock and the short-lived connections to the store's catalog.

    A base class: the class that uses it sets :attr:`root` (the ``store`` folder, which holds
    ``.lock``) and :attr:`catalog` (the DuckDB file ``store/catalog.duckdb``) before the first
    access.
    """

    #: The store folder (``$BLOCSIM_HOME/store``); holds the lock file ``.lock``.
    root: Path
    #: The DuckDB catalog file (``store/catalog.duckdb``).
    catalog: Path

    @contextlib.contextmanager
    def _lock(self, *, exclusive: bool) -> Iterator[None]:
        """Hold an advisory ``flock`` on ``store/.lock`` for the ``with`` block.

        Shared (``exclusive=False``) for reads, exclusive for writes. A fresh file descriptor
        per call, so threads of one process exclude each other too; without ``fcntl`` (Windows)
        a process-wide re-entrant lock stands in.
        """
        if fcntl is None:  # pragma: no cover - Windows
            with _FALLBACK_LOCK:
                yield
            return
        with open(self.root / ".lock", "a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _connect(self, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB connection to the catalog for the ``with`` block, closed afterwards.

        Takes no lock (callers hold :meth:`_lock`). Raises :class:`~blocsim.errors.StoreError`
        naming the catalog file if DuckDB cannot open it.
        """
        try:
            con = duckdb.connect(str(self.catalog), read_only=read_only)
        except duckdb.Error as error:
            raise StoreError(f"{self.catalog}: cannot open the store catalog ({error})") from None
        try:
            yield con
        finally:
            con.close()

    def _fetch(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run one read query under the shared lock; the result as a DataFrame (one row per result row)."""
        with self._lock(exclusive=False), self._connect(read_only=True) as con:
            return con.execute(sql, list(params or [])).df()
