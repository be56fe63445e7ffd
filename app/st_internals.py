"""The Streamlit internals the app relies on, each in one function here (and each with a test in
``tests/test_st_internals.py``), so that a Streamlit upgrade that moves one fails there, by name.

    session_id()           this script run's browser session (``get_script_run_ctx``)
    session_alive(id)      whether that session is still connected (``Runtime.is_active_session``)
    is_script_control(e)   st.rerun / st.stop / st.switch_page's exceptions, which must pass through
    unwatch_torch_classes  Streamlit's module watcher walks ``torch.classes``, which cannot be walked
"""

from __future__ import annotations

from streamlit.runtime.scriptrunner import RerunException, StopException, get_script_run_ctx


def session_id() -> str | None:
    """The id of the browser session this script run serves, or None outside a script run."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


def session_alive(session: str) -> bool:
    """Whether a browser session is still connected to this server (True where no server runs: tests
    drive the page directly)."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return True
    return Runtime.instance().is_active_session(session)


def is_script_control(err: BaseException) -> bool:
    """True for the exceptions Streamlit raises to rerun or stop a script: a page must let them through."""
    return isinstance(err, (RerunException, StopException))


def unwatch_torch_classes() -> None:
    """Give ``torch.classes`` an empty path, so that the watcher's walk of every module's path skips it."""
    import torch

    torch.classes.__path__ = []
