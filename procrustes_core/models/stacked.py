"""Several seeds' networks as one: every parameter carries a leading seed axis, every layer runs all seeds at once.

``StackedNet.from_members([net_a, net_b, ...])`` takes the seeds' own ``BlockNet``s (built and initialised
as ``Trainer`` builds them) and copies their weights into stacked tensors; ``member(i)`` gives seed ``i``'s
network back as a plain ``BlockNet``. Layers are written so that the work of all seeds is a few large
operations, not S small ones:

    convolution   im2col, then one batched matrix product patches_s [B·L_out, k·C_in] @ W_sᵀ [k·C_in, C_out]
    BatchNorm     one batch_norm over S·C columns (each seed's channel has statistics of its own)
    linear        one batched matrix product over the seeds, x_s [B, in] @ W_sᵀ

Representations between blocks: a convolution layout ``[B, L, S, C]`` (rows of S·C numbers, the layout
in which BatchNorm and ReLU are fastest, and a window of k positions is k runs of C numbers) and a
dense layout ``[S, B, F]`` (a batched matrix product per layer). Nothing couples two seeds: each output
of seed ``s`` is computed from seed ``s``'s inputs and parameters alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ProcrustesError
from .heads import LinearClassifier
from .nets import BlockNet

TAPS_FROM_CHANNELS = 16  # input channels from which a convolution sums k taps instead of building im2col


class _Convolution(torch.autograd.Function):
    """A 1-D convolution of every seed on ``x [B, L, S, C_in]``: im2col into each seed's contiguous matrix of
    windows ``[S, B·L_out, k·C_in]``, one batched matrix product, and the result (with the bias) written back
    in the ``[B, L_out, S, C_out]`` layout; the backward adds each window's gradient back in k slices.
    (Batched products on contiguous matrices run about twice as fast here as on strided views.)"""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, kernel: int, stride: int,
                padding: int) -> torch.Tensor:
        b, length, s, c = x.shape
        out_len = (length + 2 * padding - kernel) // stride + 1
        padded = F.pad(x, (0, 0, 0, 0, padding, padding)).contiguous()
        sb, sl, ss, _ = padded.stride()
        patches = padded.as_strided((s, b, out_len, kernel, c), (ss, sb, stride * sl, sl, 1)).contiguous()
        rows, width, c_out = b * out_len, kernel * c, weight.shape[1]
        product = torch.bmm(patches.view(s, rows, width), weight.transpose(1, 2))  # [S, rows, C_out]
        out = x.new_empty(b, out_len, s, c_out)
        torch.add(product, bias[:, None], out=out.view(rows, s, c_out).transpose(0, 1))
        ctx.save_for_backward(patches, weight)
        ctx.dims = (b, length, s, c, kernel, stride, padding, out_len)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        patches, weight = ctx.saved_tensors
        b, length, s, c, kernel, stride, padding, out_len = ctx.dims
        rows, width, c_out = b * out_len, kernel * c, weight.shape[1]
        per_seed = grad.reshape(rows, s, c_out).transpose(0, 1).contiguous()  # [S, rows, C_out]
        grad_weight = torch.bmm(per_seed.transpose(1, 2), patches.view(s, rows, width))
        grad_bias = per_seed.sum(1)
        grad_x = None
        if ctx.needs_input_grad[0]:
            windows = torch.bmm(per_seed, weight).view(s, b, out_len, kernel, c)
            padded = grad.new_zeros(b, length + 2 * padding, s, c)
            span = stride * (out_len - 1) + 1
            for j in range(kernel):
                padded[:, j:j + span:stride] += windows[:, :, :, j].permute(1, 2, 0, 3)
            grad_x = padded[:, padding:padding + length]
        return grad_x, grad_weight, grad_bias, None, None, None


class _TapConvolution(torch.autograd.Function):
    """The same convolution without im2col, for inputs of many channels: a sum over the k taps of batched
    products whose left operand is a strided view of the padded input itself (window t of tap j starts at
    position stride·t + j, so consecutive windows are ``stride·S·C`` numbers apart). Each padded sample is
    rounded up to a whole number of strides, so the windows of all samples are one evenly strided matrix;
    the few windows that straddle two samples are computed and dropped."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, kernel: int, stride: int,
                padding: int) -> torch.Tensor:
        b, length, s, c = x.shape
        out_len = (length + 2 * padding - kernel) // stride + 1
        windows = -(-(length + 2 * padding) // stride)  # per sample, the last ones straddling the next
        span = windows * stride
        rows, c_out = b * windows, weight.shape[1]
        padded = x.new_empty(b * span + kernel, s, c)  # rows past the end: the last sample's extra windows
        samples = padded[:b * span].view(b, span, s, c)
        samples[:, :padding] = 0  # only the padding is zeroed: a fresh buffer's first touch costs
        samples[:, padding + length:] = 0
        samples[:, padding:padding + length] = x
        padded[b * span:] = 0
        taps = weight.view(s, c_out, kernel, c)
        product = None
        for j in range(kernel):
            tap = padded.as_strided((s, rows, c), (c, stride * s * c, 1), j * s * c)
            w = taps[:, :, j].transpose(1, 2)
            product = torch.bmm(tap, w) if product is None else product.baddbmm_(tap, w)
        out = x.new_empty(b, out_len, s, c_out)
        torch.add(product.view(s, b, windows, c_out)[:, :, :out_len].permute(1, 2, 0, 3), bias, out=out)
        ctx.save_for_backward(padded, weight)
        ctx.dims = (b, length, s, c, kernel, stride, padding, out_len, windows)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        padded, weight = ctx.saved_tensors
        b, length, s, c, kernel, stride, padding, out_len, windows = ctx.dims
        rows, c_out, span = b * windows, weight.shape[1], windows * stride
        per_seed = grad.new_zeros(s, b, windows, c_out)  # the straddling windows get no gradient
        per_seed[:, :, :out_len] = grad.permute(2, 0, 1, 3)
        per_seed = per_seed.view(s, rows, c_out)
        taps = weight.view(s, c_out, kernel, c)
        grad_weight = weight.new_empty(s, c_out, kernel, c)
        for j in range(kernel):
            tap = padded.as_strided((s, rows, c), (c, stride * s * c, 1), j * s * c)
            torch.bmm(per_seed.transpose(1, 2), tap, out=grad_weight[:, :, j])
        grad_bias = grad.reshape(-1, s * c_out).sum(0).view(s, c_out)
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_padded = torch.empty_like(padded)
            for j in range(kernel):  # taps 0 … stride − 1 cover every position once: they write, the rest add
                tap = grad_padded.as_strided((s, rows, c), (c, stride * s * c, 1), j * s * c)
                if j < stride:
                    torch.bmm(per_seed, taps[:, :, j], out=tap)
                else:
                    tap.baddbmm_(per_seed, taps[:, :, j])
            grad_x = grad_padded[:b * span].view(b, span, s, c)[:, padding:padding + length]
        return grad_x, grad_weight.view(s, c_out, kernel * c), grad_bias, None, None, None


class StackedConv1d(nn.Module):
    """``nn.Conv1d`` for S seeds on ``[B, L, S, C]``: ``weight [S, C_out, k·C_in]`` (window positions, then
    input channels) and ``bias [S, C_out]``."""

    def __init__(self, convs: Sequence[nn.Conv1d]):
        super().__init__()
        first = convs[0]
        if first.groups != 1 or first.dilation != (1,) or not isinstance(first.padding, tuple):
            raise ProcrustesError("not stackable: only plain 1-D convolutions (no groups, no dilation)")
        self.kernel, self.stride, self.padding = first.kernel_size[0], first.stride[0], first.padding[0]
        self.out_channels = first.out_channels
        self.weight = nn.Parameter(torch.stack([c.weight.detach().permute(0, 2, 1).reshape(c.out_channels, -1)
                                                for c in convs]))
        self.bias = nn.Parameter(torch.stack([c.bias.detach() for c in convs]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        taps = x.shape[3] >= TAPS_FROM_CHANNELS and self.stride <= self.kernel  # the first taps cover every position
        convolution = _TapConvolution if taps else _Convolution
        return convolution.apply(x, self.weight, self.bias, self.kernel, self.stride, self.padding)

    def member(self, i: int) -> dict[str, torch.Tensor]:
        weight = self.weight[i].detach().reshape(self.out_channels, self.kernel, -1).permute(0, 2, 1)
        return {"weight": weight.contiguous(), "bias": self.bias[i].detach().clone()}


class StackedBatchNorm(nn.Module):
    """``BatchNorm1d`` for S seeds on ``[B, L, S, C]``: one batch_norm over the S·C columns of the rows
    (B·L of them), so each seed's channel has statistics (and running statistics) of its own."""

    def __init__(self, norms: Sequence[nn.BatchNorm1d]):
        super().__init__()
        first = norms[0]
        self.eps, self.momentum = first.eps, first.momentum
        self.weight = nn.Parameter(torch.stack([n.weight.detach() for n in norms]))
        self.bias = nn.Parameter(torch.stack([n.bias.detach() for n in norms]))
        self.register_buffer("running_mean", torch.cat([n.running_mean for n in norms]))
        self.register_buffer("running_var", torch.cat([n.running_var for n in norms]))
        self.register_buffer("num_batches_tracked", first.num_batches_tracked.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:  # the dense layout [S, B, C]
            return self(x.transpose(0, 1)[:, None]).reshape(x.shape[1], *x.shape[::2]).transpose(0, 1)
        momentum = self.momentum
        if self.training:  # as nn.BatchNorm1d: momentum None keeps a cumulative average
            self.num_batches_tracked.add_(1)
            momentum = momentum if momentum is not None else 1.0 / float(self.num_batches_tracked)
        columns = self.weight.numel()
        out = F.batch_norm(x.reshape(-1, columns), self.running_mean, self.running_var, self.weight.reshape(-1),
                           self.bias.reshape(-1), self.training, momentum or 0.0, self.eps)
        return out.view(x.shape)

    def member(self, i: int) -> dict[str, torch.Tensor]:
        c = self.weight.shape[1]
        return {"weight": self.weight[i].detach().clone(), "bias": self.bias[i].detach().clone(),
                "running_mean": self.running_mean[i * c:(i + 1) * c].clone(),
                "running_var": self.running_var[i * c:(i + 1) * c].clone(),
                "num_batches_tracked": self.num_batches_tracked.clone()}


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
    """ReLU in place: what it follows here (a convolution, BatchNorm, a linear layer, a mix) keeps no
    output for its backward, so one buffer less per layer."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu_(x)


class _ToDense(torch.autograd.Function):
    """``[B, L, S, C]`` to ``[S, B, C·L]`` (each seed's Flatten order), with a gradient in the layout it came."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        b, length, s, c = x.shape
        ctx.dims = (b, length, s, c)
        return x.permute(2, 0, 3, 1).reshape(s, b, c * length)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        b, length, s, c = ctx.dims
        return grad.reshape(s, b, c, length).permute(1, 3, 0, 2).contiguous()


class ToDense(nn.Module):
    """``nn.Flatten`` for S seeds: the convolution layout ``[B, L, S, C]`` (or the input ``[S, B, ...]``
    of a dense network) to ``[S, B, C·L]``, features in the order a seed's own Flatten gives."""

    def __init__(self, from_conv: bool):
        super().__init__()
        self.from_conv = from_conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.from_conv:
            return _ToDense.apply(x)
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
        self.conv_input = conv_input  # the first block is a convolution: the input goes to [B, L, S, C]
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
                raise ProcrustesError(f"not stackable: a 1-D convolution needs signals [S, B, C, L], "
                                      f"got {tuple(x.shape)}")
            return x.permute(1, 3, 0, 2).contiguous()  # [B, L, S, C]
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

    ``lam [S, B]`` and ``partner [S, B]``; ``rows [S]`` (None: all) the seeds that mix here: the others'
    features are passed on as they are, not mixed with ``λ = 1`` (``1·h + 0·h_j`` is ``h`` only while
    ``h_j`` is finite)."""

    def __init__(self, lam: torch.Tensor, partner: torch.Tensor, position: int, after_norm: bool = False,
                 detach: bool = False, rows: torch.Tensor | None = None):
        self.lam, self.partner, self.position = lam, partner, position
        self.after_norm, self.detach, self.rows = after_norm, detach, rows

    def __call__(self, h: torch.Tensor) -> torch.Tensor:
        if h.dim() == 4:  # the convolution layout [B, L, S, C]: the batch is dim 0, the seeds dim 2
            seeds = torch.arange(h.shape[2], device=h.device)
            other = h[self.partner.t(), :, seeds[None, :]].permute(0, 2, 1, 3)
            lam = self.lam.t()[:, None, :, None]
            rows = None if self.rows is None else self.rows[None, None, :, None]
        else:  # [S, B, F]
            other = h.gather(1, self.partner[:, :, None].expand_as(h))
            lam = self.lam[:, :, None]
            rows = None if self.rows is None else self.rows[:, None, None]
        if self.detach:
            other = other.detach()
        mixed = lam * h + (1 - lam) * other
        return mixed if rows is None else torch.where(rows, mixed, h)
