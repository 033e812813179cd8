"""Sources are cited as publications, never as files of the data folder the recipes read.

No file of the package or its docs (nor a run's outputs) names ``../shared`` or a
``PROVENANCE.md``; the v2 dataset's ``meta.json`` cites every input by author or organisation,
title, date and URL.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from blocsim.data.eaeu_v2 import TABLES_DIR
from blocsim.data.eaeu_v2.sources import CITATIONS, FILES

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = re.compile(r"\.\./shared|PROVENANCE\.md")
SUFFIXES = {".py", ".toml", ".json", ".md", ".csv", ".html", ".js", ".css", ".txt", ".yml", ".yaml", ".ipynb",
            ".j2", ".cfg"}


def mentions(root: Path) -> list[str]:
    """``path:line`` of every line under ``root`` (text files) that names ``../shared`` or ``PROVENANCE.md``."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES
                       and "__pycache__" not in p.parts):
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if FORBIDDEN.search(line):
                found.append(f"{path}:{number}: {line.strip()[:120]}")
    return found


def test_the_scan_catches_both_kinds_of_reference(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("see ../shared/data/x.csv\nfine\n", encoding="utf-8")
    (tmp_path / "b.json").write_text('{"provenance": "wdi/PROVENANCE.md"}\n', encoding="utf-8")
    assert [line.split(":")[1] for line in mentions(tmp_path)] == ["1", "1"]


@pytest.mark.parametrize("folder", ["src/blocsim", "docs"])
def test_no_file_of_the_package_or_docs_names_the_shared_folder_or_a_provenance_file(folder: str) -> None:
    root = REPO / folder
    assert sum(1 for _ in root.rglob("*.py")) + sum(1 for _ in root.rglob("*.md")) > 5
    found = mentions(root)
    assert not found, "cite the publication instead:\n" + "\n".join(found)


def test_v2_meta_cites_every_input_by_author_title_date_and_url() -> None:
    meta = json.loads((TABLES_DIR / "meta.json").read_text(encoding="utf-8"))
    assert [source["role"] for source in meta["sources"]] == list(FILES)
    for source in meta["sources"]:
        citation = source["citation"]
        assert citation == CITATIONS[source["role"]]
        for field in ("author", "title", "date", "url"):
            assert isinstance(citation.get(field), str) and len(citation[field]) >= 4, (source["role"], field)
        assert citation["url"].startswith(("https://", "http://")), source
        assert "provenance" not in source


def test_a_runs_outputs_name_no_provenance_file(tmp_path: Path) -> None:
    from blocsim import run_scenario
    from blocsim.report import write_report

    run_scenario("armenia-kyrgyzstan-join-2015", tmp_path / "run")
    write_report(tmp_path / "run")
    assert (tmp_path / "run" / "report.html").is_file()
    assert not mentions(tmp_path / "run")
