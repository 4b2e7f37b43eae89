"""A new user's first run: `evidence ingest` of a small pack into a fresh database, against the raw limit.

    python bench/first_run.py ../shared/eval/dev/files --runs 3

The limit is a process that loads the bundled model and encodes the pack's passage texts once (the texts the
product stores, read back from the database of the first run), nothing else. Each run pairs the two side by
side, alternately, and the medians' ratio is reported, twice:
- cold: the per-user cache of catalogue vectors is empty (the very first database on a machine);
- warm: the cache holds the catalogue (every later database: a second relationship, a colleague's pack).
Both ingests write a fresh database; only the per-user cache differs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RAW = """
import sqlite3, sys
from mapping.embedder import SentenceTransformerEmbedder
texts = [t for t, in sqlite3.connect(sys.argv[1]).execute("select text from passages where kind != 'comment'")]
SentenceTransformerEmbedder().embed(texts)
"""


def timed(cmd: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def ingest(pack: Path, work: Path, cache: Path, n: int) -> tuple[float, Path]:
    db = work / f"run-{n}" / "evidence.db"
    db.parent.mkdir(parents=True)
    env = {**os.environ, "EVIDENCE_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1"}
    return timed([sys.executable, "-m", "evidence", "ingest", str(pack), "--db", str(db)], env), db


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("pack", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        warm_cache = work / "warm-cache"
        _, first_db = ingest(args.pack, work, warm_cache, 0)  # fills the warm cache; its passages feed the raw run
        passages = subprocess.run([sys.executable, "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1])"
                                   ".execute(\"select count(*) from passages where kind != 'comment'\")"
                                   ".fetchone()[0])", str(first_db)], capture_output=True, text=True).stdout.strip()
        times: dict[str, list[float]] = {"raw": [], "cold": [], "warm": []}
        for n in range(1, args.runs + 1):
            times["raw"].append(timed([sys.executable, "-c", RAW, str(first_db)], env))
            times["cold"].append(ingest(args.pack, work, work / f"cold-cache-{n}", n)[0])
            times["warm"].append(ingest(args.pack, work, warm_cache, 100 + n)[0])
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"pack {args.pack} ({passages} passages), median of {args.runs} runs, side by side")
    print("| run | median s | all runs | / raw |")
    print("|---|---|---|---|")
    for k, label in (("raw", "raw: load the model, encode the passage texts"),
                     ("cold", "ingest, fresh database, empty per-user cache"),
                     ("warm", "ingest, fresh database, catalogue in the per-user cache")):
        runs = ", ".join(f"{t:.1f}" for t in times[k])
        print(f"| {label} | {med[k]:.1f} | {runs} | {med[k] / med['raw']:.2f} |")


if __name__ == "__main__":
    main()
