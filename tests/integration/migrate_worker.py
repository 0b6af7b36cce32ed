"""One of the processes test_migrations.py starts at once against the same new app.

Usage: python migrate_worker.py PROVIDER DSN APP_ID INDEX

Prints ``ready`` once imported, waits for a line on stdin (the barrier), then connects
(which migrates the app's schema), reads the stream table, prints ``ok INDEX`` and exits 0.
It publishes nothing: a NOTIFY arriving while a backend closes can hang ``close()`` (see
test_backend_close.py), which would hide what this worker is here to check.
"""

from __future__ import annotations

import asyncio
import sys

from hotmesh.plugins import provider_for
from hotmesh.spi import Provider


async def main(provider: type[Provider], dsn: str, app_id: str, index: int) -> None:
    backend = await provider.connect({"dsn": dsn}, app_id=app_id)
    try:
        depth = await backend.stream.depth(["workers"])
        claimed = await backend.stream.claim("workers", limit=10)
        print(f"ok {index} {depth['workers'].total} {len(claimed)}", flush=True)
    finally:
        await backend.close()


if __name__ == "__main__":
    provider_name, dsn_arg, app, number = sys.argv[1:5]
    chosen = provider_for(provider_name)  # loads the driver: nothing is left to import later
    print("ready", flush=True)
    sys.stdin.readline()
    asyncio.run(main(chosen, dsn_arg, app, int(number)))
