"""Non-tariff cost terms of a shock as data, and their factor on ``kappa^(-theta)`` for many draws.

Every non-tariff measure enters the flow-cost term of the cells it covers as a factor of
one form,

    value = (1 - q) + q rho (1 + a)^(-theta_s),

with ``q`` the covered share, ``a`` the ad valorem equivalent (AVE) of the cost the
covered part bears and ``rho`` the part of the covered share that can bear it at all (the
``reroute_share`` of a leaking ban; 1 for every other measure): an NTM (``q = 1``, ``a`` its AVE), a transit restriction (``q`` the
covered share, ``a`` the detour cost), a ban whose goods leak through a fellow member
(``q`` the covered share, ``a`` the re-export cost), a ban without a route (``a`` infinite:
``value = 1 - q``), trade deflection (``q = 1``, ``a`` the deflection cost) and customs
checks between members (``a`` the border cost): a change between the states, the factor
``((1 + a)^theta)^power`` with ``power = 1`` where checks are removed and ``-1`` where they
are restored. A :class:`CostTerm` records one
such factor: its form, the cells ``[sector, exporter, importer]`` it covers, the policy
state it belongs to and the name of the AVE input it depends on.

:func:`cost_factor_cube` evaluates the terms for D draws at once, with per-draw elasticities
``theta`` (D, S) and, optionally, per-draw AVEs by input name, into the cost factor
``change * F_after / F_before`` of shape (D, S, N, N). It is the one formula:
:func:`blocsim.shock.compile_shock` builds its ``cost_factor`` table with it (a batch of one
draw at the point values), and the uncertainty bands rebuild the factor of every draw with
it in one array expression instead of compiling the shock per draw; a draw at the point
values gives the same bits as the compiled shock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from blocsim.errors import DataValidationError

AVE_KINDS = ("border", "transit", "reexport", "ntm", "deflection")
"""Kinds of AVE inputs a shock can depend on (``CostTerm.kind`` of terms with an input)."""
ROUNDING = 1e-14
"""Factors within this distance of 1 are set to exactly 1 (a measure and its inverse cancelling)."""


@dataclass(frozen=True)
class CostTerm:
    """One factor ``(1 - share) + share reach (1 + ave)^(-theta_s)`` on the cells it covers.

    Attributes
    ----------
    kind : str
        ``"ban"`` (no AVE: a covered share that cannot be reached) or one of
        :data:`AVE_KINDS`.
    input : str
        Name of the AVE input the term depends on (e.g. ``"border_cost[EAEU]"``); empty for
        a ban without a route.
    ave : float
        Point AVE (fraction; ``inf`` for a ban without a route).
    share : float
        Covered share ``q`` in [0, 1].
    state : {"before", "after", "change"}
        ``before``/``after``: part of that state's cost term (the factor is after / before);
        ``change``: a change between the states (customs checks removed or restored).
    power : {1, -1}
        ``change`` terms only: the factor is ``((1 + ave)^theta)^power``, 1 where customs
        checks are removed, -1 where they are restored (``share`` is 1). 1 for the others.
    cells : ndarray (K, 3) of int
        Covered ``[sector, exporter, importer]`` positions, each at most once.
    reach : float
        Part of the covered share that can bear the cost (in [0, 1]); the rest is lost (a
        leaking ban's ``reroute_share``). 1 for every other term.
    se : float
        Standard error of the AVE when it is an estimate (the border costs of
        :func:`blocsim.data.border_costs.load_border_aves`), 0 for an assumed AVE; the
        uncertainty bands draw an estimated AVE from ``normal(ave, se)``.
    """

    kind: str
    input: str
    ave: float
    share: float
    state: Literal["before", "after", "change"]
    power: int
    cells: NDArray[np.intp] = field(repr=False)
    reach: float = 1.0
    se: float = 0.0


def term_value(term: CostTerm, theta: NDArray[np.float64], ave: ArrayLike | None = None) -> NDArray[np.float64]:
    """The term's factor per draw and sector, shape of ``theta`` (D, S) or (S,).

    ``(1 - q) + q rho (1 + a)^(-theta)`` for a state's term, ``((1 + a)^theta)^power`` for a
    change; ``ave`` (D,) or a number overrides the term's point AVE.
    """
    a = term.ave if ave is None else np.asarray(ave, dtype=float)
    if np.ndim(a) and theta.ndim == 2:
        a = np.reshape(a, (-1, 1))
    if term.state == "change":
        return ((1.0 + a) ** theta) ** term.power
    with np.errstate(over="ignore"):
        return (1.0 - term.share) + term.share * term.reach * (1.0 + a) ** (-theta)


def cost_parts(
    terms: Sequence[CostTerm], shape: tuple[int, int, int], theta: ArrayLike, aves: Mapping[str, ArrayLike] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Before, after and change cubes (D, S, N, N): the products of the terms of each state.

    Parameters
    ----------
    terms : sequence of CostTerm
    shape : (S, N, N)
        Sectors, countries, countries.
    theta : array (D, S)
        Trade elasticities per draw.
    aves : mapping input name -> array (D,) or number, optional
        Drawn AVEs (fractions); inputs not given keep the terms' point AVEs.
    """
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    aves = aves or {}
    cubes = {name: np.ones((theta.shape[0], *shape)) for name in ("before", "after", "change")}
    for term in terms:
        value = term_value(term, theta, aves.get(term.input) if term.input else None)
        s, i, j = term.cells.T
        cubes[term.state][:, s, i, j] *= value[:, s]
    return cubes["before"], cubes["after"], cubes["change"]


def cost_factor_cube(
    terms: Sequence[CostTerm], shape: tuple[int, int, int], theta: ArrayLike, aves: Mapping[str, ArrayLike] | None = None,
) -> NDArray[np.float64]:
    """Factor on ``kappa^(-theta)`` of D draws, shape (D, S, N, N), ``[draw, sector, exporter, importer]``.

    ``change * after / before`` where the before term is positive, ``change`` where it is 0
    (a barrier prohibitive in the baseline: its zero flow stays zero in exact hat algebra);
    values within :data:`ROUNDING` of 1 are exactly 1. Arguments as for :func:`cost_parts`.
    """
    before, after, change = cost_parts(terms, shape, theta, aves)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = change * np.where(before > 0, after / np.where(before > 0, before, 1.0), 1.0)
    return np.where(np.isclose(factor, 1.0, rtol=0.0, atol=ROUNDING), 1.0, factor)


def ave_inputs(terms: Sequence[CostTerm]) -> dict[str, tuple[str, float]]:
    """The AVE inputs the terms depend on: name -> (kind, point AVE), in order of first use."""
    out: dict[str, tuple[str, float]] = {}
    for term in terms:
        if term.input and term.input not in out:
            out[term.input] = (term.kind, term.ave)
    return out


def ave_standard_errors(terms: Sequence[CostTerm]) -> dict[str, float]:
    """Standard errors of the estimated AVE inputs (name -> s.e., fraction); assumed AVEs are absent."""
    out: dict[str, float] = {}
    for term in terms:
        if term.input and term.se > 0 and term.input not in out:
            out[term.input] = float(term.se)
    return out


def reorder_terms(
    terms: Sequence[CostTerm], countries: Sequence[str], sectors: Sequence[str],
    to_countries: Sequence[str], to_sectors: Sequence[str],
) -> tuple[CostTerm, ...]:
    """The terms with cells renumbered from the axis order ``countries``/``sectors`` (the shock's)
    to ``to_countries``/``to_sectors`` (e.g. a model problem's sorted order; the same labels)."""
    if sorted(countries) != sorted(to_countries) or sorted(sectors) != sorted(to_sectors):
        raise DataValidationError(
            f"reorder_terms: axis orders {list(countries)} / {list(sectors)} and {list(to_countries)} / "
            f"{list(to_sectors)} hold different labels; allowed: the same countries and sectors in another order")
    country = np.array([list(to_countries).index(c) for c in countries], dtype=np.intp)
    sector = np.array([list(to_sectors).index(s) for s in sectors], dtype=np.intp)
    return tuple(replace(t, cells=np.stack([sector[t.cells[:, 0]], country[t.cells[:, 1]], country[t.cells[:, 2]]],
                                           axis=1)) for t in terms)
