"""The README's first example: pay one beneficiary through the generic sandbox.

Run: python examples/quickstart.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from asxh_pay.client import PayoutClient, ProviderSetup
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import Beneficiary, PayoutRequest
from asxh_pay.sandbox.generic import GenericSandbox, generic_sandbox_provider


def main() -> None:
    sandbox = GenericSandbox()  # a stateful fake provider, in-process
    provider = ProviderSetup(generic_sandbox_provider(), transport=sandbox.transport(), concurrency=32)
    with (
        tempfile.TemporaryDirectory() as tmp,
        PayoutClient(SqliteLedger(Path(tmp) / "ledger.db"), [provider]) as client,
    ):
        request = PayoutRequest(
            programme="NCC",
            period="2026-11",
            beneficiary=Beneficiary(cccd="001050000001", full_name="Nguyễn Văn An"),
            destination={"kind": "bank", "bank_bin": "970405", "account_number": "1234567899"},
            amount=1_500_000,  # whole VND, never a float
        )
        payout = client.pay(request)
        print(payout)  # personal data is masked in str/repr/logs
        again = client.pay(request)  # a rerun returns the original: nobody is paid twice
        assert again.id == payout.id and len(sandbox.paid()) == 1
        for event in client.events(payout.id):
            print(
                f"  {event.seq}. {event.to_status.value:<10} from {event.source.value:<9} {event.hash[:12]}"
            )


if __name__ == "__main__":
    main()
