"""The story on real data shipped in packages, and how fast a learner's own file reaches its first epoch.

1. On mnist-5k (real MNIST digits, step imbalance) and the breast-cancer table (its natural imbalance,
   and step imbalance), with paired seeds: does MFW + LA beat ERM + LA, and which remedy helps most?
   Every remedy is trained on the same seeds and scored plain and with post-hoc logit adjustment
   (tau 1) on the same training; each is compared with ERM + LA by the core's paired comparison
   (the mean difference, its 95 % t-interval and the win count). Balanced test accuracy, and the
   test accuracy of the minor classes.
2. Time to the first epoch of a generated CSV of 100,000 rows × 30 columns, and of a folder of 5,000
   small PNG images (both written to a temporary folder): reading the file, building the run's data,
   and its first epoch.

Writes benchmarks/results/real_data.md and real_data.json.

    python benchmarks/real_data.py              # 5 seeds, short runs (about 20 CPU-minutes: 31 min on 2 cores
                                                # shared with other work, load average 5-6)
    python benchmarks/real_data.py --render     # rewrite the Markdown from the saved JSON
    python benchmarks/real_data.py --quick      # 2 seeds, 2 epochs: a smoke run
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from procrustes_core import TrainConfig  # noqa: E402
from procrustes_core.analysis.compare import paired_comparison  # noqa: E402
from procrustes_core.methods.posthoc import PostHoc  # noqa: E402

from common import machine, save  # noqa: E402

REMEDIES = {  # name → the methods that select it (procrustes methods)
    "erm": (), "mfw": ("mfw",), "weighted-ce": ("weighted-ce",), "balanced-softmax": ("balanced-softmax",),
    "class-balanced": ("class-balanced",), "drw": ("drw",), "focal": ("focal",),
}
SETTINGS = {  # the data a remedy is tried on
    "mnist-5k step-10": {"dataset": "mnist-5k", "profile": "step", "ratio": 10},
    "breast-cancer natural": {"dataset": "breast-cancer", "profile": "natural", "batch_size": 32},
    "breast-cancer step-10": {"dataset": "breast-cancer", "profile": "step", "ratio": 10, "batch_size": 32},
}
EPOCHS = {"mnist-5k": 12, "breast-cancer": 30}


def story(seeds: list[int], quick: bool, workers: int) -> dict:
    from procrustes_core.analysis.seeds import final_score
    from procrustes_core.training.seeds import run_seeds

    found = {}
    for label, setting in SETTINGS.items():
        epochs = 2 if quick else EPOCHS[setting["dataset"]]
        base = TrainConfig(**setting, epochs=epochs, threads=1)
        configs = {name: base.with_methods(*methods) if methods else base for name, methods in REMEDIES.items()}
        configs["drw"] = configs["drw"].replace(drw_epoch=max(1, round(0.6 * epochs)))  # re-weight the last 40 %
        start = time.perf_counter()
        runs = run_seeds(configs, seeds, workers=workers, variants={"LA": PostHoc(la_tau=1.0)})
        elapsed = time.perf_counter() - start
        tail = runs["erm"][0].tail
        rows = {}
        for name, histories in runs.items():
            scores = {}
            for variant in (None, "LA"):
                key = name + (" + LA" if variant else "")
                scores[key] = {"balanced": [final_score(h, "balanced_acc", None, variant) for h in histories],
                               "minor": [final_score(h, "test_acc", tail, variant) for h in histories]}
            rows.update(scores)
        reference = rows["erm + LA"]
        verdicts = {}
        for key, scores in rows.items():
            if key == "erm + LA":
                continue
            verdicts[key] = {metric: paired_comparison(reference[metric], scores[metric], seeds, "erm + LA", key)
                             .to_dict() for metric in ("balanced", "minor")}
        found[label] = {"setting": setting, "epochs": epochs, "tail": tail, "seconds": round(elapsed, 1),
                        "scores": rows, "verdicts": verdicts,
                        "counts": runs["erm"][0].counts, "test_per_class": _test_per_class(base)}
        print(f"{label}: {elapsed:.0f} s", file=sys.stderr)
    return found


def _test_per_class(config: TrainConfig) -> list[int]:
    from procrustes_core.data.datasets import per_class_test_samples

    return per_class_test_samples(config)


def time_to_first_epoch(folder: Path, quick: bool) -> dict:
    """Seconds to read, to build the run's data, and to train the first epoch, for a big CSV and an image folder."""
    from PIL import Image

    from procrustes_core.data.datasets import build_data
    from procrustes_core.data.yours import load_your_data
    from procrustes_core.training.trainer import Trainer

    rng = np.random.default_rng(0)
    rows = 10_000 if quick else 100_000
    csv = folder / "big.csv"
    y = rng.choice(["fraud", "normal"], size=rows, p=[0.02, 0.98])
    x = rng.normal(size=(rows, 30)) + (y == "fraud")[:, None] * 0.5
    header = ",".join(f"f{i}" for i in range(30)) + ",label\n"
    start = time.perf_counter()
    with open(csv, "w") as handle:
        handle.write(header)
        for row, label in zip(x, y):
            handle.write(",".join(f"{v:.5f}" for v in row) + f",{label}\n")
    written_csv = time.perf_counter() - start
    images = folder / "images"
    n_images = 1_000 if quick else 5_000
    for i in range(n_images):
        cls = f"class-{i % 5}"
        (images / cls).mkdir(parents=True, exist_ok=True)
        pixels = (rng.random((28, 28)) * 255 * (0.2 + 0.2 * (i % 5))).astype(np.uint8)
        Image.fromarray(pixels, "L").save(images / cls / f"{i}.png")
    found = {}
    for label, path in ((f"CSV {rows:,} rows × 30 columns", csv), (f"image folder of {n_images:,} PNG 28×28", images)):
        start = time.perf_counter()
        yours = load_your_data(str(path), epochs=1, threads=1)
        read = time.perf_counter() - start
        start = time.perf_counter()
        data = build_data(yours.config)
        built = time.perf_counter() - start
        start = time.perf_counter()
        trainer = Trainer(yours.config, data=data)
        next(iter(trainer.epochs()))
        first = time.perf_counter() - start
        found[label] = {"read_s": round(read, 2), "build_s": round(built, 2), "first_epoch_s": round(first, 2),
                        "total_s": round(read + built + first, 2), "training_samples": len(data.y_train),
                        "input_shape": list(data.input_shape), "classes": data.class_names}
        print(f"{label}: {found[label]}", file=sys.stderr)
    found["csv_written_s"] = round(written_csv, 1)
    return found


def markdown(result: dict) -> str:
    lines = ["# Real data: the story on mnist-5k and breast-cancer, and your own file's first epoch", "",
             f"Command: `{result['command']}`; seeds {result['seeds']}; machine {result['machine']}.", "",
             "Every remedy is trained on the same seeds and scored plain and with post-hoc logit adjustment (LA, "
             "tau 1) on the same training. Differences are against **ERM + LA**, paired by seed: mean (95 % "
             "t-interval) in points, and on how many seeds the remedy was ahead.", ""]
    for label, found in result["story"].items():
        lines += [f"## {label} ({found['epochs']} epochs; training counts {found['counts']}; "
                  f"test {found['test_per_class'][0]} per class; {found['seconds']:.0f} s)", "",
                  f"| remedy | balanced acc. | {found['tail']} classes | Δ balanced vs ERM + LA | "
                  f"Δ {found['tail']} vs ERM + LA |", "|---|---|---|---|---|"]
        for key, scores in found["scores"].items():
            cells = [f"{np.mean(scores['balanced']):.3f}", f"{np.mean(scores['minor']):.3f}"]
            for metric in ("balanced", "minor"):
                verdict = found["verdicts"].get(key, {}).get(metric)
                if verdict is None:
                    cells.append("—")
                    continue
                lo, hi = verdict["lo"], verdict["hi"]
                cells.append(f"{verdict['mean']:+.1f} [{lo:+.1f}, {hi:+.1f}] ({verdict['wins']}/{verdict['n']})")
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
        mfw = found["verdicts"]["mfw + LA"]["balanced"]
        beyond = sorted(((v["balanced"]["mean"], k) for k, v in found["verdicts"].items() if v["balanced"]["lo"] > 0),
                        reverse=True)
        helps = ("beyond seed noise over ERM + LA in balanced accuracy: "
                 + ", ".join(f"{k} ({m:+.1f})" for m, k in beyond)) if beyond else \
            "no remedy beats ERM + LA in balanced accuracy beyond seed noise"
        lines += ["", f"MFW + LA vs ERM + LA: {mfw['mean']:+.1f} points [{mfw['lo']:+.1f}, "
                  f"{mfw['hi']:+.1f}], ahead on {mfw['wins']} of {mfw['n']} seeds; {helps}.", ""]
    lines += ["## Time to the first epoch of your own file", "",
              "| input | read (s) | build the run's data (s) | first epoch (s) | total (s) | training samples |",
              "|---|---|---|---|---|---|"]
    for label, found in result["first_epoch"].items():
        if isinstance(found, dict):
            lines.append(f"| {label} | {found['read_s']} | {found['build_s']} | {found['first_epoch_s']} | "
                         f"{found['total_s']} | {found['training_samples']:,} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--render", action="store_true", help="rewrite the Markdown from the saved JSON, train nothing")
    args = parser.parse_args()
    if args.render:
        from common import RESULTS

        result = json.loads((RESULTS / "real_data.json").read_text())
        save("real_data", result, markdown(result))
        return
    seeds = list(range(2 if args.quick else args.seeds))
    result = {"command": "python benchmarks/real_data.py" + (" --quick" if args.quick else ""), "seeds": seeds,
              "machine": machine()}
    with tempfile.TemporaryDirectory() as folder:
        result["first_epoch"] = time_to_first_epoch(Path(folder), args.quick)
    result["story"] = story(seeds, args.quick, args.workers)
    save("real_data" + ("_quick" if args.quick else ""), result, markdown(result))


if __name__ == "__main__":
    main()
