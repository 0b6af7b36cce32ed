"""hotmesh: durable workflow orchestration on nothing but Postgres."""

from __future__ import annotations

from hotmesh import errors

__all__ = ["errors"]
__version__ = "0.1.0"
