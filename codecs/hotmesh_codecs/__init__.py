"""Codec plugins for hotmesh: compression and encryption of values at rest.

Each codec is an entry point in the group ``hotmesh.codecs`` (``gzip``, ``zstd``,
``fernet``, ``aesgcm``, ``chain``); a third-party package adds its own by declaring an
entry point in that group, nothing else. Load one by name and register it::

    import hotmesh_codecs
    from hotmesh import HotMesh

    codec = hotmesh_codecs.load("aesgcm", keys={"k1": old_key, "k2": new_key})
    HotMesh.register_codec(hotmesh_codecs.chain("zstd", codec))  # compress, then encrypt

``fernet`` and ``aesgcm`` need ``cryptography`` (``pip install 'hotmesh[crypto]'``),
``zstd`` needs ``zstandard`` (``pip install 'hotmesh[zstd]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hotmesh.plugins import codec_names, load_codec
from hotmesh.spi import Codec
from hotmesh_codecs.chain import ChainCodec, chain
from hotmesh_codecs.gzip import GzipCodec

if TYPE_CHECKING:
    from hotmesh_codecs.aesgcm import AesGcmCodec
    from hotmesh_codecs.fernet import FernetCodec
    from hotmesh_codecs.zstd import ZstdCodec

__all__ = [
    "AesGcmCodec",
    "ChainCodec",
    "FernetCodec",
    "GzipCodec",
    "ZstdCodec",
    "chain",
    "load",
    "names",
]

_LAZY = {
    "AesGcmCodec": "hotmesh_codecs.aesgcm",
    "FernetCodec": "hotmesh_codecs.fernet",
    "ZstdCodec": "hotmesh_codecs.zstd",
}


def load(name: str, **options: Any) -> Codec:
    """Instantiate the installed codec ``name`` with ``options``.

    Example:
        >>> codec = load("gzip", level=9)
        >>> codec.decode(codec.encode("x" * 10)) == "x" * 10
        True

    Raises:
        hotmesh.errors.CodecNotFound: no codec of that name is installed.
        hotmesh.errors.CodecError: the options are wrong (a missing or malformed key...).
    """
    return load_codec(name, **options)


def names() -> list[str]:
    """Names of every installed codec plugin (this package's and third parties')."""
    return codec_names()


def __getattr__(name: str) -> Any:
    # The codecs with optional dependencies import them only when used.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hotmesh_codecs' has no attribute {name!r}")
