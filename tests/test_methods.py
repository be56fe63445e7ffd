"""The method zoo: each loss, sampler, mixer, schedule and post-hoc step against its formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.methods.catalogue import check_combination
from procrustes_core.methods.losses import LabelMix, build_loss, effective_number_weights, inverse_frequency_weights
from procrustes_core.methods.mfw import strength_at
from procrustes_core.methods.mixers import Remix
from procrustes_core.methods.posthoc import tau_normalise
from procrustes_core.methods.samplers import build_sampler
from procrustes_core.methods.schedules import DeferredReweighting, GradientScaling, LossWeights, ramp
from procrustes_core.models.heads import CosineClassifier, LinearClassifier

COUNTS = [100, 10, 1]
LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-0.5, 1.5, 0.0], [1.0, -2.0, 3.0]])
LABELS = np.array([0, 2, 1, 2])


def np_ce(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample cross-entropy, written out: log Σ exp z − z_y."""
    return np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]


def per_sample(name: str, z: np.ndarray = LOGITS, y: np.ndarray = LABELS, **options) -> np.ndarray:
    loss = build_loss(name, COUNTS, **options)
    return loss.per_sample(torch.tensor(z, dtype=torch.float64), torch.tensor(y)).numpy()


# ---------------------------------------------------------------- losses


def test_cross_entropy_matches_a_hand_computed_value():
    # z = (0, 0, log 2): p_0 = 1/4, so ℓ = log 4
    value = per_sample("ce", np.array([[0.0, 0.0, math.log(2)]]), np.array([0]))
    assert value[0] == pytest.approx(math.log(4))
    assert per_sample("ce") == pytest.approx(np_ce(LOGITS, LABELS))


def test_plain_cross_entropy_is_the_fused_torch_mean():
    z, y = torch.randn(37, 5, generator=torch.Generator().manual_seed(0)), torch.arange(37) % 5
    assert torch.equal(build_loss("ce", [5] * 5)(z, y), F.cross_entropy(z, y))


def test_inverse_frequency_weights_sum_to_the_number_of_classes():
    w = inverse_frequency_weights(COUNTS)
    expected = np.array([1 / 100, 1 / 10, 1]) * 3 / (1 / 100 + 1 / 10 + 1)
    assert w == pytest.approx(expected)
    assert w.sum() == pytest.approx(3)


def test_effective_number_weights_follow_the_formula():
    beta = 0.9
    raw = np.array([(1 - beta) / (1 - beta**n) for n in COUNTS])
    assert effective_number_weights(COUNTS, beta) == pytest.approx(raw * 3 / raw.sum())


def test_weighted_loss_is_the_weighted_mean_of_per_sample_losses():
    loss = build_loss("weighted-ce", COUNTS)
    w = inverse_frequency_weights(COUNTS)
    value = loss(torch.tensor(LOGITS), torch.tensor(LABELS), torch.tensor(w))
    ell = np_ce(LOGITS, LABELS)
    assert float(value) == pytest.approx((w[LABELS] * ell).sum() / w[LABELS].sum())
    cb = build_loss("cb-ce", COUNTS, cb_beta=0.9)
    assert cb.loss_weights == pytest.approx(effective_number_weights(COUNTS, 0.9))


def test_focal_loss_matches_numpy_and_is_cross_entropy_at_gamma_zero():
    p = np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)
    p_y = p[np.arange(4), LABELS]
    assert per_sample("focal", focal_gamma=2.0) == pytest.approx(-((1 - p_y) ** 2) * np.log(p_y))
    assert per_sample("focal", focal_gamma=0.0) == pytest.approx(np_ce(LOGITS, LABELS))


def test_ldam_margins_grow_as_classes_shrink_with_the_largest_equal_to_max_margin():
    loss = build_loss("ldam", COUNTS, ldam_max_margin=0.5, ldam_scale=1.0)
    expected = np.array([100 ** -0.25, 10 ** -0.25, 1.0]) * 0.5
    assert loss.margins == pytest.approx(expected)
    shifted = LOGITS.copy()
    shifted[np.arange(4), LABELS] -= expected[LABELS]
    assert per_sample("ldam", ldam_max_margin=0.5, ldam_scale=1.0) == pytest.approx(
        np_ce(shifted, LABELS))


def test_ldam_scales_the_margin_by_s():
    shifted = LOGITS.copy()
    margins = np.array([100 ** -0.25, 10 ** -0.25, 1.0]) * 0.3
    shifted[np.arange(4), LABELS] -= 10 * margins[LABELS]
    assert per_sample("ldam", ldam_max_margin=0.3, ldam_scale=10.0) == pytest.approx(np_ce(shifted, LABELS))


def test_the_cosine_classifier_gives_s_times_cosine_and_starts_with_unit_norm_class_vectors():
    head = CosineClassifier(4, 3, scale=10.0)
    assert head.weight.norm(dim=1).tolist() == pytest.approx([1.0, 1.0, 1.0])
    h = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    cosine = F.normalize(h, dim=1) @ F.normalize(head.weight, dim=1).T
    assert torch.allclose(head(h), 10 * cosine)
    assert torch.equal(tau_normalise(head(h), head, 1.0), head(h))  # its class vectors are normalised already


def test_balanced_softmax_adds_log_counts_and_equals_the_logit_adjusted_loss_at_tau_one():
    expected = np_ce(LOGITS + np.log(COUNTS), LABELS)
    assert per_sample("balanced-softmax") == pytest.approx(expected)
    assert per_sample("la-loss", la_loss_tau=1.0) == pytest.approx(expected)


def test_logit_adjusted_loss_adds_tau_log_prior():
    prior = np.array(COUNTS) / sum(COUNTS)
    assert per_sample("la-loss", la_loss_tau=0.5) == pytest.approx(np_ce(LOGITS + 0.5 * np.log(prior), LABELS))


def test_cdt_divides_logits_by_class_temperatures():
    a = (100 / np.array(COUNTS)) ** 0.3
    assert per_sample("cdt", cdt_gamma=0.3) == pytest.approx(np_ce(LOGITS / a, LABELS))


def test_mixed_labels_count_towards_both_labels_with_weights_mixed_alike():
    loss = build_loss("ce", COUNTS)
    lam, partner = np.array([1.0, 0.25, 0.5, 0.0]), np.array([1, 0, 3, 2])
    w = np.array([0.5, 1.0, 2.0])
    value = loss(torch.tensor(LOGITS), torch.tensor(LABELS), torch.tensor(w),
                 LabelMix(torch.tensor(lam), torch.tensor(partner)))
    y2 = LABELS[partner]
    num = lam * w[LABELS] * np_ce(LOGITS, LABELS) + (1 - lam) * w[y2] * np_ce(LOGITS, y2)
    den = lam * w[LABELS] + (1 - lam) * w[y2]
    assert float(value) == pytest.approx(num.sum() / den.sum())


# ---------------------------------------------------------------- samplers


LABELS_400 = torch.tensor([0] * 300 + [1] * 75 + [2] * 25)


def class_shares(name: str, draws: int = 40) -> np.ndarray:
    sampler, g = build_sampler(name), torch.Generator().manual_seed(0)
    counts = sum(np.bincount(LABELS_400[sampler.order(LABELS_400, g)].numpy(), minlength=3) for _ in range(draws))
    return counts / counts.sum()


def test_instance_sampling_visits_every_sample_once():
    order = build_sampler("instance").order(LABELS_400, torch.Generator().manual_seed(0))
    assert sorted(order.tolist()) == list(range(400))


def test_class_balanced_sampling_draws_every_class_equally_often():
    assert class_shares("class-balanced") == pytest.approx([1 / 3] * 3, abs=0.02)


def test_square_root_sampling_draws_classes_in_proportion_to_root_counts():
    root = np.sqrt([300, 75, 25])
    assert class_shares("square-root") == pytest.approx(root / root.sum(), abs=0.02)


def test_over_and_under_sampling_equalise_class_counts_exactly():
    g = torch.Generator().manual_seed(0)
    over = build_sampler("oversample").order(LABELS_400, g)
    assert np.bincount(LABELS_400[over].numpy()).tolist() == [300, 300, 300]
    assert set(range(400)) <= set(over.tolist())  # every original sample is kept
    under = build_sampler("undersample").order(LABELS_400, g)
    assert np.bincount(LABELS_400[under].numpy()).tolist() == [25, 25, 25]
    assert len(set(under.tolist())) == 75  # without repeats


@pytest.mark.parametrize("name", ["smote", "borderline-smote"])
def test_smote_adds_synthetic_minor_samples_and_keeps_the_originals(name):
    x = torch.randn(len(LABELS_400), 1, 8, generator=torch.Generator().manual_seed(0))
    x_pool, y_pool = build_sampler(name, seed=0).prepare(x, LABELS_400)
    assert x_pool.shape[1:] == x.shape[1:] and x_pool.dtype == x.dtype
    assert torch.equal(x_pool[:400], x) and torch.equal(y_pool[:400], LABELS_400)
    counts = np.bincount(y_pool.numpy())
    assert counts[0] == 300 and counts[1] > 75 and counts[2] > 25
    if name == "smote":
        assert counts.tolist() == [300, 300, 300]


def test_smote_is_refused_for_images_with_a_one_line_message():
    with pytest.raises(ProcrustesError, match=r"sampler='smote' with dataset='cifar10': SMOTE interpolates"):
        check_combination(TrainConfig(dataset="cifar10", sampler="smote"))
    with pytest.raises(ProcrustesError, match="^sampler='borderline-smote' with dataset='mnist': .* not images"):
        check_combination(TrainConfig(dataset="mnist", sampler="borderline-smote"))


# ---------------------------------------------------------------- mixers, schedules, post-hoc


def test_remix_moves_the_label_to_the_minor_class_of_an_imbalanced_pair():
    remix = Remix([300, 10], kappa=3.0, tau=0.5)
    labels, partner = torch.tensor([0, 1, 0, 0]), torch.tensor([1, 0, 2, 3])  # pairs (0,1) (1,0) (0,0) (0,0)
    lam = torch.tensor([0.3, 0.8, 0.3, 0.7])
    lam_y = remix.label_lam(labels, lam, partner)
    # major sample mostly replaced by a minor one -> minor label; minor sample kept mostly -> its label
    assert lam_y.tolist() == pytest.approx([0.0, 1.0, 0.3, 0.7])


def test_cosine_mfw_curriculum_decays_from_s_to_zero_at_the_given_fraction():
    assert [strength_at("cosine", 0.8, e, 10, 0.5) for e in (0, 2.5, 5, 9)] == pytest.approx([0.8, 0.4, 0, 0])


def test_ramps_reach_full_weight_at_the_given_fraction():
    assert ramp("constant", 0, 10) == 1.0
    assert [ramp("linear", e, 10, 0.5) for e in (0, 2, 5, 9)] == pytest.approx([0, 0.4, 1, 1])
    assert ramp("cosine", 5, 10, 1.0) == pytest.approx(0.5)
    weights = LossWeights(np.array([0.5, 1.5]), "linear", 10, 1.0)
    assert weights.at(0) is None and weights.at(5) == pytest.approx([0.75, 1.25])


def test_drw_trains_plain_for_its_epochs_then_reweights():
    drw = DeferredReweighting(np.array([0.2, 1.8]), start=3)
    assert drw.at(0) is None and drw.at(1) is None and drw.at(2) is None  # the first 3 epochs (0-based 0..2)
    assert drw.at(3) == pytest.approx([0.2, 1.8])  # from the 4th epoch on
    ldam_drw = DeferredReweighting(np.array([0.2, 1.8]), start=160)  # LDAM-DRW: epoch // 160 picks the weights
    assert [ldam_drw.at(e) is None for e in (159, 160)] == [True, False]


def test_gradient_scaling_lifts_small_total_gradients_but_never_beyond_inverse_frequency():
    scaling = GradientScaling([100, 10, 1], power=1.0)
    assert scaling.at(0) is None  # nothing measured yet
    scaling.after_epoch([0.1, 0.5, 2.0])  # total gradient 10, 5, 2
    assert scaling.at(1) == pytest.approx([1.0, 2.0, 5.0])
    scaling.after_epoch([0.1, 0.05, 0.001])  # totals 10, 0.5, 0.001 -> capped at 10 and 100
    assert scaling.at(2) == pytest.approx([1.0, 10.0, 100.0])


def test_tau_normalisation_divides_each_class_weight_vector_by_its_norm_to_the_tau():
    head = LinearClassifier(3, 2)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[3.0, 0.0, 4.0], [0.0, 1.0, 0.0]]))
        head.bias.copy_(torch.tensor([0.5, -0.5]))
    h = torch.tensor([[1.0, 2.0, 3.0]])
    out = tau_normalise(head(h).detach(), head, 1.0)
    assert out.tolist()[0] == pytest.approx([15 / 5 + 0.5, 2 / 1 - 0.5])
    assert torch.equal(tau_normalise(head(h), head, 0.0), head(h))
