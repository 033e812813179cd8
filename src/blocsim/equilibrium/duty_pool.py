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
import pandas as pd
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
    collected: NDArray[np.float64], member: NDArray[np.bool_] | None, share: NDArray[np.float64] | None,
    efficiency: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Duty revenue each country keeps in its income, given what its tariffs levy.

    Parameters
    ----------
    collected : ndarray, shape (..., N)
        Statutory import duties of each country (any currency unit).
    member, share : ndarray, shape (..., N), or None
        From :meth:`DutyPool.share_vector`; ``None`` means no pool (received = collected).
    efficiency : ndarray, shape (..., N), or None
        Collection efficiency (fractions in (0, 1]); None: 1 everywhere.

    Returns
    -------
    ndarray, shape (..., N)
        Non-members keep what they levy; members receive ``share * sum of members'
        contributions`` (:func:`pool_contribution`) plus their uncollected share
        ``collected - contribution``. The pool total is preserved exactly up to rounding.
    """
    if member is None or share is None:
        return collected
    paid = pool_contribution(collected, member, efficiency)
    pooled = np.sum(paid, axis=-1, keepdims=True)
    if efficiency is None:
        return np.where(member, share * pooled, collected)
    return np.where(member, share * pooled + (collected - paid), collected)


def pool_contribution(
    collected: NDArray[np.float64], member: NDArray[np.bool_] | None, efficiency: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """What each country pays into the pool, shape (..., N) (the unit of ``collected``).

    Members pay ``efficiency * collected`` (``collected`` when ``efficiency`` is None);
    non-members, and everyone without a pool (``member`` None), pay 0.
    """
    if member is None:
        return np.zeros_like(collected)
    paid = collected if efficiency is None else efficiency * collected
    return np.where(member, paid, 0.0)


def collection_efficiency_vector(
    efficiency: Mapping[str, float] | pd.DataFrame | None, countries: Sequence[str],
    *, argument: str = "collection_efficiency",
) -> NDArray[np.float64] | None:
    """Collection efficiency per country, shape (N,) in the order of ``countries``.

    Parameters
    ----------
    efficiency : mapping str -> float, DataFrame with columns ``country, efficiency``, or None
        ISO3 code -> fraction in (0, 1] of the statutory duties paid into the pool;
        countries not listed collect fully (1).
    countries : sequence of str
        Country order of the model, length N.

    Returns
    -------
    ndarray (N,) or None
        None when ``efficiency`` is None or every value is 1 (today's model, bit for bit).

    Raises
    ------
    DataValidationError
        Wrong type or columns, a country not in the data, a duplicate, or a value outside (0, 1].
    """
    if efficiency is None:
        return None
    if isinstance(efficiency, pd.DataFrame):
        missing = [c for c in ("country", "efficiency") if c not in efficiency.columns]
        if missing:
            raise DataValidationError(
                f"argument {argument!r}: missing column(s) {missing!r} (has {list(efficiency.columns)!r}). "
                "Fix: pass columns 'country' (ISO3) and 'efficiency' (fraction in (0, 1])."
            )
        codes = [str(c) for c in efficiency["country"]]
        if len(set(codes)) != len(codes):
            dup = sorted({c for c in codes if codes.count(c) > 1})
            raise DataValidationError(
                f"argument {argument!r}: duplicate countries {dup!r}. Fix: give one efficiency per country."
            )
        pairs = list(zip(codes, efficiency["efficiency"].tolist()))
    elif isinstance(efficiency, Mapping):
        pairs = list(efficiency.items())
    else:
        raise DataValidationError(
            f"argument {argument!r}: expected a mapping ISO3 -> fraction or a DataFrame (country, efficiency), "
            f"got {type(efficiency).__name__}. Fix: e.g. {{'KAZ': 0.9}}."
        )
    index = {c: k for k, c in enumerate(countries)}
    out = np.ones(len(index))
    for code, value in pairs:
        if code not in index:
            raise DataValidationError(
                f"argument {argument!r}: country {code!r} is not a country of the baseline data; allowed: its "
                f"{len(index)} ISO3 codes. Fix: drop it or correct the code."
            )
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and 0.0 < number <= 1.0):
            raise DataValidationError(
                f"argument {argument!r}: efficiency of {code} is {value!r}; allowed: a fraction in (0, 1] "
                "(1 = every statutory duty is paid into the pool). Fix: divide percentages by 100."
            )
        out[index[code]] = number
    return None if np.all(out == 1.0) else out
