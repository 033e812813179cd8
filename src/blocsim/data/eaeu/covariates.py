"""Gravity covariates of the EAEU dataset: distances, contiguity, language, colony, agreements.

Country-level CEPII GeoDist variables are aggregated to region pairs as GDP-weighted means
over all country pairs (i in region r, j in region s), weights ``GDP_i * GDP_j`` with GDP the
mean of the WDI current-USD values of 2008, 2012 and 2016 (Head-Mayer style, with GDP in place
of population). Membership of EUN follows the year, so EUN-* values can change in 2016 (HRV).
Agreement flags are aggregated the same way (so they are 0/1 for single-country pairs and
shares for EUN/ROW pairs).

Agreement flags per country pair and year:
``eaeu``  both in the customs union (CET from 2010-01-01; ARM 2015-01-02; KGZ 2015-08-06;
          dates from ``eaeu_timeline.csv``);
``cu``    ``eaeu``, or a customs-union label of the World Bank DTA in the trade file
          (e.g. ``EU - Turkey``; list in :data:`CU_LABELS`);
``fta``   any other agreement label in the trade file, or NSF-Kellogg EIA level >= 3
          (years <= 2012), and not ``cu``;
``rta``   ``cu`` or ``fta``.
The DTA label of the trade file covers all three years but misses some CIS FTAs (e.g. RUS-KAZ
2008), which EIA supplies; EIA two-way PTAs (level 2, e.g. EU-RUS) are not counted. Belgium-Luxembourg
(``BLX`` in the trade file) labels apply to BEL and LUX. Region diagonals (domestic flows,
incl. trade inside EUN and ROW) get 0 for contig, colony and all agreement flags and
``comlang = 1``; their ``dist`` is the weighted internal distance.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from blocsim.data.eaeu.regions import (
    CU_LABELS,
    EIA_FTA_LEVEL,
    MEMBERS,
    REGIONS,
    YEARS,
    region_of,
)
from blocsim.errors import DataValidationError

_TIMELINE_EVENTS: dict[str, str] = {
    "CET of the Customs Union introduced": "members",
    "Armenia's accession in force": "ARM",
    "Kyrgyzstan's accession treaty in force": "KGZ",
}


def eaeu_join_dates(timeline: pd.DataFrame) -> dict[str, str]:
    """Date (ISO string) each EAEU member entered the customs union, from the timeline file.

    Raises
    ------
    DataValidationError
        An expected event is missing from ``eaeu_timeline.csv``.
    """
    joined: dict[str, str] = {}
    for prefix, who in _TIMELINE_EVENTS.items():
        rows = timeline[timeline["event"].str.startswith(prefix)]
        if len(rows) != 1 or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", rows["date"].iloc[0]):
            raise DataValidationError(
                f"eaeu_timeline.csv: column 'event': expected one dated row starting with {prefix!r}; "
                "fix: restore the row with a YYYY-MM-DD date"
            )
        countries = rows["countries"].iloc[0].split(";") if who == "members" else [who]
        joined.update(dict.fromkeys(countries, rows["date"].iloc[0]))
    if set(joined) != set(MEMBERS):
        raise DataValidationError(f"eaeu_timeline.csv: members {sorted(joined)} != {sorted(MEMBERS)}")
    return joined


def _country_pairs(dist: pd.DataFrame, gdp: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    weight = gdp.groupby("iso3")["gdp"].mean()
    pairs = dist[dist["iso_o"].isin(weight.index) & dist["iso_d"].isin(weight.index)].copy()
    pairs = pairs.drop_duplicates(["iso_o", "iso_d"])
    pairs["distw"] = pairs["distw"].fillna(pairs["dist"])
    pairs["w"] = pairs["iso_o"].map(weight).to_numpy() * pairs["iso_d"].map(weight).to_numpy()
    return pairs, weight


def _expand_blx(labels: pd.DataFrame) -> pd.DataFrame:
    """Copy the trade file's Belgium-Luxembourg (BLX) rows to BEL and LUX (CEPII codes)."""
    parts = [labels]
    for column in ("iso_o", "iso_d"):
        blx = labels[labels[column] == "BLX"]
        parts += [blx.assign(**{column: code}) for code in ("BEL", "LUX")]
    out = pd.concat(parts, ignore_index=True)
    blx2 = out[(out["iso_o"] == "BLX") | (out["iso_d"] == "BLX")]
    return out.drop(blx2.index)


def _agreements(
    pairs: pd.DataFrame, trade: pd.DataFrame, eia: pd.DataFrame, joined: dict[str, str], year: int
) -> pd.DataFrame:
    keys = ["iso_o", "iso_d"]
    labels = trade.loc[trade["year"] == year, ["exporter", "importer", "agreement"]]
    labels = labels.rename(columns={"exporter": "iso_o", "importer": "iso_d"})
    labels = _expand_blx(labels)
    # a pair's label holds in both directions; a row in either direction counts
    both = pd.concat([labels, labels.rename(columns={"iso_o": "iso_d", "iso_d": "iso_o"})], ignore_index=True)
    both = both.sort_values("agreement", ascending=False, kind="stable").drop_duplicates(keys)
    out = pairs[keys].merge(both, on=keys, how="left")
    label = out["agreement"].fillna("")
    cu = label.isin(CU_LABELS).to_numpy().copy()
    fta = ((label != "") & ~label.isin(CU_LABELS)).to_numpy().copy()
    level = eia.loc[eia["year"] == year, ["origin", "destination", "eia_level"]]
    if len(level):
        # EIA (ends 2012) adds FTAs the DTA labels miss (level >= 3 counts as an agreement; its
        # CUs and common markets, e.g. EU-NOR EEA = 5, count as fta unless a DTA CU label or the
        # EAEU dates say cu). Two-way PTAs (2) have no DTA counterpart in 2016 and are ignored.
        level = level.rename(columns={"origin": "iso_o", "destination": "iso_d"})
        sym = pd.concat([level, level.rename(columns={"iso_o": "iso_d", "iso_d": "iso_o"})])
        lv = pairs[keys].merge(sym.groupby(keys, as_index=False)["eia_level"].max(), on=keys, how="left")
        lv = lv["eia_level"].fillna(0).to_numpy()
        fta |= lv >= EIA_FTA_LEVEL
    members = {c for c, date in joined.items() if int(date[:4]) <= year}
    eaeu = (
        out["iso_o"].isin(members) & out["iso_d"].isin(members) & (out["iso_o"] != out["iso_d"])
    ).to_numpy()
    cu |= eaeu
    fta &= ~cu
    flags = pd.DataFrame({"cu": cu, "fta": fta, "eaeu": eaeu}).astype(float)
    flags["rta"] = np.maximum(flags["cu"], flags["fta"])
    return flags


def gravity_table(
    dist: pd.DataFrame, gdp: pd.DataFrame, trade: pd.DataFrame, eia: pd.DataFrame, timeline: pd.DataFrame
) -> pd.DataFrame:
    """Region-pair covariates for every (exporter, importer, year), incl. the diagonal.

    Returns
    -------
    DataFrame
        ``exporter, importer, year, dist`` (km, GDP-weighted CEPII ``distw``; ``dist`` where
        ``distw`` is missing), ``contig, comlang, colony`` (weighted shares),
        ``cu, fta, eaeu, rta`` (weighted shares, 0/1 for single countries),
        ``international`` (0 on the diagonal).
    """
    pairs, _ = _country_pairs(dist, gdp)
    joined = eaeu_join_dates(timeline)
    values = ["distw", "contig", "comlang_off", "colony", "cu", "fta", "eaeu", "rta"]
    frames = []
    for year in YEARS:
        flags = _agreements(pairs, trade, eia, joined, year)
        frame = pd.concat(
            [
                pairs[["iso_o", "iso_d", "distw", "contig", "comlang_off", "colony", "w"]].reset_index(
                    drop=True
                ),
                flags,
            ],
            axis=1,
        )
        years = pd.Series(year, index=frame.index)
        frame["exporter"] = region_of(frame["iso_o"], years)
        frame["importer"] = region_of(frame["iso_d"], years)
        weighted = (
            frame[values]
            .mul(frame["w"], axis=0)
            .assign(exporter=frame["exporter"], importer=frame["importer"], w=frame["w"])
        )
        sums = weighted.groupby(["exporter", "importer"]).sum()
        agg = sums[values].div(sums["w"], axis=0).reset_index()
        agg["year"] = year
        frames.append(agg)
    table = pd.concat(frames, ignore_index=True).rename(columns={"distw": "dist", "comlang_off": "comlang"})
    grid = pd.MultiIndex.from_product(
        [YEARS, REGIONS, REGIONS], names=["year", "exporter", "importer"]
    ).to_frame(index=False)
    table = grid.merge(table, on=["year", "exporter", "importer"], how="left")
    if table[["dist", "contig", "comlang", "colony"]].isna().any().any():
        bad = table[table["dist"].isna()].iloc[0]
        raise DataValidationError(
            f"CEPII GeoDist: no country pair with GDP for {bad['exporter']}->{bad['importer']}; fix: "
            f"check codes"
        )
    table["international"] = (table["exporter"] != table["importer"]).astype(int)
    diagonal = table["international"] == 0
    table.loc[diagonal, ["contig", "colony", "cu", "fta", "eaeu", "rta"]] = 0.0
    table.loc[diagonal, "comlang"] = 1.0
    columns = [
        "exporter",
        "importer",
        "year",
        "dist",
        "contig",
        "comlang",
        "colony",
        "cu",
        "fta",
        "eaeu",
        "rta",
        "international",
    ]
    return table.loc[:, columns]
