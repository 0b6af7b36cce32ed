"""AES-GCM encryption codec with key ids, for encryption at rest and key rotation."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping

from hotmesh.errors import CodecError
from hotmesh_codecs._keys import KeyLike, Keyring, key_bytes, split_key_id

__all__ = ["AesGcmCodec"]

_NONCE = 12


class AesGcmCodec:
    """Encrypts text with AES-GCM (128, 192 or 256-bit keys); needs ``cryptography``.

    Stored form: ``<key id>.<base64(nonce + ciphertext + tag)>``; the key id is also bound
    to the ciphertext as associated data. To rotate, give the old keys and the new one:
    new values use ``current``, old ones decode with the key their id names.

    Example:
        >>> old = AesGcmCodec.generate_key()
        >>> codec = AesGcmCodec(key=old, key_id="k1")
        >>> stored = codec.encode("card 4111")
        >>> stored.startswith("k1.")
        True
        >>> rotated = AesGcmCodec(keys={"k1": old, "k2": AesGcmCodec.generate_key()})
        >>> rotated.current_key_id, rotated.decode(stored)
        ('k2', 'card 4111')
    """

    name = "aesgcm"

    def __init__(
        self,
        key: KeyLike | None = None,
        *,
        key_id: str | None = None,
        keys: Mapping[str, KeyLike] | None = None,
        current: str | None = None,
    ) -> None:
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError as err:  # pragma: no cover - the extra is part of dev
            raise CodecError(
                "the aesgcm codec needs 'cryptography': pip install 'hotmesh[crypto]'",
                value={"key_id": None},
            ) from err
        self._ring = Keyring.build(
            key=key,
            key_id=key_id,
            keys=keys,
            current=current,
            parse=lambda k: key_bytes(k, sizes=(16, 24, 32), codec="aesgcm"),
            codec="aesgcm",
        )
        self._ciphers = {kid: AESGCM(raw) for kid, raw in self._ring.keys.items()}

    @staticmethod
    def generate_key(bits: int = 256) -> str:
        """A new random key, as url-safe base64 text."""
        if bits not in (128, 192, 256):
            raise CodecError(f"AES key size must be 128, 192 or 256 bits, got {bits}", value=bits)
        return base64.urlsafe_b64encode(os.urandom(bits // 8)).decode("ascii")

    @classmethod
    def conformance_instance(cls) -> AesGcmCodec:
        """An instance with a fresh random key, for the codec contract tests."""
        return cls(key=cls.generate_key(), key_id="conformance")

    @property
    def current_key_id(self) -> str:
        """The id of the key new values are encrypted with."""
        return self._ring.current

    @property
    def key_ids(self) -> list[str]:
        """Every configured key id."""
        return list(self._ring.keys)

    def encode(self, text: str) -> str:
        """Encrypt ``text`` with the current key."""
        kid = self._ring.current
        nonce = os.urandom(_NONCE)
        sealed = self._ciphers[kid].encrypt(nonce, text.encode("utf-8"), kid.encode("ascii"))
        return f"{kid}.{base64.b64encode(nonce + sealed).decode('ascii')}"

    def decode(self, text: str) -> str:
        """Decrypt with the key the value names.

        Raises:
            CodecError: no key with that id, the wrong key, or tampered data; ``.value``
                holds ``{"key_id": ...}``.
        """
        from cryptography.exceptions import InvalidTag

        kid, data = split_key_id(text, self.name)
        self._ring.get(kid, self.name)
        try:
            blob = base64.b64decode(data, validate=True)
            if len(blob) < _NONCE + 16:
                raise ValueError("too short")
            plain = self._ciphers[kid].decrypt(blob[:_NONCE], blob[_NONCE:], kid.encode("ascii"))
            return plain.decode("utf-8")
        except (InvalidTag, ValueError, binascii.Error) as err:
            raise CodecError(
                f"aesgcm cannot decrypt with key id {kid!r}: wrong key or corrupt data",
                value={"key_id": kid},
            ) from err

    def __repr__(self) -> str:
        return f"AesGcmCodec(current={self._ring.current!r}, key_ids={self.key_ids!r})"
