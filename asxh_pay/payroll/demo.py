"""``asxh-pay demo``: one synthetic province's whole month, end to end, on one laptop.

It makes a 2026 month of a province paying centrally (Tuyên Quang, 2025 code 08) for six of
its communes on the two-tier structure: 20,000+ beneficiaries of the three monthly
programmes (NCC, BTXH and the social pension HTXH; bank,
wallets, postal accounts, cash at the commune, at the post office and at home; authorised
persons and guardians), writes the communes' lists the way communes keep them (XLSX,
UTF-8 CSV with BOM, a Windows-1258 CSV, headers with and without diacritics), with the
usual faults (Excel-damaged numbers, old CMND numbers, fractional amounts, duplicates,
conflicting rows), and one commune's NCC list still in pre-2025 codes (a district column,
old commune codes, among them a commune that was split in 2025 and is held for a person),
seeds the sandbox population register (with a few deaths and name
differences), then prepares the run as one operator, approves it as another, pays it on
the embedded rails, reconciles with the providers' settlement reports and writes the reports.

Every demo run gets a fresh directory ``./asxh-pay-data/demo/<timestamp>/`` (ledger,
lists, keys, run, reports), so running it twice never mixes two demos' money and the
previous demo stays inspectable.
"""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from asxh_pay import units
from asxh_pay.payroll.registry import PersonRecord, SandboxPopulationRegistry
from asxh_pay.synthetic import GIVEN, MIDDLE_F, MIDDLE_M, SURNAMES

BANKS = [
    "Vietcombank",
    "BIDV",
    "Agribank",
    "VietinBank",
    "Ngân hàng Chính sách xã hội",
    "MBBank",
    "Techcombank",
]
#: The paying province (2025 code) and six of its communes, named from the 2025 unit data.
PROVINCE = "08"
COMMUNES = [(code, units.unit_name(code)) for code in ("02215", "02212", "02509", "02512", "02524", "02494")]
#: CCCD province-of-birth code: the old (63-province) code printed on the cards, 008 Tuyên Quang.
BIRTH_PROVINCE = "008"
#: The list still in pre-2025 codes: Phường An Tường's NCC list, written with the former
#: Thành phố Tuyên Quang district (070) and the old communes that now make up An Tường...
OLD_LIST = ("02512", "NCC")
OLD_DISTRICT = "070"
OLD_COMMUNES = ["02512", "02218", "02503", "02515"]
#: ... and a few rows from Xã Kim Phú (02497), split in 2025 between Minh Xuân and Mỹ Lâm: held.
OLD_SPLIT_COMMUNE = "02497"
NCC_AMOUNTS = [1_500_000, 2_055_000, 2_789_000, 3_000_000, 1_624_000]
BTXH_AMOUNTS = [500_000, 750_000, 1_000_000, 1_080_000, 360_000]
HTXH_AMOUNTS = [500_000]  # Decree 176/2025/ND-CP: VND 500,000 a month
RELATIONS = ["con", "vợ", "chồng", "cháu", "em"]

HEADERS_VI = [
    "STT",
    "Họ và tên",
    "Số CCCD",
    "Ngày sinh",
    "Chương trình",
    "Kỳ chi trả",
    "Mã xã",
    "Hình thức nhận",
    "Số tài khoản",
    "Ngân hàng",
    "Ví điện tử",
    "Số điện thoại",
    "Số tiền",
    "Người nhận thay",
    "CCCD người nhận thay",
    "Quan hệ",
    "Giấy ủy quyền",
    "Địa chỉ",
]
HEADERS_ASCII = [
    "STT",
    "HO VA TEN",
    "SO CCCD",
    "NGAY SINH",
    "CHUONG TRINH",
    "KY CHI TRA",
    "MA XA",
    "HINH THUC NHAN",
    "SO TAI KHOAN",
    "NGAN HANG",
    "VI DIEN TU",
    "SO DIEN THOAI",
    "SO TIEN",
    "NGUOI NHAN THAY",
    "CCCD NGUOI NHAN THAY",
    "QUAN HE",
    "GIAY UY QUYEN",
    "DIA CHI",
]

_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def encode_cp1258(text: str) -> bytes:
    """Encode Vietnamese the way Windows-1258 does: tone marks as combining characters."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
        tones = "".join(c for c in parts if c in _TONES)
        out += (base + tones).encode("cp1258")
    return bytes(out)


@dataclass
class Person:
    cccd: str
    name: str
    birth: date


@dataclass
class DemoProvince:
    rows: dict[tuple[str, str], list[list[Any]]] = field(default_factory=dict)  # (commune, programme) -> rows
    people: list[PersonRecord] = field(default_factory=list)
    beneficiaries: int = 0
    bad_rows: int = 0
    duplicates: int = 0
    conflicts: int = 0
    die_after_prepare: list[str] = field(default_factory=list)
    old_coded_rows: int = 0
    split_rows: int = 0
    communes: list[tuple[str, str]] = field(default_factory=lambda: list(COMMUNES))


def _name(rng: random.Random, female: bool) -> str:
    middle = MIDDLE_F if female else MIDDLE_M
    return f"{rng.choice(SURNAMES)} {rng.choice(middle)} {rng.choice(GIVEN)}"


def _person(rng: random.Random, seq: int, y0: int, y1: int) -> Person:
    year = rng.randint(y0, y1)
    female = rng.random() < 0.55
    g = (1 if female else 0) + (2 if year >= 2000 else 0)
    cccd = f"{BIRTH_PROVINCE}{g}{year % 100:02d}{seq:06d}"
    birth = date(year, 1, 1) + timedelta(days=rng.randint(0, 364))
    return Person(cccd, _name(rng, female), birth)


#: Endings the sandboxes read as a fault (see each sandbox's docstring); random data avoids them.
_MAGIC_TAILS = {f"000{i}" for i in range(1, 10)}


def _phone(rng: random.Random) -> str:
    prefix = rng.choice(["96", "97", "98", "86", "32", "35", "91", "94", "90", "93"])
    phone = f"0{prefix}{rng.randint(0, 9_999_999):07d}"
    return phone[:-4] + "7777" if phone[-4:] in _MAGIC_TAILS else phone


def province_communes(count: int | None = None) -> list[tuple[str, str]]:
    """The demo's communes: the six of :data:`COMMUNES` first, then the province's other
    communes up to ``count`` (all of them with 0), for province-scale runs."""
    if count is None or count == len(COMMUNES):
        return list(COMMUNES)
    chosen = list(COMMUNES)
    seen = {c for c, _ in chosen}
    chosen += [(u.code, u.name) for u in units.communes_in(PROVINCE) if u.code not in seen]
    return chosen if count <= 0 else chosen[: max(count, 1)]


def make_province(
    n: int = 20_000, *, period: str = "2026-11", seed: int = 2026, communes: int | None = None
) -> DemoProvince:
    """A synthetic province: list rows per commune and programme, and the population register.

    ``communes``: how many of the province's communes pay (default the six of
    :data:`COMMUNES`; 0 for all of them, as a province paying centrally does)."""
    rng = random.Random(seed)
    d = DemoProvince()
    d.communes = places = province_communes(communes)
    seq = 0
    people: list[Person] = []
    for _ in range(n):
        seq += 1
        people.append(_person(rng, seq, 1930, 2005))
    carers = []
    for _ in range(max(50, n // 12)):
        seq += 1
        carers.append(_person(rng, seq, 1960, 1995))
    registry_names = {p.cccd: p.name for p in people + carers}
    registry_death: dict[str, date] = {}
    for i, p in enumerate(people):
        commune, _ = places[i % len(places)]
        roll = rng.random()
        programme = "NCC" if roll < 0.35 else "BTXH" if roll < 0.80 else "HTXH"
        amount = rng.choice(
            NCC_AMOUNTS if programme == "NCC" else BTXH_AMOUNTS if programme == "BTXH" else HTXH_AMOUNTS
        )
        r = rng.random()
        method = (
            "bank"
            if r < 0.35
            else "viettel_money"
            if r < 0.45
            else "momo"
            if r < 0.50
            else "postal"
            if r < 0.60
            else "cash"
            if r < 0.85
            else "post_office"
            if r < 0.90
            else "home"
        )
        row: list[Any] = [
            "",
            p.name,
            p.cccd,
            p.birth.strftime("%d/%m/%Y"),
            programme,
            period,
            commune,
            "",
            "",
            "",
            "",
            "",
            f"{amount:,}".replace(",", "."),
            "",
            "",
            "",
            "",
            "",
        ]
        # Magic endings make the rails' sandboxes answer as real providers do for bad data.
        roll = rng.random()
        if method == "bank":
            acct = f"{rng.randint(10, 99)}{rng.randint(0, 10**10 - 1):010d}"
            if roll < 0.010:
                acct = acct[:-6] + "000001"  # pain.002 RJCT AC01 (no such account) -> cash fallback
            elif roll < 0.015:
                acct = acct[:-6] + "000004"  # RJCT AC04 (closed) -> cash fallback
            elif roll < 0.017:
                acct = acct[:-6] + "000011"  # RJCT BE01 (name differs): failed, for a person to check
            row[7:10] = ["Tài khoản ngân hàng", acct, rng.choice(BANKS)]
        elif method in ("viettel_money", "momo"):
            phone = _phone(rng)
            if roll < 0.010:
                phone = phone[:-4] + "0001"  # no such wallet -> declined -> cash fallback
            elif roll < 0.015:
                phone = phone[:-4] + "0002"  # wallet locked -> cash fallback
            elif roll < 0.020:
                phone = phone[:-4] + "0004"  # the wallet is someone else's -> held at preparation
            elif roll < 0.023:
                phone = phone[:-4] + "0005"  # over the receiver's limit at settlement -> cash
            row[7] = "Ví điện tử"
            row[10] = "Viettel Money" if method == "viettel_money" else "MoMo"
            row[11] = phone
        elif method == "postal":
            acct = f"88{rng.randint(0, 10**10 - 1):010d}"
            if roll < 0.010:
                acct = acct[:-4] + "0001"  # no such postal account -> cash fallback
            elif roll < 0.015:
                acct = acct[:-4] + "0004"  # someone else's account -> held at preparation
            elif acct[-4:] in _MAGIC_TAILS:
                acct = acct[:-4] + "7777"
            row[7:9] = ["Tài khoản bưu điện", acct]
        elif method == "cash":
            row[7] = "Nhận tại điểm chi trả"
        elif method == "post_office":
            row[7] = "Nhận tại bưu điện"
        else:
            row[7] = "Chi trả tại nhà"
            row[17] = f"Thôn {rng.randint(1, 12)}, {places[i % len(places)][1]}"
        roll = rng.random()
        if roll < 0.08:
            carer = rng.choice(carers) if rng.random() < 0.8 else rng.choice(people)
            if carer.cccd != p.cccd:
                guardian = p.birth.year >= 2008
                row[13:17] = [
                    carer.name,
                    carer.cccd,
                    "người giám hộ" if guardian else rng.choice(RELATIONS),
                    f"{'GH' if guardian else 'UQ'}-{i:05d}/2026",
                ]
        # Register differences: a few name spellings, deaths already known, deaths to come.
        roll = rng.random()
        if roll < 0.003:
            words = p.name.split()
            registry_names[p.cccd] = " ".join(words[1:] + words[:1]).upper()  # rotation: accepted
        elif roll < 0.004:
            registry_names[p.cccd] = p.name + "h"  # a near-miss spelling: held
        elif roll < 0.0045:
            registry_death[p.cccd] = date(2026, 10, 3)  # already dead: held at preparation
        elif roll < 0.0050:
            d.die_after_prepare.append(p.cccd)  # dies after preparation: stopped before sending
        if (commune, programme) == OLD_LIST:
            d.old_coded_rows += 1
            if d.old_coded_rows % 40 == 3:  # about 2.5%, and one even in a small demo
                row[6] = OLD_SPLIT_COMMUNE
                d.split_rows += 1
            else:
                row[6] = rng.choice(OLD_COMMUNES)
        d.rows.setdefault((commune, programme), []).append(row)
        d.beneficiaries += 1
        # Duplicates: the same row again (merged with a warning) or with another amount (held).
        roll = rng.random()
        if roll < 0.004:
            d.rows[(commune, programme)].append(list(row))
            d.duplicates += 1
        elif roll < 0.005:
            other = list(row)
            other[12] = f"{amount + 100_000:,}".replace(",", ".")
            d.rows[(commune, programme)].append(other)
            d.conflicts += 1
    # Bad rows, as communes make them.
    bad_makers = [
        lambda r: r.__setitem__(2, "4.01245E+11"),  # Excel scientific notation
        lambda r: r.__setitem__(2, r[2].lstrip("0")),  # lost the leading zero
        lambda r: r.__setitem__(2, "012345678"),  # old 9-digit CMND
        lambda r: r.__setitem__(12, "1.500.000,50"),  # a fractional amount
        lambda r: r.__setitem__(12, ""),  # no amount
        lambda r: r.__setitem__(7, "Chuyển bằng bồ câu"),  # unknown method
        lambda r: r.__setitem__(3, "31/02/1950"),  # no such date
        lambda r: r.__setitem__(5, "10/2026"),  # another month
    ]
    keys = sorted(d.rows)
    for j in range(max(8, n // 200)):
        seq += 1
        p = _person(rng, seq, 1940, 1990)
        commune, programme = keys[j % len(keys)]
        row = [
            "",
            p.name,
            p.cccd,
            p.birth.strftime("%d/%m/%Y"),
            programme,
            period,
            commune,
            "Nhận tại điểm chi trả",
            "",
            "",
            "",
            "",
            "500.000",
            "",
            "",
            "",
            "",
            "",
        ]
        bad_makers[j % len(bad_makers)](row)
        d.rows[(commune, programme)].insert(rng.randrange(len(d.rows[(commune, programme)]) + 1), row)
        d.bad_rows += 1
    for _, rows in d.rows.items():
        for k, row in enumerate(rows, start=1):
            row[0] = k
    births = {p.cccd: p.birth for p in people + carers}
    d.people = [PersonRecord(c, registry_names[c], births[c], registry_death.get(c)) for c in registry_names]
    return d


def write_lists(d: DemoProvince, out: Path) -> list[Path]:
    """The communes' files: XLSX for two communes, a Windows-1258 CSV, UTF-8 CSVs with BOM;
    the old-coded list carries the district column communes used before 2025."""
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for (commune, programme), rows in sorted(d.rows.items()):
        idx = [c for c, _ in d.communes].index(commune)
        cname = d.communes[idx][1]
        stem = f"{commune}-{programme}"
        title = [f"UBND {cname.upper()}", f"DANH SÁCH CHI TRẢ {programme} KỲ {rows[0][5]}"]
        if (commune, programme) == OLD_LIST:
            path = out / f"{stem}-ma-cu.csv"
            title = ["UBND THÀNH PHỐ TUYÊN QUANG", f"DANH SÁCH CHI TRẢ {programme} KỲ {rows[0][5]} (MÃ CŨ)"]
            old_rows = [[*r[:6], OLD_DISTRICT, *r[6:]] for r in rows]
            headers = [*HEADERS_VI[:6], "Mã huyện", *HEADERS_VI[6:]]
            path.write_bytes(b"\xef\xbb\xbf" + _csv_text(title, headers, old_rows, ",").encode("utf-8"))
        elif idx in (0, 1):
            path = out / f"{stem}.xlsx"
            _write_xlsx(path, title, HEADERS_VI, rows)
        elif idx == 2:
            path = out / f"{stem}-cp1258.csv"
            path.write_bytes(encode_cp1258(_csv_text(title, HEADERS_ASCII, rows, ";")))
        else:
            path = out / f"{stem}.csv"
            headers = HEADERS_ASCII if idx == 5 else HEADERS_VI
            path.write_bytes(b"\xef\xbb\xbf" + _csv_text(title, headers, rows, ",").encode("utf-8"))
        files.append(path)
    return files


def _csv_text(title: Sequence[str], headers: Sequence[str], rows: Sequence[Sequence[Any]], delim: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator="\r\n")
    for t in title:
        w.writerow([t])
    w.writerow(headers)
    w.writerows(rows)
    return buf.getvalue()


def _write_xlsx(
    path: Path, title: Sequence[str], headers: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Danh sach")
    for t in title:
        ws.append([t])
    ws.append(list(headers))
    for row in rows:
        cells: list[Any] = []
        for j, v in enumerate(row):
            if j in (2, 8, 11, 14) and v:  # identifiers typed into Text-formatted cells
                c = WriteOnlyCell(ws, value=str(v))
                c.number_format = "@"
                cells.append(c)
            elif j == 12 and isinstance(v, str) and v.replace(".", "").isdigit():
                cells.append(int(v.replace(".", "")))  # amounts as numbers, as Excel keeps them
            else:
                cells.append(v)
        ws.append(cells)
    wb.save(path)


def seed_registry(d: DemoProvince, path: Path) -> SandboxPopulationRegistry:
    reg = SandboxPopulationRegistry(path)
    reg.add(d.people)
    return reg


def demo_dir(base: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    path = base / "demo" / stamp
    path.mkdir(parents=True, exist_ok=False)
    return path
