"""``wf.hook`` and ``wf.exec_hook``: run a hook function for a running workflow.

A hook function is an ordinary durable workflow function (a Worker serves it) that runs
as its own job, ``{caller}-hook{dim}-{index}``, linked to its target workflow as parent.
``exec_hook`` waits for the hook job to finish, so an error in the hook reaches the
caller, then returns the payload the hook answered with ``wf.signal`` (the reference runs
hooks as threads inside the target job and discards their errors; docs/differences.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hotmesh.durable import _registry
from hotmesh.durable._context import current
from hotmesh.errors import ConfigError

__all__ = ["exec_hook", "exec_hook_batch", "hook"]


def _target(workflow: str | Callable[..., Any], workflow_id: str | None,
            task_queue: str | None, entity: str | None) -> str:  # fmt: skip
    ctx = current("wf.hook")
    target = workflow_id or ctx.workflow_id
    if not isinstance(target, str) or not target:
        raise ConfigError("workflow_id must be a non-empty string", value=workflow_id)
    same = _registry.workflow_name(workflow) == ctx.workflow_name
    if target == ctx.workflow_id and same and task_queue is None and entity is None:
        raise ConfigError(
            "Durable Hook Error: Potential infinite loop detected! A hook of this workflow "
            "runs this same workflow function; pass task_queue or entity to say where the "
            "hook function runs",
            value=_registry.workflow_name(workflow),
        )
    return target


async def hook(
    *,
    workflow: str | Callable[..., Any],
    args: Sequence[Any] = (),
    task_queue: str | None = None,
    entity: str | None = None,
    workflow_id: str | None = None,
) -> str:
    """Start hook function ``workflow`` for workflow ``workflow_id`` (default: this one),
    once; return the hook's own workflow id (its handle shows its result or error).

    Example:
        >>> async def order():  # doctest: +SKIP
        ...     await wf.hook(workflow=audit, args=["placed"], task_queue="audit")

    Raises:
        ConfigError: the hook would re-run this very workflow function on itself.
    """
    from hotmesh.durable.workflow import _child

    target = _target(workflow, workflow_id, task_queue, entity)
    hook_id: str = await _child(
        workflow,
        wait=False,
        args=list(args),
        task_queue=task_queue,
        workflow_id=None,
        entity=entity,
        expire=None,
        retry=None,
        kind="hook",
        parent=target,
    )
    return hook_id


async def exec_hook(
    *,
    workflow: str | Callable[..., Any],
    args: Sequence[Any] = (),
    task_queue: str | None = None,
    entity: str | None = None,
    workflow_id: str | None = None,
    signal_id: str | None = None,
) -> Any:
    """Run hook function ``workflow`` and return the payload it answers with.

    The hook function gets one more positional argument, ``{"signal": signal_id,
    "$durable": True}``, and answers with ``await wf.signal(info["signal"], payload)``.
    An error that fails the hook raises here (as a child workflow's would).

    Example:
        >>> async def ask(question: str, info: dict) -> None:  # doctest: +SKIP
        ...     await wf.signal(info["signal"], f"answer to {question}")
        >>> async def main() -> str:  # doctest: +SKIP
        ...     return await wf.exec_hook(workflow=ask, args=["why"], task_queue="q")
    """
    from hotmesh.durable.workflow import _child, condition

    target = _target(workflow, workflow_id, task_queue, entity)
    ctx = current("wf.exec_hook")
    if signal_id is None:
        signal_id = f"{ctx.workflow_id}-hook{ctx.dimension}-{ctx.counter}-answer"
    elif not isinstance(signal_id, str) or not signal_id:
        raise ConfigError("signal_id must be a non-empty string", value=signal_id)
    info = {"signal": signal_id, "$durable": True}
    await _child(
        workflow,
        wait=True,
        args=[*args, info],
        task_queue=task_queue,
        workflow_id=None,
        entity=entity,
        expire=None,
        retry=None,
        kind="exechook",
        parent=target,
    )
    return await condition(signal_id)


async def exec_hook_batch(hooks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Run several hook functions at once; return ``{key: payload}``.

    ``hooks`` is a list of ``{"key": str, "options": {...}}`` where ``options`` are the
    keywords of :func:`exec_hook` (``workflow``, ``args``, ``task_queue``, ``entity``,
    ``workflow_id``, ``signal_id``). Every hook starts in one turn and every answer is
    awaited in the next (an extra beyond durable-api.md: the reference's
    ``execHookBatch``). The first failing hook raises here.

    Example:
        >>> async def review_all(draft: str) -> dict:  # doctest: +SKIP
        ...     return await wf.exec_hook_batch([
        ...         {"key": "legal", "options": {"workflow": legal, "args": [draft]}},
        ...         {"key": "style", "options": {"workflow": style, "args": [draft]}},
        ...     ])

    Raises:
        ConfigError: an item without a string ``key`` or ``options`` mapping, or a key
            given twice.
    """
    current("wf.exec_hook_batch")
    keys: list[str] = []
    chosen: list[Mapping[str, Any]] = []
    for item in hooks:
        key = item.get("key") if isinstance(item, Mapping) else None
        options = item.get("options") if isinstance(item, Mapping) else None
        if not isinstance(key, str) or not key or not isinstance(options, Mapping):
            raise ConfigError(
                "each hook is {'key': str, 'options': {'workflow': ..., 'args': [...]}}",
                value=item,
            )
        if key in keys:
            raise ConfigError(f"hook key {key!r} is given twice", value=key)
        keys.append(key)
        chosen.append(options)
    payloads = await asyncio.gather(*(exec_hook(**options) for options in chosen))
    return dict(zip(keys, payloads, strict=True))
