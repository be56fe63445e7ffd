"""Observers on a training: what a caller asks to see besides the history, made where the model is.

An observer watches one seed's ``Trainer``: ``epoch(trainer, record)`` after each evaluated epoch and
``end(trainer)`` once training ends; what either returns (plain lists and arrays, not tensors) travels
back in the ``Epoch`` / ``Ended`` event under the observer's name (None: nothing to send).

- ``boundary``: the decision regions on 2-D data after each epoch;
- ``features``: a fixed sample's penultimate features on a live 2-D view after each epoch, and at the
  end every epoch again on one fixed projection (a replay);
- ``probabilities``: the test split's predicted probabilities (under the run's post-hoc setting) and labels;
- ``outputs``: raw logits (no post-hoc step) and labels of every split, the training counts, the
  classifier's per-class weight norms and biases;
- ``split_features``: the penultimate features of every split;
- ``scores``: the final model on the validation and test splits under each post-hoc setting the request
  names in ``scored`` (one training, several scorings): balanced accuracy and each group's recall;
- ``recalibrated``: the test balanced accuracy with LA after re-estimating BatchNorm's statistics on the
  un-mixed training set (what MFW's mixed batches did to them), the network left as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .messages import TrainRequest
    from .trainer import Trainer


class Observer:
    """Sees nothing by default; subclasses return what they saw."""

    def epoch(self, trainer, record) -> Any:
        return None

    def end(self, trainer) -> Any:
        return None


class Boundary(Observer):
    def epoch(self, trainer, record) -> dict[str, Any]:
        from ..analysis.boundary import decision_grid

        grid = decision_grid(trainer, resolution=60)
        return {"xs": grid.xs.tolist(), "ys": grid.ys.tolist(), "predicted": grid.predicted.tolist(),
                "confidence": grid.confidence.astype(float).round(3).tolist(), "epoch": grid.epoch}


class Features(Observer):
    def __init__(self, trainer) -> None:
        from ..analysis.projection import FeatureTrail, feature_sample

        labels = trainer.data.y_train.numpy()
        self.trail = FeatureTrail(feature_sample(labels, trainer.data.groups, seed=trainer.config.seed), labels)

    def epoch(self, trainer, record) -> list:
        """The fixed sample's penultimate features after this epoch (eval mode), on the live view; features
        that are not finite end the training as diverged, with the trainer's message."""
        import torch

        from ..analysis.projection import FeaturesNotFinite

        was_training = trainer.model.training
        trainer.model.eval()
        with torch.no_grad():
            sample = torch.as_tensor(self.trail.sample)
            features = trainer.model.features(trainer.x_train[sample]).float().cpu().numpy()
        trainer.model.train(was_training)
        try:
            return self.trail.add(record.epoch, features).round(4).tolist()
        except FeaturesNotFinite:
            raise trainer.diverged(record.epoch, "its penultimate features are not finite") from None

    def end(self, trainer) -> dict[str, Any] | None:
        trail = self.trail
        if not trail.epochs:
            return None
        return {"labels": trail.labels.tolist(), "epochs": trail.epochs,
                "points": [p.round(4).tolist() for p in trail.replay()]}


class Probabilities(Observer):
    def end(self, trainer) -> dict[str, Any] | None:
        import torch

        if trainer.epoch == 0:
            return None
        probabilities = torch.softmax(trainer.logits("test").float(), 1).cpu().numpy()
        return {"probabilities": probabilities.round(5).tolist(), "labels": trainer.data.y_test.cpu().numpy().tolist()}


def _splits(trainer) -> list[str]:
    return [s for s in ("train", "val", "test") if s != "val" or trainer.x_val is not None]


class Outputs(Observer):
    def end(self, trainer) -> dict[str, Any]:
        import numpy as np

        from ..methods.posthoc import PostHoc

        splits = _splits(trainer)
        head = trainer.model.head
        norms = head.weight.detach().norm(dim=1).cpu().numpy()
        bias = getattr(head, "bias", None)
        return {"logits": {s: trainer.logits(s, PostHoc()).cpu().numpy() for s in splits},
                "labels": {s: trainer.split(s)[1].cpu().numpy() for s in splits},
                "counts": list(trainer.data.counts), "head_norms": norms,
                "head_bias": bias.detach().cpu().numpy() if bias is not None else np.zeros(len(norms))}


class SplitFeatures(Observer):
    def end(self, trainer) -> dict[str, Any]:
        import torch

        model = trainer.model.eval()
        with torch.no_grad():
            return {s: model.features(trainer.split(s)[0]).cpu().numpy() for s in _splits(trainer)}


class Scores(Observer):
    def __init__(self, settings: dict[str, dict[str, float]]) -> None:
        self.settings = settings

    def end(self, trainer) -> dict[str, dict[str, dict[str, Any]]]:
        """Under each post-hoc setting, on the validation (if any) and test splits: balanced accuracy and
        each group's recall."""
        from ..methods.posthoc import PostHoc

        found: dict[str, dict[str, dict[str, Any]]] = {}
        for name, setting in self.settings.items():
            for split in [s for s in _splits(trainer) if s != "train"]:
                scored = trainer.score(split, PostHoc(**setting))
                found.setdefault(name, {})[split] = {"balanced_acc": scored.balanced_acc,
                                                     "group_recall": scored.group_recall(trainer.data.groups)}
        return found


class Recalibrated(Observer):
    def end(self, trainer) -> dict[str, float] | None:
        """Test balanced accuracy with LA (tau = 1) had BatchNorm's running statistics never seen a mixed
        batch: re-estimated over one pass of the un-mixed training set, scored, then put back."""
        import copy

        import torch

        from ..methods.posthoc import PostHoc

        norms = [m for m in trainer.model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        if not norms or trainer.epoch == 0:
            return None
        saved = [(m.momentum, copy.deepcopy(m.state_dict())) for m in norms]
        was_training = trainer.model.training
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the pass
        trainer.model.train()
        with torch.no_grad():
            for start in range(0, len(trainer.y_train), 128):
                trainer.model(trainer.x_train[start:start + 128])
        trainer.model.train(was_training)
        found = {"test_bal_la": trainer.score("test", PostHoc(la_tau=1.0)).balanced_acc}
        for m, (momentum, state) in zip(norms, saved):
            m.momentum = momentum
            m.load_state_dict(state)
        return found


OBSERVERS = {"boundary": lambda trainer, request: Boundary(), "features": lambda trainer, request: Features(trainer),
             "probabilities": lambda trainer, request: Probabilities(),
             "outputs": lambda trainer, request: Outputs(), "split_features": lambda trainer, request: SplitFeatures(),
             "scores": lambda trainer, request: Scores(dict(request.scored)),
             "recalibrated": lambda trainer, request: Recalibrated()}


def build_observers(request: TrainRequest, trainer: Trainer) -> dict[str, Observer]:
    """The observers ``request`` names, attached to ``trainer``; an unknown name is one line."""
    from ..errors import ProcrustesError

    unknown = [n for n in request.observers if n not in OBSERVERS]
    if unknown:
        raise ProcrustesError(f"observer {unknown[0]!r}: expected one of {', '.join(OBSERVERS)}")
    return {name: OBSERVERS[name](trainer, request) for name in request.observers}
