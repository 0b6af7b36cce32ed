"""hotmesh.errors: stable codes, ``.value``, and the builtin bases callers catch."""

from __future__ import annotations

import builtins
import inspect
from typing import Any

import pytest

from hotmesh import errors
from hotmesh.errors import (
    AuthenticationFailed,
    CodecNotFound,
    ConfigError,
    DatabaseUnavailable,
    HotMeshError,
    HotMeshTimeoutError,
    PayloadError,
    ProviderNotFound,
    PubSubTimeout,
)

CLASSES: list[type[HotMeshError]] = [getattr(errors, name) for name in errors.__all__]


def make(cls: type[HotMeshError], value: Any) -> HotMeshError:
    """An instance of any error class, whatever its constructor."""
    if issubclass(cls, ProviderNotFound | CodecNotFound):
        return cls(value, installed=["b", "a"])
    return cls(f"boom {value}", value=value)


def test_all_lists_every_error_class_of_the_module() -> None:
    defined = {
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__ == errors.__name__
    }
    assert defined == set(errors.__all__)


def test_codes_are_distinct_integers() -> None:
    codes = [cls.code for cls in CLASSES]
    assert all(isinstance(code, int) for code in codes)
    duplicates = {c for c in codes if codes.count(c) > 1}
    assert not duplicates, f"shared codes: {duplicates}"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_class_is_a_hotmesh_error_carrying_value(cls: type[HotMeshError]) -> None:
    assert issubclass(cls, HotMeshError)
    err = make(cls, "the-value")
    assert err.value == "the-value"
    assert err.code == cls.code
    assert "the-value" in str(err)
    with pytest.raises(HotMeshError):
        raise err


def test_value_defaults_to_none() -> None:
    assert HotMeshError("plain").value is None
    assert PayloadError("too big").message == "too big"


def test_provider_not_found_lists_installed_providers_sorted() -> None:
    err = ProviderNotFound("mysql", installed=["psycopg", "asyncpg"])
    assert err.installed == ["asyncpg", "psycopg"]
    assert err.value == "mysql"
    assert "'mysql'" in str(err)
    assert str(err).endswith("installed providers: asyncpg, psycopg")
    assert isinstance(err, ConfigError)


def test_not_found_errors_say_none_when_nothing_is_installed() -> None:
    assert str(ProviderNotFound("x", installed=[])).endswith("installed providers: none")
    assert str(CodecNotFound("x", installed=[])).endswith("installed codecs: none")


def test_codec_not_found_lists_installed_codecs() -> None:
    err = CodecNotFound("zstd", installed=["gzip", "aes"])
    assert (err.value, err.installed, err.code) == ("zstd", ["aes", "gzip"], 1002)
    assert "aes, gzip" in str(err)


def test_timeouts_are_builtin_timeout_errors() -> None:
    assert issubclass(HotMeshTimeoutError, builtins.TimeoutError)
    assert issubclass(PubSubTimeout, HotMeshTimeoutError)
    with pytest.raises(TimeoutError):
        raise PubSubTimeout("job j1 did not answer", value="j1")


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (ConfigError, ValueError),
        (PayloadError, ValueError),
        (DatabaseUnavailable, ConnectionError),
        (AuthenticationFailed, PermissionError),
        (errors.TopicNotFound, LookupError),
        (errors.JobNotFound, LookupError),
    ],
)
def test_builtin_bases(cls: type[HotMeshError], builtin: type[BaseException]) -> None:
    assert issubclass(cls, builtin)
