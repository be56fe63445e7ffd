"""TrainConfig: validation with one-line messages, and exact round trips."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.config import Choice, Number, field_names, field_rule


def test_defaults_are_valid_and_plain_training():
    config = TrainConfig()
    assert config.dataset == "mnist1d" and config.mixer == "none" and config.la_tau == 0.0


def test_importing_the_config_loads_no_torch():
    import subprocess
    import sys

    code = "import sys, procrustes_core.config; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_with_methods_applies_what_selecting_each_method_sets():
    config = TrainConfig().with_methods("mfw", "logit-adjustment", seed=3)
    assert (config.mixer, config.la_tau, config.seed) == ("mfw", 1.0, 3)
    with pytest.raises(ProcrustesError, match="method='magic'"):
        TrainConfig().with_methods("magic")


@pytest.mark.parametrize(
    "field, value",
    [
        ("ratio", 0.5), ("ratio", math.inf), ("ratio", math.nan), ("ratio", "ten"),
        ("mfw_strength", 1.5), ("mfw_strength", -0.1),
        ("dataset", "imagenet"), ("profile", "zigzag"), ("model", "vgg"), ("mfw_layer", "block9"),
        ("counts", [3, 0]), ("counts", [5]), ("epochs", 0), ("epochs", 2.5), ("batch_size", 0),
        ("lr", 0.0), ("lr", -1.0), ("device", "tpu"), ("seed", -1), ("download", "yes"),
    ],
)
def test_invalid_values_raise_one_line_naming_field_and_value(field, value):
    with pytest.raises(ProcrustesError) as err:
        TrainConfig(**{field: value})
    message = str(err.value)
    assert message.startswith(f"{field}=") and "\n" not in message
    assert "expected" in message


def test_custom_profile_needs_counts():
    with pytest.raises(ProcrustesError, match="counts"):
        TrainConfig(profile="custom")
    assert TrainConfig(profile="custom", counts=[5, 3, 2]).counts == [5, 3, 2]


def test_booleans_are_not_numbers():
    with pytest.raises(ProcrustesError, match="epochs"):
        TrainConfig(epochs=True)


def test_unknown_setting_in_a_dict_is_named():
    with pytest.raises(ProcrustesError, match="'colour'"):
        TrainConfig.from_dict({"colour": "red"})


def test_bad_json_is_one_line():
    with pytest.raises(ProcrustesError, match="not valid JSON") as err:
        TrainConfig.from_json("{ratio: 3")
    assert "\n" not in str(err.value)


def _value(rule):
    if isinstance(rule, Choice):
        return st.sampled_from(rule.options)
    if isinstance(rule, Number):
        lo = rule.lo if rule.lo > -math.inf else -1e6
        hi = rule.hi if rule.hi < math.inf else 1e6
        if rule.integer:
            values = st.integers(int(math.ceil(lo)) + rule.lo_open, int(hi) - rule.hi_open)
        else:
            values = st.floats(lo, hi, exclude_min=rule.lo_open, exclude_max=rule.hi_open, allow_nan=False)
        return st.one_of(st.none(), values) if rule.optional else values
    return None


def _configs():
    fields = {}
    for name in field_names():
        strategy = _value(field_rule(name))
        if strategy is not None:
            fields[name] = strategy
    fields["counts"] = st.one_of(st.none(), st.lists(st.integers(1, 10_000), min_size=2, max_size=12))
    fields["data_dir"] = st.one_of(st.none(), st.text(min_size=1, max_size=20))
    fields["download"] = st.booleans()
    fields["data_path"] = st.one_of(st.none(), st.text(min_size=1, max_size=20))
    fields["data_label"] = st.one_of(st.none(), st.text(min_size=1, max_size=20))
    fields["data_drop"] = st.lists(st.text(min_size=1, max_size=10), max_size=3)
    fields["data_hash"] = st.one_of(st.none(), st.text("0123456789abcdef", min_size=8, max_size=64))
    return st.fixed_dictionaries(fields).filter(lambda d: d["profile"] != "custom" or d["counts"]).filter(
        lambda d: d["dataset"] != "your-data" or d["data_path"] or d["data_hash"]).map(lambda d: TrainConfig(**d))


@settings(max_examples=150, deadline=None)
@given(_configs())
def test_dict_json_and_query_round_trips_are_exact(config):
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert TrainConfig.from_json(config.to_json()) == config
    if config.dataset == "your-data" and not config.data_hash:
        return  # a link names your data by its hash, never by a path: without one it names nothing
    linked = config.replace(data_path=None)  # a link never carries a local path
    assert TrainConfig.from_query(config.to_query()) == linked
    assert TrainConfig.from_query(config.to_query(changed_only=False)) == linked


def test_query_holds_only_changed_settings_and_ignores_other_keys():
    config = TrainConfig(ratio=20, mfw_strength=0.9)
    query = config.to_query()
    assert "ratio=20.0" in query and "mfw_strength=0.9" in query and "epochs" not in query
    assert TrainConfig.from_query("?" + query + "&hide=ratio&page=compare") == config


def test_query_with_a_bad_value_names_it():
    with pytest.raises(ProcrustesError, match="ratio='abc'"):
        TrainConfig.from_query("ratio=abc")
    with pytest.raises(ProcrustesError, match="'hide'"):
        TrainConfig.from_query("hide=ratio", strict=True)


def test_replace_validates():
    with pytest.raises(ProcrustesError, match="mfw_strength"):
        TrainConfig().replace(mfw_strength=2.0)
    assert TrainConfig().replace(ratio=10).ratio == 10.0
