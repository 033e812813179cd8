"""Tariff-line partial equilibrium (blocsim.solve_pe): hand-computed cases, SMART textbook
formulas (Laird & Yeats 1986; Jammes & Olarreaga 2005), consistency of the exact CES solution
with the first-order formulas, and convergence to the one-sector GE conditional solution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

import blocsim
from blocsim.equilibrium.equations import solve_conditional
from blocsim.equilibrium.pe import solve_pe
from blocsim.errors import DataValidationError


def _market(trade: list[float], t0: list[float], t1: list[float], product: str = "870323") -> pd.DataFrame:
    n = len(trade)
    return pd.DataFrame({
        "importer": ["KAZ"] * n, "exporter": ["CHN", "RUS", "DEU", "JPN"][:n], "product": [product] * n,
        "trade": trade, "tariff_before": t0, "tariff_after": t1,
    })


def test_public_name_is_exported() -> None:
    assert blocsim.solve_pe is solve_pe


def test_hand_computed_two_source_case() -> None:
    # sigma = 2, epsilon = -1 (spending on the product fixed), a 100 % tariff on CHN only.
    # z_CHN = 2^(1-2) = 1/2, P^(1-sigma) = (1 + 1/2)/2 = 3/4 -> P = 4/3; m = P^(eps+sigma) z^2:
    # m_CHN = 4/3 * 1/4 = 1/3, m_RUS = 4/3. Imports CHN 50/3, RUS 200/3; revenue 50/3;
    # consumer surplus -E ln P = -100 ln(4/3); all creation (-50/3) is credited to CHN.
    res = solve_pe(_market([50, 50], [0, 0], [1.0, 0]), import_demand=-1.0, substitution=2.0)
    bp = res.by_partner.set_index("exporter")
    assert bp.loc["CHN", "trade_after"] == pytest.approx(50 / 3, rel=1e-12)
    assert bp.loc["RUS", "trade_after"] == pytest.approx(200 / 3, rel=1e-12)
    assert bp.loc["CHN", "tariff_revenue_after"] == pytest.approx(50 / 3, rel=1e-12)
    assert bp.loc["CHN", "trade_creation"] == pytest.approx(-50 / 3, rel=1e-12)
    assert bp.loc["RUS", "trade_creation"] == pytest.approx(0.0, abs=1e-12)
    assert bp.loc["RUS", "trade_diversion"] == pytest.approx(50 / 3, rel=1e-12)
    assert bp["trade_diversion"].sum() == pytest.approx(0.0, abs=1e-10)
    prod = res.by_product.iloc[0]
    assert prod["consumer_surplus_change"] == pytest.approx(-100 * np.log(4 / 3), rel=1e-12)
    assert prod["welfare_change"] == pytest.approx(-100 * np.log(4 / 3) + 50 / 3, rel=1e-12)
    assert prod["price_index_pct"] == pytest.approx(100 / 3, rel=1e-12)
    assert res.summary.loc[0, "trade_after"] == pytest.approx(250 / 3, rel=1e-12)


def test_smart_trade_creation_textbook_values() -> None:
    # Laird-Yeats: TC = M eps dt / ((1 + t)(1 - eps/eta)); M = 100, 10 % -> 0, eps = -1.5.
    imp = _market([100], [0.10], [0.0])
    for eta, expected in ((np.inf, 150 / 11), (99.0, 150 / 11 / (1 + 1.5 / 99)), (2.0, 150 / 11 / 1.75)):
        res = solve_pe(imp, import_demand=-1.5, export_supply=eta, method="smart")
        row = res.by_partner.iloc[0]
        assert row["trade_creation"] == pytest.approx(expected, rel=1e-12)
        assert row["trade_diversion"] == pytest.approx(0.0, abs=1e-12)
    # infinite supply: revenue falls from 10 to 0, consumer gain = rectangle + triangle
    res = solve_pe(imp, import_demand=-1.5, method="smart")
    row = res.by_partner.iloc[0]
    assert row["tariff_revenue_change"] == pytest.approx(-10.0)
    assert row["consumer_surplus_change"] == pytest.approx(0.1 * (100 + 0.5 * 150 / 11), rel=1e-12)
    assert row["welfare_change"] == pytest.approx(0.5 * 0.1 * 150 / 11, rel=1e-12)  # Harberger triangle


def test_smart_trade_diversion_textbook_two_sources() -> None:
    # Preference for CHN (10 % -> 0), RUS keeps 10 %; sigma = 1.5. Linearised Laird-Yeats:
    # TD = M1 M2 / (M1 + M2) * sigma * dln(p1/p2) = 24 * 1.5 / 11; RUS loses the same amount.
    res = solve_pe(_market([60, 40], [0.1, 0.1], [0.0, 0.1]), import_demand=-1.5, substitution=1.5,
                   method="smart")
    bp = res.by_partner.set_index("exporter")
    assert bp.loc["CHN", "trade_diversion"] == pytest.approx(24 * 1.5 / 11, rel=1e-12)
    assert bp.loc["RUS", "trade_diversion"] == pytest.approx(-24 * 1.5 / 11, rel=1e-12)
    assert bp.loc["CHN", "trade_creation"] == pytest.approx(1.5 * 60 / 11, rel=1e-12)
    assert bp.loc["RUS", "trade_creation"] == 0.0
    assert bp.loc["RUS", "tariff_revenue_after"] == pytest.approx(0.1 * (40 - 36 / 11), rel=1e-12)


def test_single_source_finite_supply_closed_form() -> None:
    # One source: m = p^eps and p* = m^(1/eta) => m = tau^(eps / (1 - eps/eta)).
    # eps = -2, eta = 2, tau = 1.21: m = 1/1.21, p* = 1/1.1, import value = 100 / 1.331.
    res = solve_pe(_market([100], [0.0], [0.21]), import_demand=-2.0, export_supply=2.0)
    row = res.by_partner.iloc[0]
    assert row["trade_after"] == pytest.approx(100 / 1.331, rel=1e-10)
    assert row["world_price_pct"] == pytest.approx((1 / 1.1 - 1) * 100, rel=1e-10)
    assert row["exporter_surplus_change"] == pytest.approx(100 * ((1 / 1.1) ** 3 - 1) / 3, rel=1e-10)
    assert res.diagnostics["converged"] and res.diagnostics["max_residual"] < 1e-12


def test_exact_converges_to_smart_for_small_changes() -> None:
    # Equal baseline tariffs, infinite supply: market totals agree to O(h^2); per partner the
    # creation agrees, and diversion differs by (sigma + eps) / sigma (see pe.py notes).
    sigma, eps = 3.0, -1.3
    gaps = []
    for h in (1e-2, 1e-3):
        imp = _market([50, 30, 20], [0.1] * 3, [0.1 - h, 0.1, 0.1 + h / 2])
        e = solve_pe(imp, import_demand=eps, substitution=sigma)
        s = solve_pe(imp, import_demand=eps, substitution=sigma, method="smart")
        cols = ["trade_total_effect", "consumer_surplus_change", "tariff_revenue_change", "welfare_change"]
        gaps.append(float(np.max(np.abs(e.by_product[cols].to_numpy() - s.by_product[cols].to_numpy()))))
        moved = s.by_partner["trade_creation"].abs() > 0
        np.testing.assert_allclose(e.by_partner.loc[moved, "trade_creation"],
                                   s.by_partner.loc[moved, "trade_creation"], rtol=5 * h)
        np.testing.assert_allclose(e.by_partner["trade_diversion"] / s.by_partner["trade_diversion"],
                                   (sigma + eps) / sigma, rtol=5 * h)
    assert gaps[1] < gaps[0] / 50  # second order: a 10x smaller shock gives a ~100x smaller gap


def test_consumer_surplus_equals_integral_of_demand() -> None:
    # Independent check of the closed form: dCS = -integral of m_CHN dp along the tariff path.
    sigma, eps = 2.5, -1.7
    base = _market([70, 30], [0.05, 0.05], [0.05, 0.05])

    def quantity(t: float) -> float:
        imp = base.assign(tariff_after=[t, 0.05])
        return float(solve_pe(imp, import_demand=eps, substitution=sigma).by_partner["trade_after"].iloc[0])

    integral, _ = integrate.quad(quantity, 0.05, 0.40, epsabs=1e-11)
    res = solve_pe(base.assign(tariff_after=[0.40, 0.05]), import_demand=eps, substitution=sigma)
    assert res.by_product.loc[0, "consumer_surplus_change"] == pytest.approx(-integral, rel=1e-9)
    assert res.by_partner["consumer_surplus_change"].iloc[1] == pytest.approx(0.0, abs=1e-12)


def test_ban_drives_flow_to_zero_and_diverts() -> None:
    imp = _market([60, 40], [0.1, 0.1], [0.1, 0.1])
    cf = pd.DataFrame({"exporter": ["CHN"], "importer": ["KAZ"], "product": ["870323"], "factor": [0.0]})
    imp_no_t = imp.drop(columns=["tariff_before", "tariff_after"])
    res = solve_pe(imp_no_t, cost_factor=cf, import_demand=-2.0, substitution=3.0)
    bp = res.by_partner.set_index("exporter")
    assert bp.loc["CHN", "trade_after"] == 0.0
    # epsilon < -1: losing a variety costs a finite surplus; P^(1-sigma) = 0.4 -> P = 0.4^(-1/2)
    assert bp.loc["RUS", "trade_after"] == pytest.approx(40 * 0.4 ** ((-2 + 3) / -2) * 1.0, rel=1e-12)
    e0 = 100.0  # no tariffs in this table
    assert res.by_product.loc[0, "consumer_surplus_change"] == pytest.approx(
        -e0 * (0.4 ** (-1 / 2 * -1) - 1) / -1, rel=1e-12)
    with pytest.raises(DataValidationError, match="method='exact'"):
        solve_pe(imp_no_t, cost_factor=cf, method="smart")
    prohibitive = solve_pe(imp.assign(tariff_after=[np.inf, 0.1]), import_demand=-2.0, substitution=3.0)
    np.testing.assert_allclose(prohibitive.by_partner["trade_after"], res.by_partner["trade_after"], rtol=1e-12)
    assert prohibitive.by_partner["tariff_revenue_after"].iloc[0] == 0.0


@dataclass(frozen=True)
class _FakeShock:
    """Stands in for blocsim.shock.Shock: only the documented .tariffs/.cost_factor contract."""

    tariffs: pd.DataFrame
    cost_factor: pd.DataFrame


def test_shock_by_sector_with_concordance_equals_direct_tariffs() -> None:
    imp = pd.DataFrame({
        "importer": ["KAZ"] * 4, "exporter": ["CHN", "RUS", "CHN", "RUS"],
        "product": ["870323", "870323", "020130", "020130"], "trade": [40.0, 60.0, 5.0, 15.0],
    })
    shock = _FakeShock(
        tariffs=pd.DataFrame({"exporter": ["CHN", "CHN"], "importer": ["KAZ", "KAZ"],
                              "sector": ["manufacturing", "agri_food"],
                              "tariff_before": [0.05, 0.02], "tariff_after": [0.15, 0.10]}),
        cost_factor=pd.DataFrame({"exporter": ["RUS"], "importer": ["KAZ"], "sector": ["agri_food"],
                                  "factor": [0.5]}),
    )
    conc = {"870323": "manufacturing", "020130": "agri_food"}
    via_shock = solve_pe(imp, shock=shock, concordance=conc, import_demand=-1.2)
    direct = solve_pe(
        imp.assign(product=imp["product"]),
        tariffs=pd.DataFrame({"exporter": ["CHN", "CHN"], "importer": ["KAZ", "KAZ"],
                              "product": ["870323", "020130"], "tariff_before": [0.05, 0.02],
                              "tariff_after": [0.15, 0.10]}),
        cost_factor=pd.DataFrame({"exporter": ["RUS"], "importer": ["KAZ"], "product": ["020130"], "factor": [0.5]}),
        import_demand=-1.2,
    )
    pd.testing.assert_frame_equal(via_shock.by_partner, direct.by_partner)
    bp = via_shock.by_partner.set_index(["exporter", "product"])
    assert bp.loc[("CHN", "020130"), "tariff_after"] == 0.10
    assert bp.loc[("RUS", "870323"), "tariff_after"] == 0.0  # no shock row: zero tariff
    assert bp.loc[("RUS", "020130"), "cost_factor"] == 0.5


def test_elasticities_per_product_and_per_importer_product() -> None:
    imp = pd.concat([_market([50, 50], [0, 0], [0.2, 0], "p1"), _market([50, 50], [0, 0], [0.2, 0], "p2")])
    one = solve_pe(imp, import_demand={"p1": -1.0, "p2": -3.0}, substitution=pd.Series({"p1": 2.0, "p2": 4.0}))
    table = pd.DataFrame({"importer": ["KAZ", "KAZ"], "product": ["p1", "p2"], "import_demand": [-1.0, -3.0]})
    two = solve_pe(imp, import_demand=table, substitution={"p1": 2.0, "p2": 4.0})
    pd.testing.assert_frame_equal(one.by_product, two.by_product)
    p1 = solve_pe(imp[imp["product"] == "p1"], import_demand=-1.0, substitution=2.0)
    assert one.by_product.loc[0, "welfare_change"] == pytest.approx(p1.by_product.loc[0, "welfare_change"], rel=1e-14)
    assert one.parameters["import_demand_source"] == "user per product"
    assert "Kee-Nicita-Olarreaga" in solve_pe(imp).parameters["import_demand_source"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"import_demand": 1.5}, "import_demand.*< 0"),
        ({"substitution": 1.0}, "substitution.*> 1"),
        ({"export_supply": 0.0}, "export_supply"),
        ({"import_demand": {"other": -1.0}}, "no value for products"),
        ({"method": "gsim"}, "allowed: 'exact', 'smart'"),
    ],
)
def test_bad_parameters_name_argument_and_fix(kwargs: dict, match: str) -> None:
    with pytest.raises(DataValidationError, match=match):
        solve_pe(_market([50, 50], [0, 0], [0.2, 0]), **kwargs)


def test_bad_tables_name_argument_and_fix() -> None:
    bad = _market([50, -1], [0, 0], [0.2, 0])
    with pytest.raises(DataValidationError, match=r"'imports'.*'trade'.*>= 0"):
        solve_pe(bad)
    with pytest.raises(DataValidationError, match="duplicate lines"):
        solve_pe(pd.concat([_market([50], [0], [0.2])] * 2))
    with pytest.raises(DataValidationError, match="percent"):
        solve_pe(_market([50], [0], [20.0]).assign(tariff_after=[-5.0]))
    with pytest.raises(DataValidationError, match="one source of tariffs"):
        solve_pe(_market([50], [0], [0.2]), tariffs=pd.DataFrame())
    with pytest.raises(DataValidationError, match="'cost_factor'.*'factor'"):
        cf = pd.DataFrame({"exporter": ["CHN"], "importer": ["KAZ"], "product": ["870323"], "factor": [-1.0]})
        solve_pe(_market([50], [0], [0]).drop(columns=["tariff_before", "tariff_after"]), cost_factor=cf)


def test_domestic_rows_dropped_by_default() -> None:
    imp = pd.concat([_market([50, 50], [0, 0], [0.2, 0]),
                     pd.DataFrame({"importer": ["KAZ"], "exporter": ["KAZ"], "product": ["870323"],
                                   "trade": [500.0], "tariff_before": [0.0], "tariff_after": [0.0]})])
    assert len(solve_pe(imp).by_partner) == 2
    assert len(solve_pe(imp, domestic="source").by_partner) == 3


def test_many_lines_are_vectorised() -> None:
    rng = np.random.default_rng(0)
    n_prod, n_src = 2000, 25
    imp = pd.DataFrame({
        "importer": "KAZ", "exporter": np.tile([f"E{i:02d}" for i in range(n_src)], n_prod),
        "product": np.repeat([f"{i:06d}" for i in range(n_prod)], n_src),
        "trade": rng.lognormal(size=n_prod * n_src), "tariff_before": 0.1,
        "tariff_after": rng.uniform(0.0, 0.2, n_prod * n_src),
    })
    res = solve_pe(imp, import_demand=-1.5, export_supply=3.0)
    assert len(res.by_product) == n_prod and res.diagnostics["converged"]
    np.testing.assert_allclose(res.by_product.groupby("importer")["trade_diversion"].sum(), 0.0, atol=1e-8)


def _small_open_economy(sigma: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Five countries; J (last) buys 1e-6 of what the others buy and sells mostly abroad."""
    rng = np.random.default_rng(3)
    flows = rng.uniform(50, 150, (5, 5)) + np.diag(rng.uniform(500, 1000, 5))
    flows[:, 4] *= 1e-6
    change = np.ones((5, 5))
    change[0, 4] = (1 + h) ** (1 - sigma)  # an ad valorem cost rise on A -> J
    change[1, 4] = (1 - h / 2) ** (1 - sigma)  # and a cut on B -> J
    return flows, change


@pytest.mark.parametrize("h", [0.3, 0.01])
def test_pe_matches_one_sector_ge_conditional_for_a_small_open_importer(h: float) -> None:
    # Conditional GE holds expenditure fixed (epsilon = -1) and output fixed; sellers' prices
    # move only by the shocked market's share of their sales (1e-6 here), so PE with infinite
    # supply and the domestic variety as a source reproduces GE's flows into J.
    sigma = 5.0
    names = ["A", "B", "C", "D", "J"]
    flows, change = _small_open_economy(sigma, h)
    cond, _, _, _ = solve_conditional(flows, change, reference=None)
    ge_pct = (cond[:, 4] / flows[:, 4] - 1.0) * 100.0
    imp = pd.DataFrame({"importer": "J", "exporter": names, "product": "all", "trade": flows[:, 4]})
    cf = imp[["importer", "exporter", "product"]].assign(factor=change[:, 4])
    res = solve_pe(imp, cost_factor=cf, import_demand=-1.0, substitution=sigma, domestic="source")
    kappa = change[:, 4] ** (1.0 / (1.0 - sigma))  # the cost wedge is paid by the importer
    pe_pct = (res.by_partner["trade_after"].to_numpy() * kappa / flows[:, 4] - 1.0) * 100.0
    assert np.max(np.abs(pe_pct - ge_pct)) < 5e-5  # percentage points; measured 1.8e-5 at h = 0.3
    smart = solve_pe(imp, cost_factor=cf, import_demand=-1.0, substitution=sigma, domestic="source",
                     method="smart")
    # first-order SMART totals (quantities at fixed world prices) track GE to O(h^2)
    assert abs(smart.by_product.loc[0, "trade_total_effect"] - res.by_product.loc[0, "trade_total_effect"]) \
        < 20 * h**2 * flows[:, 4].sum()


def test_driven_by_a_real_policy_shock() -> None:
    # The compiled shock of the built-in "Russia's 2014 food ban" scenario drives PE exactly as
    # it drives the GE: sector-level tariffs and cost factors mapped onto HS6 lines.
    from blocsim.pipeline import run_scenario

    shock = run_scenario("russia-food-ban-2014").shock
    imports = pd.DataFrame({
        "importer": "RUS", "exporter": ["DEU", "BLR", "CHN", "USA", "DEU", "BLR"],
        "product": ["040690", "040690", "040690", "020714", "020714", "020714"],
        "trade": [1300.0, 400.0, 50.0, 300.0, 100.0, 80.0],
    })
    conc = {"040690": "C10T12", "020714": "C10T12"}  # ICIO food products (cheese, poultry meat)
    res = solve_pe(imports, shock=shock, concordance=conc, import_demand=-1.5, substitution=3.0)
    factors = shock.cost_factor.set_index(["exporter", "importer", "sector"])["factor"]
    rates = shock.tariffs.set_index(["exporter", "importer", "sector"])
    bp = res.by_partner.set_index(["exporter", "product"])
    for exporter, product in bp.index:
        key = (exporter, "RUS", "C10T12")
        assert bp.loc[(exporter, product), "cost_factor"] == factors.get(key, 1.0)
        assert bp.loc[(exporter, product), "tariff_before"] == rates.loc[key, "tariff_before"]
    # banned origins (Germany, an EU member) lose, Belarus (a member with a zero tariff) gains in both lines
    assert (bp.loc["DEU", "trade_pct"] < 0).all() and (bp.loc["BLR", "trade_pct"] > 0).all()
    assert res.by_product["trade_diversion"].abs().max() < 1e-9


def test_zero_trade_lines_and_markets_stay_zero() -> None:
    imp = pd.concat([_market([50, 0], [0.1, 0.1], [0.0, 0.1], "p1"), _market([0, 0], [0.1, 0.1], [0.0, 0.2], "p2")])
    for method in ("exact", "smart"):
        res = solve_pe(imp, import_demand=-1.2, export_supply=4.0, method=method)
        numbers = res.by_partner.select_dtypes("number").drop(columns="trade_pct")  # pct is NaN at zero
        assert np.isfinite(numbers.to_numpy()).all()
        p2 = res.by_product.set_index("product").loc["p2"]
        assert p2["trade_after"] == 0.0 and p2["consumer_surplus_change"] == 0.0
        zero_line = res.by_partner[(res.by_partner["product"] == "p1") & (res.by_partner["exporter"] == "RUS")]
        assert zero_line["trade_after"].iloc[0] == 0.0


@settings(max_examples=40, deadline=None)
@given(
    trade=st.lists(st.floats(0.5, 500.0), min_size=2, max_size=6),
    seed=st.integers(0, 2**16),
    eps=st.floats(-4.0, -0.2),
    sigma=st.floats(1.1, 12.0),
    eta=st.one_of(st.just(np.inf), st.floats(0.5, 50.0)),
)
def test_invariants_of_the_exact_solution(trade: list[float], seed: int, eps: float, sigma: float, eta: float) -> None:
    rng = np.random.default_rng(seed)
    n = len(trade)
    t0 = rng.uniform(0.0, 0.3, n)
    imp = pd.DataFrame({"importer": "KAZ", "exporter": [f"E{k}" for k in range(n)], "product": "p",
                        "trade": trade, "tariff_before": t0, "tariff_after": t0})
    still = solve_pe(imp, import_demand=eps, substitution=sigma, export_supply=eta)
    assert np.allclose(still.by_partner[["trade_total_effect", "consumer_surplus_change"]], 0.0, atol=1e-9)
    moved = solve_pe(imp.assign(tariff_after=rng.uniform(0.0, 0.5, n)), import_demand=eps, substitution=sigma,
                     export_supply=eta)
    bp, prod = moved.by_partner, moved.by_product.iloc[0]
    scale = max(trade)
    assert abs(bp["trade_diversion"].sum()) < 1e-8 * scale  # diversion nets out in the market
    np.testing.assert_allclose(bp["trade_creation"] + bp["trade_diversion"] + bp["price_effect"],
                               bp["trade_after"] - bp["trade_before"], atol=1e-9 * scale)
    spend = float(((1 + t0) * np.array(trade)).sum())
    p_hat = 1 + prod["price_index_pct"] / 100  # closed-form surplus from the price index
    expected = -spend * np.log(p_hat) if abs(1 + eps) < 1e-12 else -spend * (p_hat ** (1 + eps) - 1) / (1 + eps)
    assert prod["consumer_surplus_change"] == pytest.approx(expected, rel=1e-9, abs=1e-9 * scale)
    assert (bp["trade_after"] >= 0).all()


def test_concordance_must_cover_every_product() -> None:
    tariffs = pd.DataFrame({"exporter": ["CHN"], "importer": ["KAZ"], "sector": ["manufacturing"],
                            "tariff_before": [0.05], "tariff_after": [0.15]})
    imp = _market([50, 50], [0, 0], [0, 0]).drop(columns=["tariff_before", "tariff_after"])
    with pytest.raises(DataValidationError, match="without a sector: 870323"):
        solve_pe(imp, tariffs=tariffs, concordance={"870324": "manufacturing"})
