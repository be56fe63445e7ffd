"""Wall time of every lesson notebook, executed end to end, at the full lesson size and at the test size.

    .venv/bin/python benchmarks/lesson_times.py                 # both sizes, every lesson
    .venv/bin/python benchmarks/lesson_times.py --size fast --lessons 01 04

Each notebook runs in a fresh kernel in its own folder (kernel start-up included), with
``PROCRUSTES_FAST=1`` for the test size. The machine's load average is saved with the times, because
a shared machine slows every lesson down. Results: ``results/lesson_times.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from common import machine, save

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
BUDGET_S = 60.0  # the full size should finish within a minute on 2 CPU cores


# Appended (in memory only) to every notebook: the CPU time its kernel used. With one torch thread,
# that is close to the wall time the lesson takes on an otherwise idle machine.
CPU_CELL = "import resource as _r, json as _j; _u = _r.getrusage(_r.RUSAGE_SELF); " \
           "print('CPU', _j.dumps(_u.ru_utime + _u.ru_stime))"


def execute(path: Path, fast: bool, keep: Path | None = None) -> tuple[float, float]:
    """Wall seconds to run one notebook in a fresh kernel, and the CPU seconds its kernel used."""
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
    cpu = float(text.split("CPU", 1)[1]) if "CPU" in text else float("nan")
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("full", "fast", "both"), default="both")
    parser.add_argument("--lessons", nargs="*", default=None, help="lesson numbers, e.g. 01 04 (default: all)")
    parser.add_argument("--name", default="lesson_times", help="name of the results files")
    parser.add_argument("--keep", type=Path, default=None, help="folder to save the executed notebooks in")
    args = parser.parse_args(argv)
    notebooks = sorted(LESSONS.glob("[0-9][0-9]_*.ipynb"))
    if args.lessons:
        notebooks = [p for p in notebooks if p.name[:2] in args.lessons]
    sizes = ["full", "fast"] if args.size == "both" else [args.size]
    rows = []
    for path in notebooks:
        for size in sizes:
            load_before = os.getloadavg()[0]
            seconds, cpu = execute(path, fast=size == "fast", keep=args.keep)
            rows.append({"lesson": path.stem, "size": size, "seconds": round(seconds, 1), "kernel_cpu": round(cpu, 1),
                         "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)})
            print(f"{path.stem:<32} {size:>4}: {seconds:6.1f} s wall, kernel CPU {cpu:6.1f} s (load average "
                  f"{load_before:.1f} → {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    lines = ["# Lesson wall times", "",
             f"Each notebook executed end to end in a fresh kernel (start-up included); full size should stay under "
             f"{BUDGET_S:.0f} s on 2 CPU cores. Kernel CPU: user + system seconds of the notebook's kernel "
             "(the lessons train on one torch thread, so this is close to the wall time on an idle machine; "
             "kernel start-up and the client are not in it). The load average (1 min) shows how busy the "
             "machine was.", "",
             "| lesson | size | wall s | kernel CPU s | load before | load after |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['lesson']} | {r['size']} | {r['seconds']:.1f} | {r['kernel_cpu']:.1f} | {r['load_before']:.1f} "
              f"| {r['load_after']:.1f} |" for r in rows]
    for size in sizes:
        total = sum(r["seconds"] for r in rows if r["size"] == size)
        lines.append(f"\nTotal wall time at {size} size: {total:.1f} s")
    save(args.name, {"machine": machine(), "cores": os.cpu_count(), "rows": rows}, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
