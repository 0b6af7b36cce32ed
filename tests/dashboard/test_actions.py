"""Actions: refused without the token, and each one doing what it says with it."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from hotmesh import HotMesh
from hotmesh.dashboard import create_app
from hotmesh.dashboard.security import csrf_value
from hotmesh.errors import JobFailed, JobNotFound

from .conftest import TOKEN
from .test_pages import _wait_status, _waiting_on_hook

CSRF = csrf_value(TOKEN)


async def test_view_only_dashboard_refuses_every_action(
    dashboard: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    job_id = await shop.pub("order.placed", {"id": "R-1"})
    for action in ("signal", "interrupt", "cancel", "rerun", "scrub", "throttle"):
        refused = await dashboard.post(
            f"/apps/{app_id}/act/{action}", data={"job_id": job_id, "delay": "-1"}
        )
        assert refused.status_code == 403, action
        assert "actions are off" in refused.text
    assert await shop.get_status(job_id) > 0  # nothing happened to it


async def test_token_dashboard_refuses_requests_without_the_token(
    hotmesh_provider: str, database: str, app_id: str, shop: HotMesh
) -> None:
    job_id = await shop.pub("order.placed", {"id": "R-2"})
    app = create_app(database, provider=hotmesh_provider, apps=[app_id], token=TOKEN)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as anon:
            assert (await anon.get("/")).status_code == 401
            assert (await anon.get(f"/apps/{app_id}/jobs")).status_code == 401
            posted = await anon.post(
                f"/apps/{app_id}/act/scrub", data={"job_id": job_id, "csrf": CSRF}
            )
            assert posted.status_code == 401
            wrong = await anon.get("/", headers={"authorization": "Bearer nope"})
            assert wrong.status_code == 401
            bearer = await anon.get("/", headers={"authorization": f"Bearer {TOKEN}"})
            assert bearer.status_code == 200
            # The token but not the form's value: a cross-site post is refused.
            forged = await anon.post(
                f"/apps/{app_id}/act/scrub",
                data={"job_id": job_id, "csrf": "x"},
                headers={"authorization": f"Bearer {TOKEN}"},
            )
            assert forged.status_code == 403
    finally:
        await app.state.dashboard.close()
    assert await shop.get_status(job_id) > 0


async def _act(client: httpx.AsyncClient, app_id: str, action: str, **fields: str) -> str:
    response = await client.post(f"/apps/{app_id}/act/{action}", data={"csrf": CSRF, **fields})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert "error=" not in location, location
    return location


async def test_signal_wakes_the_waiting_hook_and_the_job_completes(
    acting: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    job_id = await shop.pub("order.placed", {"id": "S-1"})
    await _waiting_on_hook(shop, job_id)
    page = await acting.get(f"/apps/{app_id}/jobs/{job_id}")
    form = re.search(r'name="data" value="([^"]+)"', page.text)
    assert form is not None and "S-1" in form.group(1)
    data = form.group(1).replace("&#34;", '"').replace("&quot;", '"')
    location = await _act(
        acting, app_id, "signal", job_id=job_id, topic="order.approve", data=data,
        next=f"/apps/{app_id}/jobs/{job_id}",
    )  # fmt: skip
    assert location.startswith(f"/apps/{app_id}/jobs/{job_id}?flash=")
    await _wait_status(shop, job_id)
    done = await acting.get(f"/apps/{app_id}/jobs/{job_id}")
    assert 'id="job-status">completed<' in done.text


async def test_interrupt_cancel_scrub(
    acting: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    first = await shop.pub("order.placed", {"id": "X-1"})
    second = await shop.pub("order.placed", {"id": "X-2"})
    await _waiting_on_hook(shop, first)
    await _act(acting, app_id, "interrupt", job_id=first)
    assert await shop.get_status(first) < 0
    await _act(acting, app_id, "cancel", job_id=second)
    page = await acting.get(f"/apps/{app_id}/jobs/{second}")
    assert "badge cancelled" in page.text
    location = await _act(acting, app_id, "scrub", job_id=second)
    assert location.startswith(f"/apps/{app_id}/jobs?flash=")
    with pytest.raises(JobNotFound):
        await shop.get_status(second)
    bad = await acting.post(
        f"/apps/{app_id}/act/signal", data={"csrf": CSRF, "job_id": first, "data": "[1]"}
    )
    assert bad.status_code == 303 and "error=" in bad.headers["location"]


async def test_rerun_starts_a_new_job_with_the_same_input(
    acting: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    with pytest.raises(JobFailed) as failure:
        await shop.pubsub("order.quick", {"id": "F-9", "fail": True})
    old = str(failure.value.value)
    location = await _act(acting, app_id, "rerun", job_id=old)
    new = location.split("?")[0].rsplit("/", 1)[1]
    assert new != old
    await _wait_status(shop, new)
    page = await acting.get(f"/apps/{app_id}/jobs/{new}")
    assert "F-9" in page.text and 'id="job-status">failed<' in page.text  # same input, same fate


async def test_throttle_pauses_and_resumes_a_topic(
    acting: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    await _act(acting, app_id, "throttle", delay="-1", topic="shop.fulfil")
    paused = await shop.roll_call()
    assert [p.throttle for p in paused if p.worker_topic == "shop.fulfil"] == [-1.0]
    mesh = await acting.get(f"/apps/{app_id}/mesh")
    assert "paused" in mesh.text and 'class="pause"' in mesh.text
    await _act(acting, app_id, "throttle", delay="0", topic="shop.fulfil")
    for _ in range(100):
        resumed = await shop.roll_call()
        if [p.throttle for p in resumed if p.worker_topic == "shop.fulfil"] == [0.0]:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the worker did not resume")


async def test_mounted_under_a_prefix_links_and_actions_keep_it(
    hotmesh_provider: str, database: str, app_id: str, shop: HotMesh
) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    inner = create_app(database, provider=hotmesh_provider, apps=[app_id], token=TOKEN)
    outer = Starlette(routes=[Mount("/ops", app=inner)])
    job_id = await shop.pub("order.placed", {"id": "P-1"})
    transport = httpx.ASGITransport(app=outer)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            headers = {"authorization": f"Bearer {TOKEN}"}
            page = await client.get(f"/ops/apps/{app_id}/jobs", headers=headers)
            assert f'href="/ops/apps/{app_id}/jobs/P-1"' in page.text
            assert 'href="http://127.0.0.1/ops/static/dashboard.css"' in page.text
            done = await client.post(
                f"/ops/apps/{app_id}/act/scrub",
                data={"job_id": job_id, "csrf": CSRF},
                headers=headers,
            )
            assert done.headers["location"].startswith(f"/ops/apps/{app_id}/jobs?flash=")
    finally:
        await inner.state.dashboard.close()
    with pytest.raises(JobNotFound):
        await shop.get_status(job_id)
