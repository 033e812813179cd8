"""Shared fixtures and the CI guard on browser tests.

``shared_data`` points at ``../shared/data`` beside the repository (real public data used
as references). When it is absent, tests that need it are skipped, unless the environment
sets ``BLOCSIM_REQUIRE_SHARED=1`` (CI does), in which case they fail.

With ``BLOCSIM_REQUIRE_BROWSER=1`` (CI sets it in ``.ci/run``) the run fails unless every
test marked ``browser`` was collected, none was deselected (``-m``, ``-k``) or skipped (no
chromium), and at least one ran. Works with and without pytest-xdist: each worker reports
its deselected browser tests to the controller, which sees every test report.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BLOCSIM_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
REQUIRE_BROWSER = "BLOCSIM_REQUIRE_BROWSER"
_DESELECTED_KEY = "blocsim_browser_deselected"  # xdist workeroutput key


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ``../shared/data``; skips (or fails under BLOCSIM_REQUIRE_SHARED=1) if missing."""
    if not SHARED_DATA.is_dir():
        message = f"shared data not found at {SHARED_DATA} (set BLOCSIM_SHARED_DATA)"
        if os.environ.get("BLOCSIM_REQUIRE_SHARED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA


# --- BLOCSIM_REQUIRE_BROWSER=1: browser tests must run -----------------------------------------

class BrowserGuard:
    """Counts browser-marked tests: run (call phase reached), skipped, deselected; fails the run if required."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.ran: set[str] = set()
        self.skipped: set[str] = set()
        self.deselected = 0

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += sum(1 for item in items if item.get_closest_marker("browser"))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if "browser" not in report.keywords:
            return
        if report.skipped:
            self.skipped.add(report.nodeid)
        elif report.when == "call":
            self.ran.add(report.nodeid)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """pytest-xdist controller: every worker collects (and deselects) the whole suite."""
        output = getattr(node, "workeroutput", None) or {}
        self.deselected = max(self.deselected, int(output.get(_DESELECTED_KEY, 0)))

    def failure(self) -> str | None:
        """Why the browser requirement is not met, or None when it is (or is not requested)."""
        if os.environ.get(REQUIRE_BROWSER) != "1" or (self.ran and not self.skipped and not self.deselected):
            return None
        return (f"{REQUIRE_BROWSER}=1 but the browser tests did not all run: {len(self.ran)} ran, "
                f"{len(self.skipped)} skipped, {self.deselected} deselected (install Debian's chromium with "
                f"`make browser`; do not deselect the 'browser' marker)")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workeroutput"):  # an xdist worker: report to the controller
            self.config.workeroutput[_DESELECTED_KEY] = self.deselected
            return
        if self.failure() is not None and session.exitstatus in (pytest.ExitCode.OK,
                                                                  pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        message = self.failure()
        if message is not None:
            terminalreporter.write_line(f"FAILED: {message}", red=True, bold=True)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(BrowserGuard(config), "blocsim-browser-guard")


@pytest.fixture(autouse=True, scope="session")
def _private_blocsim_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Runs stored by the CLI go to a temporary home unless BLOCSIM_HOME is set (never ``~/.blocsim``)."""
    if "BLOCSIM_HOME" not in os.environ:
        os.environ["BLOCSIM_HOME"] = str(tmp_path_factory.mktemp("blocsim-home"))
