"""The dashboard application: ``create_app()`` builds the FastAPI app ``blocsim serve`` runs.

Routes: ``/`` and a few HTML pages (:mod:`blocsim.web.views.pages`), the JSON API under
``/api`` (:mod:`blocsim.web.views.api`, OpenAPI schema at ``/openapi.json``, docs at
``/docs``), static files under ``/static``.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi_offline import FastAPIOffline
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from blocsim._version import __version__
from blocsim.errors import BlocsimError
from blocsim.web.service import Dashboard, NotFound, Settings
from blocsim.web.views import api, pages

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(home: str | os.PathLike[str] | None = None, *, workers: int | None = None) -> FastAPI:
    """Build the dashboard app.

    Parameters
    ----------
    home
        Root of the run store and job outputs; default ``$BLOCSIM_HOME`` or ``~/.blocsim``.
    workers
        Scenario runs solved concurrently (default ``$BLOCSIM_WEB_WORKERS`` or 2).
    """
    dashboard = Dashboard(Settings.from_env(home, workers))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        dashboard.close()

    app = FastAPIOffline(  # a FastAPI app whose /docs and /redoc assets are served locally (no CDN)
        title="blocsim dashboard",
        version=__version__,
        description="Run customs-union scenarios (built-in library or edited) and read their results.",
        lifespan=lifespan,
    )
    app.state.dashboard = dashboard

    @app.exception_handler(NotFound)
    async def not_found(request: Request, error: NotFound) -> Response:
        return _error(request, 404, str(error))

    @app.exception_handler(BlocsimError)
    async def invalid(request: Request, error: BlocsimError) -> Response:
        return _error(request, 422, str(error))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, error: RequestValidationError) -> Response:
        return _error(request, 422, validation_message(error))

    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def validation_message(error: RequestValidationError) -> str:
    """One readable message for FastAPI's request validation errors (field, problem, value)."""
    lines = []
    for item in error.errors()[:12]:
        where = ".".join(str(part) for part in item.get("loc", ()))
        value = repr(item.get("input"))
        value = value if len(value) <= 80 else value[:77] + "..."
        lines.append(f"request field '{where}': {item.get('msg', 'invalid')} (got {value})")
    return "; ".join(lines) or "invalid request"


def _error(request: Request, status: int, message: str) -> Response:
    """JSON error for the API, a small HTML page for the browser pages."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=status)
    return HTMLResponse(
        pages.templates.get_template("error.html").render(status=status, message=message, request=request),
        status_code=status,
    )
