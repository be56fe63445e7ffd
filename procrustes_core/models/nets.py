"""Small networks whose hidden blocks are exposed, so features can be mixed after any of them.

Every model is ``blocks`` (a list of modules applied in turn) followed by a classifier ``head``
(``heads.py``: linear, or cosine for LDAM).
Position 0 is the input, position ``k`` the output of block ``k``; the output of the last block
is the penultimate feature vector ``h`` that feature gradients are measured on.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..errors import ProcrustesError
from .heads import LinearClassifier, build_head

Mix = Callable[[torch.Tensor], torch.Tensor]


class BlockNet(nn.Module):
    """``blocks`` then a classifier ``head``; ``forward`` can mix features at one position."""

    def __init__(self, blocks: list[nn.Module], feature_dim: int, num_classes: int):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.feature_dim = feature_dim
        self.head: nn.Module = LinearClassifier(feature_dim, num_classes)

    @property
    def num_positions(self) -> int:
        """Positions where features can be mixed: the input and each block's output."""
        return len(self.blocks) + 1

    def features(self, x: torch.Tensor, mix: Mix | None = None, mix_at: int = -1) -> torch.Tensor:
        """Penultimate features; ``mix`` is applied to the representation at position ``mix_at``."""
        if mix_at == 0 and mix is not None:
            x = mix(x)
        for position, block in enumerate(self.blocks, start=1):
            x = block(x)
            if position == mix_at and mix is not None:
                x = mix(x)
        return x

    def forward(self, x: torch.Tensor, mix: Mix | None = None, mix_at: int = -1) -> torch.Tensor:
        return self.head(self.features(x, mix, mix_at))

    def extra_repr(self) -> str:
        return f"positions={self.num_positions} (0 = input, {self.num_positions - 1} = penultimate)"


def _dense(n_in: int, n_out: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_in, n_out), nn.ReLU())


def mlp(input_shape: tuple[int, ...], num_classes: int, width: int = 64) -> BlockNet:
    """Flatten, then three ReLU layers of ``4 * width`` units."""
    n_in = 1
    for size in input_shape:
        n_in *= size
    hidden = 4 * width
    blocks = [nn.Sequential(nn.Flatten(), nn.Linear(n_in, hidden), nn.ReLU()), _dense(hidden, hidden),
              _dense(hidden, hidden)]
    return BlockNet(blocks, hidden, num_classes)


def _conv1d(c_in: int, c_out: int) -> nn.Module:
    return nn.Sequential(nn.Conv1d(c_in, c_out, 5, stride=2, padding=2), nn.BatchNorm1d(c_out), nn.ReLU())


def cnn1d(input_shape: tuple[int, ...], num_classes: int, width: int = 64) -> BlockNet:
    """Three stride-2 convolutions of ``width`` channels, then a ``4 * width`` dense block."""
    if len(input_shape) != 2:
        raise ProcrustesError(f"model='cnn1d': needs 1-D signals, the data have shape {tuple(input_shape)}")
    channels, length = input_shape
    for _ in range(3):
        length = (length + 1) // 2
    hidden = 4 * width
    blocks = [_conv1d(channels, width), _conv1d(width, width), _conv1d(width, width),
              nn.Sequential(nn.Flatten(), nn.Linear(width * length, hidden), nn.ReLU())]
    return BlockNet(blocks, hidden, num_classes)


def _conv2d(c_in: int, c_out: int, pool: bool) -> nn.Module:
    layers = [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
    return nn.Sequential(*layers, nn.MaxPool2d(2)) if pool else nn.Sequential(*layers)


def cnn2d(input_shape: tuple[int, ...], num_classes: int, width: int = 32) -> BlockNet:
    """Three 3x3 convolution blocks (pooling while the image is large), then a dense block."""
    if len(input_shape) != 3:
        raise ProcrustesError(f"model='cnn2d': needs images, the data have shape {tuple(input_shape)}")
    channels, height, _ = input_shape
    blocks, c_in, size = [], channels, height
    for c_out in (width, 2 * width, 2 * width):
        pool = size >= 8
        blocks.append(_conv2d(c_in, c_out, pool))
        c_in, size = c_out, size // 2 if pool else size
    hidden = 4 * width
    blocks.append(nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(c_in * 4, hidden), nn.ReLU()))
    return BlockNet(blocks, hidden, num_classes)


class BasicBlock(nn.Module):
    """The residual block of CIFAR ResNets (two 3x3 convolutions, option-A shortcut)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.pad = c_out - c_in
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x
        if self.stride != 1 or self.pad:
            shortcut = nn.functional.pad(x[:, :, ::self.stride, ::self.stride],
                                         (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return torch.relu(out + shortcut)


def resnet32(input_shape: tuple[int, ...], num_classes: int, width: int = 16) -> BlockNet:
    """ResNet-32 for CIFAR: a stem, three stages of five residual blocks, global pooling."""
    if len(input_shape) != 3:
        raise ProcrustesError(f"model='resnet32': needs images, the data have shape {tuple(input_shape)}")
    channels = input_shape[0]
    stem = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
    stages, c_in = [], width
    for c_out, stride in ((width, 1), (2 * width, 2), (4 * width, 2)):
        blocks = [BasicBlock(c_in, c_out, stride)] + [BasicBlock(c_out, c_out, 1) for _ in range(4)]
        stages.append(nn.Sequential(*blocks))
        c_in = c_out
    pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return BlockNet([stem, *stages, pool], c_in, num_classes)


BUILDERS = {"mlp": mlp, "cnn1d": cnn1d, "cnn2d": cnn2d, "resnet32": resnet32}
DEFAULT_MODEL = {"signal": "cnn1d", "vector": "mlp", "image": "cnn2d"}


def model_name(model: str, kind: str, dataset: str) -> str:
    """``auto`` resolves to the dataset's usual model (ResNet-32 for CIFAR, MLP for digits)."""
    if model != "auto":
        return model
    if dataset.startswith("cifar"):
        return "resnet32"
    if dataset == "digits":
        return "mlp"
    return DEFAULT_MODEL[kind]


def build_model(model: str, input_shape: tuple[int, ...], num_classes: int, width: int, kind: str,
                dataset: str, head: str = "linear", scale: float = 30.0) -> BlockNet:
    """The named network (``auto``: the dataset's usual one) with a ``linear`` or ``cosine`` head."""
    name = model_name(model, kind, dataset)
    if name == "resnet32" and width == 64:
        width = 16  # ResNet-32's standard width; 64 would make it 16x larger
    net = BUILDERS[name](input_shape, num_classes, width)
    if head != "linear":
        net.head = build_head(head, net.feature_dim, num_classes, scale)
    return net


def mix_position(layer: str, net: BlockNet) -> int:
    """Position index for an MFW layer name; ``-1`` means drawn at random each step."""
    if layer == "random":
        return -1
    if layer == "input":
        return 0
    if layer == "penultimate":
        return net.num_positions - 1
    k = int(layer.removeprefix("block"))
    if k >= net.num_positions:
        raise ProcrustesError(
            f"mfw_layer={layer!r}: this model has blocks 1..{net.num_positions - 1} "
            "(or use input, penultimate, random)"
        )
    return k
