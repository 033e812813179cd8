"""Ex-post test library (blocsim.results.expost) on a tiny case checked by hand.

Two members A and B, one outsider C, sector ``s`` (and ``t``, which A stops importing):

- A's imports of s: before B 20, C 80 (union share 20 %); predicted B 30, C 70 (30 %, +10 pp);
  observed B 56, C 144 (28 %, +8 pp). Model error |10 - 8| = 2 pp, no change |8| = 8 pp (both groups).
- B's imports of s: before A 10, C 40 (20 %); predicted unchanged (0 pp); observed A 15, C 35
  (30 %, +10 pp). Model error 10 pp, no change 10 pp: a tie, not a win.
- A's domestic flow (1000) is not an import; A's imports of t vanish in the observed year, so the
  cell has no share and is left out.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

from blocsim.errors import DataValidationError
from blocsim.results import expost_errors, expost_summary, expost_table, import_shares

GROUPS = {"A": "union", "B": "union"}


def _flows(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["exporter", "importer", "sector", "trade"])


BEFORE = _flows([("A", "A", "s", 1000.0), ("B", "A", "s", 20.0), ("C", "A", "s", 80.0),
                 ("A", "B", "s", 10.0), ("C", "B", "s", 40.0), ("C", "A", "t", 5.0)])
PREDICTED = _flows([("A", "A", "s", 990.0), ("B", "A", "s", 30.0), ("C", "A", "s", 70.0),
                    ("A", "B", "s", 10.0), ("C", "B", "s", 40.0), ("C", "A", "t", 5.0)])
OBSERVED = _flows([("A", "A", "s", 1200.0), ("B", "A", "s", 56.0), ("C", "A", "s", 144.0),
                   ("A", "B", "s", 15.0), ("C", "B", "s", 35.0), ("C", "A", "t", 0.0)])


def test_import_shares_leave_out_domestic_flows_and_put_unnamed_sources_in_the_default_group() -> None:
    shares = import_shares(BEFORE, GROUPS, importers=["A"], sectors=["s"]).set_index("source")
    assert list(shares.index) == ["union", "rest_of_world"]
    assert shares.loc["union", "imports"] == 20.0 and shares.loc["rest_of_world", "imports"] == 80.0
    assert shares["total"].tolist() == [100.0, 100.0]
    assert shares.loc["union", "share"] == pytest.approx(0.2, abs=1e-15)


def test_errors_table_and_summary_match_the_hand_computation() -> None:
    errors = expost_errors(BEFORE, PREDICTED, OBSERVED, GROUPS, importers=["A", "B"])
    assert set(errors["sector"]) == {"s"}  # A's imports of t vanish: no share, left out
    cell = errors.set_index(["importer", "source"])
    assert cell.loc[("A", "union"), "share_before_pct"] == pytest.approx(20.0, abs=1e-12)
    assert cell.loc[("A", "union"), "change_predicted_pp"] == pytest.approx(10.0, abs=1e-12)
    assert cell.loc[("A", "union"), "change_observed_pp"] == pytest.approx(8.0, abs=1e-12)
    assert cell.loc[("A", "rest_of_world"), "change_observed_pp"] == pytest.approx(-8.0, abs=1e-12)
    assert cell.loc[("A", "union"), "error_model_pp"] == pytest.approx(2.0, abs=1e-12)
    assert cell.loc[("A", "union"), "error_naive_pp"] == pytest.approx(8.0, abs=1e-12)

    table = expost_table(errors).set_index("importer")
    assert table.loc["A", "imports_before"] == 100.0 and table.loc["B", "imports_before"] == 50.0
    assert table.loc["A", "mae_model_pp"] == pytest.approx(2.0) and table.loc["A", "mae_naive_pp"] == pytest.approx(8.0)
    assert table.loc["B", "mae_model_pp"] == pytest.approx(10.0)
    assert table.loc["B", "mae_naive_pp"] == pytest.approx(10.0)
    assert table["model_better"].tolist() == [True, False]  # B is a tie, not a win
    assert table.loc["B", "observed_union_pp"] == pytest.approx(10.0) and table.loc["B", "predicted_union_pp"] == 0.0
    assert table.loc["A", "share_union_before_pct"] == pytest.approx(20.0)

    summary = expost_summary(expost_table(errors), by=("importer",)).set_index("importer")
    total = summary.loc["all"]
    assert total["cells"] == 2 and total["model_better"] == 1 and total["share_better"] == 0.5
    assert total["mae_model_pp"] == pytest.approx(6.0) and total["mae_naive_pp"] == pytest.approx(9.0)
    assert total["wmae_model_pp"] == pytest.approx((2 * 100 + 10 * 50) / 150)
    assert total["wmae_naive_pp"] == pytest.approx((8 * 100 + 10 * 50) / 150)
    assert summary.loc["A", "cells"] == 1 and summary.loc["B", "model_better"] == 0


def test_small_cells_are_left_out_with_min_imports() -> None:
    errors = expost_errors(BEFORE, PREDICTED, OBSERVED, GROUPS, importers=["A", "B"], min_imports=60.0)
    assert set(errors["importer"]) == {"A"}


@pytest.mark.parametrize("kwargs, message", [
    ({"before": BEFORE.drop(columns="trade")}, r"argument 'before': missing column\(s\) \['trade'\]"),
    ({"observed": OBSERVED.assign(trade=-1.0)}, r"argument 'observed': column 'trade' row 0 is -1.0; allowed"),
    ({"importers": ["A", "ZZZ"]}, r"argument 'importers': \['ZZZ'\] import nothing"),
    ({"importers": "A"}, r"argument 'importers': got the string 'A'"),
    ({"min_imports": -1.0}, r"argument 'min_imports': got -1.0; allowed: a number >= 0"),
])
def test_bad_input_names_the_argument(kwargs: dict, message: str) -> None:
    given = {"before": BEFORE, "predicted": PREDICTED, "observed": OBSERVED, "importers": ["A", "B"], **kwargs}
    with pytest.raises(DataValidationError, match=message):
        expost_errors(given.pop("before"), given.pop("predicted"), given.pop("observed"), GROUPS, **given)


# ---- the bench script and the validation page ------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path, name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_bench_prints_its_table_and_writes_the_csv_with_every_member_and_sector(tmp_path: Path, capsys) -> None:
    bench = _module(ROOT / "bench" / "expost.py", "bench_expost")
    out = tmp_path / "expost.csv"
    assert bench.main(["--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "How often the model beats 'no change'" in printed and "armenia-kyrgyzstan-join-2015" in printed
    table = pd.read_csv(out)
    join = table[table["event"] == "armenia-kyrgyzstan-join-2015"]
    assert set(join["importer"]) == {"RUS", "KAZ", "BLR", "ARM", "KGZ"} and set(join["later_year"]) == {2016}
    ban = table[table["event"] == "russia-food-ban-2014"]
    assert set(ban["importer"]) == {"RUS", "KAZ", "BLR"} and set(ban["sector"]) == {"A01", "A03", "C10T12"}
    assert set(ban["base_year"]) == {2013} and set(ban["later_year"]) == {2015}
    # the ban moves Russia's imports away from the banned origins, in the model as in the data
    russia = ban[ban["importer"] == "RUS"]
    assert (russia["predicted_banned_pp"] < 0).all() and (russia["observed_banned_pp"] < 0).all()
    assert table["mae_model_pp"].notna().all() and table["mae_naive_pp"].notna().all()
    # the accessions with the 2014-15 macro shocks added: the same cells, other predictions, same data
    macro = table[table["event"] == bench.WITH_MACRO.name].set_index(["importer", "sector"]).sort_index()
    alone = join.set_index(["importer", "sector"]).sort_index()
    assert macro.index.equals(alone.index)
    assert (macro["observed_union_pp"] == alone["observed_union_pp"]).all()
    assert (macro["predicted_union_pp"] - alone["predicted_union_pp"]).abs().max() > 0.1
    # the summary covers the two policy events only
    summary = printed.split("How often the model beats 'no change'")[1]
    assert bench.WITH_MACRO.name not in summary and "russia-food-ban-2014" in summary


def test_the_macro_event_adds_the_recession_measures_to_the_accessions() -> None:
    bench = _module(ROOT / "bench" / "expost.py", "bench_expost_macro")
    from blocsim.scenario import load_scenario

    combined = bench.event_scenario(bench.WITH_MACRO)
    accession, recession = load_scenario(bench.WITH_MACRO.scenario), load_scenario(bench.WITH_MACRO.plus)
    assert [m.kind for m in combined.after.measures] == [m.kind for m in (*accession.after.measures,
                                                                           *recession.after.measures)]
    assert all(m.channel is None for m in combined.after.measures)
    assert combined.model.labour is recession.model.labour is True
    assert combined.after.join == accession.after.join and combined.data.year == accession.data.year


def test_the_validation_page_keeps_the_ex_post_section_when_its_tables_are_regenerated() -> None:
    numbers = _module(ROOT / "docs" / "validation_numbers.py", "validation_numbers_expost")
    page = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    assert "## Ex-post test" in page
    new = numbers.replace_block(page, "expost", "TABLES")
    before, after = page.split("<!-- blocsim-numbers:expost:begin -->")[0], page.split(
        "<!-- blocsim-numbers:expost:end -->")[1]
    assert new.startswith(before) and new.endswith(after) and "\nTABLES\n" in new
    assert numbers.EXPOST == ROOT / "bench" / "expost.py"
