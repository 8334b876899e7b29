"""The event hash is a format: every recorded chain depends on its exact bytes."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from asxh_pay.ledger.base import event_hash
from asxh_pay.models import EventSource
from asxh_pay.status import FailureReason, PayoutStatus

_REFERENCE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
text = st.text(max_size=40)  # any code point: quotes, backslashes, controls, Vietnamese


def reference_hash(fields: list[object]) -> str:
    """The format as first specified: the compact JSON array of the event's fields."""
    return hashlib.sha256(_REFERENCE.encode(fields).encode()).hexdigest()


@given(
    at=st.datetimes(timezones=st.just(UTC)),
    fields=st.fixed_dictionaries(
        {
            "payout_id": text,
            "seq": st.integers(min_value=1, max_value=10**6),
            "from_status": st.none() | st.sampled_from(PayoutStatus),
            "to_status": st.sampled_from(PayoutStatus),
            "source": st.sampled_from(EventSource),
            "reason": st.none() | st.sampled_from(FailureReason),
            "detail": st.none() | text,
            "provider": st.none() | text,
            "provider_ref": st.none() | text,
            "prev_hash": text,
        }
    ),
)
def test_event_hash_is_the_hash_of_the_compact_json_array(at: datetime, fields: dict[str, Any]) -> None:
    f = fields
    expected = reference_hash(
        [
            f["payout_id"],
            f["seq"],
            at.isoformat(),
            f["from_status"].value if f["from_status"] else None,
            f["to_status"].value,
            f["source"].value,
            f["reason"].value if f["reason"] else None,
            f["detail"],
            f["provider"],
            f["provider_ref"],
            f["prev_hash"],
        ]
    )
    assert event_hash(at=at, **fields) == expected
    assert event_hash(at=at.isoformat(), **fields) == expected


def test_a_known_event_keeps_its_hash() -> None:
    """Pinned: a ledger written by an earlier release must still verify."""
    h = event_hash(
        payout_id="po_1",
        seq=1,
        at=datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
        from_status=None,
        to_status=PayoutStatus.CREATED,
        source=EventSource.SYSTEM,
        reason=None,
        detail='Nguyễn "Văn" \\ A',
        provider="generic",
        provider_ref=None,
        prev_hash="0" * 64,
    )
    assert h == "c9365dc7c94bb5c278bafa6b7106a17a8eed1a037fdfebbcdabcb8db86c2d3c2"
