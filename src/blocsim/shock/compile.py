"""Compile two policy states into model inputs: the :class:`Shock`.

``compile_shock(before, after, dataset, year, theta=...)`` resolves the applied tariff of
every (exporter, importer, sector) in both states, turns every non-tariff measure into a
change of the flow-cost term ``kappa^(-theta)``, reads the duty pool in force in each
state, and collects output/productivity changes, world price changes (an income transfer at
short-run fixed quantities, :mod:`blocsim.equilibrium.world_prices`) and the deficits that
capital-flow measures set. The GE and PE models consume the result; they never see a policy state.

Non-tariff measures as factors on ``kappa^(-theta_s)`` (``F_after / F_before``; a factor
of 0 is prohibitive):

- import ban on a covered share ``b`` of a sector's flow: ``F = 1 - b`` (the banned
  products drop out of the sector's CES aggregate; exact when products share the sector's
  elasticity). With leakage through a fellow member at re-export cost ``r`` of the part
  ``rho`` (the ban's ``reroute_share``) of the banned products (see below):
  ``F = 1 - b + b rho (1 + r)^(-theta)``;
- transit restriction on a share ``q`` of the flow with detour cost ``c``:
  ``F = 1 - q + q (1 + c)^(-theta)``;
- non-tariff measure with ad valorem equivalent ``a``: ``F = (1 + a)^(-theta)``;
- customs checks between members: ``F = (1 + a)^(-theta)`` while they stand, 1 once they
  are gone, with ``a`` the border's AVE by sector (estimated where possible) and dates per
  border (:mod:`blocsim.shock.borders`).

Re-export leakage (the stated assumption). A bloc member that bans imports from an origin
cannot stop them at its internal borders once a bloc has abolished internal customs checks
(EAEU: mid-2011) unless it enforces origin on re-exports. blocsim then lets the banned
products reach the banning country through the fellow member(s) named in the ban's
``leak_via`` at an extra ad valorem re-export cost ``r`` (relabelling, repacking, the
detour); the products keep their origin's cost, so in the model they remain part of the
origin -> importer flow, priced ``(1 + r)`` higher; the margin ``r / (1 + r)`` of the
rerouted value is the transit member's income (:attr:`Shock.income_transfers`). The rerouted part of that flow is
recorded in :attr:`Shock.reroutes` (share of the counterfactual origin -> importer flow per
route), and :func:`blocsim.shock.leakage.record_reroutes` books it in the trade statistics
as imports of the transit member from the origin and exports of the transit member to the
banning country. Nothing leaks if the transit member bans the origin too, if internal
checks still stand, or if the importer enforces origin on that member's re-exports.

Trade deflection through a member with its own FTA is treated the same way; see
:mod:`blocsim.shock.deflection`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from blocsim.errors import ScenarioError
from blocsim.policy.macro import CapitalFlowShock, WorldPriceShock
from blocsim.policy.model import (
    ImportBan,
    NonTariffMeasure,
    OriginEnforcement,
    PolicyState,
    ProductivityShock,
    TransitRestriction,
)
from blocsim.policy.rules import RuleViolation, check_rules
from blocsim.policy.tariffs import applied_tariff_array
from blocsim.shock.borders import border_terms
from blocsim.shock.deflection import deflect
from blocsim.shock.leakage import RENT_COLUMNS, rent_table
from blocsim.shock.terms import CostTerm, cost_factor_cube, cost_parts, term_value


@dataclass(frozen=True)
class Shock:
    """Model inputs for one counterfactual: before and after policy, as tables.

    Attributes
    ----------
    tariffs : DataFrame
        ``exporter, importer, sector, tariff_before, tariff_after`` (fractions), every
        non-domestic triple: the rates paid (after any trade deflection).
    cost_factor : DataFrame
        ``exporter, importer, sector, factor``: multiplies ``kappa^(-theta)``; rows with
        factor 1 are omitted; 0 is prohibitive.
    duty_pool_before, duty_pool_after : dict or None
        Pool shares as fractions summing to 1 (``{iso3: fraction}``) in each state; wrap in
        ``blocsim.equilibrium.DutyPool(shares=...)`` for the multi-sector GE.
    productivity : DataFrame
        ``country, sector, factor`` (after/before; unit costs scale by 1/factor).
    reroutes : DataFrame
        ``origin, via, destination, sector, share, reexport_cost``: share of the
        counterfactual origin -> destination flow that travels through ``via``.
    notes : tuple of str
        What each measure did, for the report.
    cost_terms : tuple of CostTerm
        The non-tariff cost terms behind ``cost_factor`` with their AVE inputs (see
        :mod:`blocsim.shock.terms`): ``cost_factor_cube(cost_terms, (S, N, N), theta)``
        rebuilds the factor for other elasticities or AVEs without recompiling.
    violations : tuple of RuleViolation
        Rule violations of the after state (only non-empty if it allows them).
    deficit_targets : dict ISO3 -> float
        Capital-flow measures of the after state: each country's counterfactual trade deficit
        as a fraction of its counterfactual value added (negative: a surplus); the
        ``deficit_targets`` argument of :func:`blocsim.solve_multisector`.
    world_prices : dict sector -> float
        World price measures, after relative to before: each shocked sector's fractional price
        change (the product of ``1 + change`` over the after state's measures divided by that
        of the before state's, minus 1); the ``world_prices`` argument of
        :func:`blocsim.solve_multisector` (an income transfer from the sectors' net exporters to
        their net importers at short-run fixed quantities, :mod:`blocsim.equilibrium.world_prices`).
    income_transfers : DataFrame
        ``exporter, importer, sector, country, share_before, share_after``: re-export rents,
        the margin ``r / (1 + r)`` of the rerouted value of each route in each state, earned
        by the transit member ``country`` and paid by the origin ``exporter``, as shares of the
        ``exporter -> importer`` flow (:func:`blocsim.shock.leakage.rent_table`); the
        ``income_transfers`` argument of :func:`blocsim.solve_multisector`.
    """

    countries: tuple[str, ...]
    sectors: tuple[str, ...]
    year: int
    tariffs: pd.DataFrame
    cost_factor: pd.DataFrame
    duty_pool_before: dict[str, float] | None
    duty_pool_after: dict[str, float] | None
    productivity: pd.DataFrame
    reroutes: pd.DataFrame
    notes: tuple[str, ...] = ()
    violations: tuple[RuleViolation, ...] = ()
    bloc_members_before: tuple[str, ...] = ()
    bloc_members_after: tuple[str, ...] = ()
    theta: Mapping[str, float] = field(default_factory=dict)
    cost_terms: tuple[CostTerm, ...] = ()
    income_transfers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(RENT_COLUMNS)))
    deficit_targets: Mapping[str, float] = field(default_factory=dict)
    world_prices: Mapping[str, float] = field(default_factory=dict)


def _theta_vector(theta: Mapping[str, float] | float, sectors: Sequence[str]) -> np.ndarray:
    """Trade elasticity per sector, shape (S,): positive and finite (the models check their ranges)."""
    if isinstance(theta, Mapping):
        missing = [s for s in sectors if s not in theta]
        if missing:
            raise ScenarioError(
                f"theta: no trade elasticity for sector(s) {missing}; give theta for every sector of the dataset "
                f"{list(sectors)}"
            )
        values = np.array([float(theta[s]) for s in sectors])
    else:
        values = np.full(len(sectors), float(theta))
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ScenarioError(f"theta: trade elasticities must be positive and finite, got {values.tolist()}")
    return values


class _Grid:
    """Index helper: countries and sectors to array positions."""

    def __init__(self, countries: Sequence[str], sectors: Sequence[str]) -> None:
        self.countries = tuple(countries)
        self.sectors = tuple(sectors)
        self.c = {c: k for k, c in enumerate(self.countries)}
        self.s = {x: k for k, x in enumerate(self.sectors)}

    def cmask(self, codes: Sequence[str], *, empty_all: bool = False) -> np.ndarray:
        out = np.zeros(len(self.countries), dtype=bool)
        if not codes and empty_all:
            out[:] = True
        out[[self.c[x] for x in codes if x in self.c]] = True
        return out

    def smask(self, codes: Sequence[str]) -> np.ndarray:
        out = np.zeros(len(self.sectors), dtype=bool)
        if not codes:
            out[:] = True
        out[[self.s[x] for x in codes if x in self.s]] = True
        return out


def _leak_routes(state: PolicyState, ban: ImportBan, origin: str, sector: str) -> list[str]:
    """Fellow members through which banned goods reach ``ban.importer`` (see module notes)."""
    union = state.customs_union_of(ban.importer)
    if union is None or union.internal_checks(state.date):
        return []
    members = union.members_at(state.date)
    routes = []
    for via in ban.leak_via:
        if via not in members or via == ban.importer:
            continue
        enforced = any(
            isinstance(m, OriginEnforcement) and m.covers(ban.importer, via) for m in state.measures_of("origin_enforcement")
        )
        via_bans = any(
            isinstance(m, ImportBan) and m.importer == via and origin in m.origins and (not m.sectors or sector in m.sectors)
            for m in state.measures_of("ban")
        )
        if not enforced and not via_bans:
            routes.append(via)
    return routes


def _input_names(before: PolicyState, after: PolicyState) -> list[tuple[Any, str]]:
    """(measure, AVE input name) for every distinct measure with an AVE in either state.

    A measure in force in both states gets one name (its cost is one uncertain number);
    two different measures that would share a name are told apart by ``#2``, ``#3``, ...
    """
    pairs: list[tuple[Any, str]] = []
    for measure in (*before.measures, *after.measures):
        if any(measure == known for known, _ in pairs):
            continue
        if isinstance(measure, ImportBan) and measure.leak_via:
            label = f"reexport_cost[ban {measure.importer}<-{'/'.join(measure.origins)}]"
        elif isinstance(measure, TransitRestriction):
            label = f"added_cost[transit {measure.origin}->{'/'.join(measure.destinations)} via {measure.transit}]"
        elif isinstance(measure, NonTariffMeasure):
            goods = f" {'/'.join(measure.sectors)}" if measure.sectors else ""
            label = f"ave[ntm {measure.importer}<-{'/'.join(measure.exporters) or 'all'}{goods}]"
        else:
            continue
        taken = sum(1 for _, name in pairs if name == label or name.startswith(label + " #"))
        pairs.append((measure, label if not taken else f"{label} #{taken + 1}"))
    return pairs


def _cells(sectors: np.ndarray, exporters: np.ndarray, importers: np.ndarray) -> np.ndarray:
    """(K, 3) ``[sector, exporter, importer]`` positions of every combination (masks or index lists)."""
    grids = np.meshgrid(*(np.flatnonzero(m) if m.dtype == bool else m for m in (sectors, exporters, importers)),
                        indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1).astype(np.intp)


def _nontariff_terms(
    state: PolicyState, label: Literal["before", "after"], grid: _Grid, theta: np.ndarray,
    names: list[tuple[Any, str]], *, known: Sequence[Any] = (),
) -> tuple[list[CostTerm], list[dict[str, Any]], list[str]]:
    """The non-tariff cost terms of ``state`` (the ``label`` state; see :mod:`blocsim.shock.terms`),
    reroute rows, notes.

    Notes are written for measures not in ``known`` (the other state's measures).
    """
    n = len(grid.countries)
    terms: list[CostTerm] = []
    reroutes: list[dict[str, Any]] = []
    notes: list[str] = []

    def name_of(measure: Any) -> str:
        return next(name for known_measure, name in names if known_measure == measure)

    for measure in state.measures:
        note = notes.append if measure not in known else (lambda _text: None)
        if isinstance(measure, ImportBan):
            j = grid.c[measure.importer]
            for origin in measure.origins:
                i = grid.c[origin]
                b = measure.share(origin)
                for k in np.flatnonzero(grid.smask(measure.sectors)):
                    sector = grid.sectors[k]
                    routes = _leak_routes(state, measure, origin, sector)
                    term = CostTerm(kind="reexport" if routes else "ban", input=name_of(measure) if routes else "",
                                    ave=measure.reexport_cost if routes else np.inf, share=b, state=label, power=1,
                                    cells=np.array([[k, i, j]], dtype=np.intp),
                                    reach=measure.reroute_share if routes else 1.0)
                    terms.append(term)
                    factor = float(term_value(term, theta[k:k + 1])[0])
                    reach = measure.reroute_share * (1.0 + measure.reexport_cost) ** (-theta[k])
                    for via in routes:
                        reroutes.append(
                            {"origin": origin, "via": via, "destination": measure.importer, "sector": sector,
                             "share": b * reach / len(routes) / factor if factor > 0 else 0.0,
                             "reexport_cost": measure.reexport_cost}
                        )
                    how = (
                        f"{measure.reroute_share:.0%} of the banned products leak through {', '.join(routes)} at "
                        f"{measure.reexport_cost:.0%} re-export cost (the margin is {', '.join(routes)}'s income)"
                        if routes else "no leakage (origin enforced, internal checks, or no route)"
                    )
                    note(
                        f"ban {origin}->{measure.importer} {sector}: covered share {b:.3f}, "
                        f"flow-cost factor {factor:.4f}; {how}"
                    )
        elif isinstance(measure, TransitRestriction):
            sect = grid.smask(measure.sectors)
            term = CostTerm(kind="transit", input=name_of(measure), ave=measure.added_cost,
                            share=measure.covered_share, state=label, power=1,
                            cells=_cells(sect, np.array([grid.c[measure.origin]]), grid.cmask(measure.destinations)))
            terms.append(term)
            note(f"{measure.describe()}: flow-cost factor {np.round(term_value(term, theta)[sect], 4).tolist()}")
        elif isinstance(measure, NonTariffMeasure):
            exporters = grid.cmask(measure.exporters, empty_all=True)
            importer = grid.cmask((measure.importer,))
            pairs = exporters[:, None] & importer[None, :]
            if measure.reciprocal:
                pairs = pairs | pairs.T
            pairs &= ~np.eye(n, dtype=bool)
            rows, cols = np.nonzero(pairs)
            sect = np.flatnonzero(grid.smask(measure.sectors))
            cells = np.stack([np.repeat(sect, rows.size), np.tile(rows, sect.size), np.tile(cols, sect.size)], axis=1)
            term = CostTerm(kind="ntm", input=name_of(measure), ave=measure.ave, share=1.0, state=label, power=1,
                            cells=cells.astype(np.intp))
            terms.append(term)
            note(f"{measure.describe()}: flow-cost factor {np.round(term_value(term, theta), 4).tolist()}")
    return terms, reroutes, notes


def _tariff_notes(tariffs: pd.DataFrame) -> list[str]:
    """One line per importer whose tariffs change: how many rates, and their mean before/after."""
    moved = tariffs[~np.isclose(tariffs["tariff_before"], tariffs["tariff_after"], rtol=0.0, atol=1e-12)]
    summary = moved.groupby("importer").agg(
        n=("tariff_after", "size"), before=("tariff_before", "mean"), after=("tariff_after", "mean"),
        partners=("exporter", lambda x: ", ".join(sorted(set(x)))),
    )
    return [
        f"{importer}: {row.n} tariffs change (mean {row.before:.1%} -> {row.after:.1%}) on imports from {row.partners}"
        for importer, row in summary.iterrows()
    ]


def _productivity(state: PolicyState, grid: _Grid) -> np.ndarray:
    """(N, S) productivity factors of ``state``'s productivity shocks."""
    out = np.ones((len(grid.countries), len(grid.sectors)))
    for measure in state.measures:
        if isinstance(measure, ProductivityShock):
            out[grid.c[measure.country]] *= np.where(grid.smask(measure.sectors), measure.factor, 1.0)
    return out


def _world_prices(before: PolicyState, after: PolicyState, grid: _Grid) -> dict[str, float]:
    """Sector -> fractional world price change of ``after`` relative to ``before`` (changes of 0 left out)."""
    factor = np.ones(len(grid.sectors))
    for state, power in ((after, 1.0), (before, -1.0)):
        for measure in state.measures:
            if isinstance(measure, WorldPriceShock):
                factor *= np.where(grid.smask(measure.sectors), (1.0 + measure.change) ** power, 1.0)
    return {s: float(f - 1.0) for s, f in zip(grid.sectors, factor) if not np.isclose(f, 1.0, rtol=0.0, atol=1e-14)}


def _deficit_targets(before: PolicyState, after: PolicyState) -> dict[str, float]:
    """Counterfactual deficits (fractions of value added) set by the after state's capital-flow measures.

    Raises
    ------
    ScenarioError
        A capital-flow measure in the before state (the baseline deficit is the data's), or two
        for one country.
    """
    for measure in before.measures:
        if isinstance(measure, CapitalFlowShock):
            raise ScenarioError(
                f"measure '{measure.describe()}' (before): a capital-flow measure cannot be in force in the before "
                "state, whose deficits are those of the baseline data; allowed: capital_flow in [[after.measures]]. "
                "Fix: move it to [[after.measures]]"
            )
    targets: dict[str, float] = {}
    for measure in after.measures:
        if isinstance(measure, CapitalFlowShock):
            if measure.country in targets:
                raise ScenarioError(
                    f"measure '{measure.describe()}' (after): {measure.country} already has a capital-flow measure "
                    f"(deficit {targets[measure.country]:+.4g}); allowed: one per country. Fix: keep one of them"
                )
            targets[measure.country] = float(measure.deficit)
    return targets


def _pool(state: PolicyState) -> tuple[dict[str, float] | None, tuple[str, ...]]:
    """Pool shares (fractions) of the first bloc with a pool in force, and that bloc's members."""
    for bloc in state.blocs:
        period = bloc.pool_at(state.date)
        members = bloc.members_at(state.date)
        if period is not None and members:
            return {c: float(v) / 100.0 for c, v in period.shares.items()}, members
    for bloc in state.blocs:
        if bloc.has_cet and bloc.members_at(state.date):
            return None, bloc.members_at(state.date)
    return None, ()


def _check_codes(state: PolicyState, grid: _Grid) -> None:
    """Every country and sector a measure names must be in the dataset."""
    for measure in state.measures:
        names = [getattr(measure, a, None) for a in ("importer", "origin", "transit", "country")]
        lists = [getattr(measure, a, ()) for a in ("exporters", "origins", "destinations", "via", "leak_via", "hosts")]
        codes = [c for c in names if c] + [c for group in lists for c in group]
        unknown = [c for c in codes if c not in grid.c]
        bad_sectors = [x for x in getattr(measure, "sectors", ()) if x not in grid.s]
        if unknown or bad_sectors:
            raise ScenarioError(
                f"measure '{measure.describe()}' ({state.label}): unknown country code(s) {unknown} / sector(s) "
                f"{bad_sectors}; the dataset has countries {list(grid.countries)} and sectors {list(grid.sectors)}"
            )


def compile_shock(
    before: PolicyState,
    after: PolicyState,
    dataset: Any,
    year: int,
    *,
    theta: Mapping[str, float] | float,
    countries: Sequence[str] | None = None,
    sectors: Sequence[str] | None = None,
) -> Shock:
    """Turn two policy states into the :class:`Shock` the models consume.

    Parameters
    ----------
    before, after
        Policy states (the baseline and the counterfactual policy).
    dataset
        A dataset with ``.countries`` (column ``iso3``) and ``.sectors`` (column
        ``sector``), e.g. ``blocsim.load_dataset("eaeu")``; used for the country and
        sector lists unless ``countries``/``sectors`` are given. Must be None when both are
        given (it would have no effect).
    year
        Baseline data year, an int (recorded in the shock).
    theta
        Trade elasticity by sector (or one number), converting ad valorem costs into
        factors on ``kappa^(-theta)``, positive and finite, for every sector of the data
        (the models bound it further, e.g. :func:`blocsim.solve_multisector`).
    countries, sectors
        Override the dataset's lists (and their order).

    Raises
    ------
    ScenarioError
        Bad ``theta`` or ``year``, an unused ``dataset``; a measure naming unknown countries
        or sectors.
    PolicyRuleViolation
        A malformed tariff measure (e.g. a CET change naming a fellow member).

    Returns
    -------
    Shock
    """
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)):
        raise ScenarioError(f"argument 'year': got {year!r}; allowed: an int (the baseline data year, e.g. 2012)")
    if countries is not None and sectors is not None and dataset is not None:
        raise ScenarioError(
            "argument 'dataset': given together with both 'countries' and 'sectors', so it would have no effect; "
            "allowed: dataset=None in that case. Fix: drop one of them"
        )
    codes = tuple(countries) if countries is not None else tuple(dataset.countries["iso3"].astype(str))
    names = tuple(sectors) if sectors is not None else tuple(dataset.sectors["sector"].astype(str))
    grid = _Grid(codes, names)
    theta_s = _theta_vector(theta, names)
    for state in (before, after):
        _check_codes(state, grid)
    violations = tuple(check_rules(after))
    rates_before, deflected_before, rerouted_before, _ = deflect(before, "before", codes, names,
                                                                 applied_tariff_array(before, codes, names)[0])
    rates_after, deflected_after, deflected, deflect_notes = deflect(
        after, "after", codes, names, applied_tariff_array(after, codes, names)[0])
    input_names = _input_names(before, after)
    terms_before, reroutes_before, _ = _nontariff_terms(before, "before", grid, theta_s, input_names)
    reroutes_before.extend(rerouted_before)
    terms_after, reroutes, notes = _nontariff_terms(after, "after", grid, theta_s, input_names, known=before.measures)
    reroutes.extend(deflected)
    notes.extend(deflect_notes)
    border_cost_terms, border_notes = border_terms(before, after, codes, names)
    notes.extend(border_notes)
    cost_terms = (*terms_before, *deflected_before, *terms_after, *deflected_after, *border_cost_terms)
    shape = (len(names), len(codes), len(codes))
    cube = cost_factor_cube(cost_terms, shape, theta_s[None])[0]  # (S, N, N)
    factor = cube.transpose(1, 2, 0)  # (N, N, S) [exporter, importer, sector]
    notes.extend(f"removed: {m.describe()}" for m in before.measures if m not in after.measures)
    term_before, term_after, _ = cost_parts(cost_terms, shape, theta_s[None])
    if np.any((term_before == 0) & (term_after > 0)):
        notes.append(
            "a barrier that is prohibitive in the before state is lifted: the baseline flow is zero and stays zero "
            "in an exact-hat-algebra model (factor set to 1)"
        )
    n, s = len(codes), len(names)
    exporter, importer, sector = np.meshgrid(np.arange(n), np.arange(n), np.arange(s), indexing="ij")
    off = (exporter != importer).ravel()
    code_arr, sector_arr = np.asarray(codes, dtype=object), np.asarray(names, dtype=object)
    tariffs = pd.DataFrame(
        {
            "exporter": code_arr[exporter.ravel()][off],
            "importer": code_arr[importer.ravel()][off],
            "sector": sector_arr[sector.ravel()][off],
            "tariff_before": rates_before.ravel()[off],
            "tariff_after": rates_after.ravel()[off],
        }
    ).reset_index(drop=True)
    changed = factor.ravel() != 1.0  # values within ROUNDING of 1 are exactly 1
    cost_factor = pd.DataFrame(
        {
            "exporter": code_arr[exporter.ravel()][changed],
            "importer": code_arr[importer.ravel()][changed],
            "sector": sector_arr[sector.ravel()][changed],
            "factor": factor.ravel()[changed],
        }
    ).reset_index(drop=True)
    prod = _productivity(after, grid) / _productivity(before, grid)
    country_idx, sector_idx = np.nonzero(~np.isclose(prod, 1.0, rtol=0.0, atol=1e-14))
    productivity = pd.DataFrame(
        {"country": code_arr[country_idx], "sector": sector_arr[sector_idx], "factor": prod[country_idx, sector_idx]}
    )
    pool_before, members_before = _pool(before)
    pool_after, members_after = _pool(after)
    notes[:0] = _tariff_notes(tariffs)
    if pool_before != pool_after:
        def pct(pool: dict[str, float] | None) -> str:
            return "none" if pool is None else ", ".join(f"{c} {100 * v:.2f}" for c, v in pool.items())

        notes.append(f"duty pool (percent): {pct(pool_before)} -> {pct(pool_after)}")
    return Shock(
        countries=codes,
        sectors=names,
        year=int(year),
        tariffs=tariffs,
        cost_factor=cost_factor,
        duty_pool_before=pool_before,
        duty_pool_after=pool_after,
        productivity=productivity,
        reroutes=pd.DataFrame(reroutes, columns=["origin", "via", "destination", "sector", "share", "reexport_cost"]),
        notes=tuple(notes),
        violations=violations,
        bloc_members_before=members_before,
        bloc_members_after=members_after,
        theta=dict(zip(names, theta_s.tolist())),
        cost_terms=cost_terms,
        income_transfers=rent_table(reroutes_before, reroutes),
        deficit_targets=_deficit_targets(before, after),
        world_prices=_world_prices(before, after, grid),
    )
