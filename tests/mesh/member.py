"""One member of a test mesh: a real OS process the tests in this folder start.

Usage: python member.py PROVIDER DSN APP_ID SPEC_JSON

SPEC_JSON: ``{"engine": true, "worker": "echo" | "stall" | null, "lease": 1.5,
"poll": 0.25, "stall_activation": false}``.

The worker (topic ``mesh.work``) answers ``{"pid": <its pid>, "id": <data.id>}`` after
sleeping ``data.sleep`` seconds (``echo``), or never answers (``stall``: it hangs until
the process is killed). ``stall_activation`` makes this member never confirm a version
switch (it hears the request but hangs), to test the activator's timeout.

Prints JSON lines on stdout: ``{"event": "ready", "guid", "pid"}``, then
``{"event": "start", "jid", "try"}`` and ``{"event": "done", "jid"}`` per worker callback,
and ``{"event": "stopped"}`` after a clean stop. A line ``stop`` on stdin (or its end)
stops the member cleanly.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from hotmesh import HotMesh, WorkerMessage
from hotmesh.mesh.quorum import Quorum

TOPIC = "mesh.work"


def emit(**event: Any) -> None:
    print(json.dumps(event), flush=True)


async def main(provider: str, dsn: str, app_id: str, spec: dict[str, Any]) -> None:
    connection = {"class": provider, "options": {"dsn": dsn, "min_size": 1, "max_size": 4}}
    lease = float(spec.get("lease", 30.0))
    poll = float(spec.get("poll", 0.25))
    forever = asyncio.Event()

    async def work(message: WorkerMessage) -> dict[str, Any]:
        jid = message.metadata.get("jid")
        emit(
            event="start",
            jid=jid,
            aid=message.metadata.get("aid"),
            attempt=message.metadata.get("try"),
        )
        if spec.get("worker") == "stall":
            await forever.wait()
        await asyncio.sleep(float(message.data.get("sleep") or 0))
        emit(event="done", jid=jid, aid=message.metadata.get("aid"))
        return {"data": {"pid": os.getpid(), "id": message.data.get("id")}}

    if spec.get("stall_activation"):

        async def never(self: Quorum, message: dict[str, Any]) -> None:
            await forever.wait()

        Quorum._prepare = never  # type: ignore[method-assign]

    workers = []
    if spec.get("worker"):
        workers.append(
            {"topic": TOPIC, "callback": work, "connection": connection, "lease": lease,
             "poll_interval": poll, "concurrency": 16}
        )  # fmt: skip
    engine = (
        {"connection": connection, "lease": lease, "poll_interval": poll}
        if spec.get("engine", True)
        else None
    )
    hm = await HotMesh.init(app_id=app_id, engine=engine, workers=workers)
    emit(event="ready", guid=hm.guid, pid=os.getpid())
    await asyncio.to_thread(sys.stdin.readline)  # "stop", or EOF when the test ends
    await hm.stop(timeout=5)
    emit(event="stopped")


if __name__ == "__main__":
    provider_arg, dsn_arg, app_arg, spec_arg = sys.argv[1:5]
    asyncio.run(main(provider_arg, dsn_arg, app_arg, json.loads(spec_arg)))
