"""Chaining codecs: compress, then encrypt."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hotmesh.errors import CodecError
from hotmesh.plugins import load_codec
from hotmesh.spi import Codec

__all__ = ["ChainCodec", "chain"]


class ChainCodec:
    """Applies codecs in order on encode (``zstd`` then ``aesgcm``) and in reverse on decode.

    Each part is a codec, a codec name (loaded with no options), or
    ``{"name": ..., **options}``. The chain's name joins the parts' names with ``+``
    (``zstd+aesgcm``), so it is what the stored marker names. Put the encrypting codec
    last: compressing ciphertext gains nothing, and its key id then leads the stored text.

    Example:
        >>> from hotmesh_codecs.gzip import GzipCodec
        >>> codec = ChainCodec([GzipCodec(), "zstd"])
        >>> codec.name, codec.decode(codec.encode("abc" * 50)) == "abc" * 50
        ('gzip+zstd', True)
    """

    def __init__(self, codecs: Sequence[Codec | str | Mapping[str, Any]]) -> None:
        parts = [_part(c) for c in codecs]
        if not parts:
            raise CodecError("a codec chain needs at least one codec", value=None)
        self.codecs: tuple[Codec, ...] = tuple(parts)
        self.name = "+".join(c.name for c in parts)

    @classmethod
    def conformance_instance(cls) -> ChainCodec:
        """gzip then AES-GCM with a fresh random key, for the codec contract tests."""
        from hotmesh_codecs.aesgcm import AesGcmCodec
        from hotmesh_codecs.gzip import GzipCodec

        return cls([GzipCodec(), AesGcmCodec.conformance_instance()])

    def encode(self, text: str) -> str:
        """Apply every codec, first to last."""
        for codec in self.codecs:
            text = codec.encode(text)
        return text

    def decode(self, text: str) -> str:
        """Reverse every codec, last to first."""
        for codec in reversed(self.codecs):
            text = codec.decode(text)
        return text

    def __repr__(self) -> str:
        return f"ChainCodec({list(self.codecs)!r})"


def chain(*codecs: Codec | str | Mapping[str, Any]) -> ChainCodec:
    """``ChainCodec(codecs)``: ``chain("zstd", load("aesgcm", key=k))``."""
    return ChainCodec(codecs)


def _part(spec: Codec | str | Mapping[str, Any]) -> Codec:
    if isinstance(spec, str):
        return load_codec(spec)
    if isinstance(spec, Mapping):
        options = dict(spec)
        name = options.pop("name", None)
        if not isinstance(name, str):
            raise CodecError('a codec given as a mapping needs a "name"', value=None)
        return load_codec(name, **options)
    if not isinstance(spec, Codec):
        raise CodecError(f"not a codec: {spec!r}", value=None)
    return spec
