"""Several seeds at once on 2 cores: the wall time of 1, 2, 5 and 8 seeds of the Playground's default run
against one seed and against the floor the machine's FLOPs allow; a 5-seed paired Compare of the
default pair; the memory each seed's worker process takes. Measured in one run, on the training
service the app uses (one worker process per core, one torch thread each). Each seed count is timed
``--repeats`` times, the counts interleaved, and the median is reported: one timing of a 7 s run moves by
a second or more on a shared machine, which would move the ratios more than the design does.

    .venv/bin/python benchmarks/seeds.py
    .venv/bin/python benchmarks/seeds.py --epochs 5      # a quick look

Results: results/seeds.md and seeds.json; ``lessons/README.md`` quotes its one-run and five-seed figures.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from browser_support import rss_mb  # noqa: E402

from procrustes_core import TrainConfig  # noqa: E402
from procrustes_core.methods.posthoc import PostHoc  # noqa: E402
from procrustes_core.presets import STORY  # noqa: E402
from procrustes_core.training.budget import Budget  # noqa: E402
from procrustes_core.training.service import TrainingService  # noqa: E402

from common import machine, save  # noqa: E402

WORKERS = 2


def timed(service: TrainingService, runs, seeds, variants=None) -> float:
    started = time.perf_counter()
    job = service.submit("bench", runs, seeds=seeds, variants=variants)
    while service.view(job).training:
        time.sleep(0.05)
    failed = [t.error for t in service.view(job).job.tasks if t.status != "finished"]
    if failed:
        raise RuntimeError(f"a training failed: {failed[0]}")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    config = TrainConfig(**({"epochs": args.epochs} if args.epochs else {}))
    story = TrainConfig(**{**STORY, **({"epochs": args.epochs} if args.epochs else {})})
    service = TrainingService(workers=WORKERS, budget=Budget(max_seeds=8, max_tflop=1e6, max_steps=10**9))
    try:
        timed(service, [("warm", config.replace(epochs=1))], [0, 1])  # workers started, data generated
        every = {n: [] for n in (1, 2, 5, 8)}
        for _ in range(args.repeats):
            for n in every:
                every[n].append(timed(service, [("default", config)], list(range(n))))
        times = {n: statistics.median(ts) for n, ts in every.items()}
        worker_mb = [rss_mb(service._pool.pid(w)) for w in range(WORKERS)]
        pair = timed(service, [("ERM", story.replace(mixer="none")), ("MFW", story.replace(mixer="mfw"))],
                     list(range(5)), {"LA": PostHoc(la_tau=1.0)})
        one_story = timed(service, [("ERM", story.replace(mixer="none"))], [0])
    finally:
        service.close()
    server_mb = rss_mb(os.getpid())
    floor = {n: max(1.0, math.ceil(n / WORKERS) if n > 1 else 1.0) for n in times}
    result = {"seconds": times, "every_timing": every, "ratio": {n: t / times[1] for n, t in times.items()},
              "floor_ratio": {n: n / WORKERS if n > 1 else 1.0 for n in times}, "rounds": floor,
              "worker_mb": worker_mb, "server_mb": server_mb, "paired_compare_s": pair, "story_one_run_s": one_story,
              "config": config.to_dict(), "story": story.to_dict(), "machine": machine()}
    rows = [f"| {n} | {t:.1f} s ({', '.join(f'{x:.1f}' for x in every[n])}) | {t / times[1]:.2f}× | "
            f"{n / WORKERS if n > 1 else 1:.1f}× | {floor[n]:.0f}× |" for n, t in times.items()]
    markdown = "\n".join([
        "# Several seeds at once", "",
        f"The Playground's default run ({config.dataset} {config.profile}-{config.ratio:g}, {config.epochs} epochs, "
        f"{config.n_samples} samples, model {config.model}) on {WORKERS} worker processes with one torch thread "
        "each, on this 2-core machine. Regenerate: `.venv/bin/python benchmarks/seeds.py`.", "",
        f"| seeds | wall time, median of {args.repeats} (each) | × one seed | FLOP floor (the seeds' work over 2 "
        "cores) | rounds floor (whole seeds per worker) |",
        "|---|---|---|---|---|", *rows, "",
        f"Target: 5 seeds ≤ 3.5× one seed — measured {times[5] / times[1]:.2f}×. A request's seeds go to the "
        "service as the app sends them: they train stacked in one network where the settings allow "
        "(`training/stacked.py`; `procrustes methods` lists what falls back to one seed at a time), so the "
        "floors above, which assume one seed per worker at a time, are not bounds for a stack.",
        "",
        f"A 5-seed paired Compare of the default pair (ERM vs MFW, each also scored with LA, at the story setting: "
        f"{story.model}, width {story.width}, {story.n_samples} samples, {story.epochs} epochs): **{pair:.0f} s** "
        f"for 10 trainings (one such training alone: {one_story:.1f} s).", "",
        f"Memory: each worker process {', '.join(f'{m:.0f} MB' for m in worker_mb)}; the "
        f"process holding the service {server_mb:.0f} MB, after the runs above (a stack of seeds grows its "
        "worker's memory with the seeds: `benchmarks/results/stacked_seeds.md`).", ""])
    save("seeds", result, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
