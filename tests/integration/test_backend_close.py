"""``Backend.close()`` returns promptly even while notifications keep arriving.

Run in a subprocess: a close that hangs leaves a task the test process could not stop.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import asyncio, os, sys
    import asyncpg
    from hotmesh.plugins import provider_for
    from hotmesh_postgres.naming import channel_name, schema_name

    async def main(provider, dsn):
        flooder = await asyncpg.connect(dsn)
        for attempt in range(5):
            app_id = f"closing-{os.getpid()}-{attempt}"
            backend = await provider_for(provider).connect({"dsn": dsn}, app_id=app_id)
            channel = channel_name("w", schema_name(app_id))
            stop = asyncio.Event()

            async def flood():
                while not stop.is_set():
                    await flooder.execute("SELECT pg_notify($1, '{\\"s\\": 0}')", channel)

            task = asyncio.create_task(flood())
            await asyncio.sleep(0.05)  # notifications are now arriving without pause
            closing = asyncio.create_task(backend.close())
            done, _ = await asyncio.wait({closing}, timeout=3)
            stop.set()
            await task
            if not done:
                print(f"close() still running after 3 s (attempt {attempt})", flush=True)
                os._exit(3)
            closing.result()
        await flooder.close()
        print("closed", flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_close_returns_while_notifications_arrive(
    hotmesh_provider: str, hotmesh_dsn: str
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SCRIPT, hotmesh_provider, hotmesh_dsn,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert (proc.returncode, out.decode()) == (0, "closed\n"), err.decode()[-2000:]
