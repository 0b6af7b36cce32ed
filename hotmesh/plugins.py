"""Plugin discovery: providers and codecs found through entry points.

Providers register under the entry-point group ``hotmesh.providers`` and codecs under
``hotmesh.codecs``; stevedore loads them by name. Which provider handles a user's
``connection["class"]`` is asked of every provider through a pluggy hook, so a third-party
provider can claim its own driver classes without the core knowing them.

Example:
    >>> from hotmesh.plugins import provider_names
    >>> "asyncpg" in provider_names()
    True
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any, cast

import pluggy
from stevedore import ExtensionManager

from hotmesh.errors import CodecNotFound, ConfigError, ProviderNotFound
from hotmesh.spi.codec import Codec
from hotmesh.spi.provider import Provider

__all__ = [
    "CODEC_GROUP",
    "PROVIDER_GROUP",
    "codec_names",
    "hookimpl",
    "load_codec",
    "plugin_manager",
    "provider_for",
    "provider_names",
    "split_connection",
]

log = logging.getLogger(__name__)

PROVIDER_GROUP = "hotmesh.providers"
CODEC_GROUP = "hotmesh.codecs"

hookspec = pluggy.HookspecMarker("hotmesh")
hookimpl = pluggy.HookimplMarker("hotmesh")


class HotMeshSpec:
    """The hooks plugins may implement."""

    @hookspec(firstresult=True)
    def hotmesh_provider_for(self, connection_class: object) -> str | None:
        """Return the provider name that handles ``connection_class``, or None."""


def _extensions(group: str) -> dict[str, Any]:
    manager = ExtensionManager(
        namespace=group, invoke_on_load=False, on_load_failure_callback=_warn
    )
    return {ext.name: ext.plugin for ext in manager}


#: Plugins whose optional dependency is not installed, by name: the import error.
_unavailable: dict[str, str] = {}


def _warn(_manager: Any, entry_point: Any, err: BaseException) -> None:
    if isinstance(err, ModuleNotFoundError):
        # An optional extra not installed (psycopg after installing only asyncpg): say
        # so only when that plugin is asked for (provider_for / load_codec).
        _unavailable[str(getattr(entry_point, "name", entry_point))] = str(err)
        log.debug("plugin %s is not available: %s", entry_point, err)
        return
    log.warning("could not load plugin %s: %s", entry_point, err)


@functools.cache
def _providers() -> dict[str, type[Provider]]:
    return cast(dict[str, type[Provider]], _extensions(PROVIDER_GROUP))


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The pluggy manager with every installed provider registered."""
    pm = pluggy.PluginManager("hotmesh")
    pm.add_hookspecs(HotMeshSpec)
    for name, provider in sorted(_providers().items()):
        pm.register(_ProviderHooks(provider), name=f"provider:{name}")
    return pm


class _ProviderHooks:
    """Adapts a provider class's ``accepts`` to the pluggy hook."""

    def __init__(self, provider: type[Provider]) -> None:
        self._provider = provider

    @hookimpl
    def hotmesh_provider_for(self, connection_class: object) -> str | None:
        return self._provider.name if self._provider.accepts(connection_class) else None


def provider_names() -> list[str]:
    """Names of the installed providers."""
    return sorted(_providers())


def provider_for(connection_class: object) -> type[Provider]:
    """The provider class that handles ``connection_class`` (module, class or name).

    Raises:
        ProviderNotFound: no installed provider accepts it; the message lists them.
    """
    providers = _providers()
    if isinstance(connection_class, str) and connection_class in providers:
        return providers[connection_class]
    name = plugin_manager().hook.hotmesh_provider_for(connection_class=connection_class)
    if name is None or name not in providers:
        wanted = _describe(connection_class)
        missing = _unavailable.get(wanted.split(".")[0])
        if missing is not None:
            raise ProviderNotFound(
                wanted,
                installed=providers,
                hint=f'{missing}; install it with: pip install "hotmesh[{wanted}]"',
            )
        raise ProviderNotFound(wanted, installed=providers)
    return providers[name]


def _describe(obj: object) -> str:
    if isinstance(obj, str):
        return obj
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if qualname is None:
        return repr(obj)
    return f"{module}.{qualname}" if module and module != qualname else str(qualname)


@functools.cache
def _codecs() -> dict[str, Any]:
    return _extensions(CODEC_GROUP)


def codec_names() -> list[str]:
    """Names of the installed codec plugins."""
    return sorted(_codecs())


def load_codec(name: str, **options: Any) -> Codec:
    """Instantiate the codec plugin ``name`` with ``options``.

    Raises:
        CodecNotFound: no codec plugin has that name.
    """
    codecs = _codecs()
    if name not in codecs:
        raise CodecNotFound(name, installed=codecs)
    codec = codecs[name](**options)
    if not isinstance(codec, Codec):
        raise ConfigError(f"codec plugin {name!r} does not implement encode/decode", value=name)
    return codec


def split_connection(connection: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Normalise a connection config into one ``{"class", "options"}`` per role.

    The short form ``{"class": X, "options": {...}}`` serves every role; the per-role form
    ``{"store": {...}, "stream": {...}, "sub": {...}}`` names each.

    Raises:
        ConfigError: the shape is neither.
    """
    if not isinstance(connection, Mapping):
        raise ConfigError("connection must be a mapping", value=type(connection).__name__)
    roles = ("store", "stream", "sub")
    if any(role in connection for role in roles):
        missing = [role for role in roles if role not in connection]
        if missing:
            raise ConfigError(f"connection names some roles but not {missing}", value=missing)
        return {role: _check_role(role, connection[role]) for role in roles}
    one = _check_role("connection", connection)
    return dict.fromkeys(roles, one)


def _check_role(role: str, config: Any) -> Mapping[str, Any]:
    if not isinstance(config, Mapping) or "class" not in config:
        raise ConfigError(f'{role} needs a "class" (a driver module, class or name)', value=role)
    options = config.get("options", {})
    if not isinstance(options, Mapping):
        raise ConfigError(f'{role} "options" must be a mapping', value=role)
    return config
