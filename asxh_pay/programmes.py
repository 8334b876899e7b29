"""The monthly programmes, as data: code, names, the provincial agency that answers for it.

Why data and not code: programmes come and go by decree (the social pension, HTXH, began on
1 July 2025 under Decree 176/2025/ND-CP), and a province must be able to pay a new one
without a release. The built-in file (``asxh_pay/data/programmes.json``) has NCC, BTXH and
HTXH; a deployment adds or overrides entries with a file of the same layout named by the
``ASXH_PAY_PROGRAMMES`` environment variable and/or ``<data-dir>/programmes.json``.

Since the 2025 reform the labour ministry is gone: social assistance (BTXH) and the social
pension report to the Ministry of Health (at the province: Sở Y tế), people with meritorious
service (NCC) to the Ministry of Home Affairs (Sở Nội vụ). Reports name that agency.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from asxh_pay.errors import ValidationError
from asxh_pay.identity import fold

ENV_VAR = "ASXH_PAY_PROGRAMMES"
DATA_DIR_FILE = "programmes.json"
_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_-]{1,15}$")


class ProgrammeFileError(ValidationError):
    """A programmes file that cannot be used (bad JSON, missing fields, bad code)."""


@dataclass(frozen=True)
class ProgrammeInfo:
    code: str
    name_vi: str
    name_en: str
    agency_vi: str
    agency_en: str
    legal_basis: str = ""
    aliases: tuple[str, ...] = ()

    def name(self, lang: str = "vi") -> str:
        return self.name_en if lang == "en" else self.name_vi

    def agency(self, lang: str = "vi") -> str:
        return self.agency_en if lang == "en" else self.agency_vi


def _keys(text: str) -> set[str]:
    folded = " ".join(fold(text).replace("-", " ").replace("_", " ").split())
    return {folded, folded.replace(" ", "")}


@dataclass
class Programmes:
    """The programmes a run may pay, looked up by code or by how lists write them."""

    by_code: dict[str, ProgrammeInfo] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    _alias: dict[str, str] = field(default_factory=dict, repr=False)

    def add(self, info: ProgrammeInfo) -> None:
        self.by_code[info.code] = info
        for text in (info.code, info.name_vi, info.name_en, *info.aliases):
            for key in _keys(text):
                self._alias[key] = info.code

    def get(self, code: str) -> ProgrammeInfo | None:
        return self.by_code.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    def codes(self) -> list[str]:
        return sorted(self.by_code)

    def resolve(self, text: str) -> str:
        """A list cell ('Người có công', 'hưu trí xã hội', 'ncc') -> its code; unknown text is
        returned upper-cased, so that the model's code check and the run's check name it."""
        for key in _keys(text):
            if key in self._alias:
                return self._alias[key]
        return text.strip().upper()

    def agency(self, code: str, lang: str = "vi") -> str:
        info = self.get(code)
        return info.agency(lang) if info else ""

    def load_file(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProgrammeFileError(
                f"programmes file {path} cannot be read: {exc}", field="programmes", code="programmes_file"
            ) from None
        self._load(data, str(path))

    def _load(self, data: Any, source: str) -> None:
        entries = data.get("programmes") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ProgrammeFileError(
                f'{source}: expected {{"programmes": [...]}}', field="programmes", code="programmes_file"
            )
        for i, e in enumerate(entries):
            missing = [k for k in ("code", "name_vi", "agency_vi") if not isinstance(e, dict) or not e.get(k)]
            if missing:
                raise ProgrammeFileError(
                    f"{source}: programme #{i + 1} lacks {', '.join(missing)}",
                    field="programmes",
                    code="programmes_file",
                )
            code = str(e["code"]).strip().upper()
            if not _CODE_RE.match(code):
                raise ProgrammeFileError(
                    f"{source}: programme code {code!r} must be 2-16 capital letters, digits, '-' or '_'",
                    field="programmes",
                    code="programmes_file",
                )
            self.add(
                ProgrammeInfo(
                    code=code,
                    name_vi=str(e["name_vi"]),
                    name_en=str(e.get("name_en") or e["name_vi"]),
                    agency_vi=str(e["agency_vi"]),
                    agency_en=str(e.get("agency_en") or e["agency_vi"]),
                    legal_basis=str(e.get("legal_basis", "")),
                    aliases=tuple(str(a) for a in e.get("aliases", ())),
                )
            )
        self.sources.append(source)


def programmes_of_run(manifest: dict[str, Any] | None) -> Programmes:
    """The built-in programmes, with those a run recorded when it was prepared (its manifest's
    ``programmes``): a run's reports name the agency of a programme added by a deployment's
    ``programmes.json`` even where that file is not at hand."""
    progs = load_programmes()
    for code, info in ((manifest or {}).get("programmes") or {}).items():
        known = progs.get(code)
        if known is None or known.agency_vi != info.get("agency"):
            progs.add(
                ProgrammeInfo(
                    code=code,
                    name_vi=str(info.get("name") or code),
                    name_en=str(info.get("name_en") or info.get("name") or code),
                    agency_vi=str(info.get("agency") or ""),
                    agency_en=str(info.get("agency_en") or info.get("agency") or ""),
                )
            )
    return progs


def load_programmes(data_dir: Path | None = None, extra: Iterable[Path] = ()) -> Programmes:
    """Built-in programmes, then ``$ASXH_PAY_PROGRAMMES``, ``<data-dir>/programmes.json`` and
    ``extra`` files, later entries overriding earlier ones with the same code."""
    progs = Programmes()
    builtin = resources.files("asxh_pay").joinpath("data/programmes.json").read_text(encoding="utf-8")
    progs._load(json.loads(builtin), "built-in")
    paths: list[Path] = []
    env = os.environ.get(ENV_VAR)
    if env:
        paths.append(Path(env))
    if data_dir is not None and (Path(data_dir) / DATA_DIR_FILE).exists():
        paths.append(Path(data_dir) / DATA_DIR_FILE)
    paths.extend(extra)
    for p in paths:
        progs.load_file(p)
    return progs
