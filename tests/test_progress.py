"""Progress reporting: the library's ``progress(done, total)`` callbacks and the CLI's bar on stderr.

The library calls ``progress`` with 0 first, then with ``done`` strictly increasing up to
``total`` (draws, sensitivity scenarios, Dask tasks, import and build steps), and never
prints; the CLI draws a Rich bar on stderr only when stderr is a terminal, so stdout (tables
or ``--json``) never carries a control character.
"""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from blocsim.cli import _common
from blocsim.cli.main import app
from blocsim.cli.progress import progress_bar
from blocsim.data import Store
from blocsim.data.eaeu.build import BUILD_STEPS, build_eaeu
from blocsim.pipeline import run_scenario
from blocsim.pipeline import sensitivity as sensitivity_module
from blocsim.pipeline.bands import bands_plan, scenario_bands
from blocsim.pipeline.distributed import sweep
from blocsim.pipeline.sensitivity import scenario_count, sensitivity_table
from blocsim.pipeline.uncertainty import monte_carlo
from blocsim.results import export as export_module
from blocsim.results import export_run

REPO = Path(__file__).resolve().parents[1]
#: A small scenario on the 18-region, 4-sector tables: a run with draws takes about a second.
SMALL = """\
[scenario]
name = "small-leave"
title = "Kazakhstan leaves (small tables)"
event = "test"
sources = ["test"]
focus_countries = ["KAZ", "RUS"]

[data]
dataset = "eaeu-2016v1"
year = 2016

[before]
date = 2016-06-01

[after]
leave = [{ country = "KAZ", bloc = "EAEU" }]
duty_pool = { RUS = 91.85, BLR = 4.91, KGZ = 2.05, ARM = 1.19 }
"""
#: Any terminal control: ESC and CSI sequences, carriage returns, the other C0 controls but newline and tab.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")


class Recorder:
    """A progress callback that keeps its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))

    def check(self, total: int) -> None:
        """0 first, ``done`` strictly increasing, ``total`` fixed, ``done == total`` last."""
        assert self.calls, "progress was never called"
        done = [d for d, _ in self.calls]
        assert {t for _, t in self.calls} == {total}, self.calls
        assert done[0] == 0 and done[-1] == total, self.calls
        assert all(b > a for a, b in zip(done, done[1:])), self.calls


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "small-leave.toml"
    path.write_text(SMALL)
    return path


@pytest.fixture(scope="module")
def small_run(small: Path):  # type: ignore[no-untyped-def]
    return run_scenario(small)


def _toy() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A four-country one-sector baseline with a tariff-like shock on AAA's imports."""
    rng = np.random.default_rng(0)
    countries = ["AAA", "BBB", "CCC", "DDD"]
    base = pd.DataFrame([(i, j, rng.uniform(10, 50) + (300.0 if i == j else 0.0)) for i in countries
                         for j in countries], columns=["exporter", "importer", "trade"])
    shock = pd.DataFrame([(i, "AAA", 1.2) for i in countries[1:]], columns=["exporter", "importer", "factor"])
    return base, shock


# --- the library's callbacks -----------------------------------------------------------------


def test_monte_carlo_reports_the_draws_of_each_chunk() -> None:
    base, shock = _toy()
    recorder = Recorder()
    monte_carlo(base, draws=7, chunk_size=3, sigma=("normal", 5.0, 0.5), baseline_method="observed", shock=shock,
                progress=recorder)
    assert recorder.calls == [(0, 7), (3, 7), (6, 7), (7, 7)]


def test_dask_runs_report_as_tasks_complete() -> None:
    base, shock = _toy()
    serial = monte_carlo(base, draws=7, chunk_size=3, sigma=("normal", 5.0, 0.5), baseline_method="observed",
                         shock=shock)
    recorder = Recorder()
    on_dask = monte_carlo(base, draws=7, chunk_size=3, sigma=("normal", 5.0, 0.5), baseline_method="observed",
                          shock=shock, scheduler="local", progress=recorder)
    recorder.check(7)
    assert len(recorder.calls) == 4  # once at the start, once per chunk (in completion order)
    assert np.array_equal(serial.samples, on_dask.samples)


def test_a_sweep_reports_each_item() -> None:
    recorder = Recorder()
    assert sweep(abs, [-3, 1, -2], progress=recorder) == [3, 1, 2]
    assert recorder.calls == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_scenario_bands_report_every_chunk_of_draws(small_run) -> None:  # type: ignore[no-untyped-def]
    recorder = Recorder()
    scenario_bands(small_run, draws=8, seed=1, chunk_size=3, progress=recorder)
    assert recorder.calls == [(0, 8), (3, 8), (6, 8), (8, 8)]


def test_sensitivity_reports_its_scenarios_and_blocks_change_no_number(
        small_run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    plan = bands_plan(small_run)
    monkeypatch.setattr(sensitivity_module, "CHUNK_SIZE", 4)
    recorder = Recorder()
    in_blocks = sensitivity_table(plan, small_run.countries, ["KAZ", "RUS"], progress=recorder)
    total = scenario_count(plan)
    assert total == 2 * len(plan.inputs) > 4
    recorder.check(total)
    assert [d for d, _ in recorder.calls] == [*range(0, total, 4), total]
    monkeypatch.setattr(sensitivity_module, "CHUNK_SIZE", total)  # every scenario in one batched solve
    pd.testing.assert_frame_equal(in_blocks, sensitivity_table(plan, small_run.countries, ["KAZ", "RUS"]),
                                  check_exact=True)


def test_run_scenario_counts_draws_then_sensitivity_as_one_bar(small: Path) -> None:
    recorder = Recorder()
    result = run_scenario(small, draws=30, seed=2, progress=recorder)
    total = 30 + scenario_count(bands_plan(result)) + 1  # draws, sensitivity scenarios, writing the run
    recorder.check(total)
    assert (30, total) in recorder.calls and (total - 1, total) in recorder.calls  # the parts in order
    quiet = Recorder()
    run_scenario(small, progress=quiet)  # no draws: nothing counted, nothing reported
    assert quiet.calls == []


def test_export_reports_the_rows_written_and_excel_blocks_change_no_cell(small: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = run_scenario(small, tmp_path / "run", draws=4).run_dir
    rows = sum(len(pd.read_csv(path)) for path in run_dir.glob("*.csv"))
    export_run(run_dir, "xlsx", out=tmp_path / "whole.xlsx")
    monkeypatch.setattr(export_module, "XLSX_BLOCK_ROWS", 7)
    recorder = Recorder()
    export_run(run_dir, "xlsx", out=tmp_path / "blocks.xlsx", progress=recorder)
    recorder.check(rows)
    assert len(recorder.calls) > rows // 7  # every block of 7 rows is reported
    whole, blocks = (openpyxl.load_workbook(tmp_path / name) for name in ("whole.xlsx", "blocks.xlsx"))
    assert whole.sheetnames == blocks.sheetnames
    for name in whole.sheetnames:
        cells = [[(c.value, c.font.b, c.number_format) for c in row] for row in whole[name].iter_rows()]
        assert cells == [[(c.value, c.font.b, c.number_format) for c in row] for row in blocks[name].iter_rows()]
        assert whole[name].freeze_panes == blocks[name].freeze_panes
    for form in ("csv", "dta"):
        recorder = Recorder()
        export_run(run_dir, form, out=tmp_path / form, progress=recorder)
        recorder.check(rows)


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


def test_store_import_reports_its_steps(tmp_path: Path) -> None:
    source = tmp_path / "table.csv"
    pd.DataFrame({"exporter": ["AAA", "BBB"], "trade": [1.0, 2.0]}).to_csv(source, index=False)
    store = Store(tmp_path / "home")
    first = Recorder()
    assert store.import_file("table", source, loader=_read_csv, progress=first).changed
    assert first.calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
    again = Recorder()
    assert not store.import_file("table", source, loader=_read_csv, progress=again).changed
    assert again.calls == [(0, 3), (1, 3), (3, 3)]  # same content: not read again


def test_dataset_build_reports_its_steps(shared_data: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    build_eaeu(shared_data, tmp_path / "tables", progress=recorder)
    assert recorder.calls == [(k, len(BUILD_STEPS)) for k in range(len(BUILD_STEPS) + 1)]


# --- the CLI's display -----------------------------------------------------------------------


def test_progress_bar_draws_on_a_terminal_and_nothing_elsewhere() -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100)
    with progress_bar("counting [things]", console=terminal) as report:
        report(0, 4)
        report(4, 4)
    drawn = terminal.file.getvalue()  # type: ignore[attr-defined]
    assert "counting [things]" in drawn and "4/4" in drawn and "\x1b[" in drawn
    pipe = Console(file=io.StringIO(), width=100)  # not a terminal
    with progress_bar("counting", console=pipe) as report:
        report(0, 4)
        report(4, 4)
    assert pipe.file.getvalue() == ""  # type: ignore[attr-defined]
    dumb = Console(file=io.StringIO(), force_terminal=True, width=100, _environ={"TERM": "dumb"})
    with progress_bar("counting", console=dumb) as report:
        report(4, 4)
    assert dumb.file.getvalue() == ""  # type: ignore[attr-defined]


def test_run_with_draws_shows_a_bar_on_stderr_and_keeps_json_on_stdout(small: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = Console(file=io.StringIO(), force_terminal=True, width=120)
    monkeypatch.setattr(_common, "err_console", stderr)
    result = CliRunner().invoke(app, ["run", str(small), "--out", str(tmp_path / "run"), "--draws", "12",
                                      "--no-store", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["scenario"]["name"] == "small-leave"
    drawn = stderr.file.getvalue()  # type: ignore[attr-defined]
    total = re.findall(r"(\d+)/(\d+)", drawn)[-1]
    assert "running small-leave (multi-sector GE, 12 draws and the sensitivity)" in drawn
    assert total[0] == total[1] and int(total[1]) > 12  # draws, the sensitivity's scenarios and writing


def test_data_export_counts_the_rows_of_the_files_it_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = Console(file=io.StringIO(), force_terminal=True, width=120)
    monkeypatch.setattr(_common, "err_console", stderr)
    result = CliRunner().invoke(app, ["data", "export", "eaeu-2016v1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = sum(len(pd.read_csv(path)) for path in tmp_path.glob("*.csv")) + 1  # meta.json counts 1
    drawn = stderr.file.getvalue()  # type: ignore[attr-defined]
    assert f"{rows}/{rows}" in drawn and "reading eaeu-2016v1" in drawn
    assert not CONTROL.search(result.stdout)


def _cli(args: list[str], home: Path, *, stderr_terminal: bool, term: str = "xterm-256color") -> tuple[int, str, str]:
    """Run ``python -m blocsim ARGS`` with stdout a pipe and stderr a pseudo-terminal (or a pipe)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "BLOCSIM_HOME": str(home), "TERM": term,
           "COLUMNS": "120"}
    for name in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(name, None)
    command = [sys.executable, "-m", "blocsim", *args]
    if not stderr_terminal:
        done = subprocess.run(command, capture_output=True, env=env, timeout=300)
        return done.returncode, done.stdout.decode(), done.stderr.decode()
    parent, child = pty.openpty()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=child, env=env) as process:
        os.close(child)
        chunks = []
        while True:
            try:
                data = os.read(parent, 1 << 16)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        stdout = process.stdout.read().decode() if process.stdout else ""
        code = process.wait(timeout=300)
    os.close(parent)
    return code, stdout, b"".join(chunks).decode(errors="replace")


def test_import_shows_a_bar_on_a_terminal_stderr(tmp_path: Path, shared_data: Path) -> None:
    lines = (shared_data / "cepii_geodist" / "dist_cepii.csv").read_text(encoding="latin-1").splitlines()[:301]
    source = tmp_path / "dist_cepii.csv"
    source.write_text("\n".join(lines) + "\n", encoding="latin-1")  # the header and 300 pairs
    code, stdout, stderr = _cli(["data", "import", "cepii_dist", str(source), "--name", "dist"], tmp_path,
                                stderr_terminal=True)
    assert code == 0, stderr
    assert "importing dist_cepii.csv" in stderr and "3/3" in stderr and "\x1b[" in stderr
    assert stdout.startswith("dist: imported, 300 rows") and not CONTROL.search(stdout)
    code, stdout, stderr = _cli(["data", "import", "cepii_dist", str(source), "--name", "dist2"], tmp_path,
                                stderr_terminal=True, term="dumb")
    assert code == 0 and stderr == "" and stdout.startswith("dist2: imported")


def test_without_a_terminal_nothing_but_the_output_is_written(small: Path, tmp_path: Path) -> None:
    code, stdout, stderr = _cli(["run", str(small), "--out", str(tmp_path / "run"), "--draws", "5", "--no-store"],
                                tmp_path, stderr_terminal=False)
    assert code == 0, stderr
    assert stderr == "" and not CONTROL.search(stdout)
    assert "Changes in the focus countries" in stdout
    code, stdout, stderr = _cli(["run", str(small), "--out", str(tmp_path / "run"), "--draws", "5", "--no-store",
                                 "--json"], tmp_path, stderr_terminal=True)
    assert code == 0, stderr
    assert json.loads(stdout)["scenario"]["name"] == "small-leave" and not CONTROL.search(stdout)
    assert re.search(r"(?<!\d)(\d+)/\1(?!\d)", stderr)  # the bar reached its end on the terminal
