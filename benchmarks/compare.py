"""Compare every method of the zoo, and MFW combined with DRW, LA and balanced softmax, on MNIST-1D.

Step-100 and long-tailed-100 imbalance, the same seeds for every method (so differences are
paired), the same epochs for all. Each method's hyper-parameters are chosen on the balanced
validation split (``val_per_class``), never on the test set: every grid point is trained on every
seed and the point with the best mean validation balanced accuracy is reported. Post-hoc steps
(logit adjustment, tau-normalisation) reuse the trained model of their base method.

The remedies beyond losses and samplers are rows too: augmentation of the minor classes only, BBN,
squeeze-and-excitation, fine-tuning and a linear probe from a network pre-trained on the balanced
version of the same data (``ratio=1``: every class at the largest class's count, the same validation
samples held out, so it sees more minor-class samples than any other row — a reference for what
balanced data are worth, trained once per seed before the rows that start from it, for the same
epochs; that time is not in their s / run), and classifier re-training (cRT: more epochs, on top).

Reports balanced test accuracy, minor-class (step) or few-shot (long-tailed) test accuracy, mean
± std over seeds, the paired difference to ERM with a 95 % t-interval, and wall time per run.
Writes benchmarks/results/compare.md and compare.json, copies the JSON to assets/compare.json,
and prints the command that regenerates it. Finished runs are cached in
benchmarks/results/compare_runs.jsonl, so an interrupted benchmark resumes where it stopped.

    python benchmarks/compare.py                 # the full benchmark (about 45 min on 2 free cores)
    python benchmarks/compare.py --quick         # a 2-seed, few-epoch smoke version
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, read_cache  # noqa: E402

PROFILES = {"step": "step-100", "longtail": "long-tailed-100"}
TAIL_GROUP = {"step": "minor", "longtail": "few"}
MFW_PARTNER = {"mfw": "erm", "mfw+la": "logit-adjustment", "mfw+drw": "drw",
               "mfw+balanced-softmax": "balanced-softmax"}  # what MFW is added to in each combination
BALANCED = "<balanced pre-trained network>"  # stands for the seed's checkpoint in settings and cache keys


@dataclass
class Recipe:
    """A method as benchmarked: its settings, a small grid tuned on validation, optional post-hoc grid."""

    name: str
    settings: dict
    grid: dict = field(default_factory=dict)
    posthoc: tuple[str, list] | None = None  # (field, values) evaluated on the base's trained models
    base: str | None = None  # for post-hoc recipes: the recipe whose models they reuse

    def points(self) -> list[dict]:
        keys = list(self.grid)
        return [dict(zip(keys, values)) for values in itertools.product(*self.grid.values())] or [{}]


def recipes(epochs: int) -> list[Recipe]:
    late, later = round(epochs * 0.5), round(epochs * 0.8)
    taus = [0.5, 1.0, 1.5]
    return [
        Recipe("erm", {}),
        Recipe("weighted-ce", {"loss": "weighted-ce"}),
        Recipe("cb-ce", {"loss": "cb-ce"}, {"cb_beta": [0.99, 0.9999]}),
        Recipe("focal", {"loss": "focal"}, {"focal_gamma": [1.0, 2.0]}),
        Recipe("ldam", {"loss": "ldam"}),
        # LDAM-DRW as published: re-weighting after 80 % of the epochs (160 of 200), beta = 0.9999
        Recipe("ldam+drw", {"loss": "ldam", "drw_epoch": later, "cb_beta": 0.9999}),
        Recipe("balanced-softmax", {"loss": "balanced-softmax"}),
        Recipe("la-loss", {"loss": "la-loss"}, {"la_loss_tau": [0.5, 1.5]}),
        Recipe("cdt", {"loss": "cdt"}, {"cdt_gamma": [0.1, 0.3]}),
        Recipe("class-balanced", {"sampler": "class-balanced"}),
        Recipe("square-root", {"sampler": "square-root"}),
        Recipe("oversample", {"sampler": "oversample"}),
        Recipe("undersample", {"sampler": "undersample"}),
        Recipe("smote", {"sampler": "smote"}),
        Recipe("borderline-smote", {"sampler": "borderline-smote"}),
        Recipe("mixup", {"mixer": "mixup"}, {"mixup_alpha": [0.2, 1.0]}),
        Recipe("remix", {"mixer": "remix"}),
        Recipe("drw", {"drw_epoch": later, "cb_beta": 0.9999}, {"drw_epoch": [late, later]}),
        Recipe("grad-scale", {"grad_scale": "adaptive"}, {"grad_scale_power": [0.5, 1.0]}),
        Recipe("weight-curriculum", {"loss": "weighted-ce", "weight_schedule": "linear"}),
        Recipe("logit-adjustment", {}, posthoc=("la_tau", taus), base="erm"),
        Recipe("tau-norm", {}, posthoc=("tau_norm", taus), base="erm"),
        Recipe("mfw", {"mixer": "mfw"}, {"mfw_strength": [0.5, 0.9]}),
        Recipe("mfw+drw", {"mixer": "mfw", "cb_beta": 0.9999}, {"drw_epoch": [late, later]}),
        Recipe("mfw+la", {"mixer": "mfw"}, posthoc=("la_tau", taus), base="mfw"),
        Recipe("mfw+balanced-softmax", {"mixer": "mfw", "loss": "balanced-softmax"},
               {"mfw_strength": [0.5, 0.9]}),
        Recipe("minor-augment", {"augment": "signal", "augment_classes": "minor"}, {"augment_prob": [0.5, 1.0]}),
        Recipe("minor-augment+la", {}, posthoc=("la_tau", taus), base="minor-augment"),
        Recipe("bbn", {"bbn": True}),
        Recipe("se", {"attention": "se"}, {"se_reduction": [4, 8]}),
        Recipe("se+la", {}, posthoc=("la_tau", taus), base="se"),
        Recipe("finetune", {"init_checkpoint": BALANCED}, {"lr": [0.01, 0.05]}),
        Recipe("finetune+la", {}, posthoc=("la_tau", taus), base="finetune"),
        Recipe("linear-probe", {"init_checkpoint": BALANCED, "finetune": "linear-probe"}, {"lr": [0.05, 0.2]}),
        Recipe("crt", {}, {"classifier_retrain_epochs": sorted({max(1, round(epochs * 0.25)),
                                                                max(1, round(epochs * 0.5))})}),
    ]


def base_config(args: argparse.Namespace, profile: str, seed: int):
    from procrustes_core import TrainConfig

    return TrainConfig(dataset="mnist1d", profile=profile, ratio=100.0, n_samples=args.n_samples,
                       val_per_class=args.val_per_class, width=args.width, epochs=args.epochs, seed=seed,
                       threads=1, device="cpu")


def job_key(profile: str, seed: int, settings: dict) -> str:
    return json.dumps([profile, seed, settings], sort_keys=True)


def scores(trainer, split: str, posthoc) -> tuple[float, float]:
    """Balanced accuracy and the tail group's accuracy of the trained model under a post-hoc setting."""
    scored = trainer.score(split, posthoc)
    return scored.balanced_acc, scored.group_recall(trainer.data.groups)[trainer.history.tail]


def pretrain_config(args: argparse.Namespace, seed: int):
    """The balanced source of the fine-tuning rows: the same data at ratio 1, the same validation samples."""
    return base_config(args, "step", seed).replace(ratio=1.0)


def pretrained_path(args: argparse.Namespace, seed: int) -> Path:
    return Path(args.pretrained_dir) / f"seed{seed}.pt"


def pretrained_already(args: argparse.Namespace, seed: int) -> bool:
    """Whether the seed's balanced network is saved from the same settings (a damaged or foreign file is not)."""
    from procrustes_core.errors import ProcrustesError
    from procrustes_core.training.checkpoint import load_checkpoint

    path = pretrained_path(args, seed)
    if not path.exists():
        return False
    try:
        return load_checkpoint(path).header.get("config") == pretrain_config(args, seed).to_dict()
    except ProcrustesError:
        return False


def job_config(args: argparse.Namespace, profile: str, seed: int, settings: dict):
    """One configuration on one seed."""
    concrete = {k: (str(pretrained_path(args, seed)) if v == BALANCED else v) for k, v in settings.items()}
    return base_config(args, profile, seed).replace(**concrete)


def job_requests(args: argparse.Namespace, jobs: list) -> tuple[list, dict]:
    """The jobs as requests, a configuration's seeds stacked in one where it stacks, each seed scored at the
    end plain and under each post-hoc variant on val and test; and where each (request, seed) came from."""
    from procrustes_core.training.executor import seed_requests
    from procrustes_core.training.messages import TrainRequest

    configs = [job_config(args, *job[:3]) for job in jobs]

    def request(serial: int, config, seeds: tuple[int, ...]):
        own = {"la_tau": config.la_tau, "tau_norm": config.tau_norm}  # the run's own post-hoc setting
        scored = {"": own, **{f"{name}={value}": {**own, name: value} for name, value in jobs[serial][3]}}
        return TrainRequest(serial, config.to_dict(), seeds, observers=("scores",), scored=scored)

    return seed_requests(configs, request, labels=[json.dumps(job[3]) for job in jobs])


def job_row(profile: str, seed: int, settings: dict, outcome) -> dict:
    """A job's cache row: for each post-hoc variant, balanced accuracy on val and test and the tail's on test."""
    if outcome.error is not None:
        raise SystemExit(f"{job_key(profile, seed, settings)}: {outcome.error}")
    tail = outcome.history.tail
    variants = {label: {"val": splits["val"]["balanced_acc"], "test": splits["test"]["balanced_acc"],
                        "tail": splits["test"]["group_recall"][tail]}
                for label, splits in outcome.results["scores"].items()}
    return {"key": job_key(profile, seed, settings), "seconds": outcome.history.last.seconds, "variants": variants}


def plan(args: argparse.Namespace) -> list[tuple[str, int, dict, list]]:
    """Every training job: (profile, seed, settings, post-hoc variants to evaluate on it)."""
    all_recipes = recipes(args.epochs)
    posthoc_of: dict[str, list] = {}
    for r in all_recipes:
        if r.base is not None:
            field_name, values = r.posthoc
            posthoc_of.setdefault(r.base, []).extend((field_name, v) for v in values)
    jobs = []
    for profile in PROFILES:
        for r in all_recipes:
            if r.base is not None:
                continue
            for point in r.points():
                settings = {**r.settings, **point}
                for seed in args.seeds:
                    jobs.append((profile, seed, settings, posthoc_of.get(r.name, [])))
    return jobs


def paired(a: list[float], b: list[float]) -> dict:
    """Mean of the per-seed differences ``a - b`` with its 95 % t-interval, from the core's paired comparison."""
    from procrustes_core.analysis.compare import paired_comparison

    found = paired_comparison(b, a, scale=1.0)
    mean, lo, hi = found.interval
    return {"mean": mean, "lo": lo, "hi": hi, "better": found.wins, "n": found.n, "sentence": found.sentence()}


def summarise(args: argparse.Namespace, done: dict[str, dict]) -> dict:
    """Choose each recipe's grid point on validation; test mean ± std and paired differences to ERM and to
    ERM + LA (post-hoc logit adjustment at its validation-chosen τ)."""
    from procrustes_core.methods.catalogue import METHODS

    all_recipes = {r.name: r for r in recipes(args.epochs)}
    summary = {}
    for profile in PROFILES:
        candidates = {}  # recipe -> list of (settings, variant label)
        for r in all_recipes.values():
            if r.base is None:
                candidates[r.name] = [({**r.settings, **p}, "") for p in r.points()]
            else:
                base = all_recipes[r.base]
                field_name, values = r.posthoc
                candidates[r.name] = [({**base.settings, **p}, f"{field_name}={v}")
                                      for p in base.points() for v in values]

        def per_seed(settings: dict, label: str, metric: str, profile: str = profile) -> list[float]:
            return [done[job_key(profile, s, settings)]["variants"][label][metric] for s in args.seeds]

        chosen = {}
        for name, options in candidates.items():
            best = max(options, key=lambda o: np.mean(per_seed(o[0], o[1], "val")))
            chosen[name] = best
        erm = per_seed(*chosen["erm"], "test")
        erm_la = per_seed(*chosen["logit-adjustment"], "test")  # the baseline the lessons and the app use
        rows = []
        for name, (settings, label) in chosen.items():
            test = per_seed(settings, label, "test")
            tail = per_seed(settings, label, "tail")
            diff, diff_la = paired(test, erm), paired(test, erm_la)
            seconds = [done[job_key(profile, s, settings)]["seconds"] for s in args.seeds]
            shown = dict(settings)
            if label:
                key, value = label.split("=")
                shown[key] = float(value)
            method = METHODS.get("ce" if name == "erm" else name)
            rows.append({
                "method": name,
                "kind": "baseline" if name == "erm" else method.kind if method else "combination",
                "description": method.description if method else " + ".join(name.split("+")),
                "settings": shown,
                "val_balanced_acc": float(np.mean(per_seed(settings, label, "val"))),
                "balanced_acc_mean": float(np.mean(test)), "balanced_acc_std": float(np.std(test, ddof=1)),
                "tail_acc_mean": float(np.mean(tail)), "tail_acc_std": float(np.std(tail, ddof=1)),
                "diff_to_erm_mean": diff["mean"], "diff_to_erm_lo": diff["lo"],
                "diff_to_erm_hi": diff["hi"], "seeds_better_than_erm": diff["better"],
                "diff_to_erm_la_mean": diff_la["mean"], "diff_to_erm_la_lo": diff_la["lo"],
                "diff_to_erm_la_hi": diff_la["hi"], "seeds_better_than_erm_la": diff_la["better"],
                "seconds_per_run": float(np.mean(seconds)),
                "balanced_acc_per_seed": test,
            })
        rows.sort(key=lambda row: -row["balanced_acc_mean"])
        for row in rows:
            row["gap_to_best"] = row["balanced_acc_mean"] - rows[0]["balanced_acc_mean"]
        best_tail = max(rows, key=lambda row: row["tail_acc_mean"])
        by_name = {row["method"]: row for row in rows}
        mfw_added = {combo: {"to": partner, **paired(by_name[combo]["balanced_acc_per_seed"],
                                                      by_name[partner]["balanced_acc_per_seed"])}
                     for combo, partner in MFW_PARTNER.items()}
        summary[profile] = {"name": PROFILES[profile], "tail_group": TAIL_GROUP[profile], "rows": rows,
                            "best": rows[0]["method"], "best_tail": best_tail["method"], "mfw_added": mfw_added}
    return summary


def markdown(result: dict) -> str:
    s = result["setup"]
    lines = [
        "# Method comparison on MNIST-1D",
        "",
        f"{s['n_samples']} generated samples, {s['val_per_class']} validation samples per class, 1-D CNN of width "
        f"{s['width']}, {s['epochs']} epochs, SGD lr 0.05 cosine, batch 128, seeds {s['seeds']} (paired), "
        f"1 CPU thread per run. Hyper-parameters chosen on the validation split; test numbers at the last epoch.",
        "",
        "finetune, finetune+la and linear-probe start from a network trained for the same epochs on the balanced "
        "version of the same data (ratio 1, the same validation samples held out): it has seen more minor-class "
        "samples than any other row, so these rows measure what balanced data are worth, not a remedy on the same "
        "data; the pre-training time is not in their s / run. crt trains its re-training epochs on top of the "
        "others' epochs.",
        "",
        "Wall times are per run (training and per-epoch evaluation) on a machine shared with other jobs: "
        "they vary with the load, so only large differences (oversample and SMOTE train on longer epochs, "
        "undersample on shorter ones) mean anything.",
        "",
        f"Regenerate: `{result['command']}`",
        "",
    ]
    for summary in result["profiles"].values():
        tail = summary["tail_group"]
        lines += [f"## {summary['name']}", "",
                  f"| method | chosen settings | balanced test acc | {tail} acc | Δ vs ERM [95 % CI] | seeds > ERM "
                  "| Δ vs ERM + LA [95 % CI] | seeds > ERM + LA | s / run |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for row in summary["rows"]:
            chosen = ", ".join(f"{k}={v}" for k, v in row["settings"].items()) or "defaults"
            lines.append(
                f"| {row['method']} | {chosen} | {row['balanced_acc_mean']:.3f} ± {row['balanced_acc_std']:.3f} "
                f"| {row['tail_acc_mean']:.3f} ± {row['tail_acc_std']:.3f} "
                f"| {row['diff_to_erm_mean']:+.3f} [{row['diff_to_erm_lo']:+.3f}, {row['diff_to_erm_hi']:+.3f}] "
                f"| {row['seeds_better_than_erm']}/{len(row['balanced_acc_per_seed'])} "
                f"| {row['diff_to_erm_la_mean']:+.3f} "
                f"[{row['diff_to_erm_la_lo']:+.3f}, {row['diff_to_erm_la_hi']:+.3f}] "
                f"| {row['seeds_better_than_erm_la']}/{len(row['balanced_acc_per_seed'])} "
                f"| {row['seconds_per_run']:.1f} |")
        best = summary["rows"][0]
        mfw = [row for row in summary["rows"] if row["method"].startswith("mfw")]
        lines += ["", f"Best balanced accuracy: **{best['method']}** ({best['balanced_acc_mean']:.3f}); best {tail} "
                  f"accuracy: **{summary['best_tail']}**. MFW rows, distance to the best: "
                  + ", ".join(f"{row['method']} {row['gap_to_best']:+.3f}" for row in mfw) + "."]
        lines += ["", "What adding MFW changes (paired, balanced test accuracy): "
                  + "; ".join(f"{combo} vs {d['to']} {d['mean']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}] "
                              f"({d['better']}/{d['n']} seeds better)" for combo, d in summary["mfw_added"].items())
                  + "."]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from procrustes_core.files import atomic_write_text
    from procrustes_core.training.executor import run_batch
    from procrustes_core.training.messages import TrainRequest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    from procrustes_core.config import TrainConfig

    defaults = TrainConfig()  # the product's defaults: the Playground's run
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--n-samples", type=int, default=defaults.n_samples)
    parser.add_argument("--width", type=int, default=defaults.width)
    parser.add_argument("--val-per-class", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="2 seeds, 3 epochs, 4000 samples: a smoke run")
    parser.add_argument("--out", default=str(RESULTS), help="folder for compare.md / compare.json")
    parser.add_argument("--no-assets", action="store_true", help="do not copy the JSON to assets/")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.n_samples, args.val_per_class = [0, 1], 3, 4000, 10
    command = " ".join(["python benchmarks/compare.py", *(argv if argv is not None else sys.argv[1:])])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "compare_quick" if args.quick else "compare"
    cache_path = out / f"{stem}_runs.jsonl"
    setup = {"n_samples": args.n_samples, "val_per_class": args.val_per_class, "width": args.width,
             "epochs": args.epochs, "seeds": args.seeds, "dataset": "mnist1d", "ratio": 100}
    done = read_cache(cache_path, lambda row: row.get("setup") == setup)
    jobs = [j for j in plan(args) if job_key(j[0], j[1], j[2]) not in done]
    total = len(plan(args))
    print(f"{total} training runs, {total - len(jobs)} cached; {args.workers} worker(s)", flush=True)
    args.pretrained_dir = str(out / f"{stem}_pretrained")
    seeds_to_pretrain = sorted({j[1] for j in jobs if BALANCED in j[2].values()})
    started = time.perf_counter()
    if seeds_to_pretrain:  # the fine-tuning rows' balanced networks, before the rows that start from them
        Path(args.pretrained_dir).mkdir(parents=True, exist_ok=True)
        for seed in [s for s in seeds_to_pretrain if pretrained_already(args, s)]:
            print(f"pre-trained seed {seed} on balanced data (cached)", flush=True)
        pretrain = [TrainRequest(seed, pretrain_config(args, seed).to_dict(),
                                 checkpoint=str(pretrained_path(args, seed)))
                    for seed in seeds_to_pretrain if not pretrained_already(args, seed)]

        def pretrained(request: TrainRequest, outcome) -> None:
            if outcome.error is not None:
                raise SystemExit(f"pre-training seed {request.serial}: {outcome.error}")
            print(f"pre-trained seed {request.serial} on balanced data in {outcome.history.last.seconds:.1f}s",
                  flush=True)

        run_batch(pretrain, pretrained, backend="local", workers=args.workers)
    with cache_path.open("a") as cache:
        requests, where = job_requests(args, jobs)

        def finished(request: TrainRequest, outcome) -> None:
            row = job_row(*jobs[where[(request.serial, outcome.seed)]][:3], outcome)
            row["setup"] = setup
            done[row["key"]] = row
            cache.write(json.dumps(row) + "\n")
            cache.flush()
            count[0] += 1
            print(f"[{count[0]}/{len(jobs)}] {time.perf_counter() - started:.0f}s {row['key']} {row['seconds']:.1f}s",
                  flush=True)

        count = [0]
        run_batch(requests, finished, backend="local", workers=args.workers)
    result = {"setup": setup, "command": command, "cpu_count": os.cpu_count(), "profiles": summarise(args, done)}
    text = json.dumps(result, indent=1)
    atomic_write_text(out / f"{stem}.json", text, "out")
    atomic_write_text(out / f"{stem}.md", markdown(result), "out")
    written = [out / f"{stem}.json", out / f"{stem}.md"]
    if not args.quick and not args.no_assets:
        written.append(atomic_write_text(ROOT / "assets" / "compare.json", text, "assets"))
    for path in written:
        path.chmod(0o644)  # readable like any other shipped file
    print(markdown(result))
    print(f"wrote {out / (stem + '.md')} and {out / (stem + '.json')}; regenerate with: {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
