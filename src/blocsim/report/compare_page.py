"""The comparison page: two or more runs side by side in one offline, self-contained HTML file.

:func:`compare` is the Python entry point (``blocsim.compare``): it computes the tables with
:func:`blocsim.results.compare.compare_runs` and returns a :class:`Comparison`, which adds
:meth:`Comparison.to_html` to the tables. The page inlines plotly.js (as the run report does,
:mod:`blocsim.report.html`), so it opens without network access.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path
from typing import Any, Sequence

import jinja2
import numpy as np
import plotly.graph_objects as go
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from blocsim.errors import BlocsimError
from blocsim.report.figures import FONT, region_names, signed_pct
from blocsim.report.html import figure_div
from blocsim.results import (
    BAND_STATISTICS,
    RunComparison,
    check_targets,
    compare_runs,
    describe_column,
    provenance,
    write_file_atomic,
)

#: Default file name of the page (``blocsim compare --out DIR --report``).
COMPARE_PAGE_NAME = "comparison.html"

#: Colours of the runs' bars, in run order (cycled).
RUN_COLOURS = ("#2b6a99", "#c0504d", "#5a8f29", "#8e6bb8", "#d08c2c", "#3d9a9a")


@dataclasses.dataclass(frozen=True)
class Comparison(RunComparison):
    """A :class:`~blocsim.results.compare.RunComparison` that can also write its HTML page."""

    def to_html(self, path: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write the comparison page to ``path`` (an ``.html`` file) and return it.

        An existing file is refused unless ``force``; the page is written whole (temporary
        sibling, then renamed). About 5 MB: plotly.js is inlined so the page works offline.
        """
        target = Path(path)
        check_targets(target.parent, [target.name], force=force, option="path")
        return write_file_atomic(target, render_comparison(self))


def compare(runs: Sequence[Any], *, labels: Sequence[str] | None = None) -> Comparison:
    """Compare two or more runs side by side.

    Parameters
    ----------
    runs
        Run directories (paths), ``(tables, meta)`` pairs from :func:`blocsim.results.read_run`,
        or results of :func:`blocsim.run_scenario`; the first is the reference of the differences.
    labels
        Names of the runs in the tables (default: the run directories' names).

    Returns
    -------
    Comparison
        ``.table`` (one row per country: ``welfare_pct[run]``, ``welfare_pct[run - reference]``,
        ``welfare_pct_p05[run]`` ...), ``.long`` (tidy), ``.runs``, ``.warnings`` (what differs
        between the runs), ``.write_csv(folder)`` and ``.to_html(path)``.

    Examples
    --------
    >>> import blocsim
    >>> cmp = blocsim.compare(["runs/cet", "runs/leave"])  # doctest: +SKIP
    >>> cmp.table[["country", "welfare_pct[cet]", "welfare_pct[leave - cet]"]]  # doctest: +SKIP
    >>> cmp.to_html("cet-vs-leave.html")  # doctest: +SKIP
    """
    result = compare_runs(runs, labels=labels)
    return Comparison(**{field.name: getattr(result, field.name) for field in dataclasses.fields(result)})


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("blocsim.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _number(value: float, variable: str, *, signed: bool = False) -> str:
    if not np.isfinite(value):
        return ""
    if variable.endswith("_pct"):
        return signed_pct(value)
    return f"{value:+,.1f}" if signed else f"{value:,.1f}"


def welfare_figure(comparison: RunComparison) -> go.Figure:
    """Grouped bars of ``welfare_pct`` per country, one colour per run; whiskers p05-p95 where bands exist."""
    fig = go.Figure()
    long = comparison.long[comparison.long["variable"] == "welfare_pct"]
    for index, info in enumerate(comparison.runs):
        rows = long[long["run"] == info.label]
        values = rows["value"].to_numpy(dtype=float)
        error_y = None
        if rows["p05"].notna().any():
            error_y = {"type": "data", "symmetric": False, "color": "#52606d", "thickness": 1.2, "width": 3,
                       "array": np.clip(rows["p95"].to_numpy(dtype=float) - values, 0.0, None),
                       "arrayminus": np.clip(values - rows["p05"].to_numpy(dtype=float), 0.0, None)}
        fig.add_trace(go.Bar(
            x=rows["country"], y=values, name=info.label, error_y=error_y,
            marker={"color": RUN_COLOURS[index % len(RUN_COLOURS)]},
            hovertemplate=f"{info.label}<br>%{{x}}: %{{y:+.3f}} %<extra></extra>",
        ))
    fig.update_layout(
        barmode="group", template="plotly_white", height=440, font={"family": FONT, "size": 12},
        title={"text": "Welfare change by country and run (whiskers: Monte Carlo p05-p95 where the run has bands)",
               "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        margin={"l": 60, "r": 20, "t": 60, "b": 50}, legend={"orientation": "h", "y": -0.15},
    )
    fig.update_yaxes(title="change in real income, %", zeroline=True, zerolinecolor="#7b8794")
    return fig


def _variable_tables(comparison: RunComparison) -> list[dict[str, Any]]:
    """Per headline variable: its label, unit and rows (country, values, differences, bands)."""
    runs = [info.label for info in comparison.runs]
    tables = []
    for variable in comparison.variables:
        long = comparison.long[comparison.long["variable"] == variable]
        by_run = {label: part.set_index("country") for label, part in long.groupby("run", sort=False)}
        banded = [label for label in runs if by_run[label][list(BAND_STATISTICS)].notna().any().any()]
        rows = []
        for country in by_run[runs[0]].index:
            cells = [_number(by_run[label].at[country, "value"], variable) for label in runs]
            diffs = [_number(by_run[label].at[country, "difference"], variable, signed=True) for label in runs[1:]]
            bands = [" / ".join(_number(by_run[label].at[country, stat], variable) for stat in BAND_STATISTICS)
                     for label in banded]
            rows.append({"country": country, "values": cells, "differences": diffs, "bands": bands,
                         "signs": [float(np.sign(by_run[label].at[country, "difference"] or 0.0)) for label in runs[1:]]})
        definition = describe_column(variable)
        tables.append({"variable": variable, "label": definition.label, "unit": definition.unit,
                       "definition": definition.definition, "banded": banded, "rows": rows})
    return tables


def render_comparison(comparison: RunComparison) -> str:
    """The comparison page as an HTML string (plotly.js inlined; no outside resource)."""
    if len(comparison.runs) < 2:
        raise BlocsimError("comparison: needs at least two runs")
    context = {
        "runs": comparison.runs,
        "reference": comparison.reference,
        "warnings": comparison.warnings,
        "tables": _variable_tables(comparison),
        "names": region_names(),
        "figure": figure_div(welfare_figure(comparison), "fig-welfare-compare"),
        "plotly_js": Markup(get_plotlyjs()),
        "version": provenance()["version"],
    }
    return _environment().get_template("compare.html").render(**context)
