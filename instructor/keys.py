"""The answer keys (``instructor/answer_keys.md``), made from the worked solutions: for every lesson, each
answer line the solution writes (``my_... = ...``) and the solution's explanations, in order.

    python -m instructor.keys          # rewrite answer_keys.md
"""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOLUTIONS = HERE / "solutions"
KEYS = HERE / "answer_keys.md"
ANSWER = re.compile(r"^(my_\w+) = (.+)$", re.MULTILINE)


def _title(notebook) -> str:
    first = notebook.cells[0].source.splitlines()[0] if notebook.cells else ""
    return first.lstrip("# ").replace(" — worked solutions", "").strip()


def render() -> str:
    """The answer keys of every worked solution, as Markdown."""
    import nbformat

    lines = ["# Answer keys", "",
             "Made from `instructor/solutions/` by `python -m instructor.keys`; do not edit by hand. Each answer is "
             "the line the worked solution writes. Where it is computed from the run (`round(comparison.mean)`, a "
             "comparison's `wins`), the check grades the learner against the learner's own run; "
             "`expected_ranges.md` gives the full-size values to expect.", ""]
    for path in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        lines += [f"## {_title(notebook)}", "", f"Worked solution: `instructor/solutions/{path.name}`", ""]
        for cell in notebook.cells[1:]:
            if cell.cell_type == "code":
                for name, value in ANSWER.findall(cell.source):
                    lines.append(f"* `{name} = {value.strip()}`")
            elif cell.source.lstrip().startswith(("**Answer", "**Prediction", "**Written question", "**Exercise")):
                lines += ["", "> " + cell.source.strip().replace("\n", "\n> "), ""]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    KEYS.write_text(render(), encoding="utf-8")
    print(f"wrote {KEYS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
