"""Live-updating Plotly figures for notebooks: redraw a figure from a run while it trains.

In a Jupyter kernel the figure is shown as a static Plotly figure and redrawn in place through a
display handle after every epoch (``static`` mode): the browser loads plotly.js once, with the
notebook's Plotly renderer, and each redraw sends only the figure's data. JupyterLab's Plotly
renderer draws a figure once and ignores later data for the same output, so a redraw first replaces
the figure by a blank block of its height, then by the new figure, which JupyterLab renders afresh.
A slider's callback can redraw a figure shown by an earlier cell the same way: JupyterLab routes a
display update to the output that holds its display id. ``PROCRUSTES_LIVE=widget`` asks for plotly
``FigureWidget``s instead, updated trace by trace — but every FigureWidget makes the browser load
Plotly's widget bundle (about 5 MB) again, so it is not the default. Outside IPython the figure is
simply kept; nothing is printed.

    live = LiveFigure(lambda: figures.class_curves(trainer.history, "train_acc"))
    live.show()
    for record in trainer.epochs():
        live.update()

``procrustes_core.notebook.train_live`` does exactly that for one or several trainers and several
figures at once, with a status line above the figures ("training: epoch 7 of 30 …", then "finished …")
that stays visible while the cell runs; ``Status`` is that line on its own (``run_seeds(...,
progress=status.seeds)``). Figures only read results: this module drives no training.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

MODES = ("auto", "widget", "static")
_WIDGETS: dict[int, bool] = {}  # kernel → whether FigureWidgets work there (asked once per kernel)


def _kernel() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return getattr(shell, "kernel", None) if shell is not None else None


def _in_kernel() -> bool:
    return _kernel() is not None


def widgets_available() -> bool:
    """True when plotly FigureWidgets can be made in this kernel (ipywidgets and anywidget importable).
    The answer is found once per kernel and kept: no figure is built to find it."""
    kernel = _kernel()
    if kernel is None:
        return False
    key = id(kernel)
    if key not in _WIDGETS:
        try:
            import anywidget  # noqa: F401  (FigureWidget is built on it)
            import ipywidgets  # noqa: F401

            _ = go.FigureWidget  # imports plotly's widget module, builds nothing
            _WIDGETS[key] = True
        except Exception:  # any import failure means: no widgets here
            _WIDGETS[key] = False
    return _WIDGETS[key]


def live_mode(mode: str = "auto") -> str:
    """The mode a LiveFigure will use: ``static`` or ``widget`` in a kernel, ``none`` outside IPython.
    ``auto`` reads ``PROCRUSTES_LIVE`` (``widget`` or ``static``; static when unset)."""
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: expected one of {', '.join(MODES)}")
    requested = os.environ.get("PROCRUSTES_LIVE", "").strip().lower() if mode == "auto" else mode
    if not _in_kernel():
        return "none"
    if requested == "widget" and widgets_available():
        return "widget"
    return "static"


class LiveFigure:
    """A figure rebuilt by ``build()`` and shown in place (``update()`` after each epoch or knob move)."""

    def __init__(self, build: Callable[[], go.Figure], mode: str = "auto"):
        self.build = build
        self.mode = live_mode(mode)
        self.figure: go.Figure | None = None  # the latest figure (a FigureWidget in widget mode)
        self._handle: Any = None
        self.updates = 0

    def show(self) -> LiveFigure:
        """Draw the figure for the first time (below the running cell)."""
        fresh = self.build()
        if self.mode == "widget":
            self.figure = go.FigureWidget(fresh)
            from IPython.display import display

            display(self.figure)
            return self
        self.figure = fresh
        if self.mode == "static":
            from IPython.display import display

            self._handle = display(_bundle(fresh), raw=True, display_id=True)
        return self

    def update(self) -> None:
        """Rebuild the figure from the current state and replace what is shown."""
        if self.figure is None:
            self.show()
            return
        fresh = self.build()
        self.updates += 1
        if self.mode == "widget":
            _replace_in_place(self.figure, fresh)
            return
        self.figure = fresh
        if self._handle is not None:
            self._handle.update(_placeholder(fresh), raw=True)  # a new output: drawn afresh, not ignored
            self._handle.update(_bundle(fresh), raw=True)

    def _repr_html_(self) -> str:  # a LiveFigure left as a cell's last value shows its figure
        return "" if self.figure is None else self.figure.to_html(full_html=False, include_plotlyjs="cdn")


def _bundle(figure: go.Figure) -> dict[str, Any]:
    """The figure's MIME bundle: displayed raw so that a display handle can replace it in place
    (a plotly Figure's own display hook would add a new output every time)."""
    bundle = figure._repr_mimebundle_(include=None, exclude=None)
    bundle.setdefault("text/plain", f"<plotly figure: {figure.layout.title.text or 'untitled'}>")
    return bundle


def _placeholder(figure: go.Figure) -> dict[str, Any]:
    """A blank block of the figure's height, shown for the moment between two drawings of it."""
    height = int(figure.layout.height or 450)
    return {"text/html": f'<div style="height:{height}px"></div>', "text/plain": "(redrawing)"}


def _replace_in_place(widget: go.FigureWidget, fresh: go.Figure) -> None:
    """Give a FigureWidget the traces and layout of ``fresh`` without creating a new widget."""
    with widget.batch_update():
        if len(widget.data) == len(fresh.data) and all(
            a.type == b.type for a, b in zip(widget.data, fresh.data)
        ):
            for old, new in zip(widget.data, fresh.data):
                old.update(new.to_plotly_json(), overwrite=True)
        else:
            widget.data = ()
            widget.add_traces(list(fresh.data))
        widget.layout = fresh.layout


class Status:
    """One line of progress shown in place while a cell runs ("training: epoch 7 of 30 …"), replaced by
    "finished …" at the end; printed instead outside a kernel (``mode="off"``: silent)."""

    def __init__(self, mode: str = "auto"):
        self.mode = "off" if mode == "off" else live_mode(mode)
        self._handle: Any = None
        self.started = time.perf_counter()
        self.text = ""

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def show(self, text: str) -> None:
        self.text = text
        if self.mode == "off":
            return
        if self.mode == "none":
            print(text, flush=True)
            return
        from IPython.display import Pretty, display

        if self._handle is None:
            self._handle = display(Pretty(text), display_id=True)
        else:
            self._handle.update(Pretty(text))

    def seeds(self, done: int, total: int) -> None:
        """A ``progress`` callback for ``run_seeds``: runs finished so far."""
        if done < total:
            self.show(f"training: {done} of {total} runs finished ({self.seconds:.0f} s; two at a time on two cores)")
        else:
            self.show(f"finished: {total} runs in {self.seconds:.0f} s")


_Status = Status  # the former private name
