"""Passage sizing: merge fragments into their neighbours, split very long paragraphs at sentences.

Readers number paragraphs within a location prefix ("section 4.2, " or "page 3, "); a merged or split
passage keeps an exact location ("paragraphs 3-4", "paragraph 7, part 2").
"""

from __future__ import annotations

import re
from dataclasses import replace

from .model import PARAGRAPH, Passage, is_placeholder

__all__ = ["paragraph", "refine", "is_placeholder"]

MIN_CHARS = 40  # below this a paragraph rarely carries meaning on its own
MAX_CHARS = 900
LIST_ITEM_CHARS = 120  # above this a passage is too broad to be specific evidence
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[\"“(\[]?[A-Z0-9])")
_TERMINAL = re.compile(r"[.!?;)\]\"”]\s*$")
_BULLET = re.compile(r"^\s*(?:[-•▪◦*–]|\(?[a-z0-9]{1,3}[.)])\s+")


def paragraph(text: str, prefix: str, number: int, **kw) -> Passage:
    """A passage for paragraph `number` under `prefix`, with its location spelled out."""
    return Passage(text=text, location=f"{prefix}paragraph {number}",
                   anchor=(prefix, number, number), **kw)


def refine(passages: list[Passage]) -> list[Passage]:
    """Merge fragments, then split overlong passages; rows and comments pass through untouched."""
    merged: list[Passage] = []
    for p in passages:
        prev = merged[-1] if merged else None
        if prev is not None and _mergeable(prev, p):
            merged[-1] = _merge(prev, p)
        else:
            merged.append(p)
    out: list[Passage] = []
    for p in merged:
        out.extend(_split(p) if len(p.text) > MAX_CHARS and p.kind == PARAGRAPH else [p])
    return out


def _mergeable(prev: Passage, cur: Passage) -> bool:
    if prev.kind != PARAGRAPH or cur.kind != PARAGRAPH:
        return False
    if prev.anchor is None or cur.anchor is None or prev.context != cur.context:
        return False
    if prev.anchor[0] != cur.anchor[0] or cur.anchor[1] != prev.anchor[2] + 1:
        return False
    if len(prev.text) + len(cur.text) > MAX_CHARS:
        return False
    lead_in = prev.text.rstrip().endswith(":")
    # short list items belong together; complete sentences are statements of their own
    list_item = (bool(_BULLET.match(cur.text)) and _is_list_fragment(cur.text)
                 and (lead_in or _continues_list(prev)))
    title_fragment = _is_fragment(prev) and not _is_fragment(cur)  # a heading joins what follows it
    trailing_fragment = len(cur.text) < MIN_CHARS and _TERMINAL.search(cur.text) is not None
    return lead_in or list_item or title_fragment or trailing_fragment


def _continues_list(prev: Passage) -> bool:
    last = prev.text.splitlines()[-1]
    return bool(_BULLET.match(last)) and _is_list_fragment(last)


def _is_list_fragment(text: str) -> bool:
    """A list item too slight to stand alone: short, or not a finished sentence."""
    return len(text) < LIST_ITEM_CHARS and (len(text.split()) < 6 or _TERMINAL.search(text) is None)


def _is_fragment(p: Passage) -> bool:
    return len(p.text) < MIN_CHARS * 2 and _TERMINAL.search(p.text) is None


def _merge(prev: Passage, cur: Passage) -> Passage:
    prefix, first, _ = prev.anchor  # type: ignore[misc]
    last = cur.anchor[2]  # type: ignore[index]
    return replace(prev, text=f"{prev.text}\n{cur.text}", location=f"{prefix}paragraphs {first}-{last}",
                   anchor=(prefix, first, last), ocr_confidence=_mean_confidence(prev, cur))


def _mean_confidence(a: Passage, b: Passage) -> float | None:
    """Recognised text merged: the confidence of the whole, weighted by the length of each part."""
    if a.ocr_confidence is None or b.ocr_confidence is None:
        return a.ocr_confidence if b.ocr_confidence is None else b.ocr_confidence
    total = len(a.text) + len(b.text)
    return round((a.ocr_confidence * len(a.text) + b.ocr_confidence * len(b.text)) / max(1, total), 3)


def _split(p: Passage) -> list[Passage]:
    parts, current = [], ""
    for sentence in _SENTENCE_END.split(p.text):
        if current and len(current) + len(sentence) + 1 > MAX_CHARS * 2 // 3:
            parts.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        parts.append(current)
    if len(parts) == 1:
        return [p]
    return [replace(p, text=t, location=f"{p.location}, part {i}") for i, t in enumerate(parts, 1)]
