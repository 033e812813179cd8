"""PNG export of the report's charts, rendered by plotly.js in a headless chromium.

Playwright drives a system chromium (Debian's ``/usr/bin/chromium`` by default, or the
path in ``$BLOCSIM_CHROMIUM``); no browser is downloaded. The page loads plotly.js from
the ``plotly`` Python package and gets no network access, and every figure is turned into
an image with ``Plotly.toImage`` -- the same renderer as the HTML report.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from blocsim.errors import BlocsimError
from blocsim.report.figures import OFFLINE_GEO_JS, report_figures
from blocsim.report.tables import load_run
from blocsim.results import register_run_files, write_file_atomic

#: Chromium flags for a quiet, sandbox-free headless run (containers, CI).
CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)

_TO_IMAGE_JS = """
async ([data, layout, width, height, scale]) => {
  const div = document.createElement('div');
  document.body.appendChild(div);
  await Plotly.newPlot(div, data, layout, {staticPlot: true});
  const url = await Plotly.toImage(div, {format: 'png', width: width, height: height, scale: scale});
  Plotly.purge(div);
  div.remove();
  return url;
}
"""


def chromium_path() -> Path:
    """The chromium executable: ``$BLOCSIM_CHROMIUM``, else ``chromium`` on ``PATH``.

    Raises
    ------
    BlocsimError
        If no chromium is found, with the install command.
    """
    configured = os.environ.get("BLOCSIM_CHROMIUM")
    found = configured or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).is_file():
        raise BlocsimError(
            f"PNG export needs chromium; BLOCSIM_CHROMIUM={configured!r} and no `chromium` on PATH. "
            "Install it (Debian/Ubuntu: `apt-get install chromium`) or set BLOCSIM_CHROMIUM to its path"
        )
    return Path(found)


def figures_to_png(
    figures: dict[str, go.Figure],
    out_dir: str | os.PathLike[str],
    *,
    width: int = 1100,
    scale: float = 2.0,
) -> list[Path]:
    """Render each figure to ``out_dir/<key>.png``.

    Parameters
    ----------
    figures
        Mapping of file stem to Plotly figure.
    out_dir
        Directory for the PNG files (created if missing).
    width
        Image width in CSS pixels; the height is the figure's layout height (or 450).
    scale
        Device pixel ratio of the images (2 gives sharp prints).

    Returns
    -------
    list of Path
        The written files, in the order of ``figures``.

    Raises
    ------
    BlocsimError
        If chromium or the ``playwright`` package is missing.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise BlocsimError(
            "PNG export needs the `playwright` Python package; install it with `pip install playwright` "
            "(no browser download is needed: blocsim uses the system chromium)"
        ) from error
    executable = chromium_path()
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(executable), args=list(CHROMIUM_ARGS))
        try:
            context = browser.new_context(offline=True)
            page = context.new_page()
            page.set_content("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body></body></html>")
            page.add_script_tag(content=get_plotlyjs())
            page.add_script_tag(content=OFFLINE_GEO_JS)
            for key, fig in figures.items():
                spec = json.loads(fig.to_json())
                height = int(spec["layout"].get("height") or 450)
                url = page.evaluate(_TO_IMAGE_JS, [spec["data"], spec["layout"], width, height, scale])
                path = target / f"{key}.png"
                write_file_atomic(path, base64.b64decode(url.split(",", 1)[1]))
                written.append(path)
        finally:
            browser.close()
    return written


def write_pngs(run_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Write one PNG per report chart of a run (default ``RUN_DIR/figures/<chart>.png``).

    Charts: ``welfare``, ``map``, and, when the run has the data, ``bloc``, ``revenue``,
    ``bilateral`` (see :func:`blocsim.report.figures.report_figures`). Each file is
    replaced atomically; charts written inside the run directory are added to its marker.
    """
    run = load_run(run_dir)
    figures = report_figures(run)
    target = Path(out_dir) if out_dir is not None else run.path / "figures"
    inside = Path(os.path.relpath(target.resolve(), run.path.resolve()))
    if not inside.is_absolute() and ".." not in inside.parts:  # charts inside the run join its marker
        register_run_files(run.path, [(inside / f"{key}.png").as_posix() for key in figures])
    return figures_to_png(figures, target)
