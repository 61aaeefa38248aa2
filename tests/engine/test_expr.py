from __future__ import annotations

import pytest

from engine.core.expr import ExprError, parse_assignment, parse_condition


@pytest.mark.parametrize(
    ("text", "state", "expected"),
    [
        ("torch", {}, False),
        ("torch", {"torch": True}, True),
        ("not torch", {}, True),
        ("anger >= 2", {"anger": 2}, True),
        ("anger >= 2", {"anger": 1}, False),
        ("anger < 2 and torch", {"anger": 0, "torch": True}, True),
        ("a or b and c", {"a": False, "b": True, "c": False}, False),
        ("(a or b) and not c", {"a": True}, True),
        ("count == -1", {"count": -1}, True),
        ("x != 3", {}, True),
    ],
)
def test_conditions(text: str, state: dict[str, int], expected: bool) -> None:
    assert parse_condition(text).holds(state) is expected


def test_condition_names() -> None:
    assert parse_condition("(a or b) and not c >= 2").names() == {"a", "b", "c"}


@pytest.mark.parametrize("text", ["", "and", "a >", "(a", "a b", "a $ b", "not", "1 +"])
def test_bad_conditions(text: str) -> None:
    with pytest.raises(ExprError):
        parse_condition(text)


def test_assignments() -> None:
    state: dict[str, int | bool] = {}
    for text in ["torch = true", "anger += 2", "anger -= 1", "count = 5"]:
        parse_assignment(text).apply(state)
    assert state == {"torch": True, "anger": 1, "count": 5}


@pytest.mark.parametrize("text", ["torch", "x += true", "and = 1", "x = y", "x == 1"])
def test_bad_assignments(text: str) -> None:
    with pytest.raises(ExprError):
        parse_assignment(text)
