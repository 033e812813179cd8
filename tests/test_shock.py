"""Each measure's shock (blocsim.shock.compile_shock) against its closed form; re-export accounting."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from blocsim.data.border_costs import load_border_aves
from blocsim.errors import ScenarioError
from blocsim.policy import (
    ImportBan,
    NonTariffMeasure,
    OriginEnforcement,
    ProductivityShock,
    TransitRestriction,
    applied_tariff,
    bloc_from_spec,
    load_policy_file,
    preference_from_spec,
    state_at,
)
from blocsim.policy.build import RateTables
from blocsim.policy.model import REROUTE_SHARE
from blocsim.shock import compile_shock, record_reroutes

COUNTRIES = ["RUS", "KAZ", "BLR", "ARM", "KGZ", "CHN", "EUN", "NOR"]
SECTORS = ["agri_food", "mining_energy", "manufacturing", "other"]
THETA = {"agri_food": 4.0, "mining_energy": 20.0, "manufacturing": 5.0, "other": 8.0}
RATES = RateTables(
    mfn={(c, s): (0.0 if s == "other" else 0.05) for c in COUNTRIES for s in SECTORS},
    applied={("KAZ", s): (0.0 if s == "other" else 0.078) for s in SECTORS},
    cet={"agri_food": 0.132, "mining_energy": 0.095, "manufacturing": 0.095, "other": 0.0},
    year=2012, cet_year=2012,
)
EAEU = bloc_from_spec(load_policy_file("eaeu").bloc, RATES)
CIS = preference_from_spec(load_policy_file("cis_fta").preference)
DATASET = SimpleNamespace(countries=pd.DataFrame({"iso3": COUNTRIES}), sectors=pd.DataFrame({"sector": SECTORS}))
D = dt.date(2014, 8, 7)
BAN = ImportBan("RUS", ("EUN", "NOR"), ("agri_food",), {"EUN": 0.462, "NOR": 1.0}, ("BLR",), 0.15)


def pair(date=D, measures=(), bloc=EAEU):
    before = state_at(date, blocs=[bloc], preferences=[CIS], rates=RATES, label="before")
    after = state_at(date, blocs=[bloc], preferences=[CIS], rates=RATES, measures=measures, label="after")
    return before, after


def factors(shock) -> dict[tuple[str, str, str], float]:
    return {(r.exporter, r.importer, r.sector): r.factor for r in shock.cost_factor.itertuples()}


def test_no_change_gives_an_empty_shock_and_pools_as_fractions() -> None:
    shock = compile_shock(*pair(), DATASET, 2012, theta=THETA)
    assert shock.cost_factor.empty and shock.productivity.empty and shock.reroutes.empty
    assert (shock.tariffs["tariff_before"] == shock.tariffs["tariff_after"]).all()
    # 2014-08-07: the 2010 Agreement shares 87.97/7.33/4.70 %, as fractions
    assert shock.duty_pool_before == pytest.approx({"RUS": 0.8797, "KAZ": 0.0733, "BLR": 0.047})
    assert sum(shock.duty_pool_before.values()) == pytest.approx(1.0, abs=1e-12)
    assert len(shock.tariffs) == len(COUNTRIES) * (len(COUNTRIES) - 1) * len(SECTORS)


def test_tariffs_before_and_after_are_the_applied_rates() -> None:
    before = state_at(dt.date(2009, 12, 31), blocs=[EAEU], preferences=[CIS], rates=RATES)
    after = state_at(dt.date(2011, 7, 1), blocs=[EAEU], preferences=[CIS], rates=RATES)
    shock = compile_shock(before, after, DATASET, 2008, theta=THETA)
    table = shock.tariffs.set_index(["exporter", "importer", "sector"])
    for key in [("CHN", "KAZ", "manufacturing"), ("EUN", "RUS", "agri_food"), ("KAZ", "RUS", "agri_food")]:
        exporter, importer, sector = key
        assert table.loc[key, "tariff_before"] == applied_tariff(before, importer, exporter, sector)
        assert table.loc[key, "tariff_after"] == applied_tariff(after, importer, exporter, sector)
    assert table.loc[("CHN", "KAZ", "manufacturing"), "tariff_after"] == pytest.approx(0.078)  # exemption
    assert shock.duty_pool_before is None and shock.duty_pool_after == pytest.approx(
        {"RUS": 0.8797, "KAZ": 0.0733, "BLR": 0.047})
    # internal checks removed on 2011-07-01: member pairs save the estimated border cost on goods only
    f = factors(shock)
    ave = load_border_aves("eaeu").set_index("sector").loc["manufacturing", "ave"]
    assert f[("RUS", "KAZ", "manufacturing")] == pytest.approx((1 + ave) ** THETA["manufacturing"])
    assert ("RUS", "BLR", "manufacturing") not in f  # no checks there since 1995
    assert ("RUS", "KAZ", "other") not in f and ("RUS", "CHN", "manufacturing") not in f


def test_ban_with_origin_enforcement_removes_the_covered_share() -> None:
    enforce = OriginEnforcement("RUS", ("BLR",))
    shock = compile_shock(*pair(measures=(BAN, enforce)), DATASET, 2012, theta=THETA)
    assert factors(shock) == pytest.approx({("EUN", "RUS", "agri_food"): 1 - 0.462, ("NOR", "RUS", "agri_food"): 0.0})
    assert shock.reroutes.empty


def test_ban_leaks_through_a_member_without_internal_checks() -> None:
    shock = compile_shock(*pair(measures=(BAN,)), DATASET, 2012, theta=THETA)
    reach = REROUTE_SHARE * 1.15 ** -THETA["agri_food"]  # only the reroute share of the banned goods leaks
    expected = 1 - 0.462 + 0.462 * reach
    assert factors(shock)[("EUN", "RUS", "agri_food")] == pytest.approx(expected)
    assert factors(shock)[("NOR", "RUS", "agri_food")] == pytest.approx(reach)
    route = shock.reroutes.set_index("origin").loc["EUN"]
    assert route["via"] == "BLR" and route["destination"] == "RUS"
    assert route["share"] == pytest.approx(0.462 * reach / expected)


@pytest.mark.parametrize(
    "date,extra,why",
    [
        (dt.date(2011, 1, 1), (), "internal customs checks still stood before mid-2011"),
        (D, (ImportBan("BLR", ("EUN",), ("agri_food",)),), "Belarus bans the origin too"),
    ],
)
def test_no_leakage_when_checks_stand_or_the_transit_member_bans_too(date, extra, why) -> None:
    shock = compile_shock(*pair(date=date, measures=(BAN, *extra)), DATASET, 2012, theta=THETA)
    assert "EUN" not in set(shock.reroutes["origin"]), why
    assert factors(shock)[("EUN", "RUS", "agri_food")] == pytest.approx(1 - 0.462)


def test_a_measure_in_both_states_is_no_shock() -> None:
    before = state_at(D, blocs=[EAEU], preferences=[CIS], rates=RATES, measures=(BAN,))
    after = state_at(D, blocs=[EAEU], preferences=[CIS], rates=RATES, measures=(BAN,))
    assert compile_shock(before, after, DATASET, 2012, theta=THETA).cost_factor.empty


def test_transit_restriction_prices_the_detour_on_the_covered_share() -> None:
    block = TransitRestriction("BLR", "RUS", ("KAZ", "KGZ"), ("manufacturing",), added_cost=0.3, covered_share=0.8)
    f = factors(compile_shock(*pair(measures=(block,)), DATASET, 2012, theta=THETA))
    expected = 0.2 + 0.8 * 1.3 ** -THETA["manufacturing"]
    assert f == pytest.approx({("BLR", "KAZ", "manufacturing"): expected, ("BLR", "KGZ", "manufacturing"): expected})


def test_ntm_ave_and_reciprocal() -> None:
    ntm = NonTariffMeasure("KAZ", ("CHN",), ("agri_food",), ave=0.1, reciprocal=True)
    f = factors(compile_shock(*pair(measures=(ntm,)), DATASET, 2012, theta=THETA))
    assert f == pytest.approx({("CHN", "KAZ", "agri_food"): 1.1 ** -4.0, ("KAZ", "CHN", "agri_food"): 1.1 ** -4.0})


def test_productivity_shock_is_a_country_sector_factor() -> None:
    shock = compile_shock(*pair(measures=(ProductivityShock("RUS", -0.0231),)), DATASET, 2012, theta=THETA)
    assert list(shock.productivity["country"]) == ["RUS"] * len(SECTORS)
    assert shock.productivity["factor"].to_numpy() == pytest.approx(np.full(len(SECTORS), 0.9769))


def test_unknown_codes_and_bad_theta_are_scenario_errors() -> None:
    with pytest.raises(ScenarioError, match="XYZ"):
        compile_shock(*pair(measures=(ImportBan("RUS", ("XYZ",), ("agri_food",)),)), DATASET, 2012, theta=THETA)
    with pytest.raises(ScenarioError, match="other"):
        compile_shock(*pair(), DATASET, 2012, theta={"agri_food": 4.0})
    with pytest.raises(ScenarioError, match="positive"):
        compile_shock(*pair(), DATASET, 2012, theta=-1.0)


def test_record_reroutes_books_leaked_trade_as_transit_imports_and_reexports() -> None:
    flows = pd.DataFrame(
        {"exporter": ["EUN", "EUN", "BLR"], "importer": ["RUS", "BLR", "RUS"], "sector": ["agri_food"] * 3,
         "trade_baseline": [100.0, 10.0, 20.0], "trade_counterfactual": [60.0, 10.0, 21.0]}
    )
    reroutes = pd.DataFrame([{"origin": "EUN", "via": "BLR", "destination": "RUS", "sector": "agri_food",
                              "share": 0.5, "reexport_cost": 0.2}])
    recorded, reexports = record_reroutes(flows, reroutes)
    got = recorded.set_index(["exporter", "importer"])["trade_recorded"]
    assert got[("EUN", "RUS")] == pytest.approx(30.0)  # half of 60 now arrives via Belarus
    assert got[("EUN", "BLR")] == pytest.approx(10.0 + 30.0 / 1.2)  # Belarus's imports from the origin rise
    assert got[("BLR", "RUS")] == pytest.approx(21.0 + 30.0)  # Belarus's (re-)exports to Russia
    assert reexports.loc[0, "value_at_destination"] == pytest.approx(30.0)
    # Russia's recorded imports of the good are unchanged in total: only the recorded origin moves
    assert got[("EUN", "RUS")] + got[("BLR", "RUS")] - 21.0 == pytest.approx(60.0)
    unchanged, none = record_reroutes(flows, reroutes.iloc[0:0])
    assert none.empty and (unchanged["trade_recorded"] == flows["trade_counterfactual"]).all()


def test_own_fta_deflects_the_partners_goods_through_the_member_without_internal_checks() -> None:
    """Chinese goods bound for Russia enter at Kazakhstan's FTA rate (0) and move on at cost r when
    (1 + 0)(1 + r) < 1 + CET; Russia's tariff paid falls to 0 and the flow bears (1 + r)^(-theta)."""
    from blocsim.policy.model import Membership, Preference

    fta = Preference("KAZ-CHN", (Membership("KAZ", D), Membership("CHN", D)), deflection_cost=0.05)
    before = state_at(D, blocs=[EAEU], preferences=[CIS], rates=RATES)
    after = state_at(D, blocs=[EAEU], preferences=[CIS, fta], rates=RATES)
    shock = compile_shock(before, after, DATASET, 2012, theta=THETA)
    tariffs = shock.tariffs.set_index(["exporter", "importer", "sector"])
    assert tariffs.loc[("CHN", "RUS", "manufacturing"), ["tariff_before", "tariff_after"]].tolist() == pytest.approx(
        [0.095, 0.0])
    assert factors(shock)[("CHN", "RUS", "manufacturing")] == pytest.approx(1.05 ** -THETA["manufacturing"])
    routes = shock.reroutes.query("destination == 'RUS'")
    assert set(routes["via"]) == {"KAZ"} and (routes["share"] == 1.0).all()
    assert ("CHN", "ARM", "manufacturing") not in factors(shock)  # ARM not yet a member in 2014
    # origin enforcement by Russia on goods from Kazakhstan stops it; so do internal checks (2011)
    enforced = state_at(D, blocs=[EAEU], preferences=[CIS, fta], rates=RATES,
                        measures=(OriginEnforcement("RUS", ("KAZ",)),))
    assert ("CHN", "RUS", "manufacturing") not in factors(compile_shock(before, enforced, DATASET, 2012, theta=THETA))
    early = dt.date(2011, 1, 1)
    fta_early = Preference("KAZ-CHN", (Membership("KAZ", early), Membership("CHN", early)))
    shock = compile_shock(state_at(early, blocs=[EAEU], preferences=[CIS], rates=RATES),
                          state_at(early, blocs=[EAEU], preferences=[CIS, fta_early], rates=RATES),
                          DATASET, 2012, theta=THETA)
    assert shock.reroutes.empty and ("CHN", "RUS", "manufacturing") not in factors(shock)
