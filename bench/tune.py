"""Choose mapping settings on one labelled pack, report them on the other: leave one pack out.

    python bench/tune.py --packs ../shared/eval/dev ../shared/eval/rail [--grid GRID.json [--random N --seed S]]

Each pack is ingested once into a database kept under --workdir (embeddings cached there); every setting of the
grid is then a re-map from cached vectors and a run of the pack's score.py. For each pack as the tuning pack, the
setting that meets the most targets there (ties: the best sum of margins) is reported on every pack, so the
other pack's figures are held out. Labels are read only by score.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import itertools
import json
import random
import sys
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mapping.evidence_model  # noqa: E402
from evidence import open_pipeline  # noqa: E402
from mapping import MappingConfig  # noqa: E402

TARGETS = {"hit@1": 0.45, "hit@3": 0.65, "stage@3": 0.78, "false_ev": -0.12, "item_f1": 0.85, "gap_recall": 0.85}
KEYS = list(TARGETS)


def load_scorer(score_py: Path):
    spec = importlib.util.spec_from_file_location("pack_score", score_py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pack_db(pack: Path, workdir: Path, model: str) -> Path:
    """The pack ingested once with the product's default settings; later settings re-map it."""
    db = workdir / f"{pack.name}.db"
    if not db.exists():
        pipeline = open_pipeline(db, model=model, workers=0)
        report = pipeline.ingest([pack / "files"])
        assert report.failed == 0, report.summary()
    return db


def figures(scorer, db: Path, gold: Path, config: MappingConfig, model: str) -> dict:
    pipeline = open_pipeline(db, model=model, config=config)
    if not pipeline.sync_catalogue():  # settings are part of the stamp; code changes are not: re-map anyway
        pipeline.remap_all()
    with redirect_stdout(io.StringIO()):
        return scorer.main([str(db), str(gold)])


def merit(fig: dict) -> tuple[int, float]:
    """(targets met, sum of margins): what a setting is chosen by."""
    margins = [(fig[k] - t) if t > 0 else (-t - fig[k]) for k, t in TARGETS.items()]
    return sum(m >= 0 for m in margins), sum(min(m, 0.05) for m in margins)


def grid_settings(grid: dict, sample: int = 0, seed: int = 0) -> list[dict]:
    """Every combination of the grid's values, or, with `sample`, the defaults and that many drawn at random."""
    names = list(grid)
    if sample:
        rng = random.Random(seed)
        return [{}] + [{n: rng.choice(grid[n]) for n in names} for _ in range(sample)]
    return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packs", type=Path, nargs="+", required=True)
    ap.add_argument("--grid", type=Path, default=None, help="JSON: {setting: [values]}; default: defaults only")
    ap.add_argument("--random", type=int, default=0, help="draw this many settings from the grid instead of all")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/evidence-tune"))
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--corpus", type=Path, default=None, help="another evidence-or-not corpus folder (ablations)")
    args = ap.parse_args()
    if args.corpus:
        mapping.evidence_model.CORPUS_DIR = args.corpus
    args.workdir.mkdir(parents=True, exist_ok=True)
    grid = json.loads(args.grid.read_text()) if args.grid else {}
    settings = grid_settings(grid, args.random, args.seed) if grid else [{}]
    results: dict[str, list[dict]] = {}
    for pack in args.packs:
        scorer = load_scorer(pack.parent / "score.py")
        db = pack_db(pack, args.workdir, args.model)
        results[pack.name] = [figures(scorer, db, pack / "files.gold.jsonl", MappingConfig(**s), args.model)
                              for s in settings]
    print("| chosen on | setting | measured on | " + " | ".join(KEYS) + " | targets met |")
    print("|---" * (len(KEYS) + 4) + "|")
    for tuned in args.packs:
        best = max(range(len(settings)), key=lambda i: merit(results[tuned.name][i]))
        for pack in args.packs:
            fig = results[pack.name][best]
            role = "tuning" if pack == tuned else "held-out"
            print(f"| {tuned.name} | {json.dumps(settings[best])} | {pack.name} ({role}) | "
                  + " | ".join(f"{fig[k]:.3f}" for k in KEYS) + f" | {merit(fig)[0]}/6 |")
    if args.json:
        args.json.write_text(json.dumps({"settings": settings, "results": results}, indent=1))


if __name__ == "__main__":
    main()
