"""Golden runs of the built-in scenario library: what is stored, how it is read back and compared.

For every scenario of ``blocsim scenarios list`` the library scenario is run exactly as
``blocsim scenarios run NAME --out DIR`` runs it (``load_scenario`` + ``run_scenario`` writing a
run directory) and three compact files are kept in ``tests/golden/NAME/``:

- ``countries.csv``: one row per country (sorted), the contract's headline columns
  (:data:`HEADLINE_COLUMNS`: percent changes, and tariff revenue in USD millions) as read back
  from the run's ``countries.csv``;
- ``flows.csv``: flow totals per ``country, sector`` (USD millions) from the run's ``flows.csv``:
  international exports (``exports_*``, summed over importers), international imports
  (``imports_*``, summed over exporters) and domestic flows (``domestic_*``), each for the
  baseline, the counterfactual and, when the run records re-exports, the recorded value;
- ``diagnostics.json``: the run's diagnostics (convergence flags, residuals, method, closure, ...)
  without run-time facts (:data:`RUNTIME_DIAGNOSTICS`, also among the model-specific ``extra``: wall time and iteration counts, which
  change with solver speed-ups and not with the model), and the provenance of the files.

Each CSV starts with ``#`` header lines naming the scenario, the blocsim version and git commit
and the dataset (name, tables version, year, sha256) that produced it.

Tolerance: a stored number ``s`` and a new one ``x`` agree when ``|x - s| <= ATOL + RTOL * |s|``
with ``ATOL = RTOL = 1e-8`` (absolute 1e-8 percentage points for ``*_pct`` columns near zero,
relative 1e-8 for flows and revenue in USD millions); NaN agrees only with NaN and an infinity
only with the same infinity. Booleans, strings and integers must be equal.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

GOLDEN_DIR = Path(__file__).resolve().parent
REPO_ROOT = GOLDEN_DIR.parents[1]
ATOL = 1e-8
RTOL = 1e-8
REGENERATE = "PYTHONPATH=src python tests/golden/regenerate.py"

#: countries.csv columns of the multi-sector GE contract (docs/architecture.md).
HEADLINE_COLUMNS = [
    "welfare_pct", "real_gdp_pct", "real_wage_pct", "price_index_pct", "factory_price_pct", "omr_pct", "imr_pct",
    "exports_pct", "imports_pct", "exports_cond_pct", "imports_cond_pct", "tariff_revenue_collected_before",
    "tariff_revenue_collected_after", "tariff_revenue_received_before", "tariff_revenue_received_after",
    "tariff_revenue_change",
    # the exact welfare decomposition (sums to welfare_pct) and the Caliendo-Parro first-order terms
    "welfare_from_terms_of_trade_pct", "welfare_from_volume_of_trade_pct", "welfare_from_tariff_revenue_pct",
    "welfare_from_pool_transfer_pct", "welfare_from_remittances_pct", "welfare_from_reexport_rents_pct",
    "welfare_from_border_costs_pct",
    "welfare_from_productivity_pct", "welfare_from_deficit_closure_pct", "welfare_tot_pct", "welfare_vot_pct",
]
#: flows.csv value columns that are totalled, when present, and their short names.
FLOW_COLUMNS = {"trade_baseline": "baseline", "trade_counterfactual": "counterfactual", "trade_recorded": "recorded"}
#: Diagnostics that describe the run, not the result (not stored, not compared).
RUNTIME_DIAGNOSTICS = ("seconds", "iterations", "conditional_iterations")


@dataclass(frozen=True)
class Golden:
    """The compact outputs of one scenario run.

    countries : DataFrame indexed by country, :data:`HEADLINE_COLUMNS` (percent; revenue USD millions)
    flows : DataFrame indexed by (country, sector), ``{exports,imports,domestic}_{baseline,...}`` (USD millions)
    diagnostics : dict, the run's diagnostics without :data:`RUNTIME_DIAGNOSTICS`
    provenance : dict, blocsim version, git commit and dataset (name, version, year, hash) of the run
    """

    countries: pd.DataFrame
    flows: pd.DataFrame
    diagnostics: dict[str, Any]
    provenance: dict[str, Any]


@dataclass(frozen=True)
class Difference:
    """One stored value that the current code no longer reproduces."""

    file: str
    row: str
    column: str
    stored: Any
    now: Any

    def excess(self) -> float:
        """|now - stored| in units of the allowed gap ``ATOL + RTOL * |stored|``; infinity unless both are finite
        numbers (structural changes, flags, NaN), so that those sort first."""
        if isinstance(self.stored, bool) or isinstance(self.now, bool):
            return math.inf
        try:
            gap = abs(float(self.now) - float(self.stored)) / (ATOL + RTOL * abs(float(self.stored)))
        except (TypeError, ValueError):
            return math.inf
        return gap if math.isfinite(gap) else math.inf


def library_names() -> list[str]:
    """The names ``blocsim scenarios list`` prints, in its order."""
    from blocsim.scenario import library_entries

    return [entry["name"] for entry in library_entries()]


def git_commit() -> str:
    """Short commit of the working tree that runs the code, with ``-dirty`` if it has changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO_ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def run_golden(name: str, workdir: Path) -> Golden:
    """Run library scenario ``name`` as ``blocsim scenarios run`` does, into ``workdir``; compact its outputs."""
    import blocsim
    from blocsim.results import read_run
    from blocsim import load_scenario, run_scenario

    run_scenario(load_scenario(name), workdir)
    tables, meta = read_run(workdir)
    countries = tables["countries"].set_index("country").sort_index()[HEADLINE_COLUMNS]
    diagnostics = {k: v for k, v in meta["diagnostics"].items() if k not in RUNTIME_DIAGNOSTICS}
    diagnostics["extra"] = {k: v for k, v in diagnostics.get("extra", {}).items() if k not in RUNTIME_DIAGNOSTICS}
    provenance = {"scenario": name, "blocsim": blocsim.__version__, "git": git_commit(),
                  "dataset": {key: meta["dataset"][key] for key in ("name", "version", "year", "hash")}}
    return Golden(countries, flow_totals(tables["flows"]), diagnostics, provenance)


def flow_totals(flows: pd.DataFrame) -> pd.DataFrame:
    """Exports, imports (international) and domestic flow totals per (country, sector), USD millions."""
    columns = [c for c in FLOW_COLUMNS if c in flows.columns]
    international = flows[flows["exporter"] != flows["importer"]]
    domestic = flows[flows["exporter"] == flows["importer"]]
    parts = []
    for kind, frame, side in (("exports", international, "exporter"), ("imports", international, "importer"),
                              ("domestic", domestic, "exporter")):
        total = frame.groupby([side, "sector"])[columns].sum()
        total.index = total.index.set_names(["country", "sector"])
        parts.append(total.rename(columns={c: f"{kind}_{FLOW_COLUMNS[c]}" for c in columns}))
    return pd.concat(parts, axis=1).fillna(0.0).sort_index()


# --- files ------------------------------------------------------------------------------------

def _header(golden: Golden, what: str) -> str:
    p, d = golden.provenance, golden.provenance["dataset"]
    return (f"# blocsim golden run of library scenario {p['scenario']}: {what}\n"
            f"# produced by blocsim {p['blocsim']} (git {p['git']}) on dataset {d['name']} ({d['version']}) year {d['year']} "
            f"sha256 {d['hash']}\n"
            f"# regenerate: {REGENERATE}; compared by tests/test_golden.py at |now - stored| <= "
            f"{ATOL:g} + {RTOL:g} * |stored|\n")


def write_golden(golden: Golden, directory: Path) -> None:
    """Write ``countries.csv``, ``flows.csv`` and ``diagnostics.json`` (floats in shortest round-trip form) to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "countries.csv").write_text(
        _header(golden, "countries.csv headline columns (percent; tariff revenue USD millions)")
        + golden.countries.to_csv())
    (directory / "flows.csv").write_text(
        _header(golden, "flows.csv totals per country and sector (USD millions)")
        + golden.flows.to_csv())
    document = {"produced_by": golden.provenance, "regenerate": REGENERATE, "diagnostics": golden.diagnostics}
    (directory / "diagnostics.json").write_text(json.dumps(document, indent=2) + "\n")


def _read_csv(path: Path, index: list[str]) -> pd.DataFrame:
    lines = path.read_text().splitlines(keepends=True)
    body = "".join(line for line in lines if not line.startswith("#"))
    return pd.read_csv(io.StringIO(body), keep_default_na=False, na_values=["", "NaN", "nan"]).set_index(index)


def read_golden(directory: Path) -> Golden:
    """Read the files :func:`write_golden` wrote."""
    document = json.loads((directory / "diagnostics.json").read_text())
    return Golden(_read_csv(directory / "countries.csv", ["country"]),
                  _read_csv(directory / "flows.csv", ["country", "sector"]),
                  document["diagnostics"], document["produced_by"])


# --- comparison -------------------------------------------------------------------------------

def agree(stored: Any, now: Any) -> bool:
    """Whether ``now`` reproduces ``stored``: floats within the tolerance, everything else equal."""
    if isinstance(stored, bool) or isinstance(now, bool) or not isinstance(stored, (int, float)) \
            or not isinstance(now, (int, float)):
        return type(stored) is type(now) and stored == now
    if isinstance(stored, int) and isinstance(now, int):
        return stored == now
    s, x = float(stored), float(now)
    if math.isnan(s) or math.isnan(x):
        return math.isnan(s) and math.isnan(x)
    if math.isinf(s) or math.isinf(x):
        return s == x
    return abs(x - s) <= ATOL + RTOL * abs(s)


def _compare_frames(file: str, stored: pd.DataFrame, now: pd.DataFrame) -> list[Difference]:
    out = []
    for column in stored.columns.difference(now.columns):
        out.append(Difference(file, "*", column, "column", "missing"))
    for column in now.columns.difference(stored.columns):
        out.append(Difference(file, "*", column, "missing", "column"))
    for row in stored.index.difference(now.index):
        out.append(Difference(file, _label(row), "*", "row", "missing"))
    for row in now.index.difference(stored.index):
        out.append(Difference(file, _label(row), "*", "missing", "row"))
    rows, columns = stored.index.intersection(now.index), stored.columns.intersection(now.columns)
    for row in rows:
        for column in columns:
            s, x = stored.at[row, column], now.at[row, column]
            s, x = (v.item() if hasattr(v, "item") else v for v in (s, x))
            if not agree(s, x):
                out.append(Difference(file, _label(row), column, s, x))
    return out


def _label(row: Any) -> str:
    return " ".join(map(str, row)) if isinstance(row, tuple) else str(row)


def compare(stored: Golden, now: Golden) -> list[Difference]:
    """Every stored value (and every row, column or diagnostic) that ``now`` does not reproduce."""
    out = []
    if stored.provenance["dataset"] != now.provenance["dataset"]:
        out.append(Difference("diagnostics.json", "produced_by", "dataset", stored.provenance["dataset"],
                              now.provenance["dataset"]))
    out += _compare_frames("countries.csv", stored.countries, now.countries)
    out += _compare_frames("flows.csv", stored.flows, now.flows)
    for key in sorted(set(stored.diagnostics) | set(now.diagnostics)):
        s, x = stored.diagnostics.get(key, "missing"), now.diagnostics.get(key, "missing")
        if not agree(s, x):
            out.append(Difference("diagnostics.json", "diagnostics", key, s, x))
    return out


def report(name: str, differences: list[Difference], limit: int = 40) -> str:
    """A readable diff: one line per value (file, country [sector], column, stored, now), the furthest
    outside the tolerance first."""
    ranked = sorted(differences, key=lambda d: -d.excess())
    lines = [f"golden run {name}: {len(differences)} value(s) differ from tests/golden/{name}/ "
             f"(tolerance |now - stored| <= {ATOL:g} + {RTOL:g} * |stored|); if the change is intended, "
             f"run `{REGENERATE}` and review the diff",
             f"{'file':<17} {'row':<24} {'column':<32} {'stored':>24} {'now':>24}"]
    for d in ranked[:limit]:
        lines.append(f"{d.file:<17} {d.row:<24} {d.column:<32} {_show(d.stored):>24} {_show(d.now):>24}")
    if len(ranked) > limit:
        lines.append(f"... and {len(ranked) - limit} more")
    return "\n".join(lines)


def _show(value: Any) -> str:
    return f"{value:.12g}" if isinstance(value, float) else str(value)
