"""The bundled sample is exactly what its committed recipe builds from the shared source data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blocsim.data import GravityData
from blocsim.data.samples import list_samples, load_sample, sample_path
from blocsim.data.samples.build_samples import BUILDERS, main
from blocsim.errors import DataValidationError

TWB = "yotov2016_trade_without_borders_2006"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_recipe_reproduces_the_bundled_file_byte_for_byte(shared_data: Path, name: str) -> None:
    assert BUILDERS[name](shared_data).encode("utf-8") == sample_path(name).read_bytes()


def test_recipe_command_writes_the_same_bytes(shared_data: Path, tmp_path: Path) -> None:
    main(["--shared-data", str(shared_data), "--out", str(tmp_path)])
    for name in BUILDERS:
        assert (tmp_path / f"{name}.csv").read_bytes() == sample_path(name).read_bytes()


def test_every_listed_sample_has_a_recipe_and_a_file() -> None:
    assert set(list_samples()) == set(BUILDERS)
    for name in list_samples():
        assert sample_path(name).is_file()
    readme = (sample_path(TWB).parent / "README.md").read_text()
    assert TWB in readme and "Yotov" in readme


def test_trade_without_borders_sample_is_a_square_69_country_table(shared_data: Path) -> None:
    frame = load_sample(TWB)
    assert list(frame.columns) == ["exporter", "importer", "year", "trade", "ln_DIST", "CNTG", "INTL_BRDR", "Y", "E"]
    data = GravityData.from_frame(frame, year="year", covariates=["ln_DIST", "CNTG", "INTL_BRDR", "Y", "E"])
    assert data.n_countries == 69 and len(frame) == 69 * 69 and data.years == (2006,)
    assert "DEU" in data.countries and "ZZZ" not in data.countries
    # Y and E are the row and column sums of the flows (the guide's definitions)
    y = frame.groupby("exporter")["Y"].first().reindex(data.countries).to_numpy()
    e = frame.groupby("importer")["E"].first().reindex(data.countries).to_numpy()
    np.testing.assert_allclose(data.output(), y, rtol=1e-9)
    np.testing.assert_allclose(data.expenditure(), e, rtol=1e-9)
    np.testing.assert_array_equal(np.diag(data.matrix(column="INTL_BRDR")), 0)
    # values unchanged from the source apart from the ZZZ -> DEU recode
    source = pd.read_csv(shared_data / "yotov2016" / "ch2_app1_trade_without_border_2006.csv")
    source[["exporter", "importer"]] = source[["exporter", "importer"]].replace("ZZZ", "DEU")
    merged = frame.merge(source, on=["exporter", "importer"], suffixes=("", "_src"))
    assert len(merged) == len(frame)
    for column in ("trade", "ln_DIST", "CNTG", "INTL_BRDR", "Y", "E"):
        np.testing.assert_array_equal(merged[column].to_numpy(float), merged[f"{column}_src"].to_numpy(float))


def test_unknown_sample_lists_the_available_ones() -> None:
    with pytest.raises(DataValidationError, match=r"no such bundled sample; available: \['yotov2016"):
        load_sample("eaeu_2016")
