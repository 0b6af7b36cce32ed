"""What a Postgres store remembers of the jobs it wrote (hotmesh_postgres.written)."""

from __future__ import annotations

from hotmesh_postgres.written import Written


def test_a_created_job_is_served_with_its_version() -> None:
    kept = Written()
    kept.created("j1", '{"meta": {"gid": "g"}, "d/a": 1}', 2, "100")
    record = kept.record("j1")
    assert record is not None
    assert (record.state, record.semaphore, record.version) == (
        {"meta": {"gid": "g"}, "d/a": 1}, 2, "100",
    )  # fmt: skip
    record.state["d/a"] = 99  # the caller's copy: the entry stays as written
    again = kept.record("j1")
    assert again is not None and again.state["d/a"] == 1


def test_a_step_on_the_remembered_version_extends_it() -> None:
    kept = Written()
    kept.created("j1", '{"d/a": 1, "d/b": 2}', 2, "100")
    kept.stepped("j1", "100", '{"d/c": 3}', ["d/b"], 1, "101")
    record = kept.record("j1")
    assert record is not None
    assert (record.state, record.semaphore, record.version) == ({"d/a": 1, "d/c": 3}, 1, "101")


def test_any_other_outcome_forgets_the_job() -> None:
    cases = [
        ("99", '{"d/c": 3}', 1, "101"),  # planned from another version
        (None, '{"d/c": 3}', 1, "101"),  # planned from a read
        ("100", '{"d/c": 3}', None, None),  # did not apply (a conflict, a lost fence)
        ("100", '{"d/c": 3}', 0, "101"),  # closed the job
    ]
    for planned_from, keys, semaphore, version in cases:
        kept = Written()
        kept.created("j1", '{"d/a": 1}', 2, "100")
        kept.stepped("j1", planned_from, keys, [], semaphore, version)
        assert kept.record("j1") is None, (planned_from, semaphore)
    kept = Written()
    kept.created("j1", '{"d/a": 1}', 2, "100")
    kept.forget("j1")
    assert kept.record("j1") is None


def test_only_live_versioned_jobs_are_kept_and_the_oldest_go_first() -> None:
    kept = Written(capacity=2)
    kept.created("closed", "{}", 0, "1")
    kept.created("unknown", "{}", 1, None)
    assert len(kept) == 0
    for job in ("a", "b", "c"):
        kept.created(job, "{}", 1, "1")
    assert len(kept) == 2
    assert kept.record("a") is None
    assert kept.record("c") is not None
