"""The jobs table of the store: status records of background runs (the web dashboard's jobs).

Part of :class:`blocsim.data.Store` (see :mod:`blocsim.data.store`). Table ``jobs`` keeps one
row per job, so that a job queued or running when its server died is marked failed/interrupted
(:meth:`StoreJobs.interrupt_jobs`) instead of vanishing.
"""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from blocsim.data.store_catalog import CatalogAccess, utc_now

#: Table ``jobs``: one row per job. ``progress`` is a fraction from 0 to 1; the ``*_utc`` times
#: are ISO 8601 UTC text; ``run_id`` is the stored run of a job that succeeded.
JOBS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS jobs (id VARCHAR PRIMARY KEY, owner VARCHAR, scenario VARCHAR, state VARCHAR, "
    "stage VARCHAR, progress DOUBLE, created_utc VARCHAR, started_utc VARCHAR, finished_utc VARCHAR, "
    "run_id VARCHAR, error VARCHAR)"
)
#: Columns of table ``jobs``, in order (a job record is a mapping with these keys).
JOB_FIELDS = ("id", "owner", "scenario", "state", "stage", "progress", "created_utc", "started_utc", "finished_utc",
              "run_id", "error")


class StoreJobs(CatalogAccess):
    """Save, list and interrupt job records (a part of :class:`blocsim.data.Store`).

    The class that uses it creates table ``jobs`` (:data:`JOBS_SCHEMA`) before the first call.
    """

    def save_job(self, job: Mapping[str, Any], *, keep: int = 1000) -> None:
        """Insert or replace a job record (keys :data:`JOB_FIELDS`); keep the ``keep`` newest finished jobs.

        ``job`` maps column names to values (missing keys are stored as NULL): ``progress`` a
        fraction from 0 to 1, times ISO 8601 UTC text. ``keep`` counts jobs; queued or running
        jobs are never pruned.
        """
        row = [job.get(field) for field in JOB_FIELDS]
        with self._lock(exclusive=True), self._connect(read_only=False) as con:
            con.execute("BEGIN TRANSACTION")
            con.execute("DELETE FROM jobs WHERE id = ?", [row[0]])
            con.execute(f"INSERT INTO jobs VALUES ({', '.join('?' * len(JOB_FIELDS))})", row)
            con.execute(
                "DELETE FROM jobs WHERE state NOT IN ('queued', 'running') AND id NOT IN (SELECT id FROM jobs "
                "WHERE state NOT IN ('queued', 'running') ORDER BY created_utc DESC, id LIMIT ?)", [int(keep)]
            )
            con.execute("COMMIT")

    def jobs(self, job_id: str | None = None) -> list[dict[str, Any]]:
        """Job records, newest first by ``created_utc`` (only ``job_id``'s if given).

        Each record is a dict with the keys :data:`JOB_FIELDS`; a NULL column is ``None``.
        """
        where, params = ("WHERE id = ?", [job_id]) if job_id is not None else ("", [])
        frame = self._fetch(f"SELECT * FROM jobs {where} ORDER BY created_utc DESC, id", params)
        return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict(orient="records")]

    def unfinished_job_owners(self) -> set[str]:
        """Owners of jobs still recorded as queued or running."""
        frame = self._fetch("SELECT DISTINCT owner FROM jobs WHERE state IN ('queued', 'running')")
        return {str(owner) for owner in frame["owner"]}

    def interrupt_jobs(self, owner: str, reason: str) -> list[str]:
        """Mark ``owner``'s queued or running jobs failed (stage ``interrupted``, error ``reason``,
        ``finished_utc`` now).

        Returns
        -------
        list of str
            The ids of the jobs marked.
        """
        with self._lock(exclusive=True), self._connect(read_only=False) as con:
            ids = [r[0] for r in con.execute(
                "SELECT id FROM jobs WHERE owner = ? AND state IN ('queued', 'running')", [owner]).fetchall()]
            con.execute(
                "UPDATE jobs SET state = 'failed', stage = 'interrupted', error = ?, finished_utc = ? "
                "WHERE owner = ? AND state IN ('queued', 'running')", [reason, utc_now(), owner]
            )
        return ids
