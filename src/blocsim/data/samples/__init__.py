"""Small datasets shipped with blocsim, built from public sources by ``build_samples.py``.

See ``README.md`` in this folder for sources, citations and column glossaries.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from blocsim.errors import DataValidationError

SAMPLES_DIR = Path(__file__).resolve().parent

#: Sample name -> one-line description.
SAMPLES: dict[str, str] = {
    "yotov2016_trade_without_borders_2006": (
        "Manufacturing trade incl. domestic flows, 69 countries, 2006, with ln_DIST, CNTG, "
        "INTL_BRDR, output Y and expenditure E (Yotov et al. 2016, ch. 2 application 1); USD millions"
    ),
}


def list_samples() -> dict[str, str]:
    """Bundled sample names and their descriptions."""
    return dict(SAMPLES)


def sample_path(name: str) -> Path:
    """Path of a bundled sample's CSV file.

    Raises
    ------
    DataValidationError
        If ``name`` is not a bundled sample (the message lists the available ones).
    """
    if name not in SAMPLES:
        raise DataValidationError(
            f"load_sample(name={name!r}): no such bundled sample; available: {sorted(SAMPLES)}"
        )
    return SAMPLES_DIR / f"{name}.csv"


def load_sample(name: str) -> pd.DataFrame:
    """Load a bundled sample as a tidy DataFrame.

    Parameters
    ----------
    name
        One of :func:`list_samples`, e.g. ``"yotov2016_trade_without_borders_2006"``.

    Returns
    -------
    pandas.DataFrame
        Long table, one row per (exporter, importer[, year]), flows in USD millions;
        ``exporter``/``importer`` as str, ``year`` as int.
    """
    path = sample_path(name)
    return pd.read_csv(path, dtype={"exporter": str, "importer": str})
