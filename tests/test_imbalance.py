"""Class-count formulas and class groups (DESIGN.md §3)."""

import pytest

from procrustes_core import ProcrustesError, class_counts, class_groups


def test_longtail_counts_follow_the_exponential_formula():
    counts = class_counts(5000, 10, "longtail", 100)
    assert counts == [int(5000 * (1 / 100) ** (i / 9)) for i in range(10)]
    assert counts[0] == 5000 and counts[-1] == 50


def test_exp_is_an_alias_of_longtail():
    assert class_counts(500, 100, "exp", 50) == class_counts(500, 100, "longtail", 50)


def test_cifar10_lt_counts_match_the_literature():
    # CIFAR-10-LT with ratio 100: 5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50
    assert class_counts(5000, 10, "longtail", 100) == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]


def test_step_counts_halve_the_classes():
    assert class_counts(1600, 10, "step", 100) == [1600] * 5 + [16] * 5
    assert class_counts(1000, 5, "step", 10) == [1000, 1000, 100, 100, 100]


def test_custom_counts_are_taken_as_given():
    assert class_counts(0, 3, "custom", 1, counts=[5, 7, 9]) == [5, 7, 9]


def test_ratio_one_is_balanced():
    assert set(class_counts(300, 4, "longtail", 1)) == {300}


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(n_max=100, num_classes=10, profile="step", ratio=0.5), "ratio"),
        (dict(n_max=100, num_classes=10, profile="step", ratio=float("nan")), "ratio"),
        (dict(n_max=100, num_classes=10, profile="zigzag", ratio=10), "profile"),
        (dict(n_max=100, num_classes=3, profile="custom", ratio=1, counts=[1, 2]), "counts"),
        (dict(n_max=100, num_classes=2, profile="custom", ratio=1, counts=[0, 2]), "counts"),
        (dict(n_max=0, num_classes=10, profile="step", ratio=10), "n_max"),
    ],
)
def test_bad_arguments_name_the_field(kwargs, field):
    with pytest.raises(ProcrustesError, match=field) as err:
        class_counts(**kwargs)
    assert "\n" not in str(err.value)


def test_step_groups_are_major_and_minor():
    assert class_groups([100, 100, 10, 10]) == {"major": [0, 1], "minor": [2, 3]}


def test_longtail_groups_follow_the_literature_thresholds_where_they_split_the_classes():
    counts = class_counts(1000, 9, "longtail", 100)  # 1000 562 316 177 100 56 31 17 10
    assert class_groups(counts) == {"many": [0, 1, 2, 3], "medium": [4, 5, 6], "few": [7, 8]}
    assert class_groups([5000, 2000, 500, 150, 90, 50]) == {"many": [0, 1, 2, 3], "medium": [4, 5]}


def test_longtail_groups_fall_back_to_named_thirds_when_the_thresholds_do_not_split():
    counts = class_counts(100_000, 9, "longtail", 10)  # every class above 100
    assert class_groups(counts) == {"top third": [0, 1, 2], "middle third": [3, 4, 5], "bottom third": [6, 7, 8]}
    assert class_groups(class_counts(1000, 9, "longtail", 100), "thirds")["bottom third"] == [6, 7, 8]


def test_balanced_data_form_one_group():
    assert class_groups([5, 5, 5]) == {"all": [0, 1, 2]}
