"""Shared test set-up: a private dataset cache and few torch threads."""

from __future__ import annotations

import os
import tempfile

import pytest
import torch

# A fresh cache per test session, so tests never depend on files left by earlier runs.
os.environ.setdefault("PROCRUSTES_CACHE", tempfile.mkdtemp(prefix="procrustes-test-cache-"))
torch.set_num_threads(1)


@pytest.fixture
def tiny():
    """A small, fast config: MNIST-1D, step imbalance 10, a narrow CNN, two epochs, one thread."""
    from procrustes_core import TrainConfig

    return TrainConfig(n_samples=2000, ratio=10, width=8, epochs=2, batch_size=64, threads=1)


@pytest.fixture
def page_script_as_main(tmp_path, monkeypatch):
    """``__main__`` is a script that must never be imported again, as when a Streamlit page (or a test
    that ran one) is the running main module: a spawned worker that imported it would fail."""
    import sys
    import types

    script = tmp_path / "page.py"
    script.write_text("raise SystemExit('a worker re-ran the caller\\'s main script')\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    return script


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, driven by Playwright; the test is skipped without it, unless ``CI`` is set."""
    from browser_support import chromium, chromium_path

    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but Debian's Chromium is missing (/usr/bin/chromium): apt-get install chromium")
        pytest.skip("no Chromium at /usr/bin/chromium (apt-get install chromium); set CI to make this a failure")
    with chromium() as found:
        yield found
