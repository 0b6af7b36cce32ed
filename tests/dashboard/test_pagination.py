"""Keyset pagination over 10,000 jobs: every job once, newest first, filters bounded."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from hotmesh import HotMesh
from hotmesh.spi.inspect import JobFilter
from hotmesh_postgres.naming import quote_ident, schema_name

pytestmark = pytest.mark.hotmesh_requires("dsn")  # bulk-inserts jobs with SQL

TOTAL = 10_000


async def _bulk_jobs(hm: HotMesh) -> None:
    """10,000 jobs in one statement: every 10th running, every 100th (+5) failed."""
    driver: Any = hm._any_backend().driver  # type: ignore[attr-defined]
    schema = quote_ident(schema_name(hm.app_id))
    await driver.execute(
        f"""
        INSERT INTO {schema}.jobs (id, state, semaphore, created_at, updated_at)
        SELECT 'bulk-' || lpad(g::text, 5, '0'),
               jsonb_build_object('meta', jsonb_strip_nulls(jsonb_build_object(
                   'jid', 'bulk-' || lpad(g::text, 5, '0'), 'vrs', '1', 'aid', 'quick',
                   'tpc', CASE WHEN g % 2 = 0 THEN 'order.quick' ELSE 'order.placed' END,
                   'err', CASE WHEN g % 100 = 5 THEN '{{"message":"bulk failure"}}' END))),
               CASE WHEN g % 10 = 0 THEN 1 ELSE 0 END,
               now() - make_interval(secs => g), now() - make_interval(secs => g)
          FROM generate_series(1, {TOTAL}) AS g
        """
    )


def _expected(numbers: range, keep: Any = lambda g: True) -> list[str]:
    return [f"bulk-{g:05d}" for g in numbers if keep(g)]


async def test_walking_every_page_lists_each_job_once_newest_first(
    dashboard: httpx.AsyncClient, shop: HotMesh, app_id: str
) -> None:
    await _bulk_jobs(shop)
    seen: list[str] = []
    params: dict[str, str] = {"limit": "500"}
    pages = 0
    while True:
        page = await dashboard.get(f"/apps/{app_id}/jobs", params=params)
        assert page.status_code == 200
        seen += re.findall(r'data-job="([^"]+)"', page.text)
        pages += 1
        older = re.search(r'id="older" href="\?([^"]+)"', page.text)
        if older is None:
            break
        params = dict(httpx.QueryParams(older.group(1).replace("&amp;", "&")))
    assert seen == _expected(range(1, TOTAL + 1))  # newest (g=1) first, each once
    assert pages == TOTAL // 500 + 1  # the last page is empty and offers no "older"

    failed: list[str] = []
    params = {"status": "failed", "topic": "order.placed", "limit": "50"}
    while True:
        page = await dashboard.get(f"/apps/{app_id}/jobs", params=params)
        failed += re.findall(r'data-job="([^"]+)"', page.text)
        older = re.search(r'id="older" href="\?([^"]+)"', page.text)
        if older is None:
            break
        params = dict(httpx.QueryParams(older.group(1).replace("&amp;", "&")))
    assert failed == _expected(range(1, TOTAL + 1), lambda g: g % 100 == 5)


async def test_a_page_examines_at_most_scan_jobs_and_resumes_where_it_stopped(
    dashboard: httpx.AsyncClient, shop: HotMesh
) -> None:
    await _bulk_jobs(shop)
    inspector = shop.inspector()
    found: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await inspector.list_jobs(JobFilter(status="running", after=cursor, scan=1000))
        assert page.scanned <= 1000
        found += [j.job_id for j in page.jobs]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert found == _expected(range(1, TOTAL + 1), lambda g: g % 10 == 0)
    assert pages >= TOTAL // 1000  # the filter never made one page read everything
    # A job id goes straight to its job, however far back it is.
    oldest = await inspector.list_jobs(JobFilter(job_id="bulk-09999", scan=10))
    assert [j.job_id for j in oldest.jobs] == ["bulk-09999"] and oldest.next_cursor is None
    assert (await inspector.list_jobs(JobFilter(job_id="bulk-09999", status="running"))).jobs == []
    assert (await inspector.list_jobs(JobFilter(job_id="nope"))).jobs == []
