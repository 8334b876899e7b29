"""Hand-written bank files for the statement tests: camt.054 entries and pain.002 reports.

Why by hand: the attacks these tests make (a 1 VND return, a return on another
account, a credit that only carries our EndToEndId) are exactly what the
project's own sandbox bank never sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import EventSource, Payout, PayoutRequest, new_payout_id
from asxh_pay.providers.treasury import end_to_end_id
from asxh_pay.status import PayoutStatus
from tests.conftest import make_request
from tests.treasury.conftest import DEBTOR_ACCOUNT

NS054 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


@dataclass
class Tx:
    """One transaction of an entry; ``amount=None`` leaves its amount out."""

    e2e: str
    amount: int | None
    ref: str = "TX-1"
    rtr: str | None = None  # RtrInf reason code
    cdi: str | None = None  # the transaction's own CdtDbtInd
    code: str | None = None  # the transaction's own BkTxCd (Domn/Fmly/SubFmly)


def _code(code: str) -> str:
    d, f, s = code.split("/")
    return f"<BkTxCd><Domn><Cd>{d}</Cd><Fmly><Cd>{f}</Cd><SubFmlyCd>{s}</SubFmlyCd></Fmly></Domn></BkTxCd>"


def entry(
    txs: list[Tx],
    *,
    amount: int | None = None,
    cdi: str = "CRDT",
    code: str | None = "PMNT/ICDT/RRTN",
    prtry: str | None = None,
    status: str = "BOOK",
    ref: str = "NTRY-1",
    booked: str = "<Dt>2026-11-04</Dt>",
) -> str:
    total = amount if amount is not None else sum(t.amount or 0 for t in txs)
    bk = ""
    if code is not None:
        bk = _code(code)
    elif prtry is not None:
        bk = f"<BkTxCd><Prtry><Cd>{prtry}</Cd></Prtry></BkTxCd>"
    details = ""
    for t in txs:
        amt = f'<Amt Ccy="VND">{t.amount}</Amt>' if t.amount is not None else ""
        own = f"<CdtDbtInd>{t.cdi}</CdtDbtInd>" if t.cdi else ""
        tx_bk = _code(t.code) if t.code else ""
        rtr = f"<RtrInf><Rsn><Cd>{t.rtr}</Cd></Rsn></RtrInf>" if t.rtr else ""
        details += (
            f"<TxDtls><Refs><AcctSvcrRef>{t.ref}</AcctSvcrRef><EndToEndId>{t.e2e}</EndToEndId></Refs>"
            f"{amt}{own}{tx_bk}{rtr}</TxDtls>"
        )
    return (
        f'<Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="VND">{total}</Amt><CdtDbtInd>{cdi}</CdtDbtInd>'
        f"<Sts><Cd>{status}</Cd></Sts><BookgDt>{booked}</BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef>{bk}"
        f"<NtryDtls>{details}</NtryDtls></Ntry>"
    )


def camt054(entries: list[str], *, account: str = DEBTOR_ACCOUNT, prologue: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prologue}<Document xmlns="{NS054}"><BkToCstmrDbtCdtNtfctn>'
        "<GrpHdr><MsgId>NTF-ATTACK</MsgId><CreDtTm>2026-11-04T17:00:00+07:00</CreDtTm></GrpHdr>"
        f"<Ntfctn><Id>NTF-1</Id><CreDtTm>2026-11-04T17:00:00+07:00</CreDtTm>"
        f"<Acct><Id><Othr><Id>{account}</Id></Othr></Id></Acct>{''.join(entries)}</Ntfctn>"
        "</BkToCstmrDbtCdtNtfctn></Document>"
    ).encode()


def pain002(
    original_msg_id: str, txs: list[tuple[str, str, int | None]], *, group: str | None = None
) -> bytes:
    """``txs``: (EndToEndId, TxSts, original amount or None)."""
    grp = f"<GrpSts>{group}</GrpSts>" if group else ""
    rsn = "<StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf>" if group == "RJCT" else ""
    body = ""
    for e2e, sts, amount in txs:
        ref = (
            f'<OrgnlTxRef><Amt><InstdAmt Ccy="VND">{amount}</InstdAmt></Amt></OrgnlTxRef>'
            if amount is not None
            else ""
        )
        reason = "<StsRsnInf><Rsn><Cd>AC01</Cd></Rsn></StsRsnInf>" if sts == "RJCT" else ""
        body += (
            f"<TxInfAndSts><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>{sts}</TxSts>{reason}{ref}"
            "</TxInfAndSts>"
        )
    pmt = f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{original_msg_id}-1</OrgnlPmtInfId>{body}</OrgnlPmtInfAndSts>"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt>'
        "<GrpHdr><MsgId>STS-1</MsgId><CreDtTm>2026-11-03T09:00:00</CreDtTm></GrpHdr>"
        f"<OrgnlGrpInfAndSts><OrgnlMsgId>{original_msg_id}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09"
        f"</OrgnlMsgNmId>{grp}{rsn}</OrgnlGrpInfAndSts>{pmt if txs else ''}</CstmrPmtStsRpt></Document>"
    ).encode()


async def paid_payout(
    ledger: SqliteLedger,
    i: int,
    *,
    provider: str = "treasury",
    amount: int = 1_500_000,
    status: PayoutStatus = PayoutStatus.SUCCEEDED,
) -> tuple[Payout, str]:
    """A payout recorded as sent on ``provider`` (and brought to ``status``); returns it and its e2e."""
    now = datetime.now(UTC)
    req = make_request(i, amount=amount)
    if provider != "treasury":
        data = req.model_dump(mode="json")
        data["destination"] = {"kind": "wallet", "provider": provider, "phone": f"09{i % 10**8:08d}"}
        req = PayoutRequest.model_validate(data)
    payout = Payout(
        id=new_payout_id(),
        idempotency_key=req.key(),
        payload_hash=req.payload_hash(),
        request=req,
        provider=provider,
        created_at=now,
        updated_at=now,
    )
    payout, _ = await ledger.create_or_get(payout)
    e2e = end_to_end_id(payout.idempotency_key)
    res = await ledger.transition(
        payout, PayoutStatus.SUBMITTED, source=EventSource.SYSTEM, provider=provider, provider_ref=e2e
    )
    payout = res.payout
    if status is not PayoutStatus.SUBMITTED:
        payout = (await ledger.transition(payout, status, source=EventSource.POLL)).payout
    return payout, e2e


def write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path
