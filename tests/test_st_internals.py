"""The Streamlit internals the app relies on (app/st_internals.py): one test each, so an upgrade that
moves one fails here by name."""

from __future__ import annotations

from app import st_internals


def _page_that_keeps_its_session_id() -> None:
    import streamlit as st

    from app.st_internals import session_id

    st.session_state.found = session_id()


def test_a_script_run_knows_its_browser_session_and_outside_one_there_is_none():
    from streamlit.testing.v1 import AppTest

    assert st_internals.session_id() is None
    found = AppTest.from_function(_page_that_keeps_its_session_id).run().session_state["found"]
    assert isinstance(found, str) and found


def test_a_session_is_alive_without_a_server_and_asked_of_the_runtime_with_one(monkeypatch):
    from streamlit.runtime import Runtime

    assert not Runtime.exists() and st_internals.session_alive("any") is True
    asked = []

    class FakeRuntime:
        def is_active_session(self, session: str) -> bool:
            asked.append(session)
            return False

    monkeypatch.setattr(Runtime, "exists", classmethod(lambda cls: True))
    monkeypatch.setattr(Runtime, "instance", classmethod(lambda cls: FakeRuntime()))
    assert st_internals.session_alive("tab-1") is False and asked == ["tab-1"]
    assert callable(getattr(Runtime, "is_active_session", None))  # the method the app calls exists


def _page_that_reruns_once() -> None:
    import streamlit as st

    from app.st_internals import is_script_control

    if "passed_through" in st.session_state:
        return
    try:
        st.rerun()
    except BaseException as err:
        st.session_state.passed_through = is_script_control(err) and not isinstance(err, Exception)
        raise


def test_rerun_and_stop_are_told_apart_from_a_pages_errors():
    from streamlit.runtime.scriptrunner import RerunData
    from streamlit.testing.v1 import AppTest

    from app.st_internals import RerunException

    assert st_internals.is_script_control(RerunException(RerunData()))
    assert not st_internals.is_script_control(ValueError("a page's own error"))
    at = AppTest.from_function(_page_that_reruns_once).run()
    assert at.session_state["passed_through"] is True and not at.exception  # no `except Exception` catches it


def test_torch_classes_are_given_a_path_the_watcher_can_walk():
    import torch

    st_internals.unwatch_torch_classes()
    assert list(torch.classes.__path__) == []
