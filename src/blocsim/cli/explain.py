"""``--explain``: the exact welfare decomposition of the focus countries, as a table and one sentence each.

Reads the ``welfare_from_<term>_pct`` columns of a run's ``countries`` table (terms of the exact
decomposition, in percentage points; they sum to ``welfare_pct``), in the order they appear, and,
for a scenario whose measures name channels, the ``spillover_<channel>_pct`` columns (spill-over
by channel, in the order the channels were run; they too sum to ``welfare_pct``;
:mod:`blocsim.pipeline.channels`).
"""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd
from rich.table import Table

from blocsim.cli._common import console

PREFIX, SUFFIX = "welfare_from_", "_pct"
CHANNEL_PREFIX = "spillover_"


def channel_columns(countries: pd.DataFrame) -> list[str]:
    """The spill-over-by-channel columns of a countries table, in run order (empty without channels)."""
    return [c for c in countries.columns if c.startswith(CHANNEL_PREFIX) and c.endswith(SUFFIX)]


def component_columns(countries: pd.DataFrame) -> list[str]:
    """The decomposition columns of a countries table, in table order (empty for a model without them)."""
    return [c for c in countries.columns if c.startswith(PREFIX) and c.endswith(SUFFIX)]


def label(column: str) -> str:
    """``welfare_from_pool_transfer_pct`` -> ``pool transfer``."""
    return column[len(PREFIX):-len(SUFFIX)].replace("_", " ")


def sentence(country: str, row: pd.Series, columns: Sequence[str]) -> str:
    """``"KAZ: +0.35 % of which +0.33 pp pool transfer"``: the welfare change and its largest term."""
    largest = max(columns, key=lambda c: abs(float(row[c])))
    return f"{country}: {row['welfare_pct']:+.2f} % of which {row[largest]:+.2f} pp {label(largest)}"


def explanation(countries: pd.DataFrame, focus: Sequence[str]) -> list[dict[str, Any]]:
    """JSON-ready rows: per focus country ``welfare_pct``, every term (pp) and the sentence."""
    columns = component_columns(countries)
    channels = channel_columns(countries)
    rows = countries.set_index("country").reindex(list(focus))
    return [{"country": str(country), "welfare_pct": float(row["welfare_pct"]),
             **{label(c).replace(" ", "_"): float(row[c]) for c in columns},
             **({"channels": {c[len(CHANNEL_PREFIX):-len(SUFFIX)]: float(row[c]) for c in channels}} if channels else {}),
             "sentence": sentence(str(country), row, columns)}
            for country, row in rows.iterrows() if columns and row["welfare_pct"] == row["welfare_pct"]]


def print_explanation(countries: pd.DataFrame, focus: Sequence[str]) -> None:
    """Rich table of the decomposition for the focus countries, then one sentence per country."""
    columns = component_columns(countries)
    if not columns:
        console.print("[yellow]no welfare decomposition in this run (multi-sector GE only)[/yellow]")
        return
    table = Table(title="Where the welfare change comes from (percentage points; the terms sum to welfare_pct)")
    table.add_column("term")
    rows = countries.set_index("country").reindex(list(focus))
    for country in rows.index:
        table.add_column(str(country), justify="right")
    table.add_row("[bold]welfare_pct[/bold]", *(f"{v:+.3f}" for v in rows["welfare_pct"]))
    for column in columns:
        table.add_row(label(column), *(f"{v:+.3f}" for v in rows[column]))
    console.print(table)
    channels = channel_columns(countries)
    if channels:
        by_channel = Table(title="Spill-over by channel (percentage points; channels run cumulatively in the "
                                 "order of the scenario's measures; they sum to welfare_pct)")
        by_channel.add_column("channel")
        for country in rows.index:
            by_channel.add_column(str(country), justify="right")
        for column in channels:
            by_channel.add_row(column[len(CHANNEL_PREFIX):-len(SUFFIX)], *(f"{v:+.3f}" for v in rows[column]))
        console.print(by_channel)
    for item in explanation(countries, focus):
        console.print(item["sentence"], highlight=False)
