"""The live curves' legends name each group's classes when they are few, as the narrator does."""

from __future__ import annotations

from test_narrator import named

from app.components.live import name_classes
from procrustes_core.figures.runs import class_curves, seed_band_curves

FRAUD = ["legit", "refund", "fraud", "chargeback"]


def legend(fig) -> list[str]:
    return [t.name for t in fig.data if t.showlegend is not False]


def test_one_seeds_legend_names_the_classes_of_each_group():
    run = named(FRAUD)
    fig = class_curves(run, "train_acc")
    name_classes(fig, run)
    assert "minor classes (fraud, chargeback) (n=2 each)" in legend(fig)
    assert "major classes (legit, refund) (n=100 each)" in legend(fig)


def test_several_seeds_legend_names_the_classes_of_each_group():
    run = named(FRAUD)
    fig = seed_band_curves([run, run], "test_acc")
    name_classes(fig, run)
    assert any(n.startswith("minor (fraud, chargeback): mean of 2") for n in legend(fig))


def test_classes_too_many_to_list_leave_the_legend_as_it_was():
    run = named(["cat", "dog", "a rare kind of mountain finch", "another rare alpine warbler"])
    fig = class_curves(run, "train_acc")
    before = legend(fig)
    name_classes(fig, run)
    assert [n for n in legend(fig) if n.startswith("minor")] == [n for n in before if n.startswith("minor")]
