"""The app's one state: the settings live once, each has one widget that shows it and writes it by edit
events, and the link follows them."""

from __future__ import annotations

from app_support import TINY, chart, config_of, new_app

from app.url_state import link_params
from procrustes_core import TrainConfig


def state_of(at):
    return at.session_state["app_state"]


def test_an_edit_reaches_the_state_the_config_and_the_link_and_nothing_else_holds_the_settings():
    at = new_app(TINY).run()
    at.select_slider(key="w_ratio").set_value(20.0).run()
    assert state_of(at).settings["ratio"] == 20.0 and config_of(at).ratio == 20.0
    assert at.query_params["ratio"] == "20.0"
    assert not [k for k in ("settings", "config", "seeds_count", "link_message", "preset", "hide")
                if k in at.session_state]  # the copies the state replaced


def test_the_mixer_has_one_control_which_offers_every_mixer_behind_the_expert_switch():
    at = new_app(TINY).run()
    assert at.radio(key="w_mixer").options == ["ERM (plain training)", "MFW (Procrustean training)"]
    at.toggle(key="w_expert").set_value(True).run()
    assert len([w for w in at.sidebar if getattr(w, "key", None) == "w_mixer"]) == 1  # no second mixer control
    at.radio(key="w_mixer").set_value("mixup").run()
    assert config_of(at).mixer == "mixup" and at.query_params["mixer"] == "mixup"
    at.toggle(key="w_expert").set_value(False).run()
    assert at.radio(key="w_mixer").value == "mixup"  # the chosen mixer stays shown, and chosen
    at.radio(key="w_mixer").set_value("mfw").run()
    assert config_of(at).mixer == "mfw" and at.slider(key="w_mfw_strength")


def test_the_logit_adjustment_switch_is_a_view_of_tau():
    at = new_app(TINY).run()
    at.checkbox(key="w_la").check().run()
    assert config_of(at).la_tau == 1.0 and at.slider(key="w_la_tau").value == 1.0
    at.slider(key="w_la_tau").set_value(2.0).run()
    assert config_of(at).la_tau == 2.0 and at.query_params["la_tau"] == "2.0"
    at.checkbox(key="w_la").uncheck().run()
    assert config_of(at).la_tau == 0.0 and "la_tau" not in at.query_params
    assert not [s for s in at.slider if s.key == "w_la_tau"]


def test_a_setting_keeps_its_value_while_its_control_is_not_shown():
    at = new_app(TINY).run()
    at.toggle(key="w_expert").set_value(True).run()
    at.selectbox(key="w_loss").set_value("focal").run()
    at.toggle(key="w_expert").set_value(False).run()
    assert config_of(at).loss == "focal" and at.query_params["loss"] == "focal"
    at.toggle(key="w_expert").set_value(True).run()
    assert at.selectbox(key="w_loss").value == "focal"


def test_choosing_a_preset_replaces_the_state_and_the_link_names_the_preset():
    from app.presets import PRESETS

    at = new_app(TINY).run()
    at.selectbox(key="w_preset").set_value(PRESETS["mnist1d-paper"].title).run()
    wanted = TrainConfig.from_query(PRESETS["mnist1d-paper"].query)
    assert config_of(at) == wanted and state_of(at).seeds == PRESETS["mnist1d-paper"].seeds
    assert at.number_input(key="w_seeds").value == PRESETS["mnist1d-paper"].seeds
    assert dict(at.query_params) == {"preset": "mnist1d-paper"}  # its note comes with a shared link
    default = TrainConfig().epochs
    assert wanted.epochs != default  # the paper preset trains longer than the page's default
    at.number_input(key="w_epochs").set_value(default).run()  # back to the default, away from the preset
    assert dict(at.query_params) == {"preset": "mnist1d-paper", "epochs": str(default)}


def test_a_state_written_into_a_link_reads_back_the_same():
    from app.limits import Limits
    from app.presets import PRESETS
    from app.state import AppState

    states = [AppState(), AppState(TrainConfig(ratio=20, mixer="mfw", la_tau=1.0).to_dict(), seeds=4)]
    for key, preset in PRESETS.items():
        base = TrainConfig.from_query(preset.query)
        states += [AppState(base.to_dict(), key, preset.hide, preset.seeds),
                   AppState(base.replace(ratio=100.0, epochs=base.epochs + 1).to_dict(), key, (), None)]
    for state in states:
        again = AppState.from_link(state.link(), Limits())
        assert again.message is None, again.message
        assert (again.config(), again.preset, again.hide, again.seeds) == (
            state.config(), state.preset, state.hide, state.seeds)


def test_a_setting_not_valid_yet_is_one_line_turns_train_off_and_leaves_the_link_as_it_was():
    at = new_app(TINY).run()
    at.selectbox(key="w_profile").set_value("custom").run()
    at.text_input(key="w_counts").input("50,x").run()
    assert config_of(at) is None and at.button(key="train").disabled
    errors = [e.value for e in at.error if "Setting not valid" in e.value]
    assert len(errors) == 1 and "counts='50,x'" in errors[0] and "\n" not in errors[0]
    assert "counts" not in at.query_params  # the last valid experiment stays shareable
    at.text_input(key="w_counts").input("50,5").run()
    assert config_of(at).counts == [50, 5] and at.query_params["counts"] == "50,5"
    assert not at.button(key="train").disabled


def test_a_shared_link_is_read_once_and_then_follows_the_state():
    wanted = TrainConfig(ratio=50, epochs=7, n_samples=600, width=4)
    at = new_app(link_params(wanted)).run()
    assert config_of(at) == wanted
    at.number_input(key="w_epochs").set_value(3).run()
    assert config_of(at) == wanted.replace(epochs=3) and at.query_params["epochs"] == "3"


def test_the_class_count_chart_names_as_many_classes_as_the_data_have():
    at = new_app({"dataset": "toy2d", "toy_shape": "moons", "n_samples": "600"}).run()
    bars = chart(at, "Training samples per class")
    assert len(bars["data"][0]["x"]) == len(bars["data"][0]["y"]) == 2


def test_seeds_past_the_largest_seed_are_one_line_at_train_and_the_page_still_draws():
    from procrustes_core.names import SEED_MAX

    at = new_app({**TINY, "seed": str(SEED_MAX), "seeds": "3"}).run()
    assert not at.exception and not at.error
    at.button(key="train").click().run()
    assert not at.exception and "playground" not in at.session_state.get("jobs", {})
    assert [e.value for e in at.error if "seeds=" in e.value and "\n" not in e.value]


def test_a_link_with_a_former_preset_name_is_shared_under_todays_name():
    from app.presets import PRESETS
    from procrustes_core.presets import ALIASES

    former, today = next((a, n) for a, n in ALIASES.items() if n in list(PRESETS))  # one the app offers
    at = new_app({"preset": former}).run()
    assert not at.exception and not at.warning
    assert at.query_params["preset"] == today


def test_the_app_opens_on_the_story_setting_and_a_link_starts_from_it():
    from procrustes_core.models.nets import model_name
    from procrustes_core.presets import STORY

    opened = config_of(new_app().run())
    assert {k: getattr(opened, k) for k in STORY if k != "model"} == {k: v for k, v in STORY.items() if k != "model"}
    assert model_name(opened.model, "signal", opened.dataset) == STORY["model"]  # auto: another dataset gets its own
    assert opened.mixer == "none"  # plain training
    assert link_params(opened) == {}  # the opening settings need no link parameter
    weakened = config_of(new_app({"mixer": "mfw"}).run())  # MFW turned on weakens as the story preset does
    assert (weakened.mfw_layer, weakened.mfw_strength, weakened.mfw_detach) == (
        STORY["mfw_layer"], STORY["mfw_strength"], STORY["mfw_detach"])
    core = TrainConfig(mixer="mfw")  # the core's own MFW defaults differ: they are safe on every network
    assert (core.mfw_layer, core.mfw_detach) != (weakened.mfw_layer, weakened.mfw_detach)
