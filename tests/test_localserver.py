"""Real HTTP round trips through asxh_pay.localserver on an ephemeral loopback port."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from asxh_pay.errors import ConfigurationError, WebhookVerificationError
from asxh_pay.localserver import LocalServer, serve
from asxh_pay.signing import HmacKey, SignatureAuth
from asxh_pay.webhooks import CallbackVerifier


def echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        201,
        headers={"X-Echo-Method": request.method, "X-Multi": "a"},
        json={
            "method": request.method,
            "url": str(request.url),
            "path": request.url.path,
            "query": request.url.query.decode(),
            "body": request.content.decode("latin-1"),
            "x_test": request.headers.get("x-test"),
        },
    )


def test_sync_handler_round_trip() -> None:
    with serve(echo) as srv:
        assert srv.url.startswith("http://127.0.0.1:") and not srv.url.endswith(":0")
        with httpx.Client(base_url=srv.url) as client:
            r = client.post("/v2/pay?x=1&y=2", content=b"\x00\x01body", headers={"X-Test": "yes"})
            assert r.status_code == 201
            data = r.json()
            assert data["method"] == "POST" and data["path"] == "/v2/pay"
            assert data["query"] == "x=1&y=2" and data["url"] == f"{srv.url}/v2/pay?x=1&y=2"
            assert data["body"] == "\x00\x01body" and data["x_test"] == "yes"
            assert r.headers["x-echo-method"] == "POST"
            # keep-alive: a second request on the same client works
            assert client.get("/status").json()["method"] == "GET"
            head = client.head("/status")
            assert head.status_code == 201 and head.content == b""


def test_async_handler_round_trip() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        import asyncio

        await asyncio.sleep(0)
        return httpx.Response(200, content=b"async:" + request.content)

    with serve(handler) as srv:
        r = httpx.post(srv.url + "/cb", content=b"hello")
        assert r.status_code == 200 and r.content == b"async:hello"


def test_oversize_body_gets_413() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200)

    with serve(handler, max_body_bytes=1024) as srv:
        assert httpx.post(srv.url, content=b"x" * 1024).status_code == 200
        r = httpx.post(srv.url, content=b"x" * 4096)
        assert r.status_code == 413
        assert calls == [1]


def test_handler_error_is_500_without_detail() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("secret-ish detail 001090000001")

    with serve(handler) as srv:
        r = httpx.get(srv.url + "/")
        assert r.status_code == 500 and b"001090000001" not in r.content


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", ""])
def test_non_loopback_refused(host: str) -> None:
    with pytest.raises(ConfigurationError, match="loopback"):
        serve(echo, host=host)


def test_localhost_name_and_explicit_opt_in() -> None:
    with serve(echo, host="localhost") as srv:
        assert httpx.get(srv.url + "/").status_code == 201
    srv2 = serve(echo, host="0.0.0.0", allow_non_loopback=True)
    try:
        port = srv2.url.rsplit(":", 1)[1]
        srv2.start()
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 201
    finally:
        srv2.stop()


def test_serve_forever_and_stop_from_other_thread() -> None:
    srv = serve(echo)
    t = threading.Thread(target=srv.serve_forever)
    t.start()
    try:
        for _ in range(50):
            try:
                assert httpx.get(srv.url + "/").status_code == 201
                break
            except httpx.ConnectError:
                time.sleep(0.02)
    finally:
        srv.stop()
        t.join(timeout=5)
    assert not t.is_alive()
    with pytest.raises(ConfigurationError):
        srv.start()


def test_signed_webhook_receiver_over_http() -> None:
    """The example use: a webhook receiver verifying signatures over the raw received bytes."""
    key = HmacKey("ipn-secret")
    verifier = CallbackVerifier(key, require_timestamp=False)

    def receiver(request: httpx.Request) -> httpx.Response:
        try:
            verifier.verify(
                request.content,
                bytes.fromhex(request.headers.get("Signature", "")),
                timestamp=None,
                callback_id=None,
            )
        except WebhookVerificationError as exc:
            return httpx.Response(401, json={"code": exc.code})
        return httpx.Response(204)

    with serve(receiver) as srv:
        body = json.dumps({"orderId": "o-1", "resultCode": 0}).encode()
        ok = httpx.post(srv.url + "/ipn", content=body, auth=SignatureAuth(key, encoding="hex"))
        assert ok.status_code == 204
        bad = httpx.post(srv.url + "/ipn", content=body, headers={"Signature": "00" * 32})
        assert bad.status_code == 401 and bad.json() == {"code": "bad_signature"}


def test_repr_and_type() -> None:
    srv = serve(echo)
    try:
        assert isinstance(srv, LocalServer) and "bound" in repr(srv)
    finally:
        srv.stop()
    assert "stopped" in repr(srv)
