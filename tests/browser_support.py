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
# Every Plotly chart of an app page, as a JavaScript expression: the page's own and those inside the
# app's live-chart frames (same origin)
ALL_PLOTS = ("[...document.querySelectorAll('.js-plotly-plot'), ...[...document.querySelectorAll('iframe')]"
             ".flatMap(f => { try { return [...f.contentDocument.querySelectorAll('.js-plotly-plot')]; }"
             " catch (e) { return []; } })]")
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
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "streamlit_app.py"),
               "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    with _serving(command, ROOT, {**os.environ, **(env or {})}, f"{url}/_stcore/health", "streamlit",
                  timeout, stop_s=10) as process:
        yield url, process


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


def process_tree(pid: int) -> list[int]:
    """A process and its children."""
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (from /proc; gone processes count 0)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def processes_named(word: str) -> list[int]:
    """The processes whose command line contains ``word`` (e.g. every Chromium process)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if word in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (from /proc)."""
    return memory_mb(pid)["rss"]


def memory_mb(pid: int) -> dict[str, float]:
    """A process and its children, in MB: ``rss`` (each process's resident pages, shared libraries counted
    once per process), ``pss`` (shared pages split between the processes sharing them) and ``private``
    (pages no other process shares: what one more such process costs)."""
    total = {"rss": 0, "pss": 0, "private": 0}
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                name, _, rest = line.partition(":")
                if name in ("Rss", "Pss"):
                    total[name.lower()] += int(rest.split()[0])
                elif name in ("Private_Clean", "Private_Dirty"):
                    total["private"] += int(rest.split()[0])
    return {k: v / 1024 for k, v in total.items()}


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
    url = f"http://127.0.0.1:{port}"
    with _serving(command, root, variables, f"{url}/api/status?token={token}", "jupyter lab", timeout, stop_s=15,
                  log_path=home / "lab.log"):
        yield url, token


@contextlib.contextmanager
def _serving(command: list[str], cwd: Path, env: dict[str, str], health: str, name: str, timeout: float,
             stop_s: float, log_path: Path | None = None) -> Iterator[subprocess.Popen]:
    """Start a server process, wait until ``health`` answers 200 (or fail with its exit code and the end of
    its log), yield the process, and stop it."""
    log = open(log_path or os.devnull, "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(health, timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None:
                tail = f": {log_path.read_text()[-2000:]}" if log_path is not None else ""
                raise RuntimeError(f"{name} exited with code {process.returncode}{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer on {health.split('?')[0]} within {timeout:.0f} s")
            time.sleep(0.3)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(stop_s)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
