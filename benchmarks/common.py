"""Helpers shared by the benchmarks: where results go, how to save them, paired statistics."""

from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """What the figures were measured on."""
    return {"python": platform.python_version(), "torch": torch.__version__, "cpu_count": torch.get_num_threads(),
            "processor": platform.processor() or platform.machine(), "cuda": torch.cuda.is_available(),
            "commit": _commit()}


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        return ""


def save(name: str, data: dict, markdown: str) -> None:
    """Write ``results/<name>.json`` and ``results/<name>.md`` and print the Markdown."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, default=float))
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)


def read_cache(path: Path, keep=lambda row: True) -> dict[str, dict]:
    """The rows of a JSON-lines run cache by their ``key`` (rows that ``keep`` rejects left out)."""
    done: dict[str, dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                if keep(row):
                    done[row["key"]] = row
    return done


def mean_std(values: list[float]) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f}"


def paired_interval(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Mean of ``a - b`` and its 95 % t-interval (paired by seed), from the core's paired comparison."""
    from procrustes_core.analysis.compare import paired_comparison

    return paired_comparison(b, a, scale=1.0).interval
