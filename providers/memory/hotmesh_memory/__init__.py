"""The in-memory hotmesh provider: the SPI contract in plain Python, for tests and demos.

Select it with ``{"class": "memory", "options": {"name": "..."}}``; see
:mod:`hotmesh_memory.backend`.
"""

from hotmesh_memory.backend import MemoryBackend, MemoryProvider

__all__ = ["MemoryBackend", "MemoryProvider"]
