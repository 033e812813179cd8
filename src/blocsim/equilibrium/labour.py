r"""Migrant workers and their remittances in the multi-sector GE (a transfer in national income).

Migrant workers from origin ``o`` working in host ``h`` earn the host's wage and send home a
share of it, the remittances :math:`R_{oh}` (USD millions, calibrated to the data per corridor).
Remittances are a transfer: they add to the origin's national income and subtract from the
host's, so world transfers net to zero. In changes (hats: counterfactual / baseline)

.. math::
    R'_{oh} = R_{oh}\,\hat w_h\,\hat M_{oh},\qquad
    \hat M_{oh} = \Bigl(\frac{\hat w_h/\hat P_h}{\hat w_o/\hat P_o}\,
                        \frac{1+c_{oh}}{1+c'_{oh}}\Bigr)^{\eta}

with :math:`\hat M_{oh}` the change of the migrant stock, :math:`\hat P` consumer price indices,
:math:`c_{oh}` the entry cost a migrant from ``o`` pays in ``h`` (a fraction of earnings: a work
permit or patent; 0 under free movement of labour) and :math:`\eta` the migration elasticity
(:data:`MIGRATION_ELASTICITY`). At given prices the elasticity of remittances to the host's
wage is :math:`1 + \eta`. Net transfers :math:`T_j = \sum_h R_{jh} - \sum_o R_{oj}` enter
national income :math:`I_j`. Labour endowments are not changed by migration (a documented
simplification, ``docs/methods-multisector.md``). Arrays are indexed ``[origin, host]``;
in a batch they carry a leading draw axis (length D, or 1 when shared).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blocsim.equilibrium.input_checks import numeric_column, require_columns
from blocsim.errors import DataValidationError

FloatArray = NDArray[np.float64]
NON_NEGATIVE = "finite numbers >= 0"

MIGRATION_ELASTICITY = 0.3
"""Default elasticity of migrant stocks to the host/origin real-wage ratio (and to entry costs).

Calibrated to the 2014-2016 episode: the number of Tajik and Uzbek workers in Russia fell by
15.6 % and 22.2 % in two years in which the ruble lost about half
its dollar value (CABAR.asia / IWPR, "Russian crisis continues to bite for labour migrants",
2016); ``log(0.844) / log(0.5) = 0.25`` and ``log(0.778) / log(0.5) = 0.36``. A rough reading
(other currencies moved too, and the 2015 patent rules changed at the same time), so it is a
parameter: ``[model] migration_elasticity`` / ``migration_elasticity=``; 0 keeps stocks fixed.
"""

class LabourArrays(NamedTuple):
    """Remittance corridors of one problem (a batch adds a leading draw axis to every array).

    remittances : (N, N) baseline remittances ``[origin, host]``, USD millions (0 on the diagonal)
    weights : (N, N) baseline migrant stocks (persons) used to sum ``migrants_pct``; the
        remittances themselves where the data give no stocks
    entry_before, entry_after : (N, N) entry cost of a migrant from ``origin`` in ``host``,
        a fraction of earnings (0 = free movement)
    elasticity : () migration elasticity :math:`\\eta` (>= 0)
    """

    remittances: FloatArray
    weights: FloatArray
    entry_before: FloatArray
    entry_after: FloatArray
    elasticity: FloatArray


def _pairs(df: pd.DataFrame, countries: tuple[str, ...], argument: str) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Row positions (origin, host) of ``df`` among ``countries``; unknown, domestic or repeated pairs raise."""
    index = pd.Index(list(countries))
    origin = index.get_indexer(df["origin"].astype(str))
    host = index.get_indexer(df["host"].astype(str))
    for column, codes in (("origin", origin), ("host", host)):
        if (codes < 0).any():
            unknown = sorted(set(df.loc[codes < 0, column].astype(str)))[:10]
            raise DataValidationError(
                f"argument {argument!r}, column {column!r}: unknown value(s) {unknown!r}; allowed: the countries of "
                f"the baseline data (e.g. {list(countries)[:5]!r}). Fix: use the baseline's codes or drop these rows."
            )
    if (origin == host).any():
        raise DataValidationError(
            f"argument {argument!r}: rows with origin == host, e.g. {df.loc[origin == host, 'origin'].iloc[0]!r}; "
            "allowed: corridors between two countries (a transfer inside one country nets out). Fix: drop them."
        )
    flat = origin * len(countries) + host
    if len(np.unique(flat)) < len(flat):
        dup = pd.Series(flat).duplicated(keep=False).to_numpy()
        raise DataValidationError(
            f"argument {argument!r}: duplicate (origin, host) rows:\n{df.loc[dup, ['origin', 'host']].head(6).to_string()}"
            "\nFix: aggregate them (one row per corridor and year)."
        )
    return origin, host


def check_elasticity(value: object) -> float:
    """The migration elasticity as a float (>= 0, finite), or a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (
        math.isfinite(float(value)) and float(value) >= 0
    ):
        raise DataValidationError(
            f"argument 'migration_elasticity': got {value!r}; allowed: a finite number >= 0 (default "
            f"{MIGRATION_ELASTICITY}; 0 keeps migrant stocks fixed)."
        )
    return float(value)


def labour_arrays(
    remittances: pd.DataFrame | None,
    countries: tuple[str, ...],
    *,
    entry_costs: pd.DataFrame | None = None,
    migration_elasticity: float | None = None,
) -> LabourArrays | None:
    """Validate the tidy labour inputs of :func:`blocsim.solve_multisector` into :class:`LabourArrays`.

    ``remittances``: columns ``origin, host, remittances`` (USD millions, >= 0) and optionally
    ``migrants`` (persons, >= 0), one row per corridor; ``entry_costs``: columns ``origin, host,
    entry_cost_before, entry_cost_after`` (fractions of earnings >= 0; pairs not listed: 0).
    None without remittances (then the other two must be None: they would have no effect).
    """
    if remittances is None:
        unused = [name for name, value in (("entry_costs", entry_costs), ("migration_elasticity", migration_elasticity))
                  if value is not None]
        if unused:
            raise DataValidationError(
                f"argument(s) {unused!r} given without 'remittances', so they would have no effect. Fix: pass the "
                "remittance corridors (origin, host, remittances [, migrants]) or drop them."
            )
        return None
    n = len(countries)
    df = require_columns(remittances, ["origin", "host", "remittances"], "remittances")
    origin, host = _pairs(df, countries, "remittances")
    money = np.zeros((n, n))
    money[origin, host] = numeric_column(df, "remittances", "remittances", low=0.0, allowed=NON_NEGATIVE)
    weights = money.copy()
    if "migrants" in df.columns:
        weights = np.zeros((n, n))
        weights[origin, host] = numeric_column(df, "migrants", "remittances", low=0.0, allowed=NON_NEGATIVE)
    before, after = np.zeros((n, n)), np.zeros((n, n))
    if entry_costs is not None:
        costs = require_columns(entry_costs, ["origin", "host", "entry_cost_before", "entry_cost_after"], "entry_costs")
        o, h = _pairs(costs, countries, "entry_costs")
        before[o, h] = numeric_column(costs, "entry_cost_before", "entry_costs", low=0.0, allowed=NON_NEGATIVE)
        after[o, h] = numeric_column(costs, "entry_cost_after", "entry_costs", low=0.0, allowed=NON_NEGATIVE)
    eta = MIGRATION_ELASTICITY if migration_elasticity is None else check_elasticity(migration_elasticity)
    return LabourArrays(money, weights, before, after, np.asarray(eta, dtype=float))


def migrant_hat(labour: LabourArrays, log_wage: FloatArray, log_cpi: FloatArray) -> FloatArray:
    """Change of the migrant stocks :math:`\\hat M_{oh}`, shape (D, N, N), from log wages and CPIs (D, N)."""
    real = log_wage - log_cpi
    gap = real[..., None, :] - real[..., :, None]  # [o, h] = log real wage of h - of o
    cost = np.log1p(labour.entry_before) - np.log1p(labour.entry_after)
    eta = np.reshape(labour.elasticity, (-1, 1, 1))
    return np.exp(eta * (gap + cost))


def remittance_flows(labour: LabourArrays, log_wage: FloatArray, log_cpi: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Counterfactual remittances :math:`R'_{oh}` (D, N, N) in the units of the wages, and :math:`\\hat M`."""
    moved = migrant_hat(labour, log_wage, log_cpi)
    return labour.remittances * np.exp(log_wage)[..., None, :] * moved, moved


def net_transfers(flows: FloatArray) -> FloatArray:
    """Remittances received minus sent per country, ``([D,] N)`` from ``([D,] N, N)`` ``[origin, host]`` flows."""
    return flows.sum(axis=-1) - flows.sum(axis=-2)


def remittance_columns(labour: LabourArrays | None, flows_after: FloatArray, moved: FloatArray) -> dict[str, FloatArray]:
    """Per-country result columns of one draw (N,): remittances received / sent before and after
    (USD millions; after in units of the numeraire), their net change and ``migrants_pct`` (the
    country's nationals working abroad, summed with the baseline stocks as weights; 0 without any)."""
    n = flows_after.shape[-1]
    base = np.zeros((n, n)) if labour is None else labour.remittances
    weights = np.zeros((n, n)) if labour is None else labour.weights
    abroad = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        migrants = np.where(abroad > 0, (weights * moved).sum(axis=1) / np.where(abroad > 0, abroad, 1.0) - 1.0, 0.0)
    received0, sent0 = base.sum(axis=1), base.sum(axis=0)
    received1, sent1 = flows_after.sum(axis=1), flows_after.sum(axis=0)
    return {
        "remittances_received_before": received0,
        "remittances_received_after": received1,
        "remittances_sent_before": sent0,
        "remittances_sent_after": sent1,
        "remittances_net_change": (received1 - sent1) - (received0 - sent0),
        "migrants_pct": migrants * 100.0,
    }
