"""Keyrings for the encrypting codecs: key ids, the current key, and rotation.

A keyed codec writes ``<key id>.<ciphertext>``: the key id travels with every value, so
after a rotation old values still decode with their old key while new values use the new
current key (see :func:`hotmesh.serializer.key_id_of`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping

from hotmesh.errors import CodecError

__all__ = ["KeyLike", "Keyring", "split_key_id"]

#: A key as given by a user: raw bytes, or text (base64 or url-safe base64 of the bytes).
KeyLike = str | bytes

_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def fingerprint(raw: bytes) -> str:
    """A stable key id derived from the key itself (``k`` + 8 hex digits of its SHA-256)."""
    return "k" + hashlib.sha256(raw).hexdigest()[:8]


def key_bytes(key: KeyLike, *, sizes: tuple[int, ...], codec: str) -> bytes:
    """The raw bytes of ``key`` (bytes of one of ``sizes``, or their base64 text).

    Raises:
        CodecError: the key has the wrong size or is not base64.
    """
    raw: bytes | None = None
    if isinstance(key, bytes) and len(key) in sizes:
        raw = key
    else:
        text = key.decode("ascii", "replace") if isinstance(key, bytes) else str(key)
        for decoder in (base64.urlsafe_b64decode, base64.b64decode):
            try:
                candidate = decoder(text.strip() + "=" * (-len(text.strip()) % 4))
            except (binascii.Error, ValueError):
                continue
            if len(candidate) in sizes:
                raw = candidate
                break
    if raw is None:
        raise CodecError(
            f"{codec} keys must be {' or '.join(map(str, sizes))} bytes (or their base64)",
            value={"key_id": None},
        )
    return raw


def split_key_id(text: str, codec: str) -> tuple[str, str]:
    """Split ``<key id>.<data>``.

    Raises:
        CodecError: ``text`` does not start with a key id.
    """
    key_id, sep, data = text.partition(".")
    if not sep or not _KEY_ID.fullmatch(key_id):
        raise CodecError(f"value was not encoded by the {codec} codec", value={"key_id": None})
    return key_id, data


class Keyring:
    """Named keys and the current one (used for new values).

    Example:
        >>> ring = Keyring.build(key="a" * 43 + "=", key_id="k1", keys=None, current=None,
        ...                      parse=lambda k: k.encode(), codec="demo")
        >>> ring.current, sorted(ring.keys)
        ('k1', ['k1'])
    """

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        self.keys = keys
        self.current = current

    @classmethod
    def build(
        cls,
        *,
        key: KeyLike | None,
        key_id: str | None,
        keys: Mapping[str, KeyLike] | None,
        current: str | None,
        parse: Callable[[KeyLike], bytes],
        codec: str,
    ) -> Keyring:
        """A keyring from a codec's options.

        ``key`` (with ``key_id``, default a fingerprint of the key) is one key, and the
        current one; ``keys`` maps key ids to keys (old ones kept for decoding), and
        ``current`` picks the one used for new values (default: ``key``, else the last of
        ``keys``).

        Raises:
            CodecError: no key given, a key id is malformed, or ``current`` is unknown.
        """
        ring: dict[str, bytes] = {}
        for kid, value in (keys or {}).items():
            ring[_checked_id(kid, codec)] = parse(value)
        chosen = current
        if key is not None:
            raw = parse(key)
            kid = _checked_id(key_id, codec) if key_id is not None else fingerprint(raw)
            ring[kid] = raw
            chosen = chosen or kid
        if not ring:
            raise CodecError(
                f"the {codec} codec needs a key: key=... or keys={{id: key}}",
                value={"key_id": None},
            )
        chosen = chosen or list(ring)[-1]
        if chosen not in ring:
            raise CodecError(
                f"current key id {chosen!r} is not among the {codec} keys", value={"key_id": chosen}
            )
        return cls(ring, chosen)

    def get(self, key_id: str, codec: str) -> bytes:
        """The key with ``key_id``.

        Raises:
            CodecError: this keyring has no such key (names the key id).
        """
        try:
            return self.keys[key_id]
        except KeyError:
            raise CodecError(
                f"no {codec} key with id {key_id!r} is configured", value={"key_id": key_id}
            ) from None


def _checked_id(key_id: str, codec: str) -> str:
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise CodecError(
            f"{codec} key ids are 1-64 characters of A-Z a-z 0-9 _ -, got {key_id!r}",
            value={"key_id": key_id},
        )
    return key_id
