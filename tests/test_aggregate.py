"""Country codes, concordances and total-preserving aggregation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blocsim.data import countries
from blocsim.data.aggregate import DOMESTIC_METHOD, add_domestic_flows, aggregate_countries, aggregate_products
from blocsim.data.concordance import (
    ADB_SECTOR_TO_BROAD,
    BROAD_SECTORS,
    hs_concordance,
    map_adb_sectors,
    map_products,
    sector_table,
)
from blocsim.errors import DataValidationError


def random_hs6_flows(rng: np.random.Generator, n: int = 4000) -> pd.DataFrame:
    codes = np.array(sorted(countries.iso3_table()["iso3"]))[:60]
    chapters = rng.integers(1, 100, n)
    products = [f"{c:02d}{rng.integers(1, 100):02d}{rng.integers(0, 100):02d}" for c in chapters]
    return pd.DataFrame(
        {
            "exporter": rng.choice(codes, n),
            "importer": rng.choice(codes, n),
            "year": rng.choice([2008, 2012, 2016], n),
            "product": products,
            "trade": rng.gamma(0.5, 20.0, n),
            "quantity": np.where(rng.random(n) < 0.2, np.nan, rng.gamma(1.0, 5.0, n)),
        }
    )


# -- countries ----------------------------------------------------------------------------


def test_iso_table_and_numeric_round_trip() -> None:
    table = countries.iso3_table()
    assert len(table) == 249 and table["iso3"].is_unique and table["numeric"].is_unique
    iso3 = countries.numeric_to_iso3(table["numeric"].to_numpy())
    assert list(iso3) == table["iso3"].tolist()
    assert list(countries.numeric_to_iso3([643, 398, 112, 51, 417, 810, 999])) == ["RUS", "KAZ", "BLR", "ARM", "KGZ", "SUN", None]
    assert countries.country_name("KGZ") == "Kyrgyzstan" and countries.code_kind("BLX") == "historic"


def test_normalize_codes_fixes_old_codes_and_reports_rows() -> None:
    fixed = countries.normalize_codes(pd.Series([" rom", "ZAR", "TMP", "PAL", "MNT", "KN1", "YUG"]), source="f.csv", column="c")
    assert fixed.tolist() == ["ROU", "COD", "TLS", "PSE", "MNE", "KNA", "YUG"]
    geodist = countries.normalize_codes(pd.Series(["YUG"]), source="f.csv", column="c", extra_fixes={"YUG": "SRB"})
    assert geodist.tolist() == ["SRB"]
    with pytest.raises(DataValidationError, match=r"f\.csv: row 4, column 'c': unknown country code 'ABC'"):
        countries.normalize_codes(pd.Series(["RUS", "KAZ", "ABC"]), source="f.csv", column="c")
    with pytest.raises(DataValidationError, match=r"row 3, column 'c': missing country code"):
        countries.normalize_codes(pd.Series(["RUS", None]), source="f.csv", column="c")


def test_eu_membership_by_year() -> None:
    assert len(countries.eu_members(2004)) == 25 and len(countries.eu_members(2003)) == 15
    assert countries.eu_members(2012) == countries.EU28 - {"HRV"}
    assert countries.eu_members(2013) == countries.EU28 and len(countries.EU28) == 28
    assert countries.eu_members(2020) == countries.EU27 and "GBR" not in countries.EU27 and len(countries.EU27) == 27
    assert "BLX" in countries.eu_members(1995, legacy_codes=True)


def test_region_mapping_keeps_members_and_groups_the_rest() -> None:
    mapping = countries.region_mapping(["RUS", "KAZ", "DEU", "HRV", "POL", "CHN", "BLX", "UNS"], keep=["RUS", "KAZ", "POL"], year=2012)
    assert mapping == {"RUS": "RUS", "KAZ": "KAZ", "DEU": "EUN", "HRV": "ROW", "POL": "POL", "CHN": "ROW", "BLX": "EUN", "UNS": "ROW"}


# -- concordance --------------------------------------------------------------------------


def test_hs_concordance_covers_every_chapter_once() -> None:
    table = hs_concordance()
    assert table["hs2"].tolist() == [f"{c:02d}" for c in range(1, 100)]
    by_sector = table.groupby("sector")["hs2"].apply(lambda s: (s.min(), s.max(), len(s))).to_dict()
    assert by_sector["agri_food"] == ("01", "24", 24)
    assert by_sector["mining_energy"] == ("25", "27", 3)
    manufacturing = table.loc[table["sector"] == "manufacturing", "hs2"].astype(int)
    assert manufacturing.tolist() == [c for c in range(28, 97) if c != 77]
    assert table.loc[table["sector"] == "other", "hs2"].tolist() == ["77", "97", "98", "99"]
    assert table.loc[table["hs2"] == "71", "section"].item() == "XIV"
    assert table["section"].nunique() == 22  # 21 sections + unclassified
    assert list(sector_table()["sector"]) == list(BROAD_SECTORS) == ["agri_food", "mining_energy", "manufacturing", "other"]


def test_map_products_levels_and_bad_codes() -> None:
    products = pd.Series(["010121", "2709", "27", "870323", "971000", "710812"])
    assert map_products(products, "hs2").tolist() == ["01", "27", "27", "87", "97", "71"]
    assert map_products(products, "section").tolist() == ["I", "V", "V", "XVII", "XXI", "XIV"]
    assert map_products(products, "broad").tolist() == ["agri_food", "mining_energy", "mining_energy", "manufacturing", "other", "manufacturing"]
    with pytest.raises(DataValidationError, match=r"row with index 1, column 'product': product code '12345'"):
        map_products(pd.Series(["010121", "12345"]), "hs2")


def test_adb_sector_mapping_agrees_with_hs_split(shared_data: Path) -> None:
    from blocsim.data.loaders import load_adb_mrio

    mrio = load_adb_mrio(shared_data / "adb_mrio_sector_summary" / "adb_mrio62_country_sector_summary_2000_2007_2022.csv")
    assert set(mrio["sector"]) == set(ADB_SECTOR_TO_BROAD)
    broad = map_adb_sectors(mrio["sector"])
    assert broad[mrio["sector"].isin(["FBT", "AHF"])].eq("agri_food").all()
    assert broad[mrio["sector"].isin(["MIN", "CRP"])].eq("mining_energy").all()
    with pytest.raises(DataValidationError, match="unknown ADB sector 'XXX'"):
        map_adb_sectors(pd.Series(["AHF", "XXX"]))


# -- aggregation --------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["hs2", "section", "broad"])
def test_product_aggregation_preserves_totals(level: str) -> None:
    flows = random_hs6_flows(np.random.default_rng(7))
    out = aggregate_products(flows, level)
    assert out["trade"].sum() == pytest.approx(flows["trade"].sum(), rel=1e-12)
    assert out["quantity"].sum() == pytest.approx(flows["quantity"].sum(), rel=1e-12)
    by_year = out.groupby("year")["trade"].sum()
    np.testing.assert_allclose(by_year, flows.groupby("year")["trade"].sum(), rtol=1e-12)
    column = {"hs2": "hs2", "section": "section", "broad": "sector"}[level]
    assert not out.duplicated(["exporter", "importer", "year", column]).any()


def test_product_aggregation_chain_is_consistent() -> None:
    """HS6 -> HS2 -> section equals HS6 -> section, cell by cell."""
    flows = random_hs6_flows(np.random.default_rng(11))
    direct = aggregate_products(flows, "section")
    via_hs2 = aggregate_products(aggregate_products(flows, "hs2").rename(columns={"hs2": "product"}), "section")
    pd.testing.assert_frame_equal(direct, via_hs2, check_exact=False, rtol=1e-12)
    broad_direct = aggregate_products(flows, "broad").set_index(["exporter", "importer", "year", "sector"])["trade"]
    manual = flows.assign(sector=map_products(flows["product"], "broad")).groupby(["exporter", "importer", "year", "sector"])["trade"].sum()
    pd.testing.assert_series_equal(broad_direct.sort_index(), manual.sort_index(), check_names=False, rtol=1e-12)


def test_country_aggregation_preserves_totals_and_builds_region_domestic_flow() -> None:
    flows = random_hs6_flows(np.random.default_rng(3)).drop(columns="product")
    codes = set(flows["exporter"]) | set(flows["importer"])
    keep = sorted(codes)[:5]
    mapping = countries.region_mapping(codes, keep=keep, year=2012)
    out = aggregate_countries(flows, mapping)
    assert out["trade"].sum() == pytest.approx(flows["trade"].sum(), rel=1e-12)
    assert set(out["exporter"]) <= set(keep) | {"EUN", "ROW"}
    intra_eu = flows.loc[flows["exporter"].map(mapping).eq("EUN") & flows["importer"].map(mapping).eq("EUN"), "trade"].sum()
    assert out.loc[(out["exporter"] == "EUN") & (out["importer"] == "EUN"), "trade"].sum() == pytest.approx(intra_eu, rel=1e-12)
    kept = flows.loc[flows["exporter"].eq(keep[0]) & flows["importer"].eq(keep[1])].groupby("year")["trade"].sum()
    got = out.loc[out["exporter"].eq(keep[0]) & out["importer"].eq(keep[1])].set_index("year")["trade"]
    pd.testing.assert_series_equal(got, kept, check_names=False, rtol=1e-12)
    with pytest.raises(DataValidationError, match="have no region"):
        aggregate_countries(flows, {keep[0]: keep[0]})


def test_country_level_table_and_explicit_keys() -> None:
    macro = pd.DataFrame(
        {"country": ["DEU", "FRA", "RUS", "CHN"], "year": 2012, "flag": ["a", "b", "c", "d"], "gdp": [3.5, 2.7, 2.2, 8.5]}
    )
    mapping = countries.region_mapping(macro["country"], keep=["RUS"], year=2012)
    out = aggregate_countries(macro, mapping, columns=("country",), keys=("year",))
    assert out.set_index("country")["gdp"].to_dict() == pytest.approx({"EUN": 6.2, "ROW": 8.5, "RUS": 2.2})
    assert list(out.columns) == ["country", "year", "gdp"]  # the text flag is neither key nor value


def test_domestic_flows_output_minus_exports() -> None:
    flows = pd.DataFrame(
        {"exporter": ["RUS", "RUS", "KAZ"], "importer": ["KAZ", "BLR", "RUS"], "year": 2012, "trade": [14.0, 16.0, 7.0]}
    )
    output = pd.DataFrame({"country": ["RUS", "KAZ", "BLR"], "year": 2012, "output": [100.0, 50.0, 20.0]})
    result, meta = add_domestic_flows(flows, output)
    domestic = result.loc[result["exporter"] == result["importer"]].set_index("exporter")["trade"]
    assert domestic.to_dict() == {"BLR": 20.0, "KAZ": 43.0, "RUS": 70.0}
    assert (result.loc[result["exporter"] == result["importer"], "imputed"] == DOMESTIC_METHOD).all()
    assert (result.loc[result["exporter"] != result["importer"], "imputed"] == "").all()
    # output identity: each country's row sum equals its output
    np.testing.assert_allclose(result.groupby("exporter")["trade"].sum().loc[["RUS", "KAZ", "BLR"]], [100.0, 50.0, 20.0])
    assert meta["method"] == DOMESTIC_METHOD and "valuation" in meta["caveat"] and meta["clipped"] == []


def test_domestic_flows_refuses_bad_inputs_and_clips_on_request() -> None:
    flows = pd.DataFrame({"exporter": ["RUS"], "importer": ["KAZ"], "year": 2012, "trade": [120.0]})
    output = pd.DataFrame({"country": ["RUS", "KAZ"], "year": 2012, "output": [100.0, 50.0]})
    with pytest.raises(DataValidationError, match="exceed output"):
        add_domestic_flows(flows, output)
    result, meta = add_domestic_flows(flows, output, on_negative="clip")
    assert result.loc[(result["exporter"] == "RUS") & (result["importer"] == "RUS"), "trade"].item() == 0.0
    assert meta["clipped"] == [{"country": "RUS", "year": 2012}]
    with pytest.raises(DataValidationError, match="already has domestic flows"):
        add_domestic_flows(result, output)
    with pytest.raises(DataValidationError, match="no 'output' for"):
        add_domestic_flows(flows, output.iloc[1:])


# -- non-finite values (issue 13, finding 8) ----------------------------------------------


def test_aggregation_refuses_infinite_values_and_overflowing_sums() -> None:
    flows = random_hs6_flows(np.random.default_rng(3), n=50)
    flows.loc[7, "trade"] = np.inf
    with pytest.raises(DataValidationError, match=r"hs6: column 'trade' has a non-finite value inf in row 7 \(1 such"):
        aggregate_products(flows, "hs2", source="hs6")
    huge = pd.DataFrame({"exporter": ["DEU", "FRA"], "importer": ["FRA", "DEU"], "year": 2012, "trade": [1e308, 1e308]})
    mapping = {"DEU": "EUN", "FRA": "EUN"}
    with pytest.raises(DataValidationError, match=r"flows: the sum of column 'trade' overflows .*'exporter': 'EUN'"):
        aggregate_countries(huge, mapping, source="flows")


def test_domestic_flows_refuse_missing_flows_and_infinite_output() -> None:
    """A NaN flow used to count as zero exports, inflating the domestic flow."""
    flows = pd.DataFrame({"exporter": ["RUS", "RUS"], "importer": ["KAZ", "BLR"], "year": 2012, "trade": [14.0, np.nan]})
    output = pd.DataFrame({"country": ["RUS", "KAZ", "BLR"], "year": 2012, "output": [100.0, 50.0, 20.0]})
    with pytest.raises(DataValidationError, match=r"flows: column 'trade' has a non-finite value nan in row 1"):
        add_domestic_flows(flows, output)
    infinite = output.assign(output=[np.inf, 50.0, 20.0])
    with pytest.raises(DataValidationError, match=r"output: column 'output' has a non-finite value inf in row 0"):
        add_domestic_flows(flows.fillna(1.0), infinite)
