"""Where a labelled pack's passages are lost: a developer's breakdown, for choosing the next mapping change.

    python bench/tune.py --packs ../shared/eval/rail          # ingests the pack once into /tmp/evidence-tune
    python bench/misses.py ../shared/eval/rail [--db /tmp/evidence-tune/rail.db] [--list]

Reads the pack's labels through its own score.py (norm, canon, stage_of), never from the product. For each labelled
passage: its item in the top three links (hit), a link of the right stage only (stage), links of other stages only
(wrong stage), no link but the item among its candidates (candidate), or nothing (none); per file. For every
passage the tool leaves unclaimed: why (the reason its best candidate gives), labelled and unlabelled apart.
`--list` prints each miss with its links and candidates.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.tune import load_scorer  # noqa: E402
from evidence import open_pipeline  # noqa: E402


def passages_by_file(con: sqlite3.Connection, norm) -> dict[str, list[tuple[int, str]]]:
    out = defaultdict(list)
    for pid, text, path in con.execute("select p.id, p.text, d.path from passages p join documents d "
                                       "on d.id = p.document_id"):
        out[Path(path).name].append((pid, norm(text)))
    return out


def links(con: sqlite3.Connection, table: str) -> dict[int, list[tuple[str, float]]]:
    order = "rank" if table == "evidence" else "score desc"
    out = defaultdict(list)
    for pid, rid, score in con.execute(f"select passage_id, requirement_id, score from {table} "
                                       f"where requirement_id like 'BS11000-%' order by passage_id, {order}"):
        out[pid].append((rid, round(score, 2)))
    return out


def category(want: set, stages: set, got: list[str], candidates: list[str], scorer) -> str:
    if want & set(got):
        return "hit"
    if not got:
        return "candidate" if want & set(candidates) else "none"
    return "stage" if stages & {scorer.stage_of(r.replace("*", "1")) for r in got} else "wrong stage"


def unclaimed_reason(con: sqlite3.Connection, pid: int) -> str:
    row = con.execute("select why from candidates where passage_id = ? order by score desc limit 1", [pid]).fetchone()
    if not row:
        return "no candidate"
    reason = json.loads(row[0]).get("not_evidence") or "below the evidence threshold"
    return re.split(r"[:(]", reason)[0].strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("pack", type=Path)
    ap.add_argument("--db", type=Path, default=None, help="default: /tmp/evidence-tune/PACK.db (bench/tune.py's)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    args = ap.parse_args()
    scorer = load_scorer(args.pack.parent / "score.py")
    db = args.db or Path("/tmp/evidence-tune") / f"{args.pack.name}.db"
    # a grid run leaves the database mapped with its last setting: map it with today's defaults first
    pipeline = open_pipeline(db, model=args.model)
    if not pipeline.sync_catalogue():
        pipeline.remap_all()
    pipeline.db.conn.close()
    con = sqlite3.connect(db)
    gold = [json.loads(line) for line in (args.pack / "files.gold.jsonl").read_text().splitlines() if line.strip()]
    by_file = passages_by_file(con, scorer.norm)
    evidence, candidates = links(con, "evidence"), links(con, "candidates")
    claimed = {pid for pid, in con.execute("select distinct passage_id from evidence")}
    categories, per_file = Counter(), defaultdict(Counter)
    reasons = {True: Counter(), False: Counter()}
    for g in gold:
        key = scorer.norm(g["key"])
        pids = [pid for pid, text in by_file[g["file"]] if key and key in text]
        items = [label for label in g["labels"] if label.startswith("BS11000-")]
        for pid in pids:
            if pid not in claimed:
                reasons[bool(items)][unclaimed_reason(con, pid)] += 1
        if not items:
            continue
        want, stages = {scorer.canon(i) for i in items}, {scorer.stage_of(i) for i in items}
        got = [scorer.canon(r) for pid in pids for r, _ in evidence[pid][:3]]
        near = [scorer.canon(r) for pid in pids for r, _ in candidates[pid][:5]]
        found = category(want, stages, got, near, scorer)
        categories[found] += 1
        per_file[g["file"]][found] += 1
        if args.list and found != "hit":
            print(f"{found:11} {g['file'][:28]:28} {g['key'][:50]!r} want {items} links "
                  f"{[e for pid in pids for e in evidence[pid][:3]]} candidates {[c for pid in pids for c in candidates[pid][:3]]}")
    print("labelled passages:", dict(categories))
    for name, counts in sorted(per_file.items()):
        print(f"  {name}: {dict(counts)}")
    for labelled, counts in reasons.items():
        print(("labelled" if labelled else "unlabelled") + " passages left unclaimed, by reason:")
        for reason, n in counts.most_common():
            print(f"  {n:4} {reason}")


if __name__ == "__main__":
    main()
