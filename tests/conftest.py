from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import WHEN, copy_database

from evidence import open_pipeline
from evidence.db import open_db
from samples import (
    write_docx,
    write_eml,
    write_msg,
    write_pdf,
    write_png,
    write_pptx,
    write_sample_pack,
    write_scan_pdf,
    write_xlsx,
)
from standards import load_catalogue


@pytest.fixture(scope="session", autouse=True)
def own_vector_cache(tmp_path_factory):
    """The per-user cache of catalogue vectors, for this run only (subprocesses inherit it): the suite never
    writes into the user's cache folder, and later tests reuse what the first one embedded, as users do."""

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVIDENCE_CACHE_DIR", str(tmp_path_factory.mktemp("vector-cache")))
        yield


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "evidence.db"


@pytest.fixture
def fake_pipeline(db_path):
    """A pipeline on a new database with the fast deterministic embedder."""
    return open_pipeline(db_path, model="hash", workers=0)


@pytest.fixture(scope="session")
def sample_pack(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pack")
    write_sample_pack(folder, extras=False)
    return folder


@pytest.fixture(scope="session")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="session")
def real_embedder():
    from mapping import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    # the model is deterministic: each text is embedded once per session, however many profiles and pipelines ask
    original, seen = embedder.embed, {}

    def embed(texts):
        missing = list(dict.fromkeys(t for t in texts if t not in seen))
        if missing:
            seen.update(zip(missing, original(missing)))
        return np.stack([seen[t] for t in texts]) if texts else original(texts)

    embedder.embed = embed
    embedder.embed(["warm up"])
    return embedder


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory, sample_pack, real_embedder) -> Path:
    """The sample pack ingested once with the real bundled model."""
    from evidence.pipeline import Pipeline
    from evidence.serve import files_dir_for

    path = tmp_path_factory.mktemp("sampledb") / "sample.db"
    pipeline = Pipeline(open_db(path), load_catalogue(), real_embedder, files_dir_for(path), workers=0)
    report = pipeline.ingest([sample_pack])
    assert report.failed == 0
    pipeline.db.conn.close()
    return path


@pytest.fixture(scope="session")
def hash_pack(tmp_path_factory, sample_pack):
    """The sample pack ingested once with the fast deterministic embedder: (closed database, its report)."""
    path = tmp_path_factory.mktemp("hashpack") / "pack.db"
    pipeline = open_pipeline(path, model="hash", workers=0)
    report = pipeline.ingest([sample_pack])
    assert report.failed == 0
    pipeline.db.conn.close()
    return path, report


@pytest.fixture
def pack_db(hash_pack, db_path) -> Path:
    """A private copy (database and stored files) of the sample pack ingested with the hash embedder."""
    return copy_database(hash_pack[0], db_path)


@pytest.fixture
def make_docx(tmp_path):
    def make(name: str, blocks: list, title: str = "Test document", **kw) -> Path:
        return write_docx(tmp_path / name, title, blocks, WHEN, **kw)
    return make


@pytest.fixture
def make_xlsx(tmp_path):
    def make(name: str, sheets: dict, title: str = "Test workbook", **kw) -> Path:
        return write_xlsx(tmp_path / name, title, sheets, WHEN, **kw)
    return make


@pytest.fixture
def make_pdf(tmp_path):
    def make(name: str, blocks: list, title: str = "Test report", **kw) -> Path:
        return write_pdf(tmp_path / name, title, blocks, WHEN, **kw)
    return make


@pytest.fixture
def make_pptx(tmp_path):
    def make(name: str, slides: list, title: str = "Test deck", **kw) -> Path:
        return write_pptx(tmp_path / name, title, slides, WHEN, **kw)
    return make


@pytest.fixture
def make_eml(tmp_path):
    def make(name: str, subject: str, body: str, **kw) -> Path:
        return write_eml(tmp_path / name, subject, body, WHEN, **kw)
    return make


@pytest.fixture
def make_msg(tmp_path):
    def make(name: str, subject: str, body: str, **kw) -> Path:
        return write_msg(tmp_path / name, subject, body, WHEN, **kw)
    return make


@pytest.fixture
def make_scan_pdf(tmp_path):
    def make(name: str, pages: list[list[str]], **kw) -> Path:
        # narrower than A4 by default: the same type, fewer pixels to recognise
        return write_scan_pdf(tmp_path / name, pages, **{"width": 1300, "margin": 60, **kw})
    return make


@pytest.fixture
def make_png(tmp_path):
    def make(name: str, lines: list[str], **kw) -> Path:
        return write_png(tmp_path / name, lines, **kw)
    return make
