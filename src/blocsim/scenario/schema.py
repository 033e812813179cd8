"""Pydantic schema of a scenario file (TOML). Every field is documented in docs/scenarios.md.

A scenario names a dataset and baseline year, the policy state before (the built-in policy
definitions plus measures in force) and the changes that make the state after (dates,
members joining or leaving, new duty-pool shares, new preference regimes, measures), the
model and its parameters, and the outputs. Unknown fields and wrong types are errors
(strict mode: a number written as a string, ``year = "2016"``, is not coerced).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel, ConfigDict, Discriminator, Field, PrivateAttr, StringConstraints, Tag, field_validator, model_validator,
)

from blocsim.policy.macro import MAX_DEFICIT_SHARE, PERMIT_COST
from blocsim.policy.model import REROUTE_SHARE
from blocsim.policy.spec import ISO3, ExemptionSpec, Fraction, MemberExemptionSpec, Name, Percent, PreferenceSpec
from blocsim.scenario.gravity_spec import CounterfactualSection, DataSection, EstimationSection, GESection

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Cost = Annotated[float, Field(ge=0.0, le=100.0, allow_inf_nan=False)]
Change = Annotated[float, Field(gt=-1.0, le=10.0, allow_inf_nan=False)]
Theta = Annotated[float, Field(gt=0.0, le=1000.0, allow_inf_nan=False)]


class _Strict(BaseModel):
    """Unknown fields and wrong types are errors (``year = "2016"`` is not coerced to 2016)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)


class ScenarioMeta(_Strict):
    """``[scenario]``: name, title, the event it models and its sources."""

    name: Slug
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    event: Annotated[str, StringConstraints(min_length=1)]
    description: str = ""
    sources: list[Annotated[str, StringConstraints(min_length=1)]] = Field(min_length=1)
    focus_countries: list[ISO3] = []


class DataSpec(_Strict):
    """``[data]``: dataset name, baseline year, tariff year (defaults to the baseline year).

    ``imports`` (``[model] name = "pe"`` only): a CSV file of tariff-line imports beside the
    scenario file (columns ``importer, exporter, product, sector, trade``; USD millions at
    world prices); without it the PE markets are the dataset's sectors.
    """

    dataset: Name = "eaeu"
    year: int
    tariff_year: int | None = None
    imports: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None


class PolicySpec(_Strict):
    """``[policy]``: policy definitions to include and whether rule violations may run."""

    include: list[Name] = ["eaeu", "cis_fta"]
    allow_rule_violations: bool = False


#: a measure's channel (``channel = "oil"``): lower-case letters, digits, '-' and '_'; it names
#: the column ``spillover_<channel>_pct`` (:mod:`blocsim.pipeline.channels`)
ChannelName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]


class _Measure(_Strict):
    note: str = ""
    channel: ChannelName | None = None


class TariffMeasure(_Measure):
    kind: Literal["tariff"]
    importer: ISO3
    exporters: list[ISO3] = []
    sectors: list[Name] = []
    rate: Fraction | None = None
    delta: Annotated[float, Field(ge=-1.0, le=10.0, allow_inf_nan=False)] | None = None
    bloc_wide: bool = False

    @model_validator(mode="after")
    def _rate_or_delta(self) -> "TariffMeasure":
        if (self.rate is None) == (self.delta is None):
            raise ValueError("give exactly one of 'rate' (new tariff, a fraction) or 'delta' (change, a fraction)")
        return self


class BanMeasure(_Measure):
    kind: Literal["ban"]
    importer: ISO3
    origins: list[ISO3] = Field(min_length=1)
    sectors: list[Name] = Field(min_length=1)
    covered_share: Share | dict[ISO3, Share] = 1.0
    leak_via: list[ISO3] = []
    reexport_cost: Cost = 0.15
    reroute_share: Share = REROUTE_SHARE


class TransitMeasure(_Measure):
    kind: Literal["transit"]
    origin: ISO3
    transit: ISO3
    destinations: list[ISO3] = Field(min_length=1)
    sectors: list[Name] = []
    added_cost: Cost
    covered_share: Share = 1.0


class OriginMeasure(_Measure):
    kind: Literal["origin_enforcement"]
    importer: ISO3
    via: list[ISO3] = []


class NtmMeasure(_Measure):
    kind: Literal["ntm"]
    importer: ISO3
    exporters: list[ISO3] = []
    sectors: list[Name] = []
    ave: Annotated[float, Field(ge=-0.9, le=100.0, allow_inf_nan=False)]
    reciprocal: bool = False


class ProductivityMeasure(_Measure):
    kind: Literal["productivity"]
    country: ISO3
    change: Change
    sectors: list[Name] = []


class WorldPriceMeasure(_Measure):
    """``kind = "world_price"``: the world price of ``sectors`` changes by ``change`` (a fraction;
    :class:`blocsim.policy.macro.WorldPriceShock`)."""

    kind: Literal["world_price"]
    sectors: list[Name] = Field(min_length=1)
    change: Change


class CapitalFlowMeasure(_Measure):
    """``kind = "capital_flow"``: ``country``'s trade deficit moves to ``deficit``, a fraction of its
    value added (negative: a surplus; :class:`blocsim.policy.macro.CapitalFlowShock`)."""

    kind: Literal["capital_flow"]
    country: ISO3
    deficit: Annotated[float, Field(ge=-MAX_DEFICIT_SHARE, le=MAX_DEFICIT_SHARE, allow_inf_nan=False)]


class EntryCostMeasure(_Measure):
    """``kind = "entry_cost"``: migrants from ``origins`` pay ``cost`` (a fraction of earnings) to work in
    ``hosts``, in place of ``[model] entry_cost`` (:class:`blocsim.policy.macro.WorkPermitCost`)."""

    kind: Literal["entry_cost"]
    hosts: list[ISO3] = Field(min_length=1)
    origins: list[ISO3] = Field(min_length=1)
    cost: Annotated[float, Field(ge=0.0, le=10.0, allow_inf_nan=False)]


MeasureSpec = Annotated[
    Union[TariffMeasure, BanMeasure, TransitMeasure, OriginMeasure, NtmMeasure, ProductivityMeasure,
          WorldPriceMeasure, CapitalFlowMeasure, EntryCostMeasure],
    Field(discriminator="kind"),
]
MEASURE_KINDS: tuple[str, ...] = ("tariff", "ban", "transit", "origin_enforcement", "ntm", "productivity",
                                  "world_price", "capital_flow", "entry_cost")


class JoinSpec(_Strict):
    """A country joins ``bloc`` on the after date, with optional CET exemptions."""

    country: ISO3
    bloc: Name = "EAEU"
    exemptions: list[ExemptionSpec] = []


class LeaveSpec(_Strict):
    """A member leaves ``bloc`` on the after date (its MFN tariff applies again)."""

    country: ISO3
    bloc: Name = "EAEU"


def _check_pool(shares: dict[str, float] | None) -> dict[str, float] | None:
    if shares is not None:
        total = sum(shares.values())
        if abs(total - 100.0) > 1e-6:
            raise ValueError(f"duty-pool shares sum to {total:.6g} %, not 100 %; adjust the shares so they sum to 100")
    return shares


class BeforeSpec(_Strict):
    """``[before]``: the baseline policy date and measures already in force."""

    date: dt.date
    measures: list[MeasureSpec] = []


class AfterSpec(_Strict):
    """``[after]``: the counterfactual (changes relative to ``[before]``)."""

    date: dt.date | None = None
    join: list[JoinSpec] = []
    leave: list[LeaveSpec] = []
    duty_pool: dict[ISO3, Percent] | None = None
    duty_pool_bloc: Name = "EAEU"
    preferences: list[PreferenceSpec] = []
    exemptions: list[MemberExemptionSpec] = []
    measures: list[MeasureSpec] = []

    @field_validator("duty_pool")
    @classmethod
    def _pool_sums_to_100(cls, shares: dict[str, float] | None) -> dict[str, float] | None:
        return _check_pool(shares)


#: ``[model] collection_efficiency``: a table ISO3 -> fraction in (0, 1], or "calibrated"; a
#: table is checked as a table and anything else as the name, so an error names one of the two.
CollectionEfficiency = Annotated[
    Union[
        Annotated[dict[ISO3, Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]], Tag("dict")],
        Annotated[Literal["calibrated"], Tag("str")],
    ],
    Discriminator(lambda value: "dict" if isinstance(value, dict) else "str"),
]


class MultisectorModel(_Strict):
    """``[model] name = "multisector"``: the multi-sector GE with tariffs and the duty pool (the default).

    ``labour``: migrant workers and remittances (``None``, the default: on when the dataset has a
    remittance table; ``true``: required; ``false``: off). ``migration_elasticity`` (>= 0) and
    ``entry_cost`` (the work-permit cost of non-members, a fraction of earnings) are the channel's
    parameters (docs/methods-multisector.md, "Labour and remittances"). ``collection_efficiency``:
    the fraction in (0, 1] of its statutory duties a duty-pool member pays into the pool (the
    uncollected share stays in the member's income, :mod:`blocsim.equilibrium.duty_pool`):
    ``None`` (the default) uses the dataset's calibrated factors (the ``duties`` table, DATA.md
    "Fiscal facts") when it has them, else 1; ``"calibrated"`` requires them; a table ISO3 ->
    fraction sets them by hand (unlisted members: 1, full collection).
    ``deficits``: the baseline's trade deficits, ``"observed"`` (the data's, held by the closure; the
    default) or ``"purged"`` (the scenario is solved from the balanced-trade baseline of
    :func:`blocsim.purge_deficits`, Dekle, Eaton and Kortum 2008).
    """

    name: Literal["multisector"] = "multisector"
    theta: Name | dict[Name, Theta] = "caliendo_parro_2015_eaeu"
    closure: Literal["ratio", "level"] = "ratio"
    deficits: Literal["observed", "purged"] = "observed"
    labour: bool | None = None
    migration_elasticity: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.3
    entry_cost: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = PERMIT_COST
    collection_efficiency: CollectionEfficiency | None = None


#: kept for code written before the model variants: the multi-sector model spec
ModelSpec = MultisectorModel

Elasticity = Annotated[float, Field(allow_inf_nan=False)]


class PEModel(_Strict):
    """``[model] name = "pe"``: tariff-line partial equilibrium (:func:`blocsim.solve_pe`).

    Elasticities are scalars for every market (``None``: the model's defaults, import demand
    -1.0, substitution 1.5, export supply infinite); ``export_supply = inf`` is allowed.
    """

    name: Literal["pe"]
    import_demand: Annotated[float, Field(lt=0.0, allow_inf_nan=False)] | None = None
    substitution: Annotated[float, Field(gt=1.0, le=501.0, allow_inf_nan=False)] | None = None
    export_supply: Annotated[float, Field(gt=0.0)] | None = None
    method: Literal["exact", "smart"] = "exact"
    domestic: Literal["drop", "source"] = "drop"


class OneSectorModel(_Strict):
    """``[model] name = "onesector"``: PPML + one-sector structural-gravity GE (:func:`blocsim.solve_ge`)."""

    name: Literal["onesector"]
    sigma: float = Field(gt=1.0, allow_inf_nan=False)
    reference_importer: str | None = None
    baseline_method: Literal["estimated", "observed"] = "estimated"
    closure: Literal["ratio", "level"] = "ratio"
    compat: Literal["yotov", "gegravity"] | None = None

    def ge_section(self) -> GESection:
        """The settings passed to ``blocsim.solve_ge`` (this table without ``name``)."""
        return GESection(**self.model_dump(exclude={"name"}))


MODEL_NAMES: tuple[str, ...] = ("multisector", "onesector", "pe")
PolicyModel = Annotated[Union[MultisectorModel, PEModel], Field(discriminator="name")]


def with_default_model_name(data: Any) -> Any:
    """A ``[model]`` table without ``name`` is the multi-sector model (files written before ``name`` mattered)."""
    if isinstance(data, dict) and isinstance(data.get("model"), dict) and "name" not in data["model"]:
        return {**data, "model": {"name": "multisector", **data["model"]}}
    return data


MULTISECTOR_TABLES: tuple[str, ...] = (
    "countries", "flows", "bloc_effects", "partner_groups", "tariffs", "reexports", "shock",
)
#: tables of a PE run: per importer (countries), per line (flows), per market (products), the shock's tariffs/factors
PE_TABLES: tuple[str, ...] = ("countries", "flows", "products", "tariffs", "shock")


class OutputSpec(_Strict):
    """``[outputs]``: which tables to write (those a model does not produce are errors)."""

    tables: list[Literal[
        "countries", "flows", "bloc_effects", "tariffs", "reexports", "partner_groups", "shock", "products"
    ]] = ["countries", "flows", "bloc_effects", "tariffs", "reexports", "partner_groups"]


class DistributionSpec(_Strict):
    """A distribution: ``dist`` and its numbers (normal: mean, sd; lognormal: median, sd_log;
    uniform: low, high; triangular: low, mode, high); checked by the uncertainty pipeline."""

    dist: Literal["normal", "lognormal", "uniform", "triangular"]
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    sd_log: float | None = None
    low: float | None = None
    mode: float | None = None
    high: float | None = None


class ParameterDraw(DistributionSpec):
    """A scenario number drawn per Monte Carlo draw: its dotted ``path`` (``after.measures[0].covered_share``)."""

    path: Annotated[str, StringConstraints(min_length=1, max_length=200)]


SpreadKind = Literal["border", "transit", "reexport", "ntm", "deflection"]


class UncertaintySpec(_Strict):
    """``[uncertainty]``: what a Monte Carlo draw varies (docs/methods-pe-uncertainty.md, section 4)."""

    theta_spread: Annotated[float, Field(ge=0.0, le=5.0, allow_inf_nan=False)] = 0.2
    ave_spread: dict[SpreadKind, Annotated[float, Field(ge=0.0, le=5.0, allow_inf_nan=False)]] = {}
    ave: dict[Annotated[str, StringConstraints(min_length=1)], DistributionSpec] = {}
    parameters: list[ParameterDraw] = []


class Scenario(_Strict):
    """A whole scenario file."""

    scenario: ScenarioMeta
    data: DataSpec
    policy: PolicySpec = PolicySpec()
    before: BeforeSpec
    after: AfterSpec
    model: PolicyModel = MultisectorModel()
    outputs: OutputSpec = OutputSpec()
    uncertainty: UncertaintySpec = UncertaintySpec()
    _source: tuple[str, str] = PrivateAttr(default=("<object>", ""))
    #: folders ``[policy] include`` files may come from (set by the loader; empty: built-in names only)
    _include_dirs: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="before")
    @classmethod
    def _model_name(cls, data: Any) -> Any:
        return with_default_model_name(data)

    @property
    def after_date(self) -> dt.date:
        """The counterfactual policy date (``after.date``, else ``before.date``)."""
        return self.after.date or self.before.date


class OneSectorScenario(_Strict):
    """A scenario file with ``[model] name = "onesector"``: a gravity table, PPML, cost changes.

    Sections: ``[scenario]`` (as for every scenario), ``[data]`` (a bundled ``sample`` or a
    ``path`` beside the file, and its columns), ``[estimation]``, ``[model]`` and
    ``[[counterfactual.set]]`` (:mod:`blocsim.scenario.gravity_spec`). The one-sector model
    takes cost changes, not policy states: ``[before]``/``[after]`` are errors here.
    """

    scenario: ScenarioMeta
    data: DataSection
    estimation: EstimationSection
    model: OneSectorModel
    counterfactual: CounterfactualSection
    _source: tuple[str, str] = PrivateAttr(default=("<object>", ""))
    _include_dirs: tuple[str, ...] = PrivateAttr(default=())
    #: the table that holds the model settings in the file read: "model", or "ge" in an old ``blocsim ge`` file
    _model_table: str = PrivateAttr(default="model")

    @property
    def model_table(self) -> str:
        """Name of the file's table with the model settings, for error messages (``model``, or ``ge``)."""
        return self._model_table


AnyScenario = Union[Scenario, OneSectorScenario]
