"""The narrator on MFW runs: what weakening did to the gradients and the training gap, and why minor test
accuracy can sit above minor training accuracy — said from the run's own numbers."""

from __future__ import annotations

from test_narrator import COUNTS, history

from procrustes_core import TrainConfig
from procrustes_core.analysis.narrator import narrate

# (major train, minor train, major test, minor test, major grad, minor grad) per epoch
PLAIN = [(0.9, 0.0, 0.85, 0.0, 0.1, 7.0), (0.97, 0.3, 0.9, 0.1, 0.05, 3.5), (1.0, 1.0, 0.95, 0.2, 0.01, 0.1),
         (1.0, 1.0, 0.95, 0.2, 0.01, 0.1)]
WEAKENED = [(0.8, 0.0, 0.8, 0.0, 0.5, 1.5), (0.95, 0.05, 0.9, 0.05, 0.4, 1.2), (1.0, 0.4, 0.95, 0.6, 0.1, 0.3),
            (1.0, 0.5, 0.95, 0.6, 0.1, 0.3)]


def mfw(rows, **settings) -> object:
    config = TrainConfig(epochs=len(rows), profile="custom", counts=COUNTS, mixer="mfw", mfw_strength=0.5,
                         mfw_schedule="warmup", mfw_until=0.5, **settings)
    found = history(rows, config)
    for record in found.records:
        record.mfw_strength = 0.5 if record.epoch <= 2 else 0.0
    return found


def said(found, **kwargs) -> dict:
    return {s.kind: s for s in narrate(found, **kwargs)}


def test_an_mfw_run_says_the_gradients_it_balanced_and_the_gap_it_left():
    effect = said(mfw(WEAKENED))["mfw-effect"]
    assert effect.epoch == 2  # the last weakened epoch
    assert "feature gradients averaged 3.0× the major classes' — close to even" in effect.text  # (3 + 3) / 2
    assert "at epoch 2 the minor classes (2, 3) are at 5 % training accuracy vs 95 % for major" in effect.text


def test_gradients_far_from_even_under_mfw_are_not_called_balanced():
    far = [(0.9, 0.0, 0.85, 0.0, 0.1, 5.0), (0.97, 0.1, 0.9, 0.1, 0.05, 2.0)] + WEAKENED[2:]
    effect = said(mfw(far))["mfw-effect"].text
    assert "averaged 45.0× the major classes' — still far from even" in effect and "close to even" not in effect
    with_baseline = said(mfw(far), baseline=history(PLAIN))["mfw-effect"].text
    assert "(70× without MFW on the same seeds: MFW did not even them on this run)" in with_baseline


def test_with_a_plain_baseline_it_says_mfw_widened_the_gap_when_it_did():
    effect = said(mfw(WEAKENED), baseline=history(PLAIN))["mfw-effect"].text
    assert "(70× without MFW on the same seeds: MFW evened them)" in effect  # (70 + 70) / 2
    assert "without MFW: 30 % vs 97 % — the gap is wider with MFW" in effect


def test_a_plain_run_has_no_mfw_sentence():
    assert "mfw-effect" not in said(history(PLAIN))


def test_minor_test_above_training_under_la_is_explained():
    statement = said(mfw(WEAKENED, la_tau=1.0))["test-above-train"]
    assert statement.epoch == 3  # the first epoch it happens: 60 % test against 40 % training
    assert statement.text.startswith("Epoch 3: the minor classes' test accuracy (60 %) is above their training "
                                     "accuracy (40 %): training accuracy is read from the network's raw outputs")
    assert "MFW keeps the network from memorising the few minor training samples" in statement.text


def test_minor_test_below_training_needs_no_explanation():
    assert "test-above-train" not in said(history(PLAIN))
    close = [(0.9, 0.5, 0.9, 0.53, 0.1, 0.1)]  # 3 points above: within the 5-point margin
    assert "test-above-train" not in said(mfw(close, la_tau=1.0))


def test_plain_training_without_a_post_hoc_step_is_not_explained():
    noisy = [(0.9, 0.0, 0.9, 0.06, 0.1, 3.0), (1.0, 1.0, 0.95, 0.2, 0.01, 0.1)]  # 6 % test against 0 % training
    assert "test-above-train" not in said(history(noisy))
