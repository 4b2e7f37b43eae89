"""The watched folder: new, changed, renamed and deleted documents update the matrix by themselves.

A file is read once its size and modification time have been still for `settle` seconds, or at once when its
own format says it is whole (an Office package or PDF is written from start to end, its last bytes last). Identity is
the content hash, so a renamed file keeps its evidence and an unchanged one is never read again. A
restart catches up with whatever changed while nobody watched; each document is one transaction, so a
kill at any moment leaves nothing half-written.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest import fingerprint, is_whole, printable, tells_whole

from .db import set_setting, write_transaction
from .files import passed_over, survey
from .pipeline import FileOutcome, Pipeline

NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "afs", "ceph", "glusterfs",
                       "davfs", "fuse.davfs2", "fuse.rclone", "fuse.s3fs", "lustre"}


class WatchError(Exception):
    """The folder cannot be watched as asked."""


def filesystem_type(path: Path) -> str:
    """The type of the file system holding `path`, from /proc/mounts (empty where that is unknown)."""
    try:
        mounts = [line.split()[:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return ""
    path = path.resolve()
    best, kind = "", ""
    for _, mount_point, fs_type in mounts:
        mount_point = mount_point.replace("\\040", " ")
        if (path == Path(mount_point) or Path(mount_point) in path.parents) and len(mount_point) > len(best):
            best, kind = mount_point, fs_type
    return kind


def check_locations(pipeline: Pipeline, folder: Path) -> None:
    """The database and the kept copies live outside the watched folder, on a local disk."""
    db_file = Path(pipeline.db.conn.execute("pragma database_list").fetchone()[2]).resolve()
    folder = folder.resolve()
    for what, path in (("database", db_file), ("folder of kept copies", pipeline.files_dir.resolve())):
        if path == folder or folder in path.parents:
            raise WatchError(f"the {what} ({path}) is inside the watched folder: keep it elsewhere, "
                             "or the watcher would react to its own writes")
    kind = filesystem_type(db_file.parent)
    if kind in NETWORK_FILESYSTEMS:
        raise WatchError(f"the database is on a network share ({kind}): SQLite's WAL mode, which lets Datasette read "
                         "while the watcher writes, does not work there; put the database on a local disk "
                         "(the watched folder itself may stay on the share, with --poll)")


@dataclass
class _Pending:
    fingerprint: tuple | None
    since: float
    waiting: bool = False  # said on the console that it waits for its end to land


@dataclass
class Watcher:
    pipeline: Pipeline
    folder: Path
    settle: float = 1.0  # seconds a file's size and mtime must stay unchanged before it is read
    # ...and a zip or PDF that its own format says is not whole yet: a slow copy (a network share, a laptop on
    # Wi-Fi) pauses longer than `settle` between chunks, and each read of it so far was a failed version
    incomplete_wait: float = 30.0
    poll: bool = False  # poll instead of file-system events (network shares)
    log: Callable[[str], None] = print
    stop_event: threading.Event = field(default_factory=threading.Event)
    pending: dict[Path, _Pending] = field(default_factory=dict)
    # what "settled for `settle` seconds" is measured with: a test passes a clock it moves itself, so waiting
    # for a file to settle is a step of the test, not a sleep
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self):
        self.folder = Path(self.folder).resolve()
        if not self.folder.is_dir():
            raise WatchError(f"no such folder: {self.folder}")
        check_locations(self.pipeline, self.folder)

    # ------------------------------------------------------------------ catching up
    def initial_scan(self, progress: Callable[[Iterable], Iterable] | None = None) -> list[FileOutcome]:
        """Ingest what is new or changed and retire what disappeared since the last run."""
        outcomes = self.pipeline.ingest([self.folder], progress=progress).outcomes  # retires what disappeared too
        for o in outcomes:
            if o.status == "removed":
                self._log_event("deleted", o)
        self.pipeline.warm_up()  # so the first document dropped in is not the slow one
        statuses = ("ok", "partial", "failed", "skipped", "unchanged", "removed")
        counts = {s: sum(o.status == s for o in outcomes) for s in statuses}
        said = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing to read yet"
        self.log(f"{_stamp()} scanned {self.folder}: {said}")
        return outcomes

    # ------------------------------------------------------------------ watching
    def run(self, progress: Callable[[Iterable], Iterable] | None = None) -> None:
        """Scan once, then follow changes until stop_event is set."""
        from watchfiles import Change, watch

        scanned = False
        self.record_status("running")
        try:
            for changes in watch(self.folder, recursive=True, force_polling=self.poll, poll_delay_ms=500,
                                 yield_on_timeout=True, rust_timeout=250, stop_event=self.stop_event,
                                 debounce=200, step=50):
                if not scanned:
                    # the watch is in place before the scan, so nothing dropped in meanwhile is missed
                    self._guarded(self.folder, lambda: self.initial_scan(progress))
                    self.log(f"{_stamp()} watching {self.folder}" + (" (polling)" if self.poll else ""))
                    scanned = True
                for change, raw in changes:
                    if change == Change.modified and Path(raw).is_dir():
                        continue  # files came or went in it (a poll sees its time move): their own events say which
                    self.notice(Path(raw), deleted=change == Change.deleted)
                self.process_ready()
        finally:
            self.record_status("stopped")

    def record_status(self, state: str, last_file: Path | None = None, error: str | None = None) -> None:
        """What the watcher is doing, in the settings table, for the front page; never fatal itself."""
        values = {"watcher_state": state, "watcher_folder": str(self.folder), "watcher_updated_at": _now()}
        if last_file is not None:
            values["watcher_last_file"] = _shown(last_file)
        if error is not None:
            values["watcher_last_error"] = error
            values["watcher_last_error_at"] = values["watcher_updated_at"]
        try:
            with write_transaction(self.pipeline.db.conn):
                for key, value in values.items():
                    set_setting(self.pipeline.db, key, value)
        except Exception as exc:  # a status that cannot be written is said on the console, and work goes on
            self.log(f"{_stamp()} could not record the watcher status: {type(exc).__name__}: {exc}")

    def _guarded(self, path: Path, action: Callable[[], list[FileOutcome]]) -> list[FileOutcome]:
        """Run one piece of work; an error in it is recorded and said, and the watcher goes on."""
        try:
            outcomes = action()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            self.log(f"{_stamp()} ERROR    {_shown(path)}: {error} (the watcher goes on)")
            self.record_status("running", path, error)
            return []
        self.record_status("running", path)
        return outcomes

    def notice(self, path: Path, deleted: bool = False) -> None:
        """Queue a changed path; it is handled once it has settled. A folder that appears (renamed, moved or copied in)
        gives its files then (a rename brings no event for them): see `_arrived_in`."""
        if self._ignored(path):
            return
        state = self.pending.setdefault(path, _Pending(None, self.clock()))
        if deleted:
            state.fingerprint = ("gone",)

    def process_ready(self) -> list[FileOutcome]:
        """Handle the files that have settled: arrivals first, so a rename is seen as a move."""
        ready_files, ready_gone = [], []
        now = self.clock()
        for path, state in list(self.pending.items()):
            current = fingerprint(path)
            if current is not None and current != state.fingerprint and is_whole(path):
                ready_files.append(path)  # complete as it stands: a finished copy, a save by rename
                del self.pending[path]
            elif current != state.fingerprint:
                state.fingerprint, state.since = current, now
            elif now - state.since >= self.settle:
                if current is not None and now - state.since < self.incomplete_wait and self._landing(path):
                    if not state.waiting:  # said once, so a user who dropped a damaged file knows why it waits
                        state.waiting = True
                        self.log(f"{_stamp()} waiting  {_shown(path.name)}: its end has not landed yet (read as it "
                                 f"is after {self.incomplete_wait:g} s without a change)")
                    continue
                (ready_gone if current is None else ready_files).append(path)
                del self.pending[path]
        outcomes = []
        # pipes and links too: ingest says why they are not read; a folder that appeared gives its files
        files = [f for path in ready_files for f in (self._arrived_in(path) if _real_folder(path) else [path])]
        if files:
            outcomes += self._guarded(files[-1], lambda: self._ingest(files)) if len(files) == 1 else \
                self._ingest_each_on_error(files)
        # a folder put in the place of another of its name retires what it lacks; a folder gone, all it held
        for folder in filter(_real_folder, ready_files):
            outcomes += self._guarded(folder, lambda folder=folder: self._retire(folder))
        for path in ready_gone:
            outcomes += self._guarded(path, lambda path=path: [self._remove(path)] if self._known(path) else
                                      self._retire(path))
        return outcomes

    def _retire(self, folder: Path) -> list[FileOutcome]:
        outcomes = self.pipeline.retire_gone([folder])
        for o in outcomes:
            if o.status == "removed":
                self._log_event("deleted", o)
        return outcomes

    @staticmethod
    def _landing(path: Path) -> bool:
        """A zip or PDF whose end has not landed yet: read once it has, or once still for `incomplete_wait`."""
        return tells_whole(path) and not is_whole(path)

    def _arrived_in(self, folder: Path) -> list[Path]:
        """The files of a folder that appeared (renamed, moved or copied in: a rename brings no event for the files
        under it) that can be read now: complete by their format, or untouched for the settling time (a renamed
        folder's files, found as moved). A file still being copied in is queued to settle like any other."""
        files, unread = survey([folder], root=self.folder)
        now = time.time()
        ready = [u.path for u in unread]  # ingest records why each is not read
        for path in files:
            try:
                untouched = now - path.stat().st_mtime >= self.settle
            except OSError:
                untouched = True  # gone again: ingest says so
            if (untouched and not self._landing(path)) or is_whole(path):
                ready.append(path)
            else:
                self.notice(path)
        return ready

    def _ingest_each_on_error(self, files: list[Path]) -> list[FileOutcome]:
        """Several files in one batch (embedding is faster so); if the batch fails, each file on its own, so the
        error stays with the file that caused it."""
        try:
            outcomes = self._ingest(files)
        except Exception:
            return [o for path in files for o in self._guarded(path, lambda path=path: self._ingest([path]))]
        self.record_status("running", files[-1])
        return outcomes

    def _ingest(self, files: list[Path]) -> list[FileOutcome]:
        known = {p: self._known(p) for p in files}
        self.log(f"{_stamp()} reading {len(files)} file(s)")
        started = time.monotonic()
        # found in the watched folder, not named by the user: a link out of it is refused as the scan refuses it
        outcomes = self.pipeline.ingest(files, root=self.folder).outcomes
        for o in outcomes:
            o.seconds = (time.monotonic() - started) / len(outcomes)  # reading, embedding and storing
            if o.status == "unchanged" and o.error != "moved from an earlier path":
                continue
            action = {"unchanged": "moved", "removed": "deleted"}.get(o.status) or (
                "modified" if known.get(o.path) else "added")
            self._log_event(action, o)
        return outcomes

    def _remove(self, path: Path) -> FileOutcome:
        outcome = self.pipeline.remove(path)
        if outcome.status == "removed":
            self._log_event("deleted", outcome)
        return outcome

    def _known(self, path: Path) -> bool:
        return self.pipeline.documents.lookup(path) is not None

    def _ignored(self, path: Path) -> bool:
        # what the scan passes over, so a file deleted into a trash folder inside the watched one is a deletion
        return passed_over(path, self.folder) or self.pipeline._is_own_file(path)

    def _log_event(self, action: str, o: FileOutcome) -> None:
        detail = {
            "deleted": f"-{o.passages} passages",
            "moved": "path updated, evidence kept",
        }.get(action, f"+{o.passages} passages, {o.evidence} evidence links")
        status = f" [{o.status}: {o.error}]" if o.status in ("failed", "partial", "skipped") else ""
        self.log(f"{_stamp()} {action:8} {o.path.name}: {detail}{status} ({o.seconds:.1f} s)")


class BackgroundWatch:
    """A watcher run in a daemon thread beside the web server (`serve --watch`), with an error channel: an error
    that ends it is said through `log`, recorded for the front page, and kept in `error`, never lost with the
    thread. The watcher is built in its thread, since a SQLite connection belongs to the thread that opened it."""

    def __init__(self, build: Callable[[], Watcher], log: Callable[[str], None] = print):
        self.build, self.log = build, log
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name="watcher")

    def start(self) -> BackgroundWatch:
        self.thread.start()
        return self

    def stop(self, wait: float = 10.0) -> None:
        """Ask the watcher to stop and give it `wait` seconds to finish its file and say it has stopped (a daemon
        thread is killed with the process: the front page would go on saying "running")."""
        self.stop_event.set()
        self.thread.join(wait)

    def _run(self) -> None:
        watcher = None
        try:
            watcher = self.build()
            watcher.stop_event = self.stop_event
            watcher.run()
        except Exception as exc:
            self.error = exc
            error = f"{type(exc).__name__}: {exc}"
            self.log(f"{_stamp()} ERROR    the watcher stopped: {printable(error)}")
            if watcher is not None:
                watcher.record_status("stopped", error=error)


def _shown(path: Path) -> str:
    """A path as said on the console and the front page: control characters escaped."""
    return printable(str(path))


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _stamp() -> str:
    return dt.datetime.now().strftime("%H:%M:%S")


def _real_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()  # a link to a folder is refused by ingest, with its reason
