"""Training: the Trainer and its events (``trainer.py``, ``events.py``), evaluation passes
(``evaluation.py``) and checkpoints to start other runs from (``checkpoint.py``)."""

from .._lazy import lazy_exports

_EXPORTS = {
    "Trainer": ".trainer", "run": ".trainer", "train": ".trainer", "resolve_device": ".trainer",
    "default_threads": ".trainer", "build_network": ".trainer", "StepEvent": ".events", "evaluate": ".evaluation",
    "Evaluation": ".evaluation", "evaluate_branches": ".evaluation", "Checkpoint": ".checkpoint",
    "load_checkpoint": ".checkpoint", "save_checkpoint": ".checkpoint",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
