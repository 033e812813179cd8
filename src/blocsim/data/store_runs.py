"""The runs catalogue of the store: scenario runs copied into ``store/runs/<run_id>/``.

Part of :class:`blocsim.data.Store` (see :mod:`blocsim.data.store` for the layout and the
guarantees). A run is keyed by its id, the first 12 hex digits of the SHA-256 over the run's file
names and contents; table ``runs`` holds one row per run, the folder holds the store's own copy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from blocsim.data.hashing import file_hash
from blocsim.data.run_record import read_run_record
from blocsim.data.store_catalog import CatalogAccess, utc_now
from blocsim.errors import BlocsimError, StoreError

#: Table ``runs``: one row per stored run (times are ISO 8601 UTC text; ``meta`` is the run record as JSON).
RUNS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR PRIMARY KEY, scenario VARCHAR, title VARCHAR, "
    "model VARCHAR, dataset VARCHAR, year INTEGER, converged BOOLEAN, created_utc VARCHAR, "
    "added_utc VARCHAR, origin VARCHAR, meta VARCHAR)"
)


class StoreRuns(CatalogAccess):
    """Add, list, find and delete stored runs (a part of :class:`blocsim.data.Store`).

    The class that uses it sets :attr:`runs_dir` and creates table ``runs``
    (:data:`RUNS_SCHEMA`) before the first call.
    """

    #: Folder of the stored runs' copies (``store/runs``), one subfolder per run id.
    runs_dir: Path

    def _sweep_runs(self, runs: set[str]) -> None:
        """Delete run folders (and staging folders) under :attr:`runs_dir` whose names are not in
        ``runs``, the run ids in the catalog. Callers hold the exclusive lock."""
        for path in self.runs_dir.iterdir():
            if path.name not in runs:
                shutil.rmtree(path, ignore_errors=True)

    def add_run(self, run_dir: str | os.PathLike[str], *, max_runs: int | None = None) -> str:
        """Copy a run directory (from :func:`blocsim.results.write_run`) into the store.

        Parameters
        ----------
        run_dir
            The run directory (its files are copied; the directory itself is left alone).
        max_runs
            Refuse the run if the store already holds this many (``None``: no limit).

        Returns
        -------
        str
            The run id: the first 12 hex digits of the SHA-256 over the run's file names and
            contents. Adding the same run again returns the same id and writes nothing.

        Raises
        ------
        BlocsimError
            ``run_dir`` is not a run directory, or its ``run.json`` is not a valid run record
            (:func:`~blocsim.data.read_run_record`: unknown key, wrong type), naming the file and field.
        StoreError
            The store is full (``max_runs``), or the copy failed (the store is unchanged).
        """
        source = Path(run_dir)
        record = read_run_record(source)
        files = sorted(p for p in source.iterdir() if p.is_file())
        digest = hashlib.sha256("".join(f"{p.name}:{file_hash(p)};" for p in files).encode()).hexdigest()
        run_id = digest[:12]
        row = [
            run_id,
            record.scenario.name,
            record.scenario.title,
            record.model.name,
            record.dataset.name,
            record.dataset.year,
            record.diagnostics.converged,
            record.created_utc,
            utc_now(),
            str(source.resolve()),
            record.model_dump_json(),
        ]
        with self._lock(exclusive=True):
            with self._connect(read_only=True) as con:
                if con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone():
                    return run_id
                stored = int(con.execute("SELECT count(*) FROM runs").fetchone()[0])
            if max_runs is not None and stored >= max_runs:
                raise StoreError(
                    f"the store at {self.root} holds {stored} runs, its limit ({max_runs}); delete runs you no longer "
                    "need (web: DELETE /api/runs/{run_id}) or raise the limit"
                )
            target = self.runs_dir / run_id
            staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.runs_dir))
            try:
                for path in files:
                    shutil.copy2(path, staging / path.name)
                shutil.rmtree(target, ignore_errors=True)
                os.replace(staging, target)
                with self._connect(read_only=False) as con:
                    con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            except BaseException as error:
                shutil.rmtree(staging, ignore_errors=True)
                shutil.rmtree(target, ignore_errors=True)
                if isinstance(error, (BlocsimError, KeyboardInterrupt)):
                    raise
                raise StoreError(f"adding run {source} failed, store unchanged: {error}") from error
        return run_id

    def runs(self) -> pd.DataFrame:
        """Stored runs, newest first: ``run_id, scenario, title, model, dataset, year,
        converged, created_utc, added_utc, path``."""
        frame = self._fetch(
            "SELECT run_id, scenario, title, model, dataset, year, converged, created_utc, added_utc "
            "FROM runs ORDER BY added_utc DESC, run_id"
        )
        frame["path"] = [str(self.runs_dir / run_id) for run_id in frame["run_id"]]
        return frame

    def run_path(self, run_id: str) -> Path:
        """Directory of a stored run (a unique prefix of the id is enough)."""
        ids = self._fetch("SELECT run_id FROM runs WHERE starts_with(run_id, ?)", [run_id or "-"])["run_id"].tolist()
        if len(ids) != 1:
            what = "matches several runs" if ids else "is not a stored run"
            raise StoreError(f"run id {run_id!r} {what}; list them with Store().runs() or `blocsim data list`")
        return self.runs_dir / ids[0]

    def run_meta(self, run_id: str) -> dict[str, Any]:
        """The ``run.json`` of a stored run, validated (:func:`~blocsim.data.read_run_record`), as plain values."""
        return read_run_record(self.run_path(run_id)).as_dict()

    def delete_run(self, run_id: str) -> None:
        """Delete a stored run: its catalog row, then the store's own copy ``store/runs/<run_id>``.

        ``run_id`` must be a full id (no prefix), so that a typo cannot delete another run. The
        folder the run was added from is never touched.

        Raises
        ------
        StoreError
            ``run_id`` is not a stored run.
        """
        with self._lock(exclusive=True):
            with self._connect(read_only=False) as con:
                hit = con.execute("SELECT run_id FROM runs WHERE run_id = ?", [str(run_id)]).fetchone()
                if hit is None:
                    raise StoreError(f"run id {run_id!r} is not a stored run (give the full id); nothing deleted")
                con.execute("DELETE FROM runs WHERE run_id = ?", [hit[0]])
            shutil.rmtree(self.runs_dir / hit[0], ignore_errors=True)  # a leftover is swept at the next open
