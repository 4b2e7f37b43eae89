"""Read many files in worker processes, so a parser that hangs or crashes costs one file, not the batch."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, TimeoutError, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from . import read_document
from .model import ReadResult
from .safety import MAX_FILE_BYTES

DEFAULT_TIMEOUT = 120.0
# what one reader worker may allocate beyond what it had when it started (a fork of a process holding the
# model): a workbook that declares a million rows or a PDF that inflates fails alone, the machine keeps its memory
MAX_READER_MEMORY = 2 << 30
READ_AHEAD = 16  # finished results held for the caller: parsing runs ahead of embedding by this much
_DONE = object()


def read_documents(paths: Iterable[Path], workers: int = 1, timeout: float = DEFAULT_TIMEOUT,
                   max_bytes: int = MAX_FILE_BYTES) -> Iterator[ReadResult]:
    """Yield one result per path, in completion order. workers=0 reads in this process (no time limit)."""
    if workers <= 0:
        for path in paths:
            yield read_document(path, max_bytes)
        return
    yield from _Pool(workers, timeout, max_bytes).run(iter(paths))


class _Pool:
    def __init__(self, workers: int, timeout: float, max_bytes: int):
        self.workers, self.timeout, self.max_bytes = workers, timeout, max_bytes
        # fork, not spawn: spawn re-imports the caller's __main__, which breaks unguarded scripts.
        # Workers only parse files and never touch torch, so forking a process that holds a model is safe.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.context = multiprocessing.get_context("fork")
        self.executor = self._new_executor()
        self.inflight: dict[Future, tuple[Path, float]] = {}
        self.pending_results: list[ReadResult] = []

    def _new_executor(self, workers: int | None = None) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers or self.workers, mp_context=self.context,
                                   initializer=_start_worker, initargs=(os.getpid(), MAX_READER_MEMORY))

    def _submit(self, path: Path) -> None:
        future = self.executor.submit(read_document, path, self.max_bytes)
        self.inflight[future] = (path, time.monotonic())

    def run(self, paths: Iterator[Path]) -> Iterator[ReadResult]:
        """Read in a manager thread that keeps the workers busy while the caller works on earlier results."""
        results: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
        stop = threading.Event()

        def manage():
            try:
                for result in self._loop(paths):
                    while not stop.is_set():
                        try:
                            results.put(result, timeout=0.2)
                            break
                        except queue.Full:
                            continue
            except BaseException as exc:  # handed to the caller's thread
                results.put(exc)
            finally:
                results.put(_DONE)
                # waiting is cheap here (work done or cancelled) and leaves no half-closed pipes for atexit
                self.executor.shutdown(wait=True, cancel_futures=True)

        manager = threading.Thread(target=manage, name="reader-manager", daemon=True)
        manager.start()
        try:
            while (item := results.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            manager.join(timeout=5)

    def _loop(self, paths: Iterator[Path]) -> Iterator[ReadResult]:
        exhausted = False
        while True:
            # exactly one file per worker in flight, so a time limit counts from when reading starts
            while not exhausted and len(self.inflight) < self.workers:
                path = next(paths, None)
                if path is None:
                    exhausted = True
                else:
                    self._submit(path)
            if not self.inflight:
                return
            oldest = min(start for _, start in self.inflight.values())
            done, _ = wait(list(self.inflight), timeout=max(0.05, oldest + self.timeout - time.monotonic()),
                           return_when=FIRST_COMPLETED)
            for future in done:
                if future in self.inflight:  # a broken pool may have settled it already
                    yield self._collect(future)
                while self.pending_results:
                    yield self.pending_results.pop(0)
            if not done:
                yield from self._expire()

    def _collect(self, future: Future) -> ReadResult:
        path, _ = self.inflight.pop(future)
        try:
            return future.result()
        except BrokenProcessPool:
            # every file in flight died with the pool; read each suspect alone to find the culprit
            suspects = [path] + [p for p, _ in self.inflight.values()]
            self.inflight.clear()
            self._restart()
            self.pending_results.extend(self._isolate(suspects))
            return self.pending_results.pop(0)
        except Exception as exc:
            return ReadResult(path=path, format=path.suffix.lstrip("."), status="failed",
                              error=f"unreadable file: {type(exc).__name__}: {exc}")

    def _isolate(self, suspects: list[Path]) -> list[ReadResult]:
        results = []
        for path in suspects:
            solo = self._new_executor(1)
            try:
                results.append(solo.submit(read_document, path, self.max_bytes).result(timeout=self.timeout))
            except BrokenProcessPool:
                results.append(ReadResult(path=path, format=path.suffix.lstrip("."), status="failed",
                                          error="the reader crashed on this file (worker process died)"))
            except TimeoutError:
                _kill(solo)
                results.append(ReadResult(path=path, format=path.suffix.lstrip("."), status="failed",
                                          error=f"timed out after {self.timeout:.0f} s: file too complex or malformed"))
            finally:
                solo.shutdown(wait=True, cancel_futures=True)
        return results

    def _expire(self) -> Iterator[ReadResult]:
        now = time.monotonic()
        expired = [f for f, (_, start) in self.inflight.items() if now - start >= self.timeout]
        for future in expired:
            path, _ = self.inflight.pop(future)
            yield ReadResult(path=path, format=path.suffix.lstrip("."), status="failed",
                             error=f"timed out after {self.timeout:.0f} s: file too complex or malformed")
        if expired:
            self._restart()

    def _restart(self) -> None:
        """Kill every worker (a hung parser cannot be interrupted) and resubmit the files still in flight."""
        _kill(self.executor)
        survivors = [p for p, _ in self.inflight.values()]
        self.inflight.clear()
        self.executor = self._new_executor()
        for path in survivors:
            self._submit(path)


PR_SET_PDEATHSIG = 1


def _start_worker(parent: int, max_memory: int) -> None:
    _die_with_parent(parent)
    limit_memory(max_memory)


def limit_memory(extra_bytes: int) -> None:
    """Cap this process's address space at what it uses now plus `extra_bytes`: past it an allocation fails
    (MemoryError, or the worker dies and the pool records the file), instead of the machine swapping."""
    try:
        import resource

        with open("/proc/self/status") as fh:
            size = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = size + extra_bytes
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, OSError, StopIteration, ValueError):
        pass  # not Linux: the per-file time limit still bounds the worker


def _die_with_parent(parent: int) -> None:
    """Worker initializer: a worker whose parent is killed (kill -9, out of memory) dies too, instead of parsing on
    as an orphan. Linux sends the signal when the thread that forked the worker ends, and the pool's workers are
    forked by the reader-manager thread, which shuts them down before it ends."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def _kill(executor: ProcessPoolExecutor) -> None:
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        process.kill()
    executor.shutdown(wait=True, cancel_futures=True)  # the processes are dead, so this returns at once
