"""The command line's part for data: ``--data FILE`` trains on your own data, ``procrustes datasets``
lists every dataset with its source, licence, size and classes, and a training says what it holds."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .errors import ProcrustesError, shown

YOUR_DATA = "your-data"


def your_data_settings(data: dict[str, Any], flags: list[str]) -> None:
    """``--data PATH`` selects dataset ``your-data`` with its natural imbalance (unless a profile is given)."""
    if data.get("data_path") is None:
        return
    if "dataset" in flags and data.get("dataset") != YOUR_DATA:
        raise ProcrustesError(f"--data with --dataset {shown(data.get('dataset'), quote=False)}: --data trains on your "
                              f"own file (dataset {YOUR_DATA}); leave out --dataset")
    data["dataset"] = YOUR_DATA
    data.setdefault("profile", "natural")


def tell_data(data: Any, out: Any = None) -> None:
    """One line: each class's name and training samples, and the test samples per class."""
    import numpy as np

    test = np.bincount(data.y_test.numpy(), minlength=data.num_classes)
    classes = ", ".join(f"{name} {count}" for name, count in zip(data.class_names, data.counts))
    shown_test = f"{int(test[0])} per class" if len(set(test.tolist())) == 1 else ", ".join(map(str, test.tolist()))
    print(f"classes (training samples): {classes}; test samples: {shown_test}", file=out or sys.stderr)


def datasets_text() -> str:
    """Every registered dataset: what it holds, its size, classes, source and licence."""
    from .data.registry import dataset_rows

    lines = []
    for row in dataset_rows():
        shape, classes = "×".join(map(str, row["shape"])), ", ".join(row["classes"])
        holds = (f"{row['kind']} {shape}; {len(row['classes'])} classes: {shown(classes, 100, quote=False)}"
                 if classes else "kind, shape and classes: your file's")
        lines += [f"{row['name']:14s} {row['description']}", f"{'':14s}   {holds}",
                  f"{'':14s}   size:    {row['size']}",
                  f"{'':14s}   source:  {row['source']}",
                  f"{'':14s}   licence: {row['licence']}", ""]
    lines.append("Your own data: procrustes train --data FILE.csv --label COLUMN (or an NPZ of x and y, or a folder "
                 "of class sub-folders of images).")
    return "\n".join(lines)


def cmd_datasets(args: argparse.Namespace) -> int:
    from .data.registry import dataset_rows

    print(json.dumps(dataset_rows(), indent=1, ensure_ascii=False) if args.json else datasets_text())
    return 0


def add_datasets_command(sub: Any) -> None:
    datasets = sub.add_parser("datasets", help="list every dataset: its size, classes, source and licence")
    datasets.add_argument("--json", action="store_true", help="machine-readable list")
    datasets.set_defaults(func=cmd_datasets)
