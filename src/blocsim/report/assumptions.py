"""The assumptions behind a run, gathered from its record and tariffs table for the page and the CLI.

:func:`assumptions_summary` reads ``run.json`` (as a dict: ``dataset``, ``model``,
``assumptions``, ``uncertainty``) and, when the run wrote one, its tariffs table, and
returns one JSON-ready dict: the data year and dataset version, the sectors, the
elasticities and their source, the closure, every assumed parameter (flag ``"assumed"``:
border-cost and other AVEs, deflection and detour costs, ...), every proxy tariff (rows of
the tariffs table flagged as assumed or proxy) and what the Monte Carlo bands vary. The
report's assumptions section and the footer of ``blocsim run`` both show this dict, so
the two never disagree.
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

import pandas as pd

#: Shown instead of the varied inputs when the run has no Monte Carlo bands.
NO_BANDS = "no bands: run with --draws N"
#: Shown for the proxy tariffs when the run's tariffs table carries no ``source``/``flag`` column.
NO_TARIFF_SOURCES = "not recorded (the run's tariffs table has no source column)"
#: Text in a tariff row's ``source`` that marks the rate as assumed (a proxy), not published.
_PROXY_SOURCE = re.compile(r"\b(?:assum\w*|proxy)\b", re.IGNORECASE)
#: Values of a tariff row's ``flag`` column that mark the rate as a proxy.
PROXY_FLAGS = frozenset({"assumed", "proxy"})
#: What each ``[model] deficits`` choice means, for the footer and the page.
DEFICITS_TEXT = {"observed": "the data's trade deficits, held by the closure",
                 "purged": "balanced-trade baseline of blocsim.purge_deficits"}
#: Importers named (with their proxy rows) on the footer's proxy-tariff line; the report lists all.
FOOTER_IMPORTERS = 8
#: Assumption rows that hold elasticities of a PE run (a multi-sector run names them ``theta[sector]``).
_PE_ELASTICITIES = ("import_demand", "substitution", "export_supply")


def format_value(value: Any, unit: str = "") -> str:
    """An assumption's value for reading: ad valorem fractions also as percent, long floats to 4 significant digits.

    >>> format_value(0.02, "ad valorem fraction")
    '0.02 (2 %)'
    >>> format_value(4.069599317988065)
    '4.07'
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    if "fraction" in unit:
        text += f" ({100 * value:.3g} %)"
    return text


def _rows(meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = meta.get("assumptions") or []
    return [dict(row) for row in rows if isinstance(row, Mapping)]


def _elasticities(meta: Mapping[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"values": {name: value}, "source": str, "flag": str}`` of the run's elasticities."""
    chosen = [r for r in rows if str(r.get("name", "")).startswith("theta[")]
    if chosen:
        values = {str(r["name"])[len("theta["):-1]: r.get("value") for r in chosen}
    else:
        chosen = [r for r in rows if r.get("name") in _PE_ELASTICITIES]
        values = {str(r["name"]): r.get("value") for r in chosen}
    if not chosen:
        parameters = (meta.get("model") or {}).get("parameters") or {}
        theta = parameters.get("theta")
        values = dict(theta) if isinstance(theta, Mapping) else ({"theta": theta} if theta is not None else {})
        source = "run.json model.parameters (source not recorded)" if values else "not recorded"
        return {"values": values, "source": source, "flag": ""}
    sources = list(dict.fromkeys(str(r.get("source", "")) for r in chosen if r.get("source")))
    flags = list(dict.fromkeys(str(r.get("flag", "")) for r in chosen if r.get("flag")))
    return {"values": values, "source": "; ".join(sources) or "not recorded", "flag": ", ".join(flags)}


def _sectors(meta: Mapping[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    theta = ((meta.get("model") or {}).get("parameters") or {}).get("theta")
    if isinstance(theta, Mapping):
        return [str(s) for s in theta]
    return [str(r["name"])[len("theta["):-1] for r in rows if str(r.get("name", "")).startswith("theta[")]


def _value_of(rows: list[dict[str, Any]], name: str) -> Any:
    return next((r.get("value") for r in rows if r.get("name") == name), None)


def tariff_sources_recorded(tariffs: pd.DataFrame | None) -> bool:
    """Whether the run's tariffs table says where its rates come from (a ``source`` or ``flag`` column)."""
    return tariffs is not None and bool({"source", "flag"} & set(tariffs.columns))


def _proxy_rows(tariffs: pd.DataFrame | None, focus: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows of a run's tariffs table that are proxies (see :func:`proxy_tariffs`), restricted to the trade
    of ``focus`` (importer or exporter in it) when given."""
    if tariffs is None or tariffs.empty or "importer" not in tariffs.columns:
        return pd.DataFrame()
    if "flag" in tariffs.columns:
        mask = tariffs["flag"].astype(str).str.strip().str.lower().isin(PROXY_FLAGS)
    elif "source" in tariffs.columns:
        mask = tariffs["source"].fillna("").astype(str).str.contains(_PROXY_SOURCE)
    else:
        return pd.DataFrame()
    if focus:
        touches = tariffs["importer"].astype(str).isin(focus)
        if "exporter" in tariffs.columns:
            touches |= tariffs["exporter"].astype(str).isin(focus)
        mask &= touches
    return tariffs[mask.to_numpy()]


def proxy_tariffs(tariffs: pd.DataFrame | None, focus: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The tariff rates of a run's tariffs table that are assumed (proxies), one row per importer and source.

    A row is a proxy when the table has a ``flag`` column whose value is in
    :data:`PROXY_FLAGS`, or (without ``flag``) a ``source`` column whose text says
    "assumption" or "proxy". Tables without either column give no rows. With ``focus``
    (country codes), only rows whose importer or exporter is one of them count: the proxy
    tariffs the focus countries' results rely on.

    Returns
    -------
    list of dict
        ``importer``, ``sectors`` (list), ``rates`` (sorted distinct ad valorem fractions of
        ``tariff_before``/``tariff_after`` or ``rate``), ``source`` (text, may be empty).
    """
    chosen = _proxy_rows(tariffs, focus)
    if chosen.empty:
        return []
    has_source = "source" in chosen.columns
    source = chosen["source"].fillna("").astype(str) if has_source else pd.Series("", index=chosen.index)
    rate_columns = [c for c in ("tariff_before", "tariff_after", "rate") if c in chosen.columns]
    rows: list[dict[str, Any]] = []
    for (importer, text), part in chosen.assign(_source=source).groupby(["importer", "_source"], sort=True):
        stacked = part[rate_columns].stack() if rate_columns else pd.Series(dtype=float)
        rates = pd.to_numeric(stacked, errors="coerce").dropna()
        sectors = list(dict.fromkeys(part["sector"].astype(str))) if "sector" in part.columns else []
        rows.append({"importer": str(importer), "sectors": sectors,
                     "rates": sorted({round(float(r), 6) for r in rates}), "source": str(text)})
    return rows


def _importer_counts(rows: pd.DataFrame) -> dict[str, int]:
    """Proxy rows per importer, most first (ties by code)."""
    if rows.empty:
        return {}
    counts = rows["importer"].astype(str).value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def _bands(meta: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    uncertainty = meta.get("uncertainty")
    if not isinstance(uncertainty, Mapping) or not uncertainty.get("draws"):
        return None, NO_BANDS
    varied = [dict(v) for v in uncertainty.get("varied") or [] if isinstance(v, Mapping)]
    bands = {"draws": uncertainty.get("draws"), "seed": uncertainty.get("seed"), "varied": varied,
             "not_in_model": dict(uncertainty.get("not_in_model") or {})}
    names = ", ".join(str(v.get("input", "")) for v in varied) or "nothing (every input held at its point value)"
    return bands, f"{bands['draws']} draws (seed {bands['seed']}) vary {names}"


def assumptions_summary(meta: Mapping[str, Any], tariffs: pd.DataFrame | None = None) -> dict[str, Any]:
    """What a run assumed, from its ``run.json`` content and (optionally) its tariffs table.

    Parameters
    ----------
    meta
        The run record as plain values (``run.json``; :attr:`RunTables.meta`, ``ScenarioResult.meta``).
    tariffs
        The run's tariffs table (``exporter, importer, sector, tariff_before, tariff_after``
        and, when the data carries them, ``source``/``flag``), or None.

    Returns
    -------
    dict
        ``dataset`` {``name``, ``year``, ``version`` (None when not recorded),
        ``tariff_year``, ``cet_year``}; ``sectors`` [str]; ``elasticities`` {``values``
        {sector: theta}, ``source``, ``flag``}; ``closure`` (str or None); ``deficits``
        (``"observed"``, ``"purged"``, or None when not recorded: PE, one-sector and older runs); ``assumed``
        [assumption rows with flag ``"assumed"``: AVEs (ad valorem fractions) and other
        assumed parameters]; ``proxy_tariffs`` (see :func:`proxy_tariffs`; only those touching
        the run's ``focus_countries`` when it records any); ``proxy_tariff_rows`` (how many rows
        of the tariffs table they are); ``focus_countries`` [str];
        ``tariff_sources_recorded`` (the tariffs table has ``source``/``flag``); ``bands``
        (``draws``, ``seed``, ``varied``, ``not_in_model``; None without draws);
        ``bands_text`` (one line; :data:`NO_BANDS` without draws); ``rows`` (every
        assumption row of the record).
    """
    rows = _rows(meta)
    dataset = meta.get("dataset") or {}
    parameters = (meta.get("model") or {}).get("parameters") or {}
    closure = _value_of(rows, "closure") or parameters.get("closure")
    deficits = (meta.get("model") or {}).get("deficits") or _value_of(rows, "deficits")
    bands, bands_text = _bands(meta)
    focus = [str(code) for code in meta.get("focus_countries") or []]
    return {
        "dataset": {"name": dataset.get("name"), "year": dataset.get("year", _value_of(rows, "data year")),
                    "version": dataset.get("version"), "tariff_year": _value_of(rows, "tariff year"),
                    "cet_year": _value_of(rows, "CET year")},
        "sectors": _sectors(meta, rows),
        "elasticities": _elasticities(meta, rows),
        "closure": None if closure is None else str(closure),
        "deficits": None if deficits is None else str(deficits),
        "assumed": [r for r in rows if r.get("flag") == "assumed"],
        "proxy_tariffs": proxy_tariffs(tariffs, focus),
        "proxy_tariff_rows": int(len(_proxy_rows(tariffs, focus))),
        "proxy_tariff_importers": _importer_counts(_proxy_rows(tariffs, focus)),
        "focus_countries": focus,
        "tariff_sources_recorded": tariff_sources_recorded(tariffs),
        "bands": bands,
        "bands_text": bands_text,
        "rows": rows,
    }


def assumptions_footer(summary: Mapping[str, Any]) -> list[str]:
    """The compact "Assumptions" block of the CLI: one line each for data, sectors, theta, closure, deficits, AVEs,
    bands."""
    data = summary["dataset"]
    version = f"version {data['version']}" if data.get("version") else "version not recorded"
    labels = (("tariff_year", "tariff year"), ("cet_year", "CET year"))
    years = "".join(f"; {label} {data[key]}" for key, label in labels if data.get(key) is not None)
    year = data.get("year") if data.get("year") is not None else "not recorded"
    lines = [f"data: {data.get('name') or 'unnamed'}, year {year} ({version}){years}"]
    sectors = summary["sectors"]
    if sectors:
        lines.append(f"sectors ({len(sectors)}): {', '.join(sectors)}")
    elasticities = summary["elasticities"]
    if elasticities["values"]:
        values = ", ".join(f"{k} {format_value(v)}" for k, v in elasticities["values"].items())
        label = "theta" if sectors else "elasticities"
        lines.append(f"{label}: {values}; source: {elasticities['source']}")
    if summary["closure"]:
        lines.append(f"closure: {summary['closure']}")
    if summary.get("deficits"):
        lines.append(f"deficits: {summary['deficits']} ({DEFICITS_TEXT.get(summary['deficits'], '')})")
    assumed = "; ".join(f"{r['name']} = {format_value(r.get('value'), str(r.get('unit', '')))}"
                        for r in summary["assumed"])
    lines.append(f"assumed: {assumed or 'none'}")
    proxies = summary["proxy_tariffs"]
    focus = summary.get("focus_countries") or []
    whose = f" of the focus countries' trade ({', '.join(focus)})" if focus else ""
    if proxies:
        counts = summary.get("proxy_tariff_importers") or {p["importer"]: 0 for p in proxies}
        shown = [f"{code} {n:,}" if n else code for code, n in list(counts.items())[:FOOTER_IMPORTERS]]
        more = f" and {len(counts) - FOOTER_IMPORTERS} more" if len(counts) > FOOTER_IMPORTERS else ""
        lines.append(f"proxy tariffs: {summary.get('proxy_tariff_rows', 0):,} rows{whose} flagged proxy (tariffs.csv, "
                     f"flag = proxy); rows by importer: {', '.join(shown)}{more}")
    elif summary["tariff_sources_recorded"]:
        lines.append(f"proxy tariffs: none{whose} (tariffs.csv flags no rate as proxy)")
    else:
        lines.append(f"proxy tariffs: {NO_TARIFF_SOURCES}")
    lines.append(f"bands: {summary['bands_text']}")
    return lines
