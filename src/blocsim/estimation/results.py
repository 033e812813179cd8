"""The result of a PPML gravity estimation: coefficients, covariance, fit and fixed effects."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from blocsim.errors import DataValidationError


@dataclass(frozen=True, eq=False)
class GravityResults:
    """Estimates of a structural gravity equation by PPML (returned by ``estimate_gravity``).

    Attributes
    ----------
    coefficients : pandas.Series
        Point estimates, indexed by covariate name (semi-elasticities of the flow).
    std_errors : pandas.Series
        Standard errors of :attr:`coefficients` (see :attr:`vcov_type`).
    vcov : pandas.DataFrame
        Covariance matrix of the coefficients, shape (K, K).
    n_obs : int
        Observations used, after dropping rows separated by the fixed effects (flows that are
        zero for a whole fixed-effect group) and singletons.
    n_dropped : int
        Input rows (after the ``years`` / ``domestic`` selection) not used.
    converged : bool
        Whether the IRLS iterations met their tolerance and every covariate has a finite
        estimate (False only when ``estimate_gravity(raise_on_failure=False)``).
    deviance : float
        Poisson deviance at the estimate.
    pseudo_r2 : float
        McFadden pseudo R-squared reported by pyfixest.
    vcov_type : str
        ``"robust"`` (heteroskedasticity-robust, Stata's ``N/(N-1)`` factor) or
        ``"cluster(<column>)"`` (``G/(G-1)`` factor), as in Stata's ``ppml`` / ``ppmlhdfe``.
    fixed_effects : str
        The fixed-effects specification used.
    formula : str
        Readable model, e.g. ``"trade ~ ln_DIST + CNTG | exporter + importer"``.
    fitted : pandas.Series
        Fitted flows (same units as the flow) for every input row that was used, indexed like
        the input table; rows not used are NaN.
    fixed_effect_values : dict of str to pandas.Series
        Estimated fixed effects (log scale) per dimension: ``"exporter"`` / ``"importer"``
        indexed by country, ``"exporter_year"`` / ``"importer_year"`` by (country, year),
        ``"pair"`` by ``"EXP|IMP"`` (``"A|B"`` with A < B for symmetric pairs) or
        ``"domestic"`` for a shared domestic effect. Identified only up to normalisation
        (e.g. a constant moved between exporter and importer effects).
    row_effects : pandas.DataFrame
        The same effects per input row (indexed like the input table, one column per
        dimension; NaN for rows not used, e.g. pairs whose flows are all zero).
    method : str
        ``"ppml"`` (Poisson pseudo-maximum likelihood, pyfixest ``fepois``).
    n_separated : int
        Observations dropped as separated (zero flows perfectly predicted by the fixed
        effects or the covariates; part of ``n_dropped``).
    not_identified : tuple of str
        Covariates with no finite estimate (separation); their estimates, standard errors
        and covariances are NaN and ``converged`` is False.
    fit_warnings : tuple of str
        Every warning pyfixest issued during the fit, in order (pandas deprecation notices
        excluded). Those not reported by a field above were also re-issued as warnings.
    """

    coefficients: pd.Series
    std_errors: pd.Series
    vcov: pd.DataFrame
    n_obs: int
    n_dropped: int
    converged: bool
    deviance: float
    pseudo_r2: float
    vcov_type: str
    fixed_effects: str
    formula: str
    fitted: pd.Series = field(repr=False)
    _effects: Callable[[], tuple[Mapping[str, pd.Series], pd.DataFrame]] = field(repr=False)
    method: str = "ppml"
    n_separated: int = 0
    not_identified: tuple[str, ...] = ()
    fit_warnings: tuple[str, ...] = ()

    @property
    def diagnostics(self) -> dict[str, object]:
        """Fit diagnostics: ``converged``, ``method``, ``n_obs``, ``n_dropped``,
        ``n_separated``, ``not_identified`` (list) and ``fit_warnings`` (list)."""
        return {
            "converged": self.converged,
            "method": self.method,
            "n_obs": self.n_obs,
            "n_dropped": self.n_dropped,
            "n_separated": self.n_separated,
            "not_identified": list(self.not_identified),
            "fit_warnings": list(self.fit_warnings),
        }

    @cached_property
    def fixed_effect_values(self) -> Mapping[str, pd.Series]:
        """Estimated fixed effects per dimension (computed on first use)."""
        return self._effects()[0]

    @cached_property
    def row_effects(self) -> pd.DataFrame:
        """Estimated fixed effects per input row (computed on first use)."""
        return self._effects()[1]

    def to_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """Tidy coefficient table.

        Parameters
        ----------
        alpha
            Level of the confidence interval (0.05 gives 95 %).

        Returns
        -------
        pandas.DataFrame
            Columns ``term, estimate, std_error, z, p_value, ci_low, ci_high``, one row per
            covariate (normal approximation, as Stata's ``ppml``).
        """
        if not 0.0 < alpha < 1.0:
            raise DataValidationError(f"to_frame(alpha={alpha!r}): alpha must be in (0, 1), e.g. 0.05")
        estimate = self.coefficients.to_numpy(dtype=float)
        se = self.std_errors.to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = estimate / se
        critical = stats.norm.ppf(1.0 - alpha / 2.0)
        return pd.DataFrame(
            {
                "term": self.coefficients.index.astype(str),
                "estimate": estimate,
                "std_error": se,
                "z": z,
                "p_value": 2.0 * stats.norm.sf(np.abs(z)),
                "ci_low": estimate - critical * se,
                "ci_high": estimate + critical * se,
            }
        )

    def cost_coefficients(self, names: Sequence[str] | None = None) -> dict[str, float]:
        """Coefficients as a plain ``{covariate: value}`` mapping for ``blocsim.solve_ge``.

        Parameters
        ----------
        names
            Covariates to return (default: all).

        Raises
        ------
        DataValidationError
            If a name was not estimated, or has no finite estimate (see
            :attr:`not_identified`), or the fit did not converge.
        """
        chosen = list(self.coefficients.index) if names is None else list(names)
        unknown = [name for name in chosen if name not in self.coefficients.index]
        if unknown:
            raise DataValidationError(
                f"cost_coefficients(names={chosen!r}): {unknown} were not estimated; estimated "
                f"covariates: {list(self.coefficients.index)}"
            )
        missing = [name for name in chosen if not np.isfinite(self.coefficients[name])]
        if missing or not self.converged:
            raise DataValidationError(
                f"cost_coefficients(names={chosen!r}): the PPML fit did not converge (converged=False"
                f"{f'; no finite estimate for {missing}' if missing else ''}), so its coefficients are no trade "
                f"costs; fix: see estimate_gravity's error (call it with raise_on_failure=True) and change the "
                f"covariates or the data"
            )
        return {name: float(self.coefficients[name]) for name in chosen}

    def summary(self) -> str:
        """Plain-text table of estimates, standard errors and fit statistics."""
        table = self.to_frame()
        lines = [
            f"PPML gravity estimation: {self.formula}",
            f"fixed effects: {self.fixed_effects}; standard errors: {self.vcov_type}",
            f"observations: {self.n_obs} (dropped: {self.n_dropped}, separated: {self.n_separated}); "
            f"converged: {self.converged}; pseudo R2: {self.pseudo_r2:.4f}",
            *([f"no finite estimate (separation): {list(self.not_identified)}"] if self.not_identified else []),
            *(f"pyfixest: {message}" for message in self.fit_warnings),
            "",
            f"{'term':<20}{'estimate':>12}{'std.err':>12}{'z':>9}{'p':>8}",
        ]
        for row in table.itertuples(index=False):
            lines.append(
                f"{row.term:<20}{row.estimate:>12.6f}{row.std_error:>12.6f}{row.z:>9.2f}{row.p_value:>8.3f}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
