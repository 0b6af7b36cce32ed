"""The in-memory Inspector: the dashboard's pages of jobs, as the Postgres one serves them.

(The dashboard's own page tests run on the memory provider too: tests/dashboard.)
"""

from __future__ import annotations

import uuid

import attrs

from hotmesh.spi.inspect import Inspector, JobFilter
from hotmesh_memory import MemoryProvider
from hotmesh_memory.backend import MemoryBackend

TOTAL = 250


async def _backend() -> MemoryBackend:
    return await MemoryProvider.connect({"name": f"insp-{uuid.uuid4().hex[:8]}"}, app_id="shop")


async def _jobs(backend: MemoryBackend) -> list[str]:
    """``TOTAL`` jobs, oldest first: every 10th running, every 25th failed, search ``_n``."""
    ids = []
    for n in range(TOTAL):
        job_id = f"job-{n:03d}"
        meta: dict[str, object] = {"jid": job_id, "tpc": "even" if n % 2 == 0 else "odd"}
        if n % 25 == 5:
            meta["err"] = '{"message": "boom"}'
        running = n % 10 == 0
        state = {"meta": meta, "_n": str(n)}
        assert await backend.store.create_job(job_id, state, semaphore=1 if running else 0)
        ids.append(job_id)
    return ids


async def _walk(inspector: Inspector, query: JobFilter) -> tuple[list[str], int]:
    """Every job id the pages of ``query`` list, and how many pages it took."""
    seen: list[str] = []
    pages = 0
    while True:
        page = await inspector.list_jobs(query)
        pages += 1
        assert page.scanned <= query.scan
        seen += [job.job_id for job in page.jobs]
        if page.next_cursor is None:
            return seen, pages
        query = attrs.evolve(query, after=page.next_cursor)


async def test_pages_list_every_job_once_newest_first_and_filters_stay_bounded() -> None:
    backend = await _backend()
    assert isinstance(backend.inspector, Inspector)
    ids = await _jobs(backend)
    newest_first = list(reversed(ids))
    seen, pages = await _walk(backend.inspector, JobFilter(limit=40))
    assert seen == newest_first and pages == 7
    # A filter examines at most ``scan`` jobs a page and resumes where it stopped.
    failed, pages = await _walk(backend.inspector, JobFilter(status="failed", scan=30))
    assert failed == ["job-205", "job-155", "job-105", "job-055", "job-005"]  # not running
    assert pages >= TOTAL // 30
    running, _ = await _walk(backend.inspector, JobFilter(status="running", topic="even"))
    assert running == [j for j in newest_first if int(j[4:]) % 10 == 0]
    found = await backend.inspector.list_jobs(JobFilter(search=("n", "42")))
    assert [job.job_id for job in found.jobs] == ["job-042"]
    one = await backend.inspector.list_jobs(JobFilter(job_id="job-007"))
    assert [(j.job_id, j.status, j.topic) for j in one.jobs] == [("job-007", "completed", "odd")]
    assert await backend.inspector.approximate_jobs() == TOTAL
    await backend.close()


async def test_job_detail_versions_streams_and_the_app_list() -> None:
    backend = await _backend()
    await backend.store.put_version("1", {"app": {"id": "shop", "graphs": [
        {"subscribes": "order.placed"}]}})  # fmt: skip
    await backend.store.activate("1")
    await backend.store.put_version("2", {"app": {"id": "shop", "graphs": []}})
    await backend.store.create_job("parent", {"meta": {"jid": "parent"}, "x": 1}, semaphore=1)
    await backend.store.create_job("child", {"meta": {"jid": "child", "pj": "parent"}})
    detail = await backend.inspector.job("parent")
    assert detail is not None and detail.state["x"] == 1 and detail.summary.status == "running"
    children = await backend.inspector.children(detail.summary)
    assert [c.job_id for c in children] == ["child"]
    assert await backend.inspector.job("nobody") is None
    versions = await backend.inspector.versions()
    assert [(v.version, v.active) for v in versions] == [("2", False), ("1", True)]
    assert versions[1].activated_at is not None and versions[0].activated_at is None
    from hotmesh.spi import OutgoingMessage

    await backend.stream.publish([OutgoingMessage("s", {"n": 1}), OutgoingMessage("s", {"n": 2})])
    [claimed] = await backend.stream.claim("s")
    await backend.stream.dead_letter([claimed], "bad")
    [info] = await backend.inspector.streams()
    assert (info.stream, info.ready, info.leased, info.dead) == ("s", 1, 0, 1)
    [(_, started, finished)] = await backend.inspector.throughput(5)
    assert (started, finished) == (2, 1)
    [app] = await MemoryProvider.list_apps({"name": backend.database})
    assert (app.app_id, app.active_version, app.versions, app.jobs) == ("shop", "1", 2, 2)
    assert app.topics == ("order.placed",)
    await backend.close()
