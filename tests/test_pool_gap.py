"""The pool-gap decomposition of ``bench/pool_2022_gap.py`` on the bundled dataset (DATA.md, "Fiscal facts").

The decomposition must add up: by member and sector, the flow and tariff parts sum to the change of
the modelled pool, and its two ends are the recipe's own statutory duties
(:func:`blocsim.data.eaeu_v2.fiscal.modelled_collections`) times the calibrated efficiencies, so
the 2016 end is the union's published 2016 total. All checked to 1e-9 (relative) against the
package's functions on the bundled data, not against typed-in numbers.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from blocsim.data import load_dataset
from blocsim.data.eaeu_v2.fiscal import CALIBRATION_YEAR, UNION, modelled_collections, pool_facts

ROOT = Path(__file__).resolve().parents[1]
YEAR = 2022


@pytest.fixture(scope="module")
def gap() -> SimpleNamespace:
    """The bench script's functions (run as a module, so its ``main`` does not run)."""
    return SimpleNamespace(**runpy.run_path(str(ROOT / "bench" / "pool_2022_gap.py"), run_name="bench_pool_2022_gap"))


@pytest.fixture(scope="module")
def v2():  # type: ignore[no-untyped-def]
    return load_dataset("eaeu")


@pytest.fixture(scope="module")
def table(gap, v2) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return gap.decompose(v2.flows, v2.extra["tariffs"], gap.efficiencies(v2), CALIBRATION_YEAR, YEAR)


def test_decomposition_adds_up_to_the_modelled_pools(gap, v2, table: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    efficiency = gap.efficiencies(v2)
    members = list(gap.MEMBERS)
    for year, column in ((CALIBRATION_YEAR, "statutory_base"), (YEAR, "statutory_year")):
        statutory = modelled_collections(v2.flows, v2.extra["tariffs"], year)[members]
        by_member = table.groupby("member")[column].sum()[members]
        pd.testing.assert_series_equal(by_member, statutory, check_names=False, rtol=1e-9, atol=0.0)
    pool_base = float((modelled_collections(v2.flows, v2.extra["tariffs"], CALIBRATION_YEAR)[members]
                       * efficiency).sum())
    pool_year = float((modelled_collections(v2.flows, v2.extra["tariffs"], YEAR)[members] * efficiency).sum())
    assert table["pool_base"].sum() == pytest.approx(pool_base, rel=1e-9)
    assert table["pool_year"].sum() == pytest.approx(pool_year, rel=1e-9)
    # each (member, sector) row: flow part + tariff part = its change, so the totals add up too
    change = table["pool_year"] - table["pool_base"]
    parts = table["flow_part"] + table["tariff_part"]
    assert (parts - change).abs().max() <= 1e-9 * table["pool_year"].abs().sum()
    assert parts.sum() == pytest.approx(pool_year - pool_base, rel=1e-9)
    # the 2016 end is the calibration target: the union's published 2016 total
    facts = pool_facts()
    published = facts[(facts["member"] == UNION) & (facts["year"] == CALIBRATION_YEAR)]["distributed_usd_m"].iloc[0]
    assert pool_base == pytest.approx(float(published), rel=1e-9)


def test_swapping_the_years_negates_both_parts(gap, v2, table: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    back = gap.decompose(v2.flows, v2.extra["tariffs"], gap.efficiencies(v2), YEAR, CALIBRATION_YEAR)
    keys = ["member", "sector"]
    forward, backward = table.set_index(keys), back.set_index(keys).reindex(table.set_index(keys).index)
    scale = 1e-9 * table["pool_year"].abs().sum()
    for part in ("flow_part", "tariff_part"):
        assert (forward[part] + backward[part]).abs().max() <= scale
