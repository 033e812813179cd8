"""The rules of a valid CEPII BACI file, shared by the pandas and the DuckDB engine.

Both engines accept exactly the same files and report the same first problem with the same
message (``tests/test_loaders_nonfinite.py`` runs hostile files through both). Numbers follow
:func:`blocsim.data.loaders._io.parse_numbers`; the messages below are the BACI-specific ones.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Columns of a BACI file: year, exporter code, importer code, HS6 product, value
#: (thousands of USD), quantity (metric tons).
BACI_COLUMNS = ("t", "i", "j", "k", "v", "q")
#: Cell text BACI writes for a missing value (``q`` only, often padded with blanks).
MISSING_MARKERS = ("NA",)
#: A product code as written: up to six digits (leading zeros may be dropped, ``10121``).
PRODUCT_DIGITS = "[0-9]{1,6}"
CODE_FIX = (
    "; allowed are the codes of the BACI country_codes file (pass country_codes=... with the file of "
    "the same BACI version)"
)


def unknown_code(code: int, unknown: Sequence[int]) -> str:
    """Message for a country code missing from the code table (``unknown``: sorted, all)."""
    return (
        f"unknown BACI country code {code} ({len(unknown)} unknown: {', '.join(map(str, unknown[:10]))})"
        + CODE_FIX
    )


def not_hs6(value: object) -> str:
    """Message for a product cell that is not an HS6 code."""
    return f"product code {value!r} is not an HS6 code (six digits)"


def duplicate_key(t: int, i: int, j: int, k: object, first_row: int) -> str:
    """Message for a row repeating the (t, i, j, k) of row ``first_row``."""
    return (
        f"duplicate key (t={t}, i={i}, j={j}, k={k!r}), first seen at row {first_row}; each (t, i, j, k) must "
        "appear once (remove the repeated row or aggregate it)"
    )
