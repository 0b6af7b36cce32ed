"""Virtual's value parsing without a database: durations, retry policies, schedules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hotmesh import RetryPolicy
from hotmesh.errors import ConfigError
from hotmesh.virtual._api import _schedule
from hotmesh.virtual._duration import to_seconds
from hotmesh.virtual._meshes import retry_policy


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5.0),
        (0.5, 0.5),
        (timedelta(minutes=2), 120.0),
        ("500ms", 0.5),
        ("500", 0.5),  # a bare number string is milliseconds, as in the ms grammar
        ("5 seconds", 5.0),
        ("1 second", 1.0),
        ("2m", 120.0),
        ("1 minute", 60.0),
        ("1.5h", 5400.0),
        ("7d", 604800.0),
        ("1 Hour", 3600.0),
    ],
)
def test_durations(value: Any, expected: float) -> None:
    assert to_seconds(value, name="ttl") == expected


@pytest.mark.parametrize("value", ["soon", "5 parsecs", -1, True, None, float("inf"), "-2s"])
def test_bad_durations_name_the_field(value: Any) -> None:
    with pytest.raises(ConfigError, match="ttl must be a duration"):
        to_seconds(value, name="ttl")


def test_retry_policy_defaults_fill_missing_fields() -> None:
    assert retry_policy(None) == RetryPolicy(3, 1.0, 2.0, 30.0)
    assert retry_policy({"maximum_attempts": 5}) == RetryPolicy(5, 1.0, 2.0, 30.0)
    given = RetryPolicy(maximum_attempts=4, maximum_interval="10s")
    assert retry_policy(given) == given
    with pytest.raises(ConfigError, match="retry"):
        retry_policy({"maximum_attempts": 0})


def test_schedules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HMSH_FIDELITY_SECONDS", "5")
    assert _schedule("1 second", None) == {"cron": None, "interval": 5, "delay": None}
    assert _schedule("1 minute", "2s") == {"cron": None, "interval": 60.0, "delay": 2.0}
    cron = _schedule("*/15 * * * *", "1 hour")  # delay is ignored for cron expressions
    assert cron["cron"] == "*/15 * * * *" and cron["interval"] == 5
    assert 5 <= cron["delay"] <= 15 * 60
    with pytest.raises(ConfigError, match="Invalid cron/interval expression: 5-1 \\* \\* \\* \\*"):
        _schedule("5-1 * * * *", None)


def test_the_durable_retry_policy_is_virtuals_and_its_none_fields_take_virtual_defaults() -> None:
    from hotmesh import durable, virtual

    assert virtual.RetryPolicy is durable.RetryPolicy
    policy = virtual.RetryPolicy(maximum_attempts=5, initial_interval="500ms")
    assert retry_policy(policy) == RetryPolicy(5, 0.5, 2.0, 30.0)
