"""Run every benchmark in turn (``make bench``); each prints its figures and saves them under results/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (script, arguments): quick ones first; the accuracy studies take the longest.
BENCHMARKS = [
    ("overhead.py", []),
    ("seeds.py", []),
    ("stacked_seeds.py", []),
    ("stacked_fronts.py", []),
    ("stacked_methods.py", []),
    ("app_latency.py", []),
    ("app_memory.py", []),
    ("classroom.py", []),
    ("classroom.py", ["--ray"]),
    ("lesson_times.py", []),
    ("lesson_in_browser.py", []),
    ("sweep_scaling.py", []),
    ("cifar_epoch.py", []),
    ("fidelity.py", []),
    ("make_sweep_grid.py", []),
    ("compare.py", []),
    ("story_presets.py", []),
    ("detach_norm.py", []),
    ("detach_block2.py", []),
    ("story_mfw.py", ["--jobs", "2"]),
    ("boundary_default.py", []),
    ("browser_walk.py", []),
    ("real_data.py", []),
    ("uploads.py", []),
    ("upload.py", []),
    ("pretrained.py", []),
]


def main() -> int:
    failed = []
    for script, args in BENCHMARKS:
        path = HERE / script
        if not path.exists():
            print(f"-- {script}: not present, skipped")
            continue
        print(f"== {script} {' '.join(args)}", flush=True)
        if subprocess.call([sys.executable, str(path), *args], cwd=HERE) != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
