"""One call of pyfixest's ``fepois`` with its warnings recorded and its failures translated,
plus the divergence check that catches separation the separation checks missed.

Separation (Santos Silva and Tenreyro 2010; Correia, Guimaraes and Zylkin 2021): when a
combination of fixed effects and covariates is zero on every positive flow and negative on
some zero flows, the Poisson likelihood keeps rising as that combination runs to -infinity, so
no finite estimate exists. IRLS still "converges" (the deviance change per iteration shrinks)
with the offending coefficient wherever it stopped: each tenfold tightening of the tolerance
moves it by about log(10). pyfixest detects separated observations with two methods, ``"fe"``
(fixed-effect groups whose flows are all zero) and ``"ir"`` (the iterative rectifier of
Correia et al., for separation by covariates), and drops them; covariates that separated
become collinear once those observations are gone.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from blocsim.errors import ConvergenceError

SeparationMethod = Literal["fe", "ir"]

#: Zero-flow observations fitted below this share of the mean flow are suspected separated;
#: the suspicion is confirmed or cleared by a refit with a tighter tolerance.
SUSPECT_SHARE = 1e-8
#: A covariate diverges when a 100-fold tighter IRLS tolerance moves its contribution to log
#: flows (coefficient change times the covariate's range) by more than this. A finite
#: estimate moves by orders of magnitude less; a separating one by about log(100) = 4.6.
DIVERGENCE_STEP = 0.01

_SEPARATION_MESSAGE = re.compile(r"(\d+) observations removed because of separation")
_DIAGNOSTIC_MESSAGES = (
    _SEPARATION_MESSAGE,  # -> n_separated
    re.compile(r"singleton fixed effect\(s\) dropped"),  # -> n_dropped
    re.compile(r"variables dropped due to multicollinearity"),  # -> error / not identified
)
_IR_INCOMPLETE = re.compile(r"separation check: maximum number of iterations reached")
#: Warnings about pyfixest's use of its own dependencies (pandas deprecations), not about the fit.
_LIBRARY_NOISE: tuple[type[Warning], ...] = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


@dataclass(frozen=True)
class FitOutcome:
    """What one ``fepois`` call produced.

    Attributes
    ----------
    model : pyfixest Fepois or None
        The fitted model; ``None`` when pyfixest found no estimable covariate (all of them
        collinear with the fixed effects, possibly after dropping separated observations).
    n_separated : int
        Observations pyfixest dropped as separated (``"fe"`` and ``"ir"`` together).
    messages : tuple of str
        Every warning pyfixest issued about the fit, in order (library deprecation notices
        excluded).
    ir_incomplete : bool
        Whether the iterative-rectifier check stopped before it finished (then separation by
        covariates may have gone undetected).
    """

    model: Any | None
    n_separated: int
    messages: tuple[str, ...]
    ir_incomplete: bool

    @property
    def unexplained(self) -> tuple[str, ...]:
        """Messages that no diagnostic field of the result reports (to be re-issued)."""
        return tuple(m for m in self.messages if not any(p.search(m) for p in _DIAGNOSTIC_MESSAGES))


def run_fepois(
    work: pd.DataFrame,
    formula: str,
    *,
    vcov: str | dict[str, str],
    has_offset: bool,
    separation_check: tuple[SeparationMethod, ...],
    tol: float,
    maxiter: int,
    fixef_tol: float,
    names: dict[str, str],
) -> FitOutcome:
    """Fit ``formula`` by PPML with pyfixest, recording every warning it issues.

    Parameters
    ----------
    work
        Working frame: ``_y``, ``_x0 ...``, ``_fe0 ...``, optional ``_offset`` / ``_cluster``.
    formula
        pyfixest formula over those columns.
    vcov, has_offset, separation_check, tol, maxiter, fixef_tol
        As in :func:`~blocsim.estimation.estimate_gravity`.
    names
        Internal covariate name (``_x0``) -> user column name, for messages.

    Raises
    ------
    ConvergenceError
        If the fixed-effect projections (demeaning) fail, e.g. on badly scaled covariates.
    """
    import pyfixest as pf

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = pf.fepois(
                formula,
                data=work,
                vcov=vcov,
                ssc=pf.ssc(k_adj=False, G_adj=True),
                offset="_offset" if has_offset else None,
                iwls_tol=tol,
                iwls_maxiter=maxiter,
                fixef_tol=fixef_tol,
                separation_check=list(separation_check),
            )
        except ValueError as error:
            text = " ".join(str(error).split())
            if text.startswith("All variables are collinear"):
                model = None
            elif text.startswith("Demeaning failed"):
                largest = ", ".join(f"{name}: {work[x].abs().max():.3g}" for x, name in names.items())
                raise ConvergenceError(
                    f"PPML: the fixed-effect projections (demeaning) inside IRLS did not converge ({text}) at "
                    f"fixef_tol={fixef_tol:g}; largest absolute covariate values: {largest}; fix: rescale "
                    f"covariates to moderate values (logs, other units), or raise fixef_tol",
                    residual=float("nan"),
                    iterations=maxiter,
                    method="ppml-irls",
                ) from None
            else:
                raise
    messages = tuple(
        " ".join(str(w.message).split()) for w in caught if not issubclass(w.category, _LIBRARY_NOISE)
    )
    counts = [int(match.group(1)) for m in messages if (match := _SEPARATION_MESSAGE.search(m))]
    n_separated = int(model.n_separation_na) if model is not None else sum(counts)
    return FitOutcome(model, n_separated, messages, any(_IR_INCOMPLETE.search(m) for m in messages))


def diverging_covariates(
    outcome: FitOutcome,
    work: pd.DataFrame,
    formula: str,
    x_names: list[str],
    *,
    vcov: str | dict[str, str],
    has_offset: bool,
    separation_check: tuple[SeparationMethod, ...],
    tol: float,
    maxiter: int,
    fixef_tol: float,
    names: dict[str, str],
) -> tuple[list[str], np.ndarray]:
    """Covariates (internal names) whose estimates run away, and the suspected rows.

    Used when the iterative rectifier did not run or did not finish (it finds every
    separated observation when it does). Zero flows fitted at almost nothing (below
    :data:`SUSPECT_SHARE` of the mean flow) are the mark of separation; only when there are
    such rows is the model refitted with a 100-fold tighter tolerance, and a covariate whose
    contribution to log flows then moves by more than :data:`DIVERGENCE_STEP` has no finite
    estimate.

    Returns
    -------
    tuple
        Internal covariate names that diverge (empty when none), and the suspected zero-flow
        rows (their ``_row`` positions in the selected input table).
    """
    model = outcome.model
    data = model._data  # the rows pyfixest used, with the working columns
    flows = data["_y"].to_numpy(dtype=float)
    fitted = np.asarray(model._Y_hat_response, dtype=float).ravel()
    suspects = (flows == 0) & (fitted < SUSPECT_SHARE * flows.mean())
    if not suspects.any():
        return [], np.array([], dtype=int)
    tighter = run_fepois(
        work, formula, vcov=vcov, has_offset=has_offset, separation_check=separation_check,
        tol=max(tol * 1e-2, 1e-15), maxiter=maxiter + 50, fixef_tol=fixef_tol, names=names,
    ).model
    first, second = model.coef(), tighter.coef() if tighter is not None else None
    diverging = []
    for name in first.index:
        spread = float(np.ptp(data[name].to_numpy(dtype=float)))
        moved = np.inf if second is None or name not in second.index else abs(second[name] - first[name])
        if moved * spread > DIVERGENCE_STEP:
            diverging.append(str(name))
    return [name for name in x_names if name in diverging], data["_row"].to_numpy()[suspects]
