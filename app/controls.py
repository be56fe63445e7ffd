"""The sidebar: the settings a learner needs, each with one sentence on what it does, and the rest of
the core's settings behind an Expert switch — read into one validated TrainConfig.

The settings live in ``st.session_state.settings`` (a TrainConfig dict) so that hidden or not yet
shown widgets keep their values; each widget is seeded from there and writes back to it. Expert
widgets are built from the core's declared constraints (``field_rule``) and its method catalogue, so
a method or setting the core adds later shows up with no change here; only the selected method's
knobs are shown.
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
from procrustes_core.methods.catalogue import METHODS, check_combination
from procrustes_core.names import seed_range

from . import words
from .limits import Limits
from .presets import PRESETS, preset_key
from .url_state import SERVER_FIELDS, link_params, read_link

RATIOS = [1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0, 70.0, 100.0, 150.0, 200.0]
LRS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
PROFILE_LABELS = {"longtail": "long-tailed", "exp": "long-tailed (exp)", "step": "step", "custom": "custom counts"}
METHOD_LABELS = {"ERM": "ERM (plain training)", "MFW": "MFW (Procrustean training)"}
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


# ------------------------------------------------------------------ session state


def init_session(limits: Limits) -> None:
    """On a session's first run, take the settings from the link (each problem named, with what was done)."""
    if "settings" in st.session_state:
        return
    link = read_link(st.query_params.to_dict(), limits)
    st.session_state.settings = link.config.to_dict()
    st.session_state.hide = link.hide
    st.session_state.link_message = link.message
    st.session_state.preset = link.preset
    st.session_state.seeds_count = link.seeds


def apply_config(config: TrainConfig, hide: tuple[str, ...] | None = None) -> None:
    """Replace every setting (the widgets are re-seeded on the next run)."""
    st.session_state.settings = config.to_dict()
    if hide is not None:
        st.session_state.hide = hide
    for key in [k for k in st.session_state if str(k).startswith("w_")]:
        del st.session_state[key]


def hidden(*names: str) -> bool:
    hide = st.session_state.get("hide", ())
    return any(name in hide for name in names)


def mirror_to_url(config: TrainConfig) -> None:
    """Keep the address bar equal to the current experiment, so it can be shared."""
    wanted = link_params(config, st.session_state.get("hide", ()), st.session_state.get("seeds_count"))
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


# ------------------------------------------------------------------ widgets


def _bind(name: str, widget: Callable[[str], Any], to_widget: Callable[[Any], Any] = lambda v: v,
          from_widget: Callable[[Any], Any] = lambda v: v) -> Any:
    """Show one widget for setting ``name``, seeded from and written back to the settings."""
    settings = st.session_state.settings
    key = f"w_{name}"
    if key not in st.session_state:
        st.session_state[key] = to_widget(settings[name])
    value = from_widget(widget(key))
    settings[name] = value
    return value


def _options_with(options: list[float], value: float) -> list[float]:
    return sorted(set(options) | {float(value)})


def generic_widget(name: str, box) -> Any:
    """A widget built from the setting's declared constraint, with its plain label and sentence."""
    rule = field_rule(name)
    label, help_text = words.label(name), help_of(name)
    kind = type(rule).__name__
    if kind == "Choice":
        return _bind(name, lambda k: box.selectbox(label, rule.options, key=k, help=help_text))
    if kind == "Flag":
        return _bind(name, lambda k: box.checkbox(label, key=k, help=help_text))
    if kind == "Number":
        lo = None if rule.lo == -math.inf or rule.lo_open else (int(rule.lo) if rule.integer else float(rule.lo))
        hi = None if rule.hi == math.inf or rule.hi_open else (int(rule.hi) if rule.integer else float(rule.hi))
        if rule.integer:
            return _bind(name, lambda k: box.number_input(label, lo, hi, step=1, key=k, help=help_text))
        return _bind(name, lambda k: box.number_input(label, lo, hi, key=k, help=help_text, format="%g"),
                     to_widget=lambda v: None if v is None else float(v))
    # Counts, Text and anything newer: edited as text in the setting's own format
    return _bind(name, lambda k: box.text_input(label, key=k, help=help_text),
                 to_widget=rule.format, from_widget=rule.parse)


def _preset_box() -> None:
    titles = ["(your own settings)"] + [p.title for p in PRESETS.values()]
    current = st.session_state.get("preset")
    if "w_preset" not in st.session_state:
        st.session_state.w_preset = PRESETS[current].title if current in PRESETS else titles[0]

    def chosen() -> None:
        key = preset_key(st.session_state.w_preset)
        st.session_state.preset = key
        if key is not None:
            link = read_link({"preset": key}, st.session_state.get("limits") or Limits())
            apply_config(link.config, link.hide)
            st.session_state.seeds_count = link.seeds
            st.session_state.w_preset = PRESETS[key].title

    st.sidebar.selectbox("Preset", titles, key="w_preset", on_change=chosen,
                         help="A ready-made experiment; a teacher's link can name one with ?preset=NAME")


def _data_box(limits: Limits) -> None:
    box = st.sidebar
    if not hidden("data", "dataset"):
        def dataset_label(name: str) -> str:
            return f"{name} (needs a data folder)" if name in TORCHVISION and limits.data_dir is None else name

        _bind("dataset", lambda k: box.selectbox(words.label("dataset"), field_rule("dataset").options, key=k,
                                                  format_func=dataset_label, help=help_of("dataset")))
    if not hidden("data", "imbalance", "profile"):
        _bind("profile", lambda k: box.selectbox(words.label("profile"), field_rule("profile").options, key=k,
                                                  format_func=lambda p: PROFILE_LABELS.get(p, p),
                                                  help=help_of("profile")))
    profile = st.session_state.settings["profile"]
    if profile == "custom":
        if not hidden("data", "imbalance", "counts"):
            generic_widget("counts", box)
    elif not hidden("data", "imbalance", "ratio"):
        options = _options_with(RATIOS, st.session_state.settings["ratio"])
        _bind("ratio", lambda k: box.select_slider(words.label("ratio"), options, key=k,
                                                   format_func=lambda r: f"{r:g}", help=help_of("ratio")))


def _method_box() -> None:
    box = st.sidebar
    settings = st.session_state.settings
    if hidden("method"):
        return
    if "w_method" not in st.session_state:
        st.session_state.w_method = "MFW" if settings["mixer"] == "mfw" else "ERM"
    method = box.radio("Training", tuple(METHOD_LABELS), key="w_method", format_func=METHOD_LABELS.get,
                       horizontal=True, help="ERM trains every sample as it is. MFW (major feature weakening) mixes "
                                             "major-class features with other samples' so the network cannot fit "
                                             "the major classes first.")
    if method == "MFW":  # MFW is the 'mfw' mixer; mixup and remix are Expert choices under ERM
        settings["mixer"] = "mfw"
        if not hidden("mfw_strength"):
            _bind("mfw_strength", lambda k: box.slider(words.label("mfw_strength"), 0.0, 1.0, step=0.05, key=k,
                                                       help=help_of("mfw_strength")))
        if not hidden("mfw", "mfw_layer"):
            generic_widget("mfw_layer", box)
        if not hidden("mfw", "mfw_schedule"):
            generic_widget("mfw_schedule", box)
    elif settings["mixer"] == "mfw":
        settings["mixer"] = "none"
    st.session_state.pop("w_mixer", None)  # re-seeded from the settings when the Expert box shows it
    if not hidden("la", "la_tau"):
        if "w_la" not in st.session_state:
            st.session_state.w_la = settings["la_tau"] > 0
        if box.checkbox("Post-hoc logit adjustment", key="w_la", help=help_of("la_tau")):
            if settings["la_tau"] == 0:
                settings["la_tau"] = DEFAULT_TAU
            _bind("la_tau", lambda k: box.slider(words.label("la_tau"), 0.0, max(3.0, settings["la_tau"]), step=0.25,
                                                 key=k, help=help_of("la_tau")))
        else:
            settings["la_tau"] = 0.0
            st.session_state.pop("w_la_tau", None)


def _run_box(limits: Limits) -> None:
    """Epochs and seeds: the two settings every comparison needs."""
    box = st.sidebar
    if not hidden("advanced", "epochs"):
        top = int(min(field_rule("epochs").hi, limits.budget.max_epochs))
        _bind("epochs", lambda k: box.number_input(words.label("epochs"), 1, top, step=1, key=k,
                                                   help=f"{help_of('epochs')} This server allows up to {top}."))
    if not hidden("seeds"):
        if "w_seeds" not in st.session_state:
            st.session_state.w_seeds = int(st.session_state.get("seeds_count") or 0) or None
        st.session_state.seeds_count = box.number_input(
            "Seeds", 1, limits.budget.max_seeds, step=1, key="w_seeds", placeholder="as many as the budget allows",
            help="Runs of the same settings with different seeds, trained side by side. One seed cannot tell an "
                 f"effect from luck; the curves then show the mean with a band. Up to {limits.budget.max_seeds} here.")


def _zoo_box() -> None:
    """Every other method of the core: a choice per kind with only the chosen method's knobs, then
    the loss-weight schedules and post-hoc steps."""
    settings = st.session_state.settings
    st.markdown("**Methods**")
    shown: set[str] = {"mfw_strength", "mfw_layer", "mfw_schedule", "la_tau"}
    for kind in ZOO_KINDS:
        if hidden(kind):
            continue
        options = field_rule(kind).options
        _bind(kind, lambda k, kind=kind, options=options: st.selectbox(
            words.label(kind), options, key=k, help=help_of(kind),
            format_func=lambda m: f"{m} — {METHODS[m].description}" if m in METHODS else m))
        chosen = METHODS.get(settings[kind])
        shown.add(kind)
        for knob in chosen.params if chosen else ():
            if knob not in shown and not hidden(knob):
                generic_widget(knob, st)
                shown.add(knob)
    if settings["mixer"] == "mfw" and st.session_state.get("w_method") != "MFW":
        st.session_state.w_method = "MFW"  # chosen as the mixer here: the Training radio follows on the next run
    if settings["mixer"] in ("mixup", "remix") and st.session_state.get("w_method") == "MFW":
        st.session_state.w_method = "ERM"
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
    with st.sidebar.container(border=True):
        shown = _zoo_box() or set()
        st.markdown("**Model, data and optimiser**")
        for name in ADVANCED:
            if name in shown or name in ("epochs",) or hidden(name) or name not in field_names():
                continue
            if name == "toy_shape" and st.session_state.settings["dataset"] != "toy2d":
                continue
            if name == "lr":
                options = _options_with(LRS, st.session_state.settings["lr"])
                _bind("lr", lambda k, options=options: st.select_slider(
                    words.label("lr"), options, key=k, format_func=lambda v: f"{v:g}", help=help_of("lr")))
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
    settings = st.session_state.settings
    owners = [m for m in METHODS.values() if name in m.params]
    return bool(owners) and all(m.kind in ZOO_KINDS and settings.get(m.kind) != m.name for m in owners)


def sidebar(limits: Limits) -> TrainConfig | None:
    """Draw every control; return the validated config, or None (with one error line shown)."""
    if not hidden("presets"):
        _preset_box()
    _data_box(limits)
    _method_box()
    _run_box(limits)
    _expert_box(limits)
    try:
        config = TrainConfig.from_dict(dict(st.session_state.settings))
        check_combination(config)  # contradicting methods are named at once, not at Train
    except ProcrustesError as err:
        st.sidebar.error(f"Setting not valid: {err}")
        config = None  # every page's Train button is off until the settings are valid again
    st.session_state.config = config
    return config


def seeds_for(config: TrainConfig, limits: Limits, default_most: int = 3) -> list[int]:
    """The seeds a page trains: the learner's count, or as many as the budget allows (at most
    ``default_most``), starting at the config's seed."""
    chosen = st.session_state.get("seeds_count")
    if not chosen:
        chosen = default_most
        try:
            budget = limits.budget
            per_seed = budget.check(config, 1).flops
            chosen = max(1, min(default_most, int(budget.max_tflop * 1e12 // max(per_seed, 1.0)), budget.max_seeds))
        except ProcrustesError:
            chosen = 1  # the run itself is over budget: Train will say why
    return seed_range(config.seed, int(chosen), limit=None)  # the budget refuses too many on Train
