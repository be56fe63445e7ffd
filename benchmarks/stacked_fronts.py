"""Several seeds through the fronts: `procrustes train --seeds N` and the default paired `procrustes compare
--seeds 8`, stacked (a setting's seeds in one network per worker) against separate processes (one per
seed, `PROCRUSTES_STACKED_SEEDS=0`: how every seed trained before), in one run; and the compare on one
worker, both settings in one joint stack (`PROCRUSTES_STACKED_SEEDS=joint`) against one stack per setting
(`=config`; the CPU's default).

Training time = the command at the default epochs minus the same command at 1 epoch (start-up, data,
workers); CPU time is the command's process tree's (user + system, children included); peak memory is the
process tree's resident memory, sampled every 0.1 s. Ratios are against one seed's `procrustes train
--seeds 1` in the same run.

    .venv/bin/python benchmarks/stacked_fronts.py                 # 1, 2, 5, 8 seeds and the compare
    .venv/bin/python benchmarks/stacked_fronts.py --epochs 10     # a shorter look
    .venv/bin/python benchmarks/stacked_fronts.py --joint-only    # the one-worker compare only

Results: results/stacked_fronts.md and stacked_fronts.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from browser_support import memory_mb  # noqa: E402

from common import machine, save  # noqa: E402

MODES = {"stacked": "1", "separate": "0"}
JOINT_MODES = {"joint": "joint", "per setting": "config"}  # compare on one worker: one stack, or one per setting


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def command(args: list[str], stacked: str) -> dict[str, float]:
    """One CLI command: its wall time, its process tree's CPU time and peak resident memory."""
    env = dict(os.environ, PROCRUSTES_STACKED_SEEDS=stacked, PYTHONPATH=str(ROOT))
    cpu_before, started = _children_cpu(), time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "procrustes_core.cli", *args], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak_rss = peak_pss = 0.0
    while process.poll() is None:
        found = memory_mb(process.pid)
        peak_rss, peak_pss = max(peak_rss, found["rss"]), max(peak_pss, found["pss"])
        time.sleep(0.1)
    wall = time.perf_counter() - started
    error = process.stderr.read()
    if process.returncode not in (0, 1):  # 1: a seed's run ended early (still a timing)
        raise RuntimeError(f"{' '.join(args)} failed: {error.strip().splitlines()[-1:]}")
    return {"wall": wall, "cpu": _children_cpu() - cpu_before, "rss_mb": peak_rss, "pss_mb": peak_pss}


def training(args: list[str], epochs: int | None, stacked: str) -> dict[str, float]:
    """The command at the default epochs and at 1 epoch: the difference is its training."""
    full = command(args + ([f"--epochs={epochs}"] if epochs else []), stacked)
    short = command(args + ["--epochs=1"], stacked)
    return {"wall": full["wall"] - short["wall"], "cpu": full["cpu"] - short["cpu"], "command_wall": full["wall"],
            "rss_mb": full["rss_mb"], "pss_mb": full["pss_mb"], "startup_wall": short["wall"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="default: the Playground's default run")
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 2, 5, 8])
    parser.add_argument("--compare-seeds", type=int, default=8)
    parser.add_argument("--report-only", action="store_true", help="rebuild the Markdown from the saved JSON")
    parser.add_argument("--joint-only", action="store_true",
                        help="only the one-worker compare, joint stack against one stack per setting "
                             "(results/stacked_fronts_joint.md)")
    args = parser.parse_args()
    if args.joint_only:
        result = {"joint": joint(args.compare_seeds, args.epochs), "compare_seeds": args.compare_seeds,
                  "epochs": args.epochs, "machine": machine(), "load_average": list(os.getloadavg()),
                  "command": "python benchmarks/stacked_fronts.py --joint-only"
                             + (f" --epochs {args.epochs}" if args.epochs else "")}
        save("stacked_fronts_joint", result, "\n".join(joint_report(result)))
        return 0
    if args.report_only:
        from common import RESULTS

        result = json.loads((RESULTS / "stacked_fronts.json").read_text())
        save("stacked_fronts", result, report(result))
        return 0
    found: dict[str, dict] = {mode: {} for mode in MODES}
    for n in args.counts:  # the modes interleaved: both see the same load on a shared machine
        for mode, flag in MODES.items():
            if n == 1 and mode == "separate":
                continue  # one seed trains alone either way
            found[mode][n] = training(["train", f"--seeds={n}"], args.epochs, flag)
            print(f"train --seeds {n} ({mode}): {found[mode][n]}", flush=True)
    found["separate"][1] = found["stacked"][1]
    compare = {}
    for mode, flag in MODES.items():
        compare[mode] = training(["compare", f"--seeds={args.compare_seeds}"], args.epochs, flag)
        print(f"compare --seeds {args.compare_seeds} ({mode}): {compare[mode]}", flush=True)
    result = {"train": {mode: {str(n): v for n, v in runs.items()} for mode, runs in found.items()},
              "compare": compare, "joint": joint(args.compare_seeds, args.epochs),
              "compare_seeds": args.compare_seeds, "counts": args.counts, "epochs": args.epochs,
              "machine": machine(), "load_average": list(os.getloadavg()),
              "command": "python benchmarks/stacked_fronts.py" + (f" --epochs {args.epochs}" if args.epochs else "")}
    save("stacked_fronts", result, report(result))
    return 0


def joint(seeds: int, epochs: int | None) -> dict[str, dict[str, float]]:
    """`procrustes compare --seeds N --workers 1`: both settings in one joint stack, and one stack each."""
    found = {}
    for mode, flag in JOINT_MODES.items():
        found[mode] = training(["compare", f"--seeds={seeds}", "--workers=1"], epochs, flag)
        print(f"compare --seeds {seeds} --workers 1 ({mode}): {found[mode]}", flush=True)
    return found


def joint_report(result: dict) -> list[str]:
    """The one-worker compare's lines: joint stack against one stack per setting, measured in one run."""
    if "joint" not in result:
        return []
    j, p, k = result["joint"]["joint"], result["joint"]["per setting"], result["compare_seeds"]
    epochs = f" --epochs {result['epochs']}" if result["epochs"] else ""
    return [
        f"## Compare on one worker: one joint stack against one stack per setting ({k} seeds)", "",
        f"`procrustes compare --seeds {k} --workers 1{epochs}`"
        ": *joint*: ERM's and MFW's seeds are members of one stacked network (they share a network shape; "
        "`PROCRUSTES_STACKED_SEEDS=joint`); *per "
        "setting*: one stack per setting, one after the other on the one worker "
        f"(`PROCRUSTES_STACKED_SEEDS=config`). Training = the command minus the same command at 1 epoch. "
        f"Regenerate: `{result['command']}`.", "",
        "| | training CPU | training wall | whole command wall | peak memory RSS |", "|---|---|---|---|---|",
        *[f"| {name} | {r['cpu']:.1f} s | {r['wall']:.1f} s | {r['command_wall']:.0f} s | {r['rss_mb']:.0f} MB |"
          for name, r in (("joint", j), ("per setting", p))],
        "", f"Joint / per setting: **{j['cpu'] / p['cpu']:.2f}×** in training CPU, {j['wall'] / p['wall']:.2f}× "
        f"in training wall time (load average {', '.join(f'{x:.1f}' for x in result.get('load_average', []))} "
        "at the end: the machine is shared, so the CPU ratio is the figure to read). Above 1×, a joint stack "
        "costs more than two stacks of half its size on this CPU (a stacked step's larger operands spill the "
        "cache: one config's 16-seed stack already costs more than two of 8), so `procrustes compare` on one "
        "worker keeps one stack per setting here (`stacking.joint_pays`: joint on CUDA only).", ""]


def _reading(found: dict, counts: list[int]) -> list[str]:
    """What the table says about the targets: the wall ratio an idle 2-core machine would reach."""
    most = str(max(counts))
    one = found["stacked"]["1"]
    cpu = found["stacked"][most]["cpu"] / one["cpu"]
    rss = found["stacked"][most]["rss_mb"] / one["rss_mb"]
    return [
        f"Reading: {most} seeds stacked cost {cpu:.2f}× one seed's training CPU ({cpu / int(most):.2f}× per seed). "
        f"Split over the 2 workers (the default), an idle machine turns that into about {cpu / 2:.2f}× in wall "
        f"time — above the 2.0× target, which would need {most} seeds in at most 4 seeds' CPU (0.5× per seed) on "
        "2 cores: `stacked_seeds.md` shows why a step of the stacked network does not get there on this CPU "
        "(thin matrix products, memory-bound BatchNorm and copies, Python between the ops). One stacked "
        "process instead of two would hold the memory at about 1.0× but double that wall time; two worker "
        f"processes hold torch twice ({rss:.2f}× RSS). The server (the app) keeps each run's seeds in one "
        "request, one slot: there the memory of a request does not grow with its seeds.", ""]


def report(result: dict) -> str:
    """The Markdown page of a result (``--report-only`` rebuilds it from the saved JSON)."""
    found, compare, k = result["train"], result["compare"], result["compare_seeds"]
    one = found["stacked"]["1"]
    rows = []
    for n in result["counts"]:
        s, p = found["stacked"][str(n)], found["separate"][str(n)]
        rows.append(f"| {n} | {s['cpu']:.1f} s | **{s['cpu'] / one['cpu']:.2f}×** | {s['command_wall']:.0f} s | "
                    f"{p['cpu']:.1f} s | {p['cpu'] / one['cpu']:.2f}× | {p['command_wall']:.0f} s | "
                    f"**{s['cpu'] / p['cpu']:.2f}×** | "
                    f"{s['rss_mb'] / one['rss_mb']:.2f}× / {s['pss_mb'] / one['pss_mb']:.2f}× | "
                    f"{p['rss_mb'] / one['rss_mb']:.2f}× / {p['pss_mb'] / one['pss_mb']:.2f}× |")
    cs, cp = compare["stacked"], compare["separate"]
    epochs = result["epochs"]
    return "\n".join([
        "# Several seeds through the fronts: stacked against separate processes", "",
        f"`procrustes train --seeds N` and `procrustes compare --seeds {k}` (ERM against MFW, both scored with and "
        f"without LA: {2 * k} trainings) on the default run{f' at {epochs} epochs' if epochs else ''}; "
        "*stacked*: each setting's seeds in one stacked network per worker, split over the 2 workers (the "
        "default); *separate*: one worker process per seed (`PROCRUSTES_STACKED_SEEDS=0`, how seeds trained "
        "before). Training = the command minus the same command at 1 epoch, in CPU time of the process tree "
        "(children included) and in wall time. Memory = the process tree's peak resident memory, RSS (each "
        "process's shared libraries counted once per process) / PSS (shared pages split between processes), "
        f"against `train --seeds 1` (one seed: {one['rss_mb']:.0f} MB RSS, {one['pss_mb']:.0f} MB PSS). "
        f"Regenerate: `{result['command']}`.", "",
        f"**The machine (2 cores) was shared with other work while this ran** (load average "
        f"{', '.join(f'{x:.1f}' for x in result.get('load_average', []))} at the end): wall times are those of a "
        "machine running many times more work than it has cores, so the wall ratios say little; the CPU-time "
        "ratios are the figures to read (on an idle machine, 2 workers turn CPU time into wall time at up to 2 "
        "seeds' CPU per second).", "",
        "| seeds | stacked: training CPU | × one seed | stacked: whole command, wall | separate: training CPU "
        "| × one seed | separate: whole command, wall | stacked / separate (CPU, side by side) "
        "| stacked: peak memory RSS / PSS | separate: peak memory RSS / PSS |",
        "|---|---|---|---|---|---|---|---|---|---|", *rows, "",
        "The stacked and separate commands of a row ran one after the other, so their ratio (the 8th column) saw "
        "about the same load; the ratios to one seed compare with a one-seed run made minutes earlier, at "
        "another load, and a loaded machine inflates CPU time (caches shared with other work).", "",
        "Targets: 8 seeds ≤ 2.0× one seed in training time and ≤ 1.2× in peak memory.", "",
        *_reading(found, result["counts"]),
        f"Paired compare at {k} seeds ({2 * k} trainings): stacked {cs['cpu']:.1f} s of training CPU "
        f"(**{cs['cpu'] / one['cpu']:.2f}×** one single-seed training; the whole command {cs['command_wall']:.0f} s "
        f"wall); separate {cp['cpu']:.1f} s ({cp['cpu'] / one['cpu']:.2f}×; the whole command "
        f"{cp['command_wall']:.0f} s); stacked / separate {cs['cpu'] / cp['cpu']:.2f}×. Target: ≤ 3× in time "
        f"(on 2 idle cores about {cs['cpu'] / one['cpu'] / 2:.1f}× here: not met). "
        f"Peak memory RSS: stacked {cs['rss_mb']:.0f} MB, separate {cp['rss_mb']:.0f} MB.", "",
        *joint_report(result)])


if __name__ == "__main__":
    sys.exit(main())
