"""The dashboard's work, independent of HTTP: scenarios, validation, jobs, stored runs.

Views call a :class:`Dashboard`; it calls only blocsim's public API (scenario loader,
:func:`blocsim.run_scenario`, :func:`blocsim.report.write_report`, the run store). The
browser never names a file: scenarios are addressed by library name or sent as content,
runs by the store's run id, and every output directory is chosen here under
``$BLOCSIM_HOME``.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from blocsim.errors import BlocsimError, ScenarioError, StoreError
from blocsim.web import outputs, tomlio
from blocsim.web.guard import LOOPBACK_HOSTS, allowed_host_names, host_name
from blocsim.web.jobs import Job, JobManager
from blocsim.web.limits import check_browser_scenario, check_draws_request

#: Library scenario names and store run ids: the only identifiers the browser sends.
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
RUN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
#: Result tables the API serves (file stems of a run directory).
TABLES: tuple[str, ...] = ("countries", "flows", "products", "bloc_effects", "partner_groups", "tariffs", "reexports",
                           "revenue", "bands", "sensitivity")
#: Models whose runs get the HTML report (it needs ``welfare_pct``; a PE run's pages show its tables).
REPORT_MODELS: tuple[str, ...] = ("multisector", "onesector")


#: Characters an access token may use (it travels in a header and a cookie).
TOKEN_PATTERN = r"^[A-Za-z0-9._~+/=-]{16,256}$"


class NotFound(BlocsimError, LookupError):
    """A scenario, job or run id that does not exist (HTTP 404)."""

    http_status = 404


class StoreFull(BlocsimError):
    """The store holds as many runs as it may (HTTP 507)."""

    http_status = 507


def default_home() -> Path:
    """``$BLOCSIM_HOME``, else ``~/.blocsim``."""
    return Path(os.environ.get("BLOCSIM_HOME") or Path.home() / ".blocsim").expanduser()


@dataclass(frozen=True)
class Settings:
    """Server settings.

    Attributes
    ----------
    home
        Root for the run store and job output (``$BLOCSIM_HOME``, default ``~/.blocsim``).
    workers
        Scenario runs solved at the same time (thread pool size); others queue.
    host
        Address the server is bound to; its name is accepted in the Host header.
    allowed_hosts
        Further host names clients may use (besides ``localhost``, ``127.0.0.1``, ``[::1]``).
    token
        Access token every request must carry (``None``: none; required off loopback).
    max_queue
        Jobs queued or running at once; more are refused (HTTP 429).
    max_runs
        Runs the store may hold; new runs are refused (HTTP 507) until some are deleted.
    max_body_bytes
        Largest request body (bytes); larger ones are refused (HTTP 413).
    """

    home: Path
    workers: int = 2
    host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()
    token: str | None = None
    max_queue: int = 32
    max_runs: int = 100
    max_body_bytes: int = 512 * 1024

    def __post_init__(self) -> None:
        for name in ("workers", "max_queue", "max_runs", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise BlocsimError(f"{name}: {getattr(self, name)} is not allowed; give at least 1")
        if self.token is not None and not re.match(TOKEN_PATTERN, self.token):
            raise BlocsimError(
                "access token: use 16 to 256 characters from A-Z a-z 0-9 . _ ~ + / = - "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe())')"
            )
        if self.token is None and not is_loopback(self.host):
            raise BlocsimError(
                f"host {self.host!r}: serving beyond this machine needs an access token; set BLOCSIM_WEB_TOKEN "
                "(or --token) to a secret of at least 16 characters, or bind to 127.0.0.1"
            )

    @property
    def host_names(self) -> frozenset[str]:
        """Host-header names this server answers to."""
        return allowed_host_names(self.host, self.allowed_hosts)

    @classmethod
    def from_env(cls, home: str | os.PathLike[str] | None = None, workers: int | None = None,
                 **options: Any) -> "Settings":
        """Settings from arguments, else ``$BLOCSIM_HOME`` and ``$BLOCSIM_WEB_WORKERS``; ``options``: other fields."""
        if workers is not None:
            count = workers
        else:
            raw = os.environ.get("BLOCSIM_WEB_WORKERS", "2")
            if not raw.strip().isdigit():
                raise BlocsimError(f"BLOCSIM_WEB_WORKERS={raw!r}: not a whole number; set it to e.g. 2 or unset it")
            count = int(raw)
        return cls(home=Path(home).expanduser() if home is not None else default_home(), workers=count, **options)


def is_loopback(host: str) -> bool:
    """Whether a bind address serves this machine only (``localhost``, ``127.x.x.x``, ``::1``)."""
    name = host_name(host).strip("[]")
    if host_name(host) in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def jsonable(value: Any) -> Any:
    """Replace NaN/inf by ``None`` and pandas/NumPy scalars by Python ones, recursively."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if value is pd.NaT:
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as JSON-safe records (NaN -> ``None``)."""
    return [jsonable(row) for row in frame.to_dict(orient="records")]


class Dashboard:
    """Scenarios, background runs and stored results for the web app.

    Parameters
    ----------
    settings
        Where to store runs and how many to solve at once.
    """

    def __init__(self, settings: Settings) -> None:
        from blocsim.data import Store

        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self._store = Store(settings.home)
        # downloads and comparison pages are built here and removed before they are sent; a folder
        # left by a server that died mid-request is removed when the next one starts
        self.scratch = settings.home / "web" / "scratch"
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.jobs = JobManager(settings.home / "web" / "runs", _solve, self._finish, store=self._store,
                               workers=settings.workers, max_queue=settings.max_queue)

    # -------------------------------------------------------------- scenarios
    def scenarios(self) -> list[dict[str, Any]]:
        """Built-in scenarios: ``name, title, event, sources``."""
        from blocsim.scenario import library_entries

        return [jsonable(dict(entry)) for entry in library_entries()]

    def _library_text(self, name: str) -> str:
        from blocsim.scenario import library_names, library_text

        if not re.match(NAME_PATTERN, name) or name not in library_names():
            raise NotFound(f"scenario {name!r}: not a built-in scenario; see GET /api/scenarios for the names")
        return library_text(name)

    def scenario(self, name: str) -> dict[str, Any]:
        """One built-in scenario: its summary, its fields as a JSON ``document`` and its TOML text.

        The document spells out ``model.theta`` (trade elasticities by sector) even when the
        file names a table or leaves it to the default, so that the form can edit them; the
        numbers are those of the named table, so the scenario's results do not change.
        """
        return _editable(self._library_text(name), name=name, base=name)

    def stored_scenario(self, run_id: str) -> dict[str, Any]:
        """The scenario file a stored run was made from (its ``scenario.toml``), as :meth:`scenario` gives it.

        ``base`` is empty: the document is sent back whole, not as an edit of a built-in one.

        Raises
        ------
        NotFound
            Unknown run, or a run that keeps no scenario file (it was run from a Python object).
        """
        path = self.run_dir(run_id) / "scenario.toml"
        if not path.is_file():
            raise NotFound(f"run {run_id!r} keeps no scenario.toml (it was run from a scenario built in Python); "
                           "start from a built-in scenario or New scenario instead")
        text = path.read_text(encoding="utf-8")
        try:
            name = str(tomllib.loads(text).get("scenario", {}).get("name") or run_id)
        except tomllib.TOMLDecodeError:
            name = run_id
        return {**_editable(text, name=name, base=""), "run_id": run_id}

    def parse(self, *, name: str | None, document: Mapping[str, Any] | None, toml: str | None) -> tuple[Any, str]:
        """Validate a run request with the scenario loader; return (scenario, label).

        Exactly one source: a library ``name`` alone, an edited ``document`` (JSON form of
        the TOML fields) or ``toml`` text.

        Raises
        ------
        ScenarioError
            Invalid scenario (the loader's message: field, value, what is allowed).
        NotFound
            Unknown library name.
        """
        from blocsim.scenario import parse_scenario

        given = [x is not None for x in (document, toml)]
        if sum(given) > 1 or (name is None and not any(given)):
            raise ScenarioError(
                "run request: give exactly one of 'scenario' (a built-in name), 'document' (edited fields) "
                "or 'toml' (scenario text); 'scenario' may accompany 'document' as its base name"
            )
        if document is not None:
            text, source = tomlio.dumps(document), "<edited scenario>"
        elif toml is not None:
            text, source = toml, "<submitted scenario>"
        else:
            text, source = self._library_text(str(name)), f"library/{name}.toml"
        try:  # no include_dirs: a scenario from the browser may include built-in policies only
            scenario = parse_scenario(text, source=source)
        except RecursionError:
            raise ScenarioError(f"scenario {source}: nested too deeply to be a scenario; flatten the tables") from None
        check_browser_scenario(scenario, text, source)
        return scenario, str(scenario.scenario.name)

    def submit(self, *, name: str | None, document: Mapping[str, Any] | None, toml: str | None,
               draws: int | None = None, seed: int | None = None) -> Job:
        """Validate and queue a run; returns the queued job.

        ``draws``/``seed``: Monte Carlo bands as for :func:`blocsim.run_scenario` (multi-sector
        scenarios only; ``seed`` only with ``draws``).

        Raises
        ------
        ScenarioError
            Invalid scenario, or ``draws``/``seed`` the scenario's model cannot use.
        StoreFull
            The store holds ``max_runs`` runs counting the jobs in flight (delete some first).
        QueueFull
            ``max_queue`` jobs are queued or running.
        """
        scenario, label = self.parse(name=name, document=document, toml=toml)
        check_draws_request(scenario, draws, seed)
        if draws is not None:
            label = f"{label} ({draws} draws, seed {0 if seed is None else seed})"
        stored, limit = len(self._store.runs()), self.settings.max_runs
        if stored + self.jobs.in_flight() >= limit:
            raise StoreFull(
                f"the run store is full: {stored} runs stored and {self.jobs.in_flight()} running, limit {limit}; "
                "delete runs you no longer need (DELETE /api/runs/{run_id}) or restart with a higher --max-runs"
            )
        return self.jobs.submit(RunOrder(scenario, draws, seed), label)

    def job(self, job_id: str) -> Job:
        """A job's current status."""
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id!r}: unknown (or dropped as one of the oldest); see GET /api/jobs")
        return job

    # -------------------------------------------------------------- runs
    def _finish(self, out_dir: Path, stage: Any) -> str:
        from blocsim.report import write_report

        from blocsim.data import read_run_record

        if read_run_record(out_dir).model.name in REPORT_MODELS:
            stage("writing report")
            write_report(out_dir)
        stage("storing")
        # the store locks its catalog itself and enforces the run limit under that lock
        run_id = str(self._store.add_run(out_dir, max_runs=self.settings.max_runs))
        shutil.rmtree(out_dir, ignore_errors=True)  # the store keeps its own copy
        return run_id

    def runs(self) -> list[dict[str, Any]]:
        """Stored runs (newest first), as JSON-safe records."""
        frame = self._store.runs()
        return records(frame.drop(columns=["path"], errors="ignore"))

    def delete_run(self, run_id: str) -> None:
        """Delete a stored run (full id): the store's row and its own copy, nothing else."""
        if not re.match(RUN_ID_PATTERN, run_id):
            raise NotFound(f"run {run_id!r}: not a run id; see GET /api/runs for the ids")
        try:
            self._store.delete_run(run_id)
        except StoreError:
            raise NotFound(f"run {run_id!r}: not in the store (give the full id); see GET /api/runs") from None

    def run_dir(self, run_id: str) -> Path:
        """Directory of a stored run; :class:`NotFound` for ids the store does not know."""
        if not re.match(RUN_ID_PATTERN, run_id):
            raise NotFound(f"run {run_id!r}: not a run id; see GET /api/runs for the ids")
        try:
            path = Path(self._store.run_path(run_id))
        except BlocsimError:
            raise NotFound(f"run {run_id!r}: not in the store (or not a unique id prefix); see GET /api/runs") from None
        if not (path / "run.json").is_file():
            raise NotFound(f"run {run_id!r}: its directory {path.name} is gone; re-run the scenario")
        return path

    def results(self, run_id: str) -> dict[str, Any]:
        """A run's metadata and country results."""
        from blocsim.results import read_run

        tables, meta = read_run(self.run_dir(run_id))
        return {
            "run_id": run_id,
            "meta": jsonable(meta),
            "tables": sorted(name for name in tables if name in TABLES),
            "countries": records(tables["countries"]) if "countries" in tables else [],
        }

    def table(self, run_id: str, name: str) -> list[dict[str, Any]]:
        """One result table of a run (``name`` from :data:`TABLES`)."""
        if name not in TABLES:
            raise NotFound(f"table {name!r}: not a result table; allowed: {', '.join(TABLES)}")
        path = self.run_dir(run_id) / f"{name}.csv"
        if not path.is_file():
            raise NotFound(f"run {run_id!r} has no {name} table")
        return records(pd.read_csv(path))

    def report(self, run_id: str) -> str:
        """The run's self-contained HTML report (rendered now if the run has none stored)."""
        from blocsim.report import load_run, render_report

        path = self.run_dir(run_id)
        report = path / "report.html"
        if report.is_file():
            return report.read_text(encoding="utf-8")
        return render_report(load_run(path))  # stored runs stay as they were added

    def run_page(self, run_id: str) -> dict[str, Any]:
        """What a run's page shows: :meth:`results`, the model, its tables (:func:`~blocsim.web.outputs.run_tables`),
        whether it has a report and a scenario file to edit."""
        from blocsim.results import read_run

        path = self.run_dir(run_id)
        tables, meta = read_run(path)
        model = str((meta.get("model") or {}).get("name") or "multisector")
        return {
            **self.results(run_id),
            "model": model,
            "page_tables": outputs.run_tables(model, tables),
            "has_report": model in REPORT_MODELS,
            "editable": (path / "scenario.toml").is_file(),
        }

    def download(self, run_id: str, kind: str) -> tuple[str, bytes, str]:
        """A stored run exported for download (:func:`~blocsim.web.outputs.export_download`): name, bytes, media type."""
        return outputs.export_download(self.run_dir(run_id), kind, self.scratch, run_id)

    def _compared(self, run_ids: list[str]) -> Any:
        if not 2 <= len(run_ids) <= outputs.MAX_COMPARED or len(set(run_ids)) != len(run_ids):
            raise ScenarioError(f"query 'run': give 2 to {outputs.MAX_COMPARED} different run ids (got {len(run_ids)}, "
                                f"{len(set(run_ids))} different); see GET /api/runs for the ids")
        paths = [self.run_dir(run_id) for run_id in run_ids]
        names = [str(self._store.run_meta(path.name).get("scenario", {}).get("name") or path.name) for path in paths]
        labels = [f"{name} {path.name[:6]}" for name, path in zip(names, paths)]
        if len(set(labels)) != len(labels):
            labels = [path.name for path in paths]
        return outputs.comparison(paths, labels)

    def compare(self, run_ids: list[str]) -> dict[str, Any]:
        """Stored runs side by side (:func:`blocsim.compare`); the first is the reference."""
        return jsonable(outputs.comparison_view(self._compared(run_ids)))

    def compare_page(self, run_ids: list[str]) -> str:
        """The offline comparison page (HTML) of stored runs."""
        return outputs.comparison_page(self._compared(run_ids), self.scratch)

    def close(self) -> None:
        """Let running jobs finish, mark queued ones interrupted and stop the pool."""
        self.jobs.shutdown()


def _editable(text: str, *, name: str, base: str) -> dict[str, Any]:
    """A scenario text as the editor shows it: summary, fields as a JSON ``document``, the text.

    The document of a multi-sector scenario spells out ``model.theta`` (trade elasticities by
    sector) even when the file names a table or leaves it to the default, so that the form can
    edit them; the numbers are those of the named table, so the scenario's results do not change.
    ``base``: the built-in scenario edited ("" for any other text).
    """
    from blocsim.scenario import parse_scenario

    document = tomlio.to_jsonable(tomllib.loads(text))
    model = document.get("model") if isinstance(document.get("model"), dict) else {}
    if model.get("name", "multisector") == "multisector" and not isinstance(model.get("theta"), dict):
        from blocsim.pipeline import resolve_theta

        try:  # the elasticities a run would use (the named table, or the default one), as editable numbers
            theta = resolve_theta(parse_scenario(text, source=f"<{name}>"))
        except BlocsimError:
            theta = None  # a stored scenario the loader now refuses: "Check" shows why
        if theta is not None:
            document["model"] = {**model, "theta": theta}
    meta = document.get("scenario", {})
    summary = {key: meta.get(key) for key in ("title", "event", "description", "sources", "focus_countries")}
    return {"name": name, "base": base, "model": model.get("name", "multisector"), **summary,
            "document": document, "toml": text}


@dataclass(frozen=True)
class RunOrder:
    """What a job runs: a validated scenario and its Monte Carlo request (``draws`` None: none)."""

    scenario: Any
    draws: int | None = None
    seed: int | None = None


def _solve(order: RunOrder, out_dir: Path) -> None:
    """Run a validated scenario into the server-chosen ``out_dir``."""
    from blocsim import run_scenario

    run_scenario(order.scenario, out_dir, draws=order.draws, seed=order.seed)
