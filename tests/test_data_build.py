"""``blocsim data build NAME --flows ... [--tariffs ...]``: a model dataset from the user's data.

Built from a small CSV (and from an ITPD-E file imported into the store), stored under
``$BLOCSIM_HOME``, listed, exported, and named in a scenario that runs through the CLI; bad
input fails with one line naming the file, field and value, and writes nothing; an existing
dataset is replaced only with ``--force``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from blocsim.cli.main import app
from blocsim.data import load_dataset
from blocsim.data.user_build import built_root

REGIONS = ("ARM", "BLR", "CHN", "DEU", "KAZ", "KGZ", "RUS")
#: ICIO codes; B05 (mining) because the built-in EAEU policy exempts Kazakhstan's mining sector.
SECTORS = ("A01", "B05", "C20", "D35T98")
YEARS = (2014, 2015)
TARIFF_IMPORTERS = ("CHN", "KAZ", "RUS")

SCENARIO = """
[scenario]
name = "kazakhstan-leaves-mydata"
title = "Kazakhstan leaves the EAEU, on a dataset built by the user"
event = "test: a hypothetical exit"
sources = ["tests/test_data_build.py"]
focus_countries = ["KAZ", "RUS"]

[data]
dataset = "mydata"
year = 2015

[before]
date = 2015-09-01

[after]
leave = [{ country = "KAZ", bloc = "EAEU" }]
duty_pool = { RUS = 91.85, BLR = 4.91, KGZ = 2.05, ARM = 1.19 }
"""


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BLOCSIM_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def cli(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def _flows() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = [(e, i, s, y, round(500 + 100 * rng.random() if e == i else 5 + 20 * rng.random(), 3))
            for y in YEARS for s in SECTORS for e in REGIONS for i in REGIONS]
    return pd.DataFrame(rows, columns=["exporter", "importer", "sector", "year", "trade"])


def _tariffs() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    rows = [(i, e, s, y, round(0.02 + 0.1 * rng.random(), 4)) for y in YEARS for s in SECTORS
            for i in TARIFF_IMPORTERS for e in REGIONS if e != i and not (i == "CHN" and e == "DEU")]
    return pd.DataFrame(rows, columns=["importer", "exporter", "sector", "year", "tariff"])


@pytest.fixture()
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    flows, tariffs = tmp_path / "flows.csv", tmp_path / "tariffs.csv"
    _flows().to_csv(flows, index=False)
    _tariffs().to_csv(tariffs, index=False)
    return flows, tariffs


def test_build_from_csv_lists_exports_and_runs_a_scenario_through_the_cli(
        home: Path, inputs: tuple[Path, Path], tmp_path: Path) -> None:
    flows, tariffs = inputs
    built = cli("data", "build", "mydata", "--flows", str(flows), "--tariffs", str(tariffs))
    assert built.exit_code == 0, built.output
    assert (built_root() / "mydata" / "meta.json").is_file() and str(built_root()).startswith(str(home))

    listing = cli("data", "list", "--json")
    assert listing.exit_code == 0, listing.output
    entry = {e["name"]: e for e in json.loads(listing.output)}["mydata"]
    assert (entry["origin"], entry["years"], entry["region_count"], entry["sector_count"]) == (
        "built", list(YEARS), len(REGIONS), len(SECTORS))

    dataset = load_dataset("mydata")
    keys = ["exporter", "importer", "sector", "year"]
    got = dataset.flows.set_index(keys)["trade"].sort_index()
    pd.testing.assert_series_equal(got, _flows().set_index(keys)["trade"].sort_index(), check_exact=True)
    bilateral = dataset.extra["tariffs"].set_index(["importer", "exporter", "sector", "year"])
    given = _tariffs().set_index(["importer", "exporter", "sector", "year"])["tariff"]
    assert np.allclose(bilateral.loc[given.index, "tariff"], given, rtol=0, atol=1e-12)
    assert set(bilateral.loc[given.index, "flag"]) == {"given"}
    missing = bilateral.drop(index=given.index)
    n = len(REGIONS)
    assert len(missing) == n * (n - 1) * len(SECTORS) * len(YEARS) - len(given)
    assert set(missing["flag"]) == {"assumed"} and (missing["tariff"] == 0).all()
    # the per-importer table: RUS's mfn is the median over exporters outside the CIS (CHN, DEU)
    rus = _tariffs().query("importer == 'RUS' and exporter in ['CHN', 'DEU'] and sector == 'C20' and year == 2015")
    mfn = dataset.tariffs.query("importer == 'RUS' and sector == 'C20' and year == 2015 and regime == 'mfn'")
    assert mfn["rate"].item() == pytest.approx(round(rus["tariff"].median(), 6), abs=1e-12)

    out = tmp_path / "export"
    exported = cli("data", "export", "mydata", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert list(pd.read_csv(out / "tariffs.csv").columns) == ["importer", "exporter", "sector", "year", "tariff",
                                                             "source", "flag"]
    assert list(pd.read_csv(out / "flows.csv").columns) == ["exporter", "importer", "year", "trade", "imputed"]

    scenario = tmp_path / "leave.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    run_dir = tmp_path / "run"
    ran = cli("run", str(scenario), "--out", str(run_dir), "--no-store")
    assert ran.exit_code == 0, ran.output
    meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert meta["dataset"]["name"] == "mydata" and meta["dataset"]["year"] == 2015
    # the elasticities of the dataset's sectors only, named by the table they come from
    assert sorted(meta["model"]["parameters"]["theta"]) == sorted(SECTORS)
    theta_rows = [row for row in meta["assumptions"] if row["name"].startswith("theta[")]
    assert {row["source"] for row in theta_rows} == {
        "elasticity table 'caliendo_parro_2015_icio' (blocsim.data.get_elasticities)"}
    assert f"sectors ({len(SECTORS)}): {', '.join(SECTORS)}" in " ".join(ran.stdout.split())
    countries = pd.read_csv(run_dir / "countries.csv")
    assert set(REGIONS) <= set(countries["country"]) and countries["welfare_pct"].notna().all()


def test_a_scenario_on_a_built_dataset_gets_the_bundled_data_s_validation(
        home: Path, inputs: tuple[Path, Path], tmp_path: Path) -> None:
    assert cli("data", "build", "mydata", "--flows", str(inputs[0])).exit_code == 0
    scenario = tmp_path / "late.toml"
    scenario.write_text(SCENARIO.replace("2015-09-01", "2016-06-01"), encoding="utf-8")
    result = cli("run", str(scenario), "--out", str(tmp_path / "run"), "--no-store")
    assert result.exit_code == 1
    assert "field 'before.date': date outside the data of 'mydata'" in result.output
    unknown = tmp_path / "unknown.toml"
    unknown.write_text(SCENARIO.replace('"mydata"', '"otherdata"'), encoding="utf-8")
    result = cli("run", str(unknown), "--out", str(tmp_path / "run"), "--no-store")
    assert result.exit_code == 1 and "field 'data.dataset'" in result.output and "mydata" in result.output


def test_build_from_a_dataset_imported_into_the_store(home: Path, tmp_path: Path) -> None:
    rows = []
    sectors = {"Agriculture": 1, "Mining and Energy": 29, "Manufacturing": 95, "Services": 155}
    for year in (2012, 2013):
        for e in ("KAZ", "RUS", "DEU"):
            for i in ("KAZ", "RUS", "DEU"):
                for broad, industry in sectors.items():
                    for extra in (0, 1):  # two industries of one broad sector: summed by the build
                        value = (1000.0 if e == i else 10.0) + industry + extra + year % 10
                        rows.append((e, i, year, industry + extra, broad, value))
    itpd = pd.DataFrame(rows, columns=["exporter_iso3", "importer_iso3", "year", "industry_id", "broad_sector", "trade"])
    itpd.to_csv(tmp_path / "itpd.csv", index=False)
    imported = cli("data", "import", "itpd", str(tmp_path / "itpd.csv"), "--name", "itpd_small")
    assert imported.exit_code == 0, imported.output
    built = cli("data", "build", "itpddata", "--flows", "itpd_small")
    assert built.exit_code == 0, built.output
    dataset = load_dataset("itpddata")
    assert set(dataset.sectors["sector"]) == {"agri_food", "mining_energy", "manufacturing", "other"}
    cell = dataset.flows.query("exporter == 'KAZ' and importer == 'RUS' and sector == 'mining_energy' and year == 2013")
    assert cell["trade"].item() == pytest.approx((10.0 + 29 + 3) + (10.0 + 30 + 3), rel=1e-12)
    assert set(dataset.extra["tariffs"]["flag"]) == {"assumed"}
    assert dataset.meta["sources"] == [{"role": "flows", "input": "store dataset itpd_small"}]


def _one_line_error(result: object) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize(
    ("table", "change", "expected"),
    [
        ("flows", lambda f: f.astype({"trade": object}).assign(trade=lambda t: t["trade"].where(t.index != 5, "abc")),
         ["flows.csv: row 7, column 'trade': value 'abc'", "finite number >= 0"]),
        ("flows", lambda f: f.assign(trade=lambda t: t["trade"].where(t.index != 0, -1.0)),
         ["flows.csv: row 2, column 'trade': negative value -1.0", "allowed: a finite number >= 0 (USD millions)"]),
        ("flows", lambda f: f.astype({"trade": object}).assign(trade=lambda t: t["trade"].where(t.index != 9, "inf")),
         ["flows.csv: row 11, column 'trade': value 'inf'"]),
        ("flows", lambda f: f.drop(columns="year"), ["flows.csv: column 'year': missing column(s) 'year'",
                                                         "exporter, importer, year, trade (optional: sector)"]),
        ("flows", lambda f: f.assign(exporter=lambda t: t["exporter"].where(t.index != 3, "XYZ")),
         ["flows.csv: row 5, column 'exporter': unknown country code 'XYZ'", "ISO 3166-1 alpha-3"]),
        ("flows", lambda f: f[~((f["exporter"] == "KGZ") & (f["importer"] == "KGZ") & (f["year"] == 2015))],
         ["flows.csv: column 'trade': region 'KGZ' has no domestic sales", "year 2015"]),
        ("tariffs", lambda t: t.assign(tariff=lambda x: x["tariff"].where(x.index != 2, 7.5)),
         ["tariffs.csv: row 4, column 'tariff': value 7.5 is outside [0, 5]", "ad valorem fraction from 0 to 5"]),
        ("tariffs", lambda t: t.assign(sector=lambda x: x["sector"].where(x.index != 0, "C99")),
         ["tariffs.csv: row 2, column 'sector': value 'C99'", "a sector of the flows: A01, B05, C20, D35T98"]),
        ("tariffs", lambda t: pd.concat([t, t.iloc[[0]]]),
         ["tariffs.csv: row 138, column 'year': duplicate key (importer='CHN', exporter='ARM', sector='A01', "
          "year=2014), first seen at row 2"]),
    ],
    ids=["trade-text", "trade-negative", "trade-infinite", "no-year", "bad-code", "no-domestic", "tariff-percent", "tariff-sector",
         "tariff-twice"],
)
def test_bad_input_fails_on_one_line_naming_file_field_and_value_and_writes_nothing(
        home: Path, inputs: tuple[Path, Path], table: str, change: object, expected: list[str]) -> None:
    flows, tariffs = inputs
    target = flows if table == "flows" else tariffs
    change(pd.read_csv(target)).to_csv(target, index=False)
    line = _one_line_error(cli("data", "build", "mydata", "--flows", str(flows), "--tariffs", str(tariffs)))
    for text in expected:
        assert text in line
    assert str(target) in line
    assert not built_root().exists() or not any(built_root().iterdir())


def test_missing_file_and_unknown_stored_dataset_are_one_line_errors(home: Path, tmp_path: Path) -> None:
    line = _one_line_error(cli("data", "build", "mydata", "--flows", str(tmp_path / "nope.csv")))
    assert f"--flows {tmp_path / 'nope.csv'}: no such file" in line
    line = _one_line_error(cli("data", "build", "mydata", "--flows", "baci_nothing"))
    assert "--flows baci_nothing: not a file, and dataset 'baci_nothing' is not in the store" in line
    line = _one_line_error(cli("data", "build", "eaeu", "--flows", str(tmp_path / "nope.csv")))
    assert "NAME 'eaeu' is a bundled dataset's name" in line
    line = _one_line_error(cli("data", "build", "My-Data", "--flows", str(tmp_path / "nope.csv")))
    assert "NAME 'My-Data': not a valid dataset name" in line


def test_an_existing_dataset_is_replaced_only_with_force(home: Path, inputs: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    flows, tariffs = inputs
    assert cli("data", "build", "mydata", "--flows", str(flows)).exit_code == 0
    before = {p.name: p.read_bytes() for p in (built_root() / "mydata").iterdir()}
    line = _one_line_error(cli("data", "build", "mydata", "--flows", str(flows), "--tariffs", str(tariffs)))
    assert "dataset 'mydata' already exists" in line and "--force" in line
    assert {p.name: p.read_bytes() for p in (built_root() / "mydata").iterdir()} == before
    forced = cli("data", "build", "mydata", "--flows", str(flows), "--tariffs", str(tariffs), "--force")
    assert forced.exit_code == 0 and "mydata: replaced" in forced.output
    assert "given" in set(load_dataset("mydata").extra["tariffs"]["flag"])
    assert sorted(p.name for p in built_root().iterdir()) == ["mydata"]  # no staging or old copy left


def test_tariffs_from_a_wits_import_in_the_store(home: Path, inputs: tuple[Path, Path], tmp_path: Path) -> None:
    header = "Reporter,Partner,Product,Tariff Year,DutyType,Simple Average,Weighted Average\n"
    rows = ["KAZ,WLD,Total,2015,AHS,7.5,6.0", "KAZ,CHN,Total,2015,AHS,5.0,4.0", "KAZ,WLD,A01,2015,AHS,10.0,",
            "RUS,WLD,Total,2015,MFN,9.0,8.0", "EUN,RUS,Total,2015,AHS,1.0,0.5"]
    (tmp_path / "wits.csv").write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    assert cli("data", "import", "wits", str(tmp_path / "wits.csv"), "--name", "wits_t").exit_code == 0
    built = cli("data", "build", "witsdata", "--flows", str(inputs[0]), "--tariffs", "wits_t")
    assert built.exit_code == 0, built.output
    table = load_dataset("witsdata").extra["tariffs"].set_index(["importer", "exporter", "sector", "year"])

    def cell(exporter: str, sector: str, year: int = 2015, importer: str = "KAZ") -> tuple[float, str, str]:
        row = table.loc[(importer, exporter, sector, year)]
        return round(float(row["tariff"]), 9), str(row["flag"]), str(row["source"])

    assert cell("DEU", "C20")[:2] == (0.06, "wits_ahs") and "import-weighted" in cell("DEU", "C20")[2]
    assert cell("CHN", "C20")[:2] == (0.04, "wits_ahs")  # the partner's own row beats WLD
    assert cell("DEU", "A01")[:2] == (0.10, "wits_ahs") and "simple average" in cell("DEU", "A01")[2]
    assert cell("CHN", "A01")[0] == 0.10  # the sector's own row comes first
    assert cell("DEU", "C20", 2014)[:2] == (0.0, "assumed")  # no 2014 row
    assert cell("DEU", "C20", 2015, "RUS")[:2] == (0.0, "assumed")  # MFN rows are not applied rates
    none = tmp_path / "mfn_only.csv"
    none.write_text(header + rows[3] + "\n", encoding="utf-8")
    assert cli("data", "import", "wits", str(none), "--name", "wits_mfn").exit_code == 0
    line = _one_line_error(cli("data", "build", "witsmfn", "--flows", str(inputs[0]), "--tariffs", "wits_mfn"))
    assert "store dataset wits_mfn: a WITS import with no usable row; allowed: rows of duty type AHS" in line


def test_sectors_file_names_the_sectors_and_says_which_are_goods(home: Path, inputs: tuple[Path, Path],
                                                                  tmp_path: Path) -> None:
    sectors = tmp_path / "sectors.csv"
    pd.DataFrame({"sector": list(SECTORS), "name": [f"name of {s}" for s in SECTORS],
                  "goods": ["true", "true", "true", "false"]}).to_csv(sectors, index=False)
    assert cli("data", "build", "mydata", "--flows", str(inputs[0]), "--sectors", str(sectors)).exit_code == 0
    table = load_dataset("mydata").sectors.set_index("sector")
    assert table.loc["C20", "name"] == "name of C20" and table["goods"].tolist() == [True, True, True, False]
    pd.DataFrame({"sector": ["A01"], "name": ["x"], "goods": ["maybe"]}).to_csv(sectors, index=False)
    line = _one_line_error(cli("data", "build", "other", "--flows", str(inputs[0]), "--sectors", str(sectors)))
    assert f"{sectors}: row 2, column 'goods': value 'maybe' is not allowed; allowed: true or false" in line
    pd.DataFrame({"sector": ["Z99"], "name": ["x"]}).to_csv(sectors, index=False)
    line = _one_line_error(cli("data", "build", "other", "--flows", str(inputs[0]), "--sectors", str(sectors)))
    assert f"{sectors}: row 2, column 'sector': value 'Z99' is not allowed; allowed: a sector of the flows: A01" in line


def test_built_gravity_flags_follow_the_v2_agreements() -> None:
    """cu/fta of a built dataset are the bundled v2 recipe's (EU, EU-Turkey, EAEU FTAs too, not only the EAEU/CIS)."""
    from blocsim.data.user_datasets import gravity_table

    v2 = load_dataset("eaeu-2022v2").gravity
    regions, years = ["DEU", "FRA", "TUR", "RUS", "KAZ", "VNM", "UKR"], [2013, 2017]
    built = gravity_table(regions, years, v2).set_index(["exporter", "importer", "year"])[["cu", "fta"]]
    bundled = v2.set_index(["exporter", "importer", "year"]).loc[built.index, ["cu", "fta"]]
    assert built.loc[("DEU", "FRA", 2017), "cu"] == 1 and built.loc[("RUS", "VNM", 2017), "fta"] == 1
    pd.testing.assert_frame_equal(built.astype("int64"), bundled.astype("int64"))
