"""Mapping time with every optional framework enabled against the default three, on the same pack.

    python bench/frameworks_speed.py [--pack FOLDER] [--runs 3]

The pack (default: the bundled sample pack, written to a temporary folder) is ingested once with the bundled
model; then the whole database is re-mapped from cached vectors, alternately with the default frameworks
(BS 11000, ISO 44001, Charter) and with OGC, mutuality, ACOP and trust behaviours added. Profiles are built
in each run (their vectors come from the cache after the first), so the figure is what a re-map costs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evidence import open_pipeline  # noqa: E402
from samples import write_sample_pack  # noqa: E402
from standards import available_frameworks  # noqa: E402


def remap_seconds(db: Path, frameworks: tuple[str, ...]) -> tuple[float, int]:
    pipeline = open_pipeline(db, frameworks=frameworks, workers=0)
    pipeline.sync_catalogue()  # the catalogue switch itself, timed below as a plain re-map
    started = time.perf_counter()
    pipeline.mapper.forget_profiles()
    pipeline.remap_all()
    links = pipeline.db.execute("select count(*) from evidence").fetchone()[0]
    return time.perf_counter() - started, links


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pack = args.pack or Path(tmp) / "pack"
        if args.pack is None:
            write_sample_pack(pack)
        db = Path(tmp) / "evidence.db"
        report = open_pipeline(db, workers=0).ingest([pack])
        passages = open_pipeline(db).db.execute("select count(*) from passages").fetchone()[0]
        times: dict[str, list[float]] = {"default": [], "all": []}
        links = {}
        remap_seconds(db, available_frameworks())  # embeds the optional catalogues once (per-user cache)
        for _ in range(args.runs):
            for name, chosen in (("default", ()), ("all", available_frameworks())):
                seconds, links[name] = remap_seconds(db, chosen)
                times[name].append(seconds)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{report.summary()}; {passages} passages; median of {args.runs} re-maps")
    print("| frameworks | re-map s | evidence links | / default |")
    print("|---|---|---|---|")
    for name, label in (("default", "BS 11000, ISO 44001, Charter"), ("all", "+ OGC, MUT, ACOP, TB")):
        print(f"| {label} | {med[name]:.2f} | {links[name]} | {med[name] / med['default']:.2f} |")


if __name__ == "__main__":
    main()
