"""Synthetic payout requests for load tests, benches and `asxh-pay enqueue --synthetic`.

Why here and not in the payroll demo: workers and benches need plain requests in bulk,
without the lists, registry and approval the payroll demo builds around them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from asxh_pay.models import Beneficiary, PayoutRequest

# One table of synthetic names for the whole project (the payroll demo draws from it too).
SURNAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Nông",
    "Lục",
    "Hà",
    "Triệu",
]
MIDDLE_M = ["Văn", "Hữu", "Đức", "Minh", "Quang", "Công", "Xuân", "Thành"]
MIDDLE_F = ["Thị", "Ngọc", "Thanh", "Thu", "Kim", "Mỹ", "Diệu", "Hồng"]
GIVEN = [
    "An",
    "Bình",
    "Châu",
    "Dũng",
    "Hà",
    "Hải",
    "Hòa",
    "Lan",
    "Linh",
    "Mai",
    "Nam",
    "Phúc",
    "Sơn",
    "Tâm",
    "Thắng",
    "Tuyết",
    "Hương",
    "Khánh",
    "Lộc",
    "Nguyệt",
    "Quý",
    "Sáu",
    "Tư",
    "Yến",
    "Đào",
    "Ảnh",
]
MIDDLE = MIDDLE_M + MIDDLE_F


def synthetic_requests(n: int, *, period: str = "2026-11", seed: int = 7) -> Iterator[PayoutRequest]:
    """``n`` valid bank payouts (Cao Bang CCCDs, Agribank accounts); 1 in 50 is refused by
    the sandbox bank (account ending 0001), so the cash fallback has work to do."""
    rng = random.Random(seed)
    for i in range(n):
        yob = rng.randint(1930, 1999)
        cccd = f"004{(0 if rng.random() < 0.5 else 1)}{yob % 100:02d}{i:06d}"
        name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        account = f"{rng.randint(10, 99)}{i:07d}9"
        if i % 50 == 7:
            account = account[:-4] + "0001"
        yield PayoutRequest(
            programme="NCC" if i % 3 else "BTXH",
            period=period,
            beneficiary=Beneficiary(cccd=cccd, full_name=name, commune_code=f"{26101 + i % 5}"),
            destination={"kind": "bank", "bank_bin": "970405", "account_number": account},
            amount=rng.choice([500_000, 750_000, 1_080_000, 1_500_000, 2_055_000]),
            source=f"synthetic row {i + 1}",
        )
