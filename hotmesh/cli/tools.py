"""``hotmesh demo``, ``hotmesh bench`` and ``hotmesh workers``: the CLI's larger tools."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hotmesh.cli.support import (
    AppOption,
    CliError,
    DsnOption,
    Provider,
    ProviderOption,
    Target,
    connection,
    embedded_dsn,
    fresh_embedded_dsn,
    print_json,
    run,
    stdout_console,
)
from hotmesh.mesh import roles

__all__ = ["register_tools"]


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _progress(console: Any) -> Any:
    """A rich progress bar on standard error (so standard output stays the result)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def demo(
    orders: Annotated[int, typer.Option("--orders", "-n", min=1, help="orders to run")] = 500,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="orders in flight")
    ] = 50,
    dsn: Annotated[
        str | None,
        typer.Option(
            "--dsn",
            envvar="HOTMESH_DSN",
            show_envvar=True,
            help="Postgres DSN (default: a fresh, throwaway embedded Postgres)",
        ),
    ] = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep",
            help="run on the shared embedded Postgres and keep the jobs (for 'hotmesh dashboard')",
        ),
    ] = False,
) -> None:
    """Run the order workflow end to end: deploy, N orders with a progress bar, throughput.

    Without --dsn it starts a fresh embedded Postgres in a temporary folder and deletes
    it afterwards; nothing is left behind. With --keep it uses the shared embedded
    Postgres instead (the one every other command and the dashboard use by default).
    """
    from hotmesh.cli.demo import run_demo

    console = _stderr_console()
    if dsn is None and keep:
        with console.status("starting the shared embedded Postgres…"):
            dsn = embedded_dsn()
    if dsn is None:
        with console.status("starting an embedded Postgres…"):
            dsn = fresh_embedded_dsn("hotmesh-demo-")
    with _progress(console) as bar:
        task = bar.add_task(f"orders via {provider.value}", total=orders)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = run(
            lambda: run_demo(
                dsn,
                provider.value,
                orders,
                concurrency,
                app_id=app_id or "hotmesh-demo",
                progress=advance,
            )
        )
    print(f"first result: {dict(sorted(summary['first'].items()))}")
    print(
        f"{summary['fulfilled']} orders fulfilled via {summary['provider']}: "
        f"{summary['jobs_per_s']:.0f} jobs/s, pubsub p50 {summary['p50_ms']:.1f} ms, "
        f"p95 {summary['p95_ms']:.1f} ms"
    )


def bench(
    jobs: Annotated[int, typer.Option("--jobs", "-n", min=1, help="jobs per level")] = 1000,
    concurrency: Annotated[
        str, typer.Option("--concurrency", "-c", help="comma-separated levels, e.g. 1,10,100")
    ] = "10,50",
    workers: Annotated[int, typer.Option("--workers", min=1, help="worker instances")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON rows, not a table")] = False,
    dsn: Annotated[
        str | None,
        typer.Option(
            "--dsn",
            envvar="HOTMESH_DSN",
            show_envvar=True,
            help="Postgres DSN (default: a fresh, throwaway embedded Postgres)",
        ),
    ] = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
    default_gc: Annotated[
        bool,
        typer.Option(
            "--default-gc",
            help="keep Python's garbage-collector settings (default: hotmesh.tune_gc, as serve)",
        ),
    ] = False,
) -> None:
    """Benchmark the seed workflow: jobs/s, pubsub latency and commits per job per level."""
    from hotmesh.cli.bench import describe_machine, run_provider

    try:
        levels = [int(part) for part in concurrency.split(",") if part.strip()]
    except ValueError as err:
        raise CliError(f"--concurrency must be integers like 1,10,100: {concurrency!r}", 2) from err
    if not levels or min(levels) < 1:
        raise CliError(f"--concurrency must be integers >= 1: {concurrency!r}", 2)
    console = _stderr_console()
    if dsn is None:
        with console.status("starting an embedded Postgres…"):
            dsn = fresh_embedded_dsn("hotmesh-bench-")
    with _progress(console) as bar:
        tasks: dict[str, Any] = {}

        def advance(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done)

        rows = run(
            lambda: run_provider(
                provider.value,
                dsn,
                jobs,
                levels,
                workers,
                app_id=app_id,
                warmup=min(200, jobs),
                progress=advance,
                gc_tuning=not default_gc,
            )
        )
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(
        title=f"seed workflow via {provider.value}",
        caption=describe_machine(rows[0]["machine"]) if rows else None,
    )
    columns = ("concurrency", "jobs", "jobs/s", "p50 ms", "p95 ms", "p99 ms", "commits/job")
    for name in (*columns, "Python CPU ms/job", "of it GC", "Postgres CPU ms/job"):
        table.add_column(name, justify="right")
    for row in rows:
        pg_cpu = row["postgres_cpu_ms_per_job"]
        table.add_row(
            str(row["concurrency"]),
            str(row["jobs"]),
            f"{row['jobs_per_s']:.1f}",
            f"{row['p50_ms']:.2f}",
            f"{row['p95_ms']:.2f}",
            f"{row['p99_ms']:.2f}",
            f"{row['commits_per_job']:.2f}",
            f"{row['python_cpu_ms_per_job']:.2f}",
            f"{row['gc_ms_per_job']:.3f}",
            "n/a (remote)" if pg_cpu is None else f"{pg_cpu:.2f}",
        )
    stdout_console().print(table)


workers_app = typer.Typer(
    name="workers",
    help="Secured worker roles: logins that may only serve their own topics.",
    no_args_is_help=True,
)

TopicsArg = Annotated[list[str], typer.Argument(metavar="TOPIC...", help="worker topics")]
RoleArg = Annotated[str, typer.Argument(metavar="ROLE", help="the worker role's name")]
PasswordOption = Annotated[
    str | None,
    typer.Option("--password", help="use this password instead of a generated one"),
]


def _owner(target: Target) -> tuple[dict[str, Any], str]:
    """The owner's connection and the app id the roles serve."""
    dsn = target.dsn if target.dsn else embedded_dsn()
    return connection(dsn, target.provider), target.app_id()


@workers_app.command("provision")
def provision(
    topics: TopicsArg,
    password: PasswordOption = None,
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
) -> None:
    """Create (or re-enable) a login that may only serve TOPIC...; print its credentials."""
    owner, app = _owner(Target(dsn, provider, app_id))
    credential = run(
        lambda: roles.provision_worker_role(
            connection=owner, namespace=app, password=password, stream_names=topics
        )
    )
    print_json(
        {
            "role_name": credential.role_name,
            "password": credential.password,
            "stream_names": list(credential.stream_names),
        }
    )


@workers_app.command("list")
def list_roles(
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
) -> None:
    """List the app's worker roles (a table)."""
    from rich.table import Table

    owner, app = _owner(Target(dsn, provider, app_id))
    found = run(lambda: roles.list_worker_roles(connection=owner, namespace=app))
    table = Table(title=f"worker roles of {app}")
    for column in ("role", "topics", "created", "rotated", "revoked"):
        table.add_column(column)
    for info in found:
        table.add_row(
            info.role_name,
            ", ".join(info.stream_names),
            f"{info.created_at:%Y-%m-%d %H:%M}",
            f"{info.last_rotated_at:%Y-%m-%d %H:%M}",
            "-" if info.revoked_at is None else f"{info.revoked_at:%Y-%m-%d %H:%M}",
        )
    stdout_console().print(table)


@workers_app.command("revoke")
def revoke(
    role: RoleArg,
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
) -> None:
    """Disable ROLE's login and access (its audit row is kept)."""
    owner, app = _owner(Target(dsn, provider, app_id))
    run(lambda: roles.revoke_worker_role(connection=owner, namespace=app, role_name=role))
    print(f"revoked {role}")


@workers_app.command("rotate")
def rotate(
    role: RoleArg,
    password: PasswordOption = None,
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    app_id: AppOption = None,
) -> None:
    """Give ROLE a new password (generated unless given); print it."""
    owner, app = _owner(Target(dsn, provider, app_id))
    answer = run(
        lambda: roles.rotate_worker_password(
            connection=owner, namespace=app, role_name=role, new_password=password
        )
    )
    print_json(answer)


def register_tools(app: typer.Typer) -> None:
    """Add ``demo``, ``bench`` and the ``workers`` group to the ``hotmesh`` app."""
    app.command()(demo)
    app.command()(bench)
    app.add_typer(workers_app, name="workers")
