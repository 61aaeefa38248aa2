"""A schemathesis pass over an HTTP API: every operation of its OpenAPI description called with generated
input; what a test asserts on is what came back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def fuzz(schema: Any, call: Callable[[Any], Any], examples: int) -> tuple[list[tuple[str, str, int]], list[str]]:
    """Runs `examples` generated cases through `call(case) -> response`. Returns every call as (method, path,
    status) and one line per 5xx answer."""
    from hypothesis import HealthCheck, given, settings

    calls: list[tuple[str, str, int]] = []
    failures: list[str] = []

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=schema.as_strategy())
    def check(case: Any) -> None:
        response = call(case)
        calls.append((case.method, case.operation.path, response.status_code))
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

    check()
    return calls, failures
