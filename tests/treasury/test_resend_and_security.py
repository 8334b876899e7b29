"""Crash and resend (identical bytes, paid once), signatures, and reports we must not apply."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx
import pytest

from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup
from asxh_pay.errors import AuthenticationError, ProviderProtocolError
from asxh_pay.ledger import SqliteLedger
from asxh_pay.providers.treasury import BatchStore, end_to_end_id, render_pain001
from asxh_pay.retry import RetryPolicy
from asxh_pay.signing import EcdsaSigner, generate_ec_key
from asxh_pay.status import PayoutStatus
from tests.treasury.conftest import (
    FAST,
    RUN_AT,
    Keys,
    make_adapter,
    make_channel,
    make_config,
    make_sandbox,
    treasury_request,
)


async def test_lost_answer_then_crash_resend_is_identical_and_paid_once(tmp_path: Path, keys: Keys) -> None:
    sandbox = make_sandbox(keys)
    # The bank processes the file but every answer is lost: the run dies not knowing.
    sandbox.inject_upload_fault(*["timeout_after"] * FAST.max_attempts)
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        channel = make_channel(keys, ledger, sandbox, tmp_path / "store")
        payouts = await channel.record(treasury_request(i) for i in range(30))
        report = await channel.submit(payouts)
        assert report.not_uploaded and report.submitted == 30
        (batch_id,) = report.batches
        stored = channel.store.content(batch_id)
        assert {(await ledger.get(p.id)).status for p in payouts} == {PayoutStatus.SUBMITTED}  # type: ignore[union-attr]
        await channel.aclose()
    # -- crash: a new process, a new store object over the same directory --
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        channel = make_channel(keys, ledger, sandbox, tmp_path / "store")
        again = await channel.submit(payouts)  # a rerun of the same list is not re-batched
        assert again.batches == [] and len(again.skipped) == 30
        resumed = await channel.resume()
        assert resumed.batches == [batch_id] and not resumed.not_uploaded
        digest = hashlib.sha256(stored).hexdigest()
        assert set(sandbox.upload_digests) == {digest}  # every upload, before and after: same bytes
        assert len(sandbox.upload_digests) == FAST.max_attempts + 1
        assert len(sandbox.files) == 1
        assert channel.store.content(batch_id) == stored
        sandbox.advance(RUN_AT.date())
        await channel.poll()
        await channel.poll()
        assert all(len(d) == 1 for d in sandbox.debits.values()) and len(sandbox.debits) == 30
        assert {(await ledger.get(p.id)).status for p in payouts} == {PayoutStatus.SUCCEEDED}  # type: ignore[union-attr]
        await channel.aclose()


async def test_crash_between_storing_and_recording_resumes_write_ahead(tmp_path: Path, keys: Keys) -> None:
    sandbox = make_sandbox(keys)
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        channel = make_channel(keys, ledger, sandbox, tmp_path / "store")
        payouts = await channel.record(treasury_request(i) for i in range(5))
        # The process dies right after the file reached the store: nothing recorded, nothing sent.
        manifest = channel._prepare(payouts, RUN_AT, RUN_AT.date())
        await channel.aclose()
        assert sandbox.upload_count == 0
        channel = make_channel(keys, ledger, sandbox, tmp_path / "store")
        await channel.resume()
        assert sandbox.upload_digests == [manifest.sha256]
        for p in payouts:
            fresh = await ledger.get(p.id)
            assert fresh is not None and fresh.status is PayoutStatus.SUBMITTED and fresh.attempts == 1
            events = await ledger.events(p.id)
            assert events[-1].detail == f"batch {manifest.batch_id}"
        await channel.aclose()


async def test_engine_resume_resends_the_stored_batch_file_and_reads_status(
    tmp_path: Path, keys: Keys
) -> None:
    """AsyncPayoutClient.resume() on batch payouts: the identical batch file, then statuses by EndToEndId."""
    sandbox = make_sandbox(keys)
    sandbox.inject_upload_fault(*["connect"] * FAST.max_attempts)  # the bank never got it
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        channel = make_channel(keys, ledger, sandbox, tmp_path / "store")
        payouts = await channel.record(treasury_request(i) for i in range(4))
        (batch_id,) = (await channel.submit(payouts)).batches
        await channel.aclose()
        assert sandbox.files == {}
        adapter = make_adapter(keys, BatchStore(tmp_path / "store"))
        setup = ProviderSetup(adapter, transport=sandbox.transport())
        poll = PollPolicy(initial_s=0.0, max_s=0.01, deadline_s=2)
        async with AsyncPayoutClient(
            ledger, [setup], retry=RetryPolicy(max_attempts=3, base_delay_s=0.001), poll=poll
        ) as client:
            sandbox.auto_settle = True
            summary = await client.resume()
            assert summary.counts["succeeded"] == 4, summary
            stored = adapter.store.get(batch_id)  # type: ignore[union-attr]
            assert set(sandbox.upload_digests) == {stored.sha256}  # the connect failures never arrived
            assert len(sandbox.files) == 1 and all(len(d) == 1 for d in sandbox.debits.values())
            status = await client.status(payouts[0].id)
            assert status.provider_ref == end_to_end_id(payouts[0].idempotency_key)


async def test_forged_upload_signature_is_refused_and_nothing_is_booked(tmp_path: Path, keys: Keys) -> None:
    sandbox = make_sandbox(keys)
    mallory = EcdsaSigner(generate_ec_key())
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        channel = make_channel(keys, ledger, sandbox, tmp_path / "store")
        payouts = await channel.record(treasury_request(i) for i in range(3))
        cfg = make_config()
        content, _rows = render_pain001(cfg, "FORGED1", RUN_AT, RUN_AT.date(), payouts)
        digest = hashlib.sha256(content)
        good_request_auth = channel.adapter.auth()
        async with httpx.AsyncClient(transport=sandbox.transport(), base_url="https://bank.invalid") as http:
            forged = base64.b64encode(mallory.sign(digest.digest())).decode()
            headers = {"X-File-Digest": digest.hexdigest(), "X-File-Signature": forged}
            r = await http.post("/h2h/v1/files", content=content, headers=headers, auth=good_request_auth)
            assert r.status_code == 401 and r.json()["error"] == "bad_file_signature"
            # A request signed by another key is refused before the file is even looked at.
            from asxh_pay.providers.treasury import H2HAuth

            r = await http.post(
                "/h2h/v1/files", content=content, headers=headers, auth=H2HAuth(mallory, "district-001")
            )
            assert r.status_code == 401 and r.json()["error"] == "bad_signature"
            # The file signed right but altered in transit: the digest no longer matches.
            ok_sig = channel.adapter.sign_file(content)
            tampered = content.replace(b">1500000<", b">9500000<", 1)
            r = await http.post(
                "/h2h/v1/files",
                content=tampered,
                headers={"X-File-Digest": digest.hexdigest(), "X-File-Signature": ok_sig},
                auth=good_request_auth,
            )
            assert r.status_code == 401
        assert sandbox.files == {} and sandbox.transfers == {}
        assert [kind for kind, _ in sandbox.refused] == ["file_signature", "authentication", "digest"]
        # Through the channel, a refused signature surfaces as an authentication error.
        bad = make_channel(keys, ledger, sandbox, tmp_path / "store2")
        bad.adapter._auth = H2HAuth(mallory, "district-001")  # type: ignore[attr-defined]
        with pytest.raises(AuthenticationError):
            await bad.submit(payouts)
        await bad.aclose()
        await channel.aclose()


async def test_used_msg_id_with_another_file_is_a_conflict(tmp_path: Path, keys: Keys) -> None:
    sandbox = make_sandbox(keys)
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        channel = make_channel(keys, ledger, sandbox, tmp_path / "store")
        payouts = await channel.record(treasury_request(i) for i in range(6))
        (batch_id,) = (await channel.submit(payouts[:3])).batches
        manifest = channel.store.get(batch_id)
        other, _rows = render_pain001(channel.config, manifest.msg_id, RUN_AT, RUN_AT.date(), payouts[3:])
        from dataclasses import replace

        fake = replace(
            manifest, sha256=hashlib.sha256(other).hexdigest(), signature=channel.adapter.sign_file(other)
        )
        response = await channel._send(lambda: channel.adapter.build_upload(fake, other))
        assert response.status_code == 409
        assert channel.adapter.parse_upload(fake, response) == ("conflict", "DUPL")
        assert len(sandbox.transfers) == 3
        await channel.aclose()


async def test_unknown_msg_id_and_forged_bank_answer_are_reported_not_applied(
    tmp_path: Path, keys: Keys
) -> None:
    sandbox = make_sandbox(keys)
    async with SqliteLedger(tmp_path / "ledger.db") as ledger:
        channel = make_channel(keys, ledger, sandbox, tmp_path / "store")
        payouts = await channel.record(treasury_request(i) for i in range(3))
        await channel.submit(payouts)
        await channel.poll()
        e2e = end_to_end_id(payouts[0].idempotency_key)
        foreign = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">'
            "<CstmrPmtStsRpt><GrpHdr><MsgId>X1</MsgId><CreDtTm>2026-11-02T10:00:00</CreDtTm></GrpHdr>"
            "<OrgnlGrpInfAndSts><OrgnlMsgId>NEVERSENT1</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>"
            "<GrpSts>RJCT</GrpSts></OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>P1</OrgnlPmtInfId>"
            f"<TxInfAndSts><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
            "<StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf></TxInfAndSts></OrgnlPmtInfAndSts>"
            "</CstmrPmtStsRpt></Document>"
        ).encode()
        sandbox.add_raw_report("pain.002", "foreign.xml", foreign)
        sandbox.add_raw_report("camt.054", "truncated.xml", b'<?xml version="1.0"?><Document xmlns="urn:')
        report = await channel.poll()
        assert report.unknown_messages == [("00000002-foreign.xml", "NEVERSENT1")]
        assert [name for name, _ in report.errors] == ["00000003-truncated.xml"]
        assert sum(report.transitions.values()) == 0
        assert (await ledger.get(payouts[0].id)).status is PayoutStatus.PROCESSING  # type: ignore[union-attr]
        assert channel.store.cursor() == 3  # kept, reported, not fetched again
        # An answer the bank did not sign is not believed.
        sandbox.bank_signer = EcdsaSigner(generate_ec_key())
        with pytest.raises(ProviderProtocolError):
            await channel.poll()
        await channel.aclose()
