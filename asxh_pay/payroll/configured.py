"""Rails and the population register as the configuration names them (asxh-pay.toml).

Why one builder: every payroll command (prepare's account checks, run, reconcile, the
workers, the month close) asks this module, so that the configured rails are the only
rails there are. Sandboxes are built only where the configuration names them:

* every rail ``sandbox = true`` without ``base_url`` (the zero-setup default, no file):
  :func:`asxh_pay.payroll.rails.embedded_rails`, the in-process sandboxes of today;
* ``sandbox = true`` with a loopback ``base_url``: the adapter with the sandbox's public
  test credentials, talking HTTP to ``asxh-pay sandbox serve PROVIDER``;
* otherwise the production adapter with the configured credentials; a missing one is a
  :class:`ConfigurationError` naming the environment variable to set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from asxh_pay.client import ProviderSetup
from asxh_pay.config import RailSettings, Settings, require_key_file, require_secret, secret_env
from asxh_pay.errors import ConfigurationError
from asxh_pay.iso20022 import Party
from asxh_pay.payroll.rails import (
    CLIENT_ID,
    DEBTOR_ACCOUNT,
    FILE_SIZE,
    MOMO,
    RAIL_NAMES,
    TREASURY,
    VIETTEL_MONEY,
    VNPOST,
    Rails,
    TreasuryRail,
    embedded_rails,
)
from asxh_pay.payroll.registry import PopulationRegistry, SandboxPopulationRegistry
from asxh_pay.providers.base import ProviderAdapter
from asxh_pay.providers.momo import MomoProvider
from asxh_pay.providers.treasury import BatchStore, TreasuryConfig, TreasuryProvider
from asxh_pay.providers.viettel_money import ViettelMoneyProvider
from asxh_pay.providers.vnpost import VNPostProvider
from asxh_pay.retry import RetryBudget, RetryPolicy
from asxh_pay.routing import Router
from asxh_pay.sandbox.momo import momo_sandbox_provider
from asxh_pay.sandbox.viettel_money import viettel_money_sandbox_provider
from asxh_pay.sandbox.vnpost import vnpost_sandbox_provider
from asxh_pay.signing import EcdsaSigner, EcdsaVerifier, load_private_key, load_public_key

#: Where ``asxh-pay sandbox serve treasury`` writes the client key it trusts.
SANDBOX_TREASURY_KEY = Path("asxh-pay-data/treasury-sandbox/client_key.pem")


def _private_key(rail: str, cfg: RailSettings, name: str) -> Any:
    path = require_key_file(rail, cfg, name)
    return load_private_key(path, cfg.key_password)


def _public_key(rail: str, cfg: RailSettings, name: str) -> Any:
    return load_public_key(require_key_file(rail, cfg, name))


def build_adapter(name: str, cfg: RailSettings) -> ProviderAdapter:
    """The adapter of one configured rail reached over HTTP (sandbox served, or real)."""
    assert cfg.base_url is not None
    url = cfg.base_url
    if name == VIETTEL_MONEY:
        if cfg.sandbox:
            return viettel_money_sandbox_provider(url)
        partner = _private_key(name, cfg, "partner_key")
        public = _public_key(name, cfg, "provider_public_key")
        if not isinstance(partner, ec.EllipticCurvePrivateKey) or not isinstance(
            public, ec.EllipticCurvePublicKey
        ):
            raise ConfigurationError("rails.viettel_money: the partner and provider keys must be EC P-256")
        return ViettelMoneyProvider(
            url,
            partner_code=_required(name, cfg.partner_code, "partner_code"),
            token=require_secret(cfg.token, "rails", name, "token"),
            partner_key=partner,
            viettel_public_key=public,
        )
    if name == MOMO:
        ipn = cfg.callback_url or "http://127.0.0.1/callbacks/momo"
        if cfg.sandbox:
            return momo_sandbox_provider(url, ipn_url=ipn)
        public = _public_key(name, cfg, "provider_public_key")
        if not isinstance(public, rsa.RSAPublicKey):
            raise ConfigurationError("rails.momo.key_files.provider_public_key must be MoMo's RSA public key")
        return MomoProvider(
            url,
            partner_code=_required(name, cfg.partner_code, "partner_code"),
            access_key=_required(name, cfg.access_key, "access_key"),
            secret_key=require_secret(cfg.secret_key, "rails", name, "secret_key"),
            momo_public_key=public,
            ipn_url=_required(name, cfg.callback_url, "callback_url"),
        )
    if name == VNPOST:
        if cfg.sandbox:
            return vnpost_sandbox_provider(url)
        return VNPostProvider(
            url,
            secret=require_secret(cfg.secret_key, "rails", name, "secret_key"),
            partner_code=_required(name, cfg.partner_code, "partner_code"),
        )
    if name == TREASURY:
        return _treasury_adapter(cfg)
    return _plugin_rail(name, cfg)[0]


def _plugin_rail(name: str, cfg: RailSettings, book: Path | None = None) -> tuple[ProviderAdapter, Any]:
    """A rail served by a provider installed as its own package (asxh_pay.plugins): the adapter,
    and its in-process sandbox when the rail is embedded. The plugin's ``configure`` gets the
    rail's table with its secrets as plain strings."""
    from pydantic import SecretStr

    from asxh_pay.plugins import rail_adapter

    settings: dict[str, Any] = {}
    for field in type(cfg).model_fields:
        value = getattr(cfg, field)
        settings[field] = value.get_secret_value() if isinstance(value, SecretStr) else value
    return rail_adapter(name, base_url=cfg.base_url, sandbox=cfg.sandbox, settings=settings, book=book)


def _embedded_plugin_setup(rails: Rails, name: str, cfg: RailSettings, data_dir: Path) -> ProviderSetup:
    """An embedded rail of a plugin provider: its sandbox in this process, its books in ``<data>/sandbox``."""
    adapter, sandbox = _plugin_rail(name, cfg, data_dir / "sandbox" / f"{name}.db")
    rails.sandboxes[name] = sandbox
    return ProviderSetup(
        adapter,
        transport=sandbox.transport(),
        concurrency=cfg.limits.concurrency,
        retry_budget=RetryBudget(ratio=1.0, min_per_s=200, capacity=500),
    )


def _required(rail: str, value: str | None, field: str) -> str:
    if not value:
        raise ConfigurationError(
            f"rails.{rail}.{field} is not set (in the file, or {secret_env('rails', rail, field)})"
        )
    return value


def _treasury_adapter(cfg: RailSettings) -> TreasuryProvider:
    base_url = cfg.base_url
    assert base_url is not None
    if cfg.sandbox and "client_key" not in cfg.key_files:
        cfg = cfg.model_copy(update={"key_files": {**cfg.key_files, "client_key": SANDBOX_TREASURY_KEY}})
    key = _private_key(TREASURY, cfg, "client_key")
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigurationError("rails.treasury.key_files.client_key must be an EC P-256 private key")
    bank = None
    if "bank_public_key" in cfg.key_files:
        pub = _public_key(TREASURY, cfg, "bank_public_key")
        if not isinstance(pub, ec.EllipticCurvePublicKey):
            raise ConfigurationError(
                "rails.treasury.key_files.bank_public_key must be an EC P-256 public key"
            )
        bank = EcdsaVerifier(pub)
    elif not cfg.sandbox:
        require_key_file(TREASURY, cfg, "bank_public_key")
    debtor_name = cfg.debtor_name or "Phòng Lao động - Thương binh và Xã hội"
    config = TreasuryConfig(
        debtor=Party(
            debtor_name,
            cfg.debtor_account
            or (DEBTOR_ACCOUNT if cfg.sandbox else _required(TREASURY, None, "debtor_account")),
            bank_bin=cfg.debtor_bank_bin or "970415",
        ),
        initiating_party=debtor_name[:70],
        client_id=cfg.client_id or (CLIENT_ID if cfg.sandbox else _required(TREASURY, None, "client_id")),
        max_txs_per_file=FILE_SIZE,
    )
    if cfg.limits.max_amount:
        config = dataclasses.replace(config, max_amount_vnd=cfg.limits.max_amount)
    return TreasuryProvider(config, EcdsaSigner(key), base_url=base_url, bank_verifier=bank)


def rails_from_settings(settings: Settings, data_dir: Path, **embedded: Any) -> Rails:
    """The payroll's rails as configured. ``embedded`` goes to :func:`embedded_rails` only."""
    if settings.embedded:
        rails = embedded_rails(data_dir, cash_fallback=settings.routing.cash_fallback is not None, **embedded)
        plugin_rails = {n: c for n, c in settings.rails.items() if n not in RAIL_NAMES}
        for name, cfg in plugin_rails.items():
            rails.setups.append(_embedded_plugin_setup(rails, name, cfg, data_dir))
        if plugin_rails:
            rails.router = dataclasses.replace(
                rails.router, routes={**rails.router.routes, **settings.routes()}
            )
        return rails
    retry = RetryPolicy(base_delay_s=0.05, max_delay_s=2.0, max_attempts=10, deadline_s=120)
    setups: list[ProviderSetup] = []
    treasury: TreasuryRail | None = None
    embedded_plugins = Rails([], Router({}), retry)
    for name, cfg in settings.rails.items():
        if cfg.embedded and name not in RAIL_NAMES:
            setups.append(_embedded_plugin_setup(embedded_plugins, name, cfg, data_dir))
            continue
        adapter = build_adapter(name, cfg)
        setups.append(
            ProviderSetup(
                adapter,
                concurrency=cfg.limits.concurrency,
                rate_per_s=cfg.limits.rate_per_s,
                timeout_s=cfg.timeout_s,
                retry_budget=RetryBudget(ratio=1.0, min_per_s=200, capacity=500),
            )
        )
        if isinstance(adapter, TreasuryProvider):
            store = BatchStore(data_dir / "treasury")
            adapter.store = store
            treasury = TreasuryRail(adapter, store, None, retry, None)
    router = Router(settings.routes(), fallback_provider=settings.routing.cash_fallback)
    return Rails(setups, router, retry, embedded_plugins.sandboxes, treasury=treasury)


def registry_from_settings(settings: Settings, data_dir: Path) -> PopulationRegistry:
    """The population register as configured: embedded SQLite, or the HTTP API."""
    reg = settings.register
    if reg.embedded:
        return SandboxPopulationRegistry(data_dir / "registry.db")
    from asxh_pay.payroll.register_http import SANDBOX_TOKEN, HttpPopulationRegistry

    assert reg.base_url is not None
    token = reg.token.get_secret_value() if reg.token else (SANDBOX_TOKEN if reg.sandbox else None)
    if token is None:
        require_secret(None, "register", "token")
    assert token is not None
    return HttpPopulationRegistry(reg.base_url, token, timeout_s=reg.timeout_s, batch_size=reg.batch_size)


# --------------------------------------------------------------------------- config check


async def _check_rail(
    name: str, cfg: RailSettings, transports: Mapping[str, httpx.AsyncBaseTransport]
) -> str:
    """A harmless call to the rail: a status inquiry for a reference that does not exist.

    Why that call: every adapter has one (the engine's recovery path), it changes
    nothing at the provider, and it proves the address, the credentials and the
    signatures at once. "Not found" is the healthy answer.
    """
    from asxh_pay.errors import RateLimited
    from asxh_pay.providers.base import raise_for_transport_status

    adapter = build_adapter(name, cfg)
    probe = _probe_payout(name, cfg.destinations)
    async with httpx.AsyncClient(
        timeout=min(cfg.timeout_s, 10.0), trust_env=False, transport=transports.get(name)
    ) as http:
        request = adapter.build_status(probe)
        try:
            response = await http.send(request, auth=adapter.auth())
        except httpx.TransportError as exc:
            raise ConfigurationError(f"cannot reach {cfg.base_url}: {type(exc).__name__}") from None
        try:
            raise_for_transport_status(response, provider=name)
            result = adapter.parse_status(probe, response)
        except RateLimited:
            return "reachable (rate limited now)"
    return f"ok ({result.outcome.value} for a probe reference)"


def _probe_payout(name: str, destinations: Sequence[str] = ()) -> Any:
    from datetime import UTC, datetime

    from asxh_pay.models import BankAccount, Beneficiary, CashPickup, Payout, PayoutRequest, Wallet

    dest: Any
    if name == TREASURY or (name not in RAIL_NAMES and "bank" in destinations):
        dest = BankAccount(bank_bin="970415", account_number="0000000000")
    elif name in (MOMO, VIETTEL_MONEY) or f"wallet:{name}" in destinations:
        dest = Wallet(provider=name, phone="0900000000")
    else:
        dest = CashPickup(payment_point="00000", point_type="commune")
    req = PayoutRequest(
        beneficiary=Beneficiary(cccd="001000000000", full_name="Kiem Tra"),
        amount=10_000,
        programme="NCC",
        period="2000-01",
        destination=dest,
    )
    now = datetime.now(UTC)
    return Payout(
        id="po_configcheck",
        idempotency_key=req.key(),
        payload_hash=req.payload_hash(),
        request=req,
        provider=name,
        created_at=now,
        updated_at=now,
    )


async def check_settings(
    settings: Settings, data_dir: Path, *, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
) -> dict[str, tuple[bool, str]]:
    """Per rail and for the register: (ok, what happened). Embedded sandboxes are always ok."""
    out: dict[str, tuple[bool, str]] = {}
    for name, cfg in settings.rails.items():
        if cfg.embedded:
            out[f"rail {name}"] = (True, "embedded sandbox (in this process)")
            continue
        try:
            out[f"rail {name}"] = (True, await _check_rail(name, cfg, transports or {}))
        except Exception as exc:  # each rail reported on its own; a message, never a secret
            out[f"rail {name}"] = (False, f"{type(exc).__name__}: {exc}")
    reg = settings.register
    if reg.embedded:
        out["register"] = (True, f"embedded sandbox ({data_dir / 'registry.db'})")
    else:
        try:
            from asxh_pay.payroll.register_http import HttpPopulationRegistry

            registry = registry_from_settings(settings, data_dir)
            assert isinstance(registry, HttpPopulationRegistry)
            try:
                answer = await registry.health()
            finally:
                await registry.aclose()
            out["register"] = (True, f"ok ({answer.get('status', 'answered')})")
        except Exception as exc:
            out["register"] = (False, f"{type(exc).__name__}: {exc}")
    return out
