"""Recipe: rebuild the bundled EAEU tables from the original public files.

``build_eaeu(source_dir, out_dir)`` reads the files listed in
:data:`blocsim.data.eaeu.sources.FILES` (paths relative to ``source_dir``) and writes
``flows.csv``, ``gravity.csv``, ``tariffs.csv``, ``countries.csv``, ``sectors.csv`` and
``meta.json`` into ``out_dir``. The output is deterministic: the same inputs give the same
bytes (numbers are written with 12 significant digits, no timestamps, relative paths only),
which the test suite checks against the tables shipped in the package.

Command line: ``blocsim data build-eaeu --from DIR [--out DIR]``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from blocsim.data.countries import country_name, eu_members
from blocsim.data.eaeu import flows as fl
from blocsim.data.eaeu import sectoral as sec
from blocsim.data.eaeu.covariates import eaeu_join_dates, gravity_table
from blocsim.data.eaeu.regions import (
    CIS_PROXY,
    CU_LABELS,
    MEMBERS,
    NON_MRIO,
    PARTNERS,
    REGIONS,
    SECTOR_CODES,
    SECTORS,
    YEARS,
)
from blocsim.data.eaeu.sources import FILES, Sources, read_sources
from blocsim.data.eaeu.tariffs import tariff_table, union_members_by_year
from blocsim.data.progress import ProgressCallback, step_reporter

#: Bumped whenever the recipe's output changes on purpose.
RECIPE_VERSION = "1.0"
#: Significant digits written for floats (relative rounding error <= 5e-13).
FLOAT_FORMAT = "%.12g"
TABLES: tuple[str, ...] = (
    "flows.csv",
    "gravity.csv",
    "tariffs.csv",
    "countries.csv",
    "sectors.csv",
    "meta.json",
)

_LICENSES: dict[str, str] = {
    "trade": (
        "penppml R package data (MIT per its DESCRIPTION); underlying UN Comtrade via World Bank 'Total "
        "trade, every 4 years'; DTA labels from Mattoo, Rocha and Ruta (2020), World Bank"
    ),
    "gdp": "World Bank WDI, CC BY 4.0 (World Bank terms); file from emlaet/wwmetrics (GPL-3)",
    "mrio": (
        "ADB MRIO (normally CC BY 3.0 IGO; not checked for this file); summary by ksreyes/mrio-processing "
        "(MIT)"
    ),
    "dist": "CEPII GeoDist, Etalab Open Licence 2.0 (per CEPII); cite Mayer and Zignago (2011)",
    "geo": "CEPII GeoDist, Etalab Open Licence 2.0 (per CEPII); cite Mayer and Zignago (2011)",
    "eia": (
        "NSF-Kellogg EIA database (Baier and Bergstrand); no license stated; file from emlaet/wwmetrics "
        "(GPL-3)"
    ),
    "policy": (
        "hand-compiled published figures; no license applies to the compilation, facts belong to the cited "
        "sources"
    ),
    "timeline": "hand-compiled published dates; no license applies to the compilation",
    "food": "hand-compiled press figures (secondary sources); no license applies to the compilation",
    "mfn2006": (
        "Yotov et al. (2016) WTO/UNCTAD guide data via pachadotdev/tradepolicy (CC BY 4.0 per package)"
    ),
}


#: The publication behind each input (author, title, date, URL), written to meta.json.
_CITATIONS: dict[str, str] = {
    "trade": (
        "World Bank, 'Total trade, every 4 years' (UN Comtrade), as distributed with the R package penppml "
        "(https://github.com/tomzylkin/penppml); DTA labels: Mattoo, A., Rocha, N. and Ruta, M. (eds., 2020), "
        "'Handbook of Deep Trade Agreements', World Bank, https://datatopics.worldbank.org/dta/"
    ),
    "gdp": (
        "World Bank, World Development Indicators, NY.GDP.MKTP.CD, https://data.worldbank.org/indicator/NY.GDP.MKTP.CD"
    ),
    "mrio": "Asian Development Bank, Multiregional Input-Output Tables (62 economies), https://kidb.adb.org/mrio",
    "dist": (
        "Mayer, T. and Zignago, S. (2011), 'Notes on CEPII's distances measures: the GeoDist Database', "
        "CEPII Working Paper 2011-25, http://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=6"
    ),
    "geo": (
        "Mayer, T. and Zignago, S. (2011), 'Notes on CEPII's distances measures: the GeoDist Database', "
        "CEPII Working Paper 2011-25, http://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=6"
    ),
    "eia": (
        "Baier, S. and Bergstrand, J., NSF-Kellogg Institute Data Base on Economic Integration Agreements, "
        "https://sites.nd.edu/jeffrey-bergstrand/database-on-economic-integration-agreements/"
    ),
    "policy": (
        "published figures, each cited with its URL where used (tariffs.source, scenario and policy sources): "
        "World Bank, 'Kazakhstan in the Customs Union: Losses or Gains?', 18 Apr 2012, "
        "https://www.worldbank.org/en/news/feature/2012/04/18/kazakhstan-in-the-customs-union-losses-or-gains; "
        "COMCEC, 'Preferential Trade Agreements and Trade Liberalization Efforts in the OIC Member States', p.143"
    ),
    "timeline": (
        "published dates: ADB Asia Regional Integration Center, 'Has regional integration in Central Asia been "
        "trade liberalizing?', 8 Oct 2012, https://aric.adb.org/blog.php?page=17&subsection=aien; ITAR-TASS, 2 Jan "
        "2015; 'Eurasian Economic Union', Wikipedia, https://en.wikipedia.org/wiki/Eurasian_Economic_Union"
    ),
    "food": "press figures, each cited with its URL in food_calibration (Reuters, 7 Aug 2014; Pravda.ru, 8 Aug 2014)",
    "mfn2006": (
        "Yotov, Y.V., Piermartini, R., Monteiro, J.-A. and Larch, M. (2016), 'An Advanced Guide to Trade Policy "
        "Analysis: The Structural Gravity Model', WTO and UNCTAD, https://vi.unctad.org/tpa/web/vol2/vol2home.html"
    ),
}


def _compute(src: Sources) -> dict[str, Any]:
    """Run every step of the recipe and return the tables (DataFrames) and meta (dict)."""
    gdp = fl.region_gdp(src.gdp)
    totals, world = fl.source_totals(src.trade)
    filled, gap_method = fl.fill_gaps(totals, world, gdp)
    _, mrio_dom, mrio_exp = fl.mrio_aggregates(src.mrio)
    export_share, domestic_share = fl.sector_shares(mrio_dom, mrio_exp)
    food = sec.published_food_imports(src.food)
    values, flags = sec.split_international(filled, gap_method, export_share, food)
    exports = filled.sum(axis=2)  # diagonal of ``filled`` is zero
    dom_values, dom_flags = sec.domestic_flows(gdp, exports, domestic_share)
    diag = np.arange(len(REGIONS))
    values[:, diag, diag, :] = dom_values
    flags[:, diag, diag, :] = dom_flags
    flows = sec.long_table(values, flags)

    joined = eaeu_join_dates(src.timeline)
    gravity = gravity_table(src.dist, src.gdp, src.trade, src.eia, src.timeline)
    tariffs = tariff_table(src.policy, src.mfn2006, union_members_by_year(joined))
    countries = _countries(src)
    sectors = pd.DataFrame(
        [(code, name, text) for code, (name, text) in SECTORS.items()],
        columns=["sector", "name", "description"],
    )
    meta = _meta(gdp, gap_method, export_share, domestic_share, food, joined, dom_flags)
    return {
        "flows": flows,
        "gravity": gravity,
        "tariffs": tariffs,
        "countries": countries,
        "sectors": sectors,
        "meta": meta,
    }


def _countries(src: Sources) -> pd.DataFrame:
    geo = src.geo.drop_duplicates("iso3").set_index("iso3")
    rows = []
    for region in REGIONS:
        group = "member" if region in MEMBERS else ("partner" if region in PARTNERS else "rest")
        if region == "EUN":
            codes = sorted(eu_members(YEARS[-1]) & set(geo.index))
            weights = (
                src.gdp[src.gdp["iso3"].isin(codes)].groupby("iso3")["gdp"].mean().reindex(codes).fillna(0.0)
            )
            lat = float(np.average(geo.loc[codes, "lat"], weights=weights))
            lon = float(np.average(geo.loc[codes, "lon"], weights=weights))
            name = "European Union (EU-27 in 2008 and 2012, EU-28 in 2016)"
        elif region == "ROW":
            lat = lon = float("nan")
            name = "Rest of the world"
        else:
            lat, lon = float(geo.loc[region, "lat"]), float(geo.loc[region, "lon"])
            name = country_name(region)
        rows.append((region, name, group, lat, lon))
    return pd.DataFrame(rows, columns=["iso3", "name", "group", "lat", "lon"])


def _doc_part(doc: str | None, start: str, stop: str | None = None) -> str:
    """The text of ``doc`` between ``start`` and ``stop`` on one line (method notes for meta)."""
    text = (doc or "").split(start, 1)[1]
    if stop is not None:
        text = text.split(stop, 1)[0]
    return " ".join(text.split())


def _nested(array: np.ndarray) -> dict[str, dict[str, dict[str, float]]]:
    return {
        str(year): {
            r: {s: round(float(array[y, k, j]), 6) for j, s in enumerate(SECTOR_CODES)}
            for k, r in enumerate(REGIONS)
        }
        for y, year in enumerate(YEARS)
    }


def _meta(
    gdp: np.ndarray,
    gap_method: np.ndarray,
    export_share: np.ndarray,
    domestic_share: np.ndarray,
    food: dict[str, tuple[float, str]],
    joined: dict[str, str],
    dom_flags: np.ndarray,
) -> dict[str, Any]:
    gaps = [
        {"exporter": REGIONS[e], "importer": REGIONS[i], "year": YEARS[y], "method": str(gap_method[y, e, i])}
        for y, e, i in zip(*np.nonzero(gap_method != ""), strict=True)
    ]
    return {
        "name": "eaeu",
        "title": (
            "Eurasian Economic Union and main partners: merchandise trade with domestic flows, 4 broad "
            "sectors, 2008/2012/2016"
        ),
        "recipe_version": RECIPE_VERSION,
        "recipe": "blocsim data build-eaeu --from DIR (blocsim.data.eaeu.build.build_eaeu)",
        "years": list(YEARS),
        "regions": list(REGIONS),
        "members": list(MEMBERS),
        "partners": list(PARTNERS),
        "sectors": list(SECTOR_CODES),
        "units": {
            "trade": (
                "USD millions, current prices, exporter-reported f.o.b. (international); see methods for "
                "domestic"
            ),
            "rate": "ad valorem fraction",
            "dist": "km",
        },
        "eu_members": {str(y): sorted(eu_members(y)) for y in YEARS},
        "union_members": {str(y): sorted(c for c, d in joined.items() if int(d[:4]) <= y) for y in YEARS},
        "union_join_dates": dict(sorted(joined.items())),
        "sources": [
            {
                "role": role,
                "file": path,
                "license": _LICENSES[role],
                "citation": _CITATIONS[role],
            }
            for role, path in FILES.items()
        ],
        "methods": {
            "regions": (
                "countries mapped to 16 single-country regions, EUN (EU members of that year: EU-27 in "
                "2008/2012, EU-28 with HRV in 2016; BLX = Belgium-Luxembourg) and ROW (every other code, "
                "incl. non-geographic partner codes UNS, BUN, FRE, SPE)"
            ),
            "totals": _doc_part(fl.__doc__, "* **Totals.**", "* **Gap"),
            "gap_filling": _doc_part(fl.__doc__, "* **Gap filling**,"),
            "sectors": _doc_part(sec.__doc__, "* **Split.**", "* **Food"),
            "food_calibration": _doc_part(sec.__doc__, "* **Food calibration (2012 only).**", "* **Domestic"),
            "domestic": _doc_part(sec.__doc__, "* **Domestic flows.**"),
            "gdp": (
                "WDI NY.GDP.MKTP.CD (current USD); EUN = sum of members, ROW = sum of all other countries "
                "with a value; values >= 1e11 are rounded to 3 significant digits in the source file"
            ),
            "sector_proxy": (
                f"exporters without ADB MRIO data ({', '.join(NON_MRIO)}) use the simple average of the "
                f"shares of {', '.join(CIS_PROXY)}"
            ),
            "covariates": (
                "see blocsim.data.eaeu.covariates: GDP-pair-weighted CEPII distw, contig, comlang_off, "
                "colony; agreement flags from DTA labels, NSF-Kellogg EIA and EAEU dates"
            ),
            "cu_labels": sorted(CU_LABELS),
            "tariffs": (
                "see blocsim.data.eaeu.tariffs; rows whose source starts with 'assumption: ' are not "
                "published figures for that cell"
            ),
        },
        "domestic_floor": sec.DOMESTIC_FLOOR,
        "domestic_floor_binding": int(
            (dom_flags[..., 0] == sec.DOMESTIC_FLOOR_FLAG + "+" + sec.DSHARE_MRIO).sum()
            + (dom_flags[..., 0] == sec.DOMESTIC_FLOOR_FLAG + "+" + sec.DSHARE_PROXY).sum()
        ),
        "gdp_usd_millions": {
            str(year): {r: round(float(gdp[y, k]), 3) for k, r in enumerate(REGIONS)}
            for y, year in enumerate(YEARS)
        },
        "gap_filled_pairs": gaps,
        "food_2013_usd_millions": {
            origin: {"value": value, "source": citation} for origin, (value, citation) in sorted(food.items())
        },
        "export_shares": _nested(export_share),
        "domestic_shares": _nested(domestic_share),
        "flags": sec.FLAG_LEGEND,
    }


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


BUILD_STEPS: tuple[str, ...] = ("read the source files", "compute the tables", "write the CSV files")
"""The steps :func:`build_eaeu` reports to its ``progress`` callback (``total = len(BUILD_STEPS)``)."""


def build_eaeu(source_dir: Path, out_dir: Path, *, progress: ProgressCallback | None = None) -> None:
    """Rebuild the bundled EAEU tables from the original public files.

    Parameters
    ----------
    source_dir
        Folder with one sub-folder per source (see :data:`blocsim.data.eaeu.sources.FILES`).
    out_dir
        Folder to write ``flows.csv``, ``gravity.csv``, ``tariffs.csv``, ``countries.csv``,
        ``sectors.csv`` and ``meta.json`` into (created if missing). The files are written to a
        temporary folder first and moved into place only when all of them succeeded.
    progress
        ``progress(done, total)`` (:mod:`blocsim.data.progress`) over the :data:`BUILD_STEPS`
        (``total`` = 3): 0 first, then as each step finishes.

    Raises
    ------
    DataValidationError
        A source file is missing or malformed (the message names the file and column).
    """
    step = step_reporter(progress, len(BUILD_STEPS))
    src = read_sources(Path(source_dir), YEARS)
    step(1)
    result = _compute(src)
    step(2)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
        staging = Path(tmp)
        for name in ("flows", "gravity", "tariffs", "countries", "sectors"):
            _write_csv(result[name], staging / f"{name}.csv")
        text = json.dumps(result["meta"], indent=1, ensure_ascii=False, allow_nan=False) + "\n"
        (staging / "meta.json").write_text(text, encoding="utf-8")
        for name in TABLES:
            os.replace(staging / name, out_dir / name)
    step(len(BUILD_STEPS))
