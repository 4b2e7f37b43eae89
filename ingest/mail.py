"""Saved emails (.eml, .msg): sender, recipients, date and subject as the document's metadata, the body as
passages without the quoted replies it carries, and the attachments handed back to be read as documents of their
own."""

from __future__ import annotations

import datetime as dt
import html
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

from .chunking import paragraph, refine
from .model import EML, MSG, Attachment, Passage, ReadError, ReadResult, short_error
from .safety import sniff

MAX_ATTACHMENTS = 50  # a mail merge of hundreds of files is not evidence of one message
_HEADERS = ("from", "to", "subject", "date", "message-id")

# where a reply's quoted history starts: everything from there down was counted in the earlier message
_QUOTE_STARTS = (
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.I | re.S),
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*-{2,}\s*Forwarded message\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*From:\s.+\n\s*(?:Sent|Date):\s", re.I),
)


class EmlReader:
    format = EML
    extensions = (".eml",)

    def read(self, path: Path) -> ReadResult:
        data = path.read_bytes()
        message = BytesParser(policy=policy.default).parsebytes(data)
        if not any(message.get(h) for h in _HEADERS) or b"\x00" in data[:4096]:
            raise ReadError(f"not an email although named {path.suffix}")
        result = ReadResult(path=path, format=self.format)
        result.metadata = _metadata(message.get("subject"), message.get("from"),
                                    [message.get("to"), message.get("cc")], _date(message.get("date")),
                                    message.get("message-id"))
        text = _body(message)
        result.passages = body_passages(text, result.metadata.get("title", ""))
        result.attachments = _attachments(message, result)
        return result.finish()


class MsgReader:
    format = MSG
    extensions = (".msg",)

    def read(self, path: Path) -> ReadResult:
        import extract_msg

        if sniff(path) != "ole":
            raise ReadError(f"not an Outlook message although named {path.suffix}")
        try:
            message = extract_msg.openMsg(str(path))
        except Exception as exc:
            raise ReadError(f"damaged Outlook message: {short_error(exc)}") from None
        try:
            return self._read(path, message)
        finally:
            message.close()

    def _read(self, path: Path, message) -> ReadResult:
        if not hasattr(message, "body"):
            raise ReadError("an Outlook item that is not an email (contact, task or appointment)")
        result = ReadResult(path=path, format=self.format)
        date = message.date if isinstance(getattr(message, "date", None), dt.datetime) else None
        result.metadata = _metadata(message.subject, _msg_sender(message), [message.to, message.cc], date,
                                    getattr(message, "messageId", None))
        text = message.body or ""
        if not text.strip() and message.htmlBody:
            text = html_to_text(message.htmlBody.decode("utf-8", "replace"))
        result.passages = body_passages(text, result.metadata.get("title", ""))
        for n, att in enumerate(message.attachments[:MAX_ATTACHMENTS], 1):
            name = (getattr(att, "longFilename", None) or getattr(att, "shortFilename", None)
                    or getattr(att, "displayName", None) or f"attachment {n}")
            data = getattr(att, "data", None)
            if isinstance(data, bytes):
                result.attachments.append(Attachment(_safe_name(name, n), data))
            elif hasattr(data, "exportBytes"):  # an attached Outlook item: saved as a .msg of its own and read as
                try:                            # one, as an .eml's attached message is
                    data = data.exportBytes()
                except Exception as exc:
                    result.warnings.append(f"attachment {name}: an attached Outlook item that could not be saved "
                                           f"({short_error(exc)})")
                    continue
                name = name if name.lower().endswith(".msg") else f"{name}.msg"
                result.attachments.append(Attachment(_safe_name(name, n), data))
            else:
                result.warnings.append(f"attachment {name}: an attached Outlook item, not read")
        _count_cut(len(message.attachments), result)
        return result.finish()


def _msg_sender(message) -> str | None:
    """The sender as an .eml's From gives it, "Name <address>". extract-msg adds the address only from
    PR_SENDER_SMTP_ADDRESS, which many saved messages lack: an SMTP sender's own address (PR_SENDER_EMAIL_ADDRESS
    with address type SMTP) is the same address. An Exchange sender's is an X.500 name, no email address."""
    sender = message.sender
    if sender and "@" in sender:
        return sender
    if (message.getStringStream("__substg1.0_0C1E") or "").strip().upper() == "SMTP":
        address = (message.getStringStream("__substg1.0_0C1F") or "").strip()
        if "@" in address:
            return f"{sender} <{address}>" if sender and sender.strip() else address
    return sender


def _metadata(subject, sender, recipients: list, date: dt.datetime | None, message_id=None) -> dict:
    """The email's headers in the fields documents keep: the subject is its title, the sender its author and the
    date it was sent its date (the fields Office files' core properties fill)."""
    meta = {}
    if message_id and str(message_id).strip():
        meta["message_id"] = str(message_id).strip()
    if subject and str(subject).strip():
        meta["title"] = " ".join(str(subject).split())
    if sender and str(sender).strip():
        meta["author"] = " ".join(str(sender).split())
    to = "; ".join(" ".join(str(r).split()) for r in recipients if r and str(r).strip())
    if to:
        meta["recipients"] = to
    if date is not None:
        meta["created"] = meta["modified"] = date.isoformat()
    return meta


def _date(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        return getattr(value, "datetime", None) or parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None


def _body(message: EmailMessage) -> str:
    """The plain text part, or the HTML part as text when that is all there is."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # an unknown charset: the bytes as Latin-1 lose nothing
        content = (part.get_payload(decode=True) or b"").decode("latin-1")
    return html_to_text(content) if part.get_content_type() == "text/html" else content


def _attachments(message: EmailMessage, result: ReadResult) -> list[Attachment]:
    out: list[Attachment] = []
    # pictures the HTML body shows (signature logos, pasted screenshots) are part of the body, not attachments
    parts = [p for p in message.iter_attachments()
             if not (p.get("content-id") and p.get_content_disposition() != "attachment")]
    for n, part in enumerate(parts[:MAX_ATTACHMENTS], 1):
        name = part.get_filename() or ""
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            data = inner.as_bytes(policy=policy.default) if hasattr(inner, "as_bytes") else b""
            name = name or f"attached message {n}.eml"
        else:
            try:
                data = part.get_payload(decode=True) or b""
            except Exception as exc:
                result.warnings.append(f"attachment {name or n}: undecodable ({short_error(exc)})")
                continue
        out.append(Attachment(_safe_name(name, n), data))
    _count_cut(len(parts), result)
    return out


def _count_cut(count: int, result: ReadResult) -> None:
    if count > MAX_ATTACHMENTS:
        result.warnings.append(f"only the first {MAX_ATTACHMENTS} of {count} attachments were read")


def _safe_name(name: str, n: int) -> str:
    """An attachment's file name without folders (a name is a label, never a path)."""
    name = re.sub(r"[\x00-\x1f/\\]+", "_", name).strip(" .")
    return name or f"attachment {n}"


def without_quotes(text: str) -> str:
    """The message's own words: quoted lines ('>') and everything from a reply's quoted history down dropped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        two = "\n".join(lines[i:i + 2])
        if any(rx.match(line) or rx.match(two) for rx in _QUOTE_STARTS):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept)


def body_passages(text: str, subject: str) -> list[Passage]:
    """The body's own paragraphs (blank-line separated), with the subject as their context."""
    blocks, current = [], []
    for line in without_quotes(text).split("\n"):
        if line.strip():
            current.append(line.strip())
        elif current:
            blocks.append(" ".join(current))
            current = []
    if current:
        blocks.append(" ".join(current))
    blocks = [b for b in blocks if any(c.isalnum() for c in b)]  # separator lines ("____") say nothing
    return refine([paragraph(b, "body, ", n, context=subject) for n, b in enumerate(blocks, 1)])


class _Text(HTMLParser):
    _BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "hr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.quote = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag == "blockquote":  # a reply's quoted history in HTML mail
            self.quote += 1
        if tag in self._BLOCKS:
            self.out.append("\n\n" if tag != "br" else "\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        if tag in self._BLOCKS:
            self.out.append("\n\n")

    def handle_data(self, data):
        if not self.skip and not self.quote:
            self.out.append(data)


def html_to_text(markup: str) -> str:
    """An HTML body as text: block elements end paragraphs, scripts, styles and quoted replies go."""
    parser = _Text()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # malformed markup: its text without tags is still worth more than nothing
        return html.unescape(re.sub(r"<[^>]+>", " ", markup))
    text = "".join(parser.out)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
