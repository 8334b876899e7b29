"""For auditors: sign the ledger's history, then catch an insider who rewrote it.

Pays a few beneficiaries through the generic sandbox (one account is closed, so that
payout fails), anchors every payout's chain head in a file signed with an Ed25519 key,
then plays an insider with write access to the database: the failure is rewritten as a
success and the hash chain recomputed, so the chain check alone still passes. The signed
anchor does not.

Run: python examples/audit_anchor.py
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from asxh_pay.client import AsyncPayoutClient, ProviderSetup
from asxh_pay.ledger import SqliteLedger
from asxh_pay.ledger.anchor import verify_anchor, write_anchor
from asxh_pay.ledger.base import event_hash
from asxh_pay.models import Beneficiary, PayoutRequest
from asxh_pay.sandbox.generic import GenericSandbox, generic_sandbox_provider
from asxh_pay.status import PayoutStatus


def request(i: int, account: str) -> PayoutRequest:
    return PayoutRequest(
        programme="BTXH",
        period="2026-11",
        beneficiary=Beneficiary(cccd=f"00105000{i:04d}", full_name="Trần Thị Bình"),
        destination={"kind": "bank", "bank_bin": "970405", "account_number": account},
        amount=540_000,
        run_id="2026-11-demo",
    )


async def rewrite_failure_as_success(db: Path, payout_id: str) -> None:
    """What an insider could do with the database file and this library's source."""
    async with SqliteLedger(db, exclusive=False) as ledger:
        last = (await ledger.events(payout_id))[-1]
    forged = event_hash(
        payout_id=payout_id,
        seq=last.seq,
        at=last.at,
        from_status=last.from_status,
        to_status=PayoutStatus.SUCCEEDED,
        source=last.source,
        reason=None,
        detail=None,
        provider=last.provider,
        provider_ref=last.provider_ref,
        prev_hash=last.prev_hash,
    )
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER events_no_update")  # the database's own guard is no obstacle
    conn.execute(
        "UPDATE events SET to_status='succeeded', reason=NULL, detail=NULL, hash=? "
        "WHERE payout_id=? AND seq=?",
        (forged, payout_id, last.seq),
    )
    conn.execute(
        "UPDATE payouts SET status='succeeded', failure_reason=NULL, last_event_hash=? WHERE id=?",
        (forged, payout_id),
    )
    conn.close()


async def main() -> None:
    sandbox = GenericSandbox()
    key = ed25519.Ed25519PrivateKey.generate()  # in a district: the approver's key (asxh-pay keys)
    with tempfile.TemporaryDirectory() as tmp:
        db, anchor = Path(tmp) / "ledger.db", Path(tmp) / "ledger-anchor.jsonl"
        provider = ProviderSetup(generic_sandbox_provider(), transport=sandbox.transport())
        async with AsyncPayoutClient(SqliteLedger(db), [provider]) as client:
            # Accounts ending in 0002 are closed in the sandbox: that payout fails.
            accounts = ["1234560002"] + [f"98765{i:04d}9" for i in range(1, 8)]
            summary = await client.pay_many(request(i, acc) for i, acc in enumerate(accounts))
            failed = await anext(client.ledger.iter_payouts(statuses=[PayoutStatus.FAILED]))
            written = await write_anchor(
                client.ledger, anchor, key, operator="hung.tran", run_id="2026-11-demo"
            )
        print(
            f"paid: {dict(summary.counts)}; anchored {written.payouts} payouts, root {written.root[:16]}..."
        )

        await rewrite_failure_as_success(db, failed.id)

        async with SqliteLedger(db, exclusive=False) as ledger:
            chains = await ledger.verify_chain()
            report = await verify_anchor(ledger, anchor, key.public_key())
        print(f"chain check alone: {'OK' if chains.ok else 'BROKEN'} (the rewrite recomputed the chain)")
        print(f"signed anchor:     {'OK' if report.ok else 'BROKEN'}")
        for problem in report.problems:
            print(f"  - {problem}")
        assert chains.ok and report.problems == [
            f"{failed.id}: history differs from the anchor: it was rewritten"
        ]


if __name__ == "__main__":
    asyncio.run(main())
