"""Ways to run the bundled encoder faster on a CPU, side by side, and whether they change what is claimed.

    python bench/encoder_variants.py --db /tmp/scale.db [--strings 300 --rounds 5]
    python bench/encoder_variants.py --db /tmp/scale.db --pack ../shared/eval/dev --pack ../shared/eval/rail

Variants, each on the same strings in turn, round after round (the machine's drift falls on all alike):
- fp32: what the product does (sentence-transformers, torch's own threads on every core);
- streams: one torch thread, the strings dealt by length to one encoder per core, run in threads at once;
- bf16: the product's `@bf16` (matrix products in bfloat16; only where the processor has AMX or AVX-512 BF16).
Reported: seconds per round and the ratio to fp32, and how far the vectors move (largest difference, lowest
cosine). With --pack, each pack is ingested into a fresh database with the passages encoded by each variant (the
catalogue's vectors are the shipped float32 ones in all) and the claimed links are compared with fp32's.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.mapping_quality import score  # noqa: E402
from evidence import open_pipeline  # noqa: E402
from mapping.embedder import DEFAULT_MODEL, get_embedder, native_bf16  # noqa: E402


class Variants:
    def __init__(self, cores: int):
        import torch

        self.torch, self.cores = torch, cores
        self.encoders = [get_embedder() for _ in range(cores)]  # one model each: a tokenizer is not thread-safe
        self.pool = ThreadPoolExecutor(cores)
        self.names = ("fp32", "streams") + (("bf16",) if native_bf16() else ())
        self.bf16_encoder = get_embedder(f"{DEFAULT_MODEL}@bf16") if native_bf16() else None

    def fp32(self, texts: list[str]) -> np.ndarray:
        self.torch.set_num_threads(self.cores)
        return self.encoders[0].embed(texts)

    def bf16(self, texts: list[str]) -> np.ndarray:
        self.torch.set_num_threads(self.cores)
        return self.bf16_encoder.embed(texts)  # the product's own `@bf16`, as a user would ask for it

    def streams(self, texts: list[str]) -> np.ndarray:
        self.torch.set_num_threads(1)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # dealt by length: equal work per stream
        shares = [order[k::self.cores] for k in range(self.cores)]
        parts = list(self.pool.map(lambda k: self.encoders[k].embed([texts[i] for i in shares[k]]), range(self.cores)))
        out = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        for share, part in zip(shares, parts):
            out[share] = part
        return out


def speed(variants: Variants, texts: list[str], size: int, rounds: int) -> None:
    names = variants.names
    for name in names:
        getattr(variants, name)(texts[:64])  # warm
    seconds: dict[str, list[float]] = {n: [] for n in names}
    drift = {n: (0.0, 1.0) for n in names}
    for r in range(rounds):
        chunk = texts[r * size:(r + 1) * size]
        base = None
        for name in names:
            started = time.perf_counter()
            vectors = getattr(variants, name)(chunk)
            seconds[name].append(time.perf_counter() - started)
            base = vectors if base is None else base
            cos = float((vectors * base).sum(axis=1).min())
            drift[name] = (max(drift[name][0], float(np.abs(vectors - base).max())), min(drift[name][1], cos))
    print(f"{rounds} rounds of {size} strings; median seconds per round, ratio to fp32 per round (median)")
    print("| variant | s/round | speed vs fp32 (min-max) | largest vector difference | lowest cosine |")
    print("|---|---|---|---|---|")
    for name in names:
        ratios = [a / b for a, b in zip(seconds["fp32"], seconds[name])]
        print(f"| {name} | {statistics.median(seconds[name]):.2f} | {statistics.median(ratios):.2f} "
              f"({min(ratios):.2f}-{max(ratios):.2f}) | {drift[name][0]:.1e} | {drift[name][1]:.6f} |")


def claims(db: Path) -> set[tuple]:
    con = sqlite3.connect(db)
    return set(con.execute("select d.path, p.location, e.requirement_id from evidence e "
                           "join passages p on p.id = e.passage_id join documents d on d.id = p.document_id"))


def packs(variants: Variants, pack_dirs: list[Path]) -> None:
    print("\n| pack | variant | links claimed | not in fp32's | fp32's not claimed | figures (score.py) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for pack in pack_dirs:
            base = None
            for name in variants.names:
                db = Path(tmp) / f"{pack.name}-{name}.db"
                pipeline = open_pipeline(db, workers=0)
                pipeline.embedder.embed = getattr(variants, name)  # the passages' vectors; the catalogue's are shipped
                pipeline.ingest([pack / "files"])
                got = claims(db)
                base = got if base is None else base
                fig = score(pack.parent / "score.py", db, pack / "files.gold.jsonl")
                keys = ("hit@1", "hit@3", "stage@3", "false_ev", "item_f1", "gap_recall")
                print(f"| {pack.name} | {name} | {len(got)} | {len(got - base)} | {len(base - got)} | "
                      + " / ".join(f"{fig[k]:.3f}" for k in keys) + " |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True, help="a database whose passage texts are encoded")
    ap.add_argument("--strings", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pack", type=Path, action="append", default=[])
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    texts = [t for t, in sqlite3.connect(args.db).execute(
        "select distinct text from passages where kind != 'comment' limit ?", (args.strings * args.rounds * 4,))]
    random.Random(2).shuffle(texts)
    variants = Variants(len(os.sched_getaffinity(0)))
    speed(variants, texts, args.strings, args.rounds)
    if args.pack:
        packs(variants, args.pack)


if __name__ == "__main__":
    main()
