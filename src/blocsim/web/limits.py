"""What a scenario from the browser may ask for, beyond what the scenario loader checks.

Every model of the scenario language runs from the dashboard (``[model] name =
"multisector" | "onesector" | "pe"``), but the server never opens a file named by the
browser: a one-sector scenario reads a bundled sample (``[data] sample``), not a
``[data] path``; a PE scenario uses the dataset's flows, not a ``[data] imports`` file.
Monte Carlo draws are bounded (:data:`MAX_DRAWS`) and, as on the command line, need the
multi-sector model; a seed needs draws.
"""

from __future__ import annotations

import re
from typing import Any

from blocsim.errors import ScenarioError

#: Most Monte Carlo draws one dashboard run may request (1,000 draws of the bundled EAEU model
#: take about 15 s on two cores; the command line allows more, bounded by memory).
MAX_DRAWS = 10_000
#: Largest seed (the draws' :class:`numpy.random.SeedSequence` takes any integer >= 0).
MAX_SEED = 2**32 - 1
#: Fields naming a file beside the scenario, per model: refused from the browser.
FILE_FIELDS: dict[str, tuple[str, str]] = {
    "onesector": ("path", "use a bundled sample instead (data.sample = NAME, see docs/scenarios.md)"),
    "pe": ("imports", "leave it out: the PE markets are then the dataset's (importer, sector) flows"),
}
_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"' -]+?)\s*\]\s*(#.*)?$")


def _line_of(text: str, table: str, key: str) -> int | None:
    """Line (1-based) of ``key = ...`` inside ``[table]`` of a TOML text, or None if not found."""
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            current = header.group(1).strip().strip("\"'")
        elif current == table and re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return number
        elif current == "" and re.match(rf"^\s*{re.escape(table)}\s*\.\s*{re.escape(key)}\s*=", line):
            return number
    return None


def check_browser_scenario(scenario: Any, text: str, source: str) -> None:
    """Refuse a scenario from the browser that names a file for the server to read.

    Parameters
    ----------
    scenario
        The validated scenario (:class:`blocsim.Scenario` or a one-sector scenario).
    text
        Its TOML text (to point at the line).
    source
        Its name in messages (``<submitted scenario>``, ``<edited scenario>``, ...).

    Raises
    ------
    ScenarioError
        ``data.path`` of a one-sector scenario or ``data.imports`` of a PE scenario, in the
        loader's format: source, line, field, value, what is allowed.
    """
    name = scenario.model.name
    if name not in FILE_FIELDS:
        return
    field, fix = FILE_FIELDS[name]
    value = getattr(scenario.data, field, None)
    if value is None:
        return
    line = _line_of(text, "data", field)
    where = f"{source}:{line}" if line is not None else source
    raise ScenarioError(
        f"scenario {source}: 1 problem(s)\n  {where}: field 'data.{field}': the dashboard never reads a file named "
        f"in a scenario it is sent (got {value!r}); {fix}. To use your own file, run the scenario file on the "
        "command line: blocsim run FILE --out DIR"
    )


def check_draws_request(scenario: Any, draws: int | None, seed: int | None) -> None:
    """Refuse Monte Carlo settings the scenario cannot use (before the job is queued).

    Raises
    ------
    ScenarioError
        ``seed`` without ``draws``; ``draws`` with a model other than ``multisector``.
    """
    if seed is not None and draws is None:
        raise ScenarioError(f"request field 'seed': got {seed}; the seed is that of the Monte Carlo draws and needs "
                            f"'draws' (2 to {MAX_DRAWS:,}). Fix: give draws too, or leave the seed out")
    if draws is not None and scenario.model.name != "multisector":
        raise ScenarioError(
            f"request field 'draws': got {draws}, but the Monte Carlo bands draw the multi-sector model's inputs and "
            f"scenario {scenario.scenario.name!r} runs model '{scenario.model.name}'. Fix: leave draws empty, or run "
            "the scenario with [model] name = \"multisector\""
        )
