"""The training loop: a Trainer that reports step events inside an epoch and one EpochRecord per epoch.

    trainer = Trainer(TrainConfig(mixer="mfw"))
    for event in trainer.steps(every_batches=10):   # StepEvent ... StepEvent, EpochRecord, StepEvent ...
        ...
    for record in Trainer(config).epochs():         # only the epoch records
        print(record.epoch, record.group_train_acc, record.balanced_acc)

Each epoch: the sampler's order, then mini-batch SGD on the configured loss with the epoch's loss
weights — and, when the run has a mixer, the mini-batch's mixing (major feature weakening, mixup or
remix) applied inside the model's forward pass, at the position the mixer drew. At the end of the
epoch, evaluation passes in eval mode over the un-mixed training set (per-class accuracy, loss and
feature-gradient norm) and over the balanced test and validation sets, scored under the run's
post-hoc setting and under each named variant (``Trainer(config, variants={...})``), so that
"with and without logit adjustment" needs one training, not two.

The loop keeps its place between steps (``steps`` can be left at any event and called again: it
goes on with the next mini-batch), and ``history`` always holds the epochs finished so far.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch

from ..analysis.history import EpochRecord, RunHistory
from ..analysis.metrics import Scores, group_means, per_class_mean
from ..config import TrainConfig
from ..data.augment import build_augment
from ..data.datasets import Data, build_data
from ..errors import ProcrustesError, TrainingDiverged, shown
from ..methods.build import build_methods
from ..methods.catalogue import check_combination
from ..methods.posthoc import PostHoc, log_prior
from ..methods.schedules import learning_rate
from ..models.init import initialise
from ..models.nets import BlockNet, build_model, mix_position
from .evaluation import EVAL_BATCH, evaluate
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
                            config.dataset, head=head, scale=config.ldam_scale, norm=config.norm)
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


@dataclass
class _Epoch:
    """Where the loop stands inside the epoch in progress."""

    order: torch.Tensor
    batches: int
    lr: float
    strength: float
    loss_weights: list[float] | None
    loss_weights_t: torch.Tensor | None
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
        self.threads = config.threads or default_threads()
        torch.set_num_threads(self.threads)
        self.data = data if data is not None else build_data(config)
        data = self.data
        self.model = build_network(config, data, torch.Generator().manual_seed(config.seed)).to(self.device)
        position = mix_position(config.mfw_layer, self.model) if config.mixer == "mfw" else -1
        methods = build_methods(config, data.counts, position, self.model.num_positions)
        self.loss, self.sampler, self.mixer = methods.loss, methods.sampler, methods.mixer
        self.loss_weights, self.posthoc = methods.loss_weights, methods.posthoc
        self.variants = dict(variants or {})
        self.batch_rng = torch.Generator().manual_seed(config.seed)
        self.augment = build_augment(config.augment, data, seed=config.seed)
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

    def _optimizer(self) -> torch.optim.Optimizer:
        c = self.config
        if c.optimizer == "adam":
            return torch.optim.Adam(self.model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        return torch.optim.SGD(self.model.parameters(), lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)

    @property
    def finished(self) -> bool:
        return self.epoch >= self.config.epochs

    def stop(self, reason: str) -> None:
        """Record why training ends before its last epoch (the history keeps every finished epoch)."""
        self.history.stopped = reason

    # ------------------------------------------------------------------ training

    def steps(self, every_batches: int = 0, every_seconds: float = 0.0) -> Iterator[StepEvent | EpochRecord]:
        """Train the remaining epochs, yielding a StepEvent every ``every_batches`` mini-batches (or
        once ``every_seconds`` have passed since the last event) and each epoch's record at its end."""
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
        lr = learning_rate(c.lr_schedule, c.lr, epoch, c.epochs)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        weights = self.loss_weights.at(epoch)  # None: every class counts the same
        weights_t = None if weights is None else torch.as_tensor(weights, dtype=torch.float32, device=self.device)
        order = self.sampler.order(self.y_pool, self.batch_rng).to(self.device)
        k = self.data.num_classes
        self._current = _Epoch(
            order, math.ceil(len(order) / c.batch_size), lr,
            self.mixer.strength_at(epoch) if self.mixer is not None else 0.0,
            None if weights is None else [float(w) for w in weights], weights_t,
            total_loss=torch.zeros((), device=self.device), correct=torch.zeros(k, device=self.device),
            seen=torch.zeros(k, device=self.device))
        return self._current

    def _step(self, epoch: _Epoch) -> None:
        """One mini-batch: forward (mixing where the mixer says), loss, backward, optimiser step."""
        started = time.perf_counter()
        size = self.config.batch_size
        idx = epoch.order[epoch.batch * size:(epoch.batch + 1) * size]
        xb, yb = self.augment(self.x_pool[idx]), self.y_pool[idx]
        self.model.train()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            if self.mixer is not None:
                mixing = self.mixer.draw(yb, epoch.strength)
                logits = self.model(xb, mixing.apply, mixing.position, mixing.after_norm)
                loss = self.loss(logits.float(), yb, epoch.loss_weights_t, mixing.labels)
            else:
                logits = self.model(xb)
                loss = self.loss(logits.float(), yb, epoch.loss_weights_t)
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

    def _end_epoch(self, epoch: _Epoch) -> EpochRecord | None:
        """Check the epoch's loss, then (every ``eval_every`` epochs and after the last) evaluate it."""
        started = time.perf_counter()
        train_loss = float(epoch.total_loss) / max(epoch.batches, 1)
        self._current = None
        if not math.isfinite(train_loss):
            self.stop(f"training diverged in epoch {self.epoch + 1} (loss is {train_loss}); "
                      f"lower lr (now {self.config.lr:g})")
            raise TrainingDiverged(self.history.stopped, self.history)
        self._warn("loss", loss_warning(self.epoch + 1, train_loss, self.data.num_classes, self.config.lr))
        if (self.epoch + 1) % self.config.eval_every and self.epoch + 1 < self.config.epochs:
            self.epoch += 1  # trained, not evaluated: no record for this epoch
            self.seconds += time.perf_counter() - started
            return None
        record = self._record(train_loss, epoch.lr, epoch.strength)
        record.loss_weights = epoch.loss_weights
        self.epoch += 1
        self.seconds += time.perf_counter() - started
        record.seconds = self.seconds
        self.history.records.append(record)
        self._warn("chance", chance_warning(record.epoch, record.train_acc, train_loss, self.config.lr))
        if self.mixer is not None:  # progress-based MFW weights and schedules look at the epoch
            self.mixer.after_epoch(record.train_acc, self.data.groups)
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
        d, c, k = self.data, self.config, self.data.num_classes
        on_train = evaluate(self.model, self.x_train, self.y_train, with_grad=True)
        train_acc = per_class_mean((on_train.logits.argmax(1) == self.y_train).float(), self.y_train, k)
        raw_test = evaluate(self.model, self.x_test, self.y_test).logits
        raw_val = evaluate(self.model, self.x_val, self.y_val).logits if self.x_val is not None else None
        keep_confusion = k <= CONFUSION_EVERY_EPOCH_UP_TO or self.epoch + 1 == c.epochs

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

        return EpochRecord(
            epoch=self.epoch + 1, train_acc=train_acc.tolist(),
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
