"""The union's own rules (blocsim.policy.rules) and the EAEU definition as data (Annex 5 shares)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt

import pytest

from blocsim.errors import DataValidationError, PolicyRuleViolation
from blocsim.policy import (
    TariffChange,
    bloc_from_spec,
    check_rules,
    load_policy_file,
    policy_library_names,
    preference_from_spec,
    state_at,
    validate_state,
)
from blocsim.policy.build import RateTables
from blocsim.policy.model import Bloc, Membership, PoolPeriod, Preference

RATES = RateTables(mfn={}, applied={("KAZ", s): 0.078 for s in ("agri_food", "mining_energy", "manufacturing")},
                   cet={"agri_food": 0.132, "manufacturing": 0.095}, year=2012, cet_year=2012)
EAEU = bloc_from_spec(load_policy_file("eaeu").bloc, RATES)
CIS = preference_from_spec(load_policy_file("cis_fta").preference)
D2016 = dt.date(2016, 6, 1)

# Treaty on the EAEU, Annex 5, and the 2010 Agreement (percent).
ANNEX5 = [
    (dt.date(2010, 7, 1), {"RUS": 87.97, "KAZ": 7.33, "BLR": 4.70}),
    (dt.date(2015, 1, 2), {"RUS": 86.97, "KAZ": 7.25, "BLR": 4.65, "ARM": 1.13}),
    (dt.date(2015, 8, 12), {"RUS": 85.32, "KAZ": 7.11, "BLR": 4.56, "KGZ": 1.90, "ARM": 1.11}),
]


def state(bloc: Bloc = EAEU, preferences: tuple = (), measures: tuple = (), date: dt.date = D2016, **kw):
    return state_at(date, blocs=[bloc], preferences=[CIS, *preferences], rates=RATES, measures=measures, **kw)


def violations(current) -> list[str]:
    return [v.rule for v in check_rules(current)]


def test_builtin_policies_are_listed() -> None:
    assert {"eaeu", "cis_fta"} <= set(policy_library_names())


@pytest.mark.parametrize("start,shares", ANNEX5)
def test_eaeu_pool_periods_are_the_annex5_shares(start: dt.date, shares: dict[str, float]) -> None:
    period = EAEU.pool_at(start)
    assert period is not None and period.start == start
    assert dict(period.shares) == shares
    assert sum(shares.values()) == pytest.approx(100.0, abs=1e-9)
    assert set(shares) == set(EAEU.members_at(start))  # one share per member on that date


def test_2015_pool_shares_match_the_published_reference(shared_data) -> None:
    path = shared_data / "eaeu_policy_reference" / "published_tariff_and_policy_figures.csv"
    with open(path, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["indicator"].startswith("EAEU import-duty revenue share")]
    published = {r["country"]: float(r["value"]) for r in rows}
    assert published == dict(EAEU.pool_at(dt.date(2015, 3, 1)).shares)


def test_eaeu_membership_dates_follow_the_timeline() -> None:
    assert EAEU.members_at(dt.date(2009, 12, 31)) == ()
    assert set(EAEU.members_at(dt.date(2010, 1, 1))) == {"RUS", "KAZ", "BLR"}
    assert "ARM" not in EAEU.members_at(dt.date(2015, 1, 1)) and "ARM" in EAEU.members_at(dt.date(2015, 1, 2))
    assert "KGZ" not in EAEU.members_at(dt.date(2015, 8, 11)) and "KGZ" in EAEU.members_at(dt.date(2015, 8, 12))
    assert EAEU.internal_checks(dt.date(2011, 6, 30)) and not EAEU.internal_checks(dt.date(2011, 7, 1))


def test_sound_states_have_no_violations() -> None:
    for date in (dt.date(2009, 1, 1), dt.date(2012, 1, 1), dt.date(2015, 3, 1), D2016):
        assert check_rules(state(date=date)) == []


def test_a_members_own_fta_is_a_violation_naming_the_parties_and_the_missing_members() -> None:
    fta = Preference("KAZ-CHN FTA", (Membership("KAZ", D2016), Membership("CHN", D2016)))
    found = check_rules(state(preferences=(fta,)))
    assert [v.rule for v in found] == ["own_fta"]
    assert "KAZ" in found[0].message and "CHN" in found[0].message
    assert "ARM, BLR, KGZ, RUS" in found[0].message


def test_an_fta_that_every_member_joins_is_allowed() -> None:
    everyone = tuple(Membership(c, D2016) for c in ("RUS", "KAZ", "BLR", "ARM", "KGZ", "CHN"))
    assert violations(state(preferences=(Preference("EAEU-CHN", everyone),))) == []


def test_own_external_tariff_and_internal_tariff_are_violations() -> None:
    assert violations(state(measures=(TariffChange("KAZ", ("CHN",), rate=0.02),))) == ["own_external_tariff"]
    assert violations(state(measures=(TariffChange("KAZ", ("CHN",), rate=0.02, bloc_wide=True),))) == []
    assert violations(state(measures=(TariffChange("RUS", ("BLR",), rate=0.05),))) == ["internal_tariff"]
    # a non-member may change its own tariff freely
    assert violations(state(measures=(TariffChange("UKR", ("RUS",), rate=0.2),))) == []


def test_pool_shares_not_summing_to_100_and_pool_member_mismatch() -> None:
    bad_sum = dataclasses.replace(
        EAEU, duty_pool=(*EAEU.duty_pool, PoolPeriod(D2016, {"RUS": 85.32, "KAZ": 7.11, "BLR": 4.56, "KGZ": 1.90,
                                                             "ARM": 1.10})))
    found = check_rules(state(bad_sum))
    assert [v.rule for v in found] == ["pool_sum"] and "99.99" in found[0].message
    missing = dataclasses.replace(EAEU, duty_pool=(*EAEU.duty_pool, PoolPeriod(D2016, {"RUS": 90.0, "KAZ": 10.0})))
    assert violations(state(missing)) == ["pool_members"]


def test_a_country_in_two_customs_unions_is_a_violation() -> None:
    other = Bloc("CU2", "customs_union", (Membership("KAZ", dt.date(2016, 1, 1)), Membership("CHN", dt.date(2016, 1, 1))),
                 cet={"agri_food": 0.1, "manufacturing": 0.1})
    current = state_at(D2016, blocs=[EAEU, other], preferences=[CIS], rates=RATES)
    assert "two_unions" in violations(current)


def test_unknown_bloc_kind_is_refused_with_the_allowed_kinds() -> None:
    members = (Membership("KAZ", dt.date(2016, 1, 1)),)
    with pytest.raises(PolicyRuleViolation, match=r"bloc 'CU2': field 'kind' is 'customs-union'; allowed: "
                                                  r"\['fta', 'customs_union', 'economic_union'\]"):
        Bloc("CU2", "customs-union", members)  # type: ignore[arg-type]
    assert Bloc("FTA", "fta", members).has_cet is False


def test_validate_state_raises_unless_violations_are_allowed() -> None:
    measure = (TariffChange("KAZ", ("CHN",), rate=0.02),)
    with pytest.raises(PolicyRuleViolation, match="own_external_tariff"):
        validate_state(state(measures=measure), source="test")
    allowed = validate_state(state(measures=measure, allow_rule_violations=True))
    assert [v.rule for v in allowed] == ["own_external_tariff"]


def test_unknown_policy_name_and_missing_cet_are_data_errors() -> None:
    with pytest.raises(DataValidationError, match="built-in"):
        load_policy_file("eaeu2")
    with pytest.raises(DataValidationError, match="regime='cet'"):
        bloc_from_spec(load_policy_file("eaeu").bloc, RateTables({}, {}, {}, 2012, None))
