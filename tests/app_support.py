"""Helpers for the app tests: a fast AppTest of the Streamlit app, and reading its Plotly charts."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py"
# Small data and model: one epoch takes a few milliseconds.
TINY = {"n_samples": "600", "width": "4", "epochs": "2", "batch_size": "64"}
_template: AppTest | None = None


def new_app(query: dict[str, str] | None = None, timeout: float = 60) -> AppTest:
    """A fresh session of the app with ``query`` as its link's query string."""
    global _template
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    # AppTest scans every installed package for components once per instance (about a second);
    # the app uses none, so share the first instance's scan.
    if _template is not None and hasattr(_template, "_bidi_component_manager"):
        at._bidi_component_manager = _template._bidi_component_manager
    elif _template is None:
        _template = at
    at.query_params.update(query or {})
    return at


def _in_order(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _in_order(child)


def charts(at: AppTest) -> list[dict]:
    """Every Plotly chart on the page as its figure dict (data, layout), in page order: Streamlit's own and
    those of the app's live-chart components."""
    found = []
    for node in _in_order(at._tree):
        if node.type == "plotly_chart":
            found.append(json.loads(node.proto.spec))
        elif node.type == "component_instance":
            found += [json.loads(c["spec"]) for c in json.loads(node.proto.json_args or "{}").get("charts", [])]
    return found


def chart(at: AppTest, title_start: str) -> dict | None:
    """The first chart whose title starts with ``title_start``."""
    for spec in charts(at):
        title = spec.get("layout", {}).get("title", {})
        text = title.get("text", "") if isinstance(title, dict) else str(title)
        if text.startswith(title_start):
            return spec
    return None


def texts(at: AppTest) -> str:
    """All markdown, captions, infos, warnings and errors of the page, joined."""
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(element.value) for element in getattr(at, kind)]
    return "\n".join(parts)


def rerun_until(at: AppTest, condition, timeout: float = 90) -> AppTest:
    """Run the page again until ``condition()`` holds (trainings run on the service, not in the script);
    ``timeout`` only ends a wait that would never end."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page did not get there within {timeout} s")
        time.sleep(0.2)
        at.run()
    return at


def wait(at: AppTest, kind: str = "playground", timeout: float = 90) -> AppTest:
    """Run the page again until its job has ended."""
    key = f"_{kind}_was_training"
    return rerun_until(at, lambda: not (at.session_state[key] if key in at.session_state else False), timeout)


def job_of(at: AppTest, kind: str = "playground"):
    """The service's record of the page's job (its tasks, seeds and histories)."""
    from app.service import service

    return service(at.session_state["limits"]).view(at.session_state["jobs"][kind]).job


def config_of(at: AppTest):
    """The session's validated config (None while a setting is not valid), from the app's one state."""
    return at.session_state["app_state"].valid_config()
