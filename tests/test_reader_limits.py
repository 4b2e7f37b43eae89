"""Bounded resources per file: a reader worker's memory is capped, so one file cannot take the machine's."""

from __future__ import annotations

import multiprocessing
import sys

import pytest

from ingest.batch import MAX_READER_MEMORY, limit_memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the cap uses Linux's rlimits")


def _allocate_past_the_cap(result) -> None:
    limit_memory(64 << 20)
    try:
        block = bytearray(512 << 20)  # eight times what the cap allows
        result.value = 2 if len(block) else 3
    except MemoryError:
        result.value = 1


def test_a_capped_worker_cannot_allocate_past_its_cap():
    ctx = multiprocessing.get_context("fork")
    result = ctx.Value("i", 0)
    child = ctx.Process(target=_allocate_past_the_cap, args=(result,))
    child.start()
    child.join(60)
    assert result.value == 1, "the allocation should have failed with MemoryError"


def test_the_reader_pool_caps_each_worker():
    import resource

    from ingest.batch import _Pool

    pool = _Pool(1, 30.0, 1 << 20)
    try:
        soft, _ = pool.executor.submit(resource.getrlimit, resource.RLIMIT_AS).result(timeout=60)
    finally:
        pool.executor.shutdown(wait=True)
    assert soft != resource.RLIM_INFINITY and soft >= MAX_READER_MEMORY
