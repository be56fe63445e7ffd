"""Beyond accuracy: precision–recall curves and AP, reliability and ECE, thresholds, prior shift and
resampling to a prior (analysis.calibration, torch-free), their figures, and the report's figures."""

from __future__ import annotations

import numpy as np
import pytest

from procrustes_core.analysis import calibration as cal
from procrustes_core.errors import ProcrustesError


def random_problem(n=400, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    logits = rng.normal(size=(n, classes)) + 2.0 * np.eye(classes)[labels]
    return cal.softmax(logits), labels


def test_softmax_rows_sum_to_one_and_survive_large_logits():
    p = cal.softmax([[1000.0, 1000.0, 0.0], [0.0, 1.0, 2.0]])
    assert np.allclose(p.sum(1), 1) and np.allclose(p[0], [0.5, 0.5, 0.0])


def test_average_precision_matches_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    p, y = random_problem()
    for c in range(p.shape[1]):
        ours = cal.pr_curve(p[:, c], y == c)
        assert ours.average_precision == pytest.approx(metrics.average_precision_score(y == c, p[:, c]))
    ties = np.array([0.9, 0.9, 0.5, 0.5, 0.1])  # tied scores form one threshold
    positive = np.array([1, 0, 1, 0, 0], dtype=bool)
    curve = cal.pr_curve(ties, positive)
    assert len(curve.thresholds) == 3
    assert curve.average_precision == pytest.approx(metrics.average_precision_score(positive, ties))


def test_pr_curve_by_hand_and_a_random_scorers_baseline():
    curve = cal.pr_curve([0.9, 0.8, 0.3, 0.1], [True, False, True, False])
    assert list(curve.precision) == [1.0, 0.5, 2 / 3, 0.5] and list(curve.recall) == [0.5, 0.5, 1.0, 1.0]
    assert curve.average_precision == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)
    assert curve.baseline == 0.5
    rng = np.random.default_rng(1)
    positive = rng.random(20_000) < 0.01
    assert cal.pr_curve(rng.random(20_000), positive).average_precision == pytest.approx(0.01, abs=0.005)
    assert np.isnan(cal.pr_curve([0.2, 0.1], [False, False]).average_precision)


def test_reliability_of_a_calibrated_and_an_overconfident_model():
    rng = np.random.default_rng(2)
    n = 50_000
    confidence = rng.uniform(0.5, 1.0, n)  # a two-class model that is right with probability = its confidence
    right = rng.random(n) < confidence
    labels = np.where(right, 0, 1)
    p = np.stack([confidence, 1 - confidence], 1)
    calibrated = cal.reliability(p, labels, bins=10)
    assert calibrated.ece < 0.01 and calibrated.counts.sum() == n and len(calibrated.edges) == 11
    sharp = cal.softmax(np.log(p) * 4)  # the same ranking, far more confident
    over = cal.reliability(sharp, labels, bins=10)
    assert over.ece > 0.1 and over.overconfident and over.mce >= over.ece
    assert cal.expected_calibration_error(sharp, labels, 10) == pytest.approx(over.ece)


def test_ece_by_hand():
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    y = np.array([0, 1, 0, 1])
    # bins of width 0.5: [0.5, 1] holds all four: confidence mean 0.775, accuracy 0.75
    assert cal.reliability(p, y, bins=2).ece == pytest.approx(abs(0.75 - 0.775))
    # bins of width 0.1: 0.9 → (acc 0.5, conf 0.9), 0.6 → (1, 0.6), 0.7 → (1, 0.7)
    assert cal.reliability(p, y, bins=10).ece == pytest.approx(0.5 * 0.4 + 0.25 * 0.4 + 0.25 * 0.3)
    assert cal.brier_score(np.eye(2)[[0, 1]], [0, 1]) == 0.0


def test_thresholds_and_a_rare_event_where_accuracy_says_nothing():
    rng = np.random.default_rng(3)
    positive = rng.random(10_000) < 0.01
    never = cal.scores_at(np.zeros(10_000), positive, 0.5)  # a screen that never fires
    assert never.accuracy > 0.98 and never.recall == 0 and never.predicted == 0 and never.precision == 0
    scores = np.where(positive, rng.uniform(0.2, 1.0, 10_000), rng.uniform(0.0, 0.4, 10_000))
    best = cal.best_threshold(scores, positive)
    assert best.f1 > never.f1 and 0.2 <= best.threshold <= 0.45
    found = cal.threshold_for_recall(scores, positive, 0.95)
    assert found.recall >= 0.95 and cal.scores_at(scores, positive, np.nextafter(found.threshold, 2)).recall < 0.95
    assert set(best.as_dict()) >= {"threshold", "precision", "recall", "f1", "predicted_positive"}
    with pytest.raises(ProcrustesError):
        cal.best_threshold(scores, positive, "accuracy")


def test_prior_shift_is_bayes_rule_and_uniform_target_is_logit_adjustment():
    p, _ = random_problem()
    train = np.array([0.7, 0.2, 0.05, 0.05])
    assert np.allclose(cal.prior_shift(p, train, train), p)
    uniform = cal.prior_shift(p, train, np.full(4, 0.25))
    adjusted = np.log(p) - np.log(train)  # logit adjustment, tau = 1
    assert (uniform.argmax(1) == adjusted.argmax(1)).all() and np.allclose(uniform.sum(1), 1)
    assert cal.expected_accuracy([1.0, 0.0], [0.9, 0.1]) == pytest.approx(0.9)
    with pytest.raises(ProcrustesError):
        cal.prior_shift(p, train[:3], train[:3])


def test_resample_to_a_prior():
    labels = np.repeat(np.arange(4), 100)
    keep = cal.resample_to_prior(labels, [0.7, 0.1, 0.1, 0.1], seed=0)
    shares = np.bincount(labels[keep], minlength=4) / len(keep)
    assert np.allclose(shares, [0.7, 0.1, 0.1, 0.1], atol=0.01) and len(set(keep)) == len(keep)
    rare = cal.resample_to_prior(labels, [0.99, 0.01, 0, 0], seed=1)
    assert set(labels[rare]) == {0, 1} and (labels[rare] == 1).sum() == 1
    with pytest.raises(ProcrustesError):
        cal.resample_to_prior(labels, [0, 0, 0, 0])


def test_the_figures_build():
    from procrustes_core import figures

    p, y = random_problem()
    groups = {"major": [0, 1], "minor": [2, 3]}
    fig = figures.pr_curves(cal.per_class_pr(p, y), ["a", "b", "c", "d"], groups)
    assert len(fig.data) == 4 and "AP" in fig.data[0].name
    rel = figures.reliability_diagram({"ERM": cal.reliability(p, y), "LA": cal.reliability(p ** 2 / (p ** 2).sum(1,
                                       keepdims=True), y)})
    assert any("ECE" in (t.name or "") for t in rel.data)
    assert len(figures.threshold_figure(p[:, 2], y == 2, chosen=0.3).data) == 4
    assert len(figures.prior_figure([0.01, 0.1], {"ERM": [0.9, 0.8]}).data) == 1
    found = figures.calibration_figures(p, y, [100, 100, 10, 10], ["a", "b", "c", "d"], groups)
    assert {"precision–recall curves", "reliability diagram"} <= set(found)


def test_the_report_adds_them_given_the_runs_network(tmp_path, capsys):
    import json

    from procrustes_core.cli import main

    out, net, html = tmp_path / "run.json", tmp_path / "net.pt", tmp_path / "report.html"
    assert main(["train", "--n-samples", "2000", "--width", "8", "--epochs", "1", "--threads", "1", "--ratio", "10",
                 "--quiet", "--out", str(out), "--save-checkpoint", str(net)]) == 0
    capsys.readouterr()
    assert main(["report", str(out), "--checkpoint", str(net), "--html", str(html)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0 <= summary["ece"] <= 1 and 0 <= summary["mean_average_precision"] <= 1
    page = html.read_text()
    assert "reliability diagram" in page and "precision–recall curves" in page
    assert main(["report", str(out), "--checkpoint", str(tmp_path / "missing.pt")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_precision_follows_the_prior_and_a_threshold_can_be_chosen_for_a_deployment_share():
    assert cal.precision_at_prior([0.8], [0.1], 0.5)[0] == pytest.approx(0.8 / 0.9)
    assert cal.precision_at_prior([0.8], [0.1], 0.01)[0] == pytest.approx(0.008 / (0.008 + 0.099))
    assert cal.precision_at_prior([0.0], [0.0], 0.1)[0] == 0.0
    rng = np.random.default_rng(4)
    positive = np.r_[np.ones(300, bool), np.zeros(2700, bool)]  # a validation split with 10 % positives
    scores = np.where(positive, rng.beta(5, 2, 3000), rng.beta(2, 5, 3000))
    own = cal.best_threshold(scores, positive)
    rare = cal.best_threshold(scores, positive, positive_share=0.01)
    assert rare.threshold > own.threshold  # with fewer positives, false alarms cost more: a higher threshold
    with pytest.raises(ProcrustesError):
        cal.precision_at_prior([0.5], [0.5], 1.0)


def test_the_calibration_summary_is_the_ece_and_the_average_precision_of_all_classes_and_each_group():
    p, y = random_problem()
    groups = {"major": [0, 1], "minor": [2, 3]}
    summary = cal.calibration_summary(p, y, groups)
    ap = cal.average_precisions(p, y)
    assert summary.ece == pytest.approx(cal.expected_calibration_error(p, y))
    assert summary.mean_average_precision == pytest.approx(ap.mean())
    assert summary.group_average_precision == pytest.approx({"major": ap[:2].mean(), "minor": ap[2:].mean()})
    assert summary.tail == "minor"
    sentence = summary.sentence()
    assert f"{summary.ece:.3f}" in sentence and f"{ap[2:].mean():.2f} over the minor ones" in sentence
    assert "over the" not in cal.calibration_summary(p, y).sentence()  # no groups: no group's figure
