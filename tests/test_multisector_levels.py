"""Independent check: the multi-sector equilibrium solved in LEVELS before and after a shock.

A small Caliendo-Parro economy is built from primitives (technology T, iceberg costs d,
tariffs, labour L, Cobb-Douglas and input-output shares, deficits, a duty pool) and solved
in levels with ``scipy.optimize.root`` on wages, a fixed point for the price indices and a
dense linear solve for spending -- a different algorithm from the solver in changes. The
baseline flows of the "before" equilibrium are handed to ``solve_multisector`` with the
changes of tariffs, non-tariff costs, productivity and the pool; its counterfactual must
equal the "after" levels equilibrium to 1e-8.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import root

import blocsim
from blocsim.equilibrium import DutyPool
from blocsim.equilibrium.options import SolverOptions

CODES = ["ARM", "BLR", "KAZ", "RUS"]
SECTORS = ["agri_food", "manufacturing", "mining_energy"]


@dataclass(frozen=True)
class Economy:
    """Primitives; arrays [sector, exporter, importer] and [country, sector]."""

    tech: np.ndarray  # (N, S) T_is
    iceberg: np.ndarray  # (S, N, N) d_ijs >= 1
    tariff: np.ndarray  # (S, N, N)
    labour: np.ndarray  # (N,)
    alpha: np.ndarray  # (N, S) final-demand shares
    va: np.ndarray  # (N, S) value-added shares
    inputs: np.ndarray  # (N, K, S) input shares
    theta: np.ndarray  # (S,)
    deficit_ratio: np.ndarray  # (N,) non-pool deficit / value added (ratio) or level (level)
    pool: tuple[np.ndarray, np.ndarray] | None
    closure: str


def solve_levels(e: Economy) -> dict[str, np.ndarray]:
    """Equilibrium in levels; numeraire: world value added = sum of labour."""
    n, s = e.tech.shape
    th = e.theta

    def prices(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lp = np.zeros((n, s))
        for _ in range(5000):
            lc = e.va * np.log(w)[:, None] + np.einsum("iks,ik->is", e.inputs, lp)
            cost = np.exp(lc)
            term = np.einsum("is,sij->js", e.tech * cost ** (-th), (e.iceberg * (1 + e.tariff)) ** (-th[:, None, None]))
            new = -np.log(term) / th
            if np.max(np.abs(new - lp)) < 1e-15:
                break
            lp = new
        return cost, np.exp(new)

    def state(w: np.ndarray) -> dict[str, np.ndarray]:
        cost, price = prices(w)
        pi = (e.tech.T[:, :, None] * (cost.T[:, :, None] * e.iceberg * (1 + e.tariff)) ** (-th[:, None, None])
              / (price.T[:, None, :] ** (-th[:, None, None])))  # (S, i, j)
        pre = pi / (1 + e.tariff)
        rev_share = (pi * e.tariff / (1 + e.tariff)).sum(axis=1)  # (S, j): revenue per unit spending
        # unknown spending X (S, N): X_js = alpha_js I_j + sum_k inputs[j, s, k] Y_jk,
        # Y_ik = sum_j pre[k, i, j] X_jk, I_j = wL_j + received_j + D_j  (linear in X)
        m = n * s
        idx = lambda ss, jj: ss * n + jj  # noqa: E731
        a_mat = np.eye(m)
        b = np.zeros(m)
        va_new = w * e.labour
        if e.closure == "ratio":
            dvec = va_new * (e.deficit_ratio - np.sum(e.deficit_ratio * va_new) / va_new.sum())
        else:
            dvec = e.deficit_ratio
        for j in range(n):
            for ss in range(s):
                row = idx(ss, j)
                b[row] = e.alpha[j, ss] * (va_new[j] + dvec[j])
                # revenue received by j: own, or pool share of members' revenue
                payers = [j] if e.pool is None or not e.pool[0][j] else list(np.flatnonzero(e.pool[0]))
                weight = 1.0 if e.pool is None or not e.pool[0][j] else e.pool[1][j]
                for q in payers:
                    for s2 in range(s):
                        a_mat[row, idx(s2, q)] -= e.alpha[j, ss] * weight * rev_share[s2, q]
                for k in range(s):
                    for jj in range(n):
                        a_mat[row, idx(k, jj)] -= e.inputs[j, ss, k] * pre[k, j, jj]
        spend = np.linalg.solve(a_mat, b).reshape(s, n)
        flows = pre * spend[:, None, :]
        output = flows.sum(axis=2)  # (S, N)
        collected = (e.tariff * flows).sum(axis=(0, 1))
        return {"w": w, "price": price, "flows": flows, "output": output, "spend": spend,
                "collected": collected, "deficit": dvec}

    def residual(u: np.ndarray) -> np.ndarray:
        w = np.exp(np.append(u, 0.0))
        w = w * e.labour.sum() / np.sum(w * e.labour)
        st = state(w)
        demand = np.sum(e.va.T * st["output"], axis=0)
        return (demand / (w * e.labour) - 1.0)[:-1]

    sol = root(residual, np.zeros(n - 1), method="hybr", options={"xtol": 1e-14})
    w = np.exp(np.append(sol.x, 0.0))
    w = w * e.labour.sum() / np.sum(w * e.labour)
    out = state(w)
    demand = np.sum(e.va.T * out["output"], axis=0)
    assert np.max(np.abs(demand / (w * e.labour) - 1)) < 1e-12, sol.message
    return out


def tidy(arr: np.ndarray, name: str) -> pd.DataFrame:
    s_idx, i_idx, j_idx = np.meshgrid(range(len(SECTORS)), range(len(CODES)), range(len(CODES)), indexing="ij")
    return pd.DataFrame({"exporter": np.array(CODES)[i_idx.ravel()], "importer": np.array(CODES)[j_idx.ravel()],
                         "sector": np.array(SECTORS)[s_idx.ravel()], name: arr.ravel()})


def economy(closure: str, seed: int) -> Economy:
    rng = np.random.default_rng(seed)
    n, s = len(CODES), len(SECTORS)
    iceberg = 1.0 + rng.uniform(0.2, 1.5, size=(s, n, n))
    iceberg[:, np.arange(n), np.arange(n)] = 1.0
    tariff = rng.uniform(0.0, 0.2, size=(s, n, n))
    tariff[:, np.arange(n), np.arange(n)] = 0.0
    inputs = rng.uniform(0.05, 0.2, size=(n, s, s))
    alpha = rng.dirichlet(np.ones(s), size=n)
    ratio = rng.uniform(-0.08, 0.08, size=n)
    labour = rng.uniform(1.0, 5.0, size=n)
    level = (ratio - np.sum(ratio * labour) / labour.sum()) * labour  # sums to zero
    return Economy(
        tech=rng.uniform(0.5, 2.0, size=(n, s)), iceberg=iceberg, tariff=tariff,
        labour=labour, alpha=alpha, va=1.0 - inputs.sum(axis=1), inputs=inputs,
        theta=np.array([9.11, 4.0, 13.53]),
        deficit_ratio=ratio if closure == "ratio" else level,
        pool=(np.array([True, True, True, False]), np.array([0.1, 0.3, 0.6, 0.0])), closure=closure,
    )


@pytest.mark.parametrize("closure", ["level", "ratio"])
def test_changes_equal_levels(closure: str) -> None:
    e0 = economy(closure, seed=7 if closure == "level" else 8)
    rng = np.random.default_rng(99)
    n, s = len(CODES), len(SECTORS)
    tariff1 = e0.tariff * rng.uniform(0.0, 2.0, size=e0.tariff.shape)
    cost_factor = rng.uniform(0.3, 1.5, size=(s, n, n))
    cost_factor[0, 0, 3] = 0.0  # a ban: ARM's agri-food exports to RUS
    productivity = rng.uniform(0.85, 1.1, size=(n, s))
    pool1 = (np.array([True, True, True, True]), np.array([0.05, 0.05, 0.3, 0.6]))
    before = solve_levels(e0)
    e1 = replace(
        e0, tariff=tariff1, iceberg=e0.iceberg * np.where(cost_factor > 0, cost_factor, 1.0) ** (-1 / e0.theta[:, None, None]),
        tech=e0.tech * productivity ** e0.theta[None, :], pool=pool1,  # c -> c / A is T -> T A^theta
    )
    zero = cost_factor == 0
    ban_iceberg = e1.iceberg.copy()
    ban_iceberg[zero] = np.inf
    after = solve_levels(replace(e1, iceberg=ban_iceberg))

    tariffs = tidy(e0.tariff, "tariff_before").merge(tidy(tariff1, "tariff_after"))
    tariffs = tariffs[tariffs.exporter != tariffs.importer]
    io = pd.DataFrame([(CODES[i], SECTORS[u], SECTORS[k], e0.inputs[i, k, u]) for i in range(n)
                       for k in range(s) for u in range(s)], columns=["country", "sector", "input_sector", "share"])
    prod = pd.DataFrame([(CODES[i], SECTORS[k], productivity[i, k]) for i in range(n) for k in range(s)],
                        columns=["country", "sector", "factor"])
    res = blocsim.solve_multisector(
        tidy(before["flows"], "trade"), theta=dict(zip(SECTORS, e0.theta)), shock=tidy(cost_factor, "factor"),
        tariffs=tariffs, closure=closure, io=io, productivity=prod,
        duty_pool=DutyPool(dict(zip(CODES[:3], [0.1, 0.3, 0.6]))),
        duty_pool_after=DutyPool(dict(zip(CODES, [0.05, 0.05, 0.3, 0.6]))),
        options=SolverOptions(tol=1e-14, max_iter=20000),
    )
    assert res.diagnostics["converged"]
    scale = after["flows"].max()
    np.testing.assert_allclose(res.flows_counterfactual, after["flows"], rtol=0, atol=1e-8 * scale)
    assert res.flows_counterfactual[0, 0, 3] == 0.0
    c = res.countries
    np.testing.assert_allclose(1 + c.factory_price_pct / 100, after["w"] / before["w"], rtol=1e-8)
    cpi0 = np.exp(np.sum(e0.alpha * np.log(before["price"]), axis=1))
    cpi1 = np.exp(np.sum(e0.alpha * np.log(after["price"]), axis=1))
    np.testing.assert_allclose(1 + c.price_index_pct / 100, cpi1 / cpi0, rtol=1e-8)
    np.testing.assert_allclose(c.tariff_revenue_collected_before, before["collected"], rtol=1e-8)
    np.testing.assert_allclose(c.tariff_revenue_collected_after, after["collected"], rtol=1e-8)
    inc0 = before["w"] * e0.labour + c.tariff_revenue_received_before + before["deficit"]
    inc1 = after["w"] * e0.labour + c.tariff_revenue_received_after + after["deficit"]
    np.testing.assert_allclose(1 + c.welfare_pct / 100, (inc1 / cpi1) / (inc0 / cpi0), rtol=1e-8)
