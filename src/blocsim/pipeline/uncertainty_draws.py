"""Parameter draws for :mod:`blocsim.pipeline.uncertainty`: distributions, per-draw seeds, coefficients.

- :func:`as_distribution` turns a frozen :mod:`scipy.stats` distribution or a small spec
  (``("normal", mean, sd)``, ``("lognormal", median, sd_of_log)``, ``("uniform", low, high)``,
  ``("triangular", low, mode, high)``, or the same as a dict) into a frozen distribution.
- :func:`draw_rng` gives draw ``d`` its own generator, child ``d`` of ``SeedSequence(seed)``,
  so a draw's parameters never depend on chunking or on where the chunk runs.
- :class:`Parameter` is an elasticity, fixed or drawn (redrawn below its domain bound).
- :func:`coefficient_draws_root` returns ``beta_hat`` and a square root ``R`` of the PPML
  covariance (``R R' = V``, symmetric root so semi-definite ``V`` works): ``beta = beta_hat + R z``.
- :func:`check_draws` and :func:`check_seed` bound a request before anything is allocated:
  at most :data:`MAX_DRAWS` draws, and a result that fits in :data:`MAX_RESULT_BYTES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from blocsim.equilibrium.baseline import coefficient_vector
from blocsim.errors import DataValidationError

_SPECS = {"normal": 2, "lognormal": 2, "uniform": 2, "triangular": 3}

MAX_DRAWS = 1_000_000
"""Most Monte Carlo draws one call accepts."""
MAX_RESULT_BYTES = 2 * 1024**3
"""Memory budget (bytes) of a Monte Carlo result, estimated by :func:`result_bytes`."""


def result_bytes(draws: int, variables: int, countries: int, parameters: int) -> int:
    """Estimated peak bytes of a Monte Carlo result, float64 throughout.

    The samples ``(D, V, N)`` are held three times at the peak (the chunks, their
    concatenation and the sorted copy ``numpy.percentile`` makes), plus the parameter table
    ``(D, 1 + P)`` (draw number and P elasticities or coefficients).
    """
    return 8 * int(draws) * (3 * int(variables) * int(countries) + 1 + int(parameters))


def check_draws(draws: Any, *, variables: int, countries: int, parameters: int) -> int:
    """``draws`` as an int, or :class:`DataValidationError` before anything is allocated.

    Allowed: an integer in ``[2, MAX_DRAWS]`` whose result (:func:`result_bytes` of ``draws``
    draws of ``variables`` x ``countries`` values and ``parameters`` drawn parameters) fits
    in :data:`MAX_RESULT_BYTES`.
    """
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or not 2 <= draws <= MAX_DRAWS:
        raise DataValidationError(f"argument 'draws': got {draws!r}; allowed: an integer from 2 to {MAX_DRAWS:,}. "
                                  "Fix: e.g. draws=1000.")
    need = result_bytes(draws, variables, countries, parameters)
    if need > MAX_RESULT_BYTES:
        fit = MAX_RESULT_BYTES // result_bytes(1, variables, countries, parameters)
        raise DataValidationError(
            f"argument 'draws': got {draws:,}; the result ({variables} variables x {countries} countries per draw) "
            f"would need about {need / 1024**3:.2f} GiB, more than the {MAX_RESULT_BYTES / 1024**3:.0f} GiB "
            f"allowed. Fix: at most {fit:,} draws, or fewer variables."
        )
    return int(draws)


def check_seed(seed: Any) -> int:
    """``seed`` as an int (a non-negative integer, as :class:`numpy.random.SeedSequence` needs)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataValidationError(f"argument 'seed': got {seed!r}; allowed: an integer >= 0. Fix: e.g. seed=0.")
    return int(seed)


def as_distribution(spec: Any, argument: str) -> Any:
    """A frozen :mod:`scipy.stats` distribution from a frozen distribution or a small spec.

    Parameters
    ----------
    spec : frozen distribution, tuple or dict
        ``("normal", mean, sd)``, ``("lognormal", median, sd_of_log)``, ``("uniform", low,
        high)``, ``("triangular", low, mode, high)``, or ``{"dist": name, ...}`` with the
        same numbers under ``mean, sd`` / ``median, sd_log`` / ``low, high`` / ``low, mode, high``.
    argument : str
        Argument name for error messages.
    """
    if hasattr(spec, "rvs") and hasattr(spec, "ppf"):
        return spec
    if isinstance(spec, Mapping):
        order = {"normal": ("mean", "sd"), "lognormal": ("median", "sd_log"), "uniform": ("low", "high"),
                 "triangular": ("low", "mode", "high")}
        kind = spec.get("dist")
        if kind not in order or set(spec) != {"dist", *order[kind]}:  # every field, and no other
            raise DataValidationError(
                f"argument {argument!r}: got {dict(spec)!r}; allowed: {{'dist': name, ...}} with name in "
                f"{list(order)} and fields {order}. Fix: e.g. {{'dist': 'normal', 'mean': 7, 'sd': 0.5}}"
            )
        spec = (kind, *(spec[k] for k in order[kind]))
    if not isinstance(spec, (tuple, list)) or not spec or spec[0] not in _SPECS or len(spec) != _SPECS[spec[0]] + 1:
        raise DataValidationError(
            f"argument {argument!r}: got {spec!r}; allowed: a number, a frozen scipy.stats distribution, or "
            "('normal', mean, sd), ('lognormal', median, sd_of_log), ('uniform', low, high), "
            "('triangular', low, mode, high). Fix: e.g. ('normal', 7.0, 0.5)"
        )
    kind, *p = spec
    p = [float(v) for v in p]
    if kind == "normal" and p[1] > 0:
        return stats.norm(loc=p[0], scale=p[1])
    if kind == "lognormal" and p[0] > 0 and p[1] > 0:
        return stats.lognorm(s=p[1], scale=p[0])
    if kind == "uniform" and p[1] > p[0]:
        return stats.uniform(loc=p[0], scale=p[1] - p[0])
    if kind == "triangular" and p[0] <= p[1] <= p[2] and p[2] > p[0]:
        return stats.triang(c=(p[1] - p[0]) / (p[2] - p[0]), loc=p[0], scale=p[2] - p[0])
    raise DataValidationError(
        f"argument {argument!r}: got {spec!r}; the {kind} parameters are out of range (sd > 0, low < high, "
        "low <= mode <= high, median > 0). Fix: correct the numbers."
    )


def draw_rng(seed: int, draw: int) -> np.random.Generator:
    """Generator of draw ``draw``: child ``draw`` of ``SeedSequence(seed)`` (chunking-independent)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(draw,)))


@dataclass(frozen=True)
class Parameter:
    """An elasticity: fixed (``dist is None``) or drawn, with its point value and lower bound.

    Attributes
    ----------
    name : str
        Label (``"sigma"``, ``"theta[agri_food]"``).
    point : float
        Value of the point estimate (the number given, or the distribution's median).
    dist : frozen scipy.stats distribution or None
        Distribution of the draws.
    lower : float
        Exclusive lower bound of the domain (draws at or below it are redrawn).
    """

    name: str
    point: float
    dist: Any
    lower: float

    def draw(self, rng: np.random.Generator) -> float:
        """One value from ``rng`` (up to 1000 tries above ``lower``)."""
        if self.dist is None:
            return self.point
        for _ in range(1000):
            value = float(self.dist.rvs(random_state=rng))
            if value > self.lower:
                return value
        raise DataValidationError(
            f"argument {self.name!r}: 1000 draws in a row were <= {self.lower}; allowed: a distribution with "
            f"most of its mass above {self.lower}. Fix: use a lognormal or a truncated distribution."
        )


def parameter(value: Any, name: str, lower: float) -> Parameter:
    """A :class:`Parameter` from a number (fixed) or a distribution/spec (drawn)."""
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        if not float(value) > lower:
            raise DataValidationError(f"argument {name!r}: got {value!r}; allowed: a number > {lower}.")
        return Parameter(name, float(value), None, lower)
    dist = as_distribution(value, name)
    return Parameter(name, float(dist.median()), dist, lower)


def coefficient_draws_root(
    cost_coefficients: Any, vcov: Any, vary: bool | None
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray | None]:
    """Names, ``beta_hat`` (K,) and the root ``R`` (K, K) of their covariance, or ``None`` if fixed.

    ``vcov`` defaults to ``cost_coefficients.vcov`` (an ``estimate_gravity`` result); ``vary``
    None draws whenever a covariance is available. ``vcov`` or ``vary`` without
    ``cost_coefficients`` is an error (there is nothing to draw).
    """
    if cost_coefficients is None:
        if vcov is not None or vary is not None:
            raise DataValidationError("arguments 'vcov'/'vary_coefficients' describe draws of 'cost_coefficients', "
                                      "which is not given. Fix: pass cost_coefficients= or drop them.")
        return (), np.zeros(0), None
    coefs = coefficient_vector(cost_coefficients)
    names = tuple(coefs)
    cov = vcov if vcov is not None else getattr(cost_coefficients, "vcov", None)
    if vary is False or (cov is None and vary is None):
        return names, np.array([coefs[n] for n in names]), None
    if cov is None:
        raise DataValidationError(
            "argument 'vcov': vary_coefficients=True needs the coefficients' covariance. Fix: pass the result of "
            "estimate_gravity(...) as cost_coefficients, or vcov=<DataFrame indexed by covariate>."
        )
    cov = pd.DataFrame(cov)
    missing = [n for n in names if n not in cov.index or n not in cov.columns]
    if missing:
        raise DataValidationError(
            f"argument 'vcov': covariates {missing} are not in its index/columns {list(cov.index)}. Fix: pass the "
            "covariance of the same estimation (rows and columns named by covariate)."
        )
    matrix = cov.loc[list(names), list(names)].to_numpy(dtype=float)
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    if not np.all(np.isfinite(matrix)) or values.min() < -1e-10 * max(values.max(), 1e-300):
        raise DataValidationError(
            f"argument 'vcov': not a covariance matrix (eigenvalues {values.round(12).tolist()}); allowed: "
            "symmetric positive semi-definite. Fix: pass estimate_gravity(...).vcov."
        )
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    return names, np.array([coefs[n] for n in names]), root
