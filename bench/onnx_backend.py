"""The ONNX backends against torch: encoder speed on the same strings, and mapping quality on the dev pack.

    python bench/onnx_backend.py CORPUS --pack ../shared/eval/dev     (in an environment with '.[onnx]')

Speed: SentenceTransformer.encode on the passage texts and contexts of CORPUS (read with the project's
readers), one backend after the other. Quality: the dev pack ingested with each backend and scored with
score.py; a backend qualifies if every figure stays within 0.01 of torch's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.mapping_quality import score  # noqa: E402
from evidence import open_pipeline  # noqa: E402
from ingest import DOC_TYPE_LABELS, read_document  # noqa: E402
from mapping import SentenceTransformerEmbedder  # noqa: E402

BACKENDS = ("all-MiniLM-L6-v2", "all-MiniLM-L6-v2@onnx", "all-MiniLM-L6-v2@onnx-int8")
KEYS = ("hit@1", "hit@3", "stage@3", "false_ev", "item_f1", "gap_recall")


def corpus_strings(corpus: Path, limit: int) -> list[str]:
    strings = []
    for path in sorted(p for p in corpus.iterdir() if p.suffix in (".docx", ".xlsx", ".pdf")):
        result = read_document(path)
        label = DOC_TYPE_LABELS.get(result.metadata.get("doc_type", "other"), "Other")
        for p in result.passages:
            strings += [p.text, " | ".join(x for x in (label, result.metadata.get("title", ""), p.context) if x)]
        if len(strings) >= limit:
            break
    return list(dict.fromkeys(strings))[:limit]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--pack", type=Path, default=Path("../shared/eval/dev"))
    ap.add_argument("--strings", type=int, default=4000)
    args = ap.parse_args()
    strings = corpus_strings(args.corpus, args.strings)
    rows = {}
    for spec in BACKENDS:
        embedder = SentenceTransformerEmbedder(spec)
        embedder.embed(strings[:64])  # export / load / warm up outside the timing
        started = time.perf_counter()
        embedder.embed(strings)
        seconds = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "dev.db"
            open_pipeline(db, model=spec, workers=0).ingest([args.pack / "files"])
            figures = score(args.pack.parent / "score.py", db, args.pack / "files.gold.jsonl")
        rows[spec] = (len(strings) / seconds, figures)
    base_speed, base = rows[BACKENDS[0]]
    print(f"{len(strings)} distinct strings from {args.corpus.name}")
    print("| backend | strings/s | speed vs torch | " + " | ".join(KEYS) + " | within 0.01 |")
    print("|---" * (4 + len(KEYS)) + "|")
    for spec, (speed, figures) in rows.items():
        close = all(abs(figures[k] - base[k]) <= 0.01 for k in KEYS)
        print(f"| {spec} | {speed:.0f} | {speed / base_speed:.2f} | " + " | ".join(f"{figures[k]:.3f}" for k in KEYS)
              + f" | {'yes' if close else 'no'} |")


if __name__ == "__main__":
    main()
