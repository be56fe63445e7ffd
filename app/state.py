"""The app's one state: the experiment's settings and a small page state, kept once per browser session.

Like TF Playground's ``State``, everything a learner sets lives here and nowhere else; the rest is
drawn from it, one way:

    link (first run) ──read_link──► AppState ──► widgets (each shows its setting; an edit is an event
                                       │          that writes that one setting back here)
                                       ├──► the link in the address bar (``link_params``)
                                       └──► config() ──► the service ──► figures

``settings`` is a TrainConfig dict that may hold a value not valid yet (text typed into a field, or a
combination the core refuses): ``config()`` names it in one line, and every Train button is off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.methods.catalogue import check_combination
from procrustes_core.names import seed_range
from procrustes_core.presets import preset_name

from .limits import Limits, is_teacher_key
from .url_state import OPENING, link_params, read_link

KEY = "app_state"


@dataclass
class AppState:
    """Settings of the experiment (``settings``) and of the page (preset, hidden controls, seeds)."""

    settings: dict[str, Any] = field(default_factory=lambda: OPENING.to_dict())
    preset: str | None = None
    hide: tuple[str, ...] = ()
    seeds: int | None = None  # None: as many as the budget allows
    message: str | None = None  # what was done with the link's bad values, until the learner trains
    teacher_key: str | None = None  # this server's key, from ``teacher=KEY`` or typed; never in the link
    view: str | None = None  # "projector": charts and narrator on one screen in large type
    _checked: tuple[str, TrainConfig | ProcrustesError] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_link(cls, params: dict, limits: Limits) -> AppState:
        """The state a link asks for, each bad value dropped or lowered and named in ``message``."""
        link = read_link(params, limits)
        teacher = params.get("teacher")
        teacher = teacher[-1] if isinstance(teacher, (list, tuple)) and teacher else teacher
        if teacher is not None and not is_teacher_key(teacher, limits):
            link.problems.append("teacher: not this server's key — ignored")
            teacher = None
        preset = preset_name(link.preset) if link.preset else None  # a former name: today's
        return cls(link.config.to_dict(), preset, link.hide, link.seeds, link.message, teacher, link.view)

    def load(self, config: TrainConfig, hide: tuple[str, ...] | None = None, seeds: int | None = None,
             preset: str | None = None) -> None:
        """Replace every setting (a preset chosen): the widgets show the new values on this run."""
        self.settings = config.to_dict()
        self.preset = preset
        self.seeds = seeds
        if hide is not None:
            self.hide = hide

    def hidden(self, *names: str) -> bool:
        """Whether a teacher's link hides any of these controls or groups."""
        return any(name in self.hide for name in names)

    def config(self) -> TrainConfig:
        """The validated config of the settings, or one ProcrustesError line naming what is wrong."""
        key = repr(sorted(self.settings.items()))
        if self._checked is None or self._checked[0] != key:
            try:
                found: TrainConfig | ProcrustesError = TrainConfig.from_dict(dict(self.settings))
                check_combination(found)  # contradicting methods are named at once, not at Train
            except ProcrustesError as err:
                found = err
            self._checked = (key, found)
        if isinstance(self._checked[1], ProcrustesError):
            raise self._checked[1]
        return self._checked[1]

    def valid_config(self) -> TrainConfig | None:
        """The config, or None while a setting is not valid (every Train button is then off)."""
        try:
            return self.config()
        except ProcrustesError:
            return None

    def link(self) -> dict[str, str]:
        """The query parameters of this state: what the address bar shows, so it can be shared."""
        config = self.valid_config()
        return link_params(config, self.hide, self.seeds, self.preset, self.view) if config is not None else {}

    @property
    def projector(self) -> bool:
        """Whether the page is shown for a projector: charts and narrator on one screen in large type."""
        return self.view == "projector"


def started() -> bool:
    """Whether this session's state exists (its link has been read)."""
    return KEY in st.session_state


def current(limits: Limits | None = None) -> AppState:
    """This session's state, read from its link on the session's first run."""
    if KEY not in st.session_state:
        st.session_state[KEY] = AppState.from_link(st.query_params.to_dict(), limits or Limits())
    return st.session_state[KEY]


def config() -> TrainConfig | None:
    """The session's validated config, or None while a setting is not valid."""
    return current().valid_config()


def mirror_to_url() -> None:
    """Keep the address bar equal to the current experiment (while the settings are valid)."""
    found = current()
    if found.valid_config() is None:
        return
    wanted = found.link()
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def seeds_for(config: TrainConfig, limits: Limits, default_most: int = 3) -> list[int]:
    """The seeds a page trains, from the config's seed on: the learner's count, or as many as the server's
    budget allows a request of this config (at most ``default_most``)."""
    count = current().seeds or limits.budget.seeds_within(config, default_most)
    return seed_range(config.seed, int(count), limit=None)  # the budget refuses too many on Train
