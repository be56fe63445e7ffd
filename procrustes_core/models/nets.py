"""Small networks whose hidden blocks are exposed, so features can be mixed after any of them.

Every model is ``blocks`` (a list of modules applied in turn) followed by a classifier ``head``
(``heads.py``: linear, or cosine for LDAM).
Position 0 is the input, position ``k`` the output of block ``k``; the output of the last block
is the penultimate feature vector ``h`` that feature gradients are measured on.

The convolution blocks can carry squeeze-and-excitation (``attention="se"``, "Squeeze-and-Excitation
Networks", CVPR 2018): a block's output ``h`` (C channels) is re-weighted channel by channel,

    s = σ(W₂ ReLU(W₁ mean(h))),   h_k ← s_k · h_k,     W₁: C → max(1, C // r),  W₂: back to C

(the mean over the length or the pixels), after the block's ReLU — and in a residual block on the
residual branch, before the shortcut is added. ``TwoBranchNet`` is BBN's network (see there).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from ..data.registry import DATASETS
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
        self.features_frozen = False  # a linear probe, or classifier re-training: only the head learns

    def freeze_features(self) -> BlockNet:
        """Stop every layer but the head from learning: no gradients, and normalisation layers kept in
        eval mode (their running statistics fixed), so the features are exactly those of now."""
        for name, parameter in self.named_parameters():
            if not name.startswith("head."):
                parameter.requires_grad_(False)
        self.features_frozen = True
        return self.train(self.training)

    def train(self, mode: bool = True) -> BlockNet:
        super().train(mode)
        if self.features_frozen:
            for name, module in self.named_children():
                if name != "head":
                    module.eval()
        return self

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
        return _run(list(self.blocks), x, mix, mix_at, after_norm)

    def forward(self, x: torch.Tensor, mix: Mix | None = None, mix_at: int = -1,
                after_norm: bool = False) -> torch.Tensor:
        return self.head(self.features(x, mix, mix_at, after_norm))

    def extra_repr(self) -> str:
        return f"positions={self.num_positions} (0 = input, {self.num_positions - 1} = penultimate)"


def _run(blocks: list[nn.Module], x: torch.Tensor, mix: Mix | None, mix_at: int, after_norm: bool) -> torch.Tensor:
    """``blocks`` in turn, ``mix`` applied at position ``mix_at`` (0: their input, k: block k's output)."""
    if mix is None:
        for block in blocks:
            x = block(x)
        return x
    for position, block in enumerate(blocks):  # position = index of the block's input
        if position == mix_at:
            x = _mix_after_norm(block, x, mix) if after_norm else block(mix(x))
        else:
            x = block(x)
    return mix(x) if mix_at == len(blocks) else x


class TwoBranchNet(BlockNet):
    """BBN's network ("BBN: Bilateral-Branch Network with Cumulative Learning for Long-Tailed Visual
    Recognition", CVPR 2020): shared blocks, then two branches — the conventional one ``f_c`` and the
    re-balancing one ``f_r``, each a copy of the network's last block with weights of its own — and
    one linear classifier on their weighted, concatenated features:

        z = W [2α f_c(x_c), 2(1 − α) f_r(x_r)] + b  =  2(α W_c f_c(x_c) + (1 − α) W_r f_r(x_r)) + b

    which is the paper's two classifiers ``W_c``, ``W_r`` with their outputs added, written as its
    reference code writes it (one layer on the concatenation, a factor 2, one bias). At evaluation
    both branches see the same input and α = ½: ``z = W [f_c(x), f_r(x)] + b``, so ``features(x)``
    is the concatenation ``[f_c(x), f_r(x)]``. The positions where features can be mixed run through
    the shared blocks and on into each branch (a mix there happens in both branches' passes)."""

    BRANCHES = ("conventional", "re-balancing")

    def __init__(self, shared: list[nn.Module], branch: nn.Module, branch_dim: int, num_classes: int):
        super().__init__(shared, 2 * branch_dim, num_classes)
        self.branches = nn.ModuleList([branch, copy.deepcopy(branch)])  # re-drawn apart by models.init
        self.branch_dim = branch_dim

    @property
    def num_positions(self) -> int:
        return len(self.blocks) + 2

    def branch_features(self, x: torch.Tensor, branch: int, mix: Mix | None = None, mix_at: int = -1,
                        after_norm: bool = False) -> torch.Tensor:
        """``f_c(x)`` (``branch=0``) or ``f_r(x)`` (``branch=1``), mixing at ``mix_at`` on the way."""
        return _run([*self.blocks, self.branches[branch]], x, mix, mix_at, after_norm)

    def features(self, x: torch.Tensor, mix: Mix | None = None, mix_at: int = -1,
                 after_norm: bool = False) -> torch.Tensor:
        if mix is None:
            shared = _run(list(self.blocks), x, None, -1, False)
            return torch.cat([branch(shared) for branch in self.branches], 1)
        return torch.cat([self.branch_features(x, b, mix, mix_at, after_norm) for b in (0, 1)], 1)

    def combine(self, f_c: torch.Tensor, f_r: torch.Tensor, alpha: float) -> torch.Tensor:
        """The logits ``W [2α f_c, 2(1 − α) f_r] + b``."""
        return self.head(torch.cat([2 * alpha * f_c, 2 * (1 - alpha) * f_r], 1))

    def branch_logits(self, x: torch.Tensor, branch: int) -> torch.Tensor:
        """One branch alone, as the classifier sees it at α = 1 (conventional) or α = 0 (re-balancing)."""
        f = self.branch_features(x, branch)
        zero = torch.zeros_like(f)
        return self.combine(f, zero, 1.0) if branch == 0 else self.combine(zero, f, 0.0)

    def extra_repr(self) -> str:
        return f"two branches ({', '.join(self.BRANCHES)}), {super().extra_repr()}"


def two_branch(net: BlockNet) -> TwoBranchNet:
    """``net`` as BBN's network: its last block becomes the two branches. A last block without weights
    (ResNet-32's pooling) goes with the last residual block before it, so that — as in the BBN
    reference — each branch is one residual block."""
    blocks = list(net.blocks)
    shared, branch = blocks[:-1], blocks[-1]
    if not any(True for _ in branch.parameters()) and len(blocks) >= 2 and isinstance(blocks[-2], nn.Sequential) \
            and len(blocks[-2]) > 1:
        stage = list(blocks[-2])
        shared, branch = [*blocks[:-2], nn.Sequential(*stage[:-1])], nn.Sequential(stage[-1], branch)
    num_classes = net.head.out_features
    return TwoBranchNet(shared, branch, net.feature_dim, num_classes)


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


class SqueezeExcitation(nn.Module):
    """``h ← s ⊙ h`` with ``s = σ(W₂ ReLU(W₁ mean(h)))`` per channel (mean over the other dimensions)."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.squeeze = nn.Linear(channels, hidden)
        self.excite = nn.Linear(hidden, channels)

    def weights(self, h: torch.Tensor) -> torch.Tensor:
        """``s``: one weight in (0, 1) per sample and channel."""
        return torch.sigmoid(self.excite(torch.relu(self.squeeze(h.flatten(2).mean(2)))))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        s = self.weights(h)
        return h * s.reshape(*s.shape, *([1] * (h.dim() - 2)))


def _attention(attention: str, channels: int, reduction: int) -> list[nn.Module]:
    return [SqueezeExcitation(channels, reduction)] if attention == "se" else []


def _dense(n_in: int, n_out: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_in, n_out), nn.ReLU())


def mlp(input_shape: tuple[int, ...], num_classes: int, width: int = 64, norm: str = "none",
        attention: str = "none", se_reduction: int = 4) -> BlockNet:
    """Flatten, then three ReLU layers of ``4 * width`` units (no normalisation, no channels to attend to)."""
    if attention != "none":
        raise ProcrustesError(f"attention={attention!r} with model='mlp': squeeze-and-excitation re-weights the "
                              "channels of convolutions; use model cnn1d, cnn1d-s1, cnn2d or resnet32")
    n_in = 1
    for size in input_shape:
        n_in *= size
    hidden = 4 * width
    blocks = [nn.Sequential(nn.Flatten(), nn.Linear(n_in, hidden), nn.ReLU()), _dense(hidden, hidden),
              _dense(hidden, hidden)]
    return BlockNet(blocks, hidden, num_classes)


def _conv1d(c_in: int, c_out: int, kernel: int, stride: int, norm: str, attention: str = "none",
            reduction: int = 4) -> nn.Module:
    layers = [nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=kernel // 2)]
    return nn.Sequential(*layers, *([nn.BatchNorm1d(c_out)] if norm == "batch" else []), nn.ReLU(),
                         *_attention(attention, c_out, reduction))


# (kernel, stride) of the three convolutions
CNN1D_LAYOUTS = {
    "cnn1d": ((5, 2), (5, 2), (5, 2)),  # stride 2 from the start: length 40 → 20 → 10 → 5
    "cnn1d-s1": ((5, 1), (3, 2), (3, 2)),  # the reference probe's layout: 40 → 40 → 20 → 10
}


def _cnn1d(layout: str, input_shape: tuple[int, ...], num_classes: int, width: int, norm: str,
           attention: str = "none", reduction: int = 4) -> BlockNet:
    if len(input_shape) != 2:
        raise ProcrustesError(f"model={layout!r}: needs 1-D signals, the data have shape {tuple(input_shape)}")
    channels, length = input_shape
    blocks, c_in = [], channels
    for kernel, stride in CNN1D_LAYOUTS[layout]:
        blocks.append(_conv1d(c_in, width, kernel, stride, norm, attention, reduction))
        c_in, length = width, (length + 2 * (kernel // 2) - kernel) // stride + 1
    hidden = 4 * width
    blocks.append(nn.Sequential(nn.Flatten(), nn.Linear(width * length, hidden), nn.ReLU()))
    return BlockNet(blocks, hidden, num_classes)


def cnn1d(input_shape: tuple[int, ...], num_classes: int, width: int = 64, norm: str = "batch",
          attention: str = "none", se_reduction: int = 4) -> BlockNet:
    """Three stride-2 convolutions (kernel 5) of ``width`` channels, each followed by BatchNorm
    (``norm="batch"``) or nothing (``"none"``), a ReLU and optionally squeeze-and-excitation, then a
    ``4 * width`` dense block."""
    return _cnn1d("cnn1d", input_shape, num_classes, width, norm, attention, se_reduction)


def cnn1d_s1(input_shape: tuple[int, ...], num_classes: int, width: int = 64, norm: str = "batch",
             attention: str = "none", se_reduction: int = 4) -> BlockNet:
    """The reference probe's layout: a kernel-5 convolution at full resolution (stride 1), then two
    kernel-3 stride-2 convolutions, then a ``4 * width`` dense block; ``norm`` and ``attention`` as for
    ``cnn1d``."""
    return _cnn1d("cnn1d-s1", input_shape, num_classes, width, norm, attention, se_reduction)


def _conv2d(c_in: int, c_out: int, pool: bool, norm: str, attention: str = "none", reduction: int = 4) -> nn.Module:
    layers = [nn.Conv2d(c_in, c_out, 3, padding=1), *([nn.BatchNorm2d(c_out)] if norm == "batch" else []), nn.ReLU(),
              *_attention(attention, c_out, reduction)]
    return nn.Sequential(*layers, nn.MaxPool2d(2)) if pool else nn.Sequential(*layers)


def cnn2d(input_shape: tuple[int, ...], num_classes: int, width: int = 32, norm: str = "batch",
          attention: str = "none", se_reduction: int = 4) -> BlockNet:
    """Three 3x3 convolution blocks (pooling while the image is large; squeeze-and-excitation before
    the pooling if asked), then a dense block."""
    if len(input_shape) != 3:
        raise ProcrustesError(f"model='cnn2d': needs images, the data have shape {tuple(input_shape)}")
    channels, height, _ = input_shape
    blocks, c_in, size = [], channels, height
    for c_out in (width, 2 * width, 2 * width):
        pool = size >= 8
        blocks.append(_conv2d(c_in, c_out, pool, norm, attention, se_reduction))
        c_in, size = c_out, size // 2 if pool else size
    hidden = 4 * width
    blocks.append(nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(c_in * 4, hidden), nn.ReLU()))
    return BlockNet(blocks, hidden, num_classes)


class BasicBlock(nn.Module):
    """The residual block of CIFAR ResNets (two 3x3 convolutions, option-A shortcut)."""

    def __init__(self, c_in: int, c_out: int, stride: int, attention: str = "none", reduction: int = 4):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.se = SqueezeExcitation(c_out, reduction) if attention == "se" else None  # on the residual branch
        self.pad = c_out - c_in
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.se is not None:
            out = self.se(out)
        shortcut = x
        if self.stride != 1 or self.pad:
            shortcut = nn.functional.pad(x[:, :, ::self.stride, ::self.stride],
                                         (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return torch.relu(out + shortcut)


def resnet32(input_shape: tuple[int, ...], num_classes: int, width: int = 16, norm: str = "batch",
             attention: str = "none", se_reduction: int = 4) -> BlockNet:
    """ResNet-32 for CIFAR: a stem, three stages of five residual blocks (SE-ResNet blocks with
    ``attention="se"``), global pooling (always with BatchNorm: without it a 32-layer residual network
    does not train at the recipe's learning rate)."""
    if norm != "batch":
        raise ProcrustesError(f"norm={norm!r} with model='resnet32': ResNet-32 is built with BatchNorm; "
                              "use norm='batch' or another model")
    if len(input_shape) != 3:
        raise ProcrustesError(f"model='resnet32': needs images, the data have shape {tuple(input_shape)}")
    channels = input_shape[0]
    stem = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
    stages, c_in = [], width
    for c_out, stride in ((width, 1), (2 * width, 2), (4 * width, 2)):
        blocks = [BasicBlock(c_in, c_out, stride, attention, se_reduction)] + [
            BasicBlock(c_out, c_out, 1, attention, se_reduction) for _ in range(4)]
        stages.append(nn.Sequential(*blocks))
        c_in = c_out
    pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return BlockNet([stem, *stages, pool], c_in, num_classes)


DEFAULT_WIDTH = 32  # TrainConfig's default width, meant for the small networks
BUILDERS = {"mlp": mlp, "cnn1d": cnn1d, "cnn1d-s1": cnn1d_s1, "cnn2d": cnn2d, "resnet32": resnet32}
DEFAULT_MODEL = {"signal": "cnn1d", "vector": "mlp", "image": "cnn2d"}


def model_name(model: str, kind: str, dataset: str) -> str:
    """``auto`` resolves to the dataset's usual model (its registry entry's: ResNet-32 for CIFAR, MLP for
    digits), else to the usual one for its kind of input."""
    if model != "auto":
        return model
    usual = DATASETS[dataset].model if dataset in DATASETS else ""
    return usual or DEFAULT_MODEL[kind]


def build_model(model: str, input_shape: tuple[int, ...], num_classes: int, width: int, kind: str,
                dataset: str, head: str = "linear", scale: float = 30.0, norm: str = "batch",
                attention: str = "none", se_reduction: int = 4, two_branches: bool = False,
                backbone_weights: str | None = None, backbone_frozen: bool = False,
                backbone_size: int = 224) -> BlockNet:
    """The named network (``auto``: the dataset's usual one) with a ``linear`` or ``cosine`` head,
    ``norm`` after its convolutions (``batch`` or ``none``; the MLP has none), ``attention`` in its
    convolution blocks (``none`` or ``se``), and as BBN's two-branch network if ``two_branches``.
    A pretrained backbone (``pretrained.py``) takes its weights file, whether it is frozen and the
    side its images are resized to."""
    name = model_name(model, kind, dataset)
    if name in PRETRAINED:
        return _pretrained(name, input_shape, num_classes, dataset, head, scale, norm, attention, two_branches,
                           backbone_weights, backbone_frozen, backbone_size)
    if name == "resnet32" and width == DEFAULT_WIDTH:
        width = 16  # ResNet-32's standard width; the small networks' default would make it 4x larger
    net = BUILDERS[name](input_shape, num_classes, width, norm, attention, se_reduction)
    if two_branches:
        net = two_branch(net)
    if head != "linear":
        net.head = build_head(head, net.feature_dim, num_classes, scale)
    return net


PRETRAINED = ("resnet18-pretrained",)  # pretrained.BACKBONES' names (that module imports this one)


def _pretrained(name: str, input_shape: tuple[int, ...], num_classes: int, dataset: str, head: str, scale: float,
                norm: str, attention: str, two_branches: bool, weights: str | None, frozen: bool,
                size: int) -> BlockNet:
    from .pretrained import pretrained

    if two_branches:
        raise ProcrustesError(f"bbn=true with model={name!r}: BBN's two branches are not built on a pretrained "
                              "backbone; use bbn=false or another model")
    standardised = DATASETS[dataset].needs_folder if dataset in DATASETS else False  # torchvision's: standardised
    net = pretrained(name, input_shape, num_classes, weights, frozen, size, standardised, norm, attention)
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
