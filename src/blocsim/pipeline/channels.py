"""Spill-over by channel: a scenario's welfare change split over the channels its measures name.

A measure of ``[[after.measures]]`` may carry ``channel = "oil"`` (any lower-case name). When
at least one does, :func:`channel_decomposition` runs the scenario cumulatively, channel by
channel, in the order the channels first appear in the file:

- step 0 (``other``, only when the scenario has after-changes without a channel: untagged
  measures, joins, leaves, pools, preferences, exemptions, a new date): those changes alone;
- step k: the changes of steps < k plus the measures of channel k;
- ``remittances`` (last, only when the labour channel is on in the full run): the full
  scenario. Every earlier step runs with ``[model] labour = false``, so this step is what
  migrant workers and their remittances add: remittances follow the host's wage, so a shock
  to the host (Russia) reaches the senders' families (Kyrgyzstan, Tajikistan, Armenia).

``spillover_<channel>_pct`` is the change of ``welfare_pct`` from the previous step to step k
(percentage points). The last step is the full run itself, so the columns add up to
``welfare_pct`` exactly (to rounding). The split is order dependent, as every sequential
decomposition of a non-linear model: a channel's part is measured given the channels before it
(with the labour channel last, the measure channels are measured without remittances and the
``remittances`` column holds the labour channel's amplification of all of them). Reorder the
measures in the file to see another order.
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from blocsim.errors import ScenarioError
from blocsim.scenario.schema import Scenario

#: the step of after-changes without a channel, and the labour channel's step
OTHER_CHANNEL = "other"
LABOUR_CHANNEL = "remittances"


def spillover_column(channel: str) -> str:
    """Column of ``countries`` with the spill-over of ``channel`` (``spillover_<channel>_pct``, pp)."""
    return f"spillover_{channel}_pct"


def measure_channels(scenario: Scenario) -> list[str]:
    """The channels named by ``[[after.measures]]``, in the order they first appear (empty: none).

    Raises
    ------
    ScenarioError
        A measure names a reserved channel (``other``, ``remittances``).
    """
    names: list[str] = []
    for measure in scenario.after.measures:
        if measure.channel in (OTHER_CHANNEL, LABOUR_CHANNEL):
            raise ScenarioError(
                f"scenario {scenario.scenario.name!r}: a measure has channel = {measure.channel!r}, a name blocsim "
                f"reserves ({OTHER_CHANNEL!r}: changes without a channel; {LABOUR_CHANNEL!r}: the labour channel, "
                "added when [model] labour is on). Fix: choose another name"
            )
        if measure.channel is not None and measure.channel not in names:
            names.append(measure.channel)
    return names


def _has_untagged_changes(scenario: Scenario) -> bool:
    after = scenario.after
    return (any(m.channel is None for m in after.measures) or bool(after.join or after.leave or after.preferences
            or after.exemptions) or after.duty_pool is not None or after.date not in (None, scenario.before.date))


def _step(scenario: Scenario, channels: list[str], *, labour_off: bool) -> Scenario:
    """The scenario with the after-measures of ``channels`` (and the untagged ones), channel tags dropped."""
    kept = [m.model_copy(update={"channel": None}) for m in scenario.after.measures
            if m.channel is None or m.channel in channels]
    update: dict[str, Any] = {"after": scenario.after.model_copy(update={"measures": kept})}
    if labour_off:
        update["model"] = scenario.model.model_copy(update={"labour": False})
    return scenario.model_copy(update=update)


def channel_decomposition(
    scenario: Scenario, countries: pd.DataFrame, *, labour_on: bool,
    solve: Callable[[Scenario], pd.DataFrame], focus: list[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-country spill-over by channel (see the module notes), as columns and a ``run.json`` record.

    Parameters
    ----------
    scenario
        The scenario (its measures tagged with ``channel``).
    countries
        ``countries`` of the full run (``country``, ``welfare_pct`` in percent).
    labour_on
        Whether the full run had the labour channel (then ``remittances`` is the last step).
    solve
        Solves a step (the scenario with fewer after-measures, labour off before the last step)
        and returns its ``countries`` table: the full run's model, dataset, elasticities and
        baseline flows, with the step's shock.
    focus
        Countries whose numbers ``record`` lists (default: none).

    Returns
    -------
    countries : DataFrame
        ``countries`` plus ``spillover_<channel>_pct`` (pp) per channel, in step order; they sum
        to ``welfare_pct``.
    record : dict
        ``order`` (channels in step order), ``method`` (words), ``columns``, ``spillover_pct``
        (focus country -> channel -> pp).
    """
    channels = measure_channels(scenario)
    steps = ([OTHER_CHANNEL] if _has_untagged_changes(scenario) else []) + channels
    if labour_on:
        steps.append(LABOUR_CHANNEL)
    order = countries["country"].astype(str).to_numpy()
    previous = pd.Series(0.0, index=order)
    out = countries.copy()
    for k, channel in enumerate(steps):
        if k == len(steps) - 1:  # the full run: the columns add up to welfare_pct
            current = countries.set_index("country")["welfare_pct"].reindex(order)
        else:
            included = channels[: channels.index(channel) + 1] if channel in channels else []
            table = solve(_step(scenario, included, labour_off=labour_on))
            current = table.set_index("country")["welfare_pct"].reindex(order)
        out[spillover_column(channel)] = (current - previous).to_numpy()
        previous = current
    record = {
        "order": steps,
        "columns": [spillover_column(c) for c in steps],
        "method": ("cumulative runs in the order the channels first appear among [[after.measures]]"
                   + (" (changes without a channel first)" if steps[0] == OTHER_CHANNEL else "")
                   + ("; every step before the last without the labour channel, the last (remittances) is the full "
                      "run" if labour_on else "; the last step is the full run")
                   + "; spillover_<channel>_pct is the change of welfare_pct from the previous step (pp) and the "
                     "columns add up to welfare_pct; the split depends on the order"),
        "spillover_pct": {
            str(row["country"]): {c: float(row[spillover_column(c)]) for c in steps}
            for _, row in out[out["country"].isin(focus or [])].iterrows()
        },
    }
    return out, record
