"""Store contract: trigger stats written with a new job, read back and deleted."""

from __future__ import annotations

from hotmesh.spi import Backend, StatsUpdate


def counted(bucket: str, color: str) -> StatsUpdate:
    return StatsUpdate(
        "orders",
        bucket,
        {"count": 1.0, "sum:price": 2.5, f"count:color:{color}": 1.0},
        (f"color:{color}",),
    )


async def test_stats_are_written_with_new_jobs_only(backend: Backend) -> None:
    store = backend.store
    assert await store.create_job("j1", {}, stats=counted("b1", "red"))
    assert await store.create_job("j2", {}, stats=counted("b1", "blue"))
    assert await store.create_job("j3", {}, stats=counted("b2", "red"))
    assert not await store.create_job("j1", {}, stats=counted("b1", "red")), "duplicate"
    stats = await store.get_stats("orders", ["b1", "b2", "b3"])
    assert stats == {
        "b1": {"count": 2.0, "sum:price": 5.0, "count:color:red": 1.0, "count:color:blue": 1.0},
        "b2": {"count": 1.0, "sum:price": 2.5, "count:color:red": 1.0},
    }, "the duplicate counts nothing; a bucket without counters is left out"
    assert await store.get_stats("other-key", ["b1"]) == {}


async def test_ids_by_bucket_and_facet(backend: Backend) -> None:
    store = backend.store
    for n, (bucket, color) in enumerate([("b1", "red"), ("b1", "red"), ("b1", "blue")]):
        await store.create_job(f"j{n}", {}, stats=counted(bucket, color))
    await store.create_job("j9", {}, stats=counted("b2", "red"))
    ids = await store.get_ids("orders", ["b1", "b2"], ["color:red", "color:blue", "color:green"])
    assert ids == {
        "b1": {"color:red": ["j0", "j1"], "color:blue": ["j2"]},
        "b2": {"color:red": ["j9"]},
    }
    assert await store.get_ids("orders", ["b3"], ["color:red"]) == {}


async def test_delete_stats(backend: Backend) -> None:
    store = backend.store
    await store.create_job("j1", {}, stats=counted("b1", "red"))
    await store.create_job("j2", {}, stats=counted("b1", "blue"))
    await store.create_job("j3", {}, stats=counted("b2", "red"))
    await store.delete_stats("orders", ["b1"], ["color:red"])
    assert await store.get_stats("orders", ["b1", "b2"]) == {
        "b2": {"count": 1.0, "sum:price": 2.5, "count:color:red": 1.0}
    }
    ids = await store.get_ids("orders", ["b1", "b2"], ["color:red", "color:blue"])
    assert ids == {"b1": {"color:blue": ["j2"]}, "b2": {"color:red": ["j3"]}}, (
        "only the named facets of the named buckets are removed"
    )
