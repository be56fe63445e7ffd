"""Wall time of every lesson notebook, executed end to end, at the full lesson size and at the test size.

    .venv/bin/python benchmarks/lesson_times.py                 # both sizes, every lesson
    .venv/bin/python benchmarks/lesson_times.py --size fast --lessons 01 04
    .venv/bin/python benchmarks/lesson_times.py --size full --lessons 05 --save-results   # the saved results
    .venv/bin/python benchmarks/lesson_times.py --size full --ship        # the shipped outputs (make lesson-outputs)

Each notebook runs in a fresh kernel in its own folder (kernel start-up included), with
``PROCRUSTES_FAST=1`` for the test size. Lessons train several seeds in worker processes, two at a
time: the CPU columns add the kernel's own time and its finished child processes' (the workers), so
on an otherwise idle 2-core machine the wall time is about half their sum. The machine's load
average is saved with the times, because a shared machine slows every lesson down. Each lesson
should finish within ``BUDGET_S`` at full size on 2 cores. ``--save-results`` sets
``PROCRUSTES_SAVE_RESULTS=1``: lessons that offer a saved multi-seed result write it to
``lessons/saved/`` (their "load the saved result" box then finds it). ``--ship`` (full size) keeps each
executed notebook, outputs and all, as ``lessons/full_size/<lesson>.ipynb`` (readable without running;
under ``SHIPPED_MAX_BYTES``) and saves what the run measured for every graded prediction as the
instructor layer's expected ranges (``instructor/expected/``, ``instructor/expected_ranges.md``).
Results: ``results/lesson_times.json`` and ``.md``; a run of some lessons replaces their rows and keeps
the others'.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, machine, save

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
SHIPPED = LESSONS / "full_size"  # each lesson executed at full size, outputs kept
SHIPPED_MAX_BYTES = 1_000_000
BUDGET_S = 300.0  # each lesson should finish within 5 minutes at full size on 2 CPU cores


# Appended (in memory only) to every notebook: the CPU time its kernel used, and that of the kernel's
# finished child processes (the workers that train several seeds, two at a time; the pool that
# ``run_seeds`` keeps between calls is ended first, so its workers are counted).
CPU_CELL = "import sys as _y; _sd = _y.modules.get('procrustes_core.training.seeds'); _sd and _sd._close_all(); " \
           "import resource as _r, json as _j; _s = _r.getrusage(_r.RUSAGE_SELF); " \
           "_c = _r.getrusage(_r.RUSAGE_CHILDREN); " \
           "print('CPU', _j.dumps([_s.ru_utime + _s.ru_stime, _c.ru_utime + _c.ru_stime]))"


def execute(path: Path, fast: bool, keep: Path | None = None, ship: bool = False) -> tuple[float, float, float]:
    """Wall seconds to run one notebook in a fresh kernel, and the CPU seconds its kernel and its
    workers used. ``ship``: keep the executed notebook in ``lessons/full_size/`` and its predictions'
    measured values in the instructor layer."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(CPU_CELL))
    os.environ["PROCRUSTES_FAST"] = "1" if fast else "0"
    with tempfile.TemporaryDirectory(prefix="procrustes-lesson-") as scratch:
        records = Path(scratch) / "predictions.jsonl"
        os.environ["PROCRUSTES_RECORD_PREDICTIONS"] = str(records) if ship else ""
        started = time.perf_counter()
        NotebookClient(notebook, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        wall = time.perf_counter() - started
        measured = [json.loads(line) for line in records.read_text().splitlines()] if records.exists() else []
    if keep is not None:  # the executed notebook, to read the numbers a lesson printed
        keep.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, str(keep / f"{path.stem}-{'fast' if fast else 'full'}.ipynb"))
    text = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    kernel, workers = json.loads(text.split("CPU", 1)[1]) if "CPU" in text else (float("nan"), float("nan"))
    if ship:
        notebook.cells.pop()  # the CPU cell is the benchmark's, not the lesson's
        ship_outputs(path, notebook, measured, wall)
    return wall, kernel, workers


def ship_outputs(path: Path, notebook, measured: list[dict], wall: float) -> None:
    """Save an executed full-size lesson (outputs kept, under ``SHIPPED_MAX_BYTES``) and the expected
    range of each of its predictions."""
    import nbformat

    sys.path.insert(0, str(ROOT))
    from instructor.ranges import expected_from_records, save_expected
    from procrustes_core.files import atomic_write_bytes

    notebook.metadata.pop("widgets", None)  # the widgets' live state: meaningless without a kernel
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(
        f"*Saved full-size run, not run now: made by `make lesson-outputs` on {time.strftime('%Y-%m-%d')} in "
        f"{wall:.0f} s. Open `lessons/{path.name}` to run it yourself.*"))
    data = nbformat.writes(notebook).encode("utf-8")
    if len(data) > SHIPPED_MAX_BYTES:
        raise SystemExit(f"{path.stem}: the executed notebook is {len(data) / 1e6:.1f} MB, over the "
                         f"{SHIPPED_MAX_BYTES / 1e6:.0f} MB a shipped lesson may take")
    SHIPPED.mkdir(exist_ok=True)
    atomic_write_bytes(SHIPPED / path.name, data, "shipped lesson")
    save_expected(path.stem, expected_from_records(notebook, measured, f"lessons/full_size/{path.name}"))


def write(name: str, rows: list[dict]) -> None:
    """Save the times measured so far (after every lesson: a long run that stops keeps what it has)."""
    rows.sort(key=lambda r: (r["lesson"], r["size"] == "fast"))
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
    for size in ("full", "fast"):
        total = sum(r["seconds"] for r in rows if r["size"] == size)
        lines.append(f"\nTotal wall time at {size} size: {total:.1f} s")
    save(name, {"machine": machine(), "cores": os.cpu_count(), "rows": rows}, "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("full", "fast", "both"), default="both")
    parser.add_argument("--lessons", nargs="*", default=None, help="lesson numbers, e.g. 01 04 (default: all)")
    parser.add_argument("--name", default="lesson_times", help="name of the results files")
    parser.add_argument("--keep", type=Path, default=None, help="folder to save the executed notebooks in")
    parser.add_argument("--save-results", action="store_true",
                        help="let lessons save their multi-seed results to lessons/saved/ (PROCRUSTES_SAVE_RESULTS=1)")
    parser.add_argument("--ship", action="store_true",
                        help="keep each full-size run in lessons/full_size/ and its predictions' expected ranges in "
                             "instructor/expected/")
    args = parser.parse_args(argv)
    if args.save_results:
        os.environ["PROCRUSTES_SAVE_RESULTS"] = "1"
    notebooks = sorted(LESSONS.glob("[0-9][0-9]_*.ipynb"))
    if args.lessons:
        notebooks = [p for p in notebooks if p.name[:2] in args.lessons]
    sizes = ["full", "fast"] if args.size == "both" else [args.size]
    measured = {(p.stem, size) for p in notebooks for size in sizes}
    earlier = RESULTS / f"{args.name}.json"
    rows = [r for r in (json.loads(earlier.read_text())["rows"] if earlier.exists() else [])
            if (r["lesson"], r["size"]) not in measured]  # the lessons not run now keep their rows
    for path in notebooks:
        for size in sizes:
            load_before = os.getloadavg()[0]
            seconds, cpu, workers = execute(path, fast=size == "fast", keep=args.keep,
                                            ship=args.ship and size == "full")
            rows.append({"lesson": path.stem, "size": size, "seconds": round(seconds, 1), "kernel_cpu": round(cpu, 1),
                         "workers_cpu": round(workers, 1), "load_before": round(load_before, 2),
                         "load_after": round(os.getloadavg()[0], 2)})
            print(f"{path.stem:<32} {size:>4}: {seconds:6.1f} s wall, kernel CPU {cpu:6.1f} s, workers CPU "
                  f"{workers:6.1f} s (load average {load_before:.1f} → {os.getloadavg()[0]:.1f})", file=sys.stderr,
                  flush=True)
            write(args.name, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
