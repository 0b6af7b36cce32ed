"""One process of a crash run: an engine and the crash app's workers.

Usage: python node.py PROVIDER DSN APP_ID

``HOTMESH_CRASH_AT`` / ``HOTMESH_CRASH_SKIP`` (see :mod:`hotmesh.faults`) make it kill
itself at a boundary. Prints ``{"event": "ready"}`` once started; a line on stdin (or its
end) stops it cleanly.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from hotmesh import HotMesh, WorkerMessage

LEASE = 2.0


async def work(message: WorkerMessage) -> dict[str, Any]:
    n = int(message.data.get("n") or 0)
    return {"data": {"v": n * 2, "tag": f"{message.data.get('tag')}-{n}"}}


async def count(message: WorkerMessage) -> dict[str, Any]:
    return {"data": {"counter": int(message.data.get("counter") or 0) + 1}}


async def main(provider: str, dsn: str, app_id: str) -> None:
    connection = {"class": provider, "options": {"dsn": dsn, "min_size": 1, "max_size": 4}}
    common = {"connection": connection, "lease": LEASE, "poll_interval": 0.2}
    hm = await HotMesh.init(
        app_id=app_id,
        engine=common,
        workers=[
            {"topic": "crash.work", "callback": work, **common},
            {"topic": "crash.count", "callback": count, **common},
        ],
    )
    print(json.dumps({"event": "ready", "pid": os.getpid(), "guid": hm.guid}), flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    await hm.stop(timeout=5)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
