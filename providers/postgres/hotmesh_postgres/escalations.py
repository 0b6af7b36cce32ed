"""The escalation calls of ``Store`` on Postgres (table ``escalations``, migration 0008)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from hotmesh.errors import PayloadError
from hotmesh.spi import EscalationResult, OutgoingMessage
from hotmesh_postgres.driver import Driver
from hotmesh_postgres.schema import Queries
from hotmesh_postgres.stream import message_arrays

__all__ = ["EscalationStore"]

_FINISHED = {"resolved": "already-resolved", "cancelled": "already-cancelled",
             "expired": "already-expired"}  # fmt: skip


class EscalationStore:
    """Mixed into :class:`~hotmesh_postgres.store.PostgresStore`; see :class:`hotmesh.spi.Store`."""

    _driver: Driver
    _q: Queries

    async def create_escalation(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        """File a pending row (None when its ``signal_key`` already has one)."""
        text = await self._driver.fetchval(self._q.esc_create, _json(dict(row)))
        return _row(text)

    async def get_escalation(self, escalation_id: str) -> dict[str, Any] | None:
        """The row with that id, or None."""
        if not _is_uuid(escalation_id):
            return None
        return _row(await self._driver.fetchval(self._q.esc_get, escalation_id))

    async def list_escalations(
        self, filters: Mapping[str, Any], *, limit: int = 50, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Rows matching ``filters``, most urgent first."""
        ids = filters.get("ids")
        if ids is not None:
            ids = [i for i in ids if _is_uuid(i)]
        metadata = filters.get("metadata")
        rows = await self._driver.fetch(
            self._q.esc_list,
            filters.get("status"),
            None if filters.get("roles") is None else list(filters["roles"]),
            filters.get("type"),
            filters.get("subtype"),
            filters.get("workflow_id"),
            filters.get("assigned_to"),
            filters.get("signal_key"),
            filters.get("available"),
            None if metadata is None else _json(dict(metadata)),
            ids,
            int(limit),
            int(offset),
        )
        return [json.loads(r[0]) for r in rows]

    async def claim_escalation(
        self, escalation_id: str, assignee: str, seconds: float
    ) -> EscalationResult:
        """Claim a pending row for ``seconds``."""
        if not _is_uuid(escalation_id):
            return EscalationResult(ok=False, reason="not-found")
        row = await self._driver.fetchrow(
            self._q.esc_claim, escalation_id, assignee, float(seconds)
        )
        assert row is not None
        if row[0] is not None:
            return EscalationResult(ok=True, entry=json.loads(row[0]), is_extension=bool(row[1]))
        return EscalationResult(ok=False, reason="conflict" if row[2] else "not-found")

    async def release_escalation(
        self, escalation_id: str, assignee: str | None = None
    ) -> EscalationResult:
        """Clear a pending row's claim."""
        if not _is_uuid(escalation_id):
            return EscalationResult(ok=False, reason="not-found")
        row = await self._driver.fetchrow(self._q.esc_release, escalation_id, assignee)
        assert row is not None
        if row[0] is not None:
            return EscalationResult(ok=True, entry=json.loads(row[0]))
        return EscalationResult(ok=False, reason="wrong-assignee" if row[1] else "not-found")

    async def finish_escalation(
        self,
        escalation_id: str,
        status: str,
        *,
        payload: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        wake: Sequence[OutgoingMessage] = (),
    ) -> EscalationResult:
        """pending → ``status``, publishing ``wake`` in the same statement."""
        if not _is_uuid(escalation_id):
            return EscalationResult(ok=False, reason="not-found")
        row = await self._driver.fetchrow(
            self._q.esc_finish,
            escalation_id,
            status,
            None if payload is None else _json(dict(payload)),
            None if metadata is None else _json(dict(metadata)),
            *message_arrays(wake),
        )
        assert row is not None
        if row[0] is not None:
            return EscalationResult(ok=True, entry=json.loads(row[0]))
        if row[1] is None:
            return EscalationResult(ok=False, reason="not-found")
        return EscalationResult(ok=False, reason=_FINISHED.get(str(row[1]), "not-found"))

    async def expire_escalation(self, signal_key: str) -> dict[str, Any] | None:
        """Expire the pending row filed under ``signal_key``."""
        return _row(await self._driver.fetchval(self._q.esc_expire, signal_key))


def _row(text: Any) -> dict[str, Any] | None:
    return None if text is None else dict(json.loads(text))


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _json(value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise PayloadError(f"escalation data is not JSON-serialisable: {err}") from err
