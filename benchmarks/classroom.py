"""A class on one server: simulated learners press Train at random moments; every one must get a chart
or a queue position quickly, no run may be lost, memory stays bounded, throughput matches the same
trainings run back to back, and nothing computes after the last run ends or is stopped.

    .venv/bin/python benchmarks/classroom.py                    # 30 learners, local worker processes
    .venv/bin/python benchmarks/classroom.py --ray              # the same on a local Ray cluster started as a
                                                                # real one is: `ray start --head`, then a worker
                                                                # node joining it

Each learner is a session of the real app (Streamlit's AppTest, in its own thread) with the app's
default settings and one seed; the service is the one the app uses. Results go to
results/classroom.md (and classroom_ray.md).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from browser_support import rss_mb  # noqa: E402

from common import machine, save  # noqa: E402

TRAIN = """
import sys, time
import torch
from procrustes_core import TrainConfig, Trainer
torch.set_num_threads(1)
config = TrainConfig.from_json(sys.argv[1])
started = time.perf_counter()
for _ in range(int(sys.argv[2])):
    trainer = Trainer(config.replace(seed=config.seed + _))
    for _record in trainer.epochs():
        pass
print(time.perf_counter() - started)
"""


def learner(index: int, query: dict, spread: float, out: dict, lock: threading.Lock) -> None:
    """One learner: open the page, wait a random moment, press Train, note when something answers,
    then keep the page open until the run ends."""
    from app_support import new_app

    rng = random.Random(index)
    time.sleep(rng.uniform(0, spread))
    try:
        at = new_app(query, timeout=120).run()
        pressed = time.perf_counter()
        at.button(key="train").click().run()
        answered = None
        while True:
            page = " ".join(str(e.value) for e in [*at.caption, *at.error])
            if answered is None and ("Queued: position" in page or "Training 1 training" in page
                                     or "Finished" in page or at.error):
                answered = time.perf_counter() - pressed
            if not at.session_state["_playground_was_training"] if "_playground_was_training" in at.session_state \
                    else False:
                break
            time.sleep(0.5)
            at.run()
        view = at.session_state.get("jobs", {}).get("playground")
        with lock:
            out[index] = {"answered_s": answered, "exception": bool(at.exception),
                          "errors": [e.value for e in at.error], "job": view,
                          "finished": "Finished: 1 training" in " ".join(str(c.value) for c in at.caption)}
    except Exception as err:  # noqa: BLE001 - a learner's failure is a result to report, not a crash
        with lock:
            out[index] = {"answered_s": None, "exception": True, "errors": [f"{type(err).__name__}: {err}"],
                          "finished": False}


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def start_ray_cluster(folder: Path) -> str:
    """``ray start --head`` (no CPUs: it only coordinates), then a worker node joining it with 2 CPUs."""
    ray = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    head = subprocess.run([ray, "start", "--head", "--num-cpus", "0", "--port", "6390", "--include-dashboard",
                           "false", "--temp-dir", str(folder)], capture_output=True, text=True, check=True)
    address = "127.0.0.1:6390"
    subprocess.run([ray, "start", "--address", address, "--num-cpus", "2"], capture_output=True, text=True,
                   check=True)
    return address if head.returncode == 0 else address


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds over which learners press Train")
    parser.add_argument("--epochs", type=int, default=None, help="override the default epochs (quick runs)")
    parser.add_argument("--ray", action="store_true")
    args = parser.parse_args()
    store = tempfile.mkdtemp(prefix="procrustes-class-")
    os.environ.update(PROCRUSTES_RUN_STORE=store, PROCRUSTES_MAX_TRAININGS="2")
    ray_folder = Path(tempfile.mkdtemp(prefix="procrustes-ray-"))
    if args.ray:
        os.environ["RAY_ADDRESS"] = start_ray_cluster(ray_folder)
    from procrustes_core import TrainConfig

    query = {"seeds": "1"} | ({"epochs": str(args.epochs)} if args.epochs else {})
    config = TrainConfig(**({"epochs": args.epochs} if args.epochs else {}), threads=1)
    # the trainings back to back, as the CLI would run them (a sample of 4, one thread)
    sample = 4
    back_to_back = float(subprocess.run([sys.executable, "-c", TRAIN, config.to_json(), str(sample)],
                                        capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()[-1])
    per_training = back_to_back / sample
    results: dict = {}
    lock = threading.Lock()
    threads = [threading.Thread(target=learner, args=(i, query, args.spread, results, lock), daemon=True)
               for i in range(args.learners)]
    started = time.perf_counter()
    peak, samples = 0.0, []
    for t in threads:
        t.start()
    from app.limits import read_limits
    from app.service import service

    while any(t.is_alive() for t in threads):
        time.sleep(1.0)
        try:
            pools = service(read_limits())._pool
            workers = [pools.pid(w) for w in range(2)] if hasattr(pools, "pid") else []
        except Exception:  # noqa: BLE001 - not started yet
            workers = []
        memory = rss_mb(os.getpid()) + sum(rss_mb(p) for p in workers if p)
        peak = max(peak, memory)
        samples.append(memory)
    wall = time.perf_counter() - started
    trainer = service(read_limits())
    time.sleep(2.0)
    pids = [trainer._pool.pid(w) for w in range(2)] if hasattr(trainer._pool, "pid") else []
    before = cpu_seconds(pids)
    time.sleep(3.0)
    idle_cpu = cpu_seconds(pids) - before
    answered = [r["answered_s"] for r in results.values() if r["answered_s"] is not None]
    finished = sum(r["finished"] for r in results.values())
    exceptions = sum(r["exception"] for r in results.values())
    busy = trainer.busy_workers()
    span = wall - min(args.spread, wall)  # learners keep arriving for `spread` seconds
    result = {"learners": args.learners, "backend": "ray" if args.ray else "local", "wall_s": wall,
              "per_training_cli_s": per_training, "answered_max_s": max(answered) if answered else None,
              "answered_median_s": sorted(answered)[len(answered) // 2] if answered else None,
              "answered": len(answered), "finished": finished, "exceptions": exceptions,
              "errors": sorted({e for r in results.values() for e in r["errors"]})[:5], "peak_mb": peak,
              "busy_workers_after": busy, "cpu_s_after_end": idle_cpu, "machine": machine(), "spread_s": args.spread}
    # throughput: trainings per second of the class, against one CLI process and against two in parallel
    result["throughput_vs_cli"] = (args.learners / wall) / (1 / per_training)
    result["throughput_vs_two_cli"] = result["throughput_vs_cli"] / 2
    trainer.close()
    if args.ray:
        subprocess.run([shutil.which("ray") or str(Path(sys.executable).with_name("ray")), "stop", "--force"],
                       capture_output=True)
    rows = [
        ("learners answered (a chart, a queue position, or a finished run)", f"{len(answered)} of {args.learners}",
         "all"),
        ("slowest answer after pressing Train", f"{result['answered_max_s']:.2f} s", "≤ 2 s"),
        ("median answer", f"{result['answered_median_s']:.2f} s", ""),
        ("runs finished (none lost)", f"{finished} of {args.learners}", "all"),
        ("exceptions on a page", str(exceptions), "0"),
        ("peak memory: server process and its training workers", f"{peak:.0f} MB", "bounded"),
        ("wall time, first press to the last run's end", f"{wall:.0f} s", ""),
        ("one training alone as `procrustes train` (1 thread, mean of 4 back to back)", f"{per_training:.1f} s", ""),
        ("throughput: the class's trainings per second / back-to-back CLI", f"{result['throughput_vs_cli']:.2f}×",
         "≥ 0.9×"),
        ("… / two CLI processes side by side (the machine's 2 cores)", f"{result['throughput_vs_two_cli']:.2f}×", ""),
        ("workers computing after the last run", f"{busy} (CPU {idle_cpu:.2f} s in 3 s)", "0"),
    ]
    name = "classroom_ray" if args.ray else "classroom"
    how = ("a local Ray cluster (`ray start --head --num-cpus 0`, then a worker node with 2 CPUs joining it)"
           if args.ray else "the local backend (2 worker processes)")
    markdown = "\n".join([
        f"# A class of {args.learners} on one server ({'Ray' if args.ray else 'local'})", "",
        f"{args.learners} sessions of the app (Streamlit AppTest, each in its own thread), pressing Train on the "
        f"default settings with one seed at random moments over {args.spread:.0f} s, on {how}. "
        f"Regenerate: `.venv/bin/python benchmarks/classroom.py{' --ray' if args.ray else ''}`."
        + (f" Note: {len(results) - finished} runs did not finish: {result['errors']}" if finished < len(results)
           else ""), "",
        "| measure | value | target |", "|---|---|---|", *[f"| {a} | {b} | {c} |" for a, b, c in rows], "",
        f"The class's trainings arrive over {args.spread:.0f} s; the wall time includes the last learner's "
        f"{span:.0f} s of training after the last press.", ""])
    save(name, result, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
