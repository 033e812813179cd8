r"""Baseline calibration of the one-sector GE model.

Two baselines (DESIGN.md, "One-sector structural gravity GE"):

``"observed"``
    The observed flows are the baseline; counterfactuals are computed in changes (exact hat
    algebra, Dekle, Eaton and Kortum 2007). Trade-cost *levels* are never needed.
``"estimated"``
    Trade costs :math:`t_{ij}^{1-\sigma} = \exp(z_{ij}'\beta)` come from estimated gravity
    coefficients; the baseline flows are the structural fitted values
    :math:`X_{ij} = t_{ij}^{1-\sigma} Y_i E_j / (\Pi_i^{1-\sigma} P_j^{1-\sigma})` whose
    multilateral resistances make them add up to observed output and expenditure (Yotov et
    al. 2016, ch. 2, eqs. 2-38/2-39; the PPML adding-up property; USITC ``gegravity``).

This module also turns tidy tables into the ``(N, N)`` arrays the equations use and checks
them at the boundary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from blocsim.equilibrium.equations import solve_resistances
from blocsim.equilibrium.options import SolverOptions
from blocsim.equilibrium.solvers import FixedPointResult
from blocsim.errors import DataValidationError


def _require_columns(df: pd.DataFrame, columns: Sequence[str], argument: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"argument {argument!r}: missing column(s) {missing}; available columns: {list(df.columns)}. "
            "Fix: rename the columns or pass the column names (exporter=, importer=, flow=, ...)."
        )


def country_index(df: pd.DataFrame, exporter: str, importer: str, argument: str) -> tuple[str, ...]:
    """Sorted country codes of a square table; raises if exporters and importers differ."""
    _require_columns(df, [exporter, importer], argument)
    exporters = {str(c) for c in df[exporter].unique()}
    importers = {str(c) for c in df[importer].unique()}
    if exporters != importers:
        only_exp = sorted(exporters - importers)[:10]
        only_imp = sorted(importers - exporters)[:10]
        raise DataValidationError(
            f"argument {argument!r}: the table is not square: exporters only {only_exp}, importers only "
            f"{only_imp}. Fix: every country must appear as exporter and importer (with domestic flows)."
        )
    return tuple(sorted(exporters))


def pair_codes(
    df: pd.DataFrame,
    countries: Sequence[str],
    *,
    exporter: str,
    importer: str,
    argument: str,
    complete: bool = True,
) -> np.ndarray:
    """Flat pair positions ``i * N + j`` of the rows of a tidy pair table (rows exporters ``i``).

    Raises :class:`DataValidationError` for unknown countries, duplicate pairs and (when
    ``complete``) missing pairs, naming the offending pairs.
    """
    _require_columns(df, [exporter, importer], argument)
    index = pd.Index(list(countries))

    def positions(column: str) -> np.ndarray:
        codes, uniques = pd.factorize(df[column])
        pos = index.get_indexer(np.asarray([str(u) for u in uniques], dtype=object))
        return np.where(codes < 0, -1, pos[codes])

    i = positions(exporter)
    j = positions(importer)
    unknown = (i < 0) | (j < 0)
    if unknown.any():
        bad = df.loc[unknown, [exporter, importer]].head(5)
        rows = list(zip(bad[exporter].astype(str), bad[importer].astype(str)))
        raise DataValidationError(
            f"argument {argument!r}: unknown countries in pairs {rows}; allowed: the baseline's countries. "
            "Fix: drop these rows or add the countries to the baseline."
        )
    n = len(countries)
    codes = i * n + j
    counts = np.bincount(codes, minlength=n * n)
    if np.any(counts > 1):
        dup = np.nonzero(counts > 1)[0][:5]
        rows = [(countries[c // n], countries[c % n]) for c in dup]
        raise DataValidationError(
            f"argument {argument!r}: duplicate (exporter, importer) pairs, e.g. {rows}. "
            "Fix: aggregate or keep one row per pair (and one year)."
        )
    if complete and np.any(counts == 0):
        miss = np.nonzero(counts == 0)[0]
        rows = [(countries[c // n], countries[c % n]) for c in miss[:5]]
        raise DataValidationError(
            f"argument {argument!r}: {len(miss)} missing (exporter, importer) pairs, e.g. {rows}. "
            "Fix: the table must hold every pair including domestic flows (exporter == importer)."
        )
    return codes


def pair_matrix(
    df: pd.DataFrame,
    column: str,
    codes: np.ndarray,
    n: int,
    *,
    argument: str,
    fill: float = np.nan,
) -> np.ndarray:
    """Scatter ``column`` of a pair table into an ``(N, N)`` array at ``codes`` (see :func:`pair_codes`).

    Pairs absent from the table get ``fill``. Raises :class:`DataValidationError` for
    non-numeric, NaN or infinite values.
    """
    _require_columns(df, [column], argument)
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = [(c // n, c % n) for c in codes[bad][:5]]
        raise DataValidationError(
            f"argument {argument!r}, column {column!r}: {int(bad.sum())} non-numeric, NaN or infinite values "
            f"(row, column positions {rows} in sorted country order). Fix: fill or drop these rows."
        )
    out = np.full(n * n, fill, dtype=float)
    out[codes] = values
    return out.reshape(n, n)


def coefficient_vector(cost_coefficients: object) -> dict[str, float]:
    """Normalise cost coefficients to ``{variable: float}``.

    Accepts a mapping, a :class:`pandas.Series`, or an object with a ``coefficients``
    attribute holding either (e.g. the result of :func:`blocsim.estimate_gravity`).
    """
    coefs = getattr(cost_coefficients, "coefficients", cost_coefficients)
    if isinstance(coefs, pd.Series):
        coefs = coefs.to_dict()
    if not isinstance(coefs, Mapping) or not coefs:
        raise DataValidationError(
            f"argument 'cost_coefficients': got {type(cost_coefficients).__name__}; allowed: a non-empty "
            "mapping {variable: coefficient}, a pandas Series, or a result with .coefficients."
        )
    out: dict[str, float] = {}
    for name, value in coefs.items():
        try:
            out[str(name)] = float(value)
        except (TypeError, ValueError):
            raise DataValidationError(
                f"argument 'cost_coefficients', variable {name!r}: got {value!r}; allowed: a finite number."
            ) from None
        if not np.isfinite(out[str(name)]):
            raise DataValidationError(
                f"argument 'cost_coefficients', variable {name!r}: got {value!r}; allowed: a finite number."
            )
    return out


def log_trade_cost(
    df: pd.DataFrame,
    coefficients: Mapping[str, float],
    codes: np.ndarray,
    n: int,
    *,
    argument: str,
) -> np.ndarray:
    r"""``log t^{1-sigma} = sum_k beta_k z_k`` as an ``(N, N)`` array from the cost columns of ``df``."""
    _require_columns(df, list(coefficients), argument)
    total = np.zeros((n, n))
    for name, beta in coefficients.items():
        total += beta * pair_matrix(df, name, codes, n, argument=argument)
    return total


@dataclass(frozen=True)
class FittedBaseline:
    """Structural fitted baseline from estimated trade costs.

    Attributes
    ----------
    flows : numpy.ndarray
        Fitted flows, shape ``(..., N, N)``, USD millions; row sums = output, column sums = expenditure.
    omr, imr : numpy.ndarray
        Baseline :math:`\\Pi_i^{1-\\sigma}` and :math:`P_j^{1-\\sigma}` (Yotov et al. scaling:
        :math:`X = t Y E/(\\Pi^{1-\\sigma} P^{1-\\sigma})`, reference importer's ``imr`` = 1), ``(..., N)``.
    record : FixedPointResult
        Convergence record of the resistance solve.
    """

    flows: np.ndarray
    omr: np.ndarray
    imr: np.ndarray
    record: FixedPointResult


def fitted_flows(
    trade_cost: np.ndarray,
    output: np.ndarray,
    expenditure: np.ndarray,
    *,
    reference: int | None,
    options: SolverOptions | None = None,
) -> FittedBaseline:
    r"""Estimated baseline: flows implied by trade costs, output and expenditure.

    Parameters
    ----------
    trade_cost : numpy.ndarray
        :math:`t_{ij}^{1-\sigma}=\exp(z_{ij}'\beta)`, shape ``(..., N, N)`` (batch of coefficient
        draws allowed).
    output, expenditure : numpy.ndarray
        ``Y`` and ``E`` in USD millions, shape ``(..., N)``. If their totals differ (e.g.
        gegravity's sample data, where they include the rest of the world), output is rescaled
        to world expenditure, as gegravity's share formulation does.
    reference : int or None
        Reference importer index (its inward resistance is 1).
    options : SolverOptions, optional
        Solver settings.

    Returns
    -------
    FittedBaseline
    """
    output = np.asarray(output, dtype=float)
    expenditure = np.asarray(expenditure, dtype=float)
    rows = output * (np.sum(expenditure, axis=-1) / np.sum(output, axis=-1))[..., None]
    omr, imr, record = solve_resistances(trade_cost, rows, expenditure, reference=reference, options=options)
    flows = trade_cost * rows[..., :, None] * expenditure[..., None, :] / (omr[..., :, None] * imr[..., None, :])
    return FittedBaseline(flows=flows, omr=omr, imr=imr, record=record)


def check_flows(flows: np.ndarray, countries: Sequence[str], argument: str) -> None:
    """Flows must be non-negative, with positive output and expenditure and some foreign trade per country."""
    if np.any(flows < 0):
        a, b = np.nonzero(flows < 0)
        rows = [(countries[x], countries[y], float(flows[x, y])) for x, y in zip(a[:5], b[:5])]
        raise DataValidationError(
            f"argument {argument!r}: negative flows {rows}; allowed: values >= 0. Fix: correct or drop them."
        )
    foreign = flows * (1.0 - np.eye(flows.shape[0]))
    isolated = np.nonzero((foreign.sum(axis=0) <= 0) & (foreign.sum(axis=1) <= 0))[0]
    if isolated.size:
        names = [countries[k] for k in isolated[:10]]
        raise DataValidationError(
            f"argument {argument!r}: countries {names} neither export nor import (only domestic flows); their "
            "prices are not determined by the model. Fix: drop them from the table."
        )
    for axis, label in ((1, "output (row sum, as exporter)"), (0, "expenditure (column sum, as importer)")):
        zero = np.nonzero(np.sum(flows, axis=axis) <= 0)[0]
        if zero.size:
            names = [countries[k] for k in zero[:10]]
            raise DataValidationError(
                f"argument {argument!r}: countries {names} have zero {label}; allowed: positive totals. "
                "Fix: drop these countries or add their domestic flows."
            )
