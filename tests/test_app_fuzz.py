"""Fuzz the app: random valid settings train (one epoch, tiny data) and random links render on every page,
and no exception ever reaches the page."""

from __future__ import annotations

import pytest
from app_support import chart, config_of, new_app, texts, wait
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.url_state import link_params
from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.config import field_names, field_rule


def options(name: str, fallback: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(field_rule(name).options) if name in field_names() else fallback


@st.composite
def valid_settings(draw) -> TrainConfig:
    dataset = draw(st.sampled_from(["mnist1d", "digits", "toy2d"]))
    model = draw(st.sampled_from({"mnist1d": ["auto", "mlp", "cnn1d"], "digits": ["auto", "mlp", "cnn2d"],
                                  "toy2d": ["auto", "mlp"]}[dataset]))
    values = dict(
        dataset=dataset, model=model, epochs=1, width=draw(st.sampled_from([4, 8])),
        n_samples=draw(st.sampled_from([400, 600])), batch_size=draw(st.sampled_from([32, 64, 128])),
        profile=draw(st.sampled_from(["longtail", "exp", "step"])),
        ratio=draw(st.floats(1, 200).map(lambda r: round(r, 2))),
        seed=draw(st.integers(0, 10_000)), lr=draw(st.sampled_from([0.005, 0.01, 0.05, 0.1])),
        optimizer=draw(st.sampled_from(["sgd", "adam"])),
        mfw_layer=draw(st.sampled_from(["input", "block1", "block2", "penultimate", "random"])),
        mfw_schedule=draw(st.sampled_from(options("mfw_schedule"))),
        mfw_weights=draw(st.sampled_from(options("mfw_weights"))),
    )
    if "toy_shape" in field_names():
        values["toy_shape"] = draw(st.sampled_from(options("toy_shape")))
    values["mixer"] = draw(st.sampled_from(options("mixer")))
    if values["mixer"] == "mfw":
        values["mfw_strength"] = draw(st.floats(0, 1).map(lambda s: round(s, 2)))
    # at most one correction of the class prior per run (the core's rule)
    correction = draw(st.sampled_from(["none", "loss", "sampler", "la"]))
    plain_losses = [n for n in options("loss", ("ce",)) if n in ("ce", "focal", "ldam")]
    correcting_losses = [n for n in options("loss") if n not in plain_losses]
    if "loss" in field_names():
        values["loss"] = draw(st.sampled_from(correcting_losses if correction == "loss" and correcting_losses
                                              else plain_losses))
    if "sampler" in field_names():
        samplers = [n for n in options("sampler") if n != "instance"]
        values["sampler"] = draw(st.sampled_from(samplers)) if correction == "sampler" and samplers else "instance"
    if correction == "la":
        values["la_tau"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
    try:
        config = TrainConfig(**values)
    except ProcrustesError:
        assume(False)
    return config


@pytest.mark.slow
@settings(max_examples=int(__import__("os").environ.get("FUZZ_N", 40)), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
@given(config=valid_settings())
def test_random_valid_settings_render_and_train_without_exceptions(config):
    at = new_app({**link_params(config), "seeds": "1"}).run()
    assert not at.exception
    corrected = [w.value for w in at.warning if not w.value.startswith("Before you train:")]  # not advice
    assert not corrected, corrected[0]  # a valid link is taken as it is
    assert config_of(at) == config
    at.button(key="train").click().run()
    wait(at)
    assert not at.exception
    page = texts(at)
    assert "training failed" not in page and "Something went wrong" not in page, page
    curves = chart(at, "Training accuracy")
    if curves is None:  # only a one-line message saying what is wrong may stand in its place
        assert len(at.error) == 1 and "\n" not in at.error[0].value
    else:
        assert all(len(trace["x"]) == 1 for trace in curves["data"] if "running" not in trace["name"])


PAGES = ("views/playground.py", "views/compare.py", "views/sweep.py", "views/boundary.py")
NASTY = st.one_of(st.text(max_size=30), st.integers(-10**30, 10**30).map(str), st.sampled_from(
    ["", "nan", "inf", "-1", "1e400", "1" + "0" * 400, "[", "%00", "1,2,3", "true", "none", "🙂", "0x10", " 5 "]))


@st.composite
def random_links(draw) -> dict[str, str]:
    keys = list(field_names()) + ["preset", "hide", "seeds", "teacher", "unknown", ""]
    return {draw(st.sampled_from(keys)): draw(NASTY) for _ in range(draw(st.integers(1, 6)))}


@pytest.mark.slow
@settings(max_examples=int(__import__("os").environ.get("LINK_FUZZ_N", 300)), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(link=random_links(), page=st.sampled_from(PAGES))
def test_random_links_never_break_a_page(link, page):
    at = new_app(link).run()
    if page != PAGES[0]:
        at.switch_page(page).run()
    assert not at.exception, (link, page)
    assert "Something went wrong" not in texts(at), (link, page)
    assert len(at.warning) <= 1 and all("\n" not in w.value for w in at.warning)  # one line naming what was done


def _top(rule) -> str | None:
    """A field's largest allowed value as a link writes it (None: no finite top)."""
    if type(rule).__name__ != "Number" or rule.hi == float("inf"):
        return None
    top = rule.hi - (1 if rule.integer else 1e-6) if rule.hi_open else rule.hi
    return str(int(top)) if rule.integer else f"{top:g}"


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in field_names() if _top(field_rule(n)) is not None])
def test_every_setting_at_its_largest_allowed_value_draws_every_page(name):
    """A value the config allows never breaks a page's widgets (a widget's range is at least the config's)."""
    at = new_app({name: _top(field_rule(name))}).run()
    for page in PAGES:
        if page != PAGES[0]:
            at.switch_page(page).run()
        assert not at.exception, (name, page)
        assert "Something went wrong" not in texts(at), (name, page)
