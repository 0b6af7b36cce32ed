"""Durable pieces that need no database: durations, retry arithmetic, markers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hotmesh.durable._context import parse_markers
from hotmesh.durable._turn import merged_policy, stream_retry
from hotmesh.durable._types import RetryPolicy, seconds
from hotmesh.errors import ConfigError


def test_numbers_are_seconds_and_strings_use_the_ms_grammar() -> None:
    # D4: numbers are seconds (the reference reads milliseconds).
    assert seconds(5) == 5.0 and seconds(0.5) == 0.5
    assert seconds("500ms") == 0.5 and seconds("5 seconds") == 5.0 and seconds("2m") == 120.0
    assert seconds("1h") == 3600.0 and seconds("7d") == 7 * 86400.0
    assert seconds("30 days") == 30 * 86400.0 and seconds(timedelta(minutes=1)) == 60.0
    for bad in ("soon", "5 parsecs", -1, float("nan"), True, [1]):
        with pytest.raises(ConfigError):
            seconds(bad)  # type: ignore[arg-type]


def test_first_retry_waits_the_initial_interval() -> None:
    # D3: retry n waits min(initial * coef**(n-1), maximum_interval); D1: total attempts.
    wire = RetryPolicy(
        maximum_attempts=4, initial_interval="2s", backoff_coefficient=3, maximum_interval=10
    ).to_wire()
    policy = stream_retry(merged_policy(wire))
    assert policy.maximum_attempts == 4
    assert [policy.delay(n) for n in (1, 2, 3)] == [2.0, 6.0, 10.0]


def test_an_activity_inherits_the_workflow_policy_field_by_field() -> None:
    workflow = RetryPolicy(maximum_attempts=7, backoff_coefficient=2.0).to_wire()
    merged = merged_policy({**workflow, **RetryPolicy(initial_interval=0.5).to_wire()})
    assert merged == {
        "maximumAttempts": 7,
        "backoffCoefficient": 2.0,
        "initialInterval": 0.5,
        "maximumInterval": 120.0,
    }


def test_markers_are_read_per_generation() -> None:
    data = {
        "-proxy-0-": {"op": "greet", "out": {"response": "a"}},
        "-proxy$1-0-": {"op": "greet", "out": {"response": "b"}},
        "-child-1-": {"op": "kid", "response": 3},
        "done": False,
        "-cancelled-": "1",
    }
    first = parse_markers(data, "")
    assert sorted(first) == [0, 1] and first[0].out == {"response": "a"}
    assert first[1].kind == "child" and first[1].out["response"] == 3
    assert parse_markers(data, "$1")[0].out == {"response": "b"}
