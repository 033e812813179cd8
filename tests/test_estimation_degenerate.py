"""Separated and degenerate PPML samples (issue 13, findings 6 and 7).

A covariate with no finite estimate is a failure, never a "converged" number; degenerate
samples are rejected before pyfixest sees them, so nothing aborts the process (the Rust
panic, exit 134) or escapes as a bare pyfixest traceback. Cases that used to abort the
interpreter run in a subprocess, so that on broken code they fail instead of killing the
test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blocsim.data.samples import load_sample
from blocsim.errors import ConvergenceError, DataValidationError
from blocsim.estimation import estimate_gravity

COVARIATES = ["ln_DIST", "CNTG", "INTL_BRDR"]
PREFIX = "estimate_gravity: pyfixest: "


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    """Yotov et al. (2016) ch. 2: 69 countries, 2006, domestic flows included."""
    return load_sample("yotov2016_trade_without_borders_2006")


@pytest.fixture(scope="module")
def domestic_zero(sample: pd.DataFrame) -> pd.DataFrame:
    """The issue's repro: every domestic flow is zero, so INTL_BRDR (= 1 off the diagonal)
    predicts every zero flow perfectly and has no finite estimate."""
    frame = sample.copy()
    frame.loc[frame["exporter"] == frame["importer"], "trade"] = 0.0
    return frame


def two_by_two(home_a: float) -> pd.DataFrame:
    """Two countries with exporter and importer effects and a home dummy: saturated, so
    PPML fits exactly and b_home = log(X_AA X_BB / (X_AB X_BA)) / 2 in closed form."""
    return pd.DataFrame({
        "exporter": ["A", "A", "B", "B"],
        "importer": ["A", "B", "A", "B"],
        "trade": [home_a, 10.0, 4.0, 80.0],
        "home": [1.0, 0.0, 0.0, 1.0],
    })


# --- finding 6: no finite estimate is a failure ----------------------------------------------

def test_covariate_that_predicts_the_zero_flows_is_an_error(domestic_zero: pd.DataFrame) -> None:
    with pytest.raises(ConvergenceError) as error:
        estimate_gravity(domestic_zero, covariates=COVARIATES)
    message = str(error.value)
    assert "no finite estimate for ['INTL_BRDR']" in message
    assert "zero flows of 69 observation(s)" in message
    assert "row 0 (exporter='ARG', importer='ARG', trade=0.0, INTL_BRDR=0)" in message


def test_failure_on_request_is_returned_not_converged_with_nan(domestic_zero: pd.DataFrame) -> None:
    result = estimate_gravity(domestic_zero, covariates=COVARIATES, raise_on_failure=False)
    assert result.converged is False
    assert result.not_identified == ("INTL_BRDR",)
    assert result.n_separated == 69 and result.n_dropped == 69
    assert np.isnan(result.coefficients["INTL_BRDR"]) and np.isnan(result.std_errors["INTL_BRDR"])
    assert result.vcov.loc["INTL_BRDR"].isna().all() and result.vcov["INTL_BRDR"].isna().all()
    # the identified part is the fit without the separated (domestic) observations
    without = estimate_gravity(domestic_zero, covariates=["ln_DIST", "CNTG"], domestic="drop")
    np.testing.assert_allclose(result.coefficients[["ln_DIST", "CNTG"]], without.coefficients, rtol=1e-8)
    np.testing.assert_allclose(result.std_errors[["ln_DIST", "CNTG"]], without.std_errors, rtol=1e-6)
    assert "no finite estimate (separation): ['INTL_BRDR']" in result.summary()
    assert result.diagnostics["not_identified"] == ["INTL_BRDR"] and not result.diagnostics["converged"]
    with pytest.raises(DataValidationError, match=r"did not converge .*no finite estimate for \['INTL_BRDR'\]"):
        result.cost_coefficients()


@pytest.mark.parametrize("methods", [["fe"], []], ids=["fe-only", "no-check"])
def test_divergence_is_caught_when_the_rectifier_is_off(domestic_zero: pd.DataFrame, methods: list[str]) -> None:
    """Without the iterative rectifier IRLS stops at INTL_BRDR = 21.5 (the issue's number);
    a 100-fold tighter tolerance moves it by about log(100), which marks divergence."""
    with pytest.raises(ConvergenceError, match=r"no finite estimate for \['INTL_BRDR'\]: their estimates keep running"):
        estimate_gravity(domestic_zero, covariates=COVARIATES, separation_check=methods)
    result = estimate_gravity(domestic_zero, covariates=COVARIATES, separation_check=methods, raise_on_failure=False)
    assert result.not_identified == ("INTL_BRDR",) and not result.converged
    assert np.isfinite(result.coefficients[["ln_DIST", "CNTG"]]).all()


@pytest.mark.filterwarnings("ignore:estimate_gravity. pyfixest. :UserWarning")  # arithmetic on the saturated remainder
def test_closed_form_two_country_case() -> None:
    for home_a in (50.0, 0.01):
        result = estimate_gravity(two_by_two(home_a), covariates=["home"])
        closed_form = 0.5 * np.log(home_a * 80.0 / (10.0 * 4.0))
        assert result.converged
        assert result.coefficients["home"] == pytest.approx(closed_form, abs=1e-8)
    # X_AA = 0: the closed form is log(0) / 2 = -infinity
    with pytest.raises(ConvergenceError, match=r"no finite estimate for \['home'\].*1 observation\(s\)"):
        estimate_gravity(two_by_two(0.0), covariates=["home"])


def test_pyfixest_warnings_are_recorded_and_reissued() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = estimate_gravity(two_by_two(0.0), covariates=["home"], raise_on_failure=False)
    reissued = [str(w.message) for w in caught if str(w.message).startswith(PREFIX)]
    assert "1 observations removed because of separation." in result.fit_warnings  # -> n_separated
    assert result.n_separated == 1
    assert f"{PREFIX}1 observations removed because of separation." not in reissued
    others = [m for m in result.fit_warnings if "separation" not in m and "multicollinearity" not in m]
    assert others, result.fit_warnings  # pyfixest's arithmetic warnings on the saturated remainder
    assert reissued == [PREFIX + m for m in others]


def test_fit_that_stops_at_maxiter_raises_convergence_error(sample: pd.DataFrame) -> None:
    """pyfixest sets no ``_convergence`` attribute when IRLS stops early: this used to be an
    AttributeError traceback."""
    with pytest.raises(ConvergenceError, match="did not converge"):
        estimate_gravity(sample, covariates=COVARIATES, maxiter=2)
    result = estimate_gravity(sample, covariates=COVARIATES, maxiter=2, raise_on_failure=False)
    assert result.converged is False and result.not_identified == ()


def test_separation_by_fixed_effects_alone_is_fine(sample: pd.DataFrame) -> None:
    """Zero exports of one country separate that exporter's effect, not a covariate: the
    observations are dropped (as ppmlhdfe does) and the fit converges."""
    frame = sample.copy()
    frame.loc[frame["exporter"] == "ARG", "trade"] = 0.0
    result = estimate_gravity(frame, covariates=COVARIATES)
    assert result.converged and result.n_separated == 69 and result.not_identified == ()


# --- finding 7: degenerate inputs are rejected at the boundary -------------------------------

@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda f: f.assign(trade=np.where(f.index == 1, 1e308, f["trade"])),
         r"column 'trade' \(argument flow=\) has values above 1e\+100 in 1 row, first: row 1 \(exporter='ARG', "
         r"importer='AUS'"),
        (lambda f: f.assign(ln_DIST=np.where(f.index == 5, -1e308, f["ln_DIST"])),
         r"column 'ln_DIST' \(argument covariates\[0\]=\) has values beyond \+/-1e\+50 in 1 row, first: row 5"),
        (lambda f: f.assign(trade=np.where(f.index == 3, np.inf, f["trade"])),
         r"infinite values in the used columns in 1 row, first: row 3"),
        (lambda f: f.assign(CNTG=np.where(f.index == 9, -np.inf, f["CNTG"])),
         r"infinite values in the used columns in 1 row, first: row 9"),
    ],
    ids=["flow-1e308", "covariate-1e308", "flow-inf", "covariate-minus-inf"],
)
def test_degenerate_values_are_rejected_before_pyfixest(sample: pd.DataFrame, edit, fragment: str) -> None:  # type: ignore[no-untyped-def]
    for missing in ("error", "drop"):  # infinite is never "missing"
        with pytest.raises(DataValidationError, match=fragment):
            estimate_gravity(edit(sample), covariates=COVARIATES, missing=missing)


def test_badly_scaled_covariate_is_a_convergence_error_naming_it(sample: pd.DataFrame) -> None:
    frame = sample.assign(ln_DIST=np.where(sample.index == 1, 1e9, sample["ln_DIST"]))
    with pytest.raises(ConvergenceError, match=r"demeaning\) inside IRLS did not converge.*ln_DIST: 1e\+09"):
        estimate_gravity(frame, covariates=COVARIATES)


def test_huge_log_offset_is_rejected(sample: pd.DataFrame) -> None:
    frame = sample.assign(cost=np.where(sample.index == 2, 1e4, 0.0))
    with pytest.raises(DataValidationError, match=r"column 'cost' \(argument offset=\) has log offsets beyond"):
        estimate_gravity(frame, covariates=["ln_DIST"], offset="cost")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"tol": 1.0}, r"tol=1.0\): allowed: a number in \(0, 1\)"),
        ({"maxiter": 2.5}, r"maxiter=2.5\): allowed: an int >= 1"),
        ({"maxiter": True}, r"maxiter=True\): allowed: an int >= 1"),
        ({"fixef_tol": float("nan")}, r"fixef_tol=nan\): allowed"),
        ({"separation_check": ["simplex"]}, r"separation_check=\['simplex'\]\): not an allowed value"),
        ({"raise_on_failure": "yes"}, r"raise_on_failure='yes'\): allowed: True or False"),
    ],
)
def test_bad_solver_options_are_errors(sample: pd.DataFrame, kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(DataValidationError, match=fragment):
        estimate_gravity(sample, covariates=COVARIATES, **kwargs)  # type: ignore[arg-type]


# --- the former Rust panics (exit 134), in a subprocess --------------------------------------

def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BLOCSIM_HOME": str(tmp_path / "home")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=300,
    )


PANIC_CASES = {
    "one-country": ("frame = frame[(frame.exporter == 'ARG') & (frame.importer == 'ARG')]",
                    "at least 2 exporters to at least 2 importers"),
    "one-exporter": ("frame = frame[frame.exporter == 'ARG']",
                     "at least 2 exporters to at least 2 importers, but the estimation sample (69 rows) has 1 "
                     "exporter(s) ['ARG']"),
    "all-zero": ("frame = frame.assign(trade=0.0)", "is zero in all 4761 rows"),
    "all-singletons": ("frame = frame.assign(pair_year=2006)",
                       "no observation is left to estimate from: 4761 rows are the only row of a fixed-effect group"),
}


@pytest.mark.parametrize("case", list(PANIC_CASES))
def test_former_panics_are_errors_in_process(case: str, tmp_path: Path) -> None:
    edit, fragment = PANIC_CASES[case]
    options = "year='pair_year', fixed_effects='exporter_year-importer_year+pair'" if case == "all-singletons" else ""
    completed = _python(
        f"""
        from blocsim.data.samples import load_sample
        from blocsim.errors import BlocsimError
        from blocsim.estimation import estimate_gravity
        frame = load_sample("yotov2016_trade_without_borders_2006")
        {edit}
        try:
            estimate_gravity(frame, covariates=["ln_DIST", "CNTG", "INTL_BRDR"], {options})
        except BlocsimError as error:
            print(type(error).__name__, error)
        """,
        tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "panicked" not in completed.stderr and "Traceback" not in completed.stderr
    assert completed.stdout.startswith("DataValidationError"), completed.stdout
    assert fragment in completed.stdout


GE_CONFIG = """
[scenario]
name = "{name}"

[data]
path = "{name}.csv"
year_column = "year"

[estimation]
cost_variables = ["ln_DIST", "CNTG", "INTL_BRDR"]

[ge]
sigma = 7
reference_importer = "ARG"

[[counterfactual.set]]
column = "INTL_BRDR"
value = 0
pairs = "all"
"""

CLI_CASES = {  # the repros through `blocsim ge`
    "domestic-zero": (lambda f: f.assign(trade=np.where(f["exporter"] == f["importer"], 0.0, f["trade"])),
                      "no finite estimate for ['INTL_BRDR']"),
    "all-zero": (lambda f: f.assign(trade=0.0), "is zero in all 4761 rows"),
    # one country has no international pair, so the config's change is refused (a zero shock) before the
    # estimation; the PPML check of the same data is tested in process above
    "one-country": (lambda f: f[(f["exporter"] == "ARG") & (f["importer"] == "ARG")],
                    "selects no pair of the data"),
    "flow-1e308": (lambda f: f.assign(trade=np.where(f.index == 1, 1e308, f["trade"])), "has values above 1e+100"),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_ge_on_degenerate_data_exits_with_one_line(case: str, sample: pd.DataFrame, tmp_path: Path) -> None:
    edit, fragment = CLI_CASES[case]
    edit(sample).to_csv(tmp_path / f"{case}.csv", index=False)
    (tmp_path / f"{case}.toml").write_text(GE_CONFIG.format(name=case))
    out = tmp_path / "run"
    env = {**os.environ, "BLOCSIM_HOME": str(tmp_path / "home"), "COLUMNS": "1000"}
    completed = subprocess.run(
        [sys.executable, "-m", "blocsim", "ge", str(tmp_path / f"{case}.toml"), "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    lines = [line for line in (completed.stdout + completed.stderr).splitlines()
             if not line.startswith("note: the blocsim ge file format is deprecated")]  # the old format's note
    output = " ".join(" ".join(lines).split())
    assert completed.returncode == 1, output[-2000:]
    assert "Traceback" not in output and "panicked" not in output
    assert output.startswith("error: ") and fragment in output, output
    assert not out.exists()
