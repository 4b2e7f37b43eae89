"""Optional frameworks (OGC, mutuality, ACOP, trust behaviours): chosen per database, mapped from the same
passages, and never moving a link of the frameworks assessed by default."""

from __future__ import annotations

from click.testing import CliRunner
from helpers import rows

from evidence import open_pipeline
from evidence.cli import cli
from evidence.db import open_db
from evidence.pipeline import Pipeline
from evidence.serve import files_dir_for
from standards import available_frameworks, load_catalogue

DEFAULT = ("BS11000", "ISO44001", "XTP")


def _links(db) -> tuple[list, list]:
    """Every evidence and candidate link of the default frameworks, by passage text (ids stay, but say it)."""
    evidence = rows(db, "select p.text, e.requirement_id, e.score, e.rank, e.via from evidence e join passages p "
                        "on p.id = e.passage_id join requirements r on r.id = e.requirement_id "
                        "where r.framework in ('BS11000', 'ISO44001', 'XTP') order by 1, 2")
    candidates = rows(db, "select p.text, c.requirement_id, c.score from candidates c join passages p "
                          "on p.id = c.passage_id join requirements r on r.id = c.requirement_id "
                          "where r.framework in ('BS11000', 'ISO44001', 'XTP') order by 1, 2")
    return [tuple(r.values()) for r in evidence], [tuple(r.values()) for r in candidates]


class Counting:
    """The database's own (hash) embedder, counting what it is asked to encode."""

    def __init__(self, name: str):
        from mapping import get_embedder

        self.inner, self.encoded = get_embedder(name), []
        self.name = self.inner.name

    def embed(self, texts):
        self.encoded += list(texts)
        return self.inner.embed(texts)


def test_enabling_every_framework_changes_no_link_of_the_default_ones(pack_db):
    before = _links(open_db(pack_db))
    assert before[0], "the pack has evidence to compare"
    db = open_db(pack_db)
    embedder = Counting("hash")
    pipeline = Pipeline(db, load_catalogue(frameworks=available_frameworks()), embedder, files_dir_for(pack_db),
                        workers=0)
    assert pipeline.sync_catalogue()  # re-mapped
    assert _links(db) == before
    passages = {t for t, in db.execute("select text from passages")}
    assert not passages & set(embedder.encoded)  # from cached vectors: no passage embedded again
    by_framework = dict(db.execute("select r.framework, count(*) from evidence e join requirements r "
                                   "on r.id = e.requirement_id group by r.framework").fetchall())
    assert all(by_framework.get(fw) for fw in ("OGC", "MUT", "TB", "ACOP")), by_framework
    # BS 11000 evidence is offered for the OGC questions that name it: a candidate saying so, not a claim
    offered = db.execute("select count(*) from candidates where requirement_id like 'OGC-%' "
                         "and json_extract(why, '$.crosswalk_from') like 'BS11000-%'").fetchone()[0]
    assert offered > 0
    assert db.execute("select count(*) from evidence where requirement_id like 'OGC-%' "
                      "and via is not null").fetchone()[0] == 0
    assert db.execute("select count(*) from evidence where requirement_id like 'BS11000-%' "
                      "and via not like 'BS11000-%' and via not like 'ISO%'").fetchone()[0] == 0
    statuses = dict(db.execute("select framework, count(*) from coverage group by framework").fetchall())
    assert statuses["OGC"] == 71 and statuses["ACOP"] == 144 and statuses["MUT"] == 16 and statuses["TB"] == 6


def test_frameworks_are_remembered_and_switched_from_the_console(pack_db):
    runner = CliRunner()
    result = runner.invoke(cli, ["frameworks", "--db", str(pack_db), "--enable", "ogc", "--enable", "TB"])
    assert result.exit_code == 0, result.output
    assert [line.split()[1] for line in result.output.splitlines() if line.startswith("assessed")] == [
        *DEFAULT, "OGC", "TB"]
    pipeline = open_pipeline(pack_db, workers=0)  # a later run assesses what the database remembers
    assert set(pipeline.catalogue.frameworks) == {*DEFAULT, "OGC", "TB"}
    result = runner.invoke(cli, ["frameworks", "--db", str(pack_db), "--disable", "OGC"])
    assert result.exit_code == 0, result.output
    db = open_db(pack_db)
    assert db.execute("select count(*) from requirements where framework = 'OGC'").fetchone()[0] == 0
    assert db.execute("select count(*) from evidence where requirement_id like 'OGC-%'").fetchone()[0] == 0
    assert db.execute("select count(*) from requirements where framework = 'TB'").fetchone()[0] == 6
    result = runner.invoke(cli, ["frameworks", "--db", str(pack_db), "--enable", "NOPE"])
    assert result.exit_code == 1 and "no optional framework NOPE" in result.output
