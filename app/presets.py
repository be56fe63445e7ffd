"""The app's presets: the core's named runs (``procrustes_core.presets``) with what the app adds by the
same name — a note for the learner, the controls a teacher hides, and the seeds to train. Former names
(``paper-story``, ``paper-setting``) still open their preset from an old link."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.presets import PRESETS as CORE_PRESETS
from procrustes_core.presets import preset_name


@dataclass(frozen=True)
class Preset:
    title: str
    query: str  # TrainConfig.to_query() form: only the settings that differ from the defaults
    hide: tuple[str, ...] = ()
    note: str = ""
    seeds: int | None = None  # seeds to train (None: as the budget allows)


@dataclass(frozen=True)
class PageFields:
    """What the app adds to a core preset."""

    note: str = ""
    hide: tuple[str, ...] = ()
    seeds: int | None = None


# The presets the app offers, in the order its preset box lists them.
PAGE_FIELDS: dict[str, PageFields] = {
    "mnist1d-story": PageFields(
        note="Major feature weakening with post-hoc logit adjustment, at a setting chosen on a validation split "
             "so that its gain over ERM + LA is beyond seed noise (benchmarks/results/fidelity.md). Train it, then "
             "press Compare's button to see the paired verdict over several seeds.",
        seeds=3),
    "underfit-overfit": PageFields(
        note="Plain training with 5 major and 5 minor classes: watch the minor classes' training accuracy lag "
             "(under-fit), then reach 100 % while their test accuracy stays low (over-fit).",
        seeds=1),
    "mnist1d-paper": PageFields(
        note="The reference probe's budget: a larger gain, several minutes per seed on one core. Its saved "
             "multi-seed result is on the Compare page.",
        seeds=1),
    "classroom-strength": PageFields(
        note="Everything but the mixing strength is fixed: move it, train, and compare how the minor classes "
             "respond. Note your minor-class test accuracy for the class table.",
        hide=("presets", "data", "advanced", "expert", "la"),
        seeds=2),
}


class Presets(Mapping[str, Preset]):
    """The app's presets by name; a former name finds its preset too, but only current names are listed."""

    def __init__(self, fields: Mapping[str, PageFields]):
        self._presets = {name: Preset(CORE_PRESETS[name].title, TrainConfig(**CORE_PRESETS[name].settings).to_query(),
                                      page.hide, page.note, page.seeds) for name, page in fields.items()}

    def __getitem__(self, name: str) -> Preset:
        try:
            return self._presets[preset_name(name)]
        except ProcrustesError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._presets)

    def __len__(self) -> int:
        return len(self._presets)


PRESETS = Presets(PAGE_FIELDS)


def preset_key(title: str) -> str | None:
    """The key of the preset with this title."""
    return next((key for key, preset in PRESETS.items() if preset.title == title), None)
