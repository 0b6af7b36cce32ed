"""Zstandard compression codec (``zstandard``): faster than gzip at a similar ratio."""

from __future__ import annotations

import base64
import binascii

from hotmesh.errors import CodecError

__all__ = ["ZstdCodec"]


class ZstdCodec:
    """Compresses text with Zstandard and stores it as base64.

    Example:
        >>> codec = ZstdCodec(level=3)
        >>> codec.decode(codec.encode("hello " * 100)) == "hello " * 100
        True
    """

    name = "zstd"

    def __init__(self, level: int = 3) -> None:
        try:
            import zstandard
        except ImportError as err:  # pragma: no cover - the extra is part of dev
            raise CodecError(
                "the zstd codec needs 'zstandard': pip install 'hotmesh[zstd]'", value=None
            ) from err
        if not 1 <= level <= 22:
            raise CodecError(f"zstd level must be 1..22, got {level}", value=level)
        self.level = level
        self._zstd = zstandard
        self._compressor = zstandard.ZstdCompressor(level=level)
        self._decompressor = zstandard.ZstdDecompressor()

    def encode(self, text: str) -> str:
        """Compress ``text``."""
        packed = self._compressor.compress(text.encode("utf-8"))
        return base64.b64encode(packed).decode("ascii")

    def decode(self, text: str) -> str:
        """Decompress what :meth:`encode` produced."""
        try:
            raw = base64.b64decode(text, validate=True)
            return self._decompressor.decompress(raw).decode("utf-8")
        except (ValueError, binascii.Error, self._zstd.ZstdError) as err:
            raise CodecError(f"zstd codec cannot decode value: {err}", value=text[:32]) from err
