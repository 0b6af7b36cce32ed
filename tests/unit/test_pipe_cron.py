"""``cron.nextDelay`` and the cron schedule parser."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from hotmesh.engine.pipe import FUNCTIONS, resolve_pipe
from hotmesh.engine.pipe._cron import CronSchedule, next_delay
from hotmesh.errors import PipeError

START = datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("*/15 * * * *", datetime(2024, 1, 1, 0, 15, tzinfo=UTC)),
        ("0 9 * * mon-fri", datetime(2024, 1, 1, 9, 0, tzinfo=UTC)),
        ("30 * * * * *", datetime(2024, 1, 1, 0, 0, 30, tzinfo=UTC)),
        ("0 0 1 feb *", datetime(2024, 2, 1, tzinfo=UTC)),
        ("0 0 29 2 *", datetime(2024, 2, 29, tzinfo=UTC)),
        ("0 12 * * 0", datetime(2024, 1, 7, 12, tzinfo=UTC)),
        ("0 12 * * 7", datetime(2024, 1, 7, 12, tzinfo=UTC)),
        ("0 0 15 * 3", datetime(2024, 1, 3, tzinfo=UTC)),
        ("5,10 1-3/2 * * *", datetime(2024, 1, 1, 1, 5, tzinfo=UTC)),
        ("@daily", datetime(2024, 1, 2, tzinfo=UTC)),
        ("@hourly", datetime(2024, 1, 1, 1, tzinfo=UTC)),
        ("0 0 1 1 *", datetime(2025, 1, 1, tzinfo=UTC)),
    ],
)
def test_next_occurrence(expression: str, expected: datetime) -> None:
    assert CronSchedule.parse(expression).next_after(START) == expected


def test_next_delay_seconds() -> None:
    assert next_delay("0 * * * *", now=START, fidelity=5) == 3600
    assert next_delay("* * * * * *", now=START, fidelity=5) == 5


@pytest.mark.parametrize("value", [None, 5, ["* * * * *"]])
def test_non_string_is_minus_one(value: object) -> None:
    assert FUNCTIONS["cron.nextDelay"](value) == -1


@pytest.mark.parametrize(
    "expression", ["* * *", "61 * * * *", "* * * * foo", "*/0 * * * *", "5-1 * * * *"]
)
def test_invalid_expression(expression: str) -> None:
    with pytest.raises(PipeError, match=re.escape(f"Invalid cron expression: {expression}")):
        FUNCTIONS["cron.nextDelay"](expression)


def test_impossible_schedule() -> None:
    with pytest.raises(PipeError, match="never fires"):
        CronSchedule.parse("0 0 31 2 *").next_after(START)


def test_next_delay_in_a_pipe_respects_fidelity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HMSH_FIDELITY_SECONDS", "7")
    delay = resolve_pipe([["* * * * * *"], ["{@cron.nextDelay}"]], {})
    assert delay == 7
    assert 7 <= resolve_pipe([["* * * * *"], ["{@cron.nextDelay}"]], {}) <= 60
