"""``virtual.cron`` and ``virtual.interrupt``: schedules, cycles, failures, ids."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from hotmesh import RetryPolicy, virtual
from hotmesh.errors import ConfigError
from tests.virtual.conftest import until

FAST_RETRY = RetryPolicy(
    maximum_attempts=2, initial_interval=0.05, backoff_coefficient=2, maximum_interval=1
)


def job(topic: str, cron_id: str, connection: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The keywords naming one cron (what ``cron`` and ``interrupt`` share)."""
    return {"topic": topic, "id": cron_id, "connection": connection, "namespace": namespace}


class Ticks:
    """A cron callback recording the context of every run."""

    def __init__(self, fail_cycles: int = 0) -> None:
        self.runs: list[virtual.VirtualContext] = []
        self.started: list[float] = []  # time.monotonic() of each run
        self.fail_cycles = fail_cycles

    async def __call__(self, label: str) -> str:
        context = virtual.get_context()
        self.runs.append(context)
        self.started.append(time.monotonic())
        if len({run.dimension for run in self.runs}) <= self.fail_cycles:
            raise RuntimeError(f"cycle of {label} failed")
        return label

    @property
    def cycles(self) -> list[str]:
        """The distinct cycles run, in order (retries of one cycle share a dimension)."""
        return list(dict.fromkeys(run.dimension for run in self.runs))


async def test_an_interval_cron_cycles_is_exclusive_and_stops_when_interrupted(
    connection: dict[str, Any], namespace: str
) -> None:
    ticks = Ticks()
    options = job("tick", "mycron123", connection, namespace)
    assert await virtual.cron(**options, interval="1 second", args=["t"], callback=ticks)
    await until(lambda: len(ticks.runs) >= 3)
    assert len(ticks.cycles) == len(ticks.runs)  # one run per cycle, each its own
    # On schedule: cycles wait for their interval, never run back to back (a lower bound
    # only, which load cannot break; 1 s interval, 1 s timer fidelity).
    gaps = [b - a for a, b in zip(ticks.started, ticks.started[1:], strict=False)]
    assert gaps and min(gaps) >= 0.5, gaps
    assert {run.workflow_id for run in ticks.runs} == {"mycron123"}
    assert len({run.guid for run in ticks.runs}) == len(ticks.runs)
    # One live cron per id: a second one (even with another schedule) is refused.
    assert await virtual.cron(**options, interval="5 seconds") is False
    assert await virtual.interrupt(**options) is True
    assert await virtual.interrupt(**options) is False


async def test_max_cycles_and_delay(connection: dict[str, Any], namespace: str) -> None:
    ticks = Ticks()
    options = job("tick", "twice", connection, namespace)
    assert await virtual.cron(
        **options, interval="1 second", args=["t"], callback=ticks, max_cycles=2, delay="1s"
    )
    await until(lambda: len(ticks.runs) >= 2)
    # The finished cron frees its id (about a second later): a new one can start then,
    # and by then the first one has certainly stopped after its two cycles.
    restarted: list[bool] = []

    async def restart() -> bool:
        restarted.append(await virtual.cron(**options, interval="1 second", delay="1 hour"))
        return restarted[-1]

    while not await restart():
        assert len(restarted) < 600, "the finished cron never freed its id"
        await asyncio.sleep(0.05)
    assert len(ticks.runs) == 2
    assert await virtual.interrupt(**options) is True


async def test_a_failing_cycle_is_retried_logged_and_the_cron_keeps_its_schedule(
    connection: dict[str, Any], namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The reference ends a cron whose callback used up its retries; we keep cycling."""
    ticks = Ticks(fail_cycles=1)
    options = job("flaky", "flaky", connection, namespace)
    with caplog.at_level(logging.WARNING, logger="hotmesh.virtual"):
        assert await virtual.cron(
            **options, interval="1 second", args=["f"], callback=ticks, retry=FAST_RETRY
        )
        await until(lambda: len(ticks.cycles) >= 3)
    assert [run.attempt for run in ticks.runs[:2]] == [1, 2]  # the failing cycle, retried
    assert ticks.runs[0].dimension == ticks.runs[1].dimension
    assert ticks.runs[0].guid == ticks.runs[1].guid != ticks.runs[2].guid  # per cycle
    assert ticks.runs[2].attempt == 1 and ticks.runs[2].dimension != ticks.runs[0].dimension
    assert "no attempts left" in caplog.text
    assert await virtual.interrupt(**options) is True


async def test_get_context_inside_a_cron_callback(
    connection: dict[str, Any], namespace: str
) -> None:
    ticks = Ticks()
    options = job("cron.double.callback.test", "ctx-cron", connection, namespace)
    assert await virtual.cron(**options, interval=1, args=["c"], callback=ticks)
    await until(lambda: len(ticks.runs) >= 1)
    assert await virtual.interrupt(**options) is True
    context = ticks.runs[0]
    assert context.topic == "cron.double.callback.test"
    assert context.workflow_id == "ctx-cron"
    assert context.workflow_name == f"{namespace}.cron"
    assert context.attempt >= 1 and context.guid
    assert all(isinstance(v, str) for v in (context.dimension, context.trace_id, context.span_id))


async def test_a_cron_expression_waits_for_its_next_tick(
    connection: dict[str, Any], namespace: str
) -> None:
    ticks = Ticks()
    options = job("minutely", "m", connection, namespace)
    assert await virtual.cron(**options, interval="* * * * *", args=["m"], callback=ticks)
    assert await virtual.cron(**options, interval="* * * * *") is False
    assert await virtual.interrupt(**options) is True


@pytest.mark.parametrize("interval", ["61 * * * *", "every day", "0 0 31 2 *", -5])
async def test_an_invalid_interval_is_a_config_error(
    connection: dict[str, Any], namespace: str, interval: Any
) -> None:
    with pytest.raises(ConfigError, match="Invalid cron/interval expression"):
        await virtual.cron(topic="t", connection=connection, id="bad", interval=interval,
                           namespace=namespace)  # fmt: skip


async def test_a_cron_started_without_callback_runs_where_the_topic_is_served(
    connection: dict[str, Any], namespace: str
) -> None:
    options = job("served.later", "later", connection, namespace)
    assert await virtual.cron(**options, interval="1 second", args=["x"])
    ticks = Ticks()
    await virtual.connect(topic="served.later", connection=connection, callback=ticks,
                          namespace=namespace)  # fmt: skip
    await until(lambda: len(ticks.runs) >= 1)
    assert ticks.runs[0].workflow_id == "later"
    assert await virtual.interrupt(**options) is True
