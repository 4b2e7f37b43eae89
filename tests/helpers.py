"""Helpers shared by tests."""

import datetime as dt
import shutil
import sqlite3
import zipfile
from contextlib import closing
from pathlib import Path

WHEN = dt.datetime(2026, 1, 15, 10, 0, 0)  # a fixed document date for files the tests write


def rewrite_zip_member(path: Path, member: str, transform) -> None:
    """Rewrite one part of an Office file (to add XML features the writers cannot produce)."""
    with zipfile.ZipFile(path) as zin:
        items = [(i, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename == member:
                data = transform(data.decode("utf-8")).encode("utf-8")
            zout.writestr(info, data)


def rows(db, sql, params=()):
    return [dict(r) for r in db.query(sql, params)]


def copy_database(source: Path, target: Path) -> Path:
    """Copy an evidence database (with SQLite's backup API) and the folder of stored copies beside it."""
    from evidence.serve import files_dir_for

    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    if files_dir_for(source).is_dir():
        shutil.copytree(files_dir_for(source), files_dir_for(target))
    return target
