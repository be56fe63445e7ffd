"""The method zoo inside the trainer: every compatible pair trains, contradictions are refused, DRW on time."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from procrustes_core import ProcrustesError, TrainConfig, Trainer, build_data
from procrustes_core.cli import main as cli_main
from procrustes_core.config import field_rule
from procrustes_core.methods.catalogue import (
    CHECKPOINT_PLACEHOLDER,
    LOSSES,
    METHODS,
    MIXERS,
    SAMPLERS,
    check_combination,
)

ROOT = Path(__file__).resolve().parent.parent
BASE = TrainConfig(n_samples=1000, ratio=10, width=8, epochs=1, threads=1, device="cpu")
REPEATABLE = ("schedule", "post-hoc")  # kinds of which a run may hold several


@pytest.fixture(scope="module")
def data():
    return build_data(BASE)


@pytest.fixture(scope="module")
def checkpoints(data, tmp_path_factory):
    """A checkpoint of the network a run builds (untrained: only its shapes matter here), per network."""
    folder, made = tmp_path_factory.mktemp("checkpoints"), {}

    def checkpoint_for(config: TrainConfig) -> str:
        network = BASE.replace(attention=config.attention, bbn=config.bbn, ldam_cosine=config.ldam_cosine,
                               loss="ldam" if config.loss == "ldam" else "ce")
        key = network.to_query()
        if key not in made:
            made[key] = str(Trainer(network, data).save_checkpoint(folder / f"net{len(made)}.pt"))
        return made[key]

    return checkpoint_for


def pair_settings(a: str, b: str) -> dict | None:
    """Both methods' settings, or None when they set one field to two values (two losses, two samplers)."""
    first, second = METHODS[a].settings, METHODS[b].settings
    if any(key in first and first[key] != value for key, value in second.items()):
        return None
    merged = {**first, **second}
    if "drw_epoch" in merged:
        merged.update(drw_epoch=1, epochs=2)  # one plain epoch, then one re-weighted
    if "classifier_retrain_epochs" in merged:
        merged.update(classifier_retrain_epochs=1)  # one epoch, then one of classifier re-training
    return merged


def pairs() -> list[tuple[str, str, dict]]:
    found = []
    for a, b in itertools.combinations(METHODS, 2):
        if METHODS[a].kind == METHODS[b].kind and METHODS[a].kind not in REPEATABLE:
            continue
        settings = pair_settings(a, b)
        if settings is not None:
            found.append((a, b, settings))
    return found


def is_compatible(settings: dict) -> bool:
    try:
        check_combination(BASE.replace(**settings))
    except ProcrustesError:
        return False
    return True


COMPATIBLE = [p for p in pairs() if is_compatible(p[2])]
INCOMPATIBLE = [p for p in pairs() if not is_compatible(p[2])]


def test_there_are_many_compatible_and_some_incompatible_pairs():
    assert len(COMPATIBLE) > 100 and len(INCOMPATIBLE) > 10


def test_every_compatible_pair_trains_one_epoch(data, checkpoints):
    failures = []
    for a, b, settings in COMPATIBLE:
        config = BASE.replace(**settings)
        if config.init_checkpoint == CHECKPOINT_PLACEHOLDER:  # the catalogue's stand-in for a saved network
            config = config.replace(init_checkpoint=checkpoints(config))
        try:
            trainer = Trainer(config, data)
            record = list(trainer.epochs())[-1]
        except Exception as err:  # collect them all, then fail once with the list
            failures.append(f"{a} + {b}: {err}")
            continue
        if not 0 <= record.balanced_acc <= 1 or record.train_loss != record.train_loss:
            failures.append(f"{a} + {b}: balanced_acc {record.balanced_acc}, train_loss {record.train_loss}")
    assert not failures, "\n".join(failures)


def test_every_incompatible_pair_is_refused_with_one_line_naming_a_field_of_each():
    for a, b, settings in INCOMPATIBLE:
        with pytest.raises(ProcrustesError) as info:
            check_combination(BASE.replace(**settings))
        message = str(info.value)
        assert "\n" not in message
        assert any(key in message for key in METHODS[a].settings), (a, b, message)
        assert any(key in message for key in METHODS[b].settings), (a, b, message)


@pytest.mark.parametrize("settings, message", [
    ({"loss": "balanced-softmax", "la_tau": 1.0},
     "loss='balanced-softmax' and la_tau=1: both correct for the class prior; a run corrects it once, "
     "so keep one of them"),
    ({"loss": "weighted-ce", "drw_epoch": 20},
     "loss='weighted-ce' and drw_epoch=20: both correct for the class prior; a run corrects it once, "
     "so keep one of them"),
    ({"sampler": "class-balanced", "loss": "cb-ce"},
     "loss='cb-ce' and sampler='class-balanced': both correct for the class prior; a run corrects it once, "
     "so keep one of them"),
    ({"dataset": "mnist", "sampler": "smote"},
     "sampler='smote' with dataset='mnist': SMOTE interpolates feature vectors (mnist1d, digits, toy2d, breast-cancer, "
     "wine, your-data), not images; use sampler='oversample'"),
    ({"weight_schedule": "cosine"},
     "weight_schedule='cosine' with loss='ce': there are no class weights to schedule; use loss='weighted-ce' "
     "or 'cb-ce', or grad_scale='adaptive'"),
    ({"drw_epoch": 30}, "drw_epoch=30: re-weighting would start after the last epoch (epochs=30); use 0 (off) "
                        "or fewer plain epochs than the run has"),
    ({"loss": "ldam", "tau_norm": 1.0},
     "tau_norm=1 with loss='ldam' and ldam_cosine=true: the cosine classifier's weights are already normalised; "
     "set ldam_cosine=false or tau_norm=0"),
    ({"augment": "crop-flip"}, "augment='crop-flip': needs images, dataset 'mnist1d' holds signals"),
    ({"dataset": "cifar10", "augment": "time-warp"},
     "augment='time-warp': needs signals, dataset 'cifar10' holds images"),
    ({"bbn": True, "sampler": "class-balanced"},
     "bbn=true with sampler='class-balanced': BBN draws its branches' batches itself (instance and reversed "
     "sampling); keep sampler='instance'"),
    ({"bbn": True, "loss": "balanced-softmax"},
     "loss='balanced-softmax' and bbn=true: both correct for the class prior; a run corrects it once, "
     "so keep one of them"),
    ({"classifier_retrain_epochs": 10, "la_tau": 1.0},
     "la_tau=1 and classifier_retrain_epochs=10: both correct for the class prior; a run corrects it once, "
     "so keep one of them"),
    ({"finetune": "linear-probe"},
     "finetune='linear-probe' with init_checkpoint=None: there is no pre-trained network to probe; give "
     "init_checkpoint (a file of procrustes train --save-checkpoint)"),
    ({"finetune": "linear-probe", "init_checkpoint": "x.pt", "bbn": True},
     "finetune='linear-probe' with bbn=true: a linear probe freezes the features BBN's branches are there to "
     "learn; use finetune='full' or bbn=false"),
])
def test_documented_contradictions_give_their_message(settings, message):
    with pytest.raises(ProcrustesError) as info:
        check_combination(TrainConfig(**settings))
    assert str(info.value) == message
    assert message.split(":")[0] in (ROOT / "docs" / "methods.md").read_text(encoding="utf-8")


def test_the_trainer_refuses_a_contradiction_before_building_data():
    config = TrainConfig(dataset="cifar10", data_dir="/nonexistent", loss="balanced-softmax", la_tau=1.0)
    with pytest.raises(ProcrustesError, match="^loss='balanced-softmax' and la_tau=1: both correct"):
        Trainer(config)


@pytest.mark.parametrize("dataset", ["toy2d", "digits"])
@pytest.mark.parametrize("sampler", ["smote", "borderline-smote"])
def test_smote_trains_on_feature_vectors(dataset, sampler):
    config = TrainConfig(dataset=dataset, n_samples=1000, ratio=10, width=8, epochs=1, threads=1, sampler=sampler)
    trainer = Trainer(config)
    record = next(trainer.epochs())
    assert len(trainer.y_pool) > len(trainer.y_train)  # synthetic samples were added
    assert 0 <= record.balanced_acc <= 1


def test_drw_trains_plain_for_its_epochs_then_reweights(data):
    plain = Trainer(BASE.replace(epochs=3), data)
    deferred = Trainer(BASE.replace(epochs=3, drw_epoch=2), data)
    plain_records, deferred_records = list(plain.epochs()), list(deferred.epochs())
    assert [r.loss_weights is None for r in deferred_records] == [True, True, False]
    for before, same in zip(plain_records[:2], deferred_records[:2]):
        assert (before.train_loss, before.train_acc, before.test_acc) == (same.train_loss, same.train_acc,
                                                                          same.test_acc)
    assert deferred_records[2].train_loss != plain_records[2].train_loss
    minor = data.groups["minor"][0]
    assert deferred_records[2].loss_weights[minor] > deferred_records[2].loss_weights[0]


def test_gradient_scaling_starts_uniform_then_follows_the_measured_gradients(data):
    records = list(Trainer(BASE.replace(epochs=2, grad_scale="adaptive"), data).epochs())
    assert records[0].loss_weights is None
    weights = records[1].loss_weights
    assert min(weights) == pytest.approx(1.0)
    assert all(1.0 <= w <= max(data.counts) / n + 1e-9 for w, n in zip(weights, data.counts))


def test_naming_the_default_methods_changes_nothing():
    assert TrainConfig(loss="ce", sampler="instance", mixer="none", drw_epoch=0, la_tau=0, tau_norm=0) == TrainConfig()


def test_config_choices_are_the_registry_names():
    assert field_rule("loss").options == LOSSES
    assert field_rule("sampler").options == SAMPLERS
    assert field_rule("mixer").options == MIXERS
    assert len(LOSSES) == 8 and len(SAMPLERS) == 7 and MIXERS == ("none", "mfw", "mixup", "remix")


def test_every_method_selects_a_valid_config_and_says_what_it_is():
    for name, method in METHODS.items():
        check_combination(TrainConfig().with_methods(name))
        assert method.description and "\n" not in method.description, name
        assert method.formula, name
        assert set(method.params) <= set(TrainConfig().to_dict()), name


def test_method_settings_round_trip_through_the_url():
    config = TrainConfig(loss="ldam", ldam_cosine=False, ldam_scale=5.0, drw_epoch=12, mixer="remix",
                         remix_kappa=2.0, sampler="instance", tau_norm=0.0)
    assert TrainConfig.from_query(config.to_query()) == config


def test_the_methods_command_lists_every_method_with_what_selecting_it_sets(capsys):
    assert cli_main(["methods"]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in METHODS)
    mfw_line = next(line for line in text.splitlines() if "select:  --mixer mfw" in line)
    assert f"mfw_strength={TrainConfig().mfw_strength}" in mfw_line and "mfw_strength=0.0" not in mfw_line
    drw_line = next(line for line in text.splitlines() if "select:  --drw-epoch" in line)
    assert "cb_beta=0.9999" in drw_line
    assert cli_main(["methods", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == list(METHODS)


def test_the_methods_page_documents_every_method():
    page = (ROOT / "docs" / "methods.md").read_text(encoding="utf-8")
    missing = [name for name in METHODS if f"`{name}`" not in page]
    assert not missing


def test_train_help_lists_the_method_flags(capsys):
    with pytest.raises(SystemExit) as done:
        cli_main(["train", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert all(flag in text for flag in ("--loss", "--sampler", "--mixer", "--drw-epoch", "--tau-norm"))


def test_the_methods_page_tables_are_the_catalogue_as_printed():
    from procrustes_core.cli import methods_markdown

    page = (ROOT / "docs" / "methods.md").read_text(encoding="utf-8")
    assert methods_markdown() in page
