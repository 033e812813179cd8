"""A killed ``blocsim data build`` leaves no staging folder behind for good.

The build writes into ``.NAME.tmp-<pid>-<host>-<token>`` marked as blocsim's (``.blocsim-build``,
with the PID); a child process SIGKILLed while staging leaves that folder, and the next build
or listing removes it once the PID is dead. A folder of the same naming pattern without the
marker, or holding a file the marker does not list, is never touched.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import blocsim
from blocsim.data.built_datasets import BUILD_MARKER, list_built, marker_text
from blocsim.data.staging import host_tag, parse_temp_name
from blocsim.data.user_build import built_root
from blocsim.data.user_datasets import build_dataset

REGIONS = ("KAZ", "RUS", "CHN")

#: A child that builds dataset ``killed`` and stops (for the parent to kill it) once its staging
#: folder holds the marker and the first table.
CHILD = textwrap.dedent("""
    import sys, time
    from blocsim.data.eaeu_v2 import build
    real = build._write_parquet

    def write_then_wait(frame, path):
        real(frame, path)
        print(path.parent, flush=True)
        time.sleep(120)

    build._write_parquet = write_then_wait
    from blocsim.data.user_datasets import build_dataset
    build_dataset("killed", sys.argv[1], home=sys.argv[2])
""")


@pytest.fixture()
def flows(tmp_path: Path) -> Path:
    rows = [(e, i, 2015, 100.0 if e == i else 5.0) for e in REGIONS for i in REGIONS]
    path = tmp_path / "flows.csv"
    pd.DataFrame(rows, columns=["exporter", "importer", "year", "trade"]).to_csv(path, index=False)
    return path


def _killed_build(flows: Path, home: Path) -> tuple[Path, int]:
    """Start a build in a child process, SIGKILL it while staging; its staging folder and PID."""
    env = {**os.environ, "PYTHONPATH": str(Path(blocsim.__file__).parents[1])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(flows), str(home)], env=env,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        staging = Path(child.stdout.readline().strip())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    return staging, child.pid


def _unmarked(root: Path, name: str, pid: int, token: str) -> Path:
    folder = root / f".{name}.tmp-{pid}-{host_tag()}-{token}"
    folder.mkdir()
    (folder / "notes.txt").write_text("the user's own file", encoding="utf-8")
    return folder


def test_a_build_killed_while_staging_is_swept_by_the_next_build(flows: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    staging, pid = _killed_build(flows, home)
    root = built_root(home)
    assert staging.parent == root and staging.is_dir()
    parsed = parse_temp_name(staging.name)
    assert parsed is not None and (parsed.name, parsed.kind, parsed.pid) == ("killed", "tmp", pid)
    marker = json.loads((staging / BUILD_MARKER).read_text(encoding="utf-8"))
    assert marker["format"] == "blocsim-build" and marker["owner"]["pid"] == pid
    assert not (root / "killed").exists()
    unmarked = _unmarked(root, "killed", pid, "0badc0de")
    extra = root / f".killed.tmp-{pid}-{host_tag()}-feedf00d"  # marked, but holds a file it does not list
    extra.mkdir()
    (extra / BUILD_MARKER).write_text(marker_text(), encoding="utf-8")
    (extra / "mine.csv").write_text("a,b\n", encoding="utf-8")

    result = build_dataset("killed", str(flows), home=home)

    assert not staging.exists()
    assert (unmarked / "notes.txt").read_text(encoding="utf-8") == "the user's own file"
    assert (extra / "mine.csv").is_file()
    assert sorted(p.name for p in root.iterdir()) == sorted(["killed", unmarked.name, extra.name])
    assert result.path == root / "killed" and (root / "killed" / BUILD_MARKER).is_file()


def test_a_dead_builds_marked_folder_is_swept_by_the_listing(flows: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    build_dataset("kept", str(flows), home=home)
    root = built_root(home)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    pid = int(dead.stdout)
    stale = root / f".other.tmp-{pid}-{host_tag()}-12345678"
    stale.mkdir()
    (stale / BUILD_MARKER).write_text(marker_text(), encoding="utf-8")
    (stale / "flows.parquet").write_bytes(b"part of a table")
    alive = root / f".other.tmp-{os.getpid()}-{host_tag()}-87654321"  # a build of a live process
    alive.mkdir()
    (alive / BUILD_MARKER).write_text(marker_text(), encoding="utf-8")
    unmarked = _unmarked(root, "other", pid, "0badc0de")

    assert [entry["name"] for entry in list_built(home)] == ["kept"]

    assert not stale.exists() and alive.is_dir() and (unmarked / "notes.txt").is_file()
