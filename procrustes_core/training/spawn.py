"""Starting spawned worker processes from any caller: a Streamlit page, a notebook, a test run.

A spawned process imports the parent's ``__main__`` file before it runs its target. In a Streamlit
app (and in tests that ran an app page first, since the page's module stays ``__main__``) that file
is the page script: each worker would draw a page and start workers of its own, and Python stops
it with "An attempt has been made to start a new process before the current process has finished
its bootstrapping phase". Every process this package spawns starts inside :func:`bare_main`.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import types
from collections.abc import Iterator

_MAIN_SWAP = threading.Lock()


@contextlib.contextmanager
def bare_main() -> Iterator[None]:
    """``__main__`` is an empty module while the block runs (one thread at a time): processes started
    inside it import nothing of the caller's script."""
    with _MAIN_SWAP:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main
            else:
                sys.modules.pop("__main__", None)
