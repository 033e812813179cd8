"""Re-export rents in national income and partial rerouting of a leaking ban (issue 11, item 4)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import blocsim
from blocsim.pipeline import ScenarioResult
from blocsim.equilibrium import DutyPool, solve_multisector
from blocsim.errors import DataValidationError, MeasureError, ScenarioError
from blocsim.policy.model import REROUTE_SHARE, Bloc, ImportBan, Membership, PolicyState
from blocsim.scenario import load_scenario
from blocsim.scenario.loader import library_dir
from blocsim.shock import compile_shock

THETA = 4.0


def _baseline() -> pd.DataFrame:
    """Four countries, two sectors, every flow positive (USD millions)."""
    rng = np.random.default_rng(7)
    countries, sectors = ["AAA", "BBB", "CCC", "DDD"], ["food", "goods"]
    rows = [
        {"exporter": i, "importer": j, "sector": s, "trade": (200.0 if i == j else 10.0) * (1 + rng.random())}
        for i in countries for j in countries for s in sectors
    ]
    return pd.DataFrame(rows)


def _transfers(before: float, after: float) -> pd.DataFrame:
    return pd.DataFrame({"exporter": ["AAA"], "importer": ["CCC"], "sector": ["food"], "country": ["BBB"],
                         "share_before": [before], "share_after": [after]})


def test_unchanged_transfers_without_shock_move_nothing() -> None:
    result = solve_multisector(_baseline(), theta=THETA, income_transfers=_transfers(0.05, 0.05))
    countries = result.countries
    assert np.abs(countries["welfare_pct"]).max() < 1e-10
    assert np.abs(result.flows["trade_pct"]).max() < 1e-10
    before = countries.set_index("country")["income_transfers_before"]
    assert before["BBB"] == pytest.approx(0.05 * _flow(_baseline(), "AAA", "CCC", "food"), rel=1e-12)


def _flow(frame: pd.DataFrame, exporter: str, importer: str, sector: str, column: str = "trade") -> float:
    row = frame[(frame["exporter"] == exporter) & (frame["importer"] == importer) & (frame["sector"] == sector)]
    return float(row[column].iloc[0])


def test_new_rent_is_income_of_the_receiver_paid_by_the_exporter() -> None:
    base = solve_multisector(_baseline(), theta=THETA)
    rent = solve_multisector(_baseline(), theta=THETA, income_transfers=_transfers(0.0, 0.1))
    assert rent.diagnostics["converged"]
    table = rent.countries.set_index("country")
    amount = 0.1 * _flow(rent.flows, "AAA", "CCC", "food", "trade_counterfactual")
    assert table.loc["BBB", "income_transfers_after"] == pytest.approx(amount, rel=1e-12)
    assert table.loc["AAA", "income_transfers_after"] == pytest.approx(-amount, rel=1e-12)
    assert table["income_transfers_after"].sum() == pytest.approx(0.0, abs=1e-9)
    gain = rent.countries.set_index("country")["welfare_pct"] - base.countries.set_index("country")["welfare_pct"]
    assert gain["BBB"] > 0.1 and gain["AAA"] < -0.1


def test_bad_transfer_tables_are_named_errors() -> None:
    with pytest.raises(DataValidationError, match="income_transfers.*'country'.*ZZZ"):
        solve_multisector(_baseline(), theta=THETA,
                          income_transfers=_transfers(0, 0.1).assign(country="ZZZ"))
    with pytest.raises(DataValidationError, match="share_after.*outside \\[0, 1\\)"):
        solve_multisector(_baseline(), theta=THETA, income_transfers=_transfers(0, 1.2))
    with pytest.raises(DataValidationError, match="receiver is the exporter"):
        solve_multisector(_baseline(), theta=THETA, income_transfers=_transfers(0, 0.1).assign(country="AAA"))


def _states(reroute_share: float) -> tuple[PolicyState, PolicyState]:
    union = Bloc(name="CU", kind="customs_union", members=(Membership("AAA", dt.date(2000, 1, 1)),
                                                          Membership("BBB", dt.date(2000, 1, 1))),
                 checks_removed=dt.date(2001, 1, 1))
    ban = ImportBan("AAA", ("CCC",), ("food",), {"CCC": 0.5}, ("BBB",), 0.15, reroute_share=reroute_share)
    mfn = {(c, s): 0.05 for c in ("AAA", "BBB", "CCC") for s in ("food", "goods")}
    return (PolicyState(dt.date(2010, 1, 1), blocs=(union,), mfn=mfn),
            PolicyState(dt.date(2010, 1, 2), blocs=(union,), mfn=mfn, measures=(ban,)))


@pytest.mark.parametrize("rho", [0.0, 0.2, 1.0])
def test_only_the_reroute_share_of_a_banned_flow_leaks(rho: float) -> None:
    before, after = _states(rho)
    shock = compile_shock(before, after, None, 2010, theta=THETA, countries=["AAA", "BBB", "CCC"],
                          sectors=["food", "goods"])
    factor = shock.cost_factor.set_index(["exporter", "importer", "sector"])["factor"]
    expected = 1 - 0.5 + 0.5 * rho * 1.15 ** -THETA
    assert factor[("CCC", "AAA", "food")] == pytest.approx(expected, rel=1e-14)
    if rho == 0:
        assert shock.income_transfers.empty
        return
    route = shock.reroutes.iloc[0]
    assert route["share"] == pytest.approx(0.5 * rho * 1.15 ** -THETA / expected, rel=1e-14)
    rents = shock.income_transfers.iloc[0]
    assert (rents["exporter"], rents["importer"], rents["country"]) == ("CCC", "AAA", "BBB")
    assert rents["share_after"] == pytest.approx(route["share"] * 0.15 / 1.15, rel=1e-14)


def test_reroute_share_default_and_range() -> None:
    assert ImportBan("AAA", ("CCC",), ("food",)).reroute_share == REROUTE_SHARE == 0.2
    with pytest.raises(MeasureError, match="reroute_share"):
        ImportBan("AAA", ("CCC",), ("food",), reroute_share=1.5)


def test_scenario_file_sets_reroute_share(tmp_path) -> None:
    text = (library_dir() / "russia-food-ban-2014-belarus-reexports.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("reexport_cost = 0.15", "reexport_cost = 0.15\nreroute_share = 2.0"), encoding="utf-8")
    with pytest.raises(ScenarioError, match="reroute_share"):
        load_scenario(bad)
    good = tmp_path / "good.toml"
    good.write_text(text.replace("reexport_cost = 0.15", "reexport_cost = 0.15\nreroute_share = 0.5"),
                    encoding="utf-8")
    assert load_scenario(good).after.measures[0].reroute_share == 0.5


@pytest.fixture(scope="module")
def food_ban() -> ScenarioResult:
    return blocsim.run_scenario("russia-food-ban-2014-belarus-reexports")


def test_belarus_reexport_earnings_are_in_its_income(food_ban) -> None:
    countries = food_ban.countries.set_index("country")
    reexports = food_ban.tables["reexports"]
    earnings = float(reexports["margin"].sum())
    assert earnings > 0
    assert countries.loc["BLR", "income_transfers_after"] == pytest.approx(earnings, rel=1e-9)
    assert countries.loc["BLR", "income_transfers_before"] == 0.0
    paid = reexports.groupby("origin")["margin"].sum()
    for origin, amount in paid.items():
        assert countries.loc[origin, "income_transfers_after"] == pytest.approx(-amount, rel=1e-9)
    # without the rent booked in its income Belarus would gain less (the old model's "loss")
    shock = food_ban.shock
    flows = food_ban.model.flows[["exporter", "importer", "sector", "trade_baseline"]].rename(
        columns={"trade_baseline": "trade"})
    without = solve_multisector(flows, theta=dict(shock.theta), tariffs=shock.tariffs, shock=shock.cost_factor,
                                duty_pool=DutyPool(shares=shock.duty_pool_before),
                                duty_pool_after=DutyPool(shares=shock.duty_pool_after))
    assert countries.loc["BLR", "welfare_pct"] > without.countries.set_index("country").loc["BLR", "welfare_pct"]


def test_origin_enforcement_stays_the_default_where_the_rules_require_it() -> None:
    result = blocsim.run_scenario("russia-food-ban-2014")
    assert result.shock.income_transfers.empty and result.shock.reroutes.empty
    assert (result.countries["income_transfers_after"] == 0).all()


def test_rent_incidence_is_built_once_per_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """The (K, N) incidence of the transfer rows depends on their structure only: built when the rows
    are read, not again on each of the solver's iterations (which all reuse it)."""
    from blocsim.equilibrium import income_transfers

    built = []
    real = income_transfers.transfer_incidence

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(income_transfers, "transfer_incidence", counted)
    rent = solve_multisector(_baseline(), theta=THETA, income_transfers=_transfers(0.0, 0.1))
    assert rent.diagnostics["converged"] and rent.diagnostics["iterations"] > 1
    assert len(built) == 1
    table = rent.countries.set_index("country")
    amount = 0.1 * _flow(rent.flows, "AAA", "CCC", "food", "trade_counterfactual")
    assert table.loc["BBB", "income_transfers_after"] == pytest.approx(amount, rel=1e-12)
