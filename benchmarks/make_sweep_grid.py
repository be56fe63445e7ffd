"""Regenerate assets/sweep_grid.json: the ratio × MFW-strength grid the app's Sweep page shows at once.

    .venv/bin/python benchmarks/make_sweep_grid.py            # the shipped grid
    .venv/bin/python benchmarks/make_sweep_grid.py --quick    # a 2 × 2 grid to try the script

Every point trains the story setting (``procrustes_core.presets.STORY``: the app's paper-story preset,
chosen by the fidelity study) at one imbalance ratio and strength, on three seeds, and is scored
with post-hoc logit adjustment (tau = 1) like the page's live grid; the page draws each cell as the
paired gain over strength 0. Histories are kept under ``benchmarks/results/sweep_grid_runs/`` so an
interrupted run resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from procrustes_core import TrainConfig
from procrustes_core.files import atomic_write_text
from procrustes_core.presets import STORY
from procrustes_core.sweep import run_sweep

ROOT = Path(__file__).resolve().parent.parent
BASE = TrainConfig(**STORY, threads=1, mixer="mfw", la_tau=1.0)  # strength 0 mixes nothing: the plain column
GRID = {"ratio": [1.0, 10.0, 50.0, 100.0, 200.0], "mfw_strength": [0.0, 0.5, 0.9], "seed": [0, 1, 2]}
QUICK_GRID = {"ratio": [10.0, 100.0], "mfw_strength": [0.0, 0.9], "seed": [0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 2 × 2 grid at 3 epochs, written to benchmarks/results/")
    args = parser.parse_args(argv)
    base, grid = BASE, GRID
    out = ROOT / "assets" / "sweep_grid.json"
    if args.quick:
        base, grid = BASE.replace(epochs=3), QUICK_GRID
        out = ROOT / "benchmarks" / "results" / "sweep_grid_quick.json"
    runs = ROOT / "benchmarks" / "results" / ("sweep_grid_quick_runs" if args.quick else "sweep_grid_runs")
    started = time.perf_counter()

    def progress(done: int, total: int, row: dict) -> None:
        if row:
            print(f"[{done}/{total}] ratio {row['ratio']:g} strength {row['mfw_strength']:g} "
                  f"tau {row.get('la_tau', 0):g} seed {row['seed']}: balanced {row['balanced_acc']:.3f}",
                  file=sys.stderr)

    frame = run_sweep(base, grid, out_dir=runs, backend="local", workers=2, progress=progress)
    payload = {
        "description": (f"MNIST-1D step imbalance, the story setting ({base.model}, {base.norm} norm, width "
                        f"{base.width}, {base.n_samples} samples, {base.epochs} epochs, MFW at {base.mfw_layer}"
                        f"{' with the partner detached' if base.mfw_detach else ''}, "
                        f"the {base.mfw_schedule} schedule until {base.mfw_until:g} of training), scored with logit "
                        "adjustment (tau = 1)."),
        "command": "python benchmarks/make_sweep_grid.py" + (" --quick" if args.quick else ""),
        "base": base.to_dict(),
        "grid": grid,
        "rows": json.loads(frame.to_json(orient="records")),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(payload, indent=1), "out")
    print(f"wrote {out.relative_to(ROOT)} ({len(frame)} runs, {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
