"""Macro shocks and labour-market rules as policy measures: world prices, capital flows, work permits.

Measures that are not trade policy but move the economies a customs union joins
(docs/methods-multisector.md, "Macro shocks"):

- :class:`WorldPriceShock`: the world price of one or more sectors (oil: ICIO ``B06``, crude
  petroleum and natural gas) changes by a fraction ``change``. Read at short-run fixed
  quantities (oil demand is price-inelastic in the short run): every country gains ``change``
  times its net exports of the sector, an income transfer from net exporters to net importers
  (:mod:`blocsim.equilibrium.world_prices`).
- :class:`CapitalFlowShock`: a country's trade deficit (imports minus exports, before tariffs)
  moves to ``deficit``, a fraction of its counterfactual value added (GDP at factor cost;
  negative: a surplus). A sudden stop or capital flight is a lower deficit (a larger
  surplus); the counterpart is spread over the other countries in proportion to their value
  added, so world deficits still sum to zero (:mod:`blocsim.equilibrium.multisector_core`).
- :class:`WorkPermitCost`: the cost of a work permit (patent) for migrants from ``origins`` in
  ``hosts``, a fraction of earnings, in place of the scenario's ``[model] entry_cost``; 0 opens
  the labour market without a customs union (:mod:`blocsim.pipeline.labour_inputs`). Free
  movement inside a union overrides it (a member cannot charge a fellow member's workers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from blocsim.policy.checks import in_range, measure_error, range_text

PERMIT_COST = 0.093
"""Default entry cost of a migrant from a non-member, a fraction of earnings.

Russia's work patent from 1 January 2015: 4,000 rubles a month, set against an average legal
income of foreign workers of about 43,000 rubles a month (m24.ru, 15 January 2015, reporting the
Moscow migration centre): ``4000 / 43000 = 0.093``. Free movement inside the union waives it
(Treaty on the EAEU, art. 97: no work permits for members' nationals).
"""

#: Largest absolute deficit a capital-flow measure may set, as a fraction of value added.
MAX_DEFICIT_SHARE = 0.5


@dataclass(frozen=True)
class WorldPriceShock:
    """The world price of ``sectors`` changes by the fraction ``change`` (-0.47 = falls by 47 %).

    At short-run fixed quantities the sellers of the sectors' internationally traded goods
    receive, and the buyers pay, ``change`` times the value traded more (less, for a fall): each
    country gains ``change`` times its net exports of the sectors, which sums to zero over
    countries (:mod:`blocsim.equilibrium.world_prices`). Unit costs, flows and consumer price
    indices stay those of the model: the price change is a rent, shown in
    ``welfare_from_terms_of_trade_pct``.
    """

    sectors: tuple[str, ...]
    change: float
    note: str = ""
    kind: str = field(default="world_price", init=False)

    def __post_init__(self) -> None:
        if not self.sectors:
            raise measure_error(self.kind, "", "sectors", list(self.sectors),
                                "one or more sector codes of the dataset",
                                "name the sectors whose world price moves, e.g. sectors = [\"B06\"]")
        if not in_range(self.change, -1.0, 10.0, open_low=True):
            raise measure_error(self.kind, "", "change", self.change,
                                f"a finite fraction in {range_text(-1.0, 10.0, open_low=True)}",
                                "give the proportional price change, e.g. -0.47 for a fall of 47 %")

    def describe(self) -> str:
        """One-line description for reports."""
        return f"world price of {', '.join(self.sectors)} {self.change:+.2%} (at fixed quantities)"


@dataclass(frozen=True)
class CapitalFlowShock:
    """``country``'s trade deficit moves to ``deficit`` (fraction of its value added; < 0: surplus).

    The level holds in the counterfactual: deficit' = ``deficit`` x value added', both in
    the counterfactual's prices; the other countries' deficits absorb the difference in
    proportion to their value added (world deficits sum to zero).
    """

    country: str
    deficit: float
    note: str = ""
    kind: str = field(default="capital_flow", init=False)

    def __post_init__(self) -> None:
        bounds = (-MAX_DEFICIT_SHARE, MAX_DEFICIT_SHARE)
        if not in_range(self.deficit, *bounds):
            raise measure_error(self.kind, "", "deficit", self.deficit,
                                f"a finite fraction of value added in {range_text(*bounds)}",
                                "give the counterfactual trade deficit as a share of GDP, "
                                "e.g. -0.10 for a surplus of 10 %")

    @property
    def sectors(self) -> tuple[str, ...]:
        """No sectors (a country-level measure)."""
        return ()

    def describe(self) -> str:
        """One-line description for reports."""
        return f"capital flows: {self.country}'s trade deficit moves to {self.deficit:+.2%} of its value added"


@dataclass(frozen=True)
class WorkPermitCost:
    """Migrants from ``origins`` pay ``cost`` (a fraction of earnings) for the right to work in ``hosts``.

    It replaces ``[model] entry_cost`` for those corridors (the labour channel,
    :mod:`blocsim.equilibrium.labour`): migrant stocks respond to ``1 + cost`` with the
    migration elasticity. 0 is free access to the labour market.
    """

    hosts: tuple[str, ...]
    origins: tuple[str, ...]
    cost: float
    note: str = ""
    kind: str = field(default="entry_cost", init=False)

    def __post_init__(self) -> None:
        for name in ("hosts", "origins"):
            if not getattr(self, name):
                raise measure_error(self.kind, "", name, [], "one or more ISO3 codes",
                                    f"list the {name}, e.g. [\"RUS\"]")
        shared = sorted(set(self.hosts) & set(self.origins))
        if shared:
            raise measure_error(self.kind, "", "origins", list(self.origins), "countries other than the hosts",
                                f"drop {shared}: a country's own workers need no permit")
        if not in_range(self.cost, 0.0, 10.0):
            raise measure_error(self.kind, "", "cost", self.cost,
                                f"a finite fraction of earnings in {range_text(0.0, 10.0)}",
                                "give the permit cost as a share of a migrant's earnings, e.g. 0.15")

    @property
    def sectors(self) -> tuple[str, ...]:
        """No sectors (a labour-market measure)."""
        return ()

    def covers(self, origin: str, host: str) -> bool:
        """True if migrants from ``origin`` in ``host`` pay this cost."""
        return origin in self.origins and host in self.hosts

    def describe(self) -> str:
        """One-line description for reports."""
        return (f"work permits: migrants from {', '.join(self.origins)} in {', '.join(self.hosts)} pay "
                f"{self.cost:.1%} of earnings")
