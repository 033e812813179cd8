r"""Capital-flow shocks: a country's trade deficit moved to a stated level (the sudden-stop reading).

A capital-flow measure (:class:`blocsim.policy.macro.CapitalFlowShock`) sets country ``c``'s
counterfactual trade deficit (imports minus exports, valued before tariffs) to a fraction
:math:`\delta_c` of its counterfactual value added:

.. math::
    D'_c = \delta_c\, \hat w_c VA_c .

In the multi-sector model (:mod:`blocsim.equilibrium.multisector_core`) a country's trade
deficit is the sum of its parts: the part the deficit closure moves :math:`\tilde D`, the
net duty-pool transfer ``received - collected``, remittances received minus sent ``M``, the
change of re-export rents ``Q' - Q`` and the income a world price measure moves ``W'``
(:mod:`blocsim.equilibrium.world_prices`). Only :math:`\tilde D` is free, so the target sets

.. math::
    \tilde D'_c = \delta_c \hat w_c VA_c - (\text{received}'_c - \text{collected}'_c) - M'_c - (Q'_c - Q_c) - W'_c,

and the difference between this and what the closure would have given, :math:`g_c`, is taken
from the other countries (those without a target) in proportion to their counterfactual value
added, :math:`\tilde D'_k \mathrel{-}= \hat w_k VA_k / \sum_{l \notin C} \hat w_l VA_l
\cdot \sum_{c \in C} g_c`. The other parts each sum to zero over countries, so world
deficits still sum to zero, and the income identity :math:`I' = \hat w VA + \text{received}' +
\tilde D' + M' + (Q' - Q) + W'` is unchanged. A lower deficit (capital flight, a sudden stop) means
less spending than income: the country's real income falls by the extra surplus, the rest of
the world's rises. The level is a ratio of current value added, so it does not depend on the
numeraire.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from blocsim.equilibrium.input_checks import keyed_vector
from blocsim.errors import DataValidationError
from blocsim.policy.macro import MAX_DEFICIT_SHARE

FloatArray = NDArray[np.float64]


def deficit_target_vector(targets: Mapping[str, float] | None, countries: Sequence[str]) -> FloatArray | None:
    """(N,) counterfactual deficits as fractions of value added (NaN: no target), or None without targets.

    Raises
    ------
    DataValidationError
        A code that is not a country of the baseline, a value that is not a finite fraction
        in [-0.5, 0.5], or targets for every country (the counterpart needs somewhere to go).
    """
    if not targets:
        return None
    argument = "deficit_targets"
    out = keyed_vector(targets, countries, argument, fill=np.nan, kind="country",
                       valid=lambda v: abs(v) <= MAX_DEFICIT_SHARE,
                       meaning="fraction of value added", example="{'RUS': -0.10}",
                       allowed=f"a finite fraction of value added in [-{MAX_DEFICIT_SHARE:g}, {MAX_DEFICIT_SHARE:g}] "
                               "(negative: a surplus). Fix: give a share of GDP.")
    if np.all(np.isfinite(out)):
        raise DataValidationError(f"argument {argument!r}: every country has a target, so nobody can take the "
                                  "counterpart; allowed: targets for some countries. Fix: drop one target.")
    return out


def target_deficits(target: FloatArray, closure_deficit: FloatArray, value_added: FloatArray,
                    other_parts: FloatArray) -> FloatArray:
    """The closure's deficit part :math:`\\tilde D'` with the targets imposed (see the module notes).

    Parameters
    ----------
    target : ndarray (N,)
        Counterfactual deficits as fractions of value added; NaN where none is set.
    closure_deficit : ndarray (D, N)
        :math:`\\tilde D'` as the closure sets it (numeraire units).
    value_added : ndarray (D, N)
        Counterfactual value added :math:`\\hat w VA` (numeraire units).
    other_parts : ndarray (D, N)
        The rest of each trade deficit: net pool transfer + remittances + change of rents.

    Returns
    -------
    ndarray (D, N)
        :math:`\\tilde D'`: the targets' countries at their level, the others shifted in
        proportion to value added so that the sum over countries is that of ``closure_deficit``.
    """
    fixed = np.isfinite(target)
    wanted = np.where(fixed, np.nan_to_num(target) * value_added - other_parts, closure_deficit)
    gap = np.sum(np.where(fixed, wanted - closure_deficit, 0.0), axis=-1, keepdims=True)
    free_va = np.where(fixed, 0.0, value_added)
    return np.where(fixed, wanted, wanted - free_va / free_va.sum(axis=-1, keepdims=True) * gap)
