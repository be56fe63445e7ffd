"""Training: the Trainer and its events (``trainer.py``, ``events.py``), evaluation passes
(``evaluation.py``), checkpoints to start other runs from (``checkpoint.py``), and the engine that
runs trainings on workers: one train-and-ship function (``worker.py``) speaking typed events
(``messages.py``) with observers (``observers.py``), backends serial / local / Ray (``backends.py``),
the executor (``executor.py``) and the training service with its fair queue (``service.py``, ``jobs.py``)."""

from .._lazy import lazy_exports

_EXPORTS = {
    "Trainer": ".trainer", "run": ".trainer", "train": ".trainer", "resolve_device": ".trainer",
    "default_threads": ".trainer", "build_network": ".trainer", "StepEvent": ".events", "evaluate": ".evaluation",
    "Evaluation": ".evaluation", "evaluate_branches": ".evaluation", "Checkpoint": ".checkpoint",
    "load_checkpoint": ".checkpoint", "save_checkpoint": ".checkpoint", "TrainRequest": ".messages",
    "train_and_ship": ".worker", "run_batch": ".executor", "Outcome": ".executor", "TrainingService": ".service",
    "Status": ".jobs", "JobView": ".jobs", "TaskView": ".jobs",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
