"""Codec plugins for hotmesh: compression (and, later, encryption) of values at rest.

Each codec is an entry point in the group ``hotmesh.codecs``; load one by name::

    import hotmesh_codecs
    codec = hotmesh_codecs.load("gzip", level=9)
"""

from __future__ import annotations

from typing import Any

from hotmesh.plugins import load_codec
from hotmesh.spi import Codec
from hotmesh_codecs.gzip import GzipCodec

__all__ = ["GzipCodec", "load"]


def load(name: str, **options: Any) -> Codec:
    """Instantiate the installed codec ``name`` with ``options``.

    Raises:
        hotmesh.errors.CodecNotFound: no codec of that name is installed.
    """
    return load_codec(name, **options)
