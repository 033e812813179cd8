"""Result object of the one-sector GE engine (:func:`blocsim.solve_ge`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from blocsim.errors import DataValidationError

COUNTRY_COLUMNS: tuple[str, ...] = (
    "country",
    "exports_pct",
    "imports_pct",
    "real_gdp_pct",
    "welfare_pct",
    "factory_price_pct",
    "omr_pct",
    "imr_pct",
    "exports_cond_pct",
    "imports_cond_pct",
    "omr_cond_pct",
    "imr_cond_pct",
    "output_pct",
    "expenditure_pct",
    "intranational_pct",
    "exports_baseline",
    "exports_counterfactual",
    "imports_baseline",
    "imports_counterfactual",
    "output_baseline",
    "output_counterfactual",
    "expenditure_baseline",
    "expenditure_counterfactual",
)
"""Columns of :attr:`GEResult.countries` (percent changes ``(CFL - BLN) / BLN * 100``; levels in USD millions)."""

FLOW_COLUMNS: tuple[str, ...] = (
    "exporter",
    "importer",
    "trade_observed",
    "trade_baseline",
    "trade_conditional",
    "trade_counterfactual",
    "trade_cond_pct",
    "trade_pct",
    "cost_change",
)
"""Columns of :attr:`GEResult.flows`."""


@dataclass(frozen=True)
class GEResult:
    """Outcome of a one-sector GE counterfactual.

    Attributes
    ----------
    countries : pandas.DataFrame
        One row per country, columns :data:`COUNTRY_COLUMNS`: ``exports_pct``/``imports_pct``
        (international flows, full endowment), ``real_gdp_pct`` (:math:`Y/P`), ``welfare_pct``
        (real expenditure :math:`E/P`), ``factory_price_pct``, ``omr_pct`` (:math:`\\Pi`),
        ``imr_pct`` (:math:`P`), the conditional-GE ``*_cond_pct`` columns, output,
        expenditure and intranational-trade changes, and baseline/counterfactual levels.
    flows : pandas.DataFrame
        One row per pair, columns :data:`FLOW_COLUMNS` (USD millions; ``cost_change`` is
        :math:`(t'/t)^{1-\\sigma}`).
    diagnostics : dict
        ``converged`` (the equilibrium holds and every reported number is finite),
        ``iterations``, ``residual`` (equilibrium residual recomputed from the returned flows;
        ``max_residual`` is the same number), ``method``, ``parts``, ``failed``, ``message``,
        and ``inner_converged``/``inner_max_residual``/``solves`` for the inner solves (see
        :mod:`blocsim.equilibrium.diagnostics`).
    settings : dict
        The inputs that define the run (sigma, baseline_method, closure, compat, reference).
    """

    countries: pd.DataFrame
    flows: pd.DataFrame
    diagnostics: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)

    def to_frame(self, which: Literal["countries", "flows", "long"] = "countries") -> pd.DataFrame:
        """Tidy copy of the results.

        Parameters
        ----------
        which : {"countries", "flows", "long"}
            ``"countries"`` (default) or ``"flows"`` return copies of those tables; ``"long"``
            returns the country table melted to ``country, measure, value``.
        """
        if which == "countries":
            return self.countries.copy()
        if which == "flows":
            return self.flows.copy()
        if which == "long":
            return self.countries.melt(id_vars="country", var_name="measure", value_name="value")
        raise DataValidationError(
            f"argument 'which': got {which!r}; allowed values are 'countries', 'flows', 'long'."
        )

    def __repr__(self) -> str:
        d = self.diagnostics
        return (
            f"GEResult({len(self.countries)} countries, method={d.get('method')!r}, "
            f"converged={d.get('converged')}, iterations={d.get('iterations')}, "
            f"residual={d.get('residual', float('nan')):.2e})"
        )
