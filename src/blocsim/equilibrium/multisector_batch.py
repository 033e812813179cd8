"""Many counterfactuals of the multi-sector GE at once: :func:`solve_multisector_batch`.

A Monte Carlo draw (or a point of a sweep) changes the trade elasticities, the non-tariff cost
factors recomputed from them, and perhaps the tariffs and the duty pool's shares; the baseline
flows and input-output shares stay. :func:`solve_multisector_batch` solves D such draws in
one vectorised run of the same equations as :func:`blocsim.solve_multisector` (the single
solve is the batch of size 1 of :mod:`blocsim.equilibrium.multisector_core`), in chunks of
draws sized from a memory budget, and returns per-draw arrays and per-draw convergence.

Memory. Per draw, a chunk holds the two shock kernels (S, N, N) (``kernel`` and
``kernel_pre``) and, at its peak, two more (S, N, N) arrays: the tariff factor while
calibrating, the counterfactual flows while summing trade, or the kernels of the draws still
running while iterating (the solver drops converged draws from the evaluations); per-draw
tariffs add one more. With ``B = 8 S N^2`` bytes (one float64 (S, N, N) array) a draw needs
``4 B`` (``5 B`` with per-draw tariffs) plus the Anderson history and the (S, N) work arrays
(:func:`bytes_per_draw`), and a chunk has ``memory_budget // bytes_per_draw`` draws (at least
1). The per-draw inputs (e.g. a (D, S, N, N) cost factor) are the caller's and are not
counted: a chunk takes views of them (a ``numpy.memmap`` works). Example: N = 85, S = 28
gives B = 1.6 MB and 7.9 MB per draw, so chunks of 67 draws under the default budget of
512 MiB; measured peak (tracemalloc, 100 draws with per-draw theta and cost factors,
tariffs and IO links): 425 MiB (``bench/montecarlo_multisector.py --memory``).

Results do not depend on how draws are chunked or batched: every reduction runs draw by draw,
so a draw gives the same bits alone, in any chunk, or as the single solve of the same arrays.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from blocsim.equilibrium.labour import MIGRATION_ELASTICITY, LabourArrays, check_elasticity
from blocsim.equilibrium.multisector_conditional import Conditional, solve_conditional_batch
from blocsim.equilibrium.multisector_core import (
    Calibration,
    Equilibrium,
    calibrate_batch,
    international_trade,
    log_consumer_prices,
    solve_changes_batch,
)
from blocsim.equilibrium.multisector_inputs import MultiSectorBatch, MultiSectorProblem, numeraire_index
from blocsim.equilibrium.options import SolverOptions, check_choice
from blocsim.errors import ConvergenceError, DataValidationError

FloatArray = NDArray[np.float64]
DEFAULT_MEMORY_BUDGET = 512 * 2**20
"""Default working memory of one chunk of draws, bytes (512 MiB)."""


@dataclass(frozen=True)
class MultiSectorBatchResult:
    """Outcome of :func:`solve_multisector_batch`: per-draw arrays, leading axis D.

    Money in the baseline's unit (USD millions); counterfactual levels in units of the
    numeraire (default: world value added unchanged). ``*_hat`` are ratios
    counterfactual/baseline. The counterfactual arrays of a draw that did not converge are NaN
    (the baseline ones are kept); its residual and iteration count are in ``diagnostics``.

    Attributes
    ----------
    countries, sectors : tuple of str
        Order of the N and S axes.
    wage_hat : ndarray (D, N)
        Wage (factory price) change.
    consumer_price_hat : ndarray (D, N)
        Consumer price index change (final-demand weights).
    real_income_hat : ndarray (D, N)
        Real income change (welfare): ``(income / income_baseline) / consumer_price_hat``.
    log_price_hat : ndarray (D, S, N)
        Log change of the sectoral price indices, by importer.
    income, income_baseline : ndarray (D, N)
        National income (value added + duties received + deficit not financed by the pool).
    revenue_collected, revenue_received : ndarray (D, N)
        Import duties collected, and received after the duty pool, in the counterfactual.
    revenue_collected_baseline, revenue_received_baseline : ndarray (D, N)
        The same in the baseline (they differ between draws only when tariffs or pools do).
    pool_contribution, pool_contribution_baseline : ndarray (D, N)
        Duties paid into the pool (collection efficiency x statutory duties of members, 0
        elsewhere) in the counterfactual and in the baseline.
    exports, imports : ndarray (D, N)
        International trade before tariffs in the counterfactual (domestic flows excluded).
    exports_baseline, imports_baseline : ndarray (N,)
    spending, output : ndarray (D, S, N)
        Counterfactual spending (incl. tariffs) by importer and gross output by producer.
    remittances_received, remittances_sent : ndarray (D, N)
        Remittances received by each origin and sent from each host in the counterfactual
        (zero without the labour channel); their difference is the net transfer in ``income``.
    remittances_received_baseline, remittances_sent_baseline : ndarray (D, N)
        The same in the baseline.
    exports_conditional, imports_conditional : ndarray (D, N) or None
        Trade in the conditional equilibrium (with ``conditional=True``; NaN where it did
        not converge, as in :func:`blocsim.solve_multisector`).
    diagnostics : pandas.DataFrame
        One row per draw: ``draw``, ``converged``, ``iterations``, ``residual``, ``method``
        (``anderson``, or ``anderson+iterate`` when the draw restarted with plain iteration)
        and, with ``conditional=True``, ``conditional_converged``.
    chunk_size : int
        Draws per chunk (from the memory budget).
    seconds : float
        Wall time of the whole batch.
    """

    countries: tuple[str, ...]
    sectors: tuple[str, ...]
    wage_hat: FloatArray = field(repr=False)
    consumer_price_hat: FloatArray = field(repr=False)
    real_income_hat: FloatArray = field(repr=False)
    log_price_hat: FloatArray = field(repr=False)
    income: FloatArray = field(repr=False)
    income_baseline: FloatArray = field(repr=False)
    revenue_collected: FloatArray = field(repr=False)
    revenue_received: FloatArray = field(repr=False)
    revenue_collected_baseline: FloatArray = field(repr=False)
    revenue_received_baseline: FloatArray = field(repr=False)
    pool_contribution: FloatArray = field(repr=False)
    pool_contribution_baseline: FloatArray = field(repr=False)
    exports: FloatArray = field(repr=False)
    imports: FloatArray = field(repr=False)
    exports_baseline: FloatArray = field(repr=False)
    imports_baseline: FloatArray = field(repr=False)
    spending: FloatArray = field(repr=False)
    output: FloatArray = field(repr=False)
    remittances_received: FloatArray = field(repr=False)
    remittances_sent: FloatArray = field(repr=False)
    remittances_received_baseline: FloatArray = field(repr=False)
    remittances_sent_baseline: FloatArray = field(repr=False)
    exports_conditional: FloatArray | None = field(repr=False)
    imports_conditional: FloatArray | None = field(repr=False)
    diagnostics: pd.DataFrame = field(repr=False)
    chunk_size: int
    seconds: float

    @property
    def converged(self) -> NDArray[np.bool_]:
        """Whether each draw converged, shape (D,)."""
        return self.diagnostics["converged"].to_numpy(dtype=bool)

    @property
    def failed(self) -> NDArray[np.intp]:
        """Numbers of the draws that did not converge."""
        return np.flatnonzero(~self.converged)


def bytes_per_draw(batch: MultiSectorBatch, options: SolverOptions | None = None) -> int:
    """Working memory of one draw of ``batch`` in a chunk, bytes (see the module notes)."""
    p = batch.base
    s_count, n = len(p.sectors), len(p.countries)
    per_draw_tariffs = any(t is not None and t.shape[0] > 1 for t in (batch.tariff_before, batch.tariff_after))
    cubes = 4 + int(per_draw_tariffs)
    unknowns = n + s_count * n * (2 if p.input_share is not None else 1)
    memory = (options or SolverOptions()).memory
    return 8 * (cubes * s_count * n * n + unknowns * (2 * memory + 6) + 40 * s_count * n + 8 * n * n)


def solve_multisector_batch(
    problem: MultiSectorProblem,
    *,
    theta: ArrayLike | None = None,
    cost_factor: ArrayLike | None = None,
    tariff_before: ArrayLike | None = None,
    tariff_after: ArrayLike | None = None,
    productivity: ArrayLike | None = None,
    pool_shares_before: ArrayLike | None = None,
    pool_shares_after: ArrayLike | None = None,
    remittances: ArrayLike | None = None,
    migrants: ArrayLike | None = None,
    migration_elasticity: ArrayLike | None = None,
    entry_cost_before: ArrayLike | None = None,
    entry_cost_after: ArrayLike | None = None,
    collection_efficiency: ArrayLike | None = None,
    closure: str = "ratio",
    numeraire: str | None = None,
    conditional: bool = False,
    options: SolverOptions | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> MultiSectorBatchResult:
    """Solve D counterfactuals on the baseline of ``problem`` in one vectorised run.

    Every per-draw input has a leading draw axis of length D, or of length 1 (or none) when
    all draws share it; an input left at None takes ``problem``'s value for every draw. A
    shared input is a broadcast view, never copied D times. Arrays follow the axis order of
    :class:`~blocsim.equilibrium.multisector_inputs.MultiSectorProblem`
    (``[sector, exporter, importer]``, countries and sectors in ``problem``'s order).

    Parameters
    ----------
    problem : MultiSectorProblem
        Baseline flows, input-output shares and the point values of the shock, e.g. from
        :func:`blocsim.equilibrium.multisector_inputs.multisector_problem` (the tidy inputs
        of :func:`blocsim.solve_multisector`).
    theta : array (D, S), optional
        Trade elasticities (> 0).
    cost_factor : array (D, S, N, N), optional
        Factors (>= 0) on the non-tariff cost term :math:`\\kappa^{-\\theta}` (0 = ban),
        e.g. the AVE-based measures recomputed with each draw's theta.
    tariff_before, tariff_after : array (D, S, N, N), optional
        Ad valorem tariffs (fractions >= 0, zero on domestic flows).
    productivity : array (D, N, S), optional
        Productivity factors (> 0; unit costs scale by ``1 / factor``).
    pool_shares_before, pool_shares_after : array (D, N), optional
        Duty-pool shares (fractions summing to 1 over the pool's members, 0 elsewhere); the
        members are those of ``problem``'s pool.
    remittances : array (N, N), optional
        Baseline remittances ``[origin, host]`` (USD millions, >= 0, 0 on the diagonal), the
        same for every draw (the baseline); default: ``problem``'s (from ``remittances=`` of
        :func:`~blocsim.equilibrium.multisector_inputs.multisector_problem`), or none.
    migrants : array (N, N), optional
        Baseline migrant stocks ``[origin, host]`` (persons), the weights of the migrant
        totals; default: the remittances.
    migration_elasticity : array (D,) or float, optional
        Elasticity of migrant stocks (>= 0); default: the problem's (0.3).
    entry_cost_before, entry_cost_after : array (D, N, N), optional
        Entry costs ``[origin, host]`` (fractions of earnings >= 0; 0 = free movement).
    collection_efficiency : array (D, N) or (N,), optional
        Fraction in (0, 1] of its statutory duties each pool member pays into the pool (the
        same before and after; see :mod:`blocsim.equilibrium.duty_pool`); default: the problem's.
    closure : {"ratio", "level"}
        Deficit closure, as in :func:`blocsim.solve_multisector`.
    numeraire : str, optional
        ISO3 code whose consumer price index is unchanged (None: world value added).
    conditional : bool
        Also solve the conditional equilibrium (``exports_conditional``, ...).
    options : SolverOptions, optional
        Tolerance (default 1e-12), iteration cap, Anderson memory. With
        ``raise_on_failure`` (the default) a draw that does not converge raises once all
        draws have run; with False it is reported in ``diagnostics`` and its arrays are NaN.
    memory_budget : int
        Working memory of one chunk of draws, bytes (default 512 MiB; see the module notes).

    Returns
    -------
    MultiSectorBatchResult

    Raises
    ------
    DataValidationError
        An input has the wrong shape or values (the message names the argument, the draw
        and what is allowed), or a draw's shock leaves a market without suppliers.
    ConvergenceError
        Some draws did not converge (with their numbers and residuals), unless
        ``options.raise_on_failure`` is False.
    """
    start = time.perf_counter()
    check_choice(closure, ("ratio", "level"), "closure")
    if not isinstance(problem, MultiSectorProblem):
        raise DataValidationError(
            f"argument 'problem': expected a MultiSectorProblem, got {type(problem).__name__}. Fix: build it "
            "with blocsim.equilibrium.multisector_inputs.multisector_problem(baseline_df, theta=..., ...)."
        )
    if not (isinstance(memory_budget, (int, np.integer)) and memory_budget > 0):
        raise DataValidationError(f"argument 'memory_budget': got {memory_budget!r}; allowed: an int > 0 (bytes).")
    reference = numeraire_index(numeraire, problem.countries)
    batch = _draw_batch(problem, theta=theta, cost_factor=cost_factor, tariff_before=tariff_before,
                        tariff_after=tariff_after, productivity=productivity,
                        pool_shares_before=pool_shares_before, pool_shares_after=pool_shares_after,
                        collection_efficiency=collection_efficiency,
                        labour=_labour(problem, remittances=remittances, migrants=migrants,
                                       elasticity=migration_elasticity, entry_before=entry_cost_before,
                                       entry_after=entry_cost_after))
    opts = options or SolverOptions()
    quiet = replace(opts, raise_on_failure=False)
    chunk = int(max(1, min(batch.size, memory_budget // bytes_per_draw(batch, opts))))
    pieces = []
    for first in range(0, batch.size, chunk):
        part = batch.take(slice(first, first + chunk))
        _check_values(part)
        cal = calibrate_batch(part, closure=closure, numeraire=reference)
        eq = solve_changes_batch(cal, quiet)
        cond = solve_conditional_batch(cal, quiet) if conditional else None
        pieces.append(_summary(cal, eq, cond, first))
        del cal, eq, cond
    result = _assemble(problem, pieces, chunk, time.perf_counter() - start)
    if opts.raise_on_failure and result.failed.size:
        bad = result.failed
        rows = result.diagnostics.iloc[bad[:5]]
        raise ConvergenceError(
            f"multi-sector GE did not converge to tol={opts.tol:g} in {bad.size} of {batch.size} draws (first: "
            + ", ".join(f"draw {d} residual {r:.2e}" for d, r in zip(rows["draw"], rows["residual"]))
            + "); pass SolverOptions(raise_on_failure=False) to keep the others and see every failed draw in "
            "diagnostics, or raise max_iter",
            residual=float(result.diagnostics["residual"].max()),
            iterations=int(result.diagnostics["iterations"].max()),
            method="multisector-batch",
        )
    return result


def _summary(cal: Calibration, eq: Equilibrium, cond: Conditional | None, first: int) -> dict[str, Any]:
    """Per-draw arrays of one chunk (failed draws NaN) and its diagnostics."""
    draws = eq.wage_hat.shape[0]
    n = eq.wage_hat.shape[-1]
    exports, imports = international_trade(eq.flows(cal).sum(axis=-3))
    cpi = np.exp(log_consumer_prices(cal, eq.log_price_hat))
    income0 = np.broadcast_to(cal.income, (draws, n))
    base = np.zeros((1, n, n)) if cal.batch.labour is None else cal.batch.labour.remittances
    out: dict[str, Any] = {
        "wage_hat": eq.wage_hat, "consumer_price_hat": cpi, "real_income_hat": eq.income / income0 / cpi,
        "log_price_hat": eq.log_price_hat, "income": eq.income, "income_baseline": income0,
        "revenue_collected": eq.revenue_collected, "revenue_received": eq.revenue_received,
        "revenue_collected_baseline": np.broadcast_to(cal.revenue_collected, (draws, n)),
        "revenue_received_baseline": np.broadcast_to(cal.revenue_received, (draws, n)),
        "pool_contribution": eq.pool_contribution,
        "pool_contribution_baseline": np.broadcast_to(cal.pool_contribution, (draws, n)),
        "exports": exports, "imports": imports, "spending": eq.spending, "output": eq.output,
        "remittances_received": eq.remittances.sum(axis=-1), "remittances_sent": eq.remittances.sum(axis=-2),
        "remittances_received_baseline": np.broadcast_to(base.sum(axis=-1), (draws, n)),
        "remittances_sent_baseline": np.broadcast_to(base.sum(axis=-2), (draws, n)),
    }
    ok = eq.record.element_converged
    for name in list(out):
        if not name.endswith("_baseline"):
            out[name] = np.where(ok.reshape(-1, *[1] * (out[name].ndim - 1)), out[name], np.nan)
    diagnostics = {
        "draw": first + np.arange(draws), "converged": ok, "iterations": eq.record.element_iterations,
        "residual": eq.record.residuals, "method": eq.record.element_method,
    }
    if cond is not None:
        good = cond.record.element_converged[:, None]
        out["exports_conditional"] = np.where(good, cond.exports, np.nan)
        out["imports_conditional"] = np.where(good, cond.imports, np.nan)
        diagnostics["conditional_converged"] = cond.record.element_converged
    out["diagnostics"] = pd.DataFrame(diagnostics)
    return out


def _assemble(problem: MultiSectorProblem, pieces: list[dict[str, Any]], chunk: int, seconds: float) -> MultiSectorBatchResult:
    """Join the chunks along the draw axis."""
    joined = {name: (pd.concat([p[name] for p in pieces], ignore_index=True) if name == "diagnostics"
                     else np.concatenate([p[name] for p in pieces]))
              for name in pieces[0]}
    exports0, imports0 = international_trade(problem.flows.sum(axis=0))
    return MultiSectorBatchResult(
        countries=problem.countries, sectors=problem.sectors, exports_baseline=exports0, imports_baseline=imports0,
        exports_conditional=joined.pop("exports_conditional", None),
        imports_conditional=joined.pop("imports_conditional", None),
        chunk_size=chunk, seconds=seconds, **joined,
    )


def _leading(value: ArrayLike | None, argument: str, per_draw: tuple[int, ...], dtype: type = float) -> NDArray[Any] | None:
    """``value`` as an array with a leading draw axis (added, length 1, when missing)."""
    if value is None:
        return None
    arr = np.asarray(value, dtype=dtype)
    if arr.shape == per_draw:
        arr = arr[None]
    if arr.ndim != len(per_draw) + 1 or arr.shape[1:] != per_draw or arr.shape[0] < 1:
        raise DataValidationError(
            f"argument {argument!r}: shape {np.shape(value)}; allowed: (D, {', '.join(map(str, per_draw))}) or "
            f"{per_draw} (the same for every draw), in the problem's country and sector order. "
            "Fix: stack one array per draw along a new first axis."
        )
    return arr


def _draw_batch(problem: MultiSectorProblem, *, theta: ArrayLike | None, cost_factor: ArrayLike | None,
                tariff_before: ArrayLike | None, tariff_after: ArrayLike | None, productivity: ArrayLike | None,
                pool_shares_before: ArrayLike | None, pool_shares_after: ArrayLike | None,
                labour: LabourArrays | None = None, collection_efficiency: ArrayLike | None = None) -> MultiSectorBatch:
    """The batch of draws: given inputs with their draw axis, the rest from ``problem`` (length 1)."""
    s_count, n = len(problem.sectors), len(problem.countries)
    cube = (s_count, n, n)
    point = MultiSectorBatch.from_problem(problem)
    given = {
        "theta": _leading(theta, "theta", (s_count,)),
        "cost_factor": _leading(cost_factor, "cost_factor", cube),
        "tariff_before": _leading(tariff_before, "tariff_before", cube),
        "tariff_after": _leading(tariff_after, "tariff_after", cube),
        "productivity": _leading(productivity, "productivity", (n, s_count)),
    }
    for name, shares in (("pool_before", pool_shares_before), ("pool_after", pool_shares_after)):
        pool = getattr(problem, name)
        if shares is not None and pool is None:
            raise DataValidationError(
                f"argument 'pool_shares_{name[5:]}': the problem has no duty pool {name[5:]} the shock, so the "
                "shares have no members. Fix: build the problem with a DutyPool (its members are used)."
            )
        arr = _leading(shares, f"pool_shares_{name[5:]}", (n,))
        given[name] = None if arr is None else (pool[0][None], arr)
    given["labour"] = labour
    given["collection_efficiency"] = _leading(collection_efficiency, "collection_efficiency", (n,))
    values = {k: v for k, v in given.items() if v is not None}
    lengths = {k: max(np.shape(a)[0] for a in v) if isinstance(v, tuple) else v.shape[0] for k, v in values.items()}
    size = max(lengths.values(), default=1)
    wrong = {k: m for k, m in lengths.items() if m not in (1, size)}
    if wrong:
        longest = next(k for k, m in lengths.items() if m == size)
        raise DataValidationError(
            "; ".join(f"argument {k!r} has {m} draws" for k, m in wrong.items())
            + f", but {longest!r} has {size}; allowed: {size} or 1 (shared by every draw). "
            "Fix: give every per-draw input the same number of draws."
        )
    batch = MultiSectorBatch(base=problem, **{name: values.get(name, getattr(point, name)) for name in
                                              ("theta", "tariff_before", "tariff_after", "cost_factor",
                                               "productivity", "pool_before", "pool_after", "labour",
                                               "collection_efficiency")})
    _check_theta(batch.theta)
    return batch


def _labour(problem: MultiSectorProblem, *, remittances: ArrayLike | None, migrants: ArrayLike | None,
            elasticity: ArrayLike | None, entry_before: ArrayLike | None,
            entry_after: ArrayLike | None) -> LabourArrays | None:
    """The labour inputs of the batch (leading axis D|1), from the arguments or ``problem.labour``."""
    n = len(problem.countries)
    point = problem.labour
    if remittances is None and point is None:
        unused = [name for name, value in (("migrants", migrants), ("migration_elasticity", elasticity),
                                           ("entry_cost_before", entry_before), ("entry_cost_after", entry_after))
                  if value is not None]
        if unused:
            raise DataValidationError(
                f"argument(s) {unused!r} given without remittances (neither 'remittances' nor the problem's), so they "
                "would have no effect. Fix: pass remittances=(N, N) array [origin, host] or drop them."
            )
        return None
    square = (n, n)
    money = point.remittances if remittances is None else _nonnegative(remittances, "remittances", square)
    if np.any(np.diagonal(money) != 0):
        raise DataValidationError(
            "argument 'remittances': non-zero diagonal (origin == host); allowed: 0 there (a transfer inside one "
            "country nets out). Fix: zero the diagonal."
        )
    if migrants is not None:
        weights = _nonnegative(migrants, "migrants", square)
    else:
        weights = point.weights if point is not None and remittances is None else money
    zero = np.zeros(square)
    before = _leading(entry_before, "entry_cost_before", square)
    after = _leading(entry_after, "entry_cost_after", square)
    for name, arr in (("entry_cost_before", before), ("entry_cost_after", after)):
        if arr is not None and not np.all(np.isfinite(arr) & (arr >= 0)):
            raise DataValidationError(f"argument {name!r}: values must be finite fractions >= 0 (0 = free movement).")
    if elasticity is None:
        eta = np.asarray([point.elasticity if point is not None else MIGRATION_ELASTICITY], dtype=float)
    else:
        eta = np.atleast_1d(np.asarray(elasticity, dtype=float))
        if eta.ndim != 1:
            raise DataValidationError(f"argument 'migration_elasticity': shape {eta.shape}; allowed: (D,) or a number.")
        for value in eta:
            check_elasticity(float(value))
    default_before = zero if point is None else point.entry_before
    default_after = zero if point is None else point.entry_after
    return LabourArrays(
        np.asarray(money, dtype=float)[None], np.asarray(weights, dtype=float)[None],
        np.asarray(default_before)[None] if before is None else before,
        np.asarray(default_after)[None] if after is None else after, eta,
    )


def _nonnegative(value: ArrayLike, argument: str, shape: tuple[int, ...]) -> FloatArray:
    arr = np.asarray(value, dtype=float)
    if arr.shape != shape or not np.all(np.isfinite(arr) & (arr >= 0)):
        raise DataValidationError(
            f"argument {argument!r}: shape {arr.shape}; allowed: {shape} [origin, host] in the problem's country order, "
            "finite values >= 0. Fix: build it from the corridor table."
        )
    return arr


def _check_theta(theta: FloatArray) -> None:
    bad = ~np.isfinite(theta) | (theta <= 0)
    if bad.any():
        d, s = np.argwhere(bad)[0]
        raise DataValidationError(
            f"argument 'theta': draw {d}, sector {s}: {float(theta[d, s])!r}; allowed: finite elasticities > 0. "
            "Fix: draw from a distribution on (0, inf), e.g. a lognormal."
        )


def _position(problem: MultiSectorProblem, argument: str, where: NDArray[np.intp]) -> str:
    """Labels of a position in a (S, N, N) or, for productivity, (N, S) per-draw array."""
    if argument == "productivity":
        return f"country {problem.countries[where[0]]!r}, sector {problem.sectors[where[1]]!r}"
    s, i, j = where
    return f"sector {problem.sectors[s]!r}, exporter {problem.countries[i]!r}, importer {problem.countries[j]!r}"


def _check_values(part: MultiSectorBatch) -> None:
    """Values of the draw-side inputs of one chunk (the draw is numbered as the caller's)."""
    checks = (("cost_factor", part.cost_factor, 0.0, False, "finite factors >= 0 on kappa^-theta (0 = ban)"),
              ("tariff_before", part.tariff_before, 0.0, False, "finite ad valorem fractions >= 0"),
              ("tariff_after", part.tariff_after, 0.0, False, "finite ad valorem fractions >= 0"),
              ("productivity", part.productivity, 0.0, True, "finite factors > 0"))
    for argument, arr, low, strict, allowed in checks:
        if arr is None:
            continue
        bad = ~np.isfinite(arr) | ((arr <= low) if strict else (arr < low))
        if bad.any():
            where = np.argwhere(bad)[0]
            raise DataValidationError(
                f"argument {argument!r}: value {float(arr[tuple(where)])!r} at draw {part.first_draw + where[0]}, "
                f"{_position(part.base, argument, where[1:])}; allowed: {allowed}. Fix: correct that draw's input."
            )
    for argument, tariff in (("tariff_before", part.tariff_before), ("tariff_after", part.tariff_after)):
        if tariff is not None and np.any(np.einsum("dsii->dsi", tariff) != 0):
            d, s, k = np.argwhere(np.einsum("dsii->dsi", tariff) != 0)[0]
            raise DataValidationError(
                f"argument {argument!r}: draw {part.first_draw + d} taxes the domestic flow of "
                f"{part.base.countries[k]!r} in sector {part.base.sectors[s]!r}; allowed: 0 on the diagonal "
                "(exporter == importer). Fix: zero the domestic entries."
            )
    efficiency = part.collection_efficiency
    if efficiency is not None and not np.all(np.isfinite(efficiency) & (efficiency > 0) & (efficiency <= 1)):
        d, k = np.argwhere(~(np.isfinite(efficiency) & (efficiency > 0) & (efficiency <= 1)))[0]
        raise DataValidationError(
            f"argument 'collection_efficiency': value {float(efficiency[d, k])!r} at draw {part.first_draw + d}, "
            f"country {part.base.countries[k]!r}; allowed: fractions in (0, 1]. Fix: correct that draw's input "
            "(cap draws at 1)."
        )
    for argument, pool in (("pool_shares_before", part.pool_before), ("pool_shares_after", part.pool_after)):
        if pool is None:
            continue
        member, share = pool
        total = np.sum(np.where(member, share, 0.0), axis=-1)
        bad_draw = ~np.all(np.isfinite(share) & (share >= 0) & (share <= 1) & (member | (share == 0)), axis=-1)
        bad_draw |= np.abs(total - 1.0) > 1e-9
        if bad_draw.any():
            d = int(np.flatnonzero(bad_draw)[0])
            what = (f"shares summing to {float(total[d]):.10g} over the pool's members" if abs(total[d] - 1.0) > 1e-9
                    else "a share outside [0, 1] or a share for a country outside the pool")
            raise DataValidationError(
                f"argument {argument!r}: draw {part.first_draw + d} has {what}; allowed: fractions in [0, 1], "
                "0 for non-members, summing to 1 (within 1e-9). Fix: normalise each draw's shares."
            )
