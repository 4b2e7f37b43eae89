"""Learning from assessors: reviews fed in, the pack re-mapped, the effect scored with the pack's score.py.

    python bench/learning.py --pack ../shared/eval/dev [--precedent 0.7]

Two measurements:

1. Held-out half. Gold passages are split in two by a hash of their text. For the review half, an assessor
   "accepts" each labelled passage for its first BS 11000 label and "rejects" every link the tool claimed on a
   passage labelled as evidence of nothing. The held-out half is scored before and after the re-map.
2. Re-issued documents. The assessor reviews the whole pack as above; then every document comes back re-issued:
   every figure and date changed and about one word in six gone (the same words everywhere, so the gold keys
   still locate their passages). The re-issue is scored with the reviews in place and, for comparison, on a
   database where nobody reviewed anything. This is how reviews pay off in use: next quarter's minutes, the
   register's monthly snapshot and next year's plan repeat much of what was reviewed, never word for word.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sqlite3
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.mapping_quality import score  # noqa: E402
from evidence import open_pipeline  # noqa: E402
from evidence.reviews import record_review  # noqa: E402
from mapping import MappingConfig  # noqa: E402
from mapping.embedder import text_hash  # noqa: E402

KEYS = ["hit@1", "hit@3", "stage@3", "false_ev"]
_TOKEN = re.compile(r"[A-Za-z]+|\d")


def norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()


def reissue(text: str) -> str:
    """The same passage in next year's edition: other figures, a few words gone (decided per word, not per place)."""
    def change(m: re.Match) -> str:
        token = m.group(0)
        if token.isdigit():
            return str((int(token) + 3) % 10)
        return "" if int(hashlib.sha1(token.lower().encode()).hexdigest(), 16) % 6 == 0 else token
    return _TOKEN.sub(change, text)


def review(conn: sqlite3.Connection, gold: list[dict]) -> tuple[int, int]:
    """Accept each labelled gold passage for its first BS 11000 label; reject the tool's links on noise."""
    passages = conn.execute("select p.id, p.text, d.name from passages p join documents d on d.id = p.document_id").fetchall()
    accepted = rejected = 0
    with conn:
        for g in gold:
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
    return accepted, rejected


def held_out_half(pack: Path, tmp: Path, config) -> None:
    gold = _gold(pack)
    half = [g for g in gold if int(hashlib.sha1((g["file"] + g["key"]).encode()).hexdigest(), 16) % 2 == 0]
    held_path = _write_gold(tmp / "held-out.jsonl", [g for g in gold if g not in half])
    db = tmp / "half.db"
    open_pipeline(db, workers=0, config=config).ingest([pack / "files"])
    before = score(pack.parent / "score.py", db, held_path)
    accepted, rejected = review(sqlite3.connect(db), half)
    open_pipeline(db, workers=0, config=config).sync_catalogue()  # the reviews change the profiles: re-map
    after = score(pack.parent / "score.py", db, held_path)
    print(f"{len(half)} gold passages reviewed ({accepted} accepts, {rejected} rejects); {len(gold) - len(half)} held out")
    _table("held-out half", {"before reviews": before, "after reviews, re-mapped": after})


def reissued_documents(pack: Path, tmp: Path, config) -> None:
    gold = _gold(pack)
    reissued_gold = _write_gold(tmp / "reissued.jsonl", [{**g, "key": reissue(g["key"])} for g in gold])
    results = {}
    for name, reviewed in (("nobody reviewed the first issue", False), ("first issue reviewed", True)):
        db = tmp / f"reissue-{reviewed}.db"
        open_pipeline(db, workers=0, config=config).ingest([pack / "files"])
        conn = sqlite3.connect(db)
        if reviewed:
            accepted, rejected = review(conn, gold)
        with conn:
            for pid, text in conn.execute("select id, text from passages").fetchall():
                new = reissue(text)
                conn.execute("update passages set text = ?, text_hash = ? where id = ?", [new, text_hash(new), pid])
            conn.execute("delete from settings where key = 'catalogue_stamp'")  # re-map every passage
        open_pipeline(db, workers=0, config=config).sync_catalogue()
        results[name] = score(pack.parent / "score.py", db, reissued_gold)
    print(f"first issue: {accepted} accepts, {rejected} rejects; the re-issue scored on all {len(gold)} gold passages")
    _table("re-issued documents", results)


def _gold(pack: Path) -> list[dict]:
    return [json.loads(line) for line in (pack / "files.gold.jsonl").read_text().splitlines() if line]


def _write_gold(path: Path, gold: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(g) for g in gold) + "\n")
    return path


def _table(title: str, rows: dict[str, dict]) -> None:
    print(f"| {title} | " + " | ".join(KEYS) + " |\n|---" + "|---" * len(KEYS) + "|")
    for name, figures in rows.items():
        print(f"| {name} | " + " | ".join(f"{figures[k]:.3f}" for k in KEYS) + " |")
    print()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", type=Path, default=Path("../shared/eval/dev"))
    ap.add_argument("--precedent", type=float, default=None, help="override MappingConfig.precedent_similarity")
    args = ap.parse_args()
    config = replace(MappingConfig(), precedent_similarity=args.precedent) if args.precedent else None
    with tempfile.TemporaryDirectory() as tmp:
        held_out_half(args.pack, Path(tmp), config)
        reissued_documents(args.pack, Path(tmp), config)


if __name__ == "__main__":
    main()
