"""A month on the bank rail: ISO 20022 files through the Treasury host-to-host channel.

500 payouts are recorded, batched into pain.001.001.09 files (validated against the
official XSD), uploaded with a detached ECDSA signature, answered by pain.002 (some
transfers rejected with their reason codes), booked by camt.054 on the value date,
and one transfer comes back later; reconciliation finds the return in the statements.

Run: python examples/treasury_bank_month.py
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from asxh_pay.calendar_vn import VN_TZ, VietnamCalendar
from asxh_pay.iso20022 import Party, validate
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import PayoutRequest
from asxh_pay.providers.treasury import BatchStore, TreasuryConfig, TreasuryProvider, end_to_end_id
from asxh_pay.reconcile import load_files, reconcile
from asxh_pay.sandbox.treasury import SANDBOX_URL, TreasurySandbox
from asxh_pay.signing import EcdsaSigner, EcdsaVerifier, generate_ec_key
from asxh_pay.synthetic import synthetic_requests
from asxh_pay.treasury_channel import TreasuryChannel

RUN_AT = datetime(2026, 11, 2, 9, 0, tzinfo=VN_TZ)  # a Monday morning, before the cut-off
ACCOUNT = "0011001234567"


async def main() -> None:
    client_key, bank_key = generate_ec_key(), generate_ec_key()
    bank = TreasurySandbox(
        clients={"district-040": (EcdsaVerifier(client_key.public_key()), ACCOUNT)},
        bank_signer=EcdsaSigner(bank_key),
        business_date=RUN_AT.date(),
        reject_rate=0.03,
        seed=1,
    )
    config = TreasuryConfig(
        debtor=Party("Phòng LĐTBXH huyện Đông Anh", ACCOUNT, bank_bin="970415"),
        initiating_party="Phòng LĐTBXH huyện Đông Anh",
        client_id="district-040",
        calendar=VietnamCalendar(cutoff=time(15, 30)),
    )
    requests: list[PayoutRequest] = list(synthetic_requests(500))
    with tempfile.TemporaryDirectory() as tmp:
        store = BatchStore(Path(tmp) / "files")
        adapter = TreasuryProvider(
            config,
            EcdsaSigner(client_key),
            base_url=SANDBOX_URL,
            bank_verifier=EcdsaVerifier(bank_key.public_key()),
            store=store,
        )
        async with SqliteLedger(Path(tmp) / "ledger.db") as ledger:
            channel = TreasuryChannel(
                adapter, ledger, store, transport=bank.transport(), clock=lambda: RUN_AT.astimezone(UTC)
            )
            payouts = await channel.record(requests)
            sent = await channel.submit(payouts)
            for batch_id in sent.batches:
                validate(store.path(batch_id), "pain.001.001.09")
            print(f"{sent.submitted} payouts in {len(sent.batches)} pain.001 file(s), XSD-valid, uploaded")

            statuses = await channel.poll()
            print(f"pain.002: {dict(statuses.transitions)}")
            bank.advance(RUN_AT.date())  # the value date: debits booked, camt.054 sent
            booked = await channel.poll()
            print(f"camt.054: {dict(booked.transitions)}")

            rejected = {e2e for e2e, t in bank.transfers.items() if t.status == "RJCT"}
            paid = next(p for p in payouts if end_to_end_id(p.idempotency_key) not in rejected)
            bank.schedule_return(
                end_to_end_id(paid.idempotency_key), "AC04", RUN_AT.date() + timedelta(days=2)
            )
            bank.advance(RUN_AT.date() + timedelta(days=3))
            entries, reports, names = load_files(bank.write_reports(Path(tmp) / "reports"))
            result = await reconcile(
                ledger,
                entries=entries,
                statuses=reports,
                files=names,
                provider="treasury",
                apply=True,
                debtor_accounts=[config.debtor.account],
            )
            print(
                f"reconciliation: {result.summary()['counts']}, unexplained breaks: {len(result.unexplained)}"
            )
            returned = await ledger.get(paid.id)
            assert returned is not None
            print(f"late return found in the statements: payout {returned.id} is now {returned.status.value}")
            assert not result.unexplained


if __name__ == "__main__":
    asyncio.run(main())
