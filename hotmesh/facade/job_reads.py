"""The facade's job reads, raw answers and escalations: ``export``, ``get_raw``,
``get_query_state``, ``update_job_data``, ``add``, ``checkpoint``, ``escalations`` (mixed into
:class:`hotmesh.HotMesh`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hotmesh.engine.job_layout import export_job, query_state, raw_state
from hotmesh.engine.runtime import Engine
from hotmesh.engine.state import data_leaves, data_state, job_data
from hotmesh.errors import ConfigError, JobNotFound, StepError
from hotmesh.facade.escalations import Escalations
from hotmesh.serializer import is_clear_key
from hotmesh.spi import JobRecord
from hotmesh.types import JobExport, WorkerMessage
from hotmesh.validation import check_name, check_payload

__all__ = ["JobReads"]

#: The clear state key every ``update_job_data`` bumps (its optimistic guard).
_REVISION = "-data-revision-"
#: Attempts of ``update_job_data`` against concurrent updates.
_UPDATE_TRIES = 20


class JobReads:
    """Reads of one stored job, and ``add``; needs ``_store()`` and ``_require_engine()``."""

    def _store(self) -> Any:
        raise NotImplementedError

    def _require_engine(self) -> Engine:
        raise NotImplementedError

    @property
    def escalations(self) -> Escalations:
        """The app's escalations: human-in-the-loop work items (:mod:`hotmesh.facade.escalations`).

        Example:
            >>> pending = await hm.escalations.list(role="approver")  # doctest: +SKIP
        """
        return Escalations(self._store())

    async def export(
        self,
        job_id: str,
        *,
        enrich_inputs: bool = False,
        allow: Sequence[str] | None = None,
        block: Sequence[str] | None = None,
        values: bool = True,
    ) -> JobExport:
        """The job's full record, with every activity's state by dimension.

        Options (the reference's): ``enrich_inputs`` adds each activity's input to its
        ``activities`` entry; ``allow`` keeps only the named sections (``dependencies``,
        ``status``, ``process``, ``activities``) and ``block`` then removes some;
        ``values=False`` leaves every ``data`` payload out (``{}``), keeping the shape.

        Example:
            >>> export = await hm.export(job_id, enrich_inputs=True)  # doctest: +SKIP
            >>> [(a["name"], a["started_at"]) for a in export.activities]  # doctest: +SKIP

        Raises:
            JobNotFound: no live job has this id.
            ConfigError: an unknown section name.
        """
        job = await self._job(job_id)
        return export_job(job, enrich_inputs=enrich_inputs, allow=allow, block=block, values=values)

    async def get_raw(self, job_id: str) -> dict[str, Any]:
        """The job's stored field map as is, with ``":"`` = its semaphore (spec 5.1).

        Raises:
            JobNotFound: no live job has this id.
        """
        return raw_state(await self._job(job_id))

    async def get_query_state(self, job_id: str, fields: Sequence[str]) -> dict[str, Any]:
        """The job's search fields (``pub(..., extended={"search": ...})``): each name is read
        as ``_<name>``; a name in double quotes (``'"-flag-"'``) is read as is. Missing
        fields are ``None``.

        Example:
            >>> await hm.get_query_state(job_id, ["color", '"-cancelled-"'])  # doctest: +SKIP
            {'color': 'red', '-cancelled-': None}

        Raises:
            JobNotFound: no live job has this id.
        """
        return query_state(await self._job(job_id), fields)

    async def update_job_data(
        self,
        job_id: str,
        change: Callable[[dict[str, Any]], tuple[Any, Mapping[str, Any]]],
        *,
        once: str | None = None,
    ) -> Any:
        """Change a running job's data from outside its graph; return ``change``'s result.

        ``change(data)`` gets a copy of the job data and returns ``(result, fields)``:
        the top-level fields to write (each replaces the old value). The write is atomic
        against other ``update_job_data`` calls on the job (re-read and retried when one
        came first); a step of the job's own graph writing the same field at the same
        moment wins or loses as a whole. With ``once``, a later call with the same
        ``once`` returns the first call's result without changing anything again (a
        caller that may be replayed after a crash applies its change exactly once).

        Example:
            >>> await hm.update_job_data(
            ...     job_id, lambda d: (d.get("n", 0) + 1, {"n": d.get("n", 0) + 1}),
            ...     once="bump-1")  # doctest: +SKIP
            1

        Raises:
            JobNotFound: no running job has this id.
            StepError: other updates kept coming first.
        """
        guard = None if once is None else f"-once-{once}-"
        for _ in range(_UPDATE_TRIES):
            job = await self._job(job_id)
            if job.semaphore <= 0:
                raise JobNotFound(f"job {job_id} is not running", value=job_id)
            data = job_data(job.state)
            if guard is not None and guard in job.state:
                return data.get(guard)
            result, fields = change(job_data(job.state))
            state: dict[str, Any] = {}
            for name, value in fields.items():
                before = data_leaves((name,), data[name]) if name in data else {}
                after = data_leaves((name,), value)
                state.update({key: None for key in before if key not in after})
                state.update(after)
            revision = job.state.get(_REVISION)
            state[_REVISION] = (revision if isinstance(revision, int) else 0) + 1
            expect: dict[str, Any] = {_REVISION: revision}
            if guard is not None:  # the result (user data: a data leaf, through the codec)
                state.update(data_leaves((guard,), result))
                state[guard] = 1
                expect[guard] = None
            applied = await self._store().apply_step(job_id, state, expect=expect)
            if not applied.conflict:
                return result
        raise StepError(f"job {job_id}: its data kept changing", value=job_id)

    async def _job(self, job_id: str) -> JobRecord:
        job = await self._store().get_job(check_name(job_id, "job_id"))
        if job is None:
            raise JobNotFound(value=job_id)
        return job  # type: ignore[no-any-return]  # the store is typed by its Protocol

    async def add(self, message: Mapping[str, Any]) -> int:
        """Put a raw answer on the engine stream; return its message id.

        ``message`` is shaped as a worker answer: ``{"metadata": <the worker message's
        metadata>, "status", "code", "data"}``. A worker that answered ``status: pending``
        (202) sends its later answers this way: each is one more leg-2 event of the
        activity (a fresh event id, so none is dropped as a duplicate).

        Example:
            >>> async def work(message: WorkerMessage) -> dict:  # doctest: +SKIP
            ...     asyncio.get_running_loop().call_later(
            ...         1, lambda: asyncio.ensure_future(hm.add({
            ...             "metadata": message.metadata, "data": {"percentage": 99}})))
            ...     return {"status": "pending", "code": 202, "data": {"percentage": 49}}

        Raises:
            ConfigError: ``metadata`` lacks the job id, generation, activity or address.
        """
        return await self._require_engine().add(message)

    async def checkpoint(
        self,
        job_id: str,
        data: Mapping[str, Any],
        *,
        fence: WorkerMessage,
        flags: Sequence[str] = (),
    ) -> set[str] | None:
        """Record job data from inside a worker callback, before it answers.

        ``data``'s top-level keys are written into the job's data (use new keys: an object
        already stored under a key keeps the leaves ``data`` does not set), in one write,
        only while the job is open and the worker still holds ``fence``'s delivery (not
        answered, its lease not lost to another worker): None when refused, so a stale
        worker never writes into a job. The delivery stays held; the callback still
        answers. Returns which of ``flags`` (job flag keys such as ``"-cancelled-"``) the
        job holds after the write.

        Example:
            >>> async def work(message: WorkerMessage) -> dict:  # doctest: +SKIP
            ...     jid = message.metadata["jid"]
            ...     if await hm.checkpoint(jid, {"progress": 50}, fence=message) is None:
            ...         return {}  # this delivery is no longer ours: its answer is dropped
            ...     return {"data": {"progress": 100}}

        Raises:
            ConfigError: ``fence`` is not a delivered worker message, or a flag is not a
                clear key (see :func:`hotmesh.serializer.is_clear_key`).
            PayloadError: ``data`` is not JSON-serialisable.
        """
        check_name(job_id, "job_id")
        check_payload(data, "data")
        if fence.delivery is None:
            raise ConfigError("checkpoint needs the WorkerMessage a worker delivered", value=job_id)
        for flag in flags:
            if not is_clear_key(flag):
                raise ConfigError(f"a flag must be a clear state key, got {flag!r}", value=flag)
        found = await self._store().checkpoint(
            job_id, data_state(data), fence=fence.delivery, read=list(flags)
        )
        return None if found is None else {flag for flag in flags if flag in found}
