"""End to end: the seed workflow with its worker logged in as a secured role."""

from __future__ import annotations

from typing import Any

from hotmesh import HotMesh, WorkerMessage
from hotmesh_postgres.naming import schema_name
from hotmesh_postgres.roles import role_name
from hotmesh_postgres.secured import SecuredBackend
from tests.engine.conftest import app_yaml
from tests.engine.test_seed import SEED
from tests.security.conftest import RequirePassword

TOPIC = "order.process"


async def process(message: WorkerMessage) -> dict[str, Any]:
    if message.data["id"] == "ORD-RETRY" and message.metadata["try"] == 0:
        raise RuntimeError("first delivery fails: the retry goes through worker_retry")
    return {"data": {"orderId": message.data["id"], "status": "fulfilled"}}


async def test_seed_flow_with_a_secured_worker(
    owner: dict[str, Any], app_id: str, hotmesh_dsn: str, require_password: RequirePassword
) -> None:
    await require_password(role_name(schema_name(app_id), [TOPIC]))
    cred = await HotMesh.provision_worker_role(
        connection=owner, namespace=app_id, stream_names=[TOPIC]
    )
    engine = await HotMesh.init(app_id=app_id, engine={"connection": owner})
    worker = None
    try:
        await engine.deploy(app_yaml(SEED, app_id))
        # A worker-only point of presence: everything it does runs as the worker role.
        worker = await HotMesh.init(
            app_id=app_id,
            workers=[
                {
                    "topic": TOPIC,
                    "connection": owner,
                    "worker_credentials": {"user": cred.role_name, "password": cred.password},
                    "callback": process,
                    "retry": {"maximum_attempts": 3, "initial_interval": 0.01},
                }
            ],
        )
        [backend] = worker._backends
        assert isinstance(backend, SecuredBackend)
        session_user = await backend.driver.fetchval("SELECT session_user")
        assert session_user == cred.role_name
        assert await engine.activate("1") is True
        for order in ("ORD-456", "ORD-RETRY"):
            result = await engine.pubsub("order.placed", {"id": order}, timeout=10)
            assert result.data == {"orderId": order, "status": "fulfilled"}
            assert result.metadata["js"] == 0
        assert worker.workers[0].router.processed >= 2
    finally:
        if worker is not None:
            await worker.stop()
        await engine.stop()
