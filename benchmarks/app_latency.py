"""The app in a real browser, as a learner sees it: time from pressing Train to the first chart, chart
refreshes per second while training, blank-chart frames sampled every 100 ms, throughput against the
plain Trainer (as ``procrustes train``) on the same config in the same run, the sidebar's height
with Expert off, and a screenshot of every page at 1440×900 for the README.

    .venv/bin/python benchmarks/app_latency.py               # the app's default settings, 30 epochs, 1 seed
    .venv/bin/python benchmarks/app_latency.py --epochs 10

Needs Debian's Chromium (/usr/bin/chromium). Browser, server and training workers share the machine's
cores; the figures include that cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from browser_support import ALL_PLOTS, app_server, chromium, cpu_seconds, process_tree, processes_named  # noqa: E402

from procrustes_core import TrainConfig  # noqa: E402

from common import machine, save  # noqa: E402

ASSETS = HERE.parent / "assets"
LIVE = ("Training accuracy", "Test accuracy", "Feature-gradient", "Training loss", "Inside the epoch")
# Every 20 ms: a fingerprint of each live chart (its title and its data's sizes and last values), so
# that any redraw with new numbers counts as a refresh; and whether a chart drawn before is missing.
WATCH = """(titles) => {
  window.__refreshes = []; window.__blank = 0; window.__seen = new Set(); window.__samples = 0;
  const prints = () => {
    const found = {};
    for (const gd of ALL_PLOTS) {
      const title = String((gd.layout && gd.layout.title && (gd.layout.title.text || gd.layout.title)) || '')
        .replace(/<[^>]+>/g, '');
      const name = titles.find(t => title.startsWith(t));
      if (!name || !gd.data || !gd.data.length) continue;
      found[name] = title + '#' + gd.data.map(t => (t.x || []).length + ':' + String((t.y || []).slice(-1))).join('|');
    }
    return found;
  };
  let last = {};
  window.__watch = setInterval(() => {
    const now = prints();
    for (const [name, print] of Object.entries(now)) {
      if (last[name] !== print) window.__refreshes.push([performance.now(), name]);
      window.__seen.add(name);
    }
    last = now;
  }, 20);
  window.__blankWatch = setInterval(() => {
    const now = prints();
    window.__samples += 1;
    if ([...window.__seen].some(name => !(name in now))) window.__blank += 1;
  }, 100);
}""".replace("ALL_PLOTS", ALL_PLOTS)
TRAIN = """
import sys, time
import torch
from procrustes_core import TrainConfig, Trainer
config = TrainConfig.from_json(sys.argv[1])
torch.set_num_threads(1)
started = time.perf_counter()
trainer = Trainer(config)
for _ in trainer.epochs():
    pass
print(time.perf_counter() - started)
"""


def main_area(page):
    return page.get_by_test_id("stMainBlockContainer")


def fresh_server_press(browser, url: str) -> float:
    """The first learner on a server just started: press → the run's first chart (the workers may still
    be loading), on a one-epoch run whose end warms the server for the measured one."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{url}/?epochs=1&seeds=1")
    main_area(page).get_by_role("button", name="Train", exact=True).wait_for(timeout=120_000)
    pressed = time.perf_counter()
    main_area(page).get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function("() => " + ALL_PLOTS + """.some(gd =>
        String((gd.layout && gd.layout.title && (gd.layout.title.text || gd.layout.title)) || '')
          .includes('Training accuracy') && gd.data && gd.data.length)""", timeout=300_000)
    first = time.perf_counter() - pressed
    page.get_by_text("Results of the last epoch").wait_for(timeout=300_000)
    page.close()
    return first


def cpu_now(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the app server itself, its training workers and the browser."""
    workers = [p for p in process_tree(server_pid) if p != server_pid]
    return {"server": cpu_seconds([server_pid]), "workers": cpu_seconds(workers),
            "browser": cpu_seconds(processes_named("chromium"))}


def measure(browser, url: str, epochs: int, timeout: float, server_pid: int) -> dict:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{url}/?epochs={epochs}&seeds=1")
    main_area(page).get_by_role("button", name="Train", exact=True).wait_for(timeout=120_000)
    page.wait_for_timeout(1500)
    page.evaluate(WATCH, list(LIVE))
    cpu_before = cpu_now(server_pid)
    pressed = time.perf_counter()
    page.evaluate("() => { window.__pressed = performance.now(); }")
    main_area(page).get_by_role("button", name="Train", exact=True).click()
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline and not page.get_by_text("Results of the last epoch").count():
        page.wait_for_timeout(200)
    total = time.perf_counter() - pressed
    cpu = {k: v - cpu_before[k] for k, v in cpu_now(server_pid).items()}
    found = page.evaluate("() => ({pressed: window.__pressed, refreshes: window.__refreshes, blank: window.__blank,"
                          " samples: window.__samples})")
    times = [t for t, _ in found["refreshes"]]
    first = (times[0] - found["pressed"]) / 1000 if times else None
    span = (times[-1] - times[0]) / 1000 if len(times) > 1 else 0
    # refreshes of the page: redraws within 120 ms of the last one counted are the same update (the
    # charts of one update are drawn one after another)
    updates: list[float] = []
    for t in times:
        if not updates or t - updates[-1] > 120:
            updates.append(t)
    curves = [t for t, name in found["refreshes"] if name == "Training accuracy"]
    sidebar = page.evaluate("() => document.querySelector('[data-testid=stSidebarContent]').scrollHeight")
    draws: dict[str, dict] = {}  # each live chart's redraws and the browser time they took (the frames count it)
    for frame in page.frames:
        draws.update(frame.evaluate("() => window.drawTimes || {}"))
    page.wait_for_timeout(1000)
    ASSETS.mkdir(exist_ok=True)
    page.screenshot(path=str(ASSETS / "app_playground.png"))
    page.close()
    return {"first_chart_s": first, "refreshes_per_s": (len(updates) - 1) / span if span else None,
            "curve_refreshes_per_s": (len(curves) - 1) / span if span else None, "draws": draws,
            "chart_redraws": len(times), "blank_samples": found["blank"], "samples": found["samples"],
            "press_to_end_s": total, "sidebar_px": sidebar, "cpu_s": cpu}


def screenshots(browser, url: str) -> None:
    """The other pages, each after training what it trains, for the README."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{url}/?epochs=10&seeds=3")
    main_area(page).get_by_role("button", name="Train", exact=True).wait_for(timeout=120_000)
    page.get_by_role("link", name="Compare").click()
    main_area(page).get_by_role("button", name="Train A and B on the same seeds").click()
    page.get_by_text("The verdict, seed by seed").wait_for(timeout=600_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ASSETS / "app_compare.png"), full_page=True)
    page.get_by_role("link", name="Sweep").click()
    page.get_by_text("Saved grid").wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    page.screenshot(path=str(ASSETS / "app_sweep.png"))
    page.get_by_role("link", name="Decision boundary").click()
    main_area(page).get_by_role("button", name="Train both").click()
    page.get_by_text("Replay: epoch").wait_for(timeout=300_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ASSETS / "app_boundary.png"))
    page.close()


def trainer_seconds(config: TrainConfig, times: int = 3) -> float:
    """The same training alone, one thread, as ``procrustes train`` runs it: the median of ``times``."""
    found = []
    for _ in range(times):
        out = subprocess.run([sys.executable, "-c", TRAIN, config.to_json()], capture_output=True, text=True,
                             check=True, cwd=HERE.parent).stdout
        found.append(float(out.strip().splitlines()[-1]))
    return statistics.median(found)


def rows_of(result: dict, epochs: int) -> list[tuple[str, str, str]]:
    return [
        ("Train pressed → first chart drawn", f"{result['first_chart_s']:.2f} s", "≤ 2 s"),
        ("… the first press on a server just started (its workers loading)",
         f"{result['fresh_server_first_chart_s']:.2f} s", ""),
        ("page refreshes per second while training (redraws with new numbers)",
         f"{result['refreshes_per_s']:.1f}", "≥ 4"),
        ("… of which the epoch curves (new epochs drawn, per second)", f"{result['curve_refreshes_per_s']:.1f}", ""),
        ("blank-chart samples (every 100 ms, a chart drawn before missing)",
         f"{result['blank_samples']} of {result['samples']}", "0"),
        (f"press → results of epoch {epochs} shown", f"{result['press_to_end_s']:.1f} s", ""),
        ("throughput app / Trainer", f"{result['throughput']:.2f}×", "≥ 0.8×"),
        ("sidebar height, Expert off", f"{result['sidebar_px']} px", ""),
        *[(f"CPU from press to end: {name}", f"{seconds:.1f} s ({seconds / result['press_to_end_s']:.2f} cores)", "")
          for name, seconds in result["cpu_s"].items()],
        *[(f"browser time per redraw: {name}", f"{d['ms'] / d['draws']:.0f} ms ({d['draws']} redraws)", "")
          for name, d in result["draws"].items() if d["draws"]],
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--no-screenshots", action="store_true")
    args = parser.parse_args()
    config = TrainConfig(epochs=args.epochs, threads=1)
    load_before = os.getloadavg()[0]
    trainer_s = trainer_seconds(config)
    with app_server(env={"PROCRUSTES_MAX_TRAININGS": "2"}) as (url, process), chromium() as browser:
        fresh = fresh_server_press(browser, url)
        result = measure(browser, url, args.epochs, timeout=900, server_pid=process.pid)
        result["fresh_server_first_chart_s"] = fresh
        if not args.no_screenshots:
            screenshots(browser, url)
    result.update(trainer_s=trainer_s, throughput=trainer_s / result["press_to_end_s"], load_before=load_before,
                  load_after=os.getloadavg()[0], epochs=args.epochs, machine=machine())
    rows = rows_of(result, args.epochs)
    markdown = "\n".join([
        "# The app in a real browser", "",
        f"Default settings, {args.epochs} epochs, one seed; browser, server and two training workers on one "
        f"machine (2 cores, load average {load_before:.1f} before, {result['load_after']:.1f} after). The same "
        f"training alone, one thread (as `procrustes train`, median of 3): {trainer_s:.1f} s. Regenerate: "
        "`.venv/bin/python benchmarks/app_latency.py`.", "",
        "| measure | value | target |", "|---|---|---|", *[f"| {a} | {b} | {c} |" for a, b, c in rows], "",
        "A refresh is a moment the page shows new numbers (redraws within 120 ms of each other are one update): "
        "the four curves grow once per epoch, after its evaluation pass, and the in-epoch chart between them, "
        "from the step events. The CPU rows say where the machine's two cores went while the run trained: the "
        "training worker, the app server (page reruns, figures) and the browser (drawing the charts). In a class "
        "each learner's browser runs on the learner's own machine; here it shares the server's cores.", ""])
    save("app_latency", result, markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
