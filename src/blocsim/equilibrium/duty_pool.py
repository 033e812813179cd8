"""A customs union's import-duty pool: members' duties are summed and shared by fixed shares.

In the EAEU (Treaty on the EAEU, Annex 5) every member pays the import duties it collects
into a common account, and the total is distributed by fixed percentages. The shares are
data (the EAEU policy definition, ``blocsim/policy/library/eaeu.toml``), not code: build a :class:`DutyPool`
from them and pass it to :func:`blocsim.solve_multisector` as ``duty_pool`` (baseline) and
``duty_pool_after`` (counterfactual).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from blocsim.errors import DataValidationError, PolicyRuleViolation

_ISO3 = re.compile(r"^[A-Z]{3}$")
SHARE_SUM_TOL = 1e-9
"""Largest allowed distance of the sum of the shares from 1."""


@dataclass(frozen=True, eq=False)
class DutyPool:
    """Members of a duty pool and the share of the pooled duties each one receives.

    Parameters
    ----------
    shares : mapping str -> float
        ISO3 code of each member -> fraction of the pooled import duties it receives.
        Fractions lie in [0, 1] and sum to 1 within :data:`SHARE_SUM_TOL`. A member with
        share 0 pays its duties in and receives nothing.

    Raises
    ------
    PolicyRuleViolation
        A key is not an ISO3 code, a share is not a finite fraction in [0, 1], the shares
        do not sum to 1, or the pool is empty. The message names the offending share and
        the sum.

    Examples
    --------
    >>> pool = DutyPool({"RUS": 0.85, "KAZ": 0.15})
    >>> pool.members
    ('KAZ', 'RUS')
    """

    shares: Mapping[str, float] = field()

    def __post_init__(self) -> None:
        raw = dict(self.shares)
        if not raw:
            raise PolicyRuleViolation(
                "argument 'shares' of DutyPool: the pool has no members. "
                "Fix: give at least one ISO3 code -> share, e.g. {'RUS': 1.0}."
            )
        clean: dict[str, float] = {}
        for code, value in raw.items():
            if not isinstance(code, str) or not _ISO3.match(code):
                raise PolicyRuleViolation(
                    f"argument 'shares' of DutyPool: key {code!r} is not an ISO3 code "
                    "(three upper-case letters). Fix: use codes such as 'RUS', 'KAZ'."
                )
            try:
                share = float(value)
            except (TypeError, ValueError):
                share = math.nan
            if not math.isfinite(share) or share < 0.0 or share > 1.0:
                raise PolicyRuleViolation(
                    f"argument 'shares' of DutyPool: share of {code} is {value!r}; allowed: a "
                    "fraction in [0, 1] (e.g. 0.8509 for 85.09 %). Fix: divide percentages by 100."
                )
            clean[code] = share
        total = math.fsum(clean.values())
        if abs(total - 1.0) > SHARE_SUM_TOL:
            listing = ", ".join(f"{k}={v!r}" for k, v in sorted(clean.items()))
            raise PolicyRuleViolation(
                f"argument 'shares' of DutyPool: shares sum to {total!r}, not 1 "
                f"(tolerance {SHARE_SUM_TOL}): {listing}. Fix: correct the offending share or "
                "rescale all shares by 1/sum."
            )
        object.__setattr__(self, "shares", MappingProxyType(dict(sorted(clean.items()))))

    @property
    def members(self) -> tuple[str, ...]:
        """Sorted ISO3 codes of the pool members."""
        return tuple(self.shares)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DutyPool) and dict(self.shares) == dict(other.shares)

    def __hash__(self) -> int:
        return hash(tuple(self.shares.items()))

    def __repr__(self) -> str:
        return f"DutyPool(shares={dict(self.shares)!r})"

    def share_vector(self, countries: Sequence[str], *, argument: str = "duty_pool") -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
        """Membership mask and share vector aligned with ``countries``.

        Parameters
        ----------
        countries : sequence of str
            Country order of the model, length N.
        argument : str
            Argument name used in error messages.

        Returns
        -------
        member : ndarray of bool, shape (N,)
        share : ndarray of float, shape (N,)
            Zero for non-members.

        Raises
        ------
        DataValidationError
            A member is not among ``countries``.
        """
        index = {c: k for k, c in enumerate(countries)}
        unknown = [c for c in self.shares if c not in index]
        if unknown:
            raise DataValidationError(
                f"argument {argument!r}: pool members {unknown!r} are not countries of the baseline "
                f"data (which has {len(index)} countries). Fix: drop them from the pool or add "
                "their flows to the baseline."
            )
        member = np.zeros(len(index), dtype=bool)
        share = np.zeros(len(index))
        for code, value in self.shares.items():
            member[index[code]] = True
            share[index[code]] = value
        return member, share


def redistribute(
    collected: NDArray[np.float64], member: NDArray[np.bool_] | None, share: NDArray[np.float64] | None
) -> NDArray[np.float64]:
    """Duty revenue each country receives, given what each collects.

    Parameters
    ----------
    collected : ndarray, shape (..., N)
        Import duties collected by each country (any currency unit).
    member, share : ndarray, shape (N,), or None
        From :meth:`DutyPool.share_vector`; ``None`` means no pool (received = collected).

    Returns
    -------
    ndarray, shape (..., N)
        Non-members keep what they collect; members receive ``share * sum of members'
        collections``. The pool total is preserved exactly up to rounding.
    """
    if member is None or share is None:
        return collected
    pooled = np.sum(np.where(member, collected, 0.0), axis=-1, keepdims=True)
    return np.where(member, share * pooled, collected)
