"""A class on one server: simulated learners press Train at random moments; every one must get a chart
or a queue position quickly, no run may be lost, memory stays bounded, throughput matches the same
trainings run back to back, and nothing computes after the last run ends or is stopped.

    .venv/bin/python benchmarks/classroom.py                    # 30 learners, local worker processes
    .venv/bin/python benchmarks/classroom.py --ray              # the same on a local Ray cluster started as a
                                                                # real one is: `ray start --head`, then a worker
                                                                # node joining it

Each learner is a session of the real app (Streamlit's AppTest, in its own thread) with the app's
default settings on ``--seeds`` seeds (default 1); the service is the one the app uses. With several
seeds a run's seeds train stacked in one request (``--separate``: one process per seed, as before
stacking, ``PROCRUSTES_STACKED_SEEDS=0``). Results go to results/classroom.md (classroom_ray.md; with
``--seeds N``: classroom_seedsN.md, classroom_seedsN_separate.md).
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

from browser_support import cpu_seconds, rss_mb  # noqa: E402

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


POLL_SECONDS = 1.0  # each learner's page runs again once a second (a browser's fragment: 0.25 to 2 s)
# AppTest sets up and tears down one process-wide runtime around every page run, so two runs cannot
# overlap: they take turns, as a real server's script threads take turns on one interpreter's lock.
PAGE_TURN = threading.Lock()


def page_run(at, click: str | None = None):
    with PAGE_TURN:
        return at.button(key=click).click().run() if click else at.run()


def status_of(at) -> str:
    """The page's status line (queued / training / finished ...), or ''."""
    for caption in at.caption:
        text = str(caption.value)
        if text.startswith(("Queued:", "Training ", "Finished:", "Stopped:", "Ended with an error:")):
            return text
    return ""


def learner(index: int, query: dict, start: float, spread: float, out: dict, lock: threading.Lock) -> None:
    """One learner: open the page, press Train at a random moment, note when the page answers (a queue
    position or a training under way), then keep the page open, refreshing, until the run ends."""
    from app_support import new_app

    rng = random.Random(index)
    try:
        at = new_app(query, timeout=120)
        at.session_state["_owner"] = f"learner-{index}"  # AppTest gives every session the same id
        page_run(at)
        time.sleep(max(0.0, start + rng.uniform(0, spread) - time.perf_counter()))
        pressed = time.perf_counter()
        page_run(at, click="train")
        answered = time.perf_counter() - pressed if status_of(at) or at.error else None
        first_chart = None
        while status_of(at).startswith(("Queued:", "Training ")):
            time.sleep(POLL_SECONDS)
            page_run(at)
            if answered is None and (status_of(at) or at.error):
                answered = time.perf_counter() - pressed
            if first_chart is None and at.get("plotly_chart"):
                first_chart = time.perf_counter() - pressed
        with lock:
            out[index] = {"answered_s": answered, "first_chart_s": first_chart, "exception": bool(at.exception),
                          "finished_s": time.perf_counter() - pressed,
                          "errors": [str(e.value) for e in at.error], "status": status_of(at),
                          "finished": status_of(at).startswith("Finished:"), "ended": time.perf_counter()}
    except Exception as err:  # noqa: BLE001 - a learner's failure is a result to report, not a crash
        with lock:
            out[index] = {"answered_s": None, "first_chart_s": None, "exception": True, "finished_s": None,
                          "errors": [f"{type(err).__name__}: {err}"], "status": "", "finished": False,
                          "ended": time.perf_counter()}


def seconds(value: float | None) -> str:
    return "none" if value is None else f"{value:.2f} s"


def ray_worker_pids() -> list[int]:
    """The processes of Ray's workers and actors on this machine."""
    found = []
    for folder in Path("/proc").iterdir():
        if folder.name.isdigit():
            try:
                if (folder / "cmdline").read_bytes().startswith(b"ray::"):
                    found.append(int(folder.name))
            except OSError:
                pass
    return found


def start_ray_cluster(folder: Path) -> str:
    """``ray start --head`` (no CPUs: it only coordinates), then a worker node joining it with 2 CPUs.

    Where this machine has a Ray token (``~/.ray/auth_token`` or ``RAY_AUTH_TOKEN``), the head requires it:
    the node joining, the app's driver and ``ray stop`` are told to send it (``RAY_AUTH_MODE=token``)."""
    ray = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    if os.environ.get("RAY_AUTH_TOKEN") or (Path.home() / ".ray" / "auth_token").exists():
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    address = "127.0.0.1:6390"
    try:
        subprocess.run([ray, "start", "--head", "--num-cpus", "0", "--port", "6390", "--include-dashboard",
                        "false", "--temp-dir", str(folder)], capture_output=True, text=True, check=True)
        subprocess.run([ray, "start", "--address", address, "--num-cpus", "2"], capture_output=True, text=True,
                       check=True)
    except subprocess.CalledProcessError as err:
        subprocess.run([ray, "stop", "--force"], capture_output=True)
        raise SystemExit(f"the Ray cluster did not start: {' '.join(err.cmd[1:3])} said "
                         f"{(err.stderr or err.stdout).strip().splitlines()[-1]}") from None
    return address


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds over which learners press Train")
    parser.add_argument("--epochs", type=int, default=None, help="override the default epochs (quick runs)")
    parser.add_argument("--ray", action="store_true")
    parser.add_argument("--seeds", type=int, default=1, help="seeds of each learner's run")
    parser.add_argument("--separate", action="store_true", help="one process per seed (stacking off)")
    args = parser.parse_args()
    if args.separate:
        os.environ["PROCRUSTES_STACKED_SEEDS"] = "0"
    store = tempfile.mkdtemp(prefix="procrustes-class-")
    os.environ.update(PROCRUSTES_RUN_STORE=store, PROCRUSTES_MAX_TRAININGS="2")
    ray_folder = Path(tempfile.mkdtemp(prefix="procrustes-ray-"))
    if args.ray:
        os.environ["RAY_ADDRESS"] = start_ray_cluster(ray_folder)
    from procrustes_core import TrainConfig

    query = {"seeds": str(args.seeds)} | ({"epochs": str(args.epochs)} if args.epochs else {})
    config = TrainConfig(**({"epochs": args.epochs} if args.epochs else {}), threads=1)
    # the same trainings as the CLI runs them, one thread each: 4 back to back in one process, and two
    # such processes side by side (the machine's 2 cores, as the service's 2 slots)
    sample = 4
    command = [sys.executable, "-c", TRAIN, config.to_json(), str(sample)]
    back_to_back = float(subprocess.run(command, capture_output=True, text=True, check=True,
                                        cwd=ROOT).stdout.split()[-1])
    per_training = back_to_back / sample
    pair_started = time.perf_counter()
    pair = [subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=ROOT) for _ in range(2)]
    for process in pair:
        process.wait()
    two_cli_rate = 2 * sample / (time.perf_counter() - pair_started)

    import pandas  # noqa: F401 - imported once here: first imports in several threads at once can clash
    import plotly.graph_objects  # noqa: F401
    # a first learner alone on the fresh server (one epoch): every module imported, the workers and the
    # dataset cache warm — what the class's first press pays, reported on its own
    warm: dict = {}
    learner(-1, {**query, "epochs": "1"}, time.perf_counter(), 0.0, warm, threading.Lock())
    from app.components.live import REFRESH_SECONDS, SLOWEST_REFRESH_SECONDS
    from app.limits import read_limits
    from app.service import service

    trainer = service(read_limits())
    results: dict = {}
    lock = threading.Lock()
    start = time.perf_counter() + 1.0
    threads = [threading.Thread(target=learner, args=(i, query, start, args.spread, results, lock), daemon=True)
               for i in range(args.learners)]
    peak = 0.0
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(1.0)
        # this process (the app server) and its children, the workers (on Ray: its workers' processes)
        peak = max(peak, rss_mb(os.getpid()) + (sum(rss_mb(p) for p in ray_worker_pids()) if args.ray else 0))
    workers = ray_worker_pids() if args.ray else [pid for pid in (trainer._pool.pid(w) for w in range(2)) if pid]
    first_press = start + min(random.Random(i).uniform(0, args.spread) for i in range(args.learners))
    last_end = max(r["ended"] for r in results.values())
    wall = last_end - first_press
    time.sleep(2.0)
    before = cpu_seconds(workers)
    time.sleep(3.0)
    idle_cpu = cpu_seconds(workers) - before
    answered = [r["answered_s"] for r in results.values() if r["answered_s"] is not None]
    charts = sorted(r["first_chart_s"] for r in results.values() if r["first_chart_s"] is not None)
    done_s = sorted(r["finished_s"] for r in results.values() if r["finished"])
    finished = sum(r["finished"] for r in results.values())
    exceptions = sum(r["exception"] for r in results.values())
    busy = trainer.busy_workers()
    class_rate = finished * args.seeds / wall  # trainings (seeds) per second
    result = {"learners": args.learners, "backend": "ray" if args.ray else "local", "wall_s": wall,
              "per_training_cli_s": per_training, "answered_max_s": max(answered) if answered else None,
              "answered_median_s": sorted(answered)[len(answered) // 2] if answered else None,
              "first_chart_median_s": charts[len(charts) // 2] if charts else None,
              "first_chart_max_s": charts[-1] if charts else None,
              "finished_median_s": done_s[len(done_s) // 2] if done_s else None,
              "finished_max_s": done_s[-1] if done_s else None, "seeds": args.seeds, "separate": args.separate,
              "answered": len(answered), "finished": finished, "exceptions": exceptions,
              "errors": sorted({e for r in results.values() for e in r["errors"]})[:5], "peak_mb": peak,
              "first_press_fresh_server_s": warm[-1]["answered_s"],
              "busy_workers_after": busy, "load_average": list(os.getloadavg()),
              "cpu_s_after_end": idle_cpu, "machine": machine(), "spread_s": args.spread,
              "throughput_vs_cli": class_rate * per_training, "throughput_vs_two_cli": class_rate / two_cli_rate}
    trainer.close()
    if args.ray:
        subprocess.run([shutil.which("ray") or str(Path(sys.executable).with_name("ray")), "stop", "--force"],
                       capture_output=True)
    rows = [
        ("learners answered (a chart, a queue position, or a finished run)", f"{len(answered)} of {args.learners}",
         "all"),
        ("slowest answer after pressing Train", seconds(result["answered_max_s"]), "≤ 2 s"),
        ("median answer", seconds(result["answered_median_s"]), ""),
        ("median time to the first chart (queue included)", seconds(result["first_chart_median_s"]), ""),
        ("slowest time to the first chart (queue included)", seconds(result["first_chart_max_s"]), ""),
        ("median time from pressing Train to the finished run", seconds(result["finished_median_s"]), ""),
        ("slowest time from pressing Train to the finished run", seconds(result["finished_max_s"]), ""),
        ("the first press on a fresh server (before the class: workers start, modules load)",
         seconds(result["first_press_fresh_server_s"]), ""),
        ("runs finished (none lost)", f"{finished} of {args.learners}", "all"),
        ("exceptions on a page", str(exceptions), "0"),
        ("peak memory: server process and its training workers", f"{peak:.0f} MB", "bounded"),
        ("wall time, first press to the last run's end", f"{wall:.0f} s", ""),
        ("one training alone as `procrustes train` (1 thread, mean of 4 back to back)", f"{per_training:.1f} s", ""),
        ("throughput: the class's trainings (seeds) per second / one CLI process back to back",
         f"{result['throughput_vs_cli']:.2f}×", "≥ 0.9×"),
        ("… / two CLI processes side by side (the machine's 2 cores, as the 2 slots)",
         f"{result['throughput_vs_two_cli']:.2f}×", ""),
        ("workers computing after the last run", f"{busy} (CPU {idle_cpu:.2f} s in 3 s)", "0"),
    ]
    name = ("classroom_ray" if args.ray else "classroom") + (
        f"_seeds{args.seeds}{'_separate' if args.separate else ''}" if args.seeds != 1 else "")
    how = ("a local Ray cluster (`ray start --head --num-cpus 0`, then a worker node with 2 CPUs joining it)"
           if args.ray else "the local backend (2 worker processes)")
    markdown = "\n".join([
        f"# A class of {args.learners} on one server ({'Ray' if args.ray else 'local'})", "",
        f"{args.learners} sessions of the app (Streamlit AppTest, each in its own thread), pressing Train on the "
        f"default settings on {args.seeds} seed(s)"
        + (" (each seed in a process of its own: stacking off)" if args.separate
           else " (stacked in one request)" if args.seeds > 1 else "")
        + f"{f', {args.epochs} epochs' if args.epochs else ''}, at random moments over {args.spread:.0f} s, on {how}. "
        f"Regenerate: `.venv/bin/python benchmarks/classroom.py{' --ray' if args.ray else ''}"
        f"{f' --seeds {args.seeds}' if args.seeds != 1 else ''}{' --separate' if args.separate else ''}"
        f"{f' --epochs {args.epochs}' if args.epochs else ''}`. The machine (2 cores) may have been shared "
        "with other work while this ran (see the load in the JSON)."
        + (f" Note: {len(results) - finished} runs did not finish: {result['errors']}" if finished < len(results)
           else ""), "",
        "| measure | value | target |", "|---|---|---|", *[f"| {a} | {b} | {c} |" for a, b, c in rows], "",
        f"Each learner's page runs again once a second while its job is live (AppTest runs the whole page "
        f"where a browser reruns only the live fragment, every {REFRESH_SECONDS}–{SLOWEST_REFRESH_SECONDS} s "
        "by the server's load), so the app server's share of the 2 cores here is if anything larger than a "
        "real class's. Throughput counts finished trainings from the first press to the last end.", ""])
    save(name, result, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
