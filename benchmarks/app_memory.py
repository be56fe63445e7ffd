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

from browser_support import ALL_PLOTS, app_server, chromium, memory_mb  # noqa: E402

from common import machine, save  # noqa: E402

EPOCHS = 200  # long enough that every session is still training when memory is read


def start_session(browser, url: str):
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    page.goto(f"{url}/?epochs={EPOCHS}&seeds=1")
    main = page.get_by_test_id("stMainBlockContainer")
    main.get_by_role("button", name="Train", exact=True).wait_for(timeout=180_000)
    main.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function("() => " + ALL_PLOTS + """.some(
        gd => gd.data && gd.data.length >= 10 && (gd.data[0].x || []).length >= 2)""", timeout=300_000)
    return context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4, help="concurrent training sessions (default 4)")
    args = parser.parse_args(argv)
    env = {"PROCRUSTES_MAX_TRAININGS": str(max(args.sessions, 4)), "PROCRUSTES_MAX_EPOCHS": str(EPOCHS)}
    readings = []
    with app_server(env=env) as (url, process), chromium() as browser:
        idle = memory_mb(process.pid)
        contexts = []
        for n in range(1, args.sessions + 1):
            contexts.append(start_session(browser, url))
            readings.append(memory_mb(process.pid))
            now = readings[-1]
            print(f"{n} training session(s): RSS {now['rss']:.0f} MB, private {now['private']:.0f} MB", flush=True)
        for context in contexts:
            context.close()

    def per_extra(kind: str) -> float:
        return (readings[-1][kind] - readings[0][kind]) / (len(readings) - 1) if len(readings) > 1 else float("nan")

    data = {"idle_mb": idle, "by_sessions_mb": readings, "per_extra_session_mb": {k: per_extra(k) for k in idle},
            "epochs": EPOCHS, "machine": machine(), "load_average": os.getloadavg()[0]}
    rows = "\n".join(f"| {n} | {m['rss']:.0f} MB | {m['pss']:.0f} MB | {m['private']:.0f} MB |"
                     for n, m in enumerate(readings, start=1))
    markdown = (
        "# App server memory (real browser sessions, default config)\n\n"
        "The server process and its children (the training workers: each concurrent training is one worker "
        "process, so that Stop ends its computation). RSS counts the shared libraries (torch's alone are about "
        "300 MB) once in every process; PSS splits them between the processes; private memory is what no other "
        "process shares — what one more training really adds. Regenerate: "
        "`.venv/bin/python benchmarks/app_memory.py`.\n\n"
        f"After start-up, before any page is opened (torch not yet loaded): RSS {idle['rss']:.0f} MB.\n\n"
        "| training sessions | RSS | PSS | private |\n|---|---|---|---|\n" + rows + "\n\n"
        f"One training session: RSS {readings[0]['rss']:.0f} MB, private {readings[0]['private']:.0f} MB "
        "(target ≤ 1500 MB). Each extra concurrent session: "
        f"RSS +{per_extra('rss'):.0f} MB, PSS +{per_extra('pss'):.0f} MB, private +{per_extra('private'):.0f} MB "
        "on average (target ≤ 150 MB). A training process cannot cost less than torch itself: importing it "
        "takes about 280 MB of private memory in a fresh process on this build (CUDA-enabled wheel). Several "
        "seeds of one session wait for a worker instead of adding one (see `seeds.md`).\n"
    )
    save("app_memory", data, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
