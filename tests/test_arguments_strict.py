"""Hostile and careless command lines end in one clear error line, never a traceback (issue 13, findings 9, 11).

Each test runs the real CLI in process (``CliRunner``): the exit code is 1, the message names the
argument or file and what is allowed, no exception other than ``SystemExit`` escapes, and
nothing is written.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from blocsim.cli.main import app
from blocsim.errors import DataValidationError

LIBRARY = Path(__file__).resolve().parents[1] / "src" / "blocsim" / "scenario" / "library"


def invoke(*args: str, home: Path) -> tuple[int, str]:
    """Run ``blocsim ARGS`` with the store under ``home``; (exit code, output on one line)."""
    result = CliRunner().invoke(app, list(args), env={"BLOCSIM_HOME": str(home), "COLUMNS": "80"})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, " ".join(result.output.split())


def test_unknown_loader_option_names_it_and_lists_the_valid_ones(tmp_path: Path, shared_data: Path) -> None:
    geo = str(shared_data / "cepii_geodist" / "geo_cepii.csv")
    code, text = invoke("data", "import", "cepii_geo", geo, "--name", "geo", "--option", "bogus=1", home=tmp_path)
    assert code == 1 and "error: loader option 'bogus': unknown for loader 'cepii_geo'; allowed: city" in text, text
    dist = str(shared_data / "cepii_geodist" / "dist_cepii.csv")
    code, text = invoke("data", "import", "cepii_dist", dist, "--name", "dist", "--option", "sep=;", home=tmp_path)
    assert code == 1 and "loader option 'sep': unknown for loader 'cepii_dist'; allowed: none" in text, text
    code, text = invoke("data", "list", "--json", home=tmp_path)
    assert code == 0 and '"origin": "store"' not in text  # nothing was imported


def test_unknown_loader_option_in_the_python_api(tmp_path: Path, shared_data: Path) -> None:
    from blocsim.data.store import Store

    with pytest.raises(DataValidationError, match="loader option 'cty': unknown for loader 'cepii_geo'; allowed: city"):
        Store(tmp_path).import_file("geo", shared_data / "cepii_geodist" / "geo_cepii.csv", loader="cepii_geo",
                                    options={"cty": "all"})


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 100_000 + "]" * 100_000,
        "a = " + "{ b = " * 5000 + "1" + " }" * 5000,
        "[" + ".".join(["a"] * 5000) + "]\nx = 1",
    ],
    ids=["arrays", "inline_tables", "dotted_keys"],
)
@pytest.mark.parametrize("command", ["run", "scenarios run", "ge"])
def test_deeply_nested_toml_is_a_clear_error(tmp_path: Path, text: str, command: str) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(text + "\n")
    out = tmp_path / "out"
    code, output = invoke(*command.split(), str(path), "--out", str(out), home=tmp_path / "home")
    assert code == 1 and f"{path}" in output and "levels deep; allowed: at most 16" in output, output
    assert "Traceback" not in output and not out.exists()


def test_too_many_draws_is_refused_before_the_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    started = time.perf_counter()
    code, text = invoke("run", "kazakhstan-leaves", "--out", str(out), "--draws", "1000000000", home=tmp_path)
    assert code == 1 and "argument 'draws': got 1000000000; allowed: an integer from 2 to 1,000,000" in text, text
    code, text = invoke("run", "kazakhstan-leaves", "--out", str(out), "--draws", "1000000", home=tmp_path)
    assert code == 1 and "GiB allowed. Fix: at most" in text, text
    assert time.perf_counter() - started < 30 and not out.exists()  # refused before solving, nothing written
    narrow = CliRunner().invoke(app, ["run", "kazakhstan-leaves", "--out", str(out), "--draws", "1"],
                                env={"BLOCSIM_HOME": str(tmp_path), "COLUMNS": "40"})
    assert narrow.exit_code == 1 and narrow.output.strip().count("\n") == 0, narrow.output  # one line, unwrapped


def test_seed_without_draws_is_an_error(tmp_path: Path) -> None:
    from blocsim.pipeline import run_scenario

    code, text = invoke("run", "kazakhstan-leaves", "--out", str(tmp_path / "o"), "--seed", "7", home=tmp_path)
    assert code == 1 and "--seed 7: the seed of the Monte Carlo draws needs --draws N" in text, text
    with pytest.raises(DataValidationError, match="argument 'seed': got 7 without 'draws'"):
        run_scenario("kazakhstan-leaves", seed=7)
    with pytest.raises(DataValidationError, match="argument 'seed': got -1; allowed: an integer >= 0"):
        run_scenario("kazakhstan-leaves", draws=2, seed=-1)


def test_square_brackets_in_texts_are_printed_not_parsed_as_markup(tmp_path: Path) -> None:
    """A scenario title or a path with "[/x]" used to crash Rich's markup parser (MarkupError)."""
    text = (LIBRARY / "kazakhstan-leaves.toml").read_text(encoding="utf-8")
    start = text.index("\ntitle = ") + 1
    end = text.index("\n", start)
    scenario = tmp_path / "brackets.toml"
    scenario.write_text(text[:start] + 'title = "Kazakhstan [/x] leaves [red]now[/red]"' + text[end:])
    code, output = invoke("run", str(scenario), "--out", str(tmp_path / "o"), home=tmp_path)
    assert code == 0 and "Kazakhstan [/x] leaves [red]now[/red]" in output, output
    missing = tmp_path / "[/x]" / "a.toml"
    code, output = invoke("run", str(missing), "--out", str(tmp_path / "p"), home=tmp_path)
    assert code == 1 and f"error: {missing}: scenario file not found" in output, output
