"""The experiment in the URL: read a link's settings leniently, and mirror the settings back into it.

A link holds ``preset=NAME`` (start from a built-in preset), the settings that differ from it (or
from the app's opening settings, ``OPENING``), ``hide=a,b`` (controls a teacher hides), ``seeds=N``
(empty: as many as the budget allows) and ``view=projector`` (charts and narrator in large type, for a
class's screen). A bad value never stops the page: it is named in one line that says what was done
instead (the default kept, or the server's cap used: ``Budget.clamp``, the caps the service checks).
The app's state (``state.py``) is read from here once and written back here on every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from procrustes_core import ProcrustesError, TrainConfig, field_names
from procrustes_core.presets import STORY

from .limits import Limits
from .presets import PRESETS

# What the app opens on, and what a link without a preset starts from: the story setting (plain training; its
# MFW fields are the ones chosen on it, benchmarks/results/story_mfw.md), so that Compare's MFW side and the live
# Sweep weaken as the story preset does. The core's own MFW defaults stay the ones safe on every network. Its
# network stays ``auto`` (the story's cnn1d on MNIST-1D), so that another dataset chosen in the sidebar gets its own.
OPENING = TrainConfig.from_dict({**STORY, "model": "auto"})

SERVER_FIELDS = ("data_dir", "download", "threads", "init_checkpoint", "data_path",
                 "backbone_weights")  # the operator's, never a link's
CONTROL_GROUPS = ("presets", "data", "imbalance", "method", "mfw", "la", "zoo", "advanced", "expert", "seeds")
PAGE_KEYS = ("preset", "hide", "seeds", "teacher", "view")
VIEWS = ("projector",)  # ``view=projector``: charts and narrator on one screen, in large type
MAX_VALUE_SHOWN = 40


def shorten(text: object) -> str:
    """A value as a link message shows it: at most ``MAX_VALUE_SHOWN`` characters."""
    text = str(text)
    return text if len(text) <= MAX_VALUE_SHOWN else text[:MAX_VALUE_SHOWN] + "…"


@dataclass
class LinkState:
    """What a link asks for: the config, the hidden controls, the seeds, and what was done with it."""

    config: TrainConfig
    hide: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)
    preset: str | None = None
    seeds: int | None = None
    view: str | None = None

    @property
    def message(self) -> str | None:
        """One line naming every problem and what was done about it, or None."""
        if not self.problems:
            return None
        return "Some link settings were not used as given: " + "; ".join(self.problems)


def _last(value) -> str:
    if isinstance(value, (list, tuple)):
        return str(value[-1]) if value else ""
    return str(value)


def read_link(params: Mapping, limits: Limits) -> LinkState:
    """Turn query parameters into a validated config, dropping (and naming) each bad value."""
    params = {str(key): _last(value) for key, value in params.items()}
    problems: list[str] = []
    base: dict[str, str] = dict(parse_qsl(OPENING.to_query()))
    preset = params.get("preset")
    hide: tuple[str, ...] = ()
    seeds: int | None = None
    if preset:
        if preset in PRESETS:
            base = dict(parse_qsl(PRESETS[preset].query))
            hide = PRESETS[preset].hide
            seeds = PRESETS[preset].seeds
        else:
            problems.append(f"preset={shorten(preset)!r}: expected one of {', '.join(PRESETS)} — no preset used")
            preset = None
    if "hide" in params:
        names = [n.strip() for n in params["hide"].split(",") if n.strip()]
        allowed = set(CONTROL_GROUPS) | set(field_names())
        bad = [n for n in names if n not in allowed]
        if bad:
            problems.append(f"hide={shorten(bad[0])!r}: expected names of settings or of {', '.join(CONTROL_GROUPS)} "
                            "— ignored")
        hide = tuple(n for n in names if n in allowed)
    if "seeds" in params:
        raw = params["seeds"]
        if raw == "":
            seeds = None  # as many as the budget allows
        elif raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= limits.budget.max_seeds:
            seeds = int(raw)
        else:
            problems.append(f"seeds={shorten(raw)!r}: expected a whole number from 1 to {limits.budget.max_seeds} — "
                            "the budget's default used")
    view = params.get("view") or None
    if view is not None and view not in VIEWS:
        problems.append(f"view={shorten(view)!r}: expected {', '.join(VIEWS)} — the usual page shown")
        view = None
    unknown = [k for k in params if k not in PAGE_KEYS and k not in field_names()]
    if unknown:
        problems.append(f"{shorten(unknown[0])!r}: not a setting — ignored")
    settings = {k: v for k, v in params.items() if k in field_names() and k not in SERVER_FIELDS}
    if any(k in params for k in SERVER_FIELDS):
        problems.append(f"{', '.join(k for k in SERVER_FIELDS if k in params)}: set by the server, not by a link "
                        "— ignored")
    good = dict(base)
    pending = list(settings.items())
    failed: list[tuple[str, str, str]] = []
    for _ in range(2):  # a second pass admits values that needed a later one (profile=custom needs counts)
        failed = []
        for key, raw in pending:
            try:
                TrainConfig.from_query({**good, key: raw})
                good[key] = raw
            except (ProcrustesError, ValueError, OverflowError, RecursionError) as err:
                failed.append((key, raw, str(err)))
        pending = [(k, r) for k, r, _ in failed]
        if not failed:
            break
    default = TrainConfig.from_query(base)
    problems += [f"{shorten(message)} — default {getattr(default, key)!r} kept" for key, _, message in failed]
    config, lowered = limits.budget.clamp(TrainConfig.from_query(good))  # the service's own caps
    problems += lowered
    return LinkState(config, hide, problems, preset, seeds, view)


def _pairs(config: TrainConfig) -> dict[str, str]:
    """Every learner's setting of ``config`` as a link writes it (the server's own settings left out)."""
    learner = config.replace(**{name: getattr(TrainConfig(), name) for name in SERVER_FIELDS})
    return dict(parse_qsl(learner.to_query(changed_only=False), keep_blank_values=True))


def link_params(config: TrainConfig, hide: tuple[str, ...] = (), seeds: int | None = None,
                preset: str | None = None, view: str | None = None) -> dict[str, str]:
    """The query parameters that describe ``config``, the hidden controls, the seeds and the preset it
    started from — only what differs from that preset (or from ``OPENING``): ``read_link`` of them gives
    the same back."""
    start = PRESETS.get(preset) if preset else None
    base = _pairs(TrainConfig.from_query(start.query) if start else OPENING)
    params = {"preset": preset} if start else {}
    params.update({name: text for name, text in _pairs(config).items() if base.get(name) != text})
    if tuple(hide) != (start.hide if start else ()):
        params["hide"] = ",".join(hide)
    if seeds != (start.seeds if start else None):
        params["seeds"] = str(int(seeds)) if seeds else ""  # empty: as many as the budget allows
    if view:
        params["view"] = view
    return params
