"""The blocsim store: imported datasets and scenario runs, as Parquet files under a DuckDB catalog.

Layout under ``$BLOCSIM_HOME`` (default ``~/.blocsim``)::

    store/catalog.duckdb        tables ``datasets``, ``runs`` and ``jobs`` (one row each)
    store/tables/<name>-<hash>.parquet
    store/runs/<run_id>/         copies of run directories (countries.csv, flows.csv, run.json)
    store/.lock                  advisory lock file

Guarantees
----------
- **Idempotent imports.** A dataset is keyed by the SHA-256 of the source file's bytes, the
  loader name and its options (or of the DataFrame, for :meth:`Store.import_table`).
  Importing the same content under the same name again changes nothing.
- **All-or-nothing imports.** The loader runs and validates first; the Parquet file is
  written to a temporary name and renamed into place (a loader with a ``parquet_writer``,
  e.g. BACI with the DuckDB engine, validates and writes that temporary file itself, inside
  DuckDB, so a large file never becomes a pandas table); the catalog row is written in one
  DuckDB transaction. If any step fails, the new file is removed and the catalog is as it
  was, so the store looks exactly as before. Files left by a process killed mid-write are
  not in the catalog, so they are invisible and are swept away when a store is next opened.
- **Concurrency.** Every catalog access (:class:`~blocsim.data.store_catalog.CatalogAccess`) takes an advisory ``flock`` on ``store/.lock``
  (shared for reads, exclusive for writes; a fresh file descriptor per access, so threads
  of one process exclude each other too) and opens a short-lived DuckDB connection
  (read-only for reads). Parquet files are immutable, named by content hash, and deleted
  only under the exclusive lock. Several threads or processes (e.g. web-server workers)
  can use one store at once.
- **Bounded runs, deletable.** :meth:`Store.add_run` refuses a new run once the store holds
  ``max_runs`` runs (nothing is pruned behind the user's back); :meth:`Store.delete_run`
  removes a run's catalog row and then the store's own copy (never the folder it came from).
- **Job records.** Table ``jobs`` keeps the status of background runs (the web dashboard's),
  so that a job queued or running when its server died is marked failed/interrupted
  (:meth:`Store.interrupt_jobs`) instead of vanishing.

This module holds the datasets part (import, list, read, query, remove) and :class:`Store`
itself; the runs catalogue is :mod:`blocsim.data.store_runs`, the jobs table
:mod:`blocsim.data.store_jobs`, and the shared lock and connection :mod:`blocsim.data.store_catalog`.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from blocsim.data.hashing import file_hash, frame_hash
from blocsim.data.progress import ProgressCallback, step_reporter
from blocsim.data.store_catalog import utc_now
from blocsim.data.store_jobs import JOBS_SCHEMA, StoreJobs
from blocsim.data.store_runs import RUNS_SCHEMA, StoreRuns
from blocsim.errors import BlocsimError, DataValidationError, StoreError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: Table ``datasets``: one row per dataset (``n_rows`` rows; ``columns``, ``options`` and ``meta``
#: are JSON; ``imported_utc`` is ISO 8601 UTC text; ``file`` is the Parquet file's name in ``tables``).
DATASETS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS datasets (name VARCHAR PRIMARY KEY, source VARCHAR, origin VARCHAR, "
    "content_hash VARCHAR, file VARCHAR, n_rows BIGINT, columns VARCHAR, imported_utc VARCHAR, "
    "options VARCHAR, meta VARCHAR)"
)
_SCHEMA = (DATASETS_SCHEMA, RUNS_SCHEMA, JOBS_SCHEMA)


@dataclass(frozen=True)
class ImportResult:
    """Outcome of an import.

    Attributes
    ----------
    name : str
        Dataset name in the store.
    rows : int
        Rows stored.
    content_hash : str
        SHA-256 identifying the imported content.
    changed : bool
        False when the same content was already stored under ``name`` (nothing written).
    """

    name: str
    rows: int
    content_hash: str
    changed: bool


def default_home() -> Path:
    """``$BLOCSIM_HOME`` or ``~/.blocsim``."""
    return Path(os.environ.get("BLOCSIM_HOME") or Path.home() / ".blocsim")


@dataclass(frozen=True)
class _Entry:
    """Catalog fields of a dataset being imported (see table ``datasets``)."""

    name: str
    digest: str
    source: str
    origin: str
    options: Mapping[str, Any]
    meta: Mapping[str, Any]


#: ``write(staging) -> (rows, [[column, type], ...])``: writes the Parquet file ``staging``.
_Writer = Callable[[Path], tuple[int, list[list[str]]]]


def _table_writer(frame: pd.DataFrame | pa.Table) -> _Writer:
    """Writer of an in-memory table (column types: pandas dtypes, or Arrow types for a Table)."""

    def write(staging: Path) -> tuple[int, list[list[str]]]:
        if isinstance(frame, pa.Table):
            pq.write_table(frame, staging)
            return frame.num_rows, [[field.name, str(field.type)] for field in frame.schema]
        frame.to_parquet(staging, index=False)
        return len(frame), [[str(c), str(frame[c].dtype)] for c in frame.columns]

    return write


def _parquet_shape(path: Path, rows: int) -> tuple[int, list[list[str]]]:
    """``(rows, [[column, Arrow type], ...])`` of a Parquet file written by a loader."""
    return rows, [[field.name, str(field.type)] for field in pq.read_schema(path)]


IMPORT_STEPS = ("hash the file", "read and validate it", "store it")
"""The steps :meth:`Store.import_file` reports to its ``progress`` callback."""


def _loader_writer(source: Path, options: Mapping[str, Any], function: Callable[..., Any],
                   parquet_writer: Callable[..., Any] | None, step: Callable[[int], None]) -> _Writer:
    """The writer of an import: the loader's streaming Parquet writer if it has one for ``options``,
    else one writing the table ``function`` loads (loaded here); ``step(2)`` once the file is read."""
    writer = parquet_writer(source, **options) if parquet_writer is not None else None
    if writer is None:
        table = function(source, **options)
        step(2)
        return _table_writer(table)

    def write(staging: Path) -> tuple[int, list[list[str]]]:
        shape = _parquet_shape(staging, writer(staging))
        step(2)
        return shape

    return write


def _check_loader_options(function: Callable[..., Any], options: Mapping[str, Any], loader: str) -> None:
    """Every option must be a keyword of the loader function; raise naming it and the valid ones."""
    parameters = list(inspect.signature(function).parameters.values())[1:]  # after the path
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return
    allowed = [p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    unknown = [name for name in options if name not in allowed]
    if unknown:
        raise DataValidationError(
            f"loader option {unknown[0]!r}: unknown for loader {loader!r}; allowed: "
            f"{', '.join(allowed) if allowed else 'none (this loader takes no options)'}"
        )


class Store(StoreRuns, StoreJobs):
    """DuckDB-over-Parquet store of datasets and runs.

    The datasets part is defined here; the runs catalogue (:meth:`add_run`, :meth:`runs`,
    :meth:`run_path`, :meth:`run_meta`, :meth:`delete_run`) comes from
    :class:`~blocsim.data.store_runs.StoreRuns`, the job records (:meth:`save_job`, :meth:`jobs`,
    :meth:`unfinished_job_owners`, :meth:`interrupt_jobs`) from
    :class:`~blocsim.data.store_jobs.StoreJobs`.

    Parameters
    ----------
    home
        Root folder; default :func:`default_home`. The store lives in ``home/store``.
    """

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = Path(home) if home is not None else default_home()
        self.root = self.home / "store"
        self.catalog = self.root / "catalog.duckdb"
        self.tables_dir = self.root / "tables"
        self.runs_dir = self.root / "runs"
        try:
            for folder in (self.tables_dir, self.runs_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"{self.root}: cannot create the store ({error}); set BLOCSIM_HOME to a writable folder")
        with self._lock(exclusive=True):
            with self._connect(read_only=False) as con:
                for statement in _SCHEMA:
                    con.execute(statement)
                referenced = {row[0] for row in con.execute("SELECT file FROM datasets").fetchall()}
                runs = {row[0] for row in con.execute("SELECT run_id FROM runs").fetchall()}
            self._sweep(referenced, runs)

    def _sweep(self, referenced: set[str], runs: set[str]) -> None:
        """Delete leftovers of an interrupted write (a killed process): staging files and
        Parquet files or run folders that the catalog does not reference. Runs under the
        exclusive lock, so no write is in progress."""
        for path in self.tables_dir.iterdir():
            if path.name not in referenced:
                path.unlink(missing_ok=True)
        self._sweep_runs(runs)

    def __repr__(self) -> str:
        return f"Store({str(self.home)!r})"

    # -- datasets -----------------------------------------------------------------------

    def import_file(
        self,
        name: str,
        path: str | os.PathLike[str],
        *,
        loader: str | Callable[..., pd.DataFrame],
        options: Mapping[str, Any] | None = None,
        replace: bool = False,
        meta: Mapping[str, Any] | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImportResult:
        """Load ``path`` with ``loader`` and store the table as ``name``.

        Parameters
        ----------
        name
            Dataset name: lower-case letters, digits, ``_``; starts with a letter.
        path
            Source file.
        loader
            A source name of :data:`blocsim.data.loaders.LOADERS` (e.g. ``"baci"``) or a
            function ``(path, **options) -> DataFrame | pyarrow.Table``.
        options
            Keyword options for the loader (part of the content key).
        replace
            Allow replacing a dataset of the same name with different content.
        meta
            Extra JSON metadata stored with the dataset.
        progress
            ``progress(done, total)`` (:mod:`blocsim.data.progress`) over the
            :data:`IMPORT_STEPS` (``total`` = 3): 0 first, then after the file is hashed, after
            the loader has read and validated it, and once it is stored (or found unchanged:
            then straight to ``done == total``).

        Returns
        -------
        ImportResult
            ``changed=False`` if this exact content was already stored under ``name``.

        Raises
        ------
        DataValidationError
            An option the loader does not take (naming it and the valid ones), or from the
            loader (bad file); nothing is written.
        StoreError
            Bad name, existing name with other content and ``replace=False``, or an I/O
            failure (the store is left as it was).
        """
        from blocsim.data.loaders import LOADERS

        source = Path(path)
        if not source.is_file():
            raise StoreError(f"{source}: no such file; pass the path of the file to import")
        if isinstance(loader, str):
            if loader not in LOADERS:
                raise StoreError(f"loader {loader!r}: unknown source; allowed are {', '.join(LOADERS)}")
            spec = LOADERS[loader]
            function, parquet_writer, loader_name = spec.function, spec.parquet_writer, loader
        else:
            function, parquet_writer, loader_name = loader, None, getattr(loader, "__name__", "custom")
        opts = dict(options or {})
        _check_loader_options(function, opts, loader_name)
        step = step_reporter(progress, len(IMPORT_STEPS))
        digest = hashlib.sha256(
            f"{file_hash(source)}|{loader_name}|{json.dumps(opts, sort_keys=True, default=str)}".encode()
        ).hexdigest()
        step(1)
        entry = _Entry(name, digest, loader_name, str(source.resolve()), opts, dict(meta or {}))
        result = self._unchanged(entry, replace)
        if result is None:
            result = self._store(entry, _loader_writer(source, opts, function, parquet_writer, step), replace)
        step(3)
        return result

    def import_table(
        self,
        name: str,
        frame: pd.DataFrame,
        *,
        source: str = "table",
        replace: bool = False,
        meta: Mapping[str, Any] | None = None,
    ) -> ImportResult:
        """Store a DataFrame as ``name`` (keyed by :func:`~blocsim.data.hashing.frame_hash`)."""
        if not isinstance(frame, pd.DataFrame):
            raise StoreError(f"import_table({name!r}): frame must be a pandas DataFrame, got {type(frame).__name__}")
        entry = _Entry(name, frame_hash(frame), source, "", {}, dict(meta or {}))
        unchanged = self._unchanged(entry, replace)
        if unchanged is not None:
            return unchanged
        return self._store(entry, _table_writer(frame), replace)

    def _unchanged(self, entry: _Entry, replace: bool) -> ImportResult | None:
        """The result of a no-op import if ``entry`` is already stored, ``None`` if it must be
        written; raises on a bad name or on other content under the name without ``replace``."""
        if not NAME_PATTERN.fullmatch(entry.name or ""):
            raise StoreError(
                f"name {entry.name!r}: not a valid dataset name; use lower-case letters, digits and '_', "
                "starting with a letter (e.g. baci_2012)"
            )
        with self._lock(exclusive=False):
            return self._existing(entry, replace)

    def _existing(self, entry: _Entry, replace: bool) -> ImportResult | None:
        """:meth:`_unchanged` without the name check and the lock (callers hold one)."""
        current = self._current_row(entry.name)
        if current is None:
            return None
        if current["content_hash"] == entry.digest:
            return ImportResult(entry.name, int(current["n_rows"]), entry.digest, changed=False)
        if not replace:
            raise StoreError(
                f"dataset {entry.name!r} already exists with different content; pass replace=True "
                "(CLI: --replace) or choose another --name"
            )
        return None

    def _store(self, entry: _Entry, write: _Writer, replace: bool) -> ImportResult:
        """Write a dataset all-or-nothing: ``write(staging)`` makes the Parquet file (and may
        raise, e.g. a loader's validation error), which is renamed into place and then
        recorded in the catalog in one transaction; on any failure both are undone."""
        target = self.tables_dir / f"{entry.name}-{entry.digest[:16]}.parquet"
        with self._lock(exclusive=True):
            unchanged = self._existing(entry, replace)
            if unchanged is not None:
                return unchanged
            current = self._current_row(entry.name)
            staging = self.tables_dir / f".tmp-{uuid.uuid4().hex}.parquet"
            try:
                rows, columns = write(staging)
                with open(staging, "rb") as handle:
                    os.fsync(handle.fileno())
                os.replace(staging, target)
                self._write_catalog(entry, target, rows, columns)
            except BaseException as error:
                staging.unlink(missing_ok=True)
                if current is None or Path(current["file"]).name != target.name:
                    target.unlink(missing_ok=True)
                if isinstance(error, (BlocsimError, KeyboardInterrupt)):
                    raise
                raise StoreError(f"import of {entry.name!r} failed, store unchanged: {error}") from error
            if current is not None and Path(current["file"]).name != target.name:
                (self.tables_dir / Path(current["file"]).name).unlink(missing_ok=True)
        return ImportResult(entry.name, rows, entry.digest, changed=True)

    def _current_row(self, name: str) -> dict[str, Any] | None:
        with self._connect(read_only=True) as con:
            rows = con.execute("SELECT * FROM datasets WHERE name = ?", [name]).df()
        return None if rows.empty else rows.iloc[0].to_dict()

    def _write_catalog(self, entry: _Entry, target: Path, rows: int, columns: list[list[str]]) -> None:
        row = [
            entry.name, entry.source, entry.origin, entry.digest, target.name, rows, json.dumps(columns), utc_now(),
            json.dumps(dict(entry.options), default=str), json.dumps(dict(entry.meta), default=str),
        ]
        with self._connect(read_only=False) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute("DELETE FROM datasets WHERE name = ?", [entry.name])
                con.execute("INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def list(self) -> pd.DataFrame:
        """Datasets in the store: ``name, source, rows, columns, imported_utc, origin, content_hash``."""
        frame = self._fetch(
            "SELECT name, source, n_rows AS rows, columns, imported_utc, origin, content_hash FROM datasets ORDER BY name"
        )
        frame["columns"] = [len(json.loads(c)) for c in frame["columns"]]
        return frame

    def show(self, name: str) -> dict[str, Any]:
        """Catalog entry of ``name``: source, origin, rows, columns (name, dtype), hash, time, options, meta."""
        rows = self._fetch("SELECT * FROM datasets WHERE name = ?", [name])
        if rows.empty:
            raise StoreError(self._unknown(name))
        row = rows.iloc[0].to_dict()
        return {
            "name": row["name"],
            "source": row["source"],
            "origin": row["origin"],
            "rows": int(row["n_rows"]),
            "columns": [tuple(c) for c in json.loads(row["columns"])],
            "content_hash": row["content_hash"],
            "imported_utc": row["imported_utc"],
            "file": str(self.tables_dir / row["file"]),
            "options": json.loads(row["options"]),
            "meta": json.loads(row["meta"]),
        }

    def _unknown(self, name: str) -> str:
        names = self._fetch("SELECT name FROM datasets ORDER BY name")["name"].tolist()
        return f"dataset {name!r} is not in the store at {self.root}; stored: {', '.join(names) or 'none'} (see blocsim data list)"

    def table(self, name: str, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Read dataset ``name`` (optionally only ``columns``) as a DataFrame."""
        with self._lock(exclusive=False):
            with self._connect(read_only=True) as con:
                hit = con.execute("SELECT file FROM datasets WHERE name = ?", [name]).fetchone()
            if hit is None:
                raise StoreError(self._unknown(name))
            return pd.read_parquet(self.tables_dir / hit[0], columns=list(columns) if columns is not None else None)

    def remove(self, name: str) -> None:
        """Delete dataset ``name`` (catalog row, then its Parquet file)."""
        with self._lock(exclusive=True):
            current = self._current_row(name)
            if current is None:
                raise StoreError(f"dataset {name!r} is not in the store; nothing removed")
            with self._connect(read_only=False) as con:
                con.execute("DELETE FROM datasets WHERE name = ?", [name])
            (self.tables_dir / current["file"]).unlink(missing_ok=True)

    def query(self, sql: str) -> pd.DataFrame:
        """Run SQL over the stored datasets (each is a view named after the dataset).

        Raises
        ------
        StoreError
            If DuckDB rejects the query (the message includes DuckDB's).
        """
        with self._lock(exclusive=False):
            with self._connect(read_only=True) as con:
                entries = con.execute("SELECT name, file FROM datasets").fetchall()
            mem = duckdb.connect()
            try:
                for name, file in entries:
                    path = str(self.tables_dir / file).replace("'", "''")
                    mem.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{path}')")
                return mem.execute(sql).df()
            except duckdb.Error as error:
                raise StoreError(f"query failed: {error}; datasets available: {[n for n, _ in entries]}") from None
            finally:
                mem.close()
