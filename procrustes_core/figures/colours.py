"""One colour per role, for every figure of every front: class groups (each class a shade of its group),
methods, gain and loss, training phases.

A colour means one thing everywhere: blue shades are major classes, orange shades minor classes, grey
shades the classes in between; a method is never blue or orange (the baseline is near-black, the method
tested against it magenta); a gain is green and a loss purple, on verdicts and heatmaps alike (a
colour-blind-safe pair); no red is used, so it never has to be told apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

MAJOR_SHADES = ["#08306b", "#08519c", "#2171b5", "#4292c6", "#6baed6", "#9ecae1"]
MEDIUM_SHADES = ["#252525", "#525252", "#737373", "#969696", "#bdbdbd"]
MINOR_SHADES = ["#8c2d04", "#cc4c02", "#ec7014", "#fe9929", "#fdb863", "#fed98e"]
# Balanced data: one group, classes told apart by hue (none of them a role's colour below).
ALL_HUES = ["#4c78a8", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac", "#f58518", "#17becf",
            "#bcbd22"]
GROUP_SHADES: dict[str, list[str]] = {
    "all": ALL_HUES, "major": MAJOR_SHADES, "many": MAJOR_SHADES, "top third": MAJOR_SHADES,
    "medium": MEDIUM_SHADES, "middle third": MEDIUM_SHADES,
    "minor": MINOR_SHADES, "few": MINOR_SHADES, "bottom third": MINOR_SHADES,
}
# The colour a group's mean is drawn in (a strong shade of its family).
GROUP_MEAN = {"major": "#08519c", "many": "#08519c", "top third": "#08519c", "medium": "#525252",
              "middle third": "#525252", "minor": "#cc4c02", "few": "#cc4c02", "bottom third": "#cc4c02"}

BASELINE = "#222222"  # the run every other is compared with (ERM, A, strength 0)
TREATMENT = "#c51b7d"  # the method tested against it (B, MFW)
# Methods in the order a figure meets them: the baseline first; never blue, orange, green or purple.
METHOD_COLOURS = [BASELINE, TREATMENT, "#8c6d31", "#17becf", "#bcbd22", "#999999", "#e7969c", "#5f5f5f"]

GAIN = "#1b7837"  # ahead of the baseline
LOSS = "#762a83"  # behind it
NEUTRAL = "#8c8c8c"
# A diverging scale for gains in points: purple (loss) – white – green (gain).
GAIN_LOSS_SCALE = [[0.0, LOSS], [0.25, "#c2a5cf"], [0.5, "#f7f7f7"], [0.75, "#a6dba0"], [1.0, GAIN]]

# Phases are a thin strip along the top of a chart, in neutral tints (the curves keep their colours).
PHASE_TINTS = {"under-fit": "rgba(0,0,0,0.08)", "over-fit": "rgba(0,0,0,0.20)"}
PHASE_TEXT = "#333333"

# Decision regions: one distinct hue per class, where the colour of a region is all that names its class.
CLASS_HUES = ["#1f77b4", "#ff7f0e", "#17becf", "#e377c2", "#8c564b", "#bcbd22", "#7f7f7f", "#393b79", "#c49c94",
              "#9edae5"]


def shades(palette: Sequence[str], count: int) -> list[str]:
    """``count`` shades of a palette spread across it (two classes of a group get its darkest and a light
    shade, not two neighbours), cycling when the group is larger than the palette."""
    if count <= 1:
        return list(palette[1:2] or palette[:1])
    if count > len(palette):
        return [palette[i % len(palette)] for i in range(count)]
    last = len(palette) - 1
    return [palette[round(i * last / (count - 1))] for i in range(count)]


def class_colours(groups: Mapping[str, Sequence[int]], num_classes: int) -> list[str]:
    """A colour per class: its group's family (blue major, orange minor, grey between), one shade per class."""
    colours = [NEUTRAL] * num_classes
    for name, members in groups.items():
        for c, colour in zip(members, shades(GROUP_SHADES.get(name, ALL_HUES), len(members))):
            colours[c] = colour
    return colours


def group_colour(group: str) -> str:
    """The colour of a group's mean: blue for major, orange for minor, grey between."""
    return GROUP_MEAN.get(group, ALL_HUES[0])


def method_colour(index: int) -> str:
    """The colour of the ``index``-th method a figure shows (0: the baseline)."""
    return METHOD_COLOURS[index % len(METHOD_COLOURS)]
