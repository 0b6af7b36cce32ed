"""hotmesh: durable workflow orchestration on nothing but Postgres.

Example:
    >>> from hotmesh import HotMesh
"""

from __future__ import annotations

from hotmesh import errors
from hotmesh.config import EngineConfig, HotMeshConfig, WorkerConfig
from hotmesh.hotmesh import HotMesh
from hotmesh.serializer import register_codec
from hotmesh.spi import RetryPolicy
from hotmesh.tuning import tune_gc
from hotmesh.types import JobExport, JobOutput, JobState, JobStatus, WorkerMessage

__all__ = [
    "EngineConfig",
    "HotMesh",
    "HotMeshConfig",
    "JobExport",
    "JobOutput",
    "JobState",
    "JobStatus",
    "RetryPolicy",
    "WorkerConfig",
    "WorkerMessage",
    "errors",
    "register_codec",
    "tune_gc",
]
__version__ = "0.1.0"
