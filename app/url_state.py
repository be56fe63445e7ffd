"""The experiment in the URL: read a link's settings leniently, and mirror the settings back into it.

A link holds the settings that differ from the defaults (``TrainConfig.to_query``), plus
``preset=NAME`` (start from a built-in preset) and ``hide=a,b`` (controls a teacher hides).
A bad value never stops the page: it is dropped, named in one line, and the default is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from procrustes_core import ProcrustesError, TrainConfig, field_names

from .limits import Limits
from .presets import PRESETS

SERVER_FIELDS = ("data_dir", "download", "threads")  # set by the operator, never by a link
CONTROL_GROUPS = ("presets", "data", "imbalance", "method", "mfw", "la", "zoo", "advanced", "more")


@dataclass
class LinkState:
    """What a link asks for: the config, the hidden controls, and the problems found."""

    config: TrainConfig
    hide: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)
    preset: str | None = None

    @property
    def message(self) -> str | None:
        """One line naming every problem, or None."""
        if not self.problems:
            return None
        return "Some link settings were not used, defaults kept: " + "; ".join(self.problems)


def _last(value) -> str:
    if isinstance(value, (list, tuple)):
        return str(value[-1]) if value else ""
    return str(value)


def read_link(params: Mapping, limits: Limits) -> LinkState:
    """Turn query parameters into a validated config, dropping (and naming) each bad value."""
    params = {key: _last(value) for key, value in params.items()}
    problems: list[str] = []
    base: dict[str, str] = {}
    preset = params.get("preset")
    hide: tuple[str, ...] = ()
    if preset:
        if preset in PRESETS:
            base = dict(parse_qsl(PRESETS[preset].query))
            hide = PRESETS[preset].hide
        else:
            problems.append(f"preset={preset!r}: expected one of {', '.join(PRESETS)}")
            preset = None
    if "hide" in params:
        names = [n.strip() for n in params["hide"].split(",") if n.strip()]
        allowed = set(CONTROL_GROUPS) | set(field_names())
        bad = [n for n in names if n not in allowed]
        if bad:
            problems.append(f"hide={bad[0]!r}: expected names of settings or of {', '.join(CONTROL_GROUPS)}")
        hide = tuple(n for n in names if n in allowed)
    settings = {k: v for k, v in params.items() if k in field_names() and k not in SERVER_FIELDS}
    if any(k in params for k in SERVER_FIELDS):
        problems.append(f"{', '.join(k for k in SERVER_FIELDS if k in params)}: set by the server, not by a link")
    good = dict(base)
    pending = list(settings.items())
    for _ in range(2):  # a second pass admits values that needed a later one (profile=custom needs counts)
        failed = []
        for key, raw in pending:
            try:
                TrainConfig.from_query({**good, key: raw})
                good[key] = raw
            except ProcrustesError as err:
                failed.append((key, raw, str(err)))
        pending = [(k, r) for k, r, _ in failed]
        if not failed:
            break
    problems += [message for _, _, message in failed]
    config = TrainConfig.from_query(good)
    if config.epochs > limits.max_epochs:
        problems.append(f"epochs={config.epochs}: this server allows at most {limits.max_epochs} "
                        "(PROCRUSTES_MAX_EPOCHS)")
        config = config.replace(epochs=limits.max_epochs)
    return LinkState(config, hide, problems, preset)


def link_params(config: TrainConfig, hide: tuple[str, ...] = ()) -> dict[str, str]:
    """The query parameters that describe ``config`` (and the hidden controls)."""
    learner = config.replace(**{name: getattr(TrainConfig(), name) for name in SERVER_FIELDS})
    params = dict(parse_qsl(learner.to_query(), keep_blank_values=True))
    if hide:
        params["hide"] = ",".join(hide)
    return params
