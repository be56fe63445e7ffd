"""The sidebar: one widget per setting, read into a validated TrainConfig.

The settings live in ``st.session_state.settings`` (a TrainConfig dict) so that hidden or not yet
shown widgets keep their values; each widget is seeded from there and writes back to it. Widgets
are built from the core's declared constraints (``field_rule``), so a setting the core adds later
shows up under "More settings" (or under "Method" for method fields) with no change here.
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
from procrustes_core.methods.catalogue import check_combination

from .limits import Limits
from .presets import PRESETS, preset_key
from .url_state import SERVER_FIELDS, link_params, read_link

RATIOS = [1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0, 70.0, 100.0, 150.0, 200.0]
LRS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
PROFILE_LABELS = {"longtail": "long-tailed", "exp": "long-tailed (exp)", "step": "step", "custom": "custom counts"}
METHODS = ("ERM", "MFW")
METHOD_LABELS = {"ERM": "ERM (plain training)", "MFW": "MFW (Procrustean training)"}
DEFAULT_TAU = 1.0
# Method fields the core may offer (the method zoo); shown under "Method" when they exist.
METHOD_FIELDS = ("loss", "sampler", "mixer", "reweight", "schedule", "drw", "posthoc")
DATA_FIELDS = ("dataset", "profile", "ratio", "counts")
MFW_FIELDS = ("mfw_layer", "mfw_schedule", "mfw_until", "mfw_coef", "mfw_alpha", "mfw_prob", "mfw_weights",
              "mfw_gamma")
ADVANCED_FIELDS = ("model", "width", "epochs", "lr", "seed", "device", "batch_size", "lr_schedule", "optimizer",
                   "momentum", "weight_decay", "n_samples", "toy_shape", "n_max", "val_per_class", "data_seed")
PLACED = set(DATA_FIELDS) | {"mfw_strength", "la_tau"} | set(MFW_FIELDS) | set(ADVANCED_FIELDS) | set(SERVER_FIELDS)
TORCHVISION = ("mnist", "fashion-mnist", "cifar10", "cifar100")


@functools.cache
def field_names() -> tuple[str, ...]:
    """The core's settings (fixed while the server runs; asked for hundreds of times per page)."""
    return tuple(core_field_names())


@functools.cache
def field_help() -> dict[str, str]:
    return core_field_help()


# ------------------------------------------------------------------ session state


def init_session(limits: Limits) -> None:
    """On a session's first run, take the settings from the link (bad values named, defaults kept)."""
    if "settings" in st.session_state:
        return
    link = read_link(st.query_params.to_dict(), limits)
    st.session_state.settings = link.config.to_dict()
    st.session_state.hide = link.hide
    st.session_state.link_message = link.message
    st.session_state.preset = link.preset


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
    wanted = link_params(config, st.session_state.get("hide", ()))
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
    """A widget built from the setting's declared constraint."""
    rule = field_rule(name)
    label, help_text = name.replace("_", " "), field_help()[name]
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
            st.session_state.w_preset = PRESETS[key].title

    st.sidebar.selectbox("Preset", titles, key="w_preset", on_change=chosen,
                         help="A ready-made experiment; a link can name one with ?preset=NAME")
    current = st.session_state.get("preset")
    if current in PRESETS and PRESETS[current].note:
        st.sidebar.caption(PRESETS[current].note)


def _data_box(limits: Limits) -> None:
    box = st.sidebar
    box.subheader("Data")
    if not hidden("data", "dataset"):
        def dataset_label(name: str) -> str:
            return f"{name} (needs a data folder)" if name in TORCHVISION and limits.data_dir is None else name

        _bind("dataset", lambda k: box.selectbox("Dataset", field_rule("dataset").options, key=k,
                                                  format_func=dataset_label, help=field_help()["dataset"]))
    if not hidden("data", "imbalance", "profile"):
        _bind("profile", lambda k: box.selectbox("Imbalance profile", field_rule("profile").options, key=k,
                                                  format_func=lambda p: PROFILE_LABELS.get(p, p),
                                                  help=field_help()["profile"]))
    profile = st.session_state.settings["profile"]
    if profile == "custom":
        if not hidden("data", "imbalance", "counts"):
            generic_widget("counts", box)
    elif not hidden("data", "imbalance", "ratio"):
        options = _options_with(RATIOS, st.session_state.settings["ratio"])
        _bind("ratio", lambda k: box.select_slider("Imbalance ratio (largest / smallest class)", options, key=k,
                                                   format_func=lambda r: f"{r:g}", help=field_help()["ratio"]))


def _method_box() -> None:
    box = st.sidebar
    settings = st.session_state.settings
    if hidden("method"):
        return
    box.subheader("Method")
    if "w_method" not in st.session_state:
        st.session_state.w_method = "MFW" if settings["mixer"] == "mfw" else "ERM"
    method = box.radio("Training", METHODS, key="w_method", format_func=METHOD_LABELS.get, horizontal=True,
                       help="ERM: plain training. MFW: major feature weakening — major-class features are mixed "
                            "with other samples' so the network cannot fit the major classes first.")
    if method == "MFW":  # MFW is the 'mfw' mixer; mixup and remix go with Training: ERM
        settings["mixer"] = "mfw"
        if "w_mixer" in st.session_state:
            st.session_state.w_mixer = "mfw"
        if not hidden("mfw_strength"):
            _bind("mfw_strength", lambda k: box.slider("Mixing strength s", 0.0, 1.0, step=0.05, key=k,
                                                       help=field_help()["mfw_strength"]))
        if not hidden("mfw"):
            with box.expander("MFW options"):
                for name in MFW_FIELDS:
                    if name in field_names() and not hidden(name):
                        generic_widget(name, st)
    elif settings["mixer"] == "mfw":
        settings["mixer"] = "none"
        if "w_mixer" in st.session_state:
            st.session_state.w_mixer = "none"
    if not hidden("la", "la_tau"):
        if "w_la" not in st.session_state:
            st.session_state.w_la = settings["la_tau"] > 0
        if box.checkbox("Post-hoc logit adjustment", key="w_la",
                        help="Subtract tau · log(class prior) from the logits at test time"):
            if settings["la_tau"] == 0:
                settings["la_tau"] = DEFAULT_TAU
            _bind("la_tau", lambda k: box.slider("tau", 0.0, max(3.0, settings["la_tau"]), step=0.25, key=k,
                                                 help=field_help()["la_tau"]))
        else:
            settings["la_tau"] = 0.0
            st.session_state.pop("w_la_tau", None)
    if not hidden("zoo"):
        _zoo_box()


def _registry() -> dict:
    """The core's methods by name."""
    from procrustes_core.methods.catalogue import METHODS

    return METHODS


@functools.cache
def method_fields() -> tuple[str, ...]:
    """Settings that select or tune a method, beyond MFW strength and logit adjustment."""
    names = [n for n in METHOD_FIELDS if n in field_names()]
    for method in _registry().values():
        for name in [*method.settings, *method.params]:
            if name in field_names() and name not in names:
                names.append(name)
    return tuple(n for n in names if n not in PLACED)


def _zoo_box() -> None:
    """Every other method the core offers: a choice per kind (loss, sampler, mixer) with the chosen
    method's knobs, then schedules and post-hoc steps. Read from the core, so new methods appear."""
    registry = _registry()
    fields = method_fields()
    if not fields:
        return
    settings = st.session_state.settings
    shown: set[str] = set()
    with st.sidebar.expander("More methods: loss, sampler, mixing, schedules"):
        for name in ("loss", "sampler", "mixer"):
            if name not in fields or hidden(name):
                continue
            rule = field_rule(name)
            describe = {m: registry[m].description for m in rule.options if m in registry}
            _bind(name, lambda k, rule=rule, name=name: st.selectbox(
                name, rule.options, key=k, help=field_help()[name]))
            chosen = registry.get(settings[name])
            shown.add(name)
            if chosen is None:
                continue
            st.caption(describe.get(settings[name], ""))
            for knob in chosen.params:
                if knob in fields and knob not in shown and not hidden(knob):
                    generic_widget(knob, st)
                    shown.add(knob)
        elsewhere = {p for m in registry.values() if m.kind not in ("loss", "sampler", "mixer") for p in m.params}
        knob_of_unchosen = {p for m in registry.values() if m.kind in ("loss", "sampler", "mixer")
                            and settings.get(m.kind) != m.name for p in m.params} - elsewhere
        rest = [n for n in fields if n not in shown and n not in knob_of_unchosen and not hidden(n)]
        if rest:
            st.markdown("**Schedules and post-hoc steps**")
            for name in rest:
                generic_widget(name, st)


def _advanced_box(limits: Limits) -> None:
    if hidden("advanced"):
        return
    settings = st.session_state.settings
    with st.sidebar.expander("Advanced: model, epochs, learning rate, seed, device"):
        for name in ADVANCED_FIELDS:
            if name not in field_names() or hidden(name):
                continue
            if name == "epochs":
                top = int(min(field_rule("epochs").hi, limits.max_epochs))
                _bind("epochs", lambda k, top=top: st.number_input(
                    "epochs", 1, top, step=1, key=k, help=f"{field_help()['epochs']} (this server: ≤ {top})"))
            elif name == "lr":
                options = _options_with(LRS, settings["lr"])
                _bind("lr", lambda k, options=options: st.select_slider(
                    "learning rate", options, key=k, format_func=lambda v: f"{v:g}", help=field_help()["lr"]))
            elif name == "toy_shape" and settings["dataset"] != "toy2d":
                continue
            else:
                generic_widget(name, st)


def _more_box() -> None:
    extra = [n for n in field_names() if n not in PLACED and n not in method_fields() and not hidden(n)]
    if extra and not hidden("more"):
        with st.sidebar.expander("More settings"):
            for name in extra:
                generic_widget(name, st)


def sidebar(limits: Limits) -> TrainConfig | None:
    """Draw every control; return the validated config, or None (with one error line shown)."""
    if not hidden("presets"):
        _preset_box()
    _data_box(limits)
    _method_box()
    _advanced_box(limits)
    _more_box()
    try:
        config = TrainConfig.from_dict(dict(st.session_state.settings))
        check_combination(config)  # contradicting methods are named at once, not at Train
    except ProcrustesError as err:
        st.sidebar.error(f"Setting not valid: {err}")
        config = None  # every page's Train button is off until the settings are valid again
    st.session_state.config = config
    return config
