"""Fixtures for dashboard tests: a running app on the provider under test, and a client.

The dashboard runs in the test's event loop (httpx over ASGI), so the app's own engine
and worker keep running while a request waits (a roll call needs them to answer).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from hotmesh import HotMesh
from hotmesh.dashboard import create_app
from hotmesh_conformance.profiles import profile_of

SHOP = """
app:
  id: {APP}
  version: '{VERSION}'
  graphs:
    - subscribes: order.placed
      publishes: order.done
      expire: 600
      activities:
        placed:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
        fulfil:
          type: worker
          topic: shop.fulfil
          input:
            maps:
              id: '{placed.output.data.id}'
              fail: '{placed.output.data.fail}'
          job:
            maps:
              status: '{fulfil.output.data.status}'
        approve:
          type: hook
          job:
            maps:
              approved: '{approve.hook.data.approved}'
      transitions:
        placed:
          - to: fulfil
        fulfil:
          - to: approve
      hooks:
        order.approve:
          - to: approve
            conditions:
              match:
                - expected: '{$job.metadata.jid}'
                  actual: '{$self.hook.data.id}'
    - subscribes: order.quick
      expire: 600
      activities:
        quick:
          type: trigger
        pack:
          type: worker
          topic: shop.fulfil
          input:
            maps:
              id: '{quick.output.data.id}'
              fail: '{quick.output.data.fail}'
          job:
            maps:
              status: '{pack.output.data.status}'
      transitions:
        quick:
          - to: pack
"""


def shop_yaml(app_id: str, version: str = "1") -> str:
    """The test app: ``order.placed`` waits for an approval signal; ``order.quick`` does not."""
    return SHOP.replace("{APP}", app_id).replace("{VERSION}", version)


async def fulfil(message: Any) -> dict[str, Any]:
    """The worker: fails on request (an error with a stack), else fulfils."""
    if message.data.get("fail"):
        return {
            "status": "error",
            "code": 500,
            "data": {"message": "card declined", "stack": "Traceback: <script>boom</script>"},
        }
    return {"data": {"status": "fulfilled"}}


@pytest.fixture
def app_id() -> str:
    """A fresh app id per test."""
    return f"dash{uuid.uuid4().hex[:10]}"


@pytest.fixture
def database(hotmesh_options: dict[str, Any]) -> str:
    """What the dashboard is given: the DSN, or (``memory``) a fresh database's name."""
    return str(hotmesh_options.get("dsn") or f"dash-{uuid.uuid4().hex[:10]}")


def connection_of(provider: str, database: str) -> dict[str, Any]:
    """The connection of ``provider`` to ``database`` (a DSN or an in-memory name)."""
    if "dsn" in profile_of(provider).capabilities:
        return {"class": provider, "options": {"dsn": database}}
    return {"class": provider, "options": {"name": database}}


@pytest.fixture
async def shop(hotmesh_provider: str, database: str, app_id: str) -> AsyncIterator[HotMesh]:
    """The test app, deployed and active, with an engine and a worker running."""
    connection = connection_of(hotmesh_provider, database)
    hm = await HotMesh.init(
        app_id=app_id,
        engine={"connection": connection},
        workers=[{"topic": "shop.fulfil", "connection": connection, "callback": fulfil}],
    )
    try:
        await hm.deploy(shop_yaml(app_id))
        await hm.activate("1")
        yield hm
    finally:
        await hm.stop()


async def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8700"
    )


@pytest.fixture
async def dashboard(
    hotmesh_provider: str, database: str, app_id: str, shop: HotMesh
) -> AsyncIterator[httpx.AsyncClient]:
    """A view-only dashboard of the test app."""
    app = create_app(database, provider=hotmesh_provider, apps=[app_id])
    async with await _client(app) as client:
        yield client
    await app.state.dashboard.close()


TOKEN = "t0ken-for-tests"


@pytest.fixture
async def acting(
    hotmesh_provider: str, database: str, app_id: str, shop: HotMesh
) -> AsyncIterator[httpx.AsyncClient]:
    """A dashboard with actions (a token); the client holds the token's cookie."""
    app = create_app(database, provider=hotmesh_provider, apps=[app_id], token=TOKEN)
    async with await _client(app) as client:
        first = await client.get("/", params={"token": TOKEN})
        assert first.status_code == 303 and first.headers["location"] == "/"  # token dropped
        cookie = first.headers["set-cookie"].lower()
        assert "hotmesh_dashboard=" in cookie and "httponly" in cookie
        assert "samesite=strict" in cookie
        yield client
    await app.state.dashboard.close()
