"""HTML pages of the dashboard: library and runs, scenario editor, job progress, run view.

Pages are thin: they render templates with data from the :class:`Dashboard`; the browser
then talks to the JSON API (``static/app.js``) to validate, submit and poll.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlencode

import copy

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from blocsim import __version__
from blocsim.report import signed_pct
from blocsim.web.forms import EMPTY, add_model_choices, list_templates
from blocsim.web.limits import MAX_DRAWS
from blocsim.web.outputs import DOWNLOADS, MAX_COMPARED, readable
from blocsim.web.service import NAME_PATTERN, RUN_ID_PATTERN, Dashboard
from blocsim.web.views.api import JOB_ID_PATTERN

router = APIRouter(include_in_schema=False)
#: Newest jobs shown on the index page (GET /api/jobs lists all recorded ones).
JOBS_LISTED = 50
templates = Jinja2Templates(directory=str(FilePath(__file__).resolve().parents[1] / "templates"))
templates.env.globals["version"] = __version__
templates.env.filters["pct"] = signed_pct
templates.env.filters["num"] = readable
templates.env.globals["max_draws"] = MAX_DRAWS
templates.env.globals["downloads"] = list(DOWNLOADS)


def _dashboard(request: Request) -> Dashboard:
    return request.app.state.dashboard


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """Library of scenarios, recent jobs and stored runs."""
    dashboard = _dashboard(request)
    context = {
        "scenarios": dashboard.scenarios(),
        "jobs": [job.to_dict() for job in dashboard.jobs.all()[:JOBS_LISTED]],
        "runs": dashboard.runs(),
    }
    return templates.TemplateResponse(request, "index.html", context)


@router.get("/scenarios/new", response_class=HTMLResponse)
def new_scenario(request: Request) -> HTMLResponse:
    """Write or upload a scenario TOML (any model), check it with the loader and run it."""
    return templates.TemplateResponse(request, "new.html", {"scenarios": _dashboard(request).scenarios()})


@router.get("/scenarios/{name}", response_class=HTMLResponse)
def edit_scenario(request: Request, name: Annotated[str, Path(pattern=NAME_PATTERN)]) -> HTMLResponse:
    """Form editing a built-in scenario's fields, plus its TOML text."""
    return _editor(request, _dashboard(request).scenario(name))


@router.get("/runs/{run_id}/edit", response_class=HTMLResponse)
def edit_run(request: Request, run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)]) -> HTMLResponse:
    """The editor on the scenario file a stored run was made from (any run: library, edited, uploaded, CLI)."""
    return _editor(request, _dashboard(request).stored_scenario(run_id))


def _editor(request: Request, scenario: dict[str, Any]) -> HTMLResponse:
    document = copy.deepcopy(scenario["document"])
    lists = list_templates() if scenario["model"] != "onesector" else {}  # no [before]/[after] in one-sector files
    for path in lists:  # every list of tables is shown, empty or not, with its "+ add" buttons
        section, key = path.split(".")
        document.setdefault(section, {}).setdefault(key, [])
    if lists:
        document.setdefault("after", {}).setdefault("date", {EMPTY: "date"})
    add_model_choices(document, scenario["model"])  # [model] options with a fixed set of values, set or not
    context = {"scenario": scenario, "document": document, "templates": lists}
    return templates.TemplateResponse(request, "scenario.html", context)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: Annotated[str, Path(pattern=JOB_ID_PATTERN)]) -> HTMLResponse:
    """Progress of a job (polls the API; opens the run when done)."""
    return templates.TemplateResponse(request, "job.html", {"job": _dashboard(request).job(job_id).to_dict()})


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)]) -> HTMLResponse:
    """A stored run: key figures, its tables (rounded), downloads and its report."""
    run = _dashboard(request).run_page(run_id)
    countries = sorted(run["countries"], key=lambda row: -(row.get("welfare_pct") or 0.0))
    welfare = any("welfare_pct" in row for row in countries)
    return templates.TemplateResponse(request, "run.html", {"run": run, "countries": countries, "welfare": welfare})


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, run: Annotated[list[str], Query(min_length=2, max_length=MAX_COMPARED)]) -> HTMLResponse:
    """Stored runs side by side (rounded), with the offline comparison page one click away."""
    compared = _dashboard(request).compare(run)
    query = urlencode([("run", run_id) for run_id in run])
    return templates.TemplateResponse(request, "compare.html", {"compared": compared, "query": query})
