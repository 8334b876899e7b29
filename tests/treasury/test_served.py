"""The treasury sandbox served over real HTTP on loopback, as ``asxh-pay sandbox serve treasury`` does."""

from __future__ import annotations

from pathlib import Path

from asxh_pay.cli import SANDBOXES
from asxh_pay.iso20022 import Party, read_camt054
from asxh_pay.ledger import SqliteLedger
from asxh_pay.localserver import serve
from asxh_pay.providers.treasury import BatchStore, TreasuryConfig, TreasuryProvider
from asxh_pay.sandbox.treasury import demo_sandbox
from asxh_pay.signing import EcdsaSigner, load_private_key
from asxh_pay.status import PayoutStatus
from asxh_pay.treasury_channel import TreasuryChannel
from tests.treasury.conftest import FAST, treasury_request


async def test_served_sandbox_pays_over_http_with_truncated_narratives(tmp_path: Path) -> None:
    assert "treasury" in SANDBOXES
    sandbox = demo_sandbox(tmp_path / "keys")
    sandbox.reject_rate = sandbox.return_rate = 0.0
    sandbox.narrative_max_len = 8
    key = load_private_key(tmp_path / "keys" / "client_key.pem")
    cfg = TreasuryConfig(
        debtor=Party("Phong LDTBXH demo", "0011001234567", bank_bin="970415"),
        initiating_party="Phong LDTBXH demo",
        client_id="district-demo",
    )
    server = serve(sandbox.handle).start()
    try:
        store = BatchStore(tmp_path / "store")
        adapter = TreasuryProvider(cfg, EcdsaSigner(key), base_url=server.url, store=store)  # type: ignore[arg-type]
        async with SqliteLedger(tmp_path / "ledger.db") as ledger:
            channel = TreasuryChannel(adapter, ledger, store, retry=FAST)
            payouts = await channel.record(treasury_request(i) for i in range(20))
            report = await channel.submit(payouts)
            assert not report.not_uploaded
            polled = await channel.poll()
            assert not polled.needs_attention
            assert {(await ledger.get(p.id)).status for p in payouts} == {PayoutStatus.SUCCEEDED}  # type: ignore[union-attr]
            camt = next(store.inbox_dir.glob("*camt054*"))
            assert {e.remittance for e in read_camt054(camt)} == {"TRO CAP"}  # narrative cut to 8
            await channel.aclose()
    finally:
        server.stop()
