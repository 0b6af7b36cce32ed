"""Provider interfaces: what the core asks of storage, queues, pub/sub and codecs.

The core speaks only to these protocols; providers (``hotmesh_asyncpg``,
``hotmesh_psycopg``, third-party packages) implement them, and the conformance suite
(``hotmesh_conformance``) checks that they do.
"""

from __future__ import annotations

from hotmesh.spi._types import (
    DEFAULT_RETRY,
    DeadLetter,
    EscalationResult,
    JobCreated,
    JobRecord,
    OutgoingMessage,
    RetryPolicy,
    StatsUpdate,
    StepResult,
    StreamDepth,
    StreamMessage,
)
from hotmesh.spi.codec import Codec
from hotmesh.spi.inspect import AppDirectory, Inspector
from hotmesh.spi.provider import Backend, Provider
from hotmesh.spi.store import Store
from hotmesh.spi.stream import Stream
from hotmesh.spi.sub import Sub, SubCallback, Subscription

__all__ = [
    "DEFAULT_RETRY",
    "AppDirectory",
    "Backend",
    "Codec",
    "DeadLetter",
    "EscalationResult",
    "Inspector",
    "JobCreated",
    "JobRecord",
    "OutgoingMessage",
    "Provider",
    "RetryPolicy",
    "StatsUpdate",
    "StepResult",
    "Store",
    "Stream",
    "StreamDepth",
    "StreamMessage",
    "Sub",
    "SubCallback",
    "Subscription",
]
