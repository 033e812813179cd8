"""Country codes: ISO 3166-1 alpha-3 and numeric, old-code fixes, EU membership, regions.

Every loader normalises country codes through :func:`normalize_codes`, so one table decides
what a valid code is:

- current ISO 3166-1 alpha-3 codes (``iso3166.csv`` beside this module: code, numeric, name);
- old or source-specific aliases of a current code, rewritten (:data:`OLD_CODE_FIXES`:
  ``ROM -> ROU``, ``ZAR -> COD``, ``TMP -> TLS``, ``PAL -> PSE``, ...);
- historic entities kept under their own code (:data:`HISTORIC_CODES`: ``YUG``, ``SUN``,
  ``CSK``, ``DDR``, ``ANT``, ``BLX`` ...). ``YUG`` is ambiguous: in time series it is the
  Socialist Federal Republic (to 1991), in CEPII GeoDist it is Serbia and Montenegro; the
  GeoDist loader therefore maps it to ``SRB`` explicitly (``extra_fixes``);
- source categories that are not countries (:data:`SPECIAL_CODES`: ``UNS`` unspecified
  partner, ``BUN`` bunkers, ``SPE`` special categories, ...);
- regions and aggregates (:data:`AGGREGATE_CODES`: ``EUN``, ``ROW``, ``WLD`` and the World
  Bank's income/region aggregates such as ``EUU``, ``ECS``).

Anything else is an error naming the file, row and column.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Iterable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from blocsim.errors import DataValidationError

#: Old or non-standard codes that denote the same territory as a current ISO3 code.
OLD_CODE_FIXES: Mapping[str, str] = {
    "ROM": "ROU",  # Romania (CEPII, pre-2002 ISO)
    "ZAR": "COD",  # Zaire -> DR Congo (CEPII, pre-1997 ISO)
    "TMP": "TLS",  # East Timor (CEPII, pre-2002 ISO)
    "PAL": "PSE",  # Palestine (CEPII)
    "MNT": "MNE",  # Montenegro (UN Comtrade/WITS legacy code)
    "KN1": "KNA",  # Saint Kitts and Nevis (WITS code)
}

#: Historic entities and source aggregates of countries, kept under their own code.
HISTORIC_CODES: Mapping[str, str] = {
    "ANT": "Netherlands Antilles (to 2010)",
    "BLX": "Belgium-Luxembourg (customs union reporting)",
    "CSK": "Czechoslovakia (to 1992)",
    "DDR": "German Democratic Republic (to 1990)",
    "SCG": "Serbia and Montenegro (2003-2006)",
    "SUN": "USSR (to 1991)",
    "SVR": "USSR (WITS reporter code)",
    "SVU": "USSR (WITS partner code)",
    "VDR": "Viet Nam, Democratic Republic (to 1976)",
    "YDR": "Yemen, Democratic (to 1990)",
    "YMD": "Yemen, Democratic (to 1990)",
    "YUG": "Yugoslavia (SFR to 1991; CEPII GeoDist: Serbia and Montenegro)",
    "TAN": "Tanganyika (to 1964)",
    "ZPM": "Zanzibar and Pemba (to 1964)",
    "ZW1": "Southern Rhodesia",
    "SIK": "Sikkim (to 1975)",
    "RYU": "Ryukyu Islands (to 1972)",
    "PCZ": "Panama Canal Zone (to 1979)",
    "PCE": "Pacific Islands Trust Territory",
    "USP": "US Miscellaneous Pacific Islands",
    "BAT": "British Antarctic Territory",
    "NZE": "Neutral Zone",
    "XKX": "Kosovo (World Bank code)",
    "CHI": "Channel Islands (World Bank code)",
}

#: Reporting categories that are not countries.
SPECIAL_CODES: Mapping[str, str] = {
    "UNS": "Unspecified partner",
    "BUN": "Bunkers",
    "FRE": "Free zones",
    "SPE": "Special categories",
    "S19": "Other Asia, n.e.s.",
}

#: World Bank WDI aggregates (regions, income groups, lending groups).
WB_AGGREGATES: frozenset[str] = frozenset(
    "AFE AFW ARB CEB CSS EAP EAR EAS ECA ECS EMU EUU FCS HIC HPC IBD IBT IDA IDB IDX INX LAC LCN "
    "LDC LIC LMC LMY LTE MEA MIC MNA NAC OED OSS PRE PSS PST SAS SSA SSF SST TEA TEC TLA TMN TSA "
    "TSS UMC".split()
)

#: Region and aggregate codes used by blocsim datasets.
AGGREGATE_CODES: Mapping[str, str] = {
    "EUN": "European Union (one region)",
    "ROW": "Rest of the world",
    "WLD": "World",
    **{code: "World Bank aggregate" for code in sorted(WB_AGGREGATES)},
}

#: Year each EU member joined (the accession year counts as a member year) and, for the UK, left
#: (31 Jan 2020: 2020 is the first non-member year).
EU_ACCESSION: Mapping[str, int] = {
    **dict.fromkeys(("BEL", "FRA", "DEU", "ITA", "LUX", "NLD"), 1958),
    **dict.fromkeys(("DNK", "IRL", "GBR"), 1973),
    "GRC": 1981,
    **dict.fromkeys(("ESP", "PRT"), 1986),
    **dict.fromkeys(("AUT", "FIN", "SWE"), 1995),
    **dict.fromkeys(("CYP", "CZE", "EST", "HUN", "LVA", "LTU", "MLT", "POL", "SVK", "SVN"), 2004),
    **dict.fromkeys(("BGR", "ROU"), 2007),
    "HRV": 2013,
}
EU_EXIT: Mapping[str, int] = {"GBR": 2020}

#: The 28 members of 2013-2019 and the 27 after the UK left.
EU28: frozenset[str] = frozenset(EU_ACCESSION)
EU27: frozenset[str] = EU28 - {"GBR"}


@functools.lru_cache(maxsize=1)
def iso3_table() -> pd.DataFrame:
    """Current ISO 3166-1 countries.

    Returns
    -------
    DataFrame
        Columns ``iso3`` (str), ``numeric`` (int, ISO 3166-1 numeric), ``name`` (str);
        249 rows, sorted by ``iso3``.
    """
    with resources.files("blocsim.data").joinpath("iso3166.csv").open("r", encoding="utf-8") as handle:
        table = pd.read_csv(handle, dtype={"iso3": str, "numeric": int, "name": str}, keep_default_na=False)
    return table.sort_values("iso3", ignore_index=True)


@functools.lru_cache(maxsize=1)
def known_codes() -> frozenset[str]:
    """Every code :func:`normalize_codes` accepts after fixes (ISO3, historic, special, aggregate)."""
    return _current_codes() | set(HISTORIC_CODES) | set(SPECIAL_CODES) | set(AGGREGATE_CODES)


def country_name(code: str) -> str:
    """English short name of an ISO3, historic, special or aggregate code (``KeyError`` if unknown)."""
    table = iso3_table()
    hit = table.loc[table["iso3"] == code, "name"]
    if len(hit):
        return str(hit.iloc[0])
    for mapping in (HISTORIC_CODES, SPECIAL_CODES, AGGREGATE_CODES):
        if code in mapping:
            return mapping[code]
    raise KeyError(code)


@functools.lru_cache(maxsize=1)
def _current_codes() -> frozenset[str]:
    return frozenset(iso3_table()["iso3"])


def code_kind(code: str) -> Literal["country", "historic", "special", "aggregate", "unknown"]:
    """Classify a (fixed) code: current country, historic entity, special category or aggregate."""
    if code in _current_codes():
        return "country"
    if code in HISTORIC_CODES:
        return "historic"
    if code in SPECIAL_CODES:
        return "special"
    if code in AGGREGATE_CODES:
        return "aggregate"
    return "unknown"


def numeric_to_iso3(numeric: Sequence[int] | np.ndarray | pd.Series) -> np.ndarray:
    """Map ISO 3166-1 numeric codes to alpha-3 (object array; ``None`` where unknown).

    Includes the ISO numeric codes of historic entities used by trade statistics
    (e.g. 810 USSR, 891 Serbia and Montenegro/Yugoslavia, 530 Netherlands Antilles).
    """
    table = iso3_table()
    lookup = dict(zip(table["numeric"].astype(int), table["iso3"]))
    lookup.update({810: "SUN", 890: "YUG", 891: "SCG", 530: "ANT", 200: "CSK", 278: "DDR", 720: "YMD"})
    mapped = pd.Series(np.asarray(numeric)).astype("Int64").map(lookup)
    return mapped.astype(object).where(mapped.notna(), None).to_numpy()


def iso3_to_numeric(codes: Iterable[str]) -> np.ndarray:
    """Map ISO3 codes to ISO 3166-1 numeric codes (``-1`` where the code has none)."""
    table = iso3_table()
    lookup = dict(zip(table["iso3"], table["numeric"].astype(int)))
    return np.array([lookup.get(code, -1) for code in codes], dtype=np.int64)


def normalize_codes(
    values: pd.Series,
    *,
    source: str,
    column: str,
    extra_fixes: Mapping[str, str] | None = None,
    allowed: Iterable[str] = (),
    row_offset: int = 2,
) -> pd.Series:
    """Upper-case, strip and fix country codes; reject unknown ones.

    Parameters
    ----------
    values
        Codes as read from a file (any case, surrounding blanks allowed). The index holds
        each row's 0-based data-row number in the file (as :func:`pandas.read_csv` gives it).
    source
        File name (or other label) used in error messages.
    column
        Column name used in error messages.
    extra_fixes
        Source-specific rewrites applied before :data:`OLD_CODE_FIXES` (e.g. GeoDist's
        ``{"YUG": "SRB"}``).
    allowed
        Extra codes the caller accepts (e.g. a dataset's own region codes).
    row_offset
        Added to the index label to report a row number; 2 for a CSV with one header
        line (the first data row is line 2).

    Returns
    -------
    Series
        Normalised codes (str), same index as ``values``.

    Raises
    ------
    DataValidationError
        On a missing or unknown code, naming file, row, column, value and the fix.
    """
    codes = values.astype("string").str.strip().str.upper()
    fixes = {**OLD_CODE_FIXES, **(extra_fixes or {})}
    codes = codes.replace(fixes)
    missing = codes.isna() | (codes == "")
    if missing.any():
        pos = int(codes.index[np.flatnonzero(missing.to_numpy())[0]])
        raise DataValidationError(
            f"{source}: row {pos + row_offset}, column {column!r}: missing country code; "
            "every row needs an ISO3 code (fix or drop the row)"
        )
    valid = known_codes() | set(allowed)
    bad = ~codes.isin(valid)
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        unknown = sorted(set(codes[bad]))
        raise DataValidationError(
            f"{source}: row {int(codes.index[first]) + row_offset}, column {column!r}: unknown country code "
            f"{str(codes.iloc[first])!r} ({len(unknown)} unknown: {', '.join(unknown[:10])}); allowed are "
            "ISO 3166-1 alpha-3 codes, the historic/special codes in blocsim.data.countries and "
            "regions EUN/ROW/WLD; fix the code or map it first"
        )
    return codes.astype(object).astype(str)


def eu_members(year: int | None = None, *, legacy_codes: bool = False) -> frozenset[str]:
    """EU member states (ISO3) in ``year`` (accession year counts; the UK is out from 2020).

    Parameters
    ----------
    year
        Calendar year; ``None`` gives the EU-28 (every member there has been).
    legacy_codes
        Also return ``BLX`` (Belgium-Luxembourg, as some trade sources report them jointly).
    """
    if year is None:
        members = set(EU28)
    else:
        members = {
            code for code, joined in EU_ACCESSION.items() if joined <= year and EU_EXIT.get(code, 10**6) > year
        }
    if legacy_codes:
        members.add("BLX")
    return frozenset(members)


def region_mapping(
    codes: Iterable[str],
    *,
    keep: Iterable[str],
    year: int | None = None,
    eu: str | None = "EUN",
    rest: str = "ROW",
) -> dict[str, str]:
    """Map each code to itself (if kept), to the EU region, or to the rest of the world.

    Parameters
    ----------
    codes
        Codes present in a table (ISO3 and others).
    keep
        Codes kept as their own region (e.g. the five EAEU members and main partners).
        A kept code wins over EU membership.
    year
        EU membership year (see :func:`eu_members`); ``None`` = EU-28.
    eu
        Code of the EU region (``None``: EU members are not grouped and go to ``rest``
        unless kept). ``BLX`` (Belgium-Luxembourg) counts as an EU member.
    rest
        Code of everything else.

    Returns
    -------
    dict
        ``code -> region`` for every code in ``codes``.
    """
    kept = set(keep)
    members = eu_members(year, legacy_codes=True) if eu is not None else frozenset()
    mapping: dict[str, str] = {}
    for code in dict.fromkeys(codes):
        if code in kept:
            mapping[code] = code
        elif code in members:
            mapping[code] = str(eu)
        else:
            mapping[code] = rest
    return mapping
