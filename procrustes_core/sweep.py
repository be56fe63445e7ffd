"""Run a grid of configs (e.g. ratio × strength × seed) and collect one tidy row per run.

Backends: ``serial`` (in this process), ``local`` (a process pool sized to the cores) and ``ray``
(an existing Ray cluster with ``address``, otherwise a local Ray started for the sweep). Every point
trains with a fixed number of torch threads (the base config's, else 1), so the same seeds give the
same results on every backend. With ``out_dir`` each finished run is saved at once as
``runs/<id>.json`` — by this process alone: workers (local processes or Ray tasks on other machines)
send their histories back and never touch ``out_dir``. Running the sweep again reads those files back
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
import threading
import time
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


def _one_line(err: BaseException) -> str:
    """An error as one line: a ProcrustesError's own message, else its type and first line."""
    try:
        text = str(err).strip()
    except Exception:  # noqa: BLE001 - an error whose message cannot be made is still named by its type
        text = ""
    text = shown(text.splitlines()[0], 300, quote=False) if text else ""
    if isinstance(err, ProcrustesError):
        return text
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def train_point(config_dict: dict[str, Any]) -> dict[str, Any]:
    """Train one grid point (in any process, on any machine) and return its history as a dict, or
    ``{"failed": reason}`` when it cannot train (``n_max`` past the dataset, a missing ``mfw_layer`` ...).

    Nothing is written here: the sweep's driver saves what comes back."""
    from .errors import TrainingDiverged
    from .training.trainer import Trainer

    try:
        trainer = Trainer(TrainConfig.from_dict(config_dict))
        try:
            for _ in trainer.epochs():
                pass
        except TrainingDiverged:
            pass  # the history records where and why it stopped
        return trainer.history.to_dict()
    except Exception as err:  # noqa: BLE001 - one point's failure is recorded, the sweep goes on
        return {"failed": _one_line(err)}


def _pool_initializer(driver: int) -> None:
    import torch

    torch.set_num_threads(1)
    # a worker whose driver was killed (kill -9 gives it no chance to stop the pool) exits too
    threading.Thread(target=_exit_with, args=(driver,), daemon=True).start()


def _exit_with(driver: int) -> None:
    while os.getppid() == driver:
        time.sleep(0.5)
    os._exit(1)


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
    ray, own_ray = _start_ray(workers, address) if backend == "ray" else (None, False)  # before any file
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
        if own_ray:
            ray.shutdown()
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

    def finished(i: int, result: dict[str, Any]) -> None:
        nonlocal done
        try:
            if "failed" in result:
                raise ProcrustesError(str(result["failed"]))
            history = RunHistory.from_dict(result, f"grid point {i}")
        except ProcrustesError as err:  # the point's own problem: recorded, and the sweep goes on
            rows[i] = failed_row(configs[i], _one_line(err), settings)
        else:
            if paths[i] is not None:
                history.save(paths[i])  # a folder that stops taking files ends the sweep (one line)
            rows[i] = {**result_row(history, settings), "failed": None}
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
        _run_ray(ray, jobs, finished)
    return pd.DataFrame(rows)


def _run_local(jobs, workers, finished) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from .training.spawn import bare_main

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited torch threads or locks
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context,
                             initializer=_pool_initializer, initargs=(os.getpid(),)) as pool:
        with bare_main():  # the workers start on submit; none re-runs the caller's script
            futures = {pool.submit(train_point, config_dict): i for i, config_dict in jobs}
        try:
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as err:  # noqa: BLE001 - a worker that died (killed, out of memory)
                    result = {"failed": f"the worker process failed ({_one_line(err)})"}
                finished(futures[future], result)
        except BaseException:  # a save failed, or Ctrl-C: do not train the points still queued
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _start_ray(workers, address):
    """Ray connected to ``address``, to a local Ray started here, or to the caller's running one, and
    whether the sweep started it (and shuts it down); one line if Ray is not there or does not start."""
    try:
        import ray
    except ImportError:
        raise ProcrustesError("backend='ray': Ray is not installed; pip install 'procrustes[cluster]'") from None
    if ray.is_initialized():
        return ray, False
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
    except Exception as err:  # noqa: BLE001 - Ray raises plain Exception when its processes do not start
        where = f"cannot join the Ray cluster at {shown(address)}" if address else "the local Ray did not start"
        raise ProcrustesError(f"backend='ray': {where} ({shown(_one_line(err), 120, quote=False)})") from None
    return ray, True


def _run_ray(ray, jobs, finished) -> None:
    remote = ray.remote(num_cpus=1)(train_point)
    pending = {remote.remote(config_dict): i for i, config_dict in jobs}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            i = pending.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as err:  # noqa: BLE001 - a task whose worker or node died
                result = {"failed": f"the Ray task failed ({_one_line(err)})"}
            finished(i, result)


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
