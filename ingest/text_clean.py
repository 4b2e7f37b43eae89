"""Text as it enters the database: no control characters, no hidden reordering; text for a console: escaped.

A NUL or another C0 control character from a damaged file, a file name or a form breaks the Excel export and
can drive a terminal; bidirectional overrides make a name read differently from what it is
("invoice\u202efdp.exe"). Text is cleaned once, where it enters; exports still defend themselves, as old
databases hold raw text.
"""

from __future__ import annotations

import re

# C0 controls except tab and line feed, DEL and C1 controls, bidirectional embeddings, overrides and isolates
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# lone surrogates: what Python makes of a file name's bytes that are not UTF-8 (surrogateescape); SQLite and the
# console refuse them ("surrogates not allowed")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def clean_text(text: str) -> str:
    """`text` without control characters (tab and line feed stay; a carriage return becomes a line feed)
    and without bidirectional override and isolate characters; a byte that was not UTF-8 is shown as \\xe9."""
    return _UNSAFE.sub("", _SURROGATE.sub(_escape_surrogate, text.replace("\r\n", "\n").replace("\r", "\n")))


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` for one console line: control and bidirectional characters shown as escapes (\\x1b), never obeyed
    by the terminal; other characters, accented or not, as they are."""
    text = _SURROGATE.sub(_escape_surrogate, text)
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
