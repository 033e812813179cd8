r"""Exact decomposition of the multi-sector welfare change into its sources.

Every country's ``welfare_pct`` (real income ``I'/I / CPI^``, :func:`blocsim.solve_multisector`)
is split into terms that add up to it exactly (to floating-point rounding, ~1e-13 pp):

.. math::
    \hat W - 1 = \frac{I' - I}{I} - \frac{I'}{I}\Big(1 - \frac{1}{\widehat{CPI}}\Big),\qquad
    I = VA + R + T + \tilde D + M + Q + W

an identity, with value added ``VA``, duties *collected* at the country's own border ``R``,
the duty-pool transfer ``T = received - collected`` (zero outside a pool; with a collection
efficiency below 1 a member's duty income ``received`` includes the uncollected share of its own
duties, so ``T`` is what it receives from the pool minus what it pays in, and the uncollected
share counts with ``R``, :mod:`blocsim.equilibrium.duty_pool`) and the part of the
trade deficit not financed by the pool ``D~``, remittances received minus sent ``M`` (zero
without the labour channel) and the change of income transfers tied to trade flows ``Q`` (re-export
rents; zero in the baseline, whose rents sit in ``D~``) and the income ``W`` a world price
measure moves (zero in the baseline; in ``terms_of_trade``) (counterfactual values in units of the
numeraire, baseline in USD millions). The income change is split by these pieces; the
consumer-price term by the *source* of each price change (below). The terms, in percentage
points (``welfare_from_<name>_pct``):

``terms_of_trade``
    ``(VA' - VA + sum tau M'(1 - 1/c^) + W')/I`` minus the price cost of changes in what suppliers
    charge (own wage through the domestic supplier and its input-output links, partners' unit
    costs): export prices against import prices, as in Caliendo and Parro (2015), whose
    terms-of-trade term also counts the duties' share of dearer imports (``tau M dln c``).
    ``W'`` is the income a world price measure moves at short-run fixed quantities, the change
    times the country's net exports of the sector (:mod:`blocsim.equilibrium.world_prices`;
    zero without one): the first-order terms-of-trade effect of a world price change.
``volume_of_trade``
    ``sum_{i,s} tau_nis (M'_nis / c^_is - M_nis) / I``: baseline tariffs times the change of
    import volumes at constant exporter costs, the tariff-revenue efficiency of Caliendo and
    Parro (2015) (their ``tau M (dln M - dln c)``, here exact for the discrete change).
``tariff_revenue``
    ``sum (tau' - tau) M' / I`` minus the price cost of the country's own tariff changes: what
    its new rates collect on its counterfactual imports, net of what they add to its buyers'
    prices. Zero to first order (a transfer from buyers to the treasury); its second-order
    part is the rate's Harberger triangle. The money a pool takes away is the next term.
``pool_transfer``
    ``(T' - T)/I``: the change of (received from the pool - paid into it) over baseline income.
``remittances``
    Remittances and other current transfers: the change of remittances received minus sent
    (the labour channel, :mod:`blocsim.equilibrium.labour`; zero without it) (the column
    is kept so that run directories keep their columns when it arrives).
``reexport_rents``
    ``(Q' - Q)/I``: the change of re-export rents earned minus paid (income transfers tied to
    flows, :mod:`blocsim.equilibrium.income_transfers`; zero without them). A transit member
    earns the margin on rerouted goods, their origin pays it; the terms sum to zero in USD
    over countries. Kept apart from ``remittances``: a trade margin, not a labour transfer.
``border_costs``
    Minus the price cost of non-tariff cost changes on the country's purchases (border costs,
    bans: a ban's cost is the limit of the index below as the flow vanishes).
``productivity``
    Minus the price cost of the country's own productivity changes (through its domestic
    supplier and input-output links; a partner's productivity is a terms-of-trade effect).
``deficit_closure``
    ``(D~' - D~)/I``: what the deficit closure moves (zero under ``closure="level"`` with the
    default numeraire).

How the price term is split exactly. For every market (importer ``n``, sector ``s``) the CES
price index change is a Sato-Vartia index of the suppliers' delivered price changes,
:math:`\ln\hat P_{ns} = \sum_i \omega_{nis}\ln\hat p_{nis}`, with weights
:math:`\omega \propto L(\pi'_{nis}, \pi_{nis})` (the logarithmic mean of the import shares):
exact for CES, because :math:`\ln\hat p_{nis} = \ln\hat P_{ns} - \ln(\pi'/\pi)/\theta_s` and
:math:`\sum_i L(\pi', \pi)\ln(\pi'/\pi) = \sum_i (\pi' - \pi) = 0`. A closed flow has weight 0
and contributes its limit :math:`\pi_{nis}/\theta_s` (to the non-tariff term for a ban, to the
tariff term for a prohibitive tariff). Each delivered price is a product, ``ln p^ = ln c^ +
ln((1+tau')/(1+tau)) + ln d^`` (``d^ = f^(-1/theta)`` the non-tariff factor); the domestic
supplier's cost is ``gamma ln w^ + sum_k gamma_k ln P^_nk - ln A``, so the parts of the
country's own price indices enter its own costs: a linear system per country, ``(1 -
diag(omega_dom) G') ln P^ = b``, solved for each source (invertible: value-added shares are
positive). The consumer price index is the final-demand-weighted sum; the price term
``(I'/I)(1 - 1/CPI^)`` is shared in proportion to these log parts (the factor
``(1 - exp(-x))/x`` turns the log of the index into its percent effect).

Adding up. The terms above are computed directly except ``terms_of_trade``, which closes the
identity (``welfare_pct`` minus the others). The identity is exact, so the closing term equals
its direct formula to rounding plus the solver's tolerance (the input-price iterate against
the price index it implies, < 1e-12 in logs): :func:`exact_decomposition` returns both, and
the tests check them against each other. Nominal pieces are in units of the numeraire (world
value added unchanged by default): the split between income pieces and the price term depends
on it, their sum does not.

References
----------
Caliendo, L. and Parro, F. (2015). Estimates of the Trade and Welfare Effects of NAFTA.
Review of Economic Studies 82(1), 1-44 (section 4: terms of trade and volume of trade).
Sato, K. (1976). The Ideal Log-Change Index Number. Review of Economics and Statistics 58(2),
223-228; Vartia, Y. O. (1976). Ideal Log-Change Index Numbers. Scandinavian Journal of
Statistics 3(3), 121-126.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from blocsim.equilibrium.multisector_core import Calibration, Equilibrium, log_consumer_prices

FloatArray = NDArray[np.float64]

#: The terms of the exact decomposition, in the order they are reported.
WELFARE_COMPONENTS: tuple[str, ...] = (
    "terms_of_trade", "volume_of_trade", "tariff_revenue", "pool_transfer", "remittances",
    "reexport_rents", "border_costs", "productivity", "deficit_closure",
)


def component_column(name: str) -> str:
    """Column of ``countries`` holding term ``name`` (``welfare_from_<name>_pct``)."""
    return f"welfare_from_{name}_pct"


@dataclass(frozen=True)
class WelfareDecomposition:
    """The exact decomposition of one solved counterfactual.

    Attributes
    ----------
    terms : dict name -> ndarray (N,)
        Percentage points of baseline real income per country, one entry per
        :data:`WELFARE_COMPONENTS`; their sum is ``welfare_pct``.
    terms_of_trade_direct : ndarray (N,)
        The terms-of-trade term from its own formula (the reported one closes the identity);
        the two differ by rounding and the solver tolerance only.
    """

    terms: dict[str, FloatArray]
    terms_of_trade_direct: FloatArray


def _log_mean(new: FloatArray, old: FloatArray) -> FloatArray:
    """Logarithmic mean ``(new - old) / ln(new / old)`` of positive arrays (``old`` where equal)."""
    x = new / old - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(x == 0.0, 1.0, x / np.log1p(x))
    return old * ratio


def _price_parts(cal: Calibration, eq: Equilibrium) -> dict[str, FloatArray]:
    """Log consumer-price change of every country by source, each (N,); they sum to ``ln CPI^``.

    Sources: ``cost`` (own wage via the domestic supplier, partners' unit costs and the solver
    tolerance), ``tariff`` (own tariffs), ``non_tariff`` (cost factors, bans), ``productivity``
    (own productivity). See the module notes for the index and the input-output system.
    """
    p = cal.problem
    n = p.flows.shape[1]
    theta = p.theta[:, None, None]
    mask = cal.spend_mask[:, None, :]
    tau0 = np.zeros_like(p.flows) if p.tariff_before is None else p.tariff_before
    tau1 = np.zeros_like(p.flows) if p.tariff_after is None else p.tariff_after
    factor = np.ones_like(p.flows) if p.cost_factor is None else np.broadcast_to(p.cost_factor, p.flows.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        share0 = np.where(mask, p.flows * (1.0 + tau0) / cal.spending[:, None, :], 0.0)
        share1 = np.where(mask, cal.kernel * eq.scaled_cost[:, :, None] / eq.price_term[:, None, :], 0.0)
        log_tariff = np.log1p(tau1) - np.log1p(tau0)
        log_non_tariff = np.where(factor > 0, -np.log(np.where(factor > 0, factor, 1.0)) / theta, 0.0)
    open_ = (share0 > 0) & (share1 > 0)
    closed = (share0 > 0) & ~open_
    weight = np.where(open_, _log_mean(np.where(open_, share1, 1.0), np.where(open_, share0, 1.0)), 0.0)
    limit = np.where(closed, share0 / theta, 0.0)  # L ln p^ of a closed flow, in the limit
    banned = factor == 0
    total = weight.sum(axis=1)  # (S, N_importer)
    inv = np.where(total > 0, 1.0 / np.where(total > 0, total, 1.0), 0.0)
    diag = np.arange(n)
    home = weight[:, diag, diag] * inv  # (S, N): Sato-Vartia weight of the domestic supplier
    foreign = np.ones((n, n), dtype=bool)
    foreign[diag, diag] = False
    lc = eq.log_cost_hat  # (S, N) by exporter
    sources = {
        "tariff": (np.sum(weight * log_tariff + np.where(banned, 0.0, limit), axis=1)) * inv,
        "non_tariff": (np.sum(weight * log_non_tariff + np.where(banned, limit, 0.0), axis=1)) * inv,
        "productivity": home * -cal.log_prod,
        # the domestic supplier's cost less its input prices and productivity: gamma ln w^ plus the
        # solver's tolerance (the input-price iterate against the index it implies); partners' costs
        "cost": home * (lc[:, diag] + cal.log_prod - _input_cost(p.input_share, eq.log_price_hat))
        + np.sum(np.where(foreign[None], weight * lc[:, :, None], 0.0), axis=1) * inv,
    }
    system = _io_system(p.input_share, home)  # (N, S, S) or None
    alpha_total = cal.alpha.sum(axis=0)
    weights = cal.alpha / np.where(alpha_total > 0, alpha_total, 1.0)  # (S, N) final-demand weights
    parts = {}
    for name, b in sources.items():
        logs = b if system is None else np.linalg.solve(system, b.T[:, :, None])[:, :, 0].T
        parts[name] = np.sum(weights * logs, axis=0)
    return parts


def _input_cost(input_share: FloatArray | None, log_price_hat: FloatArray) -> FloatArray:
    """``sum_k gamma_nks ln P^_nk`` (S, N): the input-price part of the domestic unit cost (0 without IO)."""
    if input_share is None:
        return np.zeros_like(log_price_hat)
    return np.einsum("nks,kn->sn", input_share, log_price_hat)


def _io_system(input_share: FloatArray | None, home: FloatArray) -> FloatArray | None:
    """``1 - diag(omega_dom) G'`` per country (N, S, S), None without input-output links."""
    if input_share is None:
        return None
    s_count = home.shape[0]
    using = input_share.transpose(0, 2, 1)  # [n, s, k]: share of input k in sector s
    return np.eye(s_count)[None] - home.T[:, :, None] * using


def exact_decomposition(cal: Calibration, eq: Equilibrium, new_flows: FloatArray) -> WelfareDecomposition:
    """Split each country's welfare change exactly into :data:`WELFARE_COMPONENTS`.

    Parameters
    ----------
    cal, eq : Calibration, Equilibrium
        One solved counterfactual (draw views of :func:`~blocsim.equilibrium.multisector_core.calibrate`
        and :func:`~blocsim.equilibrium.multisector_core.solve_changes`).
    new_flows : ndarray (S, N, N)
        Counterfactual flows before tariffs, ``eq.flows(cal)`` (USD millions, numeraire units).

    Returns
    -------
    WelfareDecomposition
        Percentage points of baseline real income per country (module notes).
    """
    p = cal.problem
    flows0 = p.flows
    tau0 = np.zeros_like(flows0) if p.tariff_before is None else p.tariff_before
    tau1 = np.zeros_like(flows0) if p.tariff_after is None else p.tariff_after
    income0 = cal.income
    log_cpi = log_consumer_prices(cal, eq.log_price_hat)
    welfare = eq.income / income0 * np.exp(-log_cpi) - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        to_percent = np.where(log_cpi == 0.0, 1.0, -np.expm1(-log_cpi) / log_cpi)
    price_scale = eq.income / income0 * to_percent  # times a log part: its share of the price term
    parts = _price_parts(cal, eq)
    deflate = np.exp(-eq.log_cost_hat)[:, :, None]  # 1 / c^ of the exporter
    valuation = np.sum(tau0 * new_flows * (1.0 - deflate), axis=(0, 1))
    volume = np.sum(tau0 * (new_flows * deflate - flows0), axis=(0, 1))
    rate = np.sum((tau1 - tau0) * new_flows, axis=(0, 1))
    transfer0 = cal.revenue_received - cal.revenue_collected
    transfer1 = eq.revenue_received - eq.revenue_collected
    terms = {
        "volume_of_trade": volume / income0,
        "tariff_revenue": rate / income0 - price_scale * parts["tariff"],
        "pool_transfer": (transfer1 - transfer0) / income0,
        "remittances": (eq.transfers - cal.transfers) / income0,  # zeros without the labour channel
        "reexport_rents": eq.rents_change / income0,
        "border_costs": 0.0 - price_scale * parts["non_tariff"],  # 0.0 - : no negative zero
        "productivity": 0.0 - price_scale * parts["productivity"],
        "deficit_closure": (eq.deficit_other - cal.deficit_other) / income0,
    }
    direct = ((eq.wage_hat * cal.value_added - cal.value_added + valuation + eq.world_price_income) / income0
              - price_scale * parts["cost"])
    closing = welfare - sum(terms.values())
    ordered = {name: 100.0 * (closing if name == "terms_of_trade" else terms[name]) for name in WELFARE_COMPONENTS}
    return WelfareDecomposition(terms=ordered, terms_of_trade_direct=100.0 * direct)
