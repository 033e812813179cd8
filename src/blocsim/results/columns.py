"""What every column of a run directory's tables means: label, unit and definition.

One table of definitions (:data:`COLUMNS`) serves every place that explains a column:
the README sheet of an Excel export, the variable labels of a Stata export, the
comparison page and (later) the glossary. Percent changes are ``(counterfactual -
baseline) / baseline * 100``; money is current USD millions a year; tariffs are ad
valorem fractions (0.05 = 5 %).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ColumnDefinition:
    """One column: its name in the CSV files, a short label, its unit and a definition.

    Attributes
    ----------
    name : str
        Column name as written in the run directory (e.g. ``welfare_pct``).
    label : str
        Short human label (at most 60 characters, so it fits a Stata variable label).
    unit : str
        ``"percent"``, ``"USD millions"``, ``"fraction"``, ``"ISO3 code"``, ``"text"``, ...
    definition : str
        One or two sentences saying what the number is.
    """

    name: str
    label: str
    unit: str
    definition: str


PCT = "percent"
USD = "USD millions"
_CHANGE = "(counterfactual - baseline) / baseline * 100"


def _defs(*rows: tuple[str, str, str, str]) -> dict[str, ColumnDefinition]:
    return {name: ColumnDefinition(name, label, unit, definition) for name, label, unit, definition in rows}


#: Column name -> definition, for every column blocsim writes to a run directory.
COLUMNS: dict[str, ColumnDefinition] = _defs(
    # keys
    ("country", "Country", "ISO3 code", "Country or region (ISO 3166-1 alpha-3; EUN = EU as one region, ROW = rest of world)."),
    ("exporter", "Exporter", "ISO3 code", "Exporting country or region (ISO3)."),
    ("importer", "Importer", "ISO3 code", "Importing country or region (ISO3)."),
    ("sector", "Sector", "text", "Sector of the dataset's classification (e.g. agri_food, manufacturing)."),
    ("partner_group", "Partner group", "text", "Group of trade partners: bloc members, partners, or the rest of the world."),
    ("variable", "Variable", "text", "Name of the countries.csv column the uncertainty band is for."),
    # countries.csv
    ("welfare_pct", "Welfare (real income), % change", PCT,
     "Change in real income (value added + duty revenue received + deficit not financed by the pool, "
     f"deflated by the consumer price index), {_CHANGE}."),
    ("real_gdp_pct", "Real GDP, % change", PCT, f"Change in GDP at market prices (value added + duties collected) deflated by the consumer price index, {_CHANGE}."),
    ("real_wage_pct", "Real wage, % change", PCT, f"Change in the wage deflated by the consumer price index, {_CHANGE}."),
    ("price_index_pct", "Consumer price index, % change", PCT, f"Change in the consumer price index, {_CHANGE}."),
    ("factory_price_pct", "Factory-gate price, % change", PCT,
     f"Change in the wage (the factory-gate price of the country's labour), {_CHANGE}."),
    ("omr_pct", "Outward resistance, % change", PCT, f"Change in the output-weighted index of sectoral outward multilateral resistances, {_CHANGE}."),
    ("imr_pct", "Inward resistance, % change", PCT, f"Change in the absorption-weighted index of sectoral price indices (inward resistance), {_CHANGE}."),
    ("exports_pct", "Exports, % change", PCT, f"Change in exports to other countries (full general equilibrium), {_CHANGE}."),
    ("imports_pct", "Imports, % change", PCT, f"Change in imports from other countries (full general equilibrium), {_CHANGE}."),
    ("exports_cond_pct", "Exports, % change (conditional GE)", PCT,
     f"Change in exports with output and expenditure held at the baseline (conditional GE), {_CHANGE}."),
    ("imports_cond_pct", "Imports, % change (conditional GE)", PCT,
     f"Change in imports with output and expenditure held at the baseline (conditional GE), {_CHANGE}."),
    ("tariff_revenue_collected_before", "Tariff revenue collected, before", USD,
     "Statutory import duties levied by the country's tariffs on its imports in the baseline."),
    ("tariff_revenue_collected_after", "Tariff revenue collected, after", USD,
     "Statutory import duties levied by the country's tariffs on its imports in the counterfactual."),
    ("tariff_revenue_received_before", "Tariff revenue received, before", USD,
     "Import duties the country keeps in the baseline (for pool members: its share of the duty pool "
     "plus the uncollected share of its statutory duties)."),
    ("tariff_revenue_received_after", "Tariff revenue received, after", USD,
     "Import duties the country keeps in the counterfactual (for pool members: its share of the duty "
     "pool plus the uncollected share of its statutory duties)."),
    ("tariff_revenue_change", "Tariff revenue received, change", USD,
     "tariff_revenue_received_after - tariff_revenue_received_before."),
    ("pool_contribution_before", "Paid into the duty pool, before", USD,
     "Import duties a pool member pays into the common account in the baseline: its collection "
     "efficiency times its statutory duties (0 outside a pool)."),
    ("pool_contribution_after", "Paid into the duty pool, after", USD,
     "Import duties a pool member pays into the common account in the counterfactual: its collection "
     "efficiency times its statutory duties (0 outside a pool)."),
    ("income_baseline", "National income, baseline", USD, "National income (value added + duty revenue received + deficit) in the baseline."),
    ("income_counterfactual", "National income, counterfactual", USD, "National income in the counterfactual (units of the numeraire)."),
    ("exports_baseline", "Exports, baseline", USD, "Exports to other countries in the baseline."),
    ("exports_counterfactual", "Exports, counterfactual", USD, "Exports to other countries in the counterfactual."),
    ("imports_baseline", "Imports, baseline", USD, "Imports from other countries in the baseline."),
    ("imports_counterfactual", "Imports, counterfactual", USD, "Imports from other countries in the counterfactual."),
    ("deficit_baseline", "Trade deficit, baseline", USD, "Imports minus exports in the baseline (held fixed by the closure)."),
    ("deficit_counterfactual", "Trade deficit, counterfactual", USD, "Imports minus exports in the counterfactual."),
    # countries.csv: the labour channel (remittances follow the host's wage and the migrant stock)
    ("remittances_received_before", "Remittances received, before", USD,
     "Remittances from the country's migrants abroad in the baseline (calibration data per corridor)."),
    ("remittances_received_after", "Remittances received, after", USD,
     "Remittances received in the counterfactual: baseline times the host's wage change and migrant-stock change."),
    ("remittances_sent_before", "Remittances sent, before", USD,
     "Remittances that migrants working in the country send home, in the baseline."),
    ("remittances_sent_after", "Remittances sent, after", USD, "Remittances sent home from the country, counterfactual."),
    ("remittances_net_change", "Net remittances, change", USD,
     "(received - sent) after minus (received - sent) before: the transfer change in national income."),
    ("migrants_pct", "Migrants abroad, % change", PCT,
     f"Change in the country's migrant workers abroad (all hosts), {_CHANGE}; driven by the real-wage gap and "
     "entry costs (migration elasticity)."),
    # countries.csv: income transfers tied to trade flows (re-export rents)
    ("income_transfers_before", "Re-export rents (net), before", USD,
     "Re-export rents earned minus paid in the baseline (margins on goods rerouted through the country)."),
    ("income_transfers_after", "Re-export rents (net), after", USD,
     "Re-export rents earned minus paid in the counterfactual; the change enters national income."),
    # countries.csv: the exact welfare decomposition (terms sum to welfare_pct) and Caliendo-Parro's terms
    ("welfare_from_terms_of_trade_pct", "Welfare from terms of trade, pp", PCT,
     "Term of the exact welfare decomposition (pp of real income): value added and import prices, export "
     "prices against import prices (Caliendo and Parro 2015). The terms welfare_from_*_pct sum to welfare_pct."),
    ("welfare_from_volume_of_trade_pct", "Welfare from volume of trade, pp", PCT,
     "Term of the exact welfare decomposition: baseline tariffs times the change of import volumes at constant "
     "exporter costs (tariff-revenue efficiency, Caliendo and Parro 2015), pp of real income."),
    ("welfare_from_tariff_revenue_pct", "Welfare from own tariff rates, pp", PCT,
     "Term of the exact welfare decomposition: duties the new own rates collect on counterfactual imports, "
     "net of what they add to the country's consumer prices, pp of real income."),
    ("welfare_from_pool_transfer_pct", "Welfare from duty-pool transfer, pp", PCT,
     "Term of the exact welfare decomposition: change of (duties received - duties collected) over baseline "
     "income, times 100."),
    ("welfare_from_remittances_pct", "Welfare from remittances and transfers, pp", PCT,
     "Term of the exact welfare decomposition: change of remittances received minus sent over baseline income "
     "(the labour channel; zero without a remittance table)."),
    ("welfare_from_reexport_rents_pct", "Welfare from re-export rents, pp", PCT,
     "Term of the exact welfare decomposition: change of re-export rents earned minus paid (the margin a "
     "transit member earns on rerouted goods, paid by their origin) over baseline income, times 100 (zero "
     "without rerouting)."),
    ("welfare_from_border_costs_pct", "Welfare from border/non-tariff costs, pp", PCT,
     "Term of the exact welfare decomposition: minus the consumer-price cost of non-tariff and border cost "
     "changes (bans included), pp of real income."),
    ("welfare_from_productivity_pct", "Welfare from own productivity, pp", PCT,
     "Term of the exact welfare decomposition: minus the consumer-price cost of the country's own "
     "productivity changes, pp of real income."),
    ("welfare_from_deficit_closure_pct", "Welfare from deficit closure, pp", PCT,
     "Term of the exact welfare decomposition: change of the deficit not financed by the pool (the "
     "closure) over baseline income, times 100."),
    ("welfare_tot_pct", "Terms of trade (Caliendo-Parro, first order), pp", PCT,
     "Caliendo and Parro (2015) first-order terms-of-trade effect, pp of baseline income (not part of the "
     "exact decomposition)."),
    ("welfare_vot_pct", "Volume of trade (Caliendo-Parro, first order), pp", PCT,
     "Caliendo and Parro (2015) first-order volume-of-trade effect, pp of baseline income (not part of the "
     "exact decomposition)."),
    # flows.csv
    ("trade_baseline", "Trade, baseline", USD, "Flow from exporter to importer in the baseline, valued before tariffs."),
    ("trade_counterfactual", "Trade, counterfactual", USD, "Flow from exporter to importer in the counterfactual."),
    ("trade_pct", "Trade, % change", PCT, f"Change in the flow, {_CHANGE}."),
    ("trade_recorded", "Trade recorded, counterfactual", USD,
     "Counterfactual flow as recorded by customs (re-exports attributed to the country they pass through)."),
    ("trade_recorded_pct", "Trade recorded, % change", PCT, f"Change in the recorded flow, {_CHANGE}."),
    # tariffs.csv
    ("tariff_before", "Tariff, before", "fraction", "Applied ad valorem tariff in the baseline policy state (0.05 = 5 %)."),
    ("tariff_after", "Tariff, after", "fraction", "Applied ad valorem tariff in the scenario's policy state (0.05 = 5 %)."),
    ("source", "Source of the rate", "text",
     "The dataset's basis for the pair's rate in the tariff year: its bilateral tariffs table, else the importer's "
     "schedule (blocsim.results.tariff_sources)."),
    ("flag", "Flag of the rate", "text",
     "proxy: the rate stands in for a figure the data lack (assumed, or another schedule's rate); otherwise the "
     "dataset's flag, importer_schedule or domestic."),
    # bloc_effects.csv
    ("intra_baseline", "Imports from bloc members, baseline", USD, "Imports from the other bloc members in the baseline."),
    ("intra_counterfactual", "Imports from bloc members, after", USD, "Imports from the other bloc members in the counterfactual."),
    ("extra_baseline", "Imports from non-members, baseline", USD, "Imports from outside the bloc in the baseline."),
    ("extra_counterfactual", "Imports from non-members, after", USD, "Imports from outside the bloc in the counterfactual."),
    ("domestic_baseline", "Domestic sales, baseline", USD, "Purchases from domestic producers in the baseline."),
    ("domestic_counterfactual", "Domestic sales, after", USD, "Purchases from domestic producers in the counterfactual."),
    ("income_effect", "Income effect", USD, "Imports at unchanged sourcing shares: (E' - E) * (1 - s_D)."),
    ("trade_creation", "Trade creation", USD,
     "Purchases switched from home producers to imports: -E' * (s_D' - s_D), E spending, s_D domestic share."),
    ("trade_diversion", "Trade diversion", USD, "Purchases switched away from non-members: -E' * (s_N' - s_N), s_N the non-member share."),
    ("intra_pct", "Imports from bloc members, % change", PCT, f"Change in imports from other bloc members, {_CHANGE}."),
    ("extra_pct", "Imports from non-members, % change", PCT, f"Change in imports from outside the bloc, {_CHANGE}."),
    # bands.csv (Monte Carlo over the trade elasticities)
    ("point", "Point estimate", "unit of the variable", "Value of the variable in the run at the central elasticities."),
    ("mean", "Mean over draws", "unit of the variable", "Mean of the variable over the Monte Carlo draws."),
    ("std", "Standard deviation over draws", "unit of the variable", "Standard deviation over the Monte Carlo draws."),
    # sensitivity.csv (one input at a time at its 5th and 95th percentile)
    ("input", "Uncertain input", "text", "Name of the varied input, e.g. theta[agri_food] or border_cost[EAEU]."),
    ("kind", "Kind of input", "text", "theta (trade elasticity), an AVE kind (border, transit, reexport, ntm, "
     "deflection) or parameter (a scenario number named in [uncertainty])."),
    ("distribution", "Distribution of the input", "text", "The distribution the Monte Carlo draws take the input from."),
    ("input_low", "Input at its 5th percentile", "unit of the input",
     "Value of the input at the 5th percentile of its distribution."),
    ("input_high", "Input at its 95th percentile", "unit of the input",
     "Value of the input at the 95th percentile of its distribution."),
    ("result_low", "Result with the input at p05", "unit of the variable",
     "The variable with this input at its 5th percentile and every other input at its point value."),
    ("result_high", "Result with the input at p95", "unit of the variable",
     "The variable with this input at its 95th percentile and every other input at its point value."),
    ("swing", "Swing of the result", "unit of the variable",
     "|result_high - result_low|: how much the input moves the variable."),
    ("rank", "Rank of the swing", "rank (1 = largest)", "Rank of the input by swing within its country and variable."),
)

#: Percentiles of ``bands.csv`` copied into ``countries.csv`` as ``<variable>_<percentile>``
#: columns (``welfare_pct_p05``, ``welfare_pct_p50``, ``welfare_pct_p95``) when a run has draws.
BAND_PERCENTILES: tuple[str, ...] = ("p05", "p50", "p95")


def band_column(variable: str, percentile: str) -> str:
    """Name of the ``countries.csv`` column holding ``percentile`` of ``variable`` (``welfare_pct_p05``)."""
    return f"{variable}_{percentile}"


_SPILLOVER = re.compile(r"^spillover_(?P<channel>[a-z][a-z0-9_-]*)_pct$")
_PERCENTILE = re.compile(r"^p(?P<q>[0-9]+(?:\.[0-9]+)?)$")
_BAND_OF = re.compile(r"^(?P<variable>.+)_(?P<stat>p[0-9]+(?:\.[0-9]+)?)$")


def describe_column(name: str) -> ColumnDefinition:
    """The definition of column ``name``; percentiles (``p05``) and band columns
    (``welfare_pct_p95``, as in a comparison) are derived, anything else undocumented is
    returned with an empty unit and the definition ``"not documented"``."""
    if name in COLUMNS:
        return COLUMNS[name]
    channel = _SPILLOVER.match(name)
    if channel:
        return ColumnDefinition(name, f"Spill-over through the {channel['channel']} channel, pp", "percentage points",
                                f"The change of welfare_pct the {channel['channel']} channel adds when the scenario's "
                                "channels are run cumulatively in the file's order (blocsim.pipeline.channels); the "
                                "channels add up to welfare_pct.")
    percentile = _PERCENTILE.match(name)
    if percentile:
        q = percentile["q"].lstrip("0") or "0"
        return ColumnDefinition(name, f"{q}th percentile over draws", "unit of the variable",
                                f"The {q}th percentile of the variable over the Monte Carlo draws.")
    band = _BAND_OF.match(name)
    if band and band["variable"] in COLUMNS:
        base, stat = COLUMNS[band["variable"]], describe_column(band["stat"])
        return ColumnDefinition(name, f"{base.label} ({stat.label.split(' over')[0]})", base.unit,
                                f"{stat.definition.replace('the variable', base.name)}")
    return ColumnDefinition(name, name, "", "not documented")
