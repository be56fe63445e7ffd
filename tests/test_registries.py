"""One place per concept: the dataset registry, MFW's defaults and its construction from a config,
the names below the config, presets, seeds, the plain baseline and a grid's rows and verdict."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.analysis.compare import paired_comparison
from procrustes_core.analysis.grid import grid_verdict, result_row
from procrustes_core.analysis.history import EpochRecord, RunHistory
from procrustes_core.config import field_rule
from procrustes_core.data.datasets import build_data, load_pool, outline
from procrustes_core.data.loaders import Pool
from procrustes_core.data.registry import DATASETS, Dataset, class_names, dataset_entry, register
from procrustes_core.methods.catalogue import METHODS, baseline_of, check_combination, prior_corrections
from procrustes_core.names import LOSSES, MFW, MIXERS, SAMPLERS, check_seeds, seed_count, seed_range

# ------------------------------------------------------------------ datasets


def test_every_dataset_choice_of_the_config_is_a_registry_entry_with_named_classes():
    assert field_rule("dataset").options == tuple(DATASETS)
    for name, entry in DATASETS.items():
        if entry.from_path:  # your own data: kind, shape and classes are the file's
            assert entry.source and entry.licence and not entry.classes, name
            continue
        assert entry.kind in ("signal", "image", "vector"), name
        assert entry.source and entry.licence and entry.description, name
        assert len(class_names(name)) == entry.num_classes >= 2, name
    assert class_names("fashion-mnist")[9] == "Ankle boot"
    assert len(class_names("cifar100")) == 100 and class_names("cifar100")[0] == "apple"
    assert class_names("toy2d", "moons") == ["moons-0", "moons-1"]


def test_an_unknown_dataset_is_one_line():
    with pytest.raises(ProcrustesError, match=r"^dataset='nope': expected one of mnist1d, digits"):
        class_names("nope")


def _three_rings(options) -> Pool:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    angle = rng.uniform(0, 2 * np.pi, len(y))
    x = np.stack([np.cos(angle), np.sin(angle)], 1) * (1 + y[:, None]) + rng.normal(0, 0.1, (len(y), 2))
    x = x.astype(np.float32)
    return Pool("rings", x[::2], y[::2], x[1::2], y[1::2], ["inner", "middle", "outer"], "vector")


@pytest.fixture
def rings():
    entry = register(Dataset("rings", "vector", (2,), ("inner", "middle", "outer"), "three rings of points",
                             "generated in this test", "none", _three_rings))
    yield entry
    del DATASETS["rings"]
    load_pool.cache_clear()


def test_a_dataset_added_by_one_entry_is_a_setting_with_data_names_and_an_outline(rings):
    config = TrainConfig(dataset="rings", profile="step", ratio=4, model="auto")
    check_combination(config.replace(sampler="smote"))  # vectors: SMOTE may interpolate them
    data = build_data(config)
    assert data.class_names == ["inner", "middle", "outer"] and data.kind == "vector"
    assert data.counts == [20, 5, 5]
    assert outline(config).num_classes == 3 and outline(config).input_shape == (2,)
    assert class_names("rings") == ["inner", "middle", "outer"]
    assert "rings" in field_rule("dataset").options


def test_a_registered_name_cannot_be_registered_twice(rings):
    with pytest.raises(ProcrustesError, match="already registered"):
        register(rings)


def test_a_loader_whose_files_hold_other_classes_is_refused_in_one_line(rings):
    register(dataclasses.replace(rings, name="rings-2", classes=("a", "b")))
    try:
        with pytest.raises(ProcrustesError, match=r"the files hold 3 classes, the dataset has 2"):
            load_pool("rings-2")
    finally:
        del DATASETS["rings-2"]


def test_images_are_not_interpolated_by_smote_and_the_message_names_the_datasets_that_are():
    vectors = r"feature vectors \(mnist1d, digits, toy2d, breast-cancer, wine, your-data\)"
    with pytest.raises(ProcrustesError, match=vectors):
        check_combination(TrainConfig(dataset="cifar10", sampler="smote"))
    assert dataset_entry("cifar10").model == "resnet32" and dataset_entry("digits").model == "mlp"


# ------------------------------------------------------------------ names and the catalogue


def test_the_names_below_the_config_and_the_catalogue_describe_the_same_methods():
    for kind, names in (("loss", LOSSES), ("sampler", SAMPLERS), ("mixer", MIXERS)):
        assert tuple(n for n, m in METHODS.items() if m.kind == kind) == names
        assert field_rule(kind).options == names


# ------------------------------------------------------------------ MFW


def test_mfw_defaults_are_the_configs_the_mixers_and_the_hooks():
    from procrustes_core.methods.hooks import FeatureWeakening, weaken_features
    from procrustes_core.methods.mfw import MajorFeatureWeakening

    config = TrainConfig()
    for f in dataclasses.fields(MFW):
        assert getattr(config, f"mfw_{f.name}") == getattr(MFW, f.name), f.name
    mixer = MajorFeatureWeakening([10, 1])
    for knob in ("strength", "schedule", "until", "gamma", "coef", "alpha", "prob", "weights", "detach", "after_norm"):
        assert getattr(mixer, knob) == getattr(MFW, knob), knob
    import inspect

    assert inspect.signature(weaken_features).parameters["strength"].default == MFW.strength
    hook = inspect.signature(FeatureWeakening).parameters
    assert (hook["strength"].default, hook["schedule"].default, hook["until"].default) == (
        MFW.strength, MFW.schedule, MFW.until)


def test_from_config_hands_every_mfw_setting_to_the_mixer_by_name():
    from procrustes_core.methods.mfw import MajorFeatureWeakening

    config = TrainConfig(mixer="mfw", mfw_strength=0.7, mfw_gamma=2.0, mfw_schedule="cosine", mfw_until=0.3,
                         mfw_coef="beta", mfw_alpha=0.4, mfw_prob=0.6, mfw_weights="progress", mfw_detach=True,
                         mfw_after_norm=True, epochs=12, seed=5)
    mixer = MajorFeatureWeakening.from_config(config, [100, 10], position=2, num_positions=4)
    knobs = [name for name in config.to_dict() if name.startswith("mfw_") and name != "mfw_layer"]
    assert len(knobs) == 10
    for name in knobs:
        assert getattr(mixer, name.removeprefix("mfw_")) == getattr(config, name), name
    assert (mixer.position, mixer.num_positions, mixer.epochs) == (2, 4, 12)
    twin = MajorFeatureWeakening.from_config(config, [100, 10], position=2, num_positions=4)
    assert np.array_equal(mixer.rng.random(4), twin.rng.random(4))  # the run's seed


def test_every_mfw_setting_of_the_config_is_a_knob_of_the_mfw_method():
    knobs = {name for name in TrainConfig().to_dict() if name.startswith("mfw_")}
    assert set(METHODS["mfw"].params) == knobs and len(knobs) == 11


def test_mfw_until_equal_stops_on_the_narrators_caught_up_rule():
    from procrustes_core.methods.mfw import MajorFeatureWeakening
    from procrustes_core.methods.schedules import CAUGHT_UP, MAJOR_FITTED, caught_up

    groups = {"major": [0], "minor": [1]}
    mixer = MajorFeatureWeakening([100, 10], strength=0.8, schedule="until-equal", epochs=10)
    mixer.after_epoch([MAJOR_FITTED, CAUGHT_UP * MAJOR_FITTED - 0.01], groups)
    assert mixer.strength_at(1) == 0.8 and not caught_up(MAJOR_FITTED, CAUGHT_UP * MAJOR_FITTED - 0.01)
    mixer.after_epoch([MAJOR_FITTED, CAUGHT_UP * MAJOR_FITTED], groups)
    assert mixer.strength_at(2) == 0.0 and caught_up(MAJOR_FITTED, CAUGHT_UP * MAJOR_FITTED, major_fitted=True)


# ------------------------------------------------------------------ baseline


def test_the_baseline_of_any_config_switches_every_method_off_and_keeps_data_network_and_seed():
    loaded = TrainConfig(dataset="toy2d", ratio=20, width=16, seed=7, attention="se", epochs=12, loss="ldam",
                         mixer="mfw", augment="noise", augment_classes="minor", grad_scale="adaptive",
                         weight_schedule="linear", la_tau=1.0, tau_norm=0.5, bbn=True, drw_epoch=3,
                         classifier_retrain_epochs=2, init_checkpoint="net.pt", finetune="linear-probe")
    plain = baseline_of(loaded)
    assert (plain.loss, plain.sampler, plain.mixer, plain.augment) == ("ce", "instance", "none", "none")
    assert (plain.grad_scale, plain.weight_schedule, plain.bbn, plain.drw_epoch) == ("none", "constant", False, 0)
    assert (plain.la_tau, plain.tau_norm, plain.classifier_retrain_epochs) == (0.0, 0.0, 0)
    assert (plain.init_checkpoint, plain.finetune) == (None, "full")
    assert prior_corrections(plain) == []
    assert (plain.dataset, plain.ratio, plain.width, plain.seed, plain.attention, plain.epochs) == (
        "toy2d", 20.0, 16, 7, "se", 12)


@pytest.mark.parametrize("name", [n for n, m in METHODS.items() if not (m.kind == "network" and not m.corrects_prior)])
def test_every_method_of_the_catalogue_is_off_in_the_baseline(name):
    base = TrainConfig(epochs=30)
    assert baseline_of(base.with_methods(name)) == baseline_of(base)


# ------------------------------------------------------------------ seeds


def test_seeds_are_counted_ranged_and_checked_in_one_place():
    assert seed_range(5, 3) == [5, 6, 7]
    assert seed_count("4") == 4 and seed_count(2, limit=2) == 2
    with pytest.raises(ProcrustesError, match=r"^seeds='0': expected a count from 1 to 64$"):
        seed_count("0")
    with pytest.raises(ProcrustesError, match="expected a count from 1 to 3"):
        seed_range(0, 4, limit=3)
    with pytest.raises(ProcrustesError, match=r"expected seeds from 0 to 2147483647"):
        seed_range(2**31 - 2, 3)
    with pytest.raises(ProcrustesError, match="each seed once"):
        check_seeds([1, 1])
    assert check_seeds(range(100), limit=None) == list(range(100))


def test_the_command_line_and_the_service_use_the_same_seed_rules():
    from procrustes_core.cli import parse_seeds

    assert parse_seeds("3", 10) == seed_range(10, 3)
    with pytest.raises(ProcrustesError, match="expected a count from 1 to 64"):
        parse_seeds("65", 0)
    with pytest.raises(ProcrustesError, match="each seed once"):
        parse_seeds("1,1", 0)


# ------------------------------------------------------------------ presets


def test_the_app_presets_are_the_core_runs_by_the_same_name_and_old_names_still_open_them():
    from app.presets import PRESETS as APP
    from procrustes_core.presets import PRESETS, preset_config, preset_name

    for name, page in APP.items():
        assert page.title == PRESETS[name].title
        assert page.query == TrainConfig(**PRESETS[name].settings).to_query()
    assert APP["paper-story"] is APP["mnist1d-story"] and APP["paper-setting"] is APP["mnist1d-paper"]
    assert "paper-story" not in list(APP) and "cifar10-lt-paper" not in APP
    assert preset_name("paper-setting") == "mnist1d-paper"
    assert preset_config("paper-story") == preset_config("mnist1d-story")
    with pytest.raises(ProcrustesError, match=r"^preset='nope': expected one of mnist1d-story, underfit-overfit"):
        preset_config("nope")


# ------------------------------------------------------------------ grids


def _history(ratio: float, strength: float, seed: int, balanced: float) -> RunHistory:
    config = TrainConfig(ratio=ratio, mfw_strength=strength, seed=seed, mixer="mfw", epochs=1)
    groups = {"major": [0], "minor": [1]}
    history = RunHistory(config, [100, 1], groups, ["a", "b"])
    history.records.append(EpochRecord(
        epoch=1, train_acc=[1.0, 0.5], test_acc=[0.9, 0.3], loss=[0.1, 0.9], grad_norm=[0.1, 0.2],
        precision=[0.9, 0.3], recall=[0.9, 0.3], f1=[0.9, 0.3], accuracy=0.6, balanced_acc=balanced, seconds=1.0,
        group_train_acc={"major": 1.0, "minor": 0.5}, group_test_acc={"major": 0.9, "minor": 0.3},
        mfw_strength=strength))
    return history


def test_a_grid_row_holds_the_settings_seed_and_last_scores():
    row = result_row(_history(10.0, 0.5, 3, 0.61), ("ratio", "mfw_strength"))
    assert (row["ratio"], row["mfw_strength"], row["seed"], row["balanced_acc"], row["tail_test_acc"]) == (
        10.0, 0.5, 3, 0.61, 0.3)


def test_the_grid_verdict_pairs_by_seed_at_the_largest_ratio_against_strength_zero():
    values = {(0.0, 0): 0.50, (0.0, 1): 0.52, (0.0, 2): 0.40, (0.5, 0): 0.55, (0.5, 1): 0.60, (0.9, 1): 0.70,
              (0.9, 2): 0.41}
    rows = [result_row(_history(100.0, s, seed, v), ("ratio", "mfw_strength")) for (s, seed), v in values.items()]
    rows.append(result_row(_history(10.0, 0.9, 0, 0.99), ("ratio", "mfw_strength")))  # another ratio: not used
    found = grid_verdict(pd.DataFrame(rows[::-1]))  # row order does not matter
    expected = paired_comparison([0.50, 0.52], [0.55, 0.60], [0, 1], "strength 0", "strength 0.5")
    assert (found.at, found.best) == (100.0, 0.5)  # mean 0.575 beats 0.9's mean 0.555
    assert found.comparison.seeds == [0, 1] and found.comparison.differences == pytest.approx(expected.differences)
    assert found.sentence() == f"At ratio 100: {expected.sentence()}."
    assert grid_verdict([r for r in rows if r["mfw_strength"] != 0.0]) is None
