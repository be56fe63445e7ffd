"""The training loop: a generator that yields one EpochRecord per epoch, with per-class diagnostics.

    for record in train(TrainConfig(mfw_strength=0.9)):
        print(record.epoch, record.group_train_acc, record.balanced_acc)

Each epoch: shuffle, mini-batch SGD (with major feature weakening when ``mfw_strength > 0``),
then evaluation passes in eval mode over the un-mixed training set (per-class accuracy, loss and
feature-gradient norm) and over the balanced test set (per-class accuracy, precision, recall, F1,
confusion matrix; post-hoc logit adjustment applied when ``la_tau > 0``).
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .config import TrainConfig
from .data import Data, build_data
from .errors import ProcrustesError, TrainingDiverged
from .history import EpochRecord, RunHistory
from .imbalance import head_and_tail
from .methods import MajorFeatureWeakening, adjust_logits, count_weights, log_prior, progress_weights, strength_at
from .metrics import accuracy, balanced_accuracy, confusion_matrix, group_means, per_class_mean, per_class_scores
from .models import BlockNet, build_model, mix_position

EVAL_BATCH = 2048
CONFUSION_EVERY_EPOCH_UP_TO = 20  # classes; above that only the last epoch keeps its confusion matrix


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


@dataclass
class Evaluation:
    """Per-sample results of one evaluation pass."""

    logits: torch.Tensor
    loss: torch.Tensor  # per-sample cross-entropy
    grad_norm: torch.Tensor | None  # per-sample ‖∂ℓ_i/∂h_i‖


def evaluate(model: BlockNet, x: torch.Tensor, y: torch.Tensor, with_grad: bool = False,
             batch_size: int = EVAL_BATCH) -> Evaluation:
    """Forward ``x`` in eval mode; optionally the per-sample gradient of the loss w.r.t. ``h``.

    Because ``ℓ_i`` depends on ``h_i`` alone, the gradient of the summed loss with respect to the
    batch of features holds each sample's own gradient in its row.
    """
    was_training = model.training
    model.eval()
    logits, losses, norms = [], [], []
    for start in range(0, len(y), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        with torch.no_grad():
            h = model.features(xb)
        if with_grad:
            h.requires_grad_(True)
            with torch.enable_grad():
                out = model.head(h)
                loss = F.cross_entropy(out, yb, reduction="none")
                (grad,) = torch.autograd.grad(loss.sum(), h)
            norms.append(grad.flatten(1).norm(dim=1))
            out, loss = out.detach(), loss.detach()
        else:
            with torch.no_grad():
                out = model.head(h)
                loss = F.cross_entropy(out, yb, reduction="none")
        logits.append(out)
        losses.append(loss)
    model.train(was_training)
    return Evaluation(torch.cat(logits), torch.cat(losses), torch.cat(norms) if with_grad else None)


class Trainer:
    """One run: data, model, optimiser, and the history of the epochs trained so far.

    Iterate over ``epochs()`` to train; stop iterating at any point and ``history`` keeps what
    was done. ``model`` and ``data`` stay available for further analysis.
    """

    def __init__(self, config: TrainConfig, data: Data | None = None,
                 progress: Callable[[int, int], None] | None = None):
        self.config = config
        self.device = resolve_device(config.device)
        self.threads = config.threads or default_threads()
        self.data = data if data is not None else build_data(config)
        self.progress = progress  # called as progress(batch, batches) inside an epoch
        torch.set_num_threads(self.threads)
        data = self.data
        with torch.random.fork_rng(devices=[]):  # the seed decides the initial weights, nothing global
            torch.manual_seed(config.seed)
            self.model = build_model(config.model, data.input_shape, data.num_classes, config.width,
                                     data.kind, config.dataset).to(self.device)
        self.mix_at = mix_position(config.mfw_layer, self.model) if config.mfw_strength > 0 else None
        self.mixer = None
        if config.mfw_strength > 0:
            self.mixer = MajorFeatureWeakening(
                count_weights(data.counts, config.mfw_gamma), config.mfw_coef, config.mfw_alpha,
                config.mfw_prob, seed=[config.seed, 11],
            )
        self.batch_rng = torch.Generator().manual_seed(config.seed)
        self.position_rng = np.random.default_rng([config.seed, 13])
        self.x_train, self.y_train = data.x_train.to(self.device), data.y_train.to(self.device)
        self.x_test, self.y_test = data.x_test.to(self.device), data.y_test.to(self.device)
        self.x_val = data.x_val.to(self.device) if data.x_val is not None else None
        self.y_val = data.y_val.to(self.device) if data.y_val is not None else None
        self.prior_log = log_prior(data.counts, self.device)
        self.optimizer = self._optimizer()
        self.history = RunHistory(config, list(data.counts), data.groups, list(data.class_names))
        self.epoch = 0  # epochs finished
        self.seconds = 0.0
        self.progress_equal = False

    def _optimizer(self) -> torch.optim.Optimizer:
        c = self.config
        if c.optimizer == "adam":
            return torch.optim.Adam(self.model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        return torch.optim.SGD(self.model.parameters(), lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)

    def lr_at(self, epoch: int) -> float:
        """Learning rate of ``epoch`` (0-based): constant, or cosine from ``lr`` towards 0."""
        c = self.config
        if c.lr_schedule == "cosine":
            return c.lr * 0.5 * (1 + math.cos(math.pi * epoch / c.epochs))
        return c.lr

    # ------------------------------------------------------------------ training

    def epochs(self) -> Iterator[EpochRecord]:
        """Train the remaining epochs, yielding each one's record as soon as it is evaluated."""
        while self.epoch < self.config.epochs:
            yield self.train_epoch()

    __iter__ = epochs

    def train_epoch(self) -> EpochRecord:
        c, epoch = self.config, self.epoch
        started = time.perf_counter()
        lr = self.lr_at(epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        strength = 0.0
        if self.mixer is not None:
            strength = strength_at(c.mfw_schedule, c.mfw_strength, epoch, c.epochs, c.mfw_until, self.progress_equal)
        self.model.train()
        order = torch.randperm(len(self.y_train), generator=self.batch_rng).to(self.device)
        batches = math.ceil(len(order) / c.batch_size)
        total = torch.zeros((), device=self.device)
        for b in range(batches):
            idx = order[b * c.batch_size:(b + 1) * c.batch_size]
            xb, yb = self.x_train[idx], self.y_train[idx]
            if self.mixer is not None:
                lam, partner = self.mixer.draw(yb, strength)
                at = self.mix_at if self.mix_at >= 0 else int(self.position_rng.integers(self.model.num_positions))
                logits = self.model(xb, functools.partial(MajorFeatureWeakening.mix, lam=lam, partner=partner), at)
            else:
                logits = self.model(xb)
            loss = F.cross_entropy(logits, yb)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += loss.detach()
            if self.progress is not None:
                self.progress(b + 1, batches)
        train_loss = float(total) / batches
        if not math.isfinite(train_loss):
            self.history.stopped = (f"training diverged in epoch {epoch + 1} (loss is {train_loss}); "
                                    f"lower lr (now {c.lr:g})")
            raise TrainingDiverged(self.history.stopped, self.history)
        record = self._record(train_loss, lr, strength)
        self.seconds += time.perf_counter() - started
        record.seconds = self.seconds
        self.epoch += 1
        self.history.records.append(record)
        self._adapt(record)
        return record

    def _adapt(self, record: EpochRecord) -> None:
        """Use this epoch's training accuracy for progress-based weights and schedules."""
        c = self.config
        if self.mixer is None:
            return
        if c.mfw_weights == "progress":
            self.mixer.class_weights = progress_weights(record.train_acc, c.mfw_gamma)
        head, tail = head_and_tail(self.data.groups)
        head_acc = float(np.mean([record.train_acc[k] for k in head]))
        tail_acc = float(np.mean([record.train_acc[k] for k in tail]))
        if tail_acc >= 0.9 * head_acc:
            self.progress_equal = True

    # ------------------------------------------------------------------ evaluation

    def test_logits(self, x: torch.Tensor, y: torch.Tensor, tau: float | None = None) -> torch.Tensor:
        """Evaluation logits with post-hoc logit adjustment (``tau`` defaults to the config's)."""
        tau = self.config.la_tau if tau is None else tau
        return adjust_logits(evaluate(self.model, x, y).logits, self.prior_log, tau)

    def _record(self, train_loss: float, lr: float, strength: float) -> EpochRecord:
        d, c, k = self.data, self.config, self.data.num_classes
        on_train = evaluate(self.model, self.x_train, self.y_train, with_grad=True)
        train_correct = (on_train.logits.argmax(1) == self.y_train).float()
        train_acc = per_class_mean(train_correct, self.y_train, k)
        test_pred = adjust_logits(evaluate(self.model, self.x_test, self.y_test).logits,
                                  self.prior_log, c.la_tau).argmax(1)
        confusion = confusion_matrix(self.y_test, test_pred, k)
        scores = per_class_scores(confusion)
        record = EpochRecord(
            epoch=self.epoch + 1,
            train_acc=train_acc.tolist(),
            test_acc=scores["recall"].tolist(),
            loss=per_class_mean(on_train.loss, self.y_train, k).tolist(),
            grad_norm=per_class_mean(on_train.grad_norm, self.y_train, k).tolist(),
            precision=scores["precision"].tolist(),
            recall=scores["recall"].tolist(),
            f1=scores["f1"].tolist(),
            accuracy=accuracy(confusion),
            balanced_acc=balanced_accuracy(confusion),
            seconds=0.0,
            group_train_acc=group_means(train_acc, d.groups),
            group_test_acc=group_means(scores["recall"], d.groups),
            train_loss=train_loss,
            lr=lr,
            mfw_strength=strength,
        )
        if k <= CONFUSION_EVERY_EPOCH_UP_TO or self.epoch + 1 == c.epochs:
            record.confusion = confusion.tolist()
        if self.x_val is not None:
            val_pred = self.test_logits(self.x_val, self.y_val).argmax(1)
            val_confusion = confusion_matrix(self.y_val, val_pred, k)
            record.val_acc = per_class_scores(val_confusion)["recall"].tolist()
            record.val_balanced_acc = balanced_accuracy(val_confusion)
        return record


def train(config: TrainConfig, data: Data | None = None) -> Iterator[EpochRecord]:
    """Yield one EpochRecord per epoch of training ``config``."""
    yield from Trainer(config, data).epochs()


def run(config: TrainConfig, data: Data | None = None) -> RunHistory:
    """Train to the end and return the history. A diverging run raises ``TrainingDiverged``,
    whose ``history`` holds the epochs finished before the loss became non-finite."""
    trainer = Trainer(config, data)
    for _ in trainer.epochs():
        pass
    return trainer.history
