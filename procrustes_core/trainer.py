"""The training loop: a generator that yields one EpochRecord per epoch, with per-class diagnostics.

    for record in train(TrainConfig(mfw_strength=0.9)):
        print(record.epoch, record.group_train_acc, record.balanced_acc)

Each epoch: the sampler's order, mini-batch SGD on the configured loss (with the epoch's class
weights, and the mixer — major feature weakening when ``mfw_strength > 0``, or mixup / remix),
then evaluation passes in eval mode over the un-mixed training set (per-class accuracy, loss and
feature-gradient norm) and over the balanced test set (per-class accuracy, precision, recall, F1,
confusion matrix; post-hoc logit adjustment / tau-normalisation applied when set). The methods
are objects built once from the config (``procrustes_core.methods.registry.build_methods``).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .augment import build_augment
from .config import TrainConfig
from .data import Data, build_data
from .errors import ProcrustesError, TrainingDiverged
from .history import EpochRecord, RunHistory
from .methods import adjust_logits, log_prior, tau_normalise
from .methods.registry import build_methods, check_combination
from .metrics import accuracy, balanced_accuracy, confusion_matrix, group_means, per_class_mean, per_class_scores
from .models import BlockNet, build_model, mix_position

EVAL_BATCH = 2048
WARMUP_EPOCHS = 5
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
        check_combination(config)  # contradicting methods fail here, before any data is built
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
            mix_at = mix_position(config.mfw_layer, self.model) if config.mfw_strength > 0 else None
            self.methods = build_methods(config, data, self.model.num_positions, mix_at)
            self.methods.loss.adapt_model(self.model)  # LDAM's cosine classifier
        self.loss, self.sampler, self.mixer = self.methods.loss, self.methods.sampler, self.methods.mixer
        self.class_weights = self.methods.weights
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
        self.history = RunHistory(config, list(data.counts), data.groups, list(data.class_names))
        self.epoch = 0  # epochs finished
        self.seconds = 0.0

    def _optimizer(self) -> torch.optim.Optimizer:
        c = self.config
        if c.optimizer == "adam":
            return torch.optim.Adam(self.model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        return torch.optim.SGD(self.model.parameters(), lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)

    def lr_at(self, epoch: int) -> float:
        """Learning rate of ``epoch`` (0-based): constant; cosine from ``lr`` towards 0; or the
        long-tail recipe's step schedule (linear warm-up over 5 epochs, then x0.01 after 80 % of the
        epochs and x0.0001 after 90 %: epochs 160 and 180 of 200)."""
        c = self.config
        if c.lr_schedule == "cosine":
            return c.lr * 0.5 * (1 + math.cos(math.pi * epoch / c.epochs))
        if c.lr_schedule == "step-warmup":
            if epoch < WARMUP_EPOCHS and c.epochs > 2 * WARMUP_EPOCHS:
                return c.lr * (epoch + 1) / WARMUP_EPOCHS
            if epoch >= round(0.9 * c.epochs):
                return c.lr * 1e-4
            if epoch >= round(0.8 * c.epochs):
                return c.lr * 1e-2
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
        strength = self.mixer.strength_at(epoch) if self.mixer is not None else 0.0
        weights = self.class_weights.at(epoch)  # None: every class counts the same
        weights_t = None if weights is None else torch.as_tensor(weights, dtype=torch.float32, device=self.device)
        self.model.train()
        order = self.sampler.order(self.y_pool, self.batch_rng).to(self.device)
        batches = math.ceil(len(order) / c.batch_size)
        total = torch.zeros((), device=self.device)
        for b in range(batches):
            idx = order[b * c.batch_size:(b + 1) * c.batch_size]
            xb, yb = self.augment(self.x_pool[idx]), self.y_pool[idx]
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
                if self.mixer is not None:
                    mixing = self.mixer.draw(yb, strength)
                    logits = self.model(xb, mixing.apply, mixing.position)
                    loss = self.loss(logits.float(), yb, weights_t, mixing.labels)
                else:
                    logits = self.model(xb)
                    loss = self.loss(logits.float(), yb, weights_t)
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
        record.class_weights = None if weights is None else [float(w) for w in weights]
        self.seconds += time.perf_counter() - started
        record.seconds = self.seconds
        self.epoch += 1
        self.history.records.append(record)
        self._adapt(record)
        return record

    def _adapt(self, record: EpochRecord) -> None:
        """Let the methods look at this epoch: progress-based MFW weights and schedules, and
        gradient scaling from the per-class feature gradients."""
        if self.mixer is not None:
            self.mixer.after_epoch(record.train_acc, self.data.groups)
        self.class_weights.after_epoch(record.grad_norm)

    # ------------------------------------------------------------------ evaluation

    def test_logits(self, x: torch.Tensor, y: torch.Tensor, tau: float | None = None) -> torch.Tensor:
        """Evaluation logits after the post-hoc steps: the tau-normalised classifier (when
        ``tau_norm`` is set), then logit adjustment (``tau`` defaults to the config's ``la_tau``)."""
        tau = self.config.la_tau if tau is None else tau
        logits = tau_normalise(evaluate(self.model, x, y).logits, self.model.head, self.config.tau_norm)
        return adjust_logits(logits, self.prior_log, tau)

    def _record(self, train_loss: float, lr: float, strength: float) -> EpochRecord:
        d, c, k = self.data, self.config, self.data.num_classes
        on_train = evaluate(self.model, self.x_train, self.y_train, with_grad=True)
        train_correct = (on_train.logits.argmax(1) == self.y_train).float()
        train_acc = per_class_mean(train_correct, self.y_train, k)
        test_pred = self.test_logits(self.x_test, self.y_test).argmax(1)
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
