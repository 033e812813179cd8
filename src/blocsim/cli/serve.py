"""``blocsim serve``: the web dashboard (FastAPI + uvicorn), bound to 127.0.0.1 by default.

Serving beyond this machine needs an access token (``--token`` or ``$BLOCSIM_WEB_TOKEN``):
without one the command refuses to start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from blocsim.cli._common import console, handle_errors


def register(app: typer.Typer) -> None:
    """Add ``blocsim serve`` to the top-level app."""

    @app.command("serve")
    @handle_errors
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; the default serves this machine only. "
                                 "Any other needs --token."),
        port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port to listen on."),
        workers: int = typer.Option(2, "--workers", min=1, max=64, help="Scenario runs solved at the same time."),
        home: Optional[Path] = typer.Option(
            None, "--home", help="Store and run folder (default: $BLOCSIM_HOME or ~/.blocsim)."
        ),
        token: Optional[str] = typer.Option(
            None, "--token", envvar="BLOCSIM_WEB_TOKEN", show_default=False,
            help="Access token (16+ characters) every request must carry; required unless bound to loopback. "
            "Prefer the environment variable BLOCSIM_WEB_TOKEN (a command line is visible to other users).",
        ),
        allowed_host: list[str] = typer.Option(
            [], "--allowed-host", help="Host name clients use to reach the server (repeatable); localhost, 127.0.0.1, "
            "[::1] and --host are always allowed, any other Host header is refused.",
        ),
        max_queue: int = typer.Option(32, "--max-queue", min=1, help="Runs queued or running at once; more are "
                                      "refused (HTTP 429)."),
        max_runs: int = typer.Option(100, "--max-runs", min=1, help="Runs the store may hold; new runs are refused "
                                     "(HTTP 507) until some are deleted (DELETE /api/runs/ID)."),
        log_level: str = typer.Option("info", "--log-level", help="uvicorn log level: critical, error, warning, info, debug."),
    ) -> None:
        """Serve the dashboard: pick or edit a scenario, run it in the background, read its report (API docs at /docs)."""
        import uvicorn

        from blocsim.web import create_app

        application = create_app(home, workers=workers, host=host, allowed_hosts=tuple(allowed_host), token=token,
                                 max_queue=max_queue, max_runs=max_runs)
        if token is not None:
            console.print("access token required: open the dashboard once with ?token=TOKEN, or send "
                          "'Authorization: Bearer TOKEN'", highlight=False)
        console.print(f"blocsim dashboard on [bold]http://{host}:{port}/[/bold] (API docs: /docs; Ctrl-C stops)")
        uvicorn.run(application, host=host, port=port, log_level=log_level)
