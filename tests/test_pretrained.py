"""A pretrained torchvision backbone: found in torch's hub cache or at a given path, never downloaded."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torchvision

from procrustes_core.config import TrainConfig
from procrustes_core.errors import ProcrustesError
from procrustes_core.models.pretrained import BACKBONES, hub_checkpoints
from procrustes_core.training.stacked import stackable
from procrustes_core.training.trainer import Trainer

WEIGHTS = BACKBONES["resnet18-pretrained"].file


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache of this test's own (TORCH_HOME is where torch.hub looks)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    folder = hub_checkpoints()
    assert str(folder).startswith(str(tmp_path))
    return folder


def fake_weights(path) -> dict[str, torch.Tensor]:
    """Random weights in torchvision's own state_dict format (the file's keys and shapes)."""
    torch.manual_seed(1)
    state = torchvision.models.resnet18(weights=None).state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return state


def tiny_images(tmp_path, channels: int = 1) -> str:
    rng = np.random.default_rng(0)
    x = rng.random((30, 12, 12, channels) if channels == 3 else (30, 12, 12)).astype(np.float32)
    y = np.array(["common"] * 20 + ["rare"] * 10)
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y)
    (tmp_path / "images.npz").write_bytes(buffer.getvalue())
    return str(tmp_path / "images.npz")


def config(path: str, **changes) -> TrainConfig:
    settings = {"backbone_size": 32, **changes}
    return TrainConfig(dataset="your-data", data_path=path, profile="natural", model="resnet18-pretrained",
                       epochs=1, batch_size=8, threads=1, **settings)


def test_a_pretrained_backbone_from_the_hub_cache_carries_its_weights_and_trains_a_new_head(tmp_path, hub):
    state = fake_weights(hub / WEIGHTS)
    trainer = Trainer(config(tiny_images(tmp_path)))
    mine = trainer.model.state_dict()
    assert torch.equal(mine["blocks.0.1.weight"], state["conv1.weight"])
    assert torch.equal(mine["blocks.4.1.bn2.running_var"], state["layer4.1.bn2.running_var"])
    head = [v for k, v in mine.items() if k.startswith("head.") and k.endswith("weight")]
    assert head and head[0].shape == (2, 512)  # ImageNet's 1000-way classifier replaced by the run's classes
    record = trainer.train_epoch()
    assert record.epoch == 1 and len(record.train_acc) == 2
    assert not torch.equal(trainer.model.state_dict()["blocks.0.1.weight"], state["conv1.weight"])  # fine-tuned


def test_a_frozen_backbone_keeps_its_weights_and_only_the_head_learns(tmp_path):
    path = tmp_path / "elsewhere" / "my-resnet.pth"
    state = fake_weights(path)
    trainer = Trainer(config(tiny_images(tmp_path, channels=3), backbone_weights=str(path), backbone_frozen=True))
    head_before = {k: v.clone() for k, v in trainer.model.head.state_dict().items()}
    trainer.train_epoch()
    after = trainer.model.state_dict()
    assert torch.equal(after["blocks.0.1.weight"], state["conv1.weight"])
    assert torch.equal(after["blocks.1.0.bn1.running_mean"], state["layer1.0.bn1.running_mean"])  # eval-mode BN
    assert any(not torch.equal(v, trainer.model.head.state_dict()[k]) for k, v in head_before.items())


def test_images_are_resized_to_three_channels_and_normalised_as_the_weights_expect(tmp_path, hub):
    fake_weights(hub / WEIGHTS)
    trainer = Trainer(config(tiny_images(tmp_path), backbone_size=40))
    adapter = trainer.model.blocks[0][0]
    x = torch.full((2, 1, 12, 12), 0.485)
    out = adapter(x)
    assert out.shape == (2, 3, 40, 40)
    assert torch.allclose(out[:, 0], torch.zeros(2, 40, 40), atol=1e-6)  # ImageNet's red mean maps to 0
    assert torch.allclose(out[:, 1], torch.full((2, 40, 40), (0.485 - 0.456) / 0.224), atol=1e-5)


def test_missing_weights_are_one_line_naming_where_it_looked_and_the_file_to_provide(tmp_path, hub):
    with pytest.raises(ProcrustesError) as caught:
        Trainer(config(tiny_images(tmp_path)))
    message = str(caught.value)
    assert "\n" not in message and WEIGHTS in message and "checkpoints" in message
    assert "TORCH_HOME" in message and "backbone_weights" in message
    with pytest.raises(ProcrustesError, match=r"backbone_weights='.*nowhere\.pth': no such file; .*" + WEIGHTS):
        Trainer(config(tiny_images(tmp_path), backbone_weights=str(tmp_path / "nowhere.pth")))


def test_a_file_that_is_not_the_backbones_weights_is_one_line(tmp_path, hub):
    (hub / WEIGHTS).parent.mkdir(parents=True)
    (hub / WEIGHTS).write_bytes(b"truncated")
    with pytest.raises(ProcrustesError, match="not a weights file torch can read"):
        Trainer(config(tiny_images(tmp_path)))
    torch.save(torchvision.models.resnet34(weights=None).state_dict(), hub / WEIGHTS)
    with pytest.raises(ProcrustesError, match=r"not resnet18-f37072fd\.pth's weights|lacks"):
        Trainer(config(tiny_images(tmp_path)))


def test_the_pretrained_backbone_needs_images_and_is_not_stacked(tmp_path, hub):
    fake_weights(hub / WEIGHTS)
    with pytest.raises(ProcrustesError, match=r"model='resnet18-pretrained': needs grey or colour images"):
        Trainer(TrainConfig(dataset="mnist1d", model="resnet18-pretrained", n_samples=200, epochs=1, threads=1))
    able, reason = stackable(config(tiny_images(tmp_path)))
    assert not able and "'resnet18-pretrained' has layers without a stacked form" in reason


def test_the_weights_path_never_travels_in_a_link():
    linked = TrainConfig(model="resnet18-pretrained", backbone_weights="/srv/weights/r18.pth", backbone_frozen=True)
    back = TrainConfig.from_query(linked.to_query())
    assert back.backbone_weights is None and back.backbone_frozen and back.model == "resnet18-pretrained"


def test_a_pretrained_run_is_priced_at_the_size_its_images_are_resized_to(tmp_path):
    from procrustes_core.training.budget import price

    small = price(TrainConfig(dataset="digits", model="resnet18-pretrained", backbone_size=32, epochs=1))
    large = price(TrainConfig(dataset="digits", model="resnet18-pretrained", backbone_size=224, epochs=1))
    assert small.parameters == large.parameters > 11_000_000
    assert 40 < large.flops / small.flops < 55  # (224 / 32)² = 49 times the pixels through the convolutions


def test_the_app_offers_the_backbones_settings_but_never_its_weights_path():
    from app_support import TINY, new_app

    at = new_app({**TINY, "model": "resnet18-pretrained", "backbone_size": "64",
                  "backbone_weights": "/etc/passwd"}).run()
    at.toggle(key="w_expert").set_value(True).run()
    assert not at.exception
    keys = {w.key for w in [*at.sidebar.text_input, *at.sidebar.number_input, *at.sidebar.checkbox]}
    assert {"w_backbone_size", "w_backbone_frozen"} <= keys and "w_backbone_weights" not in keys
    config = at.session_state["app_state"].valid_config()
    assert config.backbone_size == 64 and config.backbone_weights is None
