"""The checks every policy measure's fields share: one error shape, one number test.

:mod:`blocsim.policy.model` (trade measures) and :mod:`blocsim.policy.macro` (macro shocks,
work permits) both validate their fields here, so a measure of either kind fails the same
way: ``measure kind='...' [(country)]: field '...' is <value>; allowed: ... . Fix: ...``.
"""

from __future__ import annotations

import math

from blocsim.errors import MeasureError


def measure_error(kind: str, where: str, field_name: str, value: object, allowed: str, fix: str) -> MeasureError:
    """The error for a malformed measure field.

    Parameters
    ----------
    kind
        The measure's kind (``"tariff_change"``, ``"world_price"``, ...).
    where
        The country the measure belongs to (shown in brackets), or ``""`` for none.
    field_name, value, allowed, fix
        The field, the value given, what is allowed and how to fix it.
    """
    place = f" ({where})" if where else ""
    return MeasureError(
        f"measure kind={kind!r}{place}: field {field_name!r} is {value!r}; allowed: {allowed}. Fix: {fix}",
        field=field_name,
    )


def in_range(value: object, low: float, high: float = math.inf, *, open_low: bool = False) -> bool:
    """True if ``value`` is a finite real number (not a bool) in ``[low, high]`` (``(low, high]`` with ``open_low``)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return False
    return (value > low if open_low else value >= low) and value <= high


def range_text(low: float, high: float, *, open_low: bool = False) -> str:
    """The interval checked by :func:`in_range`, as shown in messages: ``[0, 1]``, ``(-1, inf]``."""
    return f"{'(' if open_low else '['}{low:g}, {high:g}]"
