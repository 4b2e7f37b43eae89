"""The evidence store and pipeline: orchestrates ingest, mapping and standards into one SQLite database.

`open_pipeline` gives a `Pipeline` (pipeline.py), a short orchestrator over parts that read on their own:
files.py (what to read), embeddings.py (the vector cache), catalogue_sync.py (profiles, mapping, re-mapping),
store.py (documents, versions, passages and links, one transaction per write). Around them: db.py (live schema:
views, coverage and its refresh; opening and write transactions), migrations.py (the schema's frozen history),
reports.py and pages.py (what the CLI and the pages show), watch.py, serve.py, export.py, history.py, reviews.py,
copies.py; cli.py calls one of these per command. The sample pack and the file writers live apart, in `samples/`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import sqlite_utils

from mapping import DEFAULT_MODEL, MappingConfig, get_embedder
from standards import CatalogueError, available_frameworks, load_catalogue

from .db import get_setting, open_db, set_setting, write_transaction
from .pipeline import FileOutcome, IngestError, IngestReport, Pipeline
from .serve import files_dir_for

__all__ = ["open_pipeline", "choose_frameworks", "switch_frameworks", "frameworks_overview", "Pipeline", "IngestError",
           "IngestReport", "FileOutcome", "open_db", "files_dir_for"]


def open_pipeline(db_path: str | Path, catalogue_files: list[str] | None = None, model: str | None = None,
                  workers: int = 1, timeout: float = 120.0, config: MappingConfig | None = None,
                  frameworks: list[str] | tuple[str, ...] | None = None) -> Pipeline:
    """A pipeline on a database; catalogue files, model and the frameworks opted into (OGC, MUT, TB, ACOP: see
    `standards.available_frameworks`) are remembered for later runs on it. Changing them re-maps from cached
    vectors; the passages are not embedded again."""
    db = open_db(db_path)
    if catalogue_files is None:
        catalogue_files = json.loads(get_setting(db, "catalogue_files", "[]"))
    else:
        catalogue_files = [str(Path(f).resolve()) for f in catalogue_files]
    model = model or get_setting(db, "model_spec") or DEFAULT_MODEL
    opted = optional_frameworks(db) if frameworks is None else normalise_frameworks(frameworks)
    catalogue = load_catalogue(catalogue_files, frameworks=opted)
    embedder = get_embedder(model)  # a model that cannot run here is refused before the database remembers it
    with write_transaction(db.conn):
        set_setting(db, "catalogue_files", json.dumps(catalogue_files))
        set_setting(db, "model_spec", model)
        set_setting(db, "frameworks", ",".join(catalogue.frameworks))  # every framework assessed, in order
    return Pipeline(db, catalogue, embedder, files_dir_for(db_path), config=config,
                    workers=workers, timeout=timeout)


def normalise_frameworks(names: Iterable[str]) -> tuple[str, ...]:
    """The optional built-in frameworks named (ids in any case, or "all"); CatalogueError for an unknown one."""
    wanted = [n.strip().upper() for n in names if n.strip()]
    if "ALL" in wanted:
        return available_frameworks()
    unknown = [n for n in wanted if n not in available_frameworks()]
    if unknown:
        raise CatalogueError(f"no optional framework {', '.join(unknown)}: choose from "
                             f"{', '.join(available_frameworks())} (or all)")
    return tuple(dict.fromkeys(wanted))


def optional_frameworks(db: sqlite_utils.Database) -> tuple[str, ...]:
    """The optional frameworks a database assesses, as remembered in its settings."""
    enabled = (get_setting(db, "frameworks") or "").split(",")
    return tuple(f for f in available_frameworks() if f in enabled)


def choose_frameworks(db_path: str | Path, enable: Iterable[str] = (), disable: Iterable[str] = ()) -> tuple[str, ...]:
    """The optional frameworks a database assesses once those named in `enable` are added and those in `disable`
    dropped; with neither, what it remembers (nothing for a database not made yet)."""
    current = optional_frameworks(open_db(db_path)) if Path(db_path).exists() else ()
    gone = set(normalise_frameworks(disable))
    return tuple(f for f in dict.fromkeys(current + normalise_frameworks(enable)) if f not in gone)


def switch_frameworks(db_path: str | Path, enable: Iterable[str] = (), disable: Iterable[str] = ()) -> tuple[str, ...]:
    """Enable and disable optional frameworks of a database and re-map it from cached vectors; returns them."""
    chosen = choose_frameworks(db_path, enable, disable)
    open_pipeline(db_path, frameworks=chosen).sync_catalogue()
    return chosen


def frameworks_overview(chosen: tuple[str, ...]) -> list[tuple[bool, str, int, str]]:
    """(assessed, id, items, name) for every framework available, default ones and those that can be chosen."""
    catalogue = load_catalogue(frameworks=available_frameworks())
    return [(fw.default or fw.id in chosen, fw.id, sum(r.framework == fw.id for r in catalogue), fw.name)
            for fw in catalogue.frameworks.values()]
