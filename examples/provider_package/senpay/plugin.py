"""What the ``asxh_pay.providers`` entry point ``senpay`` returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asxh_pay.errors import ConfigurationError
from asxh_pay.plugins import ProviderPlugin


def plugin() -> ProviderPlugin:
    from senpay.adapter import SenPayProvider
    from senpay.sandbox import SANDBOX_SECRET, SenPaySandbox, senpay_sandbox_provider

    def configure(base_url: str, settings: Mapping[str, Any]) -> SenPayProvider:
        """From the rail's table: partner_code is SenPay's merchant id; secret_key comes from
        ASXH_PAY_RAILS__SENPAY__SECRET_KEY (or the secrets directory)."""
        missing = [f for f in ("secret_key", "partner_code") if not settings.get(f)]
        if missing:
            raise ConfigurationError(f"rails.senpay: set {', '.join(missing)} (ASXH_PAY_RAILS__SENPAY__...)")
        return SenPayProvider(base_url, secret=settings["secret_key"], merchant=settings["partner_code"])

    return ProviderPlugin(
        name="senpay",
        adapter=SenPayProvider,
        sandbox=SenPaySandbox,
        sandbox_adapter=senpay_sandbox_provider,
        configure=configure,
        published_credentials=(SANDBOX_SECRET,),
        description="SenPay bank and wallet transfers (HMAC-signed JSON; an example package)",
    )
