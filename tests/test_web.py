"""The dashboard's JSON API and pages (FastAPI TestClient, real scenario runs, real store).

Reference: results served by the API equal a direct :func:`blocsim.run_scenario` of the
same scenario; twenty runs submitted at once (each with its own elasticities) come back
with twenty distinct run ids, each equal to its own direct run.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import blocsim
from blocsim.web.app import create_app
from blocsim.web.tomlio import dumps, to_jsonable
from web_jobs import wait

SCENARIO = "kazakhstan-leaves"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(tmp_path_factory.mktemp("home"), workers=2)
    with TestClient(app, base_url="http://localhost") as test_client:
        yield test_client


@pytest.fixture(scope="module")
def finished(client: TestClient) -> dict[str, Any]:
    response = client.post("/api/runs", json={"scenario": SCENARIO})
    assert response.status_code == 202, response.text
    status = wait(client, response.json()["id"])
    assert status["state"] == "succeeded", status
    return status


def test_list_and_show_scenarios(client: TestClient) -> None:
    from blocsim.scenario import library_entries

    listed = client.get("/api/scenarios").json()
    assert listed == library_entries()
    assert SCENARIO in {s["name"] for s in listed}
    shown = client.get(f"/api/scenarios/{SCENARIO}").json()
    from_file = to_jsonable(tomllib.loads(shown["toml"]))
    document = dict(shown["document"])
    theta = document.pop("model")["theta"]  # spelled out for the form: the default table's numbers
    assert document == {k: v for k, v in from_file.items() if k != "model"}
    assert set(theta) == set(blocsim.load_dataset(from_file["data"]["dataset"]).sectors["sector"])  # every sector


def test_editor_document_round_trips_to_the_same_results(client: TestClient) -> None:
    """JSON document -> TOML -> loader gives the library scenario's exact results."""
    from blocsim import run_scenario
    from blocsim.scenario import parse_scenario

    shown = client.get(f"/api/scenarios/{SCENARIO}").json()
    edited = run_scenario(parse_scenario(dumps(shown["document"]))).countries["welfare_pct"].to_numpy()
    library = run_scenario(SCENARIO).countries["welfare_pct"].to_numpy()
    np.testing.assert_array_equal(edited, library)


def test_run_status_and_results_match_a_direct_run(client: TestClient, finished: dict[str, Any]) -> None:
    from blocsim import run_scenario

    assert finished["progress"] == 1.0 and finished["stage"] == "done" and finished["error"] is None
    run_id = finished["run_id"]
    assert run_id in {r["run_id"] for r in client.get("/api/runs").json()}
    results = client.get(f"/api/runs/{run_id}").json()
    assert results["meta"]["scenario"]["name"] == SCENARIO
    served = pd.DataFrame(results["countries"]).set_index("country")
    direct = run_scenario(SCENARIO).countries.set_index("country")
    np.testing.assert_allclose(served.loc[direct.index, "welfare_pct"], direct["welfare_pct"], rtol=1e-12, atol=1e-15)
    flows = client.get(f"/api/runs/{run_id}/tables/flows").json()
    assert {"exporter", "importer", "sector", "trade_baseline", "trade_counterfactual"} <= set(flows[0])
    report = client.get(f"/api/runs/{run_id}/report")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert '<section id="map">' in report.text


def test_pages_render(client: TestClient, finished: dict[str, Any]) -> None:
    index = client.get("/")
    assert index.status_code == 200 and f'data-run="{SCENARIO}"' in index.text and finished["run_id"] in index.text
    editor = client.get(f"/scenarios/{SCENARIO}")
    assert editor.status_code == 200
    for field in ('data-key="duty_pool"', 'data-key="leave" data-kind="array"', 'data-key="date" data-type="date"'):
        assert field in editor.text, field
    assert client.get(f"/jobs/{finished['id']}").status_code == 200
    run = client.get(f"/runs/{finished['run_id']}")
    assert run.status_code == 200 and f"/api/runs/{finished['run_id']}/report" in run.text
    missing = client.get("/runs/000000000000")
    assert missing.status_code == 404 and "not in the store" in missing.text


def test_edited_scenario_is_validated_and_run(client: TestClient) -> None:
    document = client.get(f"/api/scenarios/{SCENARIO}").json()["document"]
    bad = copy.deepcopy(document)
    bad["after"]["leave"][0]["country"] = "KAZZ"
    response = client.post("/api/runs", json={"scenario": SCENARIO, "document": bad})
    assert response.status_code == 422
    assert "after.leave[0].country" in response.json()["detail"] and "KAZZ" in response.json()["detail"]
    pool = copy.deepcopy(document)
    pool["after"]["duty_pool"]["RUS"] = 50.0
    response = client.post("/api/scenarios/validate", json={"document": pool})
    assert response.status_code == 422 and "sum to 100" in response.json()["detail"]
    assert client.post("/api/runs", json={"toml": "[scenario"}).status_code == 422
    assert client.post("/api/runs", json={}).status_code == 422
    assert client.post("/api/runs", json={"scenario": "no-such-scenario"}).status_code == 404


def test_a_run_that_breaks_the_unions_rules_fails_with_the_reason(client: TestClient) -> None:
    """Valid to the loader, refused by the policy layer at run time: the job fails cleanly."""
    document = client.get("/api/scenarios/kazakhstan-china-fta").json()["document"]
    document["policy"]["allow_rule_violations"] = False
    response = client.post("/api/runs", json={"document": document})
    assert response.status_code == 202
    status = wait(client, response.json()["id"])
    assert status["state"] == "failed" and status["run_id"] is None and status["progress"] < 1.0
    assert "own preference regime" in status["error"] and "allow_rule_violations" in status["error"]
    work_dir = client.app.state.dashboard.jobs.work_dir / status["id"]
    assert not work_dir.exists()


def test_unknown_ids(client: TestClient) -> None:
    assert client.get("/api/jobs/" + "0" * 32).status_code == 404
    assert client.get("/api/jobs/not-a-job").status_code == 422
    assert client.get("/api/runs/ffffffffffff").status_code == 404
    assert client.get("/api/runs/ffffffffffff/tables/countries").status_code == 404
    assert client.get("/api/runs/ffffffffffff/tables/secrets").status_code == 422


@pytest.mark.parametrize(
    "url",
    [
        "/api/runs/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/runs/..%2F..%2F..%2Fetc%2Fpasswd/report",
        "/api/runs/%2Fetc%2Fpasswd/report",
        "/api/runs/..",
        "/api/runs/.../report",
        "/api/runs/%2e%2e%2f%2e%2e%2fpyproject.toml/report",
        "/api/scenarios/..%2F..%2F..%2Fpyproject",
        "/api/scenarios/%2Fetc%2Fpasswd",
        "/runs/..%2F..%2Fetc%2Fpasswd",
        "/scenarios/..%2Fsrc",
        "/static/..%2Fapp.py",
        "/static/../app.py",
        "/static/%2e%2e/%2e%2e/web/app.py",
    ],
)
def test_path_traversal_is_rejected(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code in (404, 422), (url, response.status_code)
    assert "root:" not in response.text and "create_app" not in response.text and "[project]" not in response.text


def test_request_cannot_choose_files(client: TestClient) -> None:
    """Extra fields (an output directory) and path-like names are refused, never used."""
    response = client.post("/api/runs", json={"scenario": SCENARIO, "out_dir": "/tmp/evil"})
    assert response.status_code == 422 and "out_dir" in response.json()["detail"]
    document = client.get(f"/api/scenarios/{SCENARIO}").json()["document"]
    for field, value in (("dataset", "../../../etc/passwd"), ("dataset", "/etc/passwd")):
        evil = copy.deepcopy(document)
        evil["data"][field] = value
        response = client.post("/api/runs", json={"document": evil})
        assert response.status_code == 422, response.text
    evil = copy.deepcopy(document)
    evil["policy"] = {"include": ["../../../etc/passwd"]}
    assert client.post("/api/runs", json={"document": evil}).status_code == 422


@pytest.mark.slow
def test_twenty_concurrent_runs_are_correct_and_separate(tmp_path: Path) -> None:
    """20 runs, each with its own trade elasticity, submitted at once and solved at once."""
    from blocsim import run_scenario
    from blocsim.scenario import parse_scenario

    app = create_app(tmp_path / "home", workers=20)
    with TestClient(app, base_url="http://localhost") as client:
        base = client.get(f"/api/scenarios/{SCENARIO}").json()["document"]
        variants = []
        for k in range(20):
            document = copy.deepcopy(base)
            theta = dict(base["model"]["theta"])  # spelled out for every sector of the dataset
            theta["C10T12"] = 3.0 + 0.25 * k  # food products: each run its own elasticity
            document["model"] = {"theta": theta}
            variants.append(document)
        with ThreadPoolExecutor(max_workers=20) as pool:
            responses = list(pool.map(lambda d: client.post("/api/runs", json={"document": d}), variants))
        assert [r.status_code for r in responses] == [202] * 20
        statuses = [wait(client, r.json()["id"], timeout=170.0) for r in responses]
        assert [s["state"] for s in statuses] == ["succeeded"] * 20, [s["error"] for s in statuses if s["error"]]
        run_ids = [s["run_id"] for s in statuses]
        assert len(set(run_ids)) == 20
        served = [client.get(f"/api/runs/{run_id}").json() for run_id in run_ids]
        assert len(client.get("/api/runs").json()) == 20
    welfare = []
    for document, result in zip(variants, served):
        assert result["meta"]["model"]["parameters"]["theta"]["C10T12"] == document["model"]["theta"]["C10T12"]
        direct = run_scenario(parse_scenario(dumps(document))).countries.set_index("country")["welfare_pct"]
        got = pd.DataFrame(result["countries"]).set_index("country")["welfare_pct"].loc[direct.index]
        np.testing.assert_allclose(got, direct, rtol=1e-12, atol=1e-15)
        welfare.append(got["KAZ"])
    assert len(set(np.round(welfare, 12))) == 20  # the elasticity matters: every result differs


def test_serve_binds_localhost_by_default() -> None:
    import typer.main

    from blocsim.cli.main import app

    serve = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    defaults = {param.name: param.default for param in serve.params}
    assert defaults["host"] == "127.0.0.1" and defaults["port"] == 8000


def test_api_docs_are_served_without_a_cdn(client: TestClient) -> None:
    """/docs must work offline: every script and stylesheet it loads comes from this server."""
    import re

    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page.text) + re.findall(r"url: '([^']+)'", page.text)
    assert assets, "no assets found in /docs"
    for url in assets:
        assert not url.startswith(("http://", "https://", "//")), f"/docs loads {url} from outside"
        if url.endswith((".js", ".css")):
            assert client.get(url).status_code == 200, url


# ------------------------------------------------------------------ every model, draws, edit, compare, downloads

PE_TOML = '''
[scenario]
name = "pe-ban-web"
title = "PE: half of Russia's agri-food imports from the EU and the USA banned"
event = "test"
sources = ["test"]
focus_countries = ["RUS"]

[data]
dataset = "eaeu-2016v1"
year = 2012

[before]
date = 2014-08-06

[after]
date = 2014-08-07

[[after.measures]]
kind = "ban"
importer = "RUS"
origins = ["EUN", "USA"]
sectors = ["agri_food"]
covered_share = 0.5

[model]
name = "pe"
'''


def onesector_toml() -> str:
    """The bundled 'trade without borders' example as a one-sector scenario (a bundled sample, no file)."""
    text = (Path(__file__).resolve().parents[1] / "examples" / "trade_without_borders.toml").read_text(encoding="utf-8")
    return text.replace("[ge]\n", '[model]\nname = "onesector"\n')


def submitted(client: TestClient, payload: dict[str, Any]) -> dict[str, Any]:
    """Submit a run, wait for it, return its (succeeded) status."""
    response = client.post("/api/runs", json=payload)
    assert response.status_code == 202, response.text
    status = wait(client, response.json()["id"])
    assert status["state"] == "succeeded", status
    return status


@pytest.fixture(scope="module")
def model_runs(client: TestClient) -> dict[str, str]:
    """Run ids of a PE and a one-sector scenario submitted as TOML text."""
    return {"pe": submitted(client, {"toml": PE_TOML})["run_id"],
            "onesector": submitted(client, {"toml": onesector_toml()})["run_id"]}


def test_pe_and_onesector_scenarios_run_from_the_dashboard(client: TestClient, model_runs: dict[str, str]) -> None:
    """Both used to be refused with 422; each now runs and equals a direct run of the same text."""
    from blocsim import parse_scenario, run_scenario

    for model, text in (("pe", PE_TOML), ("onesector", onesector_toml())):
        assert client.post("/api/scenarios/validate", json={"toml": text}).json()["model"] == model
        served = client.get(f"/api/runs/{model_runs[model]}").json()
        assert served["meta"]["model"]["name"] == model
        direct = run_scenario(parse_scenario(text)).countries.set_index("country")
        got = pd.DataFrame(served["countries"]).set_index("country").loc[direct.index]
        column = "welfare_change" if model == "pe" else "welfare_pct"
        np.testing.assert_allclose(got[column].astype(float), direct[column], rtol=1e-10, atol=1e-12)
    pe_page = client.get(f"/runs/{model_runs['pe']}").text
    assert 'data-table="products"' in pe_page and 'data-table="flows"' in pe_page and 'id="report"' not in pe_page
    one_page = client.get(f"/runs/{model_runs['onesector']}").text
    assert 'data-table="countries"' in one_page and 'data-table="flows"' in one_page and 'id="report"' in one_page
    assert client.get(f"/api/runs/{model_runs['onesector']}/report").status_code == 200


def test_draws_and_seed_are_requested_and_bounded(client: TestClient) -> None:
    from blocsim.web.limits import MAX_DRAWS

    status = submitted(client, {"scenario": SCENARIO, "draws": 8, "seed": 5})
    assert status["scenario"] == f"{SCENARIO} (8 draws, seed 5)"
    served = client.get(f"/api/runs/{status['run_id']}").json()
    assert served["meta"]["uncertainty"]["draws"] == 8 and served["meta"]["uncertainty"]["seed"] == 5
    assert "bands" in served["tables"]
    bands = pd.DataFrame(client.get(f"/api/runs/{status['run_id']}/tables/bands").json())
    assert {"p05", "p50", "p95"} <= set(bands.columns) and (bands["p05"] <= bands["p95"]).all()
    for payload, needle in (({"scenario": SCENARIO, "draws": 1}, "draws"),
                            ({"scenario": SCENARIO, "draws": MAX_DRAWS + 1}, "draws"),
                            ({"scenario": SCENARIO, "seed": 3}, "needs 'draws'"),
                            ({"scenario": SCENARIO, "draws": 10, "seed": -1}, "seed"),
                            ({"toml": PE_TOML, "draws": 10}, "runs model 'pe'")):
        for route in ("/api/runs", "/api/scenarios/validate"):
            response = client.post(route, json=payload)
            assert response.status_code == 422 and needle in response.json()["detail"], (payload, response.text)


def test_any_stored_run_can_be_edited_and_run_again(client: TestClient, model_runs: dict[str, str]) -> None:
    """A user's own scenario (not in the library) used to give 404 on "Edit and re-run"."""
    text = client.get(f"/api/scenarios/{SCENARIO}").json()["toml"].replace(f'name = "{SCENARIO}"', 'name = "my-own-leave"')
    first = submitted(client, {"toml": text})["run_id"]
    page = client.get(f"/runs/{first}")
    assert f'href="/runs/{first}/edit"' in page.text
    editor = client.get(f"/runs/{first}/edit")
    assert editor.status_code == 200 and "my-own-leave" in editor.text and 'data-base=""' in editor.text
    shown = client.get(f"/api/runs/{first}/scenario").json()
    assert shown["toml"] == text and shown["name"] == "my-own-leave"
    again = submitted(client, {"document": shown["document"]})["run_id"]
    before = pd.DataFrame(client.get(f"/api/runs/{first}").json()["countries"]).set_index("country")
    after = pd.DataFrame(client.get(f"/api/runs/{again}").json()["countries"]).set_index("country")
    np.testing.assert_array_equal(after.loc[before.index, "welfare_pct"], before["welfare_pct"])
    pe_editor = client.get(f"/runs/{model_runs['pe']}/edit")
    assert pe_editor.status_code == 200 and "pe-ban-web" in pe_editor.text
    one_editor = client.get(f"/runs/{model_runs['onesector']}/edit")
    assert one_editor.status_code == 200 and 'data-key="before"' not in one_editor.text  # no policy states there


def test_downloads_hold_full_precision_and_leave_nothing_behind(client: TestClient, finished: dict[str, Any]) -> None:
    import io
    import zipfile

    import openpyxl

    run_id = finished["run_id"]
    dashboard = client.app.state.dashboard
    countries = pd.read_csv(dashboard.run_dir(run_id) / "countries.csv").set_index("country")
    xlsx = client.get(f"/api/runs/{run_id}/download/xlsx")
    assert xlsx.status_code == 200 and f'filename="{run_id}.xlsx"' in xlsx.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert book.sheetnames[0] == "README" and "countries" in book.sheetnames
    sheet = pd.DataFrame(list(book["countries"].values))
    sheet = sheet.iloc[1:].set_axis(list(sheet.iloc[0]), axis=1).set_index("country")
    # Excel's cells hold 16-17 significant digits as openpyxl writes them: equal to the last bit or two
    np.testing.assert_allclose(sheet.loc[countries.index, "welfare_pct"].astype(float), countries["welfare_pct"],
                               rtol=1e-15, atol=0)
    russian = zipfile.ZipFile(io.BytesIO(client.get(f"/api/runs/{run_id}/download/csv-ru").content))
    name = next(n for n in russian.namelist() if n.endswith("/countries.csv"))
    frame = pd.read_csv(io.BytesIO(russian.read(name)), sep=";", decimal=",", encoding="utf-8-sig").set_index("country")
    np.testing.assert_array_equal(frame.loc[countries.index, "welfare_pct"], countries["welfare_pct"])
    stata = zipfile.ZipFile(io.BytesIO(client.get(f"/api/runs/{run_id}/download/dta").content))
    dta = next(n for n in stata.namelist() if n.endswith("/countries.dta"))
    reader = pd.io.stata.StataReader(io.BytesIO(stata.read(dta)))
    with reader:
        assert reader.variable_labels()["welfare_pct"] and len(reader.read()) == len(countries)
    assert client.get(f"/api/runs/{run_id}/download/pdf").status_code == 422
    assert client.get("/api/runs/ffffffffffff/download/xlsx").status_code == 404
    assert list(dashboard.scratch.iterdir()) == []


def test_runs_are_compared_as_blocsim_compare_does(client: TestClient, finished: dict[str, Any],
                                                   model_runs: dict[str, str]) -> None:
    import blocsim

    other = submitted(client, {"scenario": "tajikistan-joins"})["run_id"]
    ids = [finished["run_id"], other]
    served = client.get("/api/compare", params=[("run", i) for i in ids])
    assert served.status_code == 200, served.text
    body = served.json()
    dashboard = client.app.state.dashboard
    direct = blocsim.compare([str(dashboard.run_dir(i)) for i in ids], labels=[r["label"] for r in body["runs"]])
    assert body["columns"] == list(direct.table.columns) and [r["run_id"] for r in body["runs"]] == ids
    got = pd.DataFrame(body["rows"], columns=body["columns"]).set_index("country").astype(float)
    pd.testing.assert_frame_equal(got, direct.table.set_index("country").astype(float))
    page = client.get("/compare", params=[("run", i) for i in ids])
    assert page.status_code == 200 and 'id="comparison"' in page.text
    html = client.get("/api/compare/page", params=[("run", i) for i in ids])
    assert html.status_code == 200 and "<html" in html.text.lower()
    assert client.get("/api/compare", params=[("run", ids[0])]).status_code == 422
    assert client.get("/api/compare", params=[("run", ids[0]), ("run", ids[0])]).status_code == 422
    assert client.get("/api/compare", params=[("run", ids[0]), ("run", "ffffffffffff")]).status_code == 404
    assert list(dashboard.scratch.iterdir()) == []


def test_pages_round_numbers_for_reading(client: TestClient, finished: dict[str, Any]) -> None:
    """Tables and the editor's elasticities show 3 decimals (3 significant digits below 0.1), never 15 digits."""
    import re

    from blocsim.web.outputs import readable

    assert [readable(v) for v in (12.3456789, -0.0123456, 0.0, 7, None, float("nan"), 1234.5)] == [
        "12.346", "-0.0123", "0", "7", "", "", "1234.500"]
    page = client.get(f"/runs/{finished['run_id']}").text
    cells = re.findall(r"<td>(-?\d+\.\d+)</td>", page)
    assert cells and all(re.fullmatch(r"-?(\d+\.\d{3}|0\.0\d{1,3}|0\.0+[1-9]\d{0,2})", cell) for cell in cells), cells
    editor = client.get(f"/scenarios/{SCENARIO}").text
    shown = re.findall(r'data-type="number"><span>[A-Za-z0-9_]+</span><input type="number" step="any" value="([^"]+)" '
                       r'data-exact="([^"]+)"', editor)
    assert shown and all(re.fullmatch(r"\d+(\.\d{1,3})?", value) for value, _ in shown), shown
    theta = client.get(f"/api/scenarios/{SCENARIO}").json()["document"]["model"]["theta"]
    assert sorted(float(exact) for _, exact in shown if float(exact) in theta.values()) == sorted(theta.values())


def test_cli_runs_are_listed_in_the_dashboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store is the single record: `blocsim run` registers its run unless --no-store."""
    from typer.testing import CliRunner

    from blocsim.cli.main import app as cli

    home = tmp_path / "home"
    monkeypatch.setenv("BLOCSIM_HOME", str(home))
    runner = CliRunner()
    stored = runner.invoke(cli, ["scenarios", "run", SCENARIO, "--out", str(tmp_path / "a")])
    assert stored.exit_code == 0, stored.output
    run_id = re.search(r"stored as run ([0-9a-f]{12})", stored.output).group(1)  # type: ignore[union-attr]
    skipped = runner.invoke(cli, ["run", SCENARIO, "--out", str(tmp_path / "b"), "--no-store", "--json"])
    assert skipped.exit_code == 0 and json.loads(skipped.stdout)["stored_run_id"] is None
    with TestClient(create_app(home, workers=1), base_url="http://localhost") as client:
        assert [r["run_id"] for r in client.get("/api/runs").json()] == [run_id]
        assert run_id in client.get("/").text
        served = pd.DataFrame(client.get(f"/api/runs/{run_id}").json()["countries"])
    written = pd.read_csv(tmp_path / "a" / "countries.csv")
    np.testing.assert_array_equal(served["welfare_pct"], written["welfare_pct"])


# ------------------------------------------------------------------ [model] options as selects

class _Selects(HTMLParser):
    """The choice selects of a page: ``{key: {"omit": ..., "options": [(value, label, selected), ...]}}``.

    Only a select inside its ``<label data-type="choice">`` counts (the label names it for screen readers).
    """

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, dict[str, Any]] = {}
        self._label: dict[str, Any] | None = None
        self._option: list[Any] | None = None
        self._in_select = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "label" and attributes.get("data-type") == "choice":
            self._label = {"omit": attributes.get("data-omit"), "options": []}
            self.found[str(attributes["data-key"])] = self._label
        elif tag == "select" and self._label is not None:
            self._in_select = True
        elif tag == "option" and self._in_select and self._label is not None:
            self._option = [attributes.get("value"), "", "selected" in attributes]

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._option is not None and self._label is not None:
            self._label["options"].append(tuple(self._option))
            self._option = None
        elif tag == "select":
            self._in_select = False
        elif tag == "label":
            self._label = None


def choice_selects(html: str) -> dict[str, dict[str, Any]]:
    parser = _Selects()
    parser.feed(html)
    return parser.found


def test_editor_offers_the_model_options_from_the_schema(client: TestClient) -> None:
    """deficits and labour were not on the form unless the file set them (and then as free text)."""
    from blocsim.scenario.schema import MultisectorModel
    from blocsim.web.forms import choice_fields

    selects = choice_selects(client.get(f"/scenarios/{SCENARIO}").text)
    assert set(selects) == set(choice_fields(MultisectorModel)) >= {"deficits", "labour", "closure"}
    deficits = selects["deficits"]
    assert [(value, selected) for value, _, selected in deficits["options"]] == [('"observed"', True), ('"purged"', False)]
    assert deficits["omit"] == '"observed"'  # not in the file: left out of the document unless changed
    labour = selects["labour"]
    assert [(value, label, selected) for value, label, selected in labour["options"]] == [
        ("", "dataset default", True), ("true", "on", False), ("false", "off", False)]
    # a file that sets the option: its value is selected and always sent back
    uzbek = choice_selects(client.get("/scenarios/uzbekistan-joins").text)["labour"]
    assert [selected for _, _, selected in uzbek["options"]] == [False, True, False] and uzbek["omit"] is None
    # other models get their own options; a one-valued field (the model's name) is no choice
    pe = PE_TOML.replace('name = "pe"', 'name = "pe"\nmethod = "smart"')
    run_id = submitted(client, {"toml": pe})["run_id"]
    pe_selects = choice_selects(client.get(f"/runs/{run_id}/edit").text)
    assert set(pe_selects) == {"method", "domestic"}
    assert [(value, selected) for value, _, selected in pe_selects["method"]["options"]] == [
        ('"exact"', False), ('"smart"', True)]


def test_a_new_choice_in_the_schema_is_offered_without_template_edits(client: TestClient) -> None:
    from typing import Literal

    from pydantic import create_model

    from blocsim.scenario.schema import MultisectorModel
    from blocsim.web.forms import choice_fields, choice_leaf

    extended = create_model("Extended", __base__=MultisectorModel,
                            solver=(Literal["newton", "fixed_point", "hybrid"], "hybrid"), switch=(bool, False),
                            factor=(float, 1.0))
    fields = choice_fields(extended)
    assert fields["solver"].values == ("newton", "fixed_point", "hybrid") and fields["solver"].default == "hybrid"
    assert fields["switch"].values == (True, False) and "factor" not in fields and "name" not in fields
    options = choice_leaf(fields["solver"])["__choice__"]["options"]
    assert [o["label"] for o in options] == ["newton", "fixed_point", "hybrid (default)"]
    # and the page renders whatever the schema derives: the same macro draws every choice
    editor = client.get(f"/scenarios/{SCENARIO}").text
    assert editor.count('data-type="choice"') == len(choice_fields(MultisectorModel))


def test_a_form_with_purged_deficits_runs_with_them(client: TestClient, finished: dict[str, Any]) -> None:
    """The document the form sends (the file's fields plus the option chosen) runs with that option."""
    document = client.get(f"/api/scenarios/{SCENARIO}").json()["document"]
    document["model"]["deficits"] = "purged"
    assert client.post("/api/scenarios/validate", json={"scenario": SCENARIO, "document": document}).status_code == 200
    status = submitted(client, {"scenario": SCENARIO, "document": document})
    served = client.get(f"/api/runs/{status['run_id']}").json()
    assert served["meta"]["model"]["deficits"] == "purged"
    run_dir = client.app.state.dashboard.run_dir(status["run_id"])
    assert json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["model"]["deficits"] == "purged"
    observed = client.get(f"/api/runs/{finished['run_id']}").json()
    assert observed["meta"]["model"]["deficits"] == "observed"
    purged = pd.DataFrame(served["countries"]).set_index("country")["welfare_pct"]
    default = pd.DataFrame(observed["countries"]).set_index("country")["welfare_pct"].loc[purged.index]
    assert not np.allclose(purged, default, rtol=0, atol=1e-9)  # the option changes the results
    # the edit-rerun page of that run shows the stored choice, sent back as the file has it
    again = choice_selects(client.get(f"/runs/{status['run_id']}/edit").text)["deficits"]
    assert [selected for _, _, selected in again["options"]] == [False, True] and again["omit"] is None
    bad = copy.deepcopy(document)
    bad["model"]["deficits"] = "balanced"
    response = client.post("/api/runs", json={"document": bad})
    assert response.status_code == 422 and "model.deficits" in response.json()["detail"], response.text
