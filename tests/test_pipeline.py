"""The database contract and the pipeline's guarantees, on the sample pack with the fake embedder."""

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import copy_database

from evidence import open_pipeline
from evidence.db import open_db
from evidence.pipeline import IngestError, Pipeline
from evidence.serve import files_dir_for
from mapping import MappingConfig

CONTRACT = {
    "documents": {"id", "path", "sha256", "format", "doc_type", "title", "status", "error", "ingested_at"},
    "passages": {"id", "document_id", "text", "location"},
    "requirements": {"id", "framework", "stage", "title", "description"},
    "evidence": {"passage_id", "requirement_id", "score", "rank", "via"},
    "candidates": {"passage_id", "requirement_id", "score"},
    "coverage": {"requirement_id", "status", "evidence_count", "best_score"},
}


def test_contract_tables_and_columns(pack_db, catalogue):
    db = open_db(pack_db)
    for table, columns in CONTRACT.items():
        found = set(db[table].columns_dict)  # tables and views alike
        assert columns <= found, (table, columns - found)
    assert {s for s, in db.execute("select distinct status from documents")} <= {"ok", "partial", "failed", "skipped"}
    assert {s for s, in db.execute("select distinct status from coverage")} <= {"evidenced", "weak", "gap", "not_applicable"}
    assert {r for r, in db.execute("select id from requirements")} == {r.id for r in catalogue}


def test_passage_ids_follow_reading_order(fake_pipeline, make_docx):
    path = make_docx("order.docx", [("h1", "1 First"), ("p", "Alpha paragraph comes first in the document body."),
                                    ("h1", "2 Second"), ("p", "Beta paragraph comes second in the document body.")])
    fake_pipeline.ingest([path])
    texts = [t for t, in fake_pipeline.db.execute("select text from passages order by id")]
    assert texts == ["Alpha paragraph comes first in the document body.", "Beta paragraph comes second in the document body."]
    locations = [loc for loc, in fake_pipeline.db.execute("select location from passages order by id")]
    assert locations == ["section 1, paragraph 1", "section 2, paragraph 1"]


def test_reingesting_unchanged_files_duplicates_nothing(hash_pack, pack_db, sample_pack):
    first = hash_pack[1]  # the ingest that built the database pack_db copies
    pipeline = open_pipeline(pack_db, model="hash", workers=0)
    counts = _counts(pipeline.db)
    second = pipeline.ingest([sample_pack])
    assert {o.status for o in second.outcomes} == {"unchanged"} and len(second.outcomes) == len(first.outcomes)
    assert _counts(pipeline.db) == counts
    assert first.summary() == f"Processed {len(list(sample_pack.iterdir()))} documents, 0 failed"


def test_modified_file_replaces_its_passages(fake_pipeline, make_docx):
    path = make_docx("plan.docx", [("p", "The joint risk register is reviewed monthly by both partners.")])
    fake_pipeline.ingest([path])
    make_docx("plan.docx", [("p", "The exit strategy is reviewed every January by the board.")])
    fake_pipeline.ingest([path])
    db = fake_pipeline.db
    assert db.execute("select count(*) from documents").fetchone()[0] == 1
    assert [t for t, in db.execute("select text from passages")] == ["The exit strategy is reviewed every January by the board."]
    orphans = db.execute("select count(*) from evidence where passage_id not in (select id from passages)").fetchone()[0]
    assert orphans == 0


def test_moved_file_keeps_its_document(fake_pipeline, sample_pack, tmp_path):
    folder = tmp_path / "docs"
    shutil.copytree(sample_pack, folder)
    fake_pipeline.ingest([folder])
    before = fake_pipeline.db.execute("select id, sha256 from documents where name = 'joint-risk-register.xlsx'").fetchone()
    (folder / "joint-risk-register.xlsx").rename(folder / "risk-register-renamed.xlsx")
    report = fake_pipeline.ingest([folder])
    moved = [o for o in report.outcomes if o.path.name == "risk-register-renamed.xlsx"][0]
    assert moved.status == "unchanged" and moved.error == "moved from an earlier path"
    after = fake_pipeline.db.execute("select id, sha256, name from documents where id = ?", [before[0]]).fetchone()
    assert after == (before[0], before[1], "risk-register-renamed.xlsx")


def test_ingesting_a_folder_retires_the_documents_whose_files_were_deleted(fake_pipeline, sample_pack, tmp_path):
    folder = tmp_path / "docs"
    shutil.copytree(sample_pack, folder)
    fake_pipeline.ingest([folder])
    db = fake_pipeline.db
    doc_id, = db.execute("select id from documents where name = 'joint-risk-register.xlsx'").fetchone()
    evidence = "select count(*) from evidence e join passages p on p.id = e.passage_id where p.document_id = ?"
    assert db.execute(evidence, [doc_id]).fetchone()[0] > 0
    (folder / "joint-risk-register.xlsx").unlink()
    fake_pipeline.ingest([folder / "alliance-collaboration-charter.docx"])  # a file named alone retires nothing
    assert db.execute("select count(*) from documents where id = ?", [doc_id]).fetchone()[0] == 1
    shown = []
    report = fake_pipeline.ingest([folder], on_result=shown.append)
    changed = [(o.path.name, o.status) for o in report.outcomes if o.status != "unchanged"]
    assert changed == [("joint-risk-register.xlsx", "removed")] and shown == report.outcomes
    assert db.execute("select count(*) from documents where id = ?", [doc_id]).fetchone()[0] == 0
    assert db.execute(evidence, [doc_id]).fetchone()[0] == 0
    assert db.execute("select removed_at is not null from document_versions where document_id = ?",
                      [doc_id]).fetchone() == (1,)  # gone from the matrix, kept in history


def test_an_empty_folder_is_not_taken_for_every_file_deleted(fake_pipeline, sample_pack, tmp_path):
    """A share before it is mounted is an empty folder: ingesting it keeps what is stored, and says why."""
    folder = tmp_path / "share"
    shutil.copytree(sample_pack, folder)
    fake_pipeline.ingest([folder])
    stored = fake_pipeline.db.execute("select count(*) from documents").fetchone()[0]
    moved = tmp_path / "elsewhere"
    folder.rename(moved)
    folder.mkdir()  # the mount point, unmounted
    report = fake_pipeline.ingest([folder])
    assert [(o.path, o.status) for o in report.outcomes] == [(folder, "skipped")]
    assert f"the folder is empty (a share not mounted?): its {stored} stored document(s) are kept" in \
        report.outcomes[0].error
    assert fake_pipeline.db.execute("select count(*) from documents").fetchone()[0] == stored
    folder.rmdir()
    moved.rename(folder)  # mounted again: every file as it was
    (folder / "joint-risk-register.xlsx").unlink()  # and one really deleted
    changed = [(o.path.name, o.status) for o in fake_pipeline.ingest([folder]).outcomes if o.status != "unchanged"]
    assert changed == [("joint-risk-register.xlsx", "removed")]


def test_an_unreadable_newer_version_does_not_take_the_place_of_a_readable_one(fake_pipeline, make_docx):
    text = "The joint risk register is reviewed monthly by both partners."
    path = make_docx("plan.docx", [("p", text)])
    fake_pipeline.ingest([path])
    db = fake_pipeline.db
    evidence_before = db.execute("select count(*) from evidence").fetchone()[0]
    path.write_bytes(path.read_bytes()[:300])  # saved half-way, or corrupted
    outcomes = []
    report = fake_pipeline.ingest([path], on_result=outcomes.append)
    assert report.failed == 1 and "still counts" in outcomes[0].error
    doc = dict(zip(("status", "unread_error", "passage_count"),
                   db.execute("select status, unread_error, passage_count from documents").fetchone()))
    assert doc["status"] == "ok" and doc["passage_count"] == 1 and doc["unread_error"]
    assert [t for t, in db.execute("select text from passages")] == [text]
    assert db.execute("select count(*) from evidence").fetchone()[0] == evidence_before > 0
    assert fake_pipeline.ingest([path]).outcomes[0].status == "unchanged"  # not read again until it changes
    # a readable version replaces both, and history says what happened to each
    make_docx("plan.docx", [("p", "The exit strategy is reviewed every January by the board.")])
    fake_pipeline.ingest([path])
    assert db.execute("select unread_sha256 from documents").fetchone()[0] is None
    versions = db.execute("select status, replaced_at is not null from document_versions order by id").fetchall()
    assert versions == [("ok", 1), ("failed", 1), ("ok", 0)]


def test_the_version_read_back_again_ends_the_note_of_an_unread_newer_one(fake_pipeline, make_docx):
    from evidence.pages import document_detail

    path = make_docx("plan.docx", [("p", "The joint risk register is reviewed monthly by both partners.")])
    readable = path.read_bytes()
    fake_pipeline.ingest([path])
    path.write_bytes(readable[:300])  # a save that went wrong
    doc_id = fake_pipeline.ingest([path]).outcomes[0].document_id
    assert document_detail(fake_pipeline.db.conn, doc_id)["unread"]
    path.write_bytes(readable)  # restored from a backup
    assert fake_pipeline.ingest([path]).outcomes[0].status == "unchanged"  # not read again
    note = "select unread_sha256, unread_error, unread_at from documents where id = ?"
    assert fake_pipeline.db.execute(note, [doc_id]).fetchone() == (None, None, None)
    assert document_detail(fake_pipeline.db.conn, doc_id)["unread"] is None


def test_failed_files_are_recorded_and_the_batch_goes_on(fake_pipeline, sample_pack, tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(sample_pack, folder)
    (folder / "empty.docx").write_bytes(b"")
    (folder / "fake.xlsx").write_text("not a spreadsheet")
    report = fake_pipeline.ingest([folder])
    assert report.summary() == "Processed 10 documents, 2 failed"
    errors = dict(fake_pipeline.db.execute("select name, error from documents where status = 'failed'").fetchall())
    assert errors == {"empty.docx": "file is empty", "fake.xlsx": "not a Excel file although named .xlsx"}


def test_a_failure_while_storing_leaves_no_half_written_document(fake_pipeline, sample_pack, monkeypatch):
    fake_pipeline.ingest([sample_pack / "alliance-collaboration-charter.docx"])
    counts = _counts(fake_pipeline.db)

    def boom(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fake_pipeline.documents, "_write_links", boom)  # halfway through storing a file
    with pytest.raises(RuntimeError):
        fake_pipeline.ingest([sample_pack / "joint-risk-register.xlsx"])
    assert _counts(fake_pipeline.db) == counts
    assert fake_pipeline.db.execute("select count(*) from documents where name = 'joint-risk-register.xlsx'").fetchone()[0] == 0


def test_crosswalk_links_say_where_they_came_from(pack_db):
    db = open_db(pack_db)
    via = db.execute("select passage_id, requirement_id, via, rank from evidence where via is not null").fetchall()
    assert via, "no crosswalk links"
    for pid, rid, source, rank in via:
        assert rank is None
        assert db.execute("select 1 from evidence where passage_id = ? and requirement_id = ? and via is null",
                          [pid, source]).fetchone(), "crosswalk link without its direct BS 11000 link"
        assert db.execute("select 1 from crosswalk where requirement_id = ? and related_id = ?", [source, rid]).fetchone()
    direct = db.execute("select passage_id, group_concat(rank) from evidence where via is null group by passage_id").fetchall()
    for _, ranks in direct:
        ranks = sorted(int(r) for r in ranks.split(","))
        assert ranks == list(range(1, len(ranks) + 1))


def test_unchanged_text_is_never_embedded_twice(pack_db, sample_pack, tmp_path):
    pipeline = open_pipeline(pack_db, model="hash", workers=0)
    calls = []
    original = pipeline.embedder.embed
    pipeline.embedder.embed = lambda texts: calls.append(len(texts)) or original(texts)
    # the same documents at other paths: every text is already cached
    shutil.copytree(sample_pack, tmp_path / "copy")
    report = pipeline.ingest([tmp_path / "copy"])
    assert {o.status for o in report.outcomes} <= {"ok", "unchanged"} and sum(calls) == 0
    # while a text never seen before is embedded (so the count above would see embedding)
    (tmp_path / "new.txt").write_text("The joint exit strategy was rehearsed by both partners in a desk exercise.")
    pipeline.ingest([tmp_path / "new.txt"])
    assert sum(calls) > 0


def test_catalogue_change_remaps_without_re_embedding_passages(pack_db, tmp_path):
    db_path = pack_db
    extra = tmp_path / "mine.yaml"
    extra.write_text("""
framework: {id: ACME, name: ACME charter}
stages: [{id: "1", title: Principles}]
requirements:
  - id: ACME-1
    stage: "1"
    title: Joint risk register reviewed monthly
    description: The partners review one joint risk register every month. Look for the register.
    examples: [The joint risk register is reviewed at every monthly meeting.]
""")
    again = open_pipeline(db_path, catalogue_files=[extra], model="hash", workers=0)
    embedded = []
    original = again.embedder.embed
    again.embedder.embed = lambda texts: embedded.extend(texts) or original(texts)
    assert again.sync_catalogue() is True
    passage_texts = {t for t, in again.db.execute("select text from passages")}
    assert not passage_texts & set(embedded)
    assert again.db.execute("select count(*) from requirements where framework = 'ACME'").fetchone()[0] == 1
    # the catalogue files are remembered by the database for later runs
    assert "ACME-1" in open_pipeline(db_path, model="hash").catalogue.requirements


def test_a_remap_stopped_half_way_is_done_again_on_the_next_run(pack_db, tmp_path):
    """The new stamp is written once every document is re-mapped: a run killed after the first document must not
    leave the others with the old mapping's links for good."""
    clean = copy_database(pack_db, tmp_path / "clean.db")
    settings = MappingConfig(evidence_z=3.0)  # another mapping: every document's links change
    stopped = open_pipeline(pack_db, model="hash", workers=0, config=settings)
    relink, done = stopped.documents.relink, []

    def stop_after_one(doc_id, links_for):
        if done:
            raise KeyboardInterrupt
        done.append(doc_id)
        return relink(doc_id, links_for)

    stopped.documents.relink = stop_after_one
    with pytest.raises(KeyboardInterrupt):
        stopped.sync_catalogue()
    assert open_pipeline(pack_db, model="hash", workers=0, config=settings).sync_catalogue() is True
    assert open_pipeline(clean, model="hash", workers=0, config=settings).sync_catalogue() is True
    links = "select d.path, p.text, e.requirement_id, e.rank from evidence e join passages p on p.id = e.passage_id " \
            "join documents d on d.id = p.document_id order by 1, 2, 3"
    assert open_db(pack_db).execute(links).fetchall() == open_db(clean).execute(links).fetchall()


def test_missing_path_is_a_named_error(fake_pipeline, tmp_path):
    with pytest.raises(IngestError, match="no such file or folder"):
        fake_pipeline.ingest([tmp_path / "nowhere"])


def test_every_sample_document_is_dated_by_its_story_not_by_when_it_was_written(pack_db):
    """Spreadsheets and the scan carry their own dates, as real ones do: the stale-evidence query has something
    to say about the sample pack (openpyxl stamps a workbook modified now unless written around that)."""
    dates = dict(open_db(pack_db).execute("select name, document_date from documents").fetchall())
    assert all(dates.values()), dates
    assert max(dates.values()) < "2026-07", dates


def test_content_addressed_copies_are_kept(pack_db, sample_pack):
    from evidence.serve import files_dir_for

    documents = open_db(pack_db).execute("select sha256, format from documents").fetchall()
    assert len(documents) == len(list(sample_pack.iterdir()))
    for sha, fmt in documents:
        copy = files_dir_for(pack_db) / sha[:2] / f"{sha}.{fmt}"
        assert copy.is_file()


def test_migrations_are_idempotent(db_path):
    from evidence.migrations import migrations

    open_db(db_path)
    db = open_db(db_path)
    names = [r["name"] for r in db.query("select name from _sqlite_migrations order by rowid")]
    assert names == [m.name for m in migrations._migrations]  # each applied once, none left out


def test_a_view_of_another_definition_is_made_anew_without_a_migration(pack_db):
    from evidence.db import needs_upgrade

    db = open_db(pack_db)
    assert not needs_upgrade(db)
    with db.conn:  # a database whose matrix an earlier release defined otherwise
        db.execute("drop view matrix")
        db.execute("create view matrix as select id as requirement_id from requirements")
    assert needs_upgrade(db)
    db = open_db(pack_db)
    assert not needs_upgrade(db)
    row = db.execute("select requirement_id, status, best_evidence from matrix where status = 'evidenced'").fetchone()
    assert row is not None and row[2], row


def test_a_database_from_before_the_coverage_table_upgrades_with_coverage_filled(tmp_path, catalogue):
    import sqlite_utils

    from evidence.migrations import migrations

    old = sqlite_utils.Database(tmp_path / "old.db")
    migrations.apply(old, stop_before="m006_coverage_table")
    old["requirements"].insert_all([{"id": r.id, "framework": r.framework, "stage": r.stage, "title": r.title,
                                     "position": i} for i, r in enumerate(catalogue)])
    old["documents"].insert({"id": 1, "path": "/x/plan.docx", "name": "plan.docx", "status": "ok"})
    old["passages"].insert({"id": 1, "document_id": 1, "text": "The SERs chair the JMT.", "text_hash": "h"})
    old["evidence"].insert({"passage_id": 1, "requirement_id": "BS11000-S5.1", "score": 0.9, "rank": 1})
    old.close()
    db = open_db(tmp_path / "old.db")
    status = dict(db.execute("select requirement_id, status from coverage").fetchall())
    assert len(status) == len(catalogue) and status["BS11000-S5.1"] == "evidenced", status


def test_upgrade_keeps_the_text_of_earlier_reviews(pack_db):
    from evidence.reviews import record_review

    conn = open_db(pack_db).conn
    pid, text = conn.execute("select id, text from passages order by id limit 1").fetchone()
    with conn:
        record_review(conn, "BS11000-S5.9", "accept", "alice", pid)
        # the database as m007 left it: reviews without their text
        conn.execute("update reviews set passage_text = null")
        conn.execute("delete from _sqlite_migrations where name = 'm008_review_text'")
    conn.execute("alter table reviews rename column passage_text to unused")
    db = open_db(pack_db)
    assert db.execute("select passage_text from reviews").fetchone()[0] == text


def _counts(db):
    return {t: db.execute(f"select count(*) from {t}").fetchone()[0]
            for t in ("documents", "passages", "evidence", "candidates")}


def _norm(text: str) -> str:
    """score.py's normal form: a label's key must appear in a passage after it."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def test_the_sample_pack_labels_of_the_bench_still_find_their_passages(sample_pack):
    import json

    from ingest import read_document

    texts = {p.name: [_norm(x.text) for x in read_document(p).passages] for p in sample_pack.iterdir()}
    gold = [json.loads(line) for line in (Path(__file__).parent.parent / "bench" / "packs" /
                                          "sample-pack.gold.jsonl").read_text().splitlines()]
    missing = [g["key"] for g in gold if not any(_norm(g["key"]) in t for t in texts[g["file"]])]
    assert len(gold) == 68 and missing == []


def test_the_it_pack_of_the_bench_writes_every_labelled_passage(tmp_path):
    import importlib.util

    from ingest import read_document

    # the bench is not an installed package: load its pack builder from the file
    spec = importlib.util.spec_from_file_location(
        "it_partnership", Path(__file__).parent.parent / "bench" / "packs" / "it_partnership.py")
    it_partnership = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(it_partnership)

    texts = {p.name: " | ".join(_norm(x.text) for x in read_document(p).passages)
             for p in it_partnership.write_pack(tmp_path)}
    gold = it_partnership.gold()
    assert [g["key"] for g in gold if _norm(g["key"]) not in texts[g["file"]]] == []
    assert sum(bool(g["labels"]) for g in gold) == 31 and sum(not g["labels"] for g in gold) == 17


class CountingEmbedder:
    """The hash embedder, counting the strings it is asked to encode."""

    def __init__(self):
        from mapping import HashEmbedder

        self.inner, self.encoded = HashEmbedder(), []
        self.name = self.inner.name

    def embed(self, texts):
        self.encoded += list(texts)
        return self.inner.embed(texts)


def _fresh_pipeline(folder: Path, catalogue, embedder) -> Pipeline:
    folder.mkdir()
    db = folder / "evidence.db"
    return Pipeline(open_db(db), catalogue, embedder, files_dir_for(db), workers=0)


def test_a_second_fresh_database_reuses_the_catalogue_vectors(tmp_path, catalogue, monkeypatch):
    monkeypatch.setenv("EVIDENCE_CACHE_DIR", str(tmp_path / "cache"))
    embedder = CountingEmbedder()
    first = _fresh_pipeline(tmp_path / "one", catalogue, embedder).mapper.profiles
    assert len(embedder.encoded) > len(catalogue)  # descriptions, examples and background text
    embedder.encoded.clear()
    second = _fresh_pipeline(tmp_path / "two", catalogue, embedder).mapper.profiles
    assert embedder.encoded == []  # no encoder call for the catalogue
    assert np.array_equal(first.example_vectors, second.example_vectors)
    assert np.array_equal(first.description_vectors, second.description_vectors)
    # with the per-user cache switched off, a new database encodes the catalogue again
    monkeypatch.setenv("EVIDENCE_CACHE_DIR", "off")
    assert _fresh_pipeline(tmp_path / "three", catalogue, embedder).mapper.profiles is not None
    assert len(embedder.encoded) >= len(catalogue)


def test_an_unwritable_vector_cache_is_switched_off_not_fatal(tmp_path, catalogue, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("EVIDENCE_CACHE_DIR", str(blocker))
    embedder = CountingEmbedder()
    assert _fresh_pipeline(tmp_path / "one", catalogue, embedder).mapper.profiles is not None
    assert embedder.encoded


def _catalogue_texts(catalogue) -> list[str]:
    from mapping.background import BACKGROUND
    from mapping.profiles import requirement_texts

    descriptions, examples = requirement_texts(catalogue)
    return descriptions + [e for _, e in examples] + BACKGROUND


def test_the_shipped_catalogue_vectors_cover_todays_default_catalogue(catalogue):
    """Made by bench/ship_catalogue_vectors.py: rerun it after editing a default catalogue or the background."""
    from mapping.embedder import SHIPPED_VECTORS, text_hash

    with np.load(SHIPPED_VECTORS) as data:
        shipped = {h.tobytes().hex() for h in data["hashes"]}
    missing = [t for t in _catalogue_texts(catalogue) if text_hash(t) not in shipped]
    assert not missing, f"{len(missing)} catalogue texts not shipped, e.g. {missing[:2]}"


def test_a_first_database_takes_the_catalogue_from_the_shipped_vectors(tmp_path, catalogue, monkeypatch):
    import evidence.embeddings
    from mapping.embedder import text_hash

    embedder = CountingEmbedder()
    texts = _catalogue_texts(catalogue)
    shipped = dict(zip((text_hash(t) for t in texts), embedder.inner.embed(texts)))
    monkeypatch.setattr(evidence.embeddings, "shipped_vectors", lambda model: shipped if model == embedder.name else {})
    monkeypatch.setenv("EVIDENCE_CACHE_DIR", "off")  # nothing in a per-user cache either
    assert _fresh_pipeline(tmp_path / "one", catalogue, embedder).mapper.profiles is not None
    assert not set(embedder.encoded) & set(texts)
