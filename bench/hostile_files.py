"""Write the hostile files of the robustness issue into a folder, for bench/odd_files.py to read.

    python bench/hostile_files.py /tmp/hostile

A name that is not UTF-8, a FIFO, a symbolic link loop, a link out of the folder, an unreadable file and folder,
a sparse workbook (cells A1, XFD1, A100000), a workbook with rows beyond the reader's row limit, names carrying
control characters, a right-to-left override and markup, a truncated .docx and a long PDF of one repeated page.
Everything is small: the point is the shape of each file, not its size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.excel import MAX_ROWS_PER_SHEET  # noqa: E402
from samples import write_docx  # noqa: E402

TEXT = "The joint risk register is reviewed monthly by both partners and every risk has a named owner."
WHEN = dt.datetime(2026, 1, 15, 10, 0, 0)


def write_hostile_files(folder: Path) -> list[str]:
    """Write the files; return notes on what could not be made as asked (an unreadable file when run as root)."""
    notes = []
    folder.mkdir(parents=True, exist_ok=True)
    outside = folder.parent / f"{folder.name}-outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text("outside the folder: must not be read without --follow-links\n")
    with open(os.path.join(os.fsencode(folder), b"caf\xe9 minutes (latin-1 name).txt"), "w") as fh:
        fh.write(TEXT + "\n")
    os.mkfifo(folder / "a pipe.txt")
    os.symlink("loop-b.txt", folder / "loop-a.txt")
    os.symlink("loop-a.txt", folder / "loop-b.txt")
    os.symlink(outside / "secret.txt", folder / "link out of the folder.txt")
    locked = folder / "unreadable.txt"
    locked.write_text(TEXT + "\n")
    locked.chmod(0)
    closed = folder / "unreadable folder"
    closed.mkdir()
    (closed / "inside.txt").write_text(TEXT + "\n")
    closed.chmod(0)
    if os.geteuid() == 0:
        notes.append("run as root: 'unreadable.txt' and 'unreadable folder' are read all the same "
                     "(the tests simulate the error instead)")
    (folder / "minutes \x07\x1b[31m\u202etxt.exe.txt").write_text(f"{TEXT} \x1b[2J\x07\u202e\n")
    (folder / "<svg onload=alert(1)> {{7*7}}.txt").write_text(f"<script>window.__pwned=1</script> {TEXT}\n")
    _sparse_workbook(folder / "sparse A1 XFD1 A100000.xlsx")
    _beyond_row_limit(folder / "rows beyond the limit.xlsx")
    good = write_docx(folder / "plan.docx", "Plan", [("h1", "1 Risk"), ("p", TEXT)], WHEN)
    data = good.read_bytes()
    (folder / "truncated plan.docx").write_bytes(data[: len(data) // 2])
    _repeated_page_pdf(folder / "printed register (2000 identical pages).pdf", 2000)
    return notes


def _sparse_workbook(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["XFD1"], ws["A100000"] = "Risk", "Owner", TEXT
    wb.save(path)


def _beyond_row_limit(path: Path) -> None:
    """A few rows at the top and a few just past the reader's row limit: the cut is reported, not silent."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (1, 2, 3, MAX_ROWS_PER_SHEET + 1, MAX_ROWS_PER_SHEET + 2):
        ws.cell(row, 1, f"{TEXT} (row {row})")
    wb.save(path)


def _repeated_page_pdf(path: Path, pages: int) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for _ in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 6, TEXT)
    pdf.output(str(path))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    args = ap.parse_args()
    if args.folder.exists():
        for dirpath, dirnames, _ in os.walk(args.folder):
            for name in dirnames:
                os.chmod(os.path.join(dirpath, name), 0o755)  # the unreadable folder of an earlier run
        shutil.rmtree(args.folder)
    for note in write_hostile_files(args.folder):
        print(note)
    print(f"wrote {sum(1 for _ in os.scandir(args.folder))} entries in {args.folder}")


if __name__ == "__main__":
    main()
