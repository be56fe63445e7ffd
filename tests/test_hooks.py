"""MFW in any model: a forward hook at a chosen layer mixes that layer's output as the core's
weakening object says, only in training mode and only for the labels given."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from procrustes_core.errors import ProcrustesError
from procrustes_core.methods.hooks import weaken_features
from procrustes_core.methods.mixers import blend


def model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))


COUNTS = [100, 10, 1]  # weights 1, 0.09, 0


def test_the_hooked_layer_output_is_the_cores_blend():
    net = model()
    seen = {}
    net[1].register_forward_hook(lambda m, i, o: seen.__setitem__("h", o.detach().clone()))
    weakening = weaken_features(net, "0", COUNTS, strength=1.0, seed=3)
    x, y = torch.randn(8, 4), torch.tensor([0, 0, 0, 1, 1, 2, 2, 0])
    with weakening.labels(y):
        out = net(x)
    lam, partner = weakening.last
    plain = net[0](x)
    expected = net[2](torch.relu(blend(plain, lam, partner)))
    assert torch.allclose(out, expected, atol=1e-6)
    assert torch.allclose(seen["h"], torch.relu(blend(plain, lam, partner)), atol=1e-6)
    assert bool((lam[y == 2] == 1).all()) and bool((lam[y == 0] < 1).all())  # the smallest class is never mixed


def test_nothing_is_mixed_in_eval_mode_outside_labels_or_after_remove():
    net = model()
    weakening = weaken_features(net, net[0], COUNTS, strength=1.0)
    x, y = torch.randn(5, 4), torch.zeros(5, dtype=torch.long)
    reference = net[2](torch.relu(net[0](x)))
    assert torch.allclose(net(x), reference)  # no labels given
    net.eval()
    with weakening.labels(y):
        assert torch.allclose(net(x), reference)  # eval mode
    net.train()
    with weakening.labels(y):
        assert not torch.allclose(net(x), reference)
    weakening.remove()
    with weakening.labels(y):
        assert torch.allclose(net(x), reference)


def test_the_partner_is_not_detached_unless_asked():
    for detach in (False, True):
        identity = nn.Sequential(nn.Identity())
        weakening = weaken_features(identity, "0", [10, 1], strength=1.0, detach=detach, seed=1)
        x = torch.randn(6, 3, requires_grad=True)
        y = torch.zeros(6, dtype=torch.long)  # all major: every sample is weakened
        with weakening.labels(y):
            out = identity(x)
        lam, partner = weakening.last
        i = int(torch.nonzero(partner != torch.arange(6))[0])
        (grad,) = torch.autograd.grad(out[i].sum(), x)
        reached = bool(grad[partner[i]].abs().sum() > 0)
        assert reached is not detach


def test_the_schedule_moves_the_strength_and_a_model_trains_with_the_hook():
    net = model()
    weakening = weaken_features(net, "1", COUNTS, strength=0.8, schedule="warmup", until=0.5)
    assert weakening.set_epoch(0, 10) == 0.8 and weakening.set_epoch(5, 10) == 0.0
    weakening.set_epoch(0, 10)
    optimiser = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    for _ in range(3):
        with weakening.labels(y):
            loss = F.cross_entropy(net(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert torch.isfinite(loss)


def test_mistakes_are_one_line():
    net = model()
    with pytest.raises(ProcrustesError, match="expected the name of one of the model's layers"):
        weaken_features(net, "nope", COUNTS)
    with pytest.raises(ProcrustesError, match="not part of the model"):
        weaken_features(net, nn.Linear(2, 2), COUNTS)
    with pytest.raises(ProcrustesError, match="strength"):
        weaken_features(net, "0", COUNTS, strength=2.0)
    weakening = weaken_features(net, "0", COUNTS)
    with pytest.raises(ProcrustesError, match="rows for"), weakening.labels(torch.zeros(3, dtype=torch.long)):
        net(torch.randn(5, 4))
