"""The teacher's page: each learner's mean over seeds with its interval (never a best seed), the class's CSV,
the class's pooled paired verdict, a preset pushed to every open session, learners' typed names, and the
expected wait of a class — on trainings that really ran on the app's training service."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from app_support import new_app, texts
from scipy import stats
from test_service import until

from app import class_view
from app.presets import PRESETS
from app.service import clear_class_preset, learner_names, set_learner_name
from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.analysis.compare import paired_comparison
from procrustes_core.analysis.seeds import final_score
from procrustes_core.methods.posthoc import PostHoc
from procrustes_core.training.service import DEFAULT_FLOPS_PER_SECOND

KEY = "sesame"
TAG = "mnist1d-story"
ADA, BO = "a" * 32, "b" * 32  # two browsers (their cookie ids)
SEEDS = {ADA: [0, 1, 2], BO: [2, 3]}  # seed 2 trained by both: the same training, counted once when pooled
ERM, MFW = "ERM + LA 1", "MFW 0.9 + LA 1"


@pytest.fixture(autouse=True)
def a_class(monkeypatch):
    """A server with a teacher key; no class preset or typed name outlives a test."""
    monkeypatch.setenv("PROCRUSTES_TEACHER_KEY", KEY)
    yield
    clear_class_preset()
    for owner in list(learner_names()):
        set_learner_name(owner, "")


@pytest.fixture(scope="module")
def trained():
    """Two learners trained ERM and MFW (each also scored with logit adjustment) under one preset, on the
    app's own training service: Ada on seeds 0-2, Bo on seeds 2-3. Returns {(owner, run): {seed: history}}."""
    from app.limits import read_limits
    from app.service import service

    with pytest.MonkeyPatch.context() as env:
        env.setenv("PROCRUSTES_TEACHER_KEY", KEY)
        trainer = service(read_limits())
    base = TrainConfig(n_samples=2000, ratio=10, width=8, epochs=3, batch_size=64)  # learns: seeds differ
    runs = [("ERM", base), ("MFW", base.replace(mixer="mfw", mfw_strength=0.9))]
    jobs = {owner: trainer.submit(owner, runs, seeds=seeds, variants={"LA": PostHoc(la_tau=1.0)}, tag=TAG)
            for owner, seeds in SEEDS.items()}
    until(lambda: not any(trainer.view(job).training for job in jobs.values()), timeout=300)
    found: dict[tuple[str, str], dict[int, object]] = {}
    for owner, job in jobs.items():
        for task in trainer.view(job).job.tasks:
            assert task.history is not None and task.history.finished, task.error
            scored = task.history.variant("LA")
            found.setdefault((owner, class_view.run_label(scored.config)), {})[task.seed] = scored
    return found


def teacher_page(**widgets) -> object:
    """The teacher's page opened from its link, the class table on ``TAG``, with ``widgets`` set by key."""
    at = new_app({"teacher": KEY}).run()
    at.selectbox(key="teacher_tag").set_value(TAG).run()
    for key, value in widgets.items():
        found = [w for kind in ("selectbox", "number_input") for w in getattr(at, kind) if w.key == key]
        found[0].set_value(value)
    return at.run() if widgets else at


def class_table(at) -> pd.DataFrame:
    return next(t.value for t in at.dataframe if "balanced accuracy, mean (%)" in t.value.columns)


def mean_and_interval(values: list[float]) -> tuple[float, float, float]:
    """The oracle: mean and 95 % t-interval (scipy's), in percent."""
    x = 100 * np.asarray(values)
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    return float(x.mean()), float(lo), float(hi)


# ---------------------------------------------------------------- the class table, on real trainings


def test_each_learner_shows_the_mean_over_all_seeds_with_its_interval_never_the_best_seed(trained):
    set_learner_name(ADA, "Ada")
    table = class_table(teacher_page())
    row = table[(table["learner"] == "Ada") & (table["run"] == MFW)].iloc[0]
    values = [final_score(h) for h in trained[(ADA, MFW)].values()]
    mean, lo, hi = mean_and_interval(values)
    assert row["seeds"] == 3 and row["balanced accuracy, mean (%)"] == pytest.approx(mean, abs=0.05)
    assert row["95 % interval"] == f"[{lo:.1f}, {hi:.1f}]"
    assert len(set(values)) > 1 and row["balanced accuracy, mean (%)"] < 100 * max(values) - 0.05  # not the best
    bo = table[table["learner"].str.startswith("(no name) bbbbbb") & (table["run"] == ERM)].iloc[0]
    assert bo["seeds"] == 2  # a learner who typed no name is still listed, by a stand-in


def test_the_csv_export_holds_every_learners_mean_and_interval(trained, monkeypatch):
    import streamlit

    set_learner_name(ADA, "=HYPERLINK(1)")  # a typed name a spreadsheet would run
    given = {}
    real = streamlit.download_button

    def download_button(label, data, **kwargs):
        given.update(label=label, data=data, **kwargs)
        return real(label, data, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", download_button)
    teacher_page()
    assert given["file_name"] == f"class-results-{TAG}.csv" and given["mime"] == "text/csv"
    csv = pd.read_csv(io.StringIO(given["data"]))
    row = csv[(csv["learner"] == "'=HYPERLINK(1)") & (csv["run"] == ERM)].iloc[0]
    mean, lo, hi = mean_and_interval([final_score(h) for h in trained[(ADA, ERM)].values()])
    assert row["seeds"] == 3 and row["seed list"] == "0 1 2"
    assert (row["balanced accuracy (%)"], row["balanced low (%)"], row["balanced high (%)"]) == pytest.approx(
        (mean, lo, hi), abs=0.006)
    assert len(csv[csv["run"].isin([ERM, MFW])]) == 4  # two learners × two runs with LA


def test_the_class_verdict_pools_every_paired_seed_once_in_one_order(trained):
    at = teacher_page()
    seeds = sorted({s for (_, run), by_seed in trained.items() if run == ERM for s in by_seed})
    assert seeds == [0, 1, 2, 3]

    def score(run: str, seed: int) -> float:
        return float(np.mean([final_score(by_seed[seed]) for (_, r), by_seed in trained.items()
                              if r == run and seed in by_seed]))

    expected = paired_comparison([score(ERM, s) for s in seeds], [score(MFW, s) for s in seeds], a=ERM, b=MFW)
    sentence = next(m.value for m in at.markdown if m.value.startswith(f"**{MFW} vs {ERM}:"))
    assert sentence == f"**{expected.sentence()}.**" and "of 4 seeds" in sentence


# ---------------------------------------------------------------- a preset pushed to every session


def test_a_pushed_preset_reaches_every_open_session_and_the_teacher_can_end_it():
    learner = new_app().run()  # open before the push
    assert learner.session_state["app_state"].preset is None
    teacher = new_app({"teacher": KEY}).run()
    teacher.selectbox(key="push_choice").set_value("classroom-strength").run()
    teacher.button(key="push").click().run()
    assert "Every learner's session follows" in texts(teacher)
    assert teacher.session_state["app_state"].preset is None  # the teacher keeps their own settings
    learner.run()
    found = learner.session_state["app_state"]
    assert found.preset == "classroom-strength" and found.hide == PRESETS["classroom-strength"].hide
    assert found.valid_config() == TrainConfig.from_query(PRESETS["classroom-strength"].query)
    assert "Your teacher set the class preset" in texts(learner)
    assert "classroom-strength" in str(learner.query_params.get("preset"))  # the link says it too
    newcomer = new_app({"ratio": "20"}).run()  # a session opened after the push follows it too
    assert newcomer.session_state["app_state"].preset == "classroom-strength"
    teacher.button(key="push_clear").click().run()
    learner.run()
    assert learner.session_state["app_state"].hide == () and "every control is back" in texts(learner)
    assert learner.session_state["app_state"].preset == "classroom-strength"  # the settings stay
    assert not learner.exception and not teacher.exception


def test_a_learner_who_changes_a_setting_after_the_push_keeps_the_change():
    teacher = new_app({"teacher": KEY}).run()
    teacher.selectbox(key="push_choice").set_value(TAG).run()
    teacher.button(key="push").click().run()
    learner = new_app().run()
    learner.session_state["app_state"].settings["epochs"] = 3  # as the epochs widget's edit writes it
    learner.run()
    assert learner.session_state["app_state"].settings["epochs"] == 3  # pushed once, not on every run


# ---------------------------------------------------------------- names


def test_a_learner_types_a_name_kept_on_the_server_and_never_in_the_link():
    learner = new_app().run()
    learner.text_input(key="w_learner_name").input("  Ada\tLovelace ").run()
    owner = learner.session_state["_owner"]
    assert learner_names()[owner] == "Ada Lovelace"
    assert "Ada" not in str(dict(learner.query_params))
    again = new_app()  # another tab of the same browser shows the name
    again.session_state["_owner"] = owner
    assert again.run().text_input(key="w_learner_name").value == "Ada Lovelace"


def test_without_a_class_there_is_no_name_box(monkeypatch):
    monkeypatch.delenv("PROCRUSTES_TEACHER_KEY")
    at = new_app().run()
    assert not [w for w in at.text_input if w.key == "w_learner_name"]


# ---------------------------------------------------------------- how long the class waits


def test_the_capacity_note_is_the_class_work_over_the_slots():
    from app.limits import read_limits
    from app.service import service
    from app.url_state import read_link

    at = teacher_page(push_choice=TAG)
    at.number_input(key="capacity_learners").set_value(30).run()
    at.number_input(key=f"capacity_seeds_{TAG}").set_value(3).run()
    trainer = service(read_limits())
    flops = trainer.price(read_link({"preset": TAG}, read_limits()).config, 3).flops
    rate = trainer.seconds_per_flop or 1 / DEFAULT_FLOPS_PER_SECOND
    everyone = max(flops * rate, 30 * flops * rate / trainer.slots)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Everyone's run has ended after"] == class_view.duration(everyone)
    assert shown["The average learner's run ends after"] == class_view.duration((everyone + flops * rate) / 2)
    assert f"30 learners × {flops / 1e12:.3g} TFLOP" in texts(at) and f"÷ {trainer.slots} slots" in texts(at)


# ---------------------------------------------------------------- the computations, on hand-made rows


def _runs(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame([{"owner": o, "preset": TAG, "run": r, "seed": s, "pair": f"setting&seed={s}",
                          "balanced_acc": b, "tail_test_acc": b / 2, "tail": "minor"} for o, r, s, b in rows],
                        columns=class_view.RUN_COLUMNS)


def test_one_seed_has_a_mean_but_no_interval():
    table = class_view.shown_table(class_view.learner_table(_runs([("x", ERM, 0, 0.5)]), {}, TAG))
    assert table["95 % interval"].tolist() == ["one seed: no interval"]
    assert table["minor-class test accuracy, mean (%)"].tolist() == [25.0]


def test_a_seed_trained_twice_counts_once_in_a_learners_mean():
    table = class_view.learner_table(_runs([("x", ERM, 0, 0.5), ("x", ERM, 0, 0.5), ("x", ERM, 1, 0.8)]), {}, TAG)
    assert table["seeds"].tolist() == [2] and table["balanced accuracy (%)"].tolist() == pytest.approx([65.0])


def test_nothing_to_pair_is_one_line():
    runs = _runs([("x", ERM, 0, 0.5), ("y", MFW, 1, 0.6)])
    with pytest.raises(ProcrustesError, match=r"^no seed of the class was trained with both") as err:
        class_view.pooled_verdict(runs, TAG, ERM, MFW)
    assert "\n" not in str(err.value)


def test_the_default_verdict_is_mfw_with_la_against_erm_with_la():
    assert class_view.default_pair(["ERM", ERM, "MFW 0.9", MFW]) == (ERM, MFW)
    assert class_view.default_pair(["ERM", "MFW 0.5"]) == ("ERM", "MFW 0.5")


def test_a_summary_the_service_no_longer_holds_counts_without_a_pair():
    finished = [{"owner": "x", "tag": TAG, "label": "MFW 0.9", "seed": 4, "status": "finished", "epochs": 2,
                 "balanced_acc": 0.7, "tail_test_acc": 0.4, "tail": "minor"},
                {"owner": "x", "tag": TAG, "label": "MFW 0.9", "seed": 5, "status": "stopped", "epochs": 1,
                 "balanced_acc": 0.1, "tail_test_acc": 0.0, "tail": "minor"}]
    runs = class_view.scored_runs([], finished)
    assert runs["seed"].tolist() == [4] and runs["pair"].isna().all()  # a stopped run never counts


def test_the_expected_wait_spreads_the_class_work_over_the_slots():
    found = class_view.capacity(2e12, None, 30, 4, 3, DEFAULT_FLOPS_PER_SECOND)
    one = 2e12 / DEFAULT_FLOPS_PER_SECOND
    assert not found.measured and found.one_request_s == pytest.approx(one)
    assert found.everyone_s == pytest.approx(30 * one / 4) and found.average_s == pytest.approx((30 / 4 + 1) * one / 2)
    assert class_view.capacity(2e12, 1e-11, 1, 4, 3, DEFAULT_FLOPS_PER_SECOND).everyone_s == pytest.approx(20.0)
    assert "not measured yet" in found.formula() and "÷ 4 slots" in found.formula()


def test_a_typed_name_is_printable_single_spaced_and_short():
    assert set_learner_name("z" * 32, "\x1b[31mAda\n\n Lovelace" + "x" * 100).startswith("[31mAda Lovelace")
    assert len(learner_names()["z" * 32]) == 40


def test_runs_of_two_methods_pair_on_the_same_data_and_seed_only():
    erm = TrainConfig(n_samples=2000, ratio=10, width=8, epochs=3)
    mfw = erm.replace(mixer="mfw", mfw_strength=0.9, la_tau=1.0)
    assert class_view.pair_key(erm) == class_view.pair_key(mfw)
    assert class_view.pair_key(erm) != class_view.pair_key(mfw.replace(seed=5))
    assert class_view.pair_key(erm) != class_view.pair_key(mfw.replace(ratio=20))


def test_the_capacity_note_plans_for_the_class_preset_once_one_is_pushed():
    at = teacher_page(push_choice="classroom-strength")
    at.button(key="push").click().run()
    seeds = [w for w in at.number_input if w.key.startswith("capacity_seeds_")]
    assert [w.value for w in seeds] == [PRESETS["classroom-strength"].seeds]
    assert "For the class preset: " in texts(at)


def test_two_learners_who_typed_the_same_name_stay_two_rows_told_apart():
    runs = _runs([("a" * 32, ERM, 0, 0.5), ("b" * 32, ERM, 0, 0.6)])
    table = class_view.learner_table(runs, {"a" * 32: "Sam", "b" * 32: "Sam"}, TAG)
    assert table["learner"].tolist() == ["Sam · aaaa", "Sam · bbbb"]
