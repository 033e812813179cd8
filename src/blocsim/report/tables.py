"""Tables for the report: tidy DataFrames derived from a run directory's CSV files.

Every function takes the run's tables (as written by :func:`blocsim.results.write_run`)
and returns a new DataFrame; nothing here draws or formats HTML. Money is in USD millions
(as in the run directory), changes in percent are ``(counterfactual - baseline) /
baseline * 100``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from blocsim.errors import BlocsimError
from blocsim.results import read_run

#: Members of the Eurasian Economic Union in the bundled dataset; the default bloc when a
#: run has no ``bloc_effects.csv``.
EAEU_MEMBERS: tuple[str, ...] = ("RUS", "KAZ", "BLR", "ARM", "KGZ")

#: Headline columns of ``countries.csv`` in display order, with their labels.
HEADLINE_COLUMNS: dict[str, str] = {
    "welfare_pct": "Welfare (real income), %",
    "real_wage_pct": "Real wage, %",
    "price_index_pct": "Consumer price index, %",
    "exports_pct": "Exports, %",
    "imports_pct": "Imports, %",
    "tariff_revenue_change": "Tariff revenue received, change (USD m)",
}

#: Percentiles of the Monte Carlo bands shown beside each headline number, read from the
#: ``<variable>_p05``/``_p50``/``_p95`` columns of ``countries.csv`` (else from ``bands.csv``).
BAND_PERCENTILES: tuple[str, ...] = ("p05", "p50", "p95")

REVENUE_COLUMNS: tuple[str, ...] = (
    "tariff_revenue_collected_before",
    "tariff_revenue_collected_after",
    "tariff_revenue_received_before",
    "tariff_revenue_received_after",
)


@dataclass(frozen=True)
class RunTables:
    """A run directory read into memory.

    Attributes
    ----------
    path : Path
        The run directory.
    countries : pandas.DataFrame
        ``countries.csv``: one row per country (column ``country``, ISO3).
    flows : pandas.DataFrame or None
        ``flows.csv``: ``exporter, importer, sector, trade_baseline, trade_counterfactual,
        trade_pct`` (USD millions), if the run wrote it.
    bloc_effects : pandas.DataFrame or None
        ``bloc_effects.csv`` as written by the model, if any.
    bands : pandas.DataFrame or None
        ``bands.csv`` (Monte Carlo): ``country, variable, point, mean, std, p05, ..., p95``.
    meta : dict
        ``run.json``, validated as a :class:`blocsim.RunRecord` on read, as plain values
        (optional blocks the run lacks left out).
    tariffs : pandas.DataFrame or None
        ``tariffs.csv``: ``exporter, importer, sector, tariff_before, tariff_after`` (ad
        valorem fractions) and, when the data carries them, ``source``/``flag``; if written.
    """

    path: Path
    countries: pd.DataFrame
    flows: pd.DataFrame | None
    bloc_effects: pd.DataFrame | None
    meta: dict[str, Any] = field(default_factory=dict)
    bands: pd.DataFrame | None = None
    tariffs: pd.DataFrame | None = None

    @property
    def focus(self) -> list[str]:
        """Focus countries of the run (``run.json`` ``focus_countries``) present in ``countries``."""
        present = set(self.countries["country"])
        return [c for c in self.meta.get("focus_countries") or [] if c in present]

    @property
    def members(self) -> list[str]:
        """Bloc members for trade creation/diversion: those of ``bloc_effects.csv``, else the EAEU members."""
        named: list[str] | None = None
        if self.bloc_effects is not None and "country" in self.bloc_effects:
            named = list(dict.fromkeys(self.bloc_effects["country"].astype(str)))
        present = set(self.countries["country"])
        return [c for c in (named or EAEU_MEMBERS) if c in present]

    @property
    def members_after(self) -> list[str]:
        """Bloc members in the scenario's after state (``run.json`` ``policy.after.blocs``).

        A country that leaves in the scenario is not among them. Runs without a recorded
        policy state (one-sector, older runs) give :attr:`members`.
        """
        policy = self.meta.get("policy")
        blocs = policy.get("after", {}).get("blocs") if isinstance(policy, dict) else None
        if not isinstance(blocs, dict):
            return self.members
        after = {str(c) for bloc in blocs.values() if isinstance(bloc, dict) for c in bloc.get("members") or []}
        present = set(self.countries["country"])
        return [c for c in dict.fromkeys([*self.members, *sorted(after)]) if c in after and c in present]


#: Columns the report's trade sections need in ``flows.csv`` (``sector`` is optional: a
#: one-sector run is read as one sector ``"all"``).
FLOW_COLUMNS: tuple[str, ...] = ("exporter", "importer", "trade_baseline", "trade_counterfactual")


def _check_numbers(path: Path, frame: pd.DataFrame, columns: list[str]) -> None:
    """Raise a BlocsimError naming the first cell of ``columns`` that is not a number."""
    for column in columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values):
            continue
        bad = values.notna() & pd.to_numeric(values, errors="coerce").isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise BlocsimError(
                f"{path}: column {column!r} must hold numbers; line {row + 2} has {values.iloc[row]!r}; "
                "re-run the scenario to rewrite the file"
            )


def _checked(path: Path, frame: pd.DataFrame, required: tuple[str, ...], numeric: list[str], purpose: str) -> pd.DataFrame:
    """``frame`` with its ``numeric`` columns as floats, after checking columns and values."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise BlocsimError(
            f"{path}: missing column(s) {missing}; have {list(frame.columns)}; {purpose} "
            "(see docs/architecture.md)"
        )
    present = [c for c in numeric if c in frame.columns]
    _check_numbers(path, frame, present)
    return frame.astype({c: float for c in present})


def load_run(run_dir: str | os.PathLike[str]) -> RunTables:
    """Read a run directory for reporting, checking the columns and values the report uses.

    Parameters
    ----------
    run_dir
        Directory written by :func:`blocsim.results.write_run` (``run.json`` plus CSVs).

    Raises
    ------
    BlocsimError
        If ``run.json`` or ``countries.csv`` is missing or unreadable (e.g. not UTF-8),
        ``countries.csv`` lacks ``country`` or ``welfare_pct``, ``flows.csv`` lacks one of
        :data:`FLOW_COLUMNS`, or a number column (percent changes, revenue, flows, band
        percentiles) holds text; the message names the file, column, line and value.
    """
    path = Path(run_dir)
    tables, meta = read_run(path)
    countries = tables.get("countries")
    if countries is None:
        raise BlocsimError(
            f"{path}: run directory has no countries.csv (found {sorted(tables)}); "
            "re-run the scenario so that it writes the country results"
        )
    countries = _checked(
        path / "countries.csv", countries, ("country", "welfare_pct"),
        [*HEADLINE_COLUMNS, *REVENUE_COLUMNS], "the report needs at least `country` and `welfare_pct`",
    )
    flows = tables.get("flows")
    if flows is not None:
        flows = _checked(
            path / "flows.csv", flows, FLOW_COLUMNS, ["trade_baseline", "trade_counterfactual"],
            "the report's trade sections need exporter, importer, trade_baseline and trade_counterfactual",
        )
        if "sector" not in flows.columns:
            flows = flows.assign(sector="all")
    bands = tables.get("bands")
    if bands is not None:
        numbers = [c for c in bands.columns if re.fullmatch(r"p\d+(\.\d+)?", str(c)) or c in ("point", "mean", "std")]
        bands = _checked(path / "bands.csv", bands, (), numbers, "")
    return RunTables(
        path=path,
        countries=countries,
        flows=flows,
        bloc_effects=tables.get("bloc_effects"),
        meta=meta,
        bands=bands,
        tariffs=tables.get("tariffs"),
    )


def welfare_band(run: RunTables) -> tuple[pd.DataFrame, str] | None:
    """The Monte Carlo band of ``welfare_pct`` per country, from ``bands.csv``.

    Returns
    -------
    (pandas.DataFrame, str) or None
        Columns ``country, low, high`` (percent; the lowest and highest percentile columns
        ``pNN`` of the file) and a label such as ``"p05-p95"``; ``None`` without bands.
    """
    bands = run.bands
    if bands is None or not {"country", "variable"} <= set(bands.columns):
        return None
    percentiles = sorted((c for c in bands.columns if re.fullmatch(r"p\d+(\.\d+)?", str(c))), key=lambda c: float(c[1:]))
    rows = bands[bands["variable"] == "welfare_pct"]
    if len(percentiles) < 2 or rows.empty:
        return None
    low, high = percentiles[0], percentiles[-1]
    band = rows[["country", low, high]].rename(columns={low: "low", high: "high"}).reset_index(drop=True)
    return band, f"{low}-{high}"


def headline_bands(run: RunTables) -> pd.DataFrame | None:
    """Monte Carlo percentiles of the headline variables, one row per country.

    Returns
    -------
    pandas.DataFrame or None
        ``country`` plus ``<variable>_p05``, ``<variable>_p50``, ``<variable>_p95``
        (:data:`BAND_PERCENTILES`; unit of the variable) for each of
        :data:`HEADLINE_COLUMNS` that has all three: the columns of ``countries.csv`` when
        the run wrote them, else pivoted from ``bands.csv``. None without bands.
    """
    frame = run.countries
    named = {f"{v}_{p}" for v in HEADLINE_COLUMNS for p in BAND_PERCENTILES}
    if any(c in frame.columns for c in named):
        wide = _checked(run.path / "countries.csv", frame, (), sorted(named), "")
    elif run.bands is not None and {"country", "variable", *BAND_PERCENTILES} <= set(run.bands.columns):
        rows = run.bands[run.bands["variable"].isin(list(HEADLINE_COLUMNS))].drop_duplicates(["country", "variable"])
        wide = rows.pivot(index="country", columns="variable", values=list(BAND_PERCENTILES))
        wide.columns = [f"{variable}_{stat}" for stat, variable in wide.columns]
        wide = wide.reindex(frame["country"].to_numpy()).rename_axis("country").reset_index()
    else:
        return None
    columns = [f"{v}_{p}" for v in HEADLINE_COLUMNS if all(f"{v}_{p}" in wide.columns for p in BAND_PERCENTILES)
               for p in BAND_PERCENTILES]
    return wide[["country", *columns]].reset_index(drop=True) if columns else None


def banded_variables(table: pd.DataFrame) -> list[str]:
    """The headline variables with all of :data:`BAND_PERCENTILES` as columns of ``table``."""
    return [v for v in HEADLINE_COLUMNS if all(f"{v}_{p}" in table.columns for p in BAND_PERCENTILES)]


def headline_table(run: RunTables) -> pd.DataFrame:
    """Headline results per country: focus countries first, then by welfare change.

    Returns
    -------
    pandas.DataFrame
        Columns ``country``, whichever of :data:`HEADLINE_COLUMNS` the run has and, for a
        run with Monte Carlo bands, the percentile columns of :func:`headline_bands`.
    """
    frame = run.countries
    columns = ["country", *[c for c in HEADLINE_COLUMNS if c in frame.columns]]
    table = frame[columns].copy()
    bands = headline_bands(run)
    if bands is not None:
        table = table.merge(bands, on="country", how="left", validate="one_to_one")
    rank = {c: i for i, c in enumerate(run.focus)}
    table["_focus"] = table["country"].map(rank).fillna(len(rank))
    table = table.sort_values(["_focus", "welfare_pct"], ascending=[True, False], kind="stable")
    return table.drop(columns="_focus").reset_index(drop=True)


def _expenditure_parts(flows: pd.DataFrame, column: str, members: list[str]) -> pd.DataFrame:
    """Spending of each member by sector on bloc partners, non-members and itself, USD m.

    Returns a frame indexed by (importer, sector) with columns ``intra, extra, domestic``.
    """
    mine = flows[flows["importer"].isin(members)]
    source = np.where(
        mine["exporter"] == mine["importer"], "domestic", np.where(mine["exporter"].isin(members), "intra", "extra")
    )
    parts = mine.assign(source=source).pivot_table(
        index=["importer", "sector"], columns="source", values=column, aggfunc="sum", fill_value=0.0
    )
    return parts.reindex(columns=["intra", "extra", "domestic"], fill_value=0.0)


def bloc_trade_effects(run: RunTables) -> pd.DataFrame | None:
    """Trade creation versus trade diversion for each bloc member (all sectors), USD millions.

    Uses the model's ``bloc_effects.csv`` (rows with ``sector == "all"``) when the run has
    it; otherwise computes the same decomposition from ``flows.csv``. For member *j* and
    sector *s* with spending ``E`` on itself, on bloc partners and on non-members, domestic
    share ``sd`` and non-member share ``sn`` (0 = baseline, 1 = counterfactual)::

        income effect   = (E1 - E0) (1 - sd0)
        trade creation  = -E1 (sd1 - sd0)     (imports replacing home production)
        trade diversion = -E1 (sn1 - sn0)     (positive: imports diverted away from non-members)

    so that the change in imports = income effect + trade creation. Summed over sectors.

    Returns
    -------
    pandas.DataFrame or None
        Columns ``country, intra_before, intra_after, extra_before, extra_after,
        income_effect, trade_creation, trade_diversion``; ``None`` without flows or members.
    """
    columns = {
        "intra_baseline": "intra_before", "intra_counterfactual": "intra_after",
        "extra_baseline": "extra_before", "extra_counterfactual": "extra_after",
    }
    model = run.bloc_effects
    if model is not None and {"country", "sector", *columns, "income_effect", "trade_creation", "trade_diversion"} <= set(model):
        table = model[model["sector"] == "all"].rename(columns=columns)
        return table[["country", *columns.values(), "income_effect", "trade_creation", "trade_diversion"]].reset_index(drop=True)
    if run.flows is None or not run.members:
        return None
    old = _expenditure_parts(run.flows, "trade_baseline", run.members)
    new = _expenditure_parts(run.flows, "trade_counterfactual", run.members).reindex(old.index, fill_value=0.0)
    e0, e1 = old.sum(axis=1), new.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd0 = (old["domestic"] / e0).where(e0 > 0, 0.0)
        sn0 = (old["extra"] / e0).where(e0 > 0, 0.0)
        sd1 = (new["domestic"] / e1).where(e1 > 0, sd0)
        sn1 = (new["extra"] / e1).where(e1 > 0, sn0)
    sectoral = pd.DataFrame(
        {
            "intra_before": old["intra"], "intra_after": new["intra"],
            "extra_before": old["extra"], "extra_after": new["extra"],
            "income_effect": (e1 - e0) * (1.0 - sd0),
            "trade_creation": -e1 * (sd1 - sd0),
            "trade_diversion": -e1 * (sn1 - sn0),
        }
    )
    total = sectoral.groupby(level="importer").sum().reindex(run.members, fill_value=0.0)
    return total.rename_axis("country").reset_index()


def revenue_table(run: RunTables) -> pd.DataFrame | None:
    """Tariff revenue collected at the border versus received after duty-pool sharing.

    Returns
    -------
    pandas.DataFrame or None
        ``country`` plus the four revenue columns (USD millions), the net duty-pool
        transfer (received - collected) ``pool_transfer_before``, ``pool_transfer_after``
        and their difference ``pool_transfer_change`` (after - before; USD millions) and
        ``pooled`` (received differs from collected before or after: a duty-pool member),
        for countries with any revenue, pool members first; ``None`` without revenue columns.
    """
    frame = run.countries
    if not all(c in frame.columns for c in REVENUE_COLUMNS):
        return None
    table = frame[["country", *REVENUE_COLUMNS]].copy()
    table["pool_transfer_before"] = table["tariff_revenue_received_before"] - table["tariff_revenue_collected_before"]
    table["pool_transfer_after"] = table["tariff_revenue_received_after"] - table["tariff_revenue_collected_after"]
    table["pool_transfer_change"] = table["pool_transfer_after"] - table["pool_transfer_before"]
    values = table[list(REVENUE_COLUMNS)].to_numpy(dtype=float)
    table = table[np.abs(values).sum(axis=1) > 1e-9]
    pooled = (
        (table["tariff_revenue_received_before"] - table["tariff_revenue_collected_before"]).abs()
        + (table["tariff_revenue_received_after"] - table["tariff_revenue_collected_after"]).abs()
    ) > 1e-6
    table = table.assign(pooled=pooled.to_numpy())
    return table.sort_values(["pooled", "tariff_revenue_collected_after"], ascending=False).reset_index(drop=True)


def bilateral_changes(run: RunTables) -> pd.DataFrame | None:
    """Bilateral trade of each focus country with each partner, before and after.

    Returns
    -------
    pandas.DataFrame or None
        Columns ``country, partner, direction`` (``"imports"``: ``partner -> country``,
        ``"exports"``: ``country -> partner``), ``trade_baseline, trade_counterfactual``
        (USD millions, summed over sectors), ``change`` (USD millions) and ``change_pct``
        (NaN where the baseline is zero). ``None`` without flows or focus countries.
    """
    if run.flows is None or not run.focus:
        return None
    flows = run.flows[run.flows["exporter"] != run.flows["importer"]]
    values = ["trade_baseline", "trade_counterfactual"]
    imports = flows[flows["importer"].isin(run.focus)].groupby(["importer", "exporter"])[values].sum()
    imports = imports.rename_axis(["country", "partner"]).reset_index().assign(direction="imports")
    exports = flows[flows["exporter"].isin(run.focus)].groupby(["exporter", "importer"])[values].sum()
    exports = exports.rename_axis(["country", "partner"]).reset_index().assign(direction="exports")
    table = pd.concat([imports, exports], ignore_index=True)
    table["change"] = table["trade_counterfactual"] - table["trade_baseline"]
    base = table["trade_baseline"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["change_pct"] = np.where(base > 0, table["change"].to_numpy(dtype=float) / base * 100.0, np.nan)
    order = {c: i for i, c in enumerate(run.focus)}
    table["_order"] = table["country"].map(order)
    table = table.sort_values(["_order", "direction", "change"], ascending=[True, False, True], kind="stable")
    return table[["country", "partner", "direction", *values, "change", "change_pct"]].reset_index(drop=True)


def _flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        rows: list[tuple[str, str]] = []
        for key, inner in value.items():
            rows.extend(_flatten(f"{prefix}.{key}" if prefix else str(key), inner))
        return rows
    if isinstance(value, (list, tuple)):
        return [(prefix, ", ".join(map(str, value)))]
    return [(prefix, str(value))]


def policy_state_rows(meta: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The run's policy states as (field, before, after) rows (``run.json`` key ``policy``)."""
    policy = meta.get("policy")
    if not isinstance(policy, dict):
        return []
    before = dict(_flatten("", policy.get("before", {})))
    after = dict(_flatten("", policy.get("after", {})))
    keys = list(dict.fromkeys([*before, *after]))
    return [(key, before.get(key, ""), after.get(key, "")) for key in keys]


def provenance_rows(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """The run's provenance as (key, value) rows: package, version, time, dataset, model, solver.

    The scenario, policy changes, policy states, shock notes and rule violations are shown
    in the report's policy section and left out here.
    """
    skip = {"scenario", "policy_changes", "focus_countries", "shock_notes", "rule_violations", "policy"}
    rows: list[tuple[str, str]] = []
    for key in ("package", "version", "created_utc", "dataset", "model", "diagnostics"):
        if key in meta:
            rows.extend(_flatten(key, meta[key]))
    for key, value in meta.items():
        if key not in skip and key not in {"package", "version", "created_utc", "dataset", "model", "diagnostics"}:
            rows.extend(_flatten(key, value))
    return rows
