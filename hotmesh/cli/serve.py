"""``hotmesh serve MODULE:CONFIG``: host the engine and workers a Python module declares.

The module names an init configuration: a mapping or a
:class:`~hotmesh.config.HotMeshConfig` (what ``HotMesh.init`` takes, callbacks included),
or a function returning one. ``serve`` imports it (the current directory is on the
path), starts a ``HotMesh`` with it, optionally deploys and activates a YAML app, and runs
until SIGTERM or SIGINT, then stops gracefully: nothing new is claimed, running
callbacks get ``--grace`` seconds to finish, and whatever is cut short is redelivered
elsewhere. With ``--processes N`` it starts N such processes (engines and workers of one
app on one host) and forwards the signals to them.

Example module (``shop.py``)::

    async def process(message):
        return {"data": {"status": "fulfilled"}}

    config = {
        "app_id": "shop",
        "engine": {},  # no connection: --dsn, $HOTMESH_DSN, or the embedded Postgres
        "workers": [{"topic": "order.process", "callback": process}],
    }

and ``hotmesh serve shop:config --deploy shop.yaml --processes 2`` (``--deploy`` also
takes ``MODULE:NAME`` naming YAML text in the module).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from hotmesh.cli.support import DSN_ENV, CliError, DsnOption, Provider, ProviderOption
from hotmesh.config import HotMeshConfig, to_config
from hotmesh.hotmesh import HotMesh
from hotmesh.tuning import tune_gc

__all__ = ["load_config", "register_serve"]

log = logging.getLogger("hotmesh.serve")


def _say(*lines: str, stream: TextIO | None = None) -> None:
    """Write ``lines`` (to stdout by default) in one call, and flush.

    The processes of ``serve --processes N`` share one stdout: with ``print`` a line and
    its newline are two writes when Python runs unbuffered (``PYTHONUNBUFFERED``), and two
    processes announcing at once could interleave them into one line.
    """
    out = sys.stdout if stream is None else stream
    out.write("".join(f"{line}\n" for line in lines))
    out.flush()


def _attribute(target: str, what: str) -> Any:
    """The object ``MODULE:NAME`` names (the current directory is on the path)."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise CliError(f"expected MODULE:{what} (like shop:{what.lower()}), got {target!r}", 2)
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise CliError(f"cannot import module {module_name!r}: {err}") from err
    value = getattr(module, attr, None)
    if value is None:
        raise CliError(f"module {module_name!r} has no {attr!r}")
    return value


def yaml_source(deploy: str) -> str:
    """What ``--deploy`` names: a YAML file's path, or ``MODULE:NAME`` holding YAML text."""
    if Path(deploy).is_file():
        return deploy
    if ":" in deploy and not deploy.endswith((".yaml", ".yml")):
        value = _attribute(deploy, "YAML")
        if not isinstance(value, str):
            raise CliError(f"{deploy} must be YAML text, not {type(value).__name__}")
        return value
    raise CliError(f"cannot read {deploy}: no such file")


def load_config(target: str) -> HotMeshConfig | Mapping[str, Any]:
    """The init configuration ``MODULE:NAME`` points at (calling NAME if it is a function).

    Raises:
        CliError: the module or the name cannot be found, or is not a configuration.
    """
    value = _attribute(target, "CONFIG")
    if callable(value) and not isinstance(value, HotMeshConfig):
        value = value()
    if not isinstance(value, HotMeshConfig | Mapping):
        raise CliError(
            f"{target} must be an init config (a dict or HotMeshConfig) or a function "
            f"returning one, not {type(value).__name__}"
        )
    return value


async def _serve(
    target: str, deploy: str | None, grace: float, announce: bool, gc_tuning: bool = True
) -> None:
    config = load_config(target)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    hm = await HotMesh.init(config)
    try:
        if deploy is not None:
            manifest = await hm.deploy(yaml_source(deploy))
            await hm.activate(manifest.version)
            _say(f"deployed and activated app {manifest.id!r} version {manifest.version!r}")
        if gc_tuning:
            tune_gc()
        if announce:
            workers = ", ".join(w.config.topic for w in hm.workers) or "none"
            role = "engine" if hm.engine is not None else "no engine"
            _say(
                f"serving app {hm.app_id!r} (pid {os.getpid()}): {role}; workers: {workers}",
                "stop with Ctrl-C or SIGTERM",
            )
        await stop.wait()
    finally:
        await hm.stop(grace)
    if announce:
        _say(f"stopped app {hm.app_id!r} (pid {os.getpid()})")


def _children(target: str, count: int, grace: float, gc_tuning: bool = True) -> int:
    """Run ``count`` serving processes; forward SIGTERM/SIGINT; return the worst exit.

    A process that exits on its own (it crashed, or was killed) stops the others: ``serve``
    then exits non-zero, so whatever supervises it (systemd, Kubernetes) sees the failure
    and restarts the whole, instead of a host quietly serving with fewer processes. The
    jobs the stopped processes held are redelivered.
    """
    command = [sys.executable, "-m", "hotmesh.cli", "serve", target, "--grace", str(grace)]
    if not gc_tuning:
        command.append("--default-gc")
    procs = [subprocess.Popen(command) for _ in range(count)]
    stopping = False

    def forward(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    if os.name != "posix":  # pragma: no cover - no os.waitpid(-1) on Windows
        return max((abs(proc.wait()) for proc in procs), default=0)
    running = {proc.pid: proc for proc in procs}
    unexpected = False
    while running:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:  # pragma: no cover - reaped elsewhere
            break
        proc = running.pop(pid, None)
        if proc is None:  # pragma: no cover - not one of ours
            continue
        proc.returncode = os.waitstatus_to_exitcode(status)
        if not stopping:
            unexpected = True
            how = (
                f"was killed by signal {-proc.returncode}"
                if proc.returncode < 0
                else f"exited with code {proc.returncode}"
            )
            _say(f"serving process {pid} {how}: stopping the others", stream=sys.stderr)
            forward(signal.SIGTERM, None)
    worst = max((abs(proc.returncode or 0) for proc in procs), default=0)
    return max(worst, 1) if unexpected else worst


def serve(
    target: Annotated[str, typer.Argument(metavar="MODULE:CONFIG", help="the init config to host")],
    deploy: Annotated[
        str | None,
        typer.Option(
            "--deploy",
            metavar="FILE|MODULE:YAML",
            help="a YAML app (a file, or a module's YAML text) to deploy and activate first",
        ),
    ] = None,
    processes: Annotated[
        int, typer.Option("--processes", min=1, help="serving processes on this host")
    ] = 1,
    grace: Annotated[
        float, typer.Option("--grace", help="seconds running callbacks get at stop")
    ] = 10.0,
    dsn: DsnOption = None,
    provider: ProviderOption = Provider.asyncpg,
    default_gc: Annotated[
        bool,
        typer.Option(
            "--default-gc",
            help="keep Python's garbage-collector settings (default: hotmesh.tune_gc once "
            "started: hotmesh frees its objects without the collector's help)",
        ),
    ] = False,
) -> None:
    """Host the engine and workers MODULE:CONFIG declares, until SIGTERM or Ctrl-C.

    CONFIG is what HotMesh.init takes (a dict or HotMeshConfig, callbacks included), or a
    function returning it. Without a connection in it, --dsn (or $HOTMESH_DSN) is used,
    else the embedded Postgres. Once started, each process tunes Python's garbage
    collector for a long-running hotmesh process (hotmesh.tune_gc; --default-gc: not).
    """
    if dsn:
        os.environ[DSN_ENV] = dsn
    os.environ.setdefault("HOTMESH_PROVIDER", provider.value)
    if "HOTMESH_LOG_LEVEL" not in os.environ:  # failed attempts are worth seeing here
        logging.getLogger("hotmesh").setLevel(logging.WARNING)
    load_config(target)  # fail here, once, on a bad target
    if deploy is not None:
        yaml_source(deploy)
    if processes == 1:
        asyncio.run(_serve(target, deploy, grace, announce=True, gc_tuning=not default_gc))
        return
    if deploy is not None:  # deploy once, before the processes start

        async def first() -> None:
            await _deploy_only(target, deploy)

        asyncio.run(first())
    _say(f"starting {processes} processes serving {target}")
    code = _children(target, processes, grace, gc_tuning=not default_gc)
    if code:
        raise typer.Exit(code)


async def _deploy_only(target: str, deploy: str) -> None:
    config = to_config(load_config(target))
    connection = config.engine.connection if config.engine is not None else None
    hm = await HotMesh.init(
        app_id=config.app_id, engine={"connection": connection, "readonly": True}
    )
    try:
        manifest = await hm.deploy(yaml_source(deploy))
        await hm.activate(manifest.version)
        _say(f"deployed and activated app {manifest.id!r} version {manifest.version!r}")
    finally:
        await hm.stop()


def register_serve(app: typer.Typer) -> None:
    """Add ``serve`` to the ``hotmesh`` app."""
    app.command()(serve)
