"""Fiscal facts: the union's import-duty pool (norms, published figures, collection calibration).

``duties`` rows: ``member, start, end, pool_share_pct, collected_usd_m, distributed_usd_m, source``
plus ``kind, year, modelled_usd_m, collection_efficiency, flag``. ``kind`` is

* ``norm``: the distribution norm (percent) of each member and period (``start``..``end``
  inclusive, ``end`` empty: open). The 2010 Agreement on crediting and distributing import
  customs duties (20 May 2010), the Treaty on the EAEU (29 May 2014), Annex 5, as amended on
  Armenia's (2 Jan 2015) and Kyrgyzstan's (12 Aug 2015) accession, and the Protocol of
  11 April 2017 (applied to 2017 per the joint audit of 2017, extended through 2019 by the
  Sochi protocol of 14 May 2018); the pre-2017 shares are those of
  ``blocsim/policy/library/eaeu.toml``.
* ``published``: a figure read in a publication (:data:`POOL_FACTS_FILE`, one row per member
  and period; member ``EAEU`` = the union's total), converted to USD millions with the rate
  stated in the reference table (rows in another currency without a quoted rate keep empty
  USD columns; the local-currency figure is in ``source``).
* ``derived``: a member's distribution = its norm x the union's published total, for the years
  inside one dated norm period.
* ``calibration``: one row per member: the collection efficiency ``e_j`` (fraction in (0, 1] of
  its statutory duties a member pays into the pool, :mod:`blocsim.equilibrium.duty_pool`) that
  makes ``e_j * modelled_usd_m`` equal ``collected_usd_m`` in :data:`CALIBRATION_YEAR`
  (:func:`calibrate`; the rule and flags are in DATA.md).

``modelled_usd_m`` is what the multi-sector model levies (:func:`modelled_collections`): for
each importer, the sum over exporters and sectors of the dataset's tariff (``tariffs_bilateral``)
times the flow, at the flows' valuation (ICIO basic prices, DATA.md). USD millions throughout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from blocsim.errors import DataValidationError

POOL_FACTS_FILE: Path = Path(__file__).resolve().parent / "pool_facts.csv"
#: Year of the collection calibration: the year with both a member's own published collections
#: (Armenia, January-September) and the union's published total.
CALIBRATION_YEAR = 2016
#: Label of the union's totals in the reference table.
UNION = "EAEU"
COLUMNS: tuple[str, ...] = (
    "member", "start", "end", "pool_share_pct", "collected_usd_m", "distributed_usd_m", "source",
    "kind", "year", "modelled_usd_m", "collection_efficiency", "flag",
)
_FACT_COLUMNS = ("member", "year", "months", "collected", "distributed", "unit", "lcu_per_usd", "fx_source",
                 "organisation", "publication", "date", "url", "quote")

_AGREEMENT_2010 = "Agreement on the crediting and distribution of import customs duties (20 May 2010)"
_TREATY = "Treaty on the Eurasian Economic Union (29 May 2014), Annex 5"
_PROTOCOL_2017 = (
    "Protocol of 11 April 2017 to the Treaty on Kyrgyzstan's accession (docs.cntd.ru/document/456058065); applied "
    "to 2017 per the joint audit of the supreme audit institutions (Accounts Chamber of the Russian Federation, "
    "http://ach.gov.ru/en/?ELEMENT_ID=35348); extended through 31 Dec 2019 by the protocol of 14 May 2018 (TASS via "
    "news.am, 27 Nov 2018)"
)
#: (start, end, shares in percent, source); ``end`` is the last day of the period ("" = open).
POOL_NORMS: tuple[tuple[str, str, dict[str, float], str], ...] = (
    ("2010-07-01", "2015-01-01", {"RUS": 87.97, "KAZ": 7.33, "BLR": 4.70}, _AGREEMENT_2010),
    (
        "2015-01-02",
        "2015-08-11",
        {"RUS": 86.97, "KAZ": 7.25, "BLR": 4.65, "ARM": 1.13},
        _TREATY + ", as amended by Armenia's accession; ITAR-TASS, 2 Jan 2015",
    ),
    (
        "2015-08-12",
        "2016-12-31",
        {"RUS": 85.32, "KAZ": 7.11, "BLR": 4.56, "KGZ": 1.90, "ARM": 1.11},
        _TREATY + ", as amended by Kyrgyzstan's accession",
    ),
    (
        "2017-01-01",
        "2019-12-31",
        {"RUS": 85.265, "KAZ": 7.055, "BLR": 4.56, "KGZ": 1.90, "ARM": 1.22},
        _PROTOCOL_2017,
    ),
)


def pool_facts(path: Path = POOL_FACTS_FILE) -> pd.DataFrame:
    """The reference table of published pool figures, validated, with USD columns.

    Returns
    -------
    DataFrame
        The file's columns (``member, year, months, collected, distributed, unit, lcu_per_usd,
        fx_source, organisation, publication, date, url, quote``; ``collected``/``distributed`` in
        ``unit``: ``"USD m"`` or ``"<ISO currency> m"``) plus ``collected_usd_m`` and
        ``distributed_usd_m`` (USD millions for the ``months`` covered; NaN without a rate).

    Raises
    ------
    DataValidationError
        Missing columns, a member other than the five members or ``EAEU``, ``months`` outside
        1..12, a negative figure, a unit other than ``... m``, or a non-positive rate.
    """
    table = pd.read_csv(path, dtype={"member": str, "unit": str}, keep_default_na=False,
                        na_values={c: [""] for c in ("collected", "distributed", "lcu_per_usd")})
    missing = [c for c in _FACT_COLUMNS if c not in table.columns]
    if missing:
        raise DataValidationError(f"file {path.name!r}: missing column(s) {missing!r}. Fix: use the columns "
                                  f"{list(_FACT_COLUMNS)!r}")
    checks = (
        ("member", ~table["member"].isin(("ARM", "BLR", "KAZ", "KGZ", "RUS", UNION)), "ARM, BLR, KAZ, KGZ, RUS or EAEU"),
        ("months", ~table["months"].between(1, 12), "whole months 1..12"),
        ("collected", table["collected"] < 0, "non-negative amounts"),
        ("distributed", table["distributed"] < 0, "non-negative amounts"),
        ("unit", ~table["unit"].str.fullmatch(r"[A-Z]{3} m"), "'USD m' or '<ISO currency> m' (millions)"),
        ("lcu_per_usd", table["lcu_per_usd"] <= 0, "a positive rate (local currency per US dollar)"),
    )
    for field, bad, allowed in checks:
        if bad.any():
            row = table[bad].iloc[0]
            raise DataValidationError(f"file {path.name!r}, field {field!r}: value {row[field]!r} (member "
                                      f"{row['member']!r}, year {row['year']!r}); allowed: {allowed}")
    rate = np.where(table["unit"] == "USD m", 1.0, table["lcu_per_usd"].to_numpy(dtype=float))
    table["collected_usd_m"] = table["collected"] / rate
    table["distributed_usd_m"] = table["distributed"] / rate
    return table


def norm_on(day: str) -> tuple[dict[str, float], str] | None:
    """Pool shares (percent) and their source in force on ``day`` (ISO date), or None."""
    for start, end, shares, source in POOL_NORMS:
        if start <= day and (not end or day <= end):
            return shares, source
    return None


def _year_norm(year: int) -> dict[str, float] | None:
    """The norm in force on every day of ``year`` (None if the norms change during the year or none is dated)."""
    first, last = norm_on(f"{year}-01-01"), norm_on(f"{year}-12-31")
    return first[0] if first is not None and last is not None and first == last else None


def modelled_collections(flows: pd.DataFrame, tariffs: pd.DataFrame, year: int) -> pd.Series:
    """Statutory import duties the model levies, by importer, in ``year`` (USD millions).

    ``sum over exporters i != j and sectors s of tariff[j, i, s] * trade[i, j, s]``: the
    multi-sector model's ``collected`` (:func:`blocsim.equilibrium.multisector_core.calibrate_batch`)
    with the dataset's bilateral tariffs (ad valorem fractions) and flows (USD millions).
    Pairs without a tariff row levy nothing.
    """
    trade = flows.loc[(flows["year"] == year) & (flows["exporter"] != flows["importer"]),
                      ["exporter", "importer", "sector", "trade"]]
    rates = tariffs.loc[tariffs["year"] == year, ["exporter", "importer", "sector", "tariff"]]
    merged = trade.merge(rates, on=["exporter", "importer", "sector"], how="inner")
    return (merged["tariff"] * merged["trade"]).groupby(merged["importer"]).sum()


def calibrate(facts: pd.DataFrame, modelled: pd.Series, year: int = CALIBRATION_YEAR) -> pd.DataFrame:
    """Collection efficiency of each pool member in ``year``.

    Rule: a member with its own published collections in ``year`` (``facts``, annualised by
    ``12 / months``) gets ``e_j = published_j / modelled_j`` (flag ``calibrated_member``). The
    members without one share one factor that makes the union's published total (member
    ``EAEU``; the pool distributes what it credits, so distributed = collected) equal the
    members' own figures plus ``e * modelled`` of the others (``calibrated_union``). Without a
    union total in ``year`` they get 1.0 (``assumed``).

    Parameters
    ----------
    facts
        :func:`pool_facts`.
    modelled
        :func:`modelled_collections` of ``year``, indexed by ISO3 (USD millions).

    Returns
    -------
    DataFrame
        ``member, year, collected_usd_m`` (the target), ``modelled_usd_m``,
        ``collection_efficiency``, ``flag``, ``source``; one row per member of the norm in force
        on 31 Dec of ``year``, sorted by member.

    Raises
    ------
    DataValidationError
        No norm in force in ``year``; a member without modelled duties; a factor outside (0, 1].
    """
    norm = norm_on(f"{year}-12-31")
    if norm is None:
        raise DataValidationError(f"argument 'year': {year!r} has no pool norm; allowed: a year from 2010 to 2019")
    members = sorted(norm[0])
    absent = [m for m in members if not modelled.get(m, 0.0) > 0]
    if absent:
        raise DataValidationError(f"argument 'modelled': members {absent!r} levy no duties in {year} in the dataset, "
                                  "so no collection efficiency can be calibrated. Fix: check their flows and tariffs")
    in_year = facts[facts["year"] == year]
    own = in_year[in_year["member"].isin(members) & in_year["collected_usd_m"].notna()]
    own_annual = {str(r.member): float(r.collected_usd_m) * 12.0 / float(r.months) for r in own.itertuples()}
    union = in_year[(in_year["member"] == UNION) & in_year["distributed_usd_m"].notna() & (in_year["months"] == 12)]
    others = [m for m in members if m not in own_annual]
    rows = []
    for member in members:
        cite = own[own["member"] == member] if member in own_annual else union
        if member in own_annual:
            efficiency, flag = own_annual[member] / float(modelled[member]), "calibrated_member"
            rule = f"own published collections in {year}" + (" (annualised x12/months)" if int(cite["months"].iloc[0]) < 12 else "")
        elif len(union):
            residual = float(union["distributed_usd_m"].iloc[0]) - sum(own_annual.values())
            efficiency, flag = residual / float(sum(modelled[m] for m in others)), "calibrated_union"
            rule = (f"one factor for {', '.join(others)}: the union's published total {year} minus the members' own "
                    "figures, over their modelled duties")
        else:
            efficiency, flag, rule = 1.0, "assumed", f"no published collections for {year}: 1.0"
        target = efficiency * float(modelled[member])
        if not 0.0 < efficiency <= 1.0:
            raise DataValidationError(
                f"pool calibration {year}, member {member!r}: efficiency {efficiency!r} (published {target:.6g} vs "
                f"modelled {float(modelled[member]):.6g} USD m); allowed: fractions in (0, 1]. Fix: check the "
                "reference figure, its exchange rate and period"
            )
        url = f"; {cite['url'].iloc[0]}" if flag != "assumed" else ""
        rows.append((member, year, target, float(modelled[member]), efficiency, flag, rule + url))
    return pd.DataFrame(rows, columns=["member", "year", "collected_usd_m", "modelled_usd_m",
                                       "collection_efficiency", "flag", "source"])


def _fact_source(row: pd.Series) -> str:
    months = "" if int(row["months"]) == 12 else f" (January-{_MONTHS[int(row['months'])]} only)"
    amounts = [f"{name} {row[name]:g}" for name in ("collected", "distributed") if pd.notna(row[name])]
    rate = f"rate {row['lcu_per_usd']:g} per USD" if pd.notna(row["lcu_per_usd"]) else "not converted"
    local = "" if row["unit"] == "USD m" else f"; in {row['unit']}: {', '.join(amounts)}; {rate} ({row['fx_source']})"
    return (f"{row['organisation']}, {row['publication']}, {row['date']}, {row['url']}: \"{row['quote']}\""
            f"{months}{local}")


_MONTHS = ("", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def duties_table(flows: pd.DataFrame, tariffs: pd.DataFrame, facts: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``duties`` table (module notes): norms, published and derived figures, calibration.

    Parameters
    ----------
    flows, tariffs
        The dataset's ``flows`` and ``tariffs_bilateral`` tables (for :func:`modelled_collections`).
    facts
        :func:`pool_facts` (default: the bundled reference table).
    """
    facts = pool_facts() if facts is None else facts
    rows: list[dict[str, object]] = [
        {"member": member, "start": start, "end": end, "pool_share_pct": share, "source": source, "kind": "norm"}
        for start, end, shares, source in POOL_NORMS for member, share in sorted(shares.items())
    ]
    for _, fact in facts.sort_values(["year", "member"], kind="stable").iterrows():
        year, last = int(fact["year"]), f"{int(fact['year'])}-{int(fact['months']):02d}-28"
        norm = norm_on(last)
        share = 100.0 if fact["member"] == UNION else (norm[0].get(fact["member"]) if norm else None)
        rows.append({"member": fact["member"], "start": f"{year}-01-01", "end": _month_end(year, int(fact["months"])),
                     "pool_share_pct": share, "collected_usd_m": fact["collected_usd_m"],
                     "distributed_usd_m": fact["distributed_usd_m"], "source": _fact_source(fact),
                     "kind": "published", "year": year})
        shares = _year_norm(year)
        if fact["member"] == UNION and int(fact["months"]) == 12 and shares is not None:
            rows.extend(
                {"member": member, "start": f"{year}-01-01", "end": f"{year}-12-31", "pool_share_pct": pct,
                 "distributed_usd_m": pct / 100.0 * float(fact["distributed_usd_m"]),
                 "source": f"derived: norm {pct:g} % x the union's published total {year} ({fact['url']})",
                 "kind": "derived", "year": year}
                for member, pct in sorted(shares.items())
            )
    calibration = calibrate(facts, modelled_collections(flows, tariffs, CALIBRATION_YEAR))
    norm = norm_on(f"{CALIBRATION_YEAR}-12-31")
    shares = norm[0] if norm is not None else {}
    rows.extend(
        {"member": r.member, "start": f"{r.year}-01-01", "end": f"{r.year}-12-31", "pool_share_pct": shares[r.member],
         "collected_usd_m": r.collected_usd_m, "source": r.source, "kind": "calibration", "year": r.year,
         "modelled_usd_m": r.modelled_usd_m, "collection_efficiency": r.collection_efficiency, "flag": r.flag}
        for r in calibration.itertuples()
    )
    table = pd.DataFrame(rows).reindex(columns=list(COLUMNS))
    table[["start", "end", "source", "kind", "flag"]] = table[["start", "end", "source", "kind", "flag"]].fillna("")
    floats = ["pool_share_pct", "collected_usd_m", "distributed_usd_m", "modelled_usd_m", "collection_efficiency"]
    return table.astype({**{c: "float64" for c in floats}, "year": "Int64"})


def _month_end(year: int, months: int) -> str:
    """Last day of month ``months`` of ``year`` (ISO date)."""
    return (pd.Timestamp(year=year, month=months, day=1) + pd.offsets.MonthEnd(0)).date().isoformat()
