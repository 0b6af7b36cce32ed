"""Queries on trigger stats (spec 2.10.3) and the signals sent by them (2.8.4).

The engine's ``get_stats``, ``get_ids`` and ``signal_all`` run these on its active
manifest, store and stream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hotmesh.engine.messages import Signal
from hotmesh.engine.model import AppManifest
from hotmesh.engine.stats import facets_for, ids_response, resolve_query, stats_response
from hotmesh.errors import TopicNotFound
from hotmesh.spi import Store, Stream, StreamMessage

__all__ = ["query_ids", "query_stats", "signal_indexed"]


async def query_stats(
    manifest: AppManifest, store: Store, topic: str, query: Mapping[str, Any]
) -> dict[str, Any]:
    """The counters of the jobs of ``topic`` whose stats key ``query["data"]`` gives."""
    resolved = resolve_query(manifest.graph_for_topic(topic).trigger_activity, query)
    counters = await store.get_stats(resolved.key, resolved.buckets)
    return stats_response(resolved, counters, bool(query.get("sparse")))


async def query_ids(
    manifest: AppManifest,
    store: Store,
    topic: str,
    query: Mapping[str, Any],
    facets: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The ids of the jobs of ``topic`` filed under ``facets`` (default: the index facets
    of ``query["data"]``), per time bucket."""
    trigger = manifest.graph_for_topic(topic).trigger_activity
    resolved = resolve_query(trigger, query)
    chosen = list(facets) if facets else facets_for(trigger, query.get("data") or {})
    ids = await store.get_ids(resolved.key, resolved.buckets, chosen)
    return ids_response(resolved, chosen, ids)


async def signal_indexed(
    manifest: AppManifest,
    store: Store,
    stream: Stream,
    hook_topic: str,
    data: Mapping[str, Any],
    query: Mapping[str, Any],
    facets: Sequence[str] | None = None,
    *,
    scrub: bool = False,
    ack: StreamMessage | None = None,
) -> list[str]:
    """Signal ``hook_topic`` once per job id indexed under ``facets`` (2.8.4).

    The graph is the one holding the hook rule's target; its trigger's stats key and
    granularity give the buckets. Each job gets ``{**data, "id": <job id>}``; all the
    signals are published in one statement (with ``ack``, acking it). With ``scrub`` the
    counters of the buckets and the facets' ids are removed afterwards. Returns the ids.
    """
    rules = manifest.hook_rules.get(hook_topic)
    if not rules:
        raise TopicNotFound(f"no hook listens to signal topic {hook_topic!r}", value=hook_topic)
    trigger = manifest.graph_of(rules[0].to).trigger_activity
    resolved = resolve_query(trigger, query)
    chosen = list(facets) if facets else facets_for(trigger, query.get("data") or {})
    found = await store.get_ids(resolved.key, resolved.buckets, chosen)
    job_ids = list(
        dict.fromkeys(
            jid for by_facet in found.values() for ids in by_facet.values() for jid in ids
        )
    )
    signals = [Signal.new(hook_topic, {**data, "id": jid}).outgoing() for jid in job_ids]
    if signals or ack is not None:
        await stream.publish(signals, ack=ack)
    if scrub:
        await store.delete_stats(resolved.key, resolved.buckets, chosen)
    return job_ids
