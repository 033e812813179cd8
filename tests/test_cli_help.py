"""Every CLI command and option documents itself (datasette's test_docs idea)."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from blocsim.cli.main import app


def _walk(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """All (path, command) pairs below ``command`` (typer may bundle its own click, so duck-type)."""
    found = [(path, command)]
    if hasattr(command, "commands"):
        for name, sub in sorted(command.commands.items()):
            found.extend(_walk(sub, (*path, name)))
    return found


COMMANDS = _walk(typer.main.get_command(app))


def test_cli_has_the_documented_command_groups() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    for expected in (
        "ge", "run", "report", "serve",
        "scenarios list", "scenarios show", "scenarios run",
        "data list", "data import", "data show", "data export", "data build-eaeu",
    ):
        assert expected in names, f"`blocsim {expected}` is missing; have {sorted(names)}"


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) or "blocsim" for p, _ in COMMANDS])
def test_every_command_and_option_has_help(path: tuple[str, ...], command: Any) -> None:
    assert (command.help or command.short_help), f"`blocsim {' '.join(path)}` has no help text"
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option" and param.name not in {"help"}:
            assert param.help, f"option {param.opts} of `blocsim {' '.join(path)}` has no help text"


def test_version_flag() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("blocsim ")
