"""App server memory: resident memory (RSS) with one training session, and the increment per extra
concurrent training session, each session a separate browser context pressing Train.

    .venv/bin/python benchmarks/app_memory.py               # default config, 1 to 4 sessions
    .venv/bin/python benchmarks/app_memory.py --sessions 3

Needs Debian's Chromium (/usr/bin/chromium). RSS is the server process's (and its children's).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from browser_support import app_server, chromium, rss_mb  # noqa: E402

from common import machine, save  # noqa: E402

EPOCHS = 200  # long enough that every session is still training when memory is read


def start_session(browser, url: str):
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    page.goto(f"{url}/?epochs={EPOCHS}&seeds=1")
    main = page.get_by_test_id("stMainBlockContainer")
    main.get_by_role("button", name="Train", exact=True).wait_for(timeout=180_000)
    main.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function("""() => [...document.querySelectorAll('.js-plotly-plot')].some(
        gd => gd.data && gd.data.length >= 10 && (gd.data[0].x || []).length >= 2)""", timeout=300_000)
    return context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4, help="concurrent training sessions (default 4)")
    args = parser.parse_args(argv)
    env = {"PROCRUSTES_MAX_TRAININGS": str(max(args.sessions, 4)), "PROCRUSTES_MAX_EPOCHS": str(EPOCHS)}
    readings = []
    with app_server(env=env) as (url, process), chromium() as browser:
        idle = rss_mb(process.pid)
        contexts = []
        for n in range(1, args.sessions + 1):
            contexts.append(start_session(browser, url))
            readings.append(rss_mb(process.pid))
            print(f"{n} training session(s): server RSS {readings[-1]:.0f} MB", flush=True)
        for context in contexts:
            context.close()
    steps = [b - a for a, b in zip(readings, readings[1:])]
    per_extra = (readings[-1] - readings[0]) / (len(readings) - 1) if len(readings) > 1 else float("nan")
    data = {"idle_mb": idle, "rss_mb_by_sessions": readings, "increments_mb": steps,
            "per_extra_session_mb": per_extra, "epochs": EPOCHS, "machine": machine(),
            "load_average": os.getloadavg()[0]}
    rows = "\n".join(f"| {n} | {mb:.0f} MB |" for n, mb in enumerate(readings, start=1))
    markdown = (
        "# App server memory (real browser sessions, default config)\n\n"
        f"Server RSS after start-up, before any page is opened (torch not yet loaded): {idle:.0f} MB.\n\n"
        "| training sessions | server RSS |\n|---|---|\n" + rows + "\n\n"
        f"One training session: {readings[0]:.0f} MB (target ≤ 1500 MB); each extra concurrent session: "
        f"{per_extra:.0f} MB on average (target ≤ 150 MB).\n"
    )
    save("app_memory", data, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
