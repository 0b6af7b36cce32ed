"""Workers: user callbacks consuming a topic's stream, answering the engine."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import attrs

from hotmesh.config import WorkerConfig
from hotmesh.engine.steps import engine_message
from hotmesh.router import Router
from hotmesh.spi import Backend, RetryPolicy, StreamMessage
from hotmesh.types import WorkerMessage

__all__ = ["Worker"]

log = logging.getLogger(__name__)

DEFAULT_WORKER_RETRY = RetryPolicy(max_attempts=3, initial_interval=1.0, backoff_coefficient=10)


class Worker:
    """Runs one worker callback over its topic's stream.

    The callback receives a :class:`~hotmesh.types.WorkerMessage` and returns
    ``{"data": {...}}`` (optionally with ``metadata``, ``status`` and ``code``), or None
    for an empty success. A returned ``{"status": "error", "code": N, "data": {...}}`` goes
    to the engine as is, where transitions may route it by code. A raised exception is
    retried by the worker's ``retry`` policy; once the attempts are used up the engine
    receives an error response (``code`` = the exception's ``code`` attribute or 500).
    """

    def __init__(self, backend: Backend, config: WorkerConfig, guid: str) -> None:
        self.backend = backend
        self.config = config
        self.guid = guid
        self.policy = config.retry or DEFAULT_WORKER_RETRY
        self.router = Router(
            backend.stream,
            config.topic,
            self._handle,
            concurrency=config.concurrency,
            batch=config.batch,
            lease=config.lease,
            poll_interval=config.poll_interval,
            ack=False,
        )

    async def start(self) -> None:
        """Begin consuming."""
        await self.router.start()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop consuming; wait for running callbacks up to ``timeout`` seconds."""
        await self.router.stop(timeout)

    async def _handle(self, message: StreamMessage) -> None:
        body = message.payload
        metadata = dict(body.get("metadata") or {})
        metadata["try"] = message.attempt - 1
        request = WorkerMessage(metadata, dict(body.get("data") or {}), body.get("policies"))
        try:
            result = await self.config.callback(request)
        except Exception as err:
            if message.attempt < self.policy.max_attempts:
                delay = await self.backend.stream.retry(
                    attrs.evolve(message, retry=self.policy), _describe(err)
                )
                log.info(
                    "worker callback failed; retrying",
                    extra={"topic": self.config.topic, "attempt": message.attempt, "delay": delay},
                )
                return
            code = getattr(err, "code", 500)
            response: dict[str, Any] = {
                "status": "error",
                "code": code if isinstance(code, int) else 500,
                "data": {
                    "message": str(err),
                    "code": code if isinstance(code, int) else 500,
                    "name": type(err).__name__,
                    "stack": "".join(traceback.format_exception(err))[-4000:],
                },
            }
        else:
            response = _normalise(result)
        answer = {
            "jid": metadata.get("jid"),
            "gid": metadata.get("gid"),
            "aid": metadata.get("aid"),
            "dad": metadata.get("dad"),
            # Stable across redeliveries: the engine drops a second answer to one request.
            "guid": str(metadata.get("guid") or message.id),
            "status": response.get("status") or "success",
            "code": response.get("code") or 200,
            "data": response.get("data") or {},
        }
        await self.backend.stream.publish([engine_message("response", str(answer["jid"]), answer)])
        await self.backend.stream.ack([message])


def _normalise(result: Any) -> dict[str, Any]:
    if result is None:
        return {"data": {}}
    if not isinstance(result, dict):
        return {"data": {"response": result}}
    data = result.get("data")
    return {
        "status": result.get("status"),
        "code": result.get("code"),
        "data": data if isinstance(data, dict) else ({} if data is None else {"response": data}),
    }


def _describe(err: BaseException) -> str:
    return "".join(traceback.format_exception_only(err)).strip()
