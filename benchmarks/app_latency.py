"""App responsiveness in a real browser: time from pressing Train to the first chart update, chart
refreshes per second while training, and training throughput against the plain Trainer (the CLI's
loop) on the same config, measured in one run.

    .venv/bin/python benchmarks/app_latency.py            # default config (30 epochs)
    .venv/bin/python benchmarks/app_latency.py --epochs 10

Needs Debian's Chromium (/usr/bin/chromium). The browser runs on the same machine as the server,
so its drawing competes with training for the cores; the figures include that cost.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from browser_support import app_server, chromium  # noqa: E402

from procrustes_core import TrainConfig  # noqa: E402

from common import machine, save  # noqa: E402

# Records (time, points) whenever the training-accuracy chart gains points, polling every 20 ms.
WATCH = """() => {
  window.__updates = [];
  const find = () => [...document.querySelectorAll('.js-plotly-plot')].find(gd =>
      String((gd.layout && gd.layout.title && (gd.layout.title.text || gd.layout.title)) || '')
        .replace(/<[^>]+>/g, '').startsWith('Training accuracy'));
  let last = -1;
  window.__watch = setInterval(() => {
    const gd = find();
    const points = gd && gd.data && gd.data.length ? (gd.data[0].x || []).length : 0;
    if (gd && points !== last) { window.__updates.push([performance.now(), points]); last = points; }
  }, 20);
}"""
PRESS = """() => {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  const button = [...main.querySelectorAll('button')].find(b => b.innerText.trim() === 'Train');
  window.__pressed = performance.now();
  button.click();
}"""


TRAIN = """
import sys, time
from procrustes_core import TrainConfig, Trainer
config = TrainConfig.from_json(sys.argv[1])
started = time.perf_counter()
trainer = Trainer(config)
for _ in trainer.epochs():
    pass
print(time.perf_counter() - started)
"""


def trainer_seconds(config: TrainConfig) -> float:
    """Wall time of the plain training loop (data, model, every epoch) as `procrustes train` runs it, in a
    fresh process with the app server's environment (idle torch threads sleep, as the app sets)."""
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    done = subprocess.run([sys.executable, "-c", TRAIN, config.to_json()], capture_output=True, text=True,
                          env=env, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def app_run(epochs: int | None) -> dict:
    query = f"/?epochs={epochs}" if epochs else "/"
    with app_server() as (url, _process), chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(url + query)
        main = page.get_by_test_id("stMainBlockContainer")
        main.get_by_role("button", name="Train", exact=True).wait_for(timeout=120_000)
        page.wait_for_timeout(1500)
        page.evaluate(WATCH)
        page.evaluate(PRESS)
        page.get_by_text("Results of the last epoch").wait_for(timeout=900_000)
        pressed = page.evaluate("() => window.__pressed")
        updates = page.evaluate("() => window.__updates")
        # the status line ends with the Trainer's own time for the epochs (training and evaluation)
        status = page.evaluate("""() => [...document.querySelectorAll('.stMarkdown')].map(e => e.innerText)
            .find(t => /epoch \\d+\\/\\d+ ·/.test(t)) || ''""")
    updates = [(t, n) for t, n in updates if n > 0 and t > pressed]
    first_t, first_n = updates[0]
    last_t, last_n = updates[-1]
    span = (last_t - first_t) / 1000
    found = re.search(r"· ([0-9.]+) s$", status.strip())
    return {
        "trainer_seconds_in_app": float(found.group(1)) if found else float("nan"),
        "first_update_s": (first_t - pressed) / 1000,
        "chart_updates": len(updates),
        "refreshes_per_s": (len(updates) - 1) / span if span > 0 else float("nan"),
        "epochs": last_n,
        "app_seconds": (last_t - pressed) / 1000,  # press to the last epoch drawn
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: the config's 30)")
    args = parser.parse_args(argv)
    config = TrainConfig() if args.epochs is None else TrainConfig(epochs=args.epochs)
    load_before = os.getloadavg()[0]
    app = app_run(args.epochs)
    cli_seconds = trainer_seconds(config)
    load_after = os.getloadavg()[0]
    app_rate = app["epochs"] / app["app_seconds"]
    cli_rate = config.epochs / cli_seconds
    data = {"config": config.to_dict(), **app, "trainer_seconds": cli_seconds, "app_epochs_per_s": app_rate,
            "trainer_epochs_per_s": cli_rate, "throughput_ratio_separate_runs": app_rate / cli_rate,
            "throughput_ratio_same_run": app["trainer_seconds_in_app"] / app["app_seconds"],
            "load_average": [load_before, load_after], "machine": machine()}
    markdown = (
        "# App responsiveness (real browser)\n\n"
        f"Default config except epochs={config.epochs}: {config.dataset}, {config.profile} {config.ratio:g}, "
        f"model {config.model}, width {config.width}. Browser and server on the same machine "
        f"({os.cpu_count()} cores, load average {load_before:.1f} before / {load_after:.1f} after).\n\n"
        "| measure | value | target |\n|---|---|---|\n"
        f"| Train pressed → first chart update | {app['first_update_s']:.2f} s | ≤ 2 s |\n"
        f"| chart refreshes per second while training | {app['refreshes_per_s']:.2f} | ≥ 2 |\n"
        f"| app: {app['epochs']} epochs, press → last epoch drawn | {app['app_seconds']:.1f} s | |\n"
        f"| of which the Trainer's own epochs (training + evaluation) | {app['trainer_seconds_in_app']:.1f} s | |\n"
        f"| throughput app / Trainer, same run (Trainer time / app time) | "
        f"{app['trainer_seconds_in_app'] / app['app_seconds']:.2f}× | ≥ 0.8× |\n"
        f"| Trainer loop alone (as `procrustes train`), same config, right after | {cli_seconds:.1f} s | |\n"
        f"| throughput app / Trainer, separate runs (load may differ) | {app_rate / cli_rate:.2f}× | |\n"
    )
    save("app_latency", data, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
