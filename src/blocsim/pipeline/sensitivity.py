"""Which uncertain input moves each headline number most: the tornado table of a scenario run.

One at a time: every input of the bands (:mod:`blocsim.pipeline.bands`) is set to the 5th and
to the 95th percentile of its distribution (truncated at its domain bound, as the draws are)
while all others stay at their point values; the two scenarios per input are solved with the
rest in one batched call. The swing ``|result_high - result_low|`` ranks the inputs per
country and headline variable (rank 1 moves it most; ties keep the input order). An input
with zero spread is fixed, so its swing is 0 and it ranks last. One-at-a-time swings ignore
interactions between inputs; the bands' draws hold the joint variation.

The point values are the point run's own (its ``countries`` table: a draw at the point is the
point run bit for bit, :mod:`blocsim.pipeline.bands`), so only the ``2P`` one-at-a-time
scenarios (:func:`scenario_count`; two per input) are solved, in blocks of
:data:`~blocsim.pipeline.bands.CHUNK_SIZE` batched solves, so a progress callback moves along;
the numbers do not depend on the blocks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from blocsim.data.progress import ProgressCallback
from blocsim.errors import DataValidationError
from blocsim.pipeline.bands import CHUNK_SIZE, BandsPlan, quantile, solve_values

HEADLINE_VARIABLES = ("welfare_pct", "real_wage_pct", "tariff_revenue_change")
"""The headline numbers of the tornado table."""
SENSITIVITY_COLUMNS = ("country", "variable", "input", "kind", "distribution", "input_low", "input_high", "point",
                       "result_low", "result_high", "swing", "rank")
"""Columns of ``sensitivity.csv``."""
LOW, HIGH = 0.05, 0.95


def scenario_count(plan: BandsPlan) -> int:
    """Scenarios :func:`sensitivity_table` solves for ``plan``: two per input (``2P``; the point is the point run's)."""
    return 2 * len(plan.inputs)


def sensitivity_table(plan: BandsPlan, point: pd.DataFrame, focus: Sequence[str], *,
                      progress: ProgressCallback | None = None) -> pd.DataFrame:
    """Tornado table for the ``focus`` countries: one row per (country, headline variable, input).

    Parameters
    ----------
    plan
        The bands plan of the run (:func:`blocsim.pipeline.bands.bands_plan`).
    point
        The point run's ``countries`` table (``country`` and the :data:`HEADLINE_VARIABLES`,
        percent and USD millions), the run ``plan`` was built from: the ``point`` column
        (not solved again).
    focus
        Countries of the table (those not in the run are left out).
    progress
        ``progress(done, total)``, ``total`` = :func:`scenario_count`: called with 0 first,
        then with the scenarios solved after each block (strictly increasing, last
        ``done == total``). For a progress display.

    Returns
    -------
    DataFrame
        :data:`SENSITIVITY_COLUMNS`: the input's values at p05/p95 (``input_low``,
        ``input_high``, in the input's unit), the headline number at the point and with the
        input at each end (percent, revenue in USD millions), the swing and its rank.

    Raises
    ------
    DataValidationError
        ``point`` lacks ``country`` or a headline column, or a country of the plan.
    """
    inputs = plan.inputs
    countries = list(plan.problem.countries)
    at_point = _point_values(point, countries)  # (V, N)
    rows = np.repeat(plan.point[None], 2 * len(inputs), axis=0)
    for k, item in enumerate(inputs):
        rows[2 * k, k] = quantile(item, LOW)
        rows[2 * k + 1, k] = quantile(item, HIGH)
    results = _solve_blocks(plan, rows, progress)  # (2P, V, N)
    records = []
    for country in [c for c in focus if c in countries]:
        n = countries.index(country)
        for v, variable in enumerate(HEADLINE_VARIABLES):
            for k, item in enumerate(inputs):
                low, high = results[2 * k, v, n], results[2 * k + 1, v, n]
                records.append({"country": country, "variable": variable, "input": item.name, "kind": item.kind,
                                "distribution": item.distribution, "input_low": rows[2 * k, k],
                                "input_high": rows[2 * k + 1, k], "point": at_point[v, n],
                                "result_low": low, "result_high": high, "swing": abs(high - low)})
    table = pd.DataFrame(records, columns=list(SENSITIVITY_COLUMNS[:-1]))
    order = table.groupby(["country", "variable"], sort=False)["swing"].rank(method="first", ascending=False)
    table["rank"] = order.astype(int)
    return table.sort_values(["country", "variable", "rank"], kind="stable").reset_index(drop=True)


def _point_values(point: pd.DataFrame, countries: Sequence[str]) -> np.ndarray:
    """The headline variables (V, N) of the point run's ``countries`` table, in the plan's country order."""
    missing = [c for c in ("country", *HEADLINE_VARIABLES) if c not in point.columns]
    if missing:
        raise DataValidationError(f"argument 'point': missing column(s) {missing}; allowed: the point run's "
                                  f"countries table (country, {', '.join(HEADLINE_VARIABLES)})")
    table = point.set_index(point["country"].astype(str))
    absent = [c for c in countries if c not in table.index]
    if absent:
        raise DataValidationError(f"argument 'point': countries {absent[:10]} of the plan are not in the table; "
                                  "allowed: the countries table of the run the plan was built from")
    return table.loc[list(countries), list(HEADLINE_VARIABLES)].to_numpy(dtype=float).T


def _solve_blocks(plan: BandsPlan, rows: np.ndarray, progress: ProgressCallback | None) -> np.ndarray:
    """Headline variables (D, V, N) of the input values ``rows`` (D, P), solved in blocks of ``CHUNK_SIZE``."""
    total = len(rows)
    if progress is not None:
        progress(0, total)
    blocks = []
    for start in range(0, total, CHUNK_SIZE):
        blocks.append(solve_values(plan, rows[start:start + CHUNK_SIZE], HEADLINE_VARIABLES))
        if progress is not None:
            progress(min(start + CHUNK_SIZE, total), total)
    return np.concatenate(blocks)
