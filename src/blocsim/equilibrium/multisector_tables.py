"""Tidy result tables of the multi-sector GE: countries, flows, bloc effects, partner groups.

Definitions (see ``docs/methods-multisector.md``):

- Price and quantity changes are percent changes ``(counterfactual - baseline) / baseline * 100``.
- Trade values are before tariffs, international flows only (exporter != importer).
- Trade creation / diversion of a bloc member ``j`` in sector ``s``: with purchases before
  tariffs ``E = intra + extra + domestic`` (from bloc partners, non-members, home) and shares
  ``s_D = domestic / E``, ``s_N = extra / E``::

      income_effect   = (E' - E) * (1 - s_D)        imports at unchanged sourcing shares
      trade_creation  = -E' * (s_D' - s_D)          purchases switched from home producers to imports
      trade_diversion = -E' * (s_N' - s_N)          purchases switched away from non-members

  so that ``d(imports) = income_effect + trade_creation`` and
  ``d(intra) = (E' - E) s_B + trade_creation + trade_diversion``. Rows with ``sector="all"``
  are sums over sectors.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blocsim.equilibrium.cp_decomposition import FirstOrderInputs, first_order_terms
from blocsim.equilibrium.labour import remittance_columns
from blocsim.equilibrium.multisector_conditional import Conditional
from blocsim.equilibrium.multisector_core import Calibration, Equilibrium
from blocsim.equilibrium.welfare_decomposition import component_column, exact_decomposition
from blocsim.errors import DataValidationError

FloatArray = NDArray[np.float64]


def _pct(new: FloatArray, old: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(old != 0, (new - old) / np.where(old != 0, old, 1.0) * 100.0, np.nan)


def _international(flows: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Exports (by exporter) and imports (by importer), shape (N,), domestic flows excluded."""
    total = flows.sum(axis=0)
    np.fill_diagonal(total, 0.0)  # drop domestic flows before summing (no cancellation)
    return total.sum(axis=1), total.sum(axis=0)


def country_table(cal: Calibration, eq: Equilibrium, cond: Conditional, new_flows: FloatArray) -> pd.DataFrame:
    """One row per country; see :class:`blocsim.equilibrium.multisector.MultiSectorResult`."""
    p = cal.problem
    alpha_tot = cal.alpha.sum(axis=0)
    log_cpi = np.sum(cal.alpha * eq.log_price_hat, axis=0) / np.where(alpha_tot > 0, alpha_tot, 1.0)
    cpi = np.exp(log_cpi)
    absorb = cal.spending / cal.spending.sum(axis=0, keepdims=True)
    imr = np.exp(np.sum(absorb * eq.log_price_hat, axis=0))
    omr = _omr(cal, eq, new_flows)
    exp0, imp0 = _international(p.flows)
    exp1, imp1 = _international(new_flows)
    gdp0 = cal.value_added + cal.revenue_collected
    gdp1 = eq.wage_hat * cal.value_added + eq.revenue_collected
    income_hat = eq.income / cal.income
    return pd.DataFrame(
        {
            "country": list(p.countries),
            "welfare_pct": (income_hat / cpi - 1.0) * 100.0,
            "real_gdp_pct": (gdp1 / gdp0 / cpi - 1.0) * 100.0,
            "real_wage_pct": (eq.wage_hat / cpi - 1.0) * 100.0,
            "price_index_pct": (cpi - 1.0) * 100.0,
            "factory_price_pct": (eq.wage_hat - 1.0) * 100.0,
            "omr_pct": (omr - 1.0) * 100.0,
            "imr_pct": (imr - 1.0) * 100.0,
            "exports_pct": _pct(exp1, exp0),
            "imports_pct": _pct(imp1, imp0),
            "exports_cond_pct": _pct(cond.exports, exp0) if cond.record.converged else np.nan,
            "imports_cond_pct": _pct(cond.imports, imp0) if cond.record.converged else np.nan,
            "tariff_revenue_collected_before": cal.revenue_collected,
            "tariff_revenue_collected_after": eq.revenue_collected,
            "tariff_revenue_received_before": cal.revenue_received,
            "tariff_revenue_received_after": eq.revenue_received,
            "tariff_revenue_change": eq.revenue_received - cal.revenue_received,
            "pool_contribution_before": cal.pool_contribution,
            "pool_contribution_after": eq.pool_contribution,
            "income_baseline": cal.income,
            "income_counterfactual": eq.income,
            "exports_baseline": exp0,
            "exports_counterfactual": exp1,
            "imports_baseline": imp0,
            "imports_counterfactual": imp1,
            "deficit_baseline": cal.deficit,
            "deficit_counterfactual": imp1 - exp1,
            **remittance_columns(p.labour, eq.remittances, eq.migrants_hat),
            **welfare_columns(cal, eq, new_flows),
        }
    )


def first_order_inputs(cal: Calibration, eq: Equilibrium) -> FirstOrderInputs:
    """What the Caliendo-Parro first-order terms need of a solved counterfactual."""
    return FirstOrderInputs(tariff_before=cal.problem.tariff_before, log_cost_hat=eq.log_cost_hat, income=cal.income)


def welfare_columns(cal: Calibration, eq: Equilibrium, new_flows: FloatArray) -> dict[str, FloatArray]:
    """The welfare decomposition columns of the country table, percentage points of baseline real income.

    ``welfare_from_<term>_pct`` for every term of the exact decomposition
    (:mod:`blocsim.equilibrium.welfare_decomposition`; they sum to ``welfare_pct``), then the
    first-order terms of Caliendo and Parro (2015) ``welfare_tot_pct`` and ``welfare_vot_pct``
    (:mod:`blocsim.equilibrium.cp_decomposition`; not part of the exact sum).
    """
    exact = exact_decomposition(cal, eq, new_flows)
    tot, vot = first_order_terms(first_order_inputs(cal, eq), cal.problem.flows, new_flows)
    return {
        **{component_column(name): value for name, value in exact.terms.items()},
        "welfare_tot_pct": tot.sum(axis=(0, 2)),
        "welfare_vot_pct": vot.sum(axis=(0, 2)),
    }


def _omr(cal: Calibration, eq: Equilibrium, new_flows: FloatArray) -> FloatArray:
    r"""Output-weighted geometric mean over sectors of the outward resistance change.

    :math:`\hat\Pi_{is}^{-\theta_s} = \hat c_{is}^{\theta_s} \sum_j X'_{ijs}
    \frac{1+\tau'_{ijs}}{1+\tau_{ijs}} / (Y_{is} \hat Y^W_s)` (Anderson-van Wincoop's
    :math:`\Pi` in changes; equals :math:`\hat p^{\sigma/(1-\sigma)}` of the one-sector model when
    S = 1, no tariffs and world output is the numeraire).
    """
    p = cal.problem
    gross = new_flows
    if p.tariff_before is not None or p.tariff_after is not None:
        t1 = 1.0 + (0.0 if p.tariff_after is None else p.tariff_after)
        t0 = 1.0 + (0.0 if p.tariff_before is None else p.tariff_before)
        gross = new_flows * (t1 / t0)
    sold = gross.sum(axis=2)
    world = eq.output.sum(axis=1, keepdims=True) / cal.output.sum(axis=1, keepdims=True)
    theta = p.theta[:, None]
    ok = (cal.output > 0) & (sold > 0)
    log_pi = np.where(
        ok,
        -eq.log_cost_hat - np.log(np.divide(sold, cal.output * world, out=np.ones_like(sold), where=ok)) / theta,
        0.0,
    )
    weight = np.where(ok, cal.output, 0.0)
    weight = weight / np.maximum(weight.sum(axis=0, keepdims=True), 1e-300)
    return np.exp(np.sum(weight * log_pi, axis=0))


def flows_frame(countries: Sequence[str], sectors: Sequence[str], old: FloatArray, new: FloatArray) -> pd.DataFrame:
    """Per (exporter, importer, sector): baseline and counterfactual flows before tariffs."""
    s_count, n, _ = old.shape
    s_idx, i_idx, j_idx = np.meshgrid(np.arange(s_count), np.arange(n), np.arange(n), indexing="ij")
    c = np.asarray(countries, dtype=object)
    return pd.DataFrame(
        {
            "exporter": c[i_idx.ravel()],
            "importer": c[j_idx.ravel()],
            "sector": np.asarray(sectors, dtype=object)[s_idx.ravel()],
            "trade_baseline": old.ravel(),
            "trade_counterfactual": new.ravel(),
            "trade_pct": _pct(new.ravel(), old.ravel()),
        }
    )


def member_mask(codes: Iterable[str], countries: Sequence[str], argument: str) -> NDArray[np.bool_]:
    """Boolean mask (N,) of ``codes`` among ``countries``; unknown codes are an error."""
    wanted = [str(c) for c in codes]
    unknown = sorted(set(wanted) - set(countries))
    if unknown or not wanted:
        raise DataValidationError(
            f"argument {argument!r}: {unknown or wanted!r} are not countries of the baseline data "
            f"(has {list(countries)[:8]!r}...). Fix: give ISO3 codes present in the baseline."
        )
    return np.isin(np.asarray(countries), wanted)


def bloc_table(
    countries: Sequence[str], sectors: Sequence[str], bloc: NDArray[np.bool_], old: FloatArray, new: FloatArray
) -> pd.DataFrame:
    """Trade creation and diversion of each bloc member, by sector and in total."""
    n = len(countries)
    eye = np.eye(n, dtype=bool)
    intra_src = bloc[:, None] & ~eye  # partner i of member j
    extra_src = ~bloc[:, None] & np.ones((1, n), dtype=bool)

    def parts(f: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        intra = np.einsum("sij,ij->sj", f, intra_src.astype(float))
        extra = np.einsum("sij,ij->sj", f, extra_src.astype(float))
        return intra, extra, np.einsum("sii->si", f)

    b_in, b_ex, b_dom = parts(old)
    c_in, c_ex, c_dom = parts(new)
    e0 = b_in + b_ex + b_dom
    e1 = c_in + c_ex + c_dom
    with np.errstate(divide="ignore", invalid="ignore"):
        sd0 = np.where(e0 > 0, b_dom / e0, 0.0)
        sn0 = np.where(e0 > 0, b_ex / e0, 0.0)
        sd1 = np.where(e1 > 0, c_dom / e1, sd0)
        sn1 = np.where(e1 > 0, c_ex / e1, sn0)
    table = {
        "intra_baseline": b_in, "intra_counterfactual": c_in,
        "extra_baseline": b_ex, "extra_counterfactual": c_ex,
        "domestic_baseline": b_dom, "domestic_counterfactual": c_dom,
        "income_effect": (e1 - e0) * (1.0 - sd0),
        "trade_creation": -e1 * (sd1 - sd0),
        "trade_diversion": -e1 * (sn1 - sn0),
    }
    members = np.flatnonzero(bloc)
    rows = []
    labels = list(sectors) + ["all"]
    for name, arr in table.items():
        full = np.vstack([arr, arr.sum(axis=0, keepdims=True)])[:, members]  # (S+1, M)
        rows.append(full.T.ravel())
    frame = pd.DataFrame(dict(zip(table, rows)))
    frame.insert(0, "sector", np.tile(np.asarray(labels, dtype=object), len(members)))
    frame.insert(0, "country", np.repeat(np.asarray(countries, dtype=object)[members], len(labels)))
    frame["intra_pct"] = _pct(frame["intra_counterfactual"].to_numpy(), frame["intra_baseline"].to_numpy())
    frame["extra_pct"] = _pct(frame["extra_counterfactual"].to_numpy(), frame["extra_baseline"].to_numpy())
    return frame


def partner_table(
    countries: Sequence[str], groups: Mapping[str, str], old: FloatArray, new: FloatArray
) -> pd.DataFrame:
    """Exports and imports (before tariffs, domestic excluded) of each country by partner group."""
    labels = np.asarray([str(groups.get(c, "other")) for c in countries], dtype=object)
    names = sorted(set(labels))
    onehot = (labels[:, None] == np.asarray(names, dtype=object)[None, :]).astype(float)  # (N, G)
    out = {}
    for key, f in (("baseline", old), ("counterfactual", new)):
        total = f.sum(axis=0)
        total = total - np.diag(np.diagonal(total))
        out[f"exports_{key}"] = total @ onehot  # (N, G) exporter -> group
        out[f"imports_{key}"] = total.T @ onehot
    n, g = len(countries), len(names)
    frame = pd.DataFrame(
        {
            "country": np.repeat(np.asarray(countries, dtype=object), g),
            "partner_group": np.tile(np.asarray(names, dtype=object), n),
            **{k: v.ravel() for k, v in out.items()},
        }
    )
    frame["exports_pct"] = _pct(frame["exports_counterfactual"].to_numpy(), frame["exports_baseline"].to_numpy())
    frame["imports_pct"] = _pct(frame["imports_counterfactual"].to_numpy(), frame["imports_baseline"].to_numpy())
    return frame
