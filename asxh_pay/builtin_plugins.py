"""The built-in providers' plugin factories, registered in ``pyproject.toml`` like any other.

Why here and not in each provider module: a factory names the adapter *and* its sandbox,
and a provider module must not import its sandbox (adapters are the production code).
Each factory imports only its own provider, so serving one sandbox loads one rail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asxh_pay.plugins import ProviderPlugin
from asxh_pay.providers.base import ProviderAdapter


def _configure_generic(base_url: str, settings: Mapping[str, Any]) -> ProviderAdapter:
    from asxh_pay.errors import ConfigurationError
    from asxh_pay.providers.generic import GenericProvider

    secret = settings.get("secret_key")
    if not secret:
        raise ConfigurationError(
            "rails.generic.secret_key is not set: set the environment variable "
            "ASXH_PAY_RAILS__GENERIC__SECRET_KEY (or that file in the secrets directory)"
        )
    return GenericProvider(base_url, secret=str(secret))


def generic() -> ProviderPlugin:
    from asxh_pay.providers.generic import GenericProvider
    from asxh_pay.sandbox.generic import GenericSandbox, generic_sandbox_provider

    return ProviderPlugin(
        name="generic",
        adapter=GenericProvider,
        sandbox=GenericSandbox,
        sandbox_adapter=generic_sandbox_provider,
        configure=_configure_generic,
        description="the reference JSON provider (HMAC-signed), template for new ones",
    )


def viettel_money() -> ProviderPlugin:
    from asxh_pay.providers.viettel_money import ViettelMoneyProvider
    from asxh_pay.sandbox.viettel_money import ViettelMoneySandbox, viettel_money_sandbox_provider

    return ProviderPlugin(
        name="viettel_money",
        adapter=ViettelMoneyProvider,
        sandbox=ViettelMoneySandbox,
        sandbox_adapter=viettel_money_sandbox_provider,
        description="Viettel Money wallet transfers (ECDSA-signed JSON)",
    )


def momo() -> ProviderPlugin:
    from asxh_pay.providers.momo import MomoProvider
    from asxh_pay.sandbox.momo import MomoSandbox, momo_sandbox_provider

    return ProviderPlugin(
        name="momo",
        adapter=MomoProvider,
        sandbox=MomoSandbox,
        sandbox_adapter=momo_sandbox_provider,
        description="MoMo wallet disbursements (HMAC + RSA)",
    )


def vnpost() -> ProviderPlugin:
    from asxh_pay.providers.vnpost import VNPostProvider
    from asxh_pay.sandbox.vnpost import CashSimulation, VNPostSandbox, vnpost_sandbox_provider

    def served() -> Any:
        # Served on wall time: pickups and home visits are simulated so that a payout reaches
        # its end inside its payment window without anyone at a counter.
        return VNPostSandbox(
            simulation=CashSimulation(auto=True, no_show_rate=0.1, delivery_failure_rate=0.2)
        )

    return ProviderPlugin(
        name="vnpost",
        adapter=VNPostProvider,
        sandbox=VNPostSandbox,
        sandbox_adapter=vnpost_sandbox_provider,
        serve=served,
        description="VNPost postal accounts and cash (HMAC-signed JSON)",
    )


def treasury() -> ProviderPlugin:
    from asxh_pay.providers.treasury import TreasuryProvider

    def served() -> Any:
        from asxh_pay.sandbox.treasury import demo_sandbox

        sandbox = demo_sandbox()
        print(
            "treasury sandbox: client id 'district-demo', debtor account 0011001234567, "
            "client key asxh-pay-data/treasury-sandbox/client_key.pem",
            flush=True,
        )
        return sandbox

    return ProviderPlugin(
        name="treasury",
        adapter=TreasuryProvider,
        sandbox=None,  # a file channel: its sandbox needs the client's keys (see payroll.rails)
        serve=served,
        description="bank transfers as ISO 20022 pain.001 files (State Treasury host-to-host)",
    )
