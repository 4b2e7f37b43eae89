import pytest

from standards import CatalogueError, load_catalogue

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
