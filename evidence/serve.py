"""Publish evidence databases with Datasette, using the configuration directory `datasette/`: on loopback by
default, beyond it only with logins; in one process, or in several on one port sharing one cookie secret."""

from __future__ import annotations

import copy
import importlib.util
import ipaddress
import json
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from datasette.app import Datasette

DEFAULT_NAME = "evidence"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ServeError(Exception):
    """Datasette cannot be started as asked."""


def config_dir() -> Path:
    """The Datasette configuration directory: installed with the package, or the repository's own."""
    spec = importlib.util.find_spec("evidence.datasette_config")
    if spec and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if (Path(location) / "metadata.yml").exists():
                return Path(location)
    here = Path(__file__).resolve().parent.parent / "datasette"
    if (here / "metadata.yml").exists():
        return here
    raise ServeError("the Datasette configuration directory (datasette/metadata.yml) is missing")


def files_dir_for(db_path: str | Path) -> Path:
    """Where the pipeline keeps content-addressed copies of a database's source files."""
    db_path = Path(db_path).resolve()
    return db_path.with_name(f"{db_path.stem}-files")


def database_names(db_paths: list[Path]) -> list[str]:
    """Stable names: one database is always `evidence`; several keep their file names."""
    if len(db_paths) == 1:
        return [DEFAULT_NAME]
    names = [p.stem for p in db_paths]
    if len(set(names)) != len(names):
        raise ServeError("databases published together need different file names")
    return names


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where PyYAML has it: every server reads it


def load_metadata(names: list[str], require_login: bool = False) -> dict:
    """metadata.yml with its `evidence` database block applied to every published name."""
    raw = yaml.load((config_dir() / "metadata.yml").read_text(), Loader=_YAML_LOADER)
    template = raw.get("databases", {}).get(DEFAULT_NAME, {})
    raw["databases"] = {name: copy.deepcopy(template) for name in names}
    raw.setdefault("plugins", {})
    if require_login:
        raw["allow"] = {"id": "*"}  # beyond localhost nobody reads without logging in
    return raw


def prepare(db_paths: list[str | Path]) -> list[Path]:
    """The databases to publish, each present and brought to the schema the pages read."""
    paths = [Path(p).resolve() for p in db_paths]
    for p in paths:
        if not p.exists():
            raise ServeError(f"no database at {p}: run `evidence ingest` first")
        _upgrade(p)
    database_names(paths)  # names that clash are refused before anything starts
    return paths


def build_datasette(db_paths: list[str | Path], accounts: dict[str, str] | None = None, require_login: bool = False,
                    secret: str | None = None) -> Datasette:
    """A Datasette instance publishing the given evidence databases under stable names; `secret` signs its
    cookies (logins, CSRF tokens), random unless given."""
    from datasette.app import Datasette
    from datasette.database import Database

    paths = prepare(db_paths)
    names = database_names(paths)
    metadata = load_metadata(names, require_login)
    metadata.setdefault("plugins", {})["evidence"] = {"files": {n: str(files_dir_for(p)) for n, p in zip(names, paths)}}
    ds = Datasette(files=[], metadata=metadata, config_dir=config_dir(), secret=secret,
                   settings={"default_page_size": 50, "sql_time_limit_ms": 3000, "facet_time_limit_ms": 500,
                             "suggest_facets": False})  # curated facets only: suggestions cost a query per column
    for name, path in zip(names, paths):
        ds.add_database(Database(ds, path=str(path), is_mutable=True), name=name)
    if "_memory" in ds.databases:
        ds.remove_database("_memory")
    # on the instance, where the plugin finds them, never in the metadata: /-/metadata.json publishes that
    ds.evidence_accounts = dict(accounts or {})
    return ds


def _upgrade(path: Path) -> None:
    """Bring an evidence database written by an earlier version to the schema the pages read; one that is
    current, or not an evidence database at all, is left as it is."""
    import sqlite_utils

    from .db import needs_upgrade, open_db
    from .migrations import migrations

    probe = sqlite_utils.Database(path)
    try:
        pending = bool(migrations.applied(probe)) and needs_upgrade(probe)
    finally:
        probe.close()
    if pending:
        open_db(path).close()


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_PASSWORD_HASH = re.compile(r"pbkdf2_sha256\$[1-9][0-9]{0,8}\$[^$\s]+\$[A-Za-z0-9+/]+=*")


def is_password_hash(value: str) -> bool:
    """A hash as `evidence hash-password` makes them; anything else can never match a password."""
    return bool(_PASSWORD_HASH.fullmatch(value.strip()))


def accounts_from_env() -> dict[str, str]:
    """Assessor logins: EVIDENCE_PASSWORD_HASH for 'assessor', EVIDENCE_ACCOUNTS='name=hash;name=hash' for more."""
    accounts = {}
    if os.environ.get("EVIDENCE_PASSWORD_HASH"):
        accounts["assessor"] = os.environ["EVIDENCE_PASSWORD_HASH"].strip()
    for item in filter(None, (os.environ.get("EVIDENCE_ACCOUNTS") or "").split(";")):
        name, _, hashed = item.partition("=")
        if not name.strip().isidentifier() or not hashed:
            raise ServeError(f"EVIDENCE_ACCOUNTS entry '{name}' is not name=hash")
        accounts[name.strip()] = hashed.strip()
    # an account nobody can log in to must not count as authentication on a public address
    for name, hashed in accounts.items():
        if not is_password_hash(hashed):
            raise ServeError(f"the password hash of account '{name}' is malformed: make one with "
                             "`evidence hash-password`")
    return accounts


SERVE_ENV = "EVIDENCE_SERVE"  # the file saying what the worker processes of one `serve` publish, set by it for them


def check_serving(host: str, workers: int = 1) -> dict[str, str]:
    """The accounts to serve with, or ServeError when serving so would be refused: anything beyond loopback needs
    an account. Called before anything starts (the CLI's watcher, its "Serving..." line) and by `serve` itself."""
    accounts = accounts_from_env()
    if not is_loopback(host) and not accounts:
        raise ServeError(
            f"refusing to publish commercial evidence on {host} without authentication: set "
            "EVIDENCE_PASSWORD_HASH (make one with `evidence hash-password`), or bind to 127.0.0.1")
    if workers < 1:
        raise ServeError("--workers needs 1 or more")
    return accounts


def serve(db_paths: list[str | Path], host: str = "127.0.0.1", port: int = 8001, workers: int = 1) -> None:
    """Run Datasette with uvicorn; anything beyond loopback requires a login. With several `workers`, as many
    processes answer on the one port (a page's rendering holds one core: more readers at once need more)."""
    import uvicorn

    accounts = check_serving(host, workers)
    exposed = not is_loopback(host)
    if workers == 1:
        ds = build_datasette(db_paths, accounts=accounts, require_login=exposed)
        uvicorn.run(ds.app(), host=host, port=port, log_level="warning")
        return
    # each worker builds the same Datasette from what was checked here (upgraded here first, so the workers find
    # nothing to do), and all sign cookies with one secret: a login or a review form one worker served, another
    # accepts. The secret is in a file only this user can read, named in the environment, not in the environment
    # itself, which every process started later (readers of hostile files among them) would inherit.
    config = write_worker_config(prepare(db_paths), exposed)
    os.environ[SERVE_ENV] = str(config)
    try:
        uvicorn.run("evidence.serve:worker_app", factory=True, workers=workers, host=host, port=port,
                    log_level="warning")
    finally:
        os.environ.pop(SERVE_ENV, None)
        config.unlink(missing_ok=True)


def write_worker_config(databases: list[Path], require_login: bool) -> Path:
    """What every worker process publishes, with a new cookie secret, in a file readable by this user alone."""
    import tempfile

    handle, name = tempfile.mkstemp(prefix="evidence-serve-", suffix=".json")  # created 0600
    with os.fdopen(handle, "w") as fh:
        json.dump({"databases": [str(p) for p in databases], "require_login": require_login,
                   "secret": secrets.token_hex(32)}, fh)
    return Path(name)


def worker_datasette() -> Datasette:
    """The Datasette of one worker process of `serve(..., workers=N)`, from the file that call named in SERVE_ENV."""
    config = json.loads(Path(os.environ[SERVE_ENV]).read_text())
    return build_datasette(config["databases"], accounts=accounts_from_env(), require_login=config["require_login"],
                           secret=config["secret"])


def worker_app() -> Callable:
    return worker_datasette().app()
