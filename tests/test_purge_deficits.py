"""Deficit purge (blocsim.purge_deficits): balanced trade, identity on balanced data, path consistency."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import blocsim
from blocsim.equilibrium import purge_deficits, solve_multisector
from blocsim.equilibrium.deficits import balanced_calibration
from blocsim.equilibrium.multisector_core import solve_changes
from blocsim.equilibrium.multisector_inputs import multisector_problem
from blocsim.errors import DataValidationError

COUNTRIES = ("AAA", "BBB", "CCC", "DDD")
SECTORS = ("goods", "food", "services")
THETA = {"goods": 4.0, "food": 8.0, "services": 6.0}


def _economy(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Unbalanced flows (USD m), tariffs that change, and IO shares; 4 countries x 3 sectors."""
    rng = np.random.default_rng(seed)
    rows, tariffs = [], []
    for s in SECTORS:
        for i in COUNTRIES:
            for j in COUNTRIES:
                dom = i == j
                trade = rng.uniform(200, 400) if dom else (0.0 if s == "services" else rng.uniform(5, 60))
                rows.append((i, j, s, trade))
                if not dom and s != "services":
                    before = rng.uniform(0.0, 0.15)
                    tariffs.append((i, j, s, before, before * rng.uniform(0.0, 1.0)))
    flows = pd.DataFrame(rows, columns=["exporter", "importer", "sector", "trade"])
    tariff = pd.DataFrame(tariffs, columns=["exporter", "importer", "sector", "tariff_before", "tariff_after"])
    io = pd.DataFrame([(c, s, k, 0.1 + 0.05 * a) for c in COUNTRIES for a, s in enumerate(SECTORS) for k in SECTORS],
                      columns=["country", "sector", "input_sector", "share"])
    return flows, tariff, io


def _balance(flows: pd.DataFrame) -> pd.Series:
    """(exports - imports) / exports per country (before tariffs, domestic flows cancel)."""
    exports = flows.groupby("exporter")["trade"].sum()
    imports = flows.groupby("importer")["trade"].sum()
    return (exports - imports) / exports


def test_purged_flows_have_zero_trade_balance_and_keep_columns() -> None:
    flows, tariffs, io = _economy()
    flows["year"] = 2016
    assert _balance(flows).abs().max() > 0.01  # the baseline is unbalanced
    purged = purge_deficits(flows, theta=THETA, tariffs=tariffs, io=io)
    assert list(purged.columns) == list(flows.columns)
    assert purged[["exporter", "importer", "sector", "year"]].equals(flows[["exporter", "importer", "sector", "year"]])
    assert _balance(purged).abs().max() < 1e-9
    # world value added is the numeraire: unchanged
    va = 1.0 - io.groupby(["country", "sector"])["share"].sum()

    def world_va(f: pd.DataFrame) -> float:
        out = f.groupby(["exporter", "sector"])["trade"].sum()
        return float((out * va.reindex(out.index).to_numpy()).sum())

    assert world_va(purged) == pytest.approx(world_va(flows), rel=1e-10)
    # a purge moves flows: the deficits were not zero
    assert not np.allclose(purged["trade"], flows["trade"], rtol=1e-3)


def test_purging_balanced_data_is_the_identity() -> None:
    flows, tariffs, io = _economy(seed=5)
    once = purge_deficits(flows, theta=THETA, tariffs=tariffs, io=io)
    twice = purge_deficits(once, theta=THETA, tariffs=tariffs, io=io)
    np.testing.assert_allclose(twice["trade"], once["trade"], rtol=1e-9)


def test_purge_then_shock_equals_shock_with_zero_deficits() -> None:
    """Shocking the purged table = solving from the data with D' = 0 and the shock in one step
    (the authors' way: baseline and counterfactual both with zero deficits)."""
    flows, tariffs, io = _economy(seed=7)
    purged = purge_deficits(flows, theta=THETA, tariffs=tariffs, io=io)
    two_step = solve_multisector(purged, theta=THETA, tariffs=tariffs, io=io)
    problem = multisector_problem(flows, theta=THETA, tariffs=tariffs, io=io)
    cal = balanced_calibration(problem, None)
    eq = solve_changes(cal)
    one_step = eq.flows(cal)
    order = (two_step.country_order, two_step.sector_order)
    assert order == (problem.countries, problem.sectors)
    np.testing.assert_allclose(two_step.flows_counterfactual, one_step, rtol=1e-9, atol=1e-9)


def test_final_demand_override_is_kept_and_balanced() -> None:
    flows, tariffs, io = _economy(seed=11)
    alpha = pd.DataFrame([(c, s, w) for c in COUNTRIES for s, w in zip(SECTORS, (0.3, 0.2, 0.5))],
                         columns=["country", "sector", "share"])
    purged = purge_deficits(flows, theta=THETA, tariffs=tariffs, io=io, final_demand=alpha)
    assert _balance(purged).abs().max() < 1e-9
    # the purged table implies exactly the given final-demand shares
    problem = multisector_problem(purged, theta=THETA, tariffs=tariffs, io=io)
    cal = balanced_calibration(problem, None)
    given = dict(zip(SECTORS, (0.3, 0.2, 0.5)))
    expected = np.array([[given[s]] * len(COUNTRIES) for s in problem.sectors])
    np.testing.assert_allclose(cal.alpha, expected, rtol=1e-9)


def test_bad_final_demand_and_tariffs_are_refused_with_the_field_named() -> None:
    flows, tariffs, io = _economy()
    alpha = pd.DataFrame([(c, s, 0.5) for c in COUNTRIES for s in SECTORS], columns=["country", "sector", "share"])
    with pytest.raises(DataValidationError, match="final_demand.*sum to 1.5"):
        purge_deficits(flows, theta=THETA, io=io, final_demand=alpha)
    with pytest.raises(DataValidationError, match="tariffs.*missing column"):
        purge_deficits(flows, theta=THETA, tariffs=tariffs.drop(columns="tariff_before"))


def test_purge_deficits_is_public() -> None:
    assert blocsim.purge_deficits is purge_deficits
    assert "purge_deficits" in blocsim.__all__
