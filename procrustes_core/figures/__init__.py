"""Figures: of runs (``runs.py``), of the lessons (``lessons.py``), decision regions (``boundary.py``),
beyond accuracy (``calibration.py``: precision–recall, reliability, thresholds, priors), the HTML report
(``report.py``), and live figures for notebooks (``live.py``).

Every builder is also reachable from here: ``from procrustes_core import figures; figures.class_curves(h)``.
"""

from .._lazy import lazy_exports

_MODULES = {
    ".runs": ("AXIS_TITLES", "CLASS_HUES", "GROUP_PALETTES", "METHOD_COLORS", "METRIC_TITLES", "PHASE_COLORS",
              "branch_curves", "class_colors", "class_count_bars", "class_curves", "compare_bands", "compare_runs",
              "confusion_figure", "epoch_marks", "epoch_progress", "feature_view", "gradient_curves", "group_color",
              "group_curves", "group_of", "loss_curve", "metric_title", "per_class_table",
              "seed_band_curves"),
    ".verdicts": ("paired_figure", "sweep_heatmap"),
    ".colours": ("class_colours", "group_colour", "method_colour"),
    ".lessons": ("augmentation_figure", "gradient_vs_confidence", "mixing_coefficients", "results_bars",
                 "signal_examples", "signal_mix", "tau_curves", "toy_mix", "weakening_weight_bars"),
    ".boundary": ("boundary_figure",),
    ".calibration": ("calibration_figures", "pr_curves", "prior_figure", "reliability_diagram", "threshold_figure"),
    ".report": ("report_figures", "write_figures_html", "write_html_report"),
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
