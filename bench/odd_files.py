"""Run folders of odd real-world and hostile files through ingestion: every file must end with a status, none may
hang, none may be lost.

    python bench/odd_files.py ../shared/corpora/odd-files [/tmp/hostile ...] [--workers 2] [--timeout 60] [--db out.db]

Uses the product's own batch reader (worker processes, per-file time limit) and, with --db, the full
pipeline with the fast fake embedder so storage is exercised too. Prints status counts, the slowest files,
the most common errors, any file whose error looks like a bug of ours (an unexpected exception), the peak
resident memory of the reader worker per format and, with --db, every path on disk that has no row.

Peak memory: before each file the worker resets its high-water mark (`5` written to /proc/self/clear_refs, Linux 4.0
and later) and after it reads VmHWM from /proc/self/status, so each figure is the worker's peak while reading that
one file: its resident set at the start (the forked parent's pages it touched) plus what the file added.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ingest.batch  # noqa: E402
from evidence.pipeline import discover, stored_path  # noqa: E402
from ingest import is_ignorable, printable, read_document  # noqa: E402

_MEMORY_LOG = os.environ.setdefault("ODD_FILES_MEMORY_LOG", tempfile.mktemp(prefix="odd-files-memory-"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folders", type=Path, nargs="+")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--db", type=Path, default=None, help="also store everything through the pipeline")
    args = ap.parse_args()
    folders = [f.resolve() for f in args.folders]
    files = discover(folders)
    ingest.batch.read_document = _measured_read  # the workers are forked after this, so they run it
    started = time.perf_counter()
    if args.db:
        from evidence import open_pipeline

        pipeline = open_pipeline(args.db, model="hash", workers=args.workers, timeout=args.timeout)
        outcomes = pipeline.ingest(folders).outcomes
        results = [(o.path, o.status, o.error, o.seconds) for o in outcomes]
    else:
        results = []
        last = time.perf_counter()
        for r in ingest.batch.read_documents(files, workers=args.workers, timeout=args.timeout):
            now = time.perf_counter()
            results.append((r.path, r.status, r.error, now - last))
            last = now
    elapsed = time.perf_counter() - started
    print(f"{len(results)} results for {len(files)} files found to read, {elapsed:.1f} s, "
          f"{len(results) / elapsed:.1f} results/s")
    _report_statuses(results, folders)
    _report_memory()
    if args.db:
        _report_lost(args.db, folders)


def _report_statuses(results, folders: list[Path]) -> None:
    statuses, errors, timings, suspicious = Counter(), Counter(), {}, []
    for path, status, error, seconds in results:
        statuses[status] += 1
        timings[path] = seconds
        if error:
            errors[_family(error)] += 1
        if error and ("unreadable" in error and "Error:" in error or "crashed" in error):
            suspicious.append((path, error))
    print("| status | files |\n|---|---|")
    for status, n in statuses.most_common():
        print(f"| {status} | {n} |")
    print("\nslowest (seconds between results; with 2 workers an upper bound of one file's time):")
    for path, seconds in sorted(timings.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  {seconds:6.2f}  {_shown(path, folders)}")
    print("\nmost common errors:")
    for family, n in errors.most_common(20):
        print(f"  {n:4}  {family}")
    print(f"\nunexpected exceptions (bugs of ours or of a parser): {len(suspicious)}")
    for path, error in suspicious[:40]:
        print(f"  {_shown(path, folders)}: {error[:160]}")


def _measured_read(path, max_bytes):
    """read_document, with the worker's peak resident memory while reading this one file logged."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        start = _status_kb("VmRSS")
    except OSError:
        return read_document(path, max_bytes)
    result = read_document(path, max_bytes)
    line = f"{result.format}\t{start}\t{_status_kb('VmHWM')}\t{stored_path(Path(path))}\n"
    with open(_MEMORY_LOG, "a") as fh:  # one short append per file: lines from two workers do not mix
        fh.write(line)
    return result


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _report_memory() -> None:
    rows = defaultdict(list)
    if os.path.exists(_MEMORY_LOG):
        for line in Path(_MEMORY_LOG).read_text().splitlines():
            fmt, start, peak, path = line.split("\t", 3)
            rows[fmt].append((int(peak), int(start), path))
        os.unlink(_MEMORY_LOG)
    if not rows:
        print("\npeak memory: not measured (needs worker processes and Linux /proc)")
        return
    print("\npeak resident memory of the reader worker while reading one file (MB):")
    print("| format | files | worker at start (median) | peak (median) | peak (max) | added by one file (max) | "
          "that file |\n|---|---|---|---|---|---|---|")
    for fmt, items in sorted(rows.items()):
        peak = max(p for p, _, _ in items)
        added, path = max((p - s, path) for p, s, path in items)
        print(f"| {fmt} | {len(items)} | {statistics.median(s for _, s, _ in items) / 1024:.0f} | "
              f"{statistics.median(p for p, _, _ in items) / 1024:.0f} | {peak / 1024:.0f} | {added / 1024:.0f} | "
              f"`{printable(Path(path).name)}` |")


def _report_lost(db_path: Path, folders: list[Path]) -> None:
    """Every path on disk (files, links, pipes, unreadable folders) must have a row in the documents table."""
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        stored = {row[0] for row in conn.execute("select path from documents")}
    on_disk = []
    for folder in folders:
        on_disk.extend(_entries(folder))
    lost = [p for p in on_disk if stored_path(p) not in stored]
    print(f"\npaths on disk: {len(on_disk)}, documents rows: {len(stored)}, paths without a row: {len(lost)}")
    for path in lost[:20]:
        print(f"  lost: {printable(stored_path(path))}")


def _entries(folder: Path) -> list[Path]:
    """What a person sees in the folder: every entry but folders that can be opened, and lock or hidden files."""
    found: list[Path] = []

    def unreadable(exc: OSError) -> None:
        found.append(Path(exc.filename))

    for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = Path(dirpath, name)
            if not is_ignorable(path):
                found.append(path)
    return found


def _shown(path: Path, folders: list[Path]) -> str:
    for folder in folders:
        if folder in path.parents:
            return printable(stored_path(path.relative_to(folder)))
    return printable(stored_path(path))


def _family(error: str) -> str:
    return error.split(":")[0] if not error.startswith("unreadable") else error[:90]


if __name__ == "__main__":
    main()
