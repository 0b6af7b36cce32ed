"""Fuzzing deploy, pub and the id/topic APIs: only hotmesh.errors escape; stored jobs stay.

Hypothesis draws hostile input (NUL, lone surrogates, C1 controls, braces, huge and deep
values, wrong types) for every entry point that takes an id, a topic, a payload or a
manifest, on each provider. Any exception that is not a :class:`HotMeshError` fails the
test, and jobs stored before the fuzzing must read back unchanged after it.

``HOTMESH_FUZZ_EXAMPLES`` raises the number of examples per test (default 40); run with
``-s`` to see the count of fuzzed calls by outcome.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Awaitable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotmesh import HotMesh
from hotmesh.errors import HotMeshError
from hotmesh_conformance.harness import assert_eventually
from tests.engine.conftest import MeshFactory, app_id, mesh
from tests.fix_echo_app import echo, echo_app

__all__ = ["app_id", "mesh"]

EXAMPLES = int(os.environ.get("HOTMESH_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("HOTMESH_FUZZ_RANDOM") is None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SPECIAL = ["\x00", "\ud800", "\udfff", "\x85", "\x9f", "\x01", "\x7f", "{", "}", "@", ":"]
SPECIAL += ["\n", " ", "-", "[", "]", "'", '"', "&", "*", "!", "%", "$"]
FRAGMENTS = ["{", "{@math.add", "{$job", "{a.b}", "{@pipe", "@pipe", "'{'", "- x", "&a", "*a"]
CHARS = st.one_of(st.characters(), st.sampled_from(SPECIAL))
TEXT = st.one_of(st.text(CHARS, max_size=30), st.sampled_from(FRAGMENTS))


def deep(levels: int) -> Any:
    value: Any = {"leaf": 1}
    for level in range(levels):
        value = {"n": value} if level % 2 else [value]
    return value


LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.builds(lambda: 10**5000),
    st.floats(),
    TEXT,
    st.binary(max_size=8),
    st.just({1, 2}),
    st.just(object()),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.one_of(TEXT, st.integers()), inner, max_size=4)
    ),
    max_leaves=12,
)
PAYLOADS = st.one_of(
    st.dictionaries(TEXT, VALUES, max_size=5),
    VALUES,
    st.integers(0, 1500).map(lambda n: {"d": deep(n)}),
    st.builds(lambda i, v: {"id": i, "value": v}, st.one_of(TEXT, st.integers()), VALUES),
)
NAMES = st.one_of(
    TEXT,
    st.sampled_from(["fuzz.test", "fuzz.signal", "x" * 1_000_000, "y" * 513]),
    st.integers(),
    st.none(),
    st.dictionaries(TEXT, st.integers(), max_size=2),
    st.lists(TEXT, max_size=2),
)


EXTENDED = st.one_of(st.none(), PAYLOADS)


def drawn(**strategies: st.SearchStrategy[Any]) -> list[dict[str, Any]]:
    """``EXAMPLES`` draws of ``strategies`` (hypothesis cannot drive an async body itself,
    so the examples are drawn first and run by the async test)."""
    examples: list[dict[str, Any]] = []

    @FUZZ
    @given(st.fixed_dictionaries(strategies))
    def collect(example: dict[str, Any]) -> None:
        examples.append(example)

    collect()
    return examples


class Outcomes:
    """Counts fuzzed calls by entry point and outcome; an untyped exception propagates."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    async def call(self, name: str, call: Awaitable[Any]) -> None:
        try:
            await call
        except HotMeshError as err:
            self.counts[name, type(err).__name__] += 1
        except Exception as err:  # report it short: a deep traceback cannot be printed
            detail = f"{type(err).__module__}.{type(err).__name__}: {str(err)[:300]}"
            pytest.fail(f"{name} let an untyped error escape: {detail}", pytrace=False)
        else:
            self.counts[name, "ok"] += 1

    def report(self, title: str) -> str:
        total = sum(self.counts.values())
        lines = [f"{title}: {total} fuzzed calls"]
        lines += [f"  {n} {o}: {c}" for (n, o), c in sorted(self.counts.items())]
        return "\n".join(lines)


async def started(mesh: MeshFactory, app_id: str) -> tuple[HotMesh, dict[str, Any]]:
    """A mesh with the fuzz app active and two stored jobs; returns their state."""
    hm = await mesh([("fuzz.work", echo)])
    await hm.deploy(echo_app(app_id, "fuzz.test", "fuzz.work", hook_signal="fuzz.signal"))
    assert await hm.activate("1")
    kept: dict[str, Any] = {}
    for n in range(2):
        job_id = await hm.pub("fuzz.test", {"id": f"kept-{app_id}-{n}", "value": n})
        kept[job_id] = None
    for job_id in kept:
        kept[job_id] = await settled(hm, job_id)
    return hm, kept


async def settled(hm: HotMesh, job_id: str) -> Any:
    """The job's state once its worker has answered (it then waits on its hook)."""
    state = await assert_eventually(
        lambda: hm.get_state("fuzz.test", job_id), lambda s: "echoed" in s.data, timeout=30
    )
    return (state.data, await hm.get_status(job_id))


async def still_intact(hm: HotMesh, kept: dict[str, Any]) -> None:
    for job_id, before in kept.items():
        state = await hm.get_state("fuzz.test", job_id)
        assert (state.data, await hm.get_status(job_id)) == before


async def test_fuzz_pub_and_the_id_and_topic_apis(mesh: MeshFactory, app_id: str) -> None:
    hm, kept = await started(mesh, app_id)
    outcomes = Outcomes()

    for example in drawn(topic=NAMES, data=PAYLOADS, name=NAMES, extended=EXTENDED):
        topic, data, name = example["topic"], example["data"], example["name"]
        await outcomes.call("pub", hm.pub(topic, data))
        await outcomes.call("pub_data", hm.pub("fuzz.test", data, extended=example["extended"]))
        await outcomes.call("pubsub", hm.pubsub(topic, data, timeout=0.01))
        await outcomes.call("signal", hm.signal(topic, data))
        await outcomes.call("get_status", hm.get_status(name))
        await outcomes.call("get_state", hm.get_state(topic, name))
        await outcomes.call("export", hm.export(name))
        await outcomes.call("interrupt", hm.interrupt(topic, name))
        await outcomes.call("cancel_unknown", hm.cancel(name))
        await outcomes.call("scrub", hm.scrub(name))
        await outcomes.call("sub", hm.sub(name, lambda t, o: None))
        await outcomes.call("unsub", hm.unsub(name))
        await outcomes.call("psub", hm.psub(name, lambda t, o: None))
        await outcomes.call("punsub", hm.punsub(name))

    print(outcomes.report("pub and id/topic APIs"))
    await still_intact(hm, kept)
    assert sum(outcomes.counts.values()) >= EXAMPLES * 14 * 0.9


def mutate(text: str, at: int, insert: str, cut: int) -> str:
    at %= len(text) + 1
    return text[:at] + insert + text[at + cut :]


MANIFEST_FIELDS = st.fixed_dictionaries(
    {
        "expire": st.one_of(st.integers(-10, 10), VALUES),
        "sleep": VALUES,
        "map": st.one_of(VALUES, st.builds(lambda rows: {"@pipe": rows}, VALUES)),
        "subscribes": NAMES,
    }
)


def manifest(app: str, fields: dict[str, Any]) -> dict[str, Any]:
    trigger = {"type": "trigger", "job": {"maps": {"x": fields["map"]}}}
    hook = {"type": "hook", "sleep": fields["sleep"]}
    graph = {
        "subscribes": fields["subscribes"],
        "expire": fields["expire"],
        "activities": {"t1": trigger, "h1": hook},
        "transitions": {"t1": [{"to": "h1"}]},
    }
    return {"app": {"id": app, "version": "9", "graphs": [graph]}}


async def test_fuzz_deploy(mesh: MeshFactory, app_id: str) -> None:
    hm, kept = await started(mesh, app_id)
    outcomes = Outcomes()
    good = echo_app(app_id, "fuzz.test", "fuzz.work", hook_signal="fuzz.signal")
    good = good.replace("version: '1'", "version: '8'")

    for example in drawn(
        at=st.integers(0, 10_000),
        insert=TEXT,
        cut=st.integers(0, 20),
        noise=st.lists(TEXT, max_size=12).map("".join),
        nesting=st.integers(0, 3000),
        fields=MANIFEST_FIELDS,
    ):
        mutated = mutate(good, example["at"], example["insert"], example["cut"])
        await outcomes.call("deploy_mutated", hm.deploy(mutated))
        await outcomes.call("deploy_noise", hm.deploy("app:\n" + example["noise"]))
        nesting = example["nesting"]
        deep_yaml = f"app:\n  id: {app_id}\n  settings: " + "[" * nesting + "]" * nesting
        await outcomes.call("deploy_deep", hm.deploy(deep_yaml))
        fields = example["fields"]
        await outcomes.call("deploy_mapping", hm.deploy(manifest(app_id, fields)))

    print(outcomes.report("deploy"))
    await still_intact(hm, kept)
    assert sum(outcomes.counts.values()) >= EXAMPLES * 4 * 0.9


@pytest.mark.parametrize("bad", [["x"], "text", 5, None])
async def test_deploy_of_a_non_manifest_is_typed(mesh: MeshFactory, app_id: str, bad: Any) -> None:
    hm = await mesh([])
    with pytest.raises(HotMeshError):
        await hm.deploy(bad)
