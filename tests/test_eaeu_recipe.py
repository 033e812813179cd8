"""The EAEU recipe: byte-for-byte rebuild, gap-filling rules, error messages, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from blocsim.data.eaeu import TABLES_DIR
from blocsim.data.eaeu import flows as fl
from blocsim.data.eaeu.build import TABLES, build_eaeu
from blocsim.cli.eaeu import register
from blocsim.data.eaeu.regions import REGIONS, YEARS
from blocsim.data.eaeu.sources import FILES
from blocsim.errors import DataValidationError


@pytest.fixture(scope="module")
def rebuilt(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eaeu_rebuilt")
    build_eaeu(shared_data, out)
    return out


@pytest.mark.parametrize("name", TABLES)
def test_recipe_rebuilds_bundled_tables_byte_for_byte(rebuilt: Path, name: str) -> None:
    assert (rebuilt / name).read_bytes() == (TABLES_DIR / name).read_bytes(), (
        f"{name} differs from the bundled table; rerun `blocsim data build-eaeu --from ../shared/data`"
    )


def test_bundled_tables_are_compact() -> None:
    total = sum((TABLES_DIR / name).stat().st_size for name in TABLES)
    assert total < 600_000
    assert sorted(p.name for p in TABLES_DIR.iterdir() if not p.name.startswith(".")) == sorted(TABLES)


def _index(*names: str) -> list[int]:
    return [REGIONS.index(n) for n in names]


def test_fill_gaps_growth_rule_known_answer() -> None:
    n_y, n_r = len(YEARS), len(REGIONS)
    totals = np.full((n_y, n_r, n_r), 5.0)
    world = np.full((n_y, n_r), 100.0)
    gdp = np.full((n_y, n_r), 1000.0)
    e, i = _index("RUS", "BLR")
    totals[0, e, i] = np.nan
    totals[1, e, i], totals[2, e, i] = 20.0, 10.0
    world[:, e] = [50.0, 100.0, 80.0]
    filled, method = fl.fill_gaps(totals, world, gdp)
    # geometric mean of 20 * 50/100 = 10 and 10 * 50/80 = 6.25
    assert filled[0, e, i] == pytest.approx(np.sqrt(10.0 * 6.25), rel=1e-12)
    assert method[0, e, i] == fl.GAP_GROWTH
    assert (method != "").sum() == 1
    assert np.all(np.diagonal(filled, axis1=1, axis2=2) == 0.0)


def test_fill_gaps_reverse_and_proxy_rules() -> None:
    n_y, n_r = len(YEARS), len(REGIONS)
    totals = np.full((n_y, n_r, n_r), 7.0)
    world = np.full((n_y, n_r), 100.0)
    gdp = np.full((n_y, n_r), 1000.0)
    uzb, tjk, rus, kaz = _index("UZB", "TJK", "RUS", "KAZ")
    totals[:, uzb, :] = np.nan  # UZB never reports
    totals[:, tjk, :] = np.nan  # nor TJK
    totals[:, rus, uzb] = [1.0, 2.0, 3.0]
    totals[:, kaz, tjk] = [4.0, 8.0, 12.0]
    gdp[:, uzb] = 500.0
    filled, method = fl.fill_gaps(totals, world, gdp)
    assert list(filled[:, uzb, rus]) == [1.0, 2.0, 3.0]
    assert set(method[:, uzb, rus]) == {fl.GAP_REVERSE}
    # both directions missing: KAZ's flow to TJK scaled by GDP_UZB / GDP_KAZ = 0.5
    assert list(filled[:, uzb, tjk]) == [2.0, 4.0, 6.0]
    assert set(method[:, uzb, tjk]) == {fl.GAP_PROXY}


def test_source_totals_sum_countries_into_regions() -> None:
    trade = pd.DataFrame(
        {
            "exporter": ["DEU", "FRA", "BLX", "RUS", "HRV", "HRV", "BRA"],
            "importer": ["RUS", "RUS", "RUS", "DEU", "RUS", "RUS", "UNS"],
            "year": [2012, 2012, 2012, 2012, 2012, 2016, 2016],
            "trade": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        }
    )
    totals, world = fl.source_totals(trade)
    y12, y16 = YEARS.index(2012), YEARS.index(2016)
    eun, rus, row = _index("EUN", "RUS", "ROW")
    assert totals[y12, eun, rus] == pytest.approx(6.0)  # HRV is not an EU member in 2012
    assert totals[y12, row, rus] == pytest.approx(5.0)
    assert totals[y16, eun, rus] == pytest.approx(6.0)  # ... but is in 2016
    assert totals[y16, row, row] == pytest.approx(7.0)  # UNS (unspecified partner) goes to ROW
    assert np.isnan(totals[y12, rus, row])
    assert world[y12, rus] == pytest.approx(4.0)


def test_missing_source_file_names_the_file_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(DataValidationError, match="trade_2000_2016_every4y.csv: file not found"):
        build_eaeu(tmp_path / "nowhere", out)
    assert not out.exists()


def test_missing_column_names_file_and_column(shared_data: Path, tmp_path: Path) -> None:
    source = tmp_path / "src"
    for role, rel in FILES.items():
        target = source / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if role == "gdp":
            pd.DataFrame({"iso3": ["RUS"], "year": [2012], "gdp": [1.0]}).to_csv(target, index=False)
        else:
            target.symlink_to(shared_data / rel)
    out = tmp_path / "out"
    with pytest.raises(
        DataValidationError, match=r"gdp_current_usd_1960_2016_wwmetrics.csv: column 'value'.*gdp_current_usd"
    ):
        build_eaeu(source, out)
    assert not out.exists()


def test_negative_flow_is_rejected(shared_data: Path, tmp_path: Path) -> None:
    source = tmp_path / "src"
    for role, rel in FILES.items():
        target = source / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if role == "trade":
            pd.DataFrame(
                {
                    "exp": ["RUS"],
                    "imp": ["KAZ"],
                    "time": [2012],
                    "export": [-1.0],
                    "id": [0],
                    "agreement": [""],
                }
            ).to_csv(target, index=False)
        else:
            target.symlink_to(shared_data / rel)
    with pytest.raises(
        DataValidationError, match=r"trade_2000_2016_every4y.csv: row 2, column 'export': negative value"
    ):
        build_eaeu(source, tmp_path / "out")


def test_cli_build_eaeu(rebuilt: Path, shared_data: Path, tmp_path: Path) -> None:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        app, ["build-eaeu", "--from", str(shared_data), "--out", str(out), "--dataset", "eaeu-2016v1"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 6 tables" in result.output
    assert (out / "flows.csv").read_bytes() == (rebuilt / "flows.csv").read_bytes()
    bad = CliRunner().invoke(
        app, ["build-eaeu", "--from", str(tmp_path / "missing"), "--out", str(out), "--dataset", "eaeu-2016v1"]
    )
    assert bad.exit_code == 1
    assert "file not found" in bad.output
