"""Live charts that update in place: several Plotly figures in one small page of their own (a Streamlit
component) that redraws a figure with ``Plotly.react`` only when its figure changed.

``st.plotly_chart`` gives a chart a new identity whenever its figure changes, so the browser removes
the chart and plots a new one: on a page that redraws four times a second a chart is missing for a
moment, the learner's zoom is lost, and a full new plot costs the browser several times an update.
Here a chart keeps its place from the first figure to the last.

    live_charts("playground-curves", [("train", fig), ("test", fig2)], columns=2)

The component's files are ``plotly_live/index.html`` and the installed plotly package's own
``plotly.min.js``, copied together once into the data cache (``$PROCRUSTES_CACHE``, else
``~/.cache/procrustes``; a temporary folder where that cannot be written).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v1 as components

from procrustes_core.data.datasets import cache_dir

HERE = Path(__file__).resolve().parent / "plotly_live"
NAME = "procrustes_live_charts"


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def _assets_in(root: Path) -> Path:
    """The component's folder under ``root``, made once (in a temporary folder, then renamed into place:
    a reader never sees it half-written)."""
    page = (HERE / "index.html").read_bytes()
    script = _plotly_js()
    stamp = hashlib.sha256(page + str(script.stat().st_size).encode()).hexdigest()[:12]
    folder = root / f"live-charts-{stamp}"
    if (folder / "index.html").exists() and (folder / "plotly.min.js").exists():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".live-charts-", dir=root))
    try:
        (scratch / "index.html").write_bytes(page)
        shutil.copyfile(script, scratch / "plotly.min.js")
        try:
            os.rename(scratch, folder)
        except OSError:  # another server made it first
            if not (folder / "plotly.min.js").exists():
                raise
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return folder


@st.cache_resource(show_spinner=False)
def _component():
    try:
        folder = _assets_in(cache_dir())
    except OSError:  # the cache cannot be written: a folder of this server's own
        folder = _assets_in(Path(tempfile.gettempdir()) / f"procrustes-{os.getuid() if hasattr(os, 'getuid') else 0}")
    return components.declare_component(NAME, path=str(folder))


def figure_json(fig: go.Figure | dict) -> str:
    """A figure as the JSON text the component draws."""
    import plotly.io as pio

    return pio.to_json(fig, validate=False)


def live_charts(key: str, charts: Sequence[tuple[str, go.Figure | str]], columns: int = 1) -> None:
    """Draw ``charts`` ((name, figure or its JSON text), in order) in a grid of ``columns``; a chart whose
    figure is the same as last time is left as it is."""
    specs = []
    for name, fig in charts:
        spec = fig if isinstance(fig, str) else figure_json(fig)
        specs.append({"key": name, "spec": spec})
    _component()(charts=specs, columns=columns, key=key, default=None)
