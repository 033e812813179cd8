"""Recipe that builds the bundled sample tables from the original public data files.

Run it with the folder that holds the original files (one sub-folder per source)::

    python -m blocsim.data.samples.build_samples --shared-data DIR [--out DIR]

Each builder returns the CSV text, so a test can check that the committed file is exactly
what the recipe produces from the source.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

SAMPLES_DIR = Path(__file__).resolve().parent

TRADE_WITHOUT_BORDERS = "yotov2016_trade_without_borders_2006"
_TWB_SOURCE = Path("yotov2016") / "ch2_app1_trade_without_border_2006.csv"
_TWB_COLUMNS = ["exporter", "importer", "year", "trade", "ln_DIST", "CNTG", "INTL_BRDR", "Y", "E"]


def build_trade_without_borders(shared_data: Path) -> str:
    """Yotov et al. (2016) ch. 2 application 1 data, 69 countries, 2006, as CSV text.

    Parameters
    ----------
    shared_data
        Folder holding ``yotov2016/ch2_app1_trade_without_border_2006.csv``.

    Returns
    -------
    str
        4,761 rows (69 x 69 pairs incl. domestic) with columns ``exporter, importer, year,
        trade, ln_DIST, CNTG, INTL_BRDR, Y, E``, sorted by exporter then importer; Germany's
        code restored from the guide's ``ZZZ`` (used there to make it sort last) to ``DEU``.
    """
    raw = pd.read_csv(shared_data / _TWB_SOURCE)
    frame = raw.loc[:, _TWB_COLUMNS].copy()
    for column in ("exporter", "importer"):
        frame[column] = frame[column].astype(str).replace({"ZZZ": "DEU"})
    for column in ("year", "CNTG", "INTL_BRDR"):
        values = frame[column].to_numpy(dtype=float)
        if not np.array_equal(values, np.round(values)):
            raise ValueError(f"{_TWB_SOURCE}: column {column!r} is not integer-valued")
        frame[column] = values.astype(np.int64)
    frame = frame.sort_values(["exporter", "importer"], kind="stable").reset_index(drop=True)
    return frame.to_csv(index=False, lineterminator="\n", float_format=None)


BUILDERS: dict[str, Callable[[Path], str]] = {TRADE_WITHOUT_BORDERS: build_trade_without_borders}


def main(argv: list[str] | None = None) -> None:
    """Write every sample CSV into ``--out`` (default: this package folder)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-data", type=Path, required=True,
                        help=f"folder DIR holding the original files ({_TWB_SOURCE.as_posix()})")
    parser.add_argument("--out", type=Path, default=SAMPLES_DIR, help="output folder")
    args = parser.parse_args(argv)
    for name, build in BUILDERS.items():
        target = args.out / f"{name}.csv"
        target.write_text(build(args.shared_data), encoding="utf-8", newline="")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
