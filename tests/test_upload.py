"""Uploaded data on a shared server: kept under their content hash, a zip of images unpacked safely (no
path outside its folder, no absolute path, no link, no bomb, not too many members or classes), every
refusal one line with nothing left on disk, and the parsers fuzzed with random and truncated bytes."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.data.images import read_image_folder
from procrustes_core.data.tables import parse_csv, parse_npz
from procrustes_core.data.uploaded import UploadCaps, find_stored, store_upload
from procrustes_core.data.your_files import data_hash, path_kind
from procrustes_core.methods.catalogue import check_combination

CSV = b"size,colour,label\n" + b"".join(f"{i % 7},{'red' if i % 2 else 'blue'},{'cat' if i % 3 else 'dog'}\n"
                                        .encode() for i in range(60))


def png(value: int, size: int = 6) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (size, size), value).save(buffer, format="PNG")
    return buffer.getvalue()


def zipped(members: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def image_zip(top: str = "pets/", per_class: int = 6) -> bytes:
    return zipped({f"{top}{name}/{i}.png": png(value + i) for name, value in (("cat", 10), ("dog", 200))
                   for i in range(per_class)})


def left_on_disk(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def refused(data: bytes, name: str, folder: Path, caps: UploadCaps = UploadCaps()) -> str:
    with pytest.raises(ProcrustesError) as caught:
        store_upload(data, name, folder, caps)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(name)
    assert left_on_disk(folder) == []
    return message


# ---------------------------------------------------------------- what is kept


def test_a_csv_is_kept_under_its_content_hash_with_its_columns_and_trains_from_there(tmp_path):
    kept = store_upload(CSV, "../../pets.csv", tmp_path)
    assert kept.path == tmp_path / f"{kept.content_hash}.csv"  # never the upload's own name
    assert kept.path.read_bytes() == CSV and kept.content_hash == data_hash(kept.path)
    assert kept.columns == ("size", "colour", "label") and kept.default_label == "label"
    again = store_upload(CSV, "other-name.csv", tmp_path)
    assert again.path == kept.path and left_on_disk(tmp_path) == [kept.path.name]


def test_a_gzip_csv_and_an_npz_are_kept_with_their_own_suffix(tmp_path):
    import gzip

    assert store_upload(gzip.compress(CSV), "pets.csv.gz", tmp_path).path.name.endswith(".csv.gz")
    buffer = io.BytesIO()
    np.savez(buffer, x=np.zeros((10, 3)), y=np.arange(10) % 2)
    kept = store_upload(buffer.getvalue(), "arrays.npz", tmp_path)
    assert kept.form == "npz" and kept.path.name == f"{kept.content_hash}.npz"


def test_a_zip_of_an_image_folder_is_unpacked_under_the_hash_of_its_images(tmp_path):
    kept = store_upload(image_zip(), "pets.zip", tmp_path / "data")
    assert kept.form == "images" and kept.path == tmp_path / "data" / kept.content_hash
    assert sorted(p.name for p in kept.path.iterdir()) == ["cat", "dog"]  # the top folder "pets/" taken off
    _x, labels, names, digest = read_image_folder(kept.path, "kept")
    assert names == ["cat", "dog"] and digest == kept.content_hash and len(labels) == 12
    assert left_on_disk(tmp_path / "data") == sorted([kept.content_hash, *(
        f"{kept.content_hash}/{c}{f}" for c in ("cat", "dog") for f in ["", *(f"/{i}.png" for i in range(6))])])


def test_the_same_images_zipped_with_or_without_a_top_folder_are_one_dataset(tmp_path):
    assert store_upload(image_zip("pets/"), "a.zip", tmp_path).path == store_upload(image_zip(""), "b.zip",
                                                                                     tmp_path).path


def test_find_stored_takes_only_a_hex_hash_never_a_path(tmp_path):
    kept = store_upload(CSV, "pets.csv", tmp_path)
    assert find_stored(tmp_path, kept.content_hash) == kept.path
    assert find_stored(tmp_path, kept.content_hash[:16]) == kept.path
    for bad in ("", kept.content_hash[:15], "../" + kept.content_hash, "*" * 20, "g" * 64, None):
        assert find_stored(tmp_path, bad) is None


# ---------------------------------------------------------------- one line, nothing on disk


@pytest.mark.parametrize("members, links, expected", [
    ({"pets/../../evil/1.png": b"x", "pets/dog/1.png": b"x"}, (), r"points outside the folder \('\.\.'\)"),
    ({"/etc/cron.d/1.png": b"x"}, (), "has an absolute path"),
    ({"C:/windows/1.png": b"x"}, (), "has an absolute path"),
    ({"cat\\..\\..\\1.png": b"x"}, (), "has a backslash"),
    ({"cat/1.png": b"x"}, ("dog/link.png",), "is a symbolic link; links are never unpacked"),
    ({"cat/1.png": b"x", "dog/1.png": b"x", "readme.txt": b""}, (), "no PNG|is corrupt"),
    ({"1.png": b"x", "dog/2.png": b"x"}, (), r"image '1\.png' is in no class folder"),
    ({"cat/1.png": b"x", "cat/2.png": b"x"}, (), r"one class only \('cat'\)"),
    ({"notes/readme.txt": b"hello"}, (), "no PNG or JPEG images"),
    ({"cat/1.png": b"not a picture", "dog/1.png": b"no"}, (), r"image 'cat/1\.png' is corrupt, truncated or not"),
])
def test_a_dangerous_or_unusable_zip_is_one_line_and_leaves_nothing(tmp_path, members, links, expected):
    import re

    assert re.search(expected, refused(zipped(members, links), "pets.zip", tmp_path / "data"))


def test_a_zip_bomb_is_refused_before_a_byte_is_unpacked(tmp_path):
    bomb = zipped({"cat/1.png": b"\0" * 3_000_000, "dog/1.png": png(3)})
    assert len(bomb) < 20_000
    message = refused(bomb, "bomb.zip", tmp_path, UploadCaps(max_unpacked_bytes=1_000_000))
    assert "unpacks to 3 MB, more than the 1 MB allowed here (PROCRUSTES_MAX_ZIP_MB)" in message


def test_a_zip_bomb_lying_about_its_sizes_stops_at_the_cap(tmp_path):
    bomb = bytearray(zipped({"cat/1.png": b"\0" * 3_000_000, "dog/1.png": png(3)}))
    declared = (3_000_000).to_bytes(4, "little")
    small = (10).to_bytes(4, "little")
    bomb = bytes(bomb).replace(declared, small)  # every header now claims 10 bytes
    message = refused(bomb, "liar.zip", tmp_path, UploadCaps(max_unpacked_bytes=1_000_000))
    assert "liar.zip: " in message  # refused in one line: a member that cannot be unpacked, or corrupt


def test_too_many_members_or_classes_are_one_line(tmp_path):
    many = zipped({f"c{i}/1.png": b"x" for i in range(12)})
    assert "12 members, more than the 10 a zip may hold here (PROCRUSTES_MAX_ZIP_FILES)" in refused(
        many, "many.zip", tmp_path, UploadCaps(max_members=10))
    assert "12 class folders, at most 5 classes" in refused(many, "many.zip", tmp_path, UploadCaps(max_classes=5))


def test_an_upload_over_the_size_cap_is_one_line(tmp_path):
    message = refused(CSV, "big.csv", tmp_path, UploadCaps(max_bytes=100))
    assert message == (f"big.csv: {len(CSV) / 1e6:.1f} MB, more than the 0.0001 MB an upload may hold on this server "
                       "(PROCRUSTES_MAX_DATA_MB)")


@pytest.mark.parametrize("data, name, expected", [
    (b"", "empty.csv", "empty file"),
    (b"abc", "notes.docx", "expected a .csv, .csv.gz or .npz file, or a .zip"),
    (b"only\n1\n2\n", "one.csv", "one column only"),
    (b"a,label\n", "header.csv", "a header but no rows"),
    (b"\xff\xfe\x00", "binary.csv", "not UTF-8 text"),
    (b"PK\x03\x04broken", "broken.npz", "not an NPZ file"),
    (b"PK\x03\x04broken", "broken.zip", "not a readable zip"),
])
def test_an_unreadable_upload_is_one_line(tmp_path, data, name, expected):
    assert expected in refused(data, name, tmp_path)


# ---------------------------------------------------------------- SMOTE knows your images


def test_smote_is_refused_for_your_images_once_the_kind_is_known_and_kept_for_your_tables(tmp_path):
    images = store_upload(image_zip(), "pets.zip", tmp_path).path
    table = store_upload(CSV, "pets.csv", tmp_path).path
    assert (path_kind(images), path_kind(table), path_kind(None), path_kind(tmp_path / "missing.npz")) == \
        ("image", "vector", "", "")
    with pytest.raises(ProcrustesError, match=r"^sampler='smote' with dataset='your-data': SMOTE interpolates "
                                              r"feature vectors \(.*\), not images; use sampler='oversample'$"):
        check_combination(TrainConfig(dataset="your-data", data_path=str(images), sampler="smote"))
    check_combination(TrainConfig(dataset="your-data", data_path=str(table), sampler="smote"))


@pytest.mark.parametrize("shape, kind", [((20, 5), "vector"), ((20, 2, 30), "signal"), ((20, 8, 8), "image"),
                                         ((20, 3, 8, 8), "image")])
def test_an_npz_kind_is_read_from_its_header(tmp_path, shape, kind):
    path = tmp_path / "x.npz"
    np.savez(path, x=np.zeros(shape, np.float32), y=np.arange(20) % 2)
    assert path_kind(path) == kind


# ---------------------------------------------------------------- fuzzing

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _one_line_or_valid(call) -> None:
    """The parser either returns or raises one ProcrustesError line; anything else fails the test."""
    try:
        call()
    except ProcrustesError as err:
        assert str(err) and "\n" not in str(err)


def _mutated(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    found = bytearray(data[: max(0, min(len(data), cut))])
    for at, value in flips:
        if found:
            found[at % len(found)] = value
    return bytes(found)


MUTATIONS = (st.integers(0, 5000), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8))


@FUZZ
@given(st.binary(max_size=400), st.booleans())
def test_fuzz_csv_parser_random_bytes(data, gz):
    _one_line_or_valid(lambda: parse_csv(data, "fuzz.csv", gz=gz))


@FUZZ
@given(*MUTATIONS, st.booleans())
def test_fuzz_csv_parser_truncated_and_flipped(cut, flips, gz):
    import gzip

    data = _mutated(gzip.compress(CSV) if gz else CSV, cut, flips)
    _one_line_or_valid(lambda: parse_csv(data, "fuzz.csv", gz=gz))


def _npz(compressed: bool) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, x=np.arange(24, dtype=np.float32).reshape(8, 3),
                                                      y=np.arange(8) % 2)
    return buffer.getvalue()


@FUZZ
@given(*MUTATIONS, st.booleans())
def test_fuzz_npz_parser_truncated_and_flipped(cut, flips, compressed):
    _one_line_or_valid(lambda: parse_npz(_mutated(_npz(compressed), cut, flips), "fuzz.npz"))


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_npz_parser_random_bytes(data):
    _one_line_or_valid(lambda: parse_npz(b"PK\x03\x04" + data, "fuzz.npz"))


@FUZZ
@given(*MUTATIONS)
def test_fuzz_zip_upload_keeps_a_dataset_or_nothing(tmp_path_factory, cut, flips):
    folder = tmp_path_factory.mktemp("fuzz") / "data"
    data = _mutated(image_zip(per_class=2), cut, flips)
    try:
        kept = store_upload(data, "fuzz.zip", folder)
    except ProcrustesError as err:
        assert "\n" not in str(err) and left_on_disk(folder) == []
    else:
        assert [p.name for p in folder.iterdir()] == [kept.content_hash]


@FUZZ
@given(*MUTATIONS)
def test_fuzz_image_reader_names_the_bad_image_or_reads_it(tmp_path_factory, cut, flips):
    root = tmp_path_factory.mktemp("images")
    for name, value in (("cat", 20), ("dog", 220)):
        (root / name).mkdir()
        (root / name / "0.png").write_bytes(png(value))
    (root / "dog" / "1.png").write_bytes(_mutated(png(90, 12), cut, flips))
    _one_line_or_valid(lambda: read_image_folder(root, "fuzz"))


@FUZZ
@given(st.binary(max_size=600), st.sampled_from(["f.csv", "f.csv.gz", "f.npz", "f.zip", "f.png"]))
def test_fuzz_any_upload_is_kept_or_one_line_with_nothing_left(tmp_path_factory, data, name):
    folder = tmp_path_factory.mktemp("any") / "data"
    try:
        store_upload(data, name, folder)
    except ProcrustesError as err:
        assert "\n" not in str(err) and left_on_disk(folder) == []


# ---------------------------------------------------------------- kept with the browser's runs


def test_a_browsers_uploaded_data_count_towards_the_store_size_and_expire_with_it(tmp_path):
    import os

    from app import store

    now = 1_000_000.0
    old, new = tmp_path / ("a" * 32), tmp_path / ("b" * 32)
    store_upload(CSV, "pets.csv", old / store.DATA)
    (new / "run.json").parent.mkdir()
    (new / "run.json").write_bytes(b"x" * 10)
    for folder, used in ((old, now - 100), (new, now)):
        os.utime(folder, (used, used))
    assert store.tidy(tmp_path, len(CSV) + 5, None, now=now) == ["a" * 32]  # its data made it too big
    store_upload(CSV, "pets.csv", new / store.DATA)
    os.utime(new, (now - 40 * 86_400,) * 2)
    assert store.tidy(tmp_path, None, 30 * 86_400, now=now) == ["b" * 32] and not new.exists()


def test_start_up_removes_a_zip_unpacking_cut_short_but_not_one_under_way(tmp_path):
    import os

    from app import store
    from procrustes_core.data.uploaded import UNPACK_PREFIX

    now = 1_000_000.0
    data = tmp_path / ("c" * 32) / store.DATA
    killed, running = data / f"{UNPACK_PREFIX}old", data / f"{UNPACK_PREFIX}new"
    for folder in (killed, running):
        (folder / "cat").mkdir(parents=True)
        (folder / "cat" / "1.png").write_bytes(png(1))
    kept = store_upload(CSV, "pets.csv", data)
    os.utime(killed, (now - 3_600,) * 2)
    os.utime(running, (now - 5,) * 2)
    store.prepare(tmp_path, now=now)
    assert not killed.exists() and running.exists() and kept.path.exists()


def test_the_command_line_refuses_smote_on_an_image_folder_in_one_line(tmp_path, capsys):
    from procrustes_core.cli import main

    folder = store_upload(image_zip(), "pets.zip", tmp_path).path
    out = tmp_path / "run.json"
    assert main(["train", "--data", str(folder), "--sampler", "smote", "--epochs", "1", "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert "sampler='smote' with dataset='your-data': SMOTE interpolates feature vectors" in error
    assert "\n" not in error and not out.exists()
