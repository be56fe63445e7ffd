"""The contract between a caller and the workers that train for it: one ``TrainRequest`` in, typed events out.

A request and its events are small frozen dataclasses of plain data (they pickle to a local process or
a Ray actor on another machine), shared by both sides. For each seed of a request a worker sends, in
order::

    Started(serial, seed, counts, groups, class_names, threads)
    Step(serial, seed, step)                      every ``every_seconds`` (none when it is 0)
    Epoch(serial, seed, record, observed, warnings)
    Ended(serial, seed, stopped, results, warnings)   or   Failed(serial, seed, message, diverged, warnings)

and once the whole request is done, ``Idle(serial)``: the worker is free. ``observed`` holds what the
request's observers (``observers.py``) saw at that epoch, ``results`` what they made at the end, each
under the observer's name. Every event also names its ``member``: the seed's place in the request's seed
list, which tells apart two members on one seed (a joint stack of configs that differ only in their method,
``TrainRequest.members``). A request carries a list of seeds, each reported on its own: seeds that stack
(``stacked.stackable``) train together, so every seed's ``Started`` comes first, then their ``Step`` and
``Epoch`` events interleave epoch by epoch (no seed is an epoch ahead of another), then each one's
``Ended`` (a seed that diverges sends its ``Failed`` at once and the others go on); other seeds train one
after another, each seed's events in turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..analysis.history import EpochRecord
from .events import StepEvent


@dataclass(frozen=True)
class TrainRequest:
    """What a worker trains: one config on each of ``seeds`` (the config's own seed when empty)."""

    serial: int
    config: dict[str, Any]  # TrainConfig.to_dict()
    seeds: tuple[int, ...] = ()
    variants: dict[str, dict[str, float]] = field(default_factory=dict)  # name → PostHoc settings
    observers: tuple[str, ...] = ()  # names in observers.OBSERVERS
    every_seconds: float = 0.0  # step events this often (0: epoch records only)
    checkpoint: str | None = None  # save each seed's network here at the end ('{seed}' is replaced)
    scored: dict[str, dict[str, float]] = field(default_factory=dict)  # observer "scores": post-hoc settings
    members: tuple[dict[str, Any], ...] = ()  # each seed's own config, parallel to seeds (empty: config for all)

    def seed_list(self) -> list[int]:
        return list(self.seeds) if self.seeds else [int(self.config.get("seed", 0))]

    def member_configs(self) -> list[dict[str, Any]]:
        """Each member's config (``TrainConfig.to_dict()``, its seed not yet set), in the order of ``seed_list``."""
        return list(self.members) if self.members else [self.config] * len(self.seed_list())


@dataclass(frozen=True)
class Started:
    """A seed's training has built its data and network."""

    serial: int
    seed: int
    counts: list[int]
    groups: dict[str, list[int]]
    class_names: list[str]
    threads: int
    member: int = 0  # the seed's place in the request's seed list


@dataclass(frozen=True)
class Step:
    """Progress inside an epoch."""

    serial: int
    seed: int
    step: StepEvent
    member: int = 0


@dataclass(frozen=True)
class Epoch:
    """An evaluated epoch, with what the observers saw after it and the history's warnings so far."""

    serial: int
    seed: int
    record: EpochRecord
    observed: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    member: int = 0


@dataclass(frozen=True)
class Ended:
    """A seed's training ended: every epoch trained (``stopped`` None) or stopped early (why)."""

    serial: int
    seed: int
    stopped: str | None
    results: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    member: int = 0


@dataclass(frozen=True)
class Failed:
    """A seed's training could not start or go on (one line); ``diverged``: its loss became non-finite."""

    serial: int
    seed: int
    message: str
    diverged: bool = False
    warnings: tuple[str, ...] = ()
    member: int = 0


@dataclass(frozen=True)
class Idle:
    """The worker finished the request (every seed) and takes the next one."""

    serial: int


Event = Started | Step | Epoch | Ended | Failed | Idle
