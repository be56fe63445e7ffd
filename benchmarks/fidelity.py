"""Fidelity study: why major feature weakening helps a plain 1-D CNN more than ours, and which
setting lets a learner see the paper's claim at an affordable budget.

Every comparison is MFW + LA against ERM + LA (post-hoc logit adjustment, tau = 1, scored on the same
trained models) on the same seeds — same data subsets, initial weights and batch orders — with the
paired difference, its 95 % interval and the win count from the core's ``paired_comparison``.
Settings are chosen on the balanced validation split (30 samples per class, taken from training data
left over); the chosen ones are then confirmed on fresh seeds and reported on the test split.

Stages (each resumable; finished runs are cached in results/fidelity_runs.jsonl):

    core      the reproduction: the reference probe's setting (MNIST-1D 20,000 samples, step-100,
              60 epochs, SGD 0.05 cosine, MFW after block 2 at s = 0.9 for the first half) on four
              networks — the probe's plain layout and ours, each with and without BatchNorm —, the
              reference script itself on the plain network, and the BatchNorm remedies
    budget    cheap settings a learner can afford (about 12 s per run on one thread), on validation
    confirm   the chosen cheap setting and the chosen paper setting on fresh seeds: step-100,
              long-tailed-100 and step-10
    ablate    one change at a time from the reference setting, on our network and on the plain one:
              mixing position, schedule, strength, partner detached, width, epochs, sample count

    python benchmarks/fidelity.py                  # every stage, then results/fidelity.md
    python benchmarks/fidelity.py --stage core     # one stage (then the report of what is cached)
    python benchmarks/fidelity.py --report         # only rewrite the report from the cache
    python benchmarks/fidelity.py --quick          # a tiny smoke version (2 seeds, 2 epochs)

Trainings run on the engine's executor (``procrustes_core/training/executor.py``); the report is written
by ``fidelity_report.py`` from the cache.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, read_cache  # noqa: E402

CACHE = RESULTS / "fidelity_runs.jsonl"
PROBE = ROOT.parent / "shared" / "reference" / "mfw_probe.py"
SEEDS = list(range(31, 39))  # choosing settings (validation)
FRESH = list(range(101, 109))  # confirming the chosen ones (test)
BASE = dict(dataset="mnist1d", n_samples=20_000, profile="step", ratio=100.0, epochs=60, batch_size=128, lr=0.05,
            lr_schedule="cosine", momentum=0.9, weight_decay=5e-4, width=64, val_per_class=30, threads=1,
            device="cpu", la_tau=0.0)
REF_MFW = dict(mixer="mfw", mfw_layer="block2", mfw_strength=0.9, mfw_schedule="warmup", mfw_until=0.5)
NETWORKS = {
    "plain (probe layout, no BatchNorm)": dict(model="cnn1d-s1", norm="none"),
    "probe layout + BatchNorm": dict(model="cnn1d-s1", norm="batch"),
    "our layout, no BatchNorm": dict(model="cnn1d", norm="none"),
    "our layout + BatchNorm (the product's network)": dict(model="cnn1d", norm="batch"),
}
PRODUCT, PLAIN = "our layout + BatchNorm (the product's network)", "plain (probe layout, no BatchNorm)"


# ---------------------------------------------------------------- one run


def key_of(config: dict, extra: dict) -> str:
    return json.dumps([config, extra], sort_keys=True)


SCORED = {"": {}, "_la": {"la_tau": 1.0}}  # one training, scored with and without LA (tau = 1)


def train_requests(trainings: list[tuple[dict, dict]]) -> tuple[list, dict]:
    """The trainings as requests on the engine, a config's seeds stacked in one where it stacks: scored with
    and without LA on validation and test at the end, and (``recalibrate``) the test score after
    re-estimating BatchNorm statistics; and where each (request, seed) came from."""
    from procrustes_core.config import TrainConfig
    from procrustes_core.training.executor import seed_requests
    from procrustes_core.training.messages import TrainRequest

    def request(serial: int, config, seeds: tuple[int, ...]):
        observers = ("scores", "recalibrated") if trainings[serial][1].get("recalibrate") else ("scores",)
        return TrainRequest(serial, config.to_dict(), seeds, observers=observers, scored=SCORED)

    return seed_requests([TrainConfig.from_dict(config) for config, _ in trainings], request,
                         labels=[json.dumps(extra, sort_keys=True) for _, extra in trainings])


def train_row(config: dict, extra: dict, outcome) -> dict:
    """A training's cache row: its scores and the per-epoch head/tail series for the mechanism."""
    if outcome.error is not None:
        raise SystemExit(f"{key_of(config, extra)}: {outcome.error}")
    history = outcome.history
    out = {"key": key_of(config, extra), "seconds": history.last.seconds}
    for suffix, splits in outcome.results["scores"].items():
        for split, scored in splits.items():
            out[f"{split}_bal{suffix}"] = scored["balanced_acc"]
            out[f"{split}_tail{suffix}"] = scored["group_recall"][history.tail]
    head_train, tail_train = history.head_tail("train_acc")
    out["series"] = {"epoch": [r.epoch for r in history.records], "gap": history.gap("train_acc"),
                     "grad_ratio": history.gradient_ratio(), "tail_train": tail_train,
                     "tail_test": history.head_tail("test_acc")[1], "head_train": head_train}
    if extra.get("recalibrate"):
        out["test_bal_la_recalibrated"] = outcome.results["recalibrated"]["test_bal_la"]
    return out


def run_probe(seed: int, epochs: int, arch: str = "plain", bn: int = 0) -> dict:
    """The reference script itself, on one seed: its ERM + LA and MFW + LA balanced test accuracy."""
    command = [sys.executable, str(PROBE), "--arch", arch, "--bn", str(bn), "--seeds", str(seed), "--epochs",
               str(epochs), "--threads", "1"]
    started = time.perf_counter()
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r"ERM\+LA ([\d.]+)\s+MFW\+LA ([\d.]+)", text)
    return {"key": key_of({"probe": arch, "bn": bn, "seed": seed, "epochs": epochs}, {}),
            "seconds": time.perf_counter() - started, "erm_la": float(found[1]), "mfw_la": float(found[2])}


# ---------------------------------------------------------------- the study's comparisons


@dataclass
class Comparison:
    """MFW (``mfw``) against ERM (``erm``) on ``seeds``, both scored with LA."""

    study: str
    label: str
    erm: dict
    mfw: dict
    seeds: list[int]
    extra: dict = field(default_factory=dict)
    eval_every: int = 10  # only the final scores matter, unless the mechanism is read from it
    erm_eval_every: int | None = None  # 1: the baseline is a network run of section 2 (trained once, reused)

    def every(self, which: str) -> int:
        return (self.erm_eval_every or self.eval_every) if which == "erm" else self.eval_every

    def configs(self) -> list[tuple[dict, dict]]:
        return [(dict(c, seed=s, eval_every=self.every(which)), self.extra if which == "mfw" else {})
                for which, c in (("erm", self.erm), ("mfw", self.mfw)) for s in self.seeds]


def network_runs(args) -> list[Comparison]:
    """Item 1 and 5: the reference setting on each network (per-epoch series kept for the mechanism)."""
    found = []
    for name, net in NETWORKS.items():
        erm = {**BASE, **net, "epochs": args.epochs}
        found.append(Comparison("networks", name, erm, {**erm, **REF_MFW}, args.seeds, eval_every=1))
    return found


def remedy_runs(args) -> list[Comparison]:
    """Item 3: on the product's BatchNorm network, mixing after the normalisation, and (constant schedule,
    where the running statistics see mixed batches to the end) re-estimating them on un-mixed data."""
    erm = {**BASE, **NETWORKS[PRODUCT], "epochs": args.epochs}
    return [Comparison("remedies", f"{PRODUCT}: mix after BatchNorm", erm, {**erm, **REF_MFW, "mfw_after_norm": True},
                       args.seeds, erm_eval_every=1),
            Comparison("remedies", f"{PRODUCT}: constant schedule, running statistics re-estimated", erm,
                       {**erm, **REF_MFW, "mfw_schedule": "constant"}, args.seeds, {"recalibrate": True},
                       erm_eval_every=1)]


ABLATIONS = {  # one change at a time from the reference setting: (what changes, applies to ERM too)
    "mixing position: input": (dict(mfw_layer="input"), False),
    "mixing position: penultimate": (dict(mfw_layer="penultimate"), False),
    "schedule: linear decay over the first half": (dict(mfw_schedule="linear"), False),
    "strength 0.5": (dict(mfw_strength=0.5), False),
    "partner features detached": (dict(mfw_detach=True), False),
    "30 epochs": (dict(epochs=30), True),
    "10,000 samples": (dict(n_samples=10_000), True),
}
# The constant schedule is in the remedies; width 32, 20 / 30 epochs and 10,000 / 20,000 samples on all
# three networks are in the budget stage — together with these, every axis of the issue is covered on
# the product's network, the one whose small gain is the question.


def ablation_runs(args) -> list[Comparison]:
    base = {**BASE, **NETWORKS[PRODUCT], "epochs": args.epochs}
    found = []
    for label, (change, both) in ABLATIONS.items():
        if args.quick and "epochs" in label:
            continue
        erm = {**base, **change} if both else base
        found.append(Comparison(f"ablations: {PRODUCT}", label, erm, {**erm, **REF_MFW, **change}, args.seeds,
                                erm_eval_every=None if both else 1))
    return found


CHEAP_NETWORKS = ("plain (probe layout, no BatchNorm)", "our layout, no BatchNorm", PRODUCT)
CHEAP_BUDGETS = {"10,000 samples, 30 epochs": dict(n_samples=10_000, epochs=30),
                 "20,000 samples, 20 epochs": dict(n_samples=20_000, epochs=20)}
CHEAP_MFW = {"block 2, s 0.9, first half": REF_MFW,
             "penultimate, s 0.5, first half": dict(REF_MFW, mfw_layer="penultimate", mfw_strength=0.5),
             "block 2, s 0.9, linear decay": dict(REF_MFW, mfw_schedule="linear")}


def budget_runs(args) -> list[Comparison]:
    found = []
    for network in CHEAP_NETWORKS:
        for budget_name, budget in CHEAP_BUDGETS.items():
            erm = {**BASE, **NETWORKS[network], **budget, "width": 32}
            if args.quick:
                erm["epochs"] = args.epochs
            for mfw_name, mfw in CHEAP_MFW.items():
                found.append(Comparison("budget", f"{network}, width 32, {budget_name}; MFW {mfw_name}", erm,
                                        {**erm, **mfw}, args.seeds))
    return found


# ---------------------------------------------------------------- running


def load_cache() -> dict[str, dict]:
    return read_cache(CACHE)


def run_all(jobs: list[tuple[str, tuple]], workers: int) -> dict[str, dict]:
    """Run ``(kind, arguments)`` jobs not cached yet — trainings on the engine's local workers, then the
    reference script's probes — appending each result as it lands."""
    done = load_cache()
    todo = []
    for kind, arguments in jobs:
        key = key_of(*arguments) if kind == "train" else key_of(
            {"probe": arguments[2], "bn": arguments[3], "seed": arguments[0], "epochs": arguments[1]}, {})
        if key not in done and key not in {k for k, _, _ in todo}:
            todo.append((key, kind, arguments))
    if not todo:
        return done
    print(f"{len(todo)} runs to train ({len(done)} cached)", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    from procrustes_core.training.executor import run_batch

    with CACHE.open("a") as cache:
        def landed(row: dict) -> None:
            done[row["key"]] = row
            cache.write(json.dumps(row) + "\n")
            cache.flush()
            n = len(done) - cached
            elapsed = time.perf_counter() - started
            print(f"[{n}/{len(todo)}] {row['seconds']:.1f} s; {elapsed / n * (len(todo) - n) / 60:.0f} min left",
                  flush=True)

        cached = len(done)
        trainings = [arguments for _, kind, arguments in todo if kind == "train"]
        requests, where = train_requests(trainings)
        run_batch(requests,
                  lambda request, outcome: landed(train_row(*trainings[where[(request.serial, outcome.seed)]],
                                                            outcome)),
                  backend="local", workers=workers)
        probes = [arguments for _, kind, arguments in todo if kind != "train"]
        with ThreadPoolExecutor(workers) as pool:  # the reference script runs in its own processes
            for row in pool.map(lambda arguments: run_probe(*arguments), probes):
                landed(row)
    return done


def jobs_of(comparisons: list[Comparison]) -> list[tuple[str, tuple]]:
    return [("train", pair) for c in comparisons for pair in c.configs()]


def main() -> int:
    from fidelity_report import confirm_runs, report, saved_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=["core", "budget", "confirm", "ablate", "all"], default="all")
    parser.add_argument("--report", action="store_true", help="only rewrite the report from the cache")
    parser.add_argument("--quick", action="store_true", help="2 seeds, 2 epochs: a smoke test of the script")
    parser.add_argument("--workers", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    args = parser.parse_args()
    args.seeds, args.fresh, args.epochs = (SEEDS[:2], FRESH[:2], 2) if args.quick else (SEEDS, FRESH, 60)
    if args.quick:
        global CACHE
        CACHE = RESULTS / "fidelity_quick_runs.jsonl"
    if not args.report:
        # confirm twice: the paper setting is chosen again once the ablations are in
        stages = ["core", "budget", "confirm", "ablate", "confirm"] if args.stage == "all" else [args.stage]
        for stage in stages:
            if stage == "core":
                jobs = jobs_of(network_runs(args) + remedy_runs(args))
                if PROBE.exists():
                    jobs += [("probe", (s, args.epochs, "plain", 0)) for s in args.seeds]
            elif stage == "budget":
                jobs = jobs_of(budget_runs(args))
            elif stage == "confirm":
                jobs = jobs_of(confirm_runs(load_cache(), args))
            else:
                jobs = jobs_of(ablation_runs(args))
            print(f"stage {stage}", flush=True)
            run_all(jobs, args.workers)
    done = load_cache()
    text = report(done, args)
    if not args.quick:
        (RESULTS / "fidelity.md").write_text(text)
        saved = saved_results(done, args)
        for folder in (RESULTS, ROOT / "assets"):
            (folder / "fidelity.json").write_text(json.dumps(saved, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
