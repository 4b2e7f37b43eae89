"""Passages an assessor dismisses on sight, whatever they resemble: they may be candidates, never evidence.

The rules look at a passage's form (where it sits, how it starts, how much of it is names and numbers), never at
the subject matter of one relationship. Each returns the reason in words, stored with the link so a reader sees
why nothing was claimed.
"""

from __future__ import annotations

import functools
import re

from .roles import REASONS, passage_role, row_parts

_ATTENDANCE = re.compile(r"^\s*(present|apologies|in attendance|attendees|absent|distribution|circulation)\s*[:\-]", re.I)
_VOID_ROW = re.compile(r"\b(withdrawn|duplicate of|cancelled|canceled|void|not used)\b", re.I)
_AUTHORSHIP = re.compile(
    r"^\s*((prepared|written|compiled|authored|produced|drafted)\s+by\b|(author|authors|owner|document owner)\s*:|"
    r"(questions|queries|enquiries|comments)\s+(about|on|regarding|concerning)\b.{0,80}\b(to|contact)\b)", re.I)
_CONTENTS = re.compile(r"^\s*(contents|table of contents|appendices|annexes|appendix list|attachments)\s*[:\-]", re.I)
_LOGISTICS = re.compile(r"^\s*(date|time|venue|location)\s+(and \w+\s+)?of\s+(the\s+)?next\s+meeting\b", re.I)
_HOUSEKEEPING = re.compile(
    r"\baction\s*:\s*(circulate|distribute|forward|re-?send|send round|book|correct (the )?(minutes|attendance|typo))",
    re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*|\d[\d.,:/\-]*")
_MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
_FILLER = {"version", "issue", "draft", "final", "dated", "date", "and", "the", "of", "for", "ref", "page", "at",
           "on", "by", "in", "to", "a", "an", "&"} | _MONTHS
_STATEMENT = {"is", "are", "was", "were", "will", "shall", "has", "have", "had", "must", "should", "can", "may",
              "signed", "behalf"}


# the words every English statement is held together by; a long paragraph almost without them is a string of
# terms (a keyword list, a tag cloud, generated filler), which resembles every requirement and states nothing
_GRAMMAR = {"the", "a", "an", "of", "to", "in", "and", "or", "is", "are", "was", "were", "be", "been", "will",
            "shall", "for", "on", "with", "by", "that", "this", "it", "as", "at", "from", "has", "have", "had", "its",
            "their", "our", "we", "they", "not", "if", "each", "which", "who", "all", "any", "must", "should"}
TERMS_ONLY_WORDS = 30
# ...and written as a list is not a string of terms: notes and lists ("Actions: JMT to review the register; SER to
# sign off"), names with roles, addresses all separate their items
_LIST_MARKS = re.compile(r"[;:,()\[\]/|•–—]|\s-\s")


def _terms_only(text: str) -> bool:
    """Thirty words or more in plain English letters, with no list marks, mostly in lower case (not names and
    titles run together) and almost no grammar words. Text in another language is never judged by English
    grammar words: its letters or its list marks keep it out, as far as they tell."""
    if _LIST_MARKS.search(text) or not text.isascii():
        return False
    words = [w for w in _WORD.findall(text) if not w[0].isdigit()]
    if sum(w[0].isupper() for w in words) > 0.3 * len(words):  # names, titles and roles run together
        return False
    return len(words) >= TERMS_ONLY_WORDS and sum(w.lower() in _GRAMMAR for w in words) < 0.05 * len(words)


def dismissal(text: str, kind: str = "paragraph", title: str = "", first: bool = False, context: str = "") -> str | None:
    """Why this passage cannot be evidence, or None when it may be. `first`: one of the passages that open
    its document, where a cover block sits; `context`: the heading path or sheet and columns it sits under."""
    role = passage_role(text, kind, context)
    if role:
        return REASONS[role]
    if _ATTENDANCE.match(text):
        return "attendance or distribution list"
    if kind == "row" and _VOID_ROW.search(text):
        return "withdrawn, cancelled or duplicate entry"
    if title and _mostly_title(text, title):
        return "the document's own title block"
    if first and _cover_block(text):
        return "the document's cover block (names, references and dates)"
    if _AUTHORSHIP.match(text):
        return "authorship or contact line"
    if _CONTENTS.match(text):
        return "list of contents or appendices"
    if _LOGISTICS.match(text) or _HOUSEKEEPING.search(text):
        return "meeting housekeeping"
    if kind != "row" and _terms_only(text):
        return "a string of terms, not a statement in English (almost none of the words that hold a sentence together)"
    return None


def _mostly_title(text: str, title: str) -> bool:
    """A passage that only restates the document title, with dates and version numbers around it."""
    words = [w.lower() for w in _WORD.findall(text) if not w[0].isdigit()]
    title_words = _title_words(title)
    if not words or len(title_words) < 2 or len(words) > 40:
        return False
    covered = sum(w in title_words or w in _FILLER for w in words)
    return covered / len(words) >= 0.7


@functools.lru_cache(maxsize=256)
def _title_words(title: str) -> frozenset[str]:
    """A title's words, lower case: every passage of the document is compared with the same title."""
    return frozenset(w.lower() for w in _WORD.findall(title))


def _cover_block(text: str) -> bool:
    """An opening passage made of names, references and dates: the cover or heading of the document."""
    words = _WORD.findall(text)
    if not words or len(words) > 60:
        return False
    if any(w.lower() in _STATEMENT for w in words):
        # "The SER is ..." says something, however many names it holds; so does a signature ("Signed for and on
        # behalf of ..."): the act of the person named, which an assessor reads as their appointment
        return False
    plain = [w for w in words if w[0].islower() and w.lower() not in _FILLER]
    return len(plain) / len(words) <= 0.3


_CONTENT_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]{2,}")
_FIGURE = re.compile(r"\d[\d.,:/\-]*")
MIN_WORDS = 3  # fewer words than this (of three letters or more) say nothing a requirement could ask for


def data_only(text: str, kind: str = "paragraph") -> bool:
    """A passage of figures and codes: fewer than MIN_WORDS words in its values, or more than two figures a
    word (a row of readings, an asset list, a machine dump). It is stored and searchable, never embedded or
    scored: it cannot evidence how a relationship is run, and a sheet of 50,000 such rows must not hold up the
    encoder."""
    values = " ".join(value for _, value in row_parts(text)) if kind == "row" else text
    words = len(_CONTENT_WORD.findall(values))
    return words < MIN_WORDS or len(_FIGURE.findall(values)) > 2 * words


def mappable(text: str, kind: str = "paragraph") -> bool:
    """Whether a passage is embedded and mapped at all: comments and data-only passages are not."""
    return kind != "comment" and not data_only(text, kind)


LOW_OCR_CONFIDENCE = 0.6  # recognised text below this mean confidence may be misread: a candidate at most


def low_confidence(ocr_confidence: float | None) -> str | None:
    """Why recognised (OCR) text cannot be claimed as evidence on its own, or None: text read from a text layer
    has no confidence, and well-recognised text is read like any other."""
    if ocr_confidence is None or ocr_confidence >= LOW_OCR_CONFIDENCE:
        return None
    return f"recognised text of low confidence (OCR {ocr_confidence:.2f})"
