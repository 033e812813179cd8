"""The documentation builds and runs: the strict MkDocs build (API reference from the docstrings),
the tutorial notebook executed top to bottom, every scenario example of docs/scenarios.md, and the
glossary's terms."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

import blocsim
from blocsim.data import load_dataset
from blocsim.policy import check_rules
from blocsim.scenario import build_states, parse_scenario

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def load_hook():
    spec = importlib.util.spec_from_file_location("api_pages", DOCS / "hooks" / "api_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- MkDocs --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Run ``mkdocs build --strict`` once; (site folder, the build's output)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(blocsim.__file__).parents[1]),
                                                        os.environ.get("PYTHONPATH", "")]),
           "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    return out, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def test_docs_build_with_strict_and_no_warning(site) -> None:
    out, log = site
    assert log.startswith("exit 0"), log
    assert "WARNING" not in log, log


def test_api_reference_renders_every_public_name_from_the_docstrings(site) -> None:
    out, log = site
    assert log.startswith("exit 0"), log
    hook = load_hook()
    for package in hook.PACKAGES:
        page = (out / "api" / package / "index.html").read_text(encoding="utf-8")
        for name in (n for n in importlib.import_module(package).__all__ if not n.startswith("_")):
            assert f"{name}" in page, f"{package}.{name} missing from the API reference"
    scenario_page = (out / "api" / "blocsim.scenario" / "index.html").read_text(encoding="utf-8")
    assert "A commented scenario file named" in scenario_page  # scenario_template's docstring


def test_the_store_entry_documents_every_public_method_of_its_parts(site) -> None:
    """``Store`` gets its runs and jobs methods from its parts (``StoreRuns``, ``StoreJobs``); its
    API entry must still document each of them, as when they were written in one class."""
    out, log = site
    assert log.startswith("exit 0"), log
    page = (out / "api" / "blocsim.data" / "index.html").read_text(encoding="utf-8")
    store = blocsim.data.Store
    methods = [n for n in dir(store) if not n.startswith("_") and callable(getattr(store, n))]
    assert {"add_run", "delete_run", "save_job", "interrupt_jobs", "import_file"} <= set(methods)
    missing = [n for n in methods if f'id="blocsim.data.store.Store.{n}"' not in page]
    assert not missing, f"Store methods missing from the API reference: {missing}"

def test_every_public_package_has_an_api_page() -> None:
    hook = load_hook()
    packages = {"blocsim"} | {f"blocsim.{p.name}" for p in (REPO / "src" / "blocsim").iterdir()
                              if (p / "__init__.py").is_file() and p.name != "cli"}
    with_public_names = {p for p in packages if getattr(importlib.import_module(p), "__all__", None)}
    assert with_public_names == set(hook.PACKAGES)


# ---- the tutorial notebook -----------------------------------------------------------------------

def test_tutorial_notebook_executes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = nbformat.read(DOCS / "tutorial.ipynb", as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        "commit the notebook without outputs"
    )
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebook writes into tempfile.mkdtemp()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(blocsim.__file__).parents[1]),
                                                      os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
                     for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs)
    assert "rule violations: []" in text
    assert "EAEU CET exemption: KAZ applies 6.1 % on C29" in text
    assert "'README', 'countries'" in text  # the workbook's sheets
    written = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert {"kazakhstan-wto.xlsx", "countries.dta", "run.json"} <= written


# ---- docs/scenarios.md examples ------------------------------------------------------------------

HEAD = """\
[scenario]
name = "docs-example"
title = "an example of docs/scenarios.md"
event = "none"
sources = ["docs/scenarios.md"]

[data]
dataset = "eaeu"
year = 2016

[before]
date = 2016-06-01

"""


def scenario_examples() -> list[str]:
    text = (DOCS / "scenarios.md").read_text(encoding="utf-8")
    section = text.split("## Writing a scenario: every change and measure with an example", 1)[1]
    return re.findall(r"```toml\n(.*?)```", section, flags=re.DOTALL)


def test_the_examples_cover_every_measure_kind() -> None:
    from blocsim.scenario.schema import MEASURE_KINDS

    examples = "\n".join(scenario_examples())
    for kind in MEASURE_KINDS:
        assert f'kind = "{kind}"' in examples
    for change in ("leave =", "join =", "duty_pool =", "preferences =", "[[after.exemptions]]"):
        assert change in examples


@pytest.mark.parametrize("example", scenario_examples(), ids=lambda text: text.strip().splitlines()[-1][:40])
def test_every_scenario_example_loads_and_builds(example: str) -> None:
    if example.lstrip().startswith("[policy]"):  # [policy] comes before [before] in a file
        policy, rest = example.split("[after]", 1)
        text = HEAD.replace("[before]", policy + "\n[before]") + "[after]" + rest
    else:
        text = HEAD + example
    scenario = parse_scenario(text, source="scenarios.md example")
    _, after, _ = build_states(scenario, load_dataset("eaeu"))
    violations = check_rules(after)
    assert not violations or scenario.policy.allow_rule_violations, violations


# ---- glossary and limits -------------------------------------------------------------------------

@pytest.mark.parametrize("term", ["Welfare", "Real GDP", "Real wage", "Inward multilateral resistance",
                                  "Outward multilateral resistance", "Conditional general equilibrium",
                                  "pool transfer", "AVE", "CET", "Trade creation and trade diversion",
                                  "Closure", "Numeraire"])
def test_the_glossary_defines(term: str) -> None:
    assert f"**{term}" in (DOCS / "glossary.md").read_text(encoding="utf-8")
