"""The provider contract test kit (needs pytest, from the ``dev`` extra).

A provider registers once, in its own test module::

    from asxh_pay.testing import ProviderContract, ProviderContractSuite

    class TestAcmeContract(ProviderContractSuite):
        contract = ProviderContract(name="acme", make_adapter=..., make_sandbox=..., ...)

See docs/providers.md for the full walk-through, the capability flags, what the kit needs
from a sandbox (:class:`~asxh_pay.testing.protocol.KitSandbox`) and how to run the kit
outside this repository.
"""

from asxh_pay.testing.contract import (
    TAMPER_KINDS,
    DeclineCase,
    Harness,
    ProviderContract,
    Tamperer,
    TamperKind,
    flip_digit,
    flip_text,
    personal_strings,
    request_with,
    response_with,
)
from asxh_pay.testing.protocol import Booking, KitSandbox
from asxh_pay.testing.suite import ProviderContractSuite

__all__ = [
    "TAMPER_KINDS",
    "Booking",
    "DeclineCase",
    "Harness",
    "KitSandbox",
    "ProviderContract",
    "ProviderContractSuite",
    "TamperKind",
    "Tamperer",
    "flip_digit",
    "flip_text",
    "personal_strings",
    "request_with",
    "response_with",
]
