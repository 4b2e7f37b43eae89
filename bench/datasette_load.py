"""Datasette at scale: 95th-percentile latency of the pages assessors use, under load on loopback.

    python bench/datasette_load.py DB [--requests 300] [--concurrency 4] [--seconds 60] [--workers 1] [--only NAME]

Serves DB with `evidence serve` and drives each page with ApacheBench (`ab`, Debian's apache2-utils),
bounded in requests and in time: the evidence matrix, a requirement's drill-down page, the page of the document
with the most passages, and a full-text search over passages (the search page and Datasette's table).
"""

from __future__ import annotations

import argparse
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from datasette.utils import tilde_encode


def ab(url: str, requests: int, concurrency: int, seconds: int) -> dict:
    # -t before -n (-t alone implies 50,000 requests); -l: pages carry their own timings, so lengths vary
    out = subprocess.run(["ab", "-l", "-t", str(seconds), "-n", str(requests), "-c", str(concurrency), "-q", url],
                         capture_output=True, text=True, check=True).stdout
    figures = {"p50": r"\s50%\s+(\d+)", "p95": r"\s95%\s+(\d+)", "max": r"100%\s+(\d+)",
               "complete": r"Complete requests:\s+(\d+)", "failed": r"Failed requests:\s+(\d+)"}
    return {k: int(re.search(p, out).group(1)) for k, p in figures.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db", type=Path)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--workers", type=int, default=1, help="server processes (evidence serve --workers)")
    ap.add_argument("--only", default="", help="measure only the pages whose name holds this")
    args = ap.parse_args()
    con = sqlite3.connect(args.db)
    passages = con.execute("select count(*) from passages").fetchone()[0]
    busiest = con.execute("select requirement_id from evidence group by requirement_id order by count(*) desc limit 1").fetchone()[0]
    longest = con.execute("select document_id from passages group by document_id order by count(*) desc limit 1").fetchone()[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "evidence", "serve", "--db", str(args.db), "--port", str(port),
                             "--workers", str(args.workers)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        pages = {
            "evidence matrix (the matrix page, 4 filters with counts)": "/evidence/-/matrix",
            "evidence matrix filtered (the matrix page, BS 11000 gaps)": "/evidence/-/matrix?framework=BS11000&status=gap",
            "evidence matrix (Datasette's table of the view, 4 facets)": "/evidence/matrix",
            f"requirement drill-down ({busiest}, the most evidenced)": f"/evidence/requirements/{tilde_encode(busiest)}",
            f"document page (document {longest}, the most passages)": f"/evidence/documents/{longest}",
            "full-text search (the search page)": "/evidence/-/search?q=joint+risk+register",
            "full-text search (Datasette's table of passages)": "/evidence/passages?_search=joint+risk+register",
        }
        print(f"{passages} passages; {args.workers} server process(es); ab -n {args.requests} -c {args.concurrency} "
          f"-t {args.seconds}, after one warm-up request")
        print("| page | p50 ms | p95 ms | max ms | requests | failed |\n|---|---|---|---|---|---|")
        for name, path in pages.items():
            if args.only not in name:
                continue
            urllib.request.urlopen(base + path, timeout=30).read()
            r = ab(base + path, args.requests, args.concurrency, args.seconds)
            print(f"| {name} | {r['p50']} | {r['p95']} | {r['max']} | {r['complete']} | {r['failed']} |", flush=True)
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
