"""Applied-tariff resolution, table-driven from the Treaty's rules (blocsim.policy.tariffs).

Rules (Treaty on the EAEU, Art. 25; the CIS FTA treaty of 2011): duty-free inside the union;
members apply the CET except where a member's exemption list says otherwise; non-members apply
their MFN tariff; a preference regime (CIS FTA) lowers the rate between its members. The dates
are those of the built-in EAEU definition (eaeu_timeline.csv): CET from 2010-01-01, Armenia from
2015-01-02 with an agri-food transition to 2022, Kyrgyzstan from 2015-08-12; CIS FTA with
Ukraine suspended by Russia from 2016-01-01.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from blocsim.errors import DataValidationError, PolicyRuleViolation
from blocsim.policy import (
    TariffChange,
    applied_tariff,
    applied_tariff_array,
    applied_tariff_table,
    bloc_from_spec,
    load_policy_file,
    preference_from_spec,
    rates_from_tariffs,
    resolve_tariff,
    state_at,
)
from blocsim.policy.model import Membership, Preference

COUNTRIES = ["RUS", "KAZ", "BLR", "ARM", "KGZ", "UKR", "CHN", "EUN"]
SECTORS = ["agri_food", "mining_energy", "manufacturing"]
MFN = {"RUS": 0.10, "KAZ": 0.051, "BLR": 0.10, "ARM": 0.03, "KGZ": 0.05, "UKR": 0.05, "CHN": 0.044, "EUN": 0.031}
CET = {"agri_food": 0.132, "mining_energy": 0.095, "manufacturing": 0.095}
KAZ_APPLIED = 0.078


def _tariffs() -> pd.DataFrame:
    rows = [
        {"importer": c, "sector": s, "year": 2008, "regime": "mfn", "rate": MFN[c]} for c in COUNTRIES for s in SECTORS
    ]
    rows += [{"importer": m, "sector": s, "year": 2012, "regime": "cet", "rate": CET[s]}
             for m in ("RUS", "KAZ", "BLR") for s in SECTORS]
    rows += [{"importer": c, "sector": s, "year": 2012, "regime": "applied",
              "rate": KAZ_APPLIED if c == "KAZ" else (CET[s] if c in ("RUS", "BLR") else MFN[c])}
             for c in COUNTRIES for s in SECTORS]
    return pd.DataFrame(rows)


RATES = rates_from_tariffs(_tariffs(), 2012, cet_members=["RUS"])
EAEU = bloc_from_spec(load_policy_file("eaeu").bloc, RATES)
CIS = preference_from_spec(load_policy_file("cis_fta").preference)


def state(date: dt.date, measures: tuple = (), preferences: tuple = ()) -> object:
    return state_at(date, blocs=[EAEU], preferences=[CIS, *preferences], rates=RATES, measures=measures)


D2009, D2012, D2014, D2015A, D2015B, D2016, D2022 = (
    dt.date(2009, 6, 1), dt.date(2012, 6, 1), dt.date(2014, 6, 1), dt.date(2015, 6, 1), dt.date(2015, 8, 12),
    dt.date(2016, 6, 1), dt.date(2022, 6, 1),
)
KAZ_CHN_FTA = Preference("KAZ-CHN", (Membership("KAZ", D2016), Membership("CHN", D2016)))

# (importer, exporter, sector, date, measures, extra preferences, expected rate, expected rule)
CASES = [
    ("RUS", "KAZ", "manufacturing", D2012, (), (), 0.0, "internal"),
    ("RUS", "KAZ", "manufacturing", D2009, (), (), 0.0, "preference"),  # before the CU: CIS FTA
    ("KAZ", "CHN", "manufacturing", D2009, (), (), 0.051, "mfn"),  # before the CU: own MFN
    ("KAZ", "CHN", "manufacturing", D2012, (), (), KAZ_APPLIED, "exemption"),  # CET with exceptions
    ("RUS", "CHN", "agri_food", D2012, (), (), 0.132, "cet"),
    ("BLR", "EUN", "agri_food", D2012, (), (), 0.132, "cet"),
    ("ARM", "CHN", "agri_food", D2014, (), (), 0.03, "mfn"),  # not yet a member
    ("ARM", "CHN", "agri_food", D2015A, (), (), 0.03, "exemption"),  # transition: own rate to 2022
    ("ARM", "CHN", "manufacturing", D2015A, (), (), 0.095, "cet"),
    ("ARM", "CHN", "agri_food", D2022, (), (), 0.132, "cet"),  # transition over
    ("KGZ", "CHN", "manufacturing", D2015A, (), (), 0.05, "mfn"),  # joins 12 Aug 2015
    ("KGZ", "CHN", "manufacturing", D2015B, (), (), 0.095, "cet"),
    ("ARM", "RUS", "manufacturing", D2014, (), (), 0.0, "preference"),  # CIS FTA before accession
    ("RUS", "UKR", "agri_food", D2012, (), (), 0.0, "preference"),
    ("RUS", "UKR", "agri_food", D2016, (), (), 0.132, "cet"),  # FTA suspended from 2016-01-01
    ("UKR", "RUS", "agri_food", D2016, (), (), 0.05, "mfn"),
    ("CHN", "KAZ", "agri_food", D2016, (), (), 0.044, "mfn"),
    ("KAZ", "KAZ", "agri_food", D2016, (), (), 0.0, "domestic"),
    ("RUS", "UKR", "agri_food", D2016, (TariffChange("RUS", ("UKR",), rate=0.2),), (), 0.2, "measure"),
    ("BLR", "CHN", "manufacturing", D2016, (TariffChange("RUS", ("CHN",), delta=0.01, bloc_wide=True),), (), 0.105,
     "measure"),
    ("KAZ", "CHN", "manufacturing", D2016, (), (KAZ_CHN_FTA,), 0.0, "preference"),
    ("RUS", "CHN", "manufacturing", D2016, (), (KAZ_CHN_FTA,), 0.095, "cet"),
]


@pytest.mark.parametrize("importer,exporter,sector,date,measures,prefs,expected,rule", CASES)
def test_applied_tariff_table_of_cases(importer, exporter, sector, date, measures, prefs, expected, rule) -> None:
    resolution = resolve_tariff(state(date, measures, prefs), importer, exporter, sector)
    assert resolution.rate == pytest.approx(expected, abs=1e-12)
    assert resolution.rule == rule
    assert applied_tariff(state(date, measures, prefs), importer, exporter, sector) == pytest.approx(expected)


@pytest.mark.parametrize("date", [D2009, D2012, D2014, D2015A, D2015B, D2016, D2022])
@pytest.mark.parametrize("extra", [
    (),
    (TariffChange("RUS", ("UKR", "CHN"), ("agri_food",), delta=0.05),),
    (TariffChange("KAZ", sectors=("manufacturing",), rate=0.042),),  # external tariff: never fellow members
    (TariffChange("UKR", rate=0.07), TariffChange("CHN", ("KAZ",), rate=0.3)),
    (TariffChange("KAZ", delta=0.02, bloc_wide=True), TariffChange("RUS", ("CHN",), delta=0.01, bloc_wide=True)),
])
def test_vectorised_tables_agree_with_the_scalar_rules(date: dt.date, extra: tuple) -> None:
    if any(m.bloc_wide for m in extra) and date < D2012:  # KAZ is in no customs union before 2010: no CET
        with pytest.raises(PolicyRuleViolation, match="bloc_wide = true but KAZ belongs to no customs union"):
            applied_tariff_array(state(date, extra, (KAZ_CHN_FTA,)), COUNTRIES, SECTORS)
        return
    current = state(date, extra, (KAZ_CHN_FTA,))
    rates, rules = applied_tariff_array(current, COUNTRIES, SECTORS)
    assert rates.shape == rules.shape == (len(COUNTRIES), len(COUNTRIES), len(SECTORS))
    for (i, exporter), (j, importer), (k, sector) in itertools.product(
        enumerate(COUNTRIES), enumerate(COUNTRIES), enumerate(SECTORS)
    ):
        resolution = resolve_tariff(current, importer, exporter, sector)
        assert rates[i, j, k] == pytest.approx(resolution.rate, abs=1e-15), (exporter, importer, sector)
    table = applied_tariff_table(current, COUNTRIES, SECTORS)
    assert len(table) == len(COUNTRIES) * (len(COUNTRIES) - 1) * len(SECTORS)
    assert (table["exporter"] != table["importer"]).all()


def test_exemption_latest_start_wins_and_rates_never_negative() -> None:
    cut = TariffChange("KAZ", ("CHN",), rate=None, delta=-0.5)
    assert applied_tariff(state(D2016, (cut,)), "KAZ", "CHN", "agri_food") == 0.0
    rates, _ = applied_tariff_array(state(D2016, (cut,)), COUNTRIES, SECTORS)
    assert rates.min() >= 0.0


def test_missing_mfn_rate_is_a_data_error_naming_importer_and_sector() -> None:
    sparse = dataclasses.replace(state(D2016), mfn={k: v for k, v in RATES.mfn.items() if k[0] != "CHN"})
    with pytest.raises(DataValidationError, match="importer='CHN', sector='agri_food'"):
        applied_tariff(sparse, "CHN", "KAZ", "agri_food")


def test_rates_from_tariffs_picks_the_nearest_year_per_importer() -> None:
    rows = pd.DataFrame(
        [
            {"importer": "KAZ", "sector": "agri_food", "year": 2008, "regime": "mfn", "rate": 0.051},
            {"importer": "CHN", "sector": "agri_food", "year": 2016, "regime": "mfn", "rate": 0.04},
            {"importer": "CHN", "sector": "agri_food", "year": 2008, "regime": "mfn", "rate": 0.09},
            {"importer": "RUS", "sector": "agri_food", "year": 2012, "regime": "cet", "rate": 0.132},
            {"importer": "RUS", "sector": "agri_food", "year": 2016, "regime": "cet", "rate": 0.12},
        ]
    )
    rates = rates_from_tariffs(rows, 2016)
    assert rates.mfn == {("KAZ", "agri_food"): 0.051, ("CHN", "agri_food"): 0.04}
    assert rates.cet == {"agri_food": 0.12} and rates.cet_year == 2016
    assert rates_from_tariffs(rows, 2014).cet == {"agri_food": 0.132}  # tie 2012/2016 -> earlier
    with pytest.raises(DataValidationError, match="missing column"):
        rates_from_tariffs(rows.drop(columns="regime"), 2016)


def test_bundled_dataset_rates_give_the_published_cet(shared_data) -> None:
    """CET 2012 = Russia's 2011 applied rates (WTO press release, 16 Dec 2011): 13.2 % agri, 9.5 % manuf."""
    from blocsim.data import load_dataset

    rates = rates_from_tariffs(load_dataset("eaeu-2016v1").tariffs, 2012, cet_members=["RUS"])
    assert rates.cet["agri_food"] == pytest.approx(0.132)
    assert rates.cet["manufacturing"] == pytest.approx(0.095)
    assert rates.mfn[("KAZ", "manufacturing")] == pytest.approx(0.051)  # COMCEC: KAZ MFN 2008 5.1 %
    assert rates.applied[("KAZ", "manufacturing")] == pytest.approx(0.078)  # COMCEC: KAZ 2012 7.8 %
    assert np.isfinite(list(rates.mfn.values())).all()


def test_transition_schedule_steps_towards_the_cet() -> None:
    """A member's transition schedule: own rate, then an intermediate step, then the CET."""
    from blocsim.policy.spec import ExemptionSpec

    spec = load_policy_file("eaeu").bloc
    steps = [
        ExemptionSpec(country="ARM", sector="manufacturing", start=dt.date(2015, 1, 2), until=dt.date(2018, 1, 1)),
        ExemptionSpec(country="ARM", sector="manufacturing", rate=0.07, start=dt.date(2018, 1, 1),
                      until=dt.date(2020, 1, 1)),
    ]
    bloc = bloc_from_spec(spec.model_copy(update={"exemptions": [*spec.exemptions, *steps]}), RATES)
    expected = {dt.date(2016, 1, 1): (0.03, "exemption"), dt.date(2019, 1, 1): (0.07, "exemption"),
                dt.date(2020, 1, 1): (0.095, "cet")}
    for date, (rate, rule) in expected.items():
        current = state_at(date, blocs=[bloc], preferences=[CIS], rates=RATES)
        got = resolve_tariff(current, "ARM", "CHN", "manufacturing")
        assert (got.rate, got.rule) == (pytest.approx(rate), rule), date
        rates, _ = applied_tariff_array(current, COUNTRIES, SECTORS)
        assert rates[COUNTRIES.index("CHN"), COUNTRIES.index("ARM"), SECTORS.index("manufacturing")] == pytest.approx(rate)
