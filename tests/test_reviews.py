"""Assessor reviews: permissions, effect on coverage, survival across re-ingestion, and the export."""

import asyncio
import base64
import csv
import io
import re
import sqlite3

import openpyxl
import pytest
from click.testing import CliRunner
from datasette.utils import tilde_encode

from evidence import open_pipeline
from evidence.cli import cli
from evidence.export import export_csv
from evidence.reviews import ReviewError, record_review
from evidence.serve import build_datasette


def _status(db_path, rid):
    return sqlite3.connect(db_path).execute("select status, evidence_count from coverage where requirement_id = ?",
                                            [rid]).fetchone()


def _a_link(db_path):
    """An evidenced BS 11000 requirement whose evidence all comes from one passage, and that passage."""
    return sqlite3.connect(db_path).execute(
        """select e.requirement_id, min(e.passage_id) from evidence e join coverage c using (requirement_id)
           where e.via is null and e.requirement_id like 'BS11000%' and c.status = 'evidenced'
           group by e.requirement_id having count(*) = 1 limit 1""").fetchone()


def test_rejecting_the_only_link_turns_evidence_into_weak_or_gap(pack_db):
    rid, pid = _a_link(pack_db)
    assert _status(pack_db, rid)[0] == "evidenced"
    conn = sqlite3.connect(pack_db)
    with conn:
        record_review(conn, rid, "reject", "alice", pid, "not about this")
    assert _status(pack_db, rid)[0] in ("weak", "gap")
    # the crosswalk links that came through the rejected item stop counting too
    via = conn.execute("""select count(*) from effective_evidence where passage_id = ? and via = ?""", [pid, rid]).fetchone()[0]
    assert via == 0
    with conn:
        record_review(conn, rid, "clear", "alice", pid)
    assert _status(pack_db, rid)[0] == "evidenced"


def test_accepted_candidate_and_added_link_count_whatever_their_score(pack_db):
    conn = sqlite3.connect(pack_db)
    gap = conn.execute("select requirement_id from coverage where status in ('gap', 'weak') and requirement_id like 'BS11000%' "
                       "limit 1").fetchone()[0]
    pid = conn.execute("select id from passages order by id limit 1").fetchone()[0]
    with conn:
        record_review(conn, gap, "add", "alice", pid, "found by search")
    assert _status(pack_db, gap) == ("evidenced", 1)
    source = conn.execute("select source from effective_evidence where requirement_id = ?", [gap]).fetchone()[0]
    assert source == "assessor"


def test_not_applicable_needs_a_reason_and_sets_the_status(pack_db):
    conn = sqlite3.connect(pack_db)
    with pytest.raises(ReviewError, match="say why"):
        record_review(conn, "BS11000-S8.6", "not_applicable", "alice")
    with conn:
        record_review(conn, "BS11000-S8.6", "not_applicable", "alice", comment="relationship not ending")
    assert _status(pack_db, "BS11000-S8.6")[0] == "not_applicable"
    with pytest.raises(ReviewError, match="no requirement"):
        record_review(conn, "BS11000-S9.9", "accept", "alice", 1)
    with pytest.raises(ReviewError, match="unknown decision"):
        record_review(conn, "BS11000-S8.6", "approve", "alice", 1)


def test_reviews_survive_re_ingestion(pack_db, sample_pack):
    rid, pid = _a_link(pack_db)
    conn = sqlite3.connect(pack_db)
    with conn:
        record_review(conn, rid, "reject", "alice", pid)
    open_pipeline(pack_db, model="hash", workers=0).ingest([sample_pack], force=True)  # new passage ids
    assert conn.execute("select count(*) from passages where id = ?", [pid]).fetchone()[0] == 0
    assert _status(pack_db, rid)[0] in ("weak", "gap")


def _hash(db_path, pid):
    """The text hash a page's review form posts with a passage."""
    return sqlite3.connect(db_path).execute("select text_hash from passages where id = ?", [pid]).fetchone()[0]


def _login(ds, actor="alice"):
    return {"ds_actor": ds.sign({"a": {"id": actor}}, "actor")}


def _csrf(ds, path, cookies):
    response = asyncio.run(ds.client.get(path, cookies=cookies))
    token = re.search(r'name="csrftoken" value="([^"]+)"', response.text)
    assert token, "no review form on the page"
    return token.group(1), {**cookies, **dict(response.cookies)}


def test_anonymous_visitors_cannot_review(pack_db):
    ds = build_datasette([pack_db])
    rid, pid = _a_link(pack_db)
    page = asyncio.run(ds.client.get(f"/evidence/requirements/{tilde_encode(rid)}")).text
    assert 'action="/-/review/evidence"' not in page and "logging in" in page
    response = asyncio.run(ds.client.post("/-/review/evidence", data={
        "requirement_id": rid, "passage_id": str(pid), "decision": "reject"}))
    assert response.status_code == 403
    assert sqlite3.connect(pack_db).execute("select count(*) from reviews").fetchone()[0] == 0


def test_a_logged_in_assessor_reviews_through_the_page(pack_db):
    ds = build_datasette([pack_db])
    rid, pid = _a_link(pack_db)
    path = f"/evidence/requirements/{tilde_encode(rid)}"
    token, cookies = _csrf(ds, path, _login(ds))
    form_hashes = re.findall(r'name="passage_hash" value="([^"]*)"', asyncio.run(ds.client.get(path, cookies=cookies)).text)
    assert form_hashes and _hash(pack_db, pid) in form_hashes and all(form_hashes)  # every form names its text
    unnamed = asyncio.run(ds.client.post("/-/review/evidence", cookies=cookies, data={
        "csrftoken": token, "requirement_id": rid, "passage_id": str(pid), "decision": "reject"}))
    assert unnamed.status_code == 400 and "does not say which text" in unnamed.text
    response = asyncio.run(ds.client.post("/-/review/evidence", cookies=cookies, data={
        "csrftoken": token, "requirement_id": rid, "passage_id": str(pid), "passage_hash": _hash(pack_db, pid),
        "decision": "reject", "comment": "<script>alert(1)</script> wrong requirement", "next": path}))
    assert response.status_code == 302 and response.headers["location"] == path
    row = sqlite3.connect(pack_db).execute("select reviewer, decision, comment from reviews").fetchone()
    assert row[:2] == ("alice", "reject")
    page = asyncio.run(ds.client.get(path, cookies=cookies)).text
    assert "Rejected" in page and "by alice" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    bad = asyncio.run(ds.client.post("/-/review/evidence", cookies=cookies, data={
        "csrftoken": token, "requirement_id": rid, "passage_id": str(pid), "passage_hash": _hash(pack_db, pid),
        "decision": "accept", "next": "//evil.example"}))
    assert bad.headers["location"] == path


@pytest.mark.parametrize("target", ["/\\127.0.0.2:21999/x", "/\t/evil.example/x", "/\\/evil.example", "//evil.example",
                                    "/\n/evil.example", " //evil.example", "https://evil.example/", "\\\\evil.example",
                                    "/evidence\r\nSet-Cookie: x=1"])
def test_a_review_never_redirects_off_this_site(pack_db, target):
    ds = build_datasette([pack_db])
    rid, pid = _a_link(pack_db)
    path = f"/evidence/requirements/{tilde_encode(rid)}"
    token, cookies = _csrf(ds, path, _login(ds))
    response = asyncio.run(ds.client.post("/-/review/evidence", cookies=cookies, data={
        "csrftoken": token, "requirement_id": rid, "passage_id": str(pid), "passage_hash": _hash(pack_db, pid),
        "decision": "accept", "next": target}))
    assert response.status_code == 302 and response.headers["location"] == path  # the requirement's own page


def test_password_login_for_assessors(pack_db):
    from datasette_auth_passwords.utils import hash_password

    # a cheap hash (the iterations are part of it): a hash of the default cost logs in on the served workers below
    ds = build_datasette([pack_db], accounts={"assessor": hash_password("correct horse", iterations=1000)})
    login = asyncio.run(ds.client.get("/-/login"))
    token = re.search(r'name="csrftoken" value="([^"]+)"', login.text).group(1)
    cookies = dict(login.cookies)
    wrong = asyncio.run(ds.client.post("/-/login", cookies=cookies, data={
        "csrftoken": token, "username": "assessor", "password": "nope"}))
    assert "ds_actor" not in wrong.cookies
    right = asyncio.run(ds.client.post("/-/login", cookies=cookies, data={
        "csrftoken": token, "username": "assessor", "password": "correct horse"}))
    assert right.status_code == 302 and "ds_actor" in right.cookies


def test_guessing_a_password_locks_the_username_for_a_while(pack_db):
    """Five wrong passwords for one username: the form and Basic credentials are refused, the right password too,
    until the window has passed; other usernames are not affected."""
    from datasette.plugins import pm
    from datasette_auth_passwords.utils import hash_password

    hashed = hash_password("correct horse", iterations=1000)
    ds = build_datasette([pack_db], accounts={"assessor": hashed, "bob": hashed})
    clock = [0.0]
    plugin = pm.get_plugin("evidence_plugin.py")  # loaded from the configuration directory's plugins/
    ds.evidence_logins = plugin.LoginThrottle(clock=lambda: clock[0])
    login = asyncio.run(ds.client.get("/-/login"))
    token, cookies = re.search(r'name="csrftoken" value="([^"]+)"', login.text).group(1), dict(login.cookies)

    def attempt(username, password):
        return asyncio.run(ds.client.post("/-/login", cookies=cookies, data={
            "csrftoken": token, "username": username, "password": password}))

    for n in range(4):
        assert "Invalid username or password" in attempt("assessor", f"guess {n}").text
    assert "Too many failed logins" in attempt("assessor", "guess 4").text
    refused = attempt("assessor", "correct horse")
    assert "ds_actor" not in refused.cookies and "Too many failed logins" in refused.text
    assert asyncio.run(ds.client.get("/-/actor.json", headers=_basic("assessor", "correct horse"))).status_code == 401
    assert attempt("bob", "correct horse").status_code == 302
    clock[0] += 15 * 60
    assert attempt("assessor", "correct horse").status_code == 302
    # a username that does not exist is answered the same way: the answers never tell which exist
    answers = [attempt("mallory", "x").text for _ in range(6)]
    assert ["Too many failed logins" in a for a in answers] == [False] * 4 + [True] * 2
    # guesses sent at once count as they arrive: no more than the limit is ever checked
    checked = []
    real_verify = plugin._verify
    plugin._verify = lambda password, hashed: checked.append(password) or real_verify(password, hashed)
    try:
        async def at_once():
            return await asyncio.gather(*(ds.client.post("/-/login", cookies=cookies, data={
                "csrftoken": token, "username": "bob", "password": f"guess {n}"}) for n in range(20)))
        asyncio.run(at_once())
    finally:
        plugin._verify = real_verify
    assert len(checked) == 5


def test_the_login_throttle_remembers_a_bounded_number_of_usernames(pack_db):
    from datasette.plugins import pm

    build_datasette([pack_db])  # the plugin is loaded from the configuration directory with Datasette
    plugin = pm.get_plugin("evidence_plugin.py")
    throttle = plugin.LoginThrottle(clock=lambda: 0.0)
    for n in range(plugin.LOGIN_KEYS + 500):
        throttle.failed(f"user{n}" + "x" * 1000)
        throttle.lock(f"user{n}" + "x" * 1000)
    assert len(throttle._failed) == len(throttle._locks) == plugin.LOGIN_KEYS
    assert max(map(len, throttle._failed)) <= 200 and max(map(len, throttle._locks)) <= 200


def test_a_page_of_requests_with_the_right_basic_credentials_all_get_in(pack_db):
    """A browser sends Basic credentials with every asset of a page, at once: none is refused by the throttle."""
    from datasette_auth_passwords.utils import hash_password

    ds = build_datasette([pack_db], accounts={"assessor": hash_password("correct horse", iterations=1000)})

    async def at_once():
        return await asyncio.gather(*(ds.client.get("/-/actor.json", headers=_basic("assessor", "correct horse"))
                                      for _ in range(12)))
    answers = asyncio.run(at_once())
    assert [r.status_code for r in answers] == [200] * 12
    assert all(r.json() == {"actor": {"id": "assessor"}} for r in answers)


def _basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _every_introspection_page(ds):
    """Datasette's own /-/ pages (metadata, config, plugins, settings, actor...) and the login pages."""
    for regex, _ in ds._routes():
        pattern = regex.pattern.lstrip("^").rstrip("$")
        plain = pattern.replace(r"(\.(?P<format>json))?", "")
        if plain.startswith("/-/") and "(" not in plain and "\\" not in plain:
            yield plain
            if plain != pattern:
                yield plain + ".json"


def test_password_hashes_never_leave_the_server(pack_db):
    from datasette_auth_passwords.utils import hash_password

    hashed = hash_password("correct horse", iterations=1000)
    salt = hashed.split("$")[2]
    for require_login in (False, True):
        ds = build_datasette([pack_db], accounts={"assessor": hashed, "bob": hashed}, require_login=require_login)
        pages = ["/", "/evidence", *_every_introspection_page(ds)]
        assert "/-/metadata.json" in pages and "/-/config.json" in pages and "/-/plugins.json" in pages
        for path in pages:
            for cookies in ({}, _login(ds, "assessor")):
                text = asyncio.run(ds.client.get(path, cookies=cookies)).text
                assert "pbkdf2" not in text and salt not in text, (require_login, path, cookies)


def test_basic_authentication_is_checked_and_never_answers_500(pack_db):
    from datasette_auth_passwords.utils import hash_password

    ds = build_datasette([pack_db], accounts={"assessor": hash_password("correct horse", iterations=1000)})
    for header in ("Basic !!!", "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(), "Basic ", "Basic bm9jb2xvbg=",
                   "Basic " + base64.b64encode(b"assessor:wrong").decode()):
        response = asyncio.run(ds.client.get("/-/actor.json", headers={"Authorization": header}))
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"].startswith("Basic")
    actor = asyncio.run(ds.client.get("/-/actor.json", headers=_basic("assessor", "correct horse"))).json()
    assert actor == {"actor": {"id": "assessor"}}
    # without accounts Basic credentials are not ours (a proxy's own login): anonymous, unless malformed
    no_accounts = build_datasette([pack_db])
    assert asyncio.run(no_accounts.client.get("/-/actor.json", headers=_basic("proxy", "x"))).json() == {"actor": None}
    assert asyncio.run(no_accounts.client.get("/-/actor.json", headers={"Authorization": "Basic !!"})).status_code == 401


def test_basic_credentials_without_a_cookie_do_not_skip_the_csrf_check(pack_db):
    from datasette_auth_passwords.utils import hash_password

    ds = build_datasette([pack_db], accounts={"assessor": hash_password("correct horse", iterations=1000)})
    rid, pid = _a_link(pack_db)
    # what a hostile page's form makes a browser send once it has cached the assessor's Basic credentials
    response = asyncio.run(ds.client.post("/-/review/evidence", headers=_basic("assessor", "correct horse"), data={
        "requirement_id": rid, "passage_id": str(pid), "decision": "reject"}))
    assert response.status_code == 403
    assert sqlite3.connect(pack_db).execute("select count(*) from reviews").fetchone()[0] == 0


def test_password_checks_run_off_the_event_loop(pack_db, monkeypatch):
    import hashlib
    import threading

    from datasette_auth_passwords.utils import hash_password

    ds = build_datasette([pack_db], accounts={"assessor": hash_password("correct horse", iterations=1000)})
    login = asyncio.run(ds.client.get("/-/login"))
    token, cookies = re.search(r'name="csrftoken" value="([^"]+)"', login.text).group(1), dict(login.cookies)
    threads, pbkdf2 = [], hashlib.pbkdf2_hmac

    def watched(*args, **kw):
        threads.append(threading.get_ident())
        return pbkdf2(*args, **kw)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", watched)
    wrong = asyncio.run(ds.client.post("/-/login", cookies=cookies, data={
        "csrftoken": token, "username": "assessor", "password": "nope"}))
    assert wrong.status_code == 200 and "ds_actor" not in wrong.cookies
    assert asyncio.run(ds.client.get("/-/actor.json", headers=_basic("assessor", "nope"))).status_code == 401
    asyncio.run(ds.client.post("/-/password-tool", cookies=cookies, data={"csrftoken": token, "password": "x"}))
    assert threads and threading.get_ident() not in threads  # the tests' event loop runs in this thread


def test_login_cookie_is_http_only_same_site_and_expires(pack_db):
    from datasette_auth_passwords.utils import hash_password

    ds = build_datasette([pack_db], accounts={"assessor": hash_password("correct horse", iterations=1000),
                                              "broken": "pbkdf2_sha256$x$salt$hash"})
    login = asyncio.run(ds.client.get("/-/login"))
    token, cookies = re.search(r'name="csrftoken" value="([^"]+)"', login.text).group(1), dict(login.cookies)
    broken = asyncio.run(ds.client.post("/-/login", cookies=cookies, data={
        "csrftoken": token, "username": "broken", "password": "x"}))
    assert broken.status_code == 200 and "Invalid username or password" in broken.text
    right = asyncio.run(ds.client.post("/-/login", cookies=cookies, data={
        "csrftoken": token, "username": "assessor", "password": "correct horse"}))
    cookie = [c for c in right.headers.get_list("set-cookie") if c.startswith("ds_actor=")][0].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=" in cookie
    signed = ds.unsign(right.cookies["ds_actor"], "actor")
    assert signed["a"] == {"id": "assessor"} and signed["e"]  # Datasette itself refuses the cookie once expired


def test_a_review_of_an_out_of_range_passage_is_refused_not_a_500(pack_db):
    ds = build_datasette([pack_db])
    rid, _ = _a_link(pack_db)
    token, cookies = _csrf(ds, f"/evidence/requirements/{tilde_encode(rid)}", _login(ds))
    for passage in (str(2 ** 63), str(-2 ** 64), "1e3"):
        response = asyncio.run(ds.client.post("/-/review/evidence", cookies=cookies, data={
            "csrftoken": token, "requirement_id": rid, "passage_id": passage, "passage_hash": "0" * 64,
            "decision": "accept"}))
        assert response.status_code == 400, passage
    result = CliRunner().invoke(cli, ["review", rid, "--db", str(pack_db), "--passage", str(2 ** 64),
                                      "--decision", "accept", "--reviewer", "bob"])
    assert result.exit_code == 1 and f"Error: no passage {2 ** 64}" in result.output


def test_require_login_hides_everything_from_anonymous(pack_db):
    ds = build_datasette([pack_db], accounts={"assessor": "x"}, require_login=True)
    assert asyncio.run(ds.client.get("/evidence/matrix")).status_code == 403
    assert asyncio.run(ds.client.get("/evidence/-/matrix")).status_code == 403
    assert asyncio.run(ds.client.get("/-/source/evidence/1")).status_code == 403
    assert asyncio.run(ds.client.get("/-/export/evidence.xlsx")).status_code == 403
    assert asyncio.run(ds.client.get("/-/diff/evidence/1")).status_code == 403
    assert asyncio.run(ds.client.get("/evidence/matrix", cookies=_login(ds))).status_code == 200


def test_export_workbook_and_csv_from_cli_and_datasette(pack_db, tmp_path, catalogue):
    rid, pid = _a_link(pack_db)
    conn = sqlite3.connect(pack_db)
    with conn:
        record_review(conn, rid, "accept", "alice", pid, "confirmed at interview")
    out = tmp_path / "matrix.xlsx"
    result = CliRunner().invoke(cli, ["export", "--db", str(pack_db), "-o", str(out)])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Summary", "Requirements", "Evidence", "Reviews"]
    requirements = list(wb["Requirements"].values)
    assert len(requirements) == 1 + len(catalogue) and requirements[0][0] == "Requirement"
    assert {r[0] for r in requirements[1:]} == {r.id for r in catalogue}
    bs11000 = [r for r in catalogue if r.framework == "BS11000"]
    summary = [r for r in wb["Summary"].values if r and r[0] == "BS11000"]
    assert len(summary) == len({r.stage for r in bs11000}) and sum(r[7] for r in summary) == len(bs11000)
    evidence = list(wb["Evidence"].values)
    assert any(r[0] == rid and r[9] == "accept" and r[10] == "confirmed at interview" for r in evidence[1:])
    assert list(wb["Reviews"].values)[1][1] == "alice"
    csv_out = tmp_path / "matrix.csv"
    result = CliRunner().invoke(cli, ["export", "--db", str(pack_db), "--format", "csv", "-o", str(csv_out)])
    assert result.exit_code == 0, result.output
    assert csv_out.read_text().splitlines()[0].startswith("Requirement,Framework,Stage")
    ds = build_datasette([pack_db])
    response = asyncio.run(ds.client.get("/-/export/evidence.xlsx"))
    assert response.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(response.content)).sheetnames[0] == "Summary"
    csv_response = asyncio.run(ds.client.get("/-/export/evidence.csv?sheet=evidence"))
    assert csv_response.status_code == 200 and csv_response.text.startswith("Requirement,Requirement title")


def test_formula_like_text_stays_text_in_exports(db_path, tmp_path):
    (tmp_path / "notes.txt").write_text("=HYPERLINK(\"http://evil.example\") the joint risk register is reviewed monthly.")
    open_pipeline(db_path, model="hash", workers=0).ingest([tmp_path / "notes.txt"])
    conn = sqlite3.connect(db_path)
    with conn:  # make sure the passage is in the evidence sheet, whatever the mapping decided
        record_review(conn, "BS11000-S5.9", "add", "alice", conn.execute("select min(id) from passages").fetchone()[0])
    exported = export_csv(conn, "evidence")
    assert "'=HYPERLINK" in exported
    assert not re.search(r'(^|,)"?=HYPERLINK', exported, re.M)


CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\u202a-\u202e\u2066-\u2069]")


def test_text_names_and_comments_are_cleaned_where_they_enter_the_database(db_path, tmp_path):
    hostile = tmp_path / "\tminutes\x1b[2J\u202etxt.exe\x07.txt"
    hostile.write_text("The joint risk register is reviewed \x01monthly by both\x1f partners and owners are named.")
    open_pipeline(db_path, model="hash", workers=0).ingest([hostile])
    conn = sqlite3.connect(db_path)
    pid = conn.execute("select min(id) from passages").fetchone()[0]
    with conn:
        record_review(conn, "BS11000-S5.9", "add", "alice\x1b[8m", pid, "checked\x00 at \x1b[31minterview")
    assert conn.execute("select name, title from documents").fetchone() == ("\tminutes[2Jtxt.exe.txt",
                                                                            "\tminutes[2Jtxt.exe")
    assert conn.execute("select path from documents").fetchone()[0] == str(hostile)  # the file is still found
    assert conn.execute("select text from passages").fetchone()[0].startswith("The joint risk register is reviewed monthly")
    assert conn.execute("select comment, reviewer, document_name from reviews").fetchone() == (
        "checked at [31minterview", "alice[8m", "\tminutes[2Jtxt.exe.txt")
    for table, column in (("documents", "name"), ("document_versions", "name"), ("passages", "text"),
                          ("passages", "context"), ("reviews", "comment"), ("reviews", "passage_text")):
        assert not any(CONTROLS.search(v or "") for v, in conn.execute(f"select {column} from {table}")), (table, column)


def test_control_characters_in_an_old_database_do_not_break_the_export(db_path, tmp_path):
    (tmp_path / "notes.txt").write_text("The joint risk register is reviewed monthly by both partners and owners are named.")
    open_pipeline(db_path, model="hash", workers=0).ingest([tmp_path / "notes.txt"])
    conn = sqlite3.connect(db_path)
    pid = conn.execute("select min(id) from passages").fetchone()[0]
    with conn:
        record_review(conn, "BS11000-S5.9", "add", "alice", pid, "checked at interview")
        # written before text was cleaned where it enters: raw control characters stay in old databases
        conn.execute("update passages set text = ?", ["The joint\x00 risk register\x01 is reviewed\x1b[31m monthly."])
        conn.execute("update documents set name = ?", ["\tnotes\x0b.txt"])
        conn.execute("update reviews set comment = ?, document_name = ?", ["checked\x00 at\x08 interview", "\r=cmd"])
    out = tmp_path / "matrix.xlsx"
    result = CliRunner().invoke(cli, ["export", "--db", str(db_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    evidence = list(openpyxl.load_workbook(out)["Evidence"].values)
    row = [r for r in evidence if r[0] == "BS11000-S5.9"][0]
    assert row[5] == "The joint risk register is reviewed[31m monthly." and row[10] == "checked at interview"
    assert row[6] == "'\tnotes.txt"  # a cell starting with a tab stays text in the spreadsheet
    assert asyncio.run(build_datasette([db_path]).client.get("/-/export/evidence.xlsx")).status_code == 200
    for sheet, name in (("evidence", "'\tnotes.txt"), ("reviews", "'\n=cmd")):  # a CR is read as a line break
        cells = [c for r in csv.reader(io.StringIO(export_csv(conn, sheet))) for c in r]
        assert name in cells, sheet
        assert not any(c[:1] in ("=", "+", "-", "@", "\t", "\r") or CONTROLS.search(c) for c in cells), sheet


def test_review_cli(pack_db):
    rid, pid = _a_link(pack_db)
    result = CliRunner().invoke(cli, ["review", rid, "--db", str(pack_db), "--passage", str(pid),
                                      "--decision", "reject", "--reviewer", "bob"])
    assert result.exit_code == 0, result.output
    assert _status(pack_db, rid)[0] in ("weak", "gap")
    bad = CliRunner().invoke(cli, ["review", "NOPE-1", "--db", str(pack_db), "--passage", str(pid),
                                   "--decision", "accept", "--reviewer", "bob"])
    assert bad.exit_code == 1 and "Error: no requirement 'NOPE-1'" in bad.output


def test_stale_evidence_and_document_page(pack_db):
    ds = build_datasette([pack_db])
    rows = asyncio.run(ds.client.get("/evidence/stale_evidence.json?months=1&_shape=objects")).json()["rows"]
    assert rows and all(r["months_old"] >= 1 for r in rows)
    none_stale = asyncio.run(ds.client.get("/evidence/stale_evidence.json?months=1200&_shape=objects")).json()["rows"]
    assert none_stale == []
    doc_id = sqlite3.connect(pack_db).execute("select id from documents where name like 'alliance-relationship%'").fetchone()[0]
    page = asyncio.run(ds.client.get(f"/evidence/documents/{doc_id}")).text
    assert "Requirements this document evidences" in page and "/evidence/requirements/BS11000-S" in page
    assert f"/-/source/evidence/{doc_id}" in page


def test_incremental_coverage_matches_a_full_recompute(pack_db, sample_pack, tmp_path):
    from evidence.db import refresh_coverage

    conn = sqlite3.connect(pack_db)

    def snapshot():
        return conn.execute("select * from coverage order by requirement_id").fetchall()

    rid, pid = _a_link(pack_db)
    other = conn.execute("select requirement_id, passage_id from candidates limit 1").fetchone()
    with conn:
        record_review(conn, rid, "reject", "alice", pid)  # takes its crosswalk links with it
        record_review(conn, other[0], "accept", "alice", other[1])
        record_review(conn, "XTP-C6", "not_applicable", "alice", comment="no co-location in this relationship")
    incremental = snapshot()
    with conn:
        refresh_coverage(conn)
    assert snapshot() == incremental
    # one document changed and one removed: each refreshes only what it touched
    folder = tmp_path / "docs"
    folder.mkdir()
    import shutil

    for name in ("joint-risk-register.xlsx", "alliance-collaboration-charter.docx"):
        shutil.copy(sample_pack / name, folder / name)
    pipeline = open_pipeline(pack_db, model="hash", workers=0)
    pipeline.ingest([folder])
    pipeline.remove(folder / "alliance-collaboration-charter.docx")
    incremental = snapshot()
    with conn:
        refresh_coverage(conn)
    assert snapshot() == incremental


def test_requirement_page_counts_what_coverage_counts_after_reviews(pack_db):
    conn = sqlite3.connect(pack_db)
    rejected, pid = _a_link(pack_db)
    accepted, candidate = conn.execute(
        """select c.requirement_id, min(c.passage_id) from candidates c join coverage v using (requirement_id)
           where v.evidence_count = 0 group by c.requirement_id limit 1""").fetchone()
    with conn:
        record_review(conn, rejected, "reject", "alice", pid, "not about this")
        record_review(conn, accepted, "accept", "alice", candidate, "it is")
    ds = build_datasette([pack_db])
    for rid, expected in ((rejected, 0), (accepted, 1)):
        coverage = conn.execute("select evidence_count from coverage where requirement_id = ?", [rid]).fetchone()[0]
        assert coverage == expected
        page = asyncio.run(ds.client.get(f"/evidence/requirements/{tilde_encode(rid)}")).text
        assert f"<h2>Evidence ({coverage})</h2>" in page, rid
        counted = page.split("<h2>Evidence (")[1].split("<h2>Candidates")[0].split("<h2>Rejected")[0]
        assert counted.count("<blockquote>") == coverage, rid
        listed = asyncio.run(ds.client.get("/evidence/requirement_evidence.json", params={
            "requirement_id": rid, "_shape": "objects"})).json()["rows"]
        exported = [r for r in csv.DictReader(io.StringIO(export_csv(conn, "evidence"))) if r["Requirement"] == rid]
        assert len(listed) == len(exported) == coverage, rid
    rejected_page = asyncio.run(ds.client.get(f"/evidence/requirements/{tilde_encode(rejected)}")).text
    assert "Rejected by an assessor (1)" in rejected_page and "not about this" in rejected_page


def test_a_login_holds_on_every_worker_process(pack_db):
    """`serve --workers 2`: two processes answer on one port. A login form one served, the other accepts, and the
    login cookie holds whichever answers next (every connection below is new, so both take turns)."""
    import http.cookiejar
    import urllib.parse
    import urllib.request

    from datasette_auth_passwords.utils import hash_password
    from helpers import served

    env = {"EVIDENCE_PASSWORD_HASH": hash_password("correct horse")}
    with served(pack_db, env=env, args=("--workers", "2")) as url:
        for attempt in range(2):  # each login's form and post may land on either process
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            page = opener.open(url + "/-/login").read().decode()
            token = re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)
            form = urllib.parse.urlencode({"csrftoken": token, "username": "assessor",
                                           "password": "correct horse"}).encode()
            opener.open(url + "/-/login", data=form).read()
            actors = [opener.open(url + "/-/actor.json").read().decode() for _ in range(6)]
            assert all('"id": "assessor"' in a for a in actors), (attempt, actors)


def test_worker_processes_accept_each_others_logins_and_forms(pack_db, monkeypatch):
    """Two workers of one `serve --workers`, built as each process builds its own: the login form one serves,
    the other accepts, and the login cookie the second sets holds on the first."""
    import os

    from datasette_auth_passwords.utils import hash_password

    from evidence import serve

    monkeypatch.setenv("EVIDENCE_PASSWORD_HASH", hash_password("correct horse", iterations=1000))
    config = serve.write_worker_config([pack_db], require_login=False)
    try:
        assert os.stat(config).st_mode & 0o077 == 0, "the secret is for this user alone"
        monkeypatch.setenv(serve.SERVE_ENV, str(config))
        first, second = serve.worker_datasette(), serve.worker_datasette()
        login = asyncio.run(first.client.get("/-/login"))
        token = re.search(r'name="csrftoken" value="([^"]+)"', login.text).group(1)
        right = asyncio.run(second.client.post("/-/login", cookies=dict(login.cookies), data={
            "csrftoken": token, "username": "assessor", "password": "correct horse"}))
        assert right.status_code == 302 and "ds_actor" in right.cookies
        actor = asyncio.run(first.client.get("/-/actor.json", cookies={"ds_actor": right.cookies["ds_actor"]}))
        assert actor.json() == {"actor": {"id": "assessor"}}
        other = serve.build_datasette([pack_db])  # a server of its own, its own secret: the cookie means nothing
        assert asyncio.run(other.client.get("/-/actor.json", cookies={
            "ds_actor": right.cookies["ds_actor"]})).json() == {"actor": None}
    finally:
        config.unlink()


def test_a_review_posted_from_a_page_lands_on_the_text_shown_or_not_at_all(tmp_path):
    """A document read again while a page is open may give the shown passage's id to another text: the review
    names the text it was made on, and is refused when that is no longer what the id holds."""
    folder, db_path = tmp_path / "shared", tmp_path / "evidence.db"
    folder.mkdir()
    plan = folder / "plan.txt"
    plan.write_text("The joint risk register is reviewed by both partners every month.\n\n"
                    "Each risk has a named owner and a mitigation action.\n")
    pipeline = open_pipeline(db_path, model="hash", workers=0)
    pipeline.ingest([folder])
    conn = sqlite3.connect(db_path)
    pid, shown = conn.execute("select id, text from passages order by id desc limit 1").fetchone()
    ds = build_datasette([db_path])
    path = f"/evidence/passages/{pid}"
    cookies = _login(ds)
    page = asyncio.run(ds.client.get(path, cookies=cookies))
    posted_hash = re.search(r'name="passage_hash" value="([0-9a-f]+)"', page.text).group(1)
    token, cookies = _csrf(ds, path, cookies)
    plan.write_text("The joint risk register is reviewed by both partners every month.\n\n"
                    "Staff parking at the depot is allocated by the facilities team.\n")
    pipeline.ingest([folder])
    now = conn.execute("select text from passages where id = ?", [pid]).fetchone()
    assert now is not None and now[0] != shown  # the id the page showed now holds another text
    form = {"csrftoken": token, "requirement_id": "BS11000-S2.15", "passage_id": str(pid), "decision": "add",
            "next": path}
    refused = asyncio.run(ds.client.post("/-/review/evidence", cookies=cookies, data={**form, "passage_hash": posted_hash}))
    assert refused.status_code == 400 and "has changed since the page was shown" in refused.text
    assert conn.execute("select count(*) from reviews").fetchone()[0] == 0
    fresh = re.search(r'name="passage_hash" value="([0-9a-f]+)"',
                      asyncio.run(ds.client.get(path, cookies=cookies)).text).group(1)
    saved = asyncio.run(ds.client.post("/-/review/evidence", cookies=cookies, data={**form, "passage_hash": fresh}))
    assert saved.status_code == 302
    assert conn.execute("select passage_text from reviews").fetchone()[0] == now[0]


def test_not_applicable_is_withdrawn_from_the_page_and_a_clear_of_nothing_is_refused(pack_db):
    conn = sqlite3.connect(pack_db)
    rid, pid = _a_link(pack_db)
    with pytest.raises(ReviewError, match="nothing to clear"):
        record_review(conn, "BS11000-S8.6", "clear", "alice")
    with pytest.raises(ReviewError, match="no review of this passage"):
        record_review(conn, rid, "clear", "alice", pid)
    assert conn.execute("select count(*) from reviews").fetchone()[0] == 0  # the log holds decisions only
    before = _status(pack_db, "BS11000-S8.6")[0]
    with conn:
        record_review(conn, "BS11000-S8.6", "not_applicable", "alice", comment="relationship not ending")
    ds = build_datasette([pack_db])
    path = f"/evidence/requirements/{tilde_encode('BS11000-S8.6')}"
    token, cookies = _csrf(ds, path, _login(ds))
    page = asyncio.run(ds.client.get(path, cookies=cookies)).text
    assert 'value="clear">Withdraw' in page and 'value="not_applicable"' not in page
    response = asyncio.run(ds.client.post("/-/review/evidence", cookies=cookies, data={
        "csrftoken": token, "requirement_id": "BS11000-S8.6", "decision": "clear", "next": path}))
    assert response.status_code == 302
    assert _status(pack_db, "BS11000-S8.6")[0] == before != "not_applicable"
    # a link nobody reviewed offers no "Clear review"; once reviewed, it does
    link_page = f"/evidence/requirements/{tilde_encode(rid)}"
    assert "Clear review" not in asyncio.run(ds.client.get(link_page, cookies=cookies)).text
    with conn:
        record_review(conn, rid, "accept", "alice", pid)
    assert "Clear review" in asyncio.run(ds.client.get(link_page, cookies=cookies)).text


def test_an_item_only_an_added_link_supports_falls_when_its_document_is_removed(pack_db):
    conn = sqlite3.connect(pack_db)
    rid = conn.execute("select requirement_id from coverage where status = 'gap' and requirement_id like 'BS11000%' "
                       "limit 1").fetchone()[0]
    pid, doc_id = conn.execute("select id, document_id from passages order by id limit 1").fetchone()
    with conn:
        record_review(conn, rid, "add", "alice", pid, "found by search")
    assert _status(pack_db, rid)[0] == "evidenced"
    open_pipeline(pack_db, model="hash", workers=0).documents.remove(doc_id)
    status, best = conn.execute("select status, best_passage_id from coverage where requirement_id = ?", [rid]).fetchone()
    assert status == "gap" and best is None
