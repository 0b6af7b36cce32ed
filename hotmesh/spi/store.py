"""The ``Store`` provider interface: job state and the app registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from hotmesh.spi._types import (
    EscalationResult,
    JobCreated,
    JobRecord,
    OutgoingMessage,
    StatsUpdate,
    StepResult,
    StreamMessage,
)

__all__ = ["Store"]


@runtime_checkable
class Store(Protocol):
    """Durable state for one app: versions of its graphs, settings, and jobs.

    Contract:

    * App versions: ``put_version`` stores a compiled manifest under ``version`` (storing
      the same version again replaces it only while it is not active); ``activate`` makes
      one version the active one; ``active_version`` reads it (``None`` before any).
    * Settings: a small durable key → JSON map (throttle rates, cron registrations...).
    * Jobs: ``create_job`` stores a new job and its first messages in one transaction, and
      returns a false :class:`JobCreated` without writing anything when a live job has the
      id (an expired job's id is free); a true one carries the ids of the messages. Expired
      jobs are invisible to every read. ``apply_step`` is the engine's one write per step:
      it merges ``state`` into the job (keys in the delta replace stored keys; a ``None``
      value removes the key), adds ``semaphore_delta``, publishes ``messages`` and acks
      ``fence`` — all or nothing, in one round trip. When ``fence`` is given and that
      delivery is no longer held (acked already, or leased to another consumer) nothing is
      written and ``applied`` is False: a redelivered step is recognised and does nothing
      twice.
    * The step guard (``expect``): when given (a mapping, possibly empty), the step applies
      only while the job is open (semaphore > 0) and every key of ``expect`` holds exactly
      that value in the job's *latest* state (``None``: the key is absent). Keys must be
      clear (:func:`hotmesh.serializer.is_clear_key`: ``meta``, ``-…``, ``f/…``), since
      encoded values cannot be compared. The guard is checked and the job held in the same
      atomic step as the write, so of two steps built from the same snapshot that expect
      the same value, at most one applies. When the guard fails nothing is written, the
      ``fence`` delivery is NOT consumed, and the result has ``conflict=True``: the engine
      re-reads the job and decides again (a late or duplicate event becomes a no-op; a
      closed job never reopens). A missing or expired job is a conflict too.

    Example:
        >>> async def start(store: Store) -> None:
        ...     await store.create_job("j1", {"status": "new"}, semaphore=1)
        ...     await store.apply_step("j1", {"status": "done"}, semaphore_delta=-1)
    """

    async def put_version(self, version: str, manifest: Mapping[str, Any]) -> None:
        """Store the compiled manifest of ``version``."""
        ...

    async def get_version(self, version: str) -> dict[str, Any] | None:
        """The manifest of ``version``, or None."""
        ...

    async def list_versions(self) -> list[str]:
        """Every stored version, oldest first."""
        ...

    async def activate(self, version: str) -> None:
        """Make ``version`` the active one (it must have been stored)."""
        ...

    async def active_version(self) -> str | None:
        """The active version, or None."""
        ...

    async def set_setting(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key``."""
        ...

    async def get_setting(self, key: str) -> Any | None:
        """The JSON value under ``key``, or None."""
        ...

    async def create_job(
        self,
        job_id: str,
        state: Mapping[str, Any],
        *,
        semaphore: int = 0,
        messages: Sequence[OutgoingMessage] = (),
        stats: StatsUpdate | None = None,
    ) -> JobCreated:
        """Insert a job with its first messages; a false result (and no write) if it exists.

        ``stats`` are added in the same transaction, only when the job is created.
        """
        ...

    async def get_job(self, job_id: str, *, written: bool = False) -> JobRecord | None:
        """The job's state and semaphore, or None.

        ``written=True`` lets the store answer with the state it last wrote for the job (a
        record with a :attr:`~JobRecord.version`) instead of reading it: for a caller that
        plans a step from it and passes that version to :meth:`apply_step`, which then
        refuses the step if the job was written since. Anything else reads.
        """
        ...

    async def get_status(self, job_id: str) -> int | None:
        """The live job's semaphore, or None; reads (and decodes) nothing else."""
        ...

    async def apply_step(
        self,
        job_id: str,
        state: Mapping[str, Any],
        *,
        semaphore_delta: int = 0,
        messages: Sequence[OutgoingMessage] = (),
        fence: StreamMessage | None = None,
        expire: float | None = None,
        on_close: Sequence[OutgoingMessage] = (),
        expect: Mapping[str, Any] | None = None,
        version: str | None = None,
    ) -> StepResult:
        """Commit one step atomically (see the class docstring).

        ``expect`` guards the step (see "The step guard" above). ``version`` (the
        :attr:`JobRecord.version` of the record the step was planned from) guards it too:
        the step is a conflict when the job has been written since that version. A store
        whose records carry no version ignores it.

        When the step closes the job (its semaphore ends <= 0), ``on_close`` messages are
        published as well, the job expires ``expire`` seconds later (``None`` leaves the
        expiry alone, ``<= 0`` never expires) and the result carries the final state.
        """
        ...

    async def checkpoint(
        self,
        job_id: str,
        state: Mapping[str, Any],
        *,
        fence: StreamMessage,
        read: Sequence[str] = (),
    ) -> dict[str, Any] | None:
        """Merge ``state`` into an open job on behalf of a worker delivery it still holds.

        A worker that records progress in the job while it runs one delivery (Durable's
        inline activities) writes with this: keys in ``state`` replace stored keys, a
        ``None`` value removes the key. Nothing is written, and the result is None, when
        the job is missing, expired or closed (semaphore <= 0), or when ``fence`` is no
        longer held (acked, retried, or its lease taken over by another consumer): a
        zombie never writes into a job. The delivery is checked and kept (not acked) in
        the same atomic statement as the write, so a rival cannot claim it in between.

        Returns the stored values of the ``read`` keys (clear keys, see
        :func:`hotmesh.serializer.is_clear_key`; absent keys are left out) after the write.

        Example:
            >>> async def record(store: Store, delivery: StreamMessage) -> bool:
            ...     done = await store.checkpoint("j1", {"d/step": 2}, fence=delivery)
            ...     return done is not None
        """
        ...

    async def purge_job_messages(self, job_id: str) -> int:
        """Delete the job's pending stream messages; return how many."""
        ...

    async def register_hook(
        self, key: str, target: Mapping[str, Any], *, ttl: float
    ) -> dict[str, Any] | None:
        """Register a waiting hook; return a signal parked under ``key`` before it, if any.

        Registering and signalling lock the key, so a signal is delivered exactly once
        whichever arrives first.
        """
        ...

    async def signal_hook(
        self, key: str, signal: Mapping[str, Any], *, ttl: float
    ) -> dict[str, Any] | None:
        """The hook registered under ``key``, or None after parking ``signal`` there."""
        ...

    async def delete_hook(self, key: str, *, target: Mapping[str, Any] | None = None) -> None:
        """Remove what is registered or parked under ``key``.

        With ``target``, only a hook registered for exactly that target is removed (a
        wait registered under several keys forgets the ones no other wait took over).
        """
        ...

    async def delete_job(self, job_id: str) -> bool:
        """Remove the job and its pending messages; True if it existed."""
        ...

    async def get_stats(self, key: str, buckets: Sequence[str]) -> dict[str, dict[str, float]]:
        """The counters of ``key`` per bucket (buckets without any are left out)."""
        ...

    async def get_ids(
        self, key: str, buckets: Sequence[str], facets: Sequence[str]
    ) -> dict[str, dict[str, list[str]]]:
        """bucket -> facet -> the job ids filed there (empty ones are left out)."""
        ...

    async def delete_stats(self, key: str, buckets: Sequence[str], facets: Sequence[str]) -> None:
        """Remove the counters of those buckets and the ids filed under ``facets`` there."""
        ...

    # -- escalations (durable.md §7) ----------------------------------------------------
    #
    # Rows are plain dicts keyed by the column names of the reference's table: ``id`` (a
    # UUID string the store assigns), ``namespace``, ``app_id``, ``signal_key``, ``topic``,
    # ``workflow_id``, ``task_queue``, ``workflow_type``, ``type``, ``subtype``,
    # ``entity``, ``description``, ``role``, ``status`` (``pending``, ``resolved``,
    # ``cancelled``, ``expired``), ``priority`` (int, default 5, lower is more urgent),
    # ``assigned_to``, ``assigned_until``, ``claimed_at``, ``claim_expires_at``,
    # ``resolved_at``, ``resolver_payload``, ``envelope``, ``metadata`` (dicts or None),
    # ``origin_id``, ``parent_id``, ``initiated_by``, ``milestones`` (list),
    # ``trace_id``, ``span_id``, ``expires_at``, ``created_at``, ``updated_at``.
    # Timestamps are ISO-8601 strings with a UTC offset, or None. Rows are read at the
    # store's clock. A row is *available* while ``assigned_to`` is None or its
    # ``assigned_until`` has passed; ``list_escalations`` adds that as ``available``.

    async def create_escalation(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        """File a new pending row from ``row``'s columns (unknown keys are ignored; the
        store sets ``id``, ``status`` ``pending``, the timestamps and the defaults).

        A ``signal_key`` is unique among rows: a second row for a key that has one returns
        None and writes nothing (the engine files a hook's row once, even when redone).
        """
        ...

    async def get_escalation(self, escalation_id: str) -> dict[str, Any] | None:
        """The row with that id (None also for a string that is no UUID)."""
        ...

    async def list_escalations(
        self, filters: Mapping[str, Any], *, limit: int = 50, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Rows matching every filter given, most urgent first (``priority`` ascending, then
        newest ``created_at``), each with ``available``.

        Filters: ``status``, ``roles`` (list: role is one of them), ``type``, ``subtype``,
        ``workflow_id``, ``assigned_to``, ``signal_key``, ``available`` (bool),
        ``metadata`` (dict the row's metadata contains), ``ids`` (list of ids).
        """
        ...

    async def claim_escalation(
        self, escalation_id: str, assignee: str, seconds: float
    ) -> EscalationResult:
        """Assign a pending row to ``assignee`` for ``seconds`` (``assigned_to``,
        ``claimed_at``, ``assigned_until`` = ``claim_expires_at`` = now + seconds).

        It succeeds when the row is pending and unassigned, assigned without a window, its
        window has passed, or ``assignee`` already holds it (``is_extension``). Otherwise
        ``reason`` is ``not-found`` (no pending row) or ``conflict``. The status stays
        ``pending``.
        """
        ...

    async def release_escalation(
        self, escalation_id: str, assignee: str | None = None
    ) -> EscalationResult:
        """Clear the claim of a pending, assigned row (by ``assignee`` when given):
        ``not-found`` or ``wrong-assignee`` otherwise."""
        ...

    async def finish_escalation(
        self,
        escalation_id: str,
        status: str,
        *,
        payload: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        wake: Sequence[OutgoingMessage] = (),
    ) -> EscalationResult:
        """Move a pending row to ``status`` (``resolved``, ``cancelled`` or ``expired``), in
        one atomic change: ``resolver_payload`` = ``payload`` (when given), ``metadata``
        merged with ``metadata``, ``resolved_at`` set when resolving, and ``wake``
        published in the same transaction — only if the row was pending, so of two
        concurrent calls exactly one succeeds and the other writes and publishes nothing.

        ``reason`` when not ok: ``not-found``, ``already-resolved``, ``already-cancelled``
        or ``already-expired``.
        """
        ...

    async def expire_escalation(self, signal_key: str) -> dict[str, Any] | None:
        """Mark the pending row filed under ``signal_key`` ``expired`` (its hook's timer
        won); return it, or None when there is no pending row for the key."""
        ...
