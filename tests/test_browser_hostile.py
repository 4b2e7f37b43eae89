"""Hostile names and contents on every page type, in a real browser: every page answers and no script runs."""

import sqlite3
import urllib.request

import pytest
from helpers import WHEN, served
from test_browser import browser  # noqa: F401  (the fixture is used by name)

from evidence import open_pipeline
from evidence.db import write_transaction
from evidence.reviews import record_review
from samples import write_docx, write_pdf, write_xlsx

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__pwned=1</script>"
ATTRIBUTE = '"><img src=x onerror="window.__pwned=1">'
SVG = "<svg onload=alert(1)>"  # no slash, so it fits in a file name; alert would fire a dialog
LINK = "javascript:window.__pwned=1"
TEMPLATE = "{{7*7}}"
RLO = "\u202e"
ESCAPE = "\x1b[31m\x1b]0;owned\x07"
HOSTILE = f"{SCRIPT} {ATTRIBUTE} {SVG} [link]({LINK}) {TEMPLATE} {RLO}fdp.exe {ESCAPE}"
BODY = "The joint risk register is reviewed monthly by both partners and every risk has a named owner."


def _hostile_folder(root):
    folder = root / "evidence"
    folder.mkdir()
    (folder / f"{SVG} {TEMPLATE}.txt").write_text(f"{HOSTILE}\n\n{BODY}\n\nThe exit strategy is agreed. {SCRIPT}\n")
    (folder / f'{ATTRIBUTE.replace("/", "")}.md').write_text(f"# {SCRIPT}\n\n{BODY} [see]({LINK})\n\n"
                                                               f"<a href=\"{LINK}\">{TEMPLATE}</a>\n")
    (folder / f"minutes {RLO}xcod.exe {ESCAPE}.txt").write_text(f"{BODY} {ESCAPE} {RLO}evil\n")
    write_docx(folder / f"{LINK} plan.docx", f"{SCRIPT} title", [("h1", f"1 {SVG}"), ("p", f"{BODY} {ATTRIBUTE}"),
                                                                  ("table", [["Risk", SCRIPT], ["exit", TEMPLATE]])],
               WHEN, author=ATTRIBUTE)
    write_xlsx(folder / "register.xlsx", SCRIPT, {SVG: [["Risk", ATTRIBUTE], [BODY, LINK]]}, WHEN)
    write_pdf(folder / "report.pdf", f"{SCRIPT} report", [("h1", SVG), ("p", f"{BODY} {ATTRIBUTE} {TEMPLATE}")], WHEN)
    return folder


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    folder = _hostile_folder(root)
    db_path = root / "hostile.db"
    pipeline = open_pipeline(db_path, model="hash", workers=0)
    pipeline.ingest([folder])
    # a second version, so the document has a "what changed" page with hostile text added and removed
    (folder / f"{SVG} {TEMPLATE}.txt").write_text(f"{BODY}\n\nThe exit strategy was replaced. {ATTRIBUTE} {LINK}\n")
    pipeline.ingest([folder])
    with sqlite3.connect(db_path) as conn, write_transaction(conn):
        passage = conn.execute("select id from passages order by id limit 1").fetchone()[0]
        record_review(conn, "BS11000-S5.9", "add", f"{SVG}assessor", passage, HOSTILE)
        record_review(conn, "BS11000-S5.9", "not_applicable", "assessor", None, f"{ATTRIBUTE} {LINK}")
        conn.executemany("insert or replace into settings (key, value) values (?, ?)", [
            ("watcher_state", SCRIPT), ("watcher_last_file", ATTRIBUTE), ("watcher_last_error", HOSTILE),
            ("watcher_updated_at", TEMPLATE), ("watcher_last_error_at", SVG)])
    return db_path


@pytest.fixture(scope="module")
def hostile_server(hostile_db):
    with served(hostile_db) as url:
        yield url


def _pages(db_path) -> list[str]:
    """One URL of every page type the matrix publishes, with ids taken from the hostile database."""
    from datasette.utils import tilde_encode

    with sqlite3.connect(db_path) as conn:
        versioned = conn.execute("select document_id from document_versions group by document_id "
                                 "having count(*) > 1").fetchone()[0]
        text_doc = conn.execute("select id from documents where format = 'txt' order by id").fetchone()[0]
        passage = conn.execute("select id from passages order by id").fetchone()[0]
        linked = conn.execute("select requirement_id from evidence order by score desc").fetchone()
    requirements = {"BS11000-S5.9", linked[0] if linked else "BS11000-S5.9"}
    return [
        "/", "/evidence", "/evidence/matrix", "/evidence/documents", "/evidence/reviews", "/evidence/settings",
        "/evidence/gaps?framework=", "/evidence/weak?framework=", "/evidence/single_document",
        "/evidence/unread_files", "/evidence/stale_evidence?months=12", "/evidence/changes?since=",
        "/evidence/document_families", "/evidence/reviews_log",
        "/evidence/requirement_evidence?requirement_id=BS11000-S5.9",
        *(f"/evidence/requirements/{tilde_encode(r)}" for r in sorted(requirements)),
        f"/evidence/documents/{versioned}", f"/evidence/documents/{text_doc}", f"/evidence/passages/{passage}",
        f"/-/diff/evidence/{versioned}",
        "/evidence/passages?_search=risk", "/evidence/passages?_search=" + urllib.request.quote(SCRIPT),
        "/evidence/-/search?q=risk", "/evidence/-/search?q=" + urllib.request.quote(SCRIPT),
        "/evidence/matrix?status=" + urllib.request.quote(ATTRIBUTE),
        "/evidence/-/matrix", "/evidence/-/matrix?status=" + urllib.request.quote(ATTRIBUTE),
        f"/-/source/evidence/{text_doc}",
    ]


def _injected(page) -> list[str]:
    """Elements or state a hostile string would leave behind had it been taken as markup."""
    found = []
    if page.evaluate("typeof window.__pwned") != "undefined":
        found.append("window.__pwned was set")
    for selector in ("img[src=x]", "svg[onload]", "[onerror]", "[onload]", "a[href^='javascript:' i]"):
        if page.locator(selector).count():
            found.append(selector)
    scripts = page.evaluate("[...document.scripts].map(s => s.textContent).join(' ')")
    if "__pwned" in scripts:
        found.append("a script element carrying the hostile text")
    return found


def test_hostile_names_and_contents_run_no_script_on_any_page(hostile_server, hostile_db, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    problems = {}
    for path in _pages(hostile_db):
        response = page.goto(hostile_server + path)
        page.wait_for_load_state("load")
        found = _injected(page) + [f"a dialog fired: {m}" for m in dialogs]
        dialogs.clear()
        if response.status != 200:
            problems[path] = f"status {response.status}"
        elif found:
            problems[path] = ", ".join(found)
    assert not problems, problems

    # the hostile text is shown, as text, where it was read
    page.goto(hostile_server + "/evidence/reviews_log")
    assert SCRIPT in page.locator("body").inner_text()
    page.goto(hostile_server + "/")
    assert SCRIPT in page.locator("p.watcher").inner_text()
    assert "49" not in page.locator("p.watcher").inner_text()  # {{7*7}} was not evaluated as a template


def test_every_stored_source_file_answers_without_markup(hostile_server, hostile_db, browser):  # noqa: F811
    page = browser.new_page()
    with sqlite3.connect(hostile_db) as conn:
        documents = conn.execute("select id, format from documents where sha256 is not null").fetchall()
    assert {fmt for _, fmt in documents} >= {"txt", "md", "docx", "xlsx", "pdf"}
    for doc_id, fmt in documents:
        response = page.request.get(f"{hostile_server}/-/source/evidence/{doc_id}")
        assert response.status == 200, (doc_id, fmt)
        assert not response.headers["content-type"].startswith("text/html"), (doc_id, fmt)
        assert "sandbox" in response.headers["content-security-policy"]
        disposition = response.headers["content-disposition"]
        plain, _, own = disposition.split('filename="', 1)[1].partition('"; filename*=UTF-8\'\'')
        assert plain and own, disposition  # a plain name, then the name itself, percent-encoded
        assert not set('<>"/\\\x1b\u202e') & set(plain + own), disposition
