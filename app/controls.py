"""The sidebar: the settings a learner needs, each with one sentence on what it does, and the rest of
the core's settings behind an Expert switch — read into one validated TrainConfig.

The settings live in the app's one state (``state.py``), so hidden or not yet shown widgets lose
nothing: each setting has one widget, which shows it from there on every run, and its edit (the
widget's on_change event) writes that one setting back; nothing else writes it. The logit-adjustment
switch is a view of ``la_tau`` (on: the principled τ; off: 0), not a setting of its own. Expert widgets are built
from the core's declared constraints (``field_rule``) and its method catalogue, so a method or
setting the core adds later shows up with no change here; only the selected method's knobs are shown.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import streamlit as st

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.config import field_help as core_field_help
from procrustes_core.config import field_names as core_field_names
from procrustes_core.config import field_rule
from procrustes_core.data.registry import DATASETS
from procrustes_core.methods.catalogue import METHODS

from . import state, words, your_data
from .limits import Limits
from .presets import PRESETS, preset_key
from .url_state import SERVER_FIELDS, read_link

RATIOS = [1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0, 70.0, 100.0, 150.0, 200.0]
LRS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
PROFILE_LABELS = {"longtail": "long-tailed", "exp": "long-tailed (exp)", "step": "step", "custom": "custom counts"}
METHOD_LABELS = {"none": "ERM (plain training)", "mfw": "MFW (Procrustean training)"}  # the mixer's choices
BASIC_MIXERS = tuple(METHOD_LABELS)  # the Expert switch adds the core's other mixers
DEFAULT_TAU = 1.0
ZOO_KINDS = ("loss", "sampler", "mixer")
BASIC = ("dataset", "profile", "ratio", "counts", "mixer", "mfw_strength", "mfw_layer", "mfw_schedule", "la_tau",
         "epochs")
ADVANCED = ("model", "width", "norm", "epochs", "lr", "seed", "batch_size", "lr_schedule", "optimizer", "momentum",
            "weight_decay", "n_samples", "toy_shape", "n_max", "val_per_class", "data_seed", "eval_every", "device")
TORCHVISION = tuple(name for name, entry in DATASETS.items() if entry.needs_folder)  # read from a data folder


@functools.cache
def field_names() -> tuple[str, ...]:
    """The core's settings (fixed while the server runs; asked for hundreds of times per page)."""
    return tuple(core_field_names())


@functools.cache
def field_help() -> dict[str, str]:
    return core_field_help()


def help_of(name: str) -> str:
    return words.explain(name, field_help().get(name, ""))


# ------------------------------------------------------------------ widgets, bound one way


def hidden(*names: str) -> bool:
    return state.current().hidden(*names)


def _edited(name: str, key: str, from_widget: Callable[[Any], Any]) -> None:
    """A widget's edit (its on_change event): the one way a setting changes after the link is read."""
    state.current().settings[name] = from_widget(st.session_state[key])


def _bind(name: str, widget: Callable[..., Any], to_widget: Callable[[Any], Any] = lambda v: v,
          from_widget: Callable[[Any], Any] = lambda v: v) -> Any:
    """Show one widget for setting ``name``: it shows the state's value, and its edits write the state.
    ``widget(key, **event)`` draws it, passing ``event`` (the on_change callback) to Streamlit."""
    key = f"w_{name}"
    st.session_state[key] = to_widget(state.current().settings[name])
    widget(key, on_change=_edited, args=(name, key, from_widget))
    return state.current().settings[name]


def _options_with(options: list[float], value: float) -> list[float]:
    return sorted(set(options) | {float(value)})


def generic_widget(name: str, box) -> Any:
    """A widget built from the setting's declared constraint, with its plain label and sentence."""
    rule = field_rule(name)
    label, help_text = words.label(name), help_of(name)
    kind = type(rule).__name__
    if kind == "Choice":
        return _bind(name, lambda k, **event: box.selectbox(label, rule.options, key=k, help=help_text, **event))
    if kind == "Flag":
        return _bind(name, lambda k, **event: box.checkbox(label, key=k, help=help_text, **event))
    if kind == "Number":
        lo = None if rule.lo == -math.inf or rule.lo_open else (int(rule.lo) if rule.integer else float(rule.lo))
        hi = None if rule.hi == math.inf or rule.hi_open else (int(rule.hi) if rule.integer else float(rule.hi))
        if rule.integer:
            return _bind(name, lambda k, **event: box.number_input(label, lo, hi, step=1, key=k, help=help_text,
                                                                   **event))
        return _bind(name, lambda k, **event: box.number_input(label, lo, hi, key=k, help=help_text, format="%g",
                                                               **event),
                     to_widget=lambda v: None if v is None else float(v))
    # Counts, Text and anything newer: edited as text in the setting's own format (a text not valid yet is
    # kept as typed: the config names it in one line)
    return _bind(name, lambda k, **event: box.text_input(label, key=k, help=help_text, **event),
                 to_widget=lambda v: v if isinstance(v, str) else rule.format(v), from_widget=rule.parse)


def _preset_box(limits: Limits) -> None:
    titles = ["(your own settings)"] + [p.title for p in PRESETS.values()]
    current = state.current()

    def chosen() -> None:
        key = preset_key(st.session_state.w_preset)
        if key is None:
            current.preset = None
            return
        link = read_link({"preset": key}, limits)
        current.load(link.config, link.hide, link.seeds, preset=key)

    st.session_state.w_preset = PRESETS[current.preset].title if current.preset in PRESETS else titles[0]
    st.sidebar.selectbox("Preset", titles, key="w_preset", on_change=chosen,
                         help="A ready-made experiment; a teacher's link can name one with ?preset=NAME")


def _data_box(limits: Limits) -> None:
    box = st.sidebar
    settings = state.current().settings
    your_data.sidebar_box(limits, show=not hidden("data", "dataset"))  # an upload: 'your-data' offered after it
    if not hidden("data", "dataset"):
        def dataset_label(name: str) -> str:
            if your_data.picker_label(name):
                return your_data.picker_label(name)
            return f"{name} (needs a data folder)" if name in TORCHVISION and limits.data_dir is None else name

        # a learner's own file comes through an upload, never a server path: 'your-data' only after one
        offered = your_data.picker_names([name for name in field_rule("dataset").options if name != "your-data"])
        _bind("dataset", lambda k, **event: box.selectbox(words.label("dataset"), offered,
                                                          key=k, format_func=dataset_label, help=help_of("dataset"),
                                                          **event))
    if not hidden("data", "imbalance", "profile"):
        _bind("profile", lambda k, **event: box.selectbox(words.label("profile"), field_rule("profile").options,
                                                          key=k, format_func=lambda p: PROFILE_LABELS.get(p, p),
                                                          help=help_of("profile"), **event))
    if settings["profile"] == "custom":
        if not hidden("data", "imbalance", "counts"):
            generic_widget("counts", box)
    elif not hidden("data", "imbalance", "ratio"):
        options = _options_with(RATIOS, settings["ratio"])
        _bind("ratio", lambda k, **event: box.select_slider(words.label("ratio"), options, key=k,
                                                           format_func=lambda r: f"{r:g}", help=help_of("ratio"),
                                                           **event))


def _la_switched() -> None:
    """The logit-adjustment switch's edit: on sets the principled τ, off sets τ = 0."""
    settings = state.current().settings
    settings["la_tau"] = (settings["la_tau"] or DEFAULT_TAU) if st.session_state.w_la else 0.0


def _method_box() -> None:
    box = st.sidebar
    settings = state.current().settings
    if hidden("method"):
        return
    # the one control of the mixer: ERM or MFW, and with the Expert switch every mixer of the core
    every = field_rule("mixer").options
    options = [m for m in every if st.session_state.get("w_expert") or m in BASIC_MIXERS or m == settings["mixer"]]
    _bind("mixer", lambda k, **event: box.radio(
        "Training", options, key=k, format_func=lambda m: METHOD_LABELS.get(m, m), horizontal=True, **event,
        help="ERM trains every sample as it is. MFW (major feature weakening) mixes major-class features with "
             "other samples' so the network cannot fit the major classes first. "
             + " ".join(f"{m}: {METHODS[m].description}." for m in options if m not in BASIC_MIXERS and m in METHODS)))
    if settings["mixer"] == "mfw":
        if not hidden("mfw_strength"):
            _bind("mfw_strength", lambda k, **event: box.slider(words.label("mfw_strength"), 0.0, 1.0, step=0.05,
                                                               key=k, help=help_of("mfw_strength"), **event))
        if not hidden("mfw", "mfw_layer"):
            generic_widget("mfw_layer", box)
        if not hidden("mfw", "mfw_schedule"):
            generic_widget("mfw_schedule", box)
    if not hidden("la", "la_tau"):
        st.session_state.w_la = settings["la_tau"] > 0  # a view of τ
        box.checkbox("Post-hoc logit adjustment", key="w_la", on_change=_la_switched, help=help_of("la_tau"))
        if settings["la_tau"] > 0:
            top = max(3.0, settings["la_tau"])
            _bind("la_tau", lambda k, **event: box.slider(words.label("la_tau"), 0.0, top, step=0.25, key=k,
                                                         help=help_of("la_tau"), **event))


def _seeds_chosen() -> None:
    state.current().seeds = st.session_state.w_seeds


def _run_box(limits: Limits) -> None:
    """Epochs and seeds: the two settings every comparison needs."""
    box = st.sidebar
    if not hidden("advanced", "epochs"):
        top = int(min(field_rule("epochs").hi, limits.budget.max_epochs))
        _bind("epochs", lambda k, **event: box.number_input(
            words.label("epochs"), 1, top, step=1, key=k, help=f"{help_of('epochs')} This server allows up to {top}.",
            **event))
    if not hidden("seeds"):
        most = limits.budget.max_seeds
        st.session_state.w_seeds = state.current().seeds
        box.number_input("Seeds", 1, most, step=1, key="w_seeds", placeholder="as many as the budget allows",
                         on_change=_seeds_chosen,
                         help="Runs of the same settings with different seeds, trained side by side. One seed cannot "
                              "tell an effect from luck; the curves then show the mean with a band. Up to "
                              f"{most} here.")


def _zoo_box() -> set[str]:
    """Every other method of the core: a choice per kind with only the chosen method's knobs, then
    the loss-weight schedules and post-hoc steps."""
    settings = state.current().settings
    st.markdown("**Methods**")
    shown: set[str] = {"mfw_strength", "mfw_layer", "mfw_schedule", "la_tau"}
    for kind in ZOO_KINDS:
        if hidden(kind):
            continue
        if kind != "mixer":  # the mixer's control is the Training choice above, with every mixer now
            options = field_rule(kind).options
            _bind(kind, lambda k, kind=kind, options=options, **event: st.selectbox(
                words.label(kind), options, key=k, help=help_of(kind),
                format_func=lambda m: f"{m} — {METHODS[m].description}" if m in METHODS else m, **event))
        chosen = METHODS.get(settings[kind])
        shown.add(kind)
        for knob in chosen.params if chosen else ():
            if knob not in shown and not hidden(knob):
                generic_widget(knob, st)
                shown.add(knob)
    st.markdown("**Schedules and post-hoc steps**")
    for method in METHODS.values():
        if method.kind not in ("schedule", "post-hoc"):
            continue
        for knob in [*method.settings, *method.params]:
            if knob in field_names() and knob not in shown and knob not in ZOO_KINDS and not hidden(knob):
                generic_widget(knob, st)
                shown.add(knob)
    return shown


def _expert_box(limits: Limits) -> None:
    if hidden("expert", "zoo", "advanced"):
        return
    if not st.sidebar.toggle("Expert", key="w_expert",
                             help="Every method of the core (losses, samplers, mixers, schedules) and the model, "
                                  "optimiser and data settings."):
        return
    settings = state.current().settings
    with st.sidebar.container(border=True):
        shown = _zoo_box()
        st.markdown("**Model, data and optimiser**")
        for name in ADVANCED:
            if name in shown or name in ("epochs",) or hidden(name) or name not in field_names():
                continue
            if name == "toy_shape" and settings["dataset"] != "toy2d":
                continue
            if name == "lr":
                options = _options_with(LRS, settings["lr"])
                _bind("lr", lambda k, options=options, **event: st.select_slider(
                    words.label("lr"), options, key=k, format_func=lambda v: f"{v:g}", help=help_of("lr"), **event))
            else:
                generic_widget(name, st)
            shown.add(name)
        placed = shown | set(BASIC) | set(SERVER_FIELDS)
        rest = [n for n in field_names() if n not in placed and not hidden(n) and not _knob_of_unchosen(n)]
        if rest:
            st.markdown("**More settings**")
            for name in rest:
                generic_widget(name, st)


def _knob_of_unchosen(name: str) -> bool:
    """A knob of a loss, sampler or mixer that is not selected (shown only with its method)."""
    settings = state.current().settings
    owners = [m for m in METHODS.values() if name in m.params]
    return bool(owners) and all(m.kind in ZOO_KINDS and settings.get(m.kind) != m.name for m in owners)


def sidebar(limits: Limits) -> TrainConfig | None:
    """Draw every control; return the validated config, or None (with one error line shown)."""
    if not hidden("presets"):
        _preset_box(limits)
    _data_box(limits)
    _method_box()
    _run_box(limits)
    _expert_box(limits)
    try:
        return state.current().config()
    except ProcrustesError as err:
        st.sidebar.error(f"Setting not valid: {err}")
        return None  # every page's Train button is off until the settings are valid again
