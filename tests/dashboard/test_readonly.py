"""A role that may only SELECT can view every page (and its actions fail cleanly)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from hotmesh import HotMesh
from hotmesh.dashboard import create_app
from hotmesh.dashboard.security import csrf_value
from hotmesh_postgres.naming import quote_ident, schema_name

from .conftest import TOKEN
from .test_pages import _waiting_on_hook

pytestmark = pytest.mark.hotmesh_requires("dsn")  # a read-only Postgres role


@pytest.fixture
async def reader_dsn(hotmesh_dsn: str, shop: HotMesh) -> AsyncIterator[str]:
    """A login role with USAGE on the app's schema and SELECT on its tables, nothing else."""
    driver: Any = shop._any_backend().driver  # type: ignore[attr-defined]
    role = f"reader_{uuid.uuid4().hex[:8]}"
    schema = quote_ident(schema_name(shop.app_id))
    await driver.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'reader-pass'")
    await driver.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
    await driver.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    parts = urlsplit(hotmesh_dsn)
    netloc = f"{role}:reader-pass@{parts.netloc.rpartition('@')[2]}"
    try:
        yield urlunsplit(parts._replace(netloc=netloc))
    finally:
        await driver.execute(f"DROP OWNED BY {role}")
        await driver.execute(f"DROP ROLE {role}")


async def test_a_select_only_role_views_every_page(
    hotmesh_provider: str, reader_dsn: str, shop: HotMesh, app_id: str
) -> None:
    job_id = await shop.pub("order.placed", {"id": "RO-1"})
    await _waiting_on_hook(shop, job_id)
    app = create_app(reader_dsn, provider=hotmesh_provider, apps=[app_id], token=TOKEN)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            headers = {"authorization": f"Bearer {TOKEN}"}
            for path in ("/", f"/apps/{app_id}", f"/apps/{app_id}/jobs",
                         f"/apps/{app_id}/jobs/{job_id}", f"/apps/{app_id}/mesh"):  # fmt: skip
                page = await client.get(path, headers=headers)
                assert page.status_code == 200, (path, page.text)
            jobs = await client.get(f"/apps/{app_id}/jobs", headers=headers)
            assert f'data-job="{job_id}"' in jobs.text
            # Writing is not this role's business: the action reports the refusal.
            scrub = await client.post(
                f"/apps/{app_id}/act/scrub",
                data={"job_id": job_id, "csrf": csrf_value(TOKEN)},
                headers=headers,
            )
            assert scrub.status_code == 303 and "error=" in scrub.headers["location"]
    finally:
        await app.state.dashboard.close()
    assert await shop.get_status(job_id) > 0
