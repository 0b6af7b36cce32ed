"""Building codec plugins for the codec contract tests.

A codec that needs options (a key, other codecs) offers a ``conformance_instance()``
classmethod returning a usable instance (with a throw-away key); any other codec is built
with no arguments. Run the contract against one codec plugin with::

    python -m hotmesh_conformance --provider asyncpg --hotmesh-codec mycodec -k codec
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from hotmesh.errors import CodecNotFound
from hotmesh.spi import Codec

__all__ = ["CODEC_GROUP", "contract_codec", "installed_codecs"]

CODEC_GROUP = "hotmesh.codecs"


def installed_codecs() -> list[str]:
    """Names of the codec plugins declared through the ``hotmesh.codecs`` entry points."""
    return sorted({ep.name for ep in entry_points(group=CODEC_GROUP)})


def contract_codec(name: str) -> Codec:
    """An instance of the codec plugin ``name`` fit for the contract tests.

    Example:
        >>> contract_codec("gzip").name
        'gzip'

    Raises:
        CodecNotFound: no plugin of that name is installed.
    """
    found = [ep for ep in entry_points(group=CODEC_GROUP) if ep.name == name]
    if not found:
        raise CodecNotFound(name, installed=installed_codecs())
    factory: Any = found[0].load()
    make = getattr(factory, "conformance_instance", None)
    codec = make() if callable(make) else factory()
    if not isinstance(codec, Codec):
        raise TypeError(f"codec plugin {name!r} does not implement name/encode/decode")
    return codec
