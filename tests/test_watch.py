"""The watched folder, on a temporary folder with real files the fixtures write."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import WHEN, FakeClock, answering, free_port

from evidence import open_pipeline
from evidence.watch import Watcher, WatchError
from samples import write_docx


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "shared-folder"
    path.mkdir()
    return path


@pytest.fixture
def watcher(tmp_path, folder):
    (tmp_path / "db").mkdir()
    pipeline = open_pipeline(tmp_path / "db" / "evidence.db", model="hash", workers=0)
    lines = []
    w = Watcher(pipeline, folder, settle=0.2, log=lines.append, clock=FakeClock())
    w.lines = lines
    return w


def until(condition, timeout=10.0, step=0.02):
    """Poll `condition` until it returns something true, for at most `timeout` seconds; return what it returned."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"gave up waiting after {timeout} s"
        time.sleep(step)
    return result


def settle(w, *paths, deleted=False, gone=()):
    """Notice the paths and handle them once they have settled (the first look records their fingerprints)."""
    for p in gone:
        w.notice(Path(p), deleted=True)
    for p in paths:
        w.notice(Path(p), deleted=deleted)
    outcomes = w.process_ready()  # the first look records each path's size and time
    w.clock.advance(w.settle)  # unchanged for the settle time
    outcomes += w.process_ready()
    assert not w.pending, w.pending
    return outcomes


def plan(folder, name, text):
    return write_docx(folder / name, "Relationship management plan", [("h1", "1 Governance"), ("p", text)], WHEN)


def q(w, sql, params=()):
    return w.pipeline.db.execute(sql, params).fetchall()


def test_a_whole_document_is_read_at_once_and_a_partial_one_waits(watcher, folder, tmp_path):
    """A finished copy of a Word file is read on the first look, without waiting for it to settle; the first
    half of one (a copy still landing) waits, past the settle time (a slow copy pauses between chunks), and once
    it has been still for the longer wait it is read and failed with its reason, like any damaged file."""
    w = watcher
    whole = plan(tmp_path, "whole.docx", "The joint risk register is reviewed monthly by both partners.")
    data = whole.read_bytes()
    os.replace(whole, folder / "whole.docx")
    (folder / "landing.docx").write_bytes(data[: len(data) // 2])
    w.notice(folder / "whole.docx")
    w.notice(folder / "landing.docx")
    outcomes = w.process_ready()  # the clock has not moved
    assert [(o.path.name, o.status) for o in outcomes] == [("whole.docx", "ok")]
    assert list(w.pending) == [folder / "landing.docx"]
    w.clock.advance(w.settle)
    assert w.process_ready() == [] and list(w.pending) == [folder / "landing.docx"]  # still landing, perhaps
    assert any("waiting  landing.docx: its end has not landed yet" in line for line in w.lines)
    w.clock.advance(w.incomplete_wait)
    outcomes = w.process_ready()
    assert [(o.path.name, o.status) for o in outcomes] == [("landing.docx", "failed")]


def test_added_modified_renamed_deleted(watcher, folder):
    w = watcher
    first = plan(folder, "RMP v3.docx", "The joint management team meets monthly and owns the joint risk register.")
    w.initial_scan()
    doc_id = q(w, "select id from documents")[0][0]

    plan(folder, "RMP v3.docx", "The exit strategy is reviewed every January by both senior executives.")
    outcomes = settle(w, first)
    assert [o.status for o in outcomes] == ["ok"]
    assert q(w, "select text from passages") == [("The exit strategy is reviewed every January by both senior executives.",)]
    versions = q(w, "select id, replaced_at, removed_at from document_versions where document_id = ? order by id", [doc_id])
    assert len(versions) == 2 and versions[0][1] is not None and versions[1][1] is None
    assert q(w, "select text from passage_history where version_id = ?", [versions[0][0]]) == [
        ("The joint management team meets monthly and owns the joint risk register.",)]

    renamed = folder / "archive" / "Joint RMP.docx"
    renamed.parent.mkdir()
    first.rename(renamed)
    settle(w, renamed, gone=[first])  # a rename arrives as one batch: the old path gone, the new one added
    assert q(w, "select id, name from documents") == [(doc_id, "Joint RMP.docx")]
    assert any("moved" in line for line in w.lines)

    renamed.unlink()
    settle(w, renamed, deleted=True)
    assert q(w, "select count(*) from documents") == [(0,)]
    assert q(w, "select count(*) from passages") == [(0,)]
    removed = q(w, "select removed_at from document_versions where document_id = ? and removed_at is not null", [doc_id])
    assert len(removed) == 1
    assert any(line.split()[1] == "deleted" for line in w.lines)
    # a later document never reuses the id that history gives to this one
    plan(folder, "Other.docx", "Value created together is recorded in the value register each quarter.")
    settle(w, folder / "Other.docx")
    assert q(w, "select id from documents") != [(doc_id,)]


def test_unchanged_file_is_never_read_again(watcher, folder, monkeypatch):
    w = watcher
    path = plan(folder, "plan.docx", "The joint risk register is reviewed monthly by both partners.")
    w.initial_scan()
    read = []
    import ingest.batch

    original = ingest.batch.read_document
    monkeypatch.setattr(ingest.batch, "read_document", lambda p, *a: read.append(p) or original(p, *a))
    os.utime(path)  # touched, same bytes
    settle(w, path)
    assert read == []


def test_a_file_still_being_written_waits_until_it_settles(watcher, folder):
    w = watcher
    w.initial_scan()
    growing = folder / "notes.txt"
    with growing.open("w") as fh:
        fh.write("The joint management team reviewed the risk register. ")
        fh.flush()
        w.notice(growing)
        for _ in range(5):  # keeps changing, for longer than the settle time in all: never ready
            w.clock.advance(0.1)
            fh.write("More text arrives. ")
            fh.flush()
            assert w.process_ready() == []
    assert q(w, "select count(*) from documents") == [(0,)]
    # once it stays still for the settle time it is read, once
    assert w.process_ready() == []
    w.clock.advance(w.settle)
    assert [o.status for o in w.process_ready()] == ["ok"]
    assert w.process_ready() == []
    assert q(w, "select count(*) from documents") == [(1,)]


def test_lock_and_temporary_files_are_ignored(watcher, folder):
    w = watcher
    w.initial_scan()
    for name in ("~$plan.docx", ".~lock.plan.docx#", "plan.docx.tmp"):
        (folder / name).write_bytes(b"lock")
        w.notice(folder / name)
    assert w.pending == {}


def test_a_file_deleted_into_a_trash_folder_inside_the_watched_one_stops_counting(watcher, folder):
    """The desktop moves it to `.Trash-1000/files/`: a hidden folder the scan passes over, so a deletion, not a move."""
    w = watcher
    path = plan(folder, "RMP.docx", "The joint management team meets monthly and owns the joint risk register.")
    w.initial_scan()
    trash = folder / ".Trash-1000" / "files"
    trash.mkdir(parents=True)
    path.rename(trash / "RMP.docx")
    w.notice(trash.parent)
    settle(w, trash / "RMP.docx", gone=[path])
    assert q(w, "select count(*) from documents") == [(0,)]
    assert [o.status for o in w.initial_scan()] == []  # and a restart's scan agrees


def test_a_link_out_of_the_watched_folder_is_refused_as_the_scan_refuses_it(watcher, folder, tmp_path):
    w = watcher
    w.initial_scan()
    secret = tmp_path / "secret.txt"
    secret.write_text("The exit strategy is reviewed every January by the board.")
    (folder / "link.txt").symlink_to(secret)
    (folder / "inside.docx").symlink_to(plan(folder, "plan.docx", "The joint risk register is reviewed monthly."))
    outcomes = settle(w, folder / "link.txt", folder / "inside.docx", folder / "plan.docx")
    statuses = sorted((o.path.name, o.status, o.error) for o in outcomes)
    assert statuses == [("link.txt", "skipped", f"symbolic link to {secret}, outside the folder: not followed "
                                                "(use --follow-links)"), ("plan.docx", "ok", "")]
    assert q(w, "select count(*) from passages p join documents d on d.id = p.document_id where d.name = 'link.txt'") \
        == [(0,)]
    assert sorted(o.status for o in w.initial_scan()) == ["skipped", "unchanged"]  # the scan says the same
    # a file written under a linked folder that leads out: its event names it under the watched folder
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder / "sub").symlink_to(outside)
    (outside / "secret.txt").write_text("The exit strategy is reviewed every January by the board.")
    outcomes = settle(w, folder / "sub" / "secret.txt")
    assert [(o.path.name, o.status, o.error) for o in outcomes] == [
        ("secret.txt", "skipped", f"reached through a link to {outside}, outside the folder: not followed "
                                  "(use --follow-links)")]
    assert q(w, "select count(*) from documents where name = 'secret.txt' and status = 'ok'") == [(0,)]


def test_a_renamed_or_moved_in_folder_keeps_its_documents(watcher, folder, tmp_path):
    """A rename brings one event for the folder and none for the files under it: they are read from the folder,
    found as moved, and keep their evidence."""
    w = watcher
    (folder / "2025").mkdir()
    plan(folder / "2025", "RMP.docx", "The joint management team meets monthly and owns the joint risk register.")
    w.initial_scan()
    doc_id = q(w, "select id from documents")[0][0]
    (folder / "2025").rename(folder / "2025 archive")
    outcomes = settle(w, folder / "2025 archive", gone=[folder / "2025"])
    assert [(o.path.name, o.status, o.error) for o in outcomes] == [
        ("RMP.docx", "unchanged", "moved from an earlier path")]
    assert q(w, "select id, path from documents") == [(doc_id, str(folder / "2025 archive" / "RMP.docx"))]
    elsewhere = tmp_path / "from elsewhere"
    elsewhere.mkdir()
    plan(elsewhere, "Charter.docx", "Both partners signed the collaboration charter and share its values.")
    elsewhere.rename(folder / "from elsewhere")
    assert [(o.path.name, o.status) for o in settle(w, folder / "from elsewhere")] == [("Charter.docx", "ok")]
    (folder / "linked").symlink_to(tmp_path / "db")  # a link to a folder outside: refused, as the scan refuses it
    assert [(o.path.name, o.status) for o in settle(w, folder / "linked")] == [("linked", "skipped")]


def test_a_folder_copied_in_waits_for_the_files_still_being_written(watcher, folder, tmp_path):
    """A folder that appears is read file by file: what is complete is read at once, a file still landing is
    queued to settle like any other, never stored as a damaged file."""
    w = watcher
    w.initial_scan()
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    plan(incoming, "RMP.docx", "The joint management team meets monthly and owns the joint risk register.")
    whole = plan(tmp_path, "Charter.docx", "Both partners signed the collaboration charter and share its values.")
    landing = incoming / "Charter.docx"
    landing.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    os.utime(landing, (time.time() + 5, time.time() + 5))  # still being written: touched as it is looked at
    incoming.rename(folder / "incoming")
    w.notice(folder / "incoming")
    outcomes = w.process_ready()
    w.clock.advance(w.settle)
    outcomes += w.process_ready()
    assert [(o.path.name, o.status) for o in outcomes] == [("RMP.docx", "ok")]
    assert list(w.pending) == [folder / "incoming" / "Charter.docx"]
    (folder / "incoming" / "Charter.docx").write_bytes(whole.read_bytes())  # the copy completes
    assert [(o.path.name, o.status) for o in settle(w)] == [("Charter.docx", "ok")]
    assert q(w, "select count(*) from documents where status = 'failed'") == [(0,)]


def test_new_version_under_a_new_name_is_a_new_document_in_the_same_family(watcher, folder):
    w = watcher
    plan(folder, "RMP v3.docx", "Version three of the plan sets out the joint objectives for the year.")
    plan(folder, "RMP v4.docx", "Version four of the plan updates the joint objectives and the exit strategy.")
    w.initial_scan()
    rows = q(w, "select name, family from documents order by name")
    assert rows == [("RMP v3.docx", "rmp"), ("RMP v4.docx", "rmp")]


def test_restart_catches_up_with_changes_made_meanwhile(tmp_path, folder):
    db = tmp_path / "db" / "evidence.db"
    db.parent.mkdir()
    keep = plan(folder, "keep.docx", "The joint risk register is reviewed monthly by both partners.")
    gone = plan(folder, "gone.docx", "The exit strategy is reviewed every January by the board.")
    Watcher(open_pipeline(db, model="hash", workers=0), folder, log=lambda _: None).initial_scan()
    gone.unlink()
    plan(folder, "new.docx", "Lessons learned are recorded after each scheme and shared.")
    outcomes = Watcher(open_pipeline(db, model="hash", workers=0), folder, log=lambda _: None).initial_scan()
    assert sorted((o.path.name, o.status) for o in outcomes) == [
        ("gone.docx", "removed"), ("keep.docx", "unchanged"), ("new.docx", "ok")]
    assert keep.exists()


def test_database_inside_the_watched_folder_is_refused(folder):
    pipeline = open_pipeline(folder / "evidence.db", model="hash")
    with pytest.raises(WatchError, match="inside the watched folder"):
        Watcher(pipeline, folder)


def test_database_on_a_network_share_is_refused(watcher, folder, monkeypatch):
    import evidence.watch as watch

    monkeypatch.setattr(watch, "filesystem_type", lambda path: "nfs4")
    with pytest.raises(WatchError, match="WAL mode.*does not work there"):
        Watcher(watcher.pipeline, folder)


def _big_docx(path: Path, paragraphs: int = 60) -> Path:
    blocks = [("h1", "1 Plan")] + [("p", f"Paragraph {i}: the joint management team reviews risk, value and the "
                                         f"exit strategy with both senior executives responsible.") for i in range(paragraphs)]
    return write_docx(path, "Big plan", blocks, WHEN)


def _start_watcher(folder, db):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "evidence", "watch", str(folder), "--db", str(db), "--model", "hash",
                             "--settle", "0.2", "--workers", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)


def _wait_for(proc, needle, timeout=60):
    """Read the process's output until a line holds `needle`, without blocking past the timeout."""
    import queue
    import threading

    if not hasattr(proc, "lines"):
        proc.lines = queue.Queue()
        threading.Thread(target=lambda: [proc.lines.put(line) for line in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            line = proc.lines.get(timeout=0.2)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"never saw {needle!r}: {''.join(seen)}")


def _watch_and_stop_inside_a_write(folder, db, watching, storing):
    """A forked process: the watcher as `evidence watch` runs it, held, never to go on, inside the transaction
    that writes big.docx (its document and passages written, its links not yet, nothing committed)."""
    from evidence.store import DocumentStore

    write_links = DocumentStore._write_links

    def held(self, passage_ids, links):
        if self.db.execute("select 1 from documents where name = 'big.docx'").fetchone():
            storing.set()
            time.sleep(120)  # until the test kills this process
        return write_links(self, passage_ids, links)

    DocumentStore._write_links = held
    pipeline = open_pipeline(db, model="hash", workers=0)
    Watcher(pipeline, folder, settle=0.2, log=lambda line: " watching " in line and watching.set()).run()


def test_kill_9_mid_ingest_loses_nothing_and_restart_catches_up(tmp_path, folder):
    import multiprocessing

    db = tmp_path / "db" / "evidence.db"
    db.parent.mkdir()
    plan(folder, "small.docx", "The joint risk register is reviewed monthly by both partners.")
    big = _big_docx(tmp_path / "big.docx")
    # forked (the modules are loaded already) and killed at a moment it signals, not after a guessed wait: the
    # kill lands inside the write of big.docx every time
    ctx = multiprocessing.get_context("fork")
    watching, storing = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_watch_and_stop_inside_a_write, args=(folder, db, watching, storing), daemon=True)
    proc.start()
    try:
        assert watching.wait(60), f"the watcher never said it was watching (exit code {proc.exitcode})"
        shutil.copy(big, folder / "big.docx")
        assert storing.wait(60), f"the watcher never wrote big.docx (exit code {proc.exitcode})"
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
    finally:
        proc.kill()
    assert proc.exitcode == -signal.SIGKILL
    con = sqlite3.connect(db)
    assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert con.execute("select count(*) from passages where document_id not in (select id from documents)").fetchone()[0] == 0
    for name, recorded, actual in con.execute(
            "select d.name, d.passage_count, (select count(*) from passages p where p.document_id = d.id) from documents d"):
        assert recorded == actual, f"{name} is half-written"
    assert con.execute("select count(*) from documents where name = 'small.docx'").fetchone()[0] == 1
    assert con.execute("select count(*) from documents where name = 'big.docx'").fetchone()[0] == 0  # all or nothing
    # a restart scans first, as `evidence watch` does: it reads what the killed one never committed
    Watcher(open_pipeline(db, model="hash", workers=0), folder, log=lambda _: None).initial_scan()
    row = con.execute("select passage_count, (select count(*) from passages p where p.document_id = d.id) "
                      "from documents d where name = 'big.docx'").fetchone()
    assert row is not None and row[0] == row[1] and row[0] >= 50


def test_the_watcher_answers_its_first_drop_after_a_cold_start(tmp_path, folder):
    """A new database and an empty folder: the first document dropped once the watcher says "watching" is read
    and mapped, without a restart or a second event."""
    db = tmp_path / "db" / "evidence.db"
    db.parent.mkdir()
    proc = _start_watcher(folder, db)
    try:
        _wait_for(proc, "watching")
        staged = plan(tmp_path, "first.docx", "The joint management team reviews the joint risk register monthly.")
        os.replace(staged, folder / "first.docx")  # dropped whole, as a finished copy lands
        _wait_for(proc, "first.docx")
        row = until(lambda: sqlite3.connect(db).execute(
            "select d.status, (select count(*) from evidence e join passages p on p.id = e.passage_id "
            "where p.document_id = d.id) from documents d where d.name = 'first.docx'").fetchone(), timeout=30)
    finally:
        proc.terminate()
        proc.wait(10)
    assert row[0] == "ok" and row[1] > 0, row


def test_serve_with_watch_shows_a_dropped_document_while_answering(tmp_path, folder):
    import json
    import urllib.request

    from click.testing import CliRunner

    from evidence.cli import cli

    db = tmp_path / "db" / "evidence.db"
    db.parent.mkdir()
    assert CliRunner().invoke(cli, ["ingest", str(folder), "--db", str(db), "--model", "hash"]).exit_code == 0
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "evidence", "serve", "--db", str(db), "--port", str(port),
                             "--watch", str(folder), "--settle", "0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    url = f"http://127.0.0.1:{port}/evidence/documents.json?_shape=array&name=dropped.docx"
    try:
        _wait_for(proc, "watching")
        assert answering(f"http://127.0.0.1:{port}")  # and the web server is listening
        plan(folder, "dropped.docx", "The joint management team reviews the joint risk register every month.")
        deadline, rows, answers = time.monotonic() + 30, [], 0
        while time.monotonic() < deadline and not rows:
            with urllib.request.urlopen(url, timeout=5) as response:
                assert response.status == 200
                rows = json.loads(response.read())
                answers += 1
            time.sleep(0.05)
        assert rows and rows[0]["status"] == "ok" and rows[0]["passage_count"] == 1
        assert answers >= 2  # Datasette answered while the watcher was working
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert "database is locked" not in output
    state = sqlite3.connect(db).execute("select value from settings where key = 'watcher_state'").fetchone()
    assert state == ("stopped",)  # stopped with the server, and the front page says so


def test_what_changed_lists_versions_and_removals(watcher, folder):
    import asyncio

    from evidence.serve import build_datasette

    w = watcher
    path = plan(folder, "RMP.docx", "The joint management team meets monthly and owns the joint risk register.")
    w.initial_scan()
    plan(folder, "RMP.docx", "The exit strategy is reviewed every January by both senior executives.")
    settle(w, path)
    path.unlink()
    settle(w, path, deleted=True)
    db_file = w.pipeline.db.conn.execute("pragma database_list").fetchone()[2]
    ds = build_datasette([db_file])
    rows = asyncio.run(ds.client.get("/evidence/changes.json?since=&_shape=objects")).json()["rows"]
    assert sorted(r["what"] for r in rows) == ["removed", "replaced by a newer version"]


def test_an_error_in_one_file_is_recorded_and_the_watcher_goes_on(watcher, folder, monkeypatch):
    w = watcher
    w.initial_scan()
    store = w.pipeline.store

    def failing_store(result, sha):
        if result.path.name == "bad.docx":
            raise RuntimeError("disk full")
        return store(result, sha)

    monkeypatch.setattr(w.pipeline, "store", failing_store)
    bad = plan(folder, "bad.docx", "The exit strategy is reviewed every January by the board.")
    good = plan(folder, "good.docx", "The joint risk register is reviewed monthly by both partners.")
    outcomes = settle(w, bad, good)
    assert [(o.path.name, o.status) for o in outcomes] == [("good.docx", "ok")]
    assert [n for n, in q(w, "select name from documents")] == ["good.docx"]
    assert any("ERROR" in line and "bad.docx" in line and "disk full" in line for line in w.lines)
    status = dict(q(w, "select key, value from settings where key like 'watcher_%'"))
    assert status["watcher_last_error"] == "RuntimeError: disk full"
    assert status["watcher_last_error_at"] and status["watcher_state"] == "running"
    # a failing removal is recorded the same way, and the next file is still read
    monkeypatch.setattr(w.pipeline, "remove", lambda path: 1 / 0)
    good.unlink()
    settle(w, good, deleted=True)
    assert "ZeroDivisionError" in dict(q(w, "select key, value from settings"))["watcher_last_error"]
    later = plan(folder, "later.docx", "Lessons learned are recorded after each scheme and shared.")
    assert [o.status for o in settle(w, later)] == ["ok"]
    assert dict(q(w, "select key, value from settings"))["watcher_last_file"] == str(later)
    # and the front page says so
    import asyncio

    from evidence.serve import build_datasette

    db_file = w.pipeline.db.conn.execute("pragma database_list").fetchone()[2]
    page = asyncio.run(build_datasette([db_file]).client.get("/")).text
    assert "Folder watcher: <strong>running</strong>" in page and "ZeroDivisionError" in page


def test_a_background_watcher_that_stops_says_why_and_records_it(tmp_path, folder):
    """`serve --watch` runs the watcher beside the web server: an error that ends it is said, kept and shown."""
    from evidence.watch import BackgroundWatch

    lines: list[str] = []
    db = tmp_path / "bg.db"

    def build() -> Watcher:
        w = Watcher(open_pipeline(db, model="hash", workers=0), folder, settle=0.2, log=lines.append)

        def run():
            raise RuntimeError("watched folder unmounted")
        w.run = run
        return w

    background = BackgroundWatch(build, log=lines.append).start()
    background.thread.join(30)
    assert not background.thread.is_alive()
    assert isinstance(background.error, RuntimeError)
    assert any("the watcher stopped: RuntimeError: watched folder unmounted" in line for line in lines), lines
    status = dict(sqlite3.connect(db).execute("select key, value from settings where key like 'watcher_%'"))
    assert status["watcher_state"] == "stopped"
    assert status["watcher_last_error"] == "RuntimeError: watched folder unmounted"


def test_a_folder_put_in_the_place_of_another_of_its_name_retires_the_files_it_lacks(watcher, folder, tmp_path):
    w = watcher
    (folder / "2025").mkdir()
    plan(folder / "2025", "RMP.docx", "The joint management team meets monthly and owns the joint risk register.")
    plan(folder / "2025", "Old.docx", "The exit strategy is reviewed every January by both senior executives.")
    w.initial_scan()
    shutil.rmtree(folder / "2025")
    replacement = tmp_path / "2025"
    replacement.mkdir()
    plan(replacement, "RMP.docx", "The joint management team meets monthly and owns the joint risk register.")
    replacement.rename(folder / "2025")  # swapped in before the deletion was seen: one event for the folder
    outcomes = settle(w, folder / "2025")
    statuses = dict((o.path.name, o.status) for o in outcomes)
    assert statuses["Old.docx"] == "removed" and statuses["RMP.docx"] in ("ok", "unchanged")
    assert q(w, "select name from documents") == [("RMP.docx",)]
