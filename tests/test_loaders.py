"""Source loaders on small fixtures in each published format, and on the real files in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blocsim.data import loaders
from blocsim.data.loaders import (
    load_adb_mrio,
    load_baci,
    load_cepii_gravity,
    load_comtrade,
    load_eia,
    load_geodist_dist,
    load_geodist_geo,
    load_itpd,
    load_wb_trade_every4y,
    load_wdi,
    load_wits_tariffs,
)
from blocsim.errors import DataValidationError

FIXTURES = Path(__file__).parent / "data" / "loaders"


def pair(frame: pd.DataFrame, exporter: str, importer: str, **keys: object) -> pd.Series:
    mask = (frame["exporter"] == exporter) & (frame["importer"] == importer)
    for key, value in keys.items():
        mask &= frame[key] == value
    assert mask.sum() == 1, f"{exporter}->{importer} {keys}: {mask.sum()} rows"
    return frame.loc[mask].iloc[0]


# -- CEPII GeoDist ------------------------------------------------------------------------


def test_geodist_dist_original_format_fixes_old_codes_and_missing_marker() -> None:
    dist = load_geodist_dist(FIXTURES / "dist_cepii.csv")
    assert list(dist.columns[:2]) == ["exporter", "importer"]
    assert set(dist["exporter"]) == {"KAZ", "ROU", "SRB", "TLS"}
    assert set(dist["importer"]) == {"KAZ", "RUS", "COD", "PSE"}
    rou = pair(dist, "ROU", "COD")
    assert rou["dist"] == pytest.approx(5762.321, abs=0) and np.isnan(rou["distw"])
    kaz = pair(dist, "KAZ", "RUS")
    assert (kaz["contig"], kaz["comlang_off"], kaz["colony"]) == (1, 1, 1)
    assert kaz["distw"] == 2152.753


def test_geodist_geo_original_latin1_semicolon(tmp_path: Path) -> None:
    geo = load_geodist_geo(FIXTURES / "geo_cepii.csv")
    assert geo["iso3"].tolist() == ["CIV", "KAZ", "ROU", "SRB"]
    assert geo.set_index("iso3").loc["CIV", "name"] == "Côte d'Ivoire"
    kaz = geo.set_index("iso3").loc["KAZ"]
    assert (kaz["city"], kaz["lat"], kaz["landlocked"], kaz["langoff_2"]) == ("Astana", 51.17, 1, "Russian")
    main = load_geodist_geo(FIXTURES / "geo_cepii.csv", city="main").set_index("iso3")
    assert main.loc["KAZ", "city"] == "Alma-Ata (Almaty)"
    assert len(load_geodist_geo(FIXTURES / "geo_cepii.csv", city="all")) == 5


def test_geodist_real_files_match_provenance_figures(shared_data: Path) -> None:
    dist = load_geodist_dist(shared_data / "cepii_geodist" / "dist_cepii.csv")
    assert len(dist) == 224 * 224
    assert not {"ROM", "ZAR", "YUG", "PAL", "TMP"} & set(dist["exporter"])
    assert {"ROU", "COD", "SRB", "PSE", "TLS"} <= set(dist["exporter"])
    kaz_rus = pair(dist, "KAZ", "RUS")
    assert (kaz_rus["contig"], kaz_rus["comlang_off"], kaz_rus["colony"]) == (1, 1, 1)
    assert kaz_rus["distw"] == pytest.approx(2152.753, rel=1e-9)
    assert pair(dist, "KAZ", "KGZ")["distw"] == pytest.approx(884.7125, rel=1e-9)
    kaz_blr = pair(dist, "KAZ", "BLR")
    assert (kaz_blr["contig"], kaz_blr["comlang_off"], kaz_blr["comlang_ethno"]) == (0, 0, 1)
    assert pair(dist, "RUS", "ARM")["colony"] == 1
    assert pair(dist, "KAZ", "KAZ")["distw"] == pytest.approx(876.7008, rel=1e-9)
    assert dist["distw"].isna().sum() == 2215


def test_geo_numeric_codes_agree_with_iso_table_except_cepii_special_codes(shared_data: Path) -> None:
    """CEPII's ``cnum`` is an independent source of ISO numeric codes for our ISO table."""
    from blocsim.data.countries import iso3_to_numeric

    geo = load_geodist_geo(shared_data / "cepii_geodist" / "geo_cepii.csv")
    ours = iso3_to_numeric(geo["iso3"])
    differ = geo.loc[ours != geo["numeric"].to_numpy(), ["iso3", "numeric"]]
    # Every difference is a documented CEPII/BACI convention: France incl. Monaco 251, Italy
    # 381, Norway 579, India 699, Switzerland 757, USA 842, Belgium-Luxembourg 58, South African
    # Customs Union 711, "Other Asia nes" 490 for Taiwan, pre-2011 Sudan 736, old Palestine 931,
    # Serbia and Montenegro 891 (YUG), and ANT (historic, no current ISO numeric code).
    assert dict(zip(differ["iso3"], differ["numeric"])) == {
        "ANT": 530, "BEL": 58, "CHE": 757, "FRA": 251, "IND": 699, "ITA": 381, "NOR": 579, "PSE": 931,
        "SDN": 736, "SRB": 891, "TWN": 490, "USA": 842, "ZAF": 711,
    }
    assert (ours == geo["numeric"].to_numpy()).sum() == 225 - 13
    assert len(geo) == 225


# -- CEPII Gravity ------------------------------------------------------------------------


def test_cepii_gravity_units_and_trade_source() -> None:
    grav = load_cepii_gravity(FIXTURES / "gravity_v202211.csv")
    assert len(grav) == 3  # the SUN row (country_exists_d = 0) is dropped
    rus_kaz = pair(grav, "RUS", "KAZ", year=2012)
    assert rus_kaz["gdp_o"] == pytest.approx(2208293.0, rel=1e-12)  # thousands -> millions
    assert rus_kaz["pop_o"] == pytest.approx(143.2017, rel=1e-12)
    assert rus_kaz["tradeflow_comtrade_o"] == pytest.approx(14715.34, rel=1e-12)
    assert np.isnan(rus_kaz["trade"])  # importer-reported value missing
    assert pair(grav, "KAZ", "RUS", year=2012)["trade"] == pytest.approx(6201.5553, rel=1e-12)
    baci = load_cepii_gravity(FIXTURES / "gravity_v202211.csv", trade="tradeflow_baci")
    assert pair(baci, "RUS", "KAZ", year=2012)["trade"] == pytest.approx(14802.5112, rel=1e-12)
    assert set(grav["exporter"]) == {"RUS", "KAZ", "ROU"}


# -- CEPII BACI ---------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_baci_fixture_units_codes_and_padded_na(engine: str) -> None:
    baci = load_baci(FIXTURES / "BACI_HS12_Y2012_V202401.csv", engine=engine)
    assert list(baci.columns) == ["exporter", "importer", "year", "product", "trade", "quantity"]
    row = pair(baci, "RUS", "KAZ")
    assert (row["product"], row["trade"], row["quantity"]) == ("010121", pytest.approx(1.234567, rel=1e-12), 12.5)
    assert np.isnan(pair(baci, "KAZ", "RUS")["quantity"])
    assert pair(baci, "BLR", "ARM")["product"] == "010121"  # integer code 10121 gets its leading zero back
    assert pair(baci, "USA", "S19")["trade"] == pytest.approx(0.01)  # 842 and 490 from the code file
    assert pair(baci, "FRA", "IND")["product"] == "710812"
    assert pair(baci, "BLX", "KGZ")["trade"] == pytest.approx(0.001)


def test_baci_engines_agree_on_a_large_generated_file(tmp_path: Path) -> None:
    """150,000 random rows: the DuckDB engine gives exactly the pandas table, in file order
    (codes, zero-padding, padded NA, units); bench/data_load.py checks the same at 2M-10M rows."""
    rng = np.random.default_rng(5)
    codes = pd.read_csv(FIXTURES / "country_codes_V202401.csv")["country_code"].to_numpy()
    rows = 150_000
    keys = rng.choice(len(codes) ** 2 * 4000, size=rows, replace=False)  # unique (i, j, k)
    pair_index, product = np.divmod(keys, 4000)
    quantity = np.round(rng.lognormal(1.0, 2.0, rows), 3).astype(str).astype(object)
    quantity[rng.random(rows) < 0.1] = "          NA"
    frame = pd.DataFrame(
        {
            "t": 2012,
            "i": codes[pair_index // len(codes)],
            "j": codes[pair_index % len(codes)],
            "k": 10_000 + product * 22,  # 5 digits, as BACI writes chapters 01-09
            "v": np.round(rng.lognormal(2.0, 2.5, rows), 3),
            "q": quantity,
        }
    )
    path = tmp_path / "BACI_HS12_Y2012_V202401.csv"
    frame.to_csv(path, index=False)
    (tmp_path / "country_codes_V202401.csv").write_bytes((FIXTURES / "country_codes_V202401.csv").read_bytes())
    duck = load_baci(path, engine="duckdb")
    pd.testing.assert_frame_equal(duck, load_baci(path, engine="pandas"))
    assert duck["product"].str.startswith("0").all()
    assert duck["quantity"].isna().sum() == (quantity == "          NA").sum() > 0
    np.testing.assert_allclose(duck["trade"].to_numpy(), frame["v"].to_numpy() / 1000, rtol=1e-15)


def test_baci_engines_agree_and_iso_fallback(tmp_path: Path) -> None:
    pandas_frame = load_baci(FIXTURES / "BACI_HS12_Y2012_V202401.csv")
    duck_frame = load_baci(FIXTURES / "BACI_HS12_Y2012_V202401.csv", engine="duckdb")
    pd.testing.assert_frame_equal(pandas_frame, duck_frame)
    lone = tmp_path / "BACI_HS12_Y2012_V202401.csv"  # no country_codes file beside it
    lone.write_bytes((FIXTURES / "BACI_HS12_Y2012_V202401.csv").read_bytes())
    pd.testing.assert_frame_equal(load_baci(lone), pandas_frame)


def test_baci_parquet_writer_defers_arrow_requests_to_load_baci(tmp_path: Path) -> None:
    from blocsim.data.loaders.baci import baci_parquet_writer

    baci = FIXTURES / "BACI_HS12_Y2012_V202401.csv"
    assert baci_parquet_writer(baci, engine="duckdb", arrow=True) is None  # caller uses load_baci(arrow=True)
    writer = baci_parquet_writer(baci, engine="duckdb")
    assert writer is not None and writer(tmp_path / "baci.parquet") == 6
    written = pd.read_parquet(tmp_path / "baci.parquet")
    assert written["trade"].sum() == pytest.approx(load_baci(baci)["trade"].sum(), rel=1e-12)


# -- ITPD-E, Comtrade, WITS ---------------------------------------------------------------


def test_itpd_keeps_domestic_trade_and_maps_sectors() -> None:
    itpd = load_itpd(FIXTURES / "ITPD_E_R02_sample.csv")
    assert pair(itpd, "KAZ", "KAZ")["trade"] == 2100.5
    assert pair(itpd, "RUS", "RUS")["sector"] == "other"
    assert pair(itpd, "RUS", "KAZ")["sector"] == "mining_energy"
    assert pair(itpd, "ROU", "RUS")["flag_zero"] == "r"
    assert itpd["trade"].sum() == pytest.approx(2100.5 + 310.25 + 1250 + 7800.125 + 185000)


def test_comtrade_api_layout_drops_world_and_breakdowns() -> None:
    api = load_comtrade(FIXTURES / "comtrade_api.csv")
    assert len(api) == 3  # world partner and the motCode=1000 breakdown row are dropped
    imports = api.loc[api["flow"] == "import"].iloc[0]
    assert (imports["exporter"], imports["importer"], imports["trade"]) == ("KAZ", "RUS", pytest.approx(6201.5553))
    exports = api.loc[api["flow"] == "export"].iloc[0]
    assert (exports["exporter"], exports["importer"], exports["trade"]) == ("RUS", "KAZ", pytest.approx(14715.34))
    assert api.loc[api["flow"] == "re-export", "product"].item() == "27"
    with_world = load_comtrade(FIXTURES / "comtrade_api.csv", drop_world=False)
    assert "WLD" in set(with_world["partner"])


def test_comtrade_legacy_layout() -> None:
    legacy = load_comtrade(FIXTURES / "comtrade_legacy.csv")
    assert len(legacy) == 3
    assert pair(legacy, "RUS", "KAZ")["trade"] == pytest.approx(13228.744)
    assert pair(legacy, "KAZ", "RUS")["flow"] == "export"


def test_fetch_comtrade_needs_a_key_and_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMTRADE_API_KEY", raising=False)
    with pytest.raises(DataValidationError, match="no subscription key"):
        loaders.fetch_comtrade(years=[2012])


def test_fetch_comtrade_calls_the_api_package_and_normalises(monkeypatch: pytest.MonkeyPatch) -> None:
    """The network package is replaced by a stand-in returning an API-layout frame (no network)."""
    import sys
    import types

    calls: list[dict[str, object]] = []

    def get_final_data(key: str, **kwargs: object) -> pd.DataFrame:
        calls.append({"key": key, **kwargs})
        return pd.read_csv(FIXTURES / "comtrade_api.csv", dtype=str, keep_default_na=False)

    monkeypatch.setitem(sys.modules, "comtradeapicall", types.SimpleNamespace(getFinalData=get_final_data))
    frame = loaders.fetch_comtrade(years=[2012], reporters=[643], flow="M,X", key="secret")
    assert calls[0]["period"] == "2012" and calls[0]["reporterCode"] == "643" and calls[0]["flowCode"] == "M,X"
    pd.testing.assert_frame_equal(frame, load_comtrade(FIXTURES / "comtrade_api.csv"))


def test_wits_rates_become_fractions() -> None:
    wits = load_wits_tariffs(FIXTURES / "wits_tariffs.csv")
    kaz = wits.loc[(wits["importer"] == "KAZ") & (wits["duty_type"] == "mfn")].iloc[0]
    assert kaz["simple_average"] == pytest.approx(0.0947) and kaz["weighted_average"] == pytest.approx(0.0692)
    assert kaz["imports"] == pytest.approx(46358.4978)
    assert set(wits["duty_type"]) == {"mfn", "ahs", "prf"}
    assert "EUN" in set(wits["importer"])


# -- World Bank ---------------------------------------------------------------------------


def test_wdi_databank_wide_with_footer_and_dots() -> None:
    wdi = load_wdi(FIXTURES / "wdi_databank.csv")
    assert "WLD" not in set(wdi["country"]) and "PRK" not in set(wdi["country"])  # aggregate; all ".."
    kaz = wdi.loc[(wdi["country"] == "KAZ") & (wdi["year"] == 2012)].iloc[0]
    assert kaz["value"] == pytest.approx(207998.568865789, rel=1e-12) and kaz["unit"] == "USD millions, current"
    pop = wdi.loc[wdi["indicator"] == "SP.POP.TOTL"]
    assert pop["year"].tolist() == [2008, 2012] and pop["value"].iloc[0] == 2907615  # not rescaled
    assert len(load_wdi(FIXTURES / "wdi_databank.csv", drop_aggregates=False).query("country == 'WLD'")) == 3


def test_wdi_bulk_and_long_layouts() -> None:
    bulk = load_wdi(FIXTURES / "wdi_bulk_API.csv")
    assert set(bulk["country"]) == {"BLR", "KGZ"} and len(bulk) == 6
    assert bulk.query("country == 'KGZ' and year == 2011")["value"].item() == pytest.approx(5693.0)
    long = load_wdi(FIXTURES / "wdi_long.csv")
    assert set(long["country"]) == {"RUS", "KAZ", "XKX"}
    assert long.query("country == 'RUS'")["value"].item() == pytest.approx(1690780.0)


def test_wdi_real_files(shared_data: Path) -> None:
    constant = load_wdi(shared_data / "gdp_worldbank" / "gdp_constant2010usd_2009_2018.csv")
    y2014 = constant.loc[constant["year"] == 2014].set_index("country")["value"]
    # PROVENANCE.md: RUS 1.690780e12, KAZ 1.840517e11, BLR 6.459048e10, ARM 1.112310e10, KGZ 5.847262e9 (USD)
    expected = {"RUS": 1.690780e6, "KAZ": 1.840517e5, "BLR": 6.459048e4, "ARM": 1.112310e4, "KGZ": 5.847262e3}
    for iso3, value in expected.items():
        assert y2014[iso3] == pytest.approx(value, rel=1e-6)
    current = load_wdi(shared_data / "gdp_worldbank" / "gdp_current_usd_1960_2016_wwmetrics.csv")
    assert current.query("country == 'RUS' and year == 2014")["value"].item() == pytest.approx(2.06e6, rel=1e-12)


def test_wb_trade_fixture_fixes_codes_and_converts_units() -> None:
    trade = load_wb_trade_every4y(FIXTURES / "wb_trade_every4y.csv")
    assert pair(trade, "RUS", "KAZ", year=2008)["trade"] == pytest.approx(12690.0000005, rel=1e-12)
    assert pair(trade, "RUS", "KAZ", year=2012)["agreement"] == "Russian Federation - Belarus - Kazakhstan"
    assert pair(trade, "ROU", "COD", year=2012)["trade"] == pytest.approx(0.0012345, rel=1e-12)
    assert pair(trade, "MNE", "KNA", year=2016)["trade"] == pytest.approx(1e-5)
    assert pair(trade, "BLX", "UNS", year=2016)["agreement_id"] == 0


def test_wb_trade_real_files_keep_source_cells(shared_data: Path) -> None:
    folder = shared_data / "wb_trade_agreements_penppml"
    full = load_wb_trade_every4y(folder / "trade_1964_2016_every4y.parquet")
    assert len(full) == 316_317
    # PROVENANCE.md examples (USD million, rounded to about 1): RUS->KAZ, KAZ->RUS, BLR->RUS in 2008/2012/2016
    expected = {("RUS", "KAZ"): (12690, 14715, 10252), ("KAZ", "RUS"): (6200, 6747, 3495), ("BLR", "RUS"): (10162, 15062, 10568)}
    for (exporter, importer), values in expected.items():
        for year, value in zip((2008, 2012, 2016), values):
            assert pair(full, exporter, importer, year=year)["trade"] == pytest.approx(value, abs=1.0)
    assert pair(full, "RUS", "BLR", year=2008)["trade"] == 0.0
    raw = pd.read_parquet(folder / "trade_1964_2016_every4y.parquet")
    np.testing.assert_allclose(full["trade"].to_numpy(), raw["export"].to_numpy() / 1e6, rtol=1e-12, atol=0)
    csv = load_wb_trade_every4y(folder / "trade_2000_2016_every4y.csv")
    merged = csv.merge(full, on=["exporter", "importer", "year"], suffixes=("_csv", "_parquet"))
    assert len(merged) == len(csv) == 150_340
    np.testing.assert_allclose(merged["trade_csv"], merged["trade_parquet"], rtol=1e-9, atol=0)
    assert (merged["agreement_csv"] == merged["agreement_parquet"]).all()


# -- NSF-Kellogg EIA, ADB MRIO ------------------------------------------------------------


def test_eia_fixture_levels_and_dummies() -> None:
    eia = load_eia(FIXTURES / "eia_long.csv")
    assert pair(eia, "RUS", "KAZ", year=2010)[["eia_level", "cu", "fta"]].tolist() == [4, 1, 0]
    assert pair(eia, "RUS", "KAZ", year=2009)[["eia_level", "cu", "fta"]].tolist() == [3, 0, 1]
    assert pair(eia, "ARM", "ROU", year=2010)["fta"] == 1


def test_eia_real_file_customs_union_from_2010(shared_data: Path) -> None:
    eia = load_eia(shared_data / "nsf_kellogg_eia" / "eia_cis_pairs_1991_2012.csv")
    assert len(eia) == 99_528
    for a, b in (("RUS", "KAZ"), ("RUS", "BLR"), ("KAZ", "BLR")):
        levels = eia.loc[(eia["exporter"] == a) & (eia["importer"] == b)].set_index("year")["eia_level"]
        assert levels.loc[2009] < 4 and (levels.loc[2010:2012] == 4).all()
    assert (eia.groupby("eia")["eia_level"].nunique() == 1).all()


@pytest.mark.slow
def test_eia_real_parquet_matches_the_cis_extract(shared_data: Path) -> None:
    folder = shared_data / "nsf_kellogg_eia"
    full = load_eia(folder / "eia_1950_2012.parquet")
    assert len(full) == 2_383_290 and full["exporter"].nunique() == 195
    cis = load_eia(folder / "eia_cis_pairs_1991_2012.csv")
    merged = cis.merge(full, on=["exporter", "importer", "year"], suffixes=("_csv", "_parquet"))
    assert len(merged) == len(cis)
    assert (merged["eia_level_csv"] == merged["eia_level_parquet"]).all()


def test_adb_mrio_fixture_and_identity() -> None:
    mrio = load_adb_mrio(FIXTURES / "adb_mrio_summary.csv")
    assert mrio.set_index(["country", "sector"]).loc[("ROW", "MIN"), "domestic_sales"] == -2.25  # allowed
    broad = load_adb_mrio(FIXTURES / "adb_mrio_broad.csv")
    assert broad["sector_id"].eq(0).all() and set(broad["sector"]) == {"mining", "agriculture"}


def test_adb_mrio_real_files_match_provenance_checks(shared_data: Path) -> None:
    folder = shared_data / "adb_mrio_sector_summary"
    mrio = load_adb_mrio(folder / "adb_mrio62_country_sector_summary_2000_2007_2022.csv")
    assert len(mrio) == 37_485
    totals = mrio.loc[mrio["year"] == 2012].groupby("country")[["gross_output", "value_added", "exports_derived"]].sum()
    # PROVENANCE.md, 2012, sum over 35 sectors (USD million, rounded)
    for iso3, figures in {"RUS": (3415631, 1823649, 516083), "KAZ": (322488, 190946, 95675), "KGZ": (13693, 5993, 2615)}.items():
        np.testing.assert_allclose(totals.loc[iso3].to_numpy(), figures, atol=0.5)
    broad = load_adb_mrio(folder / "adb_mrio62_broad_sectors_2010_2016.csv").set_index(["country", "year", "sector"])
    assert broad.loc[("KAZ", 2012, "mining"), "gross_output"] == pytest.approx(75416, abs=0.5)
    assert broad.loc[("RUS", 2012, "manufacturing"), "domestic_sales"] == pytest.approx(776668, abs=0.5)


def test_registry_dispatch() -> None:
    assert set(loaders.LOADERS) == {
        "cepii_dist", "cepii_geo", "cepii_gravity", "baci", "itpd", "comtrade", "wits", "wdi", "wb_trade", "eia", "adb_mrio",
    }
    frame = loaders.load("eia", FIXTURES / "eia_long.csv")
    assert len(frame) == 6
    with pytest.raises(DataValidationError, match="unknown; allowed are cepii_dist"):
        loaders.load("nope", FIXTURES / "eia_long.csv")
