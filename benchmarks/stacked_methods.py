"""Which methods train a request's seeds stacked and which fall back to one process per seed, measured:
every method of the catalogue on the default run's settings (small: 1,000 samples at ratio 10, width 8,
2 epochs),
asked of ``stackable`` and, where it stacks, trained on 3 seeds stacked and checked to give every seed
its own finished history; where it falls back, the reason ``procrustes methods`` prints.

    .venv/bin/python benchmarks/stacked_methods.py

Results: results/stacked_methods.md and stacked_methods.json.
"""

from __future__ import annotations

import sys
import time

from procrustes_core import TrainConfig
from procrustes_core.methods.catalogue import METHODS
from procrustes_core.training.stacked import StackedTrainer, stackable

from common import machine, save

SEEDS = [0, 1, 2]


def main() -> int:
    base = TrainConfig(n_samples=1000, ratio=10, width=8, epochs=2, batch_size=64, threads=1)
    rows, found = [], {}
    for name, method in METHODS.items():
        config = base.with_methods(name)
        if config.drw_epoch >= config.epochs:  # DRW's switch must fall inside the short run
            config = config.replace(drw_epoch=1)
        ok, why = stackable(config)
        entry = {"kind": method.kind, "stacked": ok, "reason": why}
        if ok:
            started = time.perf_counter()
            trainer = StackedTrainer(config, SEEDS)
            for _ in trainer.epochs():
                pass
            histories = [trainer.histories[s] for s in SEEDS]
            entry["trained"] = all(len(h.records) == config.epochs and not h.stopped for h in histories)
            entry["seconds"] = time.perf_counter() - started
        found[name] = entry
        how = (f"stacked ({'every seed finished' if entry.get('trained') else 'a seed did not finish'}, "
               f"{entry['seconds']:.1f} s)" if ok else "separate processes")
        rows.append(f"| {name} | {method.kind} | {how} | {why.removeprefix('not stackable: ') or '—'} |")
        print(rows[-1], flush=True)
    stacked = sum(e["stacked"] for e in found.values())
    markdown = "\n".join([
        "# Which methods stack", "",
        f"Every method of the catalogue on small default settings ({base.n_samples} samples, ratio {base.ratio:g}, "
        f"width {base.width}, "
        f"{base.epochs} epochs), {len(SEEDS)} seeds: where `stackable` accepts it, trained stacked and checked "
        "that every seed's history finished; else the reason, and its seeds train in separate processes "
        "(the same reasons `procrustes methods` prints). Regenerate: `.venv/bin/python "
        "benchmarks/stacked_methods.py`.", "",
        f"{stacked} of {len(found)} methods stack.", "",
        "| method | kind | seeds train | why not stacked |", "|---|---|---|---|", *rows, "",
        "Networks: mlp, cnn1d and cnn1d-s1 stack; cnn2d and resnet32 (image data) do not. Data whose seeds draw "
        "training sets of different sizes fall back when the request starts.", ""])
    save("stacked_methods", {"methods": found, "seeds": SEEDS, "config": base.to_dict(), "machine": machine()},
         markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
