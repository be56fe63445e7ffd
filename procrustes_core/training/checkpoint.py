"""Checkpoints: a trained network's weights with a small header, saved by one run and loaded by another.

    procrustes train --ratio 1 --save-checkpoint balanced.pt            # pre-train on balanced data
    procrustes train --init-checkpoint balanced.pt                      # fine-tune every layer on the imbalanced data
    procrustes train --init-checkpoint balanced.pt --finetune linear-probe   # or only a new classifier

A checkpoint file holds ``{"format": "procrustes-checkpoint", "version": 1, "header": {...},
"state_dict": {name: tensor}}``, written with ``torch.save`` and read with ``torch.load(...,
weights_only=True)`` — tensors and plain values only, so loading a file runs no code from it. The
header is JSON-able: the network (model name, width, norm, attention, SE reduction, BBN, head), the
input shape, the number of classes and their names, the dataset, and the settings it was trained
with.

A checkpoint fits a run when its network is the run's (the same model, width, norm and attention, one
branch or two) and its input shape is the data's; ``finetune='full'`` also needs the same classes (it
keeps the classifier), while a linear probe draws a new classifier and so takes any number of classes.
Anything else — a missing file, a file that is not a checkpoint, weights that do not fit — is one
line (``ProcrustesError``) before anything trains.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..config import TrainConfig
from ..errors import ProcrustesError
from ..files import atomic_write_bytes
from ..models.nets import BlockNet, model_name

FORMAT = "procrustes-checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    """A checkpoint as read from a file: its header and its weights (on the CPU)."""

    header: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    source: str = "checkpoint"


def network_header(config: TrainConfig, data) -> dict[str, Any]:
    """What a checkpoint says about the network that made it, and about its data."""
    return {
        "model": model_name(config.model, data.kind, config.dataset), "width": config.width, "norm": config.norm,
        "attention": config.attention, "se_reduction": config.se_reduction, "bbn": config.bbn,
        "head": "cosine" if config.loss == "ldam" and config.ldam_cosine else "linear",
        "input_shape": [int(s) for s in data.input_shape], "num_classes": int(data.num_classes),
        "class_names": [str(n) for n in data.class_names], "dataset": config.dataset,
    }


def save_checkpoint(model: BlockNet, header: dict[str, Any], path: str | os.PathLike,
                    config: TrainConfig | None = None, epochs: int | None = None) -> Path:
    """Write ``model``'s weights and ``header`` (plus the settings and epochs trained, if given) to
    ``path`` atomically; the folder must exist."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ProcrustesError(f"save_checkpoint={str(path)!r}: folder {str(folder)!r} does not exist")
    full = dict(header, config=config.to_dict() if config is not None else None, epochs_trained=epochs)
    state = {name: tensor.detach().cpu().clone() for name, tensor in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, "header": full, "state_dict": state}, buffer)
    return atomic_write_bytes(path, buffer.getvalue(), "save_checkpoint")


def load_checkpoint(path: str | os.PathLike, what: str = "init_checkpoint") -> Checkpoint:
    """Read a checkpoint file (weights only: no code runs); one line naming the problem if it is not one."""
    path = Path(path).expanduser()
    source = f"{what}={str(path)!r}"
    if not path.is_file():
        raise ProcrustesError(f"{source}: no such file (save one with procrustes train --save-checkpoint)")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a torch file of other objects, a zip or pickle error, not a torch file at all
        reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        raise ProcrustesError(f"{source}: not a Procrustes checkpoint (cannot be read as one: {reason})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ProcrustesError(f"{source}: not a Procrustes checkpoint (no 'format': {FORMAT!r}); save one with "
                              "procrustes train --save-checkpoint")
    if raw.get("version") != VERSION:
        raise ProcrustesError(f"{source}: checkpoint version {raw.get('version')!r}, expected {VERSION}")
    header, state = raw.get("header"), raw.get("state_dict")
    if not isinstance(header, dict) or not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ProcrustesError(f"{source}: not a Procrustes checkpoint (its header or weights are missing)")
    return Checkpoint(header, state, source)


def _describe(header: dict[str, Any]) -> str:
    parts = [f"model={header.get('model')!r}", f"width={header.get('width')}", f"norm={header.get('norm')!r}",
             f"attention={header.get('attention')!r}", f"bbn={str(bool(header.get('bbn'))).lower()}"]
    return ", ".join(parts)


def check_fits(checkpoint: Checkpoint, config: TrainConfig, data, model: BlockNet) -> None:
    """Refuse, in one line, a checkpoint whose network or data do not fit this run."""
    header, source, mine = checkpoint.header, checkpoint.source, network_header(config, data)
    if list(header.get("input_shape") or []) != mine["input_shape"]:
        raise ProcrustesError(f"{source}: made for inputs of shape {tuple(header.get('input_shape') or ())} "
                              f"(dataset {header.get('dataset')!r}), this run's data have shape "
                              f"{tuple(mine['input_shape'])} (dataset {config.dataset!r})")
    for key in ("model", "attention", "bbn"):
        if header.get(key) != mine[key]:
            raise ProcrustesError(f"{source}: a network with {key}={header.get(key)!r}, this run builds "
                                  f"{key}={mine[key]!r}; train with the checkpoint's network ({_describe(header)})")
    probe = config.finetune == "linear-probe"
    if not probe and header.get("num_classes") != mine["num_classes"]:
        raise ProcrustesError(f"{source}: trained on {header.get('num_classes')} classes, dataset "
                              f"{config.dataset!r} has {mine['num_classes']}; fine-tuning keeps the classifier, "
                              "so use finetune='linear-probe' (a new classifier) or a checkpoint of these classes")
    if not probe and header.get("head") != mine["head"]:
        raise ProcrustesError(f"{source}: its classifier is {header.get('head')}, this run's is {mine['head']} "
                              "(loss='ldam' with ldam_cosine=true has a cosine classifier); use the checkpoint's "
                              "or finetune='linear-probe'")
    wanted = {k: v for k, v in model.state_dict().items() if not (probe and k.startswith("head."))}
    given = {k: v for k, v in checkpoint.state_dict.items() if not (probe and k.startswith("head."))}
    missing = sorted(set(wanted) - set(given))
    extra = sorted(set(given) - set(wanted))
    if missing or extra:
        name = (missing or extra)[0]
        where = "lacks" if missing else "has"
        raise ProcrustesError(f"{source}: its weights do not fit this network (it {where} {name!r}); train with "
                              f"the checkpoint's network ({_describe(header)})")
    for name, tensor in wanted.items():
        if tuple(given[name].shape) != tuple(tensor.shape):
            raise ProcrustesError(f"{source}: its weights do not fit this network ({name} has shape "
                                  f"{list(given[name].shape)}, here {list(tensor.shape)}); train with the "
                                  f"checkpoint's network ({_describe(header)})")


def apply_checkpoint(checkpoint: Checkpoint, config: TrainConfig, data, model: BlockNet) -> BlockNet:
    """Load the checkpoint into ``model`` (on the CPU, before it moves to its device). ``full``: every
    weight, the classifier too; ``linear-probe``: everything but the classifier, which stays as drawn
    for this run, and the rest frozen."""
    check_fits(checkpoint, config, data, model)
    probe = config.finetune == "linear-probe"
    state = {k: v for k, v in checkpoint.state_dict.items() if not (probe and k.startswith("head."))}
    missing, _ = model.load_state_dict(state, strict=not probe)
    assert all(k.startswith("head.") for k in missing), missing
    if probe:
        model.freeze_features()
    return model
