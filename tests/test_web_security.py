"""The dashboard as an attacker and a careless user meet it (issue 13, findings 1, 11 and 12).

- Policy includes: only built-in names from the browser; on the command line, files beside
  the scenario or under ``--include-dir``; a refusal never says whether an outside file exists.
- Host header (DNS rebinding), access token (required off loopback), body and field caps,
  job queue cap, bounded run store, run deletion.
- Job records survive a restart: jobs cut off by ``kill -9`` show as failed/interrupted.
- Deeply nested input is a 4xx JSON error, never a 500.

Everything runs through FastAPI's TestClient against the real app, store and solver.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from blocsim.errors import BlocsimError, DataValidationError
from blocsim.policy.build import load_policy_file, resolve_policy_include
from blocsim.scenario.loader import library_dir
from blocsim.web.app import create_app
from web_jobs import wait

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = REPO / "pyproject.toml"
SCENARIO = "kazakhstan-leaves"
LOCAL = "http://localhost"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(tmp_path_factory.mktemp("home"), workers=1)
    with TestClient(app, base_url=LOCAL) as test_client:
        yield test_client


def library_toml(extra: str = "") -> str:
    return (library_dir() / f"{SCENARIO}.toml").read_text(encoding="utf-8") + extra


def with_includes(*names: str) -> str:
    return library_toml("\n[policy]\ninclude = " + json.dumps(list(names)) + "\n")


# ------------------------------------------------------------------ finding 1: policy includes


def test_browser_cannot_read_a_server_file_through_policy_include(client: TestClient) -> None:
    """The issue's repro: an absolute path to pyproject.toml in [policy] include, POSTed to /api/runs."""
    document = client.get(f"/api/scenarios/{SCENARIO}").json()["document"]
    answers = {}
    for path in (str(PYPROJECT), str(REPO / "no-such-file.toml"), "../../pyproject.toml", "../../no-such-file.toml"):
        document["policy"] = {"include": ["eaeu", "cis_fta", path]}
        requests = (("/api/runs", {"document": document}),
                    ("/api/scenarios/validate", {"toml": with_includes("eaeu", "cis_fta", path)}))
        for route, body in requests:
            response = client.post(route, json=body)
            assert response.status_code == 422, (route, path, response.text)
            detail = response.json()["detail"]
            assert "policy.include[2]" in detail and "not allowed" in detail
            for leak in ("build-system", "setuptools", "[project]", "not found", "not valid TOML"):
                assert leak not in detail, (path, leak)
            answers[(route, path)] = detail.replace(json.dumps(path)[1:-1], "PATH").replace(repr(path), "PATH")
    for route in ("/api/runs", "/api/scenarios/validate"):  # existing and missing files look the same
        assert answers[(route, str(PYPROJECT))] == answers[(route, str(REPO / "no-such-file.toml"))]
        assert answers[(route, "../../pyproject.toml")] == answers[(route, "../../no-such-file.toml")]
    assert client.get("/api/jobs").json() == []  # nothing was queued


def test_browser_scenarios_cannot_name_data_files(client: TestClient, tmp_path: Path) -> None:
    """A one-sector ``data.path`` or a PE ``data.imports`` from the browser is refused at once (422, line and
    field), whether the file exists or not, and nothing is queued: the server never opens such a path."""
    from test_web import PE_TOML, onesector_toml

    real = tmp_path / "imports.csv"
    real.write_text("importer,exporter,product,sector,trade\nRUS,EUN,0201,agri_food,1.0\n", encoding="utf-8")
    sample = 'sample = "yotov2016_trade_without_borders_2006"'
    cases = {
        "data.path": [onesector_toml().replace(sample, f"path = {json.dumps(str(path))}")
                      for path in (str(PYPROJECT), str(REPO / "no-such-file.csv"))],
        "data.imports": [PE_TOML.replace("year = 2012\n", f"year = 2012\nimports = {json.dumps(path)}\n")
                         for path in (str(real), "../../no-such-file.csv")],
    }
    for field, texts in cases.items():
        answers = []
        for text in texts:
            line = next(k for k, row in enumerate(text.splitlines(), 1) if row.startswith(field.split(".")[1] + " ="))
            for route in ("/api/runs", "/api/scenarios/validate"):
                response = client.post(route, json={"toml": text})
                assert response.status_code == 422, (route, response.text)
                detail = response.json()["detail"]
                assert f"<submitted scenario>:{line}: field '{field}'" in detail and "never reads a file" in detail
                for leak in ("build-system", "[project]", "not found", "RUS,EUN"):
                    assert leak not in detail
                answers.append(detail.split("(got ")[0])
        assert len(set(answers)) == 1  # existing and missing files get the same answer
    assert client.get("/api/jobs").json() == []


def test_built_in_policy_names_stay_allowed(client: TestClient) -> None:
    response = client.post("/api/scenarios/validate", json={"toml": with_includes("EAEU", "cis-fta")})
    assert response.status_code == 200, response.text


def test_include_resolution_allows_only_files_under_the_given_folders(tmp_path: Path) -> None:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir(), outside.mkdir()
    policy = resolve_policy_include("cis_fta").read_text()
    (allowed / "mine.toml").write_text(policy)
    (outside / "secret.toml").write_text("[secret]\nkey = 'value'\n")
    (allowed / "link.toml").symlink_to(outside / "secret.toml")

    assert load_policy_file("mine.toml", include_dirs=[allowed]).preference is not None
    assert load_policy_file(str(allowed / "mine.toml"), include_dirs=[allowed]).preference is not None
    assert resolve_policy_include("eaeu").name == "eaeu.toml"
    refused = {}
    for name in (str(outside / "secret.toml"), str(outside / "missing.toml"), "../outside/secret.toml",
                 "../outside/missing.toml", "link.toml", str(allowed / "mine.toml")):
        dirs = [] if name == str(allowed / "mine.toml") else [allowed]
        with pytest.raises(DataValidationError, match="not allowed") as error:
            load_policy_file(name, include_dirs=dirs)
        assert "secret" not in str(error.value).replace("secret.toml", "") and "value" not in str(error.value)
        refused[name] = str(error.value).replace(repr(name), "NAME")
    assert refused[str(outside / "secret.toml")] == refused[str(outside / "missing.toml")]
    assert refused["../outside/secret.toml"] == refused["../outside/missing.toml"]
    with pytest.raises(DataValidationError, match="not found in"):
        load_policy_file("absent.toml", include_dirs=[allowed])


def test_cli_allows_the_scenario_folder_and_include_dirs_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``blocsim run``: a policy file beside the scenario works and gives the library's numbers;
    one elsewhere needs ``--include-dir``; a refused one never runs."""
    import pandas as pd

    from blocsim.cli.main import app

    monkeypatch.setenv("BLOCSIM_HOME", str(tmp_path / "home"))
    policies = tmp_path / "policies"
    policies.mkdir()
    cis = resolve_policy_include("cis_fta").read_text()
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "my_cis.toml").write_text(cis)
    (policies / "my_cis.toml").write_text(cis)
    beside = tmp_path / "scenarios" / "beside.toml"
    beside.write_text(with_includes("eaeu", "my_cis.toml"))
    elsewhere = tmp_path / "scenarios" / "elsewhere.toml"
    elsewhere.write_text(with_includes("eaeu", "../policies/my_cis.toml"))
    runner = CliRunner()

    result = runner.invoke(app, ["run", str(beside), "--out", str(tmp_path / "a"), "--json"])
    assert result.exit_code == 0, result.output
    refused = runner.invoke(app, ["run", str(elsewhere), "--out", str(tmp_path / "b"), "--json"])
    assert refused.exit_code == 1 and "not allowed" in refused.output and "Traceback" not in refused.output
    assert not (tmp_path / "b").exists()
    result = runner.invoke(app, ["run", str(elsewhere), "--out", str(tmp_path / "b"), "--json",
                                 "--include-dir", str(policies)])
    assert result.exit_code == 0, result.output
    library = runner.invoke(app, ["scenarios", "run", SCENARIO, "--out", str(tmp_path / "c"), "--json"])
    assert library.exit_code == 0, library.output
    expected = pd.read_csv(tmp_path / "c" / "countries.csv")
    for out in ("a", "b"):  # the included copies of cis_fta give the library scenario's numbers
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / out / "countries.csv"), expected)


# ------------------------------------------------------------------ Host header and token


@pytest.mark.parametrize("host,allowed", [
    ("localhost", True), ("localhost:8000", True), ("127.0.0.1:8000", True), ("[::1]:8000", True),
    ("evil.example", False), ("evil.example:8000", False), ("127.0.0.1.evil.example", False), ("", False),
    ("localhost:8000@evil.example", False),
])
def test_host_header_is_checked(client: TestClient, host: str, allowed: bool) -> None:
    """A DNS-rebinding page sends its own name as Host; only this server's names are answered."""
    response = client.get("/api/scenarios", headers={"host": host})
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 400 and "not a name of this server" in response.json()["detail"]
        assert SCENARIO not in response.text


def test_bound_and_listed_host_names_are_answered(tmp_path: Path) -> None:
    token = "t" * 24
    app = create_app(tmp_path, host="192.0.2.7", allowed_hosts=("dash.example",), token=token)
    with TestClient(app, base_url="http://192.0.2.7:8000", headers={"authorization": f"Bearer {token}"}) as client:
        assert client.get("/api/scenarios").status_code == 200
        assert client.get("/api/scenarios", headers={"host": "dash.example:8000"}).status_code == 200
        assert client.get("/api/scenarios", headers={"host": "other.example"}).status_code == 400


def test_off_loopback_bind_needs_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blocsim.cli.main import app

    for host in ("0.0.0.0", "192.0.2.7", "::"):
        with pytest.raises(BlocsimError, match="needs an access token"):
            create_app(tmp_path / "home", host=host)
    with pytest.raises(BlocsimError, match="16 to 256 characters"):
        create_app(tmp_path / "home", host="0.0.0.0", token="short")
    monkeypatch.delenv("BLOCSIM_WEB_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--home", str(tmp_path / "cli")])
    assert result.exit_code == 1 and "needs an access token" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "cli").exists()  # refused before anything was created


def test_with_a_token_every_request_needs_it(tmp_path: Path) -> None:
    token = "s3cret-token-0123456789"
    app = create_app(tmp_path, host="0.0.0.0", token=token)
    with TestClient(app, base_url=LOCAL) as client:
        for url in ("/api/scenarios", "/api/runs", "/", "/docs", "/openapi.json"):
            response = client.get(url)
            assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer", url
        assert client.post("/api/runs", json={"scenario": SCENARIO}).status_code == 401
        assert client.get("/api/jobs").status_code == 401
        wrong = client.get("/api/scenarios", headers={"authorization": "Bearer " + "x" * len(token)})
        assert wrong.status_code == 401
        assert client.get("/api/scenarios", headers={"authorization": f"Bearer {token}"}).status_code == 200
        assert client.get("/static/app.js").status_code == 200
        login = client.get(f"/?token={token}", follow_redirects=False)
        assert login.status_code == 303 and login.headers["location"] == "/"
        assert "HttpOnly" in login.headers["set-cookie"] and "SameSite=Strict" in login.headers["set-cookie"]
        client.cookies.set("blocsim_token", token)
        assert client.get("/").status_code == 200 and client.get("/api/runs").status_code == 200


# ------------------------------------------------------------------ caps: body, fields, nesting


def test_oversize_bodies_are_refused_with_413(client: TestClient) -> None:
    """The issue sent a 100 MB body; anything over the limit is refused before it is parsed."""
    body = json.dumps({"toml": "x" * 600_000}).encode()
    response = client.post("/api/runs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "larger than" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit still holds
        yield b'{"toml": "'
        for _ in range(100):
            yield b"x" * 10_000
        yield b'"}'

    response = client.post("/api/runs", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert client.get("/api/jobs").json() == []


def test_document_fields_are_capped(client: TestClient) -> None:
    document = client.get(f"/api/scenarios/{SCENARIO}").json()["document"]
    long_text = dict(document, scenario={**document["scenario"], "description": "d" * 20_000})
    response = client.post("/api/runs", json={"document": long_text})
    assert response.status_code == 422 and "document.scenario.description" in response.json()["detail"]
    assert "at most 10000" in response.json()["detail"]
    deep: dict[str, Any] = {}
    cursor = deep
    for _ in range(40):
        cursor["a"] = {}
        cursor = cursor["a"]
    response = client.post("/api/scenarios/validate", json={"document": deep})
    assert response.status_code == 422 and "nested deeper than" in response.json()["detail"]
    many = dict(document, extra=list(range(6_000)))
    response = client.post("/api/scenarios/validate", json={"document": many})
    assert response.status_code == 422 and "more than 5000 values" in response.json()["detail"]
    assert client.post("/api/runs", json={"toml": "x" * 100_001}).status_code == 422
    assert client.get("/api/jobs").json() == []


@pytest.mark.parametrize("route", ["/api/scenarios/validate", "/api/runs"])
def test_deeply_nested_input_is_a_4xx_json_error(client: TestClient, route: str) -> None:
    """Finding 11: nested TOML raised RecursionError in the loader, an HTTP 500."""
    for toml in ("a = " + "[" * 5_000 + "]" * 5_000, "a = " + "{b = " * 3_000 + "1" + "}" * 3_000):
        response = client.post(route, json={"toml": toml})
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]  # the web's message, or the loader's once it checks nesting itself
        assert isinstance(detail, str) and ("nest" in detail.lower() or "deep" in detail.lower()), detail
    body = b'{"document": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001
    response = client.post(route, content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500 and isinstance(response.json()["detail"], str)


# ------------------------------------------------------------------ queue, store bound, delete


def test_job_queue_is_capped(tmp_path: Path) -> None:
    app = create_app(tmp_path, workers=1, max_queue=1)
    with TestClient(app, base_url=LOCAL) as client:
        responses = [client.post("/api/runs", json={"scenario": SCENARIO}) for _ in range(3)]
        assert responses[0].status_code == 202
        refused = [r for r in responses[1:] if r.status_code == 429]
        assert refused and "job queue full" in refused[0].json()["detail"]
        wait(client, responses[0].json()["id"])
        again = client.post("/api/runs", json={"scenario": SCENARIO})
        assert again.status_code == 202
        assert wait(client, again.json()["id"])["state"] == "succeeded"


def test_store_is_bounded_and_runs_can_be_deleted(tmp_path: Path) -> None:
    app = create_app(tmp_path, workers=1, max_runs=1)
    with TestClient(app, base_url=LOCAL) as client:
        first = wait(client, client.post("/api/runs", json={"scenario": SCENARIO}).json()["id"])
        assert first["state"] == "succeeded", first
        run_id = first["run_id"]
        full = client.post("/api/runs", json={"scenario": "tajikistan-joins"})
        assert full.status_code == 507 and "store is full" in full.json()["detail"]
        assert client.delete(f"/api/runs/{run_id[:6]}").status_code == 404  # a prefix never deletes
        assert client.delete("/api/runs/..%2F..%2Fweb").status_code in (404, 422)
        stored = tmp_path / "store" / "runs" / run_id
        assert (stored / "run.json").is_file()
        assert client.delete(f"/api/runs/{run_id}").status_code == 204
        assert not stored.exists() and client.get("/api/runs").json() == []
        assert client.get(f"/api/runs/{run_id}").status_code == 404
        assert client.delete(f"/api/runs/{run_id}").status_code == 404
        second = wait(client, client.post("/api/runs", json={"scenario": "tajikistan-joins"}).json()["id"])
        assert second["state"] == "succeeded"
        assert [r["run_id"] for r in client.get("/api/runs").json()] == [second["run_id"]]


# ------------------------------------------------------------------ jobs survive restarts


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_jobs_cut_off_by_kill_9_are_reported_interrupted(tmp_path: Path) -> None:
    """The issue killed a server with 8 jobs in flight and lost 6 without a trace."""
    home, port = tmp_path / "home", _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    server = subprocess.Popen(
        [sys.executable, "-m", "blocsim", "serve", "--home", str(home), "--port", str(port), "--workers", "1",
         "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/scenarios", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("the server did not start")
                time.sleep(0.2)
        ids = [httpx.post(f"{base}/api/runs", json={"scenario": SCENARIO}, timeout=30).json()["id"] for _ in range(4)]
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    app = create_app(home, workers=1)
    with TestClient(app, base_url=LOCAL) as client:
        jobs = {job["id"]: job for job in client.get("/api/jobs").json()}
        assert set(ids) <= set(jobs)
        states = [(jobs[i]["state"], jobs[i]["stage"]) for i in ids]
        assert all(state in (("succeeded", "done"), ("failed", "interrupted")) for state in states), states
        interrupted = [i for i in ids if jobs[i]["stage"] == "interrupted"]
        assert len(interrupted) >= 2, states  # one worker, four runs: at least the last two never started
        for job_id in interrupted:
            assert "interrupted" in jobs[job_id]["error"] and jobs[job_id]["finished_utc"]
            assert not (home / "web" / "runs" / job_id).exists()
            assert client.get(f"/api/jobs/{job_id}").json() == jobs[job_id]
        owner = app.state.dashboard.jobs.owner  # the dead server's lock file is gone, only ours is left
        assert [p.name for p in (home / "web" / "servers").iterdir()] == [f"{owner}.lock"]


def test_a_live_servers_jobs_are_left_alone_and_a_clean_stop_marks_the_queue(tmp_path: Path) -> None:
    first = create_app(tmp_path, workers=1)
    with TestClient(first, base_url=LOCAL) as client:
        ids = [client.post("/api/runs", json={"scenario": SCENARIO}).json()["id"] for _ in range(3)]
        second = create_app(tmp_path, workers=1)  # another server on the same home, while the first is busy
        seen = {job.id: job for job in second.state.dashboard.jobs.all()}
        assert all(seen[i].stage != "interrupted" for i in ids)
        second.state.dashboard.close()
    after = create_app(tmp_path, workers=1)
    jobs = {job.id: job for job in after.state.dashboard.jobs.all()}
    assert all(jobs[i].state in ("succeeded", "failed") for i in ids)
    assert jobs[ids[0]].state == "succeeded"
    assert all(jobs[i].state == "succeeded" or jobs[i].stage == "interrupted" for i in ids)
    after.state.dashboard.close()
