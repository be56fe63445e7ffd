"""The Streamlit app, driven by Streamlit's AppTest: settings, trainings on the service, links, limits."""

from __future__ import annotations

import pytest
from app_support import TINY, chart, charts, config_of, job_of, new_app, rerun_until, texts, wait

from app.url_state import link_params
from procrustes_core import TrainConfig
from procrustes_core.data.datasets import cache_dir, counts_for


def trained(query: dict[str, str] | None = None, seeds: str = "1"):
    at = new_app({**TINY, "seeds": seeds, **(query or {})}).run()
    at.button(key="train").click().run()
    return wait(at)


def test_defaults_render_without_errors_and_without_training():
    expected = counts_for(TrainConfig())  # generates (and caches) the default data, as a first training would
    at = new_app().run()
    assert not at.exception
    assert not at.error
    assert [b.label for b in at.button][:3] == ["Train", "Stop", "Reset"]
    bars = chart(at, "Training samples per class")
    assert bars["data"][0]["y"] == expected  # MNIST-1D, step imbalance 100, read from the cached data
    assert at.query_params == {}  # the defaults need no link settings
    assert chart(at, "Training accuracy") is None


def test_a_link_for_a_large_dataset_generates_nothing_before_train():
    at = new_app({"n_samples": "43210"}).run()
    assert not at.exception
    assert "estimated" in chart(at, "Training samples per class")["layout"]["title"]["text"]
    assert not (cache_dir() / "mnist1d-43210.npz").exists()


def test_changing_the_ratio_updates_the_class_count_chart_and_the_link():
    at = new_app(TINY).run()
    before = chart(at, "Training samples per class")["data"][0]["y"]
    at.select_slider(key="w_ratio").set_value(10.0).run()
    after = chart(at, "Training samples per class")["data"][0]["y"]
    assert before != after and after[-1] == after[0] // 10
    assert at.query_params["ratio"] == "10.0"


def test_one_seed_draws_one_curve_per_class_and_the_narrator_speaks():
    at = trained()
    assert not at.exception and not at.error
    for title in ("Training accuracy", "Test accuracy", "Feature-gradient norm"):
        figure = chart(at, title)
        assert figure is not None, title
        per_class = [t for t in figure["data"] if "running" not in t["name"]]
        assert len(per_class) == 10 and all(len(t["x"]) == 2 for t in per_class)
    assert "Finished: 1 training, 2 of 2 epochs" in texts(at)
    from procrustes_core.analysis.narrator import narrate

    said = narrate(job_of(at).tasks[0].history, finished=True)
    assert len([s for s in said if s.kind in ("under-fit", "no-under-fit")]) == 1  # a finished run says which
    assert all(s.text in texts(at) for s in said)  # every statement of the core's narrator is on the page
    assert chart(at, "Test confusion matrix") is not None
    # beyond accuracy, from the last epoch's test predictions the worker sent
    assert "expected calibration error" in texts(at)
    threshold = chart(at, "Calling a sample")
    assert threshold is not None and all(0 <= y <= 1 for t in threshold["data"] for y in t["y"] if y is not None)


def test_several_seeds_draw_each_seed_thin_and_each_groups_mean_bold():
    at = trained(seeds="3")
    figure = chart(at, "Test accuracy")
    names = [t["name"] for t in figure["data"]]
    assert any("each seed (thin)" in n and "mean of 3 (bold)" in n for n in names)
    assert len([t for t in figure["data"] if "seed" in t["name"] and t["line"]["width"] == 1]) == 3 * 2  # per group
    assert not [t for t in figure["data"] if t.get("fill")]  # no band painted over the axis
    assert "3 trainings" in texts(at)


def test_stop_ends_the_training_inside_its_epoch_and_keeps_its_epochs():
    at = new_app({**TINY, "epochs": "200", "n_samples": "4000", "width": "16", "seeds": "1"}).run()
    at.button(key="train").click().run()
    rerun_until(at, lambda: chart(at, "Training accuracy") is not None)
    at.button(key="stop").click().run()
    at_stop = job_of(at).tasks[0].epochs_done
    wait(at)
    assert not at.exception and "Stopped" in texts(at)
    from app.service import service

    trainer = service(at.session_state["limits"])
    task = job_of(at).tasks[0]
    # it stopped inside the epoch it was in (one more may have ended while the stop was on its way)
    assert task.status == "stopped" and 1 <= task.epochs_done <= at_stop + 1 and "stopped" in task.history.stopped
    assert trainer.busy_workers() == 0  # the slot is free: its worker said it is idle
    assert not at.button(key="train").disabled


def test_a_shared_link_restores_the_settings_and_the_seeds():
    wanted = TrainConfig(dataset="toy2d", profile="longtail", ratio=50, mixer="mfw", mfw_strength=0.7, la_tau=1.5,
                         epochs=12, seed=3, n_samples=800)
    at = new_app({**link_params(wanted), "seeds": "2"}).run()
    assert not at.exception and not at.warning
    assert config_of(at) == wanted
    assert at.radio(key="w_mixer").value == "mfw"
    assert at.slider(key="w_mfw_strength").value == pytest.approx(0.7)
    assert at.number_input(key="w_seeds").value == 2
    assert at.query_params["seeds"] == "2"


def test_bad_link_values_are_named_with_what_was_done():
    at = new_app({"ratio": "abc", "epochs": "9999", "dataset": "imagenet", "seed": "4", "bogus": "1"}).run()
    assert not at.exception
    message = at.warning[0].value
    assert "ratio='abc'" in message and "default 100.0 kept" in message
    assert "epochs=9999" in message and "set to 200" in message
    assert "'bogus': not a setting — ignored" in message and "\n" not in message
    config = config_of(at)
    assert (config.ratio, config.epochs, config.dataset, config.seed) == (100.0, 200, "mnist1d", 4)


def test_every_page_shows_the_link_message():
    at = new_app({"ratio": "abc"}).run()
    for page in ("views/compare.py", "views/sweep.py", "views/boundary.py"):
        at.switch_page(page).run()
        assert any("ratio='abc'" in w.value for w in at.warning), page


def test_too_many_training_samples_are_refused_in_one_line_and_nothing_trains(monkeypatch):
    monkeypatch.setenv("PROCRUSTES_MAX_TRAIN_SAMPLES", "50")
    at = new_app({**TINY, "seeds": "1"}).run()
    at.button(key="train").click().run()
    assert not at.exception
    assert any("PROCRUSTES_MAX_TRAIN_SAMPLES" in e.value and "\n" not in e.value for e in at.error)
    assert "playground" not in at.session_state.get("jobs", {})


def test_a_request_is_priced_before_it_runs():
    at = new_app({"dataset": "digits", "model": "resnet32", "width": "1024", "batch_size": "1", "seeds": "1"}).run()
    at.button(key="train").click().run()
    assert any("PROCRUSTES_MAX_PARAMETERS" in e.value for e in at.error)
    assert "playground" not in at.session_state.get("jobs", {})


def test_a_bad_operator_setting_is_one_line_and_defaults(monkeypatch):
    monkeypatch.setenv("PROCRUSTES_MAX_EPOCHS", "lots")
    at = new_app(TINY).run()
    assert not at.exception
    assert any("PROCRUSTES_MAX_EPOCHS='lots'" in e.value for e in at.error)


def test_a_seed_cap_below_a_pair_refuses_compare_in_one_line(monkeypatch):
    monkeypatch.setenv("PROCRUSTES_MAX_SEEDS", "1")
    at = new_app(TINY).run()
    at.switch_page("views/compare.py").run()
    at.button(key="train_trio").click().run()
    assert not at.exception
    assert any("PROCRUSTES_MAX_SEEDS" in e.value and "\n" not in e.value for e in at.error)
    assert "compare" not in at.session_state.get("jobs", {})


def test_every_budget_cap_is_read_from_its_environment_variable(monkeypatch):
    from dataclasses import fields

    from app.limits import read_limits
    from procrustes_core.training.budget import Budget
    for number, cap in enumerate(fields(Budget), start=2):
        monkeypatch.setenv(f"PROCRUSTES_{cap.name.upper()}", str(number))
    monkeypatch.setenv("PROCRUSTES_MAX_TRAININGS", "3")
    limits = read_limits()
    assert limits.max_trainings == 3
    for number, cap in enumerate(fields(Budget), start=2):
        assert getattr(limits.budget, cap.name) == number, cap.name


def test_a_training_service_that_cannot_start_is_one_line_and_the_page_still_draws(monkeypatch):
    pytest.importorskip("ray")
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    at = new_app(TINY).run()
    assert not at.exception
    assert any("no Ray cluster answers" in e.value and "\n" not in e.value for e in at.error)
    assert at.button(key="train")


def test_pages_refresh_less_often_as_more_jobs_share_the_server():
    from types import SimpleNamespace

    from app.components.live import QUEUED_REFRESH_SECONDS, SLOWEST_REFRESH_SECONDS, refresh_seconds

    running, queued = SimpleNamespace(status="running"), SimpleNamespace(status="queued")
    few, class_of_30 = refresh_seconds(running, 2), refresh_seconds(running, 30)
    assert few < class_of_30 <= SLOWEST_REFRESH_SECONDS
    assert refresh_seconds(running, 12) < class_of_30
    assert refresh_seconds(queued, 1) >= QUEUED_REFRESH_SECONDS > few


def test_a_preset_link_hides_controls_and_keeps_its_task_note_visible():
    at = new_app({"preset": "classroom-strength"}).run()
    assert not at.exception and not at.warning
    keys = {w.key for w in at.sidebar if getattr(w, "key", None)}
    assert "w_mfw_strength" in keys
    assert "w_dataset" not in keys and "w_ratio" not in keys and "w_expert" not in keys
    assert config_of(at).ratio == 50
    assert any("Classroom" in i.value for i in at.info)
    at.switch_page("views/compare.py").run()
    assert any("Classroom" in i.value for i in at.info)


def test_choosing_a_preset_sets_its_settings():
    from procrustes_core.presets import STORY

    at = new_app().run()
    at.selectbox(key="w_preset").set_value("The paper's story: MFW vs ERM (step 100)").run()
    config = config_of(at)
    assert (config.mixer, config.la_tau, config.model, config.epochs) == ("mfw", 1.0, STORY["model"], STORY["epochs"])
    assert at.radio(key="w_mixer").value == "mfw"


def test_the_method_zoo_is_behind_the_expert_switch_and_shows_only_the_chosen_methods_knobs():
    from procrustes_core.config import field_rule

    at = new_app(TINY).run()
    keys = {w.key for w in at.sidebar if getattr(w, "key", None)}
    assert "w_loss" not in keys and "w_focal_gamma" not in keys
    at.toggle(key="w_expert").set_value(True).run()
    shown = [option.split(" — ")[0] for option in at.selectbox(key="w_loss").options]
    assert shown == list(field_rule("loss").options)  # each with its one-line description
    keys = {w.key for w in at.sidebar if getattr(w, "key", None)}
    assert "w_focal_gamma" not in keys  # focal loss is not chosen
    at.selectbox(key="w_loss").set_value("focal").run()
    keys = {w.key for w in at.sidebar if getattr(w, "key", None)}
    assert "w_focal_gamma" in keys and "w_ldam_scale" not in keys


def test_an_invalid_combination_is_one_line_and_train_is_off_on_every_page():
    at = new_app(TINY).run()
    at.toggle(key="w_expert").set_value(True).run()
    at.selectbox(key="w_loss").set_value("balanced-softmax").run()
    at.checkbox(key="w_la").check().run()
    assert not at.exception
    assert any("Setting not valid" in e.value for e in at.error)
    assert at.button(key="train").disabled and config_of(at) is None
    for page, key in (("views/compare.py", "train_trio"), ("views/sweep.py", "sweep_start"),
                      ("views/boundary.py", "boundary_start")):
        at.switch_page(page).run()
        assert at.button(key=key).disabled, page


def test_compare_trains_a_and_b_on_the_same_seeds_and_states_a_paired_verdict(tmp_path):
    at = new_app(TINY).run()
    at.switch_page("views/compare.py").run()
    at.number_input(key="compare_seeds").set_value(3).run()
    at.button(key="train_trio").click().run()
    wait(at, "compare")
    assert not at.exception
    from procrustes_core.analysis.seeds import compare_runs_paired

    job = job_of(at, "compare")
    assert len(job.tasks) == 6 and {t.seed for t in job.tasks} == {0, 1, 2}  # A and B once per seed
    a, b = ([t.history for t in run] for run in job.runs())
    a_name, b_name = f"{job.runs()[0][0].label} + LA", f"{job.runs()[1][0].label} + LA"
    verdict = compare_runs_paired(a, b, a_name, b_name, a_variant="LA", b_variant="LA")
    assert f"**{verdict.sentence()}.**" in [m.value for m in at.markdown]  # the core's verdict, as it is
    names = {t["name"] for t in chart(at, "Balanced test accuracy")["data"] if t.get("name")}
    assert {"ERM", "ERM + LA", "MFW", "MFW + LA"} <= names
    assert verdict.sentence().startswith("MFW + LA vs ERM + LA: ")  # the method tested first, as everywhere
    table = at.dataframe[0].value  # the first tab's seeds: every score in %, the difference in points
    assert list(table.columns) == ["seed", "MFW + LA (%)", "ERM + LA (%)", "MFW + LA − ERM + LA (points)"]
    assert table["MFW + LA (%)"].between(0, 100).all() and table["ERM + LA (%)"].between(0, 100).all()


def test_uploaded_run_files_are_checked_and_shown_as_plain_text():
    at = new_app(TINY).run()
    at.switch_page("views/compare.py").run()
    uploader = at.file_uploader[0]
    crafted = b'{"format": "procrustes-run", "version": 2, "config": {"epochs": "**bold**"}}'
    uploader.set_value([("![x](http://example.com/x.png).json", crafted, "application/json"),
                        ("broken.json", b"{not json", "application/json")]).run()
    assert not at.exception
    shown = [t.value for t in at.text]
    assert any("broken.json: not valid JSON" in t for t in shown)
    assert not any("![x]" in m.value for m in at.markdown)  # never rendered as markdown


def test_finished_runs_survive_a_reload_of_the_same_browser():
    at = trained()
    browser = at.session_state["browser_id"]
    again = new_app(TINY)
    again.session_state["browser_id"] = browser  # the browser's cookie, in a fresh session
    again.run()
    again.switch_page("views/compare.py").run()
    assert any("seed 0" in o for o in again.multiselect(key="compare_chosen").options)


def test_sweep_page_shows_the_saved_grid_and_trains_a_live_one():
    at = new_app(TINY).run()
    at.switch_page("views/sweep.py").run()
    assert not at.exception and not at.warning
    assert chart(at, "Balanced test accuracy: gain over strength 0") is not None
    at.multiselect(key="sweep_ratios").set_value([10.0])
    at.multiselect(key="sweep_strengths").set_value([0.0, 0.9])
    at.number_input(key="sweep_epochs").set_value(1)
    at.number_input(key="sweep_seeds").set_value(2)
    at.button(key="sweep_start").click().run()
    wait(at, "sweep")
    assert not at.exception and not at.error
    said = [m.value for m in at.markdown if "vs ERM + LA" in m.value]
    assert len(said) == 2  # the saved grid's verdict and the live one's, in one order and one unit
    assert all(" points" in line and "MFW " in line.split(" vs ")[0] for line in said)
    assert "At imbalance ratio 10, balanced test accuracy: MFW 0.9 + LA vs ERM + LA: " in texts(at)
    assert len([c for c in charts(at) if "gain over strength 0" in c["layout"]["title"]["text"]]) == 4


def test_boundary_page_trains_with_and_without_mfw():
    at = new_app(TINY).run()
    at.switch_page("views/boundary.py").run()
    at.number_input(key="boundary_epochs").set_value(2)
    at.button(key="boundary_start").click().run()
    wait(at, "boundary")
    assert not at.exception and not at.error
    titles = [c["layout"]["title"]["text"] for c in charts(at)]
    assert any(t.startswith("ERM + LA: epoch 2") for t in titles) and any(t.startswith("MFW") for t in titles)


def test_the_teacher_page_needs_its_key(monkeypatch):
    monkeypatch.setenv("PROCRUSTES_TEACHER_KEY", "sesame")
    at = new_app().run()
    at.switch_page("views/teacher.py").run()
    assert not at.exception and at.text_input[0].label == "Teacher key"
    at.text_input[0].set_value("wrong").run()
    assert any("not this server's" in e.value for e in at.error)
    at.text_input[0].set_value("sesame").run()
    assert "active trainings" in texts(at)


def test_an_augmentation_is_shown_on_a_few_minor_class_samples():
    at = new_app({**TINY, "augment": "shift", "augment_classes": "minor"}).run()
    assert not at.exception and not at.error
    figure = chart(at, "Minor-class samples before and after augmentation")
    assert figure is not None and len(figure["data"]) >= 8  # four samples, each before and after


@pytest.mark.parametrize("field", ["init_checkpoint", "data_path"])
def test_a_link_cannot_point_the_server_at_one_of_its_files(field):
    at = new_app({field: "/etc/passwd", **({"dataset": "your-data"} if field == "data_path" else {})}).run()
    assert any("set by the server, not by a link" in w.value for w in at.warning)
    assert getattr(config_of(at), field) is None and config_of(at).dataset != "your-data"


def test_the_expert_panel_offers_no_server_path_and_no_your_data_choice():
    at = new_app(TINY).run()
    at.toggle(key="w_expert").set_value(True).run()
    labels = [w.label for w in [*at.text_input, *at.text_area]]
    assert not any("your data" in label.lower() for label in labels), labels
    assert "your-data" not in at.selectbox(key="w_dataset").options


def test_the_live_charts_files_are_made_once_and_never_left_half_written(tmp_path):
    from app.components.charts import HERE, _assets_in, _plotly_js

    folder = _assets_in(tmp_path)
    assert (folder / "index.html").read_bytes() == (HERE / "index.html").read_bytes()
    assert (folder / "plotly.min.js").stat().st_size == _plotly_js().stat().st_size
    assert _assets_in(tmp_path) == folder  # made once, then found
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no scratch folder left behind
