from __future__ import annotations

import shutil
from pathlib import Path

import jinja2
import numpy as np
import pytest
from datasette import hookimpl
from datasette.plugins import pm
from helpers import WHEN, copy_database

from evidence import open_pipeline
from evidence.db import open_db
from mapping.threads import blas_controller
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


class _CompiledOnce(jinja2.BytecodeCache):
    """Templates compiled once per test run: each of the suite's hundreds of Datasette instances would compile
    the same templates again (a third of the fast subset's time). Keyed by file and checked against the source,
    as Jinja's own caches are, so an edited template is compiled afresh."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


class _SharedTemplates:
    __name__ = "tests_compile_templates_once"  # Datasette lists its plugins by module name
    cache = _CompiledOnce()

    @hookimpl
    def prepare_jinja2_environment(self, env):
        env.bytecode_cache = self.cache


pm.register(_SharedTemplates(), name=_SharedTemplates.__name__)


_BLAS = blas_controller()  # the mapping's own (mapping.threads)


@pytest.fixture(autouse=True)
def one_blas_thread(request, monkeypatch):
    """One BLAS thread for the tests of the fast part, and for the processes they start: their matrices are small (a
    few hundred rows by 512), where a second thread costs more in hand-offs than it saves, and far more when another
    process holds the other core (a 40 x 512 by 512 x 542 product took 0.5 ms on one thread, 4 to 25 ms on two).
    The model tests keep the library's default: the shipped fit was made so, and the solver's end point moves
    with the threads (its bias by 0.00204 on one, against the 0.002 that test allows)."""
    if request.node.get_closest_marker("model"):
        yield
        return
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    with _BLAS.limit(limits=1):
        yield


def _fitting_code() -> str:
    """The code a fit comes from, as a digest: a kept fit's own name covers its model, corpus and catalogue, not
    the features and calibration computed on the way, which a change in the working tree may move."""
    import hashlib

    import mapping

    digest = hashlib.sha256()
    for path in sorted(Path(mapping.__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session", autouse=True)
def own_vector_cache(tmp_path_factory, request):
    """The per-user cache of catalogue vectors, for this run only (subprocesses inherit it): the suite never
    writes into the user's cache folder, and later tests reuse what the first one embedded, as users do.
    The evidence-or-not fits made for the test models are kept between runs in pytest's own cache (each is
    named by its model, corpus, profiles and format, so a stale one is never read): fitting one costs two
    seconds, and `test_a_model_without_a_shipped_fit_is_fitted_once_per_user` fits afresh in a folder of its own."""
    cache = tmp_path_factory.mktemp("vector-cache")
    cache_plugin = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    kept = cache_plugin.mkdir(f"evidence-fits-{_fitting_code()}") if cache_plugin is not None else None
    if kept is not None:
        shutil.copytree(kept, cache / "evidence-fits")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVIDENCE_CACHE_DIR", str(cache))
        yield
    if kept is not None and (cache / "evidence-fits").is_dir():
        shutil.copytree(cache / "evidence-fits", kept, dirs_exist_ok=True)


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "evidence.db"


@pytest.fixture(scope="session")
def new_hash_db(tmp_path_factory) -> Path:
    """A new database as `open_pipeline` leaves it with the hash embedder (migrated, catalogue stored), made once:
    a hundred tests start from one, and the migrations and the catalogue's rows cost more than a copy."""
    path = tmp_path_factory.mktemp("newdb") / "new.db"
    open_pipeline(path, model="hash", workers=0).db.conn.close()
    return path


@pytest.fixture
def fake_pipeline(new_hash_db, db_path):
    """A pipeline on a new database with the fast deterministic embedder (a copy of one made so: the same file)."""
    shutil.copyfile(new_hash_db, db_path)
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
