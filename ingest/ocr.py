"""Text recognition (OCR) for scanned pages and images, offline: the recognition models ship inside the
rapidocr-onnxruntime package, PDF pages are rendered with pypdfium2. Nothing is fetched at run time.

A page is recognised once: its text is cached by the hash of its rendered image in a folder the caller names
(`set_cache_dir`, or the EVIDENCE_OCR_CACHE environment variable, which worker processes inherit). This package
imports nothing else of the project, so the pipeline hands the folder in.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .chunking import paragraph, refine
from .model import Passage

if TYPE_CHECKING:
    from PIL.Image import Image

RENDER_DPI = 200  # enough for 9-point type; more costs time without better text
MAX_OCR_PAGES = 30  # scanned pages recognised per file: a 300-page scan ends within the per-file time limit
OCR_SECONDS = 80.0  # and recognition stops after this long on one file (the default per-file limit is 120 s)
MAX_SIDE = 3000  # pixels: larger images are scaled down before recognition
# pixels: lines are found on the page scaled to this, and read from the full page (finding them on an A4 page at
# full size costs twice the time and memory and read no better in our trials)
DETECT_SIDE = 1600
# word spaces are looked for above the descenders (a "j" tail reaches under its neighbour), as blank runs this wide
BAND, SPACE = (0.0, 0.75), 0.18  # shares of the line's height
MIN_CONFIDENCE = 0.5  # below this a recognised fragment is noise (specks, rules, photos), not text
CACHE_ENV = "EVIDENCE_OCR_CACHE"
_ENGINE = None
_cache_dir: Path | None = None


@dataclass
class Line:
    text: str
    confidence: float
    x: float
    y: float  # top
    height: float


def set_cache_dir(folder: str | Path | None) -> None:
    """Where recognised pages are kept (by the hash of their image); None keeps nothing. Also set in the
    environment, so reader processes started later find it."""
    global _cache_dir
    _cache_dir = Path(folder) if folder else None
    if folder:
        os.environ[CACHE_ENV] = str(folder)
    else:
        os.environ.pop(CACHE_ENV, None)


def cache_dir() -> Path | None:
    if _cache_dir is not None:
        return _cache_dir
    folder = os.environ.get(CACHE_ENV)
    return Path(folder) if folder else None


def available() -> bool:
    """Whether recognition can run here (the OCR packages are installed)."""
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except Exception:
        return False
    return True


def _engine():
    global _ENGINE
    if _ENGINE is None:
        from rapidocr_onnxruntime import RapidOCR

        # loads the bundled models once per process (about a second). The line-orientation classifier is off: it
        # turned upright lines of plain type upside down and lost them, and scanned documents stand upright.
        _ENGINE = RapidOCR(use_cls=False, max_side_len=DETECT_SIDE)
    return _ENGINE


def recognise(image: Image) -> list[Line]:
    """The text lines of a PIL image, from the cache when these pixels were recognised before."""
    image = _prepared(image)
    key = hashlib.sha256(f"{image.size}{image.mode}".encode() + image.tobytes()).hexdigest()
    cached = _cached(key)
    if cached is not None:
        return cached
    import numpy as np

    found, _ = _engine()(np.asarray(image), return_word_box=True, text_score=MIN_CONFIDENCE)
    gray = np.asarray(image.convert("L"))
    lines = [_line(box, _with_gaps(text, box, gray, *extra[:2]), score) for box, text, score, *extra in (found or [])]
    lines = [line for line in lines if line.text and line.confidence >= MIN_CONFIDENCE]
    _store(key, lines)
    return lines


def _prepared(image):
    image = image.convert("RGB")
    if max(image.size) > MAX_SIDE:
        scale = MAX_SIDE / max(image.size)
        image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))))
    return image


def _line(box, text: str, score) -> Line:
    xs, ys = [p[0] for p in box], [p[1] for p in box]
    return Line(spaced(str(text).strip()), float(score), min(xs), min(ys), max(ys) - min(ys))


def _with_gaps(text: str, box, pixels, boxes=None, chars=None) -> str:
    """The line's text with a space wherever the page shows one the model did not write ("onbehalf" where the
    page says "on behalf"): a run of blank columns in the line as wide as a word space, between two words.
    The recogniser's own character positions are too coarse for this (a wide "m" looks like a gap)."""
    if not boxes or not chars or len(boxes) != len(chars) or "".join(chars) != text or pixels is None:
        return text
    xs, ys = [int(p[0]) for p in box], [int(p[1]) for p in box]
    x0, y0 = max(0, min(xs)), max(0, min(ys))
    crop = pixels[y0:max(ys) + 1, x0:max(xs) + 1]
    if crop.size == 0:
        return text
    height = crop.shape[0]
    # dark type on a light page
    band = crop[int(height * BAND[0]):max(int(height * BAND[1]), int(height * BAND[0]) + 1)]
    ink = (band < min(128, int(crop.mean()) - 40)).any(axis=0)
    inked = ink.nonzero()[0]
    if len(inked) < 2:
        return text
    starts, ends = _aligned([b[0][0] - x0 for b in boxes], [b[1][0] - x0 for b in boxes], inked[0], inked[-1])
    advance = statistics.median([b - a for a, b in zip(starts, starts[1:])] or [height / 2])
    # where the model puts the boundary between each character and the one before it
    bounds = [(ends[k - 1] + starts[k]) / 2 for k in range(1, len(chars))]
    out, breaks = list(chars), set()
    # a word space is wider than the line's usual gap between letters, and than a share of its height
    letters = statistics.median([b - a for a, b in _blank_runs(ink, 1)] or [0])
    for gap_start, gap_end in _blank_runs(ink, max(3, int(height * SPACE), math.ceil(letters * 1.6))):
        # the model's character positions are approximate: a space it wrote near the gap is this gap's
        if any(chars[k] == " " and gap_start - advance <= starts[k] <= gap_end + advance for k in range(len(chars))):
            continue
        centre = (gap_start + gap_end) / 2
        i = 1 + min(range(len(bounds)), key=lambda k: abs(bounds[k] - centre)) if bounds else 0
        # only where the model's boundary lies in the gap: elsewhere its positions are too far off to trust
        inside = 0 < i and abs(bounds[i - 1] - centre) <= (gap_end - gap_start) / 2 + advance / 3
        before, after = chars[i - 1], chars[i]
        figures = before.isdigit() and after.isdigit()  # a narrow "1" leaves room around it: never split a number
        if inside and not figures and (before.isalnum() or before in ",;:") and after.isalnum():
            breaks.add(i)
    for i in sorted(breaks, reverse=True):
        out.insert(i, " ")
    return "".join(out)


def _aligned(starts: list[float], ends: list[float], first: int, last: int) -> tuple[list[float], list[float]]:
    """The model's character positions stretched onto the line's ink (they drift along a long line)."""
    low, high = starts[0], ends[-1]
    if high <= low:
        return starts, ends
    scale = (last - first) / (high - low)
    return [first + (x - low) * scale for x in starts], [first + (x - low) * scale for x in ends]


def _blank_runs(ink, width: int) -> list[tuple[int, int]]:
    """(first, end) of each run of at least `width` blank columns between inked ones."""
    runs, run, seen_ink = [], 0, False
    for x, inked in enumerate(ink):
        if inked:
            if seen_ink and run >= width:
                runs.append((x - run, x))
            run, seen_ink = 0, True
        else:
            run += 1
    return runs


_RUN_ON = re.compile(r"(?<=[a-z])(?=[A-Z][a-z])")
_NO_SPACE_AFTER = re.compile(r"(?<=[a-z][,;:])(?=[A-Za-z])")


def spaced(text: str) -> str:
    """Word spaces a recognition model dropped, put back: "SeniorExecutive" -> "Senior Executive" (only in
    long run-on tokens, so "PowerPoint" stays), "Client,Senior" -> "Client, Senior"."""
    words = []
    for token in text.split():
        if len(token) >= 12 and _RUN_ON.search(token):
            token = _RUN_ON.sub(" ", token)
        words.append(_NO_SPACE_AFTER.sub(" ", token))
    return " ".join(words)


def _cached(key: str) -> list[Line] | None:
    folder = cache_dir()
    if folder is None:
        return None
    try:
        rows = json.loads((folder / key[:2] / f"{key}.json").read_text())
        return [Line(**row) for row in rows]
    except (OSError, ValueError, TypeError):
        return None


def _store(key: str, lines: list[Line]) -> None:
    folder = cache_dir()
    if folder is None:
        return
    target = folder / key[:2] / f"{key}.json"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")  # two workers may recognise the same page at once
        tmp.write_text(json.dumps([line.__dict__ for line in lines]))
        tmp.replace(target)
    except OSError:
        pass  # a cache that cannot be written costs time, never the text


def page_passages(lines: list[Line], prefix: str, page: int | None = None) -> list[Passage]:
    """Recognised lines as paragraphs: segments at one height form a line, a gap wider than a line ends a
    paragraph. Each passage keeps the mean confidence of the lines it was made from."""
    if not lines:
        return []
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: (ln.y, ln.x)):
        if rows and abs(rows[-1][0].y - line.y) < max(rows[-1][0].height, line.height) * 0.5:
            rows[-1].append(line)
        else:
            rows.append([line])
    heights = [ln.height for row in rows for ln in row] or [1.0]
    normal = statistics.median(heights)
    blocks: list[list[list[Line]]] = []
    for row in rows:
        row.sort(key=lambda ln: ln.x)
        if blocks and row[0].y - (blocks[-1][-1][0].y + blocks[-1][-1][0].height) <= normal * 0.9:
            blocks[-1].append(row)
        else:
            blocks.append([row])
    out = []
    for n, block in enumerate(blocks, 1):
        parts = [ln for row in block for ln in row]
        text = _join_lines([" ".join(ln.text for ln in row) for row in block])
        confidence = sum(ln.confidence * len(ln.text) for ln in parts) / max(1, sum(len(ln.text) for ln in parts))
        out.append(paragraph(text, prefix, n, page=page, ocr_confidence=round(confidence, 3)))
    return refine(out)


def _join_lines(lines: list[str]) -> str:
    text = ""
    for line in lines:
        if text and re.search(r"[A-Za-z]-$", text) and line[:1].islower():
            text = text[:-1] + line  # hyphenation at the line end
        else:
            text = f"{text} {line}".strip()
    return text


class Budget:
    """How many pages one file may still have recognised, and until when."""

    def __init__(self, pages: int | None = None, seconds: float | None = None):
        # the limits are read when a file starts, so a caller (or a test) can change them
        self.pages = MAX_OCR_PAGES if pages is None else pages
        self.seconds = OCR_SECONDS if seconds is None else seconds
        self.deadline, self.used = time.monotonic() + self.seconds, 0
        self.out_of_time = False

    def take(self) -> bool:
        if self.used >= self.pages:
            return False
        if time.monotonic() > self.deadline:
            self.out_of_time = True
            return False
        self.used += 1
        return True

    def reason(self, left: list[int]) -> str:
        """Why pages were not recognised, in words, with the pages."""
        shown = _pages(left)
        if self.out_of_time:
            return f"recognition (OCR) stopped after {self.seconds:.0f} s: scanned page(s) {shown} not read"
        return f"only the first {self.pages} scanned pages are recognised (OCR) per file: page(s) {shown} not read"


def _pages(numbers: list[int]) -> str:
    if len(numbers) > 3 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}"
    return ", ".join(map(str, numbers[:10])) + ("..." if len(numbers) > 10 else "")


def render_pdf_pages(path: Path, indexes: list[int], dpi: int = RENDER_DPI) -> Iterator[tuple[int, Image | Exception]]:
    """(index, PIL image) for the PDF's pages at those 0-based indexes, rendered with pypdfium2 (no system
    binaries); a page that cannot be rendered yields its exception instead of an image."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        for index in indexes:
            try:
                page = document[index]
                try:
                    image = page.render(scale=dpi / 72).to_pil()
                finally:
                    page.close()
            except Exception as exc:  # one page that cannot be rendered makes the file partial
                image = exc
            yield index, image
    finally:
        document.close()
