"""The training loop: a Trainer that reports step events inside an epoch and one EpochRecord per epoch.

    trainer = Trainer(TrainConfig(mixer="mfw"))
    for event in trainer.steps(every_batches=10):   # StepEvent ... StepEvent, EpochRecord, StepEvent ...
        ...
    for record in Trainer(config).epochs():         # only the epoch records
        print(record.epoch, record.group_train_acc, record.balanced_acc)

Each epoch: the sampler's order, then mini-batch SGD on the configured loss with the epoch's loss
weights — on batches augmented on the device if the run augments — and, when the run has a mixer,
the mini-batch's mixing (major feature weakening, mixup or remix) applied inside the model's forward
pass, at the position the mixer drew. At the end of the epoch, evaluation passes in eval mode over
the un-mixed training set (per-class accuracy, loss and feature-gradient norm) and over the balanced
test and validation sets, scored under the run's post-hoc setting and under each named variant
(``Trainer(config, variants={...})``), so that "with and without logit adjustment" needs one
training, not two.

Variants of the loop, each in one place: BBN (``bbn``) trains its two branches on two batches per
step (``methods/bbn.py`` holds the step's objective; its records carry α and each branch's per-class
test accuracy); a run may start from a checkpoint (``init_checkpoint``; ``finetune='linear-probe'``
trains only a new classifier on the frozen features); and classifier re-training
(``classifier_retrain_epochs`` = E₂) adds a second stage after the ``epochs`` of the first: a
re-drawn classifier on frozen features, class-balanced sampling, no mixing, a fresh optimiser and
the learning-rate schedule restarted over E₂ — its records go on from epoch ``epochs + 1``.

The loop keeps its place between steps (``steps`` can be left at any event and called again: it
goes on with the next mini-batch), and ``history`` always holds the epochs finished so far.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..analysis.history import EpochRecord, RunHistory
from ..analysis.metrics import Scores, group_means, per_class_mean
from ..config import TrainConfig
from ..data.augment import build_augment
from ..data.datasets import Data, build_data
from ..errors import ProcrustesError, TrainingDiverged, shown
from ..methods.build import build_methods
from ..methods.catalogue import check_combination
from ..methods.mixers import Mixer
from ..methods.posthoc import PostHoc, log_prior
from ..methods.samplers import PowerSampler, Sampler, has_batchnorm, last_batch_warning
from ..methods.schedules import learning_rate
from ..models.init import initialise
from ..models.nets import BlockNet, TwoBranchNet, build_model, mix_position
from .checkpoint import apply_checkpoint, load_checkpoint, network_header, save_checkpoint
from .evaluation import EVAL_BATCH, evaluate, evaluate_branches
from .events import StepEvent

CONFUSION_EVERY_EPOCH_UP_TO = 20  # classes; above that only the last epoch keeps its confusion matrix
SPLITS = ("train", "test", "val")
# Divergence that stays finite (a non-finite loss stops training with TrainingDiverged instead):
# the history gets a one-line warning, once per kind, when
#   - an epoch's training loss exceeds LOSS_BLOWUP × ln C, a thousand times the cross-entropy of a
#     uniform guess over the C classes (a run that learns starts near ln C and goes down), or
#   - from epoch CHANCE_FROM on, the balanced training accuracy is within CHANCE_FACTOR × chance (1/C)
#     while the training loss is still above ln C: the model predicts no better than a guess.
LOSS_BLOWUP = 1e3
CHANCE_FACTOR = 1.5
CHANCE_FROM = 3


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; asking for CUDA without a GPU is a user error."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ProcrustesError("device='cuda': no CUDA GPU is available on this machine; use 'cpu' or 'auto'")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def default_threads() -> int:
    """Small models train fastest on few threads; more than 4 rarely helps them."""
    return max(1, min(4, os.cpu_count() or 1))


def build_network(config: TrainConfig, data: Data, generator: torch.Generator) -> BlockNet:
    """The config's network for ``data``, its initial weights drawn from ``generator`` alone."""
    head = "cosine" if config.loss == "ldam" and config.ldam_cosine else "linear"
    with torch.device("meta"):  # shapes only: the global random generator is not touched
        model = build_model(config.model, data.input_shape, data.num_classes, config.width, data.kind,
                            config.dataset, head=head, scale=config.ldam_scale, norm=config.norm,
                            attention=config.attention, se_reduction=config.se_reduction, two_branches=config.bbn,
                            backbone_weights=config.backbone_weights, backbone_frozen=config.backbone_frozen,
                            backbone_size=config.backbone_size)
    return initialise(model.to_empty(device="cpu"), generator)


def loss_warning(epoch: int, train_loss: float, num_classes: int, lr: float) -> str | None:
    """The warning for a finite training loss past ``LOSS_BLOWUP`` × ln C, else None."""
    guess = math.log(num_classes)
    if train_loss <= LOSS_BLOWUP * guess:
        return None
    return (f"epoch {epoch}: training loss {train_loss:.3g} is over {LOSS_BLOWUP:g} × a uniform guess's "
            f"({guess:.3g}); training is diverging, lower lr (now {lr:g})")


def chance_warning(epoch: int, train_acc: list[float], train_loss: float, lr: float) -> str | None:
    """The warning for a balanced training accuracy at chance while the loss stays above ln C, else None."""
    k = len(train_acc)
    balanced = sum(train_acc) / k
    if epoch < CHANCE_FROM or not balanced <= CHANCE_FACTOR / k or not train_loss > math.log(k):
        return None
    return (f"epoch {epoch}: balanced training accuracy {balanced:.3f} is at chance (1/{k}) and the training "
            f"loss {train_loss:.3g} above a uniform guess's ({math.log(k):.3g}); the model is not learning, "
            f"lower lr (now {lr:g})")


def _stream(seed: int, purpose: int) -> torch.Generator:
    """A generator of its own for one purpose of a run (re-drawing the classifier for cRT, ...)."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, purpose]).generate_state(1)[0]))


@dataclass
class _Epoch:
    """Where the loop stands inside the epoch in progress."""

    order: torch.Tensor
    batches: int
    lr: float
    strength: float
    loss_weights: list[float] | None
    loss_weights_t: torch.Tensor | None
    mixer: Mixer | None = None  # None: nothing mixed this epoch
    stage: int = 1  # 2: classifier re-training
    alpha: float | None = None  # BBN: the conventional branch's weight this epoch
    reversed_order: torch.Tensor | None = None  # BBN: the re-balancing branch's samples
    batch: int = 0
    total_loss: torch.Tensor | None = None
    correct: torch.Tensor | None = None
    seen: torch.Tensor | None = None


class Trainer:
    """One run: data, model, optimiser, and the history of the epochs trained so far.

    ``steps()`` / ``epochs()`` train; stop iterating at any event and ``history`` keeps what was
    done. ``model`` and ``data`` stay available for analysis, and ``score`` re-scores the current
    model under any post-hoc setting.
    """

    def __init__(self, config: TrainConfig, data: Data | None = None,
                 variants: Mapping[str, PostHoc] | None = None):
        check_combination(config)  # contradicting methods fail here, before any data is built
        self.config = config
        self.device = resolve_device(config.device)
        checkpoint = load_checkpoint(config.init_checkpoint) if config.init_checkpoint else None
        self.threads = config.threads or default_threads()
        torch.set_num_threads(self.threads)
        self.data = data if data is not None else build_data(config)
        data = self.data
        model = build_network(config, data, torch.Generator().manual_seed(config.seed))
        if checkpoint is not None:  # the weights it fits, or one line saying why not, before anything trains
            apply_checkpoint(checkpoint, config, data, model)
        self.model = model.to(self.device)
        position = mix_position(config.mfw_layer, self.model) if config.mixer == "mfw" else -1
        methods = build_methods(config, data.counts, position, self.model.num_positions)
        self.loss, self.sampler, self.mixer = methods.loss, methods.sampler, methods.mixer
        self.loss_weights, self.posthoc, self.branches = methods.loss_weights, methods.posthoc, methods.branches
        self.variants = dict(variants or {})
        self.batch_rng = torch.Generator().manual_seed(config.seed)
        self.augment = build_augment(config.augment, data, seed=config.seed, classes=config.augment_classes,
                                     prob=config.augment_prob)
        self.total_epochs = config.epochs + config.classifier_retrain_epochs  # both stages
        self.retrain_sampler: Sampler = PowerSampler(0.0)  # cRT's class-balanced sampling in stage 2
        self.autocast = config.amp and self.device.type == "cuda"
        self.x_train, self.y_train = data.x_train.to(self.device), data.y_train.to(self.device)
        # the pool the sampler draws from: the training set, plus synthetic samples for SMOTE
        self.x_pool, self.y_pool = self.sampler.prepare(self.x_train, self.y_train)
        self.x_test, self.y_test = data.x_test.to(self.device), data.y_test.to(self.device)
        self.x_val = data.x_val.to(self.device) if data.x_val is not None else None
        self.y_val = data.y_val.to(self.device) if data.y_val is not None else None
        self.prior_log = log_prior(data.counts, self.device)
        self.optimizer = self._optimizer()
        self.history = RunHistory(config, list(data.counts), data.groups, list(data.class_names),
                                  threads=self.threads,
                                  variants={n: {"la_tau": p.la_tau, "tau_norm": p.tau_norm} for n, p in
                                            self.variants.items()})
        self.epoch = 0  # epochs finished
        self.seconds = 0.0  # time spent training and evaluating
        self._current: _Epoch | None = None
        self._warned: set[str] = set()  # kinds of divergence warning already in the history
        pool_counts = torch.bincount(self.y_pool.cpu(), minlength=data.num_classes).tolist()
        self._warn("last-batch", last_batch_warning(self.sampler.epoch_size(pool_counts), config.batch_size,
                                                    has_batchnorm(self.model)))

    def _optimizer(self) -> torch.optim.Optimizer:
        """The config's optimiser over the parameters that learn (only the head's when features are frozen)."""
        c = self.config
        params = [p for p in self.model.parameters() if p.requires_grad]
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
        return torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)

    @property
    def finished(self) -> bool:
        return self.epoch >= self.total_epochs

    @property
    def stage(self) -> int:
        """1 while the network trains, 2 during classifier re-training (cRT)."""
        return 1 if self.epoch < self.config.epochs else 2

    def save_checkpoint(self, path) -> Path:
        """Write the current network's weights and header (``procrustes train --save-checkpoint``)."""
        return save_checkpoint(self.model, network_header(self.config, self.data), path, self.config, self.epoch)

    def stop(self, reason: str) -> None:
        """Record why training ends before its last epoch (the history keeps every finished epoch)."""
        self.history.stopped = reason

    # ------------------------------------------------------------------ training

    def steps(self, every_batches: int = 0, every_seconds: float = 0.0) -> Iterator[StepEvent | EpochRecord]:
        """Train the remaining epochs, yielding a StepEvent every ``every_batches`` mini-batches (or
        once ``every_seconds`` have passed since the last event) and each epoch's record at its end.

        With ``every_seconds`` the epoch's last mini-batch is an event too (its running figures over all
        of them, before the evaluation pass), so an epoch shorter than ``every_seconds`` still reports."""
        while not self.finished:
            epoch = self._current or self._begin_epoch()
            since = time.perf_counter()
            while epoch.batch < epoch.batches:
                self._step(epoch)
                if epoch.batch < epoch.batches and (
                        (every_batches and epoch.batch % every_batches == 0)
                        or (every_seconds and time.perf_counter() - since >= every_seconds)):
                    yield self._event(epoch)
                    since = time.perf_counter()
            if every_seconds and epoch.batches:
                yield self._event(epoch)
            record = self._end_epoch(epoch)
            if record is not None:
                yield record

    def epochs(self) -> Iterator[EpochRecord]:
        """Train the remaining epochs, yielding each one's record as soon as it is evaluated (every
        epoch, or every ``eval_every`` epochs and the last)."""
        for event in self.steps():
            if isinstance(event, EpochRecord):
                yield event

    __iter__ = epochs

    def train_epoch(self) -> EpochRecord:
        """Train (the rest of) one epoch and return its record (with ``eval_every`` > 1: up to the
        next evaluated epoch)."""
        return next(self.epochs())

    def _begin_epoch(self) -> _Epoch:
        c, epoch = self.config, self.epoch
        if epoch >= c.epochs:
            return self._begin_retraining_epoch(epoch - c.epochs)
        lr = learning_rate(c.lr_schedule, c.lr, epoch, c.epochs)
        weights = self.loss_weights.at(epoch)  # None: every class counts the same
        order = self.sampler.order(self.y_pool, self.batch_rng)
        strength = self.mixer.strength_at(epoch) if self.mixer is not None else 0.0
        current = self._new_epoch(order, lr, strength, weights, self.mixer)
        if self.branches is not None:  # BBN: the re-balancing branch's order and this epoch's α
            current.reversed_order = self.branches.order(self.y_pool).to(self.device)
            current.alpha = self.branches.alpha_at(epoch)
        return current

    def _begin_retraining_epoch(self, epoch: int) -> _Epoch:
        """An epoch of classifier re-training (cRT, stage 2): frozen features, class-balanced order, no mixing."""
        if epoch == 0:  # the stage begins: a new classifier, the features frozen, a fresh optimiser
            initialise(self.model.head, _stream(self.config.seed, 23))
            self.model.freeze_features()
            self.optimizer = self._optimizer()
        c = self.config
        lr = learning_rate(c.lr_schedule, c.lr, epoch, c.classifier_retrain_epochs)
        order = self.retrain_sampler.order(self.y_pool, self.batch_rng)
        current = self._new_epoch(order, lr, 0.0, None, None)
        current.stage = 2
        return current

    def _new_epoch(self, order: torch.Tensor, lr: float, strength: float, weights, mixer: Mixer | None) -> _Epoch:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        weights_t = None if weights is None else torch.as_tensor(weights, dtype=torch.float32, device=self.device)
        k = self.data.num_classes
        self._current = _Epoch(
            order.to(self.device), math.ceil(len(order) / self.config.batch_size), lr, strength,
            None if weights is None else [float(w) for w in weights], weights_t, mixer,
            total_loss=torch.zeros((), device=self.device), correct=torch.zeros(k, device=self.device),
            seen=torch.zeros(k, device=self.device))
        return self._current

    def _batch(self, order: torch.Tensor, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Mini-batch ``batch`` of an epoch's ``order``, augmented if the run augments (labels as they are)."""
        size = self.config.batch_size
        idx = order[batch * size:(batch + 1) * size]
        yb = self.y_pool[idx]
        return self.augment(self.x_pool[idx], yb), yb

    def _objective(self, epoch: _Epoch, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The logits and the training objective of one mini-batch, mixing where the epoch's mixer says."""
        if epoch.mixer is None:
            logits = self.model(xb)
            return logits, self.loss(logits.float(), yb, epoch.loss_weights_t)
        mixing = epoch.mixer.draw(yb, epoch.strength)
        logits = self.model(xb, mixing.apply, mixing.position, mixing.after_norm)
        return logits, self.loss(logits.float(), yb, epoch.loss_weights_t, mixing.labels)

    def _step(self, epoch: _Epoch) -> None:
        """One mini-batch: forward (mixing where the mixer says), loss, backward, optimiser step."""
        started = time.perf_counter()
        xb, yb = self._batch(epoch.order, epoch.batch)
        # BBN: the re-balancing branch's batch of the same step joins it
        rebalancing = None if epoch.reversed_order is None else self._batch(epoch.reversed_order, epoch.batch)
        self.model.train()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            if rebalancing is not None:
                logits, loss = self.branches.objective(self.model, self.loss, epoch.mixer, epoch.strength,
                                                       epoch.alpha, epoch.loss_weights_t, xb, yb, *rebalancing)
            else:
                logits, loss = self._objective(epoch, xb, yb)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        epoch.total_loss += loss.detach()
        hits = (logits.detach().argmax(1) == yb).float()
        epoch.correct.index_add_(0, yb, hits)
        epoch.seen.index_add_(0, yb, torch.ones_like(hits))
        epoch.batch += 1
        self.seconds += time.perf_counter() - started

    def _event(self, epoch: _Epoch) -> StepEvent:
        seen = epoch.seen.tolist()
        correct = epoch.correct.tolist()
        return StepEvent(self.epoch + 1, epoch.batch, epoch.batches, float(epoch.total_loss) / epoch.batch,
                         [c / s if s else None for c, s in zip(correct, seen)], [int(s) for s in seen],
                         self.seconds)

    def diverged(self, epoch: int, reason: str) -> TrainingDiverged:
        """Stop, saying the run diverged in ``epoch`` and why, and return the error to raise (every front
        shows this message, whoever noticed: the loss check here, or a view of the features)."""
        self.stop(f"training diverged in epoch {epoch} ({reason}); lower lr (now {self.config.lr:g})")
        return TrainingDiverged(self.history.stopped, self.history)

    def _end_epoch(self, epoch: _Epoch) -> EpochRecord | None:
        """Check the epoch's loss, then (every ``eval_every`` epochs and after the last) evaluate it."""
        started = time.perf_counter()
        train_loss = float(epoch.total_loss) / max(epoch.batches, 1)
        self._current = None
        if not math.isfinite(train_loss):
            raise self.diverged(self.epoch + 1, f"loss is {train_loss}")
        finite = [torch.isfinite(p).all() for p in self.model.parameters()]
        if finite and not bool(torch.stack(finite).all()):  # its last step blew up (one sync, not one per tensor)
            raise self.diverged(self.epoch + 1, "its weights are not finite")
        self._warn("loss", loss_warning(self.epoch + 1, train_loss, self.data.num_classes, self.config.lr))
        last_of_a_stage = self.epoch + 1 in (self.config.epochs, self.total_epochs)
        if (self.epoch + 1) % self.config.eval_every and not last_of_a_stage:
            self.epoch += 1  # trained, not evaluated: no record for this epoch
            self.seconds += time.perf_counter() - started
            return None
        record = self._record(train_loss, epoch.lr, epoch.strength)
        record.loss_weights, record.stage, record.bbn_alpha = epoch.loss_weights, epoch.stage, epoch.alpha
        self.epoch += 1
        self.seconds += time.perf_counter() - started
        record.seconds = self.seconds
        self.history.records.append(record)
        self._warn("chance", chance_warning(record.epoch, record.train_acc, train_loss, self.config.lr))
        if epoch.mixer is not None:  # progress-based MFW weights and schedules look at the epoch
            epoch.mixer.after_epoch(record.train_acc, self.data.groups)
        if epoch.stage == 1:
            self.loss_weights.after_epoch(record.grad_norm)  # adaptive gradient scaling does
        return record

    def _warn(self, kind: str, message: str | None) -> None:
        """Add a divergence warning to the history, the first time one of its kind comes."""
        if message is not None and kind not in self._warned:
            self._warned.add(kind)
            self.history.warnings.append(message)

    # ------------------------------------------------------------------ scoring

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The inputs and labels of ``train`` (un-mixed, as sampled), ``test`` or ``val``."""
        if name == "train":
            return self.x_train, self.y_train
        if name == "test":
            return self.x_test, self.y_test
        if name == "val":
            if self.x_val is None:
                raise ProcrustesError("split='val': this run has no validation split; set val_per_class")
            return self.x_val, self.y_val
        raise ProcrustesError(f"split={shown(name)}: expected one of {', '.join(SPLITS)}")

    def logits(self, inputs: str | torch.Tensor = "test", posthoc: PostHoc | None = None) -> torch.Tensor:
        """The current model's eval-mode logits on a split (``"test"``) or on a tensor of inputs, after
        a post-hoc setting (default: the run's own)."""
        x = self.split(inputs)[0] if isinstance(inputs, str) else inputs.to(self.device)
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            raw = torch.cat([self.model(x[i:i + EVAL_BATCH]) for i in range(0, len(x), EVAL_BATCH)])
        self.model.train(was_training)
        return self._adjusted(raw, posthoc)

    def _adjusted(self, logits: torch.Tensor, posthoc: PostHoc | None) -> torch.Tensor:
        return (posthoc or self.posthoc).apply(logits, self.model.head, self.prior_log)

    def score(self, split: str = "test", posthoc: PostHoc | None = None) -> Scores:
        """Per-class and overall scores of the current model on a split under a post-hoc setting
        (default: the run's own), e.g. ``score("test", PostHoc(la_tau=1))`` — no training again."""
        _, y = self.split(split)
        return Scores.from_predictions(y, self.logits(split, posthoc).argmax(1), self.data.num_classes)

    def _record(self, train_loss: float, lr: float, strength: float) -> EpochRecord:
        d, k = self.data, self.data.num_classes
        on_train = evaluate(self.model, self.x_train, self.y_train, with_grad=True)
        train_acc = per_class_mean((on_train.logits.argmax(1) == self.y_train).float(), self.y_train, k)
        raw_test = evaluate(self.model, self.x_test, self.y_test).logits
        raw_val = evaluate(self.model, self.x_val, self.y_val).logits if self.x_val is not None else None
        keep_confusion = k <= CONFUSION_EVERY_EPOCH_UP_TO or self.epoch + 1 == self.total_epochs

        def scored(posthoc: PostHoc | None) -> dict:
            test = Scores.from_predictions(self.y_test, self._adjusted(raw_test, posthoc).argmax(1), k)
            fields = dict(test_acc=test.recall.tolist(), precision=test.precision.tolist(),
                          recall=test.recall.tolist(), f1=test.f1.tolist(), accuracy=test.accuracy,
                          balanced_acc=test.balanced_acc, group_test_acc=test.group_recall(d.groups),
                          confusion=test.confusion.tolist() if keep_confusion else None)
            if raw_val is not None:
                val = Scores.from_predictions(self.y_val, self._adjusted(raw_val, posthoc).argmax(1), k)
                fields.update(val_acc=val.recall.tolist(), val_balanced_acc=val.balanced_acc)
            return fields

        branch_acc = None
        if isinstance(self.model, TwoBranchNet):  # each branch alone on the test set: the hand-over
            branch_acc = {name: Scores.from_predictions(self.y_test, logits.argmax(1), k).recall.tolist()
                          for name, logits in evaluate_branches(self.model, self.x_test).items()}
        return EpochRecord(
            epoch=self.epoch + 1, train_acc=train_acc.tolist(), branch_test_acc=branch_acc,
            loss=per_class_mean(on_train.loss, self.y_train, k).tolist(),
            grad_norm=per_class_mean(on_train.grad_norm, self.y_train, k).tolist(),
            seconds=0.0, group_train_acc=group_means(train_acc, d.groups), train_loss=train_loss, lr=lr,
            mfw_strength=strength, variants={name: scored(p) for name, p in self.variants.items()},
            **scored(None),
        )


def train(config: TrainConfig, data: Data | None = None) -> Iterator[EpochRecord]:
    """Yield one EpochRecord per epoch of training ``config``."""
    yield from Trainer(config, data).epochs()


def run(config: TrainConfig, data: Data | None = None, variants: Mapping[str, PostHoc] | None = None) -> RunHistory:
    """Train to the end and return the history. A diverging run raises ``TrainingDiverged``,
    whose ``history`` holds the epochs finished before the loss became non-finite."""
    trainer = Trainer(config, data, variants)
    for _ in trainer.epochs():
        pass
    return trainer.history
