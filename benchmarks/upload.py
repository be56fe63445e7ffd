"""How long an upload takes on the app's server before its first chart: checking and keeping a CSV of
100,000 rows × 30 columns (also gzip-compressed), and unpacking a zip of 5,000 small PNG images, then
reading the kept data as the run's pool (what the class-count chart waits for). Also the cost of the
zip-bomb check: a bomb declaring 1.6 GB refused from its declared sizes.

Writes benchmarks/results/upload.md and upload.json.

    python benchmarks/upload.py            # full size
    python benchmarks/upload.py --quick    # 10,000 rows and 1,000 images
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from procrustes_core import ProcrustesError, TrainConfig  # noqa: E402
from procrustes_core.data.datasets import pool_for  # noqa: E402
from procrustes_core.data.uploaded import store_upload  # noqa: E402

from common import machine, save  # noqa: E402


def table_bytes(rows: int) -> bytes:
    rng = np.random.default_rng(0)
    y = rng.choice(["fraud", "normal"], size=rows, p=[0.02, 0.98])
    x = rng.normal(size=(rows, 30)) + (y == "fraud")[:, None] * 0.5
    lines = [",".join(f"f{i}" for i in range(30)) + ",label"]
    lines += [",".join(f"{v:.5f}" for v in row) + f",{label}" for row, label in zip(x, y)]
    return ("\n".join(lines) + "\n").encode()


def images_zip(count: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(count):
            pixels = (rng.random((28, 28)) * 255 * (0.2 + 0.2 * (i % 5))).astype(np.uint8)
            picture = io.BytesIO()
            Image.fromarray(pixels, "L").save(picture, format="PNG")
            archive.writestr(f"shapes/class-{i % 5}/{i}.png", picture.getvalue())
    return buffer.getvalue()


def bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("a/1.png", "w", force_zip64=True) as member:
            block = b"\0" * 2**24
            for _ in range(3 * 2**29 // len(block)):  # 1.5 GiB of zeros
                member.write(block)
    return buffer.getvalue()


def timed(name: str, data: bytes, upload: str, folder: Path, label: str | None) -> dict:
    start = time.perf_counter()
    kept = store_upload(data, upload, folder)
    stored = time.perf_counter() - start
    start = time.perf_counter()
    pool = pool_for(TrainConfig(dataset="your-data", profile="natural", data_path=str(kept.path), data_label=label))
    read = time.perf_counter() - start
    row = {"upload_mb": round(len(data) / 1e6, 2), "kept_s": round(stored, 2), "pool_s": round(read, 2),
           "total_s": round(stored + read, 2), "samples": len(pool.y_train) + len(pool.y_test),
           "classes": pool.class_names}
    print(f"{name}: {row}", file=sys.stderr)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows, count = (10_000, 1_000) if args.quick else (100_000, 5_000)
    found: dict = {"machine": machine(), "quick": args.quick}
    with tempfile.TemporaryDirectory() as folder:
        table = table_bytes(rows)
        found[f"CSV {rows:,} rows × 30 columns"] = timed("csv", table, "big.csv", Path(folder, "a"), "label")
        found["the same, gzip-compressed"] = timed("csv.gz", gzip.compress(table), "big.csv.gz", Path(folder, "b"),
                                                    "label")
        found[f"zip of {count:,} PNG 28×28 in 5 class folders"] = timed("zip", images_zip(count), "shapes.zip",
                                                                           Path(folder, "c"), None)
        data = bomb()
        start = time.perf_counter()
        try:
            store_upload(data, "bomb.zip", Path(folder, "d"))
            refusal = "kept (not refused)"
        except ProcrustesError as err:
            refusal = str(err)
        found["zip bomb"] = {"upload_mb": round(len(data) / 1e6, 2), "refused_s": round(time.perf_counter() - start, 3),
                             "message": refusal, "left_on_disk": sorted(p.name for p in Path(folder, "d").glob("*"))}
    lines = ["# Uploads: from the file to the pool a chart is drawn from", "",
             f"Measured on {found['machine']['processor']}, {found['machine']['cpu_count']} threads, commit "
             f"{found['machine']['commit']}{' (quick)' if args.quick else ''}. `kept`: checked and stored under its "
             "content hash (a zip unpacked and its images read); `pool`: read, split and standardised as the "
             "run's data.", "", "| upload | MB | kept (s) | pool (s) | total (s) | samples |",
             "|---|---|---|---|---|---|"]
    for name, row in found.items():
        if isinstance(row, dict) and "kept_s" in row:
            lines.append(f"| {name} | {row['upload_mb']} | {row['kept_s']} | {row['pool_s']} | {row['total_s']} | "
                         f"{row['samples']:,} |")
    bomb_row = found["zip bomb"]
    lines += ["", f"A zip bomb of {bomb_row['upload_mb']} MB declaring 1.6 GB unpacked: refused in "
              f"{bomb_row['refused_s']} s, {bomb_row['left_on_disk'] or 'nothing'} left on disk: "
              f"\"{bomb_row['message']}\"", ""]
    save("upload" + ("_quick" if args.quick else ""), found, "\n".join(lines))


if __name__ == "__main__":
    main()
