"""Place every list row in today's administrative units and in the run's paying unit.

Why a step of its own, between import and de-duplication: since 1 July 2025 a run is paid
by a commune or by a province paying centrally, reports roll up commune -> province, and
lists made before the reform still carry old district and commune codes. Each row must end
with a 2025 commune and province before duplicates are compared (the same person in an old
and a new list must look the same) and before anything is priced.

How a list is read as pre-2025: it has a district column (districts are gone), or it holds a
commune code that exists only in the old codes, or the operator says so (``codes="pre2025"``).
Old and new commune codes overlap (a new commune often kept one old code), so the choice is
made per file, never per row. Then:

* an old commune with one successor is mapped, and the mapping is reported;
* an old commune split over several new ones is **held** for a person (``unit_split``): the
  converter's "default" successor is a guess and money does not follow guesses;
* an unknown code, or an old commune that was not in the district the list names, is
  **rejected** (the list is wrong);
* a commune outside the paying unit is rejected (it belongs to another unit's run);
* a programme the run does not know is rejected (add it to ``programmes.json``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from asxh_pay import units
from asxh_pay.identity import fold
from asxh_pay.models import CashPickup, PayoutRequest
from asxh_pay.payroll.dedupe import Hold
from asxh_pay.payroll.lists import COLUMN_LABELS, FileInfo, ListRow, Rejection
from asxh_pay.programmes import Programmes
from asxh_pay.units import PayingUnit, UnitError
from asxh_pay.vocab import Detail

Codes = Literal["auto", "2025", "pre2025"]


@dataclass(frozen=True)
class MappingLine:
    """One pre-2025 code of one list and what it became (aggregated over its rows)."""

    file: str
    listed: str  # "070/02497" or "02497"
    old_name: str
    status: str  # mapped | split | unknown | district_mismatch
    new_code: str
    new_name: str
    rows: int
    reason: str  # a Detail (asxh_pay.vocab): English as a str, any language by vocab.detail


@dataclass
class Placement:
    rows: list[ListRow] = field(default_factory=list)
    held: list[Hold] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    mappings: list[MappingLine] = field(default_factory=list)
    old_coded_files: list[str] = field(default_factory=list)
    unit: PayingUnit | None = None
    unit_inferred: bool = False

    def summary(self) -> dict[str, Any]:
        by_status: Counter[str] = Counter()
        for m in self.mappings:
            by_status[m.status] += m.rows
        return {
            "paying_unit": self.unit.as_dict() if self.unit else None,
            "paying_unit_inferred": self.unit_inferred,
            "old_coded_files": self.old_coded_files,
            "rows_by_mapping": dict(by_status),
            "units_data": units.data_version(),
            "conversion": units.conversion_provenance(),
        }


def _is_code(text: str | None) -> bool:
    return text is not None and text.isdigit() and len(text) == 5


def _old_coded(rows: Sequence[ListRow], files: Sequence[FileInfo], codes: Codes) -> set[str]:
    if codes == "2025":
        return set()
    names = {f.name for f in files} | {r.file for r in rows}
    if codes == "pre2025":
        return names
    old = {f.name for f in files if "district_code" in f.columns}
    for r in rows:
        c = r.request.beneficiary.commune_code
        if r.district_code or (_is_code(c) and units.commune(c or "") is None and units.old_commune(c or "")):
            old.add(r.file)
    return old


def old_coded_files(rows: Sequence[ListRow], files: Sequence[FileInfo], codes: Codes) -> set[str]:
    """The files read as pre-2025 lists (see the module docstring): decided per file."""
    return _old_coded(rows, files, codes)


def _by_name(name_slug: str, province_code: str | None) -> str | None:
    """A 2025 commune named in the list instead of coded, when its name is unique."""
    if not province_code:
        return None
    hits = [
        c.code
        for c in units.communes_in(province_code)
        if "_".join(fold(c.name).split()) == name_slug
        or "_".join(fold(c.name).split()[1:]) == name_slug  # without "Xã"/"Phường"
    ]
    return hits[0] if len(hits) == 1 else None


def place_rows(
    rows: Sequence[ListRow],
    files: Sequence[FileInfo],
    *,
    unit: PayingUnit | None,
    programmes: Programmes,
    codes: Codes = "auto",
    old_files: Collection[str] | None = None,
) -> Placement:
    """See the module docstring. Raises :class:`UnitError` when no paying unit was given and
    the lists do not name exactly one province.

    ``old_files``: the files in pre-2025 codes when the caller decided it over all the rows
    (prepare places a big list a chunk at a time); else decided here from ``rows``."""
    out = Placement(unit=unit)
    old_files = set(old_files) if old_files is not None else _old_coded(rows, files, codes)
    out.old_coded_files = sorted(old_files)
    mapping_rows: Counter[tuple[str, str, str]] = Counter()  # (file, listed, status) -> rows
    mapping_of: dict[tuple[str, str, str], units.UnitMapping] = {}
    key: tuple[str, str, str]
    placed: list[tuple[ListRow, str, str | None]] = []  # row, new commune, old listed code
    hint_province = unit.province_code if unit else None
    unit_commune = unit.code if unit is not None and unit.level == "commune" else None
    coded_files = {f.name for f in files if "commune_code" in f.columns or "commune_name" in f.columns}

    def reject(row: ListRow, column: str, code: str, reason: str) -> None:
        out.rejected.append(Rejection(row.file, row.row, COLUMN_LABELS.get(column, column), code, reason))

    for row in rows:
        req = row.request
        if req.programme not in programmes:
            reject(
                row,
                "programme",
                "programme_unknown",
                Detail("programme_unknown", programme=req.programme, known=list(programmes.codes())),
            )
            continue
        listed = req.beneficiary.commune_code
        if unit_commune and row.file in old_files and row.file not in coded_files and listed == unit_commune:
            placed.append((row, unit_commune, None))  # no commune column: the run's (2025) commune
            continue
        if row.file in old_files:
            if not listed:
                reject(row, "commune_code", "required", Detail("required.old_commune"))
                continue
            m = units.map_old(listed, row.district_code)
            key = (row.file, m.listed, m.status)
            mapping_rows[key] += 1
            mapping_of[key] = m
            if m.status == "split":
                out.held.append(Hold(row, "unit_split", Detail("unit_split", mapping=m.reason())))
                continue
            if m.new_code is None:
                code = "unit_unknown" if m.status == "unknown" else "unit_district_mismatch"
                reject(row, "commune_code", code, m.reason())
                continue
            placed.append((row, m.new_code, listed))
            continue
        if not listed:
            if unit is not None and unit.level == "commune":
                placed.append((row, unit.code, None))
            else:
                reject(row, "commune_code", "required", Detail("required.commune"))
            continue
        new = listed if units.commune(listed) else None
        if new is None and not listed.isdigit():
            new = _by_name(listed, hint_province or req.beneficiary.province_code)
        if new is None:
            reject(row, "commune_code", "unit_unknown", units._not_current("commune", listed))
            continue
        placed.append((row, new, None))

    if out.unit is None:
        out.unit = _infer_unit([c for _, c, _ in placed])
        out.unit_inferred = True
    paying = out.unit
    for row, new, old in placed:
        if paying is not None and not paying.covers(new):
            c = units.commune(new)
            p = units.province(c.province_code) if c else None
            reject(
                row,
                "commune_code",
                "unit_outside",
                Detail("unit_outside", commune=str(c), province=str(p), unit=paying.describe()),
            )
            continue
        out.rows.append(_rewrite(row, new, old))
    for key, n in sorted(mapping_rows.items()):
        m = mapping_of[key]
        new_code = m.new_code or ""
        out.mappings.append(
            MappingLine(
                file=key[0],
                listed=m.listed,
                old_name=f"{m.old.name}, {m.old.district_name}" if m.old else "",
                status=m.status,
                new_code=new_code if m.status == "mapped" else ", ".join(m.old.successors if m.old else ()),
                new_name=units.unit_name(new_code)
                if m.status == "mapped"
                else "; ".join(units.unit_name(s) for s in (m.old.successors if m.old else ())),
                rows=n,
                reason=m.reason(),
            )
        )
    return out


def _infer_unit(communes: Sequence[str]) -> PayingUnit | None:
    if not communes:
        return None
    distinct = set(communes)
    if len(distinct) == 1:
        return units.paying_unit(commune_code=communes[0])
    provinces = {units.commune(c).province_code for c in distinct}  # type: ignore[union-attr]
    if len(provinces) == 1:
        return units.paying_unit(province_code=provinces.pop())
    raise UnitError(
        f"the lists name communes of {len(provinces)} provinces ({', '.join(sorted(provinces))}): "
        "say which unit pays with --commune CODE or --province CODE",
        code="unit_required",
    )


def _rewrite(row: ListRow, new: str, old: str | None) -> ListRow:
    """The row with its 2025 commune and province (and a cash point that was the old commune)."""
    req = row.request
    c = units.commune(new)
    assert c is not None
    b = req.beneficiary
    if b.commune_code == new and b.province_code == c.province_code and old is None:
        return row
    was = {old, b.commune_code} - {None}
    update: dict[str, Any] = {
        "beneficiary": b.model_copy(update={"commune_code": new, "province_code": c.province_code})
    }
    fallback = req.cash_fallback
    if isinstance(fallback, CashPickup) and (fallback.payment_point in was or fallback.payment_point == new):
        update["cash_fallback"] = fallback.model_copy(update={"payment_point": new})
    dest = req.destination
    if isinstance(dest, CashPickup) and dest.payment_point in was:
        update["destination"] = dest.model_copy(update={"payment_point": new})
    new_req: PayoutRequest = req.model_copy(update=update)
    return dataclasses.replace(row, request=new_req)
