"""The dashboard in a real browser: Playwright driving the system's headless Chromium.

While jobs keep arriving, it opens the job list and sees a new job appear without a
reload, opens it, finds its timeline and its graph with the path taken, signals the hook
the job waits on, and watches the job complete; then it watches another job's page
turn to completed, without a reload, when a program signals that job. A screenshot of
each page goes to ``artifacts/dashboard/`` (``$HOTMESH_ARTIFACTS`` overrides the
folder); CI keeps them.

The browser is Debian's ``chromium`` package (``/usr/bin/chromium``, or
``$HOTMESH_CHROMIUM``); ``.ci/run`` installs it when it is missing. Playwright's own
browser download is never used.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Page, async_playwright, expect

from hotmesh import HotMesh
from hotmesh.dashboard import create_app

from .conftest import TOKEN
from .test_pages import _waiting_on_hook

pytestmark = pytest.mark.hotmesh_requires("dsn")  # serves the dashboard of a Postgres DSN

CHROMIUM = os.environ.get("HOTMESH_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
SHOTS = Path(os.environ.get("HOTMESH_ARTIFACTS", Path(__file__).parents[2] / "artifacts"))
SHOTS = SHOTS / "dashboard"


@pytest.fixture
async def served(hotmesh_dsn: str, app_id: str, shop: HotMesh) -> AsyncIterator[str]:
    """The dashboard (actions on) served by uvicorn on a free port; yields its address."""
    app = create_app(hotmesh_dsn, apps=[app_id], token=TOKEN)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


@pytest.fixture
def chromium() -> str:
    """The system Chromium: CI (``CI=true``, which installs it) fails without it; a
    developer's machine without it skips the browser test and says how to run it."""
    missing = f"no Chromium at {CHROMIUM}: apt-get install chromium (or set HOTMESH_CHROMIUM)"
    if not Path(CHROMIUM).exists():
        assert not os.environ.get("CI"), missing
        pytest.skip(missing)
    SHOTS.mkdir(parents=True, exist_ok=True)
    return CHROMIUM


@pytest.fixture
async def page(chromium: str) -> AsyncIterator[Page]:
    """A fresh headless Chromium tab."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=ARGS)
        context = await browser.new_context(viewport={"width": 1360, "height": 900})
        tab = await context.new_page()
        tab.set_default_timeout(30_000)
        expect.set_options(timeout=30_000)  # a loaded CI machine is slow, never wrong
        try:
            yield tab
        finally:
            await context.close()
            await browser.close()


async def _traffic(hm: HotMesh, stop: asyncio.Event) -> None:
    """The seed workload: a quick order every 100 ms until told to stop."""
    n = 0
    while not stop.is_set():
        n += 1
        await hm.pub("order.quick", {"id": f"SEED-{n}"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)


async def test_a_job_appears_live_is_opened_signalled_and_finishes(
    served: str, page: Page, shop: HotMesh, app_id: str
) -> None:
    stop = asyncio.Event()
    traffic = asyncio.ensure_future(_traffic(shop, stop))
    try:
        await page.goto(f"{served}/?token={TOKEN}")
        await expect(page.locator("#apps")).to_contain_text(app_id)
        await page.screenshot(path=SHOTS / "01-apps.png", full_page=True)

        await page.goto(f"{served}/apps/{app_id}")
        await expect(page.locator("svg.graph").first).to_be_visible()
        await page.screenshot(path=SHOTS / "02-graphs.png", full_page=True)

        await page.goto(f"{served}/apps/{app_id}/jobs")
        await expect(page.locator("#live")).to_have_class("live on")
        await page.evaluate("window.__sameDocument = true")
        job_id = await shop.pub("order.placed", {"id": "LIVE-1"})
        row = page.locator(f'tr[data-job="{job_id}"]')
        await expect(row).to_be_visible()  # arrived through the event stream, no reload
        assert await page.evaluate("window.__sameDocument === true")
        await page.screenshot(path=SHOTS / "03-jobs.png")

        await _waiting_on_hook(shop, job_id)
        await row.locator("a").click()
        await expect(page.locator("#job-status")).to_have_text("running")
        await expect(
            page.locator('#job-graph g.node.active[data-activity="approve"]')
        ).to_be_visible()
        await expect(page.locator("#job-graph path.edge.taken")).to_have_count(2)
        await expect(page.locator("#timeline g.bar")).to_have_count(3)
        await page.screenshot(path=SHOTS / "04-job-waiting.png", full_page=True)

        await page.locator("#signal-approve").click()
        await expect(page.locator(".flash.ok")).to_contain_text("signalled order.approve")
        await expect(page.locator("#job-status")).to_have_text("completed")
        await expect(page.locator("#job-graph g.node.done")).to_have_count(3)
        await page.screenshot(path=SHOTS / "05-job-completed.png", full_page=True)

        # The job view follows a job that moves elsewhere (a signal from a program).
        other = await shop.pub("order.placed", {"id": "LIVE-2"})
        await _waiting_on_hook(shop, other)
        await page.goto(f"{served}/apps/{app_id}/jobs/{other}")
        await expect(page.locator("#job-status")).to_have_text("running")
        await page.evaluate("window.__sameDocument = true")
        await shop.signal("order.approve", {"id": other, "approved": True})
        await expect(page.locator("#job-status")).to_have_text("completed")
        await expect(page.locator("#job-output")).to_contain_text('"approved": true')
        assert await page.evaluate("window.__sameDocument === true")

        await page.goto(f"{served}/apps/{app_id}/mesh")
        await expect(page.locator("#members")).to_contain_text("shop.fulfil")
        await page.screenshot(path=SHOTS / "06-mesh.png", full_page=True)

        await page.goto(f"{served}/apps/{app_id}/jobs?status=completed")
        await expect(page.locator(f'tr[data-job="{job_id}"]')).to_be_visible()

        failed = await shop.pub("order.quick", {"id": "FAIL-1", "fail": True})
        await page.goto(f"{served}/apps/{app_id}/jobs?status=failed")
        await page.locator(f'tr[data-job="{failed}"] a').click()
        await expect(page.locator("#job-error")).to_contain_text("card declined")
        await expect(page.locator("#job-error pre.stack")).to_contain_text("<script>boom</script>")
        await page.screenshot(path=SHOTS / "07-job-failed.png", full_page=True)
    finally:
        stop.set()
        await traffic
