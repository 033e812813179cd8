r"""World price shocks at short-run fixed quantities: an income transfer between sellers and buyers.

A world price measure (:class:`blocsim.policy.macro.WorldPriceShock`) moves the world price of
the goods of a sector ``s`` (oil) by the fraction :math:`c_s`. In the short run oil demand is
price-inelastic: the quantities traded stay put and only what the buyers pay for them moves.
Every international flow of the sector then costs its buyer, and earns its seller,
:math:`c_s X'_{sij}` more (less, for a fall), so country ``n`` gains

.. math::
    W_n = \sum_{s} c_s \Big(\sum_{j \ne n} X'_{snj} - \sum_{i \ne n} X'_{sin}\Big),

``c_s`` times its net exports of the sector (:math:`X'` the counterfactual flows before tariffs,
in units of the numeraire; the world price change is a change of price over the model's unit cost,
a rent, so the quantities, the flows and the producers' unit costs stay those of the model).
What a country's own producers lose on their home sales its buyers gain, so home sales
carry no net transfer. The transfers sum to zero over countries (world income is unchanged):
income moves from net exporters to net importers, the short-run income shift of an oil price
fall (Baffes et al. 2015). :math:`W` enters national income like the other transfers tied to
trade flows (:mod:`blocsim.equilibrium.multisector_core`), so the importers spend it and the
exporters cut their spending; it is zero in the baseline (the data's prices). It is the
first-order terms-of-trade effect of the price change, reported in
``welfare_from_terms_of_trade_pct`` (:mod:`blocsim.equilibrium.welfare_decomposition`).

Why not a supply shift. A world-wide productivity change of ``1 / (1 + c)`` in the sector moves
its prices by ``c`` too, but it hands every producer a windfall: at fixed quantities a fall of
47 % frees 47 % of the oil sector's labour and inputs for other work, which (with one mobile
factor per country) offsets the lost revenue, so oil exporters gained from the 2014-15 collapse
in that reading, against the evidence. Oil value added is mostly a resource rent; the transfer
takes the price change out of the rent.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from blocsim.equilibrium.input_checks import keyed_vector

FloatArray = NDArray[np.float64]


def world_price_vector(changes: Mapping[str, float] | None, sectors: Sequence[str]) -> FloatArray | None:
    """(S,) fractional world price change of each sector (0: not shocked), or None without any.

    Raises
    ------
    DataValidationError
        A code that is not a sector of the baseline, or a change that is not a finite fraction > -1.
    """
    if not changes:
        return None
    argument = "world_prices"
    return keyed_vector(changes, sectors, argument, fill=0.0, kind="sector", valid=lambda v: v > -1.0,
                        meaning="fractional price change", example="{'B06': -0.47}",
                        allowed="a finite fraction > -1 (-0.47 = the price falls by 47 %). "
                                "Fix: give the proportional change.")


def world_price_income(change: FloatArray, kernel_pre: FloatArray, scaled_cost: FloatArray,
                       demand: FloatArray) -> FloatArray:
    """:math:`W` per draw and country, shape (D, N) (module notes; numeraire units, sums to 0).

    Parameters
    ----------
    change : ndarray (S,)
        Fractional world price change of each sector (0: not shocked).
    kernel_pre, scaled_cost, demand : ndarrays (D|1, S, N, N), (D, S, N), (D, S, N)
        The factors of the counterfactual flows
        ``X'_sij = kernel_pre[s, i, j] * scaled_cost[s, i] * demand[s, j]``
        (see :meth:`blocsim.equilibrium.multisector_core.Equilibrium.flows`).
    """
    shocked = np.flatnonzero(change)
    flows = kernel_pre[:, shocked] * scaled_cost[:, shocked, :, None] * demand[:, shocked, None, :]
    return np.einsum("s,dsn->dn", change[shocked], net_exports(flows))


def net_exports(flows: FloatArray) -> FloatArray:
    """Exports minus imports of ``(..., N, N)`` flows ``[exporter, importer]``, home sales left out, (..., N)."""
    n = flows.shape[-1]
    international = flows.copy()
    international[..., np.arange(n), np.arange(n)] = 0.0
    return international.sum(axis=-1) - international.sum(axis=-2)
