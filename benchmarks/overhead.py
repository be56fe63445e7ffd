"""Cost of the per-class diagnostics: train() against bare PyTorch loops on the same data and batches.

Three loops, interleaved and repeated, on the default config (MNIST-1D step-100, 1-D CNN):
  diagnostics  - procrustes_core's Trainer (per-class accuracy, loss, feature-gradient norms, confusion, ...)
  bare + eval  - a plain loop that makes the same evaluation passes (a forward over the training and test sets)
                 but records nothing per class
  bare         - a plain loop with no evaluation at all
Run: .venv/bin/python benchmarks/overhead.py [--epochs 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F

from procrustes_core import TrainConfig, Trainer, build_data
from procrustes_core.models import build_model

from common import machine, save


def bare_loop(config: TrainConfig, data, evaluate: bool) -> float:
    torch.manual_seed(config.seed)
    model = build_model(config.model, data.input_shape, data.num_classes, config.width, data.kind, config.dataset)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    order_rng = torch.Generator().manual_seed(config.seed)
    x, y = data.x_train, data.y_train
    started = time.perf_counter()
    for epoch in range(config.epochs):
        for group in opt.param_groups:
            group["lr"] = config.lr * 0.5 * (1 + math.cos(math.pi * epoch / config.epochs))
        model.train()
        order = torch.randperm(len(y), generator=order_rng)
        for start in range(0, len(y), config.batch_size):
            idx = order[start:start + config.batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if evaluate:
            model.eval()
            with torch.no_grad():
                for xs in (data.x_train, data.x_test):
                    for start in range(0, len(xs), 2048):
                        model(xs[start:start + 2048]).argmax(1)
    return time.perf_counter() - started


def eval_share(config: TrainConfig, data) -> float:
    """Share of the Trainer's epoch time spent in its evaluation passes."""
    trainer = Trainer(config, data)
    spent = {"eval": 0.0}
    original = trainer._record

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent["eval"] += time.perf_counter() - started

    trainer._record = timed
    started = time.perf_counter()
    for _ in trainer.epochs():
        pass
    return spent["eval"] / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    config = TrainConfig(epochs=args.epochs, threads=args.threads)
    torch.set_num_threads(args.threads)
    data = build_data(config)
    times = {"diagnostics": [], "bare + eval": [], "bare": []}
    for _ in range(args.repeats):
        started = time.perf_counter()
        for _ in Trainer(config, data).epochs():
            pass
        times["diagnostics"].append(time.perf_counter() - started)
        times["bare + eval"].append(bare_loop(config, data, evaluate=True))
        times["bare"].append(bare_loop(config, data, evaluate=False))
    median = {k: statistics.median(v) for k, v in times.items()}
    share = eval_share(config, data)
    ratios = {
        "diagnostics / bare+eval": median["diagnostics"] / median["bare + eval"],
        "bare+eval / bare": median["bare + eval"] / median["bare"],
        "diagnostics / bare": median["diagnostics"] / median["bare"],
    }
    lines = [
        "# Overhead of per-class diagnostics",
        "",
        f"Default config (MNIST-1D step-100, {len(data.y_train)} training samples, 1-D CNN width {config.width}), "
        f"{args.epochs} epochs, {args.threads} threads, median of {args.repeats} interleaved repeats.",
        "",
        "| loop | seconds (median) |",
        "|---|---|",
        *[f"| {k} | {v:.2f} |" for k, v in median.items()],
        "",
        "| ratio | value | target |",
        "|---|---|---|",
        f"| diagnostics / bare+eval | {ratios['diagnostics / bare+eval']:.3f} | ≤ 1.10 |",
        f"| bare+eval / bare | {ratios['bare+eval / bare']:.3f} | (cost of the evaluation passes) |",
        f"| diagnostics / bare | {ratios['diagnostics / bare']:.3f} | |",
        "",
        f"Share of the Trainer's time spent in evaluation (both passes + per-class metrics): {share:.1%}",
        "",
        "Reproduce: `.venv/bin/python benchmarks/overhead.py`",
    ]
    save("overhead", {"times": times, "median": median, "ratios": ratios, "eval_share": share,
                      "epochs": args.epochs, "threads": args.threads, "machine": machine()}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
