"""Upload load on the Compare page: what five large run files cost each rerun of the page.

Builds run files of about ``--mb`` megabytes (100 classes, a confusion matrix every epoch), then measures
in one run: parsing every file on every rerun (what the page did before uploads were read once) against
``app.uploads.read_uploads`` on its first run and on later runs (a look-up by upload id), and the whole
Compare page rerun in Streamlit's AppTest with the files attached against without them.

    python benchmarks/uploads.py            # 5 files of about 19 MB
    python benchmarks/uploads.py --mb 2     # a quick look
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from procrustes_core import EpochRecord, RunHistory, TrainConfig  # noqa: E402

from common import machine, save  # noqa: E402

CLASSES = 100


def big_run(megabytes: float, seed: int = 0) -> bytes:
    """A valid run file of about ``megabytes`` MB: 100 classes and a confusion matrix every epoch."""
    per_record = 34_000  # bytes of one epoch's record with a 100 × 100 confusion matrix
    epochs = max(1, int(megabytes * 1e6 / per_record))
    counts = [1000 - 9 * c for c in range(CLASSES)]
    history = RunHistory(TrainConfig(dataset="digits", epochs=epochs, seed=seed), counts,
                         {"major": list(range(50)), "minor": list(range(50, CLASSES))},
                         [f"class {c}" for c in range(CLASSES)])
    per_class = [0.5] * CLASSES
    for e in range(1, epochs + 1):
        history.records.append(EpochRecord(
            epoch=e, train_acc=per_class, test_acc=per_class, loss=per_class, grad_norm=per_class,
            precision=per_class, recall=per_class, f1=per_class, accuracy=0.5, balanced_acc=0.5, seconds=float(e),
            group_train_acc={"major": 0.5, "minor": 0.5}, group_test_acc={"major": 0.5, "minor": 0.5},
            train_loss=1.0, confusion=[[10 * (r == c) + 1 for c in range(CLASSES)] for r in range(CLASSES)]))
    return history.to_json().encode()


class Upload:
    """Streamlit's uploaded file, as far as the page uses it."""

    def __init__(self, name: str, data: bytes):
        self.name, self.data, self.size, self.file_id = name, data, len(data), f"upload-{name}"

    def getvalue(self) -> bytes:
        return self.data


def seconds(action, repeat: int = 1) -> float:
    """The median wall time of ``action`` over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=19.0, help="size of each run file (MB)")
    parser.add_argument("--files", type=int, default=5)
    args = parser.parse_args()
    from app.uploads import read_uploads

    files = [Upload(f"run{i}.json", big_run(args.mb, seed=i)) for i in range(args.files)]  # distinct contents
    data = files[0].data
    total_mb = sum(f.size for f in files) / 1e6

    def every_time() -> None:  # the page before: every file parsed on every rerun
        for f in files:
            RunHistory.from_json(f.getvalue(), f.name)

    cache: dict = {}

    def once() -> None:
        read_uploads(files, RunHistory.from_json, cache, max_files=20, max_total_bytes=10**9,
                     max_file_bytes=10**8)

    parse_all = seconds(every_time)
    first = seconds(once)
    later = seconds(once, repeat=20)

    from app_support import TINY, new_app

    def page(with_files: bool):
        at = new_app(TINY, timeout=600).run()
        at.switch_page("views/compare.py").run()
        if with_files:
            at.file_uploader[0].set_value([(f.name, f.data, "application/json") for f in files]).run()
        return at

    plain, loaded = page(False), page(True)
    assert not loaded.exception and len([t for t in loaded.text if "run" in t.value]) == 0, "a file was refused"
    rerun_plain = seconds(plain.run, repeat=5)
    rerun_loaded = seconds(loaded.run, repeat=5)
    rows = {"files": len(files), "mb_each": round(len(data) / 1e6, 1), "mb_total": round(total_mb, 1),
            "parse_every_rerun_s": parse_all, "read_once_first_s": first, "read_once_later_s": later,
            "page_rerun_without_files_s": rerun_plain, "page_rerun_with_files_s": rerun_loaded,
            "page_rerun_before_s": parse_all + rerun_plain,
            "page_rerun_speedup": (parse_all + rerun_plain) / rerun_loaded}
    markdown = "\n".join([
        "# Upload load on the Compare page", "",
        f"{len(files)} run files of {len(data) / 1e6:.1f} MB ({total_mb:.0f} MB in all), measured in one run "
        f"(`python benchmarks/uploads.py --mb {args.mb:g} --files {args.files}`).", "",
        "| what | seconds |", "|---|---|",
        f"| parse every file (each rerun, before) | {parse_all:.2f} |",
        f"| read_uploads, first run (hash + parse once) | {first:.2f} |",
        f"| read_uploads, each later run (median of 20) | {later:.6f} |",
        f"| Compare page rerun without files (median of 5) | {rerun_plain:.3f} |",
        f"| Compare page rerun with the files (median of 5) | {rerun_loaded:.3f} |", "",
        f"A rerun of the page with these files now costs {rerun_loaded:.2f} s; before, it also parsed every file, "
        f"about {parse_all + rerun_plain:.1f} s ({rows['page_rerun_speedup']:.0f}× as long). The files are "
        "hashed and parsed once, on the run that receives them.", "",
    ])
    save("uploads", {"machine": machine(), **rows}, markdown)


if __name__ == "__main__":
    main()
