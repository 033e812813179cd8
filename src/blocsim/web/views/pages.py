"""HTML pages of the dashboard: library and runs, scenario editor, job progress, run view.

Pages are thin: they render templates with data from the :class:`Dashboard`; the browser
then talks to the JSON API (``static/app.js``) to validate, submit and poll.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

import copy

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from blocsim import __version__
from blocsim.report import signed_pct
from blocsim.web.forms import EMPTY, list_templates
from blocsim.web.service import NAME_PATTERN, RUN_ID_PATTERN, Dashboard
from blocsim.web.views.api import JOB_ID_PATTERN

router = APIRouter(include_in_schema=False)
#: Newest jobs shown on the index page (GET /api/jobs lists all recorded ones).
JOBS_LISTED = 50
templates = Jinja2Templates(directory=str(FilePath(__file__).resolve().parents[1] / "templates"))
templates.env.globals["version"] = __version__
templates.env.filters["pct"] = signed_pct


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


@router.get("/scenarios/{name}", response_class=HTMLResponse)
def edit_scenario(request: Request, name: Annotated[str, Path(pattern=NAME_PATTERN)]) -> HTMLResponse:
    """Form editing a built-in scenario's fields, plus its TOML text."""
    scenario = _dashboard(request).scenario(name)
    lists = list_templates()
    document = copy.deepcopy(scenario["document"])
    for path in lists:  # every list of tables is shown, empty or not, with its "+ add" buttons
        section, key = path.split(".")
        document.setdefault(section, {}).setdefault(key, [])
    document.setdefault("after", {}).setdefault("date", {EMPTY: "date"})
    context = {"scenario": scenario, "document": document, "templates": lists}
    return templates.TemplateResponse(request, "scenario.html", context)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: Annotated[str, Path(pattern=JOB_ID_PATTERN)]) -> HTMLResponse:
    """Progress of a job (polls the API; opens the run when done)."""
    return templates.TemplateResponse(request, "job.html", {"job": _dashboard(request).job(job_id).to_dict()})


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)]) -> HTMLResponse:
    """A stored run: key figures and its report."""
    results = _dashboard(request).results(run_id)
    countries = sorted(results["countries"], key=lambda row: -(row.get("welfare_pct") or 0.0))
    return templates.TemplateResponse(request, "run.html", {"run": results, "countries": countries})
