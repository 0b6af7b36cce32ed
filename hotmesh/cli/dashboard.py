"""``hotmesh dashboard``: serve the web dashboard (needs ``pip install "hotmesh[dashboard]"``)."""

from __future__ import annotations

import asyncio
import os
import sys
from types import FrameType
from typing import Annotated, Any

import typer

from hotmesh.cli.support import CliError, DsnOption, Provider, ProviderOption, embedded_dsn

__all__ = ["TOKEN_ENV", "dashboard", "register_dashboard"]

TOKEN_ENV = "HOTMESH_DASHBOARD_TOKEN"


def dashboard(
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    apps: Annotated[
        list[str] | None,
        typer.Option("--app", help="show only this app (repeat for more) [default: every app]"),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="port")] = 8700,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar=TOKEN_ENV,
            show_envvar=True,
            help="require this token for every page; turns actions on",
        ),
    ] = None,
    allow_actions: Annotated[
        bool,
        typer.Option(
            "--allow-actions",
            help="turn actions on (signal, interrupt, cancel, re-run, scrub, pause) with a "
            "generated token, printed in the address",
        ),
    ] = False,
) -> None:
    """Serve the web dashboard: apps, graphs, jobs, the mesh; live.

    Without --dsn it shows the shared embedded Postgres (the one other commands use).
    It listens on 127.0.0.1 unless told otherwise, and refuses any other address
    without a token.
    """
    try:
        import uvicorn

        from hotmesh.dashboard import create_app
        from hotmesh.dashboard.security import check_bind, new_token
    except ImportError as err:
        raise CliError(
            'the dashboard needs its extra: pip install "hotmesh[dashboard]"'
            f" ({err.name} is missing)"
        ) from err
    if allow_actions and not token:
        token = new_token()
    check_bind(host, token)
    dsn = dsn or embedded_dsn()
    app = create_app(dsn, provider=provider.value, apps=apps or None, token=token)
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/"
    if token:
        address += "?token=" + (token if allow_actions and token else "<your token>")
    mode = "actions on" if token else "view only"
    print(f"hotmesh dashboard ({mode}) on {address}", file=sys.stderr, flush=True)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=os.environ.get("HOTMESH_LOG_LEVEL", "warning").lower(),
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    _serve(config, app.state.dashboard)


def _serve(config: Any, dashboard: Any) -> None:
    """Run uvicorn, ending the dashboard's event streams as soon as it is told to stop.

    uvicorn waits for open responses before it stops, and an event stream never ends
    on its own; the browsers reconnect to the next server.
    """
    import uvicorn

    class Server(uvicorn.Server):
        loop: asyncio.AbstractEventLoop | None = None

        async def startup(self, sockets: Any = None) -> None:
            self.loop = asyncio.get_running_loop()
            await super().startup(sockets)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if self.loop is not None:
                self.loop.call_soon_threadsafe(_end_streams, dashboard)
            super().handle_exit(sig, frame)

    Server(config).run()


def _end_streams(dashboard: Any) -> None:
    task = asyncio.ensure_future(dashboard.end_streams())
    _ENDING.add(task)
    task.add_done_callback(_ENDING.discard)


_ENDING: set[asyncio.Future[None]] = set()


def register_dashboard(app: typer.Typer) -> None:
    """Add the ``dashboard`` command to the ``hotmesh`` command line."""
    app.command("dashboard")(dashboard)
