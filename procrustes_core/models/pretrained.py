"""A pretrained torchvision backbone (ResNet-18 on ImageNet), loaded from weights already on this machine.

``model="resnet18-pretrained"`` builds torchvision's ResNet-18 as a ``BlockNet``:

    block 1  input adapter → conv1, bn1, ReLU, max-pool
    block 2…5  torchvision's layer1 … layer4
    block 6  global average pooling → the 512 penultimate features

then a new classifier head for the run's classes (ImageNet's ``fc`` is left out). The adapter gives
the images the form the weights were trained on: grey images repeated to three channels, resized
to ``size`` × ``size`` (224 for ImageNet's weights; smaller is cheaper and still works, the network
pools globally), and normalised with ImageNet's mean and standard deviation — pixels in [0, 1]
(your images, mnist-5k), or left as they are when the data are already standardised per channel
(torchvision's datasets read from a folder).

Nothing is downloaded: the weights are torchvision's own file (``resnet18-f37072fd.pth``), found
in torch's hub cache (``torch.hub.get_dir()/checkpoints``, under ``TORCH_HOME`` when set) or at
the path a run gives (``backbone_weights``). It is read with ``weights_only=True`` (tensors only,
nothing executed). ``frozen``: only the new head learns (a linear probe on ImageNet features).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import ProcrustesError, shown_path
from .nets import BlockNet


@dataclass(frozen=True)
class Backbone:
    """One pretrained network: torchvision's architecture and the file of its weights."""

    architecture: str  # torchvision.models' builder
    file: str  # the name torchvision saves the weights under in its hub cache
    url: str  # where torchvision downloads them from (shown to the user, never fetched here)
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)  # ImageNet's, as the weights expect
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    size: int = 224  # the side the weights were trained at


BACKBONES = {
    "resnet18-pretrained": Backbone("resnet18", "resnet18-f37072fd.pth",
                                    "https://download.pytorch.org/models/resnet18-f37072fd.pth"),
}


def hub_checkpoints() -> Path:
    """torch's hub cache of weights: ``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_weights(model: str, path: str | None = None) -> Path:
    """The weights file of ``model``: ``path`` when given, else torchvision's file in the hub cache;
    one line naming where it looked and how to provide it when there is none."""
    backbone = BACKBONES[model]
    if path is not None:
        given = Path(path).expanduser()
        if given.is_file():
            return given
        raise ProcrustesError(f"backbone_weights={shown_path(path)}: no such file; give the path of torchvision's "
                              f"{backbone.file} (from {backbone.url}, fetched on a machine with internet)")
    cached = hub_checkpoints() / backbone.file
    if cached.is_file():
        return cached
    raise ProcrustesError(f"model={model!r}: its weights {backbone.file} are not in {shown_path(hub_checkpoints())} "
                          f"(nothing is downloaded); copy torchvision's file there (from {backbone.url}), set "
                          "TORCH_HOME to the folder holding hub/checkpoints, or give backbone_weights=PATH")


def read_weights(model: str, path: Path) -> dict[str, torch.Tensor]:
    """torchvision's state_dict from ``path`` (tensors only), or one line saying why it is not one."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file: torch raises many kinds
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ProcrustesError(f"{shown_path(path)}: not a weights file torch can read ({reason[:200]})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ProcrustesError(f"{shown_path(path)}: not a state_dict of tensors (expected torchvision's "
                              f"{BACKBONES[model].file})")
    return state


class ImageNetInput(nn.Module):
    """Images as the weights expect them: three channels, ``size`` × ``size``, ImageNet-normalised."""

    def __init__(self, backbone: Backbone, size: int, standardised: bool):
        super().__init__()
        self.size = size
        self.standardised = standardised  # the data are already zero-mean, unit-std per channel
        self.mean, self.std = backbone.mean, backbone.std  # numbers, not buffers: a network built on the
        # meta device gets its memory with to_empty(), which would leave buffers undefined

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-2:] != (self.size, self.size):
            x = nn.functional.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False,
                                          antialias=x.shape[-1] > self.size)
        if self.standardised:
            return x
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).reshape(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).reshape(1, 3, 1, 1)
        return (x - mean) / std

    def extra_repr(self) -> str:
        return f"size={self.size}, {'already standardised' if self.standardised else 'ImageNet mean/std'}"


class PretrainedNet(BlockNet):
    """A torchvision backbone as blocks, a new head; ``load_backbone`` puts the pretrained weights in."""

    def __init__(self, model: str, blocks: list[nn.Module], feature_dim: int, num_classes: int,
                 weights: str | None, frozen: bool):
        super().__init__(blocks, feature_dim, num_classes)
        self.model_name = model
        self.weights = weights  # backbone_weights as given (None: torch's hub cache), looked up when loading
        self.frozen = frozen
        if frozen:
            self.freeze_features()

    def load_backbone(self) -> PretrainedNet:
        """Copy torchvision's weights into the blocks (the head stays as drawn); a file that does not fit
        this architecture is one line."""
        path = find_weights(self.model_name, self.weights)
        state = read_weights(self.model_name, path)
        mine = self.state_dict()
        mapped = {}
        for key, tensor in state.items():
            if key.startswith("fc."):
                continue  # ImageNet's classifier: this run has its own classes
            ours = _our_key(key)
            if ours not in mine or tuple(mine[ours].shape) != tuple(tensor.shape):
                raise ProcrustesError(f"{shown_path(path)}: not {BACKBONES[self.model_name].file}'s weights "
                                      f"({key!r} does not fit torchvision's {BACKBONES[self.model_name].architecture})")
            mapped[ours] = tensor
        missing = sorted(k for k in mine if not k.startswith("head.") and k not in mapped)
        if missing:
            raise ProcrustesError(f"{shown_path(path)}: lacks {missing[0]!r}, so it is not torchvision's "
                                  f"{BACKBONES[self.model_name].file}")
        self.load_state_dict(mapped, strict=False)
        return self


def _our_key(key: str) -> str:
    """torchvision's parameter name → ours: conv1/bn1 in block 0 (after the adapter), layerK in block K."""
    head, _, rest = key.partition(".")
    if head == "conv1":
        return f"blocks.0.1.{rest}"
    if head == "bn1":
        return f"blocks.0.2.{rest}"
    if head.startswith("layer") and head[5:].isdigit():
        return f"blocks.{int(head[5:])}.{rest}"
    return key  # an unknown name: refused by the caller


def pretrained(model: str, input_shape: tuple[int, ...], num_classes: int, weights: str | None = None,
               frozen: bool = False, size: int = 224, standardised: bool = False, norm: str = "batch",
               attention: str = "none") -> PretrainedNet:
    """``model`` (a name in ``BACKBONES``) for images of ``input_shape``; its weights are found and read by
    ``load_backbone`` once the network's memory exists (``models.init.initialise`` calls it), so a network
    built on the meta device only to be priced needs no file."""
    if len(input_shape) != 3 or input_shape[0] not in (1, 3):
        raise ProcrustesError(f"model={model!r}: needs grey or colour images, the data have shape "
                              f"{tuple(input_shape)}")
    if norm != "batch":
        raise ProcrustesError(f"norm={norm!r} with model={model!r}: its pretrained layers carry BatchNorm; "
                              "use norm='batch' or another model")
    if attention != "none":
        raise ProcrustesError(f"attention={attention!r} with model={model!r}: the pretrained network has no "
                              "squeeze-and-excitation layers; use attention='none' or another model")
    backbone = BACKBONES[model]
    import torchvision  # only for the architecture: its weights come from the file found above

    net = getattr(torchvision.models, backbone.architecture)(weights=None)
    stem = nn.Sequential(ImageNetInput(backbone, size, standardised), net.conv1, net.bn1, net.relu, net.maxpool)
    blocks = [stem, net.layer1, net.layer2, net.layer3, net.layer4, nn.Sequential(net.avgpool, nn.Flatten())]
    return PretrainedNet(model, blocks, net.fc.in_features, num_classes, weights, frozen)


def load_pretrained(model: nn.Module) -> nn.Module:
    """Put the pretrained weights into ``model`` if it is a ``PretrainedNet`` (and its BBN branches copy them)."""
    if isinstance(model, PretrainedNet):
        model.load_backbone()
    return model


__all__ = ["BACKBONES", "Backbone", "ImageNetInput", "PretrainedNet", "find_weights", "hub_checkpoints",
           "load_pretrained", "pretrained", "read_weights"]
