"""Fernet encryption codec (``cryptography``), with key ids for rotation."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING

from hotmesh.errors import CodecError
from hotmesh_codecs._keys import KeyLike, Keyring, key_bytes, split_key_id

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

__all__ = ["FernetCodec"]


class FernetCodec:
    """Encrypts text with Fernet (AES-128-CBC + HMAC-SHA256, timestamped tokens).

    Stored form: ``<key id>.<fernet token>``. Keys are Fernet keys (url-safe base64 of
    32 bytes, as ``FernetCodec.generate_key()`` or ``Fernet.generate_key()`` make). The key
    id defaults to a fingerprint of the key; to rotate, pass ``keys={id: key}`` with the
    old keys and the new one (the last, or ``current``, encrypts new values).

    Example:
        >>> key = FernetCodec.generate_key()
        >>> codec = FernetCodec(key=key, key_id="2024")
        >>> codec.decode(codec.encode("ssn 078-05-1120"))
        'ssn 078-05-1120'
    """

    name = "fernet"

    def __init__(
        self,
        key: KeyLike | None = None,
        *,
        key_id: str | None = None,
        keys: Mapping[str, KeyLike] | None = None,
        current: str | None = None,
    ) -> None:
        try:
            from cryptography.fernet import Fernet
        except ImportError as err:  # pragma: no cover - the extra is part of dev
            raise CodecError(
                "the fernet codec needs 'cryptography': pip install 'hotmesh[crypto]'",
                value={"key_id": None},
            ) from err
        self._ring = Keyring.build(
            key=key,
            key_id=key_id,
            keys=keys,
            current=current,
            parse=lambda k: key_bytes(k, sizes=(32,), codec="fernet"),
            codec="fernet",
        )
        self._fernets: dict[str, Fernet] = {
            kid: Fernet(base64.urlsafe_b64encode(raw)) for kid, raw in self._ring.keys.items()
        }

    @staticmethod
    def generate_key() -> str:
        """A new random Fernet key (url-safe base64 text)."""
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode("ascii")

    @classmethod
    def conformance_instance(cls) -> FernetCodec:
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
        return f"{kid}.{self._fernets[kid].encrypt(text.encode('utf-8')).decode('ascii')}"

    def decode(self, text: str) -> str:
        """Decrypt with the key the value names.

        Raises:
            CodecError: no key with that id, the wrong key, or tampered data; ``.value``
                holds ``{"key_id": ...}``.
        """
        from cryptography.fernet import InvalidToken

        kid, token = split_key_id(text, self.name)
        self._ring.get(kid, self.name)
        try:
            return self._fernets[kid].decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError) as err:
            raise CodecError(
                f"fernet cannot decrypt with key id {kid!r}: wrong key or corrupt data",
                value={"key_id": kid},
            ) from err

    def __repr__(self) -> str:
        return f"FernetCodec(current={self._ring.current!r}, key_ids={self.key_ids!r})"
