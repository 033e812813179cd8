"""Run directories: atomic writes, provenance, and never deleting what is not a run."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from blocsim.cli.main import app
from blocsim.errors import BlocsimError
from blocsim.results import read_run, write_run

TABLE = pd.DataFrame({"country": ["KAZ", "RUS"], "welfare_pct": [0.1, -0.2]})


def test_write_and_read_back_with_provenance(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", {"countries": TABLE}, {"scenario": {"name": "x"}})
    tables, meta = read_run(run)
    pd.testing.assert_frame_equal(tables["countries"], TABLE)
    assert meta["package"] == "blocsim" and meta["version"] and meta["created_utc"]
    assert meta["files"] == ["countries.csv", "run.json"]


def test_run_directory_gets_normal_permissions(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", {"countries": TABLE}, {})
    mode = stat.S_IMODE(run.stat().st_mode)
    assert mode & stat.S_IRGRP, f"run directory is {oct(mode)}: mkdtemp's 0o700 leaked through"


def test_a_previous_run_is_replaced(tmp_path: Path) -> None:
    first = write_run(tmp_path / "run", {"countries": TABLE}, {"n": 1})
    write_run(first, {"countries": TABLE.assign(welfare_pct=1.0)}, {"n": 2})
    tables, meta = read_run(first)
    assert meta["n"] == 2 and tables["countries"]["welfare_pct"].eq(1.0).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"], "backup or staging folders left behind"


def test_a_folder_that_is_not_a_run_is_refused_and_left_untouched(tmp_path: Path) -> None:
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.txt").write_text("years of work")
    with pytest.raises(BlocsimError, match="not a blocsim run directory"):
        write_run(precious, {"countries": TABLE}, {})
    assert (precious / "chapter1.txt").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]


def test_a_file_target_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    with pytest.raises(BlocsimError, match="is a file"):
        write_run(target, {"countries": TABLE}, {})
    assert target.read_text() == "keep me"


def test_a_failure_mid_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_run(tmp_path / "run", {"countries": TABLE}, {"bad": object()})
    assert list(tmp_path.iterdir()) == []


def test_corrupt_run_json_is_a_clear_error(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", {"countries": TABLE}, {})
    (run / "run.json").write_text("{not json")
    with pytest.raises(BlocsimError, match="run.json: cannot be read as JSON"):
        read_run(run)


def test_uncreatable_out_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")  # a parent that is a file fails for every user, root included
    with pytest.raises(BlocsimError, match="cannot create the run directory"):
        write_run(blocker / "run", {"countries": TABLE}, {})


def test_cli_refuses_to_overwrite_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    result = CliRunner().invoke(app, ["scenarios", "run", "kazakhstan-leaves", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "not a blocsim run directory" in result.output
    assert (tmp_path / "keep.txt").read_text() == "x"


def test_cli_report_on_a_corrupt_run_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", {"countries": TABLE}, {})
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
