"""JSON API (``/api``): list and show scenarios, submit runs, poll jobs, read stored runs.

Every identifier is a library name, a job id or a store run id, checked against a pattern
before use; no request field is ever used as a file path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from blocsim.web.limits import MAX_DRAWS, MAX_SEED, check_draws_request
from blocsim.web.outputs import DOWNLOADS, MAX_COMPARED
from blocsim.web.service import NAME_PATTERN, RUN_ID_PATTERN, TABLES, Dashboard
from blocsim.web.tomlio import MAX_DOCUMENT_DEPTH, MAX_DOCUMENT_ITEMS, MAX_TEXT_CHARS, check_document


class ErrorBody(BaseModel):
    """Error response."""

    detail: str


#: Answers any request can get from the guard in front of the app (:mod:`blocsim.web.guard`).
GUARD_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Host header not a name of this server"},
    401: {"model": ErrorBody, "description": "Access token missing or wrong (servers started with a token)"},
    413: {"model": ErrorBody, "description": "Request body over the size limit"},
}
router = APIRouter(prefix="/api", tags=["api"], responses=GUARD_ERRORS)

JOB_ID_PATTERN = r"^[0-9a-f]{32}$"
ScenarioName = Annotated[str, Path(pattern=NAME_PATTERN, max_length=64, description="Built-in scenario name.")]
RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN, max_length=128, description="Run id from GET /api/runs.")]
JobId = Annotated[str, Path(pattern=JOB_ID_PATTERN, description="Job id returned by POST /api/runs.")]
TableName = Annotated[Literal[TABLES], Path(description="Result table.")]  # type: ignore[valid-type]
DownloadKind = Annotated[Literal[tuple(DOWNLOADS)], Path(  # type: ignore[valid-type]
    description="xlsx (one workbook), dta (zip of Stata files), csv / csv-ru / csv-kk (zip of CSV files; ru and "
    "kk: ';' and decimal comma)."
)]
RunIds = Annotated[list[str], Query(min_length=2, max_length=MAX_COMPARED,
                                    description="Run ids from GET /api/runs, the first the reference (repeat: ?run=A&run=B).")]


class ScenarioSummary(BaseModel):
    """A built-in scenario."""

    name: str
    title: str
    event: str
    sources: list[str]


class ScenarioDetail(ScenarioSummary):
    """A built-in scenario with its fields and TOML text."""

    description: str | None = None
    focus_countries: list[str] | None = None
    document: dict[str, Any] = Field(description="The scenario's TOML fields as JSON (dates as YYYY-MM-DD strings).")
    toml: str


class RunRequest(BaseModel):
    """What to run: a built-in scenario, or an edited one (fields or TOML text)."""

    model_config = ConfigDict(extra="forbid")
    scenario: str | None = Field(None, pattern=NAME_PATTERN, max_length=64, description="Built-in scenario name.")
    document: dict[str, Any] | None = Field(
        None,
        description=f"Edited scenario fields (JSON form of the TOML file); at most {MAX_DOCUMENT_DEPTH} levels deep, "
        f"{MAX_DOCUMENT_ITEMS} values, texts of {MAX_TEXT_CHARS} characters.",
    )
    toml: str | None = Field(None, max_length=100_000, description="Complete scenario TOML text.")
    draws: int | None = Field(None, ge=2, le=MAX_DRAWS, description="Monte Carlo draws for uncertainty bands "
                              "(multi-sector scenarios; writes the run's bands and sensitivity tables).")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="Seed of the draws (default 0); only with draws.")

    @field_validator("document")
    @classmethod
    def _capped(cls, document: dict[str, Any] | None) -> dict[str, Any] | None:
        if document is not None:
            check_document(document)
        return document


class JobStatus(BaseModel):
    """Status of a background run."""

    id: str
    scenario: str
    state: Literal["queued", "running", "succeeded", "failed"]
    stage: str
    progress: float = Field(ge=0.0, le=1.0)
    created_utc: str
    started_utc: str | None = None
    finished_utc: str | None = None
    run_id: str | None = None
    error: str | None = None


class ValidationResult(BaseModel):
    """Outcome of validating a scenario without running it."""

    valid: bool
    name: str
    model: Literal["multisector", "onesector", "pe"]


class RunResults(BaseModel):
    """A stored run's metadata and country results."""

    run_id: str
    meta: dict[str, Any]
    tables: list[str]
    countries: list[dict[str, Any]]


ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}, 422: {"model": ErrorBody}}
SUBMIT_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    429: {"model": ErrorBody, "description": "Job queue full; try again when a run has finished"},
    507: {"model": ErrorBody, "description": "Run store full; delete runs first"},
}
#: Errors of the HTML route are JSON too (FastAPI would document them as text/html).
_ERROR_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
HTML_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not found", "content": _ERROR_JSON},
    422: {"description": "Invalid request", "content": _ERROR_JSON},
}


def _dashboard(request: Request) -> Dashboard:
    return request.app.state.dashboard


@router.get("/scenarios", response_model=list[ScenarioSummary], summary="List built-in scenarios")
def list_scenarios(request: Request) -> list[dict[str, Any]]:
    """The built-in scenario library: name, title, the event modelled and its sources."""
    return _dashboard(request).scenarios()


@router.get("/scenarios/{name}", response_model=ScenarioDetail, responses=ERRORS, summary="Show a scenario")
def show_scenario(name: ScenarioName, request: Request) -> dict[str, Any]:
    """One built-in scenario with its fields (for editing) and TOML text."""
    return _dashboard(request).scenario(name)


@router.post("/scenarios/validate", response_model=ValidationResult, responses=ERRORS, summary="Validate a scenario")
def validate_scenario(body: RunRequest, request: Request) -> dict[str, Any]:
    """Check a scenario with the loader without running it (422 with the problems if invalid)."""
    dashboard = _dashboard(request)
    scenario, label = dashboard.parse(name=body.scenario, document=body.document, toml=body.toml)
    check_draws_request(scenario, body.draws, body.seed)
    return {"valid": True, "name": label, "model": scenario.model.name}


@router.post("/runs", response_model=JobStatus, status_code=202, responses=SUBMIT_ERRORS, summary="Submit a run")
def submit_run(body: RunRequest, request: Request) -> dict[str, Any]:
    """Validate the scenario and queue it; poll ``GET /api/jobs/{id}`` for progress.

    Refused with 429 while the job queue is full and with 507 while the run store is full."""
    return _dashboard(request).submit(name=body.scenario, document=body.document, toml=body.toml, draws=body.draws,
                                      seed=body.seed).to_dict()


@router.get("/jobs", response_model=list[JobStatus], summary="List jobs")
def list_jobs(request: Request) -> list[dict[str, Any]]:
    """Recorded jobs (of this server and earlier ones; a job cut off by a restart is failed/interrupted), newest first."""
    return [job.to_dict() for job in _dashboard(request).jobs.all()]


@router.get("/jobs/{job_id}", response_model=JobStatus, responses=ERRORS, summary="Job status")
def job_status(job_id: JobId, request: Request) -> dict[str, Any]:
    """State, stage and progress (0-1) of a job; ``run_id`` once it has succeeded."""
    return _dashboard(request).job(job_id).to_dict()


@router.get("/runs", response_model=list[dict[str, Any]], summary="List stored runs")
def list_runs(request: Request) -> list[dict[str, Any]]:
    """Runs in the DuckDB store (``run_id`` and the store's summary columns)."""
    return _dashboard(request).runs()


@router.get("/runs/{run_id}", response_model=RunResults, responses=ERRORS, summary="Run results")
def run_results(run_id: RunId, request: Request) -> dict[str, Any]:
    """Metadata (run.json) and per-country results of a stored run."""
    return _dashboard(request).results(run_id)


@router.delete("/runs/{run_id}", status_code=204, responses=ERRORS, summary="Delete a run")
def delete_run(run_id: RunId, request: Request) -> Response:
    """Delete a stored run (give its full id): the store's record and its copy of the run, nothing else."""
    _dashboard(request).delete_run(run_id)
    return Response(status_code=204)


@router.get("/runs/{run_id}/tables/{table}", response_model=list[dict[str, Any]], responses=ERRORS, summary="Result table")
def run_table(run_id: RunId, table: TableName, request: Request) -> list[dict[str, Any]]:
    """One result table of a run as records."""
    return _dashboard(request).table(run_id, table)


@router.get(
    "/runs/{run_id}/report",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **HTML_ERRORS},
    summary="Run report (HTML)",
)
def run_report(run_id: RunId, request: Request) -> HTMLResponse:
    """The run's self-contained HTML report."""
    return HTMLResponse(_dashboard(request).report(run_id))


@router.get("/runs/{run_id}/scenario", response_model=ScenarioDetail, responses=ERRORS, summary="A run's scenario")
def run_scenario_file(run_id: RunId, request: Request) -> dict[str, Any]:
    """The scenario file a stored run was made from (its fields and TOML text), to edit and run again."""
    return _dashboard(request).stored_scenario(run_id)


_DOWNLOAD_TYPES = {media: {"schema": {"type": "string", "format": "binary"}} for _, _, _, media in DOWNLOADS.values()}


@router.get(
    "/runs/{run_id}/download/{kind}",
    response_class=Response,
    responses={200: {"content": _DOWNLOAD_TYPES, "description": "The export as a file"}, **HTML_ERRORS},
    summary="Download a run (Excel, Stata, CSV)",
)
def download_run(run_id: RunId, kind: DownloadKind, request: Request) -> Response:
    """The run exported with ``blocsim.export_run``: numbers at full precision, a README with units and assumptions."""
    name, content, media = _dashboard(request).download(run_id, kind)
    return Response(content, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})


class Comparison(BaseModel):
    """Stored runs side by side (``blocsim.compare``): one row per country."""

    runs: list[dict[str, Any]]
    variables: list[str]
    warnings: list[str]
    columns: list[str]
    rows: list[list[Any]]


@router.get("/compare", response_model=Comparison, responses=ERRORS, summary="Compare runs")
def compare_runs(run: RunIds, request: Request) -> dict[str, Any]:
    """Headline columns (and bands) of two or more stored runs, with differences to the first."""
    return _dashboard(request).compare(run)


@router.get(
    "/compare/page",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **HTML_ERRORS},
    summary="Comparison page (HTML)",
)
def compare_page(run: RunIds, request: Request) -> HTMLResponse:
    """The offline comparison page of two or more stored runs (charts and tables)."""
    return HTMLResponse(_dashboard(request).compare_page(run))
