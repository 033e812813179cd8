"""Input handling for the tariff-line partial-equilibrium model (:func:`blocsim.solve_pe`).

Turns the user's import table, tariff changes (a table or a policy-layer ``Shock``) and
elasticities (scalars, per product, or per importer and product) into one validated row
per (importer, exporter, product) with every number the model needs. Nothing here solves
anything; :mod:`blocsim.equilibrium.pe` does.

Defaults (Jammes & Olarreaga 2005; WITS-SMART user manual)
----------------------------------------------------------
- ``DEFAULT_SUBSTITUTION = 1.5``: SMART's default Armington elasticity between sources.
- ``DEFAULT_EXPORT_SUPPLY = inf``: SMART's default is 99, which it describes as "infinite";
  blocsim uses a true infinity (world prices fixed). Pass ``export_supply=99`` to match
  SMART to the last digit.
- ``DEFAULT_IMPORT_DEMAND = -1.0``: SMART uses the HS6 import-demand elasticities of Kee,
  Nicita & Olarreaga (2008, REStat 90(4)) per importer and product. That table is not
  bundled with blocsim, so without user values a unit-elastic fallback is used (it keeps
  spending on the product constant when its price index moves) and the result's
  ``parameters["import_demand_source"]`` says so. Pass the KNO values as a table with
  columns ``importer, product, import_demand`` to use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

import numpy as np
import pandas as pd

from blocsim.equilibrium.options import SIGMA_RANGE
from blocsim.errors import DataValidationError

DEFAULT_SUBSTITUTION = 1.5
DEFAULT_EXPORT_SUPPLY = float("inf")
DEFAULT_IMPORT_DEMAND = -1.0

ElasticityInput = float | int | Mapping[str, float] | pd.Series | pd.DataFrame | None
DomesticRows = Literal["drop", "source"]


@dataclass(frozen=True)
class PELines:
    """Validated model rows, one per (importer, exporter, product), all arrays of shape (R,).

    Attributes
    ----------
    frame : DataFrame
        ``importer, exporter, product`` keys (strings) in model order.
    group : ndarray of int
        Dense code of the (importer, product) market each row belongs to, 0..G-1.
    n_groups : int
        Number of (importer, product) markets G.
    trade : ndarray
        Baseline imports at world prices, USD millions (>= 0).
    tariff_before, tariff_after : ndarray
        Ad valorem tariffs as fractions; ``tariff_after`` may be ``inf`` (prohibitive).
    cost_factor : ndarray
        Factor on the source's CES price term ``p^(1 - sigma)`` (non-tariff cost change),
        1 = unchanged, 0 = banned; the multi-sector shock convention with theta = sigma - 1.
    import_demand, substitution, export_supply : ndarray
        Elasticities per row (import demand < 0, substitution > 1, export supply > 0 or inf).
    parameters : dict
        What was used, for the result's provenance (sources of the elasticities).
    """

    frame: pd.DataFrame
    group: np.ndarray
    n_groups: int
    trade: np.ndarray
    tariff_before: np.ndarray
    tariff_after: np.ndarray
    cost_factor: np.ndarray
    import_demand: np.ndarray
    substitution: np.ndarray
    export_supply: np.ndarray
    parameters: dict[str, Any]


def _fail(argument: str, field: str, bad: Any, allowed: str, fix: str) -> DataValidationError:
    return DataValidationError(
        f"solve_pe argument {argument!r}, field {field!r}: got {bad}; allowed: {allowed}. Fix: {fix}"
    )


def _examples(values: pd.Series | np.ndarray, limit: int = 5) -> str:
    items = list(pd.unique(np.asarray(values, dtype=object)))[:limit]
    return ", ".join(map(str, items))


def _require_columns(frame: pd.DataFrame, argument: str, columns: list[str], fix: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise _fail(argument, ", ".join(missing), f"columns {list(frame.columns)}", f"columns {columns}", fix)


def _numeric(frame: pd.DataFrame, argument: str, column: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values)
    if bad.any():
        raise _fail(argument, column, f"non-numeric or missing values in rows {np.flatnonzero(bad)[:5].tolist()}",
                    "finite numbers", f"fill or drop those rows of {argument!r}")
    return values


def _key_frame(frame: pd.DataFrame, keys: Mapping[str, str]) -> pd.DataFrame:
    """Rename user key columns to standard names and make them strings."""
    out = pd.DataFrame({std: frame[user].astype(str).to_numpy() for std, user in keys.items()})
    return out


def _tariff_table(
    table: pd.DataFrame, argument: str, concordance: pd.DataFrame | None
) -> pd.DataFrame:
    """Tariff rows ``importer, exporter, product, tariff_before, tariff_after`` from a table or Shock."""
    _require_columns(table, argument, ["exporter", "importer", "tariff_before", "tariff_after"],
                     "pass the policy layer's Shock.tariffs or a table with these columns")
    table = table.reset_index(drop=True)
    keyed = _to_products(table, argument, concordance)
    rows = keyed.index.to_numpy()
    out = keyed.reset_index(drop=True)
    out["tariff_before"] = _numeric(table, argument, "tariff_before")[rows]
    out["tariff_after"] = pd.to_numeric(table["tariff_after"], errors="coerce").to_numpy(float)[rows]
    return out


def _to_products(table: pd.DataFrame, argument: str, concordance: pd.DataFrame | None) -> pd.DataFrame:
    """Map a (exporter, importer, product|sector) table onto products, via ``concordance`` if given."""
    if "product" in table.columns:
        keys = _key_frame(table, {"importer": "importer", "exporter": "exporter", "product": "product"})
        keys.index = table.index
        return keys
    if "sector" not in table.columns:
        raise _fail(argument, "product/sector", f"columns {list(table.columns)}", "a 'product' or 'sector' column",
                    "add the product (HS6) or sector column the tariffs apply to")
    keys = _key_frame(table, {"importer": "importer", "exporter": "exporter", "sector": "sector"})
    keys.index = table.index
    if concordance is None:
        return keys.rename(columns={"sector": "product"})
    mapped = keys.reset_index().merge(concordance, on="sector", how="inner").set_index("index")
    return mapped[["importer", "exporter", "product"]]


def normalise_concordance(concordance: pd.DataFrame | Mapping[str, str] | None) -> pd.DataFrame | None:
    """Concordance as a DataFrame ``product, sector`` (strings), or ``None``."""
    if concordance is None:
        return None
    if isinstance(concordance, Mapping):
        concordance = pd.DataFrame({"product": list(concordance), "sector": list(concordance.values())})
    _require_columns(concordance, "concordance", ["product", "sector"],
                     "pass a table mapping each HS6 product to the sector code used by the tariffs/shock")
    out = concordance[["product", "sector"]].astype(str)
    dup = out["product"].duplicated()
    if dup.any():
        raise _fail("concordance", "product", f"products mapped twice: {_examples(out.loc[dup, 'product'])}",
                    "each product in exactly one sector", "drop the duplicate rows")
    return out.reset_index(drop=True)


def _elasticity(
    value: ElasticityInput, name: str, keys: pd.DataFrame, default: float
) -> tuple[np.ndarray, str]:
    """Broadcast a scalar / per-product / per-importer-product elasticity onto the rows."""
    n = len(keys)
    if value is None:
        return np.full(n, default), "default"
    if np.isscalar(value):
        return np.full(n, float(value)), "user scalar"  # type: ignore[arg-type]
    if isinstance(value, (Mapping, pd.Series)):
        series = pd.Series(value, dtype=float)
        series.index = series.index.astype(str)
        out = keys["product"].map(series).to_numpy(dtype=float)
        source = "user per product"
    elif isinstance(value, pd.DataFrame):
        value_col = name if name in value.columns else "elasticity"
        on = ["importer", "product"] if "importer" in value.columns else ["product"]
        _require_columns(value, name, [*on, value_col],
                         f"pass a table with columns {on + [name]} (or a scalar)")
        table = value[on].astype(str).assign(_v=pd.to_numeric(value[value_col], errors="coerce").to_numpy())
        if table.duplicated(on).any():
            raise _fail(name, ", ".join(on), f"duplicate keys {_examples(table.loc[table.duplicated(on), on[-1]])}",
                        "one value per key", "drop duplicate rows")
        out = keys[on].merge(table, on=on, how="left")["_v"].to_numpy(dtype=float)
        source = f"user per {'importer and ' if len(on) == 2 else ''}product"
    else:
        raise _fail(name, name, type(value).__name__, "a number, a mapping/Series by product, or a DataFrame",
                    "pass e.g. 1.5 or {'870323': 2.0}")
    missing = np.isnan(out)
    if missing.any():
        raise _fail(name, "product", f"no value for products {_examples(keys.loc[missing, 'product'])}",
                    "a value for every product traded", "add those products or pass a scalar")
    return out, source


def build_lines(
    imports: pd.DataFrame,
    *,
    tariffs: pd.DataFrame | None,
    shock: Any,
    cost_factor: pd.DataFrame | None,
    import_demand: ElasticityInput,
    substitution: ElasticityInput,
    export_supply: ElasticityInput,
    concordance: pd.DataFrame | Mapping[str, str] | None,
    domestic: DomesticRows,
    importer: str,
    exporter: str,
    product: str,
    flow: str,
) -> PELines:
    """Validate the inputs of :func:`blocsim.solve_pe` and return one model row per line.

    See :func:`blocsim.equilibrium.pe.solve_pe` for the meaning of each argument.
    """
    if not isinstance(imports, pd.DataFrame):
        raise _fail("imports", "imports", type(imports).__name__, "a pandas DataFrame", "pass a DataFrame")
    _require_columns(imports, "imports", [importer, exporter, product, flow],
                     "name the columns with importer=, exporter=, product=, flow=")
    if domestic not in ("drop", "source"):
        raise _fail("domestic", "domestic", repr(domestic), "'drop' or 'source'", "use domestic='drop'")
    conc = normalise_concordance(concordance)
    keys = _key_frame(imports, {"importer": importer, "exporter": exporter, "product": product})
    trade = _numeric(imports, "imports", flow)
    bad = (trade < 0) | ~np.isfinite(trade)
    if bad.any():
        raise _fail("imports", flow, f"{trade[bad][:3].tolist()} in rows {np.flatnonzero(bad)[:5].tolist()}",
                    "finite values >= 0 (USD millions at world prices)", "correct or drop those rows")
    dup = keys.duplicated()
    if dup.any():
        raise _fail("imports", f"{importer}, {exporter}, {product}",
                    f"duplicate lines e.g. {keys[dup].head(3).to_dict('records')}", "one row per line",
                    "aggregate duplicates with groupby().sum()")
    if conc is not None:
        unmapped = ~keys["product"].isin(conc["product"])
        if unmapped.any():
            raise _fail("concordance", "product", f"imported products without a sector: "
                        f"{_examples(keys.loc[unmapped, 'product'])}", "every imported product in the concordance",
                        "add them (their tariffs would otherwise silently be zero)")
    keep = (keys["importer"] != keys["exporter"]).to_numpy() if domestic == "drop" else np.ones(len(keys), bool)
    keys, trade, src = keys[keep].reset_index(drop=True), trade[keep], imports[keep].reset_index(drop=True)

    has_own = "tariff_before" in src.columns or "tariff_after" in src.columns
    if has_own and (tariffs is not None or shock is not None):
        raise _fail("imports", "tariff_before/tariff_after", "tariff columns and also tariffs=/shock=",
                    "one source of tariffs", "drop the columns from imports or do not pass tariffs=/shock=")
    if shock is not None:
        if tariffs is not None or cost_factor is not None:
            raise _fail("shock", "shock", "shock= together with tariffs=/cost_factor=", "one of them",
                        "pass the Shock alone (it carries .tariffs and .cost_factor)")
        tariffs = getattr(shock, "tariffs", None)
        cost_factor = getattr(shock, "cost_factor", None)
    t0 = np.zeros(len(keys))
    t1 = np.zeros(len(keys))
    if has_own:
        for col in ("tariff_before", "tariff_after"):
            _require_columns(src, "imports", [col], "give both tariff_before and tariff_after")
        t0 = _numeric(src, "imports", "tariff_before")
        t1 = pd.to_numeric(src["tariff_after"], errors="coerce").to_numpy(float)
    elif tariffs is not None and len(tariffs):
        table = _tariff_table(tariffs, "tariffs", conc)
        key3 = ["importer", "exporter", "product"]
        if table.duplicated(key3).any():
            raise _fail("tariffs", "exporter, importer, product",
                        f"duplicates e.g. {table[table.duplicated(key3)].head(3)[key3].to_dict('records')}",
                        "one rate per line", "drop duplicates (with a concordance, check sectors map once)")
        merged = keys.merge(table, on=key3, how="left")
        t0 = merged["tariff_before"].fillna(0.0).to_numpy(float)
        t1 = merged["tariff_after"].fillna(0.0).to_numpy(float)
    for name, arr in (("tariff_before", t0), ("tariff_after", t1)):
        finite_ok = np.isfinite(arr) if name == "tariff_before" else ~np.isnan(arr)
        bad = ~finite_ok | (arr < 0)
        if bad.any():
            raise _fail("tariffs", name, f"{arr[bad][:3].tolist()}",
                        "fractions >= 0 (0.05 = 5 %); tariff_after may be inf (prohibitive)",
                        "write tariffs as fractions, not percent")

    factor = np.ones(len(keys))
    if cost_factor is not None and len(cost_factor):
        _require_columns(cost_factor, "cost_factor", ["exporter", "importer", "factor"],
                         "pass Shock.cost_factor or a table exporter, importer, sector|product, factor")
        cost_factor = cost_factor.reset_index(drop=True)
        cf = _to_products(cost_factor, "cost_factor", conc)
        rows = cf.index.to_numpy()
        cf = cf.reset_index(drop=True)
        cf["factor"] = pd.to_numeric(cost_factor["factor"], errors="coerce").to_numpy(float)[rows]
        cf = cf.groupby(["importer", "exporter", "product"], as_index=False)["factor"].prod()
        factor = keys.merge(cf, on=["importer", "exporter", "product"], how="left")["factor"].fillna(1.0).to_numpy()
        bad = ~np.isfinite(factor) | (factor < 0)
        if bad.any():
            raise _fail("cost_factor", "factor", f"{factor[bad][:3].tolist()}",
                        "finite values >= 0 (1 unchanged, 0 a ban)", "correct the factor column")

    if conc is not None:
        keyed = [t for t in ((None if has_own else tariffs), cost_factor) if t is not None and len(t)]
        if not any("product" not in t.columns and "sector" in t.columns for t in keyed):
            raise _fail("concordance", "concordance", "a concordance, but no tariffs/cost_factor table keyed by "
                        "'sector'", "a concordance only with sector-level tariffs, cost factors or a Shock",
                        "drop concordance= (it would have no effect)")
    eps, eps_src = _elasticity(import_demand, "import_demand", keys, DEFAULT_IMPORT_DEMAND)
    sig, sig_src = _elasticity(substitution, "substitution", keys, DEFAULT_SUBSTITUTION)
    eta, eta_src = _elasticity(export_supply, "export_supply", keys, DEFAULT_EXPORT_SUPPLY)
    checks = (
        ("import_demand", eps, ~(eps < 0) | ~np.isfinite(eps), "finite values < 0 (e.g. -1.5)",
         "write import-demand elasticities with a minus sign, as Kee, Nicita & Olarreaga report them"),
        ("substitution", sig, ~((sig >= SIGMA_RANGE[0]) & (sig <= SIGMA_RANGE[1])),
         f"values in [{SIGMA_RANGE[0]:g}, {SIGMA_RANGE[1]:g}] (SMART default 1.5)",
         "use sigma > 1; near or below 1 every source is essential and a ban has no finite price"),
        ("export_supply", eta, ~(eta > 0), "values > 0 or inf (SMART uses 99 for infinite)",
         "pass a positive elasticity, or inf for fixed world prices"),
    )
    for name, arr, bad, allowed, fix in checks:
        if bad.any():
            raise _fail(name, name, f"{arr[bad][:3].tolist()}", allowed, fix)

    group_keys = keys["importer"] + "\x1f" + keys["product"]
    group, uniques = pd.factorize(group_keys, sort=True)
    for name, arr in (("import_demand", eps), ("substitution", sig)):
        hi = np.full(len(uniques), -np.inf)
        lo = np.full(len(uniques), np.inf)
        np.maximum.at(hi, group, arr)
        np.minimum.at(lo, group, arr)
        spread = hi - lo
        if (spread > 0).any():
            raise _fail(name, name, "different values within one importer-product market",
                        "one value per (importer, product)", "give per-product or per-importer-product values")
    parameters = {
        "import_demand_source": eps_src if eps_src != "default"
        else f"fallback {DEFAULT_IMPORT_DEMAND} (Kee-Nicita-Olarreaga 2008 values not supplied)",
        "substitution_source": sig_src if sig_src != "default" else f"SMART default {DEFAULT_SUBSTITUTION}",
        "export_supply_source": eta_src if eta_src != "default" else "infinite (SMART default 99)",
        "domestic": domestic,
    }
    return PELines(
        frame=keys, group=np.asarray(group, dtype=np.intp), n_groups=len(uniques), trade=trade,
        tariff_before=t0, tariff_after=t1, cost_factor=factor, import_demand=eps, substitution=sig,
        export_supply=eta, parameters=parameters,
    )
