"""Border costs by border, sector and date, estimated by PPML (issue 11, item 5)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import blocsim
from blocsim.data.border_costs import BORDER_AVE_COLUMNS, check_border_aves, load_border_aves, screen_border_aves
from blocsim.errors import DataValidationError
from blocsim.estimation.border_effects import BROAD_SECTORS, border_effects_table, to_ave, union_panel
from blocsim.policy.build import bloc_from_spec, load_policy_file
from blocsim.policy.model import Bloc, Membership, PairBorder, PolicyState
from blocsim.shock.borders import border_terms, open_borders
from blocsim.shock.terms import ave_standard_errors

COUNTRIES = ("RUS", "BLR", "KAZ", "ARM", "KGZ", "CHN")


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return load_border_aves("eaeu")


def test_shipped_table_covers_the_goods_sectors_of_both_datasets(table) -> None:
    assert list(table.columns) == list(BORDER_AVE_COLUMNS)
    v2 = blocsim.load_dataset("eaeu-2022v2").sectors
    goods = set(v2.loc[v2["goods"].astype(bool), "sector"])
    estimated = set(table["sector"])
    assert set(BROAD_SECTORS) <= estimated
    assert len(goods - estimated) <= 3, f"goods sectors without an estimate: {sorted(goods - estimated)}"
    assert (table["ave_se"] > 0).all() and (table["bloc"] == "EAEU").all()
    level = np.exp(table["beta"] / table["theta"])
    np.testing.assert_allclose(table["ave"], level - 1, rtol=1e-8)
    np.testing.assert_allclose(table["ave_se"], level * table["beta_se"] / table["theta"], rtol=1e-8)


def test_shipped_table_matches_a_re_estimation_of_one_sector(table) -> None:
    fresh = border_effects_table(blocsim.load_dataset("eaeu-2022v2"), sectors=["C10T12"]).set_index("sector")
    shipped = table.set_index("sector").loc["C10T12"]
    for column in ("beta", "beta_se", "ave", "ave_se"):
        assert fresh.loc["C10T12", column] == pytest.approx(shipped[column], rel=1e-6), column


def test_to_ave_is_the_inverse_of_the_cost_change_with_delta_method_se() -> None:
    ave, se = to_ave(0.8, 0.2, 4.0)
    assert ave == pytest.approx(np.exp(0.2) - 1, rel=1e-15)
    h = 1e-6
    slope = (to_ave(0.8 + h, 0.0, 4.0)[0] - to_ave(0.8 - h, 0.0, 4.0)[0]) / (2 * h)
    assert se == pytest.approx(slope * 0.2, rel=1e-8)
    with pytest.raises(DataValidationError, match="theta"):
        to_ave(0.8, 0.2, 0.0)


def test_union_term_switches_on_with_the_accessions() -> None:
    flows = pd.DataFrame([{"exporter": e, "importer": i, "sector": "A01", "year": y, "trade": 1.0}
                          for y in (2014, 2015, 2016) for e in ("RUS", "ARM", "KGZ") for i in ("RUS", "ARM", "KGZ")])
    gravity = flows[["exporter", "importer", "year"]].assign(fta=0)
    panel = union_panel(flows, gravity, ["A01"]).set_index(["exporter", "importer", "year"])["eaeu"]
    assert panel[("RUS", "ARM", 2014)] == 0 and panel[("RUS", "ARM", 2015)] == 1
    assert panel[("KGZ", "RUS", 2015)] == 0 and panel[("KGZ", "RUS", 2016)] == 1  # joined 12 Aug 2015
    assert panel[("RUS", "RUS", 2016)] == 0


def test_table_schema_errors_name_the_problem(table) -> None:
    with pytest.raises(DataValidationError, match="missing column"):
        check_border_aves(table.drop(columns="ave_se"), where="t.csv")
    with pytest.raises(DataValidationError, match="ave_se < 0"):
        check_border_aves(table.assign(ave_se=-1.0), where="t.csv")
    with pytest.raises(DataValidationError, match="no such table"):
        load_border_aves("nowhere")


def _eaeu(date: dt.date) -> tuple[PolicyState, Bloc]:
    """The library's EAEU (members, dates, borders, estimates) on ``date``, without its CET."""
    spec = load_policy_file("eaeu").bloc
    union = Bloc(name=spec.name, kind=spec.kind, members=tuple(Membership(m.country, m.joined, m.left) for m in spec.members),
                 checks_removed=spec.checks_removed, border_cost=spec.border_cost,
                 border_sectors=tuple(spec.border_sectors),
                 border_estimates={str(r.sector): (float(r.ave), float(r.ave_se))
                                   for r in load_border_aves("eaeu").itertuples()},
                 pair_borders=tuple(PairBorder((b.countries[0], b.countries[1]), b.checks_removed, b.ave)
                                    for b in spec.borders))
    return PolicyState(date, blocs=(union,)), union


def test_no_checks_between_russia_and_belarus_since_1995() -> None:
    for year in (2000, 2009, 2012, 2016):
        state, union = _eaeu(dt.date(year, 6, 1))
        mask = open_borders(state, union, COUNTRIES)
        assert mask[0, 1] and mask[1, 0], year
    state, union = _eaeu(dt.date(2009, 6, 1))
    assert not open_borders(state, union, COUNTRIES)[0, 2]  # RUS-KAZ: checks until mid-2011


def test_removing_the_union_s_checks_leaves_russia_belarus_alone_and_uses_the_estimates(table) -> None:
    before, _ = _eaeu(dt.date(2009, 6, 1))
    after, _ = _eaeu(dt.date(2016, 6, 1))
    sectors = ("agri_food", "manufacturing", "other")
    terms, notes = border_terms(before, after, COUNTRIES, sectors)
    pairs = {(COUNTRIES[i], COUNTRIES[j]) for t in terms for _, i, j in t.cells}
    assert ("RUS", "BLR") not in pairs and ("BLR", "RUS") not in pairs
    assert {("RUS", "KAZ"), ("KAZ", "BLR"), ("ARM", "RUS"), ("KGZ", "ARM")} <= pairs
    assert not any(("CHN" in (COUNTRIES[i], COUNTRIES[j])) for t in terms for _, i, j in t.cells)
    estimates = table.set_index("sector")
    for term in terms:
        sector = sectors[term.cells[0, 0]]
        assert sector != "other"  # services do not pass customs
        assert term.input == f"border_cost[EAEU {sector}]" and term.power == 1
        assert (term.ave, term.se) == (estimates.loc[sector, "ave"], estimates.loc[sector, "ave_se"])
    assert ave_standard_errors(terms)["border_cost[EAEU agri_food]"] == estimates.loc["agri_food", "ave_se"]
    assert any("estimated AVEs by sector" in note for note in notes)


def test_a_scenario_s_border_aves_trace_to_the_table(table) -> None:
    result = blocsim.run_scenario("armenia-kyrgyzstan-join-2015")
    border = [t for t in result.shock.cost_terms if t.kind == "border"]
    assert border, "Armenia's and Kyrgyzstan's accessions remove checks at their borders with the members"
    used, fallback = screen_border_aves(table, max_ave=0.5)
    hit = {result.shock.sectors[t.cells[0, 0]] for t in border}
    assert hit & set(used) and hit & set(fallback)  # both estimated and fallback sectors occur (ICIO sectors)
    for term in border:
        sector = result.shock.sectors[term.cells[0, 0]]
        if sector in used:
            assert (term.input, term.ave, term.se) == (f"border_cost[EAEU {sector}]", *used[sector])
        else:
            assert (term.input, term.ave, term.se) == ("border_cost[EAEU]", 0.02, 0.0), sector
    rows = {a["name"]: a for a in result.meta["assumptions"]}
    assert all(rows[f"border_cost[EAEU {s}]"]["flag"] == "estimated" for s in hit & set(used))
    from blocsim.pipeline.bands import bands_plan

    plan = bands_plan(result)
    drawn = {i.name: i.distribution for i in plan.inputs if i.kind == "border"}
    assert {f"border_cost[EAEU {s}]" for s in hit & set(used)} <= set(drawn)
    assert all(text.startswith("normal(") for name, text in drawn.items() if name != "border_cost[EAEU]")


def test_guard_keeps_only_significant_estimates_up_to_the_cap(table) -> None:
    used, fallback = screen_border_aves(table, max_ave=0.5)
    rows = table.set_index("sector")
    assert set(used) | set(fallback) == set(rows.index) and not set(used) & set(fallback)
    for sector, (ave, se) in used.items():
        assert rows.loc[sector, "beta"] / rows.loc[sector, "beta_se"] >= 1.96 and ave <= 0.5
        assert (ave, se) == (rows.loc[sector, "ave"], rows.loc[sector, "ave_se"])
    # the theta ~ 1.1 vehicle estimates are significant but far above the cap
    for sector in ("C301", "C29"):
        assert rows.loc[sector, "ave"] > 0.5
        assert fallback[sector] == f"AVE {rows.loc[sector, 'ave']:.3f} above the cap max_border_ave = 0.5"
    z = rows.loc["mining_energy", "beta"] / rows.loc["mining_energy", "beta_se"]
    assert z < 1.96 and fallback["mining_energy"] == f"not significant: beta/s.e. = {z:.2f} < 1.96"
    assert {"agri_food", "manufacturing", "C24A", "A01"} <= set(used)
    assert "agri_food" in screen_border_aves(table, max_ave=0.5)[0]
    assert "agri_food" in screen_border_aves(table, max_ave=0.3)[1]  # 31.6 % > 0.3
    with pytest.raises(DataValidationError, match="max_border_ave"):
        screen_border_aves(table, max_ave=-0.1)


def test_library_bloc_falls_back_to_the_flat_cost_and_the_run_record_says_why(table) -> None:
    spec = load_policy_file("eaeu").bloc
    assert spec.max_border_ave == 0.5
    plain = {**spec.model_dump(), "cet": {"agri_food": 0.1}, "exemptions": []}  # no dataset rates needed
    bloc = bloc_from_spec(type(spec).model_validate(plain), None)
    assert "C301" not in bloc.border_estimates and "C301" in bloc.border_fallbacks
    assert bloc.pass_customs("C301") and bloc.border_ave("C301") == (spec.border_cost, 0.0) == (0.02, 0.0)
    c24a = table.set_index("sector").loc["C24A"]
    assert bloc.border_ave("C24A") == (c24a["ave"], c24a["ave_se"])
    assert not bloc.pass_customs("D35T98")  # services still pass no customs
    capped = bloc_from_spec(type(spec).model_validate({**plain, "max_border_ave": 0.3}), None)
    assert "agri_food" in capped.border_fallbacks and capped.border_ave("agri_food") == (0.02, 0.0)

    result = blocsim.run_scenario("armenia-kyrgyzstan-join-2015")
    rows = {a["name"]: a for a in result.meta["assumptions"]}
    assert rows["max_border_ave[EAEU]"]["value"] == 0.5 and rows["max_border_ave[EAEU]"]["flag"] == "assumed"
    assert rows["border_significance[EAEU]"]["value"] == 1.96
    assert rows["border_significance[EAEU]"]["flag"] == "assumed"
    fallback = rows["border_fallback[EAEU C19]"]  # refined petroleum: beta/s.e. = 0.52
    assert fallback["value"] == 0.02 and fallback["flag"] == "assumed" and "not significant" in fallback["source"]
    assert "border_fallback[EAEU A01]" not in rows and "border_cost[EAEU C19]" not in rows
    assert rows["border_cost[EAEU]"]["flag"] == "assumed"


def test_max_border_ave_is_checked(tmp_path) -> None:
    path = tmp_path / "p.toml"
    head = '[bloc]\nname = "X"\nkind = "customs_union"\ncet = {a = 0.1}\n'
    members = '[[bloc.members]]\ncountry = "AAA"\njoined = 2000-01-01\n'
    path.write_text(head + "max_border_ave = 0.3\n" + members, encoding="utf-8")
    with pytest.raises(DataValidationError, match="max_border_ave given without border_estimates"):
        load_policy_file(str(path), include_dirs=[tmp_path])
    path.write_text(head + 'border_estimates = "eaeu"\nmax_border_ave = -0.3\n' + members, encoding="utf-8")
    with pytest.raises(DataValidationError, match="max_border_ave"):
        load_policy_file(str(path), include_dirs=[tmp_path])


def test_a_border_entry_must_say_something(tmp_path) -> None:
    text = (tmp_path / "p.toml")
    text.write_text('[bloc]\nname = "X"\nkind = "fta"\n[[bloc.members]]\ncountry = "AAA"\njoined = 2000-01-01\n'
                    '[[bloc.borders]]\ncountries = ["AAA", "BBB"]\n', encoding="utf-8")
    with pytest.raises(DataValidationError, match="checks_removed and/or ave"):
        load_policy_file(str(text), include_dirs=[tmp_path])
