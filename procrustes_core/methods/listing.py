"""The listing of every method by kind, for ``procrustes methods``: text, JSON and docs/methods.md's tables."""

from __future__ import annotations

import json

from ..config import TrainConfig

KIND_TITLES = {"loss": "Losses", "sampler": "Samplers", "mixer": "Mixers", "schedule": "Schedules",
               "post-hoc": "Post-hoc steps", "augmentation": "Augmentation", "network": "Network variants",
               "transfer": "Transfer and decoupling"}


def method_knobs(name: str) -> dict:
    """What selecting method ``name`` gives each of its knobs: the defaults once its settings are applied."""
    from .catalogue import METHODS, method_settings

    selected = TrainConfig().replace(**method_settings(name))
    return {knob: getattr(selected, knob) for knob in METHODS[name].params}


def methods_text(kind: str | None = None) -> str:
    """Every method grouped by kind: name, one line, formula, how to select it, and its knobs' values then."""
    from .catalogue import KINDS, methods_of

    lines = []
    for k in KINDS if kind is None else (kind,):
        lines.append(KIND_TITLES[k].upper())
        for m in methods_of(k):
            select = " ".join(f"--{key.replace('_', '-')} {value}" for key, value in m.settings.items())
            knobs = ", ".join(f"{name}={value}" for name, value in method_knobs(m.name).items())
            lines.append(f"  {m.name:18s} {m.description}")
            lines.append(f"  {'':18s}   formula: {m.formula}")
            lines.append(f"  {'':18s}   select:  {select}" + (f"   (then {knobs})" if knobs else ""))
            if m.reference:
                lines.append(f"  {'':18s}   source:  {m.reference}")
        lines.append("")
    lines.append("A run combines one loss, one sampler, one mixer, loss-weight schedules and post-hoc steps, "
                 "an augmentation, network variants and a transfer step, and corrects for the class prior at most "
                 "once.")
    return "\n".join(lines)


def methods_json() -> str:
    from .catalogue import METHODS

    rows = [{"name": m.name, "kind": m.kind, "description": m.description, "formula": m.formula,
             "settings": m.settings, "knobs": method_knobs(m.name), "corrects_prior": m.corrects_prior,
             "reference": m.reference} for m in METHODS.values()]
    return json.dumps(rows, indent=1, ensure_ascii=False)


def methods_markdown() -> str:
    """The tables of docs/methods.md: one per kind, a row per method (the page embeds this output)."""
    from .catalogue import KINDS, methods_of

    parts = []
    for kind in KINDS:
        rows = [f"### {KIND_TITLES[kind]}", "", "| name | what it does | formula | select with | knobs then |",
                "|---|---|---|---|---|"]
        for m in methods_of(kind):
            select = " ".join(f"`{key}={value}`" for key, value in m.settings.items())
            knobs = ", ".join(f"`{name}={value}`" for name, value in method_knobs(m.name).items()) or "—"
            rows.append(f"| `{m.name}` | {m.description} | {m.formula} | {select} | {knobs} |")
        parts.append("\n".join(rows))
    return "\n\n".join(parts) + "\n"
