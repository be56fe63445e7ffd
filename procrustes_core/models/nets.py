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

    def features(self, x: torch.Tensor, mix: Mix | None = None, mix_at: int = -1,
                 after_norm: bool = False) -> torch.Tensor:
        """Penultimate features; ``mix`` is applied to the representation at position ``mix_at``.

        ``after_norm``: apply it instead right after the next block's first normalisation layer. The
        layers in between are affine given BatchNorm's statistics, so this is the same mix — except
        that BatchNorm normalises with the statistics of the un-mixed batch, and keeps un-mixed running
        statistics for evaluation. Without a normalisation layer there it is plain mixing at ``mix_at``."""
        if mix is None:
            for block in self.blocks:
                x = block(x)
            return x
        for position, block in enumerate(self.blocks):  # position = index of the block's input
            if position == mix_at:
                x = _mix_after_norm(block, x, mix) if after_norm else block(mix(x))
            else:
                x = block(x)
        return mix(x) if mix_at == len(self.blocks) else x

    def forward(self, x: torch.Tensor, mix: Mix | None = None, mix_at: int = -1,
                after_norm: bool = False) -> torch.Tensor:
        return self.head(self.features(x, mix, mix_at, after_norm))

    def extra_repr(self) -> str:
        return f"positions={self.num_positions} (0 = input, {self.num_positions - 1} = penultimate)"


def _mix_after_norm(block: nn.Module, x: torch.Tensor, mix: Mix) -> torch.Tensor:
    """Run ``block`` on ``x``, mixing right after its first BatchNorm (or at its input if it has none)."""
    layers = list(block) if isinstance(block, nn.Sequential) else [block]
    at = next((i for i, layer in enumerate(layers) if isinstance(layer, nn.modules.batchnorm._BatchNorm)), None)
    if at is None:
        return block(mix(x))
    for i, layer in enumerate(layers):
        x = layer(x)
        if i == at:
            x = mix(x)
    return x


def _dense(n_in: int, n_out: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_in, n_out), nn.ReLU())


def mlp(input_shape: tuple[int, ...], num_classes: int, width: int = 64, norm: str = "none") -> BlockNet:
    """Flatten, then three ReLU layers of ``4 * width`` units (no normalisation)."""
    n_in = 1
    for size in input_shape:
        n_in *= size
    hidden = 4 * width
    blocks = [nn.Sequential(nn.Flatten(), nn.Linear(n_in, hidden), nn.ReLU()), _dense(hidden, hidden),
              _dense(hidden, hidden)]
    return BlockNet(blocks, hidden, num_classes)


def _conv1d(c_in: int, c_out: int, kernel: int, stride: int, norm: str) -> nn.Module:
    layers = [nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=kernel // 2)]
    return nn.Sequential(*layers, *([nn.BatchNorm1d(c_out)] if norm == "batch" else []), nn.ReLU())


# (kernel, stride) of the three convolutions
CNN1D_LAYOUTS = {
    "cnn1d": ((5, 2), (5, 2), (5, 2)),  # stride 2 from the start: length 40 → 20 → 10 → 5
    "cnn1d-s1": ((5, 1), (3, 2), (3, 2)),  # the reference probe's layout: 40 → 40 → 20 → 10
}


def _cnn1d(layout: str, input_shape: tuple[int, ...], num_classes: int, width: int, norm: str) -> BlockNet:
    if len(input_shape) != 2:
        raise ProcrustesError(f"model={layout!r}: needs 1-D signals, the data have shape {tuple(input_shape)}")
    channels, length = input_shape
    blocks, c_in = [], channels
    for kernel, stride in CNN1D_LAYOUTS[layout]:
        blocks.append(_conv1d(c_in, width, kernel, stride, norm))
        c_in, length = width, (length + 2 * (kernel // 2) - kernel) // stride + 1
    hidden = 4 * width
    blocks.append(nn.Sequential(nn.Flatten(), nn.Linear(width * length, hidden), nn.ReLU()))
    return BlockNet(blocks, hidden, num_classes)


def cnn1d(input_shape: tuple[int, ...], num_classes: int, width: int = 64, norm: str = "batch") -> BlockNet:
    """Three stride-2 convolutions (kernel 5) of ``width`` channels, each followed by BatchNorm
    (``norm="batch"``) or nothing (``"none"``) and a ReLU, then a ``4 * width`` dense block."""
    return _cnn1d("cnn1d", input_shape, num_classes, width, norm)


def cnn1d_s1(input_shape: tuple[int, ...], num_classes: int, width: int = 64, norm: str = "batch") -> BlockNet:
    """The reference probe's layout: a kernel-5 convolution at full resolution (stride 1), then two
    kernel-3 stride-2 convolutions, then a ``4 * width`` dense block; ``norm`` as for ``cnn1d``."""
    return _cnn1d("cnn1d-s1", input_shape, num_classes, width, norm)


def _conv2d(c_in: int, c_out: int, pool: bool, norm: str) -> nn.Module:
    layers = [nn.Conv2d(c_in, c_out, 3, padding=1), *([nn.BatchNorm2d(c_out)] if norm == "batch" else []), nn.ReLU()]
    return nn.Sequential(*layers, nn.MaxPool2d(2)) if pool else nn.Sequential(*layers)


def cnn2d(input_shape: tuple[int, ...], num_classes: int, width: int = 32, norm: str = "batch") -> BlockNet:
    """Three 3x3 convolution blocks (pooling while the image is large), then a dense block."""
    if len(input_shape) != 3:
        raise ProcrustesError(f"model='cnn2d': needs images, the data have shape {tuple(input_shape)}")
    channels, height, _ = input_shape
    blocks, c_in, size = [], channels, height
    for c_out in (width, 2 * width, 2 * width):
        pool = size >= 8
        blocks.append(_conv2d(c_in, c_out, pool, norm))
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


def resnet32(input_shape: tuple[int, ...], num_classes: int, width: int = 16, norm: str = "batch") -> BlockNet:
    """ResNet-32 for CIFAR: a stem, three stages of five residual blocks, global pooling (always with
    BatchNorm: without it a 32-layer residual network does not train at the recipe's learning rate)."""
    if norm != "batch":
        raise ProcrustesError(f"norm={norm!r} with model='resnet32': ResNet-32 is built with BatchNorm; "
                              "use norm='batch' or another model")
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


BUILDERS = {"mlp": mlp, "cnn1d": cnn1d, "cnn1d-s1": cnn1d_s1, "cnn2d": cnn2d, "resnet32": resnet32}
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
                dataset: str, head: str = "linear", scale: float = 30.0, norm: str = "batch") -> BlockNet:
    """The named network (``auto``: the dataset's usual one) with a ``linear`` or ``cosine`` head and
    ``norm`` after its convolutions (``batch`` or ``none``; the MLP has none)."""
    name = model_name(model, kind, dataset)
    if name == "resnet32" and width == 64:
        width = 16  # ResNet-32's standard width; 64 would make it 16x larger
    net = BUILDERS[name](input_shape, num_classes, width, norm)
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
