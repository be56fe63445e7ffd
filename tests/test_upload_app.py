"""Your own data in the app (AppTest): an upload in the sidebar of every page, kept for this browser under
its content hash; the picker offers "your data (NAME)"; the label column comes from the CSV's columns; a
link names the data by hash only and says in one line when the server does not hold them; a bad upload is
one line; a training on it names its classes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from app_support import TINY, chart, config_of, new_app, texts, wait
from streamlit.testing.v1.element_tree import Selectbox

HEADER = "width,height,shop,kind"


def pets_csv(rows: int = 90) -> bytes:
    rng = np.random.default_rng(0)
    lines = [HEADER] + [f"{rng.normal() + 2 * (i % 3 == 0):.3f},{rng.normal():.3f},s{i % 2},"
                        f"{'dog' if i % 3 == 0 else 'cat'}" for i in range(rows)]
    return "\n".join(lines).encode()


@pytest.fixture(autouse=True)
def picker_labels(monkeypatch):
    """AppTest formats a selectbox's value with ``str``, not the page's format_func: let it find the
    picker's "your data (NAME)" label for the value 'your-data'."""
    original = Selectbox.index.fget

    def index(self):
        try:
            return original(self)
        except ValueError:
            return next(i for i, option in enumerate(self.options) if option.startswith("your data ("))

    monkeypatch.setattr(Selectbox, "index", property(index))


def uploaded(name: str, data: bytes, query: dict[str, str] | None = None):
    at = new_app({**TINY, "seeds": "1", **(query or {})}).run()
    at.sidebar.file_uploader(key="w_your_data").upload(name, data)
    return at.run()


def test_an_uploaded_csv_is_offered_by_name_kept_by_hash_and_linked_by_hash_only():
    at = uploaded("pets.csv", pets_csv())
    assert not at.exception and not at.error
    picker = at.selectbox(key="w_dataset")
    assert picker.options[-1] == "your data (pets.csv)" and picker.value == "your-data"
    config = config_of(at)
    path = Path(config.data_path)
    assert path.name == f"{config.data_hash}.csv" and path.read_bytes() == pets_csv()
    assert path.parent.name == "data" and path.parent.parent.name == at.session_state["browser_id"]
    assert (config.data_label, config.profile) == ("kind", "natural")  # no label column named: the last one
    link = at.query_params
    assert link["dataset"] == "your-data" and link["data_hash"] == config.data_hash
    assert "data_path" not in link and not any(str(path) in str(v) for v in link.values())
    bars = chart(at, "Training samples per class")
    assert bars["data"][0]["x"] == ["cat", "dog"] and bars["data"][0]["y"] == [54, 24]
    assert "Test samples per class: cat 6, dog 6" in texts(at)


def test_the_label_and_the_columns_left_out_are_chosen_from_the_csv_columns():
    at = uploaded("pets.csv", pets_csv())
    assert at.selectbox(key="w_your_label").options == HEADER.split(",")
    at.selectbox(key="w_your_label").select("shop").run()
    assert config_of(at).data_label == "shop"
    assert chart(at, "Training samples per class")["data"][0]["x"] == ["s0", "s1"]
    assert at.multiselect(key="w_your_drop").options == ["width", "height", "kind"]
    at.multiselect(key="w_your_drop").select("kind").run()
    assert config_of(at).data_drop == ["kind"] and at.query_params["data_drop"] == '["kind"]'


def test_picking_another_dataset_leaves_no_data_setting_in_the_link_and_your_data_stay_offered():
    at = uploaded("pets.csv", pets_csv())
    at.selectbox(key="w_dataset").select("digits").run()
    config = config_of(at)
    assert config.dataset == "digits" and config.data_path is None and config.data_hash is None
    assert not any(key.startswith("data_") for key in at.query_params)
    assert "your data (pets.csv)" in at.selectbox(key="w_dataset").options


def test_a_link_to_data_this_server_does_not_hold_says_so_in_one_line():
    at = new_app({**TINY, "dataset": "your-data", "data_hash": "ab" * 32}).run()
    assert not at.exception and not at.error
    warning = [w.value for w in at.sidebar.warning]
    assert len(warning) == 1 and "\n" not in warning[0]
    assert warning[0].startswith("data_hash='abababababababab…': this server holds no data of that hash")
    assert config_of(at).dataset == "mnist1d" and "data_hash" not in at.query_params


def test_a_link_to_data_this_browser_uploaded_trains_on_them_again():
    at = uploaded("pets.csv", pets_csv())
    digest = config_of(at).data_hash
    for key in ("app_state", "your_data"):  # a fresh page of the same browser, opened from the link
        del at.session_state[key]
    at.query_params.clear()
    at.query_params.update({**TINY, "dataset": "your-data", "data_hash": digest, "data_label": "shop"})
    at.run()
    config = config_of(at)
    assert (config.dataset, config.data_hash, config.data_label) == ("your-data", digest, "shop")
    assert Path(config.data_path).read_bytes() == pets_csv() and not at.sidebar.warning
    for key in ("app_state", "your_data"):  # the same link without a label: the CSV's last column again
        del at.session_state[key]
    at.query_params.pop("data_label")
    at.run()
    assert config_of(at).data_label == "kind" and chart(at, "Training samples per class")["data"][0]["x"] == ["cat",
                                                                                                             "dog"]


@pytest.mark.parametrize("name, data, expected", [
    ("ragged.csv", b"a,b,label\n1,2,x\n1,2,3,4\n", "ragged.csv: a ragged table: line 3 has 4 fields"),
    ("evil.zip", None, "evil.zip: member 'pets/../../x/1.png' points outside the folder"),
    ("one.csv", b"label,a\n" + b"x,1\n" * 10, "one class only"),
])
def test_a_bad_upload_is_one_line_and_offers_nothing(name, data, expected):
    if data is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("pets/../../x/1.png", b"x")
        data = buffer.getvalue()
    at = uploaded(name, data)
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and expected in errors[0] and "\n" not in errors[0]
    assert errors[0].startswith(name)  # named by the upload, never by the server's path
    if name != "one.csv":  # one class is known only once the rows are read: the upload is offered, then refused
        assert not any(o.startswith("your data") for o in at.selectbox(key="w_dataset").options)


def test_smote_on_uploaded_images_is_refused_in_one_line():
    from PIL import Image

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, value in (("cat", 30), ("dog", 220)):
            for i in range(5):
                picture = io.BytesIO()
                Image.new("L", (8, 8), value + i).save(picture, format="PNG")
                archive.writestr(f"{name}/{i}.png", picture.getvalue())
    at = uploaded("pets.zip", buffer.getvalue(), {"sampler": "smote"})
    assert config_of(at) is None
    assert any("sampler='smote' with dataset='your-data': SMOTE interpolates feature vectors" in e.value
               for e in at.sidebar.error)


def test_training_on_an_uploaded_csv_names_its_classes_in_the_results():
    at = uploaded("pets.csv", pets_csv())
    at.button(key="train").click().run()
    wait(at)
    assert not at.exception and not at.error
    assert "Finished: 1 training" in texts(at)
    table = at.dataframe[0].value
    assert list(table["class"]) == ["cat", "dog"] and list(table["test samples"]) == [6, 6]
    confusion = chart(at, "Test confusion matrix")
    assert list(confusion["data"][0]["x"]) == ["cat", "dog"]


def test_compare_trains_both_settings_on_the_uploaded_data():
    at = uploaded("pets.csv", pets_csv(150))
    at.switch_page("views/compare.py").run()
    assert not at.exception and at.sidebar.file_uploader(key="w_your_data") is not None
    assert at.selectbox(key="w_dataset").options[-1] == "your data (pets.csv)"
    at.number_input(key="compare_seeds").set_value(2)
    at.button(key="train_trio").click().run()
    wait(at, "compare")
    assert not at.exception and not at.error
    job = at.session_state["jobs"]["compare"]
    from app.service import service

    tasks = service(at.session_state["limits"]).view(job).job.tasks
    assert tasks and all(t.history.class_names == ["cat", "dog"] for t in tasks)
    assert all(t.history.config.data_hash == config_of(at).data_hash for t in tasks)


def test_sweep_on_uploaded_data_reshapes_them_by_each_ratio():
    at = uploaded("pets.csv", pets_csv(150))
    at.selectbox(key="w_profile").select("step").run()
    at.switch_page("views/sweep.py").run()
    assert not at.exception
    at.multiselect(key="sweep_ratios").set_value([1.0, 10.0])
    at.multiselect(key="sweep_strengths").set_value([0.0])
    at.number_input(key="sweep_epochs").set_value(1)
    at.number_input(key="sweep_seeds").set_value(1)
    at.button(key="sweep_start").click().run()
    wait(at, "sweep")
    assert not at.exception and not at.error, [e.value for e in at.error]
    from app.service import service

    tasks = service(at.session_state["limits"]).view(at.session_state["jobs"]["sweep"]).job.tasks
    # 100 cats and 50 dogs, 10 of each to test: step subsamples the 40 training dogs' count for every class
    assert sorted(tuple(t.history.counts) for t in tasks) == [(40, 4), (40, 40)]


def test_the_sweep_says_that_a_natural_imbalance_ignores_the_ratio():
    at = uploaded("pets.csv", pets_csv())
    at.switch_page("views/sweep.py").run()
    assert any("every ratio here trains the same data" in i.value for i in at.info)
    at.selectbox(key="w_profile").select("step").run()
    assert not any("every ratio here trains the same data" in i.value for i in at.info)


def test_an_upload_over_the_servers_size_cap_is_one_line(monkeypatch):
    monkeypatch.setenv("PROCRUSTES_MAX_DATA_MB", "1")
    big = pets_csv(60_000)
    assert len(big) > 1_000_000
    at = uploaded("big.csv", big)
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and errors[0].startswith("big.csv: ") and "more than the 1 MB" in errors[0]
    assert not any(o.startswith("your data") for o in at.selectbox(key="w_dataset").options)
    assert not list((Path(at.session_state["limits"].store_folder) / at.session_state["browser_id"]).glob("data/*"))
