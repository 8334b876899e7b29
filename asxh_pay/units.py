"""Vietnam's administrative units since 1 July 2025, and the map from the old ones.

Why this module: since the two-tier reform there are 34 provinces and 3,321 communes (xã,
phường, đặc khu) and no districts; the commune took over the district's social-assistance
duties and a province may pay centrally. Names and codes come from the maintained
``vietnam-provinces`` package (GSO data), read from its JSON once per process, with the
official codes where its 2025 releases still carry draft ones (see :func:`_divisions`).

Lists made before the reform still carry old district and commune codes. They are mapped
with a table derived from the ``vietnamadminunits`` converter data
(``asxh_pay/data/units_2025_conversion.json``, built by ``tools/build_unit_conversion.py``,
provenance inside). An old commune that was split over several new ones has several
successors: the payroll holds such a row for a person, it never picks one.

The CCCD's province-of-birth codes are *not* these: they stay the 63 old codes printed on
the cards (:mod:`asxh_pay.identity`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from asxh_pay.errors import Message, ValidationError
from asxh_pay.vocab import Detail

Level = Literal["commune", "province"]


class UnitError(ValidationError):
    """An administrative unit code that does not exist (today) or does not fit the run."""


@dataclass(frozen=True)
class Unit:
    """A province or a commune as of the 2025 reform."""

    code: str  # province: 2 digits; commune: 5 digits
    name: str  # "Tuyên Quang", "Phường Minh Xuân"
    level: Level
    province_code: str  # a province's own code for a province

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


@dataclass(frozen=True)
class _Divisions:
    provinces: dict[str, Unit]
    communes: dict[str, Unit]
    version: str


@functools.cache
def _divisions() -> _Divisions:
    import vietnam_provinces

    nested = json.loads(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8"))
    # vietnam-provinces 2025.x (the last releases for Python 3.11) carries the draft codes of
    # about 120 communes, some of them another commune's official code; the official codes
    # (its 2026 releases, and the conversion data) replace them, keyed by draft code + name.
    fixes: dict[str, str] = _conversion().get("draft_code_fixes", {}).get("codes", {})
    provinces: dict[str, Unit] = {}
    communes: dict[str, Unit] = {}
    for p in nested:
        pc = f"{int(p['code']):02d}"
        provinces[pc] = Unit(pc, str(p["name"]), "province", pc)
        for w in p["wards"]:
            wc = f"{int(w['code']):05d}"
            wc = fixes.get(f"{wc}|{w['name']}", wc)
            communes[wc] = Unit(wc, str(w["name"]), "commune", pc)
    version = f"vietnam-provinces {vietnam_provinces.__version__} (data {vietnam_provinces.__data_version__})"
    return _Divisions(provinces, communes, version)


def data_version() -> str:
    return _divisions().version


def province(code: str) -> Unit | None:
    return _divisions().provinces.get(code)


def commune(code: str) -> Unit | None:
    return _divisions().communes.get(code)


def provinces() -> list[Unit]:
    return list(_divisions().provinces.values())


def communes_in(province_code: str) -> list[Unit]:
    return [c for c in _divisions().communes.values() if c.province_code == province_code]


def unit_name(code: str | None) -> str:
    """The name of a 2025 commune or province code ('' when unknown): for reports."""
    if not code:
        return ""
    unit = commune(code) if len(code) == 5 else province(code)
    return unit.name if unit else ""


# --------------------------------------------------------------------------- the paying unit


@dataclass(frozen=True)
class PayingUnit:
    """Who pays the run: one commune, or a province paying centrally for its communes."""

    level: Level
    code: str
    name: str
    province_code: str
    province_name: str

    def covers(self, commune_code: str) -> bool:
        c = commune(commune_code)
        if c is None:
            return False
        return c.code == self.code if self.level == "commune" else c.province_code == self.code

    def describe(self) -> Detail:
        if self.level == "province":
            return Detail("_paying_unit.province", name=self.name, code=self.code)
        return Detail(
            "_paying_unit.commune",
            name=self.name,
            code=self.code,
            province_name=self.province_name,
            province_code=self.province_code,
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "level": self.level,
            "code": self.code,
            "name": self.name,
            "province_code": self.province_code,
            "province_name": self.province_name,
        }


def paying_unit(*, commune_code: str | None = None, province_code: str | None = None) -> PayingUnit:
    """The run's paying unit from ``--commune`` and/or ``--province`` (2025 codes).

    Raises :class:`UnitError` for a code that is not a 2025 unit (naming the old unit when it
    is a pre-2025 code) or a commune outside the given province.
    """
    if commune_code:
        code = commune_code.strip().zfill(5) if commune_code.strip().isdigit() else commune_code.strip()
        c = commune(code)
        if c is None:
            raise UnitError(_not_current_message("commune", code), field="commune", code="unit_unknown")
        if province_code and province_code.strip().zfill(2) != c.province_code:
            p = province(c.province_code)
            words = Message(
                "unit_not_in_province",
                commune=str(c),
                province=str(p),
                province_code=c.province_code,
                given=province_code,
            )
            raise UnitError(words, field="province", code="unit_mismatch")
        p = province(c.province_code)
        assert p is not None
        return PayingUnit("commune", c.code, c.name, p.code, p.name)
    if province_code:
        code = province_code.strip().zfill(2) if province_code.strip().isdigit() else province_code.strip()
        p = province(code)
        if p is None:
            raise UnitError(_not_current_message("province", code), field="province", code="unit_unknown")
        return PayingUnit("province", p.code, p.name, p.code, p.name)
    raise UnitError(Message("paying_unit_required"), code="unit_required")


def _not_current(level: str, code: str) -> Detail:
    """Why ``code`` is not a 2025 unit, naming the old unit when it is a pre-2025 code."""
    if level == "commune":
        old = old_commune(code)
        if old is None:
            return Detail("unit_unknown.commune", code=code)
        return Detail(
            "unit_unknown.commune_old",
            code=code,
            name=old.name,
            district=old.district_name,
            successors=old.successors_text(),
        )
    old_p = _conversion()["provinces"].get(code)
    if old_p is None:
        return Detail("unit_unknown.province", code=code)
    return Detail("unit_unknown.province_old", code=code, name=old_p["name"], to=old_p["to"])


def _not_current_message(level: str, code: str) -> Message:
    hint: Message | str = ""
    if level == "commune":
        old = old_commune(code)
        if old is not None:
            names = ", ".join(f"{unit_name(s)} ({s})" for s in old.successors)
            successors = Message("successors_split" if old.split else "successors_now", names=names)
            hint = Message(
                "hint_old_commune", name=old.name, district=old.district_name, successors=successors
            )
    else:
        old_p = _conversion()["provinces"].get(code)
        if old_p is not None:
            hint = Message("hint_old_province", name=old_p["name"], to=old_p["to"])
    return Message("unit_not_current", code=code, level=Message(f"level_{level}"), hint=hint)


# --------------------------------------------------------------------------- pre-2025 codes


@functools.cache
def _conversion() -> dict[str, Any]:
    text = resources.files("asxh_pay").joinpath("data/units_2025_conversion.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def conversion_provenance() -> dict[str, str]:
    return dict(_conversion()["provenance"])


@dataclass(frozen=True)
class OldCommune:
    """A commune as it was before 1 July 2025, and the 2025 commune(s) that took it over."""

    code: str
    name: str
    district_code: str
    district_name: str
    province_code: str  # the old (63-province) code
    successors: tuple[str, ...]

    @property
    def split(self) -> bool:
        return len(self.successors) > 1

    def successors_text(self) -> Detail:
        names = [f"{unit_name(s)} ({s})" for s in self.successors]
        return Detail("_successors.split" if self.split else "_successors.one", units=names)


def old_commune(code: str) -> OldCommune | None:
    conv = _conversion()
    entry = conv["communes"].get(code)
    if entry is None:
        return None
    district_code, name, successors = entry
    district = conv["districts"].get(district_code, [None, "", []])
    return OldCommune(code, name, district_code, str(district[1]), str(district[0]), tuple(successors))


def old_district(code: str) -> tuple[str, str] | None:
    """(old province code, name) of a pre-2025 district code."""
    entry = _conversion()["districts"].get(code)
    return (str(entry[0]), str(entry[1])) if entry else None


MappingStatus = Literal["mapped", "split", "unknown", "district_mismatch"]


@dataclass(frozen=True)
class UnitMapping:
    """What a pre-2025 (district, commune) pair of a list becomes."""

    district_code: str | None
    commune_code: str
    status: MappingStatus
    old: OldCommune | None

    @property
    def new_code(self) -> str | None:
        return self.old.successors[0] if self.status == "mapped" and self.old else None

    @property
    def listed(self) -> str:
        return f"{self.district_code}/{self.commune_code}" if self.district_code else self.commune_code

    def reason(self) -> Detail:
        old = self.old
        if self.status == "unknown" or old is None:
            return Detail("unit_unknown", listed=self.listed)
        if self.status == "district_mismatch":
            d = old_district(self.district_code or "")
            return Detail(
                "unit_district_mismatch.named" if d else "unit_district_mismatch",
                name=old.name,
                code=old.code,
                district=old.district_name,
                district_code=old.district_code,
                listed_district=self.district_code,
                listed_district_name=d[1] if d else "",
            )
        return Detail(
            "_mapping.split" if self.status == "split" else "_mapping.mapped",
            name=old.name,
            code=old.code,
            district=old.district_name,
            successors=old.successors_text(),
        )


def map_old(commune_code: str, district_code: str | None = None) -> UnitMapping:
    """Map a pre-2025 commune code (and its district, when the list gives it)."""
    old = old_commune(commune_code)
    if old is None:
        return UnitMapping(district_code, commune_code, "unknown", None)
    if district_code and district_code != old.district_code:
        return UnitMapping(district_code, commune_code, "district_mismatch", old)
    return UnitMapping(district_code, commune_code, "split" if old.split else "mapped", old)
