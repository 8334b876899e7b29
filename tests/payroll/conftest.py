"""Helpers for the payroll tests: commune list files, a data directory with two operators."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from asxh_pay.payroll.approval import approve, setup_office
from asxh_pay.payroll.demo import encode_cp1258
from asxh_pay.payroll.lists import ListDefaults
from asxh_pay.payroll.prepare import Prepared, prepare_run
from asxh_pay.payroll.rails import Rails, embedded_rails
from asxh_pay.payroll.registry import PersonRecord, SandboxPopulationRegistry

HEADERS = [
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

# (name, cccd, birth) of a small synthetic population; CCCD 001 = Ha Noi, digit 4: 0 male / 1 female 1900s.
PEOPLE = [
    ("Nguyễn Văn An", "001080000001", date(1980, 3, 1)),
    ("Trần Thị Bình", "001175000002", date(1975, 5, 2)),
    ("Lê Văn Cường", "001050000003", date(1950, 1, 3)),
    ("Phạm Thị Dung", "001160000004", date(1960, 7, 4)),
    ("Hoàng Văn Em", "001045000005", date(1945, 9, 5)),
    ("Đỗ Thị Phương", "001190000006", date(1990, 2, 6)),
    ("Vũ Văn Giang", "001070000007", date(1970, 4, 7)),
    ("Bùi Thị Hoa", "001155000008", date(1955, 6, 8)),
]


def row(i: int, method: str = "Tài khoản ngân hàng", **over: Any) -> list[Any]:
    """A list row for PEOPLE[i]: bank account by default."""
    name, cccd, birth = PEOPLE[i]
    r: dict[str, Any] = {
        "STT": i + 1,
        "Họ và tên": name,
        "Số CCCD": cccd,
        "Ngày sinh": birth.strftime("%d/%m/%Y"),
        "Chương trình": "NCC",
        "Kỳ chi trả": "11/2026",
        "Mã xã": "00004",
        "Hình thức nhận": method,
        "Số tài khoản": "",
        "Ngân hàng": "",
        "Ví điện tử": "",
        "Số điện thoại": "",
        "Số tiền": "1.500.000",
        "Người nhận thay": "",
        "CCCD người nhận thay": "",
        "Quan hệ": "",
        "Giấy ủy quyền": "",
        "Địa chỉ": "",
    }
    if method == "Tài khoản ngân hàng":
        r["Số tài khoản"] = f"0071000{i:02d}7777"
        r["Ngân hàng"] = "Vietcombank"
    elif method == "Ví điện tử":
        r["Ví điện tử"] = "Viettel Money"
        r["Số điện thoại"] = f"091234{i:02d}77"
    elif method == "Tài khoản bưu điện":
        r["Số tài khoản"] = f"88000{i:02d}7777"
    elif method == "Chi trả tại nhà":
        r["Địa chỉ"] = "Thôn 3, xã Minh Khai"
    r.update(over)
    return [r[h] for h in HEADERS]


def csv_bytes(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
    title: bool = True,
) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    if title:
        w.writerow(["UBND XÃ MINH KHAI"])
        w.writerow(["DANH SÁCH CHI TRẢ THÁNG 11/2026"])
    w.writerow(headers)
    w.writerows(rows)
    text = buf.getvalue()
    if encoding == "cp1258":
        return encode_cp1258(text)
    return text.encode(encoding)


def write_list(
    path: Path, rows: Sequence[Sequence[Any]], headers: Sequence[str] = HEADERS, **kw: Any
) -> Path:
    path.write_bytes(csv_bytes(headers, rows, **kw))
    return path


def seed(registry: SandboxPopulationRegistry) -> None:
    registry.add(PersonRecord(c, n, b) for n, c, b in PEOPLE)


@dataclass
class Workspace:
    data_dir: Path
    registry: SandboxPopulationRegistry
    rails: Rails

    @property
    def ledger_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'ledger.db'}"

    def prepare(
        self, files: Sequence[Path], *, operator: str = "maker", verify_accounts: bool = True, **kw: Any
    ) -> Prepared:
        return asyncio.run(
            prepare_run(
                list(files),
                data_dir=self.data_dir,
                operator=operator,
                key_path=self.data_dir / "keys" / f"{operator}.pem",
                defaults=ListDefaults(period="2026-11", province_code="01"),
                registry=self.registry,
                rails=self.rails,
                ledger_url=self.ledger_url,
                verify_accounts=verify_accounts,
                **kw,
            )
        )

    def approve(self, run_id: str, operator: str = "checker") -> None:
        approve(self.data_dir, run_id, operator, self.data_dir / "keys" / f"{operator}.pem")


@pytest.fixture
def ws(tmp_path: Path) -> Any:
    data_dir = tmp_path / "data"
    setup_office(data_dir, ("maker", "checker"), office_key=tmp_path / "office.pem")
    registry = SandboxPopulationRegistry(data_dir / "registry.db")
    seed(registry)
    rails = embedded_rails(data_dir)
    yield Workspace(data_dir, registry, rails)
    rails.close()
    registry.close()
