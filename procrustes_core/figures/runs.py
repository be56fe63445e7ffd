"""Figures of runs: per-class curves (one seed) or group curves (several: each seed thin, the mean bold),
gradients, loss, class counts, confusion and run comparison — Plotly builders shared by the app, the
lessons and the report (paired verdicts and sweep heatmaps: ``verdicts.py``; colours: ``colours.py``).

House rules: plain titles and axis titles with units, legends at the figure's foot, phases as a thin strip
above the plot with the narrator's numbered marks above it (never on the curves, never on each other),
decade ticks on log axes (10⁻³, 10⁻², ...), accuracy axes fixed to 0–1 and the epoch axis fixed to the
whole run so a live chart does not jump.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.history import RunHistory
from ..analysis.phases import find_phases
from ..data.imbalance import class_groups, tail_name
from . import colours
from .colours import GROUP_SHADES, METHOD_COLOURS, PHASE_TINTS, class_colours

# The palette lives in colours.py (one colour per role); these names are kept for the fronts that use them.
GROUP_PALETTES = GROUP_SHADES
CLASS_HUES = colours.CLASS_HUES
METHOD_COLORS = METHOD_COLOURS
METRIC_TITLES = {
    "train_acc": "Training accuracy (un-mixed)",
    "test_acc": "Test accuracy",
    "grad_norm": "Feature-gradient norm ‖∂loss/∂h‖",
    "loss": "Training loss per class",
    "precision": "Test precision",
    "recall": "Test recall",
    "f1": "Test F1",
    "balanced_acc": "Balanced test accuracy",
    "val_balanced_acc": "Balanced validation accuracy",
    "accuracy": "Test accuracy (overall)",
}
AXIS_TITLES = {"train_acc": "accuracy", "test_acc": "accuracy", "grad_norm": "gradient norm (log scale)",
               "loss": "cross-entropy (log scale)", "balanced_acc": "accuracy", "val_balanced_acc": "accuracy",
               "accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "F1"}
PHASE_COLORS = PHASE_TINTS
# below the epoch axis's title, each entry as wide as its text (a fixed share of a narrow chart cut them)
LEGEND_BELOW = dict(orientation="h", yanchor="top", y=-0.3, xanchor="left", x=0, font=dict(size=10))
MARGIN = dict(t=72, b=56, l=56, r=16)
# A curve's legend sits at the bottom of the figure, under the epoch axis's title however many rows it wraps
# into (placed on the plot's own height, a wrapped legend climbed onto that title)
CURVE_LEGEND = dict(LEGEND_BELOW, yref="container", y=0.0, yanchor="bottom")
CURVE_MARGIN = dict(MARGIN, b=92)


def plain(text: str) -> str:
    """Text from a file or a user (class, group, run names) as Plotly shows plain text: Plotly reads
    a few HTML tags in labels (<b>, <a href>, <br>), so &, < and > become entities it shows as such."""
    return html.escape(str(text), quote=False)


def class_colors(groups: Mapping[str, Sequence[int]], num_classes: int) -> list[str]:
    """A colour per class: shades of blue for major classes, orange for minor, grey in between."""
    return class_colours(groups, num_classes)


def group_color(group: str) -> str:
    return colours.group_colour(group)


def group_of(groups: Mapping[str, Sequence[int]]) -> dict[int, str]:
    return {c: g for g, members in groups.items() for c in members}


def _is_accuracy(metric: str) -> bool:
    return metric.endswith("acc") or metric in ("precision", "recall", "f1", "accuracy")


def _figure(traces: Sequence[dict], layout: dict) -> go.Figure:
    """A figure from plain trace and layout dicts, built in one step without Plotly's per-property checks:
    building a curve figure property by property costs tens of milliseconds, and a live page builds
    several a second. Every builder here is checked against Plotly's schema in the tests."""
    return go.Figure({"data": list(traces), "layout": layout}, _validate=False)


def _scatter(**trace) -> dict:
    return {"type": "scatter", **trace}


def _layout(title: str, metric: str, height: int = 340, legend: bool = True, epochs: int | None = None,
            marks: tuple[list, list] = ([], [])) -> dict:
    """The house layout of a curve figure: plain title, y-axis title, legend below, a log axis with decade
    ticks for gradients and losses, 0–1 for accuracies, the epoch axis fixed to the run; ``marks`` are
    (shapes, annotations) drawn on it."""
    yaxis: dict = {"title": {"text": AXIS_TITLES.get(metric, metric)}}
    if metric in ("grad_norm", "loss"):
        yaxis.update(type="log", dtick=1, exponentformat="power", showexponent="all")  # decade ticks
    elif _is_accuracy(metric):
        yaxis["range"] = [-0.02, 1.02]
    xaxis: dict = {"title": {"text": "epoch"}}
    if epochs:
        xaxis["range"] = [0.5, epochs + 0.5]
    return dict(title=dict(text=title, y=0.97, x=0.01, xref="container", xanchor="left", font=dict(size=15)),
                yaxis=yaxis, xaxis=xaxis, height=height, margin=CURVE_MARGIN if legend else MARGIN,
                legend=CURVE_LEGEND, showlegend=legend, uirevision="keep", shapes=list(marks[0]),
                annotations=list(marks[1]))


def _mode(markers: bool) -> str:
    return "lines+markers" if markers else "lines"


def _join(*marks: tuple[list, list]) -> tuple[list, list]:
    return [s for m in marks for s in m[0]], [a for m in marks for a in m[1]]


def class_count_bars(counts: Sequence[int], class_names: Sequence[str] | None = None,
                     groups: Mapping[str, Sequence[int]] | None = None, log_y: bool = False,
                     estimated: bool = False, height: int = 300, margin: Mapping[str, int] = MARGIN) -> go.Figure:
    """Training samples per class, coloured by group; on a log axis the ticks are the decades, written out."""
    groups = groups or class_groups(list(counts))
    names = [plain(n) for n in (class_names or [str(c) for c in range(len(counts))])]
    class_group = group_of(groups)
    bars = dict(type="bar", x=names, y=list(counts), marker=dict(color=class_colors(groups, len(counts))),
                text=[f"{c:,}".replace(",", " ") for c in counts], textposition="outside",
                customdata=[plain(class_group.get(c, "")) for c in range(len(counts))],
                hovertemplate="class %{x} (%{customdata}): %{y} training samples<extra></extra>")
    title = "Training samples per class" + (" (estimated until the data are generated)" if estimated else "")
    yaxis: dict = {"title": {"text": "training samples"}}
    if log_y:
        top = int(np.ceil(np.log10(max(max(counts), 1) * 3)))
        ticks = [10 ** k for k in range(0, top + 1)]
        yaxis.update(type="log", tickvals=ticks, ticktext=[f"{t:,}".replace(",", " ") for t in ticks],
                     range=[-0.1, float(np.log10(max(counts))) + 0.45])
    return _figure([bars], dict(title=dict(text=title), xaxis=dict(title=dict(text="class"), type="category"),
                                yaxis=yaxis, margin=dict(margin), height=height))


PHASE_STRIP = (1.0, 1.07)  # the phases' strip, in the paper's height: just above the plot area
MARK_ROW = 1.07  # the narrator's numbered marks sit on top of the strip, never on its names


def _phase_marks(history: RunHistory) -> tuple[list, list]:
    """The phases as a thin strip above the plot area with their names in it (the curves stay unpainted):
    (shapes, annotations). A phase too short for its name keeps the strip; hovering it is not needed to
    read the chart, whose marks and legend say the rest."""
    shapes, notes = [], []
    total = max(history.config.epochs, history.records[-1].epoch if history.records else 1, 1)
    for phase in find_phases(history):
        shapes.append(dict(type="rect", x0=phase.first_epoch - 0.5, x1=phase.last_epoch + 0.5, xref="x",
                           y0=PHASE_STRIP[0], y1=PHASE_STRIP[1], yref="paper",
                           fillcolor=PHASE_COLORS.get(phase.name, "rgba(0,0,0,0.2)"), line=dict(width=0)))
        if (phase.last_epoch - phase.first_epoch + 1) / total >= 0.12:
            notes.append(dict(x=(phase.first_epoch + phase.last_epoch) / 2, y=sum(PHASE_STRIP) / 2, xref="x",
                              yref="paper", yanchor="middle", text=phase.name, showarrow=False,
                              font=dict(size=10, color=colours.PHASE_TEXT)))
    return shapes, notes


def _merged(marks: Sequence[tuple[int, str]], gap: float) -> list[tuple[int, str]]:
    """Marks closer than ``gap`` epochs joined into one ("1·2" at the first one's epoch), so that their
    numbers never print over each other."""
    joined: list[tuple[int, str]] = []
    for epoch, label in sorted(marks, key=lambda m: m[0]):
        if joined and epoch - joined[-1][0] < gap:
            joined[-1] = (joined[-1][0], f"{joined[-1][1]}·{label}")
        else:
            joined.append((epoch, label))
    return joined


def epoch_marks(epochs: Sequence[int], labels: Sequence[str], span: int | None = None) -> tuple[list, list]:
    """Numbered marks at epochs (the narrator's statements): thin dotted lines with a number on top, as
    (shapes, annotations) for a builder's ``marks``; marks closer than a 20th of ``span`` epochs (the run's
    length) share one number label."""
    marks = [(epoch, label) for epoch, label in zip(epochs, labels) if epoch > 0]
    gap = (span / 20) if span else 0.0
    shapes = [dict(type="line", x0=epoch, x1=epoch, xref="x", y0=0, y1=1, yref="y domain",
                   line=dict(color="#999", width=1, dash="dot")) for epoch, _ in marks]
    notes = [dict(x=epoch, y=MARK_ROW, xref="x", yref="paper", yanchor="bottom", text=label, showarrow=False,
                  font=dict(size=11, color="#222"), bgcolor="rgba(255,255,255,0.9)")
             for epoch, label in _merged(marks, gap)]
    return shapes, notes


def class_curves(history: RunHistory, metric: str = "train_acc", log_y: bool | None = None,
                 show_phases: bool = True, title: str | None = None, epochs: int | None = None,
                 marks: tuple[list, list] = ([], []), height: int = 340, markers: bool = True) -> go.Figure:
    """One line per class of a per-class metric over epochs; minor classes in red, dashed. ``marks``:
    ``epoch_marks(...)`` drawn on it; ``markers=False`` draws lines only (half the browser's work, for a
    chart redrawn while it trains)."""
    colors = class_colors(history.groups, history.num_classes)
    class_group = group_of(history.groups)
    tail = tail_name(history.groups) if len(history.groups) > 1 else None
    xs = [r.epoch for r in history.records]
    named: set[str] = set()  # the legend names each group once; hovering a line names its class
    traces = []
    for c in range(history.num_classes):
        group = class_group.get(c, "")
        members = history.groups.get(group, [c])
        traces.append(_scatter(
            x=xs, y=[getattr(r, metric)[c] for r in history.records], mode=_mode(markers),
            name=f"{group} classes (n={history.counts[members[0]]} each)" if len(set(
                history.counts[m] for m in members)) == 1 else f"{group} classes", legendgroup=group,
            showlegend=group not in named, hovertemplate=f"class {plain(history.class_names[c])} ({group}): "
                                                          "%{y:.3g}<extra></extra>",
            line=dict(color=colors[c], dash="dash" if group == tail else "solid", width=2), marker=dict(size=4),
        ))
        named.add(group)
    axis = metric if log_y is None else ("loss" if log_y else "")
    shown = _join(_phase_marks(history) if show_phases else ([], []), marks)
    return _figure(traces, _layout(title or METRIC_TITLES.get(metric, metric), axis, height=height,
                                   epochs=epochs or history.config.epochs, marks=shown))


PROGRESS_TITLE = "Inside the epoch"


def epoch_progress(history: RunHistory, step, finished: bool = False, label: str = "") -> go.Figure:
    """The epoch in progress, from its latest step event: each class's running training accuracy on the
    mini-batches trained so far (as trained: with mixing if the run mixes), and the running loss.

    A small chart on purpose: it is redrawn several times a second while the four epoch curves wait for
    the epoch's evaluation pass."""
    colors = class_colors(history.groups, history.num_classes)
    class_group = group_of(history.groups)
    names = [plain(n) for n in history.class_names]
    values = [a if a is not None else 0.0 for a in step.train_acc]
    bars = dict(type="bar", x=names, y=values, marker=dict(color=colors),
                text=["–" if a is None else f"{a:.0%}" for a in step.train_acc], textposition="outside",
                customdata=[[plain(class_group.get(c, "")), step.seen[c]] for c in range(history.num_classes)],
                hovertemplate="class %{x} (%{customdata[0]}): %{y:.0%} of its %{customdata[1]} samples so far"
                              "<extra></extra>")
    prefix = f"{label} · " if label else ""
    last = finished and bool(history.records) and step.epoch >= history.records[-1].epoch
    title = (f"{PROGRESS_TITLE}<br><sup>{prefix}epoch {step.epoch}{' (the last)' if last else ''}: "
             f"{step.progress:.0%} of its mini-batches<br>running loss {step.loss:.3g}</sup>")
    return _figure([bars], dict(
        title=dict(text=title, y=0.96, x=0.01, xref="container", xanchor="left", font=dict(size=15)),
        height=250, margin=dict(t=78, b=40, l=48, r=8), showlegend=False, uirevision="keep",
        xaxis=dict(title=dict(text="class"), type="category"),
        yaxis=dict(title=dict(text="running accuracy"), range=[0, 1.15], tickvals=[0, 0.5, 1],
                   ticktext=["0", "50 %", "100 %"])))


def gradient_curves(history: RunHistory, epochs: int | None = None) -> go.Figure:
    """Per-class feature-gradient norms over epochs (log scale, decade ticks)."""
    return class_curves(history, "grad_norm", epochs=epochs)


def seed_band_curves(histories: Sequence[RunHistory], metric: str = "train_acc", kind: str = "interval",
                     title: str | None = None, epochs: int | None = None, marks: tuple[list, list] = ([], []),
                     height: int = 340, markers: bool = True) -> go.Figure:
    """Per group, each seed's group mean as a thin line and the mean over seeds as a bold one, in the
    group's colour (blue major, orange minor): the spread of the seeds reads as the spread of the thin
    lines; the legend names the count of seeds. ``kind`` is kept for callers of the former band."""
    from ..analysis.seeds import band, mean_history

    first = histories[0]
    traces = []
    for group in first.groups:
        color = group_color(group)
        for history in histories:
            if not history.records:
                continue
            traces.append(_scatter(x=[r.epoch for r in history.records], y=history.group_series(metric)[group],
                                   mode="lines", line=dict(color=_alpha(color, 0.45), width=1),
                                   name=f"{group}: seed {history.config.seed}", legendgroup=group, showlegend=False,
                                   hovertemplate=f"seed {history.config.seed} ({plain(group)}): %{{y:.3g}}"
                                                 "<extra></extra>"))
        xs, mean, _, _ = band(histories, metric, group, kind)
        traces.append(_scatter(x=xs, y=mean, mode=_mode(markers),
                               name=f"{group}: mean of {len(histories)} (bold), each seed (thin)", legendgroup=group,
                               line=dict(color=color, width=3.5, dash="dash" if group == first.tail else "solid"),
                               marker=dict(size=5)))
    return _figure(traces, _layout(title or METRIC_TITLES.get(metric, metric), metric, height=height,
                                   epochs=epochs or first.config.epochs,
                                   marks=_join(_phase_marks(mean_history(histories)), marks)))


def _alpha(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def group_curves(history: RunHistory, metrics: Sequence[str] = ("train_acc", "test_acc"),
                 epochs: int | None = None, marks: tuple[list, list] = ([], []), height: int = 340) -> go.Figure:
    """Group means (major / minor or many / medium / few) of per-class metrics over epochs."""
    xs = [r.epoch for r in history.records]
    traces = [_scatter(x=xs, y=values, mode="lines", name=f"{group}: {METRIC_TITLES[metric].lower()}",
                       line=dict(color=group_color(group), dash=dash, width=3))
              for metric, dash in zip(metrics, ("solid", "dash", "dot"))
              for group, values in history.group_series(metric).items()]
    return _figure(traces, _layout("Group means", "train_acc", height=height, epochs=epochs or history.config.epochs,
                                   marks=_join(_phase_marks(history), marks)))


def branch_curves(history: RunHistory) -> go.Figure:
    """A BBN run's hand-over: each branch's test accuracy alone, by group (solid: conventional,
    dashed: re-balancing), and the conventional branch's weight α on a second axis."""
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    records = [r for r in history.records if r.branch_test_acc]
    epochs = [r.epoch for r in records]
    for (branch, by_group), dash in zip(history.branch_group_series().items(), ("solid", "dash")):
        for group, values in by_group.items():
            fig.add_trace(go.Scatter(x=epochs, y=values, mode="lines+markers", name=f"{branch} branch, {group}",
                                     line=dict(color=group_color(group), dash=dash, width=2)), secondary_y=False)
    fig.add_trace(go.Scatter(x=epochs, y=[r.bbn_alpha for r in records], mode="lines", name="α (conventional weight)",
                             line=dict(color="#555555", width=1, dash="dot")), secondary_y=True)
    fig.update_layout(title="BBN: each branch alone on the test set, and α", height=380, margin=MARGIN,
                      legend=LEGEND_BELOW, xaxis_title="epoch")
    fig.update_yaxes(title_text="test accuracy", range=[0, 1.02], secondary_y=False)
    fig.update_yaxes(title_text="α", range=[0, 1.02], secondary_y=True)
    return fig


def loss_curve(history: RunHistory, epochs: int | None = None, marks: tuple[list, list] = ([], []),
               height: int = 340, title: str = "Training loss", markers: bool = True) -> go.Figure:
    """The training objective per epoch and the mean un-mixed training loss of each group."""
    xs = [r.epoch for r in history.records]
    traces = [_scatter(x=xs, y=history.series("train_loss"), mode=_mode(markers),
                       name="training objective (as trained)", line=dict(color="black", width=3))]
    traces += [_scatter(x=xs, y=values, mode="lines", name=f"{group} classes (un-mixed)",
                        line=dict(color=group_color(group), dash="dash"))
               for group, values in history.group_series("loss").items()]
    return _figure(traces, _layout(title, "loss", height=height, epochs=epochs or history.config.epochs, marks=marks))


def confusion_figure(history: RunHistory, normalize: bool = True) -> go.Figure:
    """Test confusion matrix of the latest epoch that has one (rows: true class)."""
    record = next((r for r in reversed(history.records) if r.confusion is not None), None)
    if record is None:
        return go.Figure().update_layout(title="No confusion matrix recorded yet")
    matrix = np.asarray(record.confusion, dtype=float)
    shown = matrix / np.maximum(matrix.sum(1, keepdims=True), 1) if normalize else matrix
    names = [plain(n) for n in history.class_names]
    fig = go.Figure(go.Heatmap(
        z=shown, x=names, y=names, colorscale="Blues", zmin=0, zmax=1 if normalize else None,
        text=matrix.astype(int), texttemplate="%{text}", colorbar=dict(title="share of the row"),
        hovertemplate="true %{y}, predicted %{x}: %{text} samples<extra></extra>",
    ))
    fig.update_layout(title=f"Test confusion matrix (epoch {record.epoch})", xaxis_title="predicted class",
                      yaxis_title="true class", height=400, margin=MARGIN)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return fig


def per_class_table(history: RunHistory):
    """Precision, recall, F1 and support of the latest epoch as a pandas table with plain column names."""
    import pandas as pd

    record = history.last
    class_group = group_of(history.groups)
    support = [None] * history.num_classes
    if record is not None and record.confusion is not None:
        support = np.asarray(record.confusion).sum(1).tolist()
    return pd.DataFrame({
        "class": history.class_names, "group": [class_group.get(c, "") for c in range(history.num_classes)],
        "training samples": history.counts, "training accuracy": record.train_acc if record else None,
        "precision": record.precision if record else None, "recall (test accuracy)": record.recall if record else None,
        "F1": record.f1 if record else None, "test samples": support,
    })


def _series(history: RunHistory, metric: str) -> list[float]:
    if ":" in metric:
        per_class, group = metric.split(":", 1)
        by_group = history.group_series(per_class)
        return by_group.get(group) or list(by_group.values())[-1]
    return history.series(metric)


def metric_title(metric: str) -> str:
    """``test_acc:minor`` → "Test accuracy — minor classes"."""
    base, _, group = metric.partition(":")
    return METRIC_TITLES.get(base, base) + (f" — {group} classes" if group else "")


def compare_runs(histories: Mapping[str, RunHistory], metric: str = "balanced_acc",
                 methods: Mapping[str, str] | None = None, variants: Mapping[str, str] | None = None) -> go.Figure:
    """Several runs over epochs: an overall metric, or a group's mean (e.g. ``test_acc:minor``).

    ``methods`` (run → method name) gives each method its colour and ``variants`` (run → post-hoc
    variant) each variant its dash; by default every run has its own colour."""
    fig = go.Figure()
    colors = {}
    dashes = {}
    for name in histories:
        method = (methods or {}).get(name, name)
        colors.setdefault(method, METHOD_COLORS[len(colors) % len(METHOD_COLORS)])
        variant = (variants or {}).get(name, "")
        dashes.setdefault(variant, ["solid", "dash", "dot", "dashdot"][len(dashes) % 4])
    for name, history in histories.items():
        method, variant = (methods or {}).get(name, name), (variants or {}).get(name, "")
        fig.add_trace(go.Scatter(x=[r.epoch for r in history.records], y=_series(history, metric),
                                 mode="lines+markers", name=plain(name), line=dict(color=colors[method], width=2,
                                                                                   dash=dashes[variant]),
                                 marker=dict(size=4)))
    fig.update_layout(_layout(metric_title(metric), metric.partition(":")[0], height=360))
    return fig


def compare_bands(series: Mapping[str, Sequence[RunHistory]], metric: str = "balanced_acc",
                  methods: Mapping[str, str] | None = None, variants: Mapping[str, str] | None = None,
                  kind: str = "interval") -> go.Figure:
    """Several settings over epochs, each seed a thin line and the mean over seeds a bold one: a colour per
    method (the first the baseline's), a dash per post-hoc variant, legend below. ``metric`` as in
    ``compare_runs`` (``test_acc:minor``)."""
    from ..analysis.seeds import band

    base, _, group = metric.partition(":")
    colors: dict[str, str] = {}
    dashes: dict[str, str] = {}
    traces = []
    for name, histories in series.items():
        ready = [h for h in histories if h.records]
        if not ready:
            continue
        method, variant = (methods or {}).get(name, name), (variants or {}).get(name, "")
        color = colors.setdefault(method, METHOD_COLORS[len(colors) % len(METHOD_COLORS)])
        dash = dashes.setdefault(variant, ["solid", "dash", "dot", "dashdot"][len(dashes) % 4])
        if len(ready) > 1:
            traces += [_scatter(x=[r.epoch for r in h.records], y=_series(h, metric), mode="lines", showlegend=False,
                                line=dict(color=_alpha(color, 0.4), width=1, dash=dash), legendgroup=name,
                                hovertemplate=f"{plain(name)}, seed {h.config.seed}: %{{y:.3g}}<extra></extra>")
                       for h in ready]
        xs, mean, _, _ = band(ready, base, group or None, kind)
        traces.append(_scatter(x=xs, y=mean, mode="lines", name=plain(name), legendgroup=name,
                               line=dict(color=color, dash=dash, width=3.5)))
    seeds = max((len(h) for h in series.values()), default=1)
    layout = _layout(metric_title(metric) + (f" — {seeds} seeds" if seeds > 1 else ""), base, height=340)
    layout["title"]["font"] = dict(size=13)
    if seeds > 1:
        layout["annotations"] = [dict(text="thin: each seed · bold: their mean", x=0, y=1.0, xref="paper",
                                      yref="paper", yanchor="bottom", showarrow=False,
                                      font=dict(size=10, color="#555"))]
    return _figure(traces, layout)


def __getattr__(name: str):
    """``feature_view`` lives in ``features.py``, the verdict figures in ``verdicts.py``; their old address still
    finds them."""
    if name == "feature_view":
        from .features import feature_view

        return feature_view
    if name in ("paired_figure", "sweep_heatmap"):
        from . import verdicts

        return getattr(verdicts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
