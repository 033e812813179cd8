"""The dashboard's analyst flows in a real browser (Playwright + Debian's chromium): upload a scenario,
edit and re-run a user's own scenario, request draws, compare runs, download a run.

The server and browser fixtures are those of :mod:`test_browser` (a uvicorn server on a free
127.0.0.1 port; any request to another host fails the test). The PE model solves in well
under a second, so most flows use a PE scenario; the draws flow uses a few draws only.
"""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest
from test_browser import CHROMIUM, browser_page, server  # noqa: F401 - pytest fixtures
from test_web import PE_TOML

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is not installed (apt-get install chromium)"),
]
TIMEOUT_MS = 90_000


def api(server: str, path: str) -> Any:  # noqa: F811 - the fixture's value
    with urllib.request.urlopen(server + path, timeout=30) as response:
        return json.load(response)


def upload_and_run(page: Any, server: str, tmp_path: Path, text: str) -> str:  # noqa: F811
    """Upload ``text`` as a .toml file on the New scenario page, run it; returns the run id."""
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    page.goto(server + "/scenarios/new")
    page.set_input_files("#upload", str(path))
    page.wait_for_function("document.getElementById('toml').value.includes('[scenario]')")
    page.click("#run-toml")
    page.wait_for_url("**/runs/*", timeout=TIMEOUT_MS)
    return page.url.rsplit("/", 1)[-1]


def test_upload_a_scenario_file_check_it_and_run_it(server: str, browser_page: Any, tmp_path: Path) -> None:  # noqa: F811
    page, errors, foreign = browser_page
    broken = tmp_path / "broken.toml"
    broken.write_text(PE_TOML.replace("covered_share = 0.5", "covered_share = 5.0"), encoding="utf-8")
    page.goto(server + "/")
    page.click("#new-scenario")
    page.wait_for_url("**/scenarios/new")  # loaded: the page's script is wired
    page.set_input_files("#upload", str(broken))
    page.wait_for_function("document.getElementById('toml').value.includes('covered_share = 5.0')")
    page.click("#validate-toml")
    message = page.locator("#message")
    message.wait_for(state="visible")
    page.wait_for_function("document.getElementById('message').textContent.includes('covered_share')")
    line = next(k for k, row in enumerate(PE_TOML.splitlines(), 1) if row.startswith("covered_share"))
    assert f"<submitted scenario>:{line}: field 'after.measures[0].covered_share'" in message.inner_text()
    assert errors == ["Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"]
    errors.clear()  # the refused check, as intended
    run_id = upload_and_run(page, server, tmp_path, PE_TOML)
    assert page.locator("table[data-table='products'] tbody tr").count() > 0
    assert api(server, f"/api/runs/{run_id}")["meta"]["model"]["name"] == "pe"
    assert not errors and not foreign, (errors, foreign)


def test_a_file_chosen_before_the_script_ran_is_loaded(server: str, browser_page: Any, tmp_path: Path) -> None:  # noqa: F811
    """The CI failure of stop 17: the file was set while the page's deferred script was still loading,
    so its change event fired before any listener existed. The script is held back here until the
    file is chosen; once it runs it loads the chosen file."""
    page, errors, foreign = browser_page
    path = tmp_path / "early.toml"
    path.write_text(PE_TOML, encoding="utf-8")
    held: list[Any] = []

    def hold(route: Any) -> None:  # the request waits until the test lets it go
        held.append(route)

    page.route("**/static/app.js", hold)
    page.goto(server + "/scenarios/new", wait_until="commit")
    page.wait_for_selector("#upload", state="attached")
    page.set_input_files("#upload", str(path))
    for _ in range(200):  # up to 10 s for the page to ask for its script
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the page never asked for its script"
    assert page.evaluate("document.getElementById('toml').value") == ""  # no script ran yet
    held[0].continue_()
    page.wait_for_function("document.getElementById('toml').value.includes('[scenario]')")
    assert "Loaded early.toml" in page.locator("#message").inner_text()
    assert not errors and not foreign, (errors, foreign)


def test_edit_and_rerun_a_users_own_scenario(server: str, browser_page: Any, tmp_path: Path) -> None:  # noqa: F811
    page, errors, foreign = browser_page
    first = upload_and_run(page, server, tmp_path, PE_TOML.replace('name = "pe-ban-web"', 'name = "my-pe-ban"'))
    page.click("#edit-rerun")
    page.wait_for_url(f"**/runs/{first}/edit")
    share = page.locator("[data-key='measures'] .item [data-key='covered_share'] input")
    share.fill("0.25")
    page.click("#run-form")
    page.wait_for_url("**/runs/*", timeout=TIMEOUT_MS)
    second = page.url.rsplit("/", 1)[-1]
    assert second != first
    shown = api(server, f"/api/runs/{second}/scenario")
    assert shown["name"] == "my-pe-ban" and shown["document"]["after"]["measures"][0]["covered_share"] == 0.25
    assert not errors and not foreign, (errors, foreign)


def test_request_draws_and_a_seed(server: str, browser_page: Any) -> None:  # noqa: F811
    page, errors, foreign = browser_page
    page.goto(server + "/scenarios/kazakhstan-leaves")
    page.fill("#draws", "4")
    page.fill("#seed", "7")
    page.click("#run-form")
    page.wait_for_url("**/runs/*", timeout=TIMEOUT_MS)
    run_id = page.url.rsplit("/", 1)[-1]
    assert page.locator("table[data-table='bands'] tbody tr").count() > 0
    uncertainty = api(server, f"/api/runs/{run_id}")["meta"]["uncertainty"]
    assert uncertainty["draws"] == 4 and uncertainty["seed"] == 7
    assert not errors and not foreign, (errors, foreign)


def test_compare_two_stored_runs(server: str, browser_page: Any, tmp_path: Path) -> None:  # noqa: F811
    page, errors, foreign = browser_page
    upload_and_run(page, server, tmp_path, PE_TOML)
    upload_and_run(page, server, tmp_path, PE_TOML.replace("covered_share = 0.5", "covered_share = 0.9"))
    page.goto(server + "/")
    boxes = page.locator("[data-compare]")
    assert boxes.count() >= 2
    ids = [boxes.nth(0).get_attribute("data-compare"), boxes.nth(1).get_attribute("data-compare")]
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#compare-selected")
    page.wait_for_url("**/compare?*")
    assert page.locator("#compared-runs tbody tr").count() == 2
    header = page.locator("#comparison thead").inner_text()
    assert "country" in header and " - " in header  # values per run and differences to the reference
    assert [run["run_id"] for run in api(server, "/api/compare?" + "&".join(f"run={i}" for i in ids))["runs"]] == ids
    assert not errors and not foreign, (errors, foreign)


def test_download_a_run(server: str, browser_page: Any, tmp_path: Path) -> None:  # noqa: F811
    import openpyxl
    import pandas as pd

    page, errors, foreign = browser_page
    run_id = upload_and_run(page, server, tmp_path, PE_TOML)
    with page.expect_download() as caught:
        page.click("#downloads a[href$='/download/xlsx']")
    workbook = tmp_path / "run.xlsx"
    caught.value.save_as(workbook)
    assert caught.value.suggested_filename == f"{run_id}.xlsx"
    book = openpyxl.load_workbook(workbook, read_only=True)
    assert book.sheetnames[0] == "README" and {"countries", "products", "flows"} <= set(book.sheetnames)
    with page.expect_download() as caught:
        page.click("#downloads a[href$='/download/csv-ru']")
    archive = zipfile.ZipFile(io.BytesIO(Path(caught.value.path()).read_bytes()))
    name = next(n for n in archive.namelist() if n.endswith("/countries.csv"))
    frame = pd.read_csv(io.BytesIO(archive.read(name)), sep=";", decimal=",", encoding="utf-8-sig")
    served = pd.DataFrame(api(server, f"/api/runs/{run_id}")["countries"])
    assert list(frame["country"]) == list(served["country"])
    assert not errors and not foreign, (errors, foreign)


def test_choose_model_options_and_run(server: str, browser_page: Any) -> None:  # noqa: F811
    """[model] deficits and labour, which the library file does not set, chosen on the form (selects found by
    their labels) and run; the options left at their default add nothing to the stored scenario."""
    page, errors, foreign = browser_page
    page.goto(server + "/scenarios/kazakhstan-leaves")
    model = page.locator('fieldset[data-key="model"]')
    deficits = model.get_by_label("deficits", exact=True)
    labour = model.get_by_label("labour", exact=True)
    assert deficits.locator("option").all_text_contents() == ["observed (default)", "purged"]
    assert labour.locator("option").all_text_contents() == ["dataset default", "on", "off"]
    assert model.get_by_label("closure", exact=True).input_value() == '"ratio"'
    deficits.select_option(label="purged")
    labour.select_option(label="off")
    page.click("#validate-form")
    page.wait_for_function("document.getElementById('message').textContent.includes('is valid')")
    page.click("#run-form")
    page.wait_for_url("**/runs/*", timeout=TIMEOUT_MS)
    run_id = page.url.rsplit("/", 1)[-1]
    meta = api(server, f"/api/runs/{run_id}")["meta"]
    assert meta["model"]["deficits"] == "purged" and meta["model"]["parameters"]["labour"] is False
    stored = api(server, f"/api/runs/{run_id}/scenario")["document"]["model"]
    assert {key: value for key, value in stored.items() if key != "theta"} == {"deficits": "purged", "labour": False}
    page.click("#edit-rerun")
    page.wait_for_url(f"**/runs/{run_id}/edit")
    again = page.locator('fieldset[data-key="model"]')
    assert again.get_by_label("deficits", exact=True).input_value() == '"purged"'
    assert again.get_by_label("labour", exact=True).input_value() == "false"
    assert not errors and not foreign, (errors, foreign)
