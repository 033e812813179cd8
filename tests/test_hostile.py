"""Hostile probes: replay the attack classes of issue 13 and count the outcomes.

Classes: ``paths`` (an include of a .toml outside blocsim, ``../`` and absolute paths, ``--out`` on a
folder holding user files, exports over user files), ``nesting`` (deeply nested TOML and JSON),
``non-finite`` (NaN, inf and 1e309 in CSV imports, in scenario numbers, theta = 1e-6), ``degenerate``
(PPML on one country, on all-zero trade, with no domestic flows; a ban on every origin),
``kill -9`` (the run replacement killed before and after each of its renames and deletions),
``web`` (oversize request bodies, a foreign Host header), ``oversize`` (``--draws 1000000000``),
``files`` (a non-UTF-8 CSV in a run folder) and ``arguments`` (an unknown ``--option``).

Every probe uses public entry points only: the CLI (``python -m blocsim`` in a subprocess), the
``blocsim`` Python API, and FastAPI's TestClient on ``blocsim.web.app.create_app``. A probe's outcome:

good  ``refused``  a clean refusal: a BlocsimError, a CLI exit 1 or 2 with a message and no
                   traceback, an HTTP 4xx;
      ``ran``      it ran, and the result passed its checks (converged means finite and consistent);
bad   ``traceback``    a traceback, a non-Blocsim exception, a crash (abort, signal) or an HTTP 5xx;
      ``silent_wrong`` a result reported as converged that is non-finite or breaks an identity;
      ``accepted``     a hostile input the issue says must be refused was taken (a file outside
                       blocsim read, an oversize body stored, a foreign Host served);
      ``files_lost``   a file blocsim did not write was deleted or changed;
      ``run_lost``     after kill -9 the run directory holds no complete run (old or new);
      ``debris``       temporary files of a killed run are left after the next run.

Each probe also plants user files beside its work and fails as ``files_lost`` if any changes.
How outcomes are judged: tests/hostile/judging.py.

    PYTHONPATH=src python -m pytest tests/test_hostile.py   # one test per probe, tally at the end
    PYTHONPATH=src python tests/test_hostile.py             # print every outcome and the tally; exit 1 if bad
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
import pytest

import blocsim
from blocsim.errors import BlocsimError
from hostile.judging import (BAD, GOOD, Outcome, changed_files, check_scenario_result, cli, crashed, env_for,
                             judge_call, judge_cli, judge_http, nonfinite_pct, snapshot, tally_lines, wait_for_job,
                             web_client)

FIXTURES = Path(__file__).resolve().parent / "data" / "loaders"
SECRET = "TOP-SECRET-7f3a9c"
QUICK_SCENARIO = "russia-recession-2014-15"
PROBES: dict[str, tuple[str, Callable[[Path], Outcome]]] = {}


def probe(klass: str) -> Callable[[Callable[[Path], Outcome]], Callable[[Path], Outcome]]:
    """Register ``probe_NAME(root) -> Outcome`` under ``NAME`` in class ``klass``."""

    def register(function: Callable[[Path], Outcome]) -> Callable[[Path], Outcome]:
        PROBES[function.__name__.removeprefix("probe_")] = (klass, function)
        return function

    return register


def scenario_toml(*, include: str = '"eaeu", "cis_fta"', model: str = "", measures: str = "") -> str:
    """A small valid scenario (an NTM on China -> Kazakhstan), with optional includes, model and measures."""
    return f"""[scenario]
name = "probe"
title = "hostile probe"
event = "none"
sources = ["probe"]

[data]
dataset = "eaeu-2016v1"
year = 2016

[policy]
include = [{include}]
{model}
[before]
date = 2016-06-01

[after]
date = 2016-06-02

[[after.measures]]
kind = "ntm"
importer = "KAZ"
exporters = ["CHN"]
ave = 0.05
{measures}"""


def secret_toml(root: Path) -> Path:
    """A .toml outside blocsim whose content must never be read or shown."""
    path = root / "private" / "settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[project]\nname = "{SECRET}"\nversion = "1"\n')
    return path


# --- paths ------------------------------------------------------------------------------------

@probe("paths")
def probe_cli_include_absolute_outside_toml(root: Path) -> Outcome:
    scenario = root / "work" / "scen.toml"  # the secret is outside the scenario's folder, the one allowed
    scenario.parent.mkdir()
    scenario.write_text(scenario_toml(include=f'"eaeu", "cis_fta", "{secret_toml(root)}"'))
    return judge_cli(cli(root, "run", str(scenario), "--out", str(root / "out")), must_refuse=True, secret=SECRET)


@probe("paths")
def probe_cli_include_dotdot_outside_toml(root: Path) -> Outcome:
    secret_toml(root)
    scenario = root / "work" / "scen.toml"
    scenario.parent.mkdir()
    scenario.write_text(scenario_toml(include='"eaeu", "cis_fta", "../private/settings.toml"'))
    return judge_cli(cli(scenario.parent, "run", "scen.toml", "--out", str(root / "out")), must_refuse=True,
                     secret=SECRET)


@probe("paths")
def probe_web_include_absolute_outside_toml(root: Path) -> Outcome:
    """The browser may name no file: refused up front, and an existing and a missing file look alike."""
    with web_client(root) as client:
        answers = {}
        existing = secret_toml(root)  # and a missing file, its path as long
        for label, path in (("existing", str(existing)), ("missing", str(existing.with_name("settingx.toml")))):
            response = client.post("/api/runs", json={"toml": scenario_toml(include=f'"eaeu", "cis_fta", "{path}"')})
            if response.status_code == 202:
                status = wait_for_job(client, response.json()["id"])
                leaked = SECRET in json.dumps(status)
                return Outcome("accepted", f"{label} include queued as a job ({status['state']}"
                                           f"{', its error shows the file' if leaked else ''})")
            outcome = judge_http(response, must_refuse=True, secret=SECRET)
            if outcome.verdict != "refused":
                return outcome
            answers[label] = response.json()["detail"].replace(path, "PATH")
    if answers["existing"] != answers["missing"]:
        return Outcome("accepted", f"the answers tell an existing file from a missing one: {answers}")
    return Outcome("refused", answers["existing"][:200])


@probe("paths")
def probe_web_include_dotdot(root: Path) -> Outcome:
    with web_client(root) as client:
        response = client.post("/api/scenarios/validate",
                               json={"toml": scenario_toml(include='"eaeu", "../../../../etc/blocsim.toml"')})
    return judge_http(response, must_refuse=True, secret=SECRET)


@probe("paths")
def probe_out_on_a_project_folder_with_a_run_json(root: Path) -> Outcome:
    """A user's folder that happens to hold a ``run.json`` is not a run directory to replace."""
    project = root / "project"
    (project / "src").mkdir(parents=True)
    (project / "run.json").write_text('{"task": "my own run.json"}\n')
    (project / "thesis.tex").write_text("\\documentclass{article}\n")
    (project / "src" / "main.py").write_text("print('mine')\n")
    before = snapshot(project)
    outcome = judge_cli(cli(root, "scenarios", "run", QUICK_SCENARIO, "--out", str(project)), must_refuse=True)
    lost = changed_files(before, project)
    return Outcome("files_lost", f"deleted or changed: {lost}") if lost else outcome


@probe("paths")
def probe_out_replacing_a_run_keeps_user_files_inside(root: Path) -> Outcome:
    run_dir = root / "runs" / "mine"
    first = cli(root, "scenarios", "run", QUICK_SCENARIO, "--out", str(run_dir))
    if first.returncode != 0:
        return judge_cli(first, must_refuse=False)
    (run_dir / "my_notes.txt").write_text("notes I saved inside the run folder\n")
    outcome = judge_cli(cli(root, "scenarios", "run", QUICK_SCENARIO, "--out", str(run_dir)), must_refuse=False)
    if not (run_dir / "my_notes.txt").is_file():
        return Outcome("files_lost", "my_notes.txt, saved inside the run folder, was deleted by the re-run")
    return outcome


@probe("paths")
def probe_data_export_over_user_files(root: Path) -> Outcome:
    folder = root / "export"
    folder.mkdir()
    for name in ("flows.csv", "tariffs.csv", "meta.json"):
        (folder / name).write_text(f"my own {name}\n")
    before = snapshot(folder)
    outcome = judge_cli(cli(root, "data", "export", "eaeu", "--out", str(folder)), must_refuse=False)
    lost = changed_files(before, folder)
    return Outcome("files_lost", f"overwritten: {lost}") if lost else outcome


@probe("paths")
def probe_out_is_a_user_file(root: Path) -> Outcome:
    target = root / "thesis.pdf"
    target.write_bytes(b"%PDF-1.4 mine")
    outcome = judge_cli(cli(root, "scenarios", "run", QUICK_SCENARIO, "--out", str(target)), must_refuse=True)
    return outcome if target.read_bytes() == b"%PDF-1.4 mine" else Outcome("files_lost", "thesis.pdf replaced")


@probe("files")
def probe_report_on_a_non_utf8_csv(root: Path) -> Outcome:
    run_dir = root / "run"
    first = cli(root, "scenarios", "run", QUICK_SCENARIO, "--out", str(run_dir))
    if first.returncode != 0:
        return judge_cli(first, must_refuse=False)
    (run_dir / "countries.csv").write_bytes("country,welfare_pct\nC\xf4te,1\n".encode("latin-1"))
    return judge_cli(cli(root, "report", str(run_dir)), must_refuse=True)


# --- nesting ----------------------------------------------------------------------------------

DEPTH = 30_000


@probe("nesting")
def probe_cli_run_deeply_nested_toml(root: Path) -> Outcome:
    path = root / "deep.toml"
    path.write_text(scenario_toml() + "\n[scenario_extra]\nx = " + "[" * DEPTH + "]" * DEPTH + "\n")
    return judge_cli(cli(root, "run", str(path), "--out", str(root / "out")), must_refuse=True)


@probe("nesting")
def probe_cli_ge_deeply_nested_config(root: Path) -> Outcome:
    path = root / "deep_ge.toml"
    path.write_text("[ge]\nsigma = " + "[" * DEPTH + "]" * DEPTH + "\n")
    return judge_cli(cli(root, "ge", str(path), "--out", str(root / "out")), must_refuse=True)


@probe("nesting")
def probe_web_validate_deeply_nested_toml(root: Path) -> Outcome:
    depth = 40_000  # under the 100,000-character cap of the toml field
    with web_client(root) as client:
        response = client.post("/api/scenarios/validate", json={"toml": "x = " + "[" * depth + "]" * depth})
    return judge_http(response, must_refuse=True)


@probe("nesting")
def probe_web_run_deeply_nested_json_document(root: Path) -> Outcome:
    body = '{"document": ' + '{"a": ' * DEPTH + "1" + "}" * DEPTH + "}"
    with web_client(root) as client:
        response = client.post("/api/runs", content=body, headers={"content-type": "application/json"})
    return judge_http(response, must_refuse=True)


# --- non-finite -------------------------------------------------------------------------------

def _baci_import(root: Path, value: str, engine: str) -> Outcome:
    """A BACI file whose first trade value is ``value``: both engines must refuse it alike."""
    text = (FIXTURES / "BACI_HS12_Y2012_V202401.csv").read_text().replace("1234.567", value, 1)
    (root / "BACI_HS12_Y2012_V202401.csv").write_text(text)
    (root / "country_codes_V202401.csv").write_text((FIXTURES / "country_codes_V202401.csv").read_text())
    result = cli(root, "data", "import", "baci", "BACI_HS12_Y2012_V202401.csv", "--name", "probe",
                 "--option", f"engine={engine}")
    return judge_cli(result, must_refuse=True)


for _value in ("nan", "inf", "-inf", "1e309"):
    for _engine in ("pandas", "duckdb"):
        def _probe(root: Path, value: str = _value, engine: str = _engine) -> Outcome:
            return _baci_import(root, value, engine)

        _probe.__name__ = f"probe_baci_import_{_value.replace('-', 'minus_')}_{_engine}"
        probe("non-finite")(_probe)


@probe("non-finite")
def probe_itpd_import_inf(root: Path) -> Outcome:
    text = (FIXTURES / "ITPD_E_R02_sample.csv").read_text().replace("2100.5", "inf", 1)
    (root / "itpd.csv").write_text(text)
    return judge_cli(cli(root, "data", "import", "itpd", "itpd.csv", "--name", "probe"), must_refuse=True)


def _run_toml(text: str) -> Outcome:
    from blocsim import parse_scenario, run_scenario

    return judge_call(lambda: run_scenario(parse_scenario(text, source="probe.toml")), check_scenario_result)


@probe("non-finite")
def probe_theta_1e_minus_6(root: Path) -> Outcome:
    """kazakhstan-leaves with every trade elasticity at 1e-6 (its TOML as the dashboard serves it)."""
    with web_client(root) as client:
        text = client.get("/api/scenarios/kazakhstan-leaves").json()["toml"]
    named = 'theta = "caliendo_parro_2015_icio"'
    if named not in text:
        return Outcome("traceback", f"the probe expects kazakhstan-leaves with {named} in [model]; update the probe")
    from blocsim.data import get_elasticities

    theta = "{ " + ", ".join(f"{sector} = 1e-6" for sector in get_elasticities("caliendo_parro_2015_icio")) + " }"
    return _run_toml(text.replace(named, f"theta = {theta}"))


@probe("non-finite")
def probe_tariff_rate_inf(root: Path) -> Outcome:
    measure = ('\n[[after.measures]]\nkind = "tariff"\nimporter = "KAZ"\nexporters = ["CHN"]\n'
               'sectors = ["manufacturing"]\nrate = inf\n')
    return _run_toml(scenario_toml(measures=measure))


@probe("non-finite")
def probe_ntm_ave_nan(root: Path) -> Outcome:
    return _run_toml(scenario_toml(measures='\n[[after.measures]]\nkind = "ntm"\nimporter = "RUS"\nave = nan\n'))


@probe("non-finite")
def probe_multisector_flow_inf(root: Path) -> Outcome:
    flows = _flows_2016()
    flows.loc[0, "trade"] = np.inf
    return judge_call(lambda: blocsim.solve_multisector(flows, theta=4.0), lambda r: Outcome("accepted", "ran on inf"))


@probe("oversize")
def probe_draws_one_billion(root: Path) -> Outcome:
    """A huge --draws must be refused up front (run under a 4 GB address-space limit to protect the host)."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    try:
        result = cli(root, "run", QUICK_SCENARIO, "--out", str(root / "out"), "--json", "--draws", "1000000000",
                     timeout=120, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        return Outcome("accepted", "still running after 120 s: 1e9 draws were not refused")
    return judge_cli(result, must_refuse=True)


@probe("arguments")
def probe_import_option_unknown(root: Path) -> Outcome:
    (root / "itpd.csv").write_text((FIXTURES / "ITPD_E_R02_sample.csv").read_text())
    return judge_cli(cli(root, "data", "import", "itpd", "itpd.csv", "--name", "probe", "--option", "bogus=1"),
                     must_refuse=True)


# --- degenerate data --------------------------------------------------------------------------

def _flows_2016() -> pd.DataFrame:
    flows = blocsim.load_dataset("eaeu-2016v1").flows  # the old 18x4 tables: the probes need no more
    return flows.loc[flows["year"] == 2016, ["exporter", "importer", "sector", "trade"]].reset_index(drop=True)


def _gravity_2016(root: Path) -> Path:
    """Total 2016 flows of eaeu-2016v1 with ln distance, contiguity and the international border."""
    data = blocsim.load_dataset("eaeu-2016v1")
    flows = data.flows[data.flows["year"] == 2016].groupby(["exporter", "importer"], as_index=False)["trade"].sum()
    gravity = data.gravity[data.gravity["year"] == 2016][["exporter", "importer", "dist", "contig", "international"]]
    frame = flows.merge(gravity, on=["exporter", "importer"])
    frame["ln_dist"] = np.log(frame["dist"])
    path = root / "gravity.csv"
    frame.to_csv(path, index=False)
    return path


PPML_DRIVER = """
import json, sys
import numpy as np, pandas as pd
import blocsim
from blocsim.errors import BlocsimError
frame = pd.read_csv(sys.argv[1])
try:
    res = blocsim.estimate_gravity(frame, covariates=json.loads(sys.argv[2]))
except BlocsimError as error:
    print(json.dumps({"error": type(error).__name__ + ": " + str(error).splitlines()[0]}))
else:
    values = np.r_[res.coefficients.to_numpy(float), res.std_errors.to_numpy(float)]
    print(json.dumps({"converged": bool(res.converged), "finite": bool(np.isfinite(values).all()),
                      "coefficients": {k: float(v) for k, v in res.coefficients.items()}}))
"""


def _ppml(root: Path, frame: pd.DataFrame, covariates: list[str], *, identified: bool) -> Outcome:
    """estimate_gravity in a subprocess (a Rust panic aborts the process); ``identified=False`` means a
    converged estimate is wrong whatever its value."""
    frame.to_csv(root / "ppml.csv", index=False)
    result = subprocess.run([sys.executable, "-c", PPML_DRIVER, str(root / "ppml.csv"), json.dumps(covariates)],
                            cwd=root, env=env_for(root), capture_output=True, text=True, timeout=300)
    if crashed(result.returncode, result.stdout + result.stderr) or result.returncode != 0:
        return Outcome("traceback", f"exit {result.returncode}: {(result.stdout + result.stderr).strip()[-300:]}")
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    if "error" in answer:
        return Outcome("refused", answer["error"][:200])
    if answer["converged"] and (not identified or not answer["finite"]):
        return Outcome("silent_wrong", f"converged=True with {answer['coefficients']}")
    return Outcome("ran", f"converged={answer['converged']}, {answer['coefficients']}")


@probe("degenerate")
def probe_ppml_one_country(root: Path) -> Outcome:
    frame = pd.read_csv(_gravity_2016(root))
    return _ppml(root, frame[(frame["exporter"] == "RUS") & (frame["importer"] == "RUS")], ["ln_dist"],
                 identified=False)


@probe("degenerate")
def probe_ppml_all_zero_trade(root: Path) -> Outcome:
    frame = pd.read_csv(_gravity_2016(root)).assign(trade=0.0)
    return _ppml(root, frame, ["ln_dist", "contig"], identified=False)


@probe("degenerate")
def probe_ppml_no_domestic_flows(root: Path) -> Outcome:
    """All domestic flows zero: the border effect is not identified (separation by the covariate)."""
    frame = pd.read_csv(_gravity_2016(root))
    frame.loc[frame["exporter"] == frame["importer"], "trade"] = 0.0
    return _ppml(root, frame, ["ln_dist", "contig", "international"], identified=False)


@probe("degenerate")
def probe_ppml_flow_1e308(root: Path) -> Outcome:
    frame = pd.read_csv(_gravity_2016(root))
    frame.loc[0, "trade"] = 1e308
    return _ppml(root, frame, ["ln_dist", "contig", "international"], identified=True)


@probe("degenerate")
def probe_ban_on_every_origin(root: Path) -> Outcome:
    """Kazakhstan bans all imports of goods: a failed conditional solve must not be reported as converged."""
    data = blocsim.load_dataset("eaeu-2016v1")
    origins = ", ".join(f'"{c}"' for c in data.countries["iso3"] if c != "KAZ")
    measure = (f'\n[[after.measures]]\nkind = "ban"\nimporter = "KAZ"\norigins = [{origins}]\n'
               f'sectors = ["agri_food", "mining_energy", "manufacturing"]\n')
    return _run_toml(scenario_toml(measures=measure))


@probe("degenerate")
def probe_multisector_one_country(root: Path) -> Outcome:
    flows = _flows_2016()
    flows = flows[(flows["exporter"] == "RUS") & (flows["importer"] == "RUS")]

    def check(result: Any) -> Outcome:
        bad = nonfinite_pct(result.countries) if result.diagnostics["converged"] else []
        return Outcome("silent_wrong", f"converged=True with non-finite {bad}") if bad else Outcome(
            "ran", f"converged={result.diagnostics['converged']}, percent changes finite (0/0 where no trade)")

    return judge_call(lambda: blocsim.solve_multisector(flows, theta=4.0), check)


# --- kill -9 during a run replacement ---------------------------------------------------------

KILL_DRIVER = """
import os, runpy, shutil, signal, sys
step, when, scope = int(sys.argv[1]), sys.argv[2], sys.argv[3]
calls = [0]
def wrap(function):
    def inner(*args, **kwargs):
        mine = any(str(a).startswith(scope) for a in args)
        if mine:
            calls[0] += 1
        if mine and calls[0] == step and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        out = function(*args, **kwargs)
        if mine and calls[0] == step and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    return inner
os.rename, os.replace, shutil.rmtree = wrap(os.rename), wrap(os.replace), wrap(shutil.rmtree)
sys.argv = ["blocsim", *sys.argv[4:]]
runpy.run_module("blocsim", run_name="__main__", alter_sys=True)
"""
KILL_POINTS = [(step, when) for step in range(1, 7) for when in ("before", "after")]


def _kill_probe(root: Path, step: int, when: str) -> Outcome:
    """Replace a run (with its report) and SIGKILL the CLI just before/after its ``step``-th rename or delete
    under ``runs/``; the folder must still hold a complete run, and the next run must clean up."""
    from blocsim.results import read_run

    runs = root / "runs"
    run_dir = runs / "recession"
    (runs / "my_notes.txt").parent.mkdir(parents=True)
    (runs / "my_notes.txt").write_text("mine\n")
    args = ["scenarios", "run", QUICK_SCENARIO, "--out", str(run_dir), "--report"]
    first = cli(root, *args)
    if first.returncode != 0:
        return judge_cli(first, must_refuse=False)
    killed = subprocess.run([sys.executable, "-c", KILL_DRIVER, str(step), when, str(runs), *args], cwd=root,
                            env=env_for(root), capture_output=True, text=True, timeout=300)
    if killed.returncode != -9:
        verdict = judge_cli(killed, must_refuse=False)
        return Outcome(verdict.verdict, f"rename/delete {step} not reached ({verdict.detail})")
    try:
        tables, meta = read_run(run_dir)
        complete = {"countries", "flows"} <= set(tables) and meta["scenario"]["name"] == QUICK_SCENARIO
    except (BlocsimError, OSError) as error:
        complete, why = False, f"{type(error).__name__}: {str(error)[:150]}"
    else:
        why = "tables missing"
    if not complete:
        return Outcome("run_lost", f"killed {when} rename/delete {step}: no complete run at --out ({why})")
    again = cli(root, *args)
    if again.returncode != 0:
        return judge_cli(again, must_refuse=False)
    if not (runs / "my_notes.txt").is_file():
        return Outcome("files_lost", "my_notes.txt beside the run folder was deleted")
    debris = sorted(p.name for p in runs.iterdir() if p.name not in ("recession", "my_notes.txt"))
    debris += sorted(p.name for p in run_dir.iterdir() if ".tmp" in p.name)
    if debris:
        return Outcome("debris", f"killed {when} rename/delete {step}; left after the next run: {debris}")
    return Outcome("ran", f"killed {when} rename/delete {step}: run complete, next run clean")


for _step, _when in KILL_POINTS:
    def _probe(root: Path, step: int = _step, when: str = _when) -> Outcome:
        return _kill_probe(root, step, when)

    _probe.__name__ = f"probe_kill_9_{_when}_rename_or_delete_{_step}"
    probe("kill -9")(_probe)


# --- web: oversize bodies, foreign Host -------------------------------------------------------

@probe("web")
def probe_web_run_with_a_20_mb_description(root: Path) -> Outcome:
    with web_client(root) as client:
        document = client.get(f"/api/scenarios/{QUICK_SCENARIO}").json()["document"]
        document["scenario"]["description"] = "x" * (20 << 20)
        response = client.post("/api/runs", json={"document": document})
    return judge_http(response, must_refuse=True)


@probe("web")
def probe_web_validate_a_5_mb_toml(root: Path) -> Outcome:
    with web_client(root) as client:
        response = client.post("/api/scenarios/validate", json={"toml": "# " + "x" * (5 << 20)})
    return judge_http(response, must_refuse=True)


@probe("web")
def probe_web_foreign_host_header(root: Path) -> Outcome:
    """DNS rebinding: a page on attacker.example resolving to 127.0.0.1 sends ``Host: attacker.example``."""
    with web_client(root) as client:
        response = client.get("/api/scenarios", headers={"host": "attacker.example"})
    return judge_http(response, must_refuse=True)


# --- user files beside every probe, the tally -------------------------------------------------

def run_probe(name: str) -> Outcome:
    """Run probe ``name`` in a fresh temporary folder (short paths: the same verdict under pytest and as a
    script) beside planted user files; any change to those is ``files_lost``."""
    with tempfile.TemporaryDirectory(prefix="blocsim-hostile-") as folder:
        return _run_probe_in(name, Path(folder))


def _run_probe_in(name: str, root: Path) -> Outcome:
    user = root / "user_files"
    (user / "src").mkdir(parents=True)
    (user / "thesis.tex").write_text("\\section{Results}\n")
    (user / "src" / "model.py").write_text("x = 1\n")
    (user / "run.json").write_text("{}\n")
    before = snapshot(user)
    outcome = PROBES[name][1](root)
    lost = changed_files(before, user)
    return Outcome("files_lost", f"user files changed: {lost}") if lost else outcome


RESULTS: dict[str, Outcome] = {}
CLASSES = {name: klass for name, (klass, _) in PROBES.items()}


@pytest.fixture(scope="module", autouse=True)
def print_tally(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the probes of this process, write the tally to the terminal (past output capturing)."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not RESULTS:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in tally_lines(RESULTS, CLASSES):
            reporter.write_line(line)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PROBES))
def test_hostile_probe(name: str) -> None:
    outcome = run_probe(name)
    RESULTS[name] = outcome
    assert outcome.verdict in GOOD, f"[{PROBES[name][0]}] {name}: {outcome.verdict}: {outcome.detail}"


def main() -> int:
    results = {}
    for name, (klass, _) in PROBES.items():
        results[name] = run_probe(name)
        print(f"{results[name].verdict:>12}  [{klass}] {name}: {results[name].detail}", flush=True)
    print("\n".join(tally_lines(results, CLASSES)))
    return 1 if any(o.verdict in BAD for o in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
