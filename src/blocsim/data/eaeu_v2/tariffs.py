"""Bilateral tariffs per importer, exporter, goods sector and year under the union's rules.

Starts from Teti's Global Tariff Database as carried by the ICIO file (``tariff`` column) and
applies, in this order (the first rule that holds sets the row; flag in brackets):

1. importer and exporter both in the union that year: 0 (``union_internal``). A member counts
   from the first year it is a member on 1 July: RUS, KAZ, BLR 2010, ARM 2015, KGZ 2016.
2. importer and exporter both parties to the CIS free trade area that year: 0 (``cis_fta``);
   parties RUS KAZ BLR ARM KGZ TJK UZB and UKR until 2015 (Russia suspended the FTA for
   Ukraine from 1 Jan 2016; blocsim's policy library applies that to all members' pairs).
3. importer a member, exporter outside: the common external tariff ``CET[k, y]`` (``cet``), one
   number per sector and year for every member, = median over RUS, BLR and KAZ of their
   non-preferential Teti rate (the median over ICIO exporters outside the CIS of the Teti
   rate; this drops outliers such as RUS<-CHN ~1 %). Exemptions: KAZ from 2016 applies its own
   non-preferential Teti rate where it is below the CET (``kaz_wto_exemption``, its WTO
   commitments); ARM's and KGZ's transition lists are not quantified in the recipe's sources, so
   they get the CET (flag ``cet_transition_list_not_quantified``); the EAEU FTAs with Vietnam
   (in force 5 Oct 2016, so from 2017), Iran (interim, 27 Oct 2019, so from 2020) and Serbia
   (2021; not a region here) reduce rates line by line on schedules that are not in the recipe's
   data: those rows keep the CET with flag ``fta_preference_not_quantified``.
   Source breaks: a rise of a sector's CET by more than :data:`CET_BREAK` (5 pp, an assumption of
   the recipe) from one year to the next is read as a break in the source, not a union decision:
   from that year on, the sector's CET and the founders' own rates hold their values of the year
   before (flag ``cet_source_break_held`` on the rows that would be ``cet``; ARM's and KGZ's rows
   keep their transition-list flag, itself a proxy). In the shipped data this is food products
   (C10T12) from 2019: Teti's CET median rises from 13.1 % (2018) to 28.1 % and stays there,
   while WITS's import-weighted Russian rate for food is 7.6 % (2018) and 6.4 % (2022).
4. importer an ICIO economy outside the union: its Teti rate (``teti``); exporters ARM, KGZ,
   TJK, UZB (in ICIO's ROW, which Teti gives 0) get that importer's non-preferential rate
   (``mfn_median``).
5. importer ARM (before 2015), KGZ (before 2016), TJK, UZB: their national MFN schedules are
   not in the recipe's sources; the rate is the median over ICIO importers of the non-preferential
   rate for the sector and year (``assumption_median_mfn``).
6. importer ROW: 0 as in Teti (``teti_row_zero``; the tariffs of the rest of the world are unknown).

The per-importer table (the Dataset contract's ``tariffs``, read by the policy layer) holds,
for every importer, sector (services included) and year, an ``mfn`` row: the importer's own
non-preferential rate (for a member: what it would charge outside the union; RUS, KAZ, BLR:
their own Teti rate, flag ``member_own_rate``, which under the union is close to the CET, since
no pre-2010 national schedule is in the recipe's sources; ARM, KGZ: the assumption of rule 5); members
also have a ``cet`` row, and Kazakhstan an ``applied`` row (what it charges outsiders: the CET,
from 2016 its lower WTO rate where below). Services (``D35T98``) carry no import tariff (0,
flag ``services_no_tariff``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from blocsim.data.eaeu_v2.carve import SMALL

FOUNDERS: tuple[str, ...] = ("BLR", "KAZ", "RUS")
#: First year (membership on 1 July) of each member.
MEMBER_FROM: dict[str, int] = {"RUS": 2010, "KAZ": 2010, "BLR": 2010, "ARM": 2015, "KGZ": 2016}
CIS_FTA: dict[str, tuple[int, int]] = {
    **{c: (1994, 9999) for c in ("RUS", "KAZ", "BLR", "ARM", "KGZ", "TJK", "UZB")},
    "UKR": (1994, 2015),
}
#: EAEU FTAs in force: partner -> first full year.
EAEU_FTAS: dict[str, int] = {"VNM": 2017, "IRN": 2020, "SRB": 2022}
KAZ_WTO_FROM = 2016
#: A one-year rise of a sector's CET above this (fraction) is read as a break in the source (rule 3; an assumption).
CET_BREAK = 0.05

SOURCES: dict[str, str] = {
    "union_internal": "Treaty on the Eurasian Economic Union (29 May 2014) and 2010 Customs Union agreements: no duties between members",
    "cis_fta": "Treaty on a Free Trade Area of the CIS (18 Oct 2011) and the 1994 agreement: duty-free trade between parties",
    "cet": "Teti (2024) Global Tariff Database via OECD ICIO tariffwar file: median over RUS, BLR, KAZ of the non-preferential rate",
    "kaz_wto_exemption": "Teti (2024) Global Tariff Database: Kazakhstan's own non-preferential rate (WTO commitments, below CET)",
    "cet_source_break_held": "Teti (2024) via OECD ICIO tariffwar file, held at its value of the year before a break in "
    "the source: the CET median rises by more than 5 pp in one year with no union decision behind it (table cet: "
    "cet_teti, source_break_held; DATA.md compares it with WITS applied rates)",
    "cet_transition_list_not_quantified": "CET as above; the member's transition/exemption list is not in the recipe's sources",
    "fta_preference_not_quantified": "CET as above; the EAEU FTA schedule for this partner is not in the recipe's sources",
    "teti": "Teti (2024) Global Tariff Database via OECD ICIO tariffwar file",
    "mfn_median": "Teti (2024) Global Tariff Database: the importer's non-preferential rate (median over exporters outside the CIS)",
    "assumption_median_mfn": "assumption: median over ICIO importers of the non-preferential rate; national MFN schedule not in the recipe's sources",
    "teti_row_zero": "Teti (2024) via ICIO: 0 for the rest of the world as importer (unknown)",
}
FLAGS: tuple[str, ...] = tuple(SOURCES)
#: Flags of rows whose rate stands in for a schedule the sources lack (proxy tariffs): an assumed
#: national MFN schedule, the CET in place of a transition list or an FTA schedule, ROW's unknown 0.
PROXY_FLAGS: tuple[str, ...] = ("cet_transition_list_not_quantified", "fta_preference_not_quantified",
                                "assumption_median_mfn", "teti_row_zero", "cet_source_break_held")
#: Sources of rows that exist only in the per-importer table (``tariffs``), by flag.
EXTERNAL_SOURCES: dict[str, str] = {
    "member_own_rate": "Teti (2024) Global Tariff Database: the member's own non-preferential rate (median over exporters "
    "outside the CIS); no pre-union national schedule in the recipe's sources",
    "member_own_rate_break_held": "Teti (2024) Global Tariff Database: the member's own non-preferential rate, held at "
    "its value of the year before a break in the source of the CET (see cet_source_break_held)",
    "services_no_tariff": "assumption: no import tariffs on services (ICIO D35T98)",
}


def _member(country: str, year: int) -> bool:
    return country in MEMBER_FROM and year >= MEMBER_FROM[country]


def _cis(country: str, year: int) -> bool:
    first, last = CIS_FTA.get(country, (0, -1))
    return first <= year <= last


def tariff_tables(
    regions: tuple[str, ...],
    economies: tuple[str, ...],
    sectors: tuple[str, ...],
    goods: np.ndarray,
    years: tuple[int, ...],
    teti: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Bilateral tariffs, the per-importer external tariff and the CET.

    Parameters
    ----------
    regions
        v2 regions (85, ROW last).
    economies
        ICIO economies in the order of ``teti``'s axes 1 and 2.
    sectors, goods
        Sector codes (K) and the goods mask (K,).
    years
        Years of axis 0.
    teti : ndarray, shape (Y, N, N, K)
        Teti rates [year, exporter, importer, sector] (fractions).

    Returns
    -------
    bilateral : DataFrame
        ``importer, exporter, sector, year, tariff, source, flag`` (goods sectors, exporter !=
        importer), sorted by importer, exporter, sector, year.
    external : DataFrame
        ``importer, sector, year, regime, rate, source`` (the Dataset contract's ``tariffs``):
        the rate on non-preferential partners; regime ``cet`` for members, ``applied`` for
        KAZ's exemption rows, ``mfn`` otherwise.
    cet : DataFrame
        ``sector, year, cet``, ``cet_teti`` (the median before a source break is held),
        ``source_break_held`` (bool) and the founders' rates the CET is the median of.
    """
    goods_idx = np.flatnonzero(goods)
    k_codes = [sectors[k] for k in goods_idx]
    icio_pos = {e: k for k, e in enumerate(economies)}
    non_pref = [icio_pos[e] for e in economies if e != "ROW" and e not in CIS_FTA]
    # non-preferential rate of each ICIO importer: median over exporters outside the CIS
    rates = teti[:, :, :, goods_idx]  # (Y, exporter, importer, K)
    mfn = np.median(rates[:, non_pref, :, :], axis=1)  # (Y, importer, K)
    cet = np.median(mfn[:, [icio_pos[c] for c in FOUNDERS], :], axis=1)  # (Y, K)
    held = source_breaks(cet)
    cet_teti = cet
    cet, mfn = _hold_breaks(cet, mfn, held, [icio_pos[c] for c in FOUNDERS])
    icio_importers = [icio_pos[e] for e in economies if e != "ROW" and e not in MEMBER_FROM]
    median_mfn = np.median(mfn[:, icio_importers, :], axis=1)  # (Y, K)
    n_k = len(goods_idx)
    parts = []
    ext_rows = []
    for m in regions:
        for x in regions:
            if x == m:
                continue
            for y_pos, year in enumerate(years):
                rate, flag = _pair(m, x, year, y_pos, icio_pos, rates, mfn, cet, median_mfn, held)
                parts.append((m, x, year, rate, flag))
        for y_pos, year in enumerate(years):
            ext_rows.extend((m, year, *row) for row in _external(m, year, y_pos, icio_pos, mfn, cet, median_mfn, held))
    n = len(parts)
    bilateral = pd.DataFrame(
        {
            "importer": np.repeat([p[0] for p in parts], n_k),
            "exporter": np.repeat([p[1] for p in parts], n_k),
            "sector": np.tile(k_codes, n),
            "year": np.repeat([p[2] for p in parts], n_k).astype("int64"),
            "tariff": np.round(np.concatenate([p[3] for p in parts]), 6),
            "flag": np.concatenate([p[4] for p in parts]),
        }
    )
    bilateral["source"] = bilateral["flag"].map(SOURCES)
    bilateral = bilateral[["importer", "exporter", "sector", "year", "tariff", "source", "flag"]]
    bilateral = bilateral.sort_values(["importer", "exporter", "sector", "year"], kind="stable", ignore_index=True)
    external = _external_table(ext_rows, k_codes, [c for c, g in zip(sectors, goods) if not g])
    cet_table = pd.DataFrame(
        {
            "sector": np.tile(k_codes, len(years)),
            "year": np.repeat(list(years), n_k).astype("int64"),
            "cet": np.round(cet.ravel(), 6),
            "cet_teti": np.round(cet_teti.ravel(), 6),
            "source_break_held": held.ravel(),
            **{f"mfn_{c}": np.round(mfn[:, icio_pos[c], :].ravel(), 6) for c in FOUNDERS},
        }
    )
    return bilateral, external, cet_table


def source_breaks(cet: np.ndarray) -> np.ndarray:
    """Where the CET is held because of a break in the source (rule 3 of the module notes).

    Parameters
    ----------
    cet : ndarray, shape (Y, K)
        The CET per year (ascending) and goods sector, fractions.

    Returns
    -------
    ndarray of bool, shape (Y, K)
        True from the first year whose CET exceeds the year before's by more than
        :data:`CET_BREAK`, for every later year of that sector.
    """
    jump = np.zeros(cet.shape, dtype=bool)
    jump[1:] = np.diff(cet, axis=0) > CET_BREAK
    return np.logical_or.accumulate(jump, axis=0)


def _hold_breaks(cet: np.ndarray, mfn: np.ndarray, held: np.ndarray, founders: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """``cet`` (Y, K) and ``mfn`` (Y, importer, K) with the held cells at the year before the break (founders' rates only)."""
    cet, mfn = cet.copy(), mfn.copy()
    for k in np.flatnonzero(held.any(axis=0)):
        first = int(np.argmax(held[:, k]))
        cet[first:, k] = cet[first - 1, k]
        for f in founders:
            mfn[first:, f, k] = mfn[first - 1, f, k]
    return cet, mfn


def _mark_held(flag: np.ndarray, held_row: np.ndarray, plain: str, marked: str) -> np.ndarray:
    """``flag`` (K,) with ``plain`` replaced by ``marked`` where the year's rate is held (``held_row``, (K,))."""
    return np.where(held_row & (flag == plain), marked, flag).astype(object)


def _cet_flags(held_row: np.ndarray) -> np.ndarray:
    """Flags (K,) of the CET in one year: ``cet``, or ``cet_source_break_held`` where held (``held_row``, (K,))."""
    return _mark_held(np.full(held_row.shape, "cet", dtype=object), held_row, "cet", "cet_source_break_held")


def _member_external(m, year, y_pos, icio_pos, mfn, cet, held):
    rate = cet[y_pos].copy()
    flag = _cet_flags(held[y_pos])
    if m == "KAZ" and year >= KAZ_WTO_FROM:
        own = mfn[y_pos, icio_pos["KAZ"]]
        lower = own < rate
        rate = np.where(lower, own, rate)
        flag = np.where(lower, "kaz_wto_exemption", flag)
    elif m in ("ARM", "KGZ"):
        flag[:] = "cet_transition_list_not_quantified"
    return rate, flag


def _non_member(m, y_pos, icio_pos, mfn, median_mfn):
    """(rate (K,), flag (K,)) of a country's own MFN schedule (the rate outside any union)."""
    k = mfn.shape[2]
    if m == "ROW":
        return np.zeros(k), np.full(k, "teti_row_zero", dtype=object)
    if m in SMALL:
        return median_mfn[y_pos], np.full(k, "assumption_median_mfn", dtype=object)
    return mfn[y_pos, icio_pos[m]], np.full(k, "mfn_median", dtype=object)


def _external(m, year, y_pos, icio_pos, mfn, cet, median_mfn, held):
    """Rows ``(regime, rate (K,), flag (K,))`` of importer ``m`` on non-preferential partners in one year.

    Every importer has an ``mfn`` row (its own schedule); a member also a ``cet`` row and,
    where it deviates from the CET (Kazakhstan), an ``applied`` row with what it charges.
    """
    if not _member(m, year):
        return [("mfn", *_non_member(m, y_pos, icio_pos, mfn, median_mfn))]
    k = mfn.shape[2]
    if m in SMALL:
        own = _non_member(m, y_pos, icio_pos, mfn, median_mfn)
    else:
        own = (mfn[y_pos, icio_pos[m]], _mark_held(np.full(k, "member_own_rate", dtype=object), held[y_pos],
                                                   "member_own_rate", "member_own_rate_break_held"))
    rows = [("cet", cet[y_pos], _cet_flags(held[y_pos])), ("mfn", *own)]
    if m == "KAZ":
        rows.append(("applied", *_member_external(m, year, y_pos, icio_pos, mfn, cet, held)))
    elif m in ("ARM", "KGZ"):
        rows[0] = ("cet", *_member_external(m, year, y_pos, icio_pos, mfn, cet, held))
    return rows


def _external_table(ext_rows, k_codes, services) -> pd.DataFrame:
    """The per-importer table ``importer, sector, year, regime, rate, source`` (services at 0)."""
    n_k = len(k_codes)
    external = pd.DataFrame(
        {
            "importer": np.repeat([r[0] for r in ext_rows], n_k),
            "sector": np.tile(k_codes, len(ext_rows)),
            "year": np.repeat([r[1] for r in ext_rows], n_k).astype("int64"),
            "regime": np.repeat([r[2] for r in ext_rows], n_k),
            "rate": np.round(np.concatenate([r[3] for r in ext_rows]), 6),
            "flag": np.concatenate([r[4] for r in ext_rows]),
        }
    )
    keys = external[["importer", "year", "regime"]].drop_duplicates()
    service_rows = pd.DataFrame(
        {
            "importer": np.repeat(keys["importer"].to_numpy(), len(services)),
            "sector": np.tile(list(services), len(keys)),
            "year": np.repeat(keys["year"].to_numpy(), len(services)).astype("int64"),
            "regime": np.repeat(keys["regime"].to_numpy(), len(services)),
            "rate": 0.0,
            "flag": "services_no_tariff",
        }
    )
    external = pd.concat([external, service_rows], ignore_index=True)
    external["source"] = external["flag"].map({**SOURCES, **EXTERNAL_SOURCES})
    order = ["importer", "sector", "year", "regime"]
    return external.drop(columns="flag").sort_values(order, kind="stable", ignore_index=True)


def _pair(m, x, year, y_pos, icio_pos, rates, mfn, cet, median_mfn, held):
    """(rate (K,), flag (K,)) for importer ``m`` and exporter ``x`` in one year."""
    k = rates.shape[3]
    if _member(m, year) and _member(x, year):
        return np.zeros(k), np.full(k, "union_internal", dtype=object)
    if _cis(m, year) and _cis(x, year):
        return np.zeros(k), np.full(k, "cis_fta", dtype=object)
    if _member(m, year):
        rate, flag = _member_external(m, year, y_pos, icio_pos, mfn, cet, held)
        if x in EAEU_FTAS and year >= EAEU_FTAS[x]:
            flag = np.where(flag == "kaz_wto_exemption", flag, "fta_preference_not_quantified").astype(object)
        return rate, flag
    if m == "ROW":
        return np.zeros(k), np.full(k, "teti_row_zero", dtype=object)
    if m in SMALL:
        return median_mfn[y_pos], np.full(k, "assumption_median_mfn", dtype=object)
    if x in SMALL:
        return mfn[y_pos, icio_pos[m]], np.full(k, "mfn_median", dtype=object)
    return rates[y_pos, icio_pos[x], icio_pos[m]], np.full(k, "teti", dtype=object)
