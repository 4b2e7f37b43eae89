"""Run a folder of odd real-world files through ingestion: every file must end with a status, none may hang.

    python bench/odd_files.py ../shared/corpora/odd-files [--workers 2] [--timeout 60] [--db out.db]

Uses the product's own batch reader (worker processes, per-file time limit) and, with --db, the full
pipeline with the fast fake embedder so storage is exercised too. Prints status counts, the slowest files,
the most common errors, and any file whose error looks like a bug of ours (an unexpected exception).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evidence.pipeline import discover  # noqa: E402
from ingest.batch import read_documents  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--db", type=Path, default=None, help="also store everything through the pipeline")
    args = ap.parse_args()
    args.folder = args.folder.resolve()
    files = discover([args.folder])
    started = time.perf_counter()
    timings: dict[Path, float] = {}
    statuses: Counter = Counter()
    errors: Counter = Counter()
    suspicious = []
    if args.db:
        from evidence import open_pipeline

        pipeline = open_pipeline(args.db, model="hash", workers=args.workers, timeout=args.timeout)
        outcomes = pipeline.ingest([args.folder]).outcomes
        results = [(o.path, o.status, o.error, o.seconds) for o in outcomes]
    else:
        results = []
        last = time.perf_counter()
        for r in read_documents(files, workers=args.workers, timeout=args.timeout):
            now = time.perf_counter()
            results.append((r.path, r.status, r.error, now - last))
            last = now
    for path, status, error, seconds in results:
        statuses[status] += 1
        timings[path] = seconds
        if error:
            errors[_family(error)] += 1
        if error and ("unreadable" in error and "Error:" in error or "crashed" in error):
            suspicious.append((path, error))
    elapsed = time.perf_counter() - started
    print(f"{len(results)} files of {len(files)} found, {elapsed:.1f} s, {len(results) / elapsed:.1f} files/s")
    print("| status | files |\n|---|---|")
    for status, n in statuses.most_common():
        print(f"| {status} | {n} |")
    print("\nslowest (seconds between results; with 2 workers an upper bound of one file's time):")
    for path, seconds in sorted(timings.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  {seconds:6.2f}  {path.relative_to(args.folder)}")
    print("\nmost common errors:")
    for family, n in errors.most_common(12):
        print(f"  {n:4}  {family}")
    print(f"\nunexpected exceptions (bugs of ours or of a parser): {len(suspicious)}")
    for path, error in suspicious[:40]:
        print(f"  {path.relative_to(args.folder)}: {error[:160]}")


def _family(error: str) -> str:
    return error.split(":")[0] if not error.startswith("unreadable") else error[:90]


if __name__ == "__main__":
    main()
