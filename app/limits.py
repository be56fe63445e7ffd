"""Operator settings of a shared app server, read once from environment variables.

| variable | what it caps or sets | default |
|---|---|---|
| `PROCRUSTES_MAX_TRAININGS` | training slots: worker processes (or Ray actors) at once | CPU cores, at most 8 |
| `PROCRUSTES_SESSION_SLOTS` | slots one browser (all its tabs) may hold at once (its several seeds) | all of them |
| `PROCRUSTES_MAX_SEEDS` | seeds of one request | 8 |
| `PROCRUSTES_MAX_EPOCHS` | epochs of one run | 200 |
| `PROCRUSTES_MAX_TRAIN_SAMPLES` | distinct training samples of one run | 60000 |
| `PROCRUSTES_MAX_GENERATED_SAMPLES` | samples generated for mnist1d / toy2d (`n_samples`) | 60000 |
| `PROCRUSTES_MAX_PARAMETERS` | parameters of the network | 5000000 |
| `PROCRUSTES_MAX_STEPS` | optimiser steps of one request, all runs and seeds | 100000 |
| `PROCRUSTES_MAX_TFLOP` | floating-point work of one request (priced before it runs) | 20 |
| `PROCRUSTES_TEACHER_KEY` | turns on the teacher's page (`?teacher=KEY`) | off |
| `PROCRUSTES_RUN_STORE` | folder keeping each browser's finished runs across reloads | `~/.cache/procrustes/runs` |
| `PROCRUSTES_RUN_STORE_MB` | size of the whole run store (least recently used browsers' runs go first) | 2000 |
| `PROCRUSTES_RUN_STORE_DAYS` | a browser's runs are deleted after this many days unused | 30 |
| `PROCRUSTES_MAX_UPLOADS` | files one session may upload at once (each parsed once) | 20 |
| `PROCRUSTES_MAX_UPLOAD_MB` | megabytes one session may upload at once, all files together | 100 |
| `PROCRUSTES_MAX_DATA_MB` | one uploaded data file (Streamlit's `server.maxUploadSize` must allow it) | 200 |
| `PROCRUSTES_MAX_ZIP_MB` | a zip of images, unpacked | 1000 |
| `PROCRUSTES_MAX_ZIP_FILES` | members of a zip of images | 20000 |
| `PROCRUSTES_MAX_CLASSES` | class folders of a zip of images | 100 |
| `PROCRUSTES_DATA_DIR` | folder of torchvision datasets (mnist, fashion-mnist, cifar10/100) | none |
| `PROCRUSTES_ALLOW_DOWNLOAD` | `1`: torchvision may download a missing dataset into that folder | off |
| `RAY_ADDRESS` | a Ray cluster to train on (every slot a Ray actor) instead of local processes | none |

The data folder and downloads are server settings: a link can never point the server elsewhere. Each
training runs on one torch thread, so a shared link reproduces its numbers exactly. With `RAY_ADDRESS`
the app offers no upload of your own data and refuses to train them (``RAY_REFUSAL``): an upload is
kept on the app's machine, where the cluster's machines cannot read it.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.data.datasets import cache_dir
from procrustes_core.data.uploaded import MB, UploadCaps
from procrustes_core.training.budget import Budget


def _default_slots() -> int:
    return max(1, min(8, os.cpu_count() or 1))


@dataclass(frozen=True)
class Limits:
    """The server's settings: its slots and the budget every request is priced against (``budget``)."""

    max_trainings: int = _default_slots()
    session_slots: int | None = None
    budget: Budget = field(default_factory=Budget)
    teacher_key: str | None = None
    run_store: str | None = None
    run_store_mb: int = 2000
    run_store_days: float = 30.0
    max_uploads: int = 20
    max_upload_mb: int = 100
    upload_caps: UploadCaps = field(default_factory=UploadCaps)  # one data file of your own (app/your_data.py)
    data_dir: str | None = None
    allow_download: bool = False
    ray_address: str | None = None

    @property
    def store_folder(self) -> Path:
        return Path(self.run_store) if self.run_store else cache_dir() / "runs"


def _env_number(name: str, default, kind=int):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ProcrustesError(f"{name}={raw[:40]!r}: expected a {'whole ' if kind is int else ''}number ≥ 1") from None
    if not value >= 1:
        raise ProcrustesError(f"{name}={raw[:40]!r}: expected a {'whole ' if kind is int else ''}number ≥ 1")
    return value


def read_limits() -> Limits:
    """The limits from the environment (a bad value is a ProcrustesError naming the variable): every
    field of the budget from ``PROCRUSTES_<FIELD>`` (``max_epochs`` → ``PROCRUSTES_MAX_EPOCHS``)."""
    budget = Budget(**{f.name: _env_number(f"PROCRUSTES_{f.name.upper()}", f.default, type(f.default))
                       for f in fields(Budget)})
    return Limits(
        max_trainings=_env_number("PROCRUSTES_MAX_TRAININGS", Limits.max_trainings),
        session_slots=_env_number("PROCRUSTES_SESSION_SLOTS", None),
        budget=budget,
        teacher_key=os.environ.get("PROCRUSTES_TEACHER_KEY") or None,
        run_store=os.environ.get("PROCRUSTES_RUN_STORE") or None,
        run_store_mb=_env_number("PROCRUSTES_RUN_STORE_MB", Limits.run_store_mb),
        run_store_days=_env_number("PROCRUSTES_RUN_STORE_DAYS", Limits.run_store_days, float),
        max_uploads=_env_number("PROCRUSTES_MAX_UPLOADS", Limits.max_uploads),
        max_upload_mb=_env_number("PROCRUSTES_MAX_UPLOAD_MB", Limits.max_upload_mb),
        upload_caps=read_upload_caps(),
        data_dir=os.environ.get("PROCRUSTES_DATA_DIR") or None,
        allow_download=os.environ.get("PROCRUSTES_ALLOW_DOWNLOAD", "").strip().lower() in ("1", "true", "yes"),
        ray_address=os.environ.get("RAY_ADDRESS") or None,
    )


def read_upload_caps() -> UploadCaps:
    """The caps of one uploaded data file: ``PROCRUSTES_MAX_DATA_MB``, ``_ZIP_MB``, ``_ZIP_FILES``, ``_CLASSES``."""
    default = UploadCaps()
    return UploadCaps(
        max_bytes=_env_number("PROCRUSTES_MAX_DATA_MB", default.max_bytes // MB) * MB,
        max_unpacked_bytes=_env_number("PROCRUSTES_MAX_ZIP_MB", default.max_unpacked_bytes // MB) * MB,
        max_members=_env_number("PROCRUSTES_MAX_ZIP_FILES", default.max_members),
        max_classes=_env_number("PROCRUSTES_MAX_CLASSES", default.max_classes))


def is_teacher_key(given: object, limits: Limits) -> bool:
    """Whether ``given`` is this server's teacher key (compared in constant time; any text, never raises)."""
    return bool(limits.teacher_key) and isinstance(given, str) and hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), limits.teacher_key.encode("utf-8", "surrogatepass"))


RAY_REFUSAL = ("dataset='your-data' on this server's Ray cluster (RAY_ADDRESS): your data are kept on the app's "
               "machine, which the cluster's machines cannot read; train them with procrustes train --data FILE, or on "
               "a server without RAY_ADDRESS")


def server_settings(config: TrainConfig, limits: Limits) -> TrainConfig:
    """The config with the server's data folder and download permission (never the link's); your own data
    are refused on a Ray cluster (``RAY_REFUSAL``: the upload lies in this machine's store only)."""
    if limits.ray_address and config.dataset == "your-data":
        raise ProcrustesError(RAY_REFUSAL)
    if config.data_dir == limits.data_dir and config.download == limits.allow_download:
        return config
    return config.replace(data_dir=limits.data_dir, download=limits.allow_download)
