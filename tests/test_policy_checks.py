"""One implementation of the policy measures' field checks (:mod:`blocsim.policy.checks`).

Trade measures (:mod:`blocsim.policy.model`) and macro measures (:mod:`blocsim.policy.macro`)
reject a bad number with the same test and the same message shape; neither module carries a
check of its own.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

import blocsim.policy
from blocsim.errors import MeasureError
from blocsim.policy.checks import in_range, range_text
from blocsim.policy.macro import CapitalFlowShock, WorkPermitCost, WorldPriceShock
from blocsim.policy.model import NonTariffMeasure, ProductivityShock

POLICY = Path(blocsim.policy.__file__).parent


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, "0.1", None])
def test_every_measure_rejects_what_is_not_a_finite_number(value: object) -> None:
    for build in (lambda v: WorldPriceShock(("B06",), v), lambda v: CapitalFlowShock("RUS", v),
                  lambda v: WorkPermitCost(("RUS",), ("UZB",), v), lambda v: ProductivityShock("RUS", v),
                  lambda v: NonTariffMeasure("RUS", ave=v)):
        with pytest.raises(MeasureError, match="allowed: a finite"):
            build(value)


def test_macro_and_trade_measures_share_the_message_shape() -> None:
    with pytest.raises(MeasureError) as macro:
        WorldPriceShock(("B06",), -1.0)
    assert str(macro.value) == ("measure kind='world_price': field 'change' is -1.0; allowed: a finite fraction in "
                                "(-1, 10]. Fix: give the proportional price change, e.g. -0.47 for a fall of 47 %")
    with pytest.raises(MeasureError) as deficit:
        CapitalFlowShock("RUS", 0.6)
    assert "field 'deficit' is 0.6; allowed: a finite fraction of value added in [-0.5, 0.5]. Fix: " in str(
        deficit.value)
    with pytest.raises(MeasureError) as trade:
        ProductivityShock("RUS", -1.0)
    assert str(trade.value) == ("measure kind='productivity' (RUS): field 'change' is -1.0; allowed: a finite "
                                "number in (-1, inf]. Fix: give a fraction (0.05 = 5 %)")
    assert macro.value.field == trade.value.field == "change"


def test_in_range_bounds() -> None:
    assert in_range(0.0, 0.0, 1.0) and in_range(1, 0.0, 1.0) and not in_range(0.0, 0.0, 1.0, open_low=True)
    assert not in_range(1.0000001, 0.0, 1.0) and in_range(1e300, 0.0)
    assert range_text(-0.5, 0.5) == "[-0.5, 0.5]" and range_text(-1.0, math.inf, open_low=True) == "(-1, inf]"


def test_no_policy_module_but_checks_tests_numbers_or_builds_measure_errors() -> None:
    """The number test (``math.isfinite``) and the error (``MeasureError(...)``) live in checks.py only."""
    offenders = []
    for path in sorted(POLICY.rglob("*.py")):
        if path.name == "checks.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in ("isfinite", "MeasureError"):
                    offenders.append(f"{path.relative_to(POLICY)}:{node.lineno} {name}")
    assert offenders == []
