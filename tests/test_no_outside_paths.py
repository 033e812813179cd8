"""No file of the package, its docs or its outputs points at files outside the repository.

Publications are cited by author, title, date and URL; the original public data files are
named only as the recipes' ``--from DIR`` argument. A path into the folder beside the
repository (``../shared/...``, ``shared/data``, ``shared/seeds``) is a reference a reader
of the package cannot follow.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from blocsim.cli.main import app

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "blocsim"
OUTSIDE = re.compile(r"\.\./shared|shared/data|shared/seeds|shared\\data")
TEXT_SUFFIXES = {".py", ".toml", ".json", ".md", ".csv", ".html", ".js", ".css", ".txt", ".yml", ".yaml",
                 ".ipynb", ".cfg", ".ini"}


def text_files(*roots: Path) -> list[Path]:
    """Every text file under ``roots`` (files themselves for file roots), caches excluded."""
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
            continue
        found.extend(p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in TEXT_SUFFIXES
                     and "__pycache__" not in p.parts)
    return found


def hits(files: list[Path]) -> list[str]:
    """``file:line: text`` of every line that names a path outside the repository."""
    out = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                out.append(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}:{number}: "
                           f"{line.strip()[:160]}")
    return out


def test_the_scan_finds_an_outside_path(tmp_path: Path) -> None:
    planted = tmp_path / "note.md"
    planted.write_text("fine\nsee ../shared/seeds/000_x.txt\n", encoding="utf-8")
    assert hits([planted]) == [f"{planted}:2: see ../shared/seeds/000_x.txt"]


def test_package_docs_and_examples_name_no_file_outside_the_repository() -> None:
    roots = [PACKAGE, REPO / "docs", REPO / "examples", REPO / "README.md", REPO / "DATA.md", REPO / "pyproject.toml",
             REPO / "Makefile", REPO / "mkdocs.yml"]
    files = text_files(*[root for root in roots if root.exists()])
    assert len(files) > 100
    found = hits(files)
    assert not found, "references to files outside the repository (cite the publication instead):\n" + "\n".join(found)


@pytest.mark.parametrize("name", ["kazakhstan-leaves", "russia-food-ban-2014"])
def test_a_runs_outputs_name_no_file_outside_the_repository(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    result = CliRunner().invoke(app, ["scenarios", "run", name, "--out", str(out), "--report", "--json"])
    assert result.exit_code == 0, result.output
    files = text_files(out)
    assert {"run.json", "report.html", "countries.csv"} <= {p.name for p in files}
    found = hits(files)
    assert not found, "run outputs name files outside the repository:\n" + "\n".join(found)
