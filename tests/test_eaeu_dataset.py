"""The bundled EAEU dataset: contract, exactness against the sources, gap flags, validation.

Source values are re-read here with plain pandas and an explicit region mapping written in
this file (not the recipe's), so the checks are independent of the recipe code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blocsim.data import Dataset, GravityData, list_datasets, load_dataset
from blocsim.errors import DataValidationError
from blocsim.data.eaeu_v2.build import RECIPE_VERSION as V2_RECIPE_VERSION

REGIONS = [
    "RUS",
    "KAZ",
    "BLR",
    "ARM",
    "KGZ",
    "UKR",
    "UZB",
    "TJK",
    "CHN",
    "EUN",
    "USA",
    "TUR",
    "JPN",
    "KOR",
    "CAN",
    "AUS",
    "NOR",
    "ROW",
]
SINGLE = [r for r in REGIONS if r not in ("EUN", "ROW")]
EU27_CODES = (
    "AUT BLX BGR CYP CZE DNK EST FIN FRA DEU GRC HUN IRL ITA LVA LTU MLT NLD POL PRT ROM SVK SVN ESP SWE GBR"
).split()
SECTORS = ["agri_food", "mining_energy", "manufacturing", "other"]
YEARS = [2008, 2012, 2016]


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset("eaeu-2016v1")  # the 2016v1 tables' contents (the default ``eaeu`` is v2)


def _region(code: str, year: int) -> str:
    if code in SINGLE:
        return code
    if code in EU27_CODES or (code == "HRV" and year >= 2013):
        return "EUN"
    return "ROW"


@pytest.fixture(scope="module")
def source_totals(shared_data: Path) -> pd.Series:
    trade = pd.read_csv(
        shared_data / "wb_trade_agreements_penppml" / "trade_2000_2016_every4y.csv", keep_default_na=False
    )
    trade = trade[trade["time"].isin(YEARS)]
    trade = trade.assign(
        e=[_region(c, y) for c, y in zip(trade["exp"], trade["time"], strict=True)],
        i=[_region(c, y) for c, y in zip(trade["imp"], trade["time"], strict=True)],
    )
    trade = trade[trade["e"] != trade["i"]]
    return trade.groupby(["e", "i", "time"])["export"].sum() / 1e6


def _totals(ds: Dataset) -> pd.DataFrame:
    flows = ds.flows
    gap = flows["imputed"].str.contains("gap_")
    out = flows.groupby(["exporter", "importer", "year"]).agg(
        trade=("trade", "sum"), gap=("imputed", lambda v: v.str.contains("gap_").any())
    )
    assert gap.groupby([flows["exporter"], flows["importer"], flows["year"]]).nunique().max() == 1
    return out


def test_contract_columns_and_shape(ds: Dataset) -> None:
    assert ds.name == "eaeu-2016v1"
    assert list(ds.flows.columns) == ["exporter", "importer", "sector", "year", "trade", "imputed"]
    assert list(ds.tariffs.columns) == ["importer", "sector", "year", "regime", "rate", "source"]
    assert list(ds.countries.columns) == ["iso3", "name", "group", "lat", "lon"]
    assert list(ds.sectors.columns) == ["sector", "name", "description"]
    assert {
        "exporter",
        "importer",
        "year",
        "dist",
        "contig",
        "comlang",
        "colony",
        "cu",
        "fta",
        "eaeu",
    } <= set(ds.gravity.columns)
    assert list(ds.regions) == REGIONS
    assert ds.years == tuple(YEARS)
    assert list(ds.sectors["sector"]) == SECTORS
    assert len(ds.flows) == len(REGIONS) ** 2 * len(SECTORS) * len(YEARS)
    assert len(ds.gravity) == len(REGIONS) ** 2 * len(YEARS)
    assert not ds.flows.duplicated(["exporter", "importer", "sector", "year"]).any()
    assert set(ds.countries.loc[ds.countries["group"] == "member", "iso3"]) == {
        "RUS",
        "KAZ",
        "BLR",
        "ARM",
        "KGZ",
    }
    assert ds.meta["recipe_version"] and ds.meta["sources"] and ds.meta["flags"]


def test_every_non_missing_source_cell_is_kept_exactly(ds: Dataset, source_totals: pd.Series) -> None:
    totals = _totals(ds)
    positive = source_totals[source_totals > 0]
    got = totals.loc[positive.index]
    np.testing.assert_allclose(got["trade"].to_numpy(), positive.to_numpy(), rtol=1e-9, atol=0)
    assert not got["gap"].any(), "a cell with a source value is flagged as gap-filled"
    # figures quoted in the source's PROVENANCE.md (USD million, rounded)
    for (e, i, y), value in {
        ("RUS", "KAZ", 2008): 12_690,
        ("RUS", "KAZ", 2012): 14_715,
        ("RUS", "KAZ", 2016): 10_252,
        ("KAZ", "RUS", 2008): 6_200,
        ("BLR", "RUS", 2012): 15_062,
        ("BLR", "RUS", 2016): 10_568,
    }.items():
        assert abs(totals.loc[(e, i, y), "trade"] - value) < 1.0


def test_reporting_gaps_are_filled_and_flagged(ds: Dataset, source_totals: pd.Series) -> None:
    totals = _totals(ds)
    international = totals[[e != i for e, i, _ in totals.index]]
    missing = [k for k in international.index if not (source_totals.get(k, 0.0) > 0)]
    assert (
        ("RUS", "BLR", 2008) in missing
        and ("ARM", "RUS", 2008) in missing
        and ("RUS", "ARM", 2008) in missing
    )
    assert all(("UZB", j, y) in missing for j in REGIONS if j != "UZB" for y in YEARS)
    flagged = international[international["gap"]]
    assert sorted(flagged.index) == sorted(missing)
    assert (flagged["trade"] > 0).all()
    assert len(ds.meta["gap_filled_pairs"]) == len(missing)
    # RUS->BLR 2008 was 0 in the source; filled from 2012/2016 scaled by RUS's world exports
    assert 5_000 < totals.loc[("RUS", "BLR", 2008), "trade"] < 40_000


@pytest.mark.parametrize("year", YEARS)
def test_baseline_passes_core_validation(ds: Dataset, year: int) -> None:
    flows = ds.flows[ds.flows["year"] == year]
    for sector, part in flows.groupby("sector"):
        data = GravityData.from_frame(
            part.drop(columns=["year", "sector", "imputed"]), source=f"eaeu {year} {sector}"
        )
        matrix = data.matrix()
        assert matrix.shape == (18, 18)
        assert np.all(np.isfinite(matrix)) and np.all(matrix >= 0)
        assert np.all(np.diag(matrix) > 0), "domestic flows must be present"
        if sector != "other":
            assert np.all(matrix > 0), "every goods flow is positive after gap filling"
    panel = ds.gravity_data(year)
    assert panel.countries == tuple(sorted(REGIONS))
    np.testing.assert_allclose(panel.matrix().sum(), flows["trade"].sum(), rtol=1e-12)


def test_sector_split_is_proportional_and_sums_to_totals(ds: Dataset) -> None:
    flows = ds.flows[ds.flows["exporter"] != ds.flows["importer"]]
    other = flows[flows["sector"] == "other"]
    assert (other["trade"] == 0).all() and (other["imputed"].str.endswith("not_traded")).all()
    wide = flows.pivot_table(index=["exporter", "importer", "year"], columns="sector", values="trade")
    calibrated = (
        flows[flows["imputed"].str.contains("food2013")].set_index(["exporter", "importer", "year"]).index
    )
    wide = wide.drop(index=calibrated.unique())
    assert len(wide) == 18 * 17 * 3 - 6
    shares = wide[SECTORS].div(wide[SECTORS].sum(axis=1), axis=0)
    expected = np.array(
        [[ds.meta["export_shares"][str(y)][e][s] for s in SECTORS] for e, _, y in shares.index]
    )
    np.testing.assert_allclose(shares[SECTORS].to_numpy(), expected, atol=1e-6)
    goods = flows[flows["sector"] != "other"]
    assert goods["imputed"].str.contains("split_mrio|split_proxy|food2013").all()
    proxy = goods["exporter"].isin(["BLR", "ARM", "UKR", "UZB", "TJK"])
    assert (
        goods.loc[proxy & ~goods["imputed"].str.contains("food2013"), "imputed"]
        .str.endswith("split_proxy")
        .all()
    )


def test_russia_2013_food_imports_match_published_figures(ds: Dataset, source_totals: pd.Series) -> None:
    # Reuters factbox, 7 Aug 2014 (russia_food_ban_2013_trade_values), USD bn -> USD m
    published = {"BLR": 2740.0, "UKR": 1990.0, "TUR": 1680.0, "CHN": 1610.0, "USA": 1540.0, "EUN": 13700.0}
    f = ds.flows.set_index(["exporter", "importer", "sector", "year"])
    for origin, value in published.items():
        cell = f.loc[(origin, "RUS", "agri_food", 2012)]
        assert cell["trade"] == pytest.approx(value, rel=1e-11)
        assert cell["imputed"].endswith("food2013")
        total = f.loc[(origin, "RUS", slice(None), 2012), "trade"].sum()
        assert total == pytest.approx(source_totals[(origin, "RUS", 2012)], rel=1e-9)
    other_origins = ds.flows[
        (ds.flows["importer"] == "RUS")
        & (ds.flows["year"] == 2012)
        & ds.flows["imputed"].str.contains("food2013")
    ]
    assert set(other_origins["exporter"]) == set(published)


def test_domestic_flows_are_gdp_minus_exports(ds: Dataset, shared_data: Path) -> None:
    gdp = pd.read_csv(shared_data / "gdp_worldbank" / "gdp_current_usd_1960_2016_wwmetrics.csv")
    totals = ds.total_flows()
    for country in ("RUS", "KAZ", "BLR", "ARM", "KGZ"):
        for year in YEARS:
            g = gdp.loc[(gdp["iso3"] == country) & (gdp["year"] == year), "gdp_current_usd"].item() / 1e6
            mine = totals[(totals["exporter"] == country) & (totals["year"] == year)]
            exports = mine.loc[mine["importer"] != country, "trade"].sum()
            domestic = mine.loc[mine["importer"] == country, "trade"].item()
            assert domestic == pytest.approx(g - exports, rel=1e-9)
    dom = ds.flows[ds.flows["exporter"] == ds.flows["importer"]]
    assert dom["imputed"].str.startswith("domestic_gdp").all()


def test_gravity_covariates_match_cepii_and_agreements(ds: Dataset) -> None:
    g = ds.gravity.set_index(["exporter", "importer", "year"])
    # CEPII GeoDist values quoted in its PROVENANCE.md
    assert g.loc[("KAZ", "RUS", 2012), "dist"] == pytest.approx(2152.753)
    assert g.loc[("KAZ", "KGZ", 2012), "dist"] == pytest.approx(884.7125)
    assert g.loc[("KAZ", "BLR", 2012), "dist"] == pytest.approx(3095.139)
    assert tuple(g.loc[("KAZ", "RUS", 2012), ["contig", "comlang", "colony"]]) == (1, 1, 1)
    assert g.loc[("RUS", "ARM", 2012), "contig"] == 0 and g.loc[("RUS", "ARM", 2012), "colony"] == 1
    assert list(g.loc[[("RUS", "KAZ", y) for y in YEARS], "cu"]) == [0, 1, 1]
    assert list(g.loc[[("ARM", "RUS", y) for y in YEARS], "cu"]) == [0, 0, 1]
    assert list(g.loc[[("KGZ", "BLR", y) for y in YEARS], "eaeu"]) == [0, 0, 1]
    assert list(g.loc[[("EUN", "TUR", y) for y in YEARS], "cu"]) == [1, 1, 1]
    assert g.loc[("UKR", "RUS", 2016), "cu"] == 0 and g.loc[("UKR", "RUS", 2016), "fta"] == 1
    assert g.loc[("RUS", "RUS", 2012), "international"] == 0
    assert ds.gravity[["dist", "contig", "comlang", "colony", "cu", "fta"]].notna().all().all()
    assert (
        (
            (ds.gravity[["contig", "comlang", "colony", "cu", "fta", "eaeu"]] >= 0)
            & (ds.gravity[["contig", "comlang", "colony", "cu", "fta", "eaeu"]] <= 1)
        )
        .all()
        .all()
    )


def test_tariffs_every_row_has_a_source(ds: Dataset) -> None:
    t = ds.tariffs
    assert (t["source"].str.len() > 20).all()
    assert t["regime"].isin(["mfn", "cet", "applied"]).all()
    assert ((t["rate"] >= 0) & (t["rate"] < 1)).all()
    applied = t[t["regime"] == "applied"]
    assert len(applied) == len(REGIONS) * len(SECTORS) * len(YEARS)
    assert not applied.duplicated(["importer", "sector", "year"]).any()
    key = t.set_index(["importer", "sector", "year", "regime"])
    # published figures (eaeu_policy_reference): WTO 2011 applied rates, COMCEC KAZ MFN averages
    assert key.loc[("RUS", "agri_food", 2012, "applied"), "rate"] == pytest.approx(0.132)
    assert key.loc[("RUS", "manufacturing", 2012, "cet"), "rate"] == pytest.approx(0.095)
    assert not key.loc[("RUS", "agri_food", 2012, "applied"), "source"].startswith("assumption")
    assert key.loc[("KAZ", "manufacturing", 2008, "mfn"), "rate"] == pytest.approx(0.051)
    assert key.loc[("KAZ", "manufacturing", 2012, "applied"), "rate"] == pytest.approx(0.078)
    assert "COMCEC" in key.loc[("KAZ", "manufacturing", 2012, "applied"), "source"]
    # no published figure: flagged assumptions
    assert (
        t.loc[t["importer"].isin(["USA", "EUN", "CHN", "UZB", "ROW"]), "source"]
        .str.startswith("assumption: ")
        .all()
    )
    assert t.loc[t["sector"] == "other", "rate"].eq(0).all()
    cet = t[t["regime"] == "cet"]
    assert set(cet.loc[cet["year"] == 2012, "importer"]) == {"RUS", "KAZ", "BLR"}
    assert set(cet.loc[cet["year"] == 2016, "importer"]) == {"RUS", "KAZ", "BLR", "ARM", "KGZ"}


def test_load_returns_independent_copies(ds: Dataset) -> None:
    first = load_dataset("eaeu-2016v1")
    first.flows.loc[:, "trade"] = -1.0
    first.meta["name"] = "changed"
    second = load_dataset("eaeu-2016v1")
    assert (second.flows["trade"] >= 0).all() and second.meta["name"] == "eaeu"


def test_unknown_dataset_lists_allowed_names() -> None:
    with pytest.raises(DataValidationError, match=r"name='nope'.*allowed: \['eaeu', 'eaeu-2016v1', 'eaeu-2022v2'\]"):
        load_dataset("nope")
    with pytest.raises(DataValidationError, match="year=2010"):
        load_dataset().total_flows(2010)


def test_default_eaeu_is_v2_and_the_old_tables_stay_loadable_by_version() -> None:
    """The default name loads dataset v2; run.json tells the two apart by ``Dataset.version``."""
    default, v2, v1 = load_dataset("eaeu"), load_dataset("eaeu-2022v2"), load_dataset("eaeu-2016v1")
    assert default.version == v2.version == {"tables": "eaeu-2022v2", "recipe_version": V2_RECIPE_VERSION}
    assert v1.version == {"tables": "eaeu-2016v1", "recipe_version": "1.0"}
    assert len(default.regions) == 85 and len(default.sectors) == 28 and default.years == tuple(range(2011, 2023))
    assert default.flows["trade"].sum() == pytest.approx(v2.flows["trade"].sum(), rel=1e-15)


def test_list_datasets_shows_eaeu() -> None:
    entry = next(d for d in list_datasets() if d["name"] == "eaeu-2016v1")
    assert entry["years"] == YEARS and entry["countries"] == REGIONS and entry["sectors"] == SECTORS
    assert "wb_trade_agreements_penppml" in entry["source"]


def test_write_csv_round_trip(ds: Dataset, tmp_path: Path) -> None:
    paths = ds.write_csv(tmp_path)
    assert {p.name for p in paths} >= {"flows.csv", "tariffs.csv", "meta.json"}
    back = pd.read_csv(tmp_path / "flows.csv", keep_default_na=False)
    np.testing.assert_allclose(back["trade"], ds.flows["trade"], rtol=1e-15)
