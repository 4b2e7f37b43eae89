"""Passages an assessor dismisses on sight, whatever they resemble: they may be candidates, never evidence.

Each rule returns the reason in words, stored with the link so a reader sees why nothing was claimed.
"""

from __future__ import annotations

import re

_ATTENDANCE = re.compile(r"^\s*(present|apologies|in attendance|attendees|absent|distribution|circulation)\s*[:\-]", re.I)
_VOID_ROW = re.compile(r"\b(withdrawn|duplicate of|cancelled|canceled|void|not used)\b", re.I)
_WORD = re.compile(r"[a-z][a-z]+")


def dismissal(text: str, kind: str = "paragraph", title: str = "") -> str | None:
    """Why this passage cannot be evidence, or None when it may be."""
    if _ATTENDANCE.match(text):
        return "attendance or distribution list"
    if kind == "row" and _VOID_ROW.search(text):
        return "withdrawn, cancelled or duplicate entry"
    if title and _mostly_title(text, title):
        return "the document's own title block"
    return None


def _mostly_title(text: str, title: str) -> bool:
    """A passage that only restates the document title, with dates and version numbers around it."""
    words = _WORD.findall(text.lower())
    title_words = set(_WORD.findall(title.lower()))
    if not words or len(title_words) < 2 or len(words) > 40:
        return False
    filler = {"version", "issue", "draft", "final", "dated", "date", "and", "the", "of", "for", "ref", "page"}
    filler |= {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
               "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday"}
    covered = sum(w in title_words or w in filler for w in words)
    return covered / len(words) >= 0.7
