"""blocsim.solve_ge against USITC gegravity 0.3 on gegravity's own sample data.

Both get the same cost coefficients (the PPML estimates quoted in gegravity's example,
../shared/data/gegravity_sample/PROVENANCE.md), sigma = 5, reference importer DEU, and the
output/expenditure columns Y and E. Two counterfactuals: the CAN-JPN PTA of gegravity's
example, and GBR leaving all its PTAs.

``compat="gegravity"`` must agree with the median of gegravity's runs on every reported column
to 1e-6 relative, or to the spread of gegravity's own answers across ``omr_rescale`` in {0.01, 100, 1000} (the values
for which its three solves report success on this data) when that is wider. The spread is
measured in the test, per column; it is about 1e-8 to 5e-7 percentage points here.
The default (converged textbook fixed point) must differ: gegravity's "full GE" is a one-step
update that keeps baseline output shares inside the resistance equations.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import gegravity as ge
import numpy as np
import pandas as pd
import pytest

from blocsim.equilibrium.onesector import solve_ge

SIGMA = 5.0
COEFFICIENTS = {  # PROVENANCE.md: ppmlhdfe estimates quoted in gegravity's examples_OneSectorGE.py
    "lndist": -0.3898623,
    "contiguity": 0.891577,
    "common_language": 0.0326249,
    "pta": 0.4711383,
    "international": -3.412584,
}
RESCALES = (0.01, 100.0, 1000.0)
#: gegravity column -> (blocsim column, transform of blocsim's value)
COLUMN_MAP = {
    "factory gate price change (percent)": "factory_price_pct",
    "omr change (percent)": "omr_pct",
    "imr change (percent)": "imr_pct",
    "GDP change (percent)": "real_gdp_pct",
    "terms of trade change (percent)": "real_gdp_pct",
    "output change (percent)": "output_pct",
    "expenditure change (percent)": "expenditure_pct",
    "foreign exports change (percent)": "exports_pct",
    "foreign imports change (percent)": "imports_pct",
    "intranational trade change (percent)": "intranational_pct",
}
REL_TOL = 1e-6


def _counterfactual(data: pd.DataFrame, which: str) -> pd.DataFrame:
    out = data.copy()
    if which == "can_jpn_pta":
        pair = ((out["exporter"] == "CAN") & (out["importer"] == "JPN")) | (
            (out["exporter"] == "JPN") & (out["importer"] == "CAN")
        )
        out.loc[pair, "pta"] = 1
    else:
        out.loc[(out["exporter"] == "GBR") | (out["importer"] == "GBR"), "pta"] = 0
    return out


def _run_gegravity(data: pd.DataFrame, which: str, omr_rescale: float) -> pd.DataFrame:
    frame = data.assign(year=data["year"].astype(str))
    coefs = pd.DataFrame({"var": list(COEFFICIENTS), "coeff": list(COEFFICIENTS.values())})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        baseline = ge.BaselineData(frame, imp_var_name="importer", exp_var_name="exporter", year_var_name="year",
                                   trade_var_name="trade", expend_var_name="E", output_var_name="Y")
        model = ge.OneSectorGE(baseline, year="2006", reference_importer="DEU", sigma=SIGMA,
                               cost_variables=list(COEFFICIENTS),
                               cost_coeff_values=ge.CostCoeffs(estimates=coefs, identifier_col="var",
                                                               coeff_col="coeff"),
                               quiet=True)
        model.build_baseline(omr_rescale=omr_rescale)
        model.define_experiment(_counterfactual(model.baseline_data, which).assign(year="2006"))
        model.simulate()
    assert all(d.success for d in model.solver_diagnostics.values()), f"gegravity failed at {omr_rescale}"
    return model.country_results.sort_index()


@pytest.fixture(scope="module")
def sample(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / "gegravity_sample" / "sample_data_set.csv")


@pytest.fixture(scope="module", params=["can_jpn_pta", "gbr_leaves_ptas"])
def comparison(request: pytest.FixtureRequest, sample: pd.DataFrame) -> dict[str, object]:
    which = request.param
    runs = [_run_gegravity(sample, which, r) for r in RESCALES]
    kwargs = dict(sigma=SIGMA, cost_coefficients=COEFFICIENTS, counterfactual=_counterfactual(sample, which),
                  reference_importer="DEU", output="Y", expenditure="E")
    return {
        "which": which,
        "gegravity": runs,
        "compat": solve_ge(sample, compat="gegravity", **kwargs),
        "default": solve_ge(sample, **kwargs),
    }


def test_compat_gegravity_matches_every_column(comparison: dict[str, object]) -> None:
    runs: list[pd.DataFrame] = comparison["gegravity"]  # type: ignore[assignment]
    ours = comparison["compat"].countries.set_index("country").sort_index()  # type: ignore[union-attr]
    assert list(ours.index) == list(runs[0].index)
    for column, mine in COLUMN_MAP.items():
        values = np.array([r[column].to_numpy() for r in runs])
        spread = float(np.max(np.ptp(values, axis=0)))
        theirs = np.median(values, axis=0)
        tol = np.maximum(REL_TOL * np.abs(theirs), spread)
        gap = np.abs(ours[mine].to_numpy() - theirs)
        assert np.all(gap <= tol), f"{comparison['which']} {column}: gap {gap.max():.2e} > tol (spread {spread:.1e})"
    welfare_stat = 1.0 / (1.0 + ours["welfare_pct"] / 100.0)
    np.testing.assert_allclose(welfare_stat.to_numpy(), runs[0]["welfare statistic"].to_numpy(), rtol=REL_TOL)


# Shocked pair, an untouched pair, and the percent change of the shocked pair's cost term.
# CAN-JPN: gegravity's example (PROVENANCE.md): +60.181650 = (exp(0.4711383) - 1) * 100.
# GBR-DEU (pta 1 -> 0): (exp(-0.4711383) - 1) * 100 = -37.570877.
COST_SHOCK_EXAMPLES = {
    "can_jpn_pta": (("CAN", "JPN"), ("CAN", "DEU"), 60.181650),
    "gbr_leaves_ptas": (("GBR", "DEU"), ("CAN", "DEU"), -37.570877),
}


def test_cost_shock_matches_gegravity_example(comparison: dict[str, object]) -> None:
    """The trade-cost term of a shocked pair changes by exp(b_pta * d_pta) - 1; others do not move."""
    shocked, untouched, percent = COST_SHOCK_EXAMPLES[str(comparison["which"])]
    flows = comparison["compat"].flows.set_index(["exporter", "importer"])  # type: ignore[union-attr]
    assert (flows.loc[shocked, "cost_change"] - 1.0) * 100.0 == pytest.approx(percent, abs=1e-5)
    assert flows.loc[untouched, "cost_change"] == 1.0


def test_default_differs_from_the_one_step_update(comparison: dict[str, object]) -> None:
    """Textbook fixed point: market clearing holds; gegravity's one-step update does not clear markets."""
    default = comparison["default"]
    compat = comparison["compat"]
    gap = (default.countries["real_gdp_pct"] - compat.countries["real_gdp_pct"]).abs()  # type: ignore[union-attr]
    assert 1e-4 < gap.max() < 0.2
    for result, clears in ((default, True), (compat, False)):
        flows = result.flows  # type: ignore[union-attr]
        supply = flows.groupby("exporter")["trade_counterfactual"].sum().sort_index()
        output = result.countries.set_index("country")["output_counterfactual"].sort_index()  # type: ignore[union-attr]
        err = float(np.max(np.abs(supply / output - 1.0)))
        assert (err < 1e-10) == clears, err
