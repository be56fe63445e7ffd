"""How two decision pictures differ, and the Decision boundary page saying it after training."""

from __future__ import annotations

import re

import numpy as np
import pytest
from app_support import TINY, job_of, new_app, texts, wait

from procrustes_core import ProcrustesError
from procrustes_core.analysis.boundary import BOUNDARY_DEFAULTS, BoundaryGrid, difference_sentence, grid_difference


def grid(predicted: list[list[int]]) -> BoundaryGrid:
    cells = np.asarray(predicted, dtype=np.int16)
    return BoundaryGrid(np.arange(cells.shape[1]), np.arange(cells.shape[0]), cells, np.ones(cells.shape))


def test_the_difference_counts_cells_predicted_differently_and_the_minor_area_of_each():
    erm = grid([[0, 0, 1, 1], [0, 0, 1, 2], [0, 0, 0, 0], [0, 0, 0, 0]])
    mfw = grid([[0, 2, 1, 1], [0, 2, 2, 2], [0, 0, 0, 0], [0, 0, 0, 0]])
    difference = grid_difference(erm, mfw, minor_classes=[2])
    assert difference.disagreement == pytest.approx(3 / 16)
    assert difference.minor_area == pytest.approx((1 / 16, 4 / 16))
    assert difference.minor_area_change == pytest.approx(3 / 16)
    assert not difference.barely


def test_identical_pictures_read_as_mfw_not_changing_the_decisions():
    same = grid([[0, 1], [2, 2]])
    difference = grid_difference(same, grid([[0, 1], [2, 2]]), minor_classes=[2])
    assert difference.disagreement == 0 and difference.barely
    sentence = difference_sentence(difference)
    assert sentence.startswith("MFW did not change this model's decisions here") and "Try " in sentence
    assert "0.0 % of the plane" in sentence


def test_a_visible_difference_names_its_share_and_which_way_the_minor_regions_went():
    erm, mfw = grid([[0, 0], [0, 1]]), grid([[0, 1], [1, 1]])
    sentence = difference_sentence(grid_difference(erm, mfw, [1]), "ERM + LA", "MFW 0.9 + LA")
    assert "on 50.0 % of the plane" in sentence and "regions grow by 50.0 points" in sentence
    assert "25.0 % → 75.0 %" in sentence
    shrunk = difference_sentence(grid_difference(mfw, erm, [1]))
    assert "regions shrink by 50.0 points" in shrunk


def test_grids_over_different_planes_do_not_compare():
    with pytest.raises(ProcrustesError, match="same plane"):
        grid_difference(grid([[0, 1], [1, 1]]), grid([[0, 1, 1]]), [1])


def test_the_page_says_after_training_how_much_mfw_changed_the_decisions():
    at = new_app({**TINY, "mfw_schedule": "warmup", "mfw_layer": "input"}).run()
    at.switch_page("views/boundary.py").run()
    assert at.slider(key="boundary_strength").value == BOUNDARY_DEFAULTS.mfw_strength
    assert at.selectbox(key="boundary_shape").value == BOUNDARY_DEFAULTS.shape
    at.number_input(key="boundary_epochs").set_value(2)
    at.button(key="boundary_start").click().run()
    wait(at, "boundary")
    assert not at.exception and not at.error
    tasks = job_of(at, "boundary").tasks
    mfw_config = tasks[1].config  # the page's own MFW setting, whatever the link's
    assert mfw_config.mfw_schedule == BOUNDARY_DEFAULTS.mfw_schedule
    assert mfw_config.mfw_layer == BOUNDARY_DEFAULTS.mfw_layer
    assert mfw_config.mfw_detach is BOUNDARY_DEFAULTS.mfw_detach is False  # the sidebar's story setting detaches
    erm, mfw = (grid(task.grids[-1]["predicted"]) for task in tasks)
    expected = grid_difference(erm, mfw, tasks[0].history.groups["minor"])
    said = [m.value for m in at.markdown if m.value.startswith("At epoch 2: ")]
    assert len(said) == 1
    share = re.search(r"([0-9.]+) % of the plane", said[0])
    assert share is not None and float(share.group(1)) == pytest.approx(expected.disagreement * 100, abs=0.05)
    assert said[0].startswith("At epoch 2: " + difference_sentence(expected, "ERM + LA", tasks[1].label)[:60])
    assert ("Try a higher MFW strength or the page's defaults" in said[0]) == expected.barely
    assert "of the plane" in texts(at)
