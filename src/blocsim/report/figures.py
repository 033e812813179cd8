"""Plotly figures of a run: welfare bars, welfare decomposition, welfare map, creation/diversion, revenue, bilateral.

Each function returns a new :class:`plotly.graph_objects.Figure` built from the tables of
:mod:`blocsim.report.tables`. The map uses the region geometry shipped in
``report/geometry/eurasia_regions.geo.json`` through a ``choropleth`` trace with
``locationmode="geojson-id"`` and every base-map layer switched off, so plotly.js never
fetches its own topojson and the figure renders offline.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from blocsim.errors import BlocsimError

from blocsim.report.tables import (
    RunTables,
    _checked,
    bilateral_changes,
    bloc_trade_effects,
    revenue_table,
    welfare_band,
)

POSITIVE = "#2b6a99"
NEGATIVE = "#c0504d"
NEUTRAL = "#d5d9de"
ACCENT = "#e0a526"
FONT = "Inter, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
#: Topology plotly.js expects for a ``world`` scope at 1:110m, with every layer empty.
TOPOJSON_NAME = "world_110m"
_EMPTY_LAYERS = ("coastlines", "land", "ocean", "lakes", "rivers", "countries", "subunits")
#: JavaScript to run after plotly.js loads and before any map is drawn. plotly.js 4 fetches
#: its base-map topojson from cdn.plot.ly for every geo subplot whose trace has a
#: ``locationmode`` (geojson choropleths included) unless the topology is already cached in
#: ``window.PlotlyGeoAssets``; caching an empty one keeps the page offline. Our regions come
#: from the ``geojson`` of the traces, so nothing of the base map is lost.
OFFLINE_GEO_JS = (
    "window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};"
    f"window.PlotlyGeoAssets.topojson[{json.dumps(TOPOJSON_NAME)}] = "
    + json.dumps({"type": "Topology", "arcs": [],
                  "objects": {name: {"type": "GeometryCollection", "geometries": []} for name in _EMPTY_LAYERS}})
    + ";"
)
#: Diverging scale, red (loss) through white to blue (gain).
DIVERGING = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#f7f7f7"], [0.75, "#67a9cf"], [1.0, "#2166ac"]]


@functools.lru_cache(maxsize=1)
def region_geometry() -> dict[str, Any]:
    """The shipped region GeoJSON FeatureCollection (features keyed by region ``id``)."""
    path = resources.files("blocsim.report") / "geometry" / "eurasia_regions.geo.json"
    return json.loads(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def region_names() -> dict[str, str]:
    """Region code -> display name, from the shipped geometry."""
    return {f["id"]: f["properties"]["name"] for f in region_geometry()["features"]}


def signed_pct(value: float) -> str:
    """A percent change for display: two decimals from 0.1, else three; ``0.000`` without a sign."""
    if not np.isfinite(value):
        return ""
    decimals = 2 if abs(value) >= 0.1 else 3
    rounded = round(float(value), decimals)
    return f"{0.0:.{decimals}f}" if rounded == 0 else f"{rounded:+.{decimals}f}"


def _name(code: str) -> str:
    return region_names().get(code, code)


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 16}},
        font={"family": FONT, "size": 12, "color": "#1f2933"},
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        hoverlabel={"font": {"family": FONT}},
    )
    return fig


def welfare_bar(run: RunTables) -> go.Figure:
    """Bar chart of the welfare change (percent) of every country, largest gain first.

    Bloc members of the scenario's after state (:attr:`RunTables.members_after`) have a
    darker outline; values are printed on the bars. With Monte Carlo bands (``bands.csv``)
    the whiskers span the lowest to the highest stored percentile.
    """
    frame = run.countries.sort_values("welfare_pct", ascending=False)
    values = frame["welfare_pct"].to_numpy(dtype=float)
    members = set(run.members_after)
    band = welfare_band(run)
    error_y = None
    title = "Welfare change by country (outlined: bloc members)"
    if band is not None:
        limits = band[0].set_index("country").reindex(frame["country"])
        error_y = {
            "type": "data", "symmetric": False, "color": "#52606d", "thickness": 1.2, "width": 4,
            "array": np.clip(limits["high"].to_numpy(dtype=float) - values, 0.0, None),
            "arrayminus": np.clip(values - limits["low"].to_numpy(dtype=float), 0.0, None),
        }
        title += f"; whiskers: Monte Carlo {band[1]} band"
    fig = go.Figure(
        go.Bar(
            x=frame["country"],
            y=values,
            marker={
                "color": np.where(values >= 0, POSITIVE, NEGATIVE).tolist(),
                "line": {"color": ["#1f2933" if c in members else "rgba(0,0,0,0)" for c in frame["country"]], "width": 1.5},
            },
            text=[signed_pct(v) for v in values],
            textposition="outside",
            cliponaxis=False,
            customdata=[_name(c) for c in frame["country"]],
            hovertemplate="%{customdata} (%{x})<br>welfare %{y:+.3f} %<extra></extra>",
            name="welfare",
            error_y=error_y,
        )
    )
    fig.update_yaxes(title="change in real income, %", zeroline=True, zerolinecolor="#7b8794")
    fig.update_xaxes(title=None, tickangle=0)
    return _layout(fig, title, 420)


def welfare_map(run: RunTables) -> go.Figure:
    """Choropleth of welfare changes (percent) over the shipped region geometry.

    ``ROW`` (rest of world) is drawn in grey; its value is in the headline table. The
    colour scale is symmetric around zero. Bloc members of the scenario's after state
    (:attr:`RunTables.members_after`: a country that left is not one) are outlined by a
    third trace named :data:`MEMBER_TRACE`.
    """
    frame = run.countries[run.countries["country"] != "ROW"]
    known = set(region_names())
    frame = frame[frame["country"].isin(known)]
    values = frame["welfare_pct"].to_numpy(dtype=float)
    bound = float(np.nanmax(np.abs(values))) if values.size else 0.0
    bound = bound if bound > 0 else 1.0
    features = region_geometry()["features"]
    rest = {"type": "FeatureCollection", "features": [f for f in features if f["id"] == "ROW"]}
    shown = set(frame["country"])
    regions = {"type": "FeatureCollection", "features": [f for f in features if f["id"] in shown]}
    fig = go.Figure()
    fig.add_trace(
        go.Choropleth(
            geojson=rest,
            featureidkey="id",
            locationmode="geojson-id",
            locations=["ROW"],
            z=[0.0],
            colorscale=[[0, NEUTRAL], [1, NEUTRAL]],
            showscale=False,
            marker={"line": {"color": "#ffffff", "width": 0.4}},
            hovertemplate="Rest of world (see table)<extra></extra>",
            name="ROW",
        )
    )
    fig.add_trace(
        go.Choropleth(
            geojson=regions,
            featureidkey="id",
            locationmode="geojson-id",
            locations=frame["country"],
            z=values,
            zmin=-bound,
            zmax=bound,
            colorscale=DIVERGING,
            marker={"line": {"color": "#4a5560", "width": 0.5}},
            colorbar={"title": {"text": "welfare, %"}, "thickness": 12, "len": 0.8},
            customdata=[_name(c) for c in frame["country"]],
            hovertemplate="%{customdata} (%{location})<br>welfare %{z:+.3f} %<extra></extra>",
            name="welfare",
        )
    )
    outline = member_outline(run.members_after, shown)
    if outline is not None:
        fig.add_trace(outline)
    fig.update_geos(
        visible=False,
        scope="world",
        resolution=110,
        projection={"type": "miller"},
        lataxis={"range": [12, 78]},
        lonaxis={"range": [-12, 180]},
        bgcolor="rgba(0,0,0,0)",
    )
    fig = _layout(fig, "Welfare change across Eurasia (grey: rest of world; dark outline: bloc members after the change)",
                  520)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


#: Name of the map trace that outlines the bloc members of the scenario's after state.
MEMBER_TRACE = "bloc members after the change"


def member_outline(members: list[str], shown: set[str]) -> go.Choropleth | None:
    """A transparent choropleth outlining ``members`` (those of ``shown``) in dark, or None if none is drawn."""
    codes = [c for c in members if c in shown]
    if not codes:
        return None
    features = [f for f in region_geometry()["features"] if f["id"] in set(codes)]
    return go.Choropleth(
        geojson={"type": "FeatureCollection", "features": features},
        featureidkey="id",
        locationmode="geojson-id",
        locations=codes,
        z=[0.0] * len(codes),
        colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
        showscale=False,
        marker={"line": {"color": "#1f2933", "width": 2.0}},
        hoverinfo="skip",
        name=MEMBER_TRACE,
    )


def bloc_effects_figure(effects: pd.DataFrame) -> go.Figure:
    """Grouped bars per bloc member: income effect, trade creation, trade diversion (USD m)."""
    series = [
        ("trade_creation", "trade creation (imports replacing home production)", POSITIVE),
        ("trade_diversion", "trade diversion (away from non-members)", ACCENT),
        ("income_effect", "income effect", "#9fb3c8"),
    ]
    fig = go.Figure(
        [
            go.Bar(
                x=effects["country"], y=effects[column], name=label, marker_color=colour,
                hovertemplate="%{x}: %{y:+,.1f} USD m<extra>" + column.replace("_", " ") + "</extra>",
            )
            for column, label, colour in series
        ]
    )
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.18})
    fig.update_yaxes(title="USD million", zeroline=True, zerolinecolor="#7b8794")
    return _layout(fig, "Trade creation vs trade diversion for bloc members", 400)


def revenue_figure(revenue: pd.DataFrame) -> go.Figure:
    """Grouped bars: tariff revenue collected vs received, before and after (USD millions).

    Shows the duty-pool members (``pooled`` in :func:`~blocsim.report.tables.revenue_table`);
    if there are none, the ten largest collectors.
    """
    pooled = revenue["pooled"].to_numpy(dtype=bool)
    shown = revenue[pooled] if pooled.any() else revenue.head(10)
    series = [
        ("tariff_revenue_collected_before", "collected, before", "#9fb3c8"),
        ("tariff_revenue_collected_after", "collected, after", POSITIVE),
        ("tariff_revenue_received_before", "received from pool, before", "#f0cf8a"),
        ("tariff_revenue_received_after", "received from pool, after", ACCENT),
    ]
    fig = go.Figure(
        [
            go.Bar(
                x=shown["country"], y=shown[column], name=label, marker_color=colour,
                hovertemplate="%{x}: %{y:,.1f} USD m<extra>" + label + "</extra>",
            )
            for column, label, colour in series
        ]
    )
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.18})
    fig.update_yaxes(title="USD million")
    title = "Duty pool members: revenue collected at the border vs received from the pool" if pooled.any() else (
        "Tariff revenue collected and received (largest collectors)")
    return _layout(fig, title, 420)


def bilateral_figure(bilateral: pd.DataFrame) -> go.Figure:
    """Heatmap of bilateral trade changes (percent) of each focus country with each partner.

    Rows are ``<country> imports from`` and ``<country> exports to``; columns partners.
    """
    table = bilateral.copy()
    table["row"] = np.where(table["direction"] == "imports", table["country"] + " imports from", table["country"] + " exports to")
    rows = list(dict.fromkeys(table["row"]))
    partners = sorted(table["partner"].unique())
    grid = table.pivot(index="row", columns="partner", values="change_pct").reindex(index=rows, columns=partners)
    usd = table.pivot(index="row", columns="partner", values="change").reindex(index=rows, columns=partners)
    z = grid.to_numpy(dtype=float)
    finite = np.abs(z[np.isfinite(z)])
    bound = float(np.percentile(finite, 95)) if finite.size else 1.0
    bound = bound if bound > 0 else 1.0
    rounded = np.round(np.nan_to_num(z), 1)
    text = np.where(~np.isfinite(z), "", np.where(rounded == 0, "0.0", np.char.mod("%+.1f", rounded)))
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=partners,
            y=rows,
            zmin=-bound,
            zmax=bound,
            colorscale=DIVERGING,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 10},
            customdata=usd.to_numpy(dtype=float),
            hovertemplate="%{y} %{x}: %{z:+.2f} %<br>%{customdata:+,.1f} USD m<extra></extra>",
            colorbar={"title": {"text": "%"}, "thickness": 12},
            xgap=2,
            ygap=2,
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Bilateral trade changes of the focus countries, %", 140 + 38 * len(rows))


SENSITIVITY_FILE = "sensitivity.csv"
TORNADO_LABELS = {"welfare_pct": "Welfare, %", "real_wage_pct": "Real wage, %",
                  "tariff_revenue_change": "Tariff revenue, USD m"}


def sensitivity_table(run: RunTables) -> pd.DataFrame | None:
    """``sensitivity.csv`` of the run (one-at-a-time swings of the headline numbers), or None without it."""
    path = run.path / SENSITIVITY_FILE
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise BlocsimError(f"{path}: cannot be read as a UTF-8 CSV ({exc}); re-run the scenario with --draws") from exc
    return _checked(path, frame, ("country", "variable", "input", "point", "result_low", "result_high", "swing"),
                    ["point", "result_low", "result_high", "swing"], "the tornado chart needs them")


def tornado_figure(table: pd.DataFrame, country: str) -> go.Figure:
    """Tornado of one country: per headline variable, the inputs' low/high results around the point.

    Bars span from the point to the result with the input at its 5th (light) and 95th (dark)
    percentile; inputs ordered by swing, the largest on top.
    """
    rows = table[table["country"] == country]
    variables = [v for v in TORNADO_LABELS if v in set(rows["variable"])]
    fig = make_subplots(rows=1, cols=len(variables), subplot_titles=[TORNADO_LABELS[v] for v in variables],
                        horizontal_spacing=0.12)
    for col, variable in enumerate(variables, start=1):
        part = rows[rows["variable"] == variable].sort_values("swing")
        point = float(part["point"].iloc[0])
        for column, colour, name in (("result_low", NEUTRAL, "input at p05"), ("result_high", POSITIVE,
                                                                                "input at p95")):
            fig.add_trace(go.Bar(y=part["input"], x=part[column] - point, base=point, orientation="h",
                                 marker_color=colour, name=name, showlegend=col == 1, legendgroup=name,
                                 hovertemplate="%{y}: %{x:+.4g}<extra>" + name + "</extra>"), row=1, col=col)
    fig.update_layout(barmode="overlay")
    return _layout(fig, f"What moves the headline numbers of {_name(country)} most (one input at a time)",
                   160 + 26 * int(rows["input"].nunique()))


DECOMPOSITION_PREFIX = "welfare_from_"


def decomposition_columns(countries: pd.DataFrame) -> list[str]:
    """The exact welfare decomposition columns (``welfare_from_<term>_pct``) of a countries table."""
    return [c for c in countries.columns if c.startswith(DECOMPOSITION_PREFIX) and c.endswith("_pct")]


def welfare_waterfall(run: RunTables) -> go.Figure | None:
    """One waterfall per focus country: the terms of the exact welfare decomposition (pp) building up
    to ``welfare_pct``. Terms that are zero for every focus country are left out. ``None`` when the
    run has no decomposition columns or no focus countries."""
    columns = decomposition_columns(run.countries)
    rows = run.countries.set_index("country").reindex(run.focus)
    if not columns or rows.empty:
        return None
    shown = [c for c in columns if (rows[c].abs() > 0).any()]
    labels = [c[len(DECOMPOSITION_PREFIX):-len("_pct")].replace("_", " ") for c in shown]
    cols = min(len(rows), 3)
    grid = (len(rows) + cols - 1) // cols
    fig = make_subplots(rows=grid, cols=cols, subplot_titles=[
        f"{_name(c)} ({c}): {signed_pct(rows.loc[c, 'welfare_pct'])} %" for c in rows.index])
    for k, (country, row) in enumerate(rows.iterrows()):
        values = [float(row[c]) for c in shown]
        fig.add_trace(go.Waterfall(
            x=[*labels, "welfare"], y=[*values, float(row["welfare_pct"])],
            measure=["relative"] * len(values) + ["total"],
            text=[signed_pct(v) for v in [*values, float(row["welfare_pct"])]], textposition="outside",
            increasing={"marker": {"color": POSITIVE}}, decreasing={"marker": {"color": NEGATIVE}},
            totals={"marker": {"color": ACCENT}}, connector={"line": {"color": NEUTRAL}}, cliponaxis=False,
            hovertemplate=f"{country} " + "%{x}: %{y:+.3f} pp<extra></extra>", showlegend=False,
        ), row=k // cols + 1, col=k % cols + 1)
    fig.update_yaxes(title="pp of real income", zeroline=True, zerolinecolor="#7b8794")
    fig.update_xaxes(tickangle=-40)
    return _layout(fig, "Where the welfare change comes from (exact decomposition, percentage points)", 380 * grid)


def report_figures(run: RunTables) -> dict[str, go.Figure]:
    """All figures a run supports, keyed ``welfare``, ``decomposition`` (with the decomposition columns
    and focus countries), ``map``, ``bloc``, ``revenue``, ``bilateral``, ``tornado`` (only when the run
    has ``sensitivity.csv``)."""
    figures: dict[str, go.Figure] = {"welfare": welfare_bar(run)}
    waterfall = welfare_waterfall(run)
    if waterfall is not None:
        figures["decomposition"] = waterfall
    figures["map"] = welfare_map(run)
    effects = bloc_trade_effects(run)
    if effects is not None:
        figures["bloc"] = bloc_effects_figure(effects)
    revenue = revenue_table(run)
    if revenue is not None and not revenue.empty:
        figures["revenue"] = revenue_figure(revenue)
    bilateral = bilateral_changes(run)
    if bilateral is not None and not bilateral.empty:
        figures["bilateral"] = bilateral_figure(bilateral)
    sensitivity = sensitivity_table(run)
    if sensitivity is not None and not sensitivity.empty:
        figures["tornado"] = tornado_figure(sensitivity, str(sensitivity["country"].iloc[0]))
    return figures
