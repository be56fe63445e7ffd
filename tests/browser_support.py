"""A real app server, a real JupyterLab, and Debian's Chromium for browser tests and app benchmarks.

    with app_server(env={...}) as url, chromium() as browser:
        page = browser.new_page(); page.goto(url)

Chromium is the system one (``apt-get install chromium``), never a Playwright download.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("PROCRUSTES_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def app_server(env: dict[str, str] | None = None, timeout: float = 90) -> Iterator[tuple[str, subprocess.Popen]]:
    """``streamlit run`` on a free port (headless, no file watcher); yields (url, process)."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "streamlit_app.py"),
               "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    log = open(os.devnull, "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not answer on {url} within {timeout:.0f} s")
            time.sleep(0.3)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextlib.contextmanager
def chromium():
    """A headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise RuntimeError(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (from /proc)."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    for p in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


@contextlib.contextmanager
def lab_server(root: Path, env: dict[str, str] | None = None, timeout: float = 120) -> Iterator[tuple[str, str]]:
    """JupyterLab on a free port with a token, serving ``root``; yields (base url, token). Its settings and
    workspaces live in a temporary folder: notebooks show every cell (no windowing), no news is fetched,
    and ``window.jupyterapp`` is exposed so a test can run commands."""
    import json
    import secrets
    import tempfile

    port, token = free_port(), secrets.token_hex(16)
    home = Path(tempfile.mkdtemp(prefix="procrustes-lab-"))
    settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    announcements = home / "settings" / "@jupyterlab" / "apputils-extension"
    announcements.mkdir(parents=True)
    (announcements / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                                 "checkForUpdates": False}))
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
               "--LabApp.expose_app_in_browser=True", "--ServerApp.open_browser=False",
               "--LabApp.extension_manager=readonly", "--ServerApp.allow_root=True"]
    variables = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
                 "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
                 **(env or {})}
    log = open(home / "lab.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=root, env=variables, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with code {process.returncode}: "
                                   f"{(home / 'lab.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab did not answer on {url} within {timeout:.0f} s")
            time.sleep(0.3)
        yield url, token
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
