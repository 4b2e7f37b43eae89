"""The files an ingest is given: every file under the folders named (and why any path is not read), their
content hashes, and their paths and names as the database keeps them.

Imports nothing of the store's, so the pipeline, the store and the watcher can all use it.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ingest import clean_text, is_ignorable


class IngestError(Exception):
    """A path given to ingest cannot be used."""


def sha256_file(path: Path) -> str:
    return file_digest(path)[0]


def file_digest(path: Path) -> tuple[str, int]:
    """The SHA-256 of a file's bytes and how many there were, from one pass over them."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


@dataclass
class Unread:
    """A path given to ingest (or found under one) that is not read, and why, in words."""
    path: Path
    status: str  # failed | skipped
    reason: str


_SPECIAL = ((stat.S_ISFIFO, "named pipe"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
            (stat.S_ISBLK, "block device"))


def survey(paths: Iterable[str | Path], follow_links: bool = False,
           root: Path | None = None) -> tuple[list[Path], list[Unread]]:
    """Every file under the given files and folders, recursively (lock and temporary files left out), and every
    path that is not read with the reason: unreadable folders, pipes and devices, link loops, and links out of
    the folder given (not followed unless `follow_links`). `root`: the folder the paths were found in (a watched
    one): each is taken as a scan of that folder takes it, so a link out of it is refused, not read."""
    found: list[Path] = []
    unread: list[Unread] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise IngestError(f"no such file or folder: {path}")
        files: list[Path] = []
        if root is not None:
            if passed_over(path, root):
                continue
            through = None if follow_links or path.is_symlink() else _linked_out(path, root.resolve())
            if through is not None:  # found under a linked folder that leads out of the watched one
                unread.append(Unread(path, "skipped", f"reached through a link to {stored_path(through)}, outside "
                                                      "the folder: not followed (use --follow-links)"))
                continue
            _visit(path.absolute(), root.resolve(), follow_links, files, unread, set())
        elif path.is_dir():
            real = path.resolve()
            _walk(path.absolute(), real, follow_links, files, unread, {real})
        elif not is_ignorable(path):  # a file named on its own is read wherever a link given by name points
            _visit(path.absolute(), None, True, files, unread, set())
        found.extend(sorted(files))
    return list(dict.fromkeys(found)), unread


def _linked_out(path: Path, root: Path) -> Path | None:
    """The real folder outside `root` that `path`, named under it, really sits in (a linked folder on its way
    leads out), or None when it is inside."""
    real = path.resolve()
    return None if real == root or root in real.parents else real.parent


def passed_over(path: Path, folder: Path) -> bool:
    """Whether a scan of `folder` passes over `path`: a lock, temporary or hidden file, or anything inside a hidden
    folder below it (a desktop's `.Trash-1000`, `.git`). A path outside the folder is judged by its name."""
    try:
        parts = path.relative_to(folder).parts
    except ValueError:
        parts = (path.name,)
    return any(is_ignorable(Path(part)) for part in parts)


def discover(paths: Iterable[str | Path], follow_links: bool = False) -> list[Path]:
    """Every file under the given files and folders, recursively, lock and temporary files left out."""
    return survey(paths, follow_links)[0]


def _walk(folder: Path, root: Path, follow_links: bool, files: list[Path], unread: list[Unread],
          seen: set[Path]) -> None:
    try:
        with os.scandir(folder) as entries:
            children = sorted(Path(e.path) for e in entries)
    except OSError as exc:  # an unreadable folder is said, not passed over
        unread.append(Unread(folder, "failed", f"cannot read folder: {exc.strerror or exc}"))
        return
    for child in children:
        if not passed_over(child, folder):
            _visit(child, root, follow_links, files, unread, seen)


def _visit(path: Path, root: Path | None, follow_links: bool, files: list[Path], unread: list[Unread],
           seen: set[Path]) -> None:
    if path.is_symlink():
        try:
            target = path.resolve(strict=True)
        except FileNotFoundError:
            return unread.append(Unread(path, "skipped", "symbolic link to a missing file"))
        except (RuntimeError, OSError):  # ELOOP, or RuntimeError from pathlib before 3.13
            return unread.append(Unread(path, "skipped", "symbolic link loop"))
        outside = root is not None and target != root and root not in target.parents
        if outside and follow_links and target.is_file():
            return files.append(path)  # kept under the link's name: its row replaces the "not followed" one
        if outside and not follow_links:
            return unread.append(Unread(path, "skipped", f"symbolic link to {stored_path(target)}, outside the "
                                                         "folder: not followed (use --follow-links)"))
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return unread.append(Unread(path, "failed", f"cannot open file: {exc.strerror or exc}"))
    if stat.S_ISDIR(mode):
        if path.is_symlink() and not follow_links:
            return  # a link to a folder inside the tree: its files are found where they really are
        real = path.resolve()
        if real not in seen:  # each folder once, however many links lead to it
            seen.add(real)
            _walk(path, root or real, follow_links, files, unread, seen)
    elif stat.S_ISREG(mode):
        files.append(path.resolve())
    else:
        kind = next((name for test, name in _SPECIAL if test(mode)), "special file")
        unread.append(Unread(path, "skipped", f"not a regular file ({kind})"))



_VERSION_MARKS = re.compile(
    r"\b(v|ver|version|rev|revision|issue)\s*\d+(\.\d+)*\b|\b\d{4}[-_.]\d{1,2}([-_.]\d{1,2})?\b|"
    r"\b\d{1,2}[-_.]\d{1,2}[-_.]\d{2,4}\b|\b(19|20)\d{2}( \d{1,2}){0,2}\b|\b(draft|final|signed|updated|copy|latest)\b|\(\d+\)",
    re.I)


def stored_path(path: Path) -> str:
    """A path as the database keeps it: itself when its name is UTF-8 (as nearly all are), otherwise with each
    byte that is not written \\xe9, which SQLite can store and `file_path` turns back into the path."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


_ESCAPED_BYTE = re.compile(rb"\\x([0-9a-f]{2})")


def file_path(stored: str) -> Path:
    """The file a stored path names: the path itself, or the one with the bytes its \\xe9 escapes stand for."""
    path = Path(stored)
    if "\\x" not in stored or path.exists():  # a name that really holds a backslash is found as it is
        return path
    return Path(os.fsdecode(_ESCAPED_BYTE.sub(lambda m: bytes([int(m.group(1), 16)]), os.fsencode(stored))))


def display_name(path: Path) -> str:
    """A file's name as stored and shown; the path keeps the raw name, so the file is still found."""
    return clean_text(path.name)


def document_family(name: str) -> str:
    """What a document's name is without versions and dates: 'RMP v4.docx' and 'RMP v3.docx' share 'rmp'."""
    stem = Path(name).stem.lower().replace("_", " ")
    stem = re.sub(r"[\-.]+", " ", _VERSION_MARKS.sub(" ", stem))
    return " ".join(stem.split()) or Path(name).stem.lower()

