"""Book rerouted (leaked) trade in the trade statistics.

In the model a banned product that leaks through a fellow member stays part of the
origin -> importer flow (it is still the origin's good, now priced ``1 + r`` higher; see
:mod:`blocsim.shock.compile`). Customs statistics record it differently: as an import of
the transit member from the origin and a (re-)export of the transit member to the
banning country. :func:`record_reroutes` moves the rerouted value accordingly.

Valuation (assumption): flows are valued at the destination before tariffs, so the
rerouted value ``V`` is recorded as the transit member's export to the importer, and
``V / (1 + r)`` as the transit member's import from the origin (the re-export cost is
incurred after the goods reach the transit member; it accrues to no one in the model).
"""

from __future__ import annotations

import pandas as pd

from blocsim.errors import DataValidationError

KEYS = ["exporter", "importer", "sector"]


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
        ``origin, via, destination, sector, value_at_destination, value_at_via``.
    """
    missing = set(KEYS + ["trade_baseline", "trade_counterfactual"]) - set(flows.columns)
    if missing:
        raise DataValidationError(f"flows: missing column(s) {sorted(missing)} for re-export accounting")
    out = flows.copy()
    out["trade_recorded"] = out["trade_counterfactual"].astype(float)
    columns = ["origin", "via", "destination", "sector", "value_at_destination", "value_at_via"]
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
