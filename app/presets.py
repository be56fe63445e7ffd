"""Built-in presets: named experiments a teacher can link to (``?preset=NAME``), each a query string."""

from __future__ import annotations

from dataclasses import dataclass

from procrustes_core import TrainConfig
from procrustes_core.presets import PAPER, STORY


@dataclass(frozen=True)
class Preset:
    title: str
    query: str  # TrainConfig.to_query() form: only the settings that differ from the defaults
    hide: tuple[str, ...] = ()
    note: str = ""
    seeds: int | None = None  # seeds to train (None: as the budget allows)


def _query(**settings) -> str:
    return TrainConfig(**settings).to_query()


PRESETS: dict[str, Preset] = {
    "paper-story": Preset(
        "The paper's story: MFW vs ERM (step 100)",
        _query(**STORY, mixer="mfw", la_tau=1.0),
        note="Major feature weakening with post-hoc logit adjustment, at a setting chosen on a validation split "
             "so that its gain over ERM + LA is beyond seed noise (benchmarks/results/fidelity.md). Train it, then "
             "press Compare's button to see the paired verdict over several seeds.",
        seeds=3,
    ),
    "underfit-overfit": Preset(
        "Under-fit then over-fit (step 100)",
        _query(**{**STORY, "epochs": 40}),
        note="Plain training with 5 major and 5 minor classes: watch the minor classes' training accuracy lag "
             "(under-fit), then reach 100 % while their test accuracy stays low (over-fit).",
        seeds=1,
    ),
    "paper-setting": Preset(
        "The paper setting (longer: 60 epochs, 20,000 samples)",
        _query(**PAPER, mixer="mfw", la_tau=1.0),
        note="The reference probe's budget: a larger gain, several minutes per seed on one core. Its saved "
             "multi-seed result is on the Compare page.",
        seeds=1,
    ),
    "classroom-strength": Preset(
        "Classroom: only the mixing strength",
        _query(**{**STORY, "ratio": 50.0}, mixer="mfw"),
        hide=("presets", "data", "advanced", "expert", "la"),
        note="Everything but the mixing strength is fixed: move it, train, and compare how the minor classes "
             "respond. Note your minor-class test accuracy for the class table.",
        seeds=2,
    ),
}


def preset_key(title: str) -> str | None:
    """The key of the preset with this title."""
    return next((key for key, preset in PRESETS.items() if preset.title == title), None)
