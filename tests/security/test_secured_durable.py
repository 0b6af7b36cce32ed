"""A Durable worker logged in as a provisioned worker role (no table access)."""

from __future__ import annotations

from typing import Any

from hotmesh import HotMesh
from hotmesh.durable import Client, Worker, shutdown
from hotmesh.durable import workflow as wf
from hotmesh_postgres.naming import schema_name
from hotmesh_postgres.roles import role_name
from hotmesh_postgres.secured import SecuredBackend
from tests.security.conftest import RequirePassword

QUEUE = "secure"


async def stamp(order: str) -> str:
    return f"stamped {order}"


async def secured_order(order: str) -> list[str]:
    acts = wf.proxy_activities()
    first = await acts.stamp(order)
    await wf.sleep(0.1)
    return [first, await acts.stamp(f"{order}-again")]


async def test_a_durable_worker_runs_as_a_worker_role(
    owner: dict[str, Any], app_id: str, require_password: RequirePassword
) -> None:
    streams = [f"{QUEUE}-secured_order", f"{QUEUE}-activity"]
    await require_password(role_name(schema_name(app_id), streams))
    cred = await HotMesh.provision_worker_role(
        connection=owner, namespace=app_id, stream_names=streams
    )
    client = Client(owner, namespace=app_id)
    try:
        await client.get_hotmesh_client()  # the owner deploys the Durable graph
        worker = await Worker.create(
            connection=owner,
            task_queue=QUEUE,
            workflow=secured_order,
            activities=[stamp],
            namespace=app_id,
            worker_credentials={"user": cred.role_name, "password": cred.password},
        )
        backends = worker._mesh._backends  # the workflow turns' and the activities'
        assert len(backends) == 2
        for backend in backends:
            assert isinstance(backend, SecuredBackend)
            assert await backend.driver.fetchval("SELECT session_user") == cred.role_name
        result = await client.workflow.execute(
            secured_order, args=["A-1"], task_queue=QUEUE, timeout=60
        )
        assert result == ["stamped A-1", "stamped A-1-again"]
    finally:
        await shutdown()
