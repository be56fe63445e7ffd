"""A shared app server that learners cannot hurt: uploads are parsed once and capped per session, the run
store is bounded and cleans up after killed writes, a diverged run says so (never a linear-algebra error),
the teacher's key is read from its link and never stays in the address bar, and the fair queue shares
slots per browser, not per tab."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from app_support import TINY, new_app, texts, wait
from hypothesis import given, settings
from hypothesis import strategies as st

from app import store
from app.uploads import read_uploads
from procrustes_core import ProcrustesError, RunHistory, TrainConfig
from procrustes_core.analysis.projection import FeaturesNotFinite, FeatureTrail

ID = "0123456789abcdef" * 2  # a browser id as the cookie holds it


def _run_json(epochs: int = 1) -> bytes:
    from test_reliability import _history

    return _history().to_json().encode()


class FakeUpload:
    """What Streamlit's uploaded file offers: a name, a size, an id per upload, the bytes."""

    def __init__(self, name: str, data: bytes, file_id: str | None = None):
        self.name, self.data, self.size, self.file_id = name, data, len(data), file_id or f"id-{name}"

    def getvalue(self) -> bytes:
        return self.data


# ---------------------------------------------------------------- uploads


def test_each_upload_is_parsed_once_and_a_rejected_one_stays_rejected_unread():
    parsed = []

    def parse(data: bytes, name: str) -> RunHistory:
        parsed.append(name)
        return RunHistory.from_json(data, name)

    cache: dict = {}
    files = [FakeUpload("good.json", _run_json()), FakeUpload("bad.json", b"{not json")]
    for _ in range(5):  # five reruns of the page
        found = read_uploads(files, parse, cache, max_files=5, max_total_bytes=10**7, max_file_bytes=10**6)
    assert parsed == ["good.json", "bad.json"]
    assert found[0].ok and isinstance(found[0].value, RunHistory)
    assert not found[1].ok and found[1].error.startswith("bad.json: not valid JSON") and "\n" not in found[1].error
    again = FakeUpload("copy.json", _run_json(), "another-upload")  # the same content under another name
    read_uploads([*files, again], parse, cache, max_files=5, max_total_bytes=10**7, max_file_bytes=10**6)
    assert parsed == ["good.json", "bad.json"]


def test_uploads_past_the_count_or_the_session_total_are_refused_without_being_read():
    read = []

    class Counted(FakeUpload):
        def getvalue(self) -> bytes:
            read.append(self.name)
            return self.data

    files = [Counted(f"f{i}.json", b"x" * 400) for i in range(4)]
    found = read_uploads(files, lambda d, n: n, {}, max_files=3, max_total_bytes=1000, max_file_bytes=500)
    assert [u.ok for u in found] == [True, True, False, False]
    assert "1000" not in found[2].error and "0 MB in all" in found[2].error  # the total: 2 × 400 + 400 > 1000
    assert "more than 3 files" in found[3].error and read == ["f0.json", "f1.json"]
    big = read_uploads([Counted("big.json", b"x" * 600)], lambda d, n: n, {}, 3, 10_000, 500)
    assert "600 bytes" in big[0].error and read == ["f0.json", "f1.json"]


def test_files_no_longer_given_are_dropped_from_the_session():
    cache: dict = {}
    read_uploads([FakeUpload("a.json", b"1"), FakeUpload("b.json", b"2")], lambda d, n: d, cache, 5, 100, 100)
    read_uploads([FakeUpload("b.json", b"2")], lambda d, n: d, cache, 5, 100, 100)
    assert list(cache["files"]) == ["id-b.json"] and len(cache["results"]) == 1


@settings(max_examples=120, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_uploaded_as_a_run_are_a_run_or_one_line(data):
    found = read_uploads([FakeUpload("x.json", data)], RunHistory.from_json, {}, 5, 10**6, 10**6)[0]
    assert found.ok or ("\n" not in found.error and found.error.startswith("x.json: "))


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                max_size=4),
                    max_leaves=30),
       st.sampled_from(["config", "records", "counts", "groups", "class_names", "variants", "warnings", "stopped"]))
def test_a_run_file_with_any_value_in_any_field_is_a_run_or_one_project_error(value, field):
    data = json.loads(_run_json())
    data[field] = value
    try:
        RunHistory.from_json(json.dumps(data))
    except ProcrustesError as err:
        assert "\n" not in str(err) and str(err)


def test_compare_page_parses_an_upload_once_and_caps_the_count(monkeypatch):
    monkeypatch.setenv("PROCRUSTES_MAX_UPLOADS", "2")
    parsed = []
    real = RunHistory.from_json.__func__

    def counting(cls, text, source="run"):
        parsed.append(source)
        return real(cls, text, source)

    monkeypatch.setattr(RunHistory, "from_json", classmethod(counting))
    at = new_app(TINY).run()
    at.switch_page("views/compare.py").run()
    run = _run_json()
    at.file_uploader[0].set_value([("a.json", run, "application/json"), ("b.json", b"{", "application/json"),
                                   ("c.json", run, "application/json")]).run()
    at.run()
    assert not at.exception and parsed == ["a.json", "b.json"]
    shown = [t.value for t in at.text]
    assert any(t.startswith("b.json: not valid JSON") for t in shown)
    assert any(t.startswith("c.json: more than 2 files") for t in shown)


# ---------------------------------------------------------------- the run store


def _browser(root: Path, name: str, files: int, size: int, used: float) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for i in range(files):
        (folder / f"{i:04d}.json").write_bytes(b"x" * size)
    os.utime(folder, (used, used))
    return folder


def test_the_store_deletes_browsers_unused_for_the_set_time(tmp_path):
    now = 1_000_000.0
    _browser(tmp_path, "a" * 32, 2, 10, now - 40 * 86_400)
    _browser(tmp_path, "b" * 32, 2, 10, now - 86_400)
    (tmp_path / "not-an-id").mkdir()  # never touched: only folders named as ids are the store's
    removed = store.tidy(tmp_path, None, 30 * 86_400, now=now)
    assert removed == ["a" * 32] and {p.name for p in tmp_path.iterdir()} == {"b" * 32, "not-an-id"}


def test_past_its_size_the_store_drops_the_least_recently_used_browsers_first(tmp_path):
    now = 1_000_000.0
    for i, name in enumerate(["c", "a", "d", "b"]):
        _browser(tmp_path, name * 32, 1, 100, now - 100 + i)  # c oldest, b newest
    removed = store.tidy(tmp_path, 250, None, now=now)
    assert removed == ["c" * 32, "a" * 32] and {p.name[0] for p in tmp_path.iterdir()} == {"d", "b"}


def test_the_browser_saving_is_kept_last_and_keeps_its_newest_run(tmp_path):
    now = 1_000_000.0
    mine = _browser(tmp_path, "a" * 32, 5, 100, now - 1_000)  # the oldest, but the one saving now
    _browser(tmp_path, "b" * 32, 1, 100, now)
    store.tidy(tmp_path, 150, None, keep=mine.name, now=now)
    assert not (tmp_path / ("b" * 32)).exists() and [p.name for p in mine.iterdir()] == ["0004.json"]


def test_start_up_removes_old_temporary_files_of_killed_writes_only(tmp_path):
    now = time.time()
    folder = _browser(tmp_path, ID, 1, 10, now)
    killed, fresh = folder / ".1.json.ab12cd34.tmp", folder / ".2.json.ef56ab78.tmp"
    killed.write_text("{half")
    fresh.write_text("{under way")
    os.utime(killed, (now - 3_600, now - 3_600))
    store.prepare(tmp_path, now=now)
    assert not killed.exists() and fresh.exists() and (folder / "0000.json").exists()


def test_a_saved_run_is_read_back_once_and_its_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    import streamlit
    from test_reliability import _history

    monkeypatch.setitem(streamlit.session_state, "browser_id", ID)  # bare mode: the session state of no page
    streamlit.session_state.pop("_store_read", None)
    for i in range(3):
        store.save(tmp_path, f"run {i}", _history(), max_bytes=10**9, max_idle_seconds=86_400.0)
    assert [label for label, _ in store.load(tmp_path)] == ["run 0", "run 1", "run 2"]
    assert [p.suffix for p in (tmp_path / ID).iterdir()] == [".json"] * 3
    read = []
    monkeypatch.setattr(RunHistory, "from_dict", classmethod(lambda cls, *a: read.append(a) or pytest.fail("read")))
    assert len(store.load(tmp_path)) == 3 and read == []  # the second look reads no file again


def test_a_finished_training_bounds_the_store_dropping_the_least_recently_used_browser(tmp_path, monkeypatch):
    monkeypatch.setenv("PROCRUSTES_RUN_STORE", str(tmp_path))
    monkeypatch.setenv("PROCRUSTES_RUN_STORE_MB", "1")
    _browser(tmp_path, "b" * 32, 1, 1_500_000, time.time() - 3_600)  # over the cap on its own, used an hour ago
    at = new_app({**TINY, "seeds": "1"})
    at.session_state["browser_id"] = ID
    at.run()
    at.button(key="train").click().run()
    wait(at)
    assert [p.name for p in tmp_path.iterdir()] == [ID] and len(list((tmp_path / ID).glob("*.json"))) == 1


# ---------------------------------------------------------------- divergence


def test_features_that_are_not_finite_raise_the_views_own_error_not_a_linear_algebra_one():
    labels = np.repeat(np.arange(4), 5)
    trail = FeatureTrail(np.arange(20), labels)
    trail.add(1, np.random.default_rng(0).normal(size=(20, 8)))
    for bad in (np.nan, np.inf):
        features = np.ones((20, 8))
        features[3, 2] = bad
        with pytest.raises(FeaturesNotFinite, match="not finite"):
            trail.add(2, features)
    assert trail.epochs == [1] and len(trail.replay()) == 1  # nothing half-kept


def test_huge_but_finite_features_are_projected_and_replayed():
    labels = np.repeat(np.arange(4), 5)
    trail = FeatureTrail(np.arange(20), labels)
    rng = np.random.default_rng(1)
    for epoch, scale in enumerate([1.0, 1e6, 1e30], start=1):  # past float16 and float32 products
        points = trail.add(epoch, rng.normal(size=(20, 8)) * scale)
        assert np.isfinite(points).all()
    assert all(np.isfinite(p).all() for p in trail.replay())


def test_a_network_whose_last_step_blew_up_is_diverged_with_its_reason(monkeypatch):
    import torch

    from procrustes_core.errors import TrainingDiverged
    from procrustes_core.training.trainer import Trainer

    trainer = Trainer(TrainConfig(dataset="toy2d", n_samples=400, width=4, epochs=2, threads=1, lr=0.1))
    real_step = Trainer._step

    def blow_up(self, epoch):
        real_step(self, epoch)
        if epoch.batch == epoch.batches:  # the epoch's loss stays finite: only its last update is not
            with torch.no_grad():
                next(self.model.parameters()).fill_(float("nan"))

    monkeypatch.setattr(Trainer, "_step", blow_up)
    with pytest.raises(TrainingDiverged) as err:
        list(trainer.epochs())
    assert str(err.value) == "training diverged in epoch 1 (its weights are not finite); lower lr (now 0.1)"
    assert trainer.history.stopped == str(err.value)


def test_a_worker_whose_features_are_not_finite_reports_the_divergence(monkeypatch):
    from procrustes_core.training.messages import Failed, TrainRequest
    from procrustes_core.training.worker import train_and_ship

    real_add = FeatureTrail.add
    monkeypatch.setattr(FeatureTrail, "add", lambda self, epoch, f: real_add(self, epoch, f * np.nan))
    events = []
    config = TrainConfig(dataset="toy2d", n_samples=400, width=4, epochs=2, threads=1, lr=0.1)
    train_and_ship(TrainRequest(7, config.to_dict(), observers=("features",), every_seconds=60), events.append,
                   lambda: False)
    last = events[-1]
    assert isinstance(last, Failed) and last.serial == 7
    assert last.message == "training diverged in epoch 1 (its penultimate features are not finite); lower lr (now 0.1)"


def test_a_diverged_run_says_so_on_the_playground_and_in_the_compare_table():
    at = new_app({**TINY, "dataset": "toy2d", "ratio": "10", "lr": "100", "norm": "none", "epochs": "4",
                  "seeds": "1"}).run()
    at.button(key="train").click().run()
    wait(at)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("training diverged in epoch") and "lower lr" in e for e in errors), errors
    assert "LinAlgError" not in texts(at) and "training failed" not in texts(at)
    at.switch_page("views/compare.py").run()
    tables = [t.value for t in at.dataframe]
    assert any("ended early" in t.columns and t["ended early"].str.startswith("training diverged").any()
               for t in tables)


# ---------------------------------------------------------------- the teacher's link


def test_a_teacher_link_opens_the_teacher_page_and_leaves_no_key_in_the_address(monkeypatch):
    monkeypatch.setenv("PROCRUSTES_TEACHER_KEY", "sesame")
    at = new_app({"teacher": "sesame", "ratio": "20"}).run()
    assert not at.exception
    assert [h.value for h in at.header] == ["Teacher's view"] and "active trainings" in texts(at)
    assert "teacher" not in at.query_params and "sesame" not in json.dumps(dict(at.query_params))
    at.run()  # later runs keep the page open from the session, not from the link
    assert "active trainings" in texts(at) and "teacher" not in at.query_params


@pytest.mark.parametrize("given", ["wrong", "", "🙂", "sesame" * 1000])
def test_a_wrong_teacher_key_in_a_link_is_named_dropped_and_opens_nothing(monkeypatch, given):
    monkeypatch.setenv("PROCRUSTES_TEACHER_KEY", "sesame")
    at = new_app({"teacher": given}).run()
    assert not at.exception and "active trainings" not in texts(at)
    assert any("teacher: not this server's key" in w.value for w in at.warning)
    assert "teacher" not in at.query_params


def test_the_teacher_entry_is_listed_only_for_a_session_holding_the_key(monkeypatch):
    import streamlit

    monkeypatch.setenv("PROCRUSTES_TEACHER_KEY", "sesame")
    seen = []
    real_page = streamlit.Page

    def page(*args, **kwargs):
        seen.append((kwargs.get("title"), kwargs.get("visibility", "visible")))
        return real_page(*args, **kwargs)

    monkeypatch.setattr(streamlit, "Page", page)
    new_app().run()
    assert ("Teacher", "hidden") in seen and ("Teacher", "visible") not in seen
    seen.clear()
    new_app({"teacher": "sesame"}).run()
    assert ("Teacher", "visible") in seen


# ---------------------------------------------------------------- one share per browser


def test_trainings_belong_to_the_browser_not_the_tab():
    from app.service import service

    first = new_app(TINY)
    first.session_state["browser_id"] = ID
    first.run()
    first.button(key="train").click().run()
    second = new_app(TINY)  # another tab of the same browser (or a reload): it returns to the browser's training
    second.session_state["browser_id"] = ID
    second.run()
    assert second.session_state["jobs"]["playground"] == first.session_state["jobs"]["playground"]
    wait(second)
    second.button(key="train").click().run()
    wait(second)
    limits = second.session_state["limits"]
    jobs = {first.session_state["jobs"]["playground"], second.session_state["jobs"]["playground"]}
    owners = {service(limits).view(job).job.owner for job in jobs}
    assert owners == {ID}  # one owner: one share of the slots and of the fair queue
    older = service(limits).view(first.session_state["jobs"]["playground"]).job
    # the second tab's training replaced the first's (unless that one had already ended)
    assert all(t.status == "finished" or t.stop_reason == "replaced by a new training" for t in older.tasks)


def test_a_browser_is_alive_while_any_of_its_tabs_is(monkeypatch):
    from streamlit.runtime import Runtime

    from app import service as app_service

    active = {"tab-1", "tab-2"}

    class FakeRuntime:
        def is_active_session(self, session_id: str) -> bool:
            return session_id in active

    monkeypatch.setattr(Runtime, "exists", classmethod(lambda cls: True))  # a server runs (app/st_internals.py)
    monkeypatch.setattr(Runtime, "instance", classmethod(lambda cls: FakeRuntime()))
    monkeypatch.setitem(app_service._sessions, ID, {"tab-1", "tab-2"})
    assert app_service.session_alive(ID)
    active.discard("tab-1")
    assert app_service.session_alive(ID) and app_service._sessions[ID] == {"tab-2"}
    active.clear()
    assert not app_service.session_alive(ID) and ID not in app_service._sessions


# ---------------------------------------------------------------- operator settings and odd store paths


def test_the_store_and_upload_caps_are_read_from_their_environment_variables(monkeypatch):
    from app.limits import read_limits

    for name, value in {"RUN_STORE_MB": "5", "RUN_STORE_DAYS": "1.5", "MAX_UPLOADS": "3", "MAX_UPLOAD_MB": "7"}.items():
        monkeypatch.setenv(f"PROCRUSTES_{name}", value)
    limits = read_limits()
    assert (limits.run_store_mb, limits.run_store_days, limits.max_uploads, limits.max_upload_mb) == (5, 1.5, 3, 7)
    assert store.caps(limits) == {"max_bytes": 5_000_000, "max_idle_seconds": 129_600.0}
    monkeypatch.setenv("PROCRUSTES_MAX_UPLOADS", "lots")
    with pytest.raises(ProcrustesError, match="^PROCRUSTES_MAX_UPLOADS='lots': expected a whole number ≥ 1$"):
        read_limits()


def test_a_run_store_that_is_a_fifo_is_left_alone_and_costs_only_the_run(tmp_path, monkeypatch):
    import streamlit
    from test_reliability import _history

    monkeypatch.setitem(streamlit.session_state, "browser_id", ID)
    root = tmp_path / "runs"
    os.mkfifo(root)
    store.save(root, "run", _history(), max_bytes=10, max_idle_seconds=1.0)  # raises nothing
    store.prepare(root, 10, 1.0)
    assert store.load(root) == [] and [p.name for p in tmp_path.iterdir()] == ["runs"]
    assert os.path.exists(root) and not root.is_dir()


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(st.lists(st.binary(max_size=400), min_size=1, max_size=4))
def test_any_uploaded_bytes_leave_the_compare_page_standing(blobs):
    at = new_app(TINY).run()
    at.switch_page("views/compare.py").run()
    at.file_uploader[0].set_value([(f"f{i}.json", b, "application/json") for i, b in enumerate(blobs)]).run()
    assert not at.exception and "Something went wrong" not in texts(at)
    assert all("\n" not in t.value for t in at.text)
