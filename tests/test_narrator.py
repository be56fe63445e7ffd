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
    assert under.text == "Epoch 2: minor classes at 0 % training accuracy vs 95 % for major — under-fit."
    assert said[1].text.startswith("Epoch 2: their feature gradients are 87× larger")
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
