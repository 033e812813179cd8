"""Ex-post test: blocsim's predicted changes in members' sectoral import shares against later data.

Two events of the scenario library are run as ``blocsim scenarios run`` runs them, from their
pre-event data year of the dataset (default ``eaeu``: data v2, OECD ICIO):

- ``armenia-kyrgyzstan-join-2015`` (2014 data; Armenia joined 2 Jan 2015, Kyrgyzstan 12 Aug
  2015), checked against 2016, the first full year with both in the union; importers: the five
  members; sectors: the 27 goods sectors; sources: the union's other members against the rest
  of the world;
- ``russia-food-ban-2014`` (2013 data; ban from 7 Aug 2014), checked against 2015, the first
  full year of the ban; importers: the members of the union on the ban's date (RUS, KAZ, BLR);
  sectors: the three banned sectors; sources: the union's other members, the banned origins and
  the rest of the world.

A third run checks what the policy runs leave out: the accessions with the 2014-15 macro shocks of
``russia-recession-2014-15`` added (Russia's productivity, the oil price, capital flight, with the
labour channel on; channel tags dropped). It is reported next to the accessions (the pooled union
shares, its own cells) and left out of the summary of the two policy events.

For every importer and sector the script compares the model's change of each source group's
share in the importer's imports (counterfactual minus baseline flows of the run, pp) with the
change the data show (later year minus pre-event year, pp), and the model's mean absolute error
over the groups with that of the naive forecast "no change" (``blocsim.results.expost``). It
prints one row per importer and sector, then how often the model beats no change per event and
importer. The model holds only the trade-policy change; everything else that moved between the
two years (the ruble's fall, the oil price, Russia's recession, sanctions) is in the data.

Usage: ``python bench/expost.py [--dataset eaeu] [--min-imports 1.0] [--out table.csv]
[--markdown]``. ``--markdown`` prints the tables of docs/validation.md's "Ex-post test" section
instead (docs/validation_numbers.py puts them there).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import blocsim
from blocsim.results import expost_errors, expost_summary, expost_table
from blocsim.scenario import Scenario, load_scenario


@dataclass(frozen=True)
class Event:
    """A library scenario, the later data year it is checked against and which sectors are compared."""

    scenario: str
    later_year: int
    sectors: str  # "goods": every goods sector of the dataset; "measures": the sectors of its ban measures
    plus: str | None = None  # a library scenario on the same data year whose after-measures are added

    @property
    def name(self) -> str:
        """The event's label in the tables: the scenario, or ``scenario + plus``."""
        return self.scenario if self.plus is None else f"{self.scenario} + {self.plus}"


EVENTS = (
    Event("armenia-kyrgyzstan-join-2015", 2016, "goods"),
    Event("russia-food-ban-2014", 2015, "measures"),
)
#: The accessions with the 2014-15 macro shocks added (see the module notes).
WITH_MACRO = Event("armenia-kyrgyzstan-join-2015", 2016, "goods", plus="russia-recession-2014-15")
#: The union whose members are the importers and the "union" source group.
BLOC = "EAEU"


def _pooled(flows: pd.DataFrame, sectors: list[str], label: str) -> pd.DataFrame:
    """``flows`` of ``sectors`` summed into one sector ``label`` (USD millions)."""
    chosen = flows[flows["sector"].isin(sectors)]
    return chosen.assign(sector=label).groupby(["exporter", "importer", "sector"], as_index=False)["trade"].sum()


def event_scenario(event: Event) -> Scenario:
    """The event's library scenario; with ``plus``, the after-measures of that scenario added (channel tags
    dropped) and its ``[model] labour`` setting (where it sets one)."""
    scenario = load_scenario(event.scenario)
    if event.plus is None:
        return scenario
    extra = load_scenario(event.plus)
    if extra.data.year != scenario.data.year:
        raise SystemExit(f"{event.name}: data years differ ({scenario.data.year}, {extra.data.year})")
    measures = [*scenario.after.measures, *(m.model_copy(update={"channel": None}) for m in extra.after.measures)]
    model = scenario.model.model_copy(update={} if extra.model.labour is None else {"labour": extra.model.labour})
    return scenario.model_copy(update={"after": scenario.after.model_copy(update={"measures": measures}),
                                       "model": model})


def run_event(event: Event, dataset: object, min_imports: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One event: its importer x sector error table and the same with its sectors pooled into one.

    Both are :func:`blocsim.results.expost_table` frames with ``event``, ``base_year`` and
    ``later_year`` in front.
    """
    scenario = event_scenario(event)
    result = blocsim.run_scenario(scenario, dataset=dataset)
    members = list(result.meta["policy"]["after"]["blocs"][BLOC]["members"])
    groups = {code: "union" for code in members}
    bans = [m for m in scenario.after.measures if m.kind == "ban"]
    for measure in bans:
        groups.update({code: "banned" for code in measure.origins})
    if event.sectors == "goods":
        goods = dataset.sectors  # type: ignore[attr-defined]
        sectors = [str(s) for s in goods.loc[goods["goods"].astype(bool), "sector"]]
        pooled_label = "all goods"
    else:
        sectors = sorted({s for measure in bans for s in measure.sectors})
        pooled_label = "banned sectors"
    flows = result.model.flows
    keys = ["exporter", "importer", "sector"]
    before = flows[keys + ["trade_baseline"]].rename(columns={"trade_baseline": "trade"})
    predicted = flows[keys + ["trade_counterfactual"]].rename(columns={"trade_counterfactual": "trade"})
    data = dataset.flows  # type: ignore[attr-defined]
    observed = data.loc[data["year"] == event.later_year, keys + ["trade"]]
    pre = data.loc[data["year"] == scenario.data.year, keys + ["trade"]]
    check = before.merge(pre, on=keys, suffixes=("", "_data"))
    if len(check) != len(before) or (check["trade"] - check["trade_data"]).abs().max() > 1e-9 * check["trade"].max():
        raise SystemExit(f"{event.name}: the run's baseline is not the data of {scenario.data.year}")
    out = []
    for frames, chosen in (((before, predicted, observed), sectors),
                           (tuple(_pooled(f, sectors, pooled_label) for f in (before, predicted, observed)),
                            [pooled_label])):
        errors = expost_errors(*frames, groups, importers=members, sectors=chosen, min_imports=min_imports)
        table = expost_table(errors)
        table.insert(0, "event", event.name)
        table.insert(1, "base_year", scenario.data.year)
        table.insert(2, "later_year", event.later_year)
        out.append(table)
    return out[0], out[1]


def _fmt(frame: pd.DataFrame) -> str:
    return frame.dropna(axis=1, how="all").to_string(index=False, float_format=lambda v: f"{v:.2f}")


def _changes(row: object, groups: tuple[str, ...]) -> str:
    return " | ".join(f"{getattr(row, f'predicted_{g}_pp'):+.2f} | {getattr(row, f'observed_{g}_pp'):+.2f}"
                      for g in groups)


def markdown(tables: pd.DataFrame, pooled: pd.DataFrame, summary: pd.DataFrame, min_imports: float) -> str:
    """The tables of docs/validation.md's "Ex-post test" section (``pooled`` holds :data:`WITH_MACRO` too)."""
    years = tables.groupby("event")[["base_year", "later_year"]].first()
    lines = [f"Importer-sector cells with at least USD {min_imports:g} m of imports in the base year. "
             "MAE: mean absolute error of the share changes over the source groups, percentage points "
             "(pp); weighted: by base-year imports; model better: cells where the model's error is below "
             "that of no change.", "",
             "| event | years | importer | cells | model better | MAE model | MAE no change "
             "| weighted MAE model | weighted MAE no change |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in summary.itertuples(index=False):
        span = ("" if row.event == "all" else
                f"{years.loc[row.event, 'base_year']} -> {years.loc[row.event, 'later_year']}")
        lines.append(f"| {row.event} | {span} | {row.importer} | {row.cells} | {row.model_better} "
                     f"({100 * row.share_better:.0f} %) | {row.mae_model_pp:.2f} | {row.mae_naive_pp:.2f} | "
                     f"{row.wmae_model_pp:.2f} | {row.wmae_naive_pp:.2f} |")
    join = pooled[pooled["event"] == EVENTS[0].name]
    macro = pooled[pooled["event"] == WITH_MACRO.name].set_index("importer")["predicted_union_pp"]
    lines += ["", "The accessions, all goods sectors pooled: the union partners' share of each member's goods "
              "imports (pp change, model and data; \"+ 2014-15 shocks\": the accession run with the measures of "
              f"`{WITH_MACRO.plus}` added):", "",
              "| importer | goods imports 2014, USD m | union share 2014 | union: model | union: model + 2014-15 "
              "shocks | union: data |",
              "|---|---|---|---|---|---|"]
    for row in join.itertuples(index=False):
        lines.append(f"| {row.importer} | {row.imports_before:,.0f} | {row.share_union_before_pct:.1f} % | "
                     f"{row.predicted_union_pp:+.2f} | {macro[row.importer]:+.2f} | {row.observed_union_pp:+.2f} |")
    ban = tables[tables["event"] == "russia-food-ban-2014"]
    lines += ["", "The food ban, cell by cell (change of each source group's share, pp, model | data):", "",
              "| importer | sector | imports 2013, USD m | banned: model | banned: data | union: model "
              "| union: data | MAE model | MAE no change |", "|---|---|---|---|---|---|---|---|---|"]
    for row in ban.itertuples(index=False):
        lines.append(f"| {row.importer} | {row.sector} | {row.imports_before:,.0f} | "
                     f"{_changes(row, ('banned', 'union'))} | {row.mae_model_pp:.2f} | {row.mae_naive_pp:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="eaeu", help="dataset name (default eaeu: data v2, OECD ICIO)")
    parser.add_argument("--min-imports", type=float, default=1.0,
                        help="leave out importer-sector cells with less than this in base-year imports (USD m)")
    parser.add_argument("--out", type=Path, help="write the importer x sector error table to this CSV file")
    parser.add_argument("--markdown", action="store_true", help="print the docs/validation.md tables instead")
    args = parser.parse_args(argv)
    if not args.min_imports >= 0:
        parser.error(f"--min-imports: got {args.min_imports}; allowed: a number >= 0 (USD millions)")
    if args.out is not None and not args.out.parent.is_dir():
        parser.error(f"--out {args.out}: folder {args.out.parent} does not exist")
    start = time.perf_counter()
    dataset = blocsim.load_dataset(args.dataset)
    parts = [run_event(event, dataset, args.min_imports) for event in (*EVENTS, WITH_MACRO)]
    tables = pd.concat([cells for cells, _ in parts], ignore_index=True)
    pooled = pd.concat([whole for _, whole in parts], ignore_index=True)
    policy = tables["event"].isin([event.name for event in EVENTS])
    summary = expost_summary(tables[policy], by=("event", "importer"))
    if args.markdown:
        print(markdown(tables, pooled, summary, args.min_imports))
        return 0
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_rows", 10_000):
        for cells, _ in parts:
            first = cells.iloc[0]
            name = first["event"]
            print(f"{name}: {first['base_year']} -> {first['later_year']}, share changes in pp (model 'predicted', "
                  "data 'observed') by source group, MAE over the groups")
            print(_fmt(cells.drop(columns=["event", "base_year", "later_year"])))
            print()
        print("Sectors pooled (accessions, also with the 2014-15 shocks: all goods; food ban: the banned sectors):")
        print(_fmt(pooled.drop(columns=["base_year", "later_year"])))
        print()
        print("How often the model beats 'no change' (MAE in pp of import share; weighted by base-year imports; the "
              "two policy events):")
        print(_fmt(summary))
    if args.out is not None:
        tables.to_csv(args.out, index=False)
        print(f"wrote {args.out}", file=sys.stderr)
    print(f"seconds={time.perf_counter() - start:.1f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
