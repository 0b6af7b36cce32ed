"""Every page and filter of the dashboard, on a real Postgres, on both providers."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from hotmesh import HotMesh
from hotmesh.errors import JobFailed

from .conftest import shop_yaml


async def _wait_status(hm: HotMesh, job_id: str, done: bool = True) -> None:
    """Poll the job's semaphore until it closes (or opens) — no fixed sleeps."""
    for _ in range(400):
        status = await hm.get_status(job_id)
        if (status <= 0) == done:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"job {job_id} did not reach done={done}")


async def _waiting_on_hook(hm: HotMesh, job_id: str) -> None:
    """Until the job's worker answered and its hook waits."""
    for _ in range(400):
        state = await hm.get_state("order.placed", job_id)
        if state.data.get("status") == "fulfilled":
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"job {job_id} never reached its hook")


def _job_ids(html: str) -> list[str]:
    return re.findall(r'data-job="([^"]+)"', html)


async def test_home_lists_the_app_with_its_active_version(
    dashboard: httpx.AsyncClient, app_id: str
) -> None:
    page = await dashboard.get("/")
    assert page.status_code == 200
    assert app_id in page.text and "v1" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.headers["x-frame-options"] == "DENY"


async def test_app_page_marks_the_active_version_and_draws_each_graph(
    dashboard: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    await shop.deploy(shop_yaml(app_id, "2"))
    page = await dashboard.get(f"/apps/{app_id}")
    assert page.status_code == 200
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page.text, re.S)
    active = [r for r in rows if "badge active" in r]
    assert len(active) == 1 and "v1" in active[0]  # v2 deployed, v1 still active
    assert page.text.count('<svg class="graph"') == 2
    for activity in ("placed", "fulfil", "approve", "quick", "pack"):
        assert f'data-activity="{activity}"' in page.text
    assert 'data-from="placed" data-to="fulfil"' in page.text
    v2 = await dashboard.get(f"/apps/{app_id}", params={"version": "2"})
    assert "Graphs of v2" in v2.text


async def test_job_list_filters_by_topic_status_search_and_id(
    dashboard: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    waiting = await shop.pub("order.placed", {"id": "W-1"})
    done = (await shop.pubsub("order.quick", {"id": "Q-1"})).job_id
    with pytest.raises(JobFailed):
        await shop.pubsub("order.quick", {"id": "Q-2", "fail": True})
    searched = await shop.pub("order.quick", {"id": "Q-3"}, extended={"search": {"region": "eu"}})
    pending = await shop.pub("order.quick", {"id": "Q-4"}, extended={"pending": 60})
    interrupted = await shop.pub("order.placed", {"id": "I-1"})
    await _waiting_on_hook(shop, interrupted)
    await shop.interrupt("order.placed", interrupted)
    await _waiting_on_hook(shop, waiting)
    await _wait_status(shop, searched)

    url = f"/apps/{app_id}/jobs"
    everything = _job_ids((await dashboard.get(url)).text)
    assert set(everything) >= {waiting, done, searched, pending, interrupted}
    assert len(everything) == 6
    failed = [j for j in everything if j not in {waiting, done, searched, pending, interrupted}]

    async def ids(**params: str) -> list[str]:
        page = await dashboard.get(url, params=params)
        assert page.status_code == 200, page.text
        return _job_ids(page.text)

    assert await ids(status="running") == [waiting]
    assert await ids(status="failed") == failed
    failed_page = await dashboard.get(url, params={"status": "failed"})
    assert '<span class="errmsg" title="card declined">card declined</span>' in failed_page.text
    assert await ids(status="interrupted") == [interrupted]
    assert await ids(status="pending") == [pending]
    assert set(await ids(status="completed")) == {done, searched}
    assert set(await ids(topic="order.placed")) == {waiting, interrupted}
    assert await ids(field="region", value="eu") == [searched]
    assert await ids(field="region", value="us") == []
    assert await ids(job_id=done) == [done]
    assert await ids(until="2000-01-01T00:00") == []
    assert len(await ids(since="2000-01-01T00:00:00")) == 6
    assert await ids(topic="order.quick", status="running") == []
    bad = await dashboard.get(url, params={"status": "sleeping"})
    assert bad.status_code == 400 and "unknown status" in bad.text
    bad = await dashboard.get(url, params={"since": "yesterday"})
    assert bad.status_code == 400 and "not a date" in bad.text


async def test_job_page_shows_input_output_timeline_graph_and_hook(
    dashboard: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    job_id = await shop.pub("order.placed", {"id": "J-1"})
    await _waiting_on_hook(shop, job_id)
    page = await dashboard.get(f"/apps/{app_id}/jobs/{job_id}")
    assert page.status_code == 200
    text = page.text
    assert 'id="job-status">running<' in text
    assert "&#34;id&#34;: &#34;J-1&#34;" in text or '"id": "J-1"' in text  # the input
    assert "fulfilled" in text  # the job data so far
    assert '<svg class="gantt"' in text and text.count('<g class="bar') == 3
    # The path taken: placed -> fulfil done, approve waiting, and both edges taken.
    assert '<g class="node done" data-activity="placed">' in text
    assert '<g class="node done" data-activity="fulfil">' in text
    assert '<g class="node active" data-activity="approve">' in text
    assert text.count('class="edge taken"') == 2
    assert "Waiting for a signal on <code>order.approve</code>" in text  # view only: no form
    assert '<form method="post"' not in text
    fragment = await dashboard.get(f"/apps/{app_id}/jobs/{job_id}", params={"fragment": "1"})
    assert fragment.text.lstrip().startswith("<h1>Job") and "<html" not in fragment.text


async def test_failed_job_shows_its_error_and_stack_escaped(
    dashboard: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    with pytest.raises(JobFailed) as failure:
        await shop.pubsub("order.quick", {"id": "F-1", "fail": True})
    job_id = str(failure.value.value)
    page = await dashboard.get(f"/apps/{app_id}/jobs/{job_id}")
    assert 'id="job-status">failed<' in page.text
    assert "card declined" in page.text
    assert "&lt;script&gt;boom&lt;/script&gt;" in page.text and "<script>boom" not in page.text


async def test_parent_and_children_link_each_other(
    dashboard: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    family = """
app:
  id: {APP}
  version: '3'
  graphs:
    - subscribes: family.parent
      activities:
        p0: {type: trigger}
        call:
          type: await
          topic: family.child
          input: {maps: {n: 1}}
      transitions:
        p0: [{to: call}]
    - subscribes: family.child
      activities:
        c0: {type: trigger}
""".replace("{APP}", app_id)
    await shop.deploy(family)
    await shop.activate("3")
    parent = (await shop.pubsub("family.parent", {})).job_id
    page = await dashboard.get(f"/apps/{app_id}/jobs/{parent}")
    children = re.findall(rf'href="[^"]*/apps/{app_id}/jobs/([^"]+)"', page.text)
    assert len(children) == 1, page.text
    child = await dashboard.get(f"/apps/{app_id}/jobs/{children[0]}")
    assert 'id="parent-link"' in child.text and f"/jobs/{parent}" in child.text


async def test_mesh_page_shows_the_roll_call_streams_and_throughput(
    dashboard: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    await shop.pubsub("order.quick", {"id": "M-1"})
    await shop.throttle(-1, topic="shop.fulfil")
    await shop.pub("order.quick", {"id": "M-2"})  # queued: its worker is paused
    page = await dashboard.get(f"/apps/{app_id}/mesh")
    assert page.status_code == 200
    assert shop.guid in page.text  # the test's member answered the roll call
    assert "<code>shop.fulfil</code></td><td>1</td>" in page.text  # one ready message
    assert "paused" in page.text
    assert re.search(r'id="started">[2-9]<', page.text)
    assert '<svg class="spark"' in page.text
    assert "<form" not in page.text  # view only: no throttle buttons
    await shop.throttle(0, topic="shop.fulfil")


async def test_unknown_app_and_job_are_404_pages(dashboard: httpx.AsyncClient, app_id: str) -> None:
    missing = await dashboard.get("/apps/nosuchapp/jobs")
    assert missing.status_code == 404 and "no app" in missing.text
    job = await dashboard.get(f"/apps/{app_id}/jobs/nope")
    assert job.status_code == 404 and "not found" in job.text


async def test_events_stream_announces_a_new_job(
    dashboard: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    async def first_event() -> str:
        response = await dashboard.get(f"/apps/{app_id}/events", params={"limit": "1"})
        assert response.headers["content-type"].startswith("text/event-stream")
        return response.text

    listening = asyncio.ensure_future(first_event())
    hubs = dashboard._transport.app.state.dashboard.hubs  # type: ignore[attr-defined]
    for _ in range(3000):  # until the watcher started (joining the app can be slow)
        if app_id in hubs or listening.done():
            break
        await asyncio.sleep(0.01)
    assert app_id in hubs
    await shop.pub("order.quick", {"id": "E-1"})
    body = await asyncio.wait_for(listening, 20)
    assert "event: change" in body


async def test_awkward_job_ids_link_to_their_page_and_are_escaped(
    dashboard: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    odd = 'odd/id?x=1#<i>"'
    await shop.pub("order.placed", {"id": odd})
    listing = await dashboard.get(f"/apps/{app_id}/jobs")
    assert "<i>" not in listing.text and "odd/id?x=1#&lt;i&gt;&#34;" in listing.text
    [href] = re.findall(r'href="([^"]*/jobs/odd[^"]*)"', listing.text)
    page = await dashboard.get(href)
    assert page.status_code == 200
    assert 'id="job-id">odd/id?x=1#&lt;i&gt;&#34;<' in page.text


async def test_a_registered_history_source_shows_on_the_job_page(
    dashboard: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    from hotmesh.dashboard import history
    from hotmesh.spi.inspect import JobDetail

    async def broken(app: str, job: JobDetail) -> list[history.HistoryEvent] | None:
        raise RuntimeError("a failing source is skipped")

    async def replay(app: str, job: JobDetail) -> list[history.HistoryEvent] | None:
        if job.summary.topic != "order.quick":
            return None
        return [history.HistoryEvent(job.summary.created_at, "workflow <started>", {"n": 1})]

    done = (await shop.pubsub("order.quick", {"id": "H-1"})).job_id
    other = await shop.pub("order.placed", {"id": "H-2"})
    history.register(broken)
    history.register(replay)
    try:
        page = await dashboard.get(f"/apps/{app_id}/jobs/{done}")
        assert 'id="history"' in page.text and "workflow &lt;started&gt;" in page.text
        plain = await dashboard.get(f"/apps/{app_id}/jobs/{other}")
        assert 'id="history"' not in plain.text
    finally:
        history.unregister(broken)
        history.unregister(replay)


@pytest.mark.hotmesh_requires("dsn")  # per-role Postgres pools
async def test_the_inspector_through_the_per_role_connection_form(
    hotmesh_provider: str, hotmesh_dsn: str, app_id: str, shop: HotMesh
) -> None:
    def role(size: int) -> dict[str, object]:
        return {"class": hotmesh_provider, "options": {"dsn": hotmesh_dsn, "max_size": size}}

    connection = {"store": role(2), "stream": role(3), "sub": role(4)}
    hm = await HotMesh.init(app_id=app_id, engine={"connection": connection, "readonly": True})
    try:
        assert [v.version for v in await hm.inspector().versions()] == ["1"]
    finally:
        await hm.stop()
