"""Built-in presets: named experiments a teacher can link to (``?preset=NAME``), each a query string."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    title: str
    query: str  # TrainConfig.to_query() form: only the settings that differ from the defaults
    hide: tuple[str, ...] = ()
    note: str = ""


PRESETS: dict[str, Preset] = {
    "underfit-overfit": Preset(
        "Under-fit then over-fit (step 100)",
        "profile=step&ratio=100.0&epochs=40",
        note="Plain training on MNIST-1D with 5 major and 5 minor classes: watch the minor classes' training "
             "accuracy lag (under-fit), then reach 100 % while their test accuracy stays low (over-fit).",
    ),
    "procrustes-vs-erm": Preset(
        "Procrustean training vs ERM",
        "profile=step&ratio=100.0&mixer=mfw&la_tau=1.0&epochs=40",
        note="Major feature weakening (s = 0.5 on the penultimate features, first half of training: the defaults "
             "chosen on a validation split) with post-hoc "
             "logit adjustment. Train it, then switch Method to ERM and train again; compare both on the "
             "Compare page, or press its 'Train ERM vs MFW' button.",
    ),
    "classroom-strength": Preset(
        "Classroom: only the mixing strength",
        "profile=step&ratio=50.0&mixer=mfw&epochs=20",
        hide=("presets", "data", "advanced", "more", "la", "zoo"),
        note="Everything but the mixing strength is fixed: move it and see how the minor classes respond.",
    ),
}


def preset_key(title: str) -> str | None:
    """The key of the preset with this title."""
    return next((key for key, preset in PRESETS.items() if preset.title == title), None)
