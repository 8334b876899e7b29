"""Render an XLSX report to PNG pages, the way it prints, so anyone can look at it.

Why: an official judges the monthly report on paper. This converts the workbook with
LibreOffice (the page setup the report carries: landscape, fit to width, repeated header
rows) to PDF, then each page to PNG with poppler's ``pdftoppm``::

    python tools/render_workbook.py REPORT.xlsx [--out DIR] [--dpi 80] [--first 1 --last 3]

Needs ``libreoffice`` (Calc) and ``pdftoppm``; on Debian/Ubuntu::

    apt-get update && apt-get install -y libreoffice-calc poppler-utils

It is a tool for people, not part of the library or of CI. Prints one PNG path per page.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def render(
    xlsx: Path, out: Path, *, dpi: int = 80, first: int | None = None, last: int | None = None
) -> list[Path]:
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office is None or shutil.which("pdftoppm") is None:
        raise SystemExit(
            "needs libreoffice and pdftoppm: "
            "apt-get update && apt-get install -y libreoffice-calc poppler-utils"
        )
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # A private profile: a user's running LibreOffice would otherwise swallow the conversion.
        profile = Path(tmp, "profile").as_uri()
        subprocess.run(
            [
                office,
                f"-env:UserInstallation={profile}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                tmp,
                str(xlsx),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        pdf = Path(tmp) / (xlsx.stem + ".pdf")
        if not pdf.exists():
            raise SystemExit(f"LibreOffice wrote no PDF for {xlsx}")
        shutil.copy(pdf, out / pdf.name)
        cmd = ["pdftoppm", "-png", "-r", str(dpi)]
        if first is not None:
            cmd += ["-f", str(first)]
        if last is not None:
            cmd += ["-l", str(last)]
        subprocess.run([*cmd, str(pdf), str(out / xlsx.stem)], check=True, timeout=300)
    return sorted(out.glob(f"{xlsx.stem}-*.png"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Render an XLSX report to PNG pages through LibreOffice.")
    p.add_argument("xlsx", type=Path)
    p.add_argument(
        "--out", type=Path, default=None, help="folder for the PNGs (default: next to the workbook)"
    )
    p.add_argument("--dpi", type=int, default=80)
    p.add_argument("--first", type=int, default=None, help="first page to render")
    p.add_argument("--last", type=int, default=None, help="last page to render")
    args = p.parse_args(argv)
    pages = render(
        args.xlsx, args.out or args.xlsx.parent / "png", dpi=args.dpi, first=args.first, last=args.last
    )
    for page in pages:
        print(page)
    print(f"{len(pages)} page(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
