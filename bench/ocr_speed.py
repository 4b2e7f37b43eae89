"""OCR speed: pages of scanned text recognised per second, through the PDF reader as an ingest reads them.

    python bench/ocr_speed.py --pages 10

Writes a scanned PDF of N pages (an image of typed text on each, no text layer) with the sample writers, reads
it with the PDF reader (render at 200 dpi, recognise each page), and prints pages per second, cold (the model
loaded in the run) and warm, and the recognised-page cache's speed (the same file read again).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import ocr, read_document  # noqa: E402
from samples import write_scan_pdf  # noqa: E402

LINES = [
    "Signed for and on behalf of the Client, Senior Executive Responsible",
    "",
    "The joint management team meets every month to review the relationship",
    "management plan, the joint risk register and the value creation log.",
    "",
    "Actions are recorded with an owner and a date, and reported to the",
    "executive sponsors each quarter. The exit strategy is tested yearly.",
    "",
    "Page {n} of the scanned minutes of the joint management team.",
]


def _timed(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    result = read_document(path)
    assert result.status in ("ok", "partial"), result.error
    return time.perf_counter() - started, len({p.page for p in result.passages})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10)
    args = parser.parse_args()
    ocr.MAX_OCR_PAGES = max(ocr.MAX_OCR_PAGES, args.pages)
    ocr.OCR_SECONDS = 3600.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pages = [[line.format(n=n) for line in LINES] for n in range(1, args.pages + 1)]
        path = write_scan_pdf(folder / "scan.pdf", pages)
        cold, read = _timed(path)
        warm, _ = _timed(path)
        ocr.set_cache_dir(folder / "cache")
        _timed(path)
        cached, _ = _timed(path)
    print(f"{args.pages} scanned pages (A4, 200 dpi), {read} with recognised text")
    print(f"cold (model load included): {cold:6.1f} s  {args.pages / cold:5.2f} pages/s")
    print(f"warm:                       {warm:6.1f} s  {args.pages / warm:5.2f} pages/s")
    print(f"cached (pages seen before): {cached:6.1f} s  {args.pages / cached:5.2f} pages/s")


if __name__ == "__main__":
    main()
