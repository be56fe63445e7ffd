"""Major feature weakening: the class weights, the coefficient and the mixing, as DESIGN.md §1 defines them."""

import numpy as np
import pytest
import torch

from procrustes_core.methods.mfw import MajorFeatureWeakening, count_weights, progress_weights, strength_at


def test_class_weights_are_1_for_the_largest_and_0_for_the_smallest():
    weights = count_weights([1000, 550, 100])
    np.testing.assert_allclose(weights, [1.0, 0.5, 0.0])


def test_gamma_bends_the_class_weights():
    np.testing.assert_allclose(count_weights([1000, 550, 100], gamma=2), [1.0, 0.25, 0.0])


def test_balanced_data_are_never_weakened():
    assert not count_weights([50, 50, 50]).any()


def test_progress_weights_weaken_the_classes_fitted_best():
    np.testing.assert_allclose(progress_weights([0.9, 0.5, 0.1]), [1.0, 0.5, 0.0])


def _mixer(counts=(1000, 1000, 10), **kwargs):
    return MajorFeatureWeakening(list(counts), seed=0, **kwargs)


def test_strength_zero_returns_the_features_bit_for_bit():
    h = torch.randn(64, 8, 5)
    labels = torch.randint(0, 3, (64,))
    assert torch.equal(_mixer()(h, labels, 0.0), h)


def test_the_smallest_class_is_never_weakened():
    h = torch.randn(256, 16)
    labels = torch.randint(0, 3, (256,))
    lam, partner = _mixer().coefficients(labels, 1.0)
    minor = labels == 2
    assert torch.all(lam[minor] == 1)
    mixed = MajorFeatureWeakening.mix(h, lam, partner)
    assert torch.equal(mixed[minor], h[minor])
    assert not torch.equal(mixed[~minor], h[~minor])


def test_coefficient_follows_lam_equals_1_minus_s_w_u():
    labels = torch.tensor([0] * 2000)
    lam, partner = _mixer().coefficients(labels, 0.8)
    # w = 1 for class 0, so lam = 1 - 0.8 u with u ~ U(0, 1): uniform on [0.2, 1]
    assert lam.min() >= 0.2 - 1e-6 and lam.max() <= 1.0
    assert abs(lam.mean().item() - 0.6) < 0.02
    assert sorted(partner.tolist()) == list(range(2000))


def test_mixing_is_a_convex_combination_with_the_partner():
    h = torch.randn(32, 4)
    labels = torch.zeros(32, dtype=torch.long)
    lam, partner = _mixer().coefficients(labels, 1.0)
    mixed = MajorFeatureWeakening.mix(h, lam, partner)
    expected = lam[:, None] * h + (1 - lam[:, None]) * h[partner]
    assert torch.allclose(mixed, expected)


def test_beta_coefficient_and_weakening_probability():
    labels = torch.zeros(4000, dtype=torch.long)
    lam, _ = _mixer(coef="beta", alpha=0.5).coefficients(labels, 1.0)
    assert abs(lam.mean().item() - 0.5) < 0.03 and (lam < 0.1).float().mean() > 0.15  # U-shaped
    lam, _ = _mixer(prob=0.25).coefficients(labels, 1.0)
    assert abs((lam < 1).float().mean().item() - 0.25) < 0.03


def test_mixer_draws_from_its_own_random_stream():
    before = torch.random.get_rng_state()
    _mixer().coefficients(torch.zeros(10, dtype=torch.long), 1.0)
    assert torch.equal(before, torch.random.get_rng_state())


@pytest.mark.parametrize(
    "schedule, expected",
    [
        ("constant", [0.8] * 10),
        ("warmup", [0.8] * 5 + [0.0] * 5),
        ("linear", [0.8 * (1 - e / 5) for e in range(5)] + [0.0] * 5),
    ],
)
def test_strength_schedules(schedule, expected):
    got = [strength_at(schedule, 0.8, e, 10, 0.5) for e in range(10)]
    np.testing.assert_allclose(got, expected)


def test_until_equal_stops_once_progress_is_equal():
    assert strength_at("until-equal", 0.8, 3, 10, 0.5, progress_equal=False) == 0.8
    assert strength_at("until-equal", 0.8, 3, 10, 0.5, progress_equal=True) == 0.0


def test_until_equal_stops_weakening_only_once_the_major_classes_are_fitted_and_the_minor_caught_up():
    mfw = MajorFeatureWeakening([100, 100, 2, 2], strength=0.8, schedule="until-equal", epochs=10)
    groups = {"major": [0, 1], "minor": [2, 3]}
    mfw.after_epoch([0.3, 0.3, 0.28, 0.28], groups)  # both near chance: nothing to balance yet
    assert mfw.strength_at(1) == 0.8
    mfw.after_epoch([0.95, 0.95, 0.2, 0.2], groups)  # the minor classes lag
    assert mfw.strength_at(2) == 0.8
    mfw.after_epoch([0.97, 0.97, 0.9, 0.9], groups)  # caught up
    assert mfw.strength_at(3) == 0.0


def test_weakening_a_batch_directly_honours_detach():
    h = torch.randn(6, 4, requires_grad=True)
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    mfw = MajorFeatureWeakening([100, 2], strength=1.0, detach=True, seed=3)
    mixed = mfw(h, labels, 1.0)
    mixed[:3].sum().backward()  # major samples only; their partners' features get no gradient
    lam, partner = MajorFeatureWeakening([100, 2], strength=1.0, seed=3).coefficients(labels, 1.0)
    touched = {i for i in range(3)} | {int(partner[i]) for i in range(3) if lam[i] < 1}
    assert all(h.grad[i].abs().sum() == 0 for i in range(6) if i not in range(3))
    assert touched  # the partners exist, yet only the rows of the mixed samples themselves got gradient
