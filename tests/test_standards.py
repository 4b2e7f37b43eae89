import re
import shutil
from pathlib import Path

import pytest

import standards
from ingest.doctype import DOC_TYPES
from standards import BUILTIN_DIR, CatalogueError, available_frameworks, load_catalogue

ISO_CLAUSES = ["4.1", "4.2", "4.3", "4.4", "5.1", "5.2", "5.3", "6.1", "6.2", "7.1", "7.2", "7.3", "7.4", "7.5",
               "8.1", "8.2", "8.3", "8.4", "8.5", "8.6", "8.7", "8.8", "8.9", "8.10", "9.1", "9.2", "9.3",
               "10.1", "10.2"]
BS_ITEMS_PER_STAGE = {"1": 8, "2": 16, "3": 7, "4": 8, "5": 17, "6": 7, "7": 9, "8": 7}


def test_bs11000_ids_follow_the_appendix_order(catalogue):
    for stage, count in BS_ITEMS_PER_STAGE.items():
        ids = [r.id for r in catalogue if r.framework == "BS11000" and r.stage == stage]
        assert ids == [f"BS11000-S{stage}.{n}" for n in range(1, count + 1)]


def test_iso_clauses_and_charter(catalogue):
    assert [r.id for r in catalogue if r.framework == "ISO44001"] == [f"ISO44001-{c}" for c in ISO_CLAUSES]
    assert [r.id for r in catalogue if r.framework == "XTP"] == [f"XTP-C{n}" for n in range(1, 7)]
    assert catalogue["ISO44001-8.10"].title == "Exit strategy activation"
    assert catalogue["XTP-C4"].title == "Be transparent"


def test_every_requirement_is_described_and_bs_items_crosswalk_to_iso(catalogue):
    for r in catalogue:
        assert r.title and 2 <= r.description.count(".") + 1 and len(r.description) > 60, r.id
        assert r.examples, r.id
        if r.framework == "BS11000":
            assert any(t.startswith("ISO44001-") for t in r.crosswalk), r.id
    # stage 5 working together maps to clause 8.7; the charter is reached from BS items where it fits
    assert "ISO44001-8.7" in catalogue["BS11000-S5.9"].crosswalk
    assert any(t.startswith("XTP-") for r in catalogue for t in r.crosswalk)


def test_requirements_carry_the_standards_own_terms(catalogue, tmp_path):
    assert "SER" in catalogue["BS11000-S5.1"].terms and "JMT" in catalogue["BS11000-S5.4"].terms
    assert "exit strategy" in catalogue["ISO44001-8.10"].terms
    assert all(r.terms for r in catalogue)
    # terms are optional: a user's catalogue without them loads
    extra = tmp_path / "mine.yaml"
    extra.write_text(MINE)
    assert load_catalogue([extra])["ACME-1"].terms == ()


def test_version_changes_with_content(tmp_path):
    base = load_catalogue().version
    extra = tmp_path / "mine.yaml"
    extra.write_text(MINE)
    assert load_catalogue([extra]).version != base
    assert load_catalogue().version == base


MINE = """
framework: {id: ACME, name: ACME partnering charter}
stages: [{id: "1", title: Principles}]
requirements:
  - id: ACME-1
    stage: "1"
    title: Open book
    description: Costs are shared openly between the partners. Look for open-book accounts.
    crosswalk: [XTP-C4]
"""


def test_user_catalogue_adds_its_own_framework(tmp_path):
    extra = tmp_path / "mine.yaml"
    extra.write_text(MINE)
    catalogue = load_catalogue([extra])
    assert catalogue["ACME-1"].framework == "ACME"
    assert ("ACME-1", "XTP-C4") in catalogue.crosswalk_pairs()
    assert len(catalogue) == len(load_catalogue()) + 1


@pytest.mark.parametrize("text, message", [
    (MINE.replace("ACME-1\n", "BS11000-S1.1\n"), "'BS11000-S1.1' is declared twice"),
    (MINE.replace('stage: "1"', 'stage: "9"'), "under stage '9', which framework 'ACME' does not declare"),
    (MINE.replace("XTP-C4", "XTP-C9"), "crosswalk to 'XTP-C9', which no loaded catalogue declares"),
    (MINE.replace("    title: Open book\n", ""), "requirement 'ACME-1' has no 'title'"),
    (MINE.replace("    crosswalk:", "    terms: open book\n    crosswalk:"), "'ACME-1' needs 'terms' as a list"),
    (MINE.replace("    crosswalk:", "    terms: [open book, 12]\n    crosswalk:"), "'ACME-1' needs 'terms' as a list"),
    ("requirements: []", "needs a 'framework' mapping"),
    ("framework: [unclosed", "not valid YAML"),
])
def test_invalid_catalogues_fail_naming_file_and_entry(tmp_path, text, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(CatalogueError) as info:
        load_catalogue([bad])
    assert message in str(info.value)
    assert str(bad) in str(info.value)


def test_missing_catalogue_file(tmp_path):
    with pytest.raises(CatalogueError, match="catalogue file not found"):
        load_catalogue([tmp_path / "nope.yaml"])


# ---------------------------------------------------------------- optional built-in frameworks
# The id contract (shared/frameworks/ids.md), encoded here so the tests run in a clone without it.
OGC_GROUPS = {"OGC-G0": 9, "OGC-G1": 9, "OGC-G2": 14, "OGC-G3": 7, "OGC-PC": 8, "OGC-AH": 5,
              "OGC-AA-NW": 4, "OGC-AA-CB": 6, "OGC-AB": 9}
MUT_WEIGHTS = {f"MUT-{600 + n}": 75 if n in (6, 7, 9, 12, 14) else 100 for n in range(1, 17)}
OPTIONAL = ("OGC", "MUT", "TB")
DEFAULT_FILES = ("bs11000.yaml", "iso44001.yaml", "xtp.yaml")  # the default load as it was before optional ones


@pytest.fixture(scope="module")
def full():
    return load_catalogue(frameworks=OPTIONAL)


def test_optional_framework_ids_follow_the_contract(full):
    assert sum(OGC_GROUPS.values()) == 71
    assert [s for s, _ in full.frameworks["OGC"].stages] == list(OGC_GROUPS)
    for group, count in OGC_GROUPS.items():
        assert [r.id for r in full if r.stage == group] == [f"{group}.{n:02d}" for n in range(1, count + 1)]
    mut = [r for r in full if r.framework == "MUT"]
    assert {r.id: r.weight for r in mut} == MUT_WEIGHTS and sum(r.weight for r in mut) == 1475
    # the parent is the factors' one group, never a scored requirement
    assert [s for s, _ in full.frameworks["MUT"].stages] == ["MUT-600"] and "MUT-600" not in full.requirements
    assert [r.id for r in full if r.framework == "TB"] == [f"TB-{n}" for n in range(1, 7)]
    assert all(re.fullmatch(r"OGC-(G[0-3]|PC|AH|AA-NW|AA-CB|AB)\.\d\d", r.id) for r in full if r.framework == "OGC")


def test_optional_frameworks_scales_rules_and_due_order(full):
    ogc, mut, tb = (full.frameworks[f] for f in OPTIONAL)
    assert (ogc.assessment, mut.assessment, tb.assessment) == ("ogc_gates", "weighted_index", "rag")
    assert not any(f.default for f in (ogc, mut, tb))
    assert all(full.frameworks[f].default and full.frameworks[f].assessment == "coverage"
               for f in ("BS11000", "ISO44001", "XTP"))
    for group in ("OGC-AA-NW", "OGC-AA-CB"):
        assert ogc.scale_for(group).ids == ("yes", "no")
        assert (ogc.rule_for(group).kind, ogc.rule_for(group).answers) == ("gate", ("no",))
    assert ogc.scale_for("OGC-AB").ids == ("fully", "largely", "partly", "not at all")
    assert (ogc.rule_for("OGC-AB").kind, ogc.rule_for("OGC-AB").answers) == ("flag", ("partly", "not at all"))
    assert ogc.scale_for("OGC-G0") is None and ogc.rule_for("OGC-G2") is None  # the gate questions carry no scale
    assert [ogc.group(g).due for g in ("OGC-G0", "OGC-G1", "OGC-G2", "OGC-G3", "OGC-PC", "OGC-AH")] == list(range(6))
    assert (mut.scale.numeric, mut.scale.min, mut.scale.max) == (True, 0, 4)
    assert [v for v, _ in mut.scale.levels] == [0, 1, 2, 3, 4] and "benchmark" in mut.scale.levels[-1][1]
    assert tb.scale.ids == ("green", "amber", "red")


def test_optional_requirements_are_written_out_and_crosswalked(full):
    for r in full:
        if r.framework not in OPTIONAL:
            continue
        assert r.title and len(r.description) > 80 and 3 <= len(r.examples) <= 5 and r.terms, r.id
        assert r.doc_types and set(r.doc_types) <= set(DOC_TYPES), r.id
        assert any(t.startswith(("BS11000-", "ISO44001-")) for t in r.crosswalk), r.id
    assert "ISO44001-8.10" in full["OGC-AH.05"].crosswalk and "BS11000-S7.7" in full["MUT-609"].crosswalk


def test_default_load_is_unchanged_by_optional_frameworks(full):
    assert standards.BUILTIN_FILES == DEFAULT_FILES
    default = load_catalogue()
    before = load_catalogue([BUILTIN_DIR / name for name in DEFAULT_FILES], builtin=False)
    assert list(default.frameworks) == list(before.frameworks) == ["BS11000", "ISO44001", "XTP"]
    assert len(default) == len(before) == 114 and default.version == before.version
    assert full.version != default.version and len(full) == len(default) + 71 + 16 + 6
    assert set(OPTIONAL) <= set(available_frameworks())


def test_unknown_or_absent_optional_framework(tmp_path, monkeypatch):
    assert list(load_catalogue(frameworks="TB").frameworks)[-1] == "TB"
    with pytest.raises(CatalogueError, match="unknown optional framework 'NOPE': choose from"):
        load_catalogue(frameworks=("NOPE",))
    monkeypatch.setattr(standards, "BUILTIN_DIR", tmp_path)  # an installation without the ACOP file
    assert "ACOP" not in available_frameworks()
    with pytest.raises(CatalogueError, match="optional framework 'ACOP' is not installed"):
        load_catalogue(frameworks=("ACOP",))


SCALED = """
framework:
  id: ACME
  name: ACME partnering checklist
  assessment: weighted_index
  scale: {min: 0, max: 4}
  themes: [{id: T1, title: People}]
stages:
  - {id: "1", title: Readiness, scale: ["yes", "no"], rule: {kind: gate, fails: ["no"]}, due: 0}
requirements:
  - id: ACME-1
    stage: "1"
    weight: 50
    theme: T1
    title: Open book
    description: Costs are shared openly between the partners. Look for open-book accounts.
"""


def test_user_catalogue_can_use_scales_rules_weights_and_themes(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(SCALED)
    catalogue = load_catalogue([mine])
    framework, requirement = catalogue.frameworks["ACME"], catalogue["ACME-1"]
    assert framework.scale_for("1").ids == ("yes", "no") and framework.rule_for("1").answers == ("no",)
    assert (requirement.weight, requirement.theme, requirement.critical) == (50, "T1", False)
    # the new fields have defaults: existing frameworks and requirements look as before
    assert catalogue["BS11000-S1.1"].weight is None and catalogue.frameworks["XTP"].themes == ()


@pytest.mark.parametrize("old, new, message", [
    ("weight: 50", "weight: 0", "'ACME-1' needs 'weight' as a positive number"),
    ("weight: 50", "weight: heavy", "'ACME-1' needs 'weight' as a positive number"),
    ("weight: 50", "weight: true", "'ACME-1' needs 'weight' as a positive number"),
    ("    weight: 50\n", "", "'ACME-1' needs a 'weight': framework 'ACME' is a weighted index"),
    ("theme: T1", "theme: T9", "'ACME-1' has theme 'T9', which framework 'ACME' does not declare (T1)"),
    ('fails: ["no"]', "fails: [maybe]", "the gate rule names answer 'maybe', which is not on the scale (yes, no)"),
    ("rule: {kind: gate,", "rule: {kind: flag,", "a flag rule needs 'flags' as a list of answers"),
    ("kind: gate", "kind: average", "needs 'rule' as {kind: gate"),
    ('scale: ["yes", "no"], ', "", "a gate rule needs a scale of named answers"),
    ("due: 0", "due: -1", "needs 'due' as a whole number"),
    ("assessment: weighted_index", "assessment: vibes", "has assessment 'vibes': choose one of coverage"),
    ("scale: {min: 0, max: 4}", "scale: {min: 4, max: 0}", "numbers 'min' below 'max'"),
    ("scale: {min: 0, max: 4}", "scale: [good]", "'scale' as a list of two or more answers"),
    ("assessment: weighted_index", "assessment: rag", "a rag assessment needs a scale of named answers"),
    ("  themes:", "  default: maybe\n  themes:", "needs 'default' as true or false"),
    ("stages:\n", 'stages:\n  - {id: "1", title: Again}\n', "stage ids must be distinct"),
    ("    theme: T1\n", "    theme: T1\n    critical: often\n", "'ACME-1' needs 'critical' as true or false"),
])
def test_invalid_scales_rules_weights_and_themes(tmp_path, old, new, message):
    assert old in SCALED
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCALED.replace(old, new))
    with pytest.raises(CatalogueError) as info:
        load_catalogue([bad])
    assert message in str(info.value) and str(bad) in str(info.value)


# ---------------------------------------------------------------- ACOP: written elsewhere, to this shape
ACOP = """
framework:
  id: ACOP
  name: "Alliancing Code of Practice"
  stage_label: Phase
  default: false
  assessment: grid
  themes: [{id: "1", title: Behaviour}, {id: "2", title: Integration}, {id: "3", title: Leadership},
           {id: "4", title: Commercial}]
stages:
  - {id: "2", title: Deciding}
  - {id: "3", title: Creating}
  - {id: "4", title: Delivering}
  - {id: "5", title: Sustaining}
requirements:
  - id: ACOP-2.1-01
    stage: "2"
    theme: "1"
    critical:  # not known: loads as not critical
    title: Alliance behaviours agreed
    description: The owner has set out the behaviours it expects of an alliance. Look for a behaviours charter.
    crosswalk: [BS11000-S5.2]
  - id: ACOP-5.4-01
    stage: "5"
    theme: "4"
    critical: true
    title: Commercial lessons passed on
    description: Commercial lessons are recorded for the next alliance. Look for a lessons log.
"""


def test_acop_shaped_catalogue_loads_as_an_optional_framework(tmp_path, monkeypatch):
    for name in DEFAULT_FILES:
        shutil.copy(BUILTIN_DIR / name, tmp_path / name)
    (tmp_path / "acop.yaml").write_text(ACOP)
    monkeypatch.setattr(standards, "BUILTIN_DIR", tmp_path)
    assert "ACOP" in available_frameworks()
    catalogue = load_catalogue(frameworks=("ACOP",))
    acop = catalogue.frameworks["ACOP"]
    assert (acop.stage_label, acop.assessment, acop.default) == ("Phase", "grid", False)
    assert acop.stages == (("2", "Deciding"), ("3", "Creating"), ("4", "Delivering"), ("5", "Sustaining"))
    assert dict(acop.themes)["4"] == "Commercial"
    first, last = catalogue["ACOP-2.1-01"], catalogue["ACOP-5.4-01"]
    assert (first.stage, first.theme, first.critical) == ("2", "1", False)
    assert (last.stage, last.theme, last.critical) == ("5", "4", True)
    # a grid needs every requirement in a theme
    (tmp_path / "acop.yaml").write_text(ACOP.replace('    theme: "4"\n', ""))
    with pytest.raises(CatalogueError, match="'ACOP-5.4-01' needs a 'theme': framework 'ACOP' is a grid"):
        load_catalogue(frameworks=("ACOP",))


# ---------------------------------------------------------------- the shared contract, where a checkout has it
IDS_MD = Path(__file__).resolve().parents[2] / "shared" / "frameworks" / "ids.md"


def _table_rows(text: str, prefix: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.startswith(f"| {prefix}")]


@pytest.mark.skipif(not IDS_MD.is_file(), reason="the shared id contract is not in this checkout")
def test_catalogues_match_the_shared_id_contract(full):
    text = IDS_MD.read_text(encoding="utf-8")
    ogc = _table_rows(text, "OGC-")
    assert [(r.id, r.stage) for r in full if r.framework == "OGC"] == [(row[0], row[1]) for row in ogc]
    mut = _table_rows(text, "MUT-")
    assert mut[0][0] == "MUT-600" and mut[0][2] == "-" and full.frameworks["MUT"].stages[0][0] == "MUT-600"
    assert [(r.id, r.weight) for r in full if r.framework == "MUT"] == [(row[0], float(row[2])) for row in mut[1:]]
    first, last = re.search(r"`TB-(\d+)` \.\.\. `TB-(\d+)`", text).groups()
    assert [r.id for r in full if r.framework == "TB"] == [f"TB-{n}" for n in range(int(first), int(last) + 1)]
    if "ACOP" in available_frameworks():  # written in parallel: check it once it is here
        acop = load_catalogue(frameworks=("ACOP",))
        rows = _table_rows(text, "ACOP-")
        # the contract names phases and themes in words; the catalogue's own titles may say more, in their order
        named = lambda column: list(dict.fromkeys(row[column] for row in rows))  # noqa: E731
        phases = dict(zip(named(1), (s for s, _ in acop.frameworks["ACOP"].stages)))
        themes = dict(zip(named(2), (t for t, _ in acop.frameworks["ACOP"].themes)))
        assert all(title.startswith(word) for word, title in zip(named(2), (t for _, t in acop.frameworks["ACOP"].themes)))
        assert [(r.id, r.stage, r.theme) for r in acop if r.framework == "ACOP"] == [
            (row[0], phases[row[1]], themes[row[2]]) for row in rows]
