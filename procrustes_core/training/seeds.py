"""Train settings on several seeds at once, each seed in its own worker process with one torch thread.

    histories = run_seeds(config, seeds=[0, 1, 2, 3, 4])                 # one RunHistory per seed
    both = run_seeds({"ERM": erm, "MFW": mfw}, seeds=range(5))           # {"ERM": [...], "MFW": [...]}

The same seeds mean the same data subsets, initial weights and batch orders, so two settings run on
the same seeds are paired (``analysis.seeds.compare_runs_paired``). Runs go through the training
service (``service.py``) on a local pool sized to the machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping

from ..analysis.history import RunHistory
from ..config import TrainConfig, check_seeds
from ..errors import ProcrustesError
from ..methods.posthoc import PostHoc
from .budget import Budget


def run_seeds(configs: TrainConfig | Mapping[str, TrainConfig], seeds: Iterable[int], workers: int | None = None,
              variants: dict[str, PostHoc] | None = None,
              progress: Callable[[int, int], None] | None = None) -> list[RunHistory] | dict[str, list[RunHistory]]:
    """Train every config on every seed; returns the histories in seed order (a dict for a mapping).

    A training that fails ends with its error in ``history.stopped`` (a diverged run keeps its epochs);
    one that could not start at all raises its one-line error."""
    from .service import TrainingService

    seed_list = check_seeds(seeds)
    named = dict(configs) if isinstance(configs, Mapping) else {"run": configs}
    total = len(named) * len(seed_list)
    service = TrainingService(workers=max(1, min(workers or os.cpu_count() or 1, total)),
                              budget=Budget(max_epochs=10_000, max_train_samples=10**9, max_generated_samples=500_000,
                                            max_parameters=10**10, max_seeds=64, max_steps=10**12,
                                            max_tflop=1e9),
                              threads_per_training=1)
    try:
        job = service.submit("run_seeds", list(named.items()), seeds=seed_list, variants=variants)
        while service.view(job).training:
            if progress is not None:
                view = service.view(job)
                progress(sum(t.status in ("finished", "stopped", "failed") for t in view.job.tasks), total)
            time.sleep(0.1)
        tasks = service.view(job).job.tasks
    finally:
        service.close()
    unstarted = [t for t in tasks if t.history is None]
    if unstarted:
        raise ProcrustesError(unstarted[0].error or "a training could not start")
    found = {name: [t.history for t in tasks if t.label == name] for name in named}
    return found if isinstance(configs, Mapping) else found["run"]
