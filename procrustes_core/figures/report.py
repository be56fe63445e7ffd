"""The HTML report of a run: every figure of it in one self-contained page (``procrustes report``).

A run file holds per-epoch scores, not per-sample probabilities; given the run's network as well
(``procrustes report run.json --checkpoint net.pt``, the checkpoint saved by ``procrustes train
--save-checkpoint``), the report adds the figures beyond accuracy of its test predictions:
per-class precision–recall curves, the reliability diagram and a decision threshold. The
predictions are computed in ``training/probabilities.py``; figures only read results.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from pathlib import Path

import plotly.graph_objects as go

from ..analysis.history import RunHistory
from ..analysis.narrator import narrate
from ..files import atomic_write_text
from .runs import class_count_bars, class_curves, confusion_figure, gradient_curves, loss_curve


def report_figures(history: RunHistory, probabilities=None, labels=None) -> dict[str, go.Figure]:
    """Every figure of one run, by name; with the test split's ``probabilities`` and ``labels`` also
    the figures beyond accuracy (``figures.calibration``)."""
    figures = {
        "class counts": class_count_bars(history.counts, history.class_names, history.groups),
        "training accuracy": class_curves(history, "train_acc"),
        "test accuracy": class_curves(history, "test_acc"),
        "feature gradients": gradient_curves(history),
        "loss": loss_curve(history),
        "confusion matrix": confusion_figure(history),
    }
    if probabilities is not None and labels is not None:
        from .calibration import calibration_figures

        figures.update(calibration_figures(probabilities, labels, history.counts, history.class_names,
                                           history.groups))
    return figures


def write_figures_html(figures: Mapping[str, go.Figure], path: str | os.PathLike, title: str,
                       intro: str = "") -> Path:
    """One self-contained HTML page holding several figures (written atomically)."""
    parts = [f"<h1>{html.escape(title)}</h1>", intro]
    for i, (name, fig) in enumerate(figures.items()):
        parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
            + "\n".join(parts) + "</body></html>")
    return atomic_write_text(path, page, "html")


def write_html_report(history: RunHistory, path: str | os.PathLike, probabilities=None, labels=None) -> Path:
    """Every figure of one run in one self-contained HTML page (written atomically); with test
    ``probabilities`` and ``labels``, the figures beyond accuracy too. Text that came from the run
    file (names, notes, settings) is escaped: the page shows it, never runs it as markup."""
    last = history.last
    summary = "no epochs recorded" if last is None else (
        f"{len(history.records)} epochs; balanced test accuracy {last.balanced_acc:.3f}; "
        + ", ".join(f"{g} {v:.3f}" for g, v in last.group_test_acc.items()))
    config = history.config
    title = (f"Procrustes run: {config.dataset}, {config.profile} ratio {config.ratio:g}, "
             f"MFW strength {config.mfw_strength:g}")
    notes = ([f"stopped: {history.stopped}"] if history.stopped else []) + [
        f"warning: {w}" for w in history.warnings]
    story = "".join(f"<li>{html.escape(s.text)}</li>" for s in narrate(history))
    intro = (f"<p>{html.escape(summary)}</p>" + "".join(f"<p><strong>{html.escape(n)}</strong></p>" for n in notes)
             + (f"<h2>What the run shows</h2><ul>{story}</ul>" if story else "")
             + f"<pre>{html.escape(config.to_json())}</pre>")
    return write_figures_html(report_figures(history, probabilities, labels), path, title, intro)


