"""The dashboard's ASGI app: pages, fragments for live updates, and the event stream."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from attrs import define, field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from hotmesh.dashboard import history
from hotmesh.dashboard.live import Hub, sse_stream
from hotmesh.dashboard.readmodel import AppSession, DashboardSource
from hotmesh.dashboard.security import COOKIE, SECURITY_HEADERS, csrf_value, has_token
from hotmesh.dashboard.svg import gantt_svg, graph_svg, human_duration, sparkline_svg
from hotmesh.dashboard.views import (
    activity_runs,
    find_graph,
    job_error,
    timeline,
    trigger_input,
    waiting_hooks,
)
from hotmesh.engine.runtime import ENGINE_STREAM
from hotmesh.engine.state import job_data
from hotmesh.errors import CodecError, ConfigError, HotMeshError
from hotmesh.spi.inspect import JOB_STATUSES, JobFilter, JobSummary, VersionInfo

__all__ = ["Dashboard", "create_app"]

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
Handler = Callable[[Request], Awaitable[Response]]


@define
class Dashboard:
    """What the routes share: the source, the token, the per-app live hubs."""

    source: DashboardSource
    token: str | None = None
    hubs: dict[str, Hub] = field(factory=dict)

    @property
    def actions(self) -> bool:
        """Actions are on exactly when a token is set."""
        return self.token is not None

    async def hub(self, session: AppSession) -> Hub:
        """The app's change hub (its watcher starts with the first browser)."""
        hub = self.hubs.get(session.app_id)
        if hub is None:

            async def streams() -> list[str]:
                return [ENGINE_STREAM, *sorted(_worker_topics(await session.versions()))]

            async def watch(names: Any, timeout: float) -> None:
                await session.inspector.watch(names, timeout, consumer="dashboard")

            hub = self.hubs[session.app_id] = Hub(watch, streams)
            hub.start()
        return hub

    async def end_streams(self) -> None:
        """End every open event stream, so a stopping server need not wait for browsers."""
        for hub in self.hubs.values():
            await hub.end_streams()

    async def close(self) -> None:
        """Stop the watchers and leave every app."""
        for hub in self.hubs.values():
            await hub.close()
        self.hubs.clear()
        await self.source.close()


def _worker_topics(versions: list[VersionInfo]) -> set[str]:
    topics: set[str] = set()
    for info in versions:
        for graph in (info.manifest.get("app") or {}).get("graphs") or ():
            for spec in dict(graph.get("activities") or {}).values():
                if isinstance(spec, dict) and spec.get("type") == "worker" and spec.get("topic"):
                    topics.add(str(spec["topic"]))
    return topics


def _topics(versions: list[VersionInfo]) -> list[str]:
    return sorted(
        {
            str(g.get("subscribes"))
            for info in versions
            for g in (info.manifest.get("app") or {}).get("graphs") or ()
            if isinstance(g, dict) and g.get("subscribes")
        }
    )


# -- template helpers ---------------------------------------------------------------------


def _ago(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    seconds = max((dt.datetime.now(dt.UTC) - value).total_seconds(), 0.0)
    return "just now" if seconds < 1 else f"{human_duration(seconds)} ago"


def _when(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def _duration(job: JobSummary) -> str:
    end = job.updated_at if job.semaphore <= 0 else dt.datetime.now(dt.UTC)
    return human_duration((end - job.created_at).total_seconds())


def _job_href(request: Request, app_id: str, job_id: str) -> str:
    """The path of a job's page; the id is quoted whole (ids may hold ``/``, ``?``, ``#``)."""
    return f"{request.url_for('jobs', app=app_id).path}/{quote(str(job_id), safe='')}"


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters.update(
    ago=_ago,
    when=_when,
    pretty=_pretty,
    duration=_duration,
    compact=lambda v: json.dumps(v, ensure_ascii=False, default=str),
    error_message=lambda meta: str((job_error(meta) or {}).get("message", "")),
)
templates.env.globals.update(statuses=JOB_STATUSES, job_href=_job_href)


def _dash(request: Request) -> Dashboard:
    found: Dashboard = request.app.state.dashboard
    return found


def _render(
    request: Request,
    name: str,
    context: dict[str, Any],
    status: int = 200,
    *,
    fragment: str | None = None,
) -> Response:
    """The page, or only its live part (``fragment``) when asked with ``?fragment=1``."""
    dash = _dash(request)
    context.setdefault("flash", request.query_params.get("flash", ""))
    context.setdefault("flash_error", request.query_params.get("error", ""))
    context["actions"] = dash.actions
    context["csrf"] = csrf_value(dash.token) if dash.token else ""
    if fragment is not None and request.query_params.get("fragment") == "1":
        name = fragment
    return templates.TemplateResponse(request, name, context, status_code=status)


def guarded(handler: Handler) -> Handler:
    """Require the token when one is set; add the security headers; show errors as pages."""

    async def endpoint(request: Request) -> Response:
        dash = _dash(request)
        if dash.token is not None:
            if not has_token(request, dash.token):
                response: Response = HTMLResponse(
                    "<!doctype html><title>hotmesh dashboard</title><p>This dashboard needs its"
                    " token: open the address <code>hotmesh dashboard</code> printed.</p>",
                    status_code=401,
                )
                return _secure(response)
            if "token" in request.query_params and request.method == "GET":
                rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
                response = RedirectResponse(target, status_code=303)
                response.set_cookie(
                    COOKIE, dash.token, httponly=True, samesite="strict",
                    path=request.scope.get("root_path") or "/",
                )  # fmt: skip
                return _secure(response)
        try:
            response = await handler(request)
        except HotMeshError as err:
            status = 404 if "no app" in str(err) or "not found" in str(err).lower() else 400
            response = _render(request, "error.html", {"message": str(err)}, status)
        return _secure(response)

    endpoint.__name__ = handler.__name__
    return endpoint


def _secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# -- pages --------------------------------------------------------------------------------


async def home(request: Request) -> Response:
    """Every app: active version, versions, approximate job count (no app is joined)."""
    return _render(request, "home.html", {"apps": await _dash(request).source.apps()})


async def app_page(request: Request) -> Response:
    """An app's versions, and each graph of the chosen one as a picture."""
    session = await _session(request)
    versions = await session.versions()
    chosen = request.query_params.get("version")
    shown = next(
        (v for v in versions if v.version == chosen),
        next((v for v in versions if v.active), versions[0] if versions else None),
    )
    graphs = []
    if shown is not None:
        for i, graph in enumerate((shown.manifest.get("app") or {}).get("graphs") or ()):
            graphs.append(
                {
                    "subscribes": graph.get("subscribes"),
                    "publishes": graph.get("publishes"),
                    "expire": graph.get("expire"),
                    "hooks": sorted(dict(graph.get("hooks") or {})),
                    "svg": graph_svg(graph, uid=f"v{i}"),
                }
            )
    return _render(
        request,
        "app.html",
        {"app_id": session.app_id, "versions": versions, "shown": shown, "graphs": graphs},
    )


def _filter(request: Request) -> tuple[JobFilter, dict[str, str]]:
    q = request.query_params
    form = {k: q.get(k, "").strip() for k in ("topic", "status", "since", "until", "field",
                                              "value", "job_id", "after", "limit")}  # fmt: skip
    if form["status"] and form["status"] not in JOB_STATUSES:
        raise ConfigError(f"unknown status {form['status']!r}; one of {', '.join(JOB_STATUSES)}")
    after = None
    if form["after"]:
        stamp, sep, job_id = form["after"].partition("~")
        after = (_parse_time(stamp, "after"), job_id) if sep else None
        if after is None:
            raise ConfigError("malformed page cursor")
    return (
        JobFilter(
            topic=form["topic"] or None,
            status=form["status"] or None,
            since=_parse_time(form["since"], "since") if form["since"] else None,
            until=_parse_time(form["until"], "until") if form["until"] else None,
            search=(form["field"], form["value"]) if form["field"] else None,
            job_id=form["job_id"] or None,
            after=after,
            limit=_int(form["limit"], 50, 1, 500),
        ),
        form,
    )


def _parse_time(text: str, name: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as err:
        raise ConfigError(f"{name}: not a date and time: {text!r}") from err
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _int(text: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(text or default), low), high)
    except ValueError:
        return default


async def jobs_page(request: Request) -> Response:
    """The job list: filters, one page, a link to the next (older) page."""
    session = await _session(request)
    query, form = _filter(request)
    page = await session.inspector.list_jobs(query)
    older = None
    if page.next_cursor is not None:
        stamp, job_id = page.next_cursor
        rest = {k: v for k, v in form.items() if v and k != "after"}
        older = urlencode({**rest, "after": f"{stamp.isoformat()}~{job_id}"})
    context = {
        "app_id": session.app_id,
        "page": page,
        "form": form,
        "older": older,
        "topics": _topics(await session.versions()),
        "live_query": urlencode({**{k: v for k, v in form.items() if v}, "fragment": "1"}),
        "ranges": _ranges(form),
        "newest": urlencode({k: v for k, v in form.items() if v and k != "after"}),
        "total": await session.inspector.approximate_jobs(),
    }
    return _render(request, "jobs.html", context, fragment="_jobs_table.html")


def _ranges(form: dict[str, str]) -> list[tuple[str, str]]:
    """Quick time ranges: the current filters with ``since`` set that far back."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    keep = {k: v for k, v in form.items() if v and k not in ("since", "until", "after")}
    out = []
    for label, minutes in (("15 min", 15), ("1 h", 60), ("24 h", 1440), ("7 d", 10080)):
        since = now - dt.timedelta(minutes=minutes)
        out.append((label, urlencode({**keep, "since": since.isoformat()})))
    out.append(("all", urlencode(keep)))
    return out


async def job_page(request: Request) -> Response:
    """One job: status, input, output, error, timeline, graph with its path, relatives."""
    session = await _session(request)
    job_id = request.path_params["job_id"]
    try:
        job = await session.inspector.job(job_id)
    except CodecError as err:
        return _render(request, "error.html", {"message": str(err)}, 409)
    if job is None:
        return _render(
            request, "error.html", {"message": f"job {job_id!r} not found (or expired)"}, 404
        )
    meta = job.summary.metadata
    versions = await session.versions()
    graph = find_graph(versions, str(meta.get("vrs", "")), job.summary.topic)
    runs = activity_runs(job, graph)
    now = dt.datetime.now(dt.UTC)
    bars = timeline(runs, job.summary.semaphore > 0)
    context = {
        "app_id": session.app_id,
        "job": job,
        "meta": meta,
        "input": trigger_input(job),
        "output": job_data(job.state),
        "error": job_error(meta),
        "runs": runs,
        "gantt": gantt_svg(bars, now=now) if bars else "",
        "graph": graph_svg(
            graph,
            done=[r.activity for r in runs if r.state == "done"],
            active=[r.activity for r in runs if r.state == "active"],
            failed=[r.activity for r in runs if r.state == "failed"],
            uid="job",
        )
        if graph
        else "",
        "hooks": waiting_hooks(runs, graph),
        "children": await session.inspector.children(job.summary),
        "search": {k[1:]: v for k, v in job.state.items() if k.startswith("_")},
        "history": await history.render(session.app_id, job),
    }
    return _render(request, "job.html", context, fragment="_job_body.html")


async def mesh_page(request: Request) -> Response:
    """Roll call by member, stream depths, throughput, throttle controls."""
    session = await _session(request)
    profiles = await session.roll_call()
    members: dict[str, list[Any]] = {}
    for profile in profiles:
        members.setdefault(profile.guid, []).append(profile)
    streams = await session.inspector.streams()
    minutes = 30
    series = await session.throughput(minutes)
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(
        minutes=minutes - 1
    )
    started = [0] * minutes
    finished = [0] * minutes
    for minute, began, closed in series:
        index = int((minute - start).total_seconds() // 60)
        if 0 <= index < minutes:
            started[index] += began
            finished[index] += closed
    worker_topics = sorted({p.worker_topic for p in profiles if p.worker_topic})
    context = {
        "app_id": session.app_id,
        "members": members,
        "streams": streams,
        "topics": worker_topics,
        "started": sum(started),
        "finished": sum(finished),
        "spark_started": sparkline_svg(started, label="jobs started per minute"),
        "spark_finished": sparkline_svg(finished, label="jobs finished per minute"),
    }
    return _render(request, "mesh.html", context, fragment="_mesh_body.html")


async def events(request: Request) -> Response:
    """Server-Sent Events for one app: ``change`` whenever its jobs may have moved."""
    session = await _session(request)
    hub = await _dash(request).hub(session)
    limit = request.query_params.get("limit")
    stream: AsyncIterator[str] = sse_stream(
        hub, request.is_disconnected, limit=int(limit) if limit and limit.isdigit() else None
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"x-accel-buffering": "no", "cache-control": "no-store"},
    )


async def health(request: Request) -> Response:
    """Liveness (no database call)."""
    return PlainTextResponse("ok")


async def _session(request: Request) -> AppSession:
    return await _dash(request).source.session(request.path_params["app"])


def create_app(
    dsn: str,
    *,
    provider: str = "asyncpg",
    apps: list[str] | None = None,
    token: str | None = None,
) -> Starlette:
    """The dashboard as an ASGI app, to serve with uvicorn or mount in your own server.

    ``token`` turns on actions and protects every page (see
    :mod:`hotmesh.dashboard.security`); without one the dashboard only shows.

    Example:
        >>> from hotmesh.dashboard import create_app
        >>> app = create_app("postgresql://localhost/db", apps=["shop"])  # doctest: +SKIP
        >>> # uvicorn.run(app, host="127.0.0.1", port=8700)
    """
    from hotmesh.dashboard.actions import act

    dashboard = Dashboard(DashboardSource(dsn, provider, apps), token=token)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await dashboard.close()

    routes = [
        Route("/", guarded(home), name="home"),
        Route("/healthz", health, name="health"),
        Route("/apps/{app}", guarded(app_page), name="app"),
        Route("/apps/{app}/jobs", guarded(jobs_page), name="jobs"),
        Route("/apps/{app}/jobs/{job_id:path}", guarded(job_page), name="job"),
        Route("/apps/{app}/mesh", guarded(mesh_page), name="mesh"),
        Route("/apps/{app}/events", guarded(events), name="events"),
        Route("/apps/{app}/act/{action}", guarded(act), methods=["POST"], name="act"),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.dashboard = dashboard
    return app
