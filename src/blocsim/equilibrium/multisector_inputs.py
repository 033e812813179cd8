"""Validate the tidy inputs of :func:`blocsim.solve_multisector` and turn them into arrays.

Everything the solver needs is packed into :class:`MultiSectorProblem` (built from tidy
tables by :func:`multisector_problem`): dense arrays of shape (S, N, N) indexed ``[sector,
exporter, importer]`` and (N, S) or (S, N) country-sector arrays, in the order of
``countries`` and ``sectors``. :class:`MultiSectorBatch` holds D counterfactuals on one
baseline (the per-draw inputs with a leading draw axis; checked by
:mod:`blocsim.equilibrium.multisector_batch`). Bad input raises
:class:`~blocsim.errors.DataValidationError` naming the argument, the column, the offending
values, what is allowed and a fix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blocsim.equilibrium.capital_flows import deficit_target_vector
from blocsim.equilibrium.duty_pool import DutyPool, collection_efficiency_vector
from blocsim.equilibrium.income_transfers import TransferArrays, parse_income_transfers
from blocsim.equilibrium.input_checks import numeric_column, require_columns
from blocsim.equilibrium.labour import LabourArrays, labour_arrays
from blocsim.equilibrium.world_prices import world_price_vector
from blocsim.equilibrium.options import check_theta_mapping
from blocsim.errors import DataValidationError

FloatArray = NDArray[np.float64]
PoolArrays = tuple[NDArray[np.bool_], FloatArray] | None


@dataclass(frozen=True)
class MultiSectorProblem:
    """Arrays of one multi-sector counterfactual (all money in the baseline's unit).

    Attributes
    ----------
    countries : tuple of str, length N
    sectors : tuple of str, length S
    flows : ndarray (S, N, N)
        Baseline flows valued before tariffs, ``[sector, exporter, importer]``.
    tariff_before, tariff_after : ndarray (S, N, N) or None
        Ad valorem tariffs (fractions); None when all zero.
    cost_factor : ndarray (S, N, N) or None
        Factor on ``kappa^-theta`` (non-tariff costs); None when all one.
    theta : ndarray (S,)
        Trade elasticities.
    productivity : ndarray (N, S) or None
        Productivity factors (unit costs scale by ``1 / factor``); None when all one.
    va_share : ndarray (N, S)
        Value-added share of gross output (ones without input-output links).
    input_share : ndarray (N, S, S) or None
        ``[country, input sector k, using sector s]`` cost share of input k in sector s.
    pool_before, pool_after : (member mask, shares) or None
    income_transfers : TransferArrays or None
        Transfers tied to flows (re-export rents; :mod:`blocsim.equilibrium.income_transfers`),
        the same for every draw.
    labour : LabourArrays or None
        Remittance corridors, entry costs and the migration elasticity
        (:mod:`blocsim.equilibrium.labour`); None: no labour channel.
    collection_efficiency : ndarray (N,) or None
        Fraction in (0, 1] of its statutory duties each pool member pays into the pool
        (:mod:`blocsim.equilibrium.duty_pool`), before and after the shock; None: 1 everywhere.
    deficit_target : ndarray (N,) or None
        Counterfactual trade deficits set by capital-flow measures, fractions of counterfactual
        value added (NaN: none; :mod:`blocsim.equilibrium.capital_flows`), the same for every
        draw; None: no capital-flow measure.
    world_price : ndarray (S,) or None
        Fractional world price change of each sector (0: not shocked), an income transfer from
        the sector's net exporters to its net importers at short-run fixed quantities
        (:mod:`blocsim.equilibrium.world_prices`), the same for every draw; None: no world price
        measure.
    """

    countries: tuple[str, ...]
    sectors: tuple[str, ...]
    flows: FloatArray
    tariff_before: FloatArray | None
    tariff_after: FloatArray | None
    cost_factor: FloatArray | None
    theta: FloatArray
    productivity: FloatArray | None
    va_share: FloatArray
    input_share: FloatArray | None
    pool_before: PoolArrays
    pool_after: PoolArrays
    income_transfers: TransferArrays | None = None
    labour: LabourArrays | None = None
    collection_efficiency: FloatArray | None = None
    deficit_target: FloatArray | None = None
    world_price: FloatArray | None = None


DRAW_FIELDS = ("theta", "tariff_before", "tariff_after", "cost_factor", "productivity", "pool_before", "pool_after",
               "labour", "collection_efficiency")
"""The inputs of :class:`MultiSectorProblem` that may differ between draws (the rest is the baseline)."""


def pick_draws(value: object, index: int | slice | NDArray[np.intp]) -> object:
    """``value`` indexed along its leading draw axis: an int drops the axis, a slice or an index
    array keeps it; an axis of length 1 broadcasts (every draw shares it). Tuples are indexed
    element by element; anything that is not an array passes through."""
    if isinstance(value, LabourArrays):
        return LabourArrays._make(pick_draws(v, index) for v in value)
    if isinstance(value, tuple):
        return tuple(pick_draws(v, index) for v in value)
    if not isinstance(value, np.ndarray):
        return value
    if value.shape[0] == 1:
        return value[0] if isinstance(index, (int, np.integer)) else value
    return value[index]


@dataclass(frozen=True)
class MultiSectorBatch:
    """D counterfactuals on the baseline of one :class:`MultiSectorProblem`.

    The baseline (``base.flows``, ``base.va_share``, ``base.input_share``, the labels) is
    shared; the fields below carry a leading draw axis of length D, or 1 when the input is the
    same for every draw (a broadcast view of the single array, never a copy). Per draw the
    shapes and units are those of :class:`MultiSectorProblem`.

    Attributes
    ----------
    base : MultiSectorProblem
        Baseline arrays (its own draw-side fields are not used by the batch).
    theta : ndarray (D|1, S)
    tariff_before, tariff_after, cost_factor : ndarray (D|1, S, N, N) or None
    productivity : ndarray (D|1, N, S) or None
    pool_before, pool_after : (member mask (D|1, N), shares (D|1, N)) or None
    labour : LabourArrays or None
        Every array with a leading axis D|1 (``elasticity`` (D|1,)).
    collection_efficiency : ndarray (D|1, N) or None
        Pool members' collection efficiency (None: 1).
    first_draw : int
        Number of draw 0 among the caller's draws (a chunk of a larger run), for error messages.
    """

    base: MultiSectorProblem
    theta: FloatArray
    tariff_before: FloatArray | None
    tariff_after: FloatArray | None
    cost_factor: FloatArray | None
    productivity: FloatArray | None
    pool_before: PoolArrays
    pool_after: PoolArrays
    labour: LabourArrays | None = None
    collection_efficiency: FloatArray | None = None
    first_draw: int = 0

    @classmethod
    def from_problem(cls, problem: MultiSectorProblem) -> MultiSectorBatch:
        """The batch of size 1 of ``problem`` (views with a leading axis of length 1)."""
        def lift(value: object) -> object:
            if value is None:
                return None
            if isinstance(value, LabourArrays):
                return LabourArrays._make(lift(v) for v in value)
            if isinstance(value, tuple):
                return tuple(lift(v) for v in value)
            return np.asarray(value)[None]

        return cls(base=problem, **{name: lift(getattr(problem, name)) for name in DRAW_FIELDS})

    @property
    def size(self) -> int:
        """Number of draws D (the longest leading axis)."""
        arrays = []
        for name in DRAW_FIELDS:
            value = getattr(self, name)
            arrays += list(value) if isinstance(value, tuple) else [value]
        return max(np.shape(v)[0] for v in arrays if v is not None)

    def take(self, rows: slice | NDArray[np.intp]) -> MultiSectorBatch:
        """The draws ``rows`` (a slice gives views and numbers its draws from ``rows.start``);
        broadcast inputs stay broadcast."""
        first = self.first_draw + ((rows.start or 0) if isinstance(rows, slice) else 0)
        return replace(self, first_draw=first, **{name: pick_draws(getattr(self, name), rows) for name in DRAW_FIELDS})

    def problem(self, draw: int) -> MultiSectorProblem:
        """Draw ``draw`` as a single :class:`MultiSectorProblem` (views)."""
        return replace(self.base, **{name: pick_draws(getattr(self, name), draw) for name in DRAW_FIELDS})


def _factorize(values: pd.Series) -> tuple[NDArray[np.intp], NDArray[np.str_]]:
    """Integer codes and the distinct values (as strings) of a column, one hash pass.

    Categorical columns reuse their codes; ``NaN`` is a value of its own (label ``"nan"``).
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.intp)
        uniques = values.cat.categories.astype(str).to_numpy(dtype=str)
        if (codes < 0).any():  # missing entries of a categorical: a value of their own
            codes = np.where(codes < 0, len(uniques), codes)
            uniques = np.append(uniques, "nan")
        return codes, uniques
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.intp, copy=False), np.asarray(pd.Index(uniques).astype(str), dtype=str)


def _codes(values: pd.Series, labels: Sequence[str], argument: str, column: str,
           encoded: tuple[NDArray[np.intp], NDArray[np.str_]] | None = None) -> NDArray[np.intp]:
    """Positions of ``values`` in ``labels`` (``encoded``: a precomputed :func:`_factorize`)."""
    codes, uniques = _factorize(values) if encoded is None else encoded
    lookup = pd.Index(list(labels)).get_indexer(uniques)
    if (lookup < 0).any():
        unknown = sorted(set(uniques[lookup < 0]))[:10]
        raise DataValidationError(
            f"argument {argument!r}, column {column!r}: unknown value(s) {unknown!r}; allowed: the "
            f"{len(labels)} labels of the baseline data (e.g. {list(labels)[:5]!r}). "
            "Fix: use the baseline's codes or drop these rows."
        )
    return lookup[codes]


def _labels(*encoded: tuple[NDArray[np.intp], NDArray[np.str_]]) -> tuple[str, ...]:
    """Sorted distinct labels of one or more :func:`_factorize` results."""
    found: set[str] = set()
    for _, uniques in encoded:
        found.update(uniques.tolist())
    return tuple(sorted(found))


def _no_duplicates(df: pd.DataFrame, keys: Sequence[str], argument: str,
                   codes: Sequence[NDArray[np.intp]], sizes: Sequence[int]) -> NDArray[np.intp]:
    """Raise when two rows share the same key (checked on integer codes); else return the
    flat (C-order) positions of the rows in an array of shape ``sizes``."""
    flat = np.ravel_multi_index(tuple(codes), tuple(sizes))
    counts = np.bincount(flat, minlength=int(np.prod(sizes)))
    if np.any(counts > 1):
        dup = counts[flat] > 1
        raise DataValidationError(
            f"argument {argument!r}: duplicate rows for keys {list(keys)!r}; first ones:\n"
            f"{df.loc[dup, list(keys)].head(6).to_string()}\nFix: aggregate or drop duplicates (a panel: select one year first)."
        )
    return flat


def parse_baseline(
    baseline_df: pd.DataFrame, exporter: str, importer: str, sector: str, flow: str
) -> tuple[tuple[str, ...], tuple[str, ...], FloatArray]:
    """Countries, sectors and the (S, N, N) flow array of the baseline table.

    Missing (exporter, importer, sector) rows are zero flows. Countries are the sorted union
    of exporters and importers; every country needs positive output, positive absorption and
    a positive domestic flow in some sector.
    """
    argument = "baseline_df"
    df = require_columns(baseline_df, [exporter, importer, sector, flow], argument)
    if df.empty:
        raise DataValidationError(f"argument {argument!r} has no rows. Fix: pass a flow table.")
    values = numeric_column(df, flow, argument, low=0.0, allowed="finite flows >= 0 (USD millions)")
    enc_i, enc_j, enc_s = (_factorize(df[c]) for c in (exporter, importer, sector))
    countries = _labels(enc_i, enc_j)
    sectors = _labels(enc_s)
    i = _codes(df[exporter], countries, argument, exporter, enc_i)
    j = _codes(df[importer], countries, argument, importer, enc_j)
    s = _codes(df[sector], sectors, argument, sector, enc_s)
    flat = _no_duplicates(df, [exporter, importer, sector], argument, (s, i, j),
                          (len(sectors), len(countries), len(countries)))
    flows = np.zeros((len(sectors), len(countries), len(countries)))
    flows.reshape(-1)[flat] = values
    output = flows.sum(axis=(0, 2))
    absorption = flows.sum(axis=(0, 1))
    domestic = np.einsum("sii->i", flows)
    for name, vec in (("output (sum of its exports incl. domestic)", output),
                      ("absorption (sum of its imports incl. domestic)", absorption),
                      ("domestic flow (exporter == importer)", domestic)):
        bad = [countries[k] for k in np.flatnonzero(vec <= 0)]
        if bad:
            raise DataValidationError(
                f"argument {argument!r}: countries {bad[:10]!r} have zero {name}. General equilibrium "
                "needs every country to produce, buy and sell at home. Fix: add their domestic "
                f"flows (rows with {exporter} == {importer}) or drop the countries."
            )
    return countries, sectors, flows


def parse_theta(theta: Mapping[str, float] | float, sectors: Sequence[str]) -> FloatArray:
    """Trade elasticity per sector, shape (S,); a scalar applies to every sector."""
    if isinstance(theta, (int, float)) and not isinstance(theta, bool):
        out = np.full(len(sectors), float(theta))
    elif isinstance(theta, Mapping):
        missing = [s for s in sectors if s not in theta]
        if missing:
            raise DataValidationError(
                f"argument 'theta': no elasticity for sector(s) {missing!r} (given for "
                f"{sorted(map(str, theta))[:10]!r}). Fix: add them, e.g. from "
                "blocsim.data.get_elasticities('caliendo_parro_2015_eaeu')."
            )
        out = np.array([float(theta[s]) for s in sectors])
    else:
        raise DataValidationError(
            f"argument 'theta': expected a mapping sector -> elasticity or a number, got "
            f"{type(theta).__name__}."
        )
    bad = ~np.isfinite(out) | (out <= 0)
    if bad.any():
        raise DataValidationError(
            f"argument 'theta': elasticities must be finite and > 0; got "
            f"{dict(zip(np.asarray(sectors)[bad], out[bad]))!r}. Fix: use positive values (e.g. 4)."
        )
    return out


def parse_pair_table(
    table: pd.DataFrame | None,
    columns: Sequence[str],
    argument: str,
    countries: Sequence[str],
    sectors: Sequence[str],
    names: tuple[str, str, str],
    *,
    fill: float,
    low: float,
    high: float,
    allowed: str,
) -> list[FloatArray | None]:
    """Dense (S, N, N) arrays for each value column of an (exporter, importer, sector) table.

    Rows not given take ``fill``. Returns None for a column that equals ``fill`` everywhere.
    """
    if table is None:
        return [None] * len(columns)
    exporter, importer, sector = names
    df = require_columns(table, [exporter, importer, sector, *columns], argument)
    i = _codes(df[exporter], countries, argument, exporter)
    j = _codes(df[importer], countries, argument, importer)
    s = _codes(df[sector], sectors, argument, sector)
    flat = _no_duplicates(df, [exporter, importer, sector], argument, (s, i, j),
                          (len(sectors), len(countries), len(countries)))
    out: list[FloatArray | None] = []
    for column in columns:
        values = numeric_column(df, column, argument, low=low, high=high, allowed=allowed)
        if np.all(values == fill):
            out.append(None)
            continue
        dense = np.full((len(sectors), len(countries), len(countries)), fill)
        dense.reshape(-1)[flat] = values
        out.append(dense)
    return out


def check_domestic_tariffs(tariffs: Iterable[FloatArray | None], countries: Sequence[str]) -> None:
    """Tariffs on domestic flows (exporter == importer) must be zero."""
    for arr in tariffs:
        if arr is None:
            continue
        diag = np.einsum("sii->si", arr)
        if np.any(diag != 0):
            s, k = np.argwhere(diag != 0)[0]
            raise DataValidationError(
                f"argument 'tariffs': a tariff of {diag[s, k]!r} on the domestic flow of "
                f"{countries[k]!r} (exporter == importer); allowed: 0. Fix: drop domestic rows."
            )


def parse_productivity(
    table: pd.DataFrame | None, countries: Sequence[str], sectors: Sequence[str]
) -> FloatArray | None:
    """(N, S) productivity factors from ``country, [sector], factor``; None when absent."""
    if table is None:
        return None
    argument = "productivity"
    df = require_columns(table, ["country", "factor"], argument)
    values = numeric_column(df, "factor", argument, low=0.0, allowed="finite factors > 0 (1 = no change)")
    if np.any(values <= 0):
        raise DataValidationError(
            f"argument {argument!r}, column 'factor': zero factors; allowed: > 0 "
            "(0.9 = unit costs rise by 1/0.9). Fix: use a positive factor."
        )
    c = _codes(df["country"], countries, argument, "country")
    out = np.ones((len(countries), len(sectors)))
    if "sector" in df.columns:
        s = _codes(df["sector"], sectors, argument, "sector")
        _no_duplicates(df, ["country", "sector"], argument, (c, s), (len(countries), len(sectors)))
        out[c, s] = values
    else:
        _no_duplicates(df, ["country"], argument, (c,), (len(countries),))
        out[c, :] = values[:, None]
    return None if np.all(out == 1.0) else out


def parse_io(
    io: pd.DataFrame | None, countries: Sequence[str], sectors: Sequence[str]
) -> tuple[FloatArray, FloatArray | None]:
    """Value-added shares (N, S) and input shares (N, S_input, S_using) from ``io``.

    ``io`` has columns ``[country], sector, input_sector, share``: the cost share of
    ``input_sector`` in the gross output of ``sector`` (gamma_iks). Without ``country`` the
    same shares apply to every country. The value-added share is ``1 - sum_k share`` and must
    be positive.
    """
    n, s_count = len(countries), len(sectors)
    if io is None:
        return np.ones((n, s_count)), None
    argument = "io"
    df = require_columns(io, ["sector", "input_sector", "share"], argument)
    values = numeric_column(df, "share", argument, low=0.0, high=1.0, allowed="cost shares in [0, 1]")
    s_use = _codes(df["sector"], sectors, argument, "sector")
    s_in = _codes(df["input_sector"], sectors, argument, "input_sector")
    shares = np.zeros((n, s_count, s_count))
    if "country" in df.columns:
        c = _codes(df["country"], countries, argument, "country")
        _no_duplicates(df, ["country", "sector", "input_sector"], argument, (c, s_use, s_in), (n, s_count, s_count))
        shares[c, s_in, s_use] = values
    else:
        _no_duplicates(df, ["sector", "input_sector"], argument, (s_use, s_in), (s_count, s_count))
        shares[:, s_in, s_use] = values[None, :]
    va = 1.0 - shares.sum(axis=1)
    if np.any(va <= 1e-12):
        k, s = np.argwhere(va <= 1e-12)[0]
        raise DataValidationError(
            f"argument {argument!r}: input shares of sector {sectors[s]!r} in {countries[k]!r} sum to "
            f"{1 - va[k, s]!r}; allowed: < 1 (the value-added share 1 - sum must be positive). "
            "Fix: rescale the input shares of that sector."
        )
    return va, shares


def multisector_problem(
    baseline_df: pd.DataFrame,
    *,
    theta: Mapping[str, float] | float,
    shock: pd.DataFrame | None = None,
    tariffs: pd.DataFrame | None = None,
    io: pd.DataFrame | None = None,
    duty_pool: DutyPool | None = None,
    duty_pool_after: DutyPool | None = None,
    productivity: pd.DataFrame | None = None,
    remittances: pd.DataFrame | None = None,
    entry_costs: pd.DataFrame | None = None,
    migration_elasticity: float | None = None,
    names: tuple[str, str, str, str] = ("exporter", "importer", "sector", "trade"),
    income_transfers: pd.DataFrame | None = None,
    collection_efficiency: Mapping[str, float] | pd.DataFrame | None = None,
    deficit_targets: Mapping[str, float] | None = None,
    world_prices: Mapping[str, float] | None = None,
) -> MultiSectorProblem:
    """Validate the tidy inputs of :func:`blocsim.solve_multisector` into a :class:`MultiSectorProblem`.

    Arguments as for :func:`blocsim.solve_multisector` (``duty_pool_after`` defaults to
    ``duty_pool``); ``names`` are the exporter, importer, sector and flow column names.
    """
    check_theta_mapping(theta)
    exporter, importer, sector, flow = names
    countries, sectors, flows = parse_baseline(baseline_df, exporter, importer, sector, flow)
    keys = (exporter, importer, sector)
    tariff_before, tariff_after = parse_pair_table(
        tariffs, ("tariff_before", "tariff_after"), "tariffs", countries, sectors, keys,
        fill=0.0, low=0.0, high=np.inf, allowed="finite ad valorem fractions >= 0 (0.05 = 5 %)",
    )
    check_domestic_tariffs((tariff_before, tariff_after), countries)
    (cost_factor,) = parse_pair_table(
        shock, ("factor",), "shock", countries, sectors, keys,
        fill=1.0, low=0.0, high=np.inf, allowed="finite factors >= 0 on kappa^-theta (0 = ban)",
    )
    if cost_factor is not None and np.any(np.einsum("sii->si", cost_factor) == 0):
        s, k = np.argwhere(np.einsum("sii->si", cost_factor) == 0)[0]
        raise DataValidationError(
            f"argument 'shock': factor 0 on the domestic flow of {countries[k]!r} in sector {sectors[s]!r} (exporter "
            "== importer), a ban on a country's own goods; allowed: factors > 0 on domestic rows. Fix: drop the row "
            "(a ban closes imports from other origins)."
        )
    va_share, input_share = parse_io(io, countries, sectors)
    return MultiSectorProblem(
        countries=countries,
        sectors=sectors,
        flows=flows,
        tariff_before=tariff_before,
        tariff_after=tariff_after,
        cost_factor=cost_factor,
        theta=parse_theta(theta, sectors),
        productivity=parse_productivity(productivity, countries, sectors),
        va_share=va_share,
        input_share=input_share,
        pool_before=pool_arrays(duty_pool, countries, "duty_pool"),
        pool_after=pool_arrays(duty_pool if duty_pool_after is None else duty_pool_after, countries,
                               "duty_pool_after"),
        income_transfers=parse_income_transfers(income_transfers, countries, sectors),
        labour=labour_arrays(remittances, countries, entry_costs=entry_costs,
                             migration_elasticity=migration_elasticity),
        collection_efficiency=collection_efficiency_vector(collection_efficiency, countries),
        deficit_target=deficit_target_vector(deficit_targets, countries),
        world_price=world_price_vector(world_prices, sectors),
    )


def numeraire_index(numeraire: str | None, countries: Sequence[str]) -> int | None:
    """Position of the numeraire country (None: world value added is the numeraire)."""
    if numeraire is None:
        return None
    if numeraire not in countries:
        raise DataValidationError(
            f"argument 'numeraire': {numeraire!r} is not a country of the baseline data; allowed: "
            "None (world value added) or one of its ISO3 codes. Fix: pick a country in the data."
        )
    return list(countries).index(numeraire)


def pool_arrays(pool: DutyPool | None, countries: Sequence[str], argument: str) -> PoolArrays:
    """Membership mask and shares of a duty pool, or None."""
    if pool is None:
        return None
    if not isinstance(pool, DutyPool):
        raise DataValidationError(
            f"argument {argument!r}: expected blocsim.equilibrium.DutyPool or None, got "
            f"{type(pool).__name__}. Fix: wrap the shares, DutyPool(shares={{'RUS': 0.85, ...}})."
        )
    return pool.share_vector(countries, argument=argument)
