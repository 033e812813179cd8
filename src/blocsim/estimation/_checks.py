"""Boundary checks of :func:`~blocsim.estimation.estimate_gravity`, run before pyfixest sees the data.

pyfixest does not validate degenerate samples: a sample left empty by its own drops
(singletons, groups whose flows are all zero) aborts the process in its Rust demeaning code,
and values near the double-precision limit make the fixed-effect projections fail with a bare
``ValueError``. These checks turn every such input into a
:class:`~blocsim.errors.DataValidationError` naming the argument, the column, the offending
rows and values, and a fix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from blocsim.data import schema
from blocsim.errors import DataValidationError

#: Largest flow accepted (:data:`blocsim.data.schema.MAX_FLOW`). The IRLS iterations sum
#: flows, weights proportional to them and weighted squares of the covariates; with flows up
#: to this and covariates up to :data:`MAX_COVARIATE` those stay far below the
#: double-precision limit (1.8e308).
MAX_FLOW = schema.MAX_FLOW
#: Largest absolute covariate value accepted (cost covariates are logs, dummies or rates).
MAX_COVARIATE = 1e50
#: Largest absolute log offset accepted: ``exp(709.8)`` overflows double precision.
MAX_LOG_OFFSET = 700.0


def check_magnitudes(
    work: pd.DataFrame,
    rows: pd.DataFrame,
    named: dict[str, str],
    covariates: list[str],
    *,
    source: str,
) -> None:
    """Raise if a flow, covariate or offset is so large that PPML overflows double precision.

    Values below these bounds can still be too badly scaled for the fixed-effect projections
    (e.g. a covariate of order 1e9 at ``fixef_tol=1e-10``); that failure is reported by
    :func:`~blocsim.estimation._fit.run_fepois` as a :class:`~blocsim.errors.ConvergenceError`.

    Parameters
    ----------
    work
        Working frame with ``_y`` (flows), ``_x0 ...`` (covariates) and optionally
        ``_offset``; finite values only.
    rows
        The input rows of ``work``, in the same order (index labels as in the caller's
        frame), for messages.
    named
        Argument name -> column name (``flow``, ``exporter``, ``importer``, ``offset``, ...).
    covariates
        Covariate column names, in the order of ``_x0, _x1, ...``.
    source
        Name of the input in messages.
    """
    keys = [named["exporter"], named["importer"], *([named["year"]] if "year" in named else [])]
    too_big = (work["_y"] > MAX_FLOW).to_numpy()
    if too_big.any():
        raise DataValidationError(
            f"{source}: column {named['flow']!r} (argument flow=) has values above {MAX_FLOW:.0e} in "
            f"{schema.format_rows(rows, too_big, [*keys, named['flow']])}; PPML's iterations sum flows and "
            f"weights proportional to them, which overflows double precision at this size; fix: correct "
            f"those values or express flows in larger units (blocsim uses {schema.FLOW_UNIT})"
        )
    for k, name in enumerate(covariates):
        outside = (work[f"_x{k}"].abs() > MAX_COVARIATE).to_numpy()
        if outside.any():
            raise DataValidationError(
                f"{source}: column {name!r} (argument covariates[{k}]=) has values beyond +/-{MAX_COVARIATE:.0e} "
                f"in {schema.format_rows(rows, outside, [*keys, name])}; PPML's weighted sums of squared "
                f"covariates overflow double precision at this size; fix: correct those values or use logs "
                f"(e.g. np.log(distance))"
            )
    if "_offset" in work:
        outside = (work["_offset"].abs() > MAX_LOG_OFFSET).to_numpy()
        if outside.any():
            raise DataValidationError(
                f"{source}: column {named['offset']!r} (argument offset=) has log offsets beyond "
                f"+/-{MAX_LOG_OFFSET:g} in {schema.format_rows(rows, outside, [*keys, named['offset']])}; "
                f"exp() of such values overflows double precision; fix: the offset is a log (e.g. log trade "
                f"costs), so pass its logarithm"
            )


def check_sample(
    flows: np.ndarray,
    labels: dict[str, np.ndarray],
    table: pd.DataFrame,
    named: dict[str, str],
    *,
    source: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Raise if the estimation sample cannot identify a gravity equation.

    Checks, in order: at least 2 exporters and 2 importers; at least one positive flow;
    and at least one observation left after the drops pyfixest makes before fitting
    (singleton fixed-effect groups, repeatedly, then groups whose flows are all zero).

    Parameters
    ----------
    flows
        Flows of the sample, shape (n,).
    labels
        Fixed-effect dimension name -> labels of the sample rows, each shape (n,).
    table
        The sample rows of the input (same order as ``flows``), for messages.
    named
        Argument name -> column name.
    source
        Name of the input in messages.

    Returns
    -------
    tuple of numpy.ndarray
        Boolean masks, shape (n,), of the rows pyfixest will drop before fitting: singletons,
        and rows of fixed-effect groups whose flows are all zero (separated by the effects).
    """
    exporter, importer, flow = named["exporter"], named["importer"], named["flow"]
    exporters = pd.unique(table[exporter])
    importers = pd.unique(table[importer])
    if len(exporters) < 2 or len(importers) < 2:
        raise DataValidationError(
            f"{source}: estimate_gravity needs flows from at least 2 exporters to at least 2 importers, but "
            f"the estimation sample ({len(table)} rows) has {len(exporters)} exporter(s) "
            f"{sorted(map(str, exporters))[:5]} in column {exporter!r} and {len(importers)} importer(s) "
            f"{sorted(map(str, importers))[:5]} in column {importer!r}; with fewer the fixed effects absorb "
            f"every flow and no cost coefficient is identified; fix: pass the whole bilateral table"
        )
    if not (flows > 0).any():
        raise DataValidationError(
            f"{source}: column {flow!r} (argument flow=) is zero in all {len(flows)} rows of the estimation "
            f"sample; PPML has no finite estimate when nothing is traded (every fixed effect runs to "
            f"-infinity); fix: check the flow column, its units and the years selected"
        )
    singleton, separated = _pyfixest_drops(flows, labels)
    if (singleton | separated).all():
        raise DataValidationError(
            f"{source}: no observation is left to estimate from: {int(singleton.sum())} rows are the only "
            f"row of a fixed-effect group (singletons) and {int(separated.sum())} rows belong to groups whose "
            f"flows in column {flow!r} are all zero, together "
            f"{schema.format_rows(table, singleton | separated, [exporter, importer, flow])}; fix: use more "
            f"countries or years, or fewer fixed effects"
        )
    return singleton, separated


def _pyfixest_drops(flows: np.ndarray, labels: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Rows pyfixest drops before fitting: singletons (repeatedly), then all-zero groups.

    Returns
    -------
    tuple of numpy.ndarray
        Boolean masks, shape (n,): singleton rows; rows of a fixed-effect level whose
        remaining flows are all zero (pyfixest's ``"fe"`` separation check).
    """
    codes = [pd.factorize(values)[0] for values in labels.values()]
    kept = np.ones(len(flows), dtype=bool)
    changed = True
    while changed:
        changed = False
        for code in codes:
            counts = np.bincount(code[kept], minlength=code.max() + 1)
            lonely = kept & (counts[code] == 1)
            if lonely.any():
                kept &= ~lonely
                changed = True
    singleton = ~kept
    separated = np.zeros(len(flows), dtype=bool)
    positive = flows > 0
    for code in codes:
        traded = np.bincount(code[kept], weights=positive[kept].astype(float), minlength=code.max() + 1)
        separated |= kept & (traded[code] == 0)
    return singleton, separated
