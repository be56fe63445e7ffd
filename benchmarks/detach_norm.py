"""Why detaching MFW's partner collapses at the learner's budget: the penultimate features' norm, epoch by epoch.

With ``mfw_detach`` a weakened sample's loss sees its partner's share ``(1 − λ) h_j`` as a constant, so the
only way left to lower it is to grow its own features until that share no longer counts; every sample of the
batch is told the same, the features' norm runs away and the loss diverges. Mixing after block 2, the next
block's BatchNorm divides any growth away. This script trains the story preset's data (``story_presets.py``:
MNIST-1D step-100, 20,000 samples, 30 epochs, cnn1d BatchNorm width 32, MFW s 0.5 the first half) one seed at a
time with and without detaching, at the penultimate features and after block 2, and records per epoch the mean
norm of the penultimate features of 2,000 training samples (eval mode), the training loss, and at the end the
balanced test accuracy with post-hoc logit adjustment (τ = 1).

    python benchmarks/detach_norm.py            # 4 seeds, then results/detach_norm.md/.json
    python benchmarks/detach_norm.py --quick    # 1 seed, 4 epochs
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, save  # noqa: E402

SEEDS = [201, 202, 203, 204]
BASE = dict(dataset="mnist1d", profile="step", ratio=100.0, n_samples=20_000, epochs=30, model="cnn1d", norm="batch",
            width=32, threads=1, device="cpu", la_tau=0.0, mixer="mfw", mfw_strength=0.5, mfw_schedule="warmup",
            mfw_until=0.5)
SETTINGS = {f"{layer}, {'partner detached' if detach else 'not detached'}": dict(mfw_layer=layer, mfw_detach=detach)
            for layer in ("penultimate", "block2") for detach in (False, True)}


def one_run(config: dict) -> dict:
    """One seed: per-epoch feature norm and loss, the final balanced accuracy with LA."""
    import torch

    from procrustes_core import TrainConfig
    from procrustes_core.methods.posthoc import PostHoc
    from procrustes_core.training.trainer import Trainer

    torch.set_num_threads(1)
    trainer = Trainer(TrainConfig.from_dict(config))
    probe = trainer.x_train[:2000]
    norms, losses = [], []
    started = time.perf_counter()
    while not trainer.finished:
        record = trainer.train_epoch()
        if record is None:
            break
        trainer.model.eval()
        with torch.no_grad():
            norms.append(float(trainer.model.features(probe).norm(dim=1).mean()))
        losses.append(float(record.train_loss))
    final = trainer.score("test", PostHoc(la_tau=1.0)).balanced_acc
    return {"norms": norms, "losses": losses, "balanced_la": float(final), "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 4 epochs")
    args = parser.parse_args()
    seeds = SEEDS[:1] if args.quick else SEEDS
    epochs = 4 if args.quick else BASE["epochs"]
    results: dict[str, list[dict]] = {}
    for name, change in SETTINGS.items():
        for seed in seeds:
            row = one_run({**BASE, **change, "epochs": epochs, "seed": seed})
            results.setdefault(name, []).append({"seed": seed, **row})
            print(f"{name}, seed {seed}: norm {row['norms'][0]:.1f} → {max(row['norms']):.1f} (max), loss max "
                  f"{max(row['losses']):.2f}, balanced + LA {row['balanced_la']:.3f}, {row['seconds']:.0f} s",
                  flush=True)
    half = epochs // 2
    lines = ["# Detaching MFW's partner: the penultimate features' norm", "",
             f"MNIST-1D step-100, {BASE['n_samples']:,} samples, {epochs} epochs, cnn1d BatchNorm width 32, MFW s 0.5 "
             f"for the first {half} epochs; seeds {', '.join(map(str, seeds))}, one at a time (`Trainer`), one thread. "
             "Norm: mean ‖h‖ of the penultimate features of 2,000 training samples after each epoch (eval mode).", "",
             "| setting | ‖h‖ after epoch 1 | ‖h‖ at the end of weakening | largest ‖h‖ | largest training loss | "
             "balanced test accuracy + LA | seeds at chance (< 15 %) |", "|---|---|---|---|---|---|---|"]
    for name, rows in results.items():
        mean = lambda values: sum(values) / len(values)  # noqa: E731
        lines.append(f"| {name} | {mean([r['norms'][0] for r in rows]):.1f} | "
                     f"{mean([r['norms'][max(0, half - 1)] for r in rows]):.1f} | "
                     f"{mean([max(r['norms']) for r in rows]):.1f} | {mean([max(r['losses']) for r in rows]):.2f} | "
                     f"{100 * mean([r['balanced_la'] for r in rows]):.1f} % | "
                     f"{sum(r['balanced_la'] < 0.15 for r in rows)}/{len(rows)} |")
    lines += ["", "Means over the seeds. Command: `python benchmarks/detach_norm.py`.", ""]
    save("detach_norm", {"machine": machine(), "base": BASE, "seeds": seeds, "epochs": epochs, "results": results},
         "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
