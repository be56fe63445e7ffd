"""The Streamlit app, driven by Streamlit's AppTest: settings, live training, links, bad input."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from app_support import TINY, chart, charts, new_app, texts

from procrustes_core import RunHistory, TrainConfig, counts_for
from procrustes_core.methods.catalogue import RECOMMENDED_STRENGTH


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("PROCRUSTES_THREADS_PER_TRAINING", "1")


def trained(query: dict[str, str] | None = None):
    at = new_app({**TINY, **(query or {})}).run()
    at.button(key="train").click().run()
    return at


def test_defaults_render_without_errors():
    at = new_app().run()
    assert not at.exception
    assert not at.error
    assert [b.label for b in at.button][:3] == ["Train", "Stop", "Reset"]
    bars = chart(at, "Training samples per class")
    assert bars is not None
    counts = counts_for(TrainConfig())  # MNIST-1D, step imbalance 100
    assert bars["data"][0]["y"] == counts and counts[0] // 100 == counts[-1]
    assert at.query_params == {}  # the defaults need no link settings


def test_changing_the_ratio_updates_the_class_count_chart_and_the_link():
    at = new_app(TINY).run()
    before = chart(at, "Training samples per class")["data"][0]["y"]
    at.select_slider(key="w_ratio").set_value(10.0).run()
    after = chart(at, "Training samples per class")["data"][0]["y"]
    assert before != after
    assert after[-1] == after[0] // 10
    assert at.query_params["ratio"] == "10.0"


def test_train_draws_one_trace_per_class_in_every_live_chart():
    at = trained()
    assert not at.exception and not at.error
    for title in ("Training accuracy", "Test accuracy", "Feature-gradient norm"):
        figure = chart(at, title)
        assert figure is not None, title
        assert len(figure["data"]) == 10
        assert all(len(trace["x"]) == 2 for trace in figure["data"])  # two epochs drawn
    assert chart(at, "Test confusion matrix") is not None
    assert len(at.dataframe) >= 1  # the per-class table


def test_minor_classes_are_drawn_distinctly():
    figure = chart(trained(), "Training accuracy")
    dashes = [trace["line"]["dash"] for trace in figure["data"]]
    assert dashes == ["solid"] * 5 + ["dash"] * 5


def test_stop_keeps_the_partial_run():
    at = new_app({**TINY, "epochs": "200"})
    at.session_state["auto_continue"] = False  # one chunk per script run, as between browser events
    at.session_state["chunk_seconds"] = 0.05
    at.run()
    at.button(key="train").click().run()
    done = len(chart(at, "Training accuracy")["data"][0]["x"])
    assert 1 <= done < 200
    at.button(key="stop").click().run()
    assert not at.exception
    assert "stopped by the learner" in texts(at)
    kept = chart(at, "Training accuracy")
    assert kept is not None and len(kept["data"][0]["x"]) >= done
    assert chart(at, "Test confusion matrix") is not None
    assert not at.button(key="train").disabled
    at.button(key="reset").click().run()
    assert chart(at, "Training accuracy") is None


def test_a_shared_link_restores_the_settings():
    wanted = TrainConfig(dataset="toy2d", profile="longtail", ratio=50, mixer="mfw", mfw_strength=0.7, la_tau=1.5,
                         epochs=12, seed=3, n_samples=800)
    at = new_app(dict(parse_qsl(wanted.to_query()))).run()
    assert not at.exception and not at.warning
    assert at.session_state["config"] == wanted
    assert at.radio(key="w_method").value == "MFW"
    assert at.slider(key="w_mfw_strength").value == pytest.approx(0.7)
    assert at.select_slider(key="w_ratio").value == 50.0
    assert dict(at.query_params) == dict(parse_qsl(wanted.to_query()))


def test_bad_link_values_fall_back_with_one_message():
    at = new_app({"ratio": "abc", "epochs": "-3", "dataset": "imagenet", "seed": "4"}).run()
    assert not at.exception
    assert len(at.warning) == 1
    message = at.warning[0].value
    assert "ratio='abc'" in message and "epochs=-3" in message and "dataset='imagenet'" in message
    assert "\n" not in message
    config = at.session_state["config"]
    assert (config.ratio, config.epochs, config.dataset, config.seed) == (100.0, 30, "mnist1d", 4)


def test_a_link_cannot_exceed_the_server_limits(monkeypatch):
    monkeypatch.setenv("PROCRUSTES_MAX_EPOCHS", "20")
    at = new_app({"epochs": "500"}).run()
    assert "PROCRUSTES_MAX_EPOCHS" in at.warning[0].value
    assert at.session_state["config"].epochs == 20


def test_too_many_training_samples_are_refused_with_a_message(monkeypatch):
    monkeypatch.setenv("PROCRUSTES_MAX_TRAIN_SAMPLES", "50")
    at = trained()
    assert not at.exception
    assert any("PROCRUSTES_MAX_TRAIN_SAMPLES" in e.value for e in at.error)
    assert chart(at, "Training accuracy") is None


def test_a_full_server_refuses_a_training_with_a_message(monkeypatch):
    from app.limits import SLOTS

    monkeypatch.setenv("PROCRUSTES_MAX_TRAININGS", "1")
    SLOTS.acquire("another-browser", 1)
    try:
        at = trained()
    finally:
        SLOTS.release("another-browser")
    assert any("PROCRUSTES_MAX_TRAININGS" in e.value for e in at.error)


def test_a_bad_operator_setting_is_one_line_and_defaults(monkeypatch):
    monkeypatch.setenv("PROCRUSTES_MAX_EPOCHS", "lots")
    at = new_app(TINY).run()
    assert not at.exception
    assert any("PROCRUSTES_MAX_EPOCHS='lots'" in e.value for e in at.error)


def test_a_preset_link_hides_controls():
    at = new_app({"preset": "classroom-strength"}).run()
    assert not at.exception and not at.warning
    keys = {w.key for w in at.sidebar if getattr(w, "key", None)}
    assert "w_mfw_strength" in keys
    assert "w_dataset" not in keys and "w_ratio" not in keys
    assert at.session_state["config"].ratio == 50
    assert at.query_params["hide"].startswith("presets,data")


def test_choosing_a_preset_sets_its_settings():
    at = new_app().run()
    at.selectbox(key="w_preset").set_value("Procrustean training vs ERM").run()
    config = at.session_state["config"]
    assert (config.mixer, config.mfw_strength, config.la_tau, config.epochs) == ("mfw", RECOMMENDED_STRENGTH, 1.0, 40)
    assert at.radio(key="w_method").value == "MFW"


def test_method_zoo_settings_come_from_the_core():
    from procrustes_core.config import field_names, field_rule

    at = new_app(TINY).run()
    for name in ("loss", "sampler"):
        if name in field_names():
            assert at.selectbox(key=f"w_{name}").options == list(field_rule(name).options)


def test_an_invalid_combination_is_one_line_and_train_is_off():
    at = new_app(TINY).run()
    at.radio(key="w_method").set_value("MFW").run()
    at.selectbox(key="w_loss").set_value("balanced-softmax").run()
    at.checkbox(key="w_la").check().run()
    assert not at.exception
    assert any("Setting not valid" in e.value for e in at.error)
    assert at.button(key="train").disabled
    assert at.session_state["config"] is None  # no stale valid config for any page to train
    at.switch_page("views/compare.py").run()
    assert at.button(key="train_trio").disabled


def test_compare_page_overlays_session_runs_and_uploaded_files(tmp_path):
    at = trained()
    saved = RunHistory.from_json(at.session_state["session_runs"][0][1].to_json())
    at.switch_page("views/compare.py").run()
    assert not at.exception
    assert chart(at, "Balanced test accuracy") is not None
    uploader = at.file_uploader[0]
    uploader.set_value([("mine.json", saved.to_json().encode(), "application/json"),
                     ("broken.json", b"{not json", "application/json")]).run()
    assert not at.exception
    assert any("broken.json: not valid JSON" in e.value for e in at.error)
    figure = chart(at, "Balanced test accuracy")
    assert {t["name"] for t in figure["data"]} >= {"mine.json (file)"}


def test_compare_page_trains_erm_and_mfw_once_each_and_scores_both_with_and_without_la():
    at = new_app(TINY).run()
    at.switch_page("views/compare.py").run()
    at.button(key="train_trio").click().run()
    assert not at.exception and not at.error
    job = at.session_state["jobs"]["compare"]
    assert [run.config.mixer for run in job.runs] == ["none", "mfw"]  # two trainings, not four
    names = {t["name"] for t in chart(at, "Balanced test accuracy")["data"]}
    assert len(names) == 4 and sum("MFW" in n for n in names) == 2 and sum("+ LA" in n for n in names) == 2


def test_sweep_page_shows_the_shipped_grid_at_once_and_a_live_grid():
    at = new_app(TINY).run()
    at.switch_page("views/sweep.py").run()
    assert not at.exception and not at.warning
    assert chart(at, "Balanced test accuracy") is not None
    at.multiselect(key="sweep_ratios").set_value([10.0])
    at.multiselect(key="sweep_strengths").set_value([0.0, 0.9])
    at.number_input(key="sweep_epochs").set_value(1)
    at.button(key="sweep_start").click().run()
    assert not at.exception and not at.error
    assert "2 of 2 grid points trained" in texts(at)
    assert len(charts(at)) >= 4


def test_boundary_page_trains_with_and_without_mfw():
    at = new_app(TINY).run()
    at.switch_page("views/boundary.py").run()
    at.number_input(key="boundary_epochs").set_value(2)
    at.button(key="boundary_start").click().run()
    assert not at.exception and not at.error
    titles = [c["layout"]["title"]["text"] for c in charts(at) if "epoch" in c["layout"]["title"]["text"]]
    assert any(t.startswith("ERM") for t in titles) and any(t.startswith("MFW") for t in titles)
