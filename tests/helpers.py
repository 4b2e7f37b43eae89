"""Helpers shared by tests."""

import atexit
import contextlib
import datetime as dt
import functools
import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

WHEN = dt.datetime(2026, 1, 15, 10, 0, 0)  # a fixed document date for files the tests write


def rewrite_zip_member(path: Path, member: str, transform) -> None:
    """Rewrite one part of an Office file (to add XML features the writers cannot produce)."""
    with zipfile.ZipFile(path) as zin:
        items = [(i, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename == member:
                data = transform(data.decode("utf-8")).encode("utf-8")
            zout.writestr(info, data)


def rows(db, sql, params=()):
    return [dict(r) for r in db.query(sql, params)]


def copy_database(source: Path, target: Path) -> Path:
    """Copy an evidence database (with SQLite's backup API) and the folder of stored copies beside it."""
    from evidence.serve import files_dir_for

    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, closing(sqlite3.connect(target)) as dst:
        # a scratch copy needs no journal and no fsync: the same pages, written in a third of the time
        dst.execute("pragma journal_mode = off")
        dst.execute("pragma synchronous = off")
        src.backup(dst)
    if files_dir_for(source).is_dir():
        shutil.copytree(files_dir_for(source), files_dir_for(target))
    return target


@functools.cache
def _migrated_template() -> Path:
    from evidence.db import open_db

    folder = Path(tempfile.mkdtemp(prefix="evidence-tests-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    open_db(folder / "empty.db").close()
    return folder / "empty.db"


def new_database(path: Path):
    """`open_db` on a new, empty, migrated database at `path`: a copy of one migrated once per run (the migrations
    cost more than the copy; the file is the same)."""
    from evidence.db import open_db

    shutil.copyfile(_migrated_template(), path)
    return open_db(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answering(url: str, timeout: float = 20.0) -> bool:
    """Whether the server at `url` answers within `timeout` seconds (it starts within a second or two: look often)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/-/versions.json", timeout=1)
            return True
        except OSError:
            time.sleep(0.02)
    return False


@contextlib.contextmanager
def served(db_path: Path, env: dict | None = None, args: tuple[str, ...] = ()) -> Iterator[str]:
    """`evidence serve` on a free local port for the length of the block: yields its base URL."""
    import pytest

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "evidence", "serve", "--db", str(db_path), "--port", str(port),
                             *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        if not answering(url):
            proc.kill()
            pytest.fail("evidence serve did not start: " + proc.stdout.read().decode())
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


class FakeClock:
    """A monotonic clock a test moves by hand (the watcher's settle time without sleeping)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class EvidenceRows:
    """A small evidence database written row by row: documents, passages, links and candidates as the pipeline
    stores them, coverage refreshed from them."""

    def __init__(self, path, catalogue, frameworks=("BS11000", "ISO44001", "XTP", "OGC", "MUT", "TB", "ACOP")):
        from evidence.catalogue_sync import requirement_rows
        from mapping import MappingConfig

        self.path, self.catalogue = path, catalogue
        self.db = new_database(path)
        self.conn = self.db.conn
        self.db["requirements"].insert_all(requirement_rows(catalogue), pk="id")
        for key, value in (("frameworks", ",".join(frameworks)),
                           ("item_strong_score", str(MappingConfig().item_strong_score)),
                           ("item_min_support", str(MappingConfig().item_min_support))):
            self.db["settings"].upsert({"key": key, "value": value}, pk="key")
        self.conn.commit()
        self._docs = {}

    def document(self, name, doc_type="other", title=None) -> int:
        if name not in self._docs:
            self._docs[name] = self.db["documents"].insert({
                "path": f"/pack/{name}", "name": name, "doc_type": doc_type, "title": title or name, "status": "ok",
                "format": name.rsplit(".", 1)[-1], "sha256": hashlib.sha256(name.encode()).hexdigest()}).last_pk
        return self._docs[name]

    def passage(self, document, text, doc_type="other") -> int:
        doc_id = self.document(document, doc_type)
        n = self.conn.execute("select count(*) from passages where document_id = ?", [doc_id]).fetchone()[0]
        return self.db["passages"].insert({
            "document_id": doc_id, "text": text, "location": f"paragraph {n + 1}", "kind": "paragraph",
            "text_hash": hashlib.sha256(text.encode()).hexdigest()}).last_pk

    def link(self, rid, document, text, doc_type="other", score=0.6) -> int:
        pid = self.passage(document, text, doc_type)
        self.db["evidence"].insert({"passage_id": pid, "requirement_id": rid, "score": score, "rank": 1})
        return pid

    def candidate(self, rid, document, text, doc_type="other", score=0.4) -> int:
        pid = self.passage(document, text, doc_type)
        self.db["candidates"].insert({"passage_id": pid, "requirement_id": rid, "score": score})
        return pid

    def done(self):
        from evidence.db import refresh_coverage

        refresh_coverage(self.conn)
        self.conn.commit()
        return self
