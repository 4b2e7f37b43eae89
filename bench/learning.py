"""Learning from assessors: feed half of a labelled pack in as reviews, re-map, score the other half.

    python bench/learning.py --pack ../shared/eval/dev

Gold passages are split in two by a hash of their text. For the review half, an assessor "accepts" each
labelled passage for its first BS 11000 label and "rejects" every link the tool claimed on a passage labelled
as evidence of nothing. The held-out half is scored before and after the re-map, with score.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.mapping_quality import score  # noqa: E402
from evidence import open_pipeline  # noqa: E402
from evidence.reviews import record_review  # noqa: E402


def norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", type=Path, default=Path("../shared/eval/dev"))
    ap.add_argument("--precedent", type=float, default=None, help="override MappingConfig.precedent_similarity")
    args = ap.parse_args()
    from dataclasses import replace

    from mapping import MappingConfig

    config = replace(MappingConfig(), precedent_similarity=args.precedent) if args.precedent else None
    gold = [json.loads(line) for line in (args.pack / "files.gold.jsonl").read_text().splitlines() if line]
    half = [g for g in gold if int(hashlib.sha1((g["file"] + g["key"]).encode()).hexdigest(), 16) % 2 == 0]
    held_out = [g for g in gold if g not in half]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        held_path = tmp / "held-out.jsonl"
        held_path.write_text("\n".join(json.dumps(g) for g in held_out) + "\n")
        db = tmp / "dev.db"
        pipeline = open_pipeline(db, workers=0, config=config)
        pipeline.ingest([args.pack / "files"])
        before = score(args.pack.parent / "score.py", db, held_path)
        conn = sqlite3.connect(db)
        passages = conn.execute("select p.id, p.text, d.name from passages p join documents d on d.id = p.document_id").fetchall()
        accepted = rejected = 0
        with conn:
            for g in half:
                ids = [pid for pid, text, name in passages if name == g["file"] and norm(g["key"]) in norm(text)]
                bs = [label for label in g["labels"] if label.startswith("BS11000-")]
                for pid in ids[:1]:
                    if bs:
                        record_review(conn, bs[0], "accept", "bench", pid)
                        accepted += 1
                    elif not g["labels"]:
                        for (rid,) in conn.execute("select requirement_id from evidence where passage_id = ? and via is null",
                                                   [pid]).fetchall():
                            record_review(conn, rid, "reject", "bench", pid)
                            rejected += 1
        pipeline = open_pipeline(db, workers=0, config=config)
        pipeline.sync_catalogue()  # the reviews change the profiles: re-map from cached vectors
        after = score(args.pack.parent / "score.py", db, held_path)
    keys = ["hit@1", "hit@3", "stage@3", "false_ev"]
    print(f"{len(half)} gold passages reviewed ({accepted} accepts, {rejected} rejects); {len(held_out)} held out")
    print("| held-out half | " + " | ".join(keys) + " |\n|---" * 1 + "|---" * len(keys) + "|")
    print("| before reviews | " + " | ".join(f"{before[k]:.3f}" for k in keys) + " |")
    print("| after reviews, re-mapped | " + " | ".join(f"{after[k]:.3f}" for k in keys) + " |")


if __name__ == "__main__":
    main()
