"""End to end in a real browser: matrix -> requirement -> evidence -> source file, with screenshots."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(sample_db, tmp_path_factory):
    from datasette_auth_passwords.utils import hash_password
    from helpers import copy_database, served

    sample_db = copy_database(sample_db, tmp_path_factory.mktemp("served") / "sample.db")  # the assessor writes

    with served(sample_db, {"EVIDENCE_PASSWORD_HASH": hash_password("assessor-secret")}) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("no Chromium on this machine (make test installs Debian's chromium where it can)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


def test_matrix_to_requirement_to_source(server, browser, tmp_path):
    SCREENSHOTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1300, "height": 900}, accept_downloads=True)
    page.goto(server + "/")
    assert page.locator("table.heatmap").count() == 3
    page.screenshot(path=str(SCREENSHOTS / "1-front-page.png"), full_page=True)

    page.click("p.links a:has-text('Evidence matrix')")
    page.wait_for_selector("table.rows-and-columns")
    assert "Evidence matrix" in page.title() or page.locator("h1").inner_text().lower().startswith("evidence matrix")
    page.screenshot(path=str(SCREENSHOTS / "2-matrix.png"))
    page.click("dl.matrix-facets a:has-text('evidenced')")  # narrowed to one status by its facet
    page.wait_for_selector("p.lead strong:has-text('evidenced')")
    rows = page.locator("table.matrix tbody tr").count()
    assert rows > 0 and page.locator("table.matrix td.status-evidenced").count() == rows

    page.goto(server + "/evidence/matrix?status=evidenced&framework=BS11000&document__contains=.pdf")
    page.locator("td.col-requirement_id a").first.click()
    page.wait_for_selector("h2:has-text('Evidence (')")
    assert page.locator(".evidence-list li").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "3-requirement.png"), full_page=True)

    source = page.locator(".evidence-list li a:has-text('open source file')").first
    href = source.get_attribute("href")
    response = page.request.get(server + href)
    assert response.status == 200 and response.body()[:4] == b"%PDF"
    page.goto(server + href)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / "4-source.png"))


def _logged_in(browser, server):
    """A new page of the browser, logged in as the assessor through the login form."""
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.goto(server + "/-/login")
    page.fill("input[name=username]", "assessor")
    page.fill("input[name=password]", "assessor-secret")
    page.click("input[type=submit], button[type=submit]")
    return page


def test_an_assessor_logs_in_and_rejects_a_link(server, browser):
    page = _logged_in(browser, server)
    page.goto(server + "/evidence/matrix?status=evidenced&framework=XTP")
    page.locator("td.col-requirement_id a").first.click()
    page.wait_for_selector("form.review")
    item = page.locator(".evidence-list li").first
    item.locator("input[name=comment]").fill("charter wording only, no practice shown")
    item.locator("button[value=reject]").click()
    page.wait_for_selector(".review-state.review-reject")
    assert "by assessor" in page.locator(".review-state.review-reject").first.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "5-reviewed.png"), full_page=True)


@pytest.fixture(scope="module")
def assessed_server(tmp_path_factory):
    """A small database with every optional framework enabled, some evidence and one assessor's 'no'."""
    from datasette_auth_passwords.utils import hash_password
    from helpers import EvidenceRows, served

    from evidence.assess import record_assessment
    from standards import load_catalogue

    rows = EvidenceRows(tmp_path_factory.mktemp("assessed") / "evidence.db",
                        load_catalogue(frameworks=("OGC", "MUT", "TB", "ACOP")))
    for rid in ("OGC-AA-NW.01", "OGC-AA-NW.02", "TB-1", "MUT-601", "ACOP-2.1-01"):
        rows.link(rid, "Partnering charter.docx", f"{rid}: agreed by both partners.", "charter")
        rows.link(rid, "Board minutes.docx", f"{rid}: reviewed by the joint board.", "minutes")
    rows.done()
    with rows.conn:
        record_assessment(rows.conn, "OGC-AA-NW.02", "no", "assessor", "no sponsor named yet")
    rows.conn.close()
    with served(rows.path, {"EVIDENCE_PASSWORD_HASH": hash_password("assessor-secret")}) as url:
        yield url


def test_an_assessor_overrides_an_ogc_answer_and_reads_the_charts(assessed_server, browser):
    SCREENSHOTS.mkdir(exist_ok=True)
    page = _logged_in(browser, assessed_server)
    page.goto(assessed_server + "/")
    page.click("p.assessments a:has-text('Partnering self-assessment')")
    page.wait_for_selector("svg.chart.gates")
    assert "Not yet ready for partnering" in page.locator("p.verdict").first.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "6-ogc-assessment.png"), full_page=True)

    row = page.locator("tr#item-OGC-AA-NW\\.02")
    assert "no sponsor named yet" in row.inner_text()
    row.locator("input[name=comment]").fill("sponsor appointed at the March board")
    row.locator("button[value=yes]").click()
    page.wait_for_selector("tr#item-OGC-AA-NW\\.02 .comment:has-text('sponsor appointed')")
    assert "Not yet ready" not in page.locator("p.verdict").first.inner_text()
    page.locator("tr#item-OGC-AA-NW\\.02 summary").click()
    source = page.locator("tr#item-OGC-AA-NW\\.02 .evidence-list a:has-text('open source file')").first
    assert source.is_visible() and source.get_attribute("href").startswith("/-/source/evidence/")

    page.goto(assessed_server + "/evidence/-/assess/ACOP")
    assert page.locator("svg.chart.heat g.heat-cell").count() == 16
    page.screenshot(path=str(SCREENSHOTS / "7-acop-heat-map.png"), full_page=True)
    page.goto(assessed_server + "/evidence/-/assess/MUT")
    assert page.locator("svg.chart.factors rect.who-tool").count() == 16
    page.screenshot(path=str(SCREENSHOTS / "8-mutuality.png"), full_page=True)
