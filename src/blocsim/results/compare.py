"""Compare two or more runs side by side: the headline columns per country, with differences.

:func:`compare_runs` reads each run (a run directory through :func:`blocsim.results.read_run`,
or a run already in memory), takes the headline columns of its ``countries.csv`` and, where
the run has ``bands.csv``, the Monte Carlo percentiles p05/p50/p95, and returns a
:class:`RunComparison` with

- ``long``: one row per (run, country, variable): ``run, country, variable, value,
  difference, p05, p50, p95``. ``difference`` is ``value`` minus the value of the first run
  (the reference) for the same country and variable (0 for the reference itself);
- ``table``: the same numbers side by side, one row per country, columns ``<variable>[<run>]``
  for each run, ``<variable>[<run> - <reference>]`` for the differences and
  ``<variable>_p05[<run>]`` (p50, p95) for the bands of runs that have them;
- ``runs``: what each run is (label, scenario, model, dataset, data year, ...);
- ``warnings``: one line per aspect in which the runs differ (model, dataset, data year,
  data hash, tariff year, blocsim version): comparing such runs is allowed but says so.

Units are those of the run tables: percent changes ``(counterfactual - baseline) / baseline *
100`` for ``*_pct``, USD millions for tariff revenue.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from blocsim.errors import BlocsimError
from blocsim.results.output import write_outputs

#: Headline columns of ``countries.csv`` compared, in display order (those a run lacks are NaN).
HEADLINE_COLUMNS: tuple[str, ...] = (
    "welfare_pct",
    "real_gdp_pct",
    "real_wage_pct",
    "exports_pct",
    "imports_pct",
    "tariff_revenue_received_before",
    "tariff_revenue_received_after",
    "tariff_revenue_change",
)

#: Percentiles of ``bands.csv`` shown for each headline variable that has bands.
BAND_STATISTICS: tuple[str, ...] = ("p05", "p50", "p95")

#: Files written by :meth:`RunComparison.write_csv`.
WIDE_NAME, LONG_NAME, RUNS_NAME = "comparison.csv", "comparison_long.csv", "comparison_runs.csv"
#: The CSV files a comparison writes (``RunComparison.write_csv``), in that order.
COMPARISON_FILES = (WIDE_NAME, LONG_NAME, RUNS_NAME)

#: What must match for runs to be comparable without a warning: (label, function of run.json).
_ASPECTS: tuple[tuple[str, Callable[[Mapping[str, Any]], Any]], ...] = (
    ("model", lambda meta: _get(meta, "model", "name")),
    ("dataset", lambda meta: _get(meta, "dataset", "name")),
    ("data year", lambda meta: _get(meta, "dataset", "year")),
    ("data hash", lambda meta: _get(meta, "dataset", "hash")),
    ("tariff year", lambda meta: _get(meta, "policy", "tariff_year")),
    ("blocsim version", lambda meta: meta.get("version")),
)


def _get(meta: Mapping[str, Any], *keys: str) -> Any:
    value: Any = meta
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


@dataclass(frozen=True)
class RunInfo:
    """One compared run: its label in the tables and what it is.

    Attributes
    ----------
    label : str
        Name of the run in the comparison (unique; the run directory's name by default).
    path : str
        The run directory, or ``""`` for a run passed in memory.
    scenario, title : str
        Scenario name and title from ``run.json``.
    model, dataset : str
        Model name and dataset name.
    data_year, tariff_year : int or None
        Baseline data year and the year of the tariff schedules.
    data_hash, version, created_utc : str
        Dataset hash, blocsim version and creation time of the run.
    has_bands : bool
        Whether the run has Monte Carlo bands (``bands.csv``).
    """

    label: str
    path: str
    scenario: str
    title: str
    model: str
    dataset: str
    data_year: int | None
    tariff_year: int | None
    data_hash: str
    version: str
    created_utc: str
    has_bands: bool


@dataclass(frozen=True)
class _Run:
    info: RunInfo
    meta: Mapping[str, Any]
    countries: pd.DataFrame
    bands: pd.DataFrame | None


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side; see the module docstring for the columns.

    Attributes
    ----------
    runs : tuple of RunInfo
        The compared runs, the first being the reference of the differences.
    table : DataFrame
        Wide: one row per country (column ``country``), columns per run and differences.
    long : DataFrame
        Tidy: ``run, country, variable, value, difference, p05, p50, p95``.
    variables : tuple of str
        The headline variables present in at least one run, in display order.
    warnings : tuple of str
        One line per aspect in which the runs differ (empty if they share model and data).
    """

    runs: tuple[RunInfo, ...]
    table: pd.DataFrame
    long: pd.DataFrame
    variables: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def reference(self) -> str:
        """Label of the reference run (the first)."""
        return self.runs[0].label

    def runs_frame(self) -> pd.DataFrame:
        """The :attr:`runs` as a DataFrame (one row per run), as written to ``comparison_runs.csv``."""
        return pd.DataFrame([vars(info) for info in self.runs])

    def write_csv(self, folder: str | os.PathLike[str], *, force: bool = False) -> list[Path]:
        """Write ``comparison.csv`` (wide), ``comparison_long.csv`` and ``comparison_runs.csv`` into ``folder``.

        Existing files of these names are refused unless ``force``; each is written whole.
        """
        frames = {WIDE_NAME: self.table, LONG_NAME: self.long, RUNS_NAME: self.runs_frame()}
        writers = {name: _csv_writer(frame) for name, frame in frames.items()}
        return write_outputs(folder, writers, force=force)


def _csv_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        frame.to_csv(path, index=False, encoding="utf-8")

    return write


def value_column(variable: str, label: str) -> str:
    """Wide column of ``variable`` in run ``label``: ``welfare_pct[label]``."""
    return f"{variable}[{label}]"


def difference_column(variable: str, label: str, reference: str) -> str:
    """Wide column of ``variable`` in run ``label`` minus the reference run: ``welfare_pct[label - reference]``."""
    return f"{variable}[{label} - {reference}]"


def compare_runs(runs: Sequence[Any], *, labels: Sequence[str] | None = None) -> RunComparison:
    """Compare two or more runs side by side (see the module docstring).

    Parameters
    ----------
    runs
        Two or more runs, each a run directory (``str`` or path, read with
        :func:`blocsim.results.read_run`, which checks the run marker), a ``(tables, meta)``
        pair as :func:`~blocsim.results.read_run` returns it, or an object with ``.tables``
        and ``.meta`` (the result of :func:`blocsim.run_scenario`). The first is the
        reference of the differences.
    labels
        Names of the runs in the tables (default: the run directory's name, else the
        scenario name; repeated names get ``#2``, ``#3``).

    Returns
    -------
    RunComparison

    Raises
    ------
    BlocsimError
        Fewer than two runs; a run that cannot be read or has no ``countries`` table with a
        ``country`` column; a headline column holding text; ``labels`` of the wrong length or
        repeated.
    """
    items = list(runs)
    if len(items) < 2:
        raise BlocsimError(f"runs: compare needs at least two runs (got {len(items)}); name two or more run directories")
    if labels is not None and (len(labels) != len(items) or len(set(labels)) != len(labels)):
        raise BlocsimError(f"labels: need {len(items)} different labels, one per run (got {list(labels)})")
    loaded = [_load(item, index) for index, item in enumerate(items)]
    names = list(labels) if labels is not None else _unique([label for label, _ in loaded])
    runs_read = [_with_label(run, name) for (_, run), name in zip(loaded, names)]
    variables = tuple(v for v in HEADLINE_COLUMNS if any(v in run.countries.columns for run in runs_read))
    long = _long_table(runs_read, variables)
    return RunComparison(
        runs=tuple(run.info for run in runs_read),
        table=_wide_table(long, runs_read, variables),
        long=long,
        variables=variables,
        warnings=tuple(_differences(runs_read)),
    )


def _load(item: Any, index: int) -> tuple[str, _Run]:
    """Read one run (the only place runs are read here); returns (default label, run)."""
    from blocsim.results.rundir import read_run

    path = ""
    if isinstance(item, (str, os.PathLike)):
        path = str(item)
        tables, meta = read_run(item)
    elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Mapping) and isinstance(item[1], Mapping):
        tables, meta = item
    elif isinstance(getattr(item, "tables", None), Mapping) and isinstance(getattr(item, "meta", None), Mapping):
        tables, meta = item.tables, item.meta
        path = str(item.run_dir) if getattr(item, "run_dir", None) else ""
    else:
        raise BlocsimError(
            f"runs[{index}]: expected a run directory, a (tables, meta) pair from read_run, or a scenario result; "
            f"got {type(item).__name__}"
        )
    where = path or f"runs[{index}]"
    countries = tables.get("countries")
    if not isinstance(countries, pd.DataFrame) or "country" not in countries.columns:
        raise BlocsimError(f"{where}: no countries table with a 'country' column; compare needs countries.csv")
    scenario = meta.get("scenario") if isinstance(meta.get("scenario"), Mapping) else {}
    default = Path(path).name if path else str(scenario.get("name") or f"run{index + 1}")
    frame = _numeric(countries, [c for c in HEADLINE_COLUMNS if c in countries.columns], f"{where}/countries.csv")
    bands = tables.get("bands")
    if isinstance(bands, pd.DataFrame) and {"country", "variable"} <= set(bands.columns):
        bands = _numeric(bands, [c for c in BAND_STATISTICS if c in bands.columns], f"{where}/bands.csv")
    else:
        bands = None
    info = RunInfo(
        label=default, path=path, scenario=str(scenario.get("name") or ""), title=str(scenario.get("title") or ""),
        model=str(_get(meta, "model", "name") or ""), dataset=str(_get(meta, "dataset", "name") or ""),
        data_year=_get(meta, "dataset", "year"), tariff_year=_get(meta, "policy", "tariff_year"),
        data_hash=str(_get(meta, "dataset", "hash") or ""), version=str(meta.get("version") or ""),
        created_utc=str(meta.get("created_utc") or ""), has_bands=bands is not None,
    )
    return default, _Run(info, meta, frame.assign(country=frame["country"].astype(str)), bands)


def _numeric(frame: pd.DataFrame, columns: list[str], where: str) -> pd.DataFrame:
    """``frame`` with ``columns`` as floats; text in one of them is an error naming the cell."""
    out = frame.copy()
    for column in columns:
        values = pd.to_numeric(out[column], errors="coerce")
        bad = out[column].notna() & values.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise BlocsimError(
                f"{where}: column {column!r} must hold numbers; line {row + 2} has {out[column].iloc[row]!r}; "
                "re-run the scenario to rewrite the file"
            )
        out[column] = values.astype(float)
    return out


def _unique(labels: Iterable[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return out


def _with_label(run: _Run, label: str) -> _Run:
    info = RunInfo(**{**vars(run.info), "label": label})
    return _Run(info, run.meta, run.countries, run.bands)


def _long_table(runs: list[_Run], variables: tuple[str, ...]) -> pd.DataFrame:
    """``run, country, variable, value, difference, p05, p50, p95`` for every run, country and variable."""
    countries = sorted(set().union(*(set(run.countries["country"]) for run in runs)))
    parts = []
    for run in runs:
        values = run.countries.drop_duplicates("country").set_index("country").reindex(countries)
        for variable in variables:
            part = pd.DataFrame({
                "run": run.info.label, "country": countries, "variable": variable,
                "value": values[variable].to_numpy(dtype=float) if variable in values else np.nan,
            })
            for stat in BAND_STATISTICS:
                part[stat] = _band(run, variable, stat).reindex(countries).to_numpy(dtype=float)
            parts.append(part)
    long = pd.concat(parts, ignore_index=True)
    reference = long[long["run"] == runs[0].info.label].set_index(["country", "variable"])["value"]
    keys = pd.MultiIndex.from_frame(long[["country", "variable"]])
    long.insert(4, "difference", long["value"].to_numpy() - reference.reindex(keys).to_numpy())
    return long


def _band(run: _Run, variable: str, stat: str) -> pd.Series:
    """Percentile ``stat`` of ``variable`` per country (empty if the run has no such band)."""
    if run.bands is None or stat not in run.bands.columns:
        return pd.Series(dtype=float)
    rows = run.bands[run.bands["variable"] == variable].drop_duplicates("country")
    return rows.set_index(rows["country"].astype(str))[stat]


def _wide_table(long: pd.DataFrame, runs: list[_Run], variables: tuple[str, ...]) -> pd.DataFrame:
    """Pivot ``long`` to one row per country: values, differences, then bands, per variable."""
    reference = runs[0].info.label
    columns: dict[str, pd.Series] = {}
    for variable in variables:
        rows = long[long["variable"] == variable]
        by_run = {label: part.set_index("country") for label, part in rows.groupby("run", sort=False)}
        for run in runs:
            columns[value_column(variable, run.info.label)] = by_run[run.info.label]["value"]
        for run in runs[1:]:
            columns[difference_column(variable, run.info.label, reference)] = by_run[run.info.label]["difference"]
        for run in runs:
            band = by_run[run.info.label][list(BAND_STATISTICS)]
            if band.notna().any().any():
                for stat in BAND_STATISTICS:
                    columns[value_column(f"{variable}_{stat}", run.info.label)] = band[stat]
    table = pd.DataFrame(columns)
    table.index.name = "country"
    return table.reset_index()


def _shown(value: Any) -> str:
    """A run.json value for a warning line: hashes shortened to 12 characters."""
    if value is None:
        return "not recorded"
    text = str(value)
    return text[:12] if len(text) == 64 else text


def _differences(runs: list[_Run]) -> list[str]:
    """One warning line per aspect (model, dataset, data year, ...) in which the runs differ."""
    lines = []
    for aspect, read in _ASPECTS:
        values = [read(run.meta) for run in runs]
        if len({repr(v) for v in values}) > 1:
            listed = ", ".join(f"{run.info.label}={_shown(value)}" for run, value in zip(runs, values))
            lines.append(f"the runs differ in {aspect}: {listed}; their numbers are not like for like")
    return lines
