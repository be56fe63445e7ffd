"""Images per second of ResNet-32 training on CIFAR-sized batches: the GPU-resident loader with
augmentation on the device (procrustes_core) against a standard torchvision DataLoader, as a ratio.

Needs a CUDA GPU; without one it records that the figure could not be measured (no numbers are
invented). Synthetic CIFAR-shaped data are used, so no download is needed.
Run: .venv/bin/python benchmarks/cifar_epoch.py [--images 10000] [--epochs 2] [--amp]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from procrustes_core.data.augment import CropFlip
from procrustes_core.models import resnet32

from common import machine, save


def resident(x: torch.Tensor, y: torch.Tensor, model, opt, batch: int, amp: bool) -> None:
    augment = CropFlip(padding=4, seed=0)
    order = torch.randperm(len(y), device=x.device)
    for start in range(0, len(y), batch):
        idx = order[start:start + batch]
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            loss = F.cross_entropy(model(augment(x[idx])).float(), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def dataloader(images: np.ndarray, labels: np.ndarray, model, opt, batch: int, amp: bool, workers: int) -> None:
    import torchvision.transforms as T
    from PIL import Image

    class Cifar(torch.utils.data.Dataset):
        transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor()])

        def __len__(self):
            return len(labels)

        def __getitem__(self, i):
            return self.transform(Image.fromarray(images[i])), int(labels[i])

    loader = torch.utils.data.DataLoader(Cifar(), batch_size=batch, shuffle=True, num_workers=workers,
                                         pin_memory=True)
    for xb, yb in loader:
        xb, yb = xb.cuda(non_blocking=True), yb.cuda(non_blocking=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            loss = F.cross_entropy(model(xb).float(), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--workers", type=int, default=4, help="DataLoader worker processes")
    parser.add_argument("--amp", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        save("cifar_epoch", {"measured": False, "reason": "no CUDA GPU on this machine", "machine": machine()},
             "# CIFAR epoch throughput\n\nNot measured: no CUDA GPU on this machine. Run "
             "`.venv/bin/python benchmarks/cifar_epoch.py` where one is available.\n")
        return
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (args.images, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, args.images)
    x = torch.tensor(images, device="cuda").permute(0, 3, 1, 2).float().div(255)
    y = torch.tensor(labels, device="cuda")
    speeds = {}
    for name in ("resident", "dataloader"):
        torch.manual_seed(0)
        model = resnet32((3, 32, 32), 10).cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
        for epoch in range(args.epochs + 1):  # the first epoch warms up kernels and workers
            torch.cuda.synchronize()
            started = time.perf_counter()
            if name == "resident":
                resident(x, y, model, opt, args.batch, args.amp)
            else:
                dataloader(images, labels, model, opt, args.batch, args.amp, args.workers)
            torch.cuda.synchronize()
            if epoch:
                speeds.setdefault(name, []).append(args.images / (time.perf_counter() - started))
    resident_speed, loader_speed = np.median(speeds["resident"]), np.median(speeds["dataloader"])
    lines = ["# CIFAR epoch throughput (ResNet-32)", "",
             f"{torch.cuda.get_device_name()}, {args.images} images, batch {args.batch}, amp {args.amp}, "
             f"median of {args.epochs} epochs after one warm-up epoch.", "",
             "| loader | images/s |", "|---|---|",
             f"| GPU-resident, augmentation on the device | {resident_speed:.0f} |",
             f"| torchvision DataLoader ({args.workers} workers) | {loader_speed:.0f} |", "",
             f"Ratio resident / DataLoader: **{resident_speed / loader_speed:.2f}×**", "",
             "Reproduce: `.venv/bin/python benchmarks/cifar_epoch.py`"]
    save("cifar_epoch", {"measured": True, "images_per_s": {"resident": resident_speed, "dataloader": loader_speed},
                         "ratio": resident_speed / loader_speed, "args": vars(args), "machine": machine()},
         "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
