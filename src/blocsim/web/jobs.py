"""Background scenario runs for the dashboard: a thread pool, job records and the run store.

A job takes a validated scenario, runs it with :func:`blocsim.run_scenario` into a
directory the server chooses (``$BLOCSIM_HOME/web/runs/<job id>``), writes its HTML
report, and registers the run in the DuckDB store, which gives it the run id the browser
uses from then on. Job records live in memory (they are progress reports, not results;
results are in the store).
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Literal

from blocsim.errors import BlocsimError

log = logging.getLogger("blocsim.web")

JobState = Literal["queued", "running", "succeeded", "failed"]

#: Progress stages: (stage name, fraction done when the stage starts).
STAGES: dict[str, float] = {
    "queued": 0.0,
    "solving": 0.1,
    "writing report": 0.8,
    "storing": 0.9,
    "done": 1.0,
}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Job:
    """A snapshot of one background run (immutable; the manager swaps in new snapshots)."""

    id: str
    scenario: str
    state: JobState
    stage: str
    progress: float
    created_utc: str
    started_utc: str | None = None
    finished_utc: str | None = None
    run_id: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


#: ``runner(scenario, out_dir)`` solves a validated scenario into ``out_dir``.
Runner = Callable[[Any, Path], Any]
#: ``finisher(out_dir) -> run_id`` writes the report and registers the run.
Finisher = Callable[[Path, Callable[[str], None]], str]


class JobManager:
    """Run scenarios in a thread pool and keep their status.

    Parameters
    ----------
    work_dir
        Directory under which each job gets its own output directory (server-chosen).
    runner
        Solves one validated scenario into a directory (``blocsim.run_scenario``).
    finisher
        Writes the report of a finished run directory and stores it; returns the run id.
        Receives a callback to report its stage (``"writing report"``, ``"storing"``).
    workers
        Size of the thread pool (concurrent runs); further jobs wait in the queue.
    """

    def __init__(self, work_dir: Path, runner: Runner, finisher: Finisher, *, workers: int = 2) -> None:
        self.work_dir = work_dir
        self._runner = runner
        self._finisher = finisher
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="blocsim-job")

    def submit(self, scenario: Any, label: str) -> Job:
        """Queue a run of a validated ``scenario`` (``label``: its name, for listings)."""
        job = Job(id=uuid.uuid4().hex, scenario=label, state="queued", stage="queued", progress=0.0, created_utc=_now())
        with self._lock:
            self._jobs[job.id] = job
        self._pool.submit(self._execute, job.id, scenario)
        return job

    def get(self, job_id: str) -> Job | None:
        """The current snapshot of a job, or ``None`` if unknown."""
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        """All jobs, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created_utc, reverse=True)

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting jobs; with ``wait`` let the running ones finish."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)

    def _stage(self, job_id: str, stage: str) -> None:
        self._update(job_id, stage=stage, progress=STAGES.get(stage, 0.0))

    def _execute(self, job_id: str, scenario: Any) -> None:
        self._update(job_id, state="running", started_utc=_now())
        self._stage(job_id, "solving")
        out_dir = self.work_dir / job_id
        try:
            self._runner(scenario, out_dir)
            run_id = self._finisher(out_dir, lambda stage: self._stage(job_id, stage))
        except BlocsimError as error:
            shutil.rmtree(out_dir, ignore_errors=True)
            self._update(job_id, state="failed", stage="failed", error=str(error), finished_utc=_now())
            return
        except Exception as error:  # noqa: BLE001 - a job must always end with a status
            log.exception("job %s failed", job_id)
            shutil.rmtree(out_dir, ignore_errors=True)
            message = f"internal error ({type(error).__name__}: {error}); please report it with the scenario"
            self._update(job_id, state="failed", stage="failed", error=message, finished_utc=_now())
            return
        self._update(job_id, state="succeeded", stage="done", progress=1.0, run_id=run_id, finished_utc=_now())
