"""Mapping quality on a labelled evidence pack, next to the naive baseline, measured in one run.

    python bench/mapping_quality.py --pack ../shared/eval/dev --pack ../shared/eval/rail \
        --sample --pack-builder it_partnership          # every pack in one run

--sample scores the bundled sample pack (a water alliance, written with `evidence sample`) against our own
labels in bench/packs/sample-pack.gold.jsonl: a second relationship in another sector, labelled from the
passages' text before the mapping was run on them, to see whether settings chosen on one pack carry over.
--pack-builder NAME writes the pack of bench/packs/NAME.py (an NHS IT managed service for it_partnership) and
scores it against the labels written with it.

Ingests the pack's files with the product pipeline into a fresh database and scores it with the pack's
score.py; then builds the naive baseline (passage text against requirement titles, cosine, top 3 over a
threshold) on the same passages and scores it at several thresholds. Labels are only read by score.py.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evidence import open_pipeline  # noqa: E402
from evidence.db import refresh_coverage  # noqa: E402
from samples import write_sample_pack  # noqa: E402

SAMPLE_GOLD = Path(__file__).resolve().parent / "packs" / "sample-pack.gold.jsonl"


def score(score_py: Path, db: Path, gold: Path) -> dict:
    out = subprocess.run([sys.executable, str(score_py), str(db), str(gold)], capture_output=True, text=True, check=True)
    return dict((k, float(v)) for k, v in (item.split("=") for item in out.stdout.split()))


def product(files: Path, workdir: Path, model: str) -> tuple[Path, float]:
    db = workdir / "product.db"
    started = time.perf_counter()
    pipeline = open_pipeline(db, model=model, workers=0)
    report = pipeline.ingest([files])
    assert report.failed == 0, report.summary()
    return db, time.perf_counter() - started


def naive(product_db: Path, workdir: Path, threshold: float, pipeline) -> Path:
    """Same passages; evidence = top 3 requirements by cosine of passage text vs requirement title."""
    db = workdir / f"naive-{threshold}.db"
    con = sqlite3.connect(db)
    sqlite3.connect(product_db).backup(con)  # a file copy would miss what is still in the WAL
    con.execute("delete from evidence")
    con.execute("delete from candidates")
    reqs = con.execute("select id, title from requirements order by framework, position").fetchall()
    passages = con.execute("select id, text from passages").fetchall()
    r_vec = pipeline.embed([t for _, t in reqs])
    p_vec = pipeline.embed([t for _, t in passages])
    sims = p_vec @ r_vec.T
    rows = []
    for i, (pid, _) in enumerate(passages):
        top = np.argsort(-sims[i])[:3]
        rank = 0
        for r in top:
            if sims[i, r] >= threshold:
                rank += 1
                rows.append((pid, reqs[r][0], float(sims[i, r]), rank))
    con.executemany("insert into evidence (passage_id, requirement_id, score, rank) values (?, ?, ?, ?)", rows)
    # the baseline calls an item evidenced on any link: the product's item-level rule is not the baseline's
    con.executemany("insert or replace into settings (key, value) values (?, ?)",
                    [("item_min_support", "1"), ("item_strong_score", "0")])
    refresh_coverage(con)  # item F1 and gap recall read the coverage table: it must describe these links
    con.commit()
    return db


def measure(files: Path, gold: Path, score_py: Path, workdir: Path, model: str) -> dict[str, dict]:
    """The product and the naive baseline on one pack, side by side."""
    db, seconds = product(files, workdir, model)
    results = {"product": {**score(score_py, db, gold), "seconds": round(seconds, 1)}}
    pipeline = open_pipeline(db, model=model)
    for threshold in (0.2, 0.3, 0.4, 0.5):
        results[f"naive@{threshold}"] = score(score_py, naive(db, workdir, threshold, pipeline), gold)
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", type=Path, action="append", default=[], help="a labelled pack folder (repeatable)")
    ap.add_argument("--score", type=Path, default=None, help="score.py (default: beside the first --pack)")
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--sample", action="store_true", help="score the bundled sample pack against bench/packs")
    ap.add_argument("--pack-builder", action="append", default=[],
                    help="a module of bench/packs that writes a labelled pack (repeatable)")
    args = ap.parse_args()
    packs = args.pack or ([] if args.sample or args.pack_builder else [Path("../shared/eval/dev")])
    score_py = args.score or (packs[0].parent / "score.py" if packs else Path("../shared/eval/score.py"))
    keys = ["found", "hit@1", "hit@3", "stage@3", "false_ev", "item_f1", "gap_recall"]
    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n, pack in enumerate(packs):
            workdir = Path(tmp) / f"pack{n}"
            workdir.mkdir()
            results[pack.name] = measure(pack / "files", pack / "files.gold.jsonl", score_py, workdir, args.model)
        if args.sample:
            workdir = Path(tmp) / "sample"
            write_sample_pack(workdir / "pack", extras=False)
            results["sample"] = measure(workdir / "pack", SAMPLE_GOLD, score_py, workdir, args.model)
        for name in args.pack_builder:
            workdir = Path(tmp) / name
            builder = importlib.import_module(f"bench.packs.{name}")
            builder.write_pack(workdir / "pack")
            gold = workdir / "gold.jsonl"
            gold.write_text("\n".join(json.dumps(g) for g in builder.gold()) + "\n")
            results[name] = measure(workdir / "pack", gold, score_py, workdir, args.model)
    print("| pack | run | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 2) + "|")
    for pack, runs in results.items():
        for name, figures in runs.items():
            print(f"| {pack} | {name} | " + " | ".join(f"{figures.get(k, 0):.3f}" for k in keys) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
