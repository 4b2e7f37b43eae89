"""The mapping's matrix products on one BLAS thread.

A document's passages against the requirements are small products (hundreds by 384 by a few thousand), where
a second BLAS thread costs more in hand-over than it saves, and far more when the other core is busy: with the
encoder's threads just finished on it, with Datasette answering a page, or with another process. The encoder
keeps its own threads; only numpy's BLAS is limited, and only while the mapping runs (the library does not
change the thread settings of the process it is imported into for longer than that).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController

F = TypeVar("F", bound=Callable)

# the limit is process-wide: mappings that overlap (the watcher's and a review's re-map, or one inside another)
# share one, set by the first to start and restored by the last to finish, so none restores another's setting
_lock = threading.Lock()
_running = 0
_limiter = None


@functools.cache
def blas_controller() -> ThreadpoolController:
    """The loaded BLAS libraries, found once (numpy's is loaded before anything maps); limiting with it is cheap."""
    from threadpoolctl import ThreadpoolController  # scikit-learn's own dependency, as well kept

    return ThreadpoolController().select(user_api="blas")


def one_blas_thread(function: F) -> F:
    """Run `function` with numpy's BLAS on one thread, restored when no mapping runs any more."""

    @functools.wraps(function)
    def limited(*args, **kwargs):
        global _running, _limiter
        with _lock:
            if _running == 0:
                _limiter = blas_controller().limit(limits=1)
            _running += 1
        try:
            return function(*args, **kwargs)
        finally:
            with _lock:
                _running -= 1
                if _running == 0:
                    _limiter.restore_original_limits()

    return limited  # type: ignore[return-value]
