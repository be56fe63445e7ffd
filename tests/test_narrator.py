"""The narrator, predictions, phases and the feature view, on histories whose numbers are known."""

from __future__ import annotations

import numpy as np
import pytest

from procrustes_core import EpochRecord, RunHistory, TrainConfig
from procrustes_core.analysis.narrator import narrate
from procrustes_core.analysis.phases import find_phases, overfit_span, underfit_span
from procrustes_core.analysis.predictions import grade
from procrustes_core.analysis.projection import FeatureTrail, align, feature_sample, principal_plane, project
from procrustes_core.analysis.seeds import band, mean_history

COUNTS = [100, 100, 2, 2]
GROUPS = {"major": [0, 1], "minor": [2, 3]}


def history(rows, config: TrainConfig | None = None) -> RunHistory:
    """``rows``: per epoch (major train, minor train, major test, minor test, major grad, minor grad)."""
    records = []
    for epoch, (mt, nt, ms, ns, mg, ng) in enumerate(rows, start=1):
        train, test, grad = [mt, mt, nt, nt], [ms, ms, ns, ns], [mg, mg, ng, ng]
        records.append(EpochRecord(epoch=epoch, train_acc=train, test_acc=test, loss=[1.0] * 4, grad_norm=grad,
                                   precision=test, recall=test, f1=test, accuracy=float(np.mean(test)),
                                   balanced_acc=float(np.mean(test)), seconds=float(epoch),
                                   group_train_acc={"major": mt, "minor": nt},
                                   group_test_acc={"major": ms, "minor": ns}, mfw_strength=0.0))
    config = config or TrainConfig(epochs=len(rows), profile="custom", counts=COUNTS)
    return RunHistory(config, COUNTS, GROUPS, ["0", "1", "2", "3"], records)


STORY = [(0.5, 0.0, 0.5, 0.0, 0.1, 1.0), (0.95, 0.0, 0.9, 0.0, 0.05, 4.35), (0.99, 0.3, 0.95, 0.1, 0.03, 2.0),
         (1.0, 0.92, 0.95, 0.19, 0.02, 0.5), (1.0, 1.0, 0.96, 0.19, 0.01, 0.1)]


def test_the_narrator_tells_the_story_with_the_runs_own_numbers():
    said = narrate(history(STORY))
    kinds = [s.kind for s in said]
    assert kinds[:4] == ["under-fit", "gradients", "caught-up", "over-fit"]
    under = said[0]
    assert under.epoch == 2
    assert under.text == "Epoch 2: minor classes (2, 3) at 0 % training accuracy vs 95 % for major — under-fit."
    assert said[1].text.startswith("Epoch 2: the minor classes' feature gradients are 87× larger")
    assert said[3].text == "Epoch 4: minor training 92 %, test 19 % — over-fit."
    assert "prior" in kinds  # no post-hoc step and the minor classes far behind at the end


def test_the_narrator_says_when_a_phase_does_not_happen():
    balanced = [(0.5, 0.45, 0.5, 0.45, 0.1, 0.1), (0.9, 0.85, 0.85, 0.8, 0.05, 0.05)]
    kinds = {s.kind for s in narrate(history(balanced))}
    assert {"no-under-fit", "no-over-fit"} <= kinds and "under-fit" not in kinds
    assert narrate(history(balanced), finished=False) == []  # absences are stated only at the end


def test_several_seeds_are_narrated_through_their_mean():
    runs = [history(STORY), history(STORY)]
    said = narrate(mean_history(runs), seeds=2)
    assert said[0].text.endswith("(mean of 2 seeds).")
    epochs, mean, low, high = band(runs, "test_acc", "minor")
    assert epochs == [1, 2, 3, 4, 5] and mean == pytest.approx([0, 0, 0.1, 0.19, 0.19])
    assert low == pytest.approx(mean) and high == pytest.approx(mean)  # identical seeds: no spread


def test_phases_follow_the_words():
    h = history(STORY)
    assert underfit_span(h) == (1, 3) and overfit_span(h) == (4, 5)
    assert [p.name for p in find_phases(h)] == ["under-fit", "over-fit"]


def test_predictions_are_graded_against_the_run():
    h = history(STORY)
    assert grade("minor-half", h, 4) == "You predicted 4; the run gave epoch 4 — close."
    assert grade("minor-test", h, 0.6).endswith("too high.")
    assert "87×" in grade("gradient-peak", h, 10)


def test_the_feature_view_keeps_one_projection_for_the_replay():
    labels = np.array([0] * 50 + [1] * 50 + [2] * 5)
    sample = feature_sample(labels, {"major": [0, 1], "minor": [2]}, per_class=10)
    assert len(sample) == 25 and set(labels[sample]) == {0, 1, 2}
    trail = FeatureTrail(sample, labels)
    rng = np.random.default_rng(0)
    base = rng.normal(size=(25, 8))
    trail.add(1, base)
    live = trail.add(2, base * 2)
    replay = trail.replay()
    mean, basis = principal_plane((base * 2).astype(np.float16).astype(np.float32))  # the last epoch's plane
    for features, points in zip((base, base * 2), replay):  # every epoch on that one plane
        assert np.allclose(points, project(features.astype(np.float16).astype(np.float32), mean, basis), atol=1e-3)
    assert live.shape == (25, 2)
    turned = align(base[:, :2] @ np.array([[0.0, -1.0], [1.0, 0.0]]), base[:, :2])
    assert np.allclose(turned, base[:, :2], atol=1e-6)


def test_the_report_carries_the_narrators_sentences(tmp_path):
    from procrustes_core.figures.report import write_html_report

    page = write_html_report(history(STORY), tmp_path / "report.html").read_text()
    assert "What the run shows" in page and "over-fit" in page


def sparse(rows, every: int, **settings) -> RunHistory:
    """``history(rows)`` evaluated only every ``every`` epochs (and at the last), as ``eval_every`` does."""
    full = history(rows, TrainConfig(epochs=len(rows), profile="custom", counts=COUNTS, eval_every=every,
                                     **settings))
    keep = [r for r in full.records if r.epoch % every == 0 or r.epoch == len(rows)]
    return RunHistory(full.config, COUNTS, GROUPS, full.class_names, keep)


def test_phases_and_the_narrator_follow_sparse_evaluations():
    rows = [(0.95, 0.0, 0.9, 0.0, 0.05, 4.0)] * 6 + [(1.0, 0.95, 0.95, 0.9, 0.01, 0.02)] * 3
    found = sparse(rows, 3)  # records at epochs 3, 6, 9
    assert underfit_span(found) == (3, 6)
    said = {s.kind: s for s in narrate(found)}
    assert said["caught-up"].epoch == 9


def test_weakening_is_told_from_the_schedule_not_from_the_epochs_that_were_evaluated():
    rows = [(0.95, 0.0, 0.9, 0.0, 0.05, 4.0)] * 10
    found = sparse(rows, 3, mixer="mfw", mfw_strength=0.8, mfw_schedule="warmup", mfw_until=0.5)
    weakening = next(s for s in narrate(found) if s.kind == "weakening")
    assert weakening.text == "MFW weakened the major classes' features at strength 0.8 until epoch 5."


def test_caught_up_is_said_only_when_the_minor_classes_are_near_the_major_ones():
    rows = [(1.0, 0.1, 0.9, 0.1, 0.05, 4.0), (1.0, 0.52, 0.9, 0.4, 0.05, 1.0), (1.0, 0.95, 0.9, 0.8, 0.05, 0.1)]
    said = {s.kind: s for s in narrate(history(rows))}
    assert said["caught-up"].epoch == 3 and "95 % vs 100 %" in said["caught-up"].text


def test_a_missing_gradient_norm_leaves_the_gradient_sentence_out_instead_of_failing():
    rows = [(0.95, 0.0, 0.9, 0.0, float("nan"), float("nan")), (0.95, 0.0, 0.9, 0.0, 0.0, 0.0)]
    kinds = [s.kind for s in narrate(history(rows))]
    assert "under-fit" in kinds and "gradients" not in kinds


def test_no_over_fit_names_the_best_minor_training_accuracy_the_run_reached():
    rows = [(0.9, 0.95, 0.9, 0.9, 0.1, 0.1), (0.9, 0.85, 0.9, 0.8, 0.1, 0.1)]
    reason = next(s for s in narrate(history(rows)) if s.kind == "no-over-fit").text
    assert "whenever the minor classes (2, 3) were fitted" in reason  # fitted at epoch 1, though not at the end
    rows = [(0.9, 0.5, 0.9, 0.4, 0.1, 0.1), (0.9, 0.7, 0.9, 0.6, 0.1, 0.1)]
    reason = next(s for s in narrate(history(rows)) if s.kind == "no-over-fit").text
    assert "never reached 90 % (at most 70 %, epoch 2)" in reason


def test_a_stopped_run_is_left_out_of_a_paired_comparison_with_its_pair():
    from procrustes_core.analysis.seeds import compare_runs_paired

    def run(seed: int, minor_test: float, epochs_done: int) -> RunHistory:
        rows = [(1.0, 1.0, 0.9, minor_test, 0.1, 0.1)] * epochs_done
        config = TrainConfig(epochs=4, profile="custom", counts=COUNTS, seed=seed)
        found = history(rows, config)
        found.stopped = None if epochs_done == 4 else "stopped by the learner"
        return found

    a = [run(0, 0.2, 4), run(1, 0.2, 4), run(2, 0.2, 4)]
    b = [run(0, 0.3, 4), run(1, 0.31, 4), run(2, 0.9, 2)]  # seed 2 stopped after 2 epochs
    found = compare_runs_paired(a, b, "ERM", "MFW")
    assert found.seeds == [0, 1] and found.n == 2


def test_a_paired_comparison_refuses_non_finite_scores_and_names_a_tie():
    from procrustes_core import ProcrustesError
    from procrustes_core.analysis.compare import paired_comparison

    with pytest.raises(ProcrustesError, match="seed 1 has no finite score"):
        paired_comparison([0.5, float("nan")], [0.6, 0.7])
    tie = paired_comparison([0.5, 0.6, 0.7], [0.5, 0.6, 0.7 + 1e-12], a="ERM", b="MFW")
    assert tie.sentence() == ("MFW vs ERM: +0.0 points, the same on all 3 seeds (to within 0.01 points) — "
                              "within seed noise")


def test_a_verdict_keeps_one_order_and_signs_the_difference_whoever_is_ahead():
    from procrustes_core.analysis.compare import paired_comparison

    behind = paired_comparison([0.60, 0.62, 0.61], [0.50, 0.52, 0.53], a="ERM + LA", b="MFW + LA")
    ahead = paired_comparison([0.50, 0.52, 0.53], [0.60, 0.62, 0.61], a="ERM + LA", b="MFW + LA")
    assert behind.sentence().startswith("MFW + LA vs ERM + LA: -9.3 points [")
    assert "ahead on 0 of 3 seeds — beyond seed noise" in behind.sentence()
    assert ahead.sentence().startswith("MFW + LA vs ERM + LA: +9.3 points [")
    assert "ahead on 3 of 3 seeds — beyond seed noise" in ahead.sentence()
    noisy = paired_comparison([0.5, 0.6, 0.5], [0.6, 0.5, 0.52], a="ERM + LA", b="MFW + LA")
    assert noisy.sentence().endswith("ahead on 2 of 3 seeds — within seed noise")


def named(class_names: list[str], groups: dict[str, list[int]] | None = None) -> RunHistory:
    """The STORY run with other class names (and groups)."""
    found = history(STORY)
    return RunHistory(found.config, found.counts, groups or found.groups, class_names, found.records)


def test_the_narrator_names_a_few_minor_classes_at_their_first_mention():
    under = narrate(named(["legit", "refund", "fraud", "chargeback"]))[0]
    assert under.text.startswith("Epoch 2: minor classes (fraud, chargeback) at 0 % training accuracy")
    assert under.text.count("(fraud, chargeback)") == 1


def test_digit_classes_are_named_as_a_short_run():
    from procrustes_core.analysis.narrator import group_names

    run = named([str(d) for d in range(10)], {"major": [0, 1, 2, 3, 4], "minor": [5, 6, 7, 8, 9]})
    assert group_names(run, "minor") == "5–9"
    assert group_names(run, "major") == "0–4"


def test_class_names_too_long_for_a_sentence_are_not_listed():
    from procrustes_core.analysis.narrator import group_names

    run = named(["cat", "dog", "a rare kind of mountain finch", "another rare alpine warbler"])
    assert group_names(run, "minor") == ""
    assert group_names(run, "major") == "cat, dog"
    assert "minor classes at" in narrate(run)[0].text


def test_a_possessive_mention_is_left_unnamed():
    weakened = narrate(named(["legit", "refund", "fraud", "chargeback"]), finished=True)
    texts = " ".join(s.text for s in weakened)
    assert "classes' (" not in texts
