"""Several seeds' networks as one: every parameter carries a leading seed axis, every layer runs all seeds at once.

``StackedNet.from_members([net_a, net_b, ...])`` takes the seeds' own ``BlockNet``s (built and initialised
as ``Trainer`` builds them) and copies their weights into stacked tensors; ``member(i)`` gives seed ``i``'s
network back as a plain ``BlockNet``. Layers are written so that the work of all seeds is a few large
operations, not S small ones:

    convolution   im2col, then one batched matrix product W_s [C_out, C_in·k] @ patches_s [C_in·k, B·L_out]
    BatchNorm     one fused batch_norm over S·C channels (each seed's channel has statistics of its own)
    linear        one batched matrix product over the seeds, x_s [B, in] @ W_sᵀ

Representations between blocks: a convolution layout ``[S, C, B, L]`` (each seed's channels over its batch
and positions, so BatchNorm reduces contiguous memory) and a dense layout ``[S, B, F]``. Nothing couples two
seeds: each output of seed ``s`` is computed from seed ``s``'s inputs and parameters alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ProcrustesError
from .heads import LinearClassifier
from .nets import BlockNet


class _Patches(torch.autograd.Function):
    """im2col of ``x [S, C, B, L]``: ``[S, C·k, B·L_out]``; its backward adds the k strided slices back."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, kernel: int, stride: int, padding: int) -> torch.Tensor:
        s, c, b, length = x.shape
        padded = F.pad(x, (padding, padding))
        out_len = (length + 2 * padding - kernel) // stride + 1
        patches = padded.unfold(3, kernel, stride)  # [S, C, B, L_out, k], a view
        ctx.shape = (s, c, b, length, kernel, stride, padding, out_len)
        return patches.permute(0, 1, 4, 2, 3).reshape(s, c * kernel, b * out_len)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        s, c, b, length, kernel, stride, padding, out_len = ctx.shape
        grad = grad.reshape(s, c, kernel, b, out_len)
        padded = grad.new_zeros(s, c, b, length + 2 * padding)
        span = stride * (out_len - 1) + 1
        for j in range(kernel):
            padded[..., j:j + span:stride] += grad[:, :, j]
        return padded[..., padding:padding + length], None, None, None


class StackedConv1d(nn.Module):
    """``nn.Conv1d`` for S seeds: ``weight [S, C_out, C_in·k]``, ``bias [S, C_out, 1]``."""

    def __init__(self, convs: Sequence[nn.Conv1d]):
        super().__init__()
        first = convs[0]
        if first.groups != 1 or first.dilation != (1,) or not isinstance(first.padding, tuple):
            raise ProcrustesError("not stackable: only plain 1-D convolutions (no groups, no dilation)")
        self.kernel, self.stride, self.padding = first.kernel_size[0], first.stride[0], first.padding[0]
        self.out_channels = first.out_channels
        self.weight = nn.Parameter(torch.stack([c.weight.detach().reshape(c.out_channels, -1) for c in convs]))
        self.bias = nn.Parameter(torch.stack([c.bias.detach()[:, None] for c in convs]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, _, b, _ = x.shape
        patches = _Patches.apply(x, self.kernel, self.stride, self.padding)
        return torch.baddbmm(self.bias, self.weight, patches).reshape(s, self.out_channels, b, -1)

    def member(self, i: int) -> dict[str, torch.Tensor]:
        return {"weight": self.weight[i].detach().reshape(self.out_channels, -1, self.kernel).clone(),
                "bias": self.bias[i, :, 0].detach().clone()}


class StackedBatchNorm(nn.Module):
    """``BatchNorm1d`` for S seeds on ``[S, C, B, L]`` (or ``[S, B, C]``): one batch_norm over S·C channels."""

    def __init__(self, norms: Sequence[nn.BatchNorm1d]):
        super().__init__()
        first = norms[0]
        self.eps, self.momentum = first.eps, first.momentum
        self.weight = nn.Parameter(torch.stack([n.weight.detach() for n in norms]))
        self.bias = nn.Parameter(torch.stack([n.bias.detach() for n in norms]))
        self.register_buffer("running_mean", torch.cat([n.running_mean for n in norms]))
        self.register_buffer("running_var", torch.cat([n.running_var for n in norms]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, c = self.weight.shape
        if x.dim() == 3:  # dense layout [S, B, C]: channels last
            flat = x.transpose(1, 2).reshape(1, s * c, -1)
        else:
            flat = x.reshape(1, s * c, -1)
        out = F.batch_norm(flat, self.running_mean, self.running_var, self.weight.reshape(-1),
                           self.bias.reshape(-1), self.training, self.momentum, self.eps)
        return out.reshape(x.shape) if x.dim() != 3 else out.reshape(s, c, -1).transpose(1, 2)

    def member(self, i: int) -> dict[str, torch.Tensor]:
        c = self.weight.shape[1]
        return {"weight": self.weight[i].detach().clone(), "bias": self.bias[i].detach().clone(),
                "running_mean": self.running_mean[i * c:(i + 1) * c].clone(),
                "running_var": self.running_var[i * c:(i + 1) * c].clone()}


class StackedLinear(nn.Module):
    """``nn.Linear`` for S seeds on ``[S, B, in]``: ``weight [S, out, in]``, ``bias [S, 1, out]``."""

    def __init__(self, linears: Sequence[nn.Linear]):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([lin.weight.detach() for lin in linears]))
        self.bias = nn.Parameter(torch.stack([lin.bias.detach()[None] for lin in linears]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight.transpose(1, 2))

    def member(self, i: int) -> dict[str, torch.Tensor]:
        return {"weight": self.weight[i].detach().clone(), "bias": self.bias[i, 0].detach().clone()}


class StackedReLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


class ToDense(nn.Module):
    """``nn.Flatten`` for S seeds: the convolution layout ``[S, C, B, L]`` (or the input ``[S, B, ...]``
    of a dense network) to ``[S, B, C·L]``, features in the order a seed's own Flatten gives."""

    def __init__(self, from_conv: bool):
        super().__init__()
        self.from_conv = from_conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.from_conv:
            s, c, b, length = x.shape
            return x.permute(0, 2, 1, 3).reshape(s, b, c * length)
        return x.reshape(x.shape[0], x.shape[1], -1)


def _stack_layer(layers: list[nn.Module], conv_layout: bool) -> tuple[nn.Module, bool]:
    """One stacked layer from the seeds' copies of it, and whether its output is in the convolution layout."""
    first = layers[0]
    if isinstance(first, nn.Conv1d):
        if not conv_layout:
            raise ProcrustesError("not stackable: a convolution after a dense layer")
        return StackedConv1d(layers), True
    if isinstance(first, nn.BatchNorm1d) and first.affine and first.track_running_stats:
        return StackedBatchNorm(layers), conv_layout
    if isinstance(first, nn.ReLU):
        return StackedReLU(), conv_layout
    if isinstance(first, nn.Flatten) and first.start_dim == 1 and first.end_dim == -1:
        return ToDense(conv_layout), False
    if type(first) is nn.Linear or type(first) is LinearClassifier:
        if conv_layout:
            raise ProcrustesError("not stackable: a linear layer on unflattened features")
        return StackedLinear(layers), False
    raise ProcrustesError(f"not stackable: the network has a {type(first).__name__} layer, which has no "
                          "stacked form (stacked: Conv1d, BatchNorm1d, ReLU, Flatten, Linear)")


def _layers(block: nn.Module) -> list[nn.Module]:
    return list(block) if isinstance(block, nn.Sequential) else [block]


class StackedNet(nn.Module):
    """S seeds' ``BlockNet``s as one network; ``forward`` mixes each seed's features where its mixing says."""

    def __init__(self, blocks: list[nn.Sequential], head: StackedLinear, members: int, conv_input: bool,
                 template: BlockNet):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.head = head
        self.members = members
        self.conv_input = conv_input  # the first block is a convolution: the input goes to [S, C, B, L]
        self._template = [template]  # a seed's network, for member(): a list keeps it out of the module tree

    @classmethod
    def from_members(cls, nets: Sequence[BlockNet]) -> StackedNet:
        """The stacked network of ``nets`` (the same architecture, weights of their own)."""
        if type(nets[0]) is not BlockNet:
            raise ProcrustesError(f"not stackable: {type(nets[0]).__name__} (only a plain BlockNet stacks)")
        if not isinstance(nets[0].head, LinearClassifier):
            raise ProcrustesError("not stackable: only a linear classifier head stacks (LDAM's cosine head does not)")
        first_layer = _layers(nets[0].blocks[0])[0]
        conv = isinstance(first_layer, nn.Conv1d)
        layout, blocks = conv, []
        for k in range(len(nets[0].blocks)):
            stacked = []
            for layers in zip(*[_layers(net.blocks[k]) for net in nets]):
                layer, layout = _stack_layer(list(layers), layout)
                stacked.append(layer)
            blocks.append(nn.Sequential(*stacked))
        if layout:
            raise ProcrustesError("not stackable: the features before the head are not flattened")
        return cls(blocks, StackedLinear([net.head for net in nets]), len(nets), conv, nets[0])

    @property
    def num_positions(self) -> int:
        return len(self.blocks) + 1

    def entry(self, x: torch.Tensor) -> torch.Tensor:
        """The seeds' inputs ``[S, B, ...]`` in the layout the first block takes."""
        if self.conv_input:
            if x.dim() != 4:
                raise ProcrustesError(f"not stackable: a 1-D convolution needs signals [S, B, C, L], got {tuple(x.shape)}")
            return x.transpose(1, 2)  # [S, C, B, L]
        return x.reshape(x.shape[0], x.shape[1], -1)

    def features(self, x: torch.Tensor, mixes: Sequence[StackedMix] = ()) -> torch.Tensor:
        """Penultimate features ``[S, B, F]`` of the seeds' inputs ``x [S, B, ...]``, each mix applied."""
        h = self.entry(x)
        for position, block in enumerate(self.blocks):
            here = [m for m in mixes if m.position == position]
            if not here:
                h = block(h)
                continue
            plain = [m for m in here if not m.after_norm]
            for mix in plain:
                h = mix(h)
            after = [m for m in here if m.after_norm]
            h = _run_mixing_after_norm(block, h, after) if after else block(h)
        for mix in mixes:
            if mix.position == len(self.blocks):
                h = mix(h)
        return h

    def forward(self, x: torch.Tensor, mixes: Sequence[StackedMix] = ()) -> torch.Tensor:
        return self.head(self.features(x, mixes))

    def member(self, i: int) -> BlockNet:
        """Seed ``i``'s network as a plain ``BlockNet`` (a copy: training the stack does not change it)."""
        import copy

        net = copy.deepcopy(self._template[0])
        state = {}
        for k, block in enumerate(self.blocks):
            for j, layer in enumerate(block):
                if hasattr(layer, "member"):
                    state.update({f"blocks.{k}.{j}.{name}": v for name, v in layer.member(i).items()})
        state.update({f"head.{name}": v for name, v in self.head.member(i).items()})
        own = net.state_dict()
        for name, value in state.items():
            own[name] = value.to(own[name].device)
        net.load_state_dict(own)
        net.train(self.training)
        return net


def _run_mixing_after_norm(block: nn.Sequential, h: torch.Tensor, mixes: list[StackedMix]) -> torch.Tensor:
    """``block`` with ``mixes`` applied right after its first BatchNorm (at its input if it has none)."""
    layers = list(block)
    at = next((i for i, layer in enumerate(layers) if isinstance(layer, StackedBatchNorm)), None)
    if at is None:
        for mix in mixes:
            h = mix(h)
        return block(h)
    for i, layer in enumerate(layers):
        h = layer(h)
        if i == at:
            for mix in mixes:
                h = mix(h)
    return h


class StackedMix:
    """One mixing step for all seeds at one position: ``h_i ← λ_i h_i + (1 − λ_i) h_partner(i)`` per seed.

    ``lam [S, B]`` and ``partner [S, B]``; a seed that does not mix here has ``λ = 1``, which leaves its
    features exactly as they are (``1·h + 0·h_j = h``)."""

    def __init__(self, lam: torch.Tensor, partner: torch.Tensor, position: int, after_norm: bool = False,
                 detach: bool = False):
        self.lam, self.partner, self.position = lam, partner, position
        self.after_norm, self.detach = after_norm, detach

    def __call__(self, h: torch.Tensor) -> torch.Tensor:
        if h.dim() == 4:  # convolution layout [S, C, B, L]: the batch is dim 2
            s, c, b, length = h.shape
            index = self.partner[:, None, :, None].expand(s, c, b, length)
            lam = self.lam[:, None, :, None]
            other = h.gather(2, index)
        else:  # [S, B, F]
            index = self.partner[:, :, None].expand(*h.shape[:2], h.shape[2])
            lam = self.lam[:, :, None]
            other = h.gather(1, index)
        if self.detach:
            other = other.detach()
        return lam * h + (1 - lam) * other
