"""Run a grid of configs (e.g. ratio × strength × seed) and collect one tidy row per run.

Points train on the engine's executor (``training/executor.py``), the one the training service uses, a
grid point's seeds stacked in one request (``training/stacked.py``) where its config stacks:
``serial`` (in this process), ``local`` (worker processes, as many as the cores) and ``ray`` (an
existing Ray cluster with ``address``, otherwise a local Ray started for the sweep; this package is
shipped to its nodes as the service ships it). Every point
trains with a fixed number of torch threads (the base config's, else 1), so the same seeds give the
same results on every backend. With ``out_dir`` each finished run is saved at once as
``runs/<id>.json`` — by this process alone: workers (local processes or Ray actors on other machines)
send their events back and never touch ``out_dir``. Running the sweep again reads those files back
instead of training them again, so an interrupted sweep loses at most the runs that were in flight;
a file that does not load as that point's run (cut short, edited, another config) is trained again.

A point that fails when it trains (its ``n_max`` exceeds the dataset, its ``mfw_layer`` is not in its
model, a worker process died) does not stop the sweep: its row has the one-line reason in
``failed``, it gets no run file, and the next run of the sweep tries it again. Everything a user can
get wrong about the sweep as a whole (settings, grid, output folder, a Ray that is not there) fails
before anything is trained or written.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .analysis.grid import result_row  # noqa: F401  (re-exported: a sweep row was built here before)
from .analysis.history import RunHistory
from .config import MAX_JSON_DEPTH, TrainConfig, field_names, field_rule, nesting_depth
from .errors import ProcrustesError, shown, shown_path
from .files import (
    atomic_write_bytes,
    atomic_write_text,
    check_output_folder,
    read_limited,
    remove_stale_temporaries,
)
from .training.backends import open_backend
from .training.executor import Outcome, drive, run_batch, seed_requests
from .training.messages import TrainRequest

BACKENDS = ("serial", "local", "ray")
MAX_POINTS = 10_000  # grid points of one sweep
MAX_VALUES = 1_000  # values of one setting in a grid
MAX_GRID_FILE_BYTES = 2**20
Progress = Callable[[int, int, dict], None]


def grid_configs(base: TrainConfig, grid: Mapping[str, Sequence[Any]]) -> list[TrainConfig]:
    """Every combination of the grid's values applied to ``base`` (validated)."""
    for name, values in grid.items():
        if name not in field_names():
            raise ProcrustesError(f"grid setting {shown(name)}: expected one of {', '.join(field_names())}")
        if not isinstance(values, (list, tuple)) or not values or len(values) > MAX_VALUES:
            raise ProcrustesError(f"grid {name}={shown(values)}: expected a non-empty list of at most "
                                  f"{MAX_VALUES} values")
    points = math.prod(len(values) for values in grid.values())
    if points > MAX_POINTS:
        raise ProcrustesError(f"grid={shown(dict(grid))}: {points} points, expected at most {MAX_POINTS}")
    mfw_knobs = [name for name in grid if name.startswith("mfw_")]
    if mfw_knobs and base.mixer != "mfw" and "mixer" not in grid:
        raise ProcrustesError(f"grid {mfw_knobs[0]}={shown(list(grid[mfw_knobs[0]]))} with mixer={base.mixer!r}: "
                              "MFW settings act only with the mfw mixer; add mixer=mfw to the base settings")
    names = list(grid)
    return [base.replace(**dict(zip(names, combo))) for combo in itertools.product(*(grid[n] for n in names))]


def parse_grid_values(name: str, text: str) -> list[Any]:
    """``"10,50,100"`` for setting ``name`` as a list of typed values (``counts`` takes ``;`` between lists)."""
    if name not in field_names():
        raise ProcrustesError(f"grid setting {shown(name)}: expected one of {', '.join(field_names())}")
    rule = field_rule(name)
    parts = [part.strip() for part in (text.split(";") if name == "counts" else text.split(","))]
    if len(parts) > MAX_VALUES:
        raise ProcrustesError(f"grid {name}={shown(text)}: {len(parts)} values, expected at most {MAX_VALUES}")
    return [rule.parse(part) for part in parts if part]


def _yaml_loader():
    """PyYAML's SafeLoader without aliases: a grid needs none, and they build cycles and
    exponentially large documents ("billion laughs")."""
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                raise yaml.YAMLError("aliases (*name) are not supported in grid files")
            return super().compose_node(parent, index)

    return Loader


def load_grid_file(path: str | Path) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Read ``base`` settings and a ``grid`` from a YAML or TOML file (UTF-8, at most 1 MiB)."""
    path = Path(path)
    where = f"grid file {shown_path(path)}"
    kind = "TOML" if path.suffix.lower() == ".toml" else "YAML"
    raw = read_limited(path, "grid file", MAX_GRID_FILE_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ProcrustesError(f"{where}: not UTF-8 text (byte {raw[err.start]:#04x} at position {err.start})") from None
    try:
        if kind == "TOML":
            import tomllib

            data = tomllib.loads(text)
        else:
            import yaml

            data = yaml.load(text, Loader=_yaml_loader())  # a SafeLoader, less aliases
    except RecursionError:
        raise ProcrustesError(f"{where}: not valid {kind} (nested deeper than Python reads)") from None
    except Exception as err:  # noqa: BLE001 - any parser error is the file's fault
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ProcrustesError(f"{where}: not valid {kind} ({shown(first, 120, quote=False)})") from None
    if nesting_depth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ProcrustesError(f"{where}: nested deeper than {MAX_JSON_DEPTH} levels")
    if not isinstance(data, dict) or not isinstance(data.get("grid", {}), (dict, type(None))) or not isinstance(
            data.get("base", {}), (dict, type(None))):
        raise ProcrustesError(f"{where}: expected a mapping with 'base' and 'grid' sections")
    base, grid = dict(data.get("base") or {}), dict(data.get("grid") or {})
    for section, settings in (("base", base), ("grid", grid)):
        unknown = [key for key in settings if key not in field_names()]
        if unknown:
            raise ProcrustesError(f"{where}: {section}: unknown setting {shown(min(unknown, key=shown))}: "
                                  f"expected one of {', '.join(field_names())}")
    return base, {k: v if isinstance(v, list) else [v] for k, v in grid.items()}


def point_id(config: TrainConfig) -> str:
    """A short stable name for a config, used as its history file name when resuming."""
    return hashlib.sha1(config.to_json().encode()).hexdigest()[:12]


def failed_row(config: TrainConfig, reason: str, settings: Sequence[str] = ()) -> dict[str, Any]:
    """The row of a point that could not train: its settings and why (one line)."""
    row: dict[str, Any] = {name: getattr(config, name) for name in settings}
    row.update({"seed": config.seed, "epochs_done": 0, "stopped": None, "failed": reason})
    return row


def _saved(path: str, config: TrainConfig, settings: Sequence[str]) -> dict[str, Any] | None:
    """The row of a point whose run file is there and holds this very config, else None (train it)."""
    if not Path(path).exists():
        return None
    try:
        history = RunHistory.load(path)
    except ProcrustesError:
        return None  # cut short by a crash, or edited: trained again, and the file replaced
    if history.config != config:
        return None
    return {**result_row(history, settings), "failed": None}


def run_sweep(base: TrainConfig, grid: Mapping[str, Sequence[Any]], out_dir: str | Path | None = None,
              backend: str = "serial", workers: int | None = None, address: str | None = None,
              progress: Progress | None = None):
    """Train every grid point and return one row per point (a pandas DataFrame, in grid order).

    ``progress(done, total, row)`` is called as points finish. With ``out_dir``: histories under
    ``runs/``, points already there are not trained again, and ``results.csv`` is written at the end.
    A point that fails to train has its reason in the ``failed`` column (None for the others).
    """
    if backend not in BACKENDS:
        raise ProcrustesError(f"backend={shown(backend)}: expected one of {', '.join(BACKENDS)}")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ProcrustesError(f"workers={shown(workers)}: expected an integer ≥ 1")
    threads = base.threads or 1
    configs = [c.replace(threads=threads) for c in grid_configs(base, grid)]
    settings = list(grid)
    folder = check_output_folder(out_dir, "out_dir") if out_dir is not None else None
    ray = open_backend("ray", workers, address) if backend == "ray" else None  # before any file
    try:
        if folder is not None:
            try:
                (folder / "runs").mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise ProcrustesError(f"out_dir={shown_path(folder)}: cannot be created "
                                      f"({err.strerror or err})") from None
            remove_stale_temporaries(folder / "runs")
        frame = _sweep(configs, settings, folder, backend, workers, threads, ray, progress)
    finally:
        if ray is not None:
            ray.close()
    if folder is not None:
        atomic_write_text(folder / "results.csv", frame.to_csv(index=False), "out_dir")
    return frame


def save_parquet(frame, path: str | Path) -> bool:
    """``frame`` as Parquet at ``path``, atomically; False where pyarrow (or fastparquet) is missing."""
    import io

    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer, index=False)
    except (ImportError, ValueError, TypeError):
        return False  # no Parquet engine, or a column it cannot store: the CSV has everything
    atomic_write_bytes(path, buffer.getvalue(), "out_dir")
    return True


def _sweep(configs, settings, folder, backend, workers, threads, ray, progress):
    import pandas as pd

    paths = [str(folder / "runs" / f"{point_id(c)}.json") if folder is not None else None for c in configs]
    rows: list[dict[str, Any] | None] = [None] * len(configs)
    todo = []
    for i, path in enumerate(paths):
        rows[i] = _saved(path, configs[i], settings) if path is not None else None
        if rows[i] is None:
            todo.append(i)
    done = len(configs) - len(todo)
    if progress is not None and done:
        progress(done, len(configs), {})

    # a grid point's seeds train together, stacked in one request, where the point's config stacks
    requests, where = seed_requests([configs[i] for i in todo],
                                    lambda serial, config, seeds: TrainRequest(serial, config.to_dict(), seeds))

    def finished(request: TrainRequest, outcome: Outcome) -> None:
        nonlocal done
        i = todo[where[(request.serial, outcome.seed)]]
        if outcome.history is None or (outcome.error is not None and not outcome.diverged):
            rows[i] = failed_row(configs[i], outcome.error or "no result came back", settings)
        else:  # a diverged run is a result too: its history says where and why it stopped
            if paths[i] is not None:
                outcome.history.save(paths[i])  # a folder that stops taking files ends the sweep (one line)
            rows[i] = {**result_row(outcome.history, settings), "failed": None}
        done += 1
        if progress is not None:
            progress(done, len(configs), rows[i])

    if backend == "ray":
        drive(ray, requests, finished)
    else:
        run_batch(requests, finished, backend, workers or max(1, (os.cpu_count() or 1) // threads))
    return pd.DataFrame(rows)


def sweep_figures(frame, grid: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """Heatmaps of balanced and tail-class accuracy over the first two grid settings with several values."""
    from .figures.runs import sweep_heatmap

    axes = [name for name, values in grid.items() if len(values) > 1 and name != "seed"]
    if len(axes) < 2 or "balanced_acc" not in frame:
        return {}
    x, y = axes[0], axes[1]
    figures = {"balanced_acc": sweep_heatmap(frame, x, y, "balanced_acc")}
    if "tail_test_acc" in frame:
        figures["tail_test_acc"] = sweep_heatmap(frame, x, y, "tail_test_acc",
                                                 title=f"Minor / few-class test accuracy over {x} × {y}")
    return figures
