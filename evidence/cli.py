"""The `evidence` command: each command calls one library function and reports its named errors."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import click

from ingest import printable
from mapping import ModelNotFound
from standards import CatalogueError, load_catalogue

from . import open_pipeline
from .assess import AssessmentError
from .export import ExportError
from .history import HistoryError
from .pipeline import FileOutcome, IngestError
from .reviews import DECISIONS, ReviewError
from .serve import ServeError
from .watch import WatchError

DB_OPTION = click.option("--db", "db_path", default="evidence.db", show_default=True,
                         type=click.Path(dir_okay=False), help="Evidence database (one per relationship)")
CATALOGUE_OPTION = click.option("--catalogue", "catalogues", multiple=True, type=click.Path(exists=True, dir_okay=False),
                                help="Extra catalogue YAML file (repeatable); remembered by the database")
MODEL_OPTION = click.option("--model", default=None,
                            help="Sentence-transformers model name or folder; append @bf16 (bfloat16, on processors "
                                 "with AMX or AVX-512 BF16), @onnx or @onnx-int8 (the [onnx] extra) to choose how it "
                                 "runs [default: the bundled all-MiniLM-L6-v2]")
FRAMEWORK_OPTION = click.option("--framework", "frameworks", multiple=True, metavar="ID",
                                help="Also assess an optional framework: OGC, MUT, TB, ACOP or all (repeatable); "
                                     "remembered by the database")
KNOWN_ERRORS = (IngestError, CatalogueError, ModelNotFound, ServeError, ExportError, ReviewError, WatchError,
                HistoryError, AssessmentError)
SETTLE_OPTION = click.option("--settle", default=1.0, show_default=True,
                             help="Seconds a file must stay unchanged before it is read")
POLL_OPTION = click.option("--poll", is_flag=True, help="Poll for changes (network shares send no events)")


def echo(line: str) -> None:
    """Print one line; names and text from documents can hold terminal escape codes, shown here, never obeyed."""
    click.echo(printable(line))


class _Reported(click.Group):
    """Turns the project's named exceptions into clean one-line errors."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KNOWN_ERRORS as exc:
            raise click.ClickException(printable(str(exc))) from None


@click.group(cls=_Reported)
@click.version_option(package_name="cbr-evidence")
def cli():
    """Evidence matrix for BS 11000 / ISO 44001 collaborative relationship audits."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@DB_OPTION
@CATALOGUE_OPTION
@MODEL_OPTION
@click.option("--workers", default=1, show_default=True, help="Reader processes (0: read in this process, no time limit)")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds allowed to read one file")
@click.option("--force", is_flag=True, help="Read files again even if unchanged")
@click.option("--quiet", is_flag=True, help="Only print failures and the summary")
@click.option("--follow-links", is_flag=True, help="Follow symbolic links that point outside the folders given")
@FRAMEWORK_OPTION
def ingest(paths, db_path, catalogues, model, workers, timeout, force, quiet, follow_links, frameworks):
    """Read files and folders (recursively) into the evidence database and map them."""
    from tqdm import tqdm

    pipeline = open_pipeline(db_path, list(catalogues) or None, model, workers=workers, timeout=timeout,
                             frameworks=_with_remembered(db_path, frameworks))
    bar = None

    def progress(results):
        nonlocal bar
        bar = tqdm(results, desc="Reading", unit="file", disable=quiet or not sys.stderr.isatty(), leave=False)
        return bar

    def report(outcome: FileOutcome):
        if quiet and outcome.status not in ("failed", "partial"):
            return
        (bar.write if bar is not None else click.echo)(printable(_describe(outcome)))

    result = pipeline.ingest(paths, on_result=report, force=force, progress=progress, follow_links=follow_links)
    echo(result.summary())


def _with_remembered(db_path, named) -> tuple[str, ...] | None:
    """The optional frameworks a database already assesses, plus those named now (None: as remembered)."""
    from . import choose_frameworks

    return choose_frameworks(db_path, enable=named) if named else None


@cli.command()
@DB_OPTION
@click.option("--enable", multiple=True, metavar="ID", help="Assess this optional framework too (OGC, MUT, TB, ACOP, all)")
@click.option("--disable", multiple=True, metavar="ID", help="Stop assessing this optional framework")
def frameworks(db_path, enable, disable):
    """List the frameworks a database assesses; enable or disable optional ones (re-maps from cached vectors)."""
    from . import choose_frameworks, frameworks_overview, switch_frameworks

    chosen = switch_frameworks(db_path, enable, disable) if enable or disable else choose_frameworks(db_path)
    for assessed, fw_id, items, name in frameworks_overview(chosen):
        echo(f"{'assessed' if assessed else '-':9} {fw_id:9} {items:4} items  {name}")


def _describe(o: FileOutcome) -> str:
    name = o.path.name  # printable() escapes what the terminal must not obey, and bytes that are not UTF-8
    if o.status == "unchanged":
        return f"  unchanged  {name}" + (f" ({o.error})" if o.error else "")
    if o.status == "removed":
        counted = "passage no longer counts" if o.passages == 1 else "passages no longer count"
        return f"  removed    {name}: file gone, its {o.passages} {counted} (kept in history)"
    if o.status in ("failed", "skipped"):
        return f"  {o.status.upper():9}  {name}: {o.error}"
    note = f"; {o.error}" if o.error else ""
    return f"  {o.status:9}  {name}: {_count(o.passages, 'passage')}, {_count(o.evidence, 'evidence link')}{note}"


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" + ("" if n == 1 else "s")


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@DB_OPTION
@CATALOGUE_OPTION
@MODEL_OPTION
@SETTLE_OPTION
@POLL_OPTION
@click.option("--workers", default=1, show_default=True, help="Reader processes")
def watch(folder, db_path, catalogues, model, settle, poll, workers):
    """Scan FOLDER (recursively), then keep the matrix in step with every change until Ctrl-C."""
    watcher = _watcher(folder, db_path, list(catalogues) or None, model, settle, poll, workers)
    _stop_on_terminate()
    try:
        watcher.run(progress=_scan_progress)
    except KeyboardInterrupt:
        echo("Stopped")


def _stop_on_terminate() -> None:
    """`kill` (SIGTERM, what a service manager sends) stops as Ctrl-C does: what is being written is rolled back,
    and the watcher records that it stopped. The default ends the process at once, and the front page went on
    saying "running" (uvicorn, serving, raises the signal again once it has shut down: this handler is what it
    then meets). Only in the main thread, where signals are handled: a program running the command in another
    thread keeps its own handling."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def _watcher(folder, db_path, catalogues, model, settle, poll, workers):
    """The folder watcher both `watch` and `serve --watch` run."""
    from .watch import Watcher

    pipeline = open_pipeline(db_path, catalogues, model, workers=workers)
    return Watcher(pipeline, Path(folder), settle=settle, poll=poll, log=echo)


def _scan_progress(results):
    from tqdm import tqdm

    return tqdm(results, desc="Initial scan", unit="file", disable=not sys.stderr.isatty(), leave=False)


@cli.command()
@click.argument("databases", nargs=-1, type=click.Path(dir_okay=False))
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; beyond loopback a login is required")
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--watch", "watch_folder", type=click.Path(exists=True, file_okay=False), default=None,
              help="Also watch this folder and ingest changes into --db while serving")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes answering on the port: one per core for many readers at once")
@SETTLE_OPTION
@POLL_OPTION
def serve(databases, db_path, host, port, watch_folder, workers, settle, poll):
    """Publish evidence databases with Datasette (default: --db)."""
    from .serve import check_serving
    from .serve import serve as run
    from .watch import BackgroundWatch

    check_serving(host, workers)  # refused before a watcher starts or "Serving..." is said
    _stop_on_terminate()
    dbs = list(databases) or [db_path]
    background = None
    if watch_folder:
        _watcher(watch_folder, db_path, None, None, settle, poll, 1).pipeline.sync_catalogue()  # fail early, create db
        # the same watcher as `evidence watch`, built again in its own thread; its errors come back through `echo`
        background = BackgroundWatch(lambda: _watcher(watch_folder, db_path, None, None, settle, poll, 1),
                                     log=echo).start()
    echo(f"Serving {', '.join(dbs)} on http://{host}:{port}/ (Ctrl-C to stop)")
    try:
        run(dbs, host=host, port=port, workers=workers)
    except KeyboardInterrupt:
        echo("Stopped")
    finally:
        if background is not None:
            background.stop()


@cli.command()
@DB_OPTION
@click.option("--framework", default=None, help="Only this framework, e.g. BS11000")
@click.option("--weak/--no-weak", default=True, show_default=True, help="Also list weak requirements")
def gaps(db_path, framework, weak):
    """List requirements without evidence, and (unless --no-weak) those whose evidence is not enough."""
    from .reports import gaps as find_gaps

    rows = find_gaps(_existing_db(db_path).conn, framework, weak)
    for rid, status, title in rows:
        echo(f"{rid:16} {status:5} {title}")
    counts = {s: sum(r.status == s for r in rows) for s in ("gap", "weak")}
    echo(f"{counts['gap']} requirement(s) without evidence" + (
        f", {counts['weak']} whose evidence is not enough (weak: a lone borderline link or candidates only)"
        if weak else ""))


@cli.command()
@DB_OPTION
def documents(db_path):
    """List documents with their status and errors."""
    from .reports import documents as list_documents

    rows = list_documents(_existing_db(db_path).conn)
    for doc_id, name, status, doc_type, n, error, unread in rows:
        echo(f"{doc_id:5} {status:8} {doc_type or '':9} {n or 0:5}  {name}" + (f"  ({error})" if error else "")
                   + (f"  (newer version unread: {unread})" if unread else ""))
    echo(f"{len(rows)} document(s)" if rows else "No documents yet: `evidence ingest FOLDER` or `evidence watch FOLDER`")


@cli.command()
@click.argument("document")
@DB_OPTION
@click.option("--from", "old_id", type=int, default=None, help="Version id to compare from [default: the one before]")
@click.option("--to", "new_id", type=int, default=None, help="Version id to compare to [default: the current one]")
def diff(document, db_path, old_id, new_id):
    """What changed between two versions of a DOCUMENT (its name or id): passages and requirements."""
    from .history import diff_versions, find_document

    conn = _existing_db(db_path).conn
    d = diff_versions(conn, find_document(conn, document), old_id, new_id)
    echo(f"{d.name}: version {d.old['id']} ({d.old['ingested_at'][:10]}) -> version {d.new['id']} "
               f"({d.new['ingested_at'][:10]}): {len(d.added)} passages added, {len(d.removed)} removed, "
               f"{d.unchanged} unchanged")
    for sign, passages in (("+", d.added), ("-", d.removed)):
        for p in passages:
            echo(f"{sign} [{p['location']}] {p['text'][:200]}")
    echo(f"Requirements evidenced now and not before: {', '.join(d.gained) or 'none'}")
    echo(f"Requirements evidenced before and not now: {', '.join(d.lost) or 'none'}")


@cli.command()
@CATALOGUE_OPTION
def requirements(catalogues):
    """List the requirements of the catalogue."""
    catalogue = load_catalogue(catalogues)
    for r in catalogue:
        echo(f"{r.id:16} {r.framework:9} {r.stage:8} {r.title}")
    echo(f"{len(catalogue)} requirements (catalogue version {catalogue.version})")


@cli.command()
@DB_OPTION
@CATALOGUE_OPTION
@MODEL_OPTION
@FRAMEWORK_OPTION
def remap(db_path, catalogues, model, frameworks):
    """Map stored passages again (after a catalogue change), reusing cached embeddings."""
    pipeline = open_pipeline(db_path, list(catalogues) or None, model, frameworks=_with_remembered(db_path, frameworks))
    if not pipeline.sync_catalogue():
        pipeline.remap_all()
    echo("Re-mapped every passage")


@cli.command()
@DB_OPTION
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--sheet", type=click.Choice(["requirements", "evidence", "reviews"]), default="requirements",
              show_default=True, help="Which table a CSV export holds (a workbook holds them all)")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
def export(db_path, fmt, sheet, output):
    """Write the evidence matrix for the audit file (Excel workbook or CSV)."""
    from .export import export_csv, export_workbook

    conn = _existing_db(db_path).conn
    if fmt == "xlsx":
        Path(output).write_bytes(export_workbook(conn, f"Evidence matrix: {Path(db_path).stem}"))
    else:
        Path(output).write_text(export_csv(conn, sheet), encoding="utf-8")
    echo(f"Wrote {output}")


@cli.command()
@click.argument("requirement_id")
@DB_OPTION
@click.option("--passage", "passage_id", type=int, default=None, help="Passage id (not needed for not_applicable)")
@click.option("--decision", type=click.Choice(DECISIONS), required=True)
@click.option("--reviewer", required=True, help="Who decides")
@click.option("--comment", default="")
def review(requirement_id, db_path, passage_id, decision, reviewer, comment):
    """Record an assessor's decision on a link or a requirement."""
    from .db import write_transaction
    from .reviews import record_review

    db = _existing_db(db_path)
    with write_transaction(db.conn):  # waits for an ingest that is writing, never fails for its lock
        review_id = record_review(db.conn, requirement_id, decision, reviewer, passage_id, comment)
    echo(f"Review {review_id} saved")


@cli.command()
@click.argument("framework")
@DB_OPTION
@click.option("--gate", type=int, default=None, help="Set the review gate the relationship is at (OGC: 0-5)")
@click.option("--phase", default=None, help="Set the phase the alliance is in (ACOP: 2-5)")
def assess(framework, db_path, gate, phase):
    """Show an assessed FRAMEWORK (OGC, MUT, TB, ACOP) as the evidence answers it: verdicts, then every item."""
    from .assess import assessment_lines, update_and_assess

    for line in assessment_lines(update_and_assess(_existing_db(db_path).conn, framework, gate, phase)):
        echo(line)


def _existing_db(db_path):
    from .db import open_db

    if not Path(db_path).exists():
        raise IngestError(f"no database at {db_path}: run `evidence ingest` first")
    return open_db(db_path)


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False), default="examples/pack")
def sample(folder):
    """Write the sample evidence pack (a fictional relationship) into FOLDER."""
    try:  # the pack's writers are demo tooling, not the runtime: fpdf2 comes with the demo extra
        from samples import write_sample_pack

        written = write_sample_pack(Path(folder))
    except ImportError as exc:
        raise click.ClickException(f"writing the sample pack needs the demo extra: pip install "
                                   f"'cbr-evidence[demo]' ({exc})") from exc
    echo(f"Wrote {len(written)} documents to {folder}")


@cli.command("hash-password")
@click.password_option()
def hash_password(password):
    """Hash an assessor password for EVIDENCE_PASSWORD_HASH."""
    from datasette_auth_passwords.utils import hash_password as make

    echo(make(password))
