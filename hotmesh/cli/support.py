"""Plumbing of the ``hotmesh`` command line: shared options, connecting, input and output.

Nothing here imports a database driver: providers are named (``"asyncpg"``,
``"psycopg"``) and loaded by the plugin system when a command connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Annotated, Any, TypeVar

import typer
from attrs import define

from hotmesh.hotmesh import HotMesh

__all__ = [
    "APP_ENV",
    "DSN_ENV",
    "AppOption",
    "CliError",
    "DsnOption",
    "Provider",
    "ProviderOption",
    "Target",
    "connect",
    "embedded_dsn",
    "fresh_embedded_dsn",
    "one_line",
    "parse_json",
    "print_json",
    "run",
    "stdout_console",
]

T = TypeVar("T")

DSN_ENV = "HOTMESH_DSN"
APP_ENV = "HOTMESH_APP"


class CliError(Exception):
    """A user-facing failure: printed as ``error: <message>``, exit ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class Provider(enum.StrEnum):
    """The database providers the CLI can name."""

    asyncpg = "asyncpg"
    psycopg = "psycopg"


DsnOption = Annotated[
    str | None,
    typer.Option(
        "--dsn",
        envvar=DSN_ENV,
        show_envvar=True,
        help="Postgres DSN (default: the embedded Postgres in the user cache dir)",
    ),
]
ProviderOption = Annotated[
    Provider, typer.Option("--provider", help="database driver", case_sensitive=False)
]
AppOption = Annotated[
    str | None,
    typer.Option("--app", envvar=APP_ENV, show_envvar=True, help="the app id"),
]


@define(frozen=True)
class Target:
    """Where a command connects: DSN (None: the shared embedded cluster), driver, app."""

    dsn: str | None
    provider: Provider
    app: str | None

    def app_id(self) -> str:
        """The app id, or a usage error naming how to give one."""
        if not self.app:
            raise CliError(f"which app? give --app APP_ID or set {APP_ENV}", exit_code=2)
        return self.app


def one_line(message: object) -> str:
    """``message`` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(message).split())


def embedded_dsn() -> str:
    """The DSN of the shared embedded cluster (started, or joined, in the user cache dir)."""
    from hotmesh import embedded

    return embedded.dsn()


def fresh_embedded_dsn(prefix: str) -> str:
    """Start a throwaway embedded cluster (deleted at exit) and return its DSN."""
    from hotmesh.embedded import throwaway

    return throwaway(prefix).dsn


def connection(dsn: str, provider: Provider, **options: Any) -> dict[str, Any]:
    """A ``connection`` mapping for ``HotMesh.init`` naming the provider by name."""
    return {"class": provider.value, "options": {"dsn": dsn, **options}}


@contextlib.asynccontextmanager
async def connect(target: Target, app_id: str | None = None) -> AsyncIterator[HotMesh]:
    """An engine-only, read-only ``HotMesh`` for the target's app (stopped on exit).

    Read-only: it publishes, reads and takes part in the quorum, but never claims from
    the engine stream, so running a command never steals work from the app's engines.
    """
    dsn = target.dsn if target.dsn else await asyncio.to_thread(embedded_dsn)
    hm = await HotMesh.init(
        app_id=app_id or target.app_id(),
        engine={"connection": connection(dsn, target.provider, max_size=4), "readonly": True},
    )
    try:
        yield hm
    finally:
        await hm.stop()


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run a command's coroutine to completion on a new event loop."""

    async def main() -> T:
        return await work()

    return asyncio.run(main())


def parse_json(text: str, what: str = "the job data") -> dict[str, Any]:
    """Parse a JSON object given on the command line (``-`` reads standard input).

    Raises:
        CliError: not JSON, or not an object.
    """
    if text == "-":
        text = sys.stdin.read()
    try:
        value = json.loads(text)
    except ValueError as err:
        raise CliError(f"{what} is not valid JSON ({err}): {text[:60]!r}") from err
    if not isinstance(value, Mapping):
        raise CliError(f"{what} must be a JSON object, got {type(value).__name__}: {text[:60]!r}")
    return dict(value)


def stdout_console() -> Any:
    """A rich console on standard output; wide when output is not a terminal (no wrapping)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=240)


def print_json(value: Any) -> None:
    """Print ``value`` to standard output as indented JSON (pipe-friendly, no colour)."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")
