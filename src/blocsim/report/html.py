"""Render a run directory as one self-contained, offline HTML report (``report.html``).

The page inlines the plotly.js bundle shipped inside the ``plotly`` Python package
(:func:`plotly.offline.get_plotlyjs`) and the report's map geometry, so it opens without
any network access and can be mailed as a single file.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from blocsim.report.assumptions import NO_TARIFF_SOURCES, assumptions_summary, format_value
from blocsim.report.figures import OFFLINE_GEO_JS, region_names, report_figures, signed_pct
from blocsim.report.tables import (
    BAND_PERCENTILES,
    HEADLINE_COLUMNS,
    RunTables,
    banded_variables,
    bilateral_changes,
    bloc_trade_effects,
    headline_table,
    load_run,
    policy_state_rows,
    provenance_rows,
    revenue_table,
)
from blocsim.results import register_run_files, write_file_atomic

REPORT_NAME = "report.html"

#: Report sections in page order: (anchor id, heading).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("headline", "Headline results"),
    ("welfare", "Welfare by country"),
    ("map", "Map of welfare changes"),
    ("bloc", "Trade creation and diversion"),
    ("revenue", "Tariff revenue and the duty pool"),
    ("bilateral", "Bilateral changes of the focus countries"),
    ("policy", "Scenario, policy changes and sources"),
    ("assumptions", "Assumptions behind the numbers"),
    ("provenance", "Provenance"),
)

#: Shown after "welfare" only for runs with the exact welfare decomposition (``welfare_from_*_pct``).
DECOMPOSITION_SECTION = ("decomposition", "Where the welfare change comes from")

#: Shown after the decomposition only for runs with spill-over by channel (``spillover_*_pct``).
CHANNELS_SECTION = ("channels", "Spill-over by channel")

#: Plotly config for embedded figures: no logo, no remote "edit in chart studio" link.
PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True,
                                 "toImageButtonOptions": {"format": "png", "scale": 2}}


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("blocsim.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _fmt_pct
    env.filters["usd"] = _fmt_usd
    env.filters["assumed"] = _fmt_assumed
    return env


def _fmt_pct(value: Any) -> str:
    """Format a percent change with its sign (blank for NaN); see :func:`signed_pct`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return signed_pct(number)


def _fmt_usd(value: Any) -> str:
    """Format USD millions with thousands separators and one decimal."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "" if math.isnan(number) else f"{number:,.1f}"


def _fmt_assumed(value: Any, unit: str = "") -> str:
    """Format an assumption's value (see :func:`blocsim.report.assumptions.format_value`)."""
    return format_value(value, unit)


def figure_div(fig: go.Figure, div_id: str) -> Markup:
    """HTML ``<div>`` + script drawing ``fig`` with the page's inlined plotly.js (no CDN)."""
    html = fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)
    return Markup(html)


def _sources(scenario: dict[str, Any]) -> list[dict[str, str]]:
    """Normalise ``scenario.sources`` (strings or mappings) to ``{text, url}`` rows."""
    rows = []
    for source in scenario.get("sources") or []:
        if isinstance(source, dict):
            text = source.get("title") or source.get("citation") or source.get("name") or str(source)
            url = str(source.get("url") or "")
        else:
            text, url = str(source), ""
            if text.startswith(("http://", "https://")):
                url = text
        rows.append({"text": str(text), "url": url if url.startswith(("http://", "https://")) else ""})
    return rows


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    return [] if frame is None else frame.to_dict(orient="records")


def _headline_context(run: RunTables) -> dict[str, Any]:
    """The headline table's rows, its columns and the variables with Monte Carlo bands (p05/p50/p95)."""
    table = headline_table(run)
    return {
        "headline": _records(table),
        "headline_columns": {k: v for k, v in HEADLINE_COLUMNS.items() if k in run.countries.columns},
        "banded": banded_variables(table),
        "band_percentiles": BAND_PERCENTILES,
    }


def channel_rows(run: RunTables) -> list[dict[str, Any]]:
    """One row per channel (``spillover_<channel>_pct``, run order) with its pp per focus country,
    then ``welfare_pct`` (their sum); empty for a run without channels (:mod:`blocsim.pipeline.channels`)."""
    columns = [c for c in run.countries.columns if c.startswith("spillover_") and c.endswith("_pct")]
    if not columns:
        return []
    table = run.countries.set_index("country").reindex(list(run.focus))
    rows = [{"channel": c[len("spillover_"):-len("_pct")], "values": [float(v) for v in table[c]]} for c in columns]
    return [*rows, {"channel": "welfare_pct (sum)", "values": [float(v) for v in table["welfare_pct"]]}]


def render_report(run: RunTables) -> str:
    """The report page of ``run`` as an HTML string (plotly.js and geometry inlined)."""
    figures = report_figures(run)
    given = run.meta.get("scenario")
    scenario = {"name": "", "title": "", "event": "", "description": "", **(given if isinstance(given, dict) else {})}
    sections = list(SECTIONS)
    if "decomposition" in figures:
        sections.insert(sections.index(("welfare", "Welfare by country")) + 1, DECOMPOSITION_SECTION)
    channels = channel_rows(run)
    if channels:
        sections.insert(sections.index(("welfare", "Welfare by country")) + 1 + ("decomposition" in figures),
                        CHANNELS_SECTION)
    context = {
        "channels": channels,
        "channel_order": (run.meta.get("channels") or {}).get("method", ""),
        "sections": sections,
        "scenario": scenario,
        "title": scenario.get("title") or scenario.get("name") or run.path.name,
        "sources": _sources(scenario),
        "policy_changes": [str(p) for p in run.meta.get("policy_changes") or []],
        "focus": run.focus,
        "members": run.members,
        "names": region_names(),
        **_headline_context(run),
        "members_after": run.members_after,
        "assumptions": assumptions_summary(run.meta, run.tariffs),
        "no_tariff_sources": NO_TARIFF_SOURCES,
        "bloc": _records(bloc_trade_effects(run)),
        "revenue": _records(revenue_table(run)),
        "bilateral": _records(bilateral_changes(run)),
        "provenance": provenance_rows(run.meta),
        "policy_states": policy_state_rows(run.meta),
        "shock_notes": [str(n) for n in run.meta.get("shock_notes") or []],
        "violations": [str(v.get("message", v)) if isinstance(v, dict) else str(v) for v in run.meta.get("rule_violations") or []],
        "figures": {key: figure_div(fig, f"fig-{key}") for key, fig in figures.items()},
        "plotly_js": Markup(get_plotlyjs()),
        "offline_geo_js": Markup(OFFLINE_GEO_JS),
        "model": {"name": "", **(run.meta.get("model") or {})},
        "diagnostics": {"converged": False, **(run.meta.get("diagnostics") or {})} if run.meta.get("diagnostics") else {},
        "created": run.meta.get("created_utc", ""),
        "version": run.meta.get("version", ""),
    }
    return _environment().get_template("report.html").render(**context)


def write_report(run_dir: str | os.PathLike[str]) -> Path:
    """Write ``RUN_DIR/report.html`` for a run directory and return its path.

    Parameters
    ----------
    run_dir
        A directory written by :func:`blocsim.results.write_run` (``run.json``,
        ``countries.csv`` and, for the trade sections, ``flows.csv``).

    Returns
    -------
    Path
        The written report (about 5 MB: plotly.js is inlined so the file works offline).
        It replaces an older report atomically (a temporary sibling renamed into place;
        temporaries of killed writers are removed) and is added to the run's marker.

    Raises
    ------
    BlocsimError
        If ``run_dir`` is not a run directory, lacks the country results, or a table
        cannot be read (not UTF-8, a missing column, text in a number column; the message
        names file, column, line and value).
    """
    run = load_run(run_dir)
    html = render_report(run)
    register_run_files(run.path, [REPORT_NAME])  # listed first: a run never holds an unlisted blocsim file
    return write_file_atomic(run.path / REPORT_NAME, html)
