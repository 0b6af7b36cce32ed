"""The dashboard's actions: signal, interrupt, cancel, re-run, scrub, throttle.

Every action is a POST carrying the token (cookie or bearer) and the form's ``csrf``
value; without a token the dashboard has no actions at all. Each goes through the
read-only :class:`~hotmesh.HotMesh` of the app, as a program would.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from hotmesh.dashboard.security import csrf_value, safe_next
from hotmesh.errors import ConfigError, HotMeshError
from hotmesh.spi.inspect import JobFilter

__all__ = ["ACTIONS", "act"]

log = logging.getLogger(__name__)

ACTIONS = ("signal", "interrupt", "cancel", "rerun", "scrub", "throttle")
MAX_FORM_BYTES = 256 * 1024


async def act(request: Request) -> Response:
    """Run one action and go back to the page it came from, with a message."""
    from hotmesh.dashboard.app import _dash

    dash = _dash(request)
    action = request.path_params["action"]
    if dash.token is None:
        return PlainTextResponse(
            "actions are off: start the dashboard with --token or --allow-actions", 403
        )
    form = await _form(request)
    offered = form.get("csrf", "")
    if not hmac.compare_digest(offered.encode(), csrf_value(dash.token).encode()):
        return PlainTextResponse("refused: this form does not carry the dashboard's token", 403)
    if action not in ACTIONS:
        return PlainTextResponse(f"unknown action {action!r}", 404)
    app_id = request.path_params["app"]
    session = await dash.source.session(app_id)
    jobs = request.url_for("jobs", app=app_id).path  # under a mount, with its prefix
    back = safe_next(form.get("next"), jobs)
    try:
        message, back = await _run(session.hm, action, form, jobs, back)
        query = {"flash": message}
    except HotMeshError as err:
        query = {"error": f"{action} failed: {err}"}
    except Exception as err:  # the database refused (a read-only role, a lost connection)
        log.warning("dashboard action %s failed", action, exc_info=True)
        query = {"error": f"{action} failed: {type(err).__name__}: {err}"}
    session.forget()
    hub = dash.hubs.get(app_id)
    if hub is not None:
        await hub.bump()
    separator = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{separator}{urlencode(query)}", status_code=303)


async def _run(
    hm: Any, action: str, fields: dict[str, str], jobs: str, back: str
) -> tuple[str, str]:
    """Do ``action``; return the message to show and the page to show it on."""
    job_id = fields.get("job_id", "")
    if action == "throttle":
        delay = _number(fields.get("delay", ""))
        await hm.throttle(delay, guid=fields.get("guid") or None, topic=fields.get("topic") or None)
        scope = fields.get("topic") or fields.get("guid") or "the whole app"
        what = "paused" if delay == -1 else "resumed" if delay == 0 else f"throttled to {delay:g}s"
        return f"{what}: {scope}", back
    if not job_id:
        raise ConfigError(f"{action} needs a job id", value="job_id")
    if action == "signal":
        topic = fields.get("topic", "")
        data = _json_object(fields.get("data", "{}"))
        await hm.signal(topic, data)
        return f"signalled {topic}", back
    if action == "interrupt":
        page = await hm.inspector().list_jobs(JobFilter(job_id=job_id))
        if not page.jobs:
            raise ConfigError(f"job {job_id!r} not found", value=job_id)
        await hm.interrupt(page.jobs[0].topic, job_id, reason="interrupted from the dashboard")
        return f"interrupted {job_id}", back
    if action == "cancel":
        await hm.cancel(job_id)
        return f"flagged {job_id} as cancelled", back
    if action == "scrub":
        await hm.scrub(job_id)
        return f"scrubbed {job_id}", jobs
    # rerun: the same topic and input, as a new job
    detail = await hm.inspector().job(job_id)
    if detail is None:
        raise ConfigError(f"job {job_id!r} not found", value=job_id)
    from hotmesh.dashboard.views import trigger_input

    data = trigger_input(detail) or {}
    new_id = await hm.pub(detail.summary.topic, data)
    return f"re-ran {job_id} as {new_id}", f"{jobs}/{quote(new_id, safe='')}"


async def _form(request: Request) -> dict[str, str]:
    """The posted ``application/x-www-form-urlencoded`` fields (first value of each)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ConfigError(f"the form is larger than {MAX_FORM_BYTES} bytes", value=len(body))
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError as err:
        raise ConfigError(f"delay must be a number of seconds, got {text!r}", value=text) from err


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError as err:
        raise ConfigError(f"signal data is not JSON: {err}", value=text[:60]) from err
    if not isinstance(value, dict):
        raise ConfigError("signal data must be a JSON object", value=type(value).__name__)
    return value
