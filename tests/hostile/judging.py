"""Judging hostile probes (tests/test_hostile.py): run the CLI, the API and the web app, classify outcomes.

Verdicts: GOOD ``refused`` (a BlocsimError, a CLI exit 1/2 with a message and no traceback, an HTTP
4xx) and ``ran`` (it ran and passed its checks); BAD ``traceback`` (a traceback, a non-Blocsim
exception, a crash or an HTTP 5xx), ``silent_wrong`` (reported as converged but non-finite or
inconsistent), ``accepted`` (a hostile input that must be refused was taken), ``files_lost`` (a file
blocsim did not write deleted or changed), ``run_lost`` and ``debris`` (kill -9 probes).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

import blocsim
from blocsim.errors import BlocsimError

SRC = Path(blocsim.__file__).resolve().parents[1]
GOOD = ("refused", "ran")
BAD = ("traceback", "silent_wrong", "accepted", "files_lost", "run_lost", "debris")


@dataclass(frozen=True)
class Outcome:
    """What one probe observed: a verdict (GOOD or BAD) and what happened."""

    verdict: str
    detail: str


# --- running things and judging them ----------------------------------------------------------

def env_for(root: Path) -> dict[str, str]:
    """Environment of a CLI subprocess: this checkout's blocsim, a private BLOCSIM_HOME."""
    path = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "BLOCSIM_HOME": str(root / "home"), "COLUMNS": "1000"}


def cli(root: Path, *args: str, timeout: float = 300, **popen: Any) -> subprocess.CompletedProcess:
    """``python -m blocsim ARGS`` in ``root``."""
    return subprocess.run([sys.executable, "-m", "blocsim", *args], cwd=root, env=env_for(root), capture_output=True,
                          text=True, timeout=timeout, **popen)


def crashed(returncode: int, output: str) -> bool:
    """A traceback, a Rust panic or a death by signal (abort = 134, or negative)."""
    return ("Traceback" in output or "panicked at" in output or "Fatal Python error" in output
            or returncode < 0 or returncode >= 128)


def message_line(output: str) -> str:
    """The CLI's message: the line starting with ``error``, else the last line with text (box borders cut)."""
    lines = [line.strip(" \u2502\u256d\u256e\u2570\u256f\u2500") for line in output.splitlines()]
    lines = [line for line in lines if line and not line.startswith("Error")]
    errors = [line for line in lines if line.lower().startswith("error") or line.startswith("No such")]
    return (errors or lines or [""])[0 if errors else -1]


def judge_cli(result: subprocess.CompletedProcess, *, must_refuse: bool, secret: str | None = None) -> Outcome:
    """Refused (exit 1/2, a message, no traceback), crashed, or ran (``accepted`` if it had to refuse)."""
    output = result.stdout + result.stderr
    last = [message_line(result.stderr or result.stdout)]
    if crashed(result.returncode, output):
        return Outcome("traceback", f"exit {result.returncode}: {output.strip()[-300:]}")
    if secret is not None and secret in "".join(output.split()):  # also when wrapped across lines
        return Outcome("accepted", f"exit {result.returncode}; the output shows the outside file's content: {last[0]}")
    if result.returncode in (1, 2) and output.strip():
        return Outcome("refused", last[0][:200])
    if result.returncode == 0:
        return Outcome("accepted" if must_refuse else "ran", "exit 0")
    return Outcome("traceback", f"exit {result.returncode} without a message")


def judge_call(call: Callable[[], Any], check: Callable[[Any], Outcome]) -> Outcome:
    """Refused (a BlocsimError), traceback (any other exception), else ``check(result)``."""
    try:
        result = call()
    except BlocsimError as error:
        return Outcome("refused", f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
    except Exception as error:  # noqa: BLE001 -- any other exception is the finding
        return Outcome("traceback", f"{type(error).__name__}: {str(error)[:200]}")
    return check(result)


#: percent changes that are 0/0 (NaN) when their baseline is zero, e.g. the exports of a country with none
ZERO_BASELINE = {"exports_pct": "exports_baseline", "exports_cond_pct": "exports_baseline",
                 "imports_pct": "imports_baseline", "imports_cond_pct": "imports_baseline"}


def nonfinite_pct(countries: pd.DataFrame) -> list[str]:
    """``*_pct`` columns with a non-finite value other than the 0/0 of a zero baseline."""
    bad = []
    for column in countries.filter(like="_pct").columns:
        values = countries[column].to_numpy(float)
        allowed = np.isnan(values) & (countries[ZERO_BASELINE[column]].to_numpy(float) == 0.0) \
            if column in ZERO_BASELINE and ZERO_BASELINE[column] in countries else np.zeros(len(values), bool)
        if not (np.isfinite(values) | allowed).all():
            bad.append(column)
    return bad


def check_scenario_result(result: Any) -> Outcome:
    """A converged scenario run must be finite and keep its identities (flows vs country totals, world balance)."""
    diagnostics = result.meta["diagnostics"]
    if diagnostics.get("converged") and diagnostics.get("conditional_converged") is False:
        return Outcome("silent_wrong", "converged=True while the conditional solve failed "
                                       f"(conditional_max_residual {diagnostics.get('conditional_max_residual')})")
    if not diagnostics.get("converged"):
        return Outcome("ran", f"reported as not converged: {diagnostics}")
    countries = result.countries.set_index("country")
    if nonfinite_pct(countries):
        return Outcome("silent_wrong", f"converged=True with non-finite {nonfinite_pct(countries)}")
    flows = result.flows[result.flows["exporter"] != result.flows["importer"]]
    exports = flows.groupby("exporter")["trade_counterfactual"].sum().reindex(countries.index, fill_value=0.0)
    gap = float(np.abs(exports - countries["exports_counterfactual"]).max())
    balance = abs(float(countries["deficit_counterfactual"].sum()))
    scale = float(countries["imports_counterfactual"].sum())
    if not (gap <= 1e-6 * scale and balance <= 1e-6 * scale):
        return Outcome("silent_wrong", f"identities broken: exports gap {gap:.3g}, world balance {balance:.3g}")
    return Outcome("ran", "converged, finite, identities hold")


def web_client(root: Path) -> Any:
    from fastapi.testclient import TestClient

    from blocsim.web.app import create_app

    return TestClient(create_app(root / "home", workers=1), base_url="http://127.0.0.1", raise_server_exceptions=False)


def judge_http(response: Any, *, must_refuse: bool, secret: str | None = None) -> Outcome:
    text = response.text[:300]
    if response.status_code >= 500:
        return Outcome("traceback", f"HTTP {response.status_code}: {text}")
    if secret is not None and secret in "".join(response.text.split()):
        return Outcome("accepted", f"HTTP {response.status_code} shows the outside file's content")
    if 400 <= response.status_code < 500:
        return Outcome("refused", f"HTTP {response.status_code}: {text[:150]}")
    return Outcome("accepted" if must_refuse else "ran", f"HTTP {response.status_code}")


def wait_for_job(client: Any, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/jobs/{job_id}").json()
        if status["state"] in ("succeeded", "failed"):
            return status
        time.sleep(0.1)
    return {"state": "timeout"}



def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def changed_files(before: dict[str, str], folder: Path) -> list[str]:
    after = snapshot(folder) if folder.is_dir() else {}
    return sorted(name for name, digest in before.items() if after.get(name) != digest)



def tally_lines(results: dict[str, Outcome], classes: dict[str, str]) -> list[str]:
    """The tally (counts of each verdict) and one line per bad outcome; ``classes`` maps probe -> class."""
    counts = Counter(outcome.verdict for outcome in results.values())
    bad = {verdict: counts.get(verdict, 0) for verdict in BAD}
    return [f"hostile probes: {len(results)} run; good: " + ", ".join(f"{v} {counts.get(v, 0)}" for v in GOOD)
            + "; bad: " + ", ".join(f"{v} {n}" for v, n in bad.items()),
            *[f"  BAD {name} [{classes[name]}]: {o.verdict}: {o.detail}"
              for name, o in results.items() if o.verdict in BAD]]
