"""Run a grid of configs (e.g. ratio × strength × seed) and collect one tidy row per run.

Backends: ``serial`` (in this process), ``local`` (a process pool sized to the cores) and ``ray``
(an existing Ray cluster with ``address``, otherwise a local Ray started for the sweep). Every point
trains with a fixed number of torch threads (the base config's, else 1), so the same seeds give the
same results on every backend. With ``out_dir`` each finished run is saved at once as
``runs/<id>.json`` — by this process alone: workers (local processes or Ray tasks on other machines)
send their histories back and never touch ``out_dir``. Running the sweep again reads those files back
instead of training them again, so an interrupted sweep loses at most the runs that were in flight.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .analysis.history import RunHistory
from .config import TrainConfig, field_names, field_rule
from .errors import ProcrustesError
from .files import atomic_write_text

BACKENDS = ("serial", "local", "ray")
Progress = Callable[[int, int, dict], None]


def grid_configs(base: TrainConfig, grid: Mapping[str, Sequence[Any]]) -> list[TrainConfig]:
    """Every combination of the grid's values applied to ``base`` (validated)."""
    for name, values in grid.items():
        if name not in field_names():
            raise ProcrustesError(f"grid setting {name!r}: expected one of {', '.join(field_names())}")
        if not isinstance(values, (list, tuple)) or not values:
            raise ProcrustesError(f"grid {name}={values!r}: expected a non-empty list of values")
    mfw_knobs = [name for name in grid if name.startswith("mfw_")]
    if mfw_knobs and base.mixer != "mfw" and "mixer" not in grid:
        raise ProcrustesError(f"grid {mfw_knobs[0]}={list(grid[mfw_knobs[0]])!r} with mixer={base.mixer!r}: "
                              "MFW settings act only with the mfw mixer; add mixer=mfw to the base settings")
    names = list(grid)
    return [base.replace(**dict(zip(names, combo))) for combo in itertools.product(*(grid[n] for n in names))]


def parse_grid_values(name: str, text: str) -> list[Any]:
    """``"10,50,100"`` for setting ``name`` as a list of typed values (``counts`` takes ``;`` between lists)."""
    if name not in field_names():
        raise ProcrustesError(f"grid setting {name!r}: expected one of {', '.join(field_names())}")
    rule = field_rule(name)
    parts = text.split(";") if name == "counts" else text.split(",")
    return [rule.parse(part.strip()) for part in parts if part.strip()]


def load_grid_file(path: str | Path) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Read ``base`` settings and a ``grid`` from a YAML or TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ProcrustesError(f"grid file {str(path)!r}: cannot be read ({err.strerror or err})") from None
    try:
        if path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as err:  # noqa: BLE001 - any parser error is the file's fault
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        kind = path.suffix.lstrip('.').upper() or 'YAML'
        raise ProcrustesError(f"grid file {str(path)!r}: not valid {kind} ({first})") from None
    if not isinstance(data, dict) or not isinstance(data.get("grid", {}), dict) or not isinstance(
            data.get("base", {}), dict):
        raise ProcrustesError(f"grid file {str(path)!r}: expected a mapping with 'base' and 'grid' sections")
    grid = {k: v if isinstance(v, list) else [v] for k, v in (data.get("grid") or {}).items()}
    return dict(data.get("base") or {}), grid


def point_id(config: TrainConfig) -> str:
    """A short stable name for a config, used as its history file name when resuming."""
    return hashlib.sha1(config.to_json().encode()).hexdigest()[:12]


def result_row(history: RunHistory, settings: Sequence[str] = ()) -> dict[str, Any]:
    """The chosen settings and the last epoch's overall and group metrics of one run."""
    config, last = history.config, history.last
    row: dict[str, Any] = {name: getattr(config, name) for name in settings}
    row.update({"seed": config.seed, "epochs_done": len(history.records), "stopped": history.stopped})
    if last is not None:
        row.update({"balanced_acc": last.balanced_acc, "accuracy": last.accuracy, "seconds": last.seconds})
        row.update({f"test_acc_{g}": v for g, v in last.group_test_acc.items()})
        row.update({f"train_acc_{g}": v for g, v in last.group_train_acc.items()})
        row["tail_test_acc"] = last.group_test_acc[history.tail]
    return row


def train_point(config_dict: dict[str, Any]) -> dict[str, Any]:
    """Train one grid point (in any process, on any machine) and return its history as a dict.

    Nothing is written here: the sweep's driver saves what comes back."""
    from .errors import TrainingDiverged
    from .training.trainer import Trainer

    trainer = Trainer(TrainConfig.from_dict(config_dict))
    try:
        for _ in trainer.epochs():
            pass
    except TrainingDiverged:
        pass  # the history records where and why it stopped
    return trainer.history.to_dict()


def _pool_initializer() -> None:
    import torch

    torch.set_num_threads(1)


def run_sweep(base: TrainConfig, grid: Mapping[str, Sequence[Any]], out_dir: str | Path | None = None,
              backend: str = "serial", workers: int | None = None, address: str | None = None,
              progress: Progress | None = None):
    """Train every grid point and return one row per point (a pandas DataFrame, in grid order).

    ``progress(done, total, row)`` is called as points finish. With ``out_dir``: histories under
    ``runs/``, points already there are not trained again, and ``results.csv`` is written at the end.
    """
    import pandas as pd

    if backend not in BACKENDS:
        raise ProcrustesError(f"backend={backend!r}: expected one of {', '.join(BACKENDS)}")
    if workers is not None and workers < 1:
        raise ProcrustesError(f"workers={workers}: expected an integer ≥ 1")
    threads = base.threads or 1
    configs = [c.replace(threads=threads) for c in grid_configs(base, grid)]
    settings = list(grid)
    folder = Path(out_dir) if out_dir is not None else None
    if folder is not None:
        try:
            (folder / "runs").mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ProcrustesError(f"out_dir={str(folder)!r}: cannot be created ({err.strerror or err})") from None
    paths = [str(folder / "runs" / f"{point_id(c)}.json") if folder is not None else None for c in configs]
    rows: list[dict[str, Any] | None] = [None] * len(configs)
    todo = []
    for i, path in enumerate(paths):
        if path is not None and Path(path).exists():
            rows[i] = result_row(RunHistory.load(path), settings)
        else:
            todo.append(i)
    done = len(configs) - len(todo)
    if progress is not None and done:
        progress(done, len(configs), {})

    def finished(i: int, history_dict: dict[str, Any]) -> None:
        nonlocal done
        history = RunHistory.from_dict(history_dict, f"grid point {i}")
        if paths[i] is not None:
            history.save(paths[i])
        rows[i] = result_row(history, settings)
        done += 1
        if progress is not None:
            progress(done, len(configs), rows[i])

    jobs = [(i, configs[i].to_dict()) for i in todo]
    if backend == "serial" or not jobs:
        for i, config_dict in jobs:
            finished(i, train_point(config_dict))
    elif backend == "local":
        _run_local(jobs, workers or max(1, (os.cpu_count() or 1) // threads), finished)
    else:
        _run_ray(jobs, workers, address, finished)
    frame = pd.DataFrame(rows)
    if folder is not None:
        atomic_write_text(folder / "results.csv", frame.to_csv(index=False), "out_dir")
    return frame


def _run_local(jobs, workers, finished) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited torch threads or locks
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context,
                             initializer=_pool_initializer) as pool:
        futures = {pool.submit(train_point, config_dict): i for i, config_dict in jobs}
        for future in as_completed(futures):
            finished(futures[future], future.result())


def _run_ray(jobs, workers, address, finished) -> None:
    try:
        import ray
    except ImportError:
        raise ProcrustesError("backend='ray': Ray is not installed; pip install 'procrustes[cluster]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        try:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
        except Exception as err:  # noqa: BLE001 - Ray raises plain Exception when its processes do not start
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            where = f"cannot join the Ray cluster at {address!r}" if address else "the local Ray did not start"
            raise ProcrustesError(f"backend='ray': {where} ({first})") from None
    try:
        remote = ray.remote(num_cpus=1)(train_point)
        pending = {remote.remote(config_dict): i for i, config_dict in jobs}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                finished(pending.pop(ref), ray.get(ref))
    finally:
        if started_here:
            ray.shutdown()


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
