"""No server path in a learner's view: errors about uploaded data name the upload by its name."""

from __future__ import annotations

from pathlib import Path

from app_support import config_of, texts, wait
from test_upload_app import pets_csv, picker_labels, uploaded  # noqa: F401 - picker_labels: an autouse fixture

from app import your_data
from procrustes_core import TrainConfig
from procrustes_core.data.uploaded import StoredData
from procrustes_core.training.jobs import JobState, JobView, Status, TaskView


def test_a_run_error_on_uploaded_data_names_the_upload_never_the_servers_path():
    at = uploaded("pets.csv", pets_csv())
    path = Path(config_of(at).data_path)
    path.write_bytes(b"width,height,kind\n1,2,cat\n3,x\n")  # the kept file no longer reads
    at.run()
    at.button(key="train").click().run()
    wait(at)
    shown = texts(at)
    assert "pets.csv: line 3, label column 'kind': no value" in shown
    assert path.name not in shown and str(path.parent.parent.name) not in shown and "data_path=" not in shown


STORED = Path("/srv/procrustes/runs/0123abcd/data/33b4b35ac72b1c63.csv")


def a_job(error: str) -> JobView:
    task = TaskView(1, "j", 0, "ERM", TrainConfig(), Status.FAILED, None, (), (), (), None, None, error, None, None,
                    None, None)
    return JobView(JobState("j", "me", "playground", ("ERM",), (task,)), None, None)


def test_a_workers_error_about_the_kept_file_reads_with_the_uploads_name(monkeypatch):
    monkeypatch.setattr(your_data, "current", lambda: StoredData("pets.csv", STORED, "33b4b35ac72b1c63", "csv"))
    view = your_data.learner_view(a_job(f"data_path='{STORED}': a class with 1 sample; the splits need 2"))
    assert view.job.tasks[0].error == "pets.csv: a class with 1 sample; the splits need 2"
    quoted = your_data.learner_text(f"could not read '{STORED}' (permission denied)")
    assert quoted == "could not read pets.csv (permission denied)"


def test_an_upload_no_longer_held_is_still_never_shown_by_its_path(monkeypatch):
    monkeypatch.setattr(your_data, "current", lambda: None)
    message = your_data.learner_text(f"data_path=…{str(STORED)[-30:]}': line 3: ragged row")
    assert message == "your data: line 3: ragged row"
    untouched = a_job("")
    assert your_data.learner_view(untouched) is untouched


def test_a_downloaded_run_keeps_only_the_file_names_of_the_servers_paths(tmp_path):
    from app.components.run_view import shareable
    from procrustes_core import RunHistory

    kept = tmp_path / "store" / "data" / ("ab" * 32 + ".csv")
    config = TrainConfig(dataset="digits", init_checkpoint=str(tmp_path / "secret" / "start.pt"),
                         data_path=str(kept))
    history = RunHistory(config, [5] * 10, {"major": [0, 1, 2, 3, 4], "minor": [5, 6, 7, 8, 9]},
                         [str(i) for i in range(10)])
    shared = shareable(history)
    assert str(tmp_path) not in shared.to_json()
    assert (shared.config.init_checkpoint, shared.config.data_path) == ("start.pt", kept.name)
    assert history.config.init_checkpoint == str(tmp_path / "secret" / "start.pt")  # the server's copy is unchanged
