"""Provider plugins: how every provider, built in or installed as its own package, is found.

Why entry points: a provider written outside this repository must be usable without
editing the library. Its package declares, in its own ``pyproject.toml``::

    [project.entry-points."asxh_pay.providers"]
    acme_pay = "acme_pay.plugin:plugin"

naming a factory that returns a :class:`ProviderPlugin` (its adapter class, its sandbox
factories and metadata). ``asxh-pay sandbox serve acme_pay`` and the payroll's
configured rails then find it by that name. The built-in providers register the same way
(in this library's ``pyproject.toml``), so there is one path for all of them.

Names are compared in canonical form: lower case, ``-`` read as ``_`` (``viettel-money``
is ``viettel_money``). Only the plugin asked for is imported: a broken package breaks
its own name, with an error that says which distribution and why, never the others.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from asxh_pay.errors import ConfigurationError, Message
from asxh_pay.providers.base import ProviderAdapter

GROUP = "asxh_pay.providers"

#: The group's built-in entries, exactly as ``[project.entry-points."asxh_pay.providers"]``
#: in pyproject.toml declares them (a test keeps the two equal); factories in
#: :mod:`asxh_pay.builtin_plugins`.
BUILTIN_ENTRY_POINTS: dict[str, str] = {
    "generic": "asxh_pay.builtin_plugins:generic",
    "momo": "asxh_pay.builtin_plugins:momo",
    "treasury": "asxh_pay.builtin_plugins:treasury",
    "viettel_money": "asxh_pay.builtin_plugins:viettel_money",
    "vnpost": "asxh_pay.builtin_plugins:vnpost",
}

__all__ = [
    "GROUP",
    "BrokenProviderPlugin",
    "ProviderPlugin",
    "UnknownProvider",
    "canonical",
    "load_provider",
    "provider_names",
]


class UnknownProvider(ConfigurationError):
    """No installed package registers a provider of that name."""


class BrokenProviderPlugin(ConfigurationError):
    """A provider is registered but its plugin cannot be loaded or is not a plugin."""


@dataclass(frozen=True)
class ProviderPlugin:
    """What a provider package gives the library, as returned by its entry point's factory.

    * ``name``: the provider's name, equal to ``adapter.name`` (the ledger records it)
      and to the entry point's name.
    * ``adapter``: the :class:`ProviderAdapter` subclass.
    * ``sandbox``: the sandbox factory the contract kit and the embedded payroll call, with
      :class:`~asxh_pay.sandbox.base.SandboxProvider`'s keyword arguments
      (``settle_after_s``, ``faults``, ``clock``, ``callback_sink``...); it returns a
      :class:`~asxh_pay.testing.KitSandbox`. ``None`` only for a rail whose sandbox
      cannot stand alone (the Treasury's file channel).
    * ``sandbox_adapter``: ``sandbox_adapter(base_url)`` is the adapter holding the
      sandbox's published test credentials, for a sandbox at ``base_url`` (loopback when
      served, ``*.invalid`` in process).
    * ``configure``: ``configure(base_url, settings)`` is the production adapter; ``settings``
      is the rail's configuration as a mapping (secrets as plain strings). ``None``: the
      provider can only be used against its sandbox.
    * ``serve``: the sandbox ``asxh-pay sandbox serve NAME`` runs (no arguments); by
      default ``sandbox(settle_after_s=1.0)``.
    * ``published_credentials``: the sandbox's published secrets and keys; an adapter
      refuses them off a sandbox address (:meth:`ProviderAdapter.refuse_sandbox_credentials`).
    * ``description``: one line for ``asxh-pay sandbox list``-style listings and errors.
    """

    name: str
    adapter: type[ProviderAdapter]
    sandbox: Callable[..., Any] | None
    sandbox_adapter: Callable[..., ProviderAdapter] | None = None
    configure: Callable[[str, Mapping[str, Any]], ProviderAdapter] | None = None
    serve: Callable[[], Any] | None = None
    published_credentials: tuple[object, ...] = ()
    description: str = ""
    #: Where it came from: ``distribution version (entry point value)``; set by the loader.
    origin: str = field(default="", compare=False)

    def served_sandbox(self) -> Any:
        """The sandbox ``asxh-pay sandbox serve`` runs."""
        if self.serve is not None:
            return self.serve()
        if self.sandbox is None:
            raise ConfigurationError(f"provider {self.name} has no sandbox to serve")
        return self.sandbox(settle_after_s=1.0)


def canonical(name: str) -> str:
    """A provider name as registries and ledgers compare it (``Viettel-Money`` -> ``viettel_money``)."""
    return name.strip().lower().replace("-", "_")


def _entry_points() -> dict[str, list[metadata.EntryPoint]]:
    """Every entry point of the group, by canonical name (several: a clash, refused on load).

    An ``asxh_pay`` install whose metadata predates the group (an editable install not
    redone since) has the built-ins added from :data:`BUILTIN_ENTRY_POINTS`, the same
    declarations as ``pyproject.toml``, loaded the same way.
    """
    found: dict[str, list[metadata.EntryPoint]] = {}
    for ep in metadata.entry_points(group=GROUP):
        found.setdefault(canonical(ep.name), []).append(ep)
    for name, value in BUILTIN_ENTRY_POINTS.items():
        eps = found.setdefault(name, [])
        if not any(ep.value == value for ep in eps):
            eps.append(metadata.EntryPoint(name, value, GROUP))
    return found


def provider_names() -> list[str]:
    """The canonical names of every registered provider (nothing is imported)."""
    return sorted(_entry_points())


def _origin(ep: metadata.EntryPoint) -> str:
    dist = ep.dist
    where = f"{dist.name} {dist.version}" if dist is not None else "asxh_pay (built in)"
    return f"{where}: {ep.name} = {ep.value}"


@functools.cache
def load_provider(name: str) -> ProviderPlugin:
    """The plugin registered under ``name``; :class:`UnknownProvider` or
    :class:`BrokenProviderPlugin` (both :class:`ConfigurationError`) saying why not."""
    key = canonical(name)
    eps = _entry_points().get(key)
    if not eps:
        installed = ", ".join(provider_names()) or Message("none_installed")
        raise UnknownProvider(Message("unknown_provider", name=name, installed=installed, group=GROUP))
    values = {ep.value for ep in eps}
    if len(values) > 1:
        raise BrokenProviderPlugin(
            f"provider {key!r} is registered twice: {'; '.join(_origin(ep) for ep in eps)}; "
            "uninstall one of them"
        )
    ep = eps[0]
    origin = _origin(ep)
    try:
        factory = ep.load()
        plugin = factory() if callable(factory) and not isinstance(factory, ProviderPlugin) else factory
    except Exception as exc:  # any failure of someone else's package is reported, never raised raw
        raise BrokenProviderPlugin(
            f"provider plugin {key!r} cannot be loaded ({origin}): {type(exc).__name__}: {exc}"
        ) from exc
    _check(key, plugin, origin)
    assert isinstance(plugin, ProviderPlugin)
    from dataclasses import replace

    if plugin.published_credentials:
        from asxh_pay.sandbox.keys import publish

        publish(*plugin.published_credentials)
    return replace(plugin, origin=origin)


def _check(key: str, plugin: object, origin: str) -> None:
    def broken(why: str) -> BrokenProviderPlugin:
        return BrokenProviderPlugin(f"provider plugin {key!r} ({origin}) {why}")

    if not isinstance(plugin, ProviderPlugin):
        raise broken(f"returned {type(plugin).__name__}, not an asxh_pay.plugins.ProviderPlugin")
    if not (isinstance(plugin.adapter, type) and issubclass(plugin.adapter, ProviderAdapter)):
        raise broken("has an adapter that is not a ProviderAdapter subclass")
    adapter_name = getattr(plugin.adapter, "name", None)
    if canonical(plugin.name) != key or adapter_name != plugin.name:
        raise broken(
            f"is named {plugin.name!r} with an adapter named {adapter_name!r}: "
            "the entry point, the plugin and the adapter must share one name"
        )
    for attr in ("sandbox", "sandbox_adapter", "configure", "serve"):
        value = getattr(plugin, attr)
        if value is not None and not callable(value):
            raise broken(f"has a {attr} that is not callable")


def load_providers(names: Iterable[str]) -> dict[str, ProviderPlugin]:
    """Several plugins by name (each loaded once)."""
    return {canonical(n): load_provider(n) for n in names}


def destinations_of(plugin: ProviderPlugin) -> tuple[str, ...]:
    """The routing keys a provider can serve, from its adapter's declared capabilities.

    ``wallet`` becomes ``wallet:<name>`` for each wallet it declares (``wallet:<provider>``
    when it declares none: a wallet provider pays its own wallets), as the router keys them.
    """
    caps = plugin.adapter.capabilities
    keys: list[str] = []
    for kind in sorted(caps.destinations):
        if kind == "wallet":
            keys += [f"wallet:{w}" for w in sorted(caps.wallet_providers or {plugin.name})]
        else:
            keys.append(kind)
    return tuple(keys)


def rail_adapter(
    name: str,
    *,
    base_url: str | None,
    sandbox: bool,
    settings: Mapping[str, Any],
    book: Any = None,
) -> tuple[ProviderAdapter, Any]:
    """The adapter of a configured rail served by a plugin, and its in-process sandbox if any.

    * ``sandbox`` without ``base_url``: the plugin's sandbox in this process (books at
      ``book``, settled when submitted, as the built-in embedded rails) and the adapter
      holding its test credentials; send through ``sandbox.transport()``.
    * ``sandbox`` with ``base_url``: the test-credential adapter, for a served sandbox.
    * otherwise ``plugin.configure(base_url, settings)``: the production adapter.
    """
    plugin = load_provider(name)
    if sandbox:
        if plugin.sandbox_adapter is None:
            raise ConfigurationError(f"provider {plugin.name} ({plugin.origin}) gives no sandbox adapter")
        if base_url is not None:
            return plugin.sandbox_adapter(base_url), None
        if plugin.sandbox is None:
            raise ConfigurationError(f"provider {plugin.name} ({plugin.origin}) has no in-process sandbox")
        return plugin.sandbox_adapter(), plugin.sandbox(settle_after_s=0.0, book=book)
    if base_url is None:
        raise ConfigurationError(f"rail {plugin.name}: base_url is required outside a sandbox")
    if plugin.configure is None:
        raise ConfigurationError(
            f"provider {plugin.name} ({plugin.origin}) cannot be configured for production: "
            "its plugin has no configure"
        )
    return plugin.configure(base_url, settings), None
