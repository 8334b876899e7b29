"""The callback endpoint over real HTTP: acknowledgements and refusals a provider sees."""

from __future__ import annotations

from pathlib import Path

import httpx

from asxh_pay.client import AsyncPayoutClient
from asxh_pay.ledger import SqliteLedger
from asxh_pay.localserver import serve
from asxh_pay.receiver import callback_handler
from asxh_pay.sandbox.generic import GenericSandbox
from asxh_pay.status import PayoutStatus
from tests.conftest import FAST_POLL, FAST_RETRY, generic_setup, make_request


async def test_callbacks_over_http(tmp_path: Path) -> None:
    sandbox = GenericSandbox(settle_after_s=30)
    captured: list[httpx.Request] = []

    async def sink(req: httpx.Request) -> None:
        captured.append(req)

    sandbox.callback_sink = sink
    async with AsyncPayoutClient(
        SqliteLedger(tmp_path / "l.db"), [generic_setup(sandbox)], retry=FAST_RETRY, poll=FAST_POLL
    ) as client:
        payout = await client.pay(make_request(1), wait=False)
        sandbox.clock.advance(31)
        sandbox.settle_due()
        await sandbox.deliver_callbacks()
        good = captured[0]
        with serve(callback_handler(client, {"/callbacks/generic": "generic"})) as server:
            async with httpx.AsyncClient(base_url=server.url) as http:

                async def post(path: str, content: bytes, headers: httpx.Headers) -> httpx.Response:
                    sent = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "host")}
                    return await http.post(path, content=content, headers=sent)

                forged = await post(
                    "/callbacks/generic", good.content.replace(b"succeeded", b"failed"), good.headers
                )
                assert forged.status_code == 401
                assert (await client.status(payout.id)).status is PayoutStatus.PROCESSING
                first = await post("/callbacks/generic", good.content, good.headers)
                assert first.status_code == 200
                again = await post("/callbacks/generic", good.content, good.headers)
                assert again.status_code == 200 and again.json()["duplicate"] is True
                lost = await post("/callbacks/nobody", good.content, good.headers)
                assert lost.status_code == 404
        done = await client.status(payout.id)
        assert done.status is PayoutStatus.SUCCEEDED
        assert len(await client.ledger.events(payout.id)) == 4
