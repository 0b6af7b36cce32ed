"""The ``Codec`` interface: how values are transformed at rest."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Codec"]


@runtime_checkable
class Codec(Protocol):
    """A synchronous, reversible text transform applied to values at rest.

    Contract:

    * ``decode(encode(s)) == s`` for every string ``s`` (including ``""`` and non-ASCII).
    * ``encode`` returns text that survives storage in a Postgres ``text``/``jsonb`` string
      (no NUL characters).
    * ``decode`` of text the codec did not produce raises ``hotmesh.errors.CodecError``.
    * ``name`` identifies the codec in the marker stored beside each encoded value.

    Example:
        >>> import base64
        >>> class Base64:
        ...     name = "b64"
        ...     def encode(self, text: str) -> str:
        ...         return base64.b64encode(text.encode()).decode()
        ...     def decode(self, text: str) -> str:
        ...         return base64.b64decode(text).decode()
    """

    name: str

    def encode(self, text: str) -> str:
        """Transform plain text into its stored form."""
        ...

    def decode(self, text: str) -> str:
        """Reverse ``encode``."""
        ...
