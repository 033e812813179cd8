"""CI cannot pass without running the browser tests.

- ``make browser`` exits non-zero when chromium is missing and cannot be installed;
- ``.ci/run`` sets ``BLOCSIM_REQUIRE_BROWSER=1`` for ``make test``;
- with that variable, the project's ``tests/conftest.py`` fails a pytest run in which a
  ``browser``-marked test was skipped or deselected, or none ran (with and without xdist).

The conftest is exercised by copying it, verbatim, into a tiny test directory run by a
pytest subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

BROWSER_TESTS = {
    "passing": "import pytest\n\n@pytest.mark.browser\ndef test_in_browser():\n    assert True\n",
    "skipped": ("import pytest\n\n@pytest.mark.browser\n@pytest.mark.skipif(True, reason='no chromium')\n"
                "def test_in_browser():\n    assert True\n"),
    "none": "",
}


def _run_pytest(tmp_path: Path, browser: str, *args: str, require: bool = True) -> subprocess.CompletedProcess:
    """Run pytest on a directory holding one plain test and one browser test of kind ``browser``."""
    root = tmp_path / "suite"
    root.mkdir()
    shutil.copy(REPO / "tests" / "conftest.py", root / "conftest.py")
    (root / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\nmarkers =\n    browser: needs chromium\n")
    (root / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    (root / "test_browser_kind.py").write_text(BROWSER_TESTS[browser] or "def test_other():\n    assert True\n")
    env = {k: v for k, v in os.environ.items() if k != "BLOCSIM_REQUIRE_BROWSER"}
    if require:
        env["BLOCSIM_REQUIRE_BROWSER"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("browser,args,expected", [
    ("passing", (), 0),
    ("skipped", (), 1),
    ("none", (), 1),
    ("passing", ("-m", "not browser"), 1),
    ("passing", ("-k", "plain"), 1),
    ("passing", ("-n", "2"), 0),
    ("skipped", ("-n", "2"), 1),
    ("passing", ("-n", "2", "-m", "not browser"), 1),
], ids=["ran", "skipped", "no_browser_test", "deselected_by_marker", "deselected_by_k", "xdist_ran", "xdist_skipped",
        "xdist_deselected"])
def test_required_browser_tests_fail_the_run_unless_they_ran(tmp_path: Path, browser: str, args: tuple,
                                                             expected: int) -> None:
    result = _run_pytest(tmp_path, browser, *args)
    assert result.returncode == expected, result.stdout + result.stderr
    if expected:
        assert "BLOCSIM_REQUIRE_BROWSER=1 but the browser tests did not all run" in result.stdout


def test_without_the_requirement_a_skipped_browser_test_is_only_a_skip(tmp_path: Path) -> None:
    result = _run_pytest(tmp_path, "skipped", require=False)
    assert result.returncode == 0 and "1 skipped" in result.stdout, result.stdout


def _make_browser(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    settings = [f"{name}={value}" for name, value in variables.items()]
    return subprocess.run(["make", "-s", "-C", str(REPO), "browser", *settings], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "TMPDIR": str(tmp_path)})


@pytest.mark.parametrize("apt_get", ["false", "true"], ids=["install_fails", "install_installs_nothing"])
def test_make_browser_fails_when_chromium_cannot_be_installed(tmp_path: Path, apt_get: str) -> None:
    """As root the target tries ``$(APT_GET) install chromium`` (stubbed here); as a user it cannot install."""
    result = _make_browser(tmp_path, CHROMIUM=str(tmp_path / "no-chromium"), APT_GET=apt_get)
    assert result.returncode != 0
    assert "ERROR:" in result.stderr and "chromium" in result.stderr


def test_make_browser_passes_with_a_working_chromium(tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'Chromium 1.0'\n")
    fake.chmod(0o755)
    result = _make_browser(tmp_path, CHROMIUM=str(fake), APT_GET="false")
    assert result.returncode == 0, result.stderr


def test_ci_run_requires_the_browser_tests(tmp_path: Path) -> None:
    """``.ci/run`` hands ``make test`` the requirement (a stub ``make`` records what it got)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "make.txt"
    (bin_dir / "make").write_text(f"#!/bin/sh\necho \"$@ BLOCSIM_REQUIRE_BROWSER=$BLOCSIM_REQUIRE_BROWSER\" > {record}\n")
    (bin_dir / "make").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    env.pop("BLOCSIM_REQUIRE_BROWSER", None)
    result = subprocess.run(["bash", str(REPO / ".ci" / "run")], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert record.read_text().split() == ["test", "BLOCSIM_REQUIRE_BROWSER=1"]
