r"""Income transfers tied to trade flows: re-export rents and margins in national income.

A transfer row ``(exporter i, importer j, sector s, country c, share)`` says that country
``c`` earns ``share`` times the flow ``X_ijs`` (valued at the importer's border, before
tariffs, USD millions) and that the exporter ``i`` pays it. Re-export rents are the case
in point: a banned good that reaches ``j`` through ``c`` at a re-export cost ``r`` is sold in
``j`` at ``(1 + r)`` times its price at ``c``'s border, and the margin ``r / (1 + r)`` of the
rerouted value is ``c``'s income (``share`` = rerouted share of the flow x ``r / (1 + r)``;
:attr:`blocsim.shock.Shock.income_transfers`). The exporter receives the flow's value net
of the margin. Transfers sum to zero over countries, so world income is unchanged.

In the multi-sector GE, income becomes

.. math::
    I'_c = \hat w_c VA_c + \tilde R'_c + \tilde D'_c + (T'_c - T_c),\qquad
    T_c = \sum_{k:\,\mathrm{receiver}=c} \mathrm{share}_k X_k - \sum_{k:\,\mathrm{exporter}=c} \mathrm{share}_k X_k,

with ``T`` the transfers at the baseline flows and before-state shares (already part of the
observed data: they sit in the baseline deficits) and ``T'`` at the counterfactual flows and
after-state shares. With no shock, ``T' = T`` and nothing moves. Approximation: the model
keeps the rerouted goods in the origin's flow with the re-export cost as a trade cost on
``kappa^(-theta)`` (the origin's labour demand counts the whole flow); the margin moves from
the origin's income to the via country's, exact in the limit of a small rerouted flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blocsim.errors import DataValidationError

FloatArray = NDArray[np.float64]
COLUMNS = ("exporter", "importer", "sector", "country", "share_before", "share_after")
"""Columns of an ``income_transfers`` table (``share_before`` optional, default 0)."""


@dataclass(frozen=True)
class TransferArrays:
    """Transfer rows as arrays (K rows) in a problem's axis order.

    Attributes
    ----------
    cells : ndarray (K, 3) of int
        ``[sector, exporter, importer]`` positions of the flows the transfers are a share of.
    receiver : ndarray (K,) of int
        Country earning each transfer (the exporter ``cells[:, 1]`` pays it).
    share_before, share_after : ndarray (K,)
        Shares of the flow (fractions in [0, 1)) in the baseline and the counterfactual.
    incidence : ndarray (K, N)
        Who earns and who pays each row (:func:`transfer_incidence`): +1 at the receiver, -1
        at the exporter; built once with the rows, the solver's iterations reuse it.
    """

    cells: NDArray[np.intp]
    receiver: NDArray[np.intp]
    share_before: FloatArray
    share_after: FloatArray
    incidence: FloatArray


def parse_income_transfers(
    table: pd.DataFrame | None, countries: Sequence[str], sectors: Sequence[str],
) -> TransferArrays | None:
    """Validate an ``income_transfers`` table (see the module notes) into :class:`TransferArrays`.

    Raises
    ------
    DataValidationError
        Missing columns, unknown codes, a domestic flow, a receiver equal to the exporter,
        shares outside [0, 1) or not finite.
    """
    if table is None:
        return None
    where = "argument 'income_transfers'"
    if not isinstance(table, pd.DataFrame):
        raise DataValidationError(f"{where}: got {type(table).__name__}; allowed: a DataFrame with columns "
                                  f"{list(COLUMNS)}")
    missing = [c for c in COLUMNS if c not in table.columns and c != "share_before"]
    if missing:
        raise DataValidationError(f"{where}: missing column(s) {missing}; allowed columns {list(COLUMNS)} "
                                  "(share_before optional)")
    if table.empty:
        return None
    country_index = {c: k for k, c in enumerate(countries)}
    sector_index = {s: k for k, s in enumerate(sectors)}
    for column, index in (("exporter", country_index), ("importer", country_index), ("country", country_index),
                          ("sector", sector_index)):
        unknown = sorted(set(table[column].astype(str)) - set(index))
        if unknown:
            raise DataValidationError(f"{where}: column {column!r} has {unknown[:10]} not in the baseline; allowed: "
                                      f"{sorted(index)[:20]}{' ...' if len(index) > 20 else ''}")
    before = table["share_before"].to_numpy(dtype=float) if "share_before" in table.columns else np.zeros(len(table))
    after = table["share_after"].to_numpy(dtype=float)
    for name, values in (("share_before", before), ("share_after", after)):
        if not np.all(np.isfinite(values)) or np.any(values < 0) or np.any(values >= 1):
            raise DataValidationError(f"{where}: column {name!r} has values outside [0, 1) (e.g. "
                                      f"{values[~(np.isfinite(values) & (values >= 0) & (values < 1))][:5].tolist()}); "
                                      "allowed: the share of the flow's value the receiver earns")
    exporter = table["exporter"].astype(str).map(country_index).to_numpy(dtype=np.intp)
    importer = table["importer"].astype(str).map(country_index).to_numpy(dtype=np.intp)
    receiver = table["country"].astype(str).map(country_index).to_numpy(dtype=np.intp)
    if np.any(exporter == importer) or np.any(receiver == exporter):
        raise DataValidationError(f"{where}: a row on a domestic flow, or whose receiver is the exporter; allowed: "
                                  "transfers from the exporter to another country out of an international flow")
    sector = table["sector"].astype(str).map(sector_index).to_numpy(dtype=np.intp)
    return TransferArrays(cells=np.stack([sector, exporter, importer], axis=1), receiver=receiver,
                          share_before=before, share_after=after,
                          incidence=transfer_incidence(receiver, exporter, len(countries)))


def transfer_incidence(receiver: NDArray[np.intp], payer: NDArray[np.intp], n: int) -> FloatArray:
    """Incidence matrix (K, N) of K transfer rows over N countries: +1 at each row's ``receiver``,
    -1 at its ``payer`` (the exporter), 0 elsewhere; each row sums to 0."""
    incidence = np.zeros((len(receiver), n))
    rows = np.arange(len(receiver))
    incidence[rows, receiver] += 1.0
    incidence[rows, payer] -= 1.0
    return incidence


def net_transfers(transfers: TransferArrays, flow_values: FloatArray, shares: FloatArray) -> FloatArray:
    """Net transfer income per country, shape (..., N) (USD millions; sums to 0 over countries).

    ``flow_values`` (..., K) are the flows at ``transfers.cells``; ``shares`` (K,) the shares.
    """
    return (flow_values * shares) @ transfers.incidence


def transfer_change(transfers: TransferArrays, baseline_flows: FloatArray, kernel_pre: FloatArray,
                    scaled_cost: FloatArray, demand: FloatArray) -> FloatArray:
    """``T' - T`` per draw and country, shape (D, N), inside the equilibrium map.

    Parameters
    ----------
    transfers
        The transfer rows.
    baseline_flows : ndarray (S, N, N)
        Baseline flows ``X``.
    kernel_pre, scaled_cost, demand : ndarrays (D|1, S, N, N), (D, S, N), (D, S, N)
        The factors of the counterfactual flows
        ``X'_sij = kernel_pre[s, i, j] * scaled_cost[s, i] * demand[s, j]``
        (see :meth:`blocsim.equilibrium.multisector_core.Equilibrium.flows`).
    """
    s, i, j = transfers.cells.T
    after = kernel_pre[:, s, i, j] * scaled_cost[:, s, i] * demand[:, s, j]  # (D, K)
    return (net_transfers(transfers, after, transfers.share_after)
            - net_transfers(transfers, baseline_flows[s, i, j], transfers.share_before)[None])


def transfer_table(transfers: TransferArrays | None, baseline_flows: FloatArray, new_flows: FloatArray,
                   countries: Sequence[str]) -> pd.DataFrame:
    """``country, income_transfers_before, income_transfers_after`` (net, USD millions) for the
    countries table; zeros without transfers."""
    n = len(countries)
    if transfers is None:
        zero = np.zeros(n)
        return pd.DataFrame({"country": list(countries), "income_transfers_before": zero,
                             "income_transfers_after": zero})
    s, i, j = transfers.cells.T
    return pd.DataFrame({
        "country": list(countries),
        "income_transfers_before": net_transfers(transfers, baseline_flows[s, i, j], transfers.share_before),
        "income_transfers_after": net_transfers(transfers, new_flows[s, i, j], transfers.share_after),
    })
