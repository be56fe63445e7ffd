"""The same 12-point grid on a local pool of 1 and 2 workers and on Ray with 2 CPUs: wall time,
speed-ups and Ray's overhead per task, measured in one run.

Run: .venv/bin/python benchmarks/sweep_scaling.py   (Ray from the optional extra: pip install -e '.[cluster]')
"""

from __future__ import annotations

import time

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.data import load_pool
from procrustes_core.sweep import run_sweep

from common import machine, save

BASE = TrainConfig(n_samples=10_000, width=64, epochs=8, threads=1, mixer="mfw")
GRID = {"ratio": [10.0, 100.0], "mfw_strength": [0.0, 0.5, 0.9], "seed": [0, 1]}  # 12 points


def timed(**kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    frame = run_sweep(BASE, GRID, **kwargs)
    return time.perf_counter() - started, frame


def main() -> None:
    load_pool("mnist1d", BASE.n_samples)  # generated once, outside the timings
    rows = {}
    one, reference = timed(backend="local", workers=1)
    rows["local, 1 worker"] = one
    rows["local, 2 workers"], two_frame = timed(backend="local", workers=2)
    ray_note = ""
    try:
        import ray  # noqa: F401

        rows["ray, 2 CPUs"], ray_frame = timed(backend="ray", workers=2)
    except ImportError:
        ray_note = "Ray is not installed (pip install -e '.[cluster]'): not measured."
    except ProcrustesError as err:
        ray_note = f"Ray could not run here: {err}"
    task_seconds = float(reference["seconds"].sum())  # training time inside the runs themselves
    columns = ["ratio", "mfw_strength", "seed", "balanced_acc"]
    same = reference[columns].equals(two_frame[columns])
    if "ray, 2 CPUs" in rows:
        same = same and reference[columns].equals(ray_frame[columns])
    lines = ["# Sweep scaling: 12 grid points", "",
             f"Grid {GRID}, base: MNIST-1D {BASE.n_samples} samples, width {BASE.width}, {BASE.epochs} epochs, "
             "1 torch thread per run.", "",
             "| backend | wall seconds | speed-up vs 1 worker |", "|---|---|---|"]
    for name, seconds in rows.items():
        lines.append(f"| {name} | {seconds:.1f} | {one / seconds:.2f}× |")
    lines += ["", f"Sum of the runs' own training time (1 worker): {task_seconds:.1f} s; "
                  f"pool overhead with 1 worker: {(one - task_seconds) / 12:.2f} s per point."]
    if "ray, 2 CPUs" in rows:
        ideal = rows["local, 2 workers"]
        lines.append(f"Ray overhead against the 2-worker pool: {(rows['ray, 2 CPUs'] - ideal) / 12:+.2f} s per task "
                     "(includes starting a local Ray).")
    if ray_note:
        lines.append(ray_note)
    lines += [f"Same results on every backend: {'yes' if same else 'NO'}.", "",
              "Reproduce: `.venv/bin/python benchmarks/sweep_scaling.py`"]
    save("sweep_scaling", {"seconds": rows, "task_seconds": task_seconds, "same_results": bool(same),
                           "note": ray_note, "machine": machine()}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
