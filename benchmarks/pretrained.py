"""What the pretrained backbone costs on a CPU: seconds per epoch of model resnet18-pretrained on
mnist-5k (step-10, 100 training samples of the largest class), fine-tuned or frozen, at several
``backbone_size`` values, beside the small 2-D CNN — all in one run, one torch thread. The weights
are random ones in torchvision's format (a file of the right keys: the speed does not depend on their
values); no accuracy is claimed here, as ImageNet's weights are not on this machine.

Writes benchmarks/results/pretrained.md and pretrained.json.

    python benchmarks/pretrained.py             # sizes 32, 64, 112
    python benchmarks/pretrained.py --sizes 32  # one size
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
import torchvision  # noqa: E402

from procrustes_core import TrainConfig  # noqa: E402
from procrustes_core.models.pretrained import BACKBONES  # noqa: E402
from procrustes_core.training.budget import price  # noqa: E402
from procrustes_core.training.trainer import Trainer  # noqa: E402

from common import machine, save  # noqa: E402


def seconds_per_epoch(config: TrainConfig, epochs: int = 2) -> float:
    """Wall seconds of the last of ``epochs`` epochs (the first also warms the kernels up)."""
    trainer = Trainer(config)
    trainer.train_epoch()
    took = []
    for _ in range(epochs - 1):
        start = time.perf_counter()
        trainer.train_epoch()
        took.append(time.perf_counter() - start)
    return min(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 112])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        weights = Path(home) / BACKBONES["resnet18-pretrained"].file
        torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
        base = TrainConfig(dataset="mnist-5k", ratio=10, n_max=100, epochs=3, batch_size=64, threads=1, device="cpu",
                           backbone_weights=str(weights))
        rows = [("cnn2d", "-", "full", seconds_per_epoch(base.replace(model="cnn2d")),
                 price(base.replace(model="cnn2d")).flops)]
        for size in args.sizes:
            for frozen in (False, True):
                config = base.replace(model="resnet18-pretrained", backbone_size=size, backbone_frozen=frozen)
                rows.append(("resnet18-pretrained", size, "frozen" if frozen else "fine-tuned",
                             seconds_per_epoch(config), price(config).flops))
    samples = Trainer(base.replace(model="cnn2d")).data.counts
    lines = ["# The pretrained backbone on a CPU", "",
             f"mnist-5k step-10, {sum(samples)} training samples, batch 64, one torch thread; "
             f"`python benchmarks/pretrained.py` (commit {machine()['commit']}, {os.cpu_count()} cores).", "",
             "| model | backbone_size | layers trained | seconds per epoch | priced TFLOP (3 epochs) |",
             "|---|---|---|---|---|"]
    lines += [f"| {m} | {s} | {t} | {sec:.2f} | {flops / 1e12:.3f} |" for m, s, t, sec, flops in rows]
    lines += ["", "Ratios measured in this one run. A frozen backbone skips the backward pass through the "
              "pretrained layers, but each epoch also evaluates the training and test splits (forward passes "
              "only), which freezing does not shorten; the price is the budget's, which counts every run as "
              "trained fully. The cost grows with the square of backbone_size."]
    save("pretrained", {"machine": machine(), "rows": [dict(zip(("model", "size", "trained", "seconds", "flops"), r))
                                                       for r in rows]}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
