"""The optional parts of the install: which extra brings a module, and one line when it is missing.

The library (``import procrustes_core``, the command line's train, compare, sweep and report) needs
only the core dependencies; each user interface is an extra of ``pyproject.toml``.
"""

from __future__ import annotations

import importlib.util

from .errors import ProcrustesError

EXTRAS = {"streamlit": "app", "jupyterlab": "lessons", "ipywidgets": "lessons", "anywidget": "lessons",
          "IPython": "lessons", "ray": "cluster"}
INTERFACE_MODULES = ("streamlit", "jupyterlab", "ipywidgets", "anywidget", "IPython")


def require(module: str) -> None:
    """Nothing when ``module`` can be imported; else one line naming the extra that installs it."""
    if importlib.util.find_spec(module) is None:
        extra = EXTRAS.get(module, "dev")
        raise ProcrustesError(f"{module} is not installed: it comes with the '{extra}' extra "
                              f"(pip install -e '.[{extra}]', or make {extra if extra != 'dev' else 'test'})")
