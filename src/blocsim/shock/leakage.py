"""Book rerouted (leaked) trade in the trade statistics.

In the model a banned product that leaks through a fellow member stays part of the
origin -> importer flow (it is still the origin's good, now priced ``1 + r`` higher; see
:mod:`blocsim.shock.compile`). Customs statistics record it differently: as an import of
the transit member from the origin and a (re-)export of the transit member to the
banning country. :func:`record_reroutes` moves the rerouted value accordingly.

Valuation (assumption): flows are valued at the destination before tariffs, so the
rerouted value ``V`` is recorded as the transit member's export to the importer, and
``V / (1 + r)`` as the transit member's import from the origin. The difference, the margin
``V r / (1 + r)``, is the transit member's re-export earnings: :func:`rent_table` turns the
routes into income transfers from the origin to the transit member (shares of the
origin -> importer flow) that the multi-sector GE books in national income
(:mod:`blocsim.equilibrium.income_transfers`), and :func:`record_reroutes` lists them as
``margin`` in the re-exports table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from blocsim.errors import DataValidationError

KEYS = ["exporter", "importer", "sector"]
RENT_COLUMNS = ("exporter", "importer", "sector", "country", "share_before", "share_after")
"""Columns of :attr:`blocsim.shock.Shock.income_transfers`."""


def rent_table(before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Re-export rents of the routes of each state as income transfers (see the module notes).

    Parameters
    ----------
    before, after
        Route rows ``origin, via, destination, sector, share, reexport_cost`` of the before
        and after states (``share``: of the origin -> destination flow value).

    Returns
    -------
    DataFrame
        :data:`RENT_COLUMNS`: ``country`` (the via member) earns ``share * r / (1 + r)`` of
        the ``exporter -> importer`` flow in each state (0 where the route is absent).
    """
    keys = ["exporter", "importer", "sector", "country"]
    frames = []
    for label, rows in (("share_before", before), ("share_after", after)):
        table = pd.DataFrame(list(rows), columns=["origin", "via", "destination", "sector", "share", "reexport_cost"])
        table[label] = table["share"].astype(float) * table["reexport_cost"] / (1.0 + table["reexport_cost"])
        table = table.rename(columns={"origin": "exporter", "destination": "importer", "via": "country"})
        frames.append(table.groupby(keys, as_index=False)[label].sum())
    out = frames[0].merge(frames[1], on=keys, how="outer").fillna({"share_before": 0.0, "share_after": 0.0})
    out = out[(out["share_before"] > 0) | (out["share_after"] > 0)]
    return out[list(RENT_COLUMNS)].sort_values(keys).reset_index(drop=True)


def record_reroutes(flows: pd.DataFrame, reroutes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Recorded counterfactual flows and a table of re-exports.

    Parameters
    ----------
    flows
        ``exporter, importer, sector, trade_baseline, trade_counterfactual`` (USD millions).
    reroutes
        ``origin, via, destination, sector, share, reexport_cost`` (:attr:`Shock.reroutes`).

    Returns
    -------
    flows : DataFrame
        ``flows`` plus ``trade_recorded`` (counterfactual as customs would record it) and
        ``trade_recorded_pct`` (vs. baseline).
    reexports : DataFrame
        ``origin, via, destination, sector, value_at_destination, value_at_via, margin``
        (USD millions; ``margin`` the via member's re-export earnings).
    """
    missing = set(KEYS + ["trade_baseline", "trade_counterfactual"]) - set(flows.columns)
    if missing:
        raise DataValidationError(f"flows: missing column(s) {sorted(missing)} for re-export accounting")
    out = flows.copy()
    out["trade_recorded"] = out["trade_counterfactual"].astype(float)
    columns = ["origin", "via", "destination", "sector", "value_at_destination", "value_at_via", "margin"]
    if reroutes.empty:
        out["trade_recorded_pct"] = _pct(out["trade_recorded"], out["trade_baseline"])
        return out, pd.DataFrame(columns=columns)
    direct = reroutes.merge(
        out[KEYS + ["trade_counterfactual"]],
        left_on=["origin", "destination", "sector"],
        right_on=KEYS,
        how="left",
    )
    direct["value_at_destination"] = direct["share"] * direct["trade_counterfactual"].fillna(0.0)
    direct["value_at_via"] = direct["value_at_destination"] / (1.0 + direct["reexport_cost"])
    direct["margin"] = direct["value_at_destination"] - direct["value_at_via"]
    bookings = pd.concat(
        [
            direct.assign(exporter=direct["origin"], importer=direct["destination"], delta=-direct["value_at_destination"]),
            direct.assign(exporter=direct["origin"], importer=direct["via"], delta=direct["value_at_via"]),
            direct.assign(exporter=direct["via"], importer=direct["destination"], delta=direct["value_at_destination"]),
        ]
    )[KEYS + ["delta"]]
    delta = bookings.groupby(KEYS, as_index=False)["delta"].sum()
    out = out.merge(delta, on=KEYS, how="left")
    out["trade_recorded"] = out["trade_recorded"] + out.pop("delta").fillna(0.0)
    out["trade_recorded_pct"] = _pct(out["trade_recorded"], out["trade_baseline"])
    return out, direct[columns].reset_index(drop=True)


def _pct(new: pd.Series, old: pd.Series) -> pd.Series:
    old = old.astype(float)
    return (new - old) / old.where(old != 0) * 100.0
