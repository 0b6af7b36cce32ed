"""Escalations: claimable work items for people (durable.md §7), as ``hm.escalations``.

A hook with an ``escalation:`` block files a pending row when it suspends (its
``signal_key`` is the value the hook waits for). People list rows, claim one for a while,
and resolve it: resolving publishes the signal that wakes the waiting hook, in the same
statement as the status change, so a resolved row always wakes its hook exactly once.

Example:
    >>> rows = await hm.escalations.list(role="approver", status="pending")  # doctest: +SKIP
    >>> claim = await hm.escalations.claim(rows[0]["id"], assignee="ana", duration=300)
    >>> await hm.escalations.resolve(rows[0]["id"], resolver_payload={"approved": True})
    EscalationResult(ok=True, ...)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from hotmesh.engine.messages import Signal
from hotmesh.errors import ConfigError
from hotmesh.spi import EscalationResult, OutgoingMessage, Store

__all__ = ["CANCELLED", "Escalations"]

#: The signal data a cancelled escalation wakes its hook with.
CANCELLED = {"__escalation_cancelled": True}


class Escalations:
    """The escalations of one app (``hm.escalations``); every call is one store round trip
    (``resolve`` and ``cancel``: two, a read then the guarded change)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def list(
        self,
        *,
        status: str | None = None,
        role: str | None = None,
        roles: Sequence[str] | None = None,
        type: str | None = None,
        subtype: str | None = None,
        workflow_id: str | None = None,
        assigned_to: str | None = None,
        signal_key: str | None = None,
        available: bool | None = None,
        metadata: Mapping[str, Any] | None = None,
        ids: Sequence[str] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Rows matching every filter given (``roles`` wins over ``role``), most urgent
        first (``priority`` ascending, then newest). Each row has ``available``: not
        claimed, or its claim has lapsed.

        Raises:
            ConfigError: ``limit``/``offset`` out of range.
        """
        if limit < 0 or offset < 0:
            raise ConfigError("limit and offset must be >= 0", value=(limit, offset))
        chosen_roles = list(roles) if roles is not None else ([role] if role else None)
        filters = {
            "status": status, "roles": chosen_roles, "type": type, "subtype": subtype,
            "workflow_id": workflow_id, "assigned_to": assigned_to, "signal_key": signal_key,
            "available": available, "metadata": metadata,
            "ids": None if ids is None else list(ids),
        }  # fmt: skip
        return await self._store.list_escalations(filters, limit=limit, offset=offset)

    async def create(
        self,
        *,
        role: str | None = None,
        type: str | None = None,
        subtype: str | None = None,
        priority: int = 5,
        description: str | None = None,
        entity: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        envelope: Mapping[str, Any] | None = None,
        namespace: str = "hmsh",
        app_id: str = "hmsh",
    ) -> dict[str, Any]:
        """File a standalone pending row (no hook waits on it: ``signal_key`` is None).

        Raises:
            ConfigError: ``priority`` is not an integer.
        """
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise ConfigError("priority must be an integer (lower is more urgent)", value=priority)
        row = {
            "role": role, "type": type, "subtype": subtype, "priority": priority,
            "description": description, "entity": entity, "namespace": namespace,
            "app_id": app_id,
            "metadata": None if metadata is None else dict(metadata),
            "envelope": None if envelope is None else dict(envelope),
        }  # fmt: skip
        created = await self._store.create_escalation(row)
        assert created is not None  # only a signal key can collide
        return created

    async def get(self, escalation_id: str) -> dict[str, Any] | None:
        """The row, or None."""
        return await self._store.get_escalation(escalation_id)

    async def claim(
        self, escalation_id: str, *, assignee: str, duration: float = 60.0
    ) -> EscalationResult:
        """Hold a pending row for ``assignee`` for ``duration`` seconds (a claim by the same
        assignee extends it). Not ok: ``not-found`` or ``conflict``.

        Raises:
            ConfigError: an empty assignee or a duration that is not > 0.
        """
        if not isinstance(assignee, str) or not assignee:
            raise ConfigError("a claim needs an assignee", value=assignee)
        if (
            isinstance(duration, bool)
            or not isinstance(duration, int | float)
            or not (math.isfinite(duration) and duration > 0)
        ):
            raise ConfigError("a claim's duration must be > 0 seconds", value=duration)
        return await self._store.claim_escalation(escalation_id, assignee, float(duration))

    async def release(self, escalation_id: str, *, assignee: str | None = None) -> EscalationResult:
        """Give a claimed row back (only by ``assignee``, when given)."""
        return await self._store.release_escalation(escalation_id, assignee)

    async def resolve(
        self,
        escalation_id: str,
        *,
        resolver_payload: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> EscalationResult:
        """Mark a pending row resolved and wake its hook with ``resolver_payload`` (the
        hook's ``hook.data``, plus ``id`` = the row's signal key). ``metadata`` is merged
        into the row's. Of two concurrent resolves exactly one is ok; the other gets
        ``already-resolved`` and changes nothing."""
        payload = dict(resolver_payload or {})
        return await self._finish(escalation_id, "resolved", payload, metadata)

    async def cancel(self, escalation_id: str) -> EscalationResult:
        """Cancel a pending row; its hook wakes with ``{"__escalation_cancelled": True}``."""
        return await self._finish(escalation_id, "cancelled", None, None)

    async def expire(self, escalation_id: str) -> EscalationResult:
        """Mark a pending row expired, without waking its hook (as a hook whose timer won
        expires its row)."""
        return await self._store.finish_escalation(escalation_id, "expired")

    async def _finish(
        self,
        escalation_id: str,
        status: str,
        payload: dict[str, Any] | None,
        metadata: Mapping[str, Any] | None,
    ) -> EscalationResult:
        row = await self._store.get_escalation(escalation_id)
        if row is None:
            return EscalationResult(ok=False, reason="not-found")
        wake = _wake(row, CANCELLED if payload is None else payload)
        return await self._store.finish_escalation(
            escalation_id, status, payload=payload, metadata=metadata, wake=wake
        )


def _wake(row: Mapping[str, Any], data: Mapping[str, Any]) -> list[OutgoingMessage]:
    """The signal to the row's hook (none for a row no hook waits on)."""
    key, topic = row.get("signal_key"), row.get("topic")
    if not key or not topic:
        return []
    return [Signal.new(str(topic), {"id": key, **data}, key=f"{topic}:{key}").outgoing()]
