"""PPML gravity estimation against the published Yotov et al. (2016) and gegravity estimates.

Reference values, sources and tolerances: tests/reference/yotov2016_estimation.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import blocsim
from blocsim.data import GravityData
from blocsim.errors import DataValidationError
from blocsim.estimation import GravityResults, estimate_gravity
from reference import yotov2016_estimation as ref

PAIR_FE = {
    "year": "year",
    "fixed_effects": "exporter_year-importer_year+pair",
    "pair": "symmetric",
    "domestic_pair": "shared",
}


def assert_estimates(result: GravityResults, expected: dict[str, tuple[float, float]], atol: float,
                     se_atol: float | None = None) -> None:
    """Every published (coefficient, s.e.) pair agrees within the stated absolute tolerance."""
    se_atol = atol if se_atol is None else se_atol
    for name, (coefficient, std_error) in expected.items():
        assert result.coefficients[name] == pytest.approx(coefficient, abs=atol), name
        assert result.std_errors[name] == pytest.approx(std_error, abs=se_atol), name


@pytest.fixture(scope="module")
def yotov(shared_data: Path) -> Path:
    return shared_data / "yotov2016"


@pytest.fixture(scope="module")
def panel(yotov: Path) -> pd.DataFrame:
    """The guide's 1986-2006 panel in 4-year steps, with the guide's variable names."""
    frame = pd.read_csv(yotov / "agtpa_panel_1986_2006.csv")
    frame = frame[frame["year"].isin(range(1986, 2007, 4))].reset_index(drop=True)
    frame = frame.rename(columns={c: c.upper() for c in frame.columns if c in {"cntg", "lang", "clny"} or c.startswith("rta")})
    frame["ln_DIST"] = np.log(frame["dist"])
    return frame


@pytest.fixture(scope="module")
def nafta_step1(panel: pd.DataFrame) -> GravityResults:
    return estimate_gravity(panel, covariates=["RTA"], **PAIR_FE)


# --- cross sections (chapter 2, gegravity) ---------------------------------------------------

def test_trade_without_borders_reproduces_the_authors_log(yotov: Path) -> None:
    data = pd.read_csv(yotov / "ch2_app1_trade_without_border_2006.csv")
    result = estimate_gravity(data, covariates=["ln_DIST", "CNTG", "INTL_BRDR"])
    assert_estimates(result, ref.TRADE_WITHOUT_BORDERS, ref.LOG_ATOL)
    assert result.n_obs == ref.TRADE_WITHOUT_BORDERS_N and result.n_dropped == 0
    assert result.converged and result.vcov_type == "robust"


def test_bundled_sample_gives_the_same_estimates_as_the_source() -> None:
    from blocsim.data.samples import load_sample

    sample = GravityData.from_frame(
        load_sample("yotov2016_trade_without_borders_2006"), year="year",
        covariates=["ln_DIST", "CNTG", "INTL_BRDR"], extra="drop",
    )
    result = blocsim.estimate_gravity(sample, covariates=["ln_DIST", "CNTG", "INTL_BRDR"])
    assert_estimates(result, ref.TRADE_WITHOUT_BORDERS, ref.LOG_ATOL)


def test_can_usa_border_part_ii(yotov: Path) -> None:
    data = pd.read_csv(yotov / "ch2_ex1_removing_specific_border_2006.csv")
    data["INTL_BRDR"] = np.where(data["INTL_BRDR_AB"] == 1, 0.0, data["INTL_BRDR"])  # as the do-file
    result = estimate_gravity(data, covariates=["ln_DIST", "CNTG", "INTL_BRDR", "INTL_BRDR_AB"])
    assert_estimates(result, ref.CAN_USA_BORDER, ref.LOG_ATOL)


def test_gegravity_sample_matches_ppmlhdfe(shared_data: Path) -> None:
    data = pd.read_csv(shared_data / "gegravity_sample" / "sample_data_set.csv")
    result = estimate_gravity(data, covariates=list(ref.GEGRAVITY_SAMPLE))
    assert_estimates(result, ref.GEGRAVITY_SAMPLE, ref.LOG_ATOL)
    assert result.cost_coefficients(["pta"]) == {"pta": pytest.approx(0.4711383, abs=ref.LOG_ATOL)}


# --- chapter 1 panels -------------------------------------------------------------------------

def test_table1_ppml_column(panel: pd.DataFrame) -> None:
    result = estimate_gravity(
        panel, covariates=list(ref.TABLE1_PPML), year="year",
        fixed_effects="exporter_year-importer_year", domestic="drop", cluster="pair_id",
    )
    assert_estimates(result, ref.TABLE1_PPML, ref.TABLE_ATOL)
    assert result.n_obs == ref.TABLE1_PPML_N
    assert result.vcov_type == "cluster(pair_id)"


def test_table3_ppml_rta(panel: pd.DataFrame) -> None:
    result = estimate_gravity(
        panel, covariates=[*ref.TABLE1_PPML, "RTA"], year="year",
        fixed_effects="exporter_year-importer_year", domestic="drop", cluster="pair_id",
    )
    assert_estimates(result, ref.TABLE3_PPML, ref.TABLE_ATOL)


@pytest.mark.slow
def test_table3_pair_effects_endogeneity_lead_and_phasing(panel: pd.DataFrame) -> None:
    endogeneity = estimate_gravity(panel, covariates=["RTA"], cluster="pair_id", **PAIR_FE)
    assert_estimates(endogeneity, ref.TABLE3_ENDOGENEITY, ref.TABLE_ATOL)
    assert endogeneity.n_obs == ref.TABLE3_PAIR_N

    lead = estimate_gravity(panel, covariates=list(ref.TABLE3_LEAD), cluster="pair_id", **PAIR_FE)
    assert_estimates(lead, ref.TABLE3_LEAD, ref.TABLE_ATOL)

    phasing = estimate_gravity(panel, covariates=list(ref.TABLE3_PHASING), cluster="pair_id", **PAIR_FE)
    assert_estimates(phasing, ref.TABLE3_PHASING, ref.TABLE_ATOL)
    ones = np.ones(len(ref.TABLE3_PHASING))
    total, total_se = ref.TABLE3_PHASING_TOTAL
    assert phasing.coefficients.sum() == pytest.approx(total, abs=ref.TABLE_ATOL)
    assert np.sqrt(ones @ phasing.vcov.to_numpy() @ ones) == pytest.approx(total_se, abs=ref.TABLE_ATOL)


@pytest.mark.slow
def test_table3_globalization(panel: pd.DataFrame) -> None:
    frame = panel.copy()
    international = frame["exporter"] != frame["importer"]
    for name in ref.TABLE3_GLOBALIZATION_BORDERS:
        frame[name] = (international & (frame["year"] == int(name[-4:]))).astype(float)
    covariates = [*ref.TABLE3_GLOBALIZATION, *ref.TABLE3_GLOBALIZATION_BORDERS]
    result = estimate_gravity(frame, covariates=covariates, cluster="pair_id", **PAIR_FE)
    assert_estimates(result, ref.TABLE3_GLOBALIZATION, ref.TABLE_ATOL)
    for name, value in ref.TABLE3_GLOBALIZATION_BORDERS.items():
        assert result.coefficients[name] == pytest.approx(value, abs=ref.TABLE_ATOL), name


@pytest.mark.parametrize("with_tariff", [False, True], ids=["rtas", "mfn_tariffs"])
def test_mfn_tariff_exercise(yotov: Path, with_tariff: bool) -> None:
    data = pd.read_csv(yotov / "ch1_exercise2_mfn_tariff.csv")
    domestic = data["exporter"] == data["importer"]
    data["ln_MFN"] = np.where(domestic, 0.0, np.log1p(data["MFN_TARIFF"]))
    expected = ref.MFN_TARIFFS if with_tariff else ref.MFN_RTAS
    result = estimate_gravity(
        data, covariates=list(expected), year="year",
        fixed_effects="exporter_year-importer_year+pair", pair="directed", cluster="pair",
    )
    assert_estimates(result, expected, ref.TABLE_ATOL)
    assert result.n_obs == ref.MFN_N


# --- chapter 2 application 2: two-stage trade costs ----------------------------------------

def test_nafta_step1_rta_and_robust_se(nafta_step1: GravityResults) -> None:
    assert_estimates(nafta_step1, ref.NAFTA_STEP1, ref.LOG_ATOL)
    assert nafta_step1.n_obs == ref.NAFTA_STEP1_N
    assert nafta_step1.n_dropped == 84  # rows of pairs with zero flows in every year (separated)
    assert nafta_step1.n_separated == 84 and nafta_step1.fit_warnings == ("84 observations removed because of separation.",)


def test_nafta_step2_pair_effects_on_gravity_variables(panel: pd.DataFrame, nafta_step1: GravityResults) -> None:
    pair_effect = nafta_step1.row_effects["pair"] - nafta_step1.fixed_effect_values["pair"]["domestic"]
    frame = panel.assign(tij=np.exp(pair_effect))
    stage2 = frame[(frame["year"] == 1994) & (frame["exporter"] != frame["importer"]) & frame["tij"].notna()]
    result = estimate_gravity(stage2, flow="tij", covariates=list(ref.NAFTA_STEP2), cluster="pair_id")
    assert result.n_obs == ref.NAFTA_STEP2_N
    assert_estimates(result, ref.NAFTA_STEP2, ref.LOG_ATOL)


# --- result object and fixed effects --------------------------------------------------------

def test_result_object_tables_and_fitted_values(shared_data: Path) -> None:
    data = pd.read_csv(shared_data / "gegravity_sample" / "sample_data_set.csv")
    result = estimate_gravity(data, covariates=["lndist", "pta", "international"])
    frame = result.to_frame()
    assert list(frame.columns) == ["term", "estimate", "std_error", "z", "p_value", "ci_low", "ci_high"]
    assert frame["ci_low"].lt(frame["estimate"]).all() and frame["ci_high"].gt(frame["estimate"]).all()
    assert "pta" in result.summary() and "observations: 900" in result.summary()
    assert result.vcov.shape == (3, 3)
    np.testing.assert_allclose(np.sqrt(np.diag(result.vcov)), result.std_errors, rtol=1e-12)
    # PPML with exporter and importer effects reproduces every output and expenditure total
    fitted = data.assign(fit=result.fitted)
    np.testing.assert_allclose(fitted.groupby("exporter")["fit"].sum(), fitted.groupby("exporter")["trade"].sum(), rtol=1e-8)
    np.testing.assert_allclose(fitted.groupby("importer")["fit"].sum(), fitted.groupby("importer")["trade"].sum(), rtol=1e-8)
    # fitted = exp(b'z + exporter FE + importer FE), row by row
    linear = data[["lndist", "pta", "international"]].to_numpy() @ result.coefficients.to_numpy()
    rebuilt = np.exp(linear + result.row_effects.sum(axis=1).to_numpy())
    np.testing.assert_allclose(rebuilt, result.fitted.to_numpy(), rtol=1e-8)


def test_offset_with_coefficient_one_reproduces_the_constrained_fit(shared_data: Path) -> None:
    data = pd.read_csv(shared_data / "gegravity_sample" / "sample_data_set.csv")
    free = estimate_gravity(data, covariates=["lndist", "pta", "international"])
    data["log_cost"] = data[["lndist", "pta"]].to_numpy() @ free.coefficients[["lndist", "pta"]].to_numpy()
    constrained = estimate_gravity(data, covariates=["international"], offset="log_cost")
    assert constrained.coefficients["international"] == pytest.approx(free.coefficients["international"], abs=1e-6)


# --- bad input --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / "gegravity_sample" / "sample_data_set.csv")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"fixed_effects": "exporter+importer"}, "allowed: ['exporter-importer'"),
        ({"pair": "undirected"}, "allowed: ['directed', 'symmetric']"),
        ({"covariates": ["lndist", "tariff"]}, "column 'tariff' (argument covariates[1]=) not found"),
        ({"fixed_effects": "exporter_year-importer_year"}, "needs the year column"),
        ({"years": [2006]}, "needs the year column"),
        ({"year": "year", "years": [1999]}, "years [1999] are not in column 'year'"),
        ({"covariates": []}, "give at least one cost covariate"),
        ({"flow": "exporter"}, "column 'exporter' must be numeric"),
    ],
)
def test_bad_arguments_name_the_argument_and_the_allowed_values(
    small: pd.DataFrame, kwargs: dict[str, object], fragment: str
) -> None:
    arguments: dict[str, object] = {"covariates": ["lndist"], **kwargs}
    with pytest.raises(DataValidationError) as error:
        estimate_gravity(small, **arguments)  # type: ignore[arg-type]
    assert fragment in str(error.value)


def test_negative_and_missing_flows_are_rejected_with_the_rows(small: pd.DataFrame) -> None:
    negative = small.assign(trade=np.where(small.index == 4, -3.0, small["trade"]))
    with pytest.raises(DataValidationError, match=r"'trade' \(flow\) must be >= 0 .*row 4 \(exporter='\w{3}'"):
        estimate_gravity(negative, covariates=["lndist"])
    missing = small.assign(lndist=np.where(small.index == 7, np.nan, small["lndist"]))
    with pytest.raises(DataValidationError, match=r"missing values .*row 7 .*missing='drop'"):
        estimate_gravity(missing, covariates=["lndist"])
    dropped = estimate_gravity(missing, covariates=["lndist"], missing="drop")
    assert dropped.n_obs == len(small) - 1 and dropped.n_dropped == 1
    assert np.isnan(dropped.fitted.iloc[7]) and dropped.fitted.notna().sum() == len(small) - 1


def test_collinear_covariate_is_an_error(small: pd.DataFrame) -> None:
    data = small.assign(exporter_size=small.groupby("exporter")["trade"].transform("sum"))
    with pytest.raises(DataValidationError, match=r"\['exporter_size'\] are collinear with the fixed effects"):
        estimate_gravity(data, covariates=["lndist", "exporter_size"])
