"""Callback verification: every refusal code, and the order of checks that keeps the replay
guard from being poisoned by forgeries."""

from __future__ import annotations

import logging
import threading

import pytest

from asxh_pay.errors import ConfigurationError, WebhookVerificationError
from asxh_pay.signing import EcdsaSigner, EcdsaVerifier, HmacKey, generate_ec_key
from asxh_pay.webhooks import CallbackVerifier, ReplayGuard, signed_payload

NOW = 1_750_000_000.0
KEY = HmacKey("ipn-secret")
BODY = b'{"orderId":"o-1","resultCode":0,"amount":1500000}'


class Clock:
    def __init__(self, t: float = NOW) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make(**kw: object) -> tuple[CallbackVerifier, ReplayGuard, Clock]:
    guard = ReplayGuard(max_entries=100, ttl_s=900)
    clock = Clock()
    v = CallbackVerifier(KEY, replay_guard=guard, clock=clock, **kw)  # type: ignore[arg-type]
    return v, guard, clock


def code_of(v: CallbackVerifier, body: bytes, sig: bytes, ts: float | None, cid: str | None) -> str:
    with pytest.raises(WebhookVerificationError) as exc:
        v.verify(body, sig, timestamp=ts, callback_id=cid)
    return exc.value.code


def test_accepts_genuine_then_refuses_replay() -> None:
    v, guard, _ = make()
    v.verify(BODY, KEY.sign(BODY), timestamp=NOW - 10, callback_id="cb-1")
    assert len(guard) == 1
    assert code_of(v, BODY, KEY.sign(BODY), NOW - 5, "cb-1") == "replayed"


def test_forged_signature() -> None:
    v, guard, _ = make()
    assert code_of(v, BODY, b"\x00" * 32, NOW, "cb-1") == "bad_signature"
    assert code_of(v, BODY.replace(b"1500000", b"9500000"), KEY.sign(BODY), NOW, "cb-1") == "bad_signature"
    assert len(guard) == 0


def test_forged_callback_does_not_poison_guard() -> None:
    """A forger who learns a genuine callback id in advance sends a forgery under that id
    (twice). The genuine callback must still be accepted afterwards."""
    v, guard, _ = make()
    for _ in range(2):
        assert code_of(v, b'{"resultCode":0,"forged":1}', b"\x01" * 32, NOW, "cb-9") == "bad_signature"
    assert len(guard) == 0
    v.verify(BODY, KEY.sign(BODY), timestamp=NOW, callback_id="cb-9")


def test_stale_and_future() -> None:
    v, guard, _ = make()
    sig = KEY.sign(BODY)
    assert code_of(v, BODY, sig, NOW - 301, "a") == "stale"
    assert code_of(v, BODY, sig, NOW + 301, "b") == "future"
    v.verify(BODY, sig, timestamp=NOW - 300, callback_id="c")
    v.verify(BODY, sig, timestamp=NOW + 300, callback_id="d")
    assert len(guard) == 2  # stale/future ids were not remembered


def test_oversize_checked_first() -> None:
    v, _, _ = make(max_body_bytes=64)
    big = b"x" * 65
    assert code_of(v, big, KEY.sign(big), NOW, "a") == "too_large"
    assert code_of(v, big, b"", None, None) == "too_large"  # before anything else
    default = CallbackVerifier(KEY, clock=Clock())
    huge = b"x" * ((1 << 20) + 1)
    assert code_of(default, huge, KEY.sign(huge), NOW, None) == "too_large"


def test_missing_signature_timestamp_id() -> None:
    v, _, _ = make()
    assert code_of(v, BODY, b"", NOW, "a") == "missing_signature"
    assert code_of(v, BODY, KEY.sign(BODY), None, "a") == "invalid"
    assert code_of(v, BODY, KEY.sign(BODY), NOW, None) == "invalid"
    assert code_of(v, BODY, KEY.sign(BODY), float("nan"), "a") == "invalid"
    assert code_of(v, BODY, KEY.sign(BODY), NOW, "x" * 257) == "invalid"


def test_timestamp_optional_when_configured() -> None:
    v = CallbackVerifier(KEY, require_timestamp=False, clock=Clock())
    v.verify(BODY, KEY.sign(BODY), timestamp=None, callback_id=None)


def test_signed_prefix_standard_webhooks() -> None:
    signer_key = generate_ec_key()
    signer = EcdsaSigner(signer_key)
    guard = ReplayGuard()
    v = CallbackVerifier(
        EcdsaVerifier(signer_key.public_key()), signed_prefix=True, replay_guard=guard, clock=Clock()
    )
    ts = 1_750_000_000
    assert signed_payload("msg_1", float(ts), BODY) == b"msg_1.1750000000." + BODY
    sig = signer.sign(signed_payload("msg_1", ts, BODY))
    # The id and timestamp are authenticated: changing either breaks the signature, so an
    # attacker cannot replay a body under a fresh id or a fresh timestamp.
    assert code_of(v, BODY, sig, ts, "msg_2") == "bad_signature"
    assert code_of(v, BODY, sig, ts + 1, "msg_1") == "bad_signature"
    # The bare-body signature is not accepted in prefix mode.
    assert code_of(v, BODY, signer.sign(BODY), ts, "msg_1") == "bad_signature"
    v.verify(BODY, sig, timestamp=float(ts), callback_id="msg_1")
    assert code_of(v, BODY, sig, ts, "msg_1") == "replayed"


def test_replay_guard_ttl_and_bound() -> None:
    g = ReplayGuard(max_entries=3, ttl_s=10)
    g.check_and_remember("a", 0)
    with pytest.raises(WebhookVerificationError):
        g.check_and_remember("a", 9.9)
    g.check_and_remember("a", 10)  # expired -> accepted again
    for i in range(5):
        g.check_and_remember(f"id{i}", 11 + i)
    assert len(g) == 3
    g.forget("id4")
    g.check_and_remember("id4", 20)
    with pytest.raises(ConfigurationError):
        ReplayGuard(max_entries=0)


def test_a_full_replay_guard_warns_once_a_minute_with_the_count(caplog: pytest.LogCaptureFixture) -> None:
    """A province's payday overflows the guard by 100,000s of ids: one warning per dropped
    id was 182,000 log lines in one month."""
    g = ReplayGuard(max_entries=3, ttl_s=3600)
    with caplog.at_level(logging.WARNING, logger="asxh_pay.webhooks"):
        for i in range(1000):
            g.check_and_remember(f"id{i}", 100 + i * 0.01)  # 1,000 ids within 10 s
        assert len(caplog.records) == 1
        g.check_and_remember("late", 100 + 70)  # a minute after the first warning
    assert len(g) == 3
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "1 ids dropped" in messages[0]
    assert "998 ids dropped" in messages[1]


def test_replay_guard_thread_safe() -> None:
    g = ReplayGuard()
    accepted: list[int] = []
    barrier = threading.Barrier(16)

    def worker(n: int) -> None:
        barrier.wait()
        try:
            g.check_and_remember("same-id", NOW)
            accepted.append(n)
        except WebhookVerificationError:
            pass

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(accepted) == 1


def test_no_secret_in_repr() -> None:
    v = CallbackVerifier(HmacKey("ipn-secret-value"))
    assert "ipn-secret-value" not in repr(v)
    err = WebhookVerificationError("x", code="bad_signature")
    assert err.code == "bad_signature"
