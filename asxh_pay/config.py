"""The deployment's configuration: ``asxh-pay.toml``, ``ASXH_PAY_*`` variables, a secrets directory.

Why one file plus the environment (pydantic-settings): a province's operations team keeps
the rails, the register and the ledger in one reviewed file under version control, and
the secrets out of it. Every value of the file can be overridden by an environment
variable named after its path (``ASXH_PAY_`` + keys joined by ``__``, e.g.
``ASXH_PAY_RAILS__MOMO__BASE_URL``), and every secret comes *only* from such a variable or
from a file of the secrets directory (``ASXH_PAY_SECRETS_DIR``, default
``/run/secrets/asxh-pay`` when it exists) named like the variable in lower case
(``asxh_pay_rails__momo__secret_key``).

A file holding a secret in clear is refused, naming the variable to use instead: a
secret in a reviewed file is a leaked secret. Secrets are :class:`pydantic.SecretStr`
and are never printed (``asxh-pay config show`` masks them).

Where the file is: ``--config PATH``, else ``ASXH_PAY_CONFIG``, else ``./asxh-pay.toml``
when it exists. With no file at all the embedded sandboxes are the configuration (the
zero-setup ``asxh-pay demo`` and quick start): :func:`embedded_default`.

Shape (see README "Configuration")::

    ledger_url = "postgresql://asxh@db.internal/asxh"
    roster = "/etc/asxh-pay/operators.toml"
    log_format = "json"

    [routing]
    cash_fallback = "vnpost"          # the rail paying in cash what could not be paid electronically
    # routes default to each rail's destinations; override one with e.g. "wallet:momo" = "momo"

    [rails.momo]
    provider = "momo"
    base_url = "https://payment.momo.vn"
    partner_code = "MOMOXXXX"
    access_key = "..."                 # an identifier, not a secret
    callback_url = "https://asxh.example.vn/callbacks/momo"
    destinations = ["wallet:momo"]
    timeout_s = 30
    key_files = { provider_public_key = "/etc/asxh-pay/momo-rsa-public.pem" }
    limits = { concurrency = 32, max_amount = 50000000 }
    # secret_key: ASXH_PAY_RAILS__MOMO__SECRET_KEY (or the secrets directory)

    [register]
    base_url = "https://dancu.example.vn/asxh"
    # token: ASXH_PAY_REGISTER__TOKEN
"""

from __future__ import annotations

import os
import tomllib
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from asxh_pay.errors import ConfigurationError, Message

ENV_PREFIX = "ASXH_PAY_"
CONFIG_ENV = "ASXH_PAY_CONFIG"
SECRETS_DIR_ENV = "ASXH_PAY_SECRETS_DIR"
DEFAULT_FILE = "asxh-pay.toml"
DEFAULT_SECRETS_DIR = Path("/run/secrets/asxh-pay")

#: The providers the library has adapters for, by their canonical (ledger) name.
PROVIDERS = ("treasury", "viettel_money", "momo", "vnpost")
#: Destinations each provider can be routed (the Router's keys).
DESTINATIONS: dict[str, tuple[str, ...]] = {
    "treasury": ("bank",),
    "viettel_money": ("wallet:viettel_money",),
    "momo": ("wallet:momo",),
    "vnpost": ("postal_account", "cash_pickup", "cash_home"),
}
#: Which secrets each provider needs outside a sandbox.
REQUIRED_SECRETS: dict[str, tuple[str, ...]] = {
    "treasury": (),  # signs with its client key file; the key's password is optional
    "viettel_money": ("token",),
    "momo": ("secret_key",),
    "vnpost": ("secret_key",),
}
#: Key files each provider needs outside a sandbox.
REQUIRED_KEY_FILES: dict[str, tuple[str, ...]] = {
    "treasury": ("client_key",),
    "viettel_money": ("partner_key", "provider_public_key"),
    "momo": ("provider_public_key",),
    "vnpost": (),
}


def plugin_destinations(provider: str) -> tuple[str, ...]:
    """What a provider installed as a plugin can be routed, from its adapter's capabilities."""
    from asxh_pay.plugins import destinations_of, load_provider

    try:
        return destinations_of(load_provider(provider))
    except ConfigurationError as exc:  # a broken plugin: the rail's table is refused, saying why
        raise ValueError(str(exc)) from None


def secret_env(*path: str) -> str:
    """The environment variable that sets the value at ``path`` (``rails``, ``momo``, ``secret_key``)."""
    return ENV_PREFIX + "__".join(p.upper() for p in path)


def _canonical(provider: str) -> str:
    return provider.strip().lower().replace("-", "_")


def is_loopback_url(url: str) -> bool:
    host = httpx.URL(url).host
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


class Limits(BaseModel):
    """What we send the rail: requests in flight, per second; ``max_amount`` caps a bank transfer (VND)."""

    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(32, ge=1, le=1024)
    rate_per_s: float | None = Field(None, gt=0)
    max_amount: int | None = Field(None, ge=1)


class RailSettings(BaseModel):
    """One payment rail: an adapter, where it is, how it authenticates, what it pays."""

    model_config = ConfigDict(extra="forbid")
    SECRETS: ClassVar[tuple[str, ...]] = ("token", "secret_key", "key_password")

    provider: str
    #: A sandbox: the built-in sandbox credentials are used. Without ``base_url`` the
    #: sandbox is embedded in the process (the zero-setup default); with one it is a
    #: served sandbox (``asxh-pay sandbox serve``), which must be on a loopback address.
    sandbox: bool = False
    base_url: str | None = None
    partner_code: str | None = None
    access_key: str | None = None  # MoMo's access key: an identifier sent in clear
    client_id: str | None = None  # the bank's host-to-host client id
    debtor_account: str | None = None  # the paying unit's account at the State Treasury
    debtor_name: str | None = None
    debtor_bank_bin: str | None = None
    token: SecretStr | None = None
    secret_key: SecretStr | None = None
    key_password: SecretStr | None = None
    key_files: dict[str, Path] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=lambda: Limits())
    timeout_s: float = Field(30.0, gt=0, le=600)
    callback_url: str | None = None
    destinations: list[str] = Field(default_factory=list)

    @field_validator("provider")
    @classmethod
    def _known(cls, v: str) -> str:
        name = _canonical(v)
        if name not in PROVIDERS:
            from asxh_pay.plugins import provider_names

            installed = provider_names()  # provider packages, through their entry points
            if name not in installed:
                known = ", ".join(sorted({*PROVIDERS, *installed}))
                raise ValueError(
                    f"unknown provider {v!r}; known: {known} "
                    "(a provider package registers itself in the entry point group asxh_pay.providers)"
                )
        return name

    @model_validator(mode="after")
    def _check(self) -> RailSettings:
        allowed = DESTINATIONS.get(self.provider) or plugin_destinations(self.provider)
        for d in self.destinations:
            if d not in allowed:
                raise ValueError(
                    f"{self.provider} cannot pay destination {d!r}; it pays {', '.join(allowed)}"
                )
        if not self.destinations:
            self.destinations = list(allowed)
        if self.sandbox and self.base_url is not None and not is_loopback_url(self.base_url):
            raise ValueError(
                f"a sandbox rail must be served on a loopback address, not {httpx.URL(self.base_url).host}"
            )
        if not self.sandbox and self.base_url is None:
            raise ValueError("base_url is required for a rail that is not a sandbox")
        return self

    @property
    def embedded(self) -> bool:
        """An in-process sandbox (no address): built by :func:`asxh_pay.payroll.rails.embedded_rails`."""
        return self.sandbox and self.base_url is None


class RegisterSettings(BaseModel):
    """The population register: the embedded sandbox, or the HTTP API of docs/register.md."""

    model_config = ConfigDict(extra="forbid")
    SECRETS: ClassVar[tuple[str, ...]] = ("token",)

    sandbox: bool = True
    base_url: str | None = None  # None with sandbox: <data-dir>/registry.db in the process
    token: SecretStr | None = None
    timeout_s: float = Field(30.0, gt=0, le=600)
    batch_size: int = Field(500, ge=1, le=5000)

    @model_validator(mode="after")
    def _check(self) -> RegisterSettings:
        if not self.sandbox and self.base_url is None:
            raise ValueError("base_url is required for a population register that is not the sandbox")
        if self.sandbox and self.base_url is not None and not is_loopback_url(self.base_url):
            raise ValueError("a sandbox register must be served on a loopback address")
        return self

    @property
    def embedded(self) -> bool:
        return self.sandbox and self.base_url is None


class EventsSettings(BaseModel):
    """Payout state changes sent to the integrator's backend (asxh_pay.events); off without ``url``."""

    model_config = ConfigDict(extra="forbid")
    SECRETS: ClassVar[tuple[str, ...]] = ("secret",)

    url: str | None = None
    secret: SecretStr | None = None  # the Standard Webhooks whsec_... secret
    timeout_s: float = Field(10.0, gt=0, le=120)


class RoutingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Destination -> rail name, overriding the rails' ``destinations``.
    routes: dict[str, str] = Field(default_factory=dict)
    #: The rail paying in cash what could not be paid electronically. Default: ``vnpost`` when
    #: that rail is configured; ``""`` turns the fallback off.
    cash_fallback: str | None = None


def _default_rails() -> dict[str, RailSettings]:
    return {name: RailSettings(provider=name, sandbox=True) for name in PROVIDERS}


def _embedded_data() -> dict[str, Any]:
    return {"rails": {name: {"provider": name, "sandbox": True} for name in PROVIDERS}}


with warnings.catch_warnings():
    # ``register`` shadows ABCMeta.register, a class method nobody calls on settings.
    warnings.filterwarnings("ignore", message='Field name "register"', category=UserWarning)

    class Settings(BaseSettings):
        """The effective configuration (file, then environment and secrets directory on top)."""

        model_config = SettingsConfigDict(
            env_prefix=ENV_PREFIX,
            env_nested_delimiter="__",
            secrets_nested_delimiter="__",
            case_sensitive=False,
            extra="forbid",
        )

        ledger_url: str | None = None  # None: sqlite:///<data-dir>/ledger.db
        rails: dict[str, RailSettings] = Field(default_factory=_default_rails)
        routing: RoutingSettings = Field(default_factory=RoutingSettings)
        register: RegisterSettings = Field(default_factory=RegisterSettings)
        events: EventsSettings = Field(default_factory=EventsSettings)
        roster: Path | None = None  # the operator roster (default: <data-dir>/keys/trusted)
        log_format: Literal["text", "json"] = "text"
        #: Where the file was read from (None: no file, the embedded defaults).
        source: Path | None = Field(None, exclude=True)

        @model_validator(mode="before")
        @classmethod
        def _provider_from_table(cls, data: Any) -> Any:
            """``[rails.momo]`` needs no ``provider = "momo"``: the table's name is the default."""
            if isinstance(data, dict) and isinstance(data.get("rails"), dict):
                for name, rail in data["rails"].items():
                    if isinstance(rail, dict) and "provider" not in rail:
                        rail["provider"] = name
            return data

        @field_validator("rails")
        @classmethod
        def _rail_names(cls, v: dict[str, RailSettings]) -> dict[str, RailSettings]:
            for name, rail in v.items():
                if name != rail.provider:
                    raise ValueError(
                        f"rail {name!r} uses provider {rail.provider!r}: name the table after its provider "
                        f"([rails.{rail.provider}])"
                    )
            return v

        @model_validator(mode="after")
        def _routing(self) -> Settings:
            if "cash_fallback" not in self.routing.model_fields_set:
                self.routing.cash_fallback = "vnpost" if "vnpost" in self.rails else None
            elif self.routing.cash_fallback == "":
                self.routing.cash_fallback = None
            fb = self.routing.cash_fallback
            if fb is not None and fb not in self.rails:
                raise ValueError(f"routing.cash_fallback names {fb!r}, which is not a configured rail")
            for dest, rail in self.routing.routes.items():
                if rail not in self.rails:
                    raise ValueError(
                        f"routing.routes[{dest!r}] names {rail!r}, which is not a configured rail"
                    )
            embedded = {n for n, r in self.rails.items() if r.embedded}
            if embedded and embedded != set(self.rails):
                raise ValueError(
                    f"embedded sandbox rails ({', '.join(sorted(embedded))}) cannot be mixed with rails "
                    "reached over HTTP: give every sandbox rail a base_url (asxh-pay sandbox serve)"
                )
            return self

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            # Highest first: explicit arguments, the environment, the secrets directory, the file.
            path = _CURRENT_FILE.get("path")
            base: PydanticBaseSettingsSource
            if path is not None:
                base = TomlConfigSettingsSource(settings_cls, toml_file=path)
            else:  # no file: the embedded sandboxes, under the same overrides
                base = InitSettingsSource(settings_cls, init_kwargs=_embedded_data())
            secrets = NestedSecretsSettingsSource(file_secret_settings)
            return init_settings, env_settings, secrets, base

        # -- derived -----------------------------------------------------------------

        def routes(self) -> dict[str, str]:
            """Destination -> rail, from the rails' destinations and the explicit overrides."""
            out: dict[str, str] = {}
            for name, rail in self.rails.items():
                for d in rail.destinations:
                    out.setdefault(d, name)
            out.update(self.routing.routes)
            return out

        @property
        def embedded(self) -> bool:
            """Every rail is an in-process sandbox (today's zero-setup behaviour)."""
            return all(r.embedded for r in self.rails.values())

        def masked(self) -> dict[str, Any]:
            """The configuration as data, every secret shown as ``**********`` or ``(not set)``."""
            data = self.model_dump(mode="json", exclude={"source"})
            if self.ledger_url is not None:
                data["ledger_url"] = mask_url(self.ledger_url)
            for name, rail in self.rails.items():
                for s in RailSettings.SECRETS:
                    data["rails"][name][s] = "**********" if getattr(rail, s) is not None else "(not set)"
            data["register"]["token"] = "**********" if self.register.token is not None else "(not set)"
            data["events"]["secret"] = "**********" if self.events.secret is not None else "(not set)"
            return data


#: The file being loaded (pydantic-settings reads sources inside the constructor).
_CURRENT_FILE: dict[str, Path | None] = {"path": None}


def mask_url(url: str) -> str:
    """A URL with its password replaced (postgresql://user:***@host/db)."""
    try:
        u = httpx.URL(url)
    except Exception:
        return "(unparseable URL)"
    if u.password:
        return str(u.copy_with(password="***"))
    return url


# --------------------------------------------------------------------------- loading


def _walk_secrets(data: Mapping[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Paths in the raw file that hold a secret value (never allowed there)."""
    if "rails" in data and isinstance(data["rails"], Mapping) and not path:
        for name, rail in data["rails"].items():
            if isinstance(rail, Mapping):
                for s in RailSettings.SECRETS:
                    if rail.get(s) not in (None, ""):
                        yield ("rails", str(name), s)
    reg = data.get("register")
    if not path and isinstance(reg, Mapping) and reg.get("token") not in (None, ""):
        yield ("register", "token")
    events = data.get("events")
    if not path and isinstance(events, Mapping) and events.get("secret") not in (None, ""):
        yield ("events", "secret")
    url = data.get("ledger_url")
    if not path and isinstance(url, str):
        try:
            if httpx.URL(url).password:
                yield ("ledger_url",)
        except Exception:
            pass


def config_path(explicit: str | Path | None = None) -> Path | None:
    """``--config``, else ``ASXH_PAY_CONFIG``, else ./asxh-pay.toml if present, else None."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    local = Path(DEFAULT_FILE)
    return local if local.is_file() else None


def _secrets_dir() -> Path | None:
    env = os.environ.get(SECRETS_DIR_ENV)
    if env:
        path = Path(env)
        if not path.is_dir():
            raise ConfigurationError(Message("secrets_dir_not_dir", env=SECRETS_DIR_ENV, path=path))
        return path
    return DEFAULT_SECRETS_DIR if DEFAULT_SECRETS_DIR.is_dir() else None


def load_settings(path: str | Path | None = None) -> Settings:
    """The effective configuration; raises ConfigurationError with a message a person can act on."""
    file = config_path(path)
    raw: dict[str, Any] = {}
    if file is not None:
        if not file.is_file():
            raise ConfigurationError(Message("config_missing", file=file))
        try:
            raw = tomllib.loads(file.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(Message("config_not_toml", file=file, detail=str(exc))) from None
        clear = list(_walk_secrets(raw))
        if clear:
            names = ", ".join(".".join(p) for p in clear)
            envs = ", ".join(secret_env(*p) for p in clear)
            raise ConfigurationError(Message("config_secret_in_clear", file=file, names=names, envs=envs))
    _CURRENT_FILE["path"] = file
    try:
        settings = Settings(_secrets_dir=_secrets_dir())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors()
        )
        words = (
            Message("config_invalid_in", file=file, problems=problems)
            if file
            else Message("config_invalid", problems=problems)
        )
        raise ConfigurationError(words) from None
    finally:
        _CURRENT_FILE["path"] = None
    settings.source = file
    return settings


def embedded_default() -> Settings:
    """The zero-setup configuration: every rail and the register embedded sandboxes."""
    _CURRENT_FILE["path"] = None
    return Settings(_secrets_dir=None)


def require_secret(value: SecretStr | None, *path: str) -> str:
    """A secret's value, or a ConfigurationError naming the variable to set."""
    if value is None or not value.get_secret_value():
        env = secret_env(*path)
        raise ConfigurationError(Message("secret_not_set", name=".".join(path), env=env, file=env.lower()))
    return value.get_secret_value()


def require_key_file(rail: str, settings: RailSettings, key: str) -> Path:
    """A key file's path, or a ConfigurationError naming the setting and its variable."""
    path = settings.key_files.get(key)
    if path is None:
        env = secret_env("rails", rail, "key_files", key)
        raise ConfigurationError(Message("key_file_not_set", rail=rail, key=key, env=env))
    if not path.is_file():
        raise ConfigurationError(Message("key_file_missing", rail=rail, key=key, path=path))
    return path
