"""Multi-sector GE: one-sector limit, ACR, tariff revenue and duty pool accounting, errors.

References used here: the one-sector exact-hat-algebra engine (``blocsim.solve_ge`` and its
array core ``blocsim.equilibrium.equations.solve_counterfactual``, written independently), the
Arkolakis-Costinot-Rodriguez-Clare (2012) welfare formula, and accounting identities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import blocsim
from blocsim.data import load_dataset
from blocsim.equilibrium import DutyPool
from blocsim.data.elasticities import (
    CALIENDO_PARRO_2015,
    EAEU_SECTOR_MAP,
    EAEU_THETA,
    aggregate_theta,
    get_elasticities,
)
from blocsim.equilibrium.equations import solve_counterfactual
from blocsim.equilibrium.options import SolverOptions
from blocsim.errors import ConvergenceError, DataValidationError, PolicyRuleViolation
from reference import caliendo_parro_2015 as cp_ref

TIGHT = SolverOptions(tol=1e-14, max_iter=20000)
CODES = ["ARM", "BLR", "DEU", "KAZ", "RUS", "USA", "CHN", "KGZ"]


def make_flows(n: int, sectors: list[str], seed: int, *, balanced: bool = False) -> pd.DataFrame:
    """Random baseline flows with strong home bias; ``balanced`` makes trade balanced (S = 1)."""
    rng = np.random.default_rng(seed)
    codes = CODES[:n]
    x = rng.uniform(0.5, 5.0, size=(len(sectors), n, n)) * rng.uniform(0.2, 3.0, size=(1, n, 1))
    x += np.eye(n)[None] * rng.uniform(20, 60, size=(len(sectors), n, 1))
    if balanced:
        x = x[0]
        for _ in range(2000):  # symmetric-total scaling (Sinkhorn to equal row and column sums)
            r = np.sqrt(x.sum(axis=0) / x.sum(axis=1))
            x = x * r[:, None] / r[None, :]
        x = x[None]
    s_idx, i_idx, j_idx = np.meshgrid(range(len(sectors)), range(n), range(n), indexing="ij")
    return pd.DataFrame(
        {
            "exporter": np.array(codes)[i_idx.ravel()],
            "importer": np.array(codes)[j_idx.ravel()],
            "sector": np.array(sectors)[s_idx.ravel()],
            "trade": x.ravel(),
        }
    )


def pair_table(df: pd.DataFrame, seed: int, column: str, low: float, high: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = df.loc[df.exporter != df.importer, ["exporter", "importer", "sector"]].copy()
    out[column] = rng.uniform(low, high, len(out))
    return out


# --------------------------------------------------------------------------- one-sector limit


@pytest.mark.parametrize("closure,balanced", [("level", False), ("ratio", True)])
def test_one_sector_equals_one_sector_engine(closure: str, balanced: bool) -> None:
    """S = 1, no tariffs, no IO: every column equals the one-sector exact hat algebra to 1e-10."""
    df = make_flows(6, ["all"], seed=1, balanced=balanced)
    sigma = 5.0
    shock = pair_table(df, 2, "factor", 0.6, 1.4)
    res = blocsim.solve_multisector(df, theta=sigma - 1.0, shock=shock, closure=closure, options=TIGHT)
    assert res.diagnostics["converged"]

    one = blocsim.solve_ge(
        df.drop(columns="sector"), sigma=sigma, shock=shock.drop(columns="sector"),
        baseline_method="observed", closure=closure, options=TIGHT,
    )
    a = res.countries.set_index("country")
    b = one.countries.set_index("country").loc[a.index]
    for col in ["welfare_pct", "real_gdp_pct", "factory_price_pct", "imr_pct", "omr_pct",
                "exports_pct", "imports_pct", "exports_cond_pct", "imports_cond_pct"]:
        np.testing.assert_allclose(a[col], b[col], rtol=0, atol=1e-10, err_msg=col)
    fb = one.flows.set_index(["exporter", "importer"])
    fa = res.flows.set_index(["exporter", "importer"]).loc[fb.index]
    cf_col = [c for c in fb.columns if "counterfactual" in c and "cond" not in c][0]
    np.testing.assert_allclose(fa["trade_counterfactual"], fb[cf_col], rtol=1e-11)


def test_one_sector_equals_array_core_with_reference_importer() -> None:
    """Ratio closure with a reference importer: prices match the array core (P_ref fixed)."""
    df = make_flows(5, ["all"], seed=3, balanced=True)
    shock = pair_table(df, 4, "factor", 0.5, 1.5)
    res = blocsim.solve_multisector(df, theta=6.0, shock=shock, numeraire="DEU", options=TIGHT)
    x = res.flows_baseline[0]
    a = np.ones_like(x)
    idx = {c: k for k, c in enumerate(res.country_order)}
    a[shock.exporter.map(idx), shock.importer.map(idx)] = shock.factor
    core = solve_counterfactual(x, a, sigma=7.0, reference=idx["DEU"], closure="ratio", options=TIGHT)
    np.testing.assert_allclose(res.countries.factory_price_pct, (core.price_hat - 1) * 100, atol=1e-10)
    np.testing.assert_allclose(res.countries.price_index_pct, (core.imr_hat - 1) * 100, atol=1e-10)
    np.testing.assert_allclose(res.flows_counterfactual[0], core.flows_counterfactual, rtol=1e-11)


def test_acr_formula_one_sector() -> None:
    """Real wage = (change in own trade share)^(-1/theta) (Arkolakis et al. 2012)."""
    theta = 4.0
    df = make_flows(7, ["all"], seed=5)
    shock = pair_table(df, 6, "factor", 0.3, 2.0)
    for closure in ("ratio", "level"):
        res = blocsim.solve_multisector(df, theta=theta, shock=shock, closure=closure, options=TIGHT)
        x0, x1 = res.flows_baseline[0], res.flows_counterfactual[0]
        lam_hat = (np.diag(x1) / x1.sum(axis=0)) / (np.diag(x0) / x0.sum(axis=0))
        np.testing.assert_allclose(
            1 + res.countries.real_wage_pct / 100, lam_hat ** (-1 / theta), rtol=1e-11
        )
    # with a productivity (recession) shock: w/P = A * lambda_jj^(-1/theta)
    prod = pd.DataFrame({"country": ["RUS", "KAZ"], "factor": [0.9, 0.97]})
    res = blocsim.solve_multisector(df, theta=theta, shock=shock, productivity=prod, options=TIGHT)
    x0, x1 = res.flows_baseline[0], res.flows_counterfactual[0]
    lam_hat = (np.diag(x1) / x1.sum(axis=0)) / (np.diag(x0) / x0.sum(axis=0))
    a_hat = pd.Series(1.0, index=res.country_order)
    a_hat[prod.country] = prod.factor.to_numpy()
    np.testing.assert_allclose(1 + res.countries.real_wage_pct / 100, a_hat * lam_hat ** (-1 / theta), rtol=1e-11)
    balanced = make_flows(7, ["all"], seed=5, balanced=True)
    res = blocsim.solve_multisector(balanced, theta=theta, shock=shock, options=TIGHT)
    x0, x1 = res.flows_baseline[0], res.flows_counterfactual[0]
    lam_hat = (np.diag(x1) / x1.sum(axis=0)) / (np.diag(x0) / x0.sum(axis=0))
    np.testing.assert_allclose(1 + res.countries.welfare_pct / 100, lam_hat ** (-1 / theta), rtol=1e-11)


# --------------------------------------------------------------------------- tariffs and pools


def tariff_case(seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    sectors = ["agri_food", "manufacturing", "mining_energy"]
    df = make_flows(6, sectors, seed=seed)
    tar = pair_table(df, seed + 1, "tariff_before", 0.0, 0.25)
    rng = np.random.default_rng(seed + 2)
    tar["tariff_after"] = tar.tariff_before * rng.uniform(0.0, 2.0, len(tar))
    io = pd.DataFrame(
        [(s, k, 0.1 + 0.05 * a + 0.02 * b) for a, s in enumerate(sectors) for b, k in enumerate(sectors)],
        columns=["sector", "input_sector", "share"],
    )
    return df, tar, io


def test_tariff_revenue_accounting_and_pool() -> None:
    df, tar, io = tariff_case()
    pool0 = DutyPool({"RUS": 0.85, "KAZ": 0.07, "BLR": 0.05, "ARM": 0.03})
    pool1 = DutyPool({"RUS": 0.8, "KAZ": 0.1, "BLR": 0.1})
    res = blocsim.solve_multisector(
        df, theta=dict(EAEU_THETA), tariffs=tar, io=io, duty_pool=pool0, duty_pool_after=pool1,
        closure="level", options=TIGHT,
    )
    c = res.countries.set_index("country")
    # collected = sum of tau * imports valued before tariffs, before and after
    flows = res.flows.merge(tar, on=["exporter", "importer", "sector"], how="left").fillna(0.0)
    before = (flows.tariff_before * flows.trade_baseline).groupby(flows.importer).sum()
    after = (flows.tariff_after * flows.trade_counterfactual).groupby(flows.importer).sum()
    np.testing.assert_allclose(c.tariff_revenue_collected_before, before.loc[c.index], rtol=1e-12)
    np.testing.assert_allclose(c.tariff_revenue_collected_after, after.loc[c.index], rtol=1e-12)
    # the pool pays out what its members collect, by the shares; others keep their own
    for pool, tag in ((pool0, "before"), (pool1, "after")):
        members = list(pool.members)
        pooled = c.loc[members, f"tariff_revenue_collected_{tag}"].sum()
        np.testing.assert_allclose(c.loc[members, f"tariff_revenue_received_{tag}"].sum(), pooled, rtol=1e-13)
        for m in members:
            assert c.loc[m, f"tariff_revenue_received_{tag}"] == pytest.approx(pool.shares[m] * pooled, rel=1e-13)
        others = c.index.difference(members)
        np.testing.assert_allclose(c.loc[others, f"tariff_revenue_received_{tag}"],
                                   c.loc[others, f"tariff_revenue_collected_{tag}"], rtol=1e-13)
    np.testing.assert_allclose(c.tariff_revenue_change,
                               c.tariff_revenue_received_after - c.tariff_revenue_received_before)
    # world income identity: sum of incomes = world value added + world duties (deficits net out)
    x1 = res.flows_counterfactual
    gross_out = x1.sum(axis=2)
    va_share = 1 - io.groupby("sector").share.sum().reindex(res.sector_order).to_numpy()
    world_va = np.sum(va_share[:, None] * gross_out)
    assert c.income_counterfactual.sum() == pytest.approx(world_va + c.tariff_revenue_collected_after.sum(), rel=1e-11)
    assert c.deficit_counterfactual.sum() == pytest.approx(0.0, abs=1e-9 * world_va)
    # level closure: the deficit not financed by the pool is unchanged (world VA is the numeraire)
    transfer0 = c.tariff_revenue_received_before - c.tariff_revenue_collected_before
    transfer1 = c.tariff_revenue_received_after - c.tariff_revenue_collected_after
    np.testing.assert_allclose(c.deficit_counterfactual - transfer1, c.deficit_baseline - transfer0,
                               atol=1e-9 * world_va)
    assert world_va == pytest.approx(np.sum(va_share[:, None] * res.flows_baseline.sum(axis=2)), rel=1e-12)


def test_bloc_effects_decomposition_adds_up() -> None:
    df, tar, io = tariff_case(21)
    bloc = ["RUS", "KAZ", "BLR"]
    inside = tar.exporter.isin(bloc) & tar.importer.isin(bloc)
    tar.loc[inside, "tariff_after"] = 0.0
    tar.loc[~inside, "tariff_after"] = tar.loc[~inside, "tariff_before"]
    res = blocsim.solve_multisector(df, theta=dict(EAEU_THETA), tariffs=tar, io=io, bloc=bloc, options=TIGHT)
    b = res.bloc_effects
    assert set(b.country) == set(bloc)
    e0 = b.intra_baseline + b.extra_baseline + b.domestic_baseline
    e1 = b.intra_counterfactual + b.extra_counterfactual + b.domestic_counterfactual
    d_imports = (b.intra_counterfactual + b.extra_counterfactual) - (b.intra_baseline + b.extra_baseline)
    np.testing.assert_allclose(d_imports, b.income_effect + b.trade_creation, atol=1e-9)
    sector_rows = b[b.sector != "all"]
    d_intra = sector_rows.intra_counterfactual - sector_rows.intra_baseline
    sb = sector_rows.intra_baseline / (e0[b.sector != "all"])
    growth = (e1 - e0)[b.sector != "all"] * sb
    np.testing.assert_allclose(d_intra, growth + sector_rows.trade_creation + sector_rows.trade_diversion, atol=1e-9)
    total = b[b.sector == "all"].set_index("country")
    parts = sector_rows.groupby("country")[["trade_creation", "trade_diversion"]].sum()
    np.testing.assert_allclose(total.loc[parts.index, ["trade_creation", "trade_diversion"]], parts, atol=1e-9)
    # removing internal tariffs raises intra-bloc imports of every member
    assert (total.intra_pct > 0).all()
    pg = res.partner_groups.set_index(["country", "partner_group"])
    for m in bloc:
        assert pg.loc[(m, "bloc"), "imports_counterfactual"] == pytest.approx(total.loc[m, "intra_counterfactual"], rel=1e-12)


def test_ban_and_prohibitive_tariff_converge() -> None:
    df, tar, io = tariff_case(31)
    theta = {"agri_food": 9.11, "manufacturing": 2.62, "mining_energy": 64.85}
    ban = pd.DataFrame({"exporter": ["DEU", "USA"], "importer": ["RUS", "RUS"],
                        "sector": ["agri_food", "agri_food"], "factor": [0.0, 0.0]})
    res = blocsim.solve_multisector(df, theta=theta, shock=ban, tariffs=tar, io=io, options=TIGHT)
    f = res.flows.set_index(["exporter", "importer", "sector"])
    assert f.loc[("DEU", "RUS", "agri_food"), "trade_counterfactual"] == 0.0
    assert res.diagnostics["converged"] and res.diagnostics["max_residual"] < 1e-14
    tar2 = tar.copy()
    hit = (tar2.importer == "RUS") & (tar2.sector == "mining_energy")
    tar2.loc[hit, "tariff_after"] = 50.0  # 5000 %: (51/(1+t))^-64.85 underflows to zero
    res2 = blocsim.solve_multisector(df, theta=theta, tariffs=tar2, io=io, options=TIGHT)
    f2 = res2.flows.set_index(["exporter", "importer", "sector"])
    blocked = f2.xs(("RUS", "mining_energy"), level=("importer", "sector")).drop(index="RUS")
    assert (blocked.trade_counterfactual <= 1e-12 * blocked.trade_baseline).all()
    assert np.all(np.isfinite(res2.countries.drop(columns="country").to_numpy()))


def test_convergence_error_reports_residual_and_iterations() -> None:
    df, tar, io = tariff_case(41)
    with pytest.raises(ConvergenceError) as info:
        blocsim.solve_multisector(df, theta=8.0, tariffs=tar, io=io, options=SolverOptions(max_iter=3))
    assert info.value.iterations == 3 and info.value.residual > 0


# --------------------------------------------------------------------------- validation


def test_bad_inputs_name_argument_and_fix() -> None:
    df = make_flows(4, ["a", "b"], seed=7)
    with pytest.raises(DataValidationError, match="'theta'.*'b'"):
        blocsim.solve_multisector(df, theta={"a": 4.0})
    bad = df.copy()
    bad.loc[3, "trade"] = -1.0
    with pytest.raises(DataValidationError, match="'baseline_df', column 'trade'"):
        blocsim.solve_multisector(bad, theta=4.0)
    nodom = df[df.exporter != df.importer]
    with pytest.raises(DataValidationError, match="domestic flow"):
        blocsim.solve_multisector(nodom, theta=4.0)
    tar = pd.DataFrame({"exporter": ["ARM"], "importer": ["XXX"], "sector": ["a"],
                        "tariff_before": [0.1], "tariff_after": [0.2]})
    with pytest.raises(DataValidationError, match="unknown value.*XXX"):
        blocsim.solve_multisector(df, theta=4.0, tariffs=tar)
    allban = pd.DataFrame({"exporter": ["ARM", "BLR", "DEU", "KAZ"], "importer": ["ARM"] * 4,
                           "sector": ["a"] * 4, "factor": [0.0] * 4})
    with pytest.raises(DataValidationError, match="domestic flow of 'ARM'.*own goods"):
        blocsim.solve_multisector(df, theta=4.0, shock=allban)
    no_home = df[~((df.exporter == "ARM") & (df.importer == "ARM") & (df.sector == "a"))]
    with pytest.raises(DataValidationError, match="loses every supplier"):
        blocsim.solve_multisector(no_home, theta=4.0, shock=allban[allban.exporter != "ARM"])
    io = pd.DataFrame({"sector": ["a", "a"], "input_sector": ["a", "b"], "share": [0.6, 0.5]})
    with pytest.raises(DataValidationError, match="value-added share"):
        blocsim.solve_multisector(df, theta=4.0, io=io)
    with pytest.raises(DataValidationError, match="closure"):
        blocsim.solve_multisector(df, theta=4.0, closure="balanced")  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="duty_pool.*'RUS'"):
        blocsim.solve_multisector(df, theta=4.0, duty_pool=DutyPool({"RUS": 1.0}))


def test_duty_pool_validation() -> None:
    with pytest.raises(PolicyRuleViolation, match=r"sum to 0\.9.*KAZ=0\.1"):
        DutyPool({"RUS": 0.8, "KAZ": 0.1})
    with pytest.raises(PolicyRuleViolation, match="share of KAZ is 7.0"):
        DutyPool({"RUS": 0.93, "KAZ": 7.0})
    with pytest.raises(PolicyRuleViolation, match="not an ISO3"):
        DutyPool({"Russia": 1.0})
    pool = DutyPool({"RUS": 0.5, "KAZ": 0.5})
    assert pool.members == ("KAZ", "RUS") and pool == DutyPool({"KAZ": 0.5, "RUS": 0.5})
    with pytest.raises(TypeError):
        pool.shares["RUS"] = 1.0  # type: ignore[index]


def test_elasticity_tables() -> None:
    """blocsim's table equals the authors' T.txt (tests/reference/caliendo_parro_2015.py)."""
    cp = get_elasticities("caliendo_parro_2015")
    assert dict(cp) == {**cp_ref.TRADABLE, "services": cp_ref.SERVICES}
    assert dict(CALIENDO_PARRO_2015) == dict(cp)
    covered = {s for fine in EAEU_SECTOR_MAP.values() for s in fine}
    assert covered == set(CALIENDO_PARRO_2015)
    t = cp_ref.TRADABLE
    assert EAEU_THETA["agri_food"] == pytest.approx(2 / (1 / t["agriculture"] + 1 / t["food"]))
    arithmetic = aggregate_theta(cp, {"x": ("mining", "petroleum")}, method="arithmetic")["x"]
    assert arithmetic == pytest.approx((t["mining"] + t["petroleum"]) / 2)
    weighted = aggregate_theta(cp, {"x": ("food", "mining")}, weights={"food": 3.0, "mining": 1.0})
    assert weighted["x"] == pytest.approx(1 / (0.75 / t["food"] + 0.25 / t["mining"]))
    with pytest.raises(DataValidationError, match="unknown elasticity table"):
        get_elasticities("gtap")


def test_eaeu_pool_shares_from_reference_data(shared_data) -> None:  # type: ignore[no-untyped-def]
    """The published 2015 EAEU distribution norms form a valid pool that the model honours."""
    table = pd.read_csv(shared_data / "eaeu_policy_reference" / "published_tariff_and_policy_figures.csv")
    rows = table[table.indicator.str.contains("import-duty revenue share", case=False)]
    pool = DutyPool(dict(zip(rows.country, rows.value / 100.0)))
    assert pool.members == ("ARM", "BLR", "KAZ", "RUS") and pool.shares["RUS"] == pytest.approx(0.8697)
    df, tar, io = tariff_case(51)
    res = blocsim.solve_multisector(df, theta=dict(EAEU_THETA), tariffs=tar, io=io, duty_pool=pool)
    c = res.countries.set_index("country")
    pooled = c.loc[list(pool.members), "tariff_revenue_collected_after"].sum()
    assert c.loc["KAZ", "tariff_revenue_received_after"] == pytest.approx(0.0725 * pooled, rel=1e-12)


def test_food_ban_on_bundled_eaeu_dataset() -> None:
    """Russia's 2014 food ban on the bundled EAEU data: banned flows vanish, trade diverts to members."""
    ds = load_dataset("eaeu-2016v1")  # the 4-sector tables: sector and region names below
    flows = ds.flows[ds.flows.year == 2012][["exporter", "importer", "sector", "trade"]]
    origins = ["EUN", "USA", "CAN", "AUS", "NOR"]
    ban = pd.DataFrame({"exporter": origins, "importer": "RUS", "sector": "agri_food", "factor": 0.0})
    members = ["RUS", "KAZ", "BLR", "ARM", "KGZ"]
    res = blocsim.solve_multisector(flows, theta=get_elasticities("caliendo_parro_2015_eaeu"), shock=ban, bloc=members)
    assert res.diagnostics["converged"]
    f = res.flows.set_index(["exporter", "importer", "sector"])
    assert (f.loc[[(o, "RUS", "agri_food") for o in origins], "trade_counterfactual"] == 0).all()
    b = res.bloc_effects.set_index(["country", "sector"])
    assert b.loc[("RUS", "agri_food"), "intra_pct"] > 0  # imports from EAEU partners replace banned ones
    assert b.loc[("RUS", "agri_food"), "trade_diversion"] > 0
    assert res.countries.set_index("country").loc["RUS", "welfare_pct"] < 0
