"""Virtual's value parsing without a database: retry policies and schedules."""

from __future__ import annotations

import pytest

from hotmesh import RetryPolicy
from hotmesh.errors import ConfigError
from hotmesh.virtual._api import _schedule
from hotmesh.virtual._meshes import retry_policy


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
