"""The provider contract suite: inherit it, set ``contract``, and pytest runs every check.

Usage, in a provider's test module::

    from asxh_pay.testing import ProviderContractSuite

    class TestMyProviderContract(ProviderContractSuite):
        contract = my_contract()   # a ProviderContract

Every test builds a fresh sandbox, adapter and SQLite ledger (under ``tmp_path``) so
tests are independent and fast. What is checked, and why each matters for paying
benefits, is in each test's docstring.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from asxh_pay.errors import AsxhPayError, ProviderError, ProviderProtocolError, WebhookVerificationError
from asxh_pay.identity import NameMatch
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import EventSource, PayoutRequest
from asxh_pay.providers.base import InquiryResult, ProviderOutcome, ProviderResult
from asxh_pay.receiver import callback_handler
from asxh_pay.sandbox.base import FaultPlan
from asxh_pay.status import FailureReason, PayoutStatus
from asxh_pay.testing.contract import TAMPER_KINDS, DeclineCase, Harness, ProviderContract, personal_strings

__all__ = ["ProviderContractSuite"]


def _with_amount(request: PayoutRequest, amount: int) -> PayoutRequest:
    return request.model_copy(update={"amount": amount})


class ProviderContractSuite:
    """Base class of a provider's contract tests (not collected itself: no ``Test`` prefix)."""

    contract: ClassVar[ProviderContract]

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "decline_case" in metafunc.fixturenames:
            cases = list(self.contract.declines)
            metafunc.parametrize("decline_case", cases, ids=[c.name for c in cases])
        if "tamper_kind" in metafunc.fixturenames:
            metafunc.parametrize("tamper_kind", TAMPER_KINDS)

    def harness(self, tmp_path: Path, **kwargs: Any) -> Harness:
        return Harness(self.contract, tmp_path, **kwargs)

    # ------------------------------------------------------------------ paying

    async def test_pay_reaches_success_by_polling(self, tmp_path: Path) -> None:
        """An accepted payout is driven to ``succeeded`` by status queries alone."""
        h = self.harness(tmp_path, settle_after_s=0.05)
        req = self.contract.success
        async with h.client() as client:
            payout = await client.pay(req)
            assert payout.status is PayoutStatus.SUCCEEDED, payout.failure_detail
            events = await client.ledger.events(payout.id)
        assert events[-1].source is EventSource.POLL
        assert PayoutStatus.PROCESSING in [e.to_status for e in events]
        paid = h.sandbox.paid()
        assert list(paid) == [payout.idempotency_key]
        assert paid[payout.idempotency_key].amount == req.amount

    async def test_pay_reaches_success_by_callback(self, tmp_path: Path) -> None:
        """A signed callback moves a processing payout to ``succeeded``; a replay of it raises
        :class:`WebhookVerificationError` with code ``replayed`` and changes nothing (the
        HTTP receiver answers that replay 2xx, so the provider stops redelivering)."""
        if not self.contract.callbacks:
            pytest.skip(f"{self.contract.name} sends no callbacks")
        h = self.harness(tmp_path, settle_after_s=60, frozen_clock=True)
        async with h.client() as client:
            payout = await client.pay(self.contract.success, wait=False)
            assert payout.status is PayoutStatus.PROCESSING
            callbacks = await h.settle(61)
            assert callbacks, "the sandbox sent no callback after settling"
            await client.handle_callback(h.adapter.name, callbacks[0])
            done = await client.status(payout.id)
            assert done.status is PayoutStatus.SUCCEEDED
            events = await client.ledger.events(payout.id)
            assert events[-1].source is EventSource.CALLBACK
            with pytest.raises(WebhookVerificationError) as info:
                await client.handle_callback(h.adapter.name, callbacks[0])
            assert info.value.code == "replayed"
            assert len(await client.ledger.events(payout.id)) == len(events)
            answer = await callback_handler(client, {callbacks[0].url.path: h.adapter.name})(callbacks[0])
            assert answer.status_code == 200
            assert len(await client.ledger.events(payout.id)) == len(events)

    async def test_same_key_never_pays_twice_library_side(self, tmp_path: Path) -> None:
        """Paying the same request again, even concurrently, returns the one payout."""
        h = self.harness(tmp_path, settle_after_s=0.02)
        req = self.contract.success
        async with h.client() as client:
            results = await asyncio.gather(*(client.pay(req) for _ in range(3)))
            again = await client.pay(req)
        assert len({p.id for p in [*results, again]}) == 1
        assert again.status is PayoutStatus.SUCCEEDED
        assert h.sandbox.request_counts["pay"] == 1
        assert len(h.sandbox.payments) == 1

    async def test_same_key_never_pays_twice_provider_side(self, tmp_path: Path) -> None:
        """The provider's own books hold one payment per key, whatever reaches it.

        Sent twice directly, and once more by a client that lost its ledger: the sandbox
        answers about the original payment each time.
        """
        h = self.harness(tmp_path)
        payout = h.payout(self.contract.success)
        first = await h.exchange(h.adapter.build_submit(payout), partial(h.adapter.parse_submit, payout))
        assert isinstance(first, ProviderResult) and first.provider_ref is not None
        try:
            second = await h.exchange(h.adapter.build_submit(payout), partial(h.adapter.parse_submit, payout))
        except ProviderProtocolError:
            # The provider refuses the repeat as a duplicate (MoMo's 40): the truth is
            # then what a status query says, and it must be the first payment.
            second = await h.exchange(h.adapter.build_status(payout), partial(h.adapter.parse_status, payout))
        assert isinstance(second, ProviderResult)
        assert first.provider_ref == second.provider_ref
        async with h.client() as client:
            fresh = await client.pay(self.contract.success)
        assert fresh.status is PayoutStatus.SUCCEEDED
        assert fresh.provider_ref == first.provider_ref
        assert len(h.sandbox.payments) == 1
        assert sum(p.amount for p in h.sandbox.paid().values()) == self.contract.success.amount

    def test_submit_request_is_byte_identical(self, tmp_path: Path) -> None:
        """A retry sends the same bytes with the same idempotency key (before signing)."""
        h = self.harness(tmp_path)
        payout = h.payout(self.contract.success)
        a, b = h.adapter.build_submit(payout), h.adapter.build_submit(payout)
        assert a.content == b.content and a.url == b.url
        assert payout.idempotency_key.encode() in a.content or payout.idempotency_key in str(a.url)

    async def test_timeout_after_commit_resolved_by_status_query(self, tmp_path: Path) -> None:
        """The answer to a processed payment is lost: the payout is asked about, not paid again."""
        h = self.harness(tmp_path)
        h.fault_next("timeout_after_commit")
        async with h.client() as client:
            payout = await client.pay(self.contract.success)
            events = await client.ledger.events(payout.id)
        assert payout.status is PayoutStatus.SUCCEEDED
        assert PayoutStatus.UNKNOWN in [e.to_status for e in events]
        assert h.sandbox.fault_counts["timeout_after_commit"] == 1
        assert h.sandbox.request_counts["pay"] == 1
        assert h.sandbox.request_counts["status"] >= 1
        assert len(h.sandbox.paid()) == 1

    # ------------------------------------------------------------------ misbehaving providers (issue 13)

    async def test_stale_not_found_never_leads_to_a_resend(self, tmp_path: Path) -> None:
        """Hazard 1. The answer to a booked payment is lost and the status endpoint says
        "not found" for a while after booking (a read replica): the payout is asked about
        again over the confirmation window, never sent twice."""
        window = self._window()
        h = self.harness(tmp_path, faults=FaultPlan(stale_read=1.0, stale_read_window_s=window))
        h.fault_next("timeout_after_commit")
        async with h.client() as client:
            payout = await client.pay(self.contract.success)
        assert payout.status is PayoutStatus.SUCCEEDED, payout.failure_detail
        assert h.sandbox.fault_counts["stale_read"] >= 1
        assert h.sandbox.request_counts["pay"] == 1
        assert len(h.sandbox.bookings(payout.idempotency_key)) == 1

    async def test_provider_dedupe_race_never_books_twice(self, tmp_path: Path) -> None:
        """Hazard 2. The provider books one key twice when two requests with it arrive
        within a window, and reads stale after booking: an ambiguous send is followed by
        no second send within the window, and the books hold one payment."""
        window = self._window()
        faults = FaultPlan(
            stale_read=1.0, stale_read_window_s=window, dedupe_race=1.0, dedupe_race_window_s=window
        )
        h = self.harness(tmp_path, faults=faults)
        h.fault_next("timeout_after_commit")
        async with h.client() as client:
            payout = await client.pay(self.contract.success)
        assert payout.status is PayoutStatus.SUCCEEDED, payout.failure_detail
        assert len(h.sandbox.bookings(payout.idempotency_key)) == 1

    async def test_second_driver_never_sends_while_the_first_send_is_in_flight(self, tmp_path: Path) -> None:
        """Hazard 2, across processes. A slow first send is still on its way when a second
        client on the same ledger (a resume, a second worker) finds the payout
        ``submitted`` and "not found": it waits out the send's timeout and the window."""
        window = self._window()
        h = self.harness(tmp_path, faults=FaultPlan(dedupe_race=1.0, dedupe_race_window_s=30.0))
        # One ledger, two clients: each has its own single-flight map, as two processes do
        # (two SQLite connections in one event loop would wait on each other's locks).
        shared = SqliteLedger(tmp_path / "shared-ledger.db")
        first = h.new_client(ledger=shared, timeout_s=4 * window)
        second = h.new_client(ledger=shared, timeout_s=4 * window)
        async with first, second:
            h.delay_next(2 * window)
            paying = asyncio.create_task(first.pay(self.contract.success))
            key = self.contract.success.key()
            while True:  # until the first client's attempt is recorded (it is then sending)
                seen = await second.ledger.get_by_key(key)
                if seen is not None and seen.attempts >= 1:
                    break
                await asyncio.sleep(0.005)
            await second.resume()
            payout = await paying
            payout = await second.wait(payout.id, timeout_s=10)
        assert payout.status is PayoutStatus.SUCCEEDED, payout.failure_detail
        assert h.sandbox.request_counts["pay"] == 1
        assert len(h.sandbox.bookings(payout.idempotency_key)) == 1

    async def test_late_success_after_a_failure_is_recorded(self, tmp_path: Path) -> None:
        """Hazard 3. A payment the provider declined is reported delivered afterwards (by
        status query, and by callback where the provider sends them): the ledger records
        ``succeeded`` instead of refusing the news."""
        h = self.harness(tmp_path)
        async with h.client() as client:
            failed = None
            for case in self.contract.declines:
                if case.retryable:
                    continue
                payout = await client.pay(case.request)
                books = h.sandbox.bookings(payout.idempotency_key)
                if payout.status is PayoutStatus.FAILED and books:
                    failed = payout
                    break
            if failed is None:
                pytest.skip(f"{self.contract.name}: no decline is booked before it fails")
            before = len(h.callbacks)
            h.sandbox.succeed_after_failure(failed.idempotency_key)
            if self.contract.callbacks:
                await h.sandbox.deliver_callbacks()
                for cb in h.callbacks[before:]:
                    await client.handle_callback(h.adapter.name, cb)
                found = await client.status(failed.id)
            else:
                found = await client.refresh(failed)
            events = await client.ledger.events(failed.id)
        assert found.status is PayoutStatus.SUCCEEDED
        assert [e.to_status for e in events][-2:] == [PayoutStatus.FAILED, PayoutStatus.SUCCEEDED]

    async def test_callback_about_another_providers_payout_is_refused(self, tmp_path: Path) -> None:
        """Hazard 4. A genuine callback names a payout the ledger holds under another
        provider: refused (``foreign_payout``), nothing changed."""
        if not self.contract.callbacks:
            pytest.skip(f"{self.contract.name} sends no callbacks")
        h = self.harness(tmp_path, settle_after_s=60, frozen_clock=True)
        async with h.client() as client:
            await client.pay(self.contract.success, wait=False)
            callbacks = await h.settle(61)
            assert callbacks
        other = h.new_client()
        async with other:
            foreign = h.payout(self.contract.success).model_copy(update={"provider": "another-provider"})
            foreign, _ = await other.ledger.create_or_get(foreign)
            before = await other.ledger.events(foreign.id)
            with pytest.raises(WebhookVerificationError) as info:
                await other.handle_callback(h.adapter.name, callbacks[0])
            assert info.value.code == "foreign_payout"
            assert await other.ledger.events(foreign.id) == before

    async def test_answer_with_another_amount_is_never_a_success(self, tmp_path: Path) -> None:
        """Item 7. Every answer about the payment says another amount than was sent
        (validly signed): a protocol error, and the payout is never recorded paid."""
        h = self.harness(tmp_path, faults=FaultPlan(wrong_amount=1.0))
        async with h.client() as client:
            with contextlib.suppress(AsxhPayError):
                await client.pay(self.contract.success)
            payout = await client.status(self.contract.success.key())
        assert h.sandbox.fault_counts["wrong_amount"] >= 1
        assert payout.status not in (PayoutStatus.SUCCEEDED, PayoutStatus.PROCESSING), payout.status

    def _window(self) -> float:
        """A stale-read / dedupe-race window shorter than the harness's declared grace."""
        return 0.15

    # ------------------------------------------------------------------ errors

    async def test_documented_error_maps_to_typed_reason(
        self, tmp_path: Path, decline_case: DeclineCase
    ) -> None:
        """Each documented provider error becomes the right reason and retryability."""
        h = self.harness(tmp_path)
        payout = h.payout(decline_case.request)
        try:
            result = await h.exchange(
                h.adapter.build_submit(payout), lambda r: h.adapter.parse_submit(payout, r)
            )
        except ProviderError as exc:
            assert not isinstance(exc, ProviderProtocolError), f"{decline_case.name}: not understood: {exc}"
            assert exc.retryable is decline_case.retryable, decline_case.name
            assert exc.reason is decline_case.reason, decline_case.name
            if decline_case.code is not None:
                assert exc.provider_code == decline_case.code
            assert not h.sandbox.paid()
            return
        assert isinstance(result, ProviderResult)
        assert not decline_case.retryable, f"{decline_case.name}: expected a retryable error, got {result}"
        if result.outcome is ProviderOutcome.ACCEPTED:
            await h.settle()
            result = await h.exchange(
                h.adapter.build_status(payout), lambda r: h.adapter.parse_status(payout, r)
            )
        assert result.outcome is ProviderOutcome.FAILED, decline_case.name
        assert result.reason is decline_case.reason, decline_case.name
        if decline_case.code is not None:
            assert result.code == decline_case.code
        assert not h.sandbox.paid()

    async def test_documented_error_through_the_client(
        self, tmp_path: Path, decline_case: DeclineCase
    ) -> None:
        """Through the client: a final decline ends ``failed`` with the reason; a retryable
        one is never recorded as failed (it stays resumable) and nothing is paid."""
        h = self.harness(tmp_path)
        async with h.client() as client:
            if decline_case.retryable:
                with pytest.raises(ProviderError) as info:
                    await client.pay(decline_case.request)
                assert info.value.reason is decline_case.reason
                payout = await client.status(decline_case.request.key())
                assert payout.status is PayoutStatus.SUBMITTED
            else:
                payout = await client.pay(decline_case.request)
                assert payout.status is PayoutStatus.FAILED
                assert payout.failure_reason is decline_case.reason
        assert not h.sandbox.paid()

    # ------------------------------------------------------------------ signing

    async def test_unsigned_request_is_refused(self, tmp_path: Path) -> None:
        """The sandbox, like the provider, refuses a request without a valid signature."""
        h = self.harness(tmp_path)
        payout = h.payout(self.contract.success)
        request = h.adapter.build_submit(payout)
        if self.contract.strip_signature is not None:
            request = self.contract.strip_signature(request)
        response = await h.send(request, signed=False)
        await self._assert_refused(h, response, payout)

    async def test_forged_request_is_refused(self, tmp_path: Path) -> None:
        """A request signed with the wrong credentials is refused and pays nothing."""
        h = self.harness(tmp_path)
        forger = self.contract.make_forged_adapter()
        payout = h.payout(self.contract.success)
        response = await h.send(forger.build_submit(payout), adapter=forger)
        await self._assert_refused(h, response, payout)

    async def _assert_refused(self, h: Harness, response: httpx.Response, payout: Any) -> None:
        from asxh_pay.providers.base import raise_for_transport_status

        with pytest.raises(ProviderError) as info:
            raise_for_transport_status(response, provider=h.adapter.name)
            h.adapter.parse_submit(payout, response)
        assert not info.value.retryable
        assert not h.sandbox.payments

    async def test_tampered_response_is_rejected(self, tmp_path: Path, tamper_kind: str) -> None:
        """A response whose signature, timestamp or body was altered is never believed:
        the submit ends ``unknown`` and the truth comes from a status query."""
        h = self.harness(tmp_path)
        payout = h.payout(self.contract.success)
        genuine = await h.send(h.adapter.build_submit(payout))
        damaged = self.contract.tamper.response(h.sandbox, genuine, tamper_kind)  # type: ignore[arg-type]
        if damaged is None:
            pytest.skip(f"{self.contract.name} responses carry no {tamper_kind}")
        with pytest.raises(ProviderProtocolError):
            h.adapter.parse_submit(payout, damaged)
        status = await h.send(h.adapter.build_status(payout))
        damaged_status = self.contract.tamper.response(h.sandbox, status, tamper_kind)  # type: ignore[arg-type]
        assert damaged_status is not None
        with pytest.raises(ProviderProtocolError):
            h.adapter.parse_status(payout, damaged_status)

        h2 = self.harness(tmp_path)
        kind = tamper_kind
        h2.tamper_next_response = lambda r: self.contract.tamper.response(h2.sandbox, r, kind)  # type: ignore[arg-type]
        async with h2.client() as client:
            paid = await client.pay(self.contract.success)
            events = await client.ledger.events(paid.id)
        assert PayoutStatus.UNKNOWN in [e.to_status for e in events]
        assert paid.status is PayoutStatus.SUCCEEDED
        assert h2.sandbox.request_counts["pay"] == 1 and len(h2.sandbox.paid()) == 1

    async def test_tampered_callback_is_rejected(self, tmp_path: Path, tamper_kind: str) -> None:
        """A forged, altered or stale callback raises and changes nothing in the ledger."""
        if not self.contract.callbacks:
            pytest.skip(f"{self.contract.name} sends no callbacks")
        h = self.harness(tmp_path, settle_after_s=60, frozen_clock=True)
        async with h.client() as client:
            payout = await client.pay(self.contract.success, wait=False)
            callbacks = await h.settle(61)
            assert callbacks
            damaged = self.contract.tamper.callback(h.sandbox, callbacks[0], tamper_kind)  # type: ignore[arg-type]
            if damaged is None:
                pytest.skip(f"{self.contract.name} callbacks carry no {tamper_kind}")
            before = await client.ledger.events(payout.id)
            with pytest.raises(WebhookVerificationError):
                await client.handle_callback(h.adapter.name, damaged)
            assert await client.ledger.events(payout.id) == before
            assert (await client.status(payout.id)).status is PayoutStatus.PROCESSING
            await client.handle_callback(h.adapter.name, callbacks[0])
            assert (await client.status(payout.id)).status is PayoutStatus.SUCCEEDED

    # ------------------------------------------------------------------ inquiry

    async def _inquire(self, tmp_path: Path, request: PayoutRequest) -> InquiryResult:
        h = self.harness(tmp_path)
        async with h.client() as client:
            result = await client.verify_account(request)
        assert not h.sandbox.payments, "an inquiry must not pay"
        return result

    async def test_inquiry_match(self, tmp_path: Path) -> None:
        result = await self._inquire(tmp_path, self.contract.inquiry_match)
        assert result.exists and result.accepted
        assert result.name_match in (NameMatch.EXACT, NameMatch.FOLDED)

    async def test_inquiry_mismatch(self, tmp_path: Path) -> None:
        result = await self._inquire(tmp_path, self.contract.inquiry_mismatch)
        assert result.exists and not result.accepted
        assert result.name_match is NameMatch.MISMATCH

    async def test_inquiry_near_match_is_reported_not_accepted(self, tmp_path: Path) -> None:
        if self.contract.inquiry_near is None:
            pytest.skip(f"{self.contract.name}: no near-match sample")
        result = await self._inquire(tmp_path, self.contract.inquiry_near)
        assert result.exists and not result.accepted
        assert result.name_match is NameMatch.NEAR

    async def test_inquiry_unknown_account(self, tmp_path: Path) -> None:
        result = await self._inquire(tmp_path, self.contract.inquiry_unknown)
        assert not result.exists and not result.accepted
        assert result.reason in (FailureReason.INVALID_ACCOUNT, FailureReason.NO_ACCOUNT)

    async def test_verify_before_pay_blocks_a_mismatch(self, tmp_path: Path) -> None:
        """With ``verify_before_pay`` a name mismatch fails the payout before anything is sent."""
        h = self.harness(tmp_path)
        client = h.new_client()
        client.verify_before_pay = True
        async with client:
            payout = await client.pay(self.contract.inquiry_mismatch)
        assert payout.status is PayoutStatus.FAILED
        assert payout.failure_reason is FailureReason.NAME_MISMATCH
        assert h.sandbox.request_counts["pay"] == 0

    # ------------------------------------------------------------------ limits

    async def test_amount_below_minimum_is_not_sent(self, tmp_path: Path) -> None:
        low = self.contract.min_amount - 1
        if low < 1:
            pytest.skip(f"{self.contract.name}: minimum is 1 VND")
        h = self.harness(tmp_path)
        async with h.client() as client:
            payout = await client.pay(_with_amount(self.contract.success, low))
        assert payout.status is PayoutStatus.FAILED
        assert payout.failure_reason is FailureReason.LIMIT_EXCEEDED
        assert h.sandbox.request_counts["pay"] == 0

    async def test_amount_above_maximum_is_not_sent(self, tmp_path: Path) -> None:
        from asxh_pay.money import MAX_PAYOUT_VND_DEFAULT

        high = self.contract.max_amount + 1
        if high > MAX_PAYOUT_VND_DEFAULT:
            pytest.skip(f"{self.contract.name}: maximum is the library's own ceiling")
        h = self.harness(tmp_path)
        async with h.client() as client:
            payout = await client.pay(_with_amount(self.contract.success, high))
        assert payout.status is PayoutStatus.FAILED
        assert payout.failure_reason is FailureReason.LIMIT_EXCEEDED
        assert h.sandbox.request_counts["pay"] == 0

    async def test_provider_refuses_over_limit_amounts(self, tmp_path: Path) -> None:
        """Past the client's own check, the provider answers a limit decline, paying nothing."""
        from asxh_pay.money import MAX_PAYOUT_VND_DEFAULT

        if not self.contract.provider_enforces_limits:
            pytest.skip(f"{self.contract.name}: limits enforced by the client only")
        amounts = [
            a
            for a in (self.contract.min_amount - 1, self.contract.max_amount + 1)
            if 1 <= a <= MAX_PAYOUT_VND_DEFAULT
        ]
        if not amounts:
            pytest.skip(f"{self.contract.name}: no amount outside the limits can be expressed")
        h = self.harness(tmp_path)
        for amount in amounts:
            payout = h.payout(_with_amount(self.contract.success, amount))
            try:
                result: ProviderResult = await h.exchange(
                    h.adapter.build_submit(payout), partial(h.adapter.parse_submit, payout)
                )
            except ProviderError as exc:
                assert exc.reason is FailureReason.LIMIT_EXCEEDED and not exc.retryable
                continue
            assert result.outcome is ProviderOutcome.FAILED
            assert result.reason in (FailureReason.LIMIT_EXCEEDED, FailureReason.AMOUNT_INVALID)
        assert not h.sandbox.paid()

    # ------------------------------------------------------------------ personal data

    async def test_personal_data_never_logged(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        """At DEBUG, over inquiry, payment, callback and a decline, no CCCD, phone,
        account number or name appears in clear in any log record."""
        caplog.set_level(logging.DEBUG)
        h = self.harness(tmp_path, settle_after_s=60, frozen_clock=True)
        async with h.client() as client:
            await client.verify_account(self.contract.inquiry_mismatch)
            payout = await client.pay(self.contract.success, wait=False)
            for cb in await h.settle(61):
                await client.handle_callback(h.adapter.name, cb)
                with pytest.raises(WebhookVerificationError):
                    await client.handle_callback(h.adapter.name, cb)
            await client.wait(payout.id, timeout_s=5)
            for case in self.contract.declines:
                with contextlib.suppress(ProviderError):
                    await client.pay(case.request, wait=False)
        secrets = set(self.contract.extra_personal)
        for req in self.contract.all_requests():
            secrets |= personal_strings(req)
        text = caplog.text + "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
        assert caplog.records, "nothing was logged at DEBUG: the check would prove nothing"
        leaked = sorted(s for s in secrets if s in text)
        assert not leaked, f"personal data in logs: {len(leaked)} value(s)"
