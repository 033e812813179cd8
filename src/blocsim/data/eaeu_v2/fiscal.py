"""Fiscal facts: distribution norms of the union's import-duty pool by period.

``duties`` rows: ``member, start, end, pool_share_pct, collected_usd_m, distributed_usd_m, source``.
Norms: the 2010 Agreement on crediting and distributing import customs duties (20 May 2010) and
the Treaty on the EAEU (29 May 2014), Annex 5, as amended on Armenia's (2 Jan 2015) and
Kyrgyzstan's (12 Aug 2015) accession; the same facts as ``blocsim/policy/library/eaeu.toml``.
Duty collections and distributions per member and year are not in the recipe's sources; those
columns are empty (a known gap, DATA.md) and no collection-efficiency factor is calibrated.
"""

from __future__ import annotations

import pandas as pd

_AGREEMENT_2010 = "Agreement on the crediting and distribution of import customs duties (20 May 2010)"
_TREATY = "Treaty on the Eurasian Economic Union (29 May 2014), Annex 5"
#: (start, end, shares in percent, source); end is the day before the next period.
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
        "",
        {"RUS": 85.32, "KAZ": 7.11, "BLR": 4.56, "KGZ": 1.90, "ARM": 1.11},
        _TREATY + ", as amended by Kyrgyzstan's accession",
    ),
)


def duties_table() -> pd.DataFrame:
    """Pool distribution norms by member and period (collections: not published in the recipe's sources)."""
    rows = [
        (member, start, end, share, None, None, source)
        for start, end, shares, source in POOL_NORMS
        for member, share in sorted(shares.items())
    ]
    table = pd.DataFrame(
        rows,
        columns=["member", "start", "end", "pool_share_pct", "collected_usd_m", "distributed_usd_m", "source"],
    )
    return table.astype({"collected_usd_m": "float64", "distributed_usd_m": "float64"})
