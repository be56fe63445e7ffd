"""Sweeps: grids, resuming from saved runs, the same results on every backend, and the CLI."""

import os
from pathlib import Path

import pytest

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.cli import main
from procrustes_core.sweep import grid_configs, load_grid_file, parse_grid_values, run_sweep
from procrustes_core.training import worker as worker_module

BASE = TrainConfig(n_samples=1000, width=8, epochs=1, batch_size=64, mixer="mfw")
GRID = {"ratio": [10.0, 50.0], "mfw_strength": [0.0, 0.9]}


def test_grid_has_every_combination():
    configs = grid_configs(BASE, GRID)
    assert [(c.ratio, c.mfw_strength) for c in configs] == [(10, 0), (10, 0.9), (50, 0), (50, 0.9)]


@pytest.mark.parametrize("grid, message", [({"colour": [1]}, "'colour'"), ({"ratio": []}, "non-empty"),
                                           ({"ratio": [0.5]}, "ratio=0.5")])
def test_bad_grids_are_named(grid, message):
    with pytest.raises(ProcrustesError, match=message):
        grid_configs(BASE, grid)


def test_grid_values_parse_by_setting_type():
    assert parse_grid_values("ratio", "10,100") == [10.0, 100.0]
    assert parse_grid_values("mfw_layer", "input,block2") == ["input", "block2"]
    assert parse_grid_values("counts", "5,3;4,4") == [[5, 3], [4, 4]]


def test_sweep_resumes_without_training_finished_points(tmp_path, monkeypatch):
    first = run_sweep(BASE, GRID, tmp_path)
    assert len(first) == 4 and (tmp_path / "results.csv").exists()
    assert len(list((tmp_path / "runs").glob("*.json"))) == 4
    (sorted((tmp_path / "runs").glob("*.json"))[0]).unlink()  # as if that run was in flight when interrupted
    trained = []
    original = worker_module.train_and_ship
    monkeypatch.setattr(worker_module, "train_and_ship", lambda *a: trained.append(a) or original(*a))
    again = run_sweep(BASE, GRID, tmp_path)
    assert len(trained) == 1
    assert again.drop(columns="seconds").equals(first.drop(columns="seconds"))


def test_a_grid_points_seeds_train_stacked_in_one_request_and_each_gets_its_row(monkeypatch):
    trained = []
    original = worker_module.train_and_ship
    monkeypatch.setattr(worker_module, "train_and_ship", lambda *a: trained.append(a[0].seed_list()) or original(*a))
    frame = run_sweep(BASE, {"ratio": [10.0, 50.0], "seed": [0, 1, 2]})
    assert sorted(trained) == [[0, 1, 2], [0, 1, 2]]  # one request per grid point, its seeds together
    assert list(zip(frame["ratio"], frame["seed"])) == [(10, 0), (10, 1), (10, 2), (50, 0), (50, 1), (50, 2)]
    assert frame["failed"].isna().all() and frame["balanced_acc"].notna().all()
    assert frame["balanced_acc"].nunique() > 1  # each row is its own seed's run


@pytest.mark.slow
def test_local_pool_gives_the_same_results_as_serial(tmp_path):
    serial = run_sweep(BASE, GRID)
    pooled = run_sweep(BASE, GRID, backend="local", workers=2)
    columns = ["ratio", "mfw_strength", "balanced_acc", "tail_test_acc"]
    assert serial[columns].equals(pooled[columns])


def test_pool_workers_never_re_run_the_callers_main_script(page_script_as_main):
    pooled = run_sweep(BASE, {"ratio": [10.0, 50.0]}, backend="local", workers=2)
    assert pooled["failed"].isna().all() and pooled["balanced_acc"].notna().all()


@pytest.mark.slow
def test_a_ray_cluster_sweep_matches_serial_and_only_the_driver_writes(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray", reason="Ray is in the dev extra: pip install -e '.[dev]'")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})  # the head trains nothing
    cluster.add_node(num_cpus=2)  # a second node: every grid point trains there
    driver = tmp_path / "driver"
    driver.mkdir()
    monkeypatch.chdir(driver)  # out_dir below is relative: a worker writing it would write into its own folder
    try:
        serial = run_sweep(BASE, {"ratio": [10.0, 50.0]})
        on_ray = run_sweep(BASE, {"ratio": [10.0, 50.0]}, out_dir="sweep", backend="ray", address=cluster.address)
        ray.init(address=cluster.address, log_to_driver=False)
        worker_folder = ray.get(ray.remote(num_cpus=1)(lambda: os.getcwd()).remote())
        ray.shutdown()
    finally:
        cluster.shutdown()
    columns = ["ratio", "balanced_acc", "tail_test_acc"]
    assert "balanced_acc" in on_ray, on_ray["failed"].tolist()
    assert serial[columns].equals(on_ray[columns])
    assert len(list((driver / "sweep" / "runs").glob("*.json"))) == 2 and (driver / "sweep" / "results.csv").exists()
    assert Path(worker_folder).resolve() != driver.resolve() and not (Path(worker_folder) / "sweep").exists()


def test_a_grid_over_mfw_settings_without_the_mfw_mixer_is_refused():
    with pytest.raises(ProcrustesError, match="grid mfw_strength=.*mixer='none'.*mixer=mfw"):
        grid_configs(BASE.replace(mixer="none"), GRID)
    assert len(grid_configs(BASE.replace(mixer="none"), {**GRID, "mixer": ["mfw"]})) == 4


def test_unknown_backend_is_named():
    with pytest.raises(ProcrustesError, match="backend='spark'"):
        run_sweep(BASE, GRID, backend="spark")


def test_grid_file_yaml_and_toml(tmp_path):
    yaml_file = tmp_path / "grid.yaml"
    yaml_file.write_text("base:\n  epochs: 2\ngrid:\n  ratio: [10, 100]\n  seed: 3\n")
    assert load_grid_file(yaml_file) == ({"epochs": 2}, {"ratio": [10, 100], "seed": [3]})
    toml_file = tmp_path / "grid.toml"
    toml_file.write_text("[base]\nepochs = 2\n[grid]\nmfw_strength = [0.0, 0.5]\n")
    assert load_grid_file(toml_file) == ({"epochs": 2}, {"mfw_strength": [0.0, 0.5]})
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid: [unclosed")
    with pytest.raises(ProcrustesError, match="bad.yaml.*not valid YAML"):
        load_grid_file(bad)


def test_cli_sweep_writes_table_runs_and_heatmaps(tmp_path, capsys):
    grid = tmp_path / "grid.yaml"
    grid.write_text("base:\n  n_samples: 1000\n  width: 8\n  epochs: 1\n  mixer: mfw\n"
                    "grid:\n  mfw_strength: [0.0, 0.9]\n")
    out = tmp_path / "sweep"
    code = main(["sweep", "--file", str(grid), "--grid", "ratio=10,50", "--out-dir", str(out),
                 "--backend", "serial", "--quiet"])
    assert code == 0
    assert (out / "results.csv").read_text().count("\n") == 5
    assert (out / "heatmap_balanced_acc.html").exists() and len(list((out / "runs").iterdir())) == 4
    assert "4 runs" in capsys.readouterr().out


def test_cli_sweep_errors_are_one_line(tmp_path, capsys):
    assert main(["sweep", "--grid", "ratio", "--out-dir", str(tmp_path / "x")]) == 2
    assert main(["sweep", "--out-dir", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
    assert not (tmp_path / "x").exists()
