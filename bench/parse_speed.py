"""Parsing speed and fidelity, side by side with unstructured's partition(), in one run.

    python bench/corpus.py CORPUS --documents 200
    python bench/parse_speed.py CORPUS --unstructured-python /path/to/unstructured-venv/bin/python

Parsing only (no embedding), one process each, same files. Pages: a PDF's real pages; for Word and Excel,
3,000 characters of extracted text count as one page (stated in the output). Fidelity: the share of the
sentences the generator wrote (CORPUS/truth.jsonl) found verbatim, whitespace- and case-insensitively, in
each tool's text of that file.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import read_document  # noqa: E402

WORKER = r'''
import json, sys, time
t0 = time.perf_counter()
from unstructured.partition.auto import partition
imported = time.perf_counter() - t0
files = json.load(open(sys.argv[1]))
out, times = {}, []
for f in files:
    t = time.perf_counter()
    kw = {"strategy": "fast"} if f.endswith(".pdf") else {}
    try:
        out[f] = "\n".join(str(e) for e in partition(filename=f, **kw))
    except Exception as exc:
        out[f] = ""
    times.append(time.perf_counter() - t)
json.dump({"import": imported, "times": times, "text": out}, open(sys.argv[2], "w"))
'''


def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def pages_of(path: Path, text: str) -> float:
    if path.suffix == ".pdf":
        from pypdf import PdfReader

        return len(PdfReader(str(path)).pages)
    return max(1.0, len(text) / 3000)


def fidelity(texts: dict[str, str], truth: list[dict]) -> float:
    normalised = {Path(k).name: norm(v) for k, v in texts.items()}
    found = sum(norm(t["text"]) in normalised.get(t["file"], "") for t in truth)
    return found / len(truth) if truth else 0.0


def ours(files: list[Path]) -> tuple[float, dict[str, str]]:
    texts = {}
    started = time.perf_counter()
    for f in files:
        result = read_document(f)
        texts[str(f)] = "\n".join(p.text for p in result.passages)
    return time.perf_counter() - started, texts


def theirs(files: list[Path], python: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        listing, result, worker = Path(tmp, "files.json"), Path(tmp, "out.json"), Path(tmp, "worker.py")
        listing.write_text(json.dumps([str(f) for f in files]))
        worker.write_text(WORKER)
        env = {"DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1", "UNSTRUCTURED_DISABLE_NOTICE": "1", "PATH": "/usr/bin:/bin"}
        started = time.perf_counter()
        subprocess.run([python, str(worker), str(listing), str(result)], check=True, env=env, capture_output=True)
        data = json.loads(result.read_text())
        data["cold"] = time.perf_counter() - started
        return data


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--unstructured-python", default=None)
    args = ap.parse_args()
    files = sorted(p for p in args.corpus.iterdir() if p.suffix in (".docx", ".xlsx", ".pdf"))
    truth = [json.loads(line) for line in (args.corpus / "truth.jsonl").read_text().splitlines() if line]
    ours(files[:3])  # warm imports, as for the other tool's warm figure
    seconds, texts = ours(files)
    pages = sum(pages_of(f, texts[str(f)]) for f in files)
    print(f"{len(files)} documents, {pages:.0f} pages (PDF pages; 3,000 characters = 1 page for Word and Excel)")
    print("| tool | seconds | documents/s | pages/s | fidelity |\n|---|---|---|---|---|")
    print(f"| this project (warm) | {seconds:.1f} | {len(files) / seconds:.1f} | {pages / seconds:.1f} | {fidelity(texts, truth):.3f} |")
    if args.unstructured_python:
        data = theirs(files, args.unstructured_python)
        warm = sum(data["times"][1:])
        n = len(files) - 1
        their_fid = fidelity(data["text"], truth)
        print(f"| unstructured (warm, first file excluded) | {warm:.1f} | {n / warm:.1f} | {pages * n / len(files) / warm:.1f} | {their_fid:.3f} |")
        print(f"| unstructured (cold, with start-up) | {data['cold']:.1f} | {len(files) / data['cold']:.1f} | "
              f"{pages / data['cold']:.1f} | {their_fid:.3f} |")
        print(f"\nspeed-up: {(len(files) / seconds) / (n / warm):.1f}x warm, {data['cold'] / seconds:.1f}x cold")


if __name__ == "__main__":
    main()
