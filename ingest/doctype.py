"""Infer what kind of document a file is, from its name, title and opening text."""

from __future__ import annotations

import re

from .model import SPREADSHEET_FORMATS

DOC_TYPES = ("contract", "rmp", "minutes", "register", "policy", "procedure", "report", "charter", "other")
DOC_TYPE_LABELS = {
    "contract": "Contract", "rmp": "Relationship management plan", "minutes": "Minutes",
    "register": "Register", "policy": "Policy", "procedure": "Procedure", "report": "Report",
    "charter": "Charter", "other": "Other",
}

# (doc type, pattern, weight): names and titles weigh more than body text
_SIGNALS = [
    ("rmp", r"relationship management plan|\b[jc]?rmp\b", 3),
    ("minutes", r"\bminutes\b|\bpresent:|\bapologies\b|\bmatters arising\b|\bin attendance\b", 3),
    ("register", r"\bregister\b|\blog\b|\btracker\b", 3),
    ("charter", r"\bcharter\b|\bmemorandum of understanding\b|\bpartnering agreement\b", 3),
    ("contract", r"\bcontract\b|\bagreement\b|\bterms and conditions\b|\bclause \d|\bschedule \d", 2),
    ("policy", r"\bpolicy\b", 2),
    ("procedure", r"\bprocedure\b|\bprocess\b|\bwork instruction\b|\bguidance\b", 2),
    ("report", r"\breport\b|\breview\b|\bsummary\b|\bassessment\b|\baudit\b|\bevaluation\b", 1),
]


def infer_doc_type(filename: str, title: str = "", opening: str = "", fmt: str = "") -> str:
    """The most likely document type; 'other' when nothing speaks for a type."""
    name = re.sub(r"[_\-.]+", " ", filename.lower())
    scores = {t: 0.0 for t in DOC_TYPES}
    for doc_type, pattern, weight in _SIGNALS:
        rx = re.compile(pattern, re.I)
        scores[doc_type] += weight * 2 * bool(rx.search(name))
        scores[doc_type] += weight * 1.5 * bool(rx.search(title or ""))
        scores[doc_type] += weight * 0.5 * min(3, len(rx.findall(opening or "")))
    if fmt in SPREADSHEET_FORMATS:
        scores["register"] += 1  # spreadsheets that evidence anything are mostly registers and logs
    # the type word nearest the end of a title names the document: "... Contract - Selection Summary" is a report
    head = re.sub(r"\([^)]*\)|\d+", " ", title or name)  # "(Contract Year 3)", versions and dates qualify, not name
    tail = " ".join(re.findall(r"[a-z]+", head.lower())[-4:])
    for doc_type, pattern, _ in _SIGNALS:
        if re.search(pattern, tail, re.I):
            scores[doc_type] += 4
    best = max(scores, key=lambda t: scores[t])
    return best if scores[best] >= 3 else "other"
