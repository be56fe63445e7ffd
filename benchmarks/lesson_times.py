"""Wall time of every lesson notebook, executed end to end, at the full lesson size and at the test size.

    .venv/bin/python benchmarks/lesson_times.py                 # both sizes, every lesson
    .venv/bin/python benchmarks/lesson_times.py --size fast --lessons 01 04
    .venv/bin/python benchmarks/lesson_times.py --size full --lessons 05 --save-results   # the saved results

Each notebook runs in a fresh kernel in its own folder (kernel start-up included), with
``PROCRUSTES_FAST=1`` for the test size. Lessons train several seeds in worker processes, two at a
time: the CPU columns add the kernel's own time and its finished child processes' (the workers), so
on an otherwise idle 2-core machine the wall time is about half their sum. The machine's load
average is saved with the times, because a shared machine slows every lesson down. Each lesson
should finish within ``BUDGET_S`` at full size on 2 cores. ``--save-results`` sets
``PROCRUSTES_SAVE_RESULTS=1``: lessons that offer a saved multi-seed result write it to
``lessons/saved/`` (their "load the saved result" box then finds it). Results:
``results/lesson_times.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from common import machine, save

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
BUDGET_S = 300.0  # each lesson should finish within 5 minutes at full size on 2 CPU cores


# Appended (in memory only) to every notebook: the CPU time its kernel used, and that of the kernel's
# finished child processes (the workers that train several seeds, two at a time; the pool that
# ``run_seeds`` keeps between calls is ended first, so its workers are counted).
CPU_CELL = "import sys as _y; _sd = _y.modules.get('procrustes_core.training.seeds'); _sd and _sd._close_all(); " \
           "import resource as _r, json as _j; _s = _r.getrusage(_r.RUSAGE_SELF); " \
           "_c = _r.getrusage(_r.RUSAGE_CHILDREN); " \
           "print('CPU', _j.dumps([_s.ru_utime + _s.ru_stime, _c.ru_utime + _c.ru_stime]))"


def execute(path: Path, fast: bool, keep: Path | None = None) -> tuple[float, float, float]:
    """Wall seconds to run one notebook in a fresh kernel, and the CPU seconds its kernel and its
    workers used."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(CPU_CELL))
    os.environ["PROCRUSTES_FAST"] = "1" if fast else "0"
    started = time.perf_counter()
    NotebookClient(notebook, timeout=1800, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    wall = time.perf_counter() - started
    if keep is not None:  # the executed notebook, to read the numbers a lesson printed
        keep.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, str(keep / f"{path.stem}-{'fast' if fast else 'full'}.ipynb"))
    text = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    kernel, workers = json.loads(text.split("CPU", 1)[1]) if "CPU" in text else (float("nan"), float("nan"))
    return wall, kernel, workers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("full", "fast", "both"), default="both")
    parser.add_argument("--lessons", nargs="*", default=None, help="lesson numbers, e.g. 01 04 (default: all)")
    parser.add_argument("--name", default="lesson_times", help="name of the results files")
    parser.add_argument("--keep", type=Path, default=None, help="folder to save the executed notebooks in")
    parser.add_argument("--save-results", action="store_true",
                        help="let lessons save their multi-seed results to lessons/saved/ (PROCRUSTES_SAVE_RESULTS=1)")
    args = parser.parse_args(argv)
    if args.save_results:
        os.environ["PROCRUSTES_SAVE_RESULTS"] = "1"
    notebooks = sorted(LESSONS.glob("[0-9][0-9]_*.ipynb"))
    if args.lessons:
        notebooks = [p for p in notebooks if p.name[:2] in args.lessons]
    sizes = ["full", "fast"] if args.size == "both" else [args.size]
    rows = []
    for path in notebooks:
        for size in sizes:
            load_before = os.getloadavg()[0]
            seconds, cpu, workers = execute(path, fast=size == "fast", keep=args.keep)
            rows.append({"lesson": path.stem, "size": size, "seconds": round(seconds, 1), "kernel_cpu": round(cpu, 1),
                         "workers_cpu": round(workers, 1), "load_before": round(load_before, 2),
                         "load_after": round(os.getloadavg()[0], 2)})
            print(f"{path.stem:<32} {size:>4}: {seconds:6.1f} s wall, kernel CPU {cpu:6.1f} s, workers CPU "
                  f"{workers:6.1f} s (load average {load_before:.1f} → {os.getloadavg()[0]:.1f})", file=sys.stderr,
                  flush=True)
    lines = ["# Lesson wall times", "",
             f"Each notebook executed end to end in a fresh kernel (start-up included); full size should stay under "
             f"{BUDGET_S:.0f} s on 2 CPU cores. Kernel CPU: user + system seconds of the notebook's kernel; workers "
             "CPU: those of its finished child processes (several seeds train in worker processes, two at a time, "
             "one torch thread each), so on an idle 2-core machine the wall time is about half their sum. The load "
             "average (1 min) shows how busy the machine was.", "",
             "| lesson | size | wall s | kernel CPU s | workers CPU s | within budget | load before | load after |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['lesson']} | {r['size']} | {r['seconds']:.1f} | {r['kernel_cpu']:.1f} | {r['workers_cpu']:.1f} | "
              f"{'yes' if r['size'] == 'fast' or r['seconds'] <= BUDGET_S else 'NO'} | {r['load_before']:.1f} "
              f"| {r['load_after']:.1f} |" for r in rows]
    for size in sizes:
        total = sum(r["seconds"] for r in rows if r["size"] == size)
        lines.append(f"\nTotal wall time at {size} size: {total:.1f} s")
    save(args.name, {"machine": machine(), "cores": os.cpu_count(), "rows": rows}, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
