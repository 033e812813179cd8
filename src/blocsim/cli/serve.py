"""``blocsim serve``: the web dashboard (FastAPI + uvicorn), bound to 127.0.0.1 by default."""

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
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; the default serves this machine only."),
        port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port to listen on."),
        workers: int = typer.Option(2, "--workers", min=1, max=64, help="Scenario runs solved at the same time."),
        home: Optional[Path] = typer.Option(
            None, "--home", help="Store and run folder (default: $BLOCSIM_HOME or ~/.blocsim)."
        ),
        log_level: str = typer.Option("info", "--log-level", help="uvicorn log level: critical, error, warning, info, debug."),
    ) -> None:
        """Serve the dashboard: pick or edit a scenario, run it in the background, read its report (API docs at /docs)."""
        import uvicorn

        from blocsim.web.app import create_app

        application = create_app(home, workers=workers)
        if host not in ("127.0.0.1", "localhost", "::1"):
            console.print(f"[yellow]warning:[/yellow] serving on {host}: anyone who can reach this port can run scenarios")
        console.print(f"blocsim dashboard on [bold]http://{host}:{port}/[/bold] (API docs: /docs; Ctrl-C stops)")
        uvicorn.run(application, host=host, port=port, log_level=log_level)
