"""Carve ARM, KGZ, TJK and UZB out of ICIO's rest of the world (ROW) so ICIO's totals still hold.

Every new cell is a part of an ICIO ``ROW`` cell of the same year and sector and ``ROW`` keeps
the remainder, so each ICIO economy's exports and imports and the world total per year and
sector are unchanged. Steps (goods; flags in brackets):

1. **Customs levels** (USD millions, customs valuation) from Comtrade (penppml file, 2012 and
   2016; year ``y`` uses 2012 when ``y <= 2014``, else 2016). Only exporters' reports are in the
   recipe's sources, so every level is the exporter's report (``exporter_reported``): ``X -> S`` is
   X's reported export to S; ``S -> p`` is S's own report (ARM, KGZ). TJK and UZB report no
   exports: their exports to p are S's share of the non-ICIO reporters' world exports in
   ``hs4_exports_2017`` times what the non-ICIO exporters report to p (``hs4_share``). No pair is
   filled from the reverse flow (no symmetry filling). Levels move from the Comtrade year to
   year y with ICIO's matching ROW cell (goods total of X->ROW, ROW->X or ROW->ROW).
2. **National statistics**: where :func:`national_totals` has a published total for S and year
   y, S's exports / imports are scaled to it (``+natstat``); a turnover figure scales both; in
   other years the ratio of the member's nearest published year is used (``+natstat_nearest``).
   These calibrated customs-valued totals are what DATA.md compares with national statistics.
3. **Valuation**: customs values are converted to ICIO's basic prices with one factor per
   Comtrade year, ``f_c`` = ICIO goods trade among ICIO economies / their Comtrade exports.
4. **Sectors**: ``X -> S`` follows the sector mix of ICIO's X->ROW cell; S's exports follow S's
   2017 HS4 export mix (:data:`~blocsim.data.eaeu_v2.sectors.HS_CHAPTER_SECTOR`); ROW -> S follows
   ROW->ROW. Services: where X reports services trade with S to the OECD (``oecd_services_trade``),
   ICIO's X->ROW (ROW->X) services cell times S's share in X's services trade with non-ICIO
   economies (``+oecd_services``, see :mod:`blocsim.data.eaeu_v2.services`); otherwise the pair's
   share of the goods of its ROW cell times the services of that cell (``+services_goods_share``). Domestic S -> S = ROW->ROW cell x S's share of the
   PPP GDP of non-ICIO countries (WDI; 2022 uses 2021; ``ppp_share``).
5. **Cap**: the four economies together take at most :data:`CAP` of any ROW cell; larger sums
   are scaled down (``+capped``); ``ROW`` keeps the rest (``remainder``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from blocsim.data.eaeu_v2.icio import YEARS, IcioCube
from blocsim.data.eaeu_v2.sectors import hs4_sector
from blocsim.errors import DataValidationError

SMALL: tuple[str, ...] = ("ARM", "KGZ", "TJK", "UZB")
COMTRADE_YEARS: tuple[int, ...] = (2012, 2016)
#: Largest part of a ROW cell the four small economies may take together.
CAP = 0.95
REMAINDER = "remainder"
#: Comtrade codes of the penppml file -> ISO3 (BLX, Belgium-Luxembourg, is counted for BEL).
COMTRADE_CODES: dict[str, str] = {"BLX": "BEL", "ZAR": "COD", "ROM": "ROU"}
#: Meaning of the parts of a flow's ``imputed`` flag (joined with ``+``).
FLAG_LEGEND: dict[str, str] = {
    "": "ICIO cell copied unchanged",
    "exporter_reported": "level from the exporter's Comtrade report (converted to ICIO valuation)",
    "hs4_share": "TJK/UZB exports: share of non-ICIO reporters' world exports in hs4_exports_2017",
    "natstat": "scaled to the member's published national total of that year",
    "natstat_nearest": "scaled with the factor of the member's nearest year with a published total",
    "services_goods_share": "services = the pair's share of its ROW cell's goods x the cell's services",
    "oecd_services": "services = ICIO ROW services cell x the pair's share in the reporter's OECD services trade",
    "oecd_services_nearest": "as oecd_services, with the share of the reporter's nearest covered year",
    "ppp_share": "domestic flow = ROW->ROW x the economy's share of non-ICIO PPP GDP",
    "capped": "scaled down so the four economies take at most CAP of the ROW cell",
    "remainder": "ROW after the carve-out (ICIO ROW cell minus the carved parts)",
}
#: Reference table of published national totals (sources in the file).
NATIONAL_TOTALS_FILE: Path = Path(__file__).resolve().parent / "national_trade_totals.csv"


def comtrade_year(year: int) -> int:
    """Comtrade year whose levels carve year ``year`` (2012 up to 2014, 2016 after)."""
    return 2012 if year <= 2014 else 2016


def national_totals(path: Path = NATIONAL_TOTALS_FILE) -> pd.DataFrame:
    """The reference table of national goods trade totals (rows with ``use`` true and a value).

    Returns
    -------
    DataFrame
        ``member, year, flow, value_usd_m, basis, source, url, note``; ``flow`` in
        {exports, imports, turnover}; USD millions.
    """
    table = pd.read_csv(path, dtype={"member": str, "flow": str}, keep_default_na=False, na_values={"value_usd_m": [""], "year": [""]})
    used = table[(table["use"].astype(str).str.lower() == "true") & table["value_usd_m"].notna()].copy()
    bad = used[~used["flow"].isin(["exports", "imports", "turnover"]) | ~used["member"].isin(SMALL)]
    if len(bad):
        raise DataValidationError(
            f"{path.name}: row {bad.index[0] + 2} has member {bad['member'].iloc[0]!r}, flow {bad['flow'].iloc[0]!r}; "
            f"allowed: members {list(SMALL)}, flows exports, imports, turnover"
        )
    used["year"] = used["year"].astype("int64")
    return used.drop(columns="use").reset_index(drop=True)


@dataclass(frozen=True)
class Carved:
    """Flows on the v2 region grid.

    Attributes
    ----------
    regions : tuple of str
        ICIO economies and the four small ones in alphabetical order, ``ROW`` last.
    flows : ndarray, shape (Y, R, R, K)
        USD millions, ICIO valuation (basic prices).
    flags : ndarray of str, same shape
        ``""`` for ICIO cells copied unchanged, else the method flag.
    totals : DataFrame
        ``member, year, flow, customs_raw, customs_calibrated, valuation_factor, dataset``: goods
        exports/imports of the small economies in USD millions before calibration, after it
        (customs valuation) and in the dataset (ICIO valuation, after capping).
    valuation : dict
        ``{comtrade_year: f_c}``.
    """

    regions: tuple[str, ...]
    flows: np.ndarray
    flags: np.ndarray
    totals: pd.DataFrame
    valuation: dict[int, float] = field(default_factory=dict)


def _comtrade_matrix(comtrade: pd.DataFrame, year: int, codes: list[str]) -> pd.DataFrame:
    """Exporter-reported exports of ``year`` (rows exporters, USD millions) on ``codes`` x ``codes``."""
    rows = comtrade[comtrade["time"] == year].replace({"exp": COMTRADE_CODES, "imp": COMTRADE_CODES})
    rows = rows[rows["exp"] != rows["imp"]]
    table = rows.pivot_table(index="exp", columns="imp", values="export", aggfunc="sum", fill_value=0.0)
    return table.reindex(index=codes, columns=codes, fill_value=0.0) / 1e6


def _hs4_composition(hs4: pd.DataFrame, sectors: tuple[str, ...]) -> tuple[pd.DataFrame, pd.Series]:
    """Goods export composition (rows reporters, columns sectors, rows sum to 1) and totals (USD m)."""
    mapped = hs4.assign(sector=hs4["hs4"].map(hs4_sector)).dropna(subset=["sector"])
    table = mapped.pivot_table(
        index="reporter_iso3", columns="sector", values="export_value_usd", aggfunc="sum", fill_value=0.0
    ).reindex(columns=list(sectors), fill_value=0.0)
    totals = table.sum(axis=1) / 1e6
    return table.div(table.sum(axis=1), axis=0), totals


def _ppp_shares(gdp_ppp: pd.DataFrame, countries: set[str], icio: set[str]) -> pd.DataFrame:
    """Each small economy's share of the PPP GDP of non-ICIO countries, by year (2022 = 2021)."""
    rows = gdp_ppp[gdp_ppp["iso3"].isin(countries - icio)].dropna(subset=["gdp_ppp_current_intl_dollar"])
    table = rows.pivot_table(index="year", columns="iso3", values="gdp_ppp_current_intl_dollar", aggfunc="sum")
    shares = table.div(table.sum(axis=1), axis=0)
    years = [min(y, int(shares.index.max())) for y in YEARS]
    out = shares.reindex(index=years, columns=list(SMALL))
    if out.isna().any().any():
        raise DataValidationError("build-eaeu: wdi_gdp_ppp/gdp_ppp_long.csv lacks a small economy's PPP GDP in 2011-2021")
    return out.set_axis(list(YEARS), axis=0)


def _calibration(
    reference: pd.DataFrame, raw: dict[tuple[str, int], tuple[float, float]], own_exports: set[tuple[str, int]]
) -> dict[tuple[str, int], tuple[float, float, str, str]]:
    """Scale factors ``{(member, year): (export_factor, import_factor, export_flag, import_flag)}``.

    A published exports or imports figure sets its flow. A turnover figure sets imports to turnover
    minus exports (the published exports, else the member's own reported exports) when the member
    reports its exports, else scales both flows by turnover / (exports + imports). Years without a
    figure for a flow use the factor of the nearest year with one (ties: the earlier year).
    """
    exact: dict[tuple[str, int, str], float] = {}
    for (member, year), group in reference.groupby(["member", "year"]):
        year = int(year)
        if (member, year) not in raw:
            continue
        exports, imports = raw[(member, year)]
        values = dict(zip(group["flow"], group["value_usd_m"], strict=True))
        if "turnover" in values and "imports" not in values:
            if "exports" in values or (member, year) in own_exports:
                values["imports"] = values["turnover"] - values.get("exports", exports)
            elif "exports" not in values:
                factor = values["turnover"] / (exports + imports)
                values["exports"], values["imports"] = exports * factor, imports * factor
        for flow, base in (("exports", exports), ("imports", imports)):
            if flow in values and base > 0:
                exact[(member, year, flow)] = values[flow] / base
    out: dict[tuple[str, int], tuple[float, float, str, str]] = {}
    for member in SMALL:
        for year in YEARS:
            parts = []
            for flow in ("exports", "imports"):
                known = sorted(y for m, y, f in exact if m == member and f == flow)
                if (member, year, flow) in exact:
                    parts.append((exact[(member, year, flow)], "+natstat"))
                elif known:
                    nearest = min(known, key=lambda k: (abs(k - year), k))
                    parts.append((exact[(member, nearest, flow)], "+natstat_nearest"))
                else:
                    parts.append((1.0, ""))
            out[(member, year)] = (parts[0][0], parts[1][0], parts[0][1], parts[1][1])
    return out


def carve(
    cube: IcioCube,
    comtrade: pd.DataFrame,
    hs4: pd.DataFrame,
    gdp_ppp: pd.DataFrame,
    countries: set[str],
    goods: np.ndarray,
    reference: pd.DataFrame,
    service_shares: pd.DataFrame,
) -> Carved:
    """Carve the four small economies out of ICIO's ROW (rules in the module docstring).

    Parameters
    ----------
    cube
        ICIO flows (:func:`blocsim.data.eaeu_v2.icio.icio_cube`).
    comtrade, hs4, gdp_ppp
        Source tables (penppml trade, hs4_exports_2017, WDI PPP GDP).
    countries
        ISO3 codes of real countries (CEPII GeoDist), to tell countries from WDI aggregates.
    goods : ndarray of bool, shape (K,)
        Which sectors are goods.
    reference
        Published national totals (:func:`national_totals`).
    service_shares
        Reported services shares (:func:`blocsim.data.eaeu_v2.services.services_shares`).
    """
    icio_codes = [e for e in cube.economies if e != "ROW"]
    regions = tuple(sorted(icio_codes + list(SMALL))) + ("ROW",)
    pos = {r: k for k, r in enumerate(regions)}
    src = [pos[e] for e in cube.economies]
    n_y, _, _, n_k = cube.flows.shape
    flows = np.zeros((n_y, len(regions), len(regions), n_k))
    flows[np.ix_(range(n_y), src, src, range(n_k))] = cube.flows
    flags = np.full(flows.shape, "", dtype=object)
    old_row = cube.economies.index("ROW")
    old_icio = [k for k, e in enumerate(cube.economies) if e != "ROW"]
    icio_idx = [pos[e] for e in icio_codes]
    renamed = set(comtrade["exp"].replace(COMTRADE_CODES)) | set(comtrade["imp"].replace(COMTRADE_CODES))
    codes = sorted(renamed | set(icio_codes))
    non_icio = [c for c in codes if c not in set(icio_codes)]
    others = [c for c in non_icio if c not in SMALL]
    composition, hs_totals = _hs4_composition(hs4, cube.sectors)
    hs_share = {s: hs_totals[s] / hs_totals[hs_totals.index.isin(non_icio)].sum() for s in SMALL}
    ppp = _ppp_shares(gdp_ppp, countries, set(icio_codes))
    goods_cells = cube.flows[..., goods].sum(axis=3)  # (Y, N, N) ICIO goods by pair
    block = list(SMALL) + ["ROW"]
    # customs-valued goods levels per year: exports[y][s] = {partner: level}, imports[y][s] = {partner: level}
    levels: dict[tuple[int, str, str], tuple[float, str]] = {}
    valuation: dict[int, float] = {}
    mats = {c: _comtrade_matrix(comtrade, c, codes) for c in COMTRADE_YEARS}
    for c, mat in mats.items():
        icio_pairs = mat.loc[icio_codes, icio_codes].to_numpy().sum()
        icio_goods = goods_cells[YEARS.index(c)][np.ix_(old_icio, old_icio)]
        valuation[c] = float((icio_goods.sum() - np.trace(icio_goods)) / icio_pairs)
    for y, year in enumerate(YEARS):
        c = comtrade_year(year)
        mat, cy = mats[c], YEARS.index(c)
        reports = mat.sum(axis=1) > 0

        def grow(a: int, b: int) -> float:
            return float(goods_cells[y, a, b] / goods_cells[cy, a, b]) if goods_cells[cy, a, b] > 0 else 0.0

        row_growth = grow(old_row, old_row)
        for s in SMALL:
            for x_old, x in zip(old_icio, icio_codes, strict=True):
                levels[(y, x, s)] = (mat.loc[x, s] * grow(x_old, old_row), "exporter_reported")
                if reports[s]:
                    levels[(y, s, x)] = (mat.loc[s, x] * grow(old_row, x_old), "exporter_reported")
                else:
                    levels[(y, s, x)] = (hs_share[s] * mat.loc[non_icio, x].sum() * grow(old_row, x_old), "hs4_share")
            for t in block:
                if t == s:
                    continue
                targets = [t] if t != "ROW" else others
                if reports[s]:
                    levels[(y, s, t)] = (mat.loc[s, targets].sum() * row_growth, "exporter_reported")
                else:
                    levels[(y, s, t)] = (hs_share[s] * mat.loc[non_icio, targets].to_numpy().sum() * row_growth, "hs4_share")
            levels[(y, "ROW", s)] = (mat.loc[others, s].sum() * row_growth, "exporter_reported")
    raw = {
        (s, year): (
            sum(v for (yy, a, b), (v, _) in levels.items() if yy == y and a == s),
            sum(v for (yy, a, b), (v, _) in levels.items() if yy == y and b == s),
        )
        for y, year in enumerate(YEARS)
        for s in SMALL
    }
    own_exports = {(s, year) for year in YEARS for s in SMALL if mats[comtrade_year(year)].loc[s].sum() > 0}
    calib = _calibration(reference, raw, own_exports)
    rows = []
    for (y, a, b), (value, method) in levels.items():
        year = YEARS[y]
        if a in SMALL:
            fx, _, flag, _ = calib[(a, year)]
            value, method = value * fx, method + flag
        else:
            _, fm, _, flag = calib[(b, year)]
            value, method = value * fm, method + flag
        converted = value * valuation[comtrade_year(year)]
        _place(flows, flags, cube, pos, y, a, b, converted, method, goods, composition, old_row)
        rows.append((a, b, year, value))
    for y, year in enumerate(YEARS):
        for s in SMALL:
            k = pos[s]
            flows[y, k, k, :] = cube.flows[y, old_row, old_row, :] * ppp.loc[year, s]
            flags[y, k, k, :] = "ppp_share"
    _services(flows, flags, cube, goods, pos, icio_idx, old_icio, old_row, service_shares)
    _cap_and_remainder(flows, flags, cube, pos, icio_idx, old_icio, old_row)
    totals = _totals(rows, raw, flows, goods, regions, valuation)
    return Carved(regions, flows, flags, totals, valuation)


def _place(flows, flags, cube, pos, y, a, b, value, method, goods, composition, old_row) -> None:
    """Write one pair's goods value (ICIO valuation) split over goods sectors."""
    if a in SMALL:
        mix = composition.loc[a].to_numpy()
    elif a == "ROW":
        cell = np.where(goods, cube.flows[y, old_row, old_row, :], 0.0)
        mix = cell / cell.sum()
    else:
        cell = np.where(goods, cube.flows[y, cube.economies.index(a), old_row, :], 0.0)
        mix = cell / cell.sum() if cell.sum() > 0 else np.where(goods, 1.0 / goods.sum(), 0.0)
    flows[y, pos[a], pos[b], :] = np.where(goods, value * mix, 0.0)
    flags[y, pos[a], pos[b], :] = method


def _services(flows, flags, cube, goods, pos, icio_idx, old_icio, old_row, reported: pd.DataFrame) -> None:
    """Services of every carved pair: the OECD share where reported, else the pair's goods share.

    ``reported`` is :func:`blocsim.data.eaeu_v2.services.services_shares` (``exporter, importer,
    year, share, flag``); its share multiplies the ICIO X->ROW (ROW->X) services cell.
    """
    services = ~goods
    row = pos["ROW"]
    by_pair = {key: group.set_index("year") for key, group in reported.groupby(["exporter", "importer"])}
    regions = {k: r for r, k in pos.items()}
    for s in SMALL:
        k = pos[s]
        pairs = [(i, k, old, old_row) for i, old in zip(icio_idx, old_icio, strict=True)]
        pairs += [(k, i, old_row, old) for i, old in zip(icio_idx, old_icio, strict=True)]
        pairs += [(k, pos[t], old_row, old_row) for t in (*SMALL, "ROW") if t != s]
        pairs += [(row, k, old_row, old_row)]
        for a, b, a_old, b_old in pairs:
            cell = cube.flows[:, a_old, b_old, :]
            known = by_pair.get((regions[a], regions[b]))
            if known is not None:
                share = known.loc[list(YEARS), "share"].to_numpy()
                suffix = ("+" + known.loc[list(YEARS), "flag"]).to_numpy(dtype=str)
            else:
                cell_goods = cell[:, goods].sum(axis=1)
                carved = flows[:, a, b, :][:, goods].sum(axis=1)
                share = np.divide(carved, cell_goods, out=np.zeros(len(cell)), where=cell_goods > 0)
                suffix = np.full(len(cell), "+services_goods_share")
            flows[:, a, b, services] = cell[:, services] * share[:, None]
            flags[:, a, b, services] = np.char.add(flags[:, a, b, services].astype(str), suffix[:, None])


def _scale_parts(flows, flags, parts, original) -> np.ndarray:
    """Scale the carved cells ``parts`` (list of index tuples) to at most CAP x original; return their sum."""
    total = sum(flows[p] for p in parts)
    scale = np.where(total > CAP * original, CAP * original / np.where(total > 0, total, 1.0), 1.0)
    for p in parts:
        flows[p] = flows[p] * scale
        flags[p] = np.where(scale < 1.0, np.char.add(flags[p].astype(str), "+capped"), flags[p])
    return total * scale


def _cap_and_remainder(flows, flags, cube, pos, icio_idx, old_icio, old_row) -> None:
    """Scale carved parts down to :data:`CAP` of their ROW cell where needed; ROW keeps the rest."""
    row = pos["ROW"]
    small = [pos[s] for s in SMALL]
    all_y = slice(None)
    for i, old in zip(icio_idx, old_icio, strict=True):
        original = cube.flows[:, old, old_row, :]
        carved = _scale_parts(flows, flags, [(all_y, i, s) for s in small], original)
        flows[:, i, row, :] = original - carved
        flags[:, i, row, :] = REMAINDER
        original = cube.flows[:, old_row, old, :]
        carved = _scale_parts(flows, flags, [(all_y, s, i) for s in small], original)
        flows[:, row, i, :] = original - carved
        flags[:, row, i, :] = REMAINDER
    block = [*small, row]
    parts = [(all_y, a, b) for a in block for b in block if (a, b) != (row, row)]
    original = cube.flows[:, old_row, old_row, :]
    carved = _scale_parts(flows, flags, parts, original)
    flows[:, row, row, :] = original - carved
    flags[:, row, row, :] = REMAINDER


def _totals(rows, raw, flows, goods, regions, valuation) -> pd.DataFrame:
    """Goods exports/imports of the small economies: raw customs, calibrated customs, dataset."""
    levels = pd.DataFrame(rows, columns=["exporter", "importer", "year", "value"])
    out = []
    for s in SMALL:
        k = regions.index(s)
        for y, year in enumerate(YEARS):
            block = flows[y][:, :, goods]
            dataset = {
                "exports": float(block[k].sum() - block[k, k].sum()),
                "imports": float(block[:, k].sum() - block[k, k].sum()),
            }
            calibrated = {
                "exports": float(levels.loc[(levels["exporter"] == s) & (levels["year"] == year), "value"].sum()),
                "imports": float(levels.loc[(levels["importer"] == s) & (levels["year"] == year), "value"].sum()),
            }
            for n, flow in enumerate(("exports", "imports")):
                out.append(
                    (s, year, flow, round(raw[(s, year)][n], 6), round(calibrated[flow], 6),
                     round(valuation[comtrade_year(year)], 9), round(dataset[flow], 6))
                )
    return pd.DataFrame(
        out, columns=["member", "year", "flow", "customs_raw", "customs_calibrated", "valuation_factor", "dataset"]
    )
