"""gzip compression codec: worth it for large, repetitive payloads."""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib

from hotmesh.errors import CodecError

__all__ = ["GzipCodec"]


class GzipCodec:
    """Compresses text with gzip and stores it as base64.

    Example:
        >>> codec = GzipCodec(level=6)
        >>> codec.decode(codec.encode("hello " * 100)) == "hello " * 100
        True
    """

    name = "gzip"

    def __init__(self, level: int = 6) -> None:
        if not 0 <= level <= 9:
            raise CodecError(f"gzip level must be 0..9, got {level}", value=level)
        self.level = level

    def encode(self, text: str) -> str:
        """Compress ``text``."""
        packed = gzip.compress(text.encode("utf-8"), compresslevel=self.level, mtime=0)
        return base64.b64encode(packed).decode("ascii")

    def decode(self, text: str) -> str:
        """Decompress what :meth:`encode` produced."""
        try:
            return gzip.decompress(base64.b64decode(text, validate=True)).decode("utf-8")
        except (ValueError, binascii.Error, OSError, EOFError, zlib.error) as err:
            raise CodecError(f"gzip codec cannot decode value: {err}", value=text[:32]) from err
