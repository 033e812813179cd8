"""NSF-Kellogg Database on Economic Integration Agreements (Baier and Bergstrand), long form.

Source
------
Baier, S. L. and Bergstrand, J. H., NSF-Kellogg Institute Data Base on Economic Integration
Agreements (1950-2012). The original is a set of wide country-by-country sheets; the long
form read here has one row per directed pair and year: ``year, origin, destination, eia``
(label) and optionally ``eia_level`` (the database's 0-6 scale). Agreement levels:
0 none, 1 non-reciprocal PTA, 2 PTA, 3 FTA, 4 customs union, 5 common market, 6 economic
union, and -1 where a country did not exist ("No Country").
"""

from __future__ import annotations

import pandas as pd

from blocsim.data.loaders._io import (
    PathLike,
    SourceFile,
    check_unique,
    country_column,
    existing_file,
    first_row,
    integer_column,
    read_delimited,
    require_columns,
    tidy,
)

#: Label -> level on the database's 0-6 scale (-1: the country did not exist).
EIA_LEVELS: dict[str, int] = {
    "No Country": -1,
    "No Agreement": 0,
    "Non-Reciprocal PTA": 1,
    "Preferential Trade Agreement": 2,
    "Free Trade Agreement": 3,
    "Customs Union": 4,
    "Common Market": 5,
    "Economic Union": 6,
}


def load_eia(path: PathLike) -> pd.DataFrame:
    """Load the NSF-Kellogg EIA panel (Parquet or CSV, long form).

    Parameters
    ----------
    path
        File with columns ``year, origin, destination, eia`` and optionally ``eia_level``.

    Returns
    -------
    DataFrame
        ``exporter`` (origin, ISO3), ``importer`` (destination), ``year``, ``eia`` (label),
        ``eia_level`` (int8, -1..6; checked against the label when both are given),
        ``cu`` (1 if the pair is in a customs union or deeper, level >= 4), ``fta`` (1 if
        an FTA or PTA, levels 1-3).
    """
    file = existing_file(path, what="NSF-Kellogg EIA")
    required = ("year", "origin", "destination", "eia")
    what = "NSF-Kellogg EIA"
    if file.suffix.lower() == ".parquet":
        source = SourceFile(file, row_offset=1)
        raw = pd.read_parquet(file).reset_index(drop=True)
        require_columns(raw, required, source, what=what)
    else:
        source = SourceFile(file)
        raw = read_delimited(file, sep=",", required=required, what=what, dtype=str, na_values=())
    labels = raw["eia"].fillna("").astype(str).str.strip()
    pos = first_row(~labels.isin(list(EIA_LEVELS)))
    if pos is not None:
        raise source.error(
            pos, "eia", f"unknown agreement label {labels.loc[pos]!r}; allowed are {', '.join(EIA_LEVELS)}"
        )
    levels = labels.map(EIA_LEVELS).astype("int8")
    if "eia_level" in raw.columns:
        given = integer_column(raw, "eia_level", source)
        pos = first_row(given.ne(levels))
        if pos is not None:
            raise source.error(
                pos, "eia_level", f"level {given.loc[pos]} does not match label {labels.loc[pos]!r} "
                f"(expected {EIA_LEVELS[labels.loc[pos]]})"
            )
    out = pd.DataFrame(index=raw.index)
    out["exporter"] = country_column(raw, "origin", source)
    out["importer"] = country_column(raw, "destination", source)
    out["year"] = integer_column(raw, "year", source)
    out["eia"] = labels
    out["eia_level"] = levels
    out["cu"] = (levels >= 4).astype("int8")
    out["fta"] = levels.between(1, 3).astype("int8")
    check_unique(out, ("exporter", "importer", "year"), source)
    return tidy(out)
