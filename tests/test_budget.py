"""One budget: the caps a link is lowered to are the caps the service refuses, a request's runs are
priced together, and a page's default seeds are the most the same check allows."""

from __future__ import annotations

import pytest

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.training.budget import Budget, price

QUICK = TrainConfig(n_samples=1000, ratio=10, width=4, epochs=2, batch_size=64)


@pytest.mark.parametrize("asked", [dict(epochs=50), dict(n_samples=5000), dict(epochs=50, n_samples=5000),
                                   dict(dataset="toy2d", n_samples=5000), dict(dataset="digits", n_samples=5000)])
def test_a_link_is_lowered_to_exactly_the_caps_the_service_refuses(asked):
    budget = Budget(max_epochs=10, max_generated_samples=2000)
    config = TrainConfig(**asked)
    refused = True
    try:
        budget.check_request(config)
        refused = False
    except ProcrustesError as err:
        message = str(err)
    lowered, said = budget.clamp(config)
    assert bool(said) == refused  # lowered exactly when refused
    if refused:
        assert said[0].startswith(message) and said[0].endswith(" — set to " + message.split("at most ")[1].split()[0])
    budget.check_request(lowered)  # what a link is lowered to, the service takes
    assert lowered.epochs == min(config.epochs, 10) and lowered.dataset == config.dataset
    if config.dataset == "digits":
        assert lowered.n_samples == config.n_samples  # digits are not generated: n_samples is not theirs


def test_a_request_of_several_runs_is_priced_as_a_whole():
    one = price(QUICK)
    budget = Budget(max_tflop=one.flops * 2.5 / 1e12)
    assert len(budget.check_all([QUICK, QUICK], seeds=1)) == 2  # 2 runs: within
    budget.check(QUICK, seeds=2)  # each run alone fits on 2 seeds ...
    with pytest.raises(ProcrustesError, match=r"\(4 trainings\): .*PROCRUSTES_MAX_TFLOP") as err:
        budget.check_all([QUICK, QUICK], seeds=2)  # ... but not both runs on 2 seeds
    assert "\n" not in str(err.value)
    steps = Budget(max_steps=one.steps * 3 - 1)
    with pytest.raises(ProcrustesError, match="PROCRUSTES_MAX_STEPS"):
        steps.check_all([QUICK, QUICK, QUICK])


@pytest.mark.parametrize("affordable", [1, 2, 3, 5])
def test_a_pages_default_seeds_are_the_most_the_budget_check_allows(affordable):
    one = price(QUICK)
    budget = Budget(max_tflop=one.flops * (affordable + 0.5) / 1e12)
    found = budget.seeds_within(QUICK, most=4)
    assert found == min(affordable, 4)
    budget.check(QUICK, found)
    if found < 4:
        with pytest.raises(ProcrustesError):
            budget.check(QUICK, found + 1)


def test_default_seeds_stop_at_the_servers_seed_cap_and_are_one_when_one_is_over_budget():
    assert Budget(max_seeds=2).seeds_within(QUICK, most=5) == 2
    assert Budget(max_tflop=1e-9).seeds_within(QUICK, most=5) == 1  # Train then says why
