"""Cross-check of the v2 tariffs against WITS applied tariffs (``wits_tariffs_44``).

WITS gives effectively applied (AHS), import-weighted tariffs by importer, exporter and 15
ISIC Rev.3 groups for 2014-2023; among the union's members only RUS is an importer there.
:func:`wits_comparison` maps the ICIO goods sectors to those groups (:data:`ICIO_TO_WITS`; C19,
refined petroleum, has no WITS group) and compares, for every importer/exporter/group/year the
two sources share, WITS with the simple mean of the dataset's sector tariffs in the group.
Cells WITS set to 0 for lack of data (``no_data_set_to_zero``) are left out.
"""

from __future__ import annotations

import pandas as pd

#: ICIO goods sector -> WITS ISIC Rev.3 group (``wits_tariffs_44/isic_groups.csv``).
ICIO_TO_WITS: dict[str, int] = {
    "A01": 1, "A02": 1, "A03": 1,
    "B05": 2, "B06": 2, "B07": 2, "B08": 2, "B09": 2,
    "C10T12": 3, "C13T15": 4, "C16": 5, "C17_18": 6, "C20": 7, "C21": 7, "C22": 8, "C23": 9,
    "C24A": 10, "C24B": 10, "C25": 10, "C28": 11, "C26": 12, "C27": 12,
    "C29": 13, "C301": 13, "C302T309": 13, "C31T33": 14,
}


def wits_comparison(bilateral: pd.DataFrame, wits: pd.DataFrame) -> pd.DataFrame:
    """Dataset vs WITS tariffs per importer, exporter, ISIC group and year.

    Parameters
    ----------
    bilateral
        The dataset's ``importer, exporter, sector, year, tariff, source, flag``.
    wits
        ``wits_tariffs_44/wits_ahs_tariffs.csv.gz``.

    Returns
    -------
    DataFrame
        ``importer, exporter, isic_group, year, dataset, wits, flags`` (fractions; ``flags`` =
        the dataset rows' flag, or the first and last of them joined by ``+`` when the group's
        sectors differ), sorted; only cells both sources have.
    """
    theirs = wits[(wits["fill_status"] != "no_data_set_to_zero") & (wits["importer_iso3"] != "ROW") & (wits["exporter_iso3"] != "ROW")]
    theirs = theirs.rename(columns={"importer_iso3": "importer", "exporter_iso3": "exporter"})
    theirs = theirs.assign(wits=theirs["tariff_pct"] / 100.0)[["importer", "exporter", "isic_group", "year", "wits"]]
    ours = bilateral[
        bilateral["sector"].isin(list(ICIO_TO_WITS))
        & bilateral["importer"].isin(set(theirs["importer"]))
        & bilateral["exporter"].isin(set(theirs["exporter"]))
    ]
    ours = ours.assign(isic_group=ours["sector"].map(ICIO_TO_WITS))
    ours = ours.groupby(["importer", "exporter", "isic_group", "year"], as_index=False).agg(
        dataset=("tariff", "mean"), first=("flag", "min"), last=("flag", "max")
    )
    ours["flags"] = ours["first"].where(ours["first"] == ours["last"], ours["first"] + "+" + ours["last"])
    merged = ours.merge(theirs, on=["importer", "exporter", "isic_group", "year"], how="inner", validate="one_to_one")
    merged["dataset"] = merged["dataset"].round(6)
    merged["wits"] = merged["wits"].round(6)
    return merged[["importer", "exporter", "isic_group", "year", "dataset", "wits", "flags"]].sort_values(
        ["importer", "exporter", "isic_group", "year"], ignore_index=True
    )
