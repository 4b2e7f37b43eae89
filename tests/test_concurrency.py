"""Several writers on one database: nothing lost, nothing stopped for a lock."""

import os
import sqlite3
import subprocess
import sys
import time

from click.testing import CliRunner

from evidence.cli import cli

TEXT = "The joint management team reviews the joint risk register at every monthly meeting, note {}."


def _folder(root, name, files):
    folder = root / name
    folder.mkdir()
    for i in range(files):
        (folder / f"{name}-{i:02}.txt").write_text(TEXT.format(f"{name} {i}") + "\n")
    return folder


def _ingest(folder, db):
    return subprocess.Popen([sys.executable, "-m", "evidence", "ingest", str(folder), "--db", str(db),
                             "--model", "hash", "--workers", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _requirements_exist(db) -> bool:
    try:
        with sqlite3.connect(db) as con:
            return con.execute("select count(*) from requirements").fetchone()[0] > 0
    except sqlite3.Error:  # not created yet, or mid-migration
        return False


def test_two_ingests_and_reviews_on_one_new_database_lose_nothing(tmp_path):
    db = tmp_path / "new.db"
    a, b = _folder(tmp_path, "alpha", 25), _folder(tmp_path, "beta", 25)
    procs = [_ingest(a, db), _ingest(b, db)]
    reviews = []
    try:
        while not _requirements_exist(db) and all(p.poll() is None for p in procs):
            time.sleep(0.02)
        # assessors record decisions while both ingests write
        while any(p.poll() is None for p in procs) or len(reviews) < 10:
            result = CliRunner().invoke(cli, ["review", "BS11000-S1.1", "--db", str(db), "--decision", "not_applicable",
                                              "--reviewer", "alice", "--comment", f"review {len(reviews)}"])
            reviews.append((result.exit_code, result.output))
        outputs = [p.communicate(timeout=120)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all("Processed 25 documents, 0 failed" in out for out in outputs), outputs
    assert [r for r in reviews if r[0] != 0] == []
    con = sqlite3.connect(db)
    names = {n for n, in con.execute("select name from documents where status = 'ok'")}
    assert names == {p.name for p in (*a.iterdir(), *b.iterdir())}
    assert con.execute("select count(*) from reviews").fetchone()[0] == len(reviews)
    migrations = [n for n, in con.execute("select name from _sqlite_migrations")]
    assert len(migrations) == len(set(migrations))
