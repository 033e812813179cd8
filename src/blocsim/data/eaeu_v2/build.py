"""Recipe of dataset v2: rebuild the Parquet tables from the original public files.

``build_eaeu_v2(source_dir, out_dir)`` runs :mod:`.icio`, :mod:`.carve`, :mod:`.tariffs`,
:mod:`.covariates`, :mod:`.labour` and :mod:`.fiscal` and writes one Parquet file per table plus
``meta.json``. Output is byte-for-byte reproducible: rows in a fixed order, pyarrow writer
settings fixed (:data:`PARQUET_OPTIONS`), no pandas/pyarrow schema metadata, no timestamps.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from blocsim.data.eaeu_v2 import carve as cv
from blocsim.data.eaeu_v2 import tariffs as tariffs_module
from blocsim.data.eaeu_v2.covariates import countries_table, gravity_table
from blocsim.data.eaeu_v2.fiscal import duties_table
from blocsim.data.eaeu_v2.icio import YEARS, icio_cube
from blocsim.data.eaeu_v2.labour import remittance_table
from blocsim.data.eaeu_v2.sectors import sector_table
from blocsim.data.eaeu_v2.services import services_shares
from blocsim.data.eaeu_v2.tariff_check import wits_comparison
from blocsim.data.eaeu_v2.sources import CITATIONS, FILES, read_all
from blocsim.data.eaeu_v2.tariffs import FLAGS, PROXY_FLAGS, SOURCES, tariff_tables
from blocsim.data.progress import ProgressCallback, step_reporter

RECIPE_VERSION = "2.1"
DATASET_NAME = "eaeu-2022v2"
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 9,
    "use_dictionary": True,
    "write_statistics": False,
    "row_group_size": 1 << 22,
    "data_page_version": "1.0",
}
#: Tables written (``<name>.parquet``); the first five are the Dataset contract's.
TABLE_NAMES: tuple[str, ...] = (
    "flows",
    "gravity",
    "tariffs",
    "countries",
    "sectors",
    "tariffs_bilateral",
    "cet",
    "remittances",
    "duties",
    "small_member_totals",
    "national_totals",
    "customs_gap",
    "tariff_check",
)


BUILD_STEPS: tuple[str, ...] = (
    "read the source files",
    "ICIO cube",
    "carve out the small economies",
    "tariff tables",
    "flows, gravity and the other tables",
    "checks against customs data and WITS",
    "write the Parquet files",
)
"""The steps :func:`build_eaeu_v2` reports to its ``progress`` callback (``total = len(BUILD_STEPS)``)."""


def _flows_table(regions, sectors, flows: np.ndarray, flags: np.ndarray) -> pd.DataFrame:
    n_y, n_r, _, n_k = flows.shape
    yy, ee, ii, kk = np.meshgrid(np.arange(n_y), np.arange(n_r), np.arange(n_r), np.arange(n_k), indexing="ij")
    regions_arr = np.array(regions, dtype=object)
    table = pd.DataFrame(
        {
            "exporter": regions_arr[ee.ravel()],
            "importer": regions_arr[ii.ravel()],
            "sector": np.array(sectors, dtype=object)[kk.ravel()],
            "year": np.array(YEARS, dtype=np.int64)[yy.ravel()],
            "trade": flows.ravel(),
            "imputed": flags.ravel().astype(str),
        }
    )
    return table.sort_values(["exporter", "importer", "sector", "year"], kind="stable", ignore_index=True)


def compute(
    source_dir: Path, step: Callable[[int], None] | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Run the recipe; return the tables (name -> DataFrame) and ``meta``.

    ``step(k)`` (if given) is called as the first six of :data:`BUILD_STEPS` finish (k = 1..6).
    """
    step = step or (lambda done: None)
    src = read_all(Path(source_dir))
    step(1)
    sectors = sector_table(src.icio_sectors, src.elasticities)
    goods = sectors["goods"].to_numpy(dtype=bool)
    cube = icio_cube(src.icio, src.icio_countries, tuple(sectors["sector"]))
    step(2)
    reference = cv.national_totals()
    icio_codes = [e for e in cube.economies if e != "ROW"]
    shares = services_shares(src.services, icio_codes, cv.SMALL)
    carved = cv.carve(cube, src.comtrade, src.hs4, src.gdp_ppp, set(src.geo["iso3"]), goods, reference, shares)
    step(3)
    bilateral, external, cet = tariff_tables(carved.regions, cube.economies, cube.sectors, goods, YEARS, cube.tariffs)
    step(4)
    names = dict(zip(src.icio_countries["iso3"], src.icio_countries["name"], strict=True))
    tables = {
        "flows": _flows_table(carved.regions, cube.sectors, carved.flows, carved.flags),
        "gravity": gravity_table(carved.regions, YEARS, src.dist, src.gdp_ppp),
        "tariffs": external,
        "countries": countries_table(carved.regions, src.geo, names),
        "sectors": sectors,
        "tariffs_bilateral": bilateral,
        "cet": cet,
        "remittances": remittance_table(src.remittances, src.migrants, carved.regions),
        "small_member_totals": carved.totals,
        "national_totals": reference,
    }
    step(5)
    tables["duties"] = duties_table(tables["flows"], bilateral)
    goods_codes = list(sectors.loc[sectors["goods"], "sector"])
    tables["customs_gap"] = customs_gap(tables["flows"], src.comtrade, goods_codes)
    tables["tariff_check"] = wits_comparison(bilateral, src.wits)
    meta = _meta(carved, tables, goods)
    step(6)
    return tables, meta


def customs_gap(flows: pd.DataFrame, comtrade: pd.DataFrame, goods: list[str]) -> pd.DataFrame:
    """Each EAEU member's goods trade in the dataset vs customs data (Comtrade), 2012 and 2016.

    Returns
    -------
    DataFrame
        ``member, year, flow, dataset, customs, gap_pct`` (USD millions): ``customs`` is the
        member's own reported exports, or the partners' reported exports to it (imports);
        ``gap_pct = (dataset - customs) / customs * 100``.
    """
    trade = comtrade.replace({"exp": cv.COMTRADE_CODES, "imp": cv.COMTRADE_CODES})
    trade = trade[trade["exp"] != trade["imp"]]
    international = flows[(flows["exporter"] != flows["importer"]) & flows["sector"].isin(goods)]
    rows = []
    for member in ("ARM", "BLR", "KAZ", "KGZ", "RUS"):
        for year in cv.COMTRADE_YEARS:
            sel = international[international["year"] == year]
            in_year = trade[trade["time"] == year]
            for flow, mine, theirs in (("exports", "exporter", "exp"), ("imports", "importer", "imp")):
                dataset = float(sel.loc[sel[mine] == member, "trade"].sum())
                customs = float(in_year.loc[in_year[theirs] == member, "export"].sum()) / 1e6
                gap = (dataset - customs) / customs * 100 if customs > 0 else float("nan")
                rows.append((member, year, flow, round(dataset, 3), round(customs, 3), round(gap, 3)))
    return pd.DataFrame(rows, columns=["member", "year", "flow", "dataset", "customs", "gap_pct"])


def _meta(carved: cv.Carved, tables: dict[str, pd.DataFrame], goods: np.ndarray) -> dict[str, Any]:
    flows = tables["flows"]
    flag_share = (flows.groupby("imputed")["trade"].sum() / flows["trade"].sum()).round(6)
    tariff_share = tables["tariffs_bilateral"]["flag"].value_counts(normalize=True).round(6)
    return {
        "name": DATASET_NAME,
        "title": "EAEU v2: OECD ICIO 2023 (2011-2022, 28 sectors) with ARM, KGZ, TJK, UZB carved out of ROW",
        "recipe_version": RECIPE_VERSION,
        "recipe": "blocsim data build-eaeu --from DIR (blocsim.data.eaeu_v2.build.build_eaeu_v2)",
        "years": list(YEARS),
        "regions": list(carved.regions),
        "members": ["ARM", "BLR", "KAZ", "KGZ", "RUS"],
        "sectors": list(tables["sectors"]["sector"]),
        "goods_sectors": [s for s, g in zip(tables["sectors"]["sector"], goods, strict=True) if g],
        "units": {"trade": "USD millions, current prices, ICIO basic prices", "rate": "ad valorem fraction", "dist": "km"},
        "sources": [
            {"role": role, "file": path, "citation": CITATIONS[role]} for role, (path, _) in FILES.items()
        ],
        "methods": {
            "carve_out": " ".join((cv.__doc__ or "").split()),
            "tariffs": " ".join((tariffs_module.__doc__ or "").split()),
        },
        "flags": cv.FLAG_LEGEND,
        "trade_share_by_flag": {str(k): float(v) for k, v in flag_share.items()},
        "tariff_rows_share_by_flag": {str(k): float(tariff_share.get(k, 0.0)) for k in FLAGS},
        "tariff_sources": SOURCES,
        "tariff_proxy_flags": list(PROXY_FLAGS),
        "tariff_check_rus_mean_by_year": {
            str(year): {"dataset": round(float(g["dataset"].mean()), 6), "wits": round(float(g["wits"].mean()), 6)}
            for year, g in tables["tariff_check"][tables["tariff_check"]["importer"] == "RUS"].groupby("year")
        },
        "valuation_factors": {str(c): round(f, 9) for c, f in carved.valuation.items()},
    }


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    pq.write_table(table, path, **PARQUET_OPTIONS)


def build_eaeu_v2(source_dir: Path, out_dir: Path, *, progress: ProgressCallback | None = None) -> list[Path]:
    """Rebuild the v2 tables into ``out_dir`` (created if missing; files swapped in only when all succeeded).

    ``progress(done, total)`` (:mod:`blocsim.data.progress`), if given, counts the
    :data:`BUILD_STEPS` (``total`` = 7): 0 first, then as each step finishes.

    Returns
    -------
    list of Path
        The files written (``<table>.parquet`` for :data:`TABLE_NAMES`, then ``meta.json``).

    Raises
    ------
    DataValidationError
        A source file is missing or malformed (the message names the file and column).
    """
    step = step_reporter(progress, len(BUILD_STEPS))
    tables, meta = compute(source_dir, step)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [f"{t}.parquet" for t in TABLE_NAMES] + ["meta.json"]
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
        staging = Path(tmp)
        for table in TABLE_NAMES:
            _write_parquet(tables[table], staging / f"{table}.parquet")
        text = json.dumps(meta, indent=1, ensure_ascii=False, allow_nan=False, sort_keys=False) + "\n"
        (staging / "meta.json").write_text(text, encoding="utf-8")
        for name in names:
            os.replace(staging / name, out_dir / name)
    step(len(BUILD_STEPS))
    return [out_dir / name for name in names]
