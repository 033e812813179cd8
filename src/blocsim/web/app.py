"""The dashboard application: ``create_app()`` builds the FastAPI app ``blocsim serve`` runs.

Routes: ``/`` and a few HTML pages (:mod:`blocsim.web.views.pages`), the JSON API under
``/api`` (:mod:`blocsim.web.views.api`, OpenAPI schema at ``/openapi.json``, docs at
``/docs``), static files under ``/static``. In front of them all, :class:`~blocsim.web.guard.Guard`
checks the Host header, the access token and the body size. Every error is JSON
``{"detail": ...}`` for the API (a small HTML page for the browser pages): a
:class:`~blocsim.errors.BlocsimError` is a 4xx (its ``http_status``, else 422), and so is a
request nested too deeply to parse.
"""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi_offline import FastAPIOffline
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from blocsim import __version__
from blocsim.errors import BlocsimError
from blocsim.web.guard import Guard
from blocsim.web.service import Dashboard, Settings
from blocsim.web.views import api, pages

STATIC_DIR = Path(__file__).resolve().parent / "static"
log = logging.getLogger("blocsim.web")


def create_app(
    home: str | os.PathLike[str] | None = None,
    *,
    workers: int | None = None,
    host: str = "127.0.0.1",
    allowed_hosts: tuple[str, ...] = (),
    token: str | None = None,
    max_queue: int = Settings.max_queue,
    max_runs: int = Settings.max_runs,
    max_body_bytes: int = Settings.max_body_bytes,
) -> FastAPI:
    """Build the dashboard app.

    Parameters
    ----------
    home
        Root of the run store and job outputs; default ``$BLOCSIM_HOME`` or ``~/.blocsim``.
    workers
        Scenario runs solved concurrently (default ``$BLOCSIM_WEB_WORKERS`` or 2).
    host
        Address the server binds to: its name is accepted as Host; a non-loopback one needs ``token``.
    allowed_hosts
        Further Host-header names to answer (besides ``localhost``, ``127.0.0.1``, ``[::1]``).
    token
        Access token every request must carry (``None``: none, loopback only).
    max_queue, max_runs, max_body_bytes
        Jobs queued or running at once (HTTP 429 beyond), runs the store may hold (HTTP 507
        beyond; nothing is pruned), largest request body in bytes (HTTP 413 beyond).

    Raises
    ------
    BlocsimError
        A bad setting, e.g. a non-loopback ``host`` without ``token``.
    """
    settings = Settings.from_env(
        home, workers, host=host, allowed_hosts=tuple(allowed_hosts), token=token, max_queue=max_queue,
        max_runs=max_runs, max_body_bytes=max_body_bytes,
    )
    dashboard = Dashboard(settings)

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
    app.add_middleware(Guard, allowed_hosts=settings.host_names, token=settings.token,
                       max_body_bytes=settings.max_body_bytes)

    @app.exception_handler(BlocsimError)
    async def refused(request: Request, error: BlocsimError) -> Response:
        return _error(request, int(getattr(error, "http_status", 422)), str(error))

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, error: RecursionError) -> Response:
        return _error(request, 422, "request nested too deeply to read; a scenario needs only a few levels")

    @app.exception_handler(Exception)
    async def internal(request: Request, error: Exception) -> Response:
        log.error("internal error on %s", request.url.path, exc_info=error)
        return _error(request, 500, f"internal error ({type(error).__name__}); please report it with the request")

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
