"""Several seeds of one config trained together, in one process, as one stacked network.

    trainer = StackedTrainer(TrainConfig(mixer="mfw"), seeds=[0, 1, 2, 3])
    for records in trainer.epochs():              # {seed: EpochRecord} after every epoch
        ...
    trainer.histories[2]                          # seed 2's RunHistory, as Trainer(config with seed=2) gives

Each seed keeps everything its own ``Trainer`` would have: its data subset, initial weights, sampler and
batch order, mixer (MFW partners, coefficients and position), augmentation, loss-weight schedule,
BatchNorm statistics and optimiser state. The seeds' networks are one ``StackedNet`` (parameters with a
leading seed axis), so one step is a few large operations for all seeds; the objective is the sum of
the seeds' own objectives, so each seed's gradient is its own. What is bitwise identical to the seed
trained alone: the data subset, the initial parameters, the order of the samples, the augmentation, the
mixing partners, coefficients and positions. What differs in the last bits: everything computed from
the network (the stacked layers add the same products in another order than the single network's
kernels). In float32 the two trainings agree to about 1e-7 until a ReLU input or a logit margin lies
within rounding of zero and flips; from then on they are two equally valid runs (in float64 they agree
to 1e-15: tests/test_stacked.py). Nothing couples two seeds, so a seed's numbers are bitwise the same
whichever seeds share its stack. A seed whose loss becomes non-finite stops with the message ``Trainer``
raises (in its history) while the others train on. Stop answers between mini-batches and between the
chunks of the evaluation passes.

Configs that differ only in their method (``stack_key``: e.g. ERM and MFW, with or without post-hoc LA)
share one stack as members ``(config, seed)``: ``StackedTrainer.of_members``, whose histories and events
are keyed by the member's index. Each member keeps its own sampler order, mixer, loss and post-hoc
scoring; a member that does not mix at a position is passed over by the others' mixes, so its numbers
are bitwise those it has in a stack of its own config (tests/test_stacked_members.py).

A config that cannot train this way (``stackable``) says why; its seeds train in separate processes.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..analysis.history import EpochRecord, RunHistory
from ..analysis.metrics import Scores, group_means, per_class_mean
from ..config import TrainConfig, check_seeds
from ..data.augment import build_augment
from ..data.datasets import Data, build_data
from ..errors import ProcrustesError
from ..methods.build import RunMethods, build_methods
from ..methods.catalogue import check_combination
from ..methods.losses import CrossEntropy
from ..methods.posthoc import PostHoc, log_prior
from ..methods.samplers import has_batchnorm, last_batch_warning
from ..methods.schedules import learning_rate
from ..models.heads import LinearClassifier
from ..models.nets import BlockNet, mix_position
from ..models.stacked import StackedMix, StackedNet
from .events import StepEvent
from .stacking import NOT_STACKABLE, STACKED_MODELS, joint_pays, stack_key, stackable, stacking_text
from .trainer import (
    CONFUSION_EVERY_EPOCH_UP_TO,
    build_network,
    chance_warning,
    default_threads,
    loss_warning,
    resolve_device,
)

EVAL_CHUNK = 1024  # samples of all seeds together per evaluation pass (larger spills the cache, smaller adds calls)
class _Stopped(Exception):
    """Raised inside an evaluation pass when ``stop`` was asked for."""


@dataclass
class SeedsEvent:
    """Every seed's event at one point of training: StepEvents inside an epoch, EpochRecords at its end."""

    epoch: int  # 1-based epoch the events belong to
    events: dict[int, StepEvent | EpochRecord]  # seed -> its event

    @property
    def is_record(self) -> bool:
        return any(isinstance(e, EpochRecord) for e in self.events.values())


@dataclass
class _Epoch:
    """Where the loop stands inside the epoch in progress (one entry per seed where seeds differ)."""

    order: torch.Tensor  # [S, N]
    batches: int
    lr: float
    strengths: list[float]
    loss_weights: list[list[float] | None]
    loss_weights_t: list[torch.Tensor | None]
    mixing: bool
    batch: int = 0
    total_loss: torch.Tensor | None = None  # [S]
    correct: torch.Tensor | None = None  # [S, K]
    seen: torch.Tensor | None = None  # [S, K]


class StackedTrainer:
    """S seeds of one config: data, one stacked network, one optimiser, and one history per seed.

    ``steps()`` / ``epochs()`` train all seeds together; ``stop(reason)`` (from any thread) ends training
    before the next mini-batch; ``histories`` keep every finished epoch; ``member(seed)`` is a seed's
    network as a plain ``BlockNet``."""

    def __init__(self, config: TrainConfig, seeds: Sequence[int], variants: Mapping[str, PostHoc] | None = None,
                 data: Mapping[int, Data] | None = None):
        self.seeds = check_seeds(seeds)
        self._build([config.replace(seed=s) for s in self.seeds], list(self.seeds), variants, data)

    @classmethod
    def of_members(cls, members: Sequence[tuple[TrainConfig, int]], variants: Mapping[str, PostHoc] | None = None,
                   data: Mapping[int, Data] | None = None) -> StackedTrainer:
        """Members ``(config, seed)`` of configs with one ``stack_key`` (e.g. ERM and MFW on the same seeds) in
        one stack; its histories, events and ``member`` are keyed by the member's index in ``members``."""
        if not members:
            raise ProcrustesError("a stack needs at least one member")
        configs = [c.replace(seed=check_seeds([s])[0]) for c, s in members]
        keys = {stack_key(c) for c in configs}
        if len(keys) != 1 or None in keys:
            raise ProcrustesError("not stackable: the members differ in more than their method (network, data or "
                                  "training loop), or one of them does not stack")
        trainer = cls.__new__(cls)
        trainer.seeds = [c.seed for c in configs]
        trainer._build(configs, list(range(len(configs))), variants, data)
        return trainer

    def _build(self, configs: list[TrainConfig], keys: list[int], variants: Mapping[str, PostHoc] | None,
               data: Mapping[int, Data] | None) -> None:
        for c in configs:
            ok, reason = stackable(c)
            if not ok:
                raise ProcrustesError(reason)
            check_combination(c)
        config = configs[0]
        self.config, self.configs, self.keys = config, configs, keys
        self.device = resolve_device(config.device)
        self.threads = config.threads or default_threads()
        torch.set_num_threads(self.threads)
        built = dict(data or {})  # members share a seed's data: their data settings are the same (stack_key)
        for c in configs:
            if c.seed not in built:
                built[c.seed] = build_data(c)
        self.data = [built[c.seed] for c in configs]
        first = self.data[0]
        if any(d.counts != first.counts or d.x_train.shape != first.x_train.shape for d in self.data):
            raise ProcrustesError("not stackable: the seeds' training sets differ in size")
        nets = [build_network(c, d, torch.Generator().manual_seed(c.seed)) for c, d in zip(self.configs, self.data)]
        self.model = StackedNet.from_members(nets).to(self.device)
        self.methods: list[RunMethods] = [
            build_methods(c, d.counts, mix_position(c.mfw_layer, nets[0]) if c.mixer == "mfw" else -1,
                          nets[0].num_positions) for c, d in zip(self.configs, self.data)]
        self.plain = [type(m.loss) is CrossEntropy and m.loss.loss_weights is None for m in self.methods]
        self.variants = dict(variants or {})
        self.batch_rngs = [torch.Generator().manual_seed(s) for s in self.seeds]
        self.augments = [build_augment(c.augment, d, seed=c.seed, classes=c.augment_classes, prob=c.augment_prob)
                         for c, d in zip(self.configs, self.data)]
        pools = [m.sampler.prepare(d.x_train.to(self.device), d.y_train.to(self.device))
                 for m, d in zip(self.methods, self.data)]
        if len({len(y) for _, y in pools}) != 1:
            raise ProcrustesError("not stackable: the seeds' sampling pools differ in size")
        self.x_pool = torch.stack([x for x, _ in pools])
        self.y_pool = torch.stack([y for _, y in pools])
        self.x_train = torch.stack([d.x_train for d in self.data]).to(self.device)
        self.y_train = torch.stack([d.y_train for d in self.data]).to(self.device)
        self.x_test, self.y_test = first.x_test.to(self.device), first.y_test.to(self.device)
        self.x_val_by_seed = (torch.stack([d.x_val for d in self.data]).to(self.device)
                              if first.x_val is not None else None)
        self.y_val_by_seed = (torch.stack([d.y_val for d in self.data]).to(self.device)
                              if first.y_val is not None else None)
        self.prior_log = log_prior(first.counts, self.device)
        params = [p for p in self.model.parameters() if p.requires_grad]
        if config.optimizer == "adam":
            self.optimizer: torch.optim.Optimizer = torch.optim.Adam(
                params, lr=config.lr, weight_decay=config.weight_decay, foreach=True)
        else:
            self.optimizer = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                                             weight_decay=config.weight_decay, foreach=True)
        variant_settings = {n: {"la_tau": p.la_tau, "tau_norm": p.tau_norm} for n, p in self.variants.items()}
        self.histories = {key: RunHistory(c, list(d.counts), d.groups, list(d.class_names), threads=self.threads,
                                          variants=dict(variant_settings))
                          for key, c, d in zip(self.keys, self.configs, self.data)}
        self.epoch = 0  # epochs finished
        self.seconds = 0.0
        self.diverged: set[int] = set()  # members (keys) whose loss became non-finite: they train on, unrecorded
        self._current: _Epoch | None = None
        self._stop = threading.Event()
        self._warned: dict[int, set[str]] = {key: set() for key in self.keys}
        batchnorm = has_batchnorm(nets[0])
        pool_counts = torch.bincount(self.y_pool[0].cpu(), minlength=len(first.counts))
        for key, m in zip(self.keys, self.methods):
            self._warn(key, "last-batch", last_batch_warning(m.sampler.epoch_size(pool_counts.tolist()),
                                                              config.batch_size, batchnorm))

    @property
    def finished(self) -> bool:
        return self.epoch >= self.config.epochs or self._stop.is_set() or len(self.diverged) == len(self.seeds)

    def stop(self, reason: str) -> None:
        """End training before the next mini-batch (safe from another thread); every history keeps its
        finished epochs and ``reason``."""
        for key, history in self.histories.items():
            if key not in self.diverged:
                history.stopped = reason
        self._stop.set()

    def member(self, key: int) -> BlockNet:
        """Member ``key``'s current network (its seed; with ``of_members`` its index) as a plain ``BlockNet``."""
        return self.model.member(self.keys.index(key))

    # ------------------------------------------------------------------ training

    def steps(self, every_batches: int = 0, every_seconds: float = 0.0) -> Iterator[SeedsEvent]:
        """Train the remaining epochs; yield every seed's StepEvent every ``every_batches`` mini-batches
        (or ``every_seconds``), and every seed's EpochRecord at the end of each evaluated epoch."""
        while not self.finished:
            epoch = self._current or self._begin_epoch()
            since = time.perf_counter()
            while epoch.batch < epoch.batches:
                if self._stop.is_set():
                    return
                self._step(epoch)
                if epoch.batch < epoch.batches and (
                        (every_batches and epoch.batch % every_batches == 0)
                        or (every_seconds and time.perf_counter() - since >= every_seconds)):
                    yield self._events(epoch)
                    since = time.perf_counter()
            if every_seconds and epoch.batches:
                yield self._events(epoch)
            try:
                records = self._end_epoch(epoch)
            except _Stopped:  # stopped during the evaluation passes: the epoch is trained, not recorded
                return
            if records:
                yield SeedsEvent(self.epoch, records)

    def epochs(self) -> Iterator[dict[int, EpochRecord]]:
        """Train the remaining epochs, yielding ``{seed: EpochRecord}`` after each evaluated epoch."""
        for event in self.steps():
            if event.is_record:
                yield event.events  # type: ignore[misc]

    def _begin_epoch(self) -> _Epoch:
        c, epoch = self.config, self.epoch
        lr = learning_rate(c.lr_schedule, c.lr, epoch, c.epochs)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        orders = [m.sampler.order(self.y_pool[i].cpu(), self.batch_rngs[i]) for i, m in enumerate(self.methods)]
        weights = [m.loss_weights.at(epoch) for m in self.methods]
        strengths = [m.mixer.strength_at(epoch) if m.mixer is not None else 0.0 for m in self.methods]
        s, k = len(self.seeds), self.data[0].num_classes
        zeros = dict(device=self.device, dtype=torch.float32)
        self._current = _Epoch(
            torch.stack(orders).to(self.device), math.ceil(len(orders[0]) / c.batch_size), lr, strengths,
            [None if w is None else [float(v) for v in w] for w in weights],
            [None if w is None else torch.as_tensor(w, dtype=torch.float32, device=self.device) for w in weights],
            mixing=any(m.mixer is not None for m in self.methods),
            total_loss=torch.zeros(s, **zeros), correct=torch.zeros(s, k, **zeros), seen=torch.zeros(s, k, **zeros))
        return self._current

    def _batch(self, epoch: _Epoch) -> tuple[torch.Tensor, torch.Tensor]:
        size = self.config.batch_size
        idx = epoch.order[:, epoch.batch * size:(epoch.batch + 1) * size]  # [S, B]
        rows = torch.arange(len(self.seeds), device=self.device)[:, None]
        xb, yb = self.x_pool[rows, idx], self.y_pool[rows, idx]
        if self.config.augment != "none":
            xb = torch.stack([aug(x, y) for aug, x, y in zip(self.augments, xb, yb)])
        return xb, yb

    def _mixes(self, epoch: _Epoch, yb: torch.Tensor) -> tuple[list[StackedMix], list]:
        """Each seed's mixing of this mini-batch (drawn by its own mixer), grouped by position; a member
        without a mixer, or mixing elsewhere, is left out of a group (its features are not touched)."""
        drawn = [m.mixer.draw(y, strength) if m.mixer is not None else None
                 for m, y, strength in zip(self.methods, yb, epoch.strengths)]
        s, b = yb.shape
        mixes = []
        for where in sorted({(d.position, d.after_norm, d.detach) for d in drawn if d is not None}):
            lam = torch.ones(s, b, device=self.device)
            partner = torch.arange(b, device=self.device).repeat(s, 1)
            rows = torch.zeros(s, dtype=torch.bool, device=self.device)
            for i, d in enumerate(drawn):
                if d is not None and (d.position, d.after_norm, d.detach) == where:
                    lam[i], partner[i], rows[i] = d.lam, d.partner, True
            mixes.append(StackedMix(lam, partner, where[0], where[1], where[2], None if bool(rows.all()) else rows))
        return mixes, [d.labels if d is not None else None for d in drawn]

    def _objective(self, epoch: _Epoch, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The logits ``[S, B, K]`` and each seed's training objective ``[S]``."""
        mixes, label_mixes = self._mixes(epoch, yb) if epoch.mixing else ([], [None] * len(self.seeds))
        logits = self.model(xb, mixes)
        s, b, k = logits.shape
        # plain cross-entropy members in one call (per sample, then each member's mean: as each alone)
        plain = [i for i in range(s) if self.plain[i] and epoch.loss_weights_t[i] is None and label_mixes[i] is None]
        if len(plain) == s:
            per_sample = F.cross_entropy(logits.reshape(s * b, k).float(), yb.reshape(-1), reduction="none")
            return logits, per_sample.reshape(s, b).mean(1)
        losses: list[torch.Tensor | None] = [None] * s
        if plain:
            rows = torch.tensor(plain, device=self.device)
            per_sample = F.cross_entropy(logits[rows].reshape(-1, k).float(), yb[rows].reshape(-1), reduction="none")
            losses_plain = per_sample.reshape(len(plain), b).mean(1)
            for j, i in enumerate(plain):
                losses[i] = losses_plain[j]
        for i, (m, z, y, w, mix) in enumerate(zip(self.methods, logits, yb, epoch.loss_weights_t, label_mixes)):
            if losses[i] is None:
                losses[i] = m.loss(z.float(), y, w, mix)
        return logits, torch.stack(losses)

    def _step(self, epoch: _Epoch) -> None:
        """One mini-batch of every seed: forward, the seeds' objectives summed, backward, one optimiser step."""
        started = time.perf_counter()
        xb, yb = self._batch(epoch)
        self.model.train()
        logits, losses = self._objective(epoch, xb, yb)
        self.optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()  # d(Σ_s L_s)/dθ_s = dL_s/dθ_s: each seed's gradient is its own
        self.optimizer.step()
        epoch.total_loss += losses.detach()
        hits = (logits.detach().argmax(2) == yb).float()
        k = epoch.correct.shape[1]
        offset = (torch.arange(len(self.seeds), device=self.device) * k)[:, None]
        epoch.correct.view(-1).index_add_(0, (yb + offset).reshape(-1), hits.reshape(-1))
        epoch.seen.view(-1).index_add_(0, (yb + offset).reshape(-1), torch.ones_like(hits).reshape(-1))
        epoch.batch += 1
        self.seconds += time.perf_counter() - started

    def _events(self, epoch: _Epoch) -> SeedsEvent:
        losses = (epoch.total_loss / epoch.batch).tolist()
        seen, correct = epoch.seen.tolist(), epoch.correct.tolist()
        events = {}
        for i, key in enumerate(self.keys):
            if key not in self.diverged:
                events[key] = StepEvent(self.epoch + 1, epoch.batch, epoch.batches, losses[i],
                                         [c / n if n else None for c, n in zip(correct[i], seen[i])],
                                         [int(n) for n in seen[i]], self.seconds)
        return SeedsEvent(self.epoch + 1, events)

    def _end_epoch(self, epoch: _Epoch) -> dict[int, EpochRecord]:
        """Check each seed's loss, then (every ``eval_every`` epochs and after the last) evaluate them all."""
        started = time.perf_counter()
        train_losses = (epoch.total_loss / max(epoch.batches, 1)).tolist()
        self._current = None
        c, k = self.config, self.data[0].num_classes
        for key, loss in zip(self.keys, train_losses):
            if key in self.diverged:
                continue
            if not math.isfinite(loss):
                self.diverged.add(key)
                self.histories[key].stopped = (f"training diverged in epoch {self.epoch + 1} (loss is {loss}); "
                                                f"lower lr (now {c.lr:g})")
            else:
                self._warn(key, "loss", loss_warning(self.epoch + 1, loss, k, c.lr))
        if (self.epoch + 1) % c.eval_every and self.epoch + 1 != c.epochs:
            self.epoch += 1
            self.seconds += time.perf_counter() - started
            return {}
        records = self._records(train_losses, epoch)
        self.epoch += 1
        self.seconds += time.perf_counter() - started
        for i, key in enumerate(self.keys):
            if key not in records:
                continue
            record = records[key]
            record.seconds = self.seconds
            self.histories[key].records.append(record)
            self._warn(key, "chance", chance_warning(record.epoch, record.train_acc, train_losses[i], c.lr))
            methods = self.methods[i]
            if methods.mixer is not None:
                methods.mixer.after_epoch(record.train_acc, self.data[i].groups)
            methods.loss_weights.after_epoch(record.grad_norm)
        return records

    def _warn(self, key: int, kind: str, message: str | None) -> None:
        if message is not None and kind not in self._warned[key]:
            self._warned[key].add(kind)
            self.histories[key].warnings.append(message)

    # ------------------------------------------------------------------ evaluation

    def _evaluate(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        """Eval-mode logits ``[S, N, K]`` of each seed on its inputs ``x [S, N, ...]``; with labels ``y [S, N]``
        also each sample's cross-entropy and ``‖∂ℓ_i/∂h_i‖`` (as ``evaluation.evaluate`` measures them)."""
        was_training = self.model.training
        self.model.eval()
        logits, losses, norms = [], [], []
        chunk = max(64, EVAL_CHUNK // x.shape[0])  # samples per seed: all seeds' activations stay in cache
        for start in range(0, x.shape[1], chunk):
            if self._stop.is_set():  # Stop answers within a chunk, not after all seeds' evaluation
                self.model.train(was_training)
                raise _Stopped
            xb = x[:, start:start + chunk]
            with torch.no_grad():
                h = self.model.features(xb)
            if y is None:
                with torch.no_grad():
                    logits.append(self.model.head(h))
                continue
            yb = y[:, start:start + chunk]
            h.requires_grad_(True)
            with torch.enable_grad():
                out = self.model.head(h)
                s, n, k = out.shape
                loss = F.cross_entropy(out.reshape(s * n, k), yb.reshape(-1), reduction="none").reshape(s, n)
                (grad,) = torch.autograd.grad(loss.sum(), h)
            logits.append(out.detach())
            losses.append(loss.detach())
            norms.append(grad.norm(dim=2))
        self.model.train(was_training)
        if y is None:
            return (torch.cat(logits, 1),)
        return torch.cat(logits, 1), torch.cat(losses, 1), torch.cat(norms, 1)

    def _head(self, i: int) -> LinearClassifier:
        """Seed ``i``'s classifier as a plain head (for the τ-normalised post-hoc step)."""
        w, b = self.model.head.weight[i].detach(), self.model.head.bias[i, 0].detach()
        head = LinearClassifier(w.shape[1], w.shape[0], device="meta")
        head.weight, head.bias = torch.nn.Parameter(w, requires_grad=False), torch.nn.Parameter(b, requires_grad=False)
        return head

    def _records(self, train_losses: list[float], epoch: _Epoch) -> dict[int, EpochRecord]:
        d, k = self.data[0], self.data[0].num_classes
        s = len(self.seeds)
        logits_train, loss_train, norm_train = self._evaluate(self.x_train, self.y_train)
        (logits_test,) = self._evaluate(self.x_test.expand(s, *self.x_test.shape))
        logits_val = self._evaluate(self.x_val_by_seed)[0] if self.x_val_by_seed is not None else None
        keep_confusion = k <= CONFUSION_EVERY_EPOCH_UP_TO or self.epoch + 1 == self.config.epochs
        records = {}
        for i, key in enumerate(self.keys):
            if key in self.diverged:
                continue
            head, y_train = self._head(i), self.y_train[i]
            train_acc = per_class_mean((logits_train[i].argmax(1) == y_train).float(), y_train, k)

            def scored(posthoc: PostHoc | None, i: int = i, head: LinearClassifier = head) -> dict:
                setting = posthoc or self.methods[i].posthoc
                test = Scores.from_predictions(
                    self.y_test, setting.apply(logits_test[i], head, self.prior_log).argmax(1), k)
                fields = dict(test_acc=test.recall.tolist(), precision=test.precision.tolist(),
                              recall=test.recall.tolist(), f1=test.f1.tolist(), accuracy=test.accuracy,
                              balanced_acc=test.balanced_acc, group_test_acc=test.group_recall(d.groups),
                              confusion=test.confusion.tolist() if keep_confusion else None)
                if logits_val is not None:
                    y_val = self.y_val_by_seed[i]
                    val_logits = setting.apply(logits_val[i], head, self.prior_log)
                    val = Scores.from_predictions(y_val, val_logits.argmax(1), k)
                    fields.update(val_acc=val.recall.tolist(), val_balanced_acc=val.balanced_acc)
                return fields

            record = EpochRecord(
                epoch=self.epoch + 1, train_acc=train_acc.tolist(),
                loss=per_class_mean(loss_train[i], y_train, k).tolist(),
                grad_norm=per_class_mean(norm_train[i], y_train, k).tolist(),
                seconds=0.0, group_train_acc=group_means(train_acc, d.groups), train_loss=train_losses[i],
                lr=epoch.lr, mfw_strength=epoch.strengths[i],
                variants={name: scored(p) for name, p in self.variants.items()}, **scored(None))
            record.loss_weights = epoch.loss_weights[i]
            records[key] = record
        return records


def run_stacked(config: TrainConfig, seeds: Sequence[int], variants: Mapping[str, PostHoc] | None = None,
                ) -> list[RunHistory]:
    """Train ``config`` on ``seeds`` together to the end; the histories in seed order."""
    trainer = StackedTrainer(config, seeds, variants)
    for _ in trainer.epochs():
        pass
    return [trainer.histories[s] for s in trainer.seeds]


def run_members(members: Sequence[tuple[TrainConfig, int]], variants: Mapping[str, PostHoc] | None = None,
                ) -> list[RunHistory]:
    """Train the members ``(config, seed)`` of one stack key together to the end; the histories in order."""
    trainer = StackedTrainer.of_members(members, variants)
    for _ in trainer.epochs():
        pass
    return [trainer.histories[key] for key in trainer.keys]


__all__ = ["EVAL_CHUNK", "NOT_STACKABLE", "STACKED_MODELS", "SeedsEvent", "StackedTrainer", "joint_pays", "run_members",
           "run_stacked", "stack_key", "stackable", "stacking_text"]
