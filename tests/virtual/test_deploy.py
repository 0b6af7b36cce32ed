"""Virtual deploys its graphs into the namespace's app, upgrading an older version only."""

from __future__ import annotations

from typing import Any

from hotmesh import HotMesh, virtual

OLD_APP = """
app:
  id: '{ns}'
  version: '{version}'
  graphs:
    - subscribes: {ns}.old
      activities:
        t1:
          type: trigger
"""


async def active_version(connection: dict[str, Any], namespace: str) -> str:
    mesh = await HotMesh.init(app_id=namespace, engine={"connection": connection})
    try:
        assert mesh.engine is not None
        return (await mesh.engine.manifest()).version
    finally:
        await mesh.stop()


async def install(connection: dict[str, Any], namespace: str, version: str) -> None:
    mesh = await HotMesh.init(app_id=namespace, engine={"connection": connection})
    try:
        await mesh.deploy(OLD_APP.format(ns=namespace, version=version))
        await mesh.activate(version)
    finally:
        await mesh.stop()


async def echo(value: Any) -> Any:
    return value


async def test_an_older_version_is_replaced(connection: dict[str, Any], namespace: str) -> None:
    await install(connection, namespace, "0")
    await virtual.connect(topic="echo", connection=connection, callback=echo,
                          namespace=namespace)  # fmt: skip
    assert await virtual.exec(topic="echo", connection=connection, args=[7],
                              namespace=namespace) == 7  # fmt: skip
    assert await active_version(connection, namespace) == "1"


async def test_a_newer_version_is_left_alone(connection: dict[str, Any], namespace: str) -> None:
    await install(connection, namespace, "9")
    await virtual.connect(topic="echo", connection=connection, callback=echo,
                          namespace=namespace)  # fmt: skip
    await virtual.shutdown()
    assert await active_version(connection, namespace) == "9"
