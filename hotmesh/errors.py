"""The hotmesh exception tree.

Every error hotmesh raises on purpose is a :class:`HotMeshError`. Each class carries a stable
numeric ``code`` (useful in logs and across process boundaries) and, where there is one, the
offending ``value`` so callers can react without parsing messages.

Example:
    >>> from hotmesh.errors import HotMeshError, ProviderNotFound
    >>> try:
    ...     raise ProviderNotFound("mysql", installed=["asyncpg", "psycopg"])
    ... except HotMeshError as err:
    ...     (err.code, err.value)
    (1001, 'mysql')
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any, ClassVar

__all__ = [
    "ActivationError",
    "AuthenticationFailed",
    "CodecError",
    "CodecNotFound",
    "ConfigError",
    "DatabaseUnavailable",
    "DeployError",
    "DuplicateJob",
    "HotMeshError",
    "HotMeshTimeoutError",
    "InvalidArgument",
    "JobFailed",
    "JobNotFound",
    "LeaseLost",
    "MapperError",
    "MigrationError",
    "PayloadError",
    "PipeError",
    "ProviderError",
    "ProviderNotFound",
    "PubSubTimeout",
    "StepError",
    "StreamError",
    "TopicNotFound",
    "ValidationError",
]


class HotMeshError(Exception):
    """Base class of every error hotmesh raises.

    Attributes:
        code: a stable number for this kind of error.
        value: the offending value, when there is one (a name, a topic, a payload size...).
    """

    code: ClassVar[int] = 1000

    def __init__(self, message: str, *, value: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.value = value


# -- configuration -------------------------------------------------------------------------


class ConfigError(HotMeshError, ValueError):
    """A configuration value is missing or malformed."""

    code = 1010


class ProviderNotFound(ConfigError):
    """No installed provider answers for the given ``connection["class"]``."""

    code = 1001

    def __init__(self, wanted: Any, *, installed: Iterable[str], hint: str = "") -> None:
        names = sorted(installed)
        shown = ", ".join(names) if names else "none"
        super().__init__(
            f"no hotmesh provider handles connection class {wanted!r}; "
            f"installed providers: {shown}" + (f" ({hint})" if hint else ""),
            value=wanted,
        )
        self.installed = names


class CodecNotFound(ConfigError):
    """No installed codec has the requested name."""

    code = 1002

    def __init__(self, wanted: str, *, installed: Iterable[str]) -> None:
        names = sorted(installed)
        shown = ", ".join(names) if names else "none"
        super().__init__(f"no codec named {wanted!r}; installed codecs: {shown}", value=wanted)
        self.installed = names


# -- database and provider -----------------------------------------------------------------


class ProviderError(HotMeshError):
    """The storage provider failed in a way that is not the caller's input."""

    code = 1100


class DatabaseUnavailable(ProviderError, builtins.ConnectionError):
    """The database could not be reached. ``value`` is the host (or socket) that was tried."""

    code = 1101


class AuthenticationFailed(ProviderError, PermissionError):
    """The database refused the credentials. ``value`` is the user name."""

    code = 1102


class MigrationError(ProviderError):
    """The schema could not be created or upgraded."""

    code = 1103


# -- input ---------------------------------------------------------------------------------


class PayloadError(HotMeshError, ValueError):
    """A message payload cannot be stored: not JSON-serialisable, or larger than allowed."""

    code = 1200


class InvalidArgument(HotMeshError, ValueError):
    """An argument cannot be used as given (an empty or over-long id, a topic that is not a
    string, text Postgres cannot store). ``value`` names the argument (``"job_id"``...);
    nothing was sent to the database.
    """

    code = 1209


class ValidationError(HotMeshError, ValueError):
    """Input data violates the schema a graph declares. ``value`` is the field path."""

    code = 1201


class DeployError(HotMeshError, ValueError):
    """A YAML app cannot be deployed. ``value`` names the bad node (activity id, file, line)."""

    code = 1202


class MapperError(HotMeshError, ValueError):
    """A mapping rule cannot be evaluated or refers to something that does not exist."""

    code = 1203


class PipeError(MapperError):
    """A ``@pipe`` expression is malformed or names an unknown function."""

    code = 1204


class TopicNotFound(HotMeshError, LookupError):
    """No active graph subscribes to the topic. ``value`` is the topic."""

    code = 1205


class JobNotFound(HotMeshError, LookupError):
    """No job has this id (or it is not running). ``value`` is the job id.

    The message starts with ``"Job "`` as the reference's does (logs are grepped for it).

    Example:
        >>> str(JobNotFound(value="H1"))
        'Job H1 not found'
    """

    code = 1206

    def __init__(self, message: str = "", *, value: Any = None) -> None:
        super().__init__(message or f"Job {value} not found", value=value)


class JobFailed(HotMeshError):
    """A job completed with an error (``pubsub`` raises it). ``value`` is the job id.

    Attributes:
        error: the job's error (``message``, ``code``…), parsed from ``metadata.err``.
        output: the job's final :class:`hotmesh.types.JobOutput`.
    """

    code = 1208

    def __init__(
        self,
        message: str,
        *,
        value: Any = None,
        error: dict[str, Any] | None = None,
        output: Any = None,
    ) -> None:
        super().__init__(message, value=value)
        self.error = error or {}
        self.output = output

    @property
    def job_id(self) -> str:
        """The failed job's id."""
        return str(self.value)


class DuplicateJob(HotMeshError):
    """A job with this id already exists. ``value`` is the job id."""

    code = 1207


class StepError(HotMeshError):
    """A step of a job could not be applied (a map raised, a worker answer was malformed,
    a message of the job was dead-lettered). The job fails with this code in
    ``metadata.err`` unless the cause has a code of its own. ``value`` is the job id."""

    code = 1210


# -- runtime -------------------------------------------------------------------------------


class StreamError(HotMeshError):
    """A stream operation could not be carried out."""

    code = 1300


class LeaseLost(StreamError):
    """The consumer's lease on a message expired and another consumer may hold it."""

    code = 1301


class CodecError(HotMeshError):
    """A value could not be encoded or decoded (wrong or missing key, corrupt data)."""

    code = 1400


class ActivationError(HotMeshError):
    """A version could not be activated across the mesh. ``value`` names who did not confirm."""

    code = 1500


class HotMeshTimeoutError(HotMeshError, builtins.TimeoutError):
    """Base class of hotmesh timeouts; also a built-in :class:`TimeoutError`."""

    code = 1600


class PubSubTimeout(HotMeshTimeoutError):
    """``pubsub`` did not receive the job's result in time. ``value`` is the job id."""

    code = 1601
