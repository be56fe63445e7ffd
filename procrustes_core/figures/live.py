"""Live-updating Plotly figures for notebooks: redraw a figure from a run while it trains.

In a Jupyter kernel with working widgets (ipywidgets and anywidget installed) the figure is a
plotly ``FigureWidget`` whose traces are replaced in place after every epoch. Where widgets are
unavailable, or ``PROCRUSTES_LIVE=static`` is set (as in a plain ``nbconvert`` / ``nbclient``
run), the same figure is shown as a static figure and re-displayed in place through a display
handle. Outside IPython the figure is simply kept; nothing is printed.

    live = LiveFigure(lambda: plots.class_curves(trainer.history, "train_acc"))
    live.show()
    for record in trainer.epochs():
        live.update()

``train_live`` does exactly that for one or several trainers and several figures at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from ..analysis.history import RunHistory

MODES = ("auto", "widget", "static")


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def widgets_available() -> bool:
    """True when a plotly FigureWidget can be made in this process (a kernel with ipywidgets + anywidget)."""
    if not _in_kernel():
        return False
    try:
        import anywidget  # noqa: F401  (FigureWidget is built on it)
        import ipywidgets  # noqa: F401

        go.FigureWidget()
    except Exception:  # any import or construction failure means: no widgets here
        return False
    return True


def live_mode(mode: str = "auto") -> str:
    """The mode a LiveFigure will use: ``widget``, ``static`` (in a kernel) or ``none`` (no IPython)."""
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: expected one of {', '.join(MODES)}")
    requested = os.environ.get("PROCRUSTES_LIVE", "").strip().lower() if mode == "auto" else mode
    if not _in_kernel():
        return "none"
    if requested == "static":
        return "static"
    return "widget" if widgets_available() else "static"


class LiveFigure:
    """A figure rebuilt by ``build()`` after each epoch and shown in place."""

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
        else:
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
        else:
            self.figure = fresh
            if self._handle is not None:
                self._handle.update(_bundle(fresh), raw=True)

    def _repr_html_(self) -> str:  # a LiveFigure left as a cell's last value shows its figure
        return "" if self.figure is None else self.figure.to_html(full_html=False, include_plotlyjs="cdn")


def _bundle(figure: go.Figure) -> dict[str, Any]:
    """The figure's MIME bundle: displayed raw so that a display handle can replace it in place
    (a plotly Figure's own display hook would add a new output every time)."""
    bundle = figure._repr_mimebundle_(include=None, exclude=None)
    bundle.setdefault("text/plain", f"<plotly figure: {figure.layout.title.text or 'untitled'}>")
    return bundle


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


Trainers = Any  # a Trainer, or a mapping {name: Trainer}


def train_live(trainers: Trainers, builds: Sequence[Callable[..., go.Figure]] | Callable[..., go.Figure],
               mode: str = "auto", every: int = 1, report: bool = True) -> dict[str, RunHistory] | RunHistory:
    """Train one trainer (or several, epoch by epoch in turn) while redrawing figures.

    Each build is called as ``build(history)`` for a single trainer, or ``build({name: history})``
    for a mapping of trainers. Returns the history (or the mapping of histories).
    """
    single = not isinstance(trainers, Mapping)
    runs: dict[str, Any] = {"run": trainers} if single else dict(trainers)
    build_list = [builds] if callable(builds) else list(builds)

    def histories() -> Any:
        found = {name: t.history for name, t in runs.items()}
        return found["run"] if single else found

    figures = [LiveFigure(lambda b=b: b(histories()), mode).show() for b in build_list]
    status = _Status(mode if report else "off")
    iterators = {name: iter(t.epochs()) for name, t in runs.items()}
    lines: dict[str, str] = {}
    step = 0
    while iterators:
        for name in list(iterators):
            record = next(iterators[name], None)
            if record is None:
                del iterators[name]
                continue
            lines[name] = _line("" if single else name, record)
        step += 1
        if step % every == 0 or not iterators:
            for figure in figures:
                figure.update()
            status.show("\n".join(lines.values()))
    return histories()


def _line(name: str, record: Any) -> str:
    groups = ", ".join(f"{g} {v:.2f}" for g, v in record.group_test_acc.items())
    prefix = f"{name}: " if name else ""
    return (f"{prefix}epoch {record.epoch}: balanced test accuracy {record.balanced_acc:.3f} "
            f"(test accuracy {groups}); {record.seconds:.1f} s")


class _Status:
    """Progress text shown in place in a kernel (one display updated), printed once per update elsewhere."""

    def __init__(self, mode: str):
        self.mode = "off" if mode == "off" else live_mode(mode)
        self._handle: Any = None

    def show(self, text: str) -> None:
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
