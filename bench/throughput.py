"""End-to-end ingestion throughput against the raw encoder, re-ingestion, memory and database size.

    python bench/corpus.py /tmp/scale --documents 2000 --large
    python bench/throughput.py /tmp/scale [--workers 1] [--model all-MiniLM-L6-v2] [--rounds 10]

1. the pipeline ingests the corpus into a fresh database (parse in worker processes, embed, map, store);
2. the raw encoder (SentenceTransformer.encode in a loop, nothing else) encodes every distinct passage text once:
   the limit a pipeline that embeds each passage once would reach (the pipeline itself embeds fewer texts, since
   rows of figures and codes are never embedded, and adds the distinct contexts);
   1 and 2 take turns, a tenth of the corpus at a time (--rounds), so the machine's drift falls on both alike (the
   pipeline pays its per-call start, the catalogue check and a reader pool, once per round: a little against it);
3. with --floor, a third turn reads the same slice in the reader process and encodes each new mappable passage
   text once, an encoder call per EMBED_BATCH passages read as the pipeline makes them, and does nothing else: no
   context, no mapping, no storing. Its ratio to the raw encoder is the most this pipeline's way of reading and
   encoding leaves room for, before it maps or stores anything;
4. the unchanged corpus is ingested again; 5. peak resident memory and database size are reported.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evidence import open_pipeline  # noqa: E402
from evidence.catalogue_sync import PassageMapper  # noqa: E402
from evidence.pipeline import EMBED_BATCH  # noqa: E402
from ingest.batch import read_documents  # noqa: E402


def encode(model, texts: list[str], batch_size: int) -> None:
    """The bare encoder, as both the raw turn and the floor call it."""
    model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                 show_progress_bar=False)


def read_and_encode(paths: list[Path], model, batch_size: int, seen: set[str], workers: int) -> float:
    """Seconds to read `paths` and encode the new texts of the passages the pipeline maps, in its pools."""
    started, pool, read = time.perf_counter(), [], 0
    for result in read_documents(paths, workers=workers):
        texts = dict.fromkeys(result.passages[i].text for i in PassageMapper.chosen(result.passages))
        pool += [t for t in texts if t not in seen]
        seen.update(texts)
        read += len(result.passages)
        if read >= EMBED_BATCH:  # as the pipeline does: an encoder call once this many passages are read
            encode(model, pool, batch_size)
            pool, read = [], 0
    if pool:
        encode(model, pool, batch_size)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--rounds", type=int, default=10, help="slices of the corpus, pipeline and raw encoder in turn")
    ap.add_argument("--floor", action="store_true", help="also time reading and encoding alone (see 3.)")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "scale.db"
    pipeline = open_pipeline(db, model=args.model, workers=args.workers)
    pipeline.warm_up()
    before = pipeline.db.execute("select count(*) from embeddings").fetchone()[0]  # the catalogue's

    paths = sorted(p for p in args.corpus.iterdir() if p.suffix in (".docx", ".xlsx", ".pdf"))
    # the pipeline and the raw encoder take turns, a slice of the corpus each: on a shared machine the speed drifts
    # over minutes, and two halves timed one after the other would measure the drift as much as the pipeline
    first = raw = floor = 0.0
    failed, seen, texts, floor_seen = 0, set(), [], set()
    model = pipeline.embedder.model
    for k in range(args.rounds):
        part = paths[k * len(paths) // args.rounds:(k + 1) * len(paths) // args.rounds]
        started = time.perf_counter()
        failed += pipeline.ingest(part).failed
        first += time.perf_counter() - started
        if args.floor:
            floor += read_and_encode(part, model, pipeline.embedder.batch_size, floor_seen, args.workers)
        # the limit: one encode of each passage's text, whatever the pipeline chooses to embed (issue 14)
        new = [t for t in dict.fromkeys(t for t, in pipeline.db.execute(
            "select text from passages where kind != 'comment'")) if t not in seen]
        seen.update(new)
        texts += new
        started = time.perf_counter()
        for start in range(0, len(new), 1024):
            encode(model, new[start:start + 1024], pipeline.embedder.batch_size)
        raw += time.perf_counter() - started
    passages = pipeline.db.execute("select count(*) from passages").fetchone()[0]
    peak_after_ingest = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    embedded = pipeline.db.execute("select count(*) from embeddings").fetchone()[0] - before

    started = time.perf_counter()
    again = pipeline.ingest(paths)
    second = time.perf_counter() - started
    assert all(o.status == "unchanged" for o in again.outcomes)

    pipeline.db.execute("pragma wal_checkpoint(truncate)")
    size = os.path.getsize(db)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"corpus: {len(paths)} documents, {passages} passages, {len(texts)} distinct passage texts; the pipeline "
          f"embedded {embedded} distinct strings (texts and contexts of mappable passages) ({failed} failed; "
          f"{args.rounds} rounds)")
    print("| measure | value |\n|---|---|")
    print(f"| pipeline, first ingestion | {first:.1f} s, {passages / first:.1f} passages/s |")
    print(f"| raw encoder, one encode per passage text | {raw:.1f} s, {passages / raw:.1f} passages/s |")
    print(f"| pipeline / raw encoder | {raw / first:.2f} |")
    if args.floor:
        print(f"| reading and encoding alone (no context, mapping or storing) | {floor:.1f} s, "
              f"{raw / floor:.2f} of the raw encoder |")
    print(f"| re-ingestion of the unchanged corpus | {second:.2f} s ({100 * second / first:.2f}% of the first) |")
    print(f"| peak resident memory, main process | {peak_after_ingest:.0f} MiB |")
    print(f"| peak resident memory, largest worker | {children:.0f} MiB |")
    print(f"| database size | {size / 1e6:.1f} MB, {size / passages * 1000 / 1e6:.2f} MB per 1,000 passages |")


if __name__ == "__main__":
    main()
