"""Inbound, outbound and activity interceptors (registration order = outermost first)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from hotmesh.durable import (
    ActivityCall,
    Client,
    Worker,
    WorkflowInfo,
    activity,
    clear_interceptors,
    register_activity_interceptor,
    register_inbound_interceptor,
    register_outbound_interceptor,
)
from hotmesh.durable import workflow as wf

SEEN: list[Any] = []


async def tag(text: str) -> str:
    return f"{text}|{activity.get_context().headers.get('tenant', '-')}"


async def intercepted(text: str) -> str:
    acts = wf.proxy_activities()
    return str(await acts.tag(text))


class Inbound:
    def __init__(self, name: str) -> None:
        self.name = name

    async def execute(self, info: WorkflowInfo, next: Callable[[], Awaitable[Any]]) -> Any:
        SEEN.append((self.name, "before", info.workflow_name))
        result = await next()
        SEEN.append((self.name, "after", result))
        return result


class Outbound:
    async def execute(
        self, call: ActivityCall, info: WorkflowInfo, next: Callable[[], Awaitable[Any]]
    ) -> Any:
        call.args = [a.upper() for a in call.args]
        call.options["headers"]["tenant"] = "acme"
        return await next()


class OnActivity:
    async def execute(self, name: str, args: list[Any], next: Callable[[], Awaitable[Any]]) -> Any:
        SEEN.append(("activity", name, list(args)))
        return await next()


@pytest.fixture
def interceptors() -> Iterator[None]:
    SEEN.clear()
    register_inbound_interceptor(Inbound("outer"))
    register_inbound_interceptor(Inbound("inner"))
    register_outbound_interceptor(Outbound())
    register_activity_interceptor(OnActivity())
    try:
        yield
    finally:
        clear_interceptors()


async def test_interceptors_wrap_turns_calls_and_activities(
    client: Client, connection: dict[str, Any], queue: str, interceptors: None
) -> None:
    await Worker.create(
        connection=connection, task_queue=queue, workflow=intercepted, activities=[tag]
    )
    assert await client.workflow.execute(intercepted, args=["hi"], task_queue=queue) == "HI|acme"
    assert SEEN[0] == ("outer", "before", "intercepted")
    assert SEEN[1] == ("inner", "before", "intercepted")
    assert ("activity", "tag", ["HI"]) in SEEN
    assert SEEN[-2:] == [("inner", "after", "HI|acme"), ("outer", "after", "HI|acme")]


def test_an_interceptor_needs_an_execute_method() -> None:
    from hotmesh.errors import ConfigError

    with pytest.raises(ConfigError, match="execute"):
        register_inbound_interceptor(object())
