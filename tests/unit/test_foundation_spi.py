"""hotmesh.spi value types: retry delays, message validation, depth totals."""

from __future__ import annotations

import math

import attrs
import pytest

from hotmesh.spi import DEFAULT_RETRY, OutgoingMessage, RetryPolicy, StreamDepth, StreamMessage


def test_delay_grows_exponentially_from_the_initial_interval() -> None:
    policy = RetryPolicy(
        maximum_attempts=10, initial_interval=0.5, backoff_coefficient=2, maximum_interval=1e9
    )
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_delay_is_capped_by_maximum_interval() -> None:
    policy = RetryPolicy(
        maximum_attempts=10, initial_interval=1, backoff_coefficient=10, maximum_interval=120
    )
    assert [policy.delay(n) for n in range(1, 5)] == [1.0, 10.0, 100.0, 120.0]
    assert policy.delay(50) == 120.0


def test_delay_is_a_float_and_clamps_retry_zero() -> None:
    policy = RetryPolicy(initial_interval=3, backoff_coefficient=1)
    assert isinstance(policy.delay(1), float)
    assert policy.delay(0) == policy.delay(1) == policy.delay(7) == 3.0


def test_default_retry() -> None:
    expected = RetryPolicy(3, 1.0, 10.0, 120.0)
    assert expected == DEFAULT_RETRY
    assert DEFAULT_RETRY.delay(2) == 10.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"maximum_attempts": 0},
        {"maximum_attempts": -1},
        {"initial_interval": -0.1},
        {"maximum_interval": -1},
        {"backoff_coefficient": 0.99},
    ],
)
def test_retry_policy_rejects_bad_values(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["initial_interval", "maximum_interval", "backoff_coefficient"])
def test_retry_policy_rejects_nan(field: str) -> None:
    # NaN compares False with everything, so "< 0" checks let it through.
    with pytest.raises(ValueError):
        RetryPolicy(**{field: math.nan})  # type: ignore[arg-type]


def test_value_types_are_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        DEFAULT_RETRY.maximum_attempts = 5  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        OutgoingMessage("s", {}).priority = 3  # type: ignore[misc]


@pytest.mark.parametrize("priority", [0, 5, 9])
def test_priorities_zero_to_nine_are_accepted(priority: int) -> None:
    assert OutgoingMessage("s", {"a": 1}, priority=priority).priority == priority


@pytest.mark.parametrize("priority", [-1, 10, 100])
def test_priority_out_of_range_is_rejected(priority: int) -> None:
    with pytest.raises(ValueError, match="priority"):
        OutgoingMessage("s", {}, priority=priority)


def test_delay_must_not_be_negative() -> None:
    assert OutgoingMessage("s", {}, delay=0).delay == 0
    assert OutgoingMessage("s", {}, delay=2.5).delay == 2.5
    with pytest.raises(ValueError, match="delay"):
        OutgoingMessage("s", {}, delay=-0.001)


@pytest.mark.parametrize("delay", [math.nan, math.inf])
def test_delay_must_be_finite(delay: float) -> None:
    # Postgres rejects make_interval(secs => NaN/Infinity) with an untyped driver error.
    with pytest.raises(ValueError, match="delay"):
        OutgoingMessage("s", {}, delay=delay)


def test_outgoing_message_defaults() -> None:
    msg = OutgoingMessage("s", {"k": "v"})
    assert (msg.priority, msg.delay, msg.retry, msg.job_id) == (0, 0.0, None, None)


def test_stream_depth_total() -> None:
    assert StreamDepth("s").total == 0
    assert StreamDepth("s", ready=3, delayed=4, in_flight=5).total == 12


def test_stream_message_redelivered() -> None:
    first = StreamMessage(id=1, stream="s", payload={}, attempt=1)
    assert not first.redelivered
    assert attrs.evolve(first, attempt=2).redelivered
    assert first.retry == DEFAULT_RETRY
