"""Where a passage sits: the role of its section, table or sheet, read from headings, columns and form.

Business documents put their furniture in the same places whatever the relationship: a version-history table
after the cover, a glossary or definitions section, a distribution list, a change-log sheet beside the register,
template rows waiting for an entry. Passages in those places describe the document, not the relationship, so
they may be shown for review but never claimed. The rules read the conventions of business documents (section
names, column names, the shape of a row), never the subject matter of one relationship.

Contexts come from the readers: a heading path "3 Governance > 3.2 Terms", optionally followed by
"| columns: a, b" for a table, or "sheet NAME | title | columns: a, b" for a spreadsheet.
"""

from __future__ import annotations

import functools
import re

REASONS = {
    "version_history": "version history or change log of the document",
    "document_control": "document control details (number, owner, marking, review date)",
    "glossary": "glossary, abbreviations or definitions",
    "contents": "list of contents or appendices",
    "distribution": "distribution or copy-holder list",
    "references": "reference to material held elsewhere",
    "guidance": "instructions or reference lists of a template",
    "placeholder": "placeholder or template entry with nothing recorded yet",
}

_SECTION_NAMES = {
    "version_history": r"(document|version|revision|change|amendment|issue|release|update)s? (history|log|record|"
                       r"control sheet)|change ?log|(record|log|schedule) of (changes|amendments|revisions|issues)",
    # approval and signature tables are left to the scoring: an SER's signature is evidence of the appointment
    "document_control": r"document (control|information|details|status|properties)|version control",
    "glossary": r"glossary( of terms)?|abbreviations?( and (acronyms|definitions))?|acronyms( and abbreviations)?|"
                r"definitions( and interpretation)?|interpretation|(terms and )?definitions|defined terms|"
                r"terms used|terminology|key terms",
    "contents": r"(table of )?contents|list of (appendices|annexes|tables|figures)",
    "distribution": r"distribution( list)?|circulation( list)?|copy ?holders?( list)?|document distribution",
    "references": r"references|related documents|supporting documents|associated documents|bibliography",
    # a register's "how to use" sheet often states the joint process itself: only lists and keys are furniture
    "guidance": r"key|legend|look-?ups?|lists|drop-?downs?|reference data|validation lists?",
}
_SECTION = {role: re.compile(rf"(?:{pattern})", re.I) for role, pattern in _SECTION_NAMES.items()}
# a whole section or sheet of furniture: what sits under it is furniture too; contents and reference lists are
# recognised by the heading they sit directly under only
_INHERITED = {"version_history", "document_control", "glossary", "distribution", "guidance"}
_NUMBERING = re.compile(r"^\s*((section|part|appendix|annex|schedule|sheet)\s+)?([A-Z]|\d+(\.\d+)*)?[.):]?\s+", re.I)

_VERSION_VALUE = re.compile(r"^(v|ver|version|issue|rev|revision)?\s*\d{1,2}(\.\d{1,2}){0,2}[a-z]?$|^draft\b", re.I)
_VERSION_COL = re.compile(r"^(version|ver|issue|rev|revision|release|v)(\s*(no|number|#))?\.?$", re.I)
# "Issue" names a version in a document's history and a problem in an issues log: only a value tells them apart
_TABLE_VERSION_COL = re.compile(r"^(version|ver|rev|revision|release|issue (no|number))\.?$", re.I)
_DATE_COL = re.compile(r"\bdate\b", re.I)
_CHANGE_COL = re.compile(r"\b(change|changes|amendment|amendments|description|summary|comments?|reason|details|"
                         r"what changed|nature of change)\b", re.I)
_TERM_COL = re.compile(r"^(term|terms|abbreviation|abbrev|acronym|word|phrase|short form|expression)s?$", re.I)
_MEANING_COL = re.compile(r"^(definition|meaning|description|expansion|full (name|form|title)|stands for|"
                          r"explanation|in full)s?$", re.I)
_COPY_COL = re.compile(r"\b(copy|copies|copy holder|recipient|distribution|circulation)\b", re.I)

_CONTROL_LABEL = re.compile(
    r"(?:^|[;|\n]|\.\s)\s*(document (no|number|ref|reference|id|owner|status|title)|doc(ument)? ref|"
    r"reference (no|number)|version( no| number)?|issue (no|number|date)|date of issue|author|"
    r"(security |protective )?(classification|marking)|(next )?review (date|due)|next review|"
    r"approved by|approval date|authorised by|file (name|path|ref)|supersedes|retention( period)?)\s*[:\-–]", re.I)
_DEFINITION = re.compile(
    r"^\s*(\d+(\.\d+)*\s+)?(in this [a-z ]{3,30},?\s+)?[\"“‘'][^\"”’']{1,60}[\"”’']\s+"
    r"(means|shall mean|has the meaning|refers to|includes|is defined as)\b|"
    r"^\s*(in|throughout) this (plan|agreement|document|schedule|charter|contract|procedure|policy|protocol)\b"
    r"[^.]{0,40}\b(means|the following (words|terms|expressions))", re.I)
_ABBREVIATION = re.compile(r"\b[A-Z][A-Z0-9&]{1,7}s?\s*[:=–—-]\s*[A-Z][a-z]+(?:\s+(?:[A-Z][a-z]+|of|and|for|the|&)){1,7}")
_ELSEWHERE = re.compile(r"^\s*(see|refer to|as set out in|details? (are|is) (in|at))\s+(the\s+)?"
                        r"(appendix|annex|schedule|attachment|enclosure|separate)\b", re.I)
_APPENDIX_LINE = re.compile(r"^\s*(appendix|annex|attachment|enclosure)\s+[A-Z0-9]{1,3}\s*[:\-–—.]", re.I)
_PLACEHOLDER = re.compile(
    r"\b(reserved|placeholder|example (row|entry|only)|sample (row|entry)|to follow|to be (confirmed|added|completed|"
    r"advised|agreed|determined|populated|inserted)|tbc|tba|tbd|not yet (known|assigned|defined)|"
    r"lorem ipsum|\[insert[^\]]*\]|insert [a-z ]{1,30} here|x{3,}|delete (this|as appropriate))\b", re.I)
_WORDS = re.compile(r"[A-Za-z][A-Za-z'\-]+")


def headings(context: str) -> tuple[list[str], str, list[str]]:
    """(heading names without numbering, sheet name, column names) of a reader's context string."""
    parts = [p.strip() for p in context.split(" | ")] if context else []
    sheet, columns, heads = "", [], []
    for part in parts:
        if part.lower().startswith("sheet "):
            sheet = re.sub(r"\s*\(hidden\)$", "", part[6:])
        elif part.lower().startswith("columns:"):
            columns = [c.strip() for c in part[8:].split(",") if c.strip()]
        elif not sheet:  # a title block above a sheet's header says what the sheet is, not where it sits
            heads.extend(_NUMBERING.sub("", h).strip(" :.") for h in part.split(" > "))
    return [h for h in heads if h], sheet, columns


@functools.lru_cache(maxsize=4096)
def section_role(context: str) -> str | None:
    """The role of the section, table or sheet a passage sits in, or None for the body of the document. Cached:
    the passages of a section or table share its context, and every one of them asks."""
    heads, sheet, columns = headings(context)
    names = [*heads, sheet] if sheet else heads
    for depth, name in enumerate(names, 1):
        for role, pattern in _SECTION.items():
            if name and pattern.fullmatch(name.strip().lower()) and (role in _INHERITED or depth == len(names)):
                return role
    return _table_role(columns)


def _table_role(columns: list[str]) -> str | None:
    if 2 <= len(columns) <= 4 and any(_TERM_COL.match(c) for c in columns) and any(_MEANING_COL.match(c) for c in columns):
        return "glossary"
    if len(columns) <= 6 and any(_COPY_COL.search(c) for c in columns) and not any(_CHANGE_COL.search(c) for c in columns):
        return "distribution"
    if (len(columns) <= 7 and any(_TABLE_VERSION_COL.match(c) for c in columns) and any(_DATE_COL.search(c) for c in columns)
            and any(_CHANGE_COL.search(c) for c in columns)):
        return "version_history"
    return None


def row_parts(text: str) -> list[tuple[str, str]]:
    """'Name: value; Name: value' (how readers render a row under its header) as (name, value) pairs; a part
    without a column name comes back as ("", part)."""
    parts = []
    for part in text.split("; "):
        name, sep, value = part.partition(": ")
        parts.append((name.strip(), value.strip()) if sep and len(name) <= 40 else ("", part))
    return parts


def row_cells(text: str) -> dict[str, str]:
    """A row's named cells as {name: value}."""
    return {name: value for name, value in row_parts(text) if name}


def passage_role(text: str, kind: str = "paragraph", context: str = "") -> str | None:
    """Why a passage is document furniture by where it sits and what shape it has, or None."""
    role = section_role(context)
    if role in ("version_history", "document_control") and kind == "row" and _substantive_change(text):
        return None  # "Annual review with both SERs: governance section rewritten" records the plan being kept up
    if role == "document_control" and kind == "row" and _row_role(text) == "version_history":
        return "version_history"  # the version table of a document-control section
    if role:
        return role
    if kind == "row":
        return _row_role(text)
    if _DEFINITION.match(text):
        return "glossary"
    if len(_ABBREVIATION.findall(text)) >= 2 and len(text.split()) <= 80:
        return "glossary"
    words = len(text.split())
    if words <= 30 and (_ELSEWHERE.match(text) or _APPENDIX_LINE.match(text)):
        return "references"
    if _document_control(text):
        return "document_control"
    if words <= 25 and _PLACEHOLDER.search(text) and len(_WORDS.findall(_PLACEHOLDER.sub("", text))) <= 6:
        return "placeholder"
    return None


def _row_role(text: str) -> str | None:
    cells = row_cells(text)
    if _document_control(text):
        return "document_control"
    if cells:
        versioned = any(_VERSION_COL.match(n) and _VERSION_VALUE.match(v) for n, v in cells.items())
        dated = any(_DATE_COL.search(n) for n in cells)
        if versioned and dated and not _substantive_change(text):
            return "version_history"
        if any(_TERM_COL.match(n) for n in cells) and any(_MEANING_COL.match(n) for n in cells) and len(cells) <= 3:
            return "glossary"
    if _is_placeholder_row(cells or {"": text}):
        return "placeholder"
    if _DEFINITION.match(text):
        return "glossary"
    return None


_EDITORIAL = set("""typo typos typographical format formatting formatted reformatted layout minor editorial edit edits
contact contacts list lists details detail name names correction corrections corrected update updated updates amended
amendment amendments template logo logos numbering references reference branding spelling grammar tidy tidied issued
issue draft first initial comment comments approval approved release released version versions page pages style
styles font cover new added removed change changes small various general clarification clarifications date dates
phone telephone email address addresses distribution circulation document baseline""".split())
_STOPWORDS = set("""a an and the of to for in on at by with from as is are was were be been this that it its into per
following after before during""".split())


def _substantive_change(text: str) -> bool:
    """A version-history entry that says what changed in the substance, not only that the document was edited."""
    cells = row_cells(text)
    prose = " ".join(v for n, v in cells.items() if not (_VERSION_COL.match(n) or _DATE_COL.search(n))) if cells else text
    words = [w.lower() for w in _WORDS.findall(prose)]
    return sum(w not in _EDITORIAL and w not in _STOPWORDS for w in words) >= 4


def _is_placeholder_row(cells: dict[str, str]) -> bool:
    """A template row: a placeholder in it, and nothing of substance recorded in any cell."""
    values = list(cells.values())
    if not any(_PLACEHOLDER.search(v) for v in values):
        return False
    substantive = [v for v in values if not _PLACEHOLDER.search(v) and len(_WORDS.findall(v)) >= 6]
    return not substantive


def _document_control(text: str) -> bool:
    """Two or more document-control labels and little else: a cover or header block, not a statement."""
    labels = _CONTROL_LABEL.findall(text)
    if len(labels) < 2:
        return False
    rest = _CONTROL_LABEL.sub(" ", text)
    return len(_WORDS.findall(rest)) <= 6 * len(labels) + 6
