"""A workbook of data that cannot be evidence: an asset list of 50,000 rows of codes, figures and dates.

    python bench/data_rows.py [--rows 50000] [--model all-MiniLM-L6-v2]

Writes the workbook, ingests it into a fresh database with the bundled model, and reports the time, the rows
stored (searchable) and the strings embedded. Target: under 30 s, nothing of it embedded.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evidence import open_pipeline  # noqa: E402


def write_asset_list(path: Path, rows: int) -> Path:
    from openpyxl import Workbook

    rng = random.Random(7)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Assets")
    ws.append(["Asset ID", "Class", "Grid ref", "Install year", "Condition", "Length (m)", "Unit cost"])
    for i in range(rows):
        ws.append([f"AS-{i:06d}", rng.choice(["PMP", "VLV", "HYD", "CHB", "MTR"]), f"NY{rng.randint(10000, 99999)}",
                   rng.randint(1950, 2025), rng.randint(1, 5), round(rng.uniform(0.5, 900), 1),
                   round(rng.uniform(10, 90000), 2)])
    wb.save(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        book = write_asset_list(Path(tmp) / "asset-list.xlsx", args.rows)
        pipeline = open_pipeline(Path(tmp) / "evidence.db", model=args.model, workers=1)
        pipeline.warm_up()  # the model's load is the same for any file; this measures the rows
        before = pipeline.db.execute("select count(*) from embeddings").fetchone()[0]
        started = time.perf_counter()
        report = pipeline.ingest([book])
        seconds = time.perf_counter() - started
        db = pipeline.db
        stored = db.execute("select count(*) from passages").fetchone()[0]
        found = db.execute("select count(*) from passages_fts where passages_fts match ?", ['"AS-004217"']).fetchone()[0]
        embedded = db.execute("select count(*) from embeddings").fetchone()[0] - before
    print(f"{report.summary()}: {args.rows:,} rows in {seconds:.1f} s; {stored:,} passages stored, "
          f"{embedded} strings embedded; a search for one asset id finds {found}")


if __name__ == "__main__":
    main()
