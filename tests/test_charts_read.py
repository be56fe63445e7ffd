"""Charts that read at a glance: seeds as thin lines under a bold mean, one colour per role on every
figure, phases in a strip that leaves the curves unpainted, marks that never print over each other."""

from __future__ import annotations

import pandas as pd
import pytest

from procrustes_core import figures, run
from procrustes_core.analysis.compare import paired_comparison
from procrustes_core.figures import colours


@pytest.fixture(scope="module")
def seeds():
    from procrustes_core import TrainConfig

    return [run(TrainConfig(n_samples=1500, ratio=10, width=4, epochs=3, threads=1, seed=s)) for s in (1, 2)]


def _hex(colour: str) -> str:
    """A colour as #rrggbb (an rgba() thin line as the hex of its hue)."""
    if colour.startswith("rgba("):
        r, g, b, _ = colour[5:-1].split(",")
        return f"#{int(r):02x}{int(g):02x}{int(b):02x}"
    return colour.lower()


def test_several_seeds_draw_each_seed_thin_and_the_mean_bold_with_no_band_filling_the_axis(seeds):
    fig = figures.seed_band_curves(seeds, "test_acc")
    assert not [t for t in fig.data if t.fill]  # nothing painted between curves
    for group in seeds[0].groups:
        thin = [t for t in fig.data if t.legendgroup == group and t.line.width == 1]
        bold = [t for t in fig.data if t.legendgroup == group and t.line.width > 3]
        assert len(thin) == len(seeds) and len(bold) == 1
        assert _hex(thin[0].line.color) == _hex(bold[0].line.color) == colours.group_colour(group)
        for trace, history in zip(thin, seeds):
            assert list(trace.y) == history.group_series("test_acc")[group]  # each seed's own numbers


def test_compared_settings_draw_each_seed_thin_and_their_mean_bold_in_their_method_colour(seeds):
    fig = figures.compare_bands({"A: ERM": seeds, "B: mfw": seeds[::-1]}, "balanced_acc")
    assert not [t for t in fig.data if t.fill]
    means = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in means] == ["A: ERM", "B: mfw"]
    assert [t.line.color for t in means] == [colours.BASELINE, colours.TREATMENT]
    assert len([t for t in fig.data if t.line.width == 1]) == 4


def test_each_role_has_its_own_colours_and_no_colour_serves_two_roles():
    major, minor, medium = set(colours.MAJOR_SHADES), set(colours.MINOR_SHADES), set(colours.MEDIUM_SHADES)
    methods, verdict = set(colours.METHOD_COLOURS), {colours.GAIN, colours.LOSS}
    roles = [major, minor, medium, methods, verdict]
    for i, role in enumerate(roles):
        for other in roles[i + 1:]:
            assert not role & other
    assert not any(c.lower().startswith(("#d62728", "#e45756", "#cb181d", "#ef3b2c")) for c in set().union(*roles))


def test_classes_of_one_group_get_different_shades_of_that_groups_family(seeds):
    history = seeds[0]
    found = figures.class_colours(history.groups, history.num_classes)
    for group, members in history.groups.items():
        shades = [found[c] for c in members]
        assert len(set(shades)) == len(members)
        assert set(shades) <= set(colours.GROUP_SHADES[group])
    two = figures.class_colours({"major": [0, 1], "minor": [2, 3]}, 4)
    assert two[0] == colours.MAJOR_SHADES[0] and two[1] == colours.MAJOR_SHADES[-1]  # far apart, not neighbours


def test_phases_are_a_strip_above_the_plot_and_marks_sit_above_the_strip(seeds):
    history = seeds[0]
    fig = figures.class_curves(history, "train_acc", marks=figures.epoch_marks([1, 3], ["1", "2"]))
    strips = [s for s in fig.layout.shapes if s.type == "rect"]
    assert strips and all(s.yref == "paper" and s.y0 >= 1.0 for s in strips)  # the plot area is never painted
    names = [a for a in fig.layout.annotations if a.text in ("under-fit", "over-fit")]
    numbers = [a for a in fig.layout.annotations if a.text in ("1", "2")]
    assert numbers and all(n.y >= max(s.y1 for s in strips) for n in numbers)
    assert all(a.y < min(n.y for n in numbers) for a in names)


def test_marks_closer_than_a_twentieth_of_the_run_share_one_label():
    shapes, notes = figures.epoch_marks([10, 11, 40], ["1", "2", "3"], span=60)
    assert [s["x0"] for s in shapes] == [10, 11, 40]
    assert [(n["x"], n["text"]) for n in notes] == [(10, "1·2"), (40, "3")]
    assert len(figures.epoch_marks([10, 11], ["1", "2"])[1]) == 2  # without the run's length: as given


def test_paired_seeds_and_gain_heatmaps_use_the_gain_and_loss_colours():
    found = paired_comparison([0.5, 0.6], [0.55, 0.58], [1, 2], "ERM + LA", "MFW + LA")
    lines = [t for t in figures.paired_figure(found).data if t.mode == "lines+markers"]
    assert [t.line.color for t in lines] == [colours.GAIN, colours.LOSS]
    frame = pd.DataFrame({"ratio": [10, 10], "mfw_strength": [0.0, 0.5], "seed": [1, 1], "balanced_acc": [0.5, 0.6]})
    heat = figures.sweep_heatmap(frame, difference=True)
    assert heat.data[0].colorscale[0][1] == colours.LOSS and heat.data[0].colorscale[-1][1] == colours.GAIN
