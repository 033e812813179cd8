"""kill -9 at every step of replacing a run directory and of writing a report.

A child process writes a run (or a report) under an audit hook (:func:`sys.addaudithook`)
that counts file-system changes (file opened for writing, mkdir, rename, unlink, rmdir,
rmtree, link, ...) and sends itself SIGKILL just before change number ``k``, i.e. right
after ``k - 1`` steps. The test runs ``k = 1, 2, ...`` until the child finishes unkilled,
so every step is a kill point, including each unlink inside the deletion of the old run.
After each kill the parent checks, through the public API only, that the next access
(:func:`read_run`, :func:`write_run`, :func:`write_report`) finds either the old or the new
run complete, that no user file was lost, and that blocsim's temporaries are cleaned up.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from blocsim.errors import BlocsimError
from blocsim.results import read_run, write_run
from blocsim.results.marker import MARKER_NAME
from run_records import record, run_number

SRC = Path(__file__).resolve().parents[1] / "src"
TESTS = Path(__file__).resolve().parent  # run_records.py, imported by the child

CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    import pandas as pd

    action, target, kill_at, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    CHANGES = {"os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.link", "os.symlink", "os.chmod",
               "os.truncate", "shutil.rmtree", "shutil.move", "shutil.copyfile", "os.utime"}
    WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    state = {"armed": False, "steps": 0}

    def hook(event, args):
        if not state["armed"]:
            return
        if event == "open":
            mode, flags = args[1], args[2]
            if not (any(c in mode for c in "wax+") if isinstance(mode, str) else (flags or 0) & WRITES):
                return
        elif event not in CHANGES:
            return
        state["steps"] += 1
        if state["steps"] == kill_at:
            state["armed"] = False
            os.kill(os.getpid(), signal.SIGKILL)

    sys.addaudithook(hook)

    def tables(n):
        countries = pd.DataFrame({"country": ["KAZ", "RUS", "BLR"], "welfare_pct": [n, -n, 0.5 * n]})
        flows = pd.DataFrame({"exporter": ["KAZ"] * 50, "importer": ["RUS"] * 50, "sector": "all",
                          "trade_baseline": 1.0, "trade_counterfactual": 1.0 + n})
        return {"countries": countries, "flows": flows}

    if action == "run":
        from blocsim.results import write_run
        from run_records import record
        write_run(os.path.join(os.path.dirname(target), "warm-up"), tables(0), record(0))  # lazy imports first
        state["armed"] = True
        write_run(target, tables(n), record(n), extra_files={"scenario.toml": f"n = {n}"})
    else:
        from blocsim.report import render_report, write_report
        from blocsim.report.tables import load_run
        render_report(load_run(target))  # lazy imports first
        state["armed"] = True
        write_report(target)
    state["armed"] = False
    print(json.dumps({"steps": state["steps"]}))
    """
)


def tables(n: int) -> dict[str, pd.DataFrame]:
    """The same tables as the child writes for run number ``n``."""
    countries = pd.DataFrame({"country": ["KAZ", "RUS", "BLR"], "welfare_pct": [n, -n, 0.5 * n]})
    flows = pd.DataFrame({"exporter": ["KAZ"] * 50, "importer": ["RUS"] * 50, "sector": "all",
                          "trade_baseline": 1.0, "trade_counterfactual": 1.0 + n})
    return {"countries": countries, "flows": flows}


def child(action: str, target: Path, kill_at: int, n: int = 0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(TESTS)]), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-c", CHILD, action, str(target), str(kill_at), str(n)],
        env=env, capture_output=True, text=True, timeout=300,
    )


def user_files(parent: Path) -> dict[str, str]:
    """User files beside the target, among them a folder shaped like blocsim's staging names."""
    lookalike = parent / ".run.tmp-1-00000000-00000000"
    lookalike.mkdir(exist_ok=True)
    (lookalike / "keep.txt").write_text("not blocsim's")
    (parent / "thesis.tex").write_text("years of work")
    return snapshot(parent, exclude="run")


def snapshot(parent: Path, *, exclude: str) -> dict[str, str]:
    return {
        str(p.relative_to(parent)): p.read_text()
        for p in sorted(parent.rglob("*"))
        if p.is_file() and p.relative_to(parent).parts[0] not in (exclude, "warm-up")
    }


def assert_complete(target: Path) -> int:
    """The run at ``target`` is complete (every listed file there, tables as written); its number."""
    tables_read, meta = read_run(target)
    n = run_number(meta)
    expected = tables(n)
    assert set(tables_read) == set(expected)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(tables_read[name], frame, check_dtype=False)
    listed = json.loads((target / MARKER_NAME).read_text())["files"]
    assert sorted(p.name for p in target.iterdir() if p.name != MARKER_NAME) == listed
    if "scenario.toml" in listed:
        assert (target / "scenario.toml").read_text() == f"n = {n}"
    return n


@pytest.mark.slow
@pytest.mark.parametrize("start", ["previous run", "no run"])
def test_kill_at_every_step_of_replacing_a_run_leaves_old_or_new(tmp_path: Path, start: str) -> None:
    """Issue 13, finding 3: a kill between the two renames left no run at --out."""
    target = tmp_path / "run"
    mine = user_files(tmp_path)
    outcomes: Counter[str] = Counter()
    for kill_at in range(1, 200):
        shutil.rmtree(target, ignore_errors=True)
        if start == "previous run":
            write_run(target, tables(1), record(1), extra_files={"scenario.toml": "n = 1"})
        done = child("run", target, kill_at, n=2)
        if done.returncode == 0:
            steps = json.loads(done.stdout)["steps"]
            assert steps == kill_at - 1, "the child must have been killed at every earlier step"
            break
        assert done.returncode == -signal.SIGKILL, done.stderr
        # the next read finds one complete run (or, for a first write, none yet)
        if start == "no run" and not any(p.name.startswith(".run.blocsim-swap") for p in tmp_path.iterdir()):
            with pytest.raises(BlocsimError, match="no run.json"):
                read_run(target)
            outcomes["none"] += 1
        else:
            outcomes[{1: "old", 2: "new"}[assert_complete(target)]] += 1
        assert {name: (tmp_path / name).read_text() for name in mine} == mine, f"user file lost at step {kill_at}"
        # the next write succeeds and leaves no temporary of blocsim's behind
        write_run(target, tables(3), record(3))
        assert assert_complete(target) == 3
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".run.tmp-1-00000000-00000000", "run",
                                                                     "thesis.tex", "warm-up"])
    else:
        pytest.fail("the child never finished")
    assert steps >= 12, f"only {steps} steps were killed: the hook did not see the writes"
    assert outcomes["new"] > 0 and outcomes["old" if start == "previous run" else "none"] > 0, outcomes
    assert snapshot(tmp_path, exclude="run") == mine


@pytest.mark.slow
def test_kill_at_every_step_of_writing_a_report(tmp_path: Path) -> None:
    """Issue 13, finding 3: kills left .report.html.*.tmp files behind for good."""
    from blocsim.report import render_report, write_report
    from blocsim.report.tables import load_run

    target = tmp_path / "run"
    meta = record(1)
    outcomes: Counter[str] = Counter()
    for kill_at in range(1, 50):
        shutil.rmtree(target, ignore_errors=True)
        write_run(target, tables(1), meta)
        new = render_report(load_run(target))
        done = child("report", target, kill_at)
        if done.returncode == 0:
            steps = json.loads(done.stdout)["steps"]
            assert steps == kill_at - 1
            break
        assert done.returncode == -signal.SIGKILL, done.stderr
        report = target / "report.html"
        outcomes["new" if report.exists() else "none"] += 1
        assert not report.exists() or report.read_text(encoding="utf-8") == new, f"half a report at step {kill_at}"
        write_report(target)  # cleans the killed writer's temporary file
        assert sorted(p.name for p in target.iterdir()) == [MARKER_NAME, "countries.csv", "flows.csv",
                                                             "report.html", "run.json"]
        write_run(target, tables(2), record(2))  # the report is listed as blocsim's: the run can be replaced
        assert assert_complete(target) == 2
    else:
        pytest.fail("the child never finished")
    assert steps >= 6 and outcomes["none"] == steps, (steps, outcomes)
