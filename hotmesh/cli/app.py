"""The ``hotmesh`` command line.

    hotmesh demo                          # embedded Postgres, order workflow, throughput
    hotmesh deploy app.yaml --activate    # app id read from the YAML
    hotmesh pubsub order.placed '{"id": "ORD-1"}' --app shop
    hotmesh roll-call --app shop          # a table of every engine and worker
    hotmesh throttle -1 --app shop        # pause the app (0 resumes)
    hotmesh serve shop:config --processes 2   # host a module's engine and workers
    hotmesh dashboard                     # the web dashboard on http://127.0.0.1:8700/

Every command takes ``--dsn`` (or ``$HOTMESH_DSN``; default: the shared embedded Postgres
in the user cache dir, so commands see each other's work across invocations),
``--provider asyncpg|psycopg`` and ``--app`` (or ``$HOTMESH_APP``). ``demo`` and ``bench``
default to a fresh, throwaway embedded Postgres instead, so they never touch your data.

Commands connect as a read-only engine: they publish, read state and take part in the
quorum, but never claim work from the app's engines. Jobs published with ``pub`` or
``pubsub`` therefore run on the app's own engines and workers.

Errors a user can cause (bad JSON, unknown topic, unreachable database, wrong password…)
print one ``error: ...`` line on standard error and exit 1 (2 for usage errors).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hotmesh.cli.dashboard import register_dashboard
from hotmesh.cli.serve import register_serve
from hotmesh.cli.support import (
    AppOption,
    CliError,
    DsnOption,
    Provider,
    ProviderOption,
    Target,
    connect,
    one_line,
    parse_json,
    print_json,
    run,
    stdout_console,
)
from hotmesh.cli.tools import register_tools
from hotmesh.errors import HotMeshError, PubSubTimeout
from hotmesh.types import JobState, JobStatus

__all__ = ["app", "main"]

app = typer.Typer(
    name="hotmesh",
    help="Durable workflows on nothing but Postgres.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from hotmesh import __version__

        print(f"hotmesh {__version__}")
        raise typer.Exit(0)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Durable workflows on nothing but Postgres."""


JsonArg = Annotated[
    str, typer.Argument(metavar="JSON", help="the job data, a JSON object ('-' reads stdin)")
]


# -- versions ------------------------------------------------------------------------------


def _app_of(file: Path) -> str | None:
    """``app.id`` of a YAML app file, when it can be read."""
    import yaml

    try:
        data = yaml.safe_load(file.read_text())
        value = data["app"]["id"]
    except Exception:
        return None
    return str(value) if value else None


@app.command()
def deploy(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="the YAML app file")],
    activate: Annotated[
        bool, typer.Option("--activate", help="activate the version once deployed")
    ] = False,
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
) -> None:
    """Compile and store a YAML app version (the app id defaults to the file's app.id)."""
    if not file.is_file():
        raise CliError(f"cannot read {file}: no such file")
    app_id = app_id or _app_of(file)
    target = Target(dsn, provider, app_id)

    async def work() -> None:
        async with connect(target) as hm:
            manifest = await hm.deploy(str(file))
            for problem in manifest.warnings:
                print(f"warning: {one_line(problem)}", file=sys.stderr)
            print(f"deployed app {manifest.id!r} version {manifest.version!r}")
            if activate:
                await hm.activate(manifest.version)
                print(f"activated app {manifest.id!r} version {manifest.version!r}")

    run(work)


@app.command("activate")
def activate_version(
    version: Annotated[str, typer.Argument(metavar="VERSION", help="a deployed version")],
    timeout: Annotated[
        float, typer.Option("--timeout", help="seconds for every engine to confirm")
    ] = 10.0,
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
) -> None:
    """Make VERSION the active version of the app, across every engine of the mesh."""
    target = Target(dsn, provider, app_id)

    async def work() -> None:
        async with connect(target) as hm:
            await hm.activate(version, timeout=timeout)
            print(f"activated app {hm.app_id!r} version {version!r}")

    run(work)


# -- jobs ----------------------------------------------------------------------------------


@app.command()
def pub(
    topic: Annotated[str, typer.Argument(metavar="TOPIC", help="the topic a graph subscribes to")],
    data: JsonArg = "{}",
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
) -> None:
    """Start a job; print its id (the app's engines run it)."""
    payload = parse_json(data)
    target = Target(dsn, provider, app_id)

    async def work() -> None:
        async with connect(target) as hm:
            print(await hm.pub(topic, payload))
            missing = await _who_is_missing(hm, workers=False)
            if missing:
                print(f"warning: {missing}", file=sys.stderr)

    run(work)


_NO_ENGINE = (
    "no engine of app {app!r} answered: the job waits until one runs. Start one with "
    "'hotmesh serve MODULE:CONFIG' (see 'hotmesh serve --help'), or HotMesh.init(app_id="
    "{app!r}, engine=..., workers=[...]) in your program"
)


async def _who_is_missing(hm: Any, *, workers: bool) -> str | None:
    """Why a job of the app cannot run: no engine (or, with ``workers``, no worker)
    answers a roll call."""
    profiles = [p for p in await hm.roll_call(0.5) if p.guid != hm.guid]
    if not any(p.role == "engine" and not p.readonly for p in profiles):
        return _NO_ENGINE.format(app=hm.app_id)
    if workers and not any(p.role == "worker" for p in profiles):
        return (
            f"no worker of app {hm.app_id!r} answered: jobs wait at their first worker "
            "activity. Start the workers with 'hotmesh serve MODULE:CONFIG' or "
            "HotMesh.init(workers=[...]) in your program"
        )
    return None


@app.command()
def pubsub(
    topic: Annotated[str, typer.Argument(metavar="TOPIC", help="the topic a graph subscribes to")],
    data: JsonArg = "{}",
    timeout: Annotated[float, typer.Option("--timeout", help="seconds to wait")] = 10.0,
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
) -> None:
    """Start a job and wait for its result; print it as JSON ({"metadata", "data"})."""
    payload = parse_json(data)
    target = Target(dsn, provider, app_id)

    async def work() -> None:
        async with connect(target) as hm:
            try:
                output = await hm.pubsub(topic, payload, timeout=timeout)
            except PubSubTimeout:
                missing = await _who_is_missing(hm, workers=True)
                if missing:
                    raise CliError(missing) from None
                raise
            print_json(output.to_dict())

    run(work)


@app.command()
def status(
    job_id: Annotated[str, typer.Argument(metavar="JOB_ID", help="the job id")],
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
) -> None:
    """Print the job's semaphore and status: complete, failed: <message>, running, interrupted."""
    target = Target(dsn, provider, app_id)

    async def work() -> None:
        async with connect(target) as hm:
            state = await hm.get_status(job_id, detail=True)
        print(f"{state.semaphore} {status_text(state)}")

    run(work)


def status_text(state: JobState) -> str:
    """How ``status`` describes a job: ``complete``, ``failed: <message>``, ``running``…"""
    if state.status is JobStatus.FAILED:
        return f"failed: {(state.error or {}).get('message', 'error')}"
    if state.status is JobStatus.COMPLETED:
        return "complete"
    return state.status.value


@app.command()
def state(
    job_id: Annotated[str, typer.Argument(metavar="JOB_ID", help="the job id")],
    legacy_id: Annotated[
        str | None,
        typer.Argument(hidden=True, help="the old form 'state TOPIC JOB_ID' still works"),
    ] = None,
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
) -> None:
    """Print the job's metadata and data as JSON."""
    target = Target(dsn, provider, app_id)
    topic, job_id = (job_id, legacy_id) if legacy_id is not None else ("", job_id)

    async def work() -> None:
        async with connect(target) as hm:
            print_json((await hm.get_state(topic, job_id)).to_dict())

    run(work)


@app.command("export")
def export_job(
    job_id: Annotated[str, typer.Argument(metavar="JOB_ID", help="the job id")],
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
    enrich_inputs: Annotated[
        bool, typer.Option("--enrich-inputs", help="add each activity's input")
    ] = False,
) -> None:
    """Print the job's full record (status, process, activities) as JSON."""
    target = Target(dsn, provider, app_id)

    async def work() -> None:
        async with connect(target) as hm:
            export = await hm.export(job_id, enrich_inputs=enrich_inputs)
            # The reference's sections, and whether the job failed (and why).
            print_json({**export.to_dict(), "job_status": export.job_status, "error": export.error})

    run(work)


# -- the mesh ------------------------------------------------------------------------------


def _throttle_text(delay: float) -> str:
    if delay < 0:
        return "paused"
    return "full speed" if delay == 0 else f"{delay:g}s"


@app.command("roll-call")
def roll_call(
    delay: Annotated[
        float | None,
        typer.Option("--delay", help="seconds to collect answers (default: until quiet)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON, not a table")] = False,
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
) -> None:
    """List every live engine and worker of the app, in every process."""
    target = Target(dsn, provider, app_id)

    async def work() -> list[Any]:
        async with connect(target) as hm:
            return [p for p in await hm.roll_call(delay) if p.guid != hm.guid]

    profiles = run(work)
    if as_json:
        print_json([p.to_dict() for p in profiles])
        return
    if not profiles:
        print(f"no engine or worker of app {target.app_id()!r} answered")
        return
    from rich.table import Table

    table = Table(title=f"app {target.app_id()!r}: {len(profiles)} answered")
    for name in ("role", "stream", "version", "guid", "host:pid"):
        table.add_column(name)
    for name in ("processed", "failed", "errors", "in flight", "depth"):
        table.add_column(name, justify="right")
    table.add_column("throttle")
    for p in profiles:
        table.add_row(
            p.role + (" (read-only)" if p.readonly else ""),
            p.stream,
            p.version or "",
            p.guid,
            f"{p.host}:{p.pid}",
            str(p.processed),
            str(p.failed),
            str(p.error_count),
            str(p.in_flight),
            str(p.stream_depth),
            _throttle_text(p.throttle),
        )
    stdout_console().print(table)


@app.command(context_settings={"ignore_unknown_options": True})
def throttle(
    seconds: Annotated[
        float,
        typer.Argument(metavar="SECONDS", help="seconds between messages: 0 full speed, -1 pause"),
    ],
    guid: Annotated[
        str | None, typer.Option("--guid", help="only this member's engine and workers")
    ] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="only this worker topic")] = None,
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
) -> None:
    """Slow down, pause (-1) or resume (0) consumption across the mesh; persisted."""
    if seconds < 0 and seconds != -1:
        raise CliError("SECONDS must be >= 0, or -1 to pause", exit_code=2)
    target = Target(dsn, provider, app_id)
    scope = " ".join(
        part
        for part in (f"member {guid}" if guid else "", f"topic {topic}" if topic else "")
        if part
    )

    async def work() -> None:
        async with connect(target) as hm:
            await hm.throttle(seconds, guid=guid, topic=topic)
        where = f"app {target.app_id()!r}" + (f" ({scope})" if scope else "")
        if seconds == -1:
            print(f"paused {where}")
        elif seconds == 0:
            print(f"resumed {where} at full speed")
        else:
            print(f"throttled {where} to one message every {seconds:g}s")

    run(work)


register_tools(app)
register_serve(app)
register_dashboard(app)


# -- entry point ---------------------------------------------------------------------------


def _usage_error(err: Exception) -> str | None:
    """The one-line message of a command-line usage error (click's or typer's), else None."""
    format_message = getattr(err, "format_message", None)
    if format_message is None or not isinstance(getattr(err, "exit_code", None), int):
        return None
    ctx = getattr(err, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return one_line(format_message()) + hint


def main(argv: list[str] | None = None) -> int:
    """Run the ``hotmesh`` command line; return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        args = ["--help"]
    logging.basicConfig(
        level=os.environ.get("HOTMESH_LOG_LEVEL", "ERROR").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    command = typer.main.get_command(app)
    try:
        result = command.main(args, prog_name="hotmesh", standalone_mode=False)
    except CliError as err:
        print(f"error: {one_line(err.message)}", file=sys.stderr)
        return err.exit_code
    except HotMeshError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 1
    except typer.Exit as err:
        return int(err.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("aborted", file=sys.stderr)
        return 130
    except Exception as err:
        message = _usage_error(err)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return int(getattr(err, "exit_code", 2))
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
