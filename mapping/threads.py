"""The mapping's matrix products on one BLAS thread.

A document's passages against the requirements are small products (hundreds by 384 by a few thousand), where
a second BLAS thread costs more in hand-over than it saves, and far more when the other core is busy: with the
encoder's threads just finished on it, with Datasette answering a page, or with another process. The encoder
keeps its own threads; only numpy's BLAS is limited, and only while the mapping runs (the library does not
change the thread settings of the process it is imported into).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)


@functools.cache
def _controller():
    from threadpoolctl import ThreadpoolController  # scikit-learn's own dependency, as well kept

    return ThreadpoolController()  # finds the loaded BLAS libraries once; limiting with it is then cheap


def one_blas_thread(function: F) -> F:
    """Run `function` with numpy's BLAS on one thread, restored afterwards."""

    @functools.wraps(function)
    def limited(*args, **kwargs):
        with _controller().limit(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return limited  # type: ignore[return-value]
