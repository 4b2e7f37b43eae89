"""Drop a 10-page .docx into a watched folder while Datasette serves; time until its evidence is visible.

    python bench/watch_latency.py [--runs 10] [--settle 1.0] [--workers 1] [--model all-MiniLM-L6-v2@bf16]

Runs `evidence serve --watch` with the bundled model (or --model) on a fresh database, drops a new, different document
every run, and polls Datasette's JSON API until evidence links for that document are returned.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import TOPICS, Writer  # noqa: E402
from samples import write_docx  # noqa: E402


def ten_page_docx(path: Path, seed: int) -> Path:
    """About 10 pages (roughly 5,000 words) of plan text with headings."""
    import datetime as dt
    import random

    w = Writer(random.Random(seed), "Eastvale Council", "Atlas Facilities")
    blocks = []
    for s in range(1, 21):
        topic = list(TOPICS)[s % len(TOPICS)]
        blocks.append(("h1", f"{s} {topic.title()}"))
        blocks += [("p", w.paragraph(topic)) for _ in range(4)]
    while sum(len(t.split()) for k, t in blocks if k == "p") < 5000:
        blocks.append(("p", w.paragraph("governance")))
    return write_docx(path, f"Relationship management plan {seed}", blocks, dt.datetime(2026, 1, 1))


def visible(port: int, name: str) -> int:
    sql = ("select count(*) as n from evidence e join passages p on p.id = e.passage_id "
           "join documents d on d.id = p.document_id where d.name = :name")
    url = f"http://127.0.0.1:{port}/evidence.json?" + urllib.parse.urlencode({"sql": sql, "name": name, "_shape": "array"})
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())[0]["n"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=1, help="server processes (the watcher runs in the first)")
    ap.add_argument("--model", default="all-MiniLM-L6-v2", help="the database's model (its watcher encodes with it)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder, staging, db = tmp / "watched", tmp / "staging", tmp / "db" / "evidence.db"
        for d in (folder, staging, db.parent):
            d.mkdir()
        docs = [ten_page_docx(staging / f"plan-{i:02d}.docx", i) for i in range(args.runs)]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        subprocess.run([sys.executable, "-m", "evidence", "ingest", str(folder), "--db", str(db), "--model", args.model],
                       check=True, capture_output=True)
        proc = subprocess.Popen([sys.executable, "-m", "evidence", "serve", "--db", str(db), "--port", str(port),
                                 "--watch", str(folder), "--settle", str(args.settle), "--workers", str(args.workers)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/-/versions.json", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            for line in proc.stdout:  # the watcher loads the model and scans before it watches
                if "watching" in line:
                    break
            latencies = []
            for doc in docs:
                target = folder / doc.name
                started = time.perf_counter()
                os.replace(doc, target)  # an atomic drop, as a finished copy would land
                while visible(port, doc.name) == 0:
                    time.sleep(0.05)
                latencies.append(time.perf_counter() - started)
                print(f"{doc.name}: visible after {latencies[-1]:.2f} s", flush=True)
        finally:
            proc.terminate()
            output = proc.communicate(timeout=20)[0]
        print(f"\nmedian {statistics.median(latencies):.2f} s, min {min(latencies):.2f} s, max {max(latencies):.2f} s "
              f"over {len(latencies)} drops (settle {args.settle} s)")
        print("database is locked errors:", output.count("database is locked"))


if __name__ == "__main__":
    main()
