"""Build ``asxh_pay/data/units_2025_conversion.json``: pre-2025 commune codes -> 2025 communes.

Provenance: the old-to-new converter data of the ``vietnamadminunits`` package (MIT, its
``data/converter_2025.json`` and the legacy/2025 unit tables of ``data/dataset.db``), whose
2025 units carry the official codes (the same as ``vietnam-provinces`` 2026.9.0). The
``vietnam-provinces`` 2025.x releases (the last for Python 3.11, used at run time) carry draft
codes for about 120 communes; the file lists those draft codes with their official ones.

Why a derived file instead of the package: the package pulls in shapely and geopy to *guess*
a split commune's successor from a street address's location, and the payroll must never
guess; it needs only the table.

Run it when either package publishes new data::

    pip download --no-deps vietnamadminunits==1.0.4 -d /tmp/vau && unzip -o /tmp/vau/*.whl -d /tmp/vau
    python tools/build_unit_conversion.py --from /tmp/vau/vietnamadminunits

(or with ``vietnamadminunits`` installed, without ``--from``), in an environment with the
``vietnam-provinces`` 2025.x that Python 3.11 installs: its draft codes are the ones fixed. The
output is deterministic.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import sqlite3
import sys
import unicodedata
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "asxh_pay" / "data" / "units_2025_conversion.json"
TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def name_key(name: str) -> str:
    """A unit name with each syllable's tone mark moved to its end: 'Hoà' and 'Hòa' agree,
    'Văn' and 'Vạn' do not."""
    words = []
    for word in unicodedata.normalize("NFD", name.lower().replace("–", "-")).split():
        tones = "".join(c for c in word if c in TONES)
        words.append(unicodedata.normalize("NFC", "".join(c for c in word if c not in TONES)) + tones)
    return " ".join(words)


def loose_key(name: str) -> str:
    text = unicodedata.normalize("NFD", name.lower().replace("đ", "d"))
    return "".join(c for c in text if c.isalnum() and not unicodedata.combining(c))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="src", type=Path, default=None, help="vietnamadminunits package folder")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    src: Path | None = args.src
    if src is None:
        spec = importlib.util.find_spec("vietnamadminunits")  # locates it without importing shapely
        if spec is None or spec.origin is None:
            print("vietnamadminunits not installed: give --from DIR", file=sys.stderr)
            return 2
        src = Path(spec.origin).parent
    va_version = "unknown"
    for dist in src.parent.glob("vietnamadminunits-*.dist-info"):
        va_version = dist.name.split("-")[1].removesuffix(".dist-info")
    import vietnam_provinces

    conv = json.loads((src / "data" / "converter_2025.json").read_text(encoding="utf-8"))
    db = sqlite3.connect(src / "data" / "dataset.db")
    nested = json.loads(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8"))

    # 2025 units of vietnam-provinces, by (province code, name key).
    exact: dict[tuple[str, str], list[str]] = {}
    loose: dict[tuple[str, str], list[str]] = {}
    names: dict[str, str] = {}
    for p in nested:
        pc = f"{p['code']:02d}"
        for w in p["wards"]:
            wc = f"{w['code']:05d}"
            names[wc] = w["name"]
            exact.setdefault((pc, name_key(w["name"])), []).append(wc)
            loose.setdefault((pc, loose_key(w["name"])), []).append(wc)

    # 2025 units of vietnamadminunits, with their official codes (they agree with
    # vietnam-provinces 2026.9.0 on every code and name). vietnam-provinces' 2025.x releases,
    # the last for Python 3.11, carry the *draft* codes for some communes: "draft_code_fixes"
    # maps those (draft code + name) to the official code, and asxh_pay.units applies it.
    new_code: dict[tuple[str, str], str] = {}
    new_prov: dict[str, str] = {}
    official: dict[str, tuple[str, str]] = {}  # code -> (province code, name)
    fixes: dict[str, str] = {}
    unresolved = []
    for pkey, wkey, pcode, wcode, wname in db.execute(
        "SELECT provinceKey, wardKey, provinceCode, wardCode, ward FROM admin_units"
    ):
        new_prov[pkey] = pcode
        new_code[(pkey, wkey)] = wcode
        official[wcode] = (pcode, wname)
        hit = exact.get((pcode, name_key(wname))) or loose.get((pcode, loose_key(wname)))
        if not hit or len(hit) != 1:
            unresolved.append((pcode, wcode, wname))
        elif hit[0] != wcode:
            fixes[hit[0]] = wcode
    if len(official) != 3321:
        print(f"expected 3321 communes, got {len(official)}", file=sys.stderr)
        return 1
    # Old units: key -> (province code, district code, commune code, names).
    old: dict[str, tuple[str, str, str | None, str, str, str | None]] = {}
    for pkey, dkey, wkey, pcode, dcode, wcode, pname, dname, wname in db.execute(
        "SELECT provinceKey, districtKey, wardKey, provinceCode, districtCode, wardCode, province, district, "
        "ward FROM admin_units_legacy"
    ):
        old[f"{pkey}_{dkey}_{wkey or ''}"] = (pcode, dcode, wcode, pname, dname, wname)

    successors: dict[str, set[str]] = {}
    for pkey, wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for wkey, old_keys in wards.items():
            for ok in old_keys:
                successors.setdefault(ok, set()).add(new_code.get((pkey, wkey), f"?{pkey}/{wkey}"))
    for pkey, olds in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for ok, cands in olds.items():
            for c in cands:
                successors.setdefault(ok, set()).add(
                    new_code.get((pkey, c["newWardKey"]), f"?{pkey}/{c['newWardKey']}")
                )

    provinces: dict[str, dict[str, str]] = {}
    for new_pkey, old_pkeys in conv["DICT_PROVINCE"].items():
        for opk in old_pkeys:
            row = db.execute(
                "SELECT DISTINCT provinceCode, province FROM admin_units_legacy WHERE provinceKey = ?", (opk,)
            ).fetchone()
            provinces[row[0]] = {"name": row[1], "to": new_prov[new_pkey]}
    districts: dict[str, list[object]] = {}
    communes: dict[str, list[object]] = {}
    missing = []
    for ok, (pcode, dcode, wcode, _pname, dname, wname) in sorted(old.items()):
        succ = sorted(successors.get(ok, set()))
        bad = [s for s in succ if s.startswith("?")]
        if not succ or bad:
            missing.append((ok, bad))
            succ = [s for s in succ if not s.startswith("?")]
        districts.setdefault(dcode, [pcode, dname, []])
        if wcode is None:
            districts[dcode][2] = succ  # a district with no communes (island): its successor
        else:
            communes[wcode] = [dcode, wname, succ]
    out = {
        "about": "Pre-2025 commune codes -> 2025 communes (two-tier local government, 1 July 2025). "
        "communes: old code -> [old district code, old name, [2025 commune codes]]; more than one "
        "2025 code means the old commune was split and a person must decide. districts: old code -> "
        "[old province code, old name, [2025 codes when the district had no communes]]. provinces: "
        "old code -> {name, to: 2025 province code}.",
        "provenance": {
            "built_by": "tools/build_unit_conversion.py",
            "conversion": f"vietnamadminunits {va_version} (MIT): data/converter_2025.json, data/dataset.db",
            "codes": f"vietnam-provinces {importlib.metadata.version('vietnam-provinces')} "
            f"(data {vietnam_provinces.__data_version__})",
        },
        "provinces": dict(sorted(provinces.items())),
        "districts": dict(sorted(districts.items())),
        "communes": communes,
        "draft_code_fixes": {
            "about": "vietnam-provinces "
            f"{importlib.metadata.version('vietnam-provinces')} code -> official code, for the "
            "communes whose draft code it carries (keyed by draft code and name)",
            "codes": {f"{draft}|{names[draft]}": code for draft, code in sorted(fixes.items())},
        },
    }
    args.out.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    split = sum(1 for v in communes.values() if len(v[2]) > 1)  # type: ignore[arg-type]
    print(
        f"{args.out}: {len(provinces)} provinces, {len(districts)} districts, {len(communes)} communes "
        f"({split} split); draft codes fixed: {len(fixes)}; unmatched 2025 units: {len(unresolved)} "
        f"{unresolved[:5]}; "
        f"old units without successor: {len(missing)} {missing[:5]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
