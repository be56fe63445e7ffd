"""The expected full-size range of every prediction in the lessons: which predictions a lesson grades
(read from its cells), what its saved full-size run measured for each, and the table a teacher reads
(``instructor/expected_ranges.md``), all made by ``benchmarks/lesson_times.py --size full --ship``."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXPECTED = HERE / "expected"  # one JSON file per lesson: <lesson stem>.json
TABLE = HERE / "expected_ranges.md"
# A graded prediction: check_prediction(measured, my_..., ...) or check_times_prediction(values, my_..., ...).
GRADED = re.compile(r"check_(times_)?prediction\(\s*([^,]+?),\s*(my_\w+)")


def graded_predictions(notebook: Any) -> list[str]:
    """The names of the prediction variables a lesson grades, in the order its cells grade them."""
    found: list[str] = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            found += [name for _, _, name in GRADED.findall(cell.source)]
    return found


def prediction_cells(notebook: Any) -> list[str]:
    """The names of the cells where a learner writes a prediction (``my_..._prediction = None``)."""
    return [m for cell in notebook.cells if cell.cell_type == "code"
            for m in re.findall(r"^(my_\w*prediction) = None", cell.source, re.MULTILINE)]


def expected_from_records(notebook: Any, records: Sequence[dict], source: str) -> dict:
    """Pair the recorded measurements of one full-size run with the predictions they grade, in order."""
    names = graded_predictions(notebook)
    if len(records) != len(names):
        raise ValueError(f"{source}: {len(records)} graded predictions recorded, {len(names)} in the cells")
    return {"source": source, "predictions": {name: dict(row) for name, row in zip(names, records)}}


def save_expected(stem: str, expected: dict) -> Path:
    """Write one lesson's expected ranges, then rewrite the table of all lessons."""
    EXPECTED.mkdir(parents=True, exist_ok=True)
    path = EXPECTED / f"{stem}.json"
    path.write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    TABLE.write_text(render(), encoding="utf-8")
    return path


def load_expected() -> dict[str, dict]:
    """Every lesson's saved expected ranges, by lesson stem."""
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXPECTED.glob("*.json"))}


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}×" if unit == "times" else f"{value:+.1f}"


def render() -> str:
    """The teacher's table: for every graded prediction, what the full-size run measured and what the
    check accepts as right."""
    lines = ["# Expected full-size range of every prediction", "",
             "Measured by each lesson's saved full-size run (`lessons/full_size/`, made by "
             "`make lesson-outputs`, i.e. `python benchmarks/lesson_times.py --size full --ship`), graded by the "
             "lesson's own check: *measured* is the mean over the seeds with its 95 % interval; *accepted* is the "
             "range `check_prediction` (or `check_times_prediction`) grades as right on that run. A learner's run "
             "on other seeds or a changed preset measures other numbers: the check always grades against the "
             "learner's own run; this table is what to expect, not the key.", "",
             "| lesson | prediction | what | unit | measured | 95 % interval | seeds | accepted |",
             "|---|---|---|---|---|---|---|---|"]
    for stem, data in load_expected().items():
        for name, row in data["predictions"].items():
            unit = row["unit"]
            interval = ("—" if row["lo"] is None else
                        f"[{_number(row['lo'], unit)}, {_number(row['hi'], unit)}]")
            lo, hi = row["accepted"]
            lines.append(f"| {stem[:2]} | `{name}` | {row['what']} | {unit} | {_number(row['mean'], unit)} | "
                         f"{interval} | {row['seeds']} | {_number(lo, unit)} … {_number(hi, unit)} |")
    return "\n".join(lines) + "\n"
