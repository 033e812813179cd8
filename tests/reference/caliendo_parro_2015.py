"""Sectoral trade elasticities of Caliendo & Parro (2015), transcribed from the authors' file.

Source: Caliendo, L. and Parro, F. (2015). "Estimates of the Trade and Welfare Effects of
NAFTA", *Review of Economic Studies* 82(1), 1-44, Table 1. The values are those of the
authors' replication file ``T.txt`` (in ``Data_and_Codes_CP.zip``, distributed with the
article), one number per line in the order of Table 1; read from the public copy in GitHub
``powell001/Caliendo_Parro_2015_Python`` (commit f9340d74), ``data/original_data/T.txt``:
``9.11 13.53 2.62 8.1 11.5 16.52 64.85 3.13 1.67 2.41 3.28 6.99 1.45 12.95 12.91 3.95
8.71 8.22 8.22 3.98``.

Source note: the file sets auto and other transport to 8.22 (the table's aggregate
estimate), and the authors' code uses 8.22 for every non-tradable (service) sector, so
:data:`SERVICES` is not a row of ``T.txt``.
"""

from __future__ import annotations

#: Table 1 sectors (ISIC rev. 3 tradables), in ``T.txt`` order, as named in blocsim.
SECTORS = (
    "agriculture", "mining", "food", "textile", "wood", "paper", "petroleum", "chemicals", "plastic",
    "minerals", "basic_metals", "metal_products", "machinery", "office", "electrical", "communication",
    "medical", "auto", "other_transport", "other_manufacturing",
)

#: The 20 lines of ``T.txt``, verbatim.
T_TXT = (9.11, 13.53, 2.62, 8.1, 11.5, 16.52, 64.85, 3.13, 1.67, 2.41, 3.28, 6.99, 1.45, 12.95, 12.91, 3.95,
         8.71, 8.22, 8.22, 3.98)

#: The value the authors' code assigns to every non-tradable sector.
SERVICES = 8.22

TRADABLE = dict(zip(SECTORS, T_TXT, strict=True))
