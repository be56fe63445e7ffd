"""The page a learner reads at a glance, driven by AppTest: predict first in view, a reload that returns
to the run, the projector view, the minor test-above-training gap explained, and each page's own text."""

from __future__ import annotations

from dataclasses import replace

import pytest
from app_support import TINY, chart, job_of, new_app, rerun_until, texts, wait

from procrustes_core import TrainConfig, run


def test_predict_first_is_in_view_before_train_and_asks_in_the_questions_unit():
    at = new_app(TINY).run()
    assert not at.exception
    assert not at.expander or all("Predict" not in e.label for e in at.expander)  # not hidden in an expander
    assert at.selectbox(key="w_question").label == "Predict first"
    at.selectbox(key="w_question").set_value("minor-half").run()
    epoch = at.number_input(key="w_prediction_minor-half")
    assert epoch.label == "Your prediction (epoch)" and epoch.max == 2 and epoch.value is None  # this run: 2 epochs
    at.selectbox(key="w_question").set_value("minor-test").run()
    accuracy = at.number_input(key="w_prediction_minor-test")
    assert accuracy.label.startswith("Your prediction (test accuracy, 0 to 1)") and accuracy.max == 1.0


def test_a_prediction_typed_before_train_is_graded_when_the_run_ends():
    at = new_app({**TINY, "seeds": "1"}).run()
    at.selectbox(key="w_question").set_value("minor-test").run()
    at.number_input(key="w_prediction_minor-test").set_value(0.4).run()
    at.button(key="train").click().run()
    wait(at)
    assert any(i.value.startswith("You predicted 0.4; the run gave ") for i in at.info)


def test_no_prediction_typed_means_no_grade():
    at = new_app({**TINY, "seeds": "1"}).run()
    at.button(key="train").click().run()
    wait(at)
    assert not any("You predicted" in i.value for i in at.info)


def test_a_reload_mid_run_returns_to_the_running_training_and_then_to_the_finished_one():
    at = new_app({**TINY, "epochs": "200", "n_samples": "4000", "width": "16", "seeds": "1"}).run()
    at.button(key="train").click().run()
    rerun_until(at, lambda: chart(at, "Training accuracy") is not None)
    job = at.session_state["jobs"]["playground"]
    reloaded = new_app({**TINY, "epochs": "200", "n_samples": "4000", "width": "16", "seeds": "1"})
    reloaded.session_state["browser_id"] = at.session_state["browser_id"]  # the browser's cookie, in a new session
    reloaded.run()
    assert not reloaded.exception
    assert reloaded.session_state["jobs"]["playground"] == job  # the same training, not a new one
    assert "Training 1 training" in texts(reloaded) and chart(reloaded, "Training accuracy") is not None
    reloaded.button(key="stop").click().run()  # the reloaded page's own Stop stops it
    wait(reloaded)
    assert "Stopped" in texts(reloaded) and job_of(reloaded).status == "stopped"
    again = new_app(TINY)
    again.session_state["browser_id"] = at.session_state["browser_id"]
    again.run()
    assert again.session_state["jobs"]["playground"] == job and "Stopped: 1 training" in texts(again)


def test_another_browser_never_sees_the_training():
    at = new_app({**TINY, "seeds": "1"}).run()
    at.button(key="train").click().run()
    wait(at)
    stranger = new_app(TINY).run()
    assert "playground" not in stranger.session_state.get("jobs", {})
    assert chart(stranger, "Training accuracy") is None


def test_a_reload_that_returns_to_a_finished_run_does_not_keep_it_twice():
    at = new_app({**TINY, "seeds": "1"}).run()
    at.button(key="train").click().run()
    wait(at)
    at.switch_page("views/compare.py").run()
    before = at.multiselect(key="compare_chosen").options
    again = new_app(TINY)
    again.session_state["browser_id"] = at.session_state["browser_id"]
    again.run()
    again.switch_page("views/compare.py").run()
    assert again.multiselect(key="compare_chosen").options == before


def test_the_projector_view_is_kept_in_the_link_and_draws_large_charts_without_the_side_charts():
    at = new_app({**TINY, "seeds": "1", "view": "projector"}).run()
    assert not at.exception and not at.warning
    assert at.toggle(key="w_projector").value and at.query_params["view"] == "projector"
    assert chart(at, "Training samples per class") is None  # charts and narrator only
    at.button(key="train").click().run()
    wait(at)
    curves = chart(at, "Training accuracy")
    assert curves["layout"]["font"]["size"] >= 15 and curves["layout"]["title"]["font"]["size"] >= 19  # large type
    at.toggle(key="w_projector").set_value(False).run()
    assert "view" not in at.query_params and chart(at, "Training samples per class") is not None


def test_a_bad_view_in_a_link_is_named_and_the_usual_page_shown():
    at = new_app({"view": "cinema"}).run()
    assert "view='cinema': expected projector" in at.warning[0].value and not at.toggle(key="w_projector").value


@pytest.fixture(scope="module")
def la_history():
    return run(TrainConfig(n_samples=600, width=4, epochs=2, batch_size=64, la_tau=1.0, threads=1))


def test_minor_test_accuracy_above_training_accuracy_is_explained_by_the_post_hoc_step(la_history):
    from app.components.live import la_note

    last = la_history.records[-1]
    tail = la_history.tail
    above = replace(la_history, records=[*la_history.records[:-1], replace(
        last, group_train_acc={**last.group_train_acc, tail: 0.2}, group_test_acc={**last.group_test_acc, tail: 0.5})])
    note = la_note([above])
    assert note.startswith("Why is the minor classes' test accuracy (50%) above their training accuracy (20%)?")
    assert "after logit adjustment (τ = 1)" in note and "without that post-hoc step" in note
    below = replace(la_history, records=[*la_history.records[:-1], replace(
        last, group_train_acc={**last.group_train_acc, tail: 0.9}, group_test_acc={**last.group_test_acc, tail: 0.5})])
    assert la_note([below]) is None and la_note([]) is None
    plain = replace(above, config=above.config.replace(la_tau=0.0))
    assert "logit adjustment" not in la_note([plain]) and "scored alike" in la_note([plain])


def test_the_decision_boundary_page_does_not_show_the_sidebar_settings_it_ignores():
    at = new_app(TINY).run()
    at.switch_page("views/boundary.py").run()
    assert not at.exception
    keys = {w.key for w in at.sidebar if getattr(w, "key", None)}
    assert not keys & {"w_ratio", "w_mixer", "w_dataset", "w_mfw_strength"}
    assert "Of the Playground's settings it keeps only" in at.sidebar.info[0].value
    at.switch_page("views/playground.py").run()
    assert "w_ratio" in {w.key for w in at.sidebar if getattr(w, "key", None)}  # the Playground keeps its own


def test_learners_pages_show_no_developer_commands():
    at = new_app(TINY).run()
    for page in ("views/playground.py", "views/compare.py", "views/sweep.py", "views/boundary.py"):
        at.switch_page(page).run()
        shown = texts(at)
        assert "python " not in shown and "benchmarks/" not in shown and "Regenerate" not in shown, page


def test_the_feature_view_says_40_per_class_only_where_every_class_has_40():
    from app.components.run_view import sampled

    assert sampled([500, 500, 40]) == "40 training samples per class"
    assert sampled([500, 16]) == "40 training samples of each class that has them, all 16 of the smallest"


def test_each_narrator_sentence_stands_alone_even_when_it_comes_first():
    import re

    from procrustes_core.analysis.narrator import narrate

    history = run(TrainConfig(n_samples=3000, ratio=100, width=8, epochs=6, threads=1))
    said = narrate(history, finished=True)
    assert any(s.kind == "gradients" for s in said)  # the sentence that used to lean on the one before it
    for statement in said:
        opening = re.sub(r"^Epoch \d+: ", "", statement.text).split()[0].lower()
        assert opening not in ("their", "they", "it", "its", "this", "these"), statement.text


def test_a_browser_whose_tab_closed_keeps_its_training_for_a_reloads_grace_only(monkeypatch):
    from app import service as app_service

    connected = {"yes": True}
    monkeypatch.setattr(app_service, "session_alive", lambda owner: connected["yes"])
    monkeypatch.setattr(app_service, "_last_alive", {})
    assert app_service.alive_or_reloading("browser-1", now=100.0)
    connected["yes"] = False  # the tab reloads: gone for a moment
    assert app_service.alive_or_reloading("browser-1", now=100.0 + app_service.RELOAD_GRACE_SECONDS - 1)
    assert not app_service.alive_or_reloading("browser-1", now=100.0 + app_service.RELOAD_GRACE_SECONDS + 1)
    assert "browser-1" not in app_service._last_alive  # forgotten: the map does not grow
    assert not app_service.alive_or_reloading("never-seen", now=100.0)
