"""The escalation calls of ``Store`` in memory (see :class:`hotmesh.spi.Store`).

Rows are dicts with the columns of Postgres's ``escalations`` table, in its order;
timestamps are kept as aware datetimes and handed out as ISO-8601 strings.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hotmesh.spi import EscalationResult, OutgoingMessage
from hotmesh_memory.space import AppSpace, round_trip, to_json

__all__ = ["EscalationStore"]

COLUMNS = (
    "id", "namespace", "app_id", "signal_key", "topic", "workflow_id", "task_queue",
    "workflow_type", "type", "subtype", "entity", "description", "role", "status",
    "priority", "assigned_to", "assigned_until", "claimed_at", "claim_expires_at",
    "resolved_at", "resolver_payload", "envelope", "metadata", "origin_id", "parent_id",
    "initiated_by", "milestones", "trace_id", "span_id", "expires_at", "created_at",
    "updated_at",
)  # fmt: skip
#: The columns a caller may set (the store sets the others).
SETTABLE = (
    "namespace", "app_id", "signal_key", "topic", "workflow_id", "task_queue",
    "workflow_type", "type", "subtype", "entity", "description", "role", "priority",
    "envelope", "metadata", "origin_id", "parent_id", "initiated_by", "trace_id", "span_id",
    "expires_at",
)  # fmt: skip
_TIMES = {"assigned_until", "claimed_at", "claim_expires_at", "resolved_at", "expires_at",
          "created_at", "updated_at"}  # fmt: skip
_FINISHED = {"resolved": "already-resolved", "cancelled": "already-cancelled",
             "expired": "already-expired"}  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _out(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as the SPI hands it out: a fresh copy, times as ISO strings."""
    copy = json.loads(to_json({k: row[k] for k in COLUMNS if k not in _TIMES}, "escalation"))
    for key in _TIMES:
        copy[key] = None if row[key] is None else row[key].isoformat()
    return {k: copy[k] for k in COLUMNS}


def _available(row: dict[str, Any], at: datetime) -> bool:
    until = row["assigned_until"]
    return row["assigned_to"] is None or (until is not None and until <= at)


def _contains(whole: Any, part: Any) -> bool:
    """jsonb containment (``@>``) on plain JSON values."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            k in whole and _contains(whole[k], v) for k, v in part.items()
        )
    if isinstance(part, list):
        return isinstance(whole, list) and all(any(_contains(w, p) for w in whole) for p in part)
    return bool(whole == part)


class EscalationStore:
    """Mixed into :class:`~hotmesh_memory.store.MemoryStore`."""

    _space: AppSpace

    def _row(self, escalation_id: str) -> dict[str, Any] | None:
        return self._space.escalations.get(str(escalation_id))

    async def create_escalation(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        """File a pending row (None when its ``signal_key`` already has one)."""
        given = json.loads(to_json({k: row.get(k) for k in SETTABLE}, "escalation data"))
        await round_trip()
        key = given["signal_key"]
        if key is not None and any(
            r["signal_key"] == key for r in self._space.escalations.values()
        ):
            return None
        at = _now()
        stored: dict[str, Any] = dict.fromkeys(COLUMNS)
        stored.update(given)
        stored.update(
            id=str(uuid.uuid4()),
            status="pending",
            priority=5 if given["priority"] is None else int(given["priority"]),
            milestones=[],
            expires_at=_time(given["expires_at"]),
            created_at=at,
            updated_at=at,
        )
        self._space.escalations[stored["id"]] = stored
        return _out(stored)

    async def get_escalation(self, escalation_id: str) -> dict[str, Any] | None:
        """The row with that id, or None."""
        await round_trip()
        row = self._row(escalation_id)
        return None if row is None else _out(row)

    async def list_escalations(
        self, filters: Mapping[str, Any], *, limit: int = 50, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Rows matching ``filters``, most urgent first, each with ``available``."""
        await round_trip()
        at = _now()
        equal = ("status", "type", "subtype", "workflow_id", "assigned_to", "signal_key")
        found = []
        for row in self._space.escalations.values():
            if any(filters.get(f) is not None and row[f] != filters[f] for f in equal):
                continue
            roles, ids = filters.get("roles"), filters.get("ids")
            if roles is not None and row["role"] not in roles:
                continue
            if ids is not None and row["id"] not in ids:
                continue
            available = _available(row, at)
            if filters.get("available") is not None and available != filters["available"]:
                continue
            metadata = filters.get("metadata")
            if metadata is not None and not _contains(row["metadata"], metadata):
                continue
            found.append((row, available))
        found.sort(key=lambda pair: pair[0]["id"])
        found.sort(key=lambda pair: pair[0]["created_at"], reverse=True)
        found.sort(key=lambda pair: pair[0]["priority"])
        return [{**_out(row), "available": ok} for row, ok in found[offset : offset + limit]]

    async def claim_escalation(
        self, escalation_id: str, assignee: str, seconds: float
    ) -> EscalationResult:
        """Claim a pending row for ``seconds``."""
        await round_trip()
        row = self._row(escalation_id)
        if row is None or row["status"] != "pending":
            return EscalationResult(ok=False, reason="not-found")
        at = _now()
        until = row["assigned_until"]
        if not (
            row["assigned_to"] is None or until is None or until <= at
            or row["assigned_to"] == assignee
        ):  # fmt: skip
            return EscalationResult(ok=False, reason="conflict")
        extension = row["assigned_to"] == assignee
        window = at + timedelta(seconds=float(seconds))
        row.update(assigned_to=assignee, claimed_at=at, assigned_until=window,
                   claim_expires_at=window, updated_at=at)  # fmt: skip
        return EscalationResult(ok=True, entry=_out(row), is_extension=extension)

    async def release_escalation(
        self, escalation_id: str, assignee: str | None = None
    ) -> EscalationResult:
        """Clear a pending row's claim."""
        await round_trip()
        row = self._row(escalation_id)
        if row is None or row["status"] != "pending" or row["assigned_to"] is None:
            return EscalationResult(ok=False, reason="not-found")
        if assignee is not None and row["assigned_to"] != assignee:
            return EscalationResult(ok=False, reason="wrong-assignee")
        row.update(assigned_to=None, assigned_until=None, claimed_at=None,
                   claim_expires_at=None, updated_at=_now())  # fmt: skip
        return EscalationResult(ok=True, entry=_out(row))

    async def finish_escalation(
        self,
        escalation_id: str,
        status: str,
        *,
        payload: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        wake: Sequence[OutgoingMessage] = (),
    ) -> EscalationResult:
        """pending → ``status``, publishing ``wake`` in the same atomic step."""
        resolver = None if payload is None else json.loads(to_json(dict(payload), "payload"))
        extra = None if metadata is None else json.loads(to_json(dict(metadata), "metadata"))
        encoded = self._space.encode(wake)
        await round_trip()
        row = self._row(escalation_id)
        if row is None:
            return EscalationResult(ok=False, reason="not-found")
        if row["status"] != "pending":
            return EscalationResult(ok=False, reason=_FINISHED.get(row["status"], "not-found"))
        at = _now()
        row["status"] = status
        if resolver is not None:
            row["resolver_payload"] = resolver
        if status == "resolved":
            row["resolved_at"] = at
        if extra is not None:
            row["metadata"] = {**(row["metadata"] or {}), **extra}
        row["updated_at"] = at
        self._space.insert(encoded)
        return EscalationResult(ok=True, entry=_out(row))

    async def expire_escalation(self, signal_key: str) -> dict[str, Any] | None:
        """Expire the pending row filed under ``signal_key``."""
        await round_trip()
        for row in self._space.escalations.values():
            if row["signal_key"] == signal_key and row["status"] == "pending":
                row.update(status="expired", updated_at=_now())
                return _out(row)
        return None
