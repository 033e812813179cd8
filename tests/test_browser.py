"""The dashboard in a real browser: Playwright driving Debian's chromium (no browser download).

A uvicorn server runs the app on a free 127.0.0.1 port in a thread; the browser may talk
to that server only (any other request is aborted and fails the test).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

import blocsim
from blocsim.report.png import CHROMIUM_ARGS

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is not installed (apt-get install chromium)"),
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    from blocsim.web.app import create_app

    port = _free_port()
    app = create_app(tmp_path_factory.mktemp("home"), workers=2)
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=30)


@pytest.fixture()
def browser_page(server: str) -> Iterator[tuple[Any, list[str], list[str]]]:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    foreign: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def guard(route: Any) -> None:
            if route.request.url.startswith(server):
                route.continue_()
            else:
                foreign.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield page, errors, foreign
        finally:
            browser.close()


def test_run_kazakhstan_leaves_and_see_the_charts(server: str, browser_page: Any, tmp_path: Path) -> None:
    page, errors, foreign = browser_page
    page.goto(server + "/")
    page.click('button[data-run="kazakhstan-leaves"]')
    page.wait_for_url("**/jobs/*", timeout=15_000)
    page.wait_for_url("**/runs/*", timeout=120_000)
    report = page.frame_locator("iframe#report")
    report.locator("#fig-welfare svg.main-svg").first.wait_for(state="attached", timeout=30_000)
    report.locator("#fig-map path.choroplethlocation").first.wait_for(state="attached", timeout=30_000)
    run_id = page.url.rsplit("/", 1)[-1]
    served = page.request.get(f"{server}/api/runs/{run_id}").json()
    regions = [c["country"] for c in served["countries"]]
    members_after = set(served["meta"]["policy"]["after"]["blocs"]["EAEU"]["members"])
    assert len(regions) == len(blocsim.load_dataset("eaeu").countries) > 80  # every region of dataset v2
    assert report.locator("#fig-welfare g.point").count() == len(regions)  # one bar per region
    # three map layers: the rest of the world, the regions in view, and the outlines of the four
    # members after Kazakhstan leaves (RUS, BLR, ARM, KGZ)
    layers = report.locator("#fig-map g.choroplethlayer g.trace")
    assert layers.count() == 3
    assert members_after == {"RUS", "BLR", "ARM", "KGZ"}
    assert layers.nth(2).locator("path.choroplethlocation").count() == len(members_after)
    assert "Kazakhstan leaves the EAEU" in page.locator("h1").inner_text()
    assert page.locator(".chip").count() == len(regions)
    page.screenshot(path=str(tmp_path / "dashboard-run.png"), full_page=False)
    page.goto(server + "/")
    assert page.locator("#runs tbody tr").count() >= 1
    page.screenshot(path=str(tmp_path / "dashboard-index.png"), full_page=True)
    assert errors == []
    assert foreign == []


def test_edit_form_validates_adds_a_measure_and_runs(server: str, browser_page: Any, tmp_path: Path) -> None:
    page, errors, foreign = browser_page
    page.goto(server + "/scenarios/kazakhstan-leaves")
    pool = page.locator('fieldset[data-key="duty_pool"] label[data-key="RUS"] input')
    share = pool.input_value()
    pool.fill("50")
    page.click("#validate-form")
    page.wait_for_function("document.getElementById('message').textContent.includes('sum to 100')")
    page.screenshot(path=str(tmp_path / "dashboard-edit-error.png"), full_page=False)
    pool.fill(share)
    # add a measure from the schema-derived template: Russia bans German and US food imports
    measures = page.locator('fieldset[data-key="after"] > fieldset[data-key="measures"]')
    assert measures.locator(":scope > .item").count() == 0
    measures.locator('[data-add-template="tpl-after-measures-ban"]').click()
    ban = measures.locator(":scope > .item").last
    ban.locator('label[data-key="importer"] input').fill("RUS")
    ban.locator('label[data-key="origins"] input').fill("DEU, USA")
    ban.locator('label[data-key="sectors"] input').fill("C10T12")
    page.locator('fieldset[data-key="model"] label[data-key="C10T12"] input').fill("5.5")
    page.click("#validate-form")
    page.wait_for_function("document.getElementById('message').textContent.includes('is valid')")
    page.screenshot(path=str(tmp_path / "dashboard-edit-valid.png"), full_page=True)
    page.click("#run-form")
    page.wait_for_url("**/runs/*", timeout=120_000)
    page.frame_locator("iframe#report").locator("#fig-map path.choroplethlocation").first.wait_for(
        state="attached", timeout=30_000
    )
    page.screenshot(path=str(tmp_path / "dashboard-edited-run.png"), full_page=False)
    run_id = page.url.rsplit("/", 1)[-1]
    meta = page.request.get(f"{server}/api/runs/{run_id}").json()["meta"]
    (measure,) = meta["policy"]["after"]["measures"]
    assert "ban" in str(measure).lower() and "RUS" in str(measure) and "DEU" in str(measure)
    assert meta["model"]["parameters"]["theta"]["C10T12"] == 5.5
    # the one expected error: chromium logs the 422 answer to the invalid pool shares
    assert [e for e in errors if "status of 422" not in e] == []
    assert len(errors) == 1
    assert foreign == []
