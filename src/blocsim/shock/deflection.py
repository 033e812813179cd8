"""Trade deflection through a customs-union member that has its own FTA (the reason a union forbids it).

If member ``m`` of a customs union grants outsider ``o`` a preference that fellow member
``k`` does not, and the union has no internal customs checks, ``o``'s goods bound for ``k``
can enter the union at ``m``'s border at ``m``'s preferential rate and move on to ``k``
freely, at an extra ad valorem cost ``r`` (the preference's ``deflection_cost``: paperwork,
relabelling, the route through ``m``). Goods of one origin are perfect substitutes across
routes, so the whole ``o -> k`` flow of a sector takes the cheaper route whenever

    (1 + t_om) (1 + r) < 1 + t_ok,

and then pays ``t_om`` instead of ``t_ok`` and bears the extra cost ``(1 + r)^(-theta)`` on
``kappa^(-theta)``. The duty is booked as collected by ``k`` (in a duty pool it is shared
anyway); the rerouted flow is listed as a route ``o -> m -> k`` (share 1) for the trade
statistics. Nothing deflects if ``k`` enforces origin on goods coming from ``m``
(:class:`~blocsim.policy.model.OriginEnforcement`) or if internal checks still stand.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from blocsim.policy.model import OriginEnforcement, PolicyState
from blocsim.shock.terms import CostTerm


def deflect(
    state: PolicyState, label: Literal["before", "after"], countries: tuple[str, ...], sectors: tuple[str, ...],
    rates: np.ndarray,
) -> tuple[np.ndarray, list[CostTerm], list[dict[str, Any]], list[str]]:
    """Apply trade deflection to a state's applied tariffs.

    Which flows deflect is decided at the point deflection cost (the route is cheaper or not);
    the cost terms carry the deflection cost as the AVE input ``deflection_cost[<preference>]``,
    so a draw of that cost changes the extra cost of the route, not the choice of route.

    Parameters
    ----------
    state
        Policy state.
    label
        Which state it is (the ``state`` of the returned cost terms).
    countries, sectors
        Axis labels of ``rates`` (N countries, S sectors).
    rates : ndarray, shape (N, N, S)
        Applied tariffs ``[exporter, importer, sector]`` (fractions) of ``state``.

    Returns
    -------
    rates : ndarray (N, N, S)
        Tariffs paid after deflection.
    terms : list of CostTerm
        Factors ``(1 + deflection_cost)^(-theta)`` on ``kappa^(-theta)`` of the deflected flows.
    reroutes : list of dict
        ``origin, via, destination, sector, share, reexport_cost`` rows.
    notes : list of str
    """
    index = {c: k for k, c in enumerate(countries)}
    out = rates.copy()
    taken = np.zeros(rates.shape, dtype=bool)
    terms: list[CostTerm] = []
    reroutes: list[dict[str, Any]] = []
    notes: list[str] = []
    for union in state.blocs:
        if not union.has_cet or union.internal_checks(state.date):
            continue
        members = set(union.members_at(state.date))
        for preference in state.preferences:
            parties = set(preference.members_at(state.date))
            inside, outside = sorted(parties & members), sorted(parties - members)
            if not inside or not outside or members <= parties:
                continue
            covered = np.array([preference.covers(s) for s in sectors])
            for k in sorted(members - parties):
                for m in inside:
                    if any(isinstance(x, OriginEnforcement) and x.covers(k, m)
                           for x in state.measures_of("origin_enforcement")):
                        continue
                    for o in outside:
                        i, j, via = index[o], index[k], index[m]
                        through = (1.0 + out[i, via]) * (1.0 + preference.deflection_cost)
                        hit = covered & (through < 1.0 + out[i, j]) & ~taken[i, j]
                        if not hit.any():
                            continue
                        out[i, j, hit] = out[i, via, hit]
                        taken[i, j, hit] = True
                        terms.append(CostTerm(
                            kind="deflection", input=f"deflection_cost[{preference.name}]",
                            ave=preference.deflection_cost, share=1.0, state=label, power=1,
                            cells=np.array([[s, i, j] for s in np.flatnonzero(hit)], dtype=np.intp)))
                        reroutes.extend(
                            {"origin": o, "via": m, "destination": k, "sector": sectors[s], "share": 1.0,
                             "reexport_cost": preference.deflection_cost}
                            for s in np.flatnonzero(hit)
                        )
                        notes.append(
                            f"trade deflection: {o}'s goods reach {k} through {m} under {preference.name!r} "
                            f"({', '.join(sectors[s] for s in np.flatnonzero(hit))}; "
                            f"{preference.deflection_cost:.0%} extra cost; no internal checks, no origin enforcement)"
                        )
    return out, terms, reroutes, notes
