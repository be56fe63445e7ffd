"""A finished run's test predictions, from its settings and its saved network: the per-sample
probabilities the report's figures beyond accuracy read (``procrustes report --checkpoint``)."""

from __future__ import annotations

import os
from typing import Any

from ..analysis.history import RunHistory


def run_probabilities(history: RunHistory, checkpoint: str | os.PathLike,
                      what: str = "init_checkpoint") -> tuple[Any, Any]:
    """The test split's predicted probabilities (under the run's own post-hoc setting) and labels, from
    the run's settings and its saved network; one line (``ProcrustesError``) if the checkpoint does not
    fit the run, naming it as ``what`` (the command line's ``checkpoint``)."""
    import torch

    from ..errors import ProcrustesError
    from .trainer import Trainer

    config = history.config.replace(init_checkpoint=str(checkpoint), finetune="full", classifier_retrain_epochs=0)
    try:
        trainer = Trainer(config)
    except ProcrustesError as err:  # the trainer names the file by its setting, the caller by its own name
        text = str(err)
        if what == "init_checkpoint" or not text.startswith("init_checkpoint="):
            raise
        raise ProcrustesError(what + text[len("init_checkpoint"):]) from None
    probabilities = torch.softmax(trainer.logits("test").float(), 1).cpu().numpy()
    return probabilities, trainer.data.y_test.cpu().numpy()
