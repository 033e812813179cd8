"""Run directories: atomic writes, provenance, the run marker, and never deleting what is not a run.

Crash safety under ``kill -9`` is tested in tests/test_rundir_crash.py; here the journal's
recovery is driven from states built by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from blocsim.cli.main import app
from blocsim.errors import BlocsimError
from blocsim.results import journal, read_run, write_run
from blocsim.results.journal import host_tag, journal_path, process_start
from blocsim.results.marker import MARKER_NAME, RUN_SCHEMA
from run_records import record, run_number

TABLE = pd.DataFrame({"country": ["KAZ", "RUS"], "welfare_pct": [0.1, -0.2]})


def test_write_and_read_back_with_provenance(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", {"countries": TABLE}, record("x"))
    tables, meta = read_run(run)
    pd.testing.assert_frame_equal(tables["countries"], TABLE)
    assert meta["package"] == "blocsim" and meta["version"] and meta["created_utc"]
    assert meta["files"] == ["countries.csv", "run.json"]


def test_run_directory_gets_normal_permissions(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", {"countries": TABLE}, record())
    mode = stat.S_IMODE(run.stat().st_mode)
    assert mode & stat.S_IRGRP, f"run directory is {oct(mode)}: mkdtemp's 0o700 leaked through"


def test_a_previous_run_is_replaced(tmp_path: Path) -> None:
    first = write_run(tmp_path / "run", {"countries": TABLE}, record(1))
    write_run(first, {"countries": TABLE.assign(welfare_pct=1.0)}, record(2))
    tables, meta = read_run(first)
    assert run_number(meta) == 2 and tables["countries"]["welfare_pct"].eq(1.0).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"], "backup or staging folders left behind"


def test_a_folder_that_is_not_a_run_is_refused_and_left_untouched(tmp_path: Path) -> None:
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.txt").write_text("years of work")
    with pytest.raises(BlocsimError, match="not a blocsim run directory"):
        write_run(precious, {"countries": TABLE}, record())
    assert (precious / "chapter1.txt").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]


def test_a_file_target_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    with pytest.raises(BlocsimError, match="is a file"):
        write_run(target, {"countries": TABLE}, record())
    assert target.read_text() == "keep me"


def test_a_failure_mid_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(AttributeError):  # neither text nor bytes: fails after the tables are staged
        write_run(tmp_path / "run", {"countries": TABLE}, record(), extra_files={"notes.txt": object()})
    assert list(tmp_path.iterdir()) == []


def test_corrupt_run_json_is_a_clear_error(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", {"countries": TABLE}, record())
    (run / "run.json").write_text("{not json")
    with pytest.raises(BlocsimError, match="run.json: cannot be read as JSON"):
        read_run(run)


def test_uncreatable_out_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")  # a parent that is a file fails for every user, root included
    with pytest.raises(BlocsimError, match="cannot create the run directory"):
        write_run(blocker / "run", {"countries": TABLE}, record())


def test_cli_refuses_to_overwrite_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    result = CliRunner().invoke(app, ["scenarios", "run", "kazakhstan-leaves", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "not a blocsim run directory" in " ".join(result.output.split())
    assert (tmp_path / "keep.txt").read_text() == "x"


def test_cli_report_on_a_corrupt_run_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", {"countries": TABLE}, record())
    (run / "run.json").write_text("{")
    result = CliRunner().invoke(app, ["report", str(run)])
    assert result.exit_code == 1
    assert "cannot be read as JSON" in result.output
    assert "Traceback" not in result.output


def test_cli_ge_on_a_directory_or_binary_file_is_a_clear_error(tmp_path: Path) -> None:
    binary = tmp_path / "blob.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    for config in (tmp_path, binary):
        result = CliRunner().invoke(app, ["ge", str(config), "--out", str(tmp_path / "out")])
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        assert str(config) in result.output.replace("\n", "")
    assert not (tmp_path / "out").exists()


def test_cli_data_export_of_unknown_dataset_creates_nothing(tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = CliRunner().invoke(app, ["data", "export", "no-such-dataset", "--out", str(out), "--home", str(tmp_path / "home")])
    assert result.exit_code == 1
    assert not out.exists()


def test_run_json_is_valid_json_after_cli_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["scenarios", "run", "kazakhstan-leaves", "--out", str(tmp_path / "r"), "--json"])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "r" / "run.json").read_text())
    assert meta["scenario"]["name"] == "kazakhstan-leaves"


# --------------------------------------------------------------------------- the marker


def dead_pid() -> int:
    """The PID of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def temp_dir_name(name: str, kind: str, pid: int, host: str | None = None, token: str = "0badc0de") -> str:
    return f".{name}.{kind}-{pid}-{host or host_tag()}-{token}"


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path -> text)."""
    return {str(p.relative_to(root)): p.read_text(errors="replace") for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_marker_lists_the_files_blocsim_wrote(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", {"countries": TABLE}, record(), extra_files={"scenario.toml": "x = 1"})
    marker = json.loads((run / MARKER_NAME).read_text())
    assert marker == {"format": "blocsim-run", "schema": RUN_SCHEMA,
                      "files": ["countries.csv", "run.json", "scenario.toml"]}
    assert sorted(p.name for p in run.iterdir()) == [MARKER_NAME, "countries.csv", "run.json", "scenario.toml"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": "blocsim-run", "schema": 99, "files": []}', "newer blocsim"),
        ('{"format": "something-else", "schema": 1, "files": []}', "not a blocsim run marker"),
        ("{broken", "not a blocsim run marker"),
        ('{"format": "blocsim-run", "schema": "1", "files": []}', "field 'schema'"),
        ('{"format": "blocsim-run", "schema": 1, "files": ["../../etc/passwd"]}', "not a relative path"),
    ],
)
def test_the_marker_is_checked_on_read_and_before_replacing(tmp_path: Path, content: str, message: str) -> None:
    run = write_run(tmp_path / "run", {"countries": TABLE}, record())
    (run / MARKER_NAME).write_text(content)
    before = tree(run)
    with pytest.raises(BlocsimError, match=message):
        read_run(run)
    with pytest.raises(BlocsimError, match=message):
        write_run(run, {"countries": TABLE}, record())
    assert tree(run) == before


def test_a_run_json_blocsim_did_not_write_is_not_a_run(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "run.json").write_text('{"name": "my project"}')
    with pytest.raises(BlocsimError, match="not a blocsim run directory"):
        read_run(folder)


# ------------------------------------------------------------ never deleting user files


def test_a_project_folder_holding_a_run_json_is_refused_and_kept(tmp_path: Path) -> None:
    """Issue 13, finding 2: a folder with run.json, thesis.tex and src/ lost them to rmtree."""
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "run.json").write_text('{"tasks": ["build"]}')
    (project / "thesis.tex").write_text("\\chapter{One}")
    (project / "src" / "model.py").write_text("print(1)")
    before = tree(project)
    with pytest.raises(BlocsimError, match="not a blocsim run directory"):
        write_run(project, {"countries": TABLE}, record())
    assert tree(project) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_files_a_user_saved_in_a_run_folder_block_its_replacement(tmp_path: Path) -> None:
    """Issue 13, finding 2: extra files saved inside a run folder were deleted without warning."""
    run = write_run(tmp_path / "run", {"countries": TABLE}, record(1))
    (run / "notes.txt").write_text("my reading of the results")
    (run / "figures").mkdir()
    (run / "figures" / "mine.png").write_bytes(b"png")
    (run / "drafts").mkdir()
    (run / "drafts" / "paper.md").write_text("draft")
    before = tree(run)
    with pytest.raises(BlocsimError) as caught:
        write_run(run, {"countries": TABLE}, record(2))
    message = str(caught.value)
    assert "3 file(s) blocsim did not write" in message
    assert "drafts/, figures/, notes.txt" in message and "Move them out" in message
    assert tree(run) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_report_and_charts_blocsim_wrote_do_not_block_replacement(tmp_path: Path) -> None:
    from blocsim.results import register_run_files, write_file_atomic

    run = write_run(tmp_path / "run", {"countries": TABLE}, record(1))
    register_run_files(run, ["report.html", "figures/welfare.png"])
    write_file_atomic(run / "report.html", "<html></html>")
    (run / "figures").mkdir()
    write_file_atomic(run / "figures" / "welfare.png", b"png")
    write_run(run, {"countries": TABLE}, record(2))
    assert run_number(read_run(run)[1]) == 2
    assert sorted(p.name for p in run.iterdir()) == [MARKER_NAME, "countries.csv", "run.json"]


def previous_release_run(path: Path, *, extra: dict[str, str] | None = None) -> Path:
    """A run directory as the release before the marker wrote it: no marker, report files by name."""
    run = write_run(path, {"countries": TABLE, "flows": TABLE}, record(0))
    (run / MARKER_NAME).unlink()
    (run / "report.html").write_text("<html></html>")
    (run / "figures").mkdir()
    (run / "figures" / "map.png").write_bytes(b"png")
    (run / ".report.html.k2j4_x9q.tmp").write_text("half a report")  # left by a kill in that release
    for name, text in (extra or {}).items():
        (run / name).write_text(text)
    return run


def test_a_run_of_the_previous_release_is_read_and_replaced(tmp_path: Path) -> None:
    run = previous_release_run(tmp_path / "run")
    tables, meta = read_run(run)
    assert run_number(meta) == 0 and set(tables) == {"countries", "flows"}
    write_run(run, {"countries": TABLE}, record(1))
    assert run_number(read_run(run)[1]) == 1 and (run / MARKER_NAME).is_file()
    assert sorted(p.name for p in run.iterdir()) == [MARKER_NAME, "countries.csv", "run.json"]


def test_a_run_of_the_previous_release_with_user_files_is_kept(tmp_path: Path) -> None:
    run = previous_release_run(tmp_path / "run", extra={"thesis.tex": "years of work"})
    before = tree(run)
    with pytest.raises(BlocsimError, match=r"1 file\(s\) blocsim did not write: thesis.tex"):
        write_run(run, {"countries": TABLE}, record(1))
    assert tree(run) == before


def test_a_table_name_that_leaves_the_run_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BlocsimError, match="plain file name"):
        write_run(tmp_path / "run", {"../escape": TABLE}, record())
    with pytest.raises(BlocsimError, match="reserved"):
        write_run(tmp_path / "run", {"countries": TABLE}, record(), extra_files={"run.json": "{}"})
    assert list(tmp_path.iterdir()) == []


def test_a_table_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    """Issue 13, finding 11: a Latin-1 CSV raised UnicodeDecodeError."""
    run = write_run(tmp_path / "run", {"countries": TABLE}, record())
    (run / "countries.csv").write_bytes("country,welfare_pct\nKAZ,1\nC\u00f4te,2\n".encode("latin-1"))
    with pytest.raises(BlocsimError, match=r"countries.csv: not UTF-8 text \(byte 0xf4 at line 3, offset 27\)"):
        read_run(run)
    (run / "countries.csv").write_text(TABLE.to_csv(index=False))
    (run / "run.json").write_bytes(b'{"scenario": "\xff"}')
    with pytest.raises(BlocsimError, match=r"run.json: not UTF-8 text \(byte 0xff"):
        read_run(run)


# ------------------------------------------------------- crash recovery and stale folders


def journal_of(target: Path, staging: Path, backup: Path, pid: int) -> None:
    journal_path(target).write_text(json.dumps({
        "format": "blocsim-swap", "schema": 1, "target": target.name, "staging": staging.name,
        "backup": backup.name, "owner": {"pid": pid, "host": host_tag(), "start": None},
    }))


def staged_run(parent: Path, name: str, n: int) -> Path:
    """A complete run in a staging folder, as write_run leaves it before the swap."""
    built = write_run(parent / f"build-{n}", {"countries": TABLE.assign(welfare_pct=float(n))}, record(n))
    return Path(shutil.move(built, parent / name))


def test_a_swap_killed_between_the_renames_is_completed_on_the_next_read(tmp_path: Path) -> None:
    """Issue 13, finding 3: old run in the backup, new one in staging, nothing at --out."""
    pid = dead_pid()
    target = tmp_path / "run"
    staging = staged_run(tmp_path, temp_dir_name("run", "tmp", pid), 2)
    backup = staged_run(tmp_path, temp_dir_name("run", "old", pid), 1)
    journal_of(target, staging, backup, pid)
    tables, meta = read_run(target)
    assert run_number(meta) == 2 and tables["countries"]["welfare_pct"].eq(2.0).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_swap_killed_before_the_first_rename_is_rolled_back(tmp_path: Path) -> None:
    pid = dead_pid()
    target = write_run(tmp_path / "run", {"countries": TABLE}, record(1))
    staging = staged_run(tmp_path, temp_dir_name("run", "tmp", pid), 2)
    journal_of(target, staging, tmp_path / temp_dir_name("run", "old", pid), pid)
    assert run_number(read_run(target)[1]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_live_writer_keeps_a_second_writer_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "SWAP_WAIT_SECONDS", 0.3)
    target = write_run(tmp_path / "run", {"countries": TABLE}, record(1))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        journal_path(target).write_text(json.dumps({
            "format": "blocsim-swap", "schema": 1, "target": "run", "staging": temp_dir_name("run", "tmp", sleeper.pid),
            "backup": temp_dir_name("run", "old", sleeper.pid),
            "owner": {"pid": sleeper.pid, "host": host_tag(), "start": process_start(sleeper.pid)},
        }))
        with pytest.raises(BlocsimError, match=f"another blocsim process \\(pid {sleeper.pid}\\) is replacing"):
            write_run(target, {"countries": TABLE}, record(2))
        assert run_number(read_run(target)[1]) == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == [".run.blocsim-swap", "run"]
    finally:
        sleeper.kill()
        sleeper.wait()
    write_run(target, {"countries": TABLE}, record(3))  # the journal's writer is gone now
    assert run_number(read_run(target)[1]) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_stale_temporary_folders_of_dead_writers_are_removed_and_nothing_else(tmp_path: Path) -> None:
    pid = dead_pid()
    write_run(tmp_path / "run", {"countries": TABLE}, record(1))
    stale = staged_run(tmp_path, temp_dir_name("run", "tmp", pid, token="00000001"), 1)
    killed_early = tmp_path / temp_dir_name("run", "tmp", pid, token="00000002")
    killed_early.mkdir()
    (killed_early / MARKER_NAME).write_bytes(b"")  # a kill hit the marker's first write
    stale_backup = staged_run(tmp_path, temp_dir_name("run", "old", pid, token="00000003"), 0)
    kept = {
        "user folder with the same name shape": temp_dir_name("run", "tmp", pid, token="00000004"),
        "live writer": temp_dir_name("run", "tmp", os.getpid(), token="00000005"),
        "writer on another host": temp_dir_name("run", "tmp", pid, host="0123abcd", token="00000006"),
        "another target's staging": temp_dir_name("other", "tmp", pid, token="00000007"),
    }
    (tmp_path / kept["user folder with the same name shape"]).mkdir()
    (tmp_path / kept["user folder with the same name shape"] / "thesis.tex").write_text("mine")
    for reason in ("live writer", "writer on another host", "another target's staging"):
        staged_run(tmp_path, kept[reason], 9)
    write_run(tmp_path / "run", {"countries": TABLE}, record(2))
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["run", *kept.values()])
    assert not stale.exists() and not killed_early.exists() and not stale_backup.exists()
    assert (tmp_path / kept["user folder with the same name shape"] / "thesis.tex").read_text() == "mine"


def test_a_backup_is_never_removed_while_nothing_is_at_the_target(tmp_path: Path) -> None:
    backup = staged_run(tmp_path, temp_dir_name("run", "old", dead_pid()), 1)
    write_run(tmp_path / "other", {"countries": TABLE}, record())
    with pytest.raises(BlocsimError, match="no run.json"):
        read_run(tmp_path / "run")
    write_run(tmp_path / "run", {"countries": TABLE}, record(2))  # target absent when the clean-up ran
    assert run_number(read_run(backup)[1]) == 1
