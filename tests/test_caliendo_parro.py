"""Caliendo and Parro (2015) replicated from the authors' files: the loader and the NAFTA experiment.

Reference numbers: tests/reference/caliendo_parro_2015/ (README.md gives the sources).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import blocsim
from blocsim.data import caliendo_parro_2015
from blocsim.data.caliendo_parro import NAFTA, REGIONS, SECTORS
from blocsim.equilibrium import caliendo_parro_decomposition, purge_deficits
from blocsim.errors import DataValidationError

REFERENCE = Path(__file__).parent / "reference" / "caliendo_parro_2015"


@pytest.fixture(scope="module")
def cp(shared_data: Path):
    return caliendo_parro_2015(shared_data / "caliendo_parro_2015")


@pytest.fixture(scope="module")
def nafta(cp) -> pd.DataFrame:
    """The paper's experiment: deficits purged first, then NAFTA tariffs 1993 -> 2005 (others 1993)."""
    tariffs = cp.experiment_tariffs()
    purged = purge_deficits(cp.flows, theta=cp.theta, tariffs=tariffs, io=cp.io, final_demand=cp.final_demand)
    table = caliendo_parro_decomposition(purged, theta=cp.theta, tariffs=tariffs, io=cp.io)
    return table.set_index("country")


def test_loader_tables_units_and_authors_processing(cp, shared_data: Path) -> None:
    folder = shared_data / "caliendo_parro_2015"
    n, s = len(REGIONS), len(SECTORS)
    assert len(cp.flows) == n * n * s and list(cp.flows.columns) == ["exporter", "importer", "sector", "trade"]
    # file: imports of USA (row 29) from JPN (column 17), auto block (17), thousand USD -> USD millions
    xbilat = np.loadtxt(folder / "xbilat1993.txt", delimiter="\t")
    f = cp.flows.set_index(["exporter", "importer", "sector"])["trade"]
    assert f[("JPN", "USA", "auto")] == pytest.approx(xbilat[17 * n + 29, 17] / 1000.0)
    # domestic flow = max(GO, exports) - exports; GO in USD
    go = np.loadtxt(folder / "GO.txt", delimiter="\t")
    exports_mex_food = cp.flows.query("exporter == 'MEX' and importer != 'MEX' and sector == 'food'")["trade"].sum()
    assert f[("MEX", "MEX", "food")] == pytest.approx(max(go[2, 19] / 1e6, exports_mex_food) - exports_mex_food)
    assert cp.flows.query("sector == 'finance' and exporter != importer")["trade"].eq(0).all()
    # tariffs as fractions: Mexico on US in 1993 from percent
    tau = np.loadtxt(folder / "tariffs1993.txt", delimiter="\t")
    t = cp.tariffs.set_index(["exporter", "importer", "sector"])
    assert t.loc[("USA", "MEX", "auto"), "tariff_1993"] == pytest.approx(tau[17 * n + 19, 29] / 100.0)
    assert list(cp.tariffs.columns) == ["exporter", "importer", "sector", "tariff_1993", "tariff_2005"]
    assert (cp.io["share"] >= 0).all() and list(cp.io.columns) == ["country", "sector", "input_sector", "share"]
    # value-added shares are B: 1 - sum of input shares (also for the column with the negative IO entry)
    b = np.loadtxt(folder / "B.txt", delimiter="\t")
    inputs = cp.io.groupby(["country", "sector"])["share"].sum()
    assert 1.0 - inputs[("CAN", "basic_metals")] == pytest.approx(b[10, 4], abs=1e-12)
    assert cp.theta["petroleum"] == 64.85 and cp.theta["finance"] == 8.22 and len(cp.theta) == s


def test_negative_final_demand_shares_are_zeroed_and_rescaled_as_the_authors_do(cp) -> None:
    neg = cp.negative_final_demand
    assert len(neg) > 0 and (neg["share"] < 0).all()
    alpha = cp.final_demand.set_index(["country", "sector"])["share"]
    assert (alpha.loc[list(zip(neg["country"], neg["sector"]))] == 0).all()
    assert (alpha >= 0).all()
    np.testing.assert_allclose(alpha.groupby(level="country").sum(), 1.0, rtol=1e-12)


def test_experiment_tariffs_change_only_among_nafta_members(cp) -> None:
    t = cp.experiment_tariffs()
    inside = t["exporter"].isin(NAFTA) & t["importer"].isin(NAFTA)
    assert (t.loc[~inside, "tariff_after"] == t.loc[~inside, "tariff_before"]).all()
    assert (t.loc[inside, "tariff_after"] < t.loc[inside, "tariff_before"]).any()
    with pytest.raises(DataValidationError, match="XXX"):
        cp.experiment_tariffs(members=("MEX", "XXX"))


def test_loader_refuses_a_folder_without_the_files(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="xbilat1993.txt"):
        caliendo_parro_2015(tmp_path)
    (tmp_path / "B.txt").write_text("1\t2\n")
    for name in ("xbilat1993.txt", "tariffs1993.txt", "tariffs2005.txt", "IO.txt", "GO.txt", "T.txt"):
        (tmp_path / name).write_text("1\n")
    with pytest.raises(DataValidationError, match="shape"):
        caliendo_parro_2015(tmp_path)


def test_published_welfare_totals_reproduced_to_two_decimals(nafta) -> None:
    """Paper (abstract, p. 1): Mexico +1.31 %, U.S. +0.08 %, Canada -0.06 %; the paper's welfare
    is the first-order sum terms of trade + volume of trade."""
    published = pd.read_csv(REFERENCE / "table2.csv")
    for row in published.itertuples():
        assert row.measure == "welfare_pct"
        assert round(nafta.loc[row.country, "welfare_first_order_pct"], 2) == row.value, row.country


def test_table2_columns_match_the_independent_reimplementation(nafta) -> None:
    """Terms of trade, volume of trade, real wages (and totals) to two decimals, against the
    re-implementation's numbers (the paper's Table 2 cells could not be read; see README.md)."""
    reference = pd.read_csv(REFERENCE / "reimplementation.csv").set_index("country")
    for country, row in reference.iterrows():
        for column, value in row.items():
            assert round(nafta.loc[country, column], 2) == value, (country, column, nafta.loc[country, column])


def test_decomposition_terms_add_up_by_partner_and_sector(cp) -> None:
    tariffs = cp.experiment_tariffs()
    purged = purge_deficits(cp.flows, theta=cp.theta, tariffs=tariffs, io=cp.io, final_demand=cp.final_demand)
    total = caliendo_parro_decomposition(purged, theta=cp.theta, tariffs=tariffs, io=cp.io).set_index("country")
    by = caliendo_parro_decomposition(purged, theta=cp.theta, tariffs=tariffs, io=cp.io, by="partner_sector")
    summed = by.groupby("country")[["welfare_tot_pct", "welfare_vot_pct"]].sum()
    np.testing.assert_allclose(summed.loc[total.index], total[["welfare_tot_pct", "welfare_vot_pct"]], atol=1e-12)
    # exact real income next to the first-order sum, from the same solve as solve_multisector
    exact = blocsim.solve_multisector(purged, theta=cp.theta, tariffs=tariffs, io=cp.io).countries.set_index("country")
    np.testing.assert_allclose(total["welfare_pct"], exact.loc[total.index, "welfare_pct"], atol=1e-9)
    np.testing.assert_allclose(total["real_wage_pct"], exact.loc[total.index, "real_wage_pct"], atol=1e-9)
