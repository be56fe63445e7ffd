"""Networks: layouts, normalisation, heads, where mixing happens, seeded initialisation."""

import pytest
import torch

from procrustes_core import ProcrustesError, TrainConfig, Trainer, run
from procrustes_core.methods.mixers import blend
from procrustes_core.models import build_model, cnn1d, cnn1d_s1


def test_norm_none_builds_the_network_without_batchnorm():
    def norms(net):
        return sum(isinstance(m, torch.nn.BatchNorm1d) for m in net.modules())

    assert norms(cnn1d((1, 40), 10, 8, norm="batch")) == 3
    assert norms(cnn1d((1, 40), 10, 8, norm="none")) == 0


def test_the_probe_layout_keeps_full_resolution_in_its_first_convolution():
    net = cnn1d_s1((1, 40), 10, 8, norm="none")
    x = torch.randn(2, 1, 40)
    lengths = []
    for block in net.blocks[:3]:
        x = block(x)
        lengths.append(x.shape[-1])
    assert lengths == [40, 20, 10]
    assert net.blocks[0][0].kernel_size == (5,) and net.blocks[1][0].kernel_size == (3,)
    assert net.feature_dim == 32 and net(torch.randn(3, 1, 40)).shape == (3, 10)


def test_resnet32_without_batchnorm_is_refused_in_one_line():
    with pytest.raises(ProcrustesError, match="^norm='none' with model='resnet32'"):
        build_model("resnet32", (3, 32, 32), 10, 16, "image", "cifar10", norm="none")


def test_mixing_after_the_norm_is_the_same_mix_with_batchnorm_on_the_unmixed_batch():
    torch.manual_seed(0)
    net = cnn1d((1, 40), 10, 8)
    x, lam, partner = torch.randn(16, 1, 40), torch.rand(16), torch.randperm(16)

    def mix(h):
        return blend(h, lam, partner)

    net.eval()  # fixed statistics: the layers between are affine, so both places give one result
    assert torch.allclose(net.features(x, mix, 2), net.features(x, mix, 2, after_norm=True), atol=1e-5)
    net.train()  # batch statistics: of the mixed batch, or of the un-mixed one
    assert not torch.allclose(net.features(x, mix, 2), net.features(x, mix, 2, after_norm=True), atol=1e-4)
    without_norm = cnn1d((1, 40), 10, 8, norm="none").train()
    assert torch.equal(without_norm.features(x, mix, 2), without_norm.features(x, mix, 2, after_norm=True))


def test_a_detached_partner_gets_no_gradient_through_the_mix():
    h = torch.randn(4, 3, requires_grad=True)
    lam, partner = torch.tensor([0.5, 1.0, 1.0, 1.0]), torch.tensor([1, 0, 3, 2])
    blend(h, lam, partner)[0].sum().backward()
    assert h.grad[1].abs().sum() > 0  # sample 0 mixes in sample 1
    h.grad = None
    blend(h, lam, partner, detach=True)[0].sum().backward()
    assert h.grad[1].abs().sum() == 0


def test_initial_weights_come_from_the_seed_alone_not_from_the_global_generator(tiny):
    torch.manual_seed(1)
    first = Trainer(tiny).model.state_dict()
    torch.manual_seed(2)
    state = torch.get_rng_state()
    second = Trainer(tiny).model.state_dict()
    assert torch.equal(state, torch.get_rng_state())  # building a trainer leaves the global generator alone
    assert all(torch.equal(first[k], second[k]) for k in first)
    other = Trainer(tiny.replace(seed=1)).model.state_dict()
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_eval_every_records_only_the_evaluated_epochs_and_the_last():
    history = run(TrainConfig(n_samples=1000, width=8, epochs=5, eval_every=2, threads=1))
    assert [r.epoch for r in history.records] == [2, 4, 5]
