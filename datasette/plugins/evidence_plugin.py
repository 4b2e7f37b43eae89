"""Datasette plugin for the evidence matrix: front-page coverage, requirement drill-down, source files, logins.

The plugin shows, the library computes: page data comes from `evidence.pages` (plain functions over a SQLite
connection); here are the routes, access checks, URLs and templates.

Source files are served only from the pipeline's content-addressed copies, looked up by document id,
never from a path given in a request. Assessor accounts live on the Datasette instance, never in its
metadata (which /-/metadata.json publishes); passwords are checked off the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from datasette import hookimpl
from datasette.utils import await_me_maybe, baseconv, tilde_decode, tilde_encode
from datasette.utils.asgi import Base400, Forbidden, NotFound, Response
from datasette.views.base import DatasetteError
from markupsafe import Markup, escape

from evidence import pages

EVIDENCE_LIMIT = pages.EVIDENCE_LIMIT  # the best links on a requirement's page; read per request


def _plugin_files(datasette) -> dict:
    return (datasette.plugin_config("evidence") or {}).get("files", {})


async def coverage_summary(datasette, database: str) -> list[dict]:
    """Per framework, per stage: counts by status, in catalogue order, for the front-page chart."""
    return await datasette.get_database(database).execute_fn(pages.coverage_summary)


async def watcher_status(datasette, database: str) -> dict:
    """What the folder watcher last recorded (state, last file, last error and when), empty without one."""
    try:
        return await datasette.get_database(database).execute_fn(pages.watcher_status)
    except Exception:  # not an evidence database at all
        return {}


async def requirement_detail(datasette, database: str, requirement_id: str) -> dict:
    """A requirement's evidence (with reviews), candidates, crosswalk and coverage, for its page, with links."""
    limit = EVIDENCE_LIMIT
    detail = await datasette.get_database(database).execute_fn(
        lambda conn: pages.requirement_detail(conn, requirement_id, limit))
    for row in detail["evidence"] + detail["rejected"]:
        row["via_url"] = requirement_url(datasette, database, row["via"]) if row["via"] else None
    for row in detail["crosswalk"]:
        row["url"] = requirement_url(datasette, database, row["id"])
    detail["all_links_url"] = datasette.urls.table(database, "effective_evidence") + "?" + urlencode(
        {"requirement_id": requirement_id})
    # an item of an assessed framework links to its answer on the assessment page
    row = (await datasette.get_database(database).execute(
        "select framework from requirements where id = ?", [requirement_id])).first()
    assessed = {f["id"]: f["name"] for f in await assessed_frameworks(datasette, database)}
    if row and row["framework"] in assessed:
        detail["assessment"] = {"name": assessed[row["framework"]], "url": datasette.urls.path(
            f"/{quote(database)}/-/assess/{quote(row['framework'])}") + f"#item-{quote(requirement_id)}"}
    return detail


async def document_detail(datasette, database: str, document_id: str) -> dict:
    """Which requirements a document evidences, with how many of its passages, and its versions."""
    detail = await datasette.get_database(database).execute_fn(lambda conn: pages.document_detail(conn, document_id))
    for row in detail["requirements"]:
        row["url"] = requirement_url(datasette, database, row["requirement_id"])
    return detail


def requirement_url(datasette, database: str, requirement_id: str) -> str:
    return datasette.urls.row(database, "requirements", tilde_encode(requirement_id))


@hookimpl
def extra_template_vars(template, database, table, request, datasette):
    async def inner():
        if template == "index.html":
            names = [n for n in datasette.databases if not n.startswith("_")]
            return {"coverage": {n: await coverage_summary(datasette, n) for n in names},
                    "watchers": {n: await watcher_status(datasette, n) for n in names},
                    "assessments": {n: await assessed_frameworks(datasette, n) for n in names}}
        if template.startswith("row") and request is not None:
            pk = tilde_decode(request.url_vars.get("pks", ""))
            if table == "requirements":
                return {"detail": await requirement_detail(datasette, database, pk), "can_review": bool(request.actor)}
            if table == "documents":
                return {"document": await document_detail(datasette, database, pk)}
            if table == "passages":
                return {"passage_detail": await passage_detail(datasette, database, pk), "can_review": bool(request.actor)}
        return {}

    return inner


async def passage_detail(datasette, database: str, pk: str) -> dict:
    """Where the passage page's passage comes from (its document, location and page) and what its review form
    posts: the passage and the hash of the text shown with it."""
    rows = await datasette.get_database(database).execute(
        "select p.text_hash, p.location, p.page, d.id, d.name from passages p join documents d on d.id = p.document_id "
        "where p.id = ?", [pk])
    row = rows.first()
    if row is None:
        return {"passage_id": pk, "passage_hash": ""}
    return {"passage_id": pk, "passage_hash": row[0], "location": row[1], "page": row[2], "document_id": row[3],
            "document": row[4]}


async def assessed_frameworks(datasette, database: str) -> list[dict]:
    """The database's enabled frameworks that have an assessment page; none for a database that is not ours."""
    from evidence.assess import assessed_frameworks as enabled

    try:
        return await datasette.get_database(database).execute_fn(enabled)
    except Exception:  # not an evidence database, or its catalogue cannot be read: the front page still shows
        return []


def _published(request, datasette) -> str:
    """The database named in the URL, if it is one of the published evidence databases."""
    database = request.url_vars["database"]
    if database not in datasette.databases or database.startswith("_"):
        raise NotFound("no such database")
    return database


async def _viewable(request, datasette) -> str:
    """The database named in the URL, if it exists and this visitor may read it."""
    database = _published(request, datasette)
    if not await datasette.permission_allowed(request.actor, "view-database", database, default=True):
        raise Forbidden("you may not view this database")
    return database


async def version_diff(request, datasette):
    """What changed between two versions of a document (by default the current one and the one before)."""
    from evidence.history import HistoryError, diff_versions

    database = await _viewable(request, datasette)
    try:
        ids = [int(request.args[k]) if request.args.get(k) else None for k in ("from", "to")]
        diff = await datasette.get_database(database).execute_fn(
            lambda conn: diff_versions(conn, int(request.url_vars["document_id"]), *ids))
    except ValueError:
        return Response.text("'from' and 'to' are version ids (numbers)", status=400)
    except HistoryError as exc:
        return Response.text(str(exc), status=404)
    urls = {rid: requirement_url(datasette, database, rid) for rid in diff.gained + diff.lost}
    return Response.html(await datasette.render_template(
        "version_diff.html", {"diff": diff, "urls_of": urls, "database": database}, request=request))


async def source_file(request, datasette):
    """The exact version of a document the evidence came from, from the pipeline's own copy: found by the name
    the pipeline recorded for it, never by a path in the request."""
    from evidence import copies

    database = await _viewable(request, datasette)
    row = (await datasette.get_database(database).execute(
        "select copy_name, name from documents where id = ?", [request.url_vars["document_id"]])).first()
    content_type = copies.content_type(row["copy_name"] or "") if row else None
    files = _plugin_files(datasette).get(database)
    path = copies.copy_path(files, row["copy_name"]) if content_type and files else None
    if path is None:
        raise NotFound("no stored copy for this document")
    if not path.is_file():
        raise NotFound("the stored copy is missing")
    name = Path(row["name"] or "document").name
    return Response(
        path.read_bytes(), content_type=content_type,
        headers={
            "Content-Disposition": f'{"inline" if copies.is_inline(path.name) else "attachment"}; '
                                   f"{download_names(name)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, max-age=3600",
        },
    )


def download_names(name: str, most: int = 150) -> str:
    """A Content-Disposition's file names: a plain one for any browser and the name itself, UTF-8 (RFC 6266);
    a long name is cut before its extension, so the download still opens with the right program."""
    stem, dot, suffix = name.rpartition(".") if "." in name[1:] else (name, "", "")
    suffix = f".{suffix}" if dot and len(suffix) <= 10 else ""
    stem = stem if suffix else name
    keep = max(1, most - len(suffix))
    plain = (re.sub(r"[^\w.() -]+", "_", stem, flags=re.ASCII)[:keep]
             + re.sub(r"[^\w.]+", "_", suffix, flags=re.ASCII)) or "document"
    full = stem[:keep] + suffix
    return f'filename="{plain}"; filename*=UTF-8\'\'{quote(full, safe="")}'


async def review(request, datasette):
    """Record an assessor's decision; the only write the published matrix accepts, and only when logged in."""
    from evidence.db import write_transaction
    from evidence.reviews import ReviewError, record_review

    if request.method != "POST":
        return Response.text("POST a review", status=405)
    database = _published(request, datasette)
    if not request.actor:
        raise Forbidden("log in as an assessor to review evidence")
    form = await request.post_vars()
    if not _csrf_ok(request, form):
        raise Forbidden("post reviews from the requirement's page")
    passage = form.get("passage_id") or None
    try:
        passage_id = int(passage) if passage else None
    except ValueError:
        return Response.text("passage_id must be a number", status=400)
    if passage_id is not None and not form.get("passage_hash"):  # this site's forms always say which text they showed
        return Response.text("Review not saved: the form does not say which text it was made on: reload the page "
                             "and review it again", status=400)

    def write(conn):
        # one short transaction that waits for the writer lock (an ingest or the watcher may hold it)
        with write_transaction(conn):
            return record_review(conn, form.get("requirement_id", ""), form.get("decision", ""),
                                 str(request.actor.get("id", "")), passage_id, form.get("comment", ""),
                                 form.get("passage_hash") or None)

    try:
        await datasette.get_database(database).execute_write_fn(write, block=True)
    except ReviewError as exc:
        return Response.text(f"Review not saved: {exc}", status=400)
    datasette.add_message(request, "Review saved", datasette.INFO)
    target = form.get("next", "")
    if not is_local_path(target):  # never redirect off this site
        target = datasette.urls.row(database, "requirements", tilde_encode(form.get("requirement_id", "")))
    return Response.redirect(target)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_local_path(target: str) -> bool:
    """A path on this site and nothing else: browsers read a backslash as a slash and drop tabs and line breaks,
    so '/\\host', '/\t/host' and '//host' all lead off-site."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or _CONTROL.search(target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


async def export(request, datasette):
    """The audit-file export: the same workbook and CSV as `evidence export`."""
    from evidence import copies
    from evidence.export import ExportError, export_csv, export_workbook

    database, fmt = await _viewable(request, datasette), request.url_vars["format"]
    db = datasette.get_database(database)
    if fmt == "xlsx":
        body = await db.execute_fn(lambda conn: export_workbook(conn, f"Evidence matrix: {database}"))
        return Response(body, content_type=copies.CONTENT_TYPES[".xlsx"],
                        headers={"Content-Disposition": f'attachment; filename="{database}-evidence-matrix.xlsx"'})
    sheet = request.args.get("sheet", "requirements")
    try:
        body = await db.execute_fn(lambda conn: export_csv(conn, sheet))
    except ExportError as exc:
        return Response.text(str(exc), status=400)
    return Response(body, content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{database}-{sheet}.csv"'})


def _csrf_ok(request, form) -> bool:
    """The form came from one of our pages: its token matches the CSRF cookie. Datasette skips its own check when
    a request has no cookie at all, yet a browser adds cached Basic credentials to a hostile site's form."""
    cookie = request.cookies.get("ds_csrftoken", "")
    return bool(cookie) and secrets.compare_digest(form.get("csrftoken", "").encode(), cookie.encode())


LOGIN_SECONDS = 12 * 3600  # an audit day; Datasette refuses the signed cookie after it, whatever the browser keeps
BASIC_CHALLENGE = {"www-authenticate": 'Basic realm="Evidence matrix", charset="UTF-8"'}
# PBKDF2 takes a good fraction of a second: on the event loop ten wrong passwords would stall every visitor.
# Two threads at most, so a burst of guesses queues here instead of taking every core.
_PASSWORD_CHECKS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="password-check")


def _accounts(datasette) -> dict[str, str]:
    return getattr(datasette, "evidence_accounts", None) or {}  # set by evidence.serve.build_datasette


# Guessing passwords: after this many failed checks for one username within the window, its logins are refused
# until the oldest of them is older than the window (the form and Basic credentials alike; each server process
# counts its own). Unknown usernames count the same, so the answers never tell which usernames exist.
LOGIN_FAILURES = 5
LOGIN_WINDOW = 15 * 60
LOGIN_KEYS = 10_000  # usernames remembered at most: posting endless names cannot grow the server's memory


class LoginThrottle:
    """Failed login checks per username in the window. Checks for one username run one at a time (`lock`), so
    guesses sent at once are counted as each fails, and a page's requests with the right credentials (a browser
    sends Basic credentials with each asset) are each let through."""

    def __init__(self, failures: int = LOGIN_FAILURES, window: float = LOGIN_WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failures, self.window, self.clock = failures, window, clock
        self._failed: dict[str, list[float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _recent(self, key: str) -> list[float]:
        now = self.clock()
        recent = [t for t in self._failed.pop(key, []) if now - t < self.window]
        if recent:
            self._failed[key] = recent  # re-inserted: the dict's order is the order of use
        return recent

    @staticmethod
    def _key(username: str) -> str:
        return username[:200]  # a username is remembered by its start: a megabyte posted is not kept

    def lock(self, username: str) -> asyncio.Lock:
        key = self._key(username)
        if key not in self._locks:
            while len(self._locks) >= LOGIN_KEYS:  # the oldest that nobody holds goes
                idle = next((k for k, lk in self._locks.items() if not lk.locked()), None)
                if idle is None:
                    break
                del self._locks[idle]
            self._locks[key] = asyncio.Lock()
        return self._locks[key]

    def blocked(self, username: str) -> bool:
        return len(self._recent(self._key(username))) >= self.failures

    def failed(self, username: str) -> None:
        key = self._key(username)
        self._failed[key] = [*self._recent(key), self.clock()]
        while len(self._failed) > LOGIN_KEYS:
            del self._failed[next(iter(self._failed))]

    def succeeded(self, username: str) -> None:
        self._failed.pop(self._key(username), None)


def _throttle(datasette) -> LoginThrottle:
    if not hasattr(datasette, "evidence_logins"):
        datasette.evidence_logins = LoginThrottle()
    return datasette.evidence_logins


async def check_password(datasette, username: str, password: str) -> dict | None:
    """The actor these credentials log in, or None; checked in a worker thread, one check per username at a time,
    and not at all for a username that failed too often lately (the right password then fails too, until the
    window has passed). Unknown usernames count the same, so the answers never tell which exist."""
    throttle = _throttle(datasette)
    async with throttle.lock(username):
        if throttle.blocked(username):
            return None
        hashed = _accounts(datasette).get(username)
        ok = bool(hashed) and await asyncio.get_running_loop().run_in_executor(
            _PASSWORD_CHECKS, _verify, password, hashed)
        (throttle.succeeded if ok else throttle.failed)(username)
    return {"id": username} if ok else None


def _verify(password: str, hashed: str) -> bool:
    from datasette_auth_passwords.utils import verify_password

    from evidence.serve import is_password_hash

    return is_password_hash(hashed) and verify_password(password, hashed)  # a malformed hash matches nothing


async def login(request, datasette):
    """The password login form of datasette-auth-passwords, with the check off the event loop and a cookie
    scripts cannot read, other sites cannot send and that expires."""
    error = None if _accounts(datasette) else "This instance does not have any configured accounts"
    if request.method == "POST":
        form = await request.post_vars()
        if not _csrf_ok(request, form):
            raise Forbidden("log in from the login page")
        username = form.get("username") or ""
        actor = await check_password(datasette, username, form.get("password") or "")
        if actor:
            response = Response.redirect(datasette.urls.path("/"))
            expires = baseconv.base62.encode(int(time.time()) + LOGIN_SECONDS)
            response.set_cookie("ds_actor", datasette.sign({"a": actor, "e": expires}, "actor"),
                                max_age=LOGIN_SECONDS, httponly=True, samesite="lax")
            return response
        error = ("Too many failed logins for this username: its logins are refused for up to a quarter of an hour"
                 if _throttle(datasette).blocked(username) else "Invalid username or password")
    return Response.html(await datasette.render_template("password_login.html", {"error": error}, request=request))


async def no_password_tool(request, datasette):
    # datasette-auth-passwords hashes on the event loop for anyone who asks; hashes are made on the server
    return Response.text("Make a password hash with `evidence hash-password` on the server", status=404)


async def search(request, datasette):
    """Full-text search over a database's passages, best matches first, each with its document, its place and
    the requirements it counts as evidence for."""
    database = await _viewable(request, datasette)
    query = request.args.get("q", "")
    try:
        found = await datasette.get_database(database).execute_fn(lambda conn: pages.search_passages(conn, query))
    except pages.SearchError as exc:
        return Response.text(str(exc), status=400)
    for row in found["results"]:
        row["snippet_html"] = marked(row["snippet"])
        row["requirement_urls"] = [(rid, requirement_url(datasette, database, rid)) for rid in row["requirements"]]
    return Response.html(await datasette.render_template(
        "search.html", {"database": database, "found": found,
                        "table_url": datasette.urls.table(database, "passages") + "?" + urlencode({"_search": query})},
        request=request))


async def matrix(request, datasette):
    """The evidence matrix a page at a time: each requirement with its status, its best evidence (an excerpt,
    linked to the passage and its document) and where it sits, narrowed by framework, stage, status or the best
    evidence's document type; the full view stays one click away as a Datasette table."""
    database = await _viewable(request, datasette)
    filters = {k: request.args.get(k) for k in pages.MATRIX_FILTERS}
    try:
        offset = int(request.args.get("_offset") or 0)
    except ValueError:
        return Response.text("_offset must be a whole number", status=400)
    # SQLite takes 64-bit integers; no matrix has a billion requirements
    offset = min(max(0, offset), 10**9)
    page = await datasette.get_database(database).execute_fn(lambda conn: pages.matrix_page(conn, filters, offset))
    here = datasette.urls.path(f"/{quote(database)}/-/matrix")

    def link(**changes) -> str:  # this page with some filters changed (None drops one); paging starts again
        return _with_args(here, {**page["filters"], **changes})

    for column, values in page["facets"].items():
        for facet in values:
            facet["url"] = link(**{column: None if facet["chosen"] else facet["value"]})
    for row in page["rows"]:
        row["requirement_url"] = requirement_url(datasette, database, row["requirement_id"])
    return Response.html(await datasette.render_template("matrix.html", {
        "database": database, "page": page,
        "next_url": link(_offset=page["next_offset"]) if page["next_offset"] is not None else None,
        "previous_url": link(_offset=page["previous_offset"] or None) if page["previous_offset"] is not None else None,
        "clear_url": link(**dict.fromkeys(page["filters"])),
        "table_url": _with_args(datasette.urls.table(database, "matrix"), page["filters"]),
    }, request=request))


def _with_args(url: str, args: dict) -> str:
    """`url` with the query string of those `args` that have a value."""
    query = urlencode({k: v for k, v in args.items() if v not in (None, "")})
    return url + ("?" + query if query else "")


def marked(snippet: str) -> Markup:
    """A search snippet as HTML: its text escaped, the matched words (between the library's marks) in <mark>."""
    opening, closing = pages.SNIPPET_MARKS
    text = str(escape(snippet or ""))
    return Markup(text.replace(opening, "<mark>").replace(closing, "</mark>"))


async def assessments(request, datasette):
    """The assessed frameworks of a database, each linking to its page."""
    database = await _viewable(request, datasette)
    frameworks = await assessed_frameworks(datasette, database)
    return Response.html(await datasette.render_template(
        "assess_index.html", {"database": database, "frameworks": frameworks}, request=request))


async def assessment(request, datasette):
    """One assessed framework: the tool's suggestion and the assessor's decision side by side, the verdicts, a
    chart, each answer's passages; logged-in assessors confirm or override (POST, like link reviews)."""
    from evidence.assess import AssessmentError

    database = await _viewable(request, datasette)
    framework = request.url_vars["framework"]
    if request.method == "POST":
        return await _assessment_post(request, datasette, database, framework)
    try:
        result = await datasette.get_database(database).execute_fn(
            lambda conn: pages.assessment_page(conn, framework))
    except AssessmentError as exc:
        raise NotFound(str(exc)) from None
    for item in result["items"]:
        item["url"] = requirement_url(datasette, database, item["id"])
        for p in item["passages"]:
            p["passage_url"] = datasette.urls.row(database, "passages", str(p["passage_id"]))
            p["document_url"] = datasette.urls.row(database, "documents", str(p["document_id"]))
            p["source_url"] = f"/-/source/{quote(database)}/{p['document_id']}"
    return Response.html(await datasette.render_template(
        "assess.html", {"database": database, "result": result, "can_review": bool(request.actor),
                        "here": request.path}, request=request))


async def _assessment_post(request, datasette, database: str, framework: str):
    from evidence.assess import AssessmentError, record_assessment, set_gate, set_phase
    from evidence.db import write_transaction

    if not request.actor:
        raise Forbidden("log in as an assessor to answer")
    form = await request.post_vars()
    if not _csrf_ok(request, form):
        raise Forbidden("post answers from the assessment's page")
    reviewer = str(request.actor.get("id", ""))

    def write(conn):
        with write_transaction(conn):  # waits for an ingest or the watcher holding the writer lock
            if "gate" in form:
                return set_gate(conn, form["gate"], framework)
            if "phase" in form:
                return set_phase(conn, form["phase"], framework)
            return record_assessment(conn, form.get("requirement_id", ""), form.get("answer", ""), reviewer,
                                     form.get("comment", ""), form.get("party") or None)

    try:
        await datasette.get_database(database).execute_write_fn(write, block=True)
    except AssessmentError as exc:
        return Response.text(f"Answer not saved: {exc}", status=400)
    datasette.add_message(request, "Saved", datasette.INFO)
    anchor = re.sub(r"[^\w.-]", "", form.get("requirement_id", ""))
    return Response.redirect(request.path + (f"#item-{anchor}" if anchor else ""))


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def basic_authentication(scope, receive, send):
            header = dict(scope.get("headers") or []).get(b"authorization", b"") if scope["type"] == "http" else b""
            if header[:6].lower() == b"basic ":
                credentials = _basic_credentials(header[6:])
                accounts = _accounts(datasette)
                actor = await check_password(datasette, *credentials) if credentials and accounts else None
                # malformed, or wrong where there are accounts: 401, never a 500 and never anonymous access.
                # Without accounts the header is not ours (a proxy's own login) and the visitor stays anonymous.
                if credentials is None or (accounts and actor is None):
                    await Response.text("401 Authorization Required", status=401,
                                        headers=BASIC_CHALLENGE).asgi_send(send)
                    return
                # checked once, here: no other plugin parses the header again on the event loop
                headers = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
                scope = {**scope, "headers": headers, "evidence_actor": actor}
            await app(scope, receive, send)

        return basic_authentication

    return wrap


def _basic_credentials(encoded: bytes) -> tuple[str, str] | None:
    """(username, password) from a Basic header's credentials, None when they are malformed."""
    try:
        username, colon, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (username, password) if colon else None


@hookimpl
def actor_from_request(request):
    return request.scope.get("evidence_actor")


@hookimpl(tryfirst=True)  # before datasette-auth-passwords, whose /-/login these replace
def register_routes():
    return [
        (r"^/-/source/(?P<database>[^/]+)/(?P<document_id>\d+)$", source_file),
        (r"^/-/diff/(?P<database>[^/]+)/(?P<document_id>\d+)$", version_diff),
        (r"^/-/review/(?P<database>[^/]+)$", review),
        (r"^/-/export/(?P<database>[^/.]+)\.(?P<format>xlsx|csv)$", export),
        (r"^/(?P<database>[^/]+)/-/assess$", assessments),
        (r"^/(?P<database>[^/]+)/-/search$", search),
        (r"^/(?P<database>[^/]+)/-/matrix$", matrix),
        (r"^/(?P<database>[^/]+)/-/assess/(?P<framework>[A-Za-z0-9_.-]+)$", assessment),
        (r"^/-/login$", login),
        (r"^/-/password-tool$", no_password_tool),
    ]


@hookimpl
def menu_links(datasette, actor):
    if actor:
        return []
    return [{"href": datasette.urls.path("/-/login"), "label": "Log in to review"}] if _accounts(datasette) else []


LINKED_REQUIREMENT_COLUMNS = {"requirement_id", "via", "related_id"}


@hookimpl
def render_cell(value, column, table, database, datasette):
    """Explanations as sentences; requirement ids as links to their drill-down page."""
    if column == "why" and isinstance(value, str) and value.startswith("{"):
        return pages.why_text(value)
    if column in LINKED_REQUIREMENT_COLUMNS and isinstance(value, str) and value and database:
        url = requirement_url(datasette, database, value)
        return Markup(f'<a href="{escape(url)}">{escape(value)}</a>')
    if table == "requirements" and column == "id" and isinstance(value, str):
        return None  # Datasette links primary keys itself
    return None


# fts3_tokenizer() hands out tokenizer pointers (an address leak) and, with two arguments, installs them
BLOCKED_FUNCTIONS = {"fts3_tokenizer"}


@hookimpl
def prepare_connection(conn):
    # Datasette has no setting for this: the authorizer refuses the function when any SQL is prepared
    conn.set_authorizer(_authorize)


def _authorize(action, arg1, arg2, database, trigger):
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in BLOCKED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


@hookimpl(hookwrapper=True)
def handle_exception(datasette, request, exception):
    """Datasette's own handler prints the traceback with rich, which raises outside an `except` block: a URL no
    route matches (/-/source/evidence/-1) answered 500 instead of 404. Every handler runs while it is handled."""
    outcome = yield
    handlers = outcome.get_result()
    if _is_answer(exception):  # an answer, not a fault: Datasette's handler would print a traceback
        handlers = [_answer(datasette, request, exception)] + [
            h for h in handlers if getattr(h, "__module__", "") != "datasette.handle_exception"]
    outcome.force_result([_while_handling(exception, handler) for handler in handlers])


def _is_answer(exception: Exception) -> bool:
    """A 4xx: a page that is not there, a visitor not allowed, a query that is not valid SQL (a DatasetteError
    with a 4xx status; a rich traceback of it took 1.4 s of the server's time and filled its console)."""
    return isinstance(exception, Base400) or (isinstance(exception, DatasetteError) and exception.status < 500)


def _answer(datasette, request, exception: Exception):
    """The error page (or JSON) Datasette's own handler gives a 4xx, without the traceback it prints first."""
    async def inner():
        if isinstance(exception, DatasetteError):
            message = Markup(exception.message) if exception.message_is_html else exception.message
            info = {**exception.error_dict, "ok": False, "error": message, "status": exception.status,
                    "title": exception.title}
        else:
            info = {"ok": False, "error": exception.args[0] if exception.args else "", "status": exception.status,
                    "title": None}
        if request.path.split("?")[0].endswith(".json"):
            return Response.json(info, status=exception.status)
        template = datasette.jinja_env.select_template([f"{exception.status}.html", "error.html"])
        context = dict(info, urls=datasette.urls, app_css_hash=datasette.app_css_hash(), menu_links=lambda: [])
        return Response.html(await template.render_async(context), status=exception.status)

    return inner


def _while_handling(exception, handler):
    async def inner():
        try:
            raise exception
        except Exception:
            return await await_me_maybe(handler)

    return inner
