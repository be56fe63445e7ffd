"""Procrustes core: imbalanced data, Procrustean training (major feature weakening), per-class
diagnostics recorded epoch by epoch, run histories and figures.

The folders follow the flow of a run, and a module imports only from its own stage or an earlier one:

    names.py, errors.py, files.py    what a run's settings may name: methods, MFW defaults, seeds (no torch)
    data/registry.py, data/loaders.py  the dataset registry: one entry per dataset, with its loader (no torch)
    config.py   the validated settings of a run (no torch)
    data/       datasets, imbalance profiles and class groups, augmentation
    models/     networks with exposed blocks (squeeze-and-excitation, BBN's two branches), heads, seeded init
    methods/    the catalogue of methods (no torch), their builders, one file per kind
    analysis/   metrics and scores, run histories, phases of training, decision regions, grids of runs
    training/   the trainer, its step events, evaluation passes, checkpoints, a run's test predictions
    figures/    run figures, lesson figures, the HTML report, live notebook figures (they read results)
    cli.py, sweep.py, presets.py, notebook.py   the command line, grids of runs, named runs, notebook training

tests/test_layering.py checks the order.

Names below are imported on first use, so ``import procrustes_core`` (and the config) loads no torch.
"""

from ._lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": ".config", "field_help": ".config", "field_names": ".config", "field_rule": ".config",
    "ProcrustesError": ".errors", "TrainingDiverged": ".errors",
    "Data": ".data.datasets", "build_data": ".data.datasets", "counts_for": ".data.datasets",
    "load_pool": ".data.datasets", "class_counts": ".data.imbalance", "class_groups": ".data.imbalance",
    "EpochRecord": ".analysis.history", "RunHistory": ".analysis.history", "Scores": ".analysis.metrics",
    "PostHoc": ".methods.posthoc", "StepEvent": ".training.events", "evaluate": ".training.evaluation",
    "Trainer": ".training.trainer", "run": ".training.trainer", "train": ".training.trainer",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
__version__ = "0.2.0"
