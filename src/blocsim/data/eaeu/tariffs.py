"""Applied tariffs of the EAEU dataset by (importer, sector, year, regime), each row with a source.

Regimes: ``mfn`` (the importer's own most-favoured-nation schedule, outside a customs union),
``cet`` (the customs union's common external tariff, for members in that year) and
``applied`` (what the importer applies to non-preferential partners: the model default).
Rates are ad valorem fractions. Rows whose figure is not a published number for that
importer, sector and year have a ``source`` starting with ``"assumption: "`` that says what was
assumed and which published figure it rests on.

Published figures come from ``eaeu_policy_reference/published_tariff_and_policy_figures.csv``
(Russia: WTO 2011 applied and final bound rates by product group, Shepotylo and Tarr 2012;
Kazakhstan: COMCEC/World Bank MFN averages, export.gov). Non-CIS partners use the 2006 MFN
manufacturing tariff in the Yotov et al. (2016) data (the rate faced by non-preferential
exporters), held constant: an assumption. ``other`` (services) is never tariffed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from blocsim.data.countries import eu_members
from blocsim.data.eaeu.regions import GOODS_SECTORS, REGIONS, SECTOR_CODES, SINGLE_COUNTRIES, YEARS
from blocsim.errors import DataValidationError

_RUS_AGRI_2011 = ("RUS", "applied tariff, agricultural products", "2011")
_RUS_MANUF_2011 = ("RUS", "applied tariff, manufactured goods", "2011")
_RUS_AGRI_FINAL = ("RUS", "final bound tariff, agricultural products", "final")
_RUS_MANUF_FINAL = ("RUS", "final bound tariff, manufactured goods", "final")
_KAZ_MFN_2008 = ("KAZ", "simple average MFN applied tariff", "2008")
_KAZ_MFN_2012 = ("KAZ", "simple average MFN applied tariff", "2012")
_KAZ_2016 = ("KAZ", "average import tariff after EAEU ('almost doubled')", "c. 2015-2018")
_YOTOV = (
    "Yotov, Piermartini, Monteiro and Larch (2016), An Advanced Guide to Trade Policy Analysis, data file "
    "Chapter1Exercise2 (MFN_TARIFF, 2006)"
)
_SERVICES = "assumption: no import tariffs on utilities, construction and services (not goods)"
#: CIS economies with no published tariff figure before joining the union use KAZ's 2008 MFN.
_CIS_PROXY_USERS = ("ARM", "KGZ", "UKR", "UZB", "TJK")


class _Figures:
    """Lookup of published percentages in the policy file (value as a fraction, citation)."""

    def __init__(self, policy: pd.DataFrame) -> None:
        self._table = policy.set_index(["country", "indicator", "period"])

    def __call__(self, key: tuple[str, str, str]) -> tuple[float, str]:
        if key not in self._table.index:
            raise DataValidationError(
                f"published_tariff_and_policy_figures.csv: no row with country={key[0]!r}, "
                f"indicator={key[1]!r}, period={key[2]!r}; the EAEU recipe needs it; fix: restore the row"
            )
        row = self._table.loc[key]
        if isinstance(row, pd.DataFrame):
            row = row.iloc[0]
        if row["unit"] != "percent":
            raise DataValidationError(
                f"published_tariff_and_policy_figures.csv: {key}: unit {row['unit']!r}, expected 'percent'"
            )
        return float(row["value"]) / 100.0, f"{row['source_citation']} <{row['source_url']}>"


def _mfn_2006(mfn: pd.DataFrame) -> pd.Series:
    """Non-preferential MFN rate per importer in 2006 (max over exporters, 4 decimals)."""
    foreign = mfn[mfn["exporter"] != mfn["importer"]]
    return foreign.groupby("importer")["MFN_TARIFF"].max().round(4)


def _rows(importer: str, year: int, regime: str, rates: dict[str, tuple[float, str]]) -> list[dict]:
    out = [
        {
            "importer": importer,
            "sector": s,
            "year": year,
            "regime": regime,
            "rate": rates[s][0],
            "source": rates[s][1],
        }
        for s in GOODS_SECTORS
    ]
    out.append(
        {
            "importer": importer,
            "sector": "other",
            "year": year,
            "regime": regime,
            "rate": 0.0,
            "source": _SERVICES,
        }
    )
    return out


def _uniform(rate: float, source: str) -> dict[str, tuple[float, str]]:
    return dict.fromkeys(GOODS_SECTORS, (rate, source))


def cet_rates(fig: _Figures, year: int) -> dict[str, tuple[float, str]]:
    """CET by goods sector in ``year`` (for 2008: Russia's own tariff, on which the 2010 CET was built).

    Returns
    -------
    dict
        Goods sector -> (rate as a fraction, source text).
    """
    agri, agri_src = fig(_RUS_AGRI_2011)
    manuf, manuf_src = fig(_RUS_MANUF_2011)
    mining = (
        f"assumption: no separate figure for mining and energy; the manufactured-goods (non-agricultural) "
        f"rate is used; {manuf_src}"
    )
    if year == 2012:
        when = " (2011 applied rate, before the WTO cuts of Aug 2012)"
        return {
            "agri_food": (agri, agri_src + when),
            "manufacturing": (manuf, manuf_src + when),
            "mining_energy": (manuf, mining),
        }
    if year < 2012:
        early = f"assumption: 2011 figure used for {year}; "
        return {
            "agri_food": (agri, early + agri_src),
            "manufacturing": (manuf, early + manuf_src),
            "mining_energy": (manuf, early + mining.removeprefix("assumption: ")),
        }
    agri_f, agri_f_src = fig(_RUS_AGRI_FINAL)
    manuf_f, manuf_f_src = fig(_RUS_MANUF_FINAL)
    weight = (year - 2012) / (2020 - 2012)
    agri_y = round(agri + weight * (agri_f - agri), 6)
    manuf_y = round(manuf + weight * (manuf_f - manuf), 6)
    path = (
        f"assumption: linear path from the 2011 applied rate (2012) to the final bound rate (2020), value "
        f"for {year}"
    )
    return {
        "agri_food": (agri_y, f"{path}; {agri_src}; {agri_f_src}"),
        "manufacturing": (manuf_y, f"{path}; {manuf_src}; {manuf_f_src}"),
        "mining_energy": (
            manuf_y,
            f"{path}, manufactured-goods rate (no separate mining figure); {manuf_src}",
        ),
    }


def tariff_table(
    policy: pd.DataFrame, mfn2006: pd.DataFrame, union_members: dict[int, set[str]]
) -> pd.DataFrame:
    """Build the ``tariffs`` table.

    Parameters
    ----------
    policy
        ``published_tariff_and_policy_figures.csv`` (all columns as str).
    mfn2006
        Yotov et al. (2016) ``exporter, importer, year, MFN_TARIFF`` rows of 2006.
    union_members
        Year -> members of the customs union in that year.

    Returns
    -------
    DataFrame
        ``importer, sector, year, regime, rate, source``; one ``applied`` row per
        (importer, sector, year), plus ``cet`` rows for union members and ``mfn`` rows for the
        others.
    """
    fig = _Figures(policy)
    mfn = _mfn_2006(mfn2006)
    kaz08, kaz08_src = fig(_KAZ_MFN_2008)
    rows: list[dict] = []
    for year in YEARS:
        cet = cet_rates(fig, year)
        members = union_members[year]
        for region in REGIONS:
            if region in members:
                rows += _rows(region, year, "cet", cet)
                if region == "KAZ":
                    key = {2012: _KAZ_MFN_2012, 2016: _KAZ_2016}[year]
                    rate, src = fig(key)
                    applied = _uniform(
                        rate, f"assumption: all-products average used for every goods sector; {src}"
                    )
                elif region == "RUS":
                    applied = cet
                else:
                    applied = {
                        s: (
                            r,
                            (
                                f"assumption: CET applied without national exemptions; CET figure: "
                                f"{src.removeprefix('assumption: ')}"
                            ),
                        )
                        for s, (r, src) in cet.items()
                    }
                rows += _rows(region, year, "applied", applied)
                continue
            own = _own_mfn(region, mfn, cet, kaz08, kaz08_src)
            rows += _rows(region, year, "mfn", own)
            rows += _rows(region, year, "applied", own)
    table = pd.DataFrame(rows, columns=["importer", "sector", "year", "regime", "rate", "source"])
    if not np.all((table["rate"] >= 0) & (table["rate"] < 1)) or (table["source"] == "").any():
        raise DataValidationError("EAEU recipe: tariff rates must lie in [0, 1) and cite a source")
    order = {"mfn": 0, "cet": 1, "applied": 2}
    table["_r"] = table["regime"].map(order)
    table["_i"] = table["importer"].map(REGIONS.index)
    table["_s"] = table["sector"].map(SECTOR_CODES.index)
    return (
        table.sort_values(["year", "_i", "_s", "_r"]).drop(columns=["_r", "_i", "_s"]).reset_index(drop=True)
    )


def _own_mfn(
    region: str,
    mfn: pd.Series,
    cet: dict[str, tuple[float, str]],
    kaz08: float,
    kaz08_src: str,
) -> dict[str, tuple[float, str]]:
    if region == "KAZ":
        return _uniform(kaz08, f"assumption: all-products average used for every goods sector; {kaz08_src}")
    if region in ("RUS", "BLR"):
        who = "Russia's own tariff" if region == "RUS" else "Russia's rate (no published figure for Belarus)"
        return {
            s: (r, f"assumption: {who} before the 2010 CET; {src.removeprefix('assumption: ')}")
            for s, (r, src) in cet.items()
        }
    if region in _CIS_PROXY_USERS:
        return _uniform(
            kaz08,
            f"assumption: no published figure for {region}; Kazakhstan's 2008 simple-average MFN tariff "
            f"used as a CIS proxy for every goods sector; {kaz08_src}",
        )
    if region == "EUN":
        codes = sorted(set(mfn.index) & eu_members(2006))
        values = mfn[codes].unique()
        if len(values) != 1:
            raise DataValidationError(f"{_YOTOV}: EU members have different MFN rates {values}")
        rate, what = float(values[0]), "the EU common external tariff (same for all EU members in the file)"
    elif region == "ROW":
        others = [
            c for c in mfn.index if c not in SINGLE_COUNTRIES and c not in eu_members(2016) and c != "ROU"
        ]
        rate = float(round(mfn[others].median(), 4))
        what = f"median over the {len(others)} non-EAEU-region importers of the file"
    else:
        if region not in mfn.index:
            raise DataValidationError(f"{_YOTOV}: importer {region} missing; fix: add an assumption for it")
        rate, what = float(mfn[region]), f"{region}'s rate"
    return _uniform(
        rate,
        f"assumption: 2006 MFN manufacturing tariff ({what}) held constant and used for every goods "
        f"sector; {_YOTOV}",
    )


def union_members_by_year(joined: dict[str, str]) -> dict[int, set[str]]:
    """Year -> customs-union members (joined on or before that year; from the timeline dates)."""
    return {year: {c for c, date in joined.items() if int(date[:4]) <= year} for year in YEARS}
