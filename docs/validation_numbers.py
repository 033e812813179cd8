"""Regenerate blocsim's numbers in docs/validation.md from fresh runs of the scenario library.

Every built-in scenario is run through the public CLI (``blocsim scenarios run NAME --out DIR
--json``); the run directory's ``countries.csv``, ``flows.csv``, ``run.json`` and
``scenario.toml`` give the numbers. The script rewrites only the text between the markers
``<!-- blocsim-numbers:KEY:begin -->`` and ``<!-- blocsim-numbers:KEY:end -->`` of
docs/validation.md (KEY = a scenario name, ``overview``, or ``expost``: the tables printed by
``bench/expost.py --markdown``); the prose around them is written by hand and carries no blocsim
number.

Each row of docs/validation_literature.csv that names a ``blocsim_measure`` is put next to the
blocsim value of that measure, with an automatic comparison (same sign; same size within a
factor of 2). Measure grammar (see :func:`parse_measure`):

- ``CTRY.column``: a numeric column of countries.csv (e.g. ``KAZ.welfare_pct``);
- ``CTRY.derived``: one of :data:`DERIVED` (e.g. ``RUS.ev_usd_bn``);
- ``flow:A+B>C``: percent change of the goods trade (all sectors) from A and B to C;
- ``X/Y``: the ratio of two measures; ``-X``: minus a measure.

Usage (from the repository root)::

    PYTHONPATH=src python docs/validation_numbers.py            # run all, rewrite the page
    PYTHONPATH=src python docs/validation_numbers.py --check    # run all, exit 1 if stale
    PYTHONPATH=src python docs/validation_numbers.py --runs DIR # keep the run directories

This is a documentation tool, not part of the package: it imports nothing from blocsim.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent
PAGE = DOCS / "validation.md"
LITERATURE = DOCS / "validation_literature.csv"
#: The ex-post test whose tables fill the ``expost`` block (``bench/expost.py --markdown``).
EXPOST = DOCS.parent / "bench" / "expost.py"
LITERATURE_COLUMNS = ("scenario", "source", "quantity", "value", "unit", "definition",
                      "where_in_source", "url", "blocsim_measure")

#: Derived per-country measures: name -> (unit, description).
DERIVED = {
    "ev_usd_bn": ("USD bn", "equivalent variation: welfare_pct / 100 x income_baseline (USD bn, data year)"),
    "pool_transfer_pct_income": ("%", "change of (duties received - duties collected) over baseline income"),
    "collected_after_over_before": ("ratio", "duties collected at the border, after / before"),
    "collected_change_usd_m": ("USD m", "duties collected at the border, after - before"),
    "tariff_weighted_before_pct": ("%", "import-weighted tariff on non-members before (baseline weights)"),
    "tariff_weighted_after_pct": ("%", "import-weighted tariff on non-members after (baseline weights)"),
    "banned_import_share_pct": ("%", "imports removed by ban measures over all goods imports, baseline"),
    "remittances_received_change_pct": ("%", "remittances received, after / before - 1 (USD, numeraire units)"),
}

#: The headline measure of each scenario in the overview table: name -> (measure, label).
HEADLINES = {
    "armenia-kyrgyzstan-join-2015": ("ARM.welfare_pct", "Armenia real income, %"),
    "kazakhstan-adopts-cet-2010": ("KAZ.welfare_pct", "Kazakhstan real income, %"),
    "kazakhstan-china-fta": ("KAZ.welfare_pct", "Kazakhstan real income, %"),
    "kazakhstan-leaves": ("KAZ.welfare_pct", "Kazakhstan real income, %"),
    "russia-blocks-belarus-kazakhstan-transit": ("BLR.welfare_pct", "Belarus real income, %"),
    "russia-food-ban-2014": ("RUS.welfare_pct", "Russia real income, %"),
    "russia-food-ban-2014-belarus-reexports": ("BLR.welfare_pct", "Belarus real income, %"),
    "russia-recession-2014-15": ("KAZ.real_gdp_pct/RUS.real_gdp_pct", "Kazakhstan real GDP per 1 % of Russia's"),
    "oil-price-collapse-2014-15": ("KAZ.welfare_tot_pct", "Kazakhstan terms of trade (Caliendo-Parro), pp"),
    "armenia-work-right": ("ARM.welfare_pct", "Armenia real income, %"),
    "uzbekistan-joins": ("UZB.welfare_pct", "Uzbekistan real income, %"),
    "russia-closes-labour-market": ("TJK.welfare_pct", "Tajikistan real income, %"),
    "sanctions-close-russian-routes-kazakh-oil": ("KAZ.welfare_pct", "Kazakhstan real income, %"),
    "tajikistan-joins": ("TJK.welfare_pct", "Tajikistan real income, %"),
    "ukraine-joins-customs-union": ("UKR.welfare_pct", "Ukraine real income, %"),
}

COUNTRY_COLUMNS = ("welfare_pct", "real_gdp_pct", "real_wage_pct", "exports_pct", "imports_pct")
SIZE_FACTOR = 2.0  # "same size" = within this factor of the published value
_MARKER = "<!-- blocsim-numbers:{key}:{end} -->"
_CTRY = re.compile(r"^[A-Z]{3}$")
_NAME = re.compile(r"^[a-z_]+$")


class ValidationPageError(Exception):
    """A bad literature row, a bad measure, a failed run or a page without its markers."""


@dataclass(frozen=True)
class Run:
    """The numbers of one scenario run (read from its run directory)."""

    name: str
    countries: dict[str, dict[str, float]]  # country -> column -> value
    flows: list[dict[str, str]]  # rows of flows.csv
    tariffs: list[dict[str, str]]  # rows of tariffs.csv
    scenario: dict  # the scenario.toml the run used
    dataset: dict  # run.json "dataset": name, year, hash
    version: str  # blocsim version that made the run


# --------------------------------------------------------------------------- measures
def parse_measure(spec: str) -> tuple:
    """Parse a measure spec into a tree: ``("neg", t)``, ``("ratio", a, b)``, ``("flow", src, dst)``,
    ``("col", country, name)``. Raises :class:`ValidationPageError` naming the spec."""
    spec = spec.strip()
    if not spec:
        raise ValidationPageError("empty blocsim_measure")
    if spec.startswith("-"):
        return ("neg", parse_measure(spec[1:]))
    if "/" in spec:
        left, _, right = spec.partition("/")
        return ("ratio", parse_measure(left), parse_measure(right))
    if spec.startswith("flow:"):
        src, sep, dst = spec[len("flow:"):].partition(">")
        exporters = tuple(src.split("+"))
        if not sep or not _CTRY.match(dst) or not all(_CTRY.match(c) for c in exporters):
            raise ValidationPageError(f"blocsim_measure {spec!r}: expected flow:AAA[+BBB]>CCC")
        return ("flow", exporters, dst)
    country, sep, name = spec.partition(".")
    if not sep or not _CTRY.match(country) or not _NAME.match(name):
        raise ValidationPageError(f"blocsim_measure {spec!r}: expected CTRY.column, flow:A>B, -X or X/Y")
    return ("col", country, name)


def measure_unit(tree: tuple) -> str:
    """Unit of a parsed measure: ``%`` for countries.csv ``*_pct`` columns and flows, else per DERIVED."""
    kind = tree[0]
    if kind == "neg":
        return measure_unit(tree[1])
    if kind == "ratio":
        return "ratio"
    if kind == "flow":
        return "%"
    name = tree[2]
    if name in DERIVED:
        return DERIVED[name][0]
    return "%" if name.endswith("_pct") else "USD m"


def evaluate(tree: tuple, run: Run) -> float:
    """Value of a parsed measure on ``run`` (NaN when a country or column is not in the run)."""
    kind = tree[0]
    if kind == "neg":
        return -evaluate(tree[1], run)
    if kind == "ratio":
        denominator = evaluate(tree[2], run)
        return evaluate(tree[1], run) / denominator if denominator else math.nan
    if kind == "flow":
        return _flow_change_pct(run, tree[1], tree[2])
    country, name = tree[1], tree[2]
    row = run.countries.get(country)
    if row is None:
        return math.nan
    if name in DERIVED:
        return _derived(run, country, name)
    return row.get(name, math.nan)


def _flow_change_pct(run: Run, exporters: tuple[str, ...], importer: str) -> float:
    before = after = 0.0
    for row in run.flows:
        if row["exporter"] in exporters and row["importer"] == importer:
            before += float(row["trade_baseline"])
            after += float(row["trade_counterfactual"])
    return 100.0 * (after / before - 1.0) if before > 0 else math.nan


def _derived(run: Run, country: str, name: str) -> float:
    row = run.countries[country]
    if name == "ev_usd_bn":
        return row["welfare_pct"] / 100.0 * row["income_baseline"] / 1000.0
    if name == "pool_transfer_pct_income":
        net_after = row["tariff_revenue_received_after"] - row["tariff_revenue_collected_after"]
        net_before = row["tariff_revenue_received_before"] - row["tariff_revenue_collected_before"]
        return 100.0 * (net_after - net_before) / row["income_baseline"]
    if name == "collected_after_over_before":
        before = row["tariff_revenue_collected_before"]
        return row["tariff_revenue_collected_after"] / before if before else math.nan
    if name == "collected_change_usd_m":
        return row["tariff_revenue_collected_after"] - row["tariff_revenue_collected_before"]
    if name in ("tariff_weighted_before_pct", "tariff_weighted_after_pct"):
        return _weighted_tariff_pct(run, country, name.split("_")[2])
    if name == "banned_import_share_pct":
        return _banned_share_pct(run, country)
    if name == "remittances_received_change_pct":
        before = row.get("remittances_received_before", 0.0)
        return 100.0 * (row["remittances_received_after"] / before - 1.0) if before else math.nan
    raise ValidationPageError(f"derived measure {name!r}: not one of {', '.join(DERIVED)}")


def _weighted_tariff_pct(run: Run, importer: str, when: str) -> float:
    """Tariff on non-members' goods, weighted by baseline imports (tariffs.csv x flows.csv)."""
    weights = {(r["exporter"], r["sector"]): float(r["trade_baseline"])
               for r in run.flows if r["importer"] == importer and r["exporter"] != importer}
    total = weighted = 0.0
    for row in run.tariffs:
        if row["importer"] != importer or row["exporter"] == importer:
            continue
        if float(row["tariff_before"]) == 0.0 and float(row["tariff_after"]) == 0.0:
            continue  # duty-free partners (union members, FTAs) are not "non-members"
        weight = weights.get((row["exporter"], row["sector"]), 0.0)
        total += weight
        weighted += weight * float(row[f"tariff_{when}"])
    return 100.0 * weighted / total if total > 0 else math.nan


def _banned_share_pct(run: Run, importer: str) -> float:
    """Baseline imports removed by the scenario's ``ban`` measures, % of all goods imports."""
    flows = {(r["exporter"], r["sector"]): float(r["trade_baseline"])
             for r in run.flows if r["importer"] == importer and r["exporter"] != importer}
    banned = 0.0
    for m in run.scenario.get("after", {}).get("measures", []):
        if m.get("kind") != "ban" or m.get("importer") != importer:
            continue
        share = m.get("covered_share", 1.0)
        for origin in m.get("origins", []):
            cover = share.get(origin, 0.0) if isinstance(share, dict) else float(share)
            banned += cover * sum(flows.get((origin, s), 0.0) for s in m.get("sectors", []))
    total = sum(flows.values())
    return 100.0 * banned / total if total > 0 else math.nan


def compare(published: float, unit: str, blocsim: float, blocsim_unit: str) -> str:
    """Automatic verdict of one literature row against blocsim's value."""
    if math.isnan(blocsim):
        return "not in this run"
    if unit == "sign":
        return "same sign" if published * blocsim > 0 else "opposite sign"
    if published * blocsim <= 0:
        return "differs in sign"
    if unit != blocsim_unit:
        return f"same sign (units differ: {unit} vs {blocsim_unit})"
    ratio = blocsim / published
    if 1.0 / SIZE_FACTOR <= ratio <= SIZE_FACTOR:
        return f"agrees in sign and size (blocsim x{ratio:.2g})"
    return f"same sign, size differs (blocsim x{ratio:.2g})"


# --------------------------------------------------------------------------- inputs
def read_literature(path: Path = LITERATURE) -> list[dict[str, str]]:
    """The literature rows, checked: known columns, a number in ``value``, a parseable measure."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != LITERATURE_COLUMNS:
            raise ValidationPageError(f"{path.name}: columns {reader.fieldnames}, expected {list(LITERATURE_COLUMNS)}")
        rows = list(reader)
    for number, row in enumerate(rows, start=2):
        for column in ("scenario", "source", "quantity", "unit", "where_in_source", "url"):
            if not (row[column] or "").strip():
                raise ValidationPageError(f"{path.name} line {number}: empty {column}")
        try:
            float(row["value"])
        except ValueError:
            raise ValidationPageError(f"{path.name} line {number}: value {row['value']!r} is not a number") from None
        if row["blocsim_measure"].strip():
            parse_measure(row["blocsim_measure"])
    return rows


def library_names(python: str) -> list[str]:
    """Names of the built-in scenarios, from the CLI (``blocsim scenarios list --json``)."""
    done = subprocess.run([python, "-m", "blocsim", "scenarios", "list", "--json"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ValidationPageError(f"listing the scenario library failed: {done.stderr.strip()[-500:]}")
    return [entry["name"] for entry in json.loads(done.stdout)]


def run_scenario(python: str, name: str, out: Path) -> Run:
    """Run one built-in scenario through the CLI and read its run directory."""
    done = subprocess.run([python, "-m", "blocsim", "scenarios", "run", name, "--out", str(out), "--json",
                           "--no-store"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ValidationPageError(f"scenario {name}: run failed: {done.stderr.strip()[-500:]}")
    return read_run(name, out)


def read_run(name: str, out: Path) -> Run:
    """Read a run directory written by ``blocsim scenarios run``."""
    with (out / "countries.csv").open(newline="", encoding="utf-8") as handle:
        countries = {}
        for row in csv.DictReader(handle):
            countries[row["country"]] = {k: _float(v) for k, v in row.items() if k != "country"}
    with (out / "flows.csv").open(newline="", encoding="utf-8") as handle:
        flows = list(csv.DictReader(handle))
    with (out / "tariffs.csv").open(newline="", encoding="utf-8") as handle:
        tariffs = list(csv.DictReader(handle))
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    scenario = tomllib.loads((out / "scenario.toml").read_text(encoding="utf-8"))
    return Run(name, countries, flows, tariffs, scenario, record.get("dataset", {}), str(record.get("version", "")))


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


# --------------------------------------------------------------------------- rendering
def _fmt(value: float) -> str:
    """A number for a table cell: thousands separators from 100, three decimals below, 2 digits below 0.001."""
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if value == 0 or abs(value) >= 0.001:
        return f"{value:.3f}"
    return f"{value:.1e}"


def data_note(run: Run) -> str:
    """Dataset, flow year and tariff year of a run."""
    data = run.scenario.get("data", {})
    tariff_year = data.get("tariff_year", run.dataset.get("year"))
    return (f"dataset `{run.dataset.get('name', '?')}`, flows {run.dataset.get('year', '?')}, "
            f"tariffs {tariff_year}")


def render_scenario(run: Run, rows: list[dict[str, str]]) -> str:
    """Markdown between one scenario's markers: its focus countries and the literature rows."""
    focus = [c for c in run.scenario.get("scenario", {}).get("focus_countries", []) if c in run.countries]
    lines = [f"Run: {data_note(run)} (dataset hash `{str(run.dataset.get('hash', ''))[:12]}`), "
             f"blocsim {run.version}.", "",
             "| country | real income % | real GDP % | real wage % | exports % | imports % | pool transfer, % of income |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for country in focus:
        row = run.countries[country]
        values = [_fmt(row.get(c, math.nan)) for c in COUNTRY_COLUMNS]
        values.append(_fmt(_derived(run, country, "pool_transfer_pct_income")))
        lines.append(f"| {country} | " + " | ".join(values) + " |")
    channels = [c for c in next(iter(run.countries.values()), {}) if c.startswith("spillover_") and c.endswith("_pct")]
    if channels:  # spill-over by channel (blocsim.pipeline.channels): pp, in run order, summing to real income %
        lines += ["", "| spill-over by channel, pp | " + " | ".join(focus) + " |",
                  "|---|" + "---:|" * len(focus)]
        for column in channels:
            lines.append(f"| {column[len('spillover_'):-len('_pct')]} | "
                         + " | ".join(_fmt(run.countries[c].get(column, math.nan)) for c in focus) + " |")
    compared = [r for r in rows if r["blocsim_measure"].strip()]
    lines += ["", "| published quantity (source) | published | blocsim measure | blocsim | comparison |",
              "|---|---:|---|---:|---|"]
    if not compared:
        lines.append("| no published figure with a blocsim counterpart | | | | |")
    for r in compared:
        tree = parse_measure(r["blocsim_measure"])
        value = evaluate(tree, run)
        unit = measure_unit(tree)
        verdict = compare(float(r["value"]), r["unit"], value, unit)
        lines.append(f"| {r['quantity']} ({_short(r['source'])}) | {_published(r['value'], r['unit'])} | "
                     f"`{r['blocsim_measure']}` | {_fmt(value)} {unit} | {verdict} |")
    return "\n".join(lines)


def _published(value: str, unit: str) -> str:
    """A published value as written in the CSV; a sign row reads "positive"/"negative"."""
    if unit == "sign":
        return "positive (sign)" if float(value) > 0 else "negative (sign)"
    return f"{value} {unit}"


def _short(source: str, width: int = 60) -> str:
    """Author-year head of a source citation (before its quoted title), cut at a word, for table cells."""
    head = re.split(r",? '", source, maxsplit=1)[0]
    if len(head) <= width:
        return head
    return head[:width].rsplit(" ", 1)[0] + " ..."


def render_overview(runs: dict[str, Run], rows: list[dict[str, str]]) -> str:
    """The overview table: scenario, data, blocsim headline, literature range on that measure, verdict."""
    lines = ["| scenario | data | blocsim headline | published, same measure | verdict |",
             "|---|---|---|---|---|"]
    for name, run in runs.items():
        spec, label = HEADLINES.get(name, ("", "no headline set"))
        value = evaluate(parse_measure(spec), run) if spec else math.nan
        # a row on "-SPEC" compares minus its published value with the headline (e.g. leaving vs joining)
        signs = {spec: 1.0, f"-{spec}": -1.0}
        same = [r for r in rows if r["scenario"] == name and r["blocsim_measure"].strip() in signs]
        if same:
            published_values = [signs[r["blocsim_measure"].strip()] * float(r["value"]) for r in same]
            values = sorted(published_values)
            unit_text = same[0]["unit"]
            published = (_published(f"{values[0]:g}", unit_text) if values[0] == values[-1]
                         else f"{values[0]:g} to {values[-1]:g} {unit_text}")
            published += f" ({len(same)} source{'s' if len(same) > 1 else ''})"
            unit = measure_unit(parse_measure(spec))
            verdicts = sorted({compare(v, r["unit"], value, unit) for v, r in zip(published_values, same)})
            verdict = "; ".join(verdicts)
        else:
            published, verdict = "none found", "no published estimate of this measure"
        lines.append(f"| [{name}](#{name}) | {run.dataset.get('name', '?')} {run.dataset.get('year', '?')} | "
                     f"{label}: {_fmt(value)} | {published} | {verdict} |")
    return "\n".join(lines)


def replace_block(page: str, key: str, body: str) -> str:
    """``page`` with the text between KEY's markers replaced by ``body``."""
    begin, end = _MARKER.format(key=key, end="begin"), _MARKER.format(key=key, end="end")
    start, stop = page.find(begin), page.find(end)
    if start < 0 or stop < start:
        raise ValidationPageError(f"{PAGE.name}: markers for {key!r} missing ({begin} ... {end})")
    return page[:start + len(begin)] + "\n" + body + "\n" + page[stop:]


def render_expost(python: str) -> str:
    """The tables of the "Ex-post test" section, printed by ``bench/expost.py --markdown``."""
    done = subprocess.run([python, str(EXPOST), "--markdown"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ValidationPageError(f"bench/expost.py failed: {done.stderr.strip()[-500:]}")
    return done.stdout.strip()


def render_page(page: str, runs: dict[str, Run], rows: list[dict[str, str]]) -> str:
    """The page with every generated block rewritten."""
    page = replace_block(page, "overview", render_overview(runs, rows))
    for name, run in runs.items():
        page = replace_block(page, name, render_scenario(run, [r for r in rows if r["scenario"] == name]))
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page differs from fresh runs")
    parser.add_argument("--runs", type=Path, help="folder for the run directories (kept); default: temporary")
    args = parser.parse_args(argv)
    python = sys.executable
    rows = read_literature()
    names = library_names(python)
    unknown = sorted({r["scenario"] for r in rows} - set(names))
    if unknown:
        raise ValidationPageError(f"{LITERATURE.name}: scenarios not in the library: {', '.join(unknown)}")
    with tempfile.TemporaryDirectory() as tmp:
        base = args.runs or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        runs = {}
        for name in names:
            print(f"running {name} ...", file=sys.stderr)
            runs[name] = run_scenario(python, name, base / name)
    page = PAGE.read_text(encoding="utf-8")
    print("running bench/expost.py ...", file=sys.stderr)
    new = replace_block(render_page(page, runs, rows), "expost", render_expost(python))
    if args.check:
        if new != page:
            print(f"{PAGE.name} is stale: run docs/validation_numbers.py", file=sys.stderr)
            return 1
        return 0
    tmp_page = PAGE.with_suffix(".md.tmp")
    tmp_page.write_text(new, encoding="utf-8")
    os.replace(tmp_page, PAGE)
    print(f"wrote {PAGE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ValidationPageError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
