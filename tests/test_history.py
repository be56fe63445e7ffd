"""Run histories: tidy frames, atomic saves, and clear errors on bad files."""

import json
import math
import os

import pytest

from procrustes_core import EpochRecord, ProcrustesError, RunHistory, TrainConfig


def _history(epochs=3, classes=4):
    config = TrainConfig(ratio=10)
    history = RunHistory(config, [100, 100, 10, 10], {"major": [0, 1], "minor": [2, 3]}, ["a", "b", "c", "d"])
    for e in range(1, epochs + 1):
        per_class = [0.1 * e + 0.01 * c for c in range(classes)]
        history.records.append(EpochRecord(
            epoch=e, train_acc=per_class, test_acc=per_class, loss=per_class, grad_norm=per_class,
            precision=per_class, recall=per_class, f1=per_class, accuracy=0.5, balanced_acc=0.4, seconds=e * 1.5,
            group_train_acc={"major": 0.6, "minor": 0.1}, train_loss=math.nan if e == 1 else 1.0 / e,
            confusion=[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
        ))
    return history


def test_save_and_load_round_trip(tmp_path):
    history = _history()
    path = history.save(tmp_path / "run.json")
    loaded = RunHistory.load(path)
    assert loaded.config == history.config and loaded.counts == history.counts
    assert [r.train_acc for r in loaded.records] == [r.train_acc for r in history.records]
    assert math.isnan(loaded.records[0].train_loss) and loaded.records[1].train_loss == 0.5
    assert loaded.records[0].val_acc is None and loaded.records[0].confusion == history.records[0].confusion


def test_save_leaves_no_temporary_file_and_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = _history().save(tmp_path / "run.json")
    finally:
        os.umask(old)
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]
    assert path.stat().st_mode & 0o777 == 0o644


def test_save_into_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ProcrustesError, match="does not exist"):
        _history().save(tmp_path / "nope" / "run.json")


def test_tidy_frame_has_one_row_per_epoch_and_class():
    frame = _history(epochs=3).to_frame()
    assert len(frame) == 3 * 4
    assert set(frame.columns) >= {"epoch", "class", "count", "group", "train_acc", "grad_norm", "f1"}
    assert frame.loc[(frame.epoch == 2) & (frame["class"] == 3), "train_acc"].item() == pytest.approx(0.23)
    assert frame.loc[frame["class"] == 2, "group"].unique().tolist() == ["minor"]


@pytest.mark.parametrize(
    "content, problem",
    [
        ("not json at all", "not valid JSON"),
        ('{"format": "something-else"}', "format"),
        ("[1, 2, 3]", "format"),
    ],
)
def test_corrupt_files_give_one_line_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ProcrustesError, match=problem) as err:
        RunHistory.load(path)
    assert "bad.json" in str(err.value) and "\n" not in str(err.value)


def _mutated(mutate):
    data = json.loads(_history().to_json())
    mutate(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    "mutate, problem",
    [
        (lambda d: d["config"].update(ratio=-3), "ratio"),
        (lambda d: d["records"][1].pop("grad_norm"), "grad_norm"),
        (lambda d: d["records"][0].update(train_acc=[0.1, 0.2]), "train_acc"),
        (lambda d: d.update(counts=[1]), "counts"),
        (lambda d: d.update(version=99), "version"),
    ],
)
def test_invalid_contents_are_named(mutate, problem):
    with pytest.raises(ProcrustesError, match=problem):
        RunHistory.from_json(_mutated(mutate), "upload.json")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ProcrustesError, match="no such file"):
        RunHistory.load(tmp_path / "missing.json")
