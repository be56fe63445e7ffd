"""Outputs that cannot hurt the machine: no output replaces a device, a FIFO, a socket or a folder, nor one of
its command's inputs; temporary files get their mode without touching the process umask; a checkpoint
the report cannot use is named by its flag.

A device node made with ``os.mknod`` in a temporary folder stands in for ``/dev/full`` (the real nodes
are never touched); making one needs root, so those cases are skipped elsewhere.
"""

from __future__ import annotations

import os
import socket
import stat
import threading
from pathlib import Path

import pytest
from test_reliability import TINY, _history, one_line, run_cli, tree

from procrustes_core import ProcrustesError
from procrustes_core import files as files_module
from procrustes_core.files import atomic_write_bytes, atomic_write_text, check_output_file, same_file, special_kind

ROOT_ONLY = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root")


def _device(folder: Path, name: str = "full") -> Path:
    """A character device with /dev/full's numbers (1, 7), in a temporary folder."""
    path = folder / name
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    return path


def _fifo(folder: Path, name: str = "pipe") -> Path:
    path = folder / name
    os.mkfifo(path)
    return path


def _socket(folder: Path, name: str = "sock") -> Path:
    path = folder / name
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()  # the socket file stays
    return path


SPECIALS = {"device": (_device, "is a device"), "fifo": (_fifo, "is a FIFO"), "socket": (_socket, "is a socket")}


def _special(kind: str, folder: Path) -> tuple[Path, str]:
    if kind == "device" and (not hasattr(os, "geteuid") or os.geteuid() != 0):
        pytest.skip("mknod needs root")
    make, message = SPECIALS[kind]
    return make(folder), message


def _unchanged(path: Path, kind: str) -> bool:
    mode = os.lstat(path).st_mode
    return {"device": stat.S_ISCHR, "fifo": stat.S_ISFIFO, "socket": stat.S_ISSOCK}[kind](mode)


# ---------------------------------------------------------------- the shared writer


@pytest.mark.parametrize("kind", SPECIALS)
def test_an_atomic_write_never_replaces_what_is_not_a_regular_file(tmp_path, kind):
    path, message = _special(kind, tmp_path)
    with pytest.raises(ProcrustesError) as err:
        atomic_write_text(path, "{}", "out")
    assert message in one_line(str(err.value)) and str(err.value).startswith("out=")
    assert _unchanged(path, kind) and tree(tmp_path) == {path.name}  # no temporary file left either


def test_a_link_to_a_device_is_judged_by_what_it_points_at(tmp_path):
    target, _ = _special("device", tmp_path)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert special_kind(link) == "a device"
    with pytest.raises(ProcrustesError, match="is a device"):
        check_output_file(link, "out")


def test_a_device_put_in_place_while_writing_is_not_replaced(tmp_path, monkeypatch):
    """The check runs again right before the rename: what appeared during the write is kept."""
    out = tmp_path / "run.json"
    real_fdopen = os.fdopen

    class Swapping:
        def __init__(self, fd, mode):
            self.handle = real_fdopen(fd, mode)

        def __enter__(self):
            return self.handle

        def __exit__(self, *exc):
            self.handle.close()
            _fifo(tmp_path, "run.json")  # another process makes a FIFO at the path meanwhile
            return False

    monkeypatch.setattr(files_module.os, "fdopen", Swapping)
    with pytest.raises(ProcrustesError, match="is a FIFO"):
        atomic_write_text(out, "{}", "out")
    assert stat.S_ISFIFO(os.lstat(out).st_mode) and tree(tmp_path) == {"run.json"}


def test_a_regular_file_is_still_replaced_whole_keeping_its_mode(tmp_path):
    out = tmp_path / "run.json"
    out.write_text("old")
    out.chmod(0o640)
    atomic_write_text(out, "new")
    assert out.read_text() == "new" and stat.S_IMODE(out.stat().st_mode) == 0o640


def test_a_new_file_gets_0666_less_the_umask_and_the_umask_is_never_changed(tmp_path, monkeypatch):
    calls = []
    real_umask = os.umask
    monkeypatch.setattr(os, "umask", lambda mask: calls.append(mask) or real_umask(mask))
    mask = real_umask(0o027)
    real_umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "a.bin", b"x")
    finally:
        real_umask(mask)
    assert calls == []  # another thread's file is never created under umask 0
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o640


def test_writes_from_many_threads_are_whole_and_none_is_world_writable(tmp_path):
    def write(i: int) -> None:
        for j in range(20):
            atomic_write_text(tmp_path / f"f{i}.txt", f"{i}-{j}" * 100)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tree(tmp_path) == {f"f{i}.txt" for i in range(6)}
    for i in range(6):
        path = tmp_path / f"f{i}.txt"
        assert path.read_text() == f"{i}-19" * 100 and not path.stat().st_mode & stat.S_IWOTH


def test_same_file_sees_relative_paths_links_and_hard_links(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run.json"
    run.write_text("{}")
    os.link(run, tmp_path / "hard.json")
    (tmp_path / "soft.json").symlink_to(run)
    assert same_file("run.json", run) and same_file(run, "hard.json") and same_file("soft.json", run)
    assert not same_file(run, tmp_path / "other.json") and not same_file(run, "a\x00b")


# ---------------------------------------------------------------- the command line


def _run_file(folder: Path) -> Path:
    run = folder / "run.json"
    _history().save(run)
    return run


@pytest.mark.parametrize("kind", SPECIALS)
def test_every_output_flag_refuses_a_special_file_with_exit_2_before_any_work(tmp_path, capsys, monkeypatch, kind):
    monkeypatch.chdir(tmp_path)
    run = _run_file(tmp_path)
    path, message = _special(kind, tmp_path)
    cases = [["train", *TINY, "--out", path.name], ["train", *TINY, "--save-checkpoint", path.name],
             ["compare", *TINY[:-1], "--seeds", "2", "--out", path.name], ["report", run.name, "--html", path.name],
             ["sweep", *TINY, "--grid", "ratio=10", "--out-dir", path.name]]
    from procrustes_core.training import trainer

    monkeypatch.setattr(trainer.Trainer, "__init__", lambda *a, **k: pytest.fail("trained"))
    before = tree(tmp_path)
    for args in cases:
        code, err = run_cli(args, capsys)
        assert code == 2 and len(err) == 1, (args, err)
        assert message in one_line(err[0]) and err[0].startswith("error: "), (args, err)
    assert tree(tmp_path) == before and _unchanged(path, kind)


@ROOT_ONLY
def test_a_sweep_never_replaces_a_device_inside_its_folder(tmp_path, capsys):
    folder = tmp_path / "sweep"
    folder.mkdir()
    device = _device(folder, "results.csv")
    code, err = run_cli(["sweep", *TINY, "--dataset", "toy2d", "--n-samples", "400", "--grid", "ratio=10",
                         "--backend", "serial", "--out-dir", str(folder)], capsys)
    assert code == 2 and "is a device" in one_line(err[-1]) and stat.S_ISCHR(os.lstat(device).st_mode)


@ROOT_ONLY
def test_a_lesson_result_is_never_written_over_a_device(tmp_path, monkeypatch):
    from lessons import kit

    monkeypatch.setattr(kit, "FAST", False)
    history = _history()
    _device(tmp_path, "study.json.gz")
    with pytest.raises(ProcrustesError, match="is a device"):
        kit.save_result("study", {"run": [history]}, [0], folder=tmp_path)


def test_a_lesson_result_is_written_atomically_and_read_back(tmp_path, monkeypatch):
    from lessons import kit

    monkeypatch.setattr(kit, "FAST", False)
    history = _history()
    path = kit.save_result("study", {"run": [history]}, [0], folder=tmp_path)
    assert tree(tmp_path) == {"study.json.gz"}
    found = kit.load_saved("study", {"run": history.config}, [0], folder=tmp_path)
    assert found is not None and path.name == "study.json.gz"
    again = found["run"][0]
    assert again.counts == history.counts and [r.balanced_acc for r in again.records] == [0.4, 0.4]


def test_a_report_over_its_own_run_is_refused_and_the_run_kept(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = _run_file(tmp_path)
    before = run.read_bytes()
    os.link(run, tmp_path / "hard.json")
    (tmp_path / "sub").mkdir()
    for html in ["run.json", str(run), "./sub/../run.json", "hard.json"]:
        code, err = run_cli(["report", "run.json", "--html", html], capsys)
        assert code == 2 and len(err) == 1 and "is the run file this command reads" in one_line(err[0]), err
    assert run.read_bytes() == before


def test_an_output_that_is_an_input_of_train_or_compare_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "settings.json").write_text('{"epochs": 1}')
    from procrustes_core.training import trainer

    monkeypatch.setattr(trainer.Trainer, "__init__", lambda *a, **k: pytest.fail("trained"))
    cases = [(["train", *TINY, "--config", "settings.json", "--out", "settings.json"], "settings file (--config)"),
             (["train", *TINY, "--out", "both.pt", "--save-checkpoint", "both.pt"], "checkpoint written by"),
             (["train", *TINY, "--config", "settings.json", "--save-checkpoint", "settings.json"], "settings file"),
             (["compare", *TINY[:-1], "--config", "settings.json", "--out", "settings.json"], "settings file")]
    for args, message in cases:
        code, err = run_cli(args, capsys)
        assert code == 2 and len(err) == 1 and message in one_line(err[0]), (args, err)
    assert (tmp_path / "settings.json").read_text() == '{"epochs": 1}'


def test_a_sweep_never_writes_over_its_own_grid_file(tmp_path, capsys):
    folder = tmp_path / "sweep"
    folder.mkdir()
    grid = folder / "results.csv"
    grid.write_text("grid:\n  ratio: [10]\n")
    code, err = run_cli(["sweep", *TINY, "--file", str(grid), "--out-dir", str(folder)], capsys)
    assert code == 2 and "grid file (--file)" in one_line(err[0]) and grid.read_text().startswith("grid:")


def test_a_bad_checkpoint_for_report_is_named_by_its_flag(tmp_path, capsys):
    run = _run_file(tmp_path)
    evil = tmp_path / "evil.pt"
    evil.write_bytes(b"\x80\x04not a checkpoint")
    code, err = run_cli(["report", str(run), "--checkpoint", str(evil)], capsys)
    assert code == 2 and len(err) == 1 and err[0].startswith("error: checkpoint='"), err
    assert "init_checkpoint" not in one_line(err[0])
