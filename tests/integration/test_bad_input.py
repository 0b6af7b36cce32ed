"""Bad input to the facade fails with a typed hotmesh error before reaching Postgres.

Each case was seen escaping as a raw ``TypeError``/``ValueError``/driver error (or, for a
1 MB id on psycopg, as ``DatabaseUnavailable``); a job stored before stays intact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hotmesh import HotMesh
from hotmesh.errors import (
    DatabaseUnavailable,
    HotMeshError,
    InvalidArgument,
    JobNotFound,
    PayloadError,
)
from hotmesh_conformance.harness import BackendFactory
from tests.engine.conftest import MeshFactory, app_id, mesh
from tests.fix_echo_app import echo, echo_app

__all__ = ["app_id", "mesh", "started_app"]


async def started_app(mesh: MeshFactory, app_id: str) -> HotMesh:
    """A started mesh with the echo app active and its worker."""
    hm = await mesh([("bad.work", echo)])
    await hm.deploy(echo_app(app_id, "bad.test", "bad.work"))
    assert await hm.activate("1")
    return hm


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels):
        value = {"n": value}
    return value


PAYLOADS = [
    pytest.param([1, 2], PayloadError, "data", id="list"),
    pytest.param("text", PayloadError, "data", id="str"),
    pytest.param(7, PayloadError, "data", id="int"),
    pytest.param({"items": [{"name": "a\x00b"}]}, PayloadError, "data.items[0].name", id="nul"),
    pytest.param({"s": "\ud800"}, PayloadError, "data.s", id="surrogate"),
    pytest.param({"k\udfff": 1}, PayloadError, "data", id="surrogate-key"),
    pytest.param({"x": {1, 2}}, PayloadError, "data.x", id="set"),
    pytest.param({"x": float("nan")}, PayloadError, "data.x", id="nan"),
    pytest.param({"x": b"bytes"}, PayloadError, "data.x", id="bytes"),
    pytest.param(deep(1000), PayloadError, "data", id="deep"),
    pytest.param({"id": "x" * 1_000_000}, InvalidArgument, "job id", id="1MB-id"),
    pytest.param({"id": "a\x00b"}, PayloadError, "data.id", id="nul-id"),
]


@pytest.mark.parametrize(("data", "error", "named"), PAYLOADS)
async def test_bad_pub_payload_is_typed_and_names_the_field(
    mesh: MeshFactory, app_id: str, data: Any, error: type[HotMeshError], named: str
) -> None:
    hm = await started_app(mesh, app_id)
    kept = await hm.pubsub("bad.test", {"id": "kept", "value": 1}, timeout=30)
    with pytest.raises(error) as info:
        await hm.pub("bad.test", data)
    assert not isinstance(info.value, DatabaseUnavailable)
    assert info.value.value == named
    assert named in str(info.value)
    after = await hm.get_state("bad.test", kept.job_id)
    assert after.data == kept.data == {"echoed": 1}


BAD_NAMES: list[Any] = [{"a": 1}, ["t"], 5, None, "", "x" * 1_000_000, "a\x00b", "\udc80"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda v: repr(v)[:20])
async def test_bad_ids_and_topics_are_invalid_arguments(
    mesh: MeshFactory, app_id: str, name: Any
) -> None:
    hm = await started_app(mesh, app_id)
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("topic", lambda: hm.pub(name, {})),
        ("topic", lambda: hm.pubsub(name, {})),
        ("topic", lambda: hm.signal(name, {})),
        ("topic", lambda: hm.sub(name, lambda t, o: None)),
        ("pattern", lambda: hm.psub(name, lambda t, o: None)),
        ("job_id", lambda: hm.get_status(name)),
        ("job_id", lambda: hm.get_state("bad.test", name)),
        ("job_id", lambda: hm.export(name)),
        ("job_id", lambda: hm.interrupt("bad.test", name)),
        ("job_id", lambda: hm.cancel(name)),
        ("job_id", lambda: hm.scrub(name)),
    ]
    for argument, call in calls:
        with pytest.raises(InvalidArgument) as info:
            await call()
        assert info.value.value == argument


async def test_a_long_but_valid_id_is_not_found_rather_than_an_outage(
    mesh: MeshFactory, app_id: str
) -> None:
    hm = await started_app(mesh, app_id)
    with pytest.raises(JobNotFound):
        await hm.get_status("x" * 512)


async def test_bad_signal_and_context_payloads(mesh: MeshFactory, app_id: str) -> None:
    hm = await started_app(mesh, app_id)
    with pytest.raises(PayloadError) as info:
        await hm.signal("bad.hook", {"a": ["\x00"]})
    assert info.value.value == "data.a[0]"
    with pytest.raises(PayloadError) as info:
        await hm.pub("bad.test", {}, context=["not", "a", "mapping"])  # type: ignore[arg-type]
    assert info.value.value == "context"
    with pytest.raises(PayloadError) as info:
        await hm.pub("bad.test", {}, extended={"search": {"k": "\ud800"}})
    assert info.value.value == "extended.search.k"


async def test_values_the_database_refuses_are_payload_errors_not_outages(
    backends: BackendFactory,
) -> None:
    """Below the facade's checks: the driver maps refused values to PayloadError.

    Before, psycopg reported a 1 MB id (program_limit_exceeded, filed under
    OperationalError) as DatabaseUnavailable and reconnected; asyncpg raised its own error.
    """
    backend = await backends.open()
    await backend.store.create_job("kept", {"meta": {"jid": "kept", "gid": "g"}})
    with pytest.raises(PayloadError) as info:
        await backend.store.create_job("x" * 1_000_000, {"meta": {"gid": "g2"}})
    assert not isinstance(info.value, DatabaseUnavailable)
    with pytest.raises(PayloadError):
        await backend.store.create_job("nul", {"d/x": "a\x00b", "meta": {"gid": "g3"}})
    kept = await backend.store.get_job("kept")
    assert kept is not None
    assert kept.state["meta"] == {"jid": "kept", "gid": "g"}
    assert await backend.store.get_job("nul") is None


async def test_text_the_database_refuses_in_any_argument_is_a_payload_error(
    backends: BackendFactory,
) -> None:
    backend = await backends.open()
    with pytest.raises(PayloadError):
        await backend.store.activate("v\x00")
    with pytest.raises(PayloadError):
        await backend.store.get_setting("k\ud800")
