"""Background scenario runs for the dashboard: a bounded queue, a thread pool and persistent job records.

A job takes a validated scenario, runs it with :func:`blocsim.run_scenario` into a
directory the server chooses (``$BLOCSIM_HOME/web/runs/<job id>``), writes its HTML
report, and registers the run in the DuckDB store, which gives it the run id the browser
uses from then on.

Every change of a job's status is written to the store's ``jobs`` table, tagged with the
server that runs it. A server holds an exclusive ``flock`` on
``$BLOCSIM_HOME/web/servers/<server id>.lock`` while it lives; the kernel drops the lock
when the process dies, however it dies. On start, a server marks every queued or running
job of a server whose lock is free (a dead one) as failed, stage ``interrupted``, with the
reason, and removes its scratch directory: no job vanishes without a trace.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Callable, Literal, Mapping

from blocsim.errors import BlocsimError

try:  # POSIX advisory locks tell a live server from a dead one
    import fcntl
except ImportError:  # pragma: no cover - Windows: a server whose lock file is gone counts as dead
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("blocsim.web")

JobState = Literal["queued", "running", "succeeded", "failed"]
UNFINISHED: tuple[str, ...] = ("queued", "running")
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
INTERRUPTED = (
    "interrupted: the server stopped (restart, crash or kill) before this job finished; nothing was stored, "
    "submit the scenario again"
)

#: Progress stages: (stage name, fraction done when the stage starts).
STAGES: dict[str, float] = {
    "queued": 0.0,
    "solving": 0.1,
    "writing report": 0.8,
    "storing": 0.9,
    "done": 1.0,
}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


class QueueFull(BlocsimError):
    """The job queue is at its limit (HTTP 429)."""

    http_status = 429


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

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "Job":
        """A job from a row of the store's ``jobs`` table (extra columns such as ``owner`` ignored)."""
        return cls(**{f.name: record.get(f.name) for f in fields(cls)})


#: ``runner(scenario, out_dir)`` solves a validated scenario into ``out_dir``.
Runner = Callable[[Any, Path], Any]
#: ``finisher(out_dir) -> run_id`` writes the report and registers the run.
Finisher = Callable[[Path, Callable[[str], None]], str]


class JobManager:
    """Run scenarios in a thread pool, keep their status in the store, bound the queue.

    Parameters
    ----------
    work_dir
        Directory under which each job gets its own output directory (server-chosen).
    runner
        Solves one validated scenario into a directory (``blocsim.run_scenario``).
    finisher
        Writes the report of a finished run directory and stores it; returns the run id.
        Receives a callback to report its stage (``"writing report"``, ``"storing"``).
    store
        The :class:`blocsim.data.Store` holding job records.
    workers
        Size of the thread pool (concurrent runs); further jobs wait in the queue.
    max_queue
        Jobs of this server queued or running at once; one more is refused (:class:`QueueFull`).
    """

    def __init__(self, work_dir: Path, runner: Runner, finisher: Finisher, *, store: Any, workers: int = 2,
                 max_queue: int = 32) -> None:
        self.work_dir = work_dir
        self.max_queue = max_queue
        self._runner = runner
        self._finisher = finisher
        self._store = store
        self._jobs: dict[str, Job] = {}  # this server's unfinished jobs (finished ones are read from the store)
        self._lock = threading.Lock()
        self.owner = uuid.uuid4().hex
        self._servers = work_dir.parent / "servers"
        self._servers.mkdir(parents=True, exist_ok=True)
        work_dir.mkdir(parents=True, exist_ok=True)
        self._alive_handle = self._hold_lock()
        self.recover()
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="blocsim-job")

    # ---------------------------------------------------------------- liveness
    def _hold_lock(self) -> Any:
        handle = open(self._servers / f"{self.owner}.lock", "a+")
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return handle

    def _is_alive(self, owner: str) -> bool:
        """Whether the server ``owner`` still holds its lock (a dead process holds none)."""
        if owner == self.owner:
            return True
        path = self._servers / f"{owner}.lock"
        if not JOB_ID.match(owner) or not path.is_file():
            return False
        if fcntl is None:  # pragma: no cover - cannot tell; trust the lock file
            return True
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False

    def recover(self) -> list[str]:
        """Mark the unfinished jobs of dead servers as failed/interrupted and remove their scratch folders.

        Returns
        -------
        list of str
            Ids of the jobs marked.
        """
        marked: list[str] = []
        for owner in sorted(self._store.unfinished_job_owners()):
            if not self._is_alive(owner):
                marked += self._store.interrupt_jobs(owner, INTERRUPTED)
                (self._servers / f"{owner}.lock").unlink(missing_ok=True)
        unfinished = {job["id"] for job in self._store.jobs() if job["state"] in UNFINISHED}
        for folder in self.work_dir.iterdir():  # scratch folders of jobs that no live server runs
            if JOB_ID.match(folder.name) and folder.name not in unfinished:
                shutil.rmtree(folder, ignore_errors=True)
        if marked:
            log.warning("%d job(s) of a stopped server marked failed/interrupted", len(marked))
        return marked

    # ---------------------------------------------------------------- jobs
    def in_flight(self) -> int:
        """This server's jobs queued or running."""
        with self._lock:
            return sum(job.state in UNFINISHED for job in self._jobs.values())

    def submit(self, scenario: Any, label: str) -> Job:
        """Queue a run of a validated ``scenario`` (``label``: its name, for listings).

        Raises
        ------
        QueueFull
            ``max_queue`` jobs are already queued or running.
        """
        job = Job(id=uuid.uuid4().hex, scenario=label, state="queued", stage="queued", progress=0.0, created_utc=_now())
        with self._lock:
            waiting = sum(other.state in UNFINISHED for other in self._jobs.values())
            if waiting >= self.max_queue:
                raise QueueFull(
                    f"job queue full: {waiting} runs are queued or running (limit {self.max_queue}); "
                    "try again when one has finished"
                )
            self._jobs[job.id] = job
        self._save(job)
        self._pool.submit(self._execute, job.id, scenario)
        return job

    def get(self, job_id: str) -> Job | None:
        """The current snapshot of a job (this server's or a stored one), or ``None`` if unknown."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None:
            return job
        records = self._store.jobs(job_id)
        return Job.from_record(records[0]) if records else None

    def all(self) -> list[Job]:
        """All recorded jobs (of this and earlier servers), newest first."""
        stored = {record["id"]: Job.from_record(record) for record in self._store.jobs()}
        with self._lock:
            stored.update(self._jobs)
        return sorted(stored.values(), key=lambda j: (j.created_utc, j.id), reverse=True)

    def shutdown(self) -> None:
        """Stop: let running jobs finish, mark queued ones interrupted, release this server's lock."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._jobs.clear()
        self._store.interrupt_jobs(self.owner, INTERRUPTED)
        self._alive_handle.close()
        (self._servers / f"{self.owner}.lock").unlink(missing_ok=True)

    def _save(self, job: Job) -> bool:
        """Write ``job`` to the store; on failure log it and keep the job in memory (returns False)."""
        try:
            self._store.save_job({**job.to_dict(), "owner": self.owner})
        except BlocsimError as error:
            log.error("job %s: status not stored (%s)", job.id, error)
            return False
        return True

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            job = replace(self._jobs[job_id], **changes)
            self._jobs[job_id] = job
        if self._save(job) and job.state not in UNFINISHED:
            with self._lock:  # finished and stored: read from the store from now on
                self._jobs.pop(job_id, None)

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
