"""Training in a notebook: ``train_live`` trains one trainer, or several epoch by epoch in turn, while
live figures (``figures.live``) redraw from their histories below a status line.

    history = train_live(Trainer(config), [lambda h: figures.class_curves(h, "train_acc")])

A front like the CLI: it drives the trainers; the figures only read what they recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from .analysis.history import RunHistory
from .figures.live import LiveFigure, Status

Trainers = Any  # a Trainer, or a mapping {name: Trainer}


def train_live(trainers: Trainers, builds: Sequence[Callable[..., go.Figure]] | Callable[..., go.Figure],
               mode: str = "auto", every: int = 1, report: bool = True) -> dict[str, RunHistory] | RunHistory:
    """Train one trainer (or several, epoch by epoch in turn) while redrawing figures below a status
    line that says which epoch is training.

    Each build is called as ``build(history)`` for a single trainer, or ``build({name: history})``
    for a mapping of trainers. Returns the history (or the mapping of histories).
    """
    single = not isinstance(trainers, Mapping)
    runs: dict[str, Any] = {"run": trainers} if single else dict(trainers)
    build_list = [builds] if callable(builds) else list(builds)
    total = max((t.total_epochs for t in runs.values()), default=0)

    def histories() -> Any:
        found = {name: t.history for name, t in runs.items()}
        return found["run"] if single else found

    status = Status(mode if report else "off")
    what = "" if single else f" ({len(runs)} runs in turn)"
    status.show(f"training: epoch 1 of {total}{what} …")
    figures = [LiveFigure(lambda b=b: b(histories()), mode).show() for b in build_list]
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
            done = max((t.epoch for t in runs.values()), default=0)
            head = (f"finished: {done} epochs{what} in {status.seconds:.0f} s" if not iterators else
                    f"training: epoch {min(done + 1, total)} of {total}{what} …")
            status.show("\n".join([head, *lines.values()]))
    return histories()


def _line(name: str, record: Any) -> str:
    groups = ", ".join(f"{g} {v:.2f}" for g, v in record.group_test_acc.items())
    prefix = f"{name}: " if name else ""
    return (f"{prefix}epoch {record.epoch}: balanced test accuracy {record.balanced_acc:.3f} "
            f"(test accuracy {groups}); {record.seconds:.1f} s")
