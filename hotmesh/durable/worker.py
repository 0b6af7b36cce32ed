"""Durable workers: run workflow turns and activities for a task queue.

Example:
    >>> from hotmesh.durable import Worker
    >>> async def main(connection, greet, activities):  # doctest: +SKIP
    ...     worker = await Worker.create(
    ...         connection=connection, task_queue="hello", workflow=greet, activities=activities
    ...     )
    ...     ...
    ...     await worker.stop()
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

from hotmesh import HotMesh
from hotmesh.durable import _engines, _registry
from hotmesh.durable._turn import run_turn
from hotmesh.durable.activity import run_activity
from hotmesh.errors import ConfigError

__all__ = ["Worker", "register_activity_worker", "shutdown"]

Activities = Mapping[str, Callable[..., Any]] | Sequence[Callable[..., Any]] | ModuleType


def _check_queue(task_queue: Any) -> str:
    if not isinstance(task_queue, str) or not task_queue:
        raise ConfigError("task_queue must be a non-empty string", value=task_queue)
    return task_queue


class Worker:
    """Runs one workflow function (and the task queue's activities) in this process."""

    def __init__(
        self,
        mesh: HotMesh,
        connection: Mapping[str, Any],
        namespace: str,
        task_queue: str,
        workflow_name: str,
        activity_queue: bool,
    ) -> None:
        self._mesh = mesh
        self._connection = connection
        self._namespace = namespace
        self.task_queue = task_queue
        self.workflow_name = workflow_name
        self._activity_queue = activity_queue

    @classmethod
    async def create(
        cls,
        *,
        connection: Mapping[str, Any],
        task_queue: str,
        workflow: Callable[..., Any],
        activities: Activities | None = None,
        namespace: str = "durable",
        lease: float | None = None,
        worker_credentials: Mapping[str, str] | None = None,
    ) -> Worker:
        """Start consuming ``task_queue`` for ``workflow`` (one function per call) and
        serve the queue's activities.

        ``lease`` (seconds, default 30) is how long a crashed process holds a claimed
        turn or activity before another process takes it over (renewed while running).

        ``worker_credentials`` (``{"user", "password"}`` of a role from
        ``HotMesh.provision_worker_role(namespace=namespace, stream_names=[
        f"{task_queue}-{workflow name}", f"{task_queue}-activity"])``) makes this a
        secured worker: it logs in as that role, with no access to any table, and never
        deploys (a client with the owner connection does); ``wf.emit`` publishes nothing
        from it (a secured role cannot notify).

        Raises:
            ConfigError: a bad task queue, workflow or activities value.
        """
        queue = _check_queue(task_queue)
        name = _registry.workflow_name(workflow)
        if isinstance(workflow, str) or not inspect.iscoroutinefunction(workflow):
            raise ConfigError(
                f"workflow must be an async function (async def), not {workflow!r}",
                value=workflow,
            )
        if activities is not None:
            _registry.register_activities(activities)
        secured = {"worker_credentials": dict(worker_credentials)} if worker_credentials else {}
        # A secured worker may not write the job: it cannot checkpoint inline activities.
        engine = None if secured else await _engines.engine_for(connection, namespace, lease=lease)
        publish = None if engine is None else engine.pub_quorum
        served = _engines.served(connection, namespace)
        workers: list[dict[str, Any]] = [
            {
                "topic": f"{queue}-{name}",
                "callback": functools.partial(
                    run_turn, workflow, namespace, served, publish, engine=engine
                ),
                **secured,
            }
        ]
        serve_activities = _engines.claim_activity_queue(connection, namespace, queue)
        if serve_activities:
            workers.append({"topic": f"{queue}-activity", "callback": run_activity, **secured})
        try:
            mesh = await _engines.start_workers(connection, namespace, workers, lease=lease)
        except BaseException:
            if serve_activities:
                _engines.release_activity_queue(connection, namespace, queue)
            raise
        return cls(mesh, connection, namespace, queue, name, serve_activities)

    async def stop(self) -> None:
        """Stop consuming (running turns and activities finish first)."""
        await self._mesh.stop()
        _engines.forget(self._mesh)
        if self._activity_queue:
            _engines.release_activity_queue(self._connection, self._namespace, self.task_queue)


async def register_activity_worker(
    *,
    connection: Mapping[str, Any],
    activities: Activities,
    task_queue: str,
    namespace: str = "durable",
) -> None:
    """Serve ``activities`` on ``task_queue`` from this process (no workflow needed).

    Workflows route to it with ``wf.proxy_activities(task_queue=...)``.
    """
    queue = _check_queue(task_queue)
    _registry.register_activities(activities)
    await _engines.engine_for(connection, namespace)
    if _engines.claim_activity_queue(connection, namespace, queue):
        await _engines.start_workers(
            connection, namespace, [{"topic": f"{queue}-activity", "callback": run_activity}]
        )


async def shutdown() -> None:
    """Stop every Durable client engine and worker of this process."""
    await _engines.shutdown()
