"""Reliability: every mistake a user can make with the API, the command line or a file is one line.

Each case below is a bad input: a ``ProcrustesError`` (API) or exit status 2 (CLI) with exactly
one line that names the problem, no traceback and no file written. Crafted run files must be
refused naming their first problem, and a sweep killed with SIGKILL must leave only whole files
and resume to the same results. Every number setting is also tried just past each end of its
declared range.
"""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procrustes_core import EpochRecord, ProcrustesError, RunHistory, TrainConfig
from procrustes_core.cli import main
from procrustes_core.config import field_names, field_rule
from procrustes_core.errors import SHOWN_CHARS, shown
from procrustes_core.sweep import load_grid_file, run_sweep

TINY = ["--n-samples", "1000", "--ratio", "10", "--width", "4", "--epochs", "1", "--threads", "1", "--quiet"]
BIG = "1" + "0" * 400  # past float: float(10**400) raises OverflowError
HUGE = "1" + "0" * 5000  # past Python's int → str limit (4300 digits): int() raises ValueError
MAX_LINE = 1_000  # no message is longer than this (the longest lists every setting's name)
ROOT = Path(__file__).resolve().parent.parent


def one_line(message: str) -> str:
    """The message, after checking it is one bounded line."""
    assert "\n" not in message and message.strip() == message and 0 < len(message) <= MAX_LINE, message
    assert "Traceback" not in message
    return message


# ---------------------------------------------------------------- TrainConfig values

CONFIG_VALUES = [
    ("epochs", 10**400), ("epochs", 10**5000), ("epochs", -1), ("epochs", 0), ("epochs", 2.5), ("epochs", "3"),
    ("epochs", None), ("epochs", True), ("epochs", math.inf), ("epochs", [3]), ("epochs", 1e300),
    ("ratio", 10**400), ("ratio", -(10**400)), ("ratio", "abc"), ("ratio", math.nan), ("ratio", -math.inf),
    ("ratio", 0.999), ("ratio", 10_001), ("ratio", b"10"), ("ratio", {}), ("ratio", complex(1, 1)),
    ("counts", [10**400, 5]), ("counts", [1]), ("counts", [0, 5]), ("counts", [5, 2.5]), ("counts", "5,5"),
    ("counts", [5] * 1001), ("counts", [True, 5]), ("counts", [math.inf, 3]), ("counts", [[5], [5]]),
    ("counts", (-1, 2)), ("counts", [10**9 + 1, 5]), ("counts", [10**5000, 5]), ("counts", {"a": 1, "b": 2}),
    ("n_max", 10**400), ("n_max", 0), ("n_max", 10**9 + 1), ("n_max", "x"),
    ("val_per_class", -1), ("val_per_class", 10**400),
    ("data_seed", -1), ("data_seed", 2**31), ("data_seed", 10**5000),
    ("seed", 2**31), ("seed", -5), ("seed", 1.5),
    ("dataset", "x" * 1000), ("dataset", 5), ("dataset", None), ("dataset", "MNIST1D"),
    ("mfw_strength", 1.0000001), ("mfw_strength", "0.5"), ("mfw_strength", math.nan),
    ("data_dir", ""), ("data_dir", "x" * 5000), ("data_dir", 5), ("data_dir", ["a"]),
    ("download", "yes"), ("download", 1), ("download", None),
    ("lr", 0), ("lr", 101), ("lr", -1e-9), ("batch_size", 65_537), ("batch_size", 0),
    ("threads", 257), ("threads", -1), ("momentum", 1.0), ("width", 3), ("width", 1025),
]


@pytest.mark.parametrize("field, value", CONFIG_VALUES, ids=lambda v: shown(v, 20))
def test_a_bad_setting_is_one_line_naming_field_value_and_what_is_allowed(field, value):
    with pytest.raises(ProcrustesError) as err:
        TrainConfig(**{field: value})
    message = one_line(str(err.value))
    assert message.startswith(f"{field}=") and ": expected " in message
    value_text = message[len(field) + 1:message.index(": expected ")]
    assert len(value_text) <= SHOWN_CHARS + 1  # first 40 characters and '…' at most


def test_values_are_shortened_to_their_first_40_characters():
    with pytest.raises(ProcrustesError) as err:
        TrainConfig(dataset="abcdefghij" * 10)
    assert str(err.value).startswith("dataset='abcdefghijabcdefghijabcdefghijabcdefghi…: expected one of")
    assert shown(10**5000) == "<an integer of about 5001 digits>" and shown("a\nb") == "'a\\nb'"


# ---------------------------------------------------------------- from_dict / from_json / from_query

NESTED = '{"counts": ' + "[" * 100 + "]" * 100 + "}"
PARSED = [
    ("json", None, "config=None: expected JSON text"), ("json", 5, "expected JSON text"),
    ("json", ["epochs"], "expected JSON text"), ("json", "{", "not valid JSON"),
    ("json", "[" * 100_000, "nested deeper"), ("json", HUGE, "more than 4300 digits"),
    ("json", '{"epochs": ' + HUGE + "}", "more than 4300 digits"), ("json", b"\xff\xfe\xfd", "not valid JSON"),
    ("json", b'{"data_dir": "caf\xe9"}', "not UTF-8 text: byte 0xe9"), ("json", "[1, 2]", "expected a mapping"),
    ("json", '"text"', "expected a mapping"), ("json", '{"colour": 1}', "unknown setting 'colour'"),
    ("json", "NaN", "expected a mapping"), ("json", '{"ratio": Infinity}', "ratio=inf"),
    ("json", '{"ratio": NaN}', "ratio=nan"), ("json", NESTED, "nested deeper than 64"),
    ("json", '{"epochs": 1e400}', "epochs=inf"), ("json", '{"epochs": ' + BIG + "}", "epochs=1000"),
    ("json", b"\x00{\x00", "not valid JSON"), ("json", "", "not valid JSON"),
    ("dict", None, "config=None: expected a mapping"), ("dict", [], "expected a mapping"),
    ("dict", "epochs=3", "expected a mapping"), ("dict", {1: 2}, "unknown setting 1"),
    ("dict", {None: 1}, "unknown setting None"), (("dict"), {("a",): 1}, "unknown setting ('a',)"),
    ("dict", {"epochs": 3, 5: 1}, "unknown setting 5"), ("dict", {"profile": "custom"}, "counts=None"),
    ("dict", {10**5000: 1}, "unknown setting <an integer"),
    ("query", None, "query=None"), ("query", 5, "query=5"), ("query", b"epochs=3", "query=b'epochs=3'"),
    ("query", ["epochs=3"], "expected a query string"), ("query", "epochs=abc", "epochs='abc'"),
    ("query", "epochs=" + BIG, "epochs='1000"), ("query", "epochs=" + HUGE, "epochs='1000"),
    ("query", "counts=" + BIG + ",5", "counts='1000"), ("query", "counts=" + HUGE + ",5", "counts='1000"),
    ("query", "ratio=1e999", "ratio='1e999'"), ("query", "ratio=inf", "ratio='inf'"),
    ("query", {"epochs": []}, "epochs=[]: expected a value"), ("query", {"epochs": ["x"]}, "epochs='x'"),
    ("query", {"epochs": None}, "epochs=None"), ("query", {"counts": "5,a"}, "counts='5,a'"),
    ("query", "&".join(f"k{i}=1" for i in range(2000)), "at most 1000 settings"),
    ("query-strict", "hide=1", "unknown setting 'hide'"), ("query-strict", {7: "1"}, "unknown setting 7"),
    ("query", {"dataset": 5}, "dataset=5"), ("query", "download=maybe", "download='maybe'"),
    ("query", "profile=custom", "counts=None"), ("query", {"epochs": 10**5000}, "epochs=<an integer"),
]


def _parse(kind, value):
    if kind == "json":
        return TrainConfig.from_json(value)
    if kind == "dict":
        return TrainConfig.from_dict(value)
    return TrainConfig.from_query(value, strict=kind == "query-strict")


@pytest.mark.parametrize("kind, value, message", PARSED, ids=lambda v: shown(v, 20))
def test_parsing_raises_only_one_line_project_errors(kind, value, message):
    with pytest.raises(ProcrustesError) as err:
        _parse(kind, value)
    assert message in one_line(str(err.value))


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_any_text_as_json_or_query_raises_nothing_but_project_errors(text):
    for kind in ("json", "query", "query-strict"):
        try:
            _parse(kind, text)
        except ProcrustesError as err:
            one_line(str(err))


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                         max_size=4), max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["epochs", "ratio", "counts", "dataset", "n_max", "profile", "seed",
                                        "data_dir", "download", "colour"]), JSON_VALUES, max_size=4))
def test_any_mapping_gives_a_config_or_one_project_error(data):
    try:
        TrainConfig.from_dict(data)
    except ProcrustesError as err:
        one_line(str(err))


# ---------------------------------------------------------------- the command line


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder holding the bad inputs the CLI cases name (relative paths), as the current folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    (tmp_path / "latin1.json").write_bytes(b'{"data_dir": "caf\xe9"}')
    (tmp_path / "deep.json").write_text("[" * 100_000)
    (tmp_path / "hugeint.json").write_text('{"epochs": ' + HUGE + "}")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "colour.json").write_text('{"colour": "red"}')
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "deep.yaml").write_text("grid:\n  ratio: " + "[" * 20_000)  # PyYAML is slow to read more
    (tmp_path / "deep.toml").write_text("[grid]\nratio = " + "[" * 100_000)
    (tmp_path / "latin1.yaml").write_bytes(b"base:\n  data_dir: caf\xe9\ngrid:\n  ratio: [10]\n")
    (tmp_path / "alias.yaml").write_text("a: &a [*a]\ngrid:\n  ratio: *a\n")
    (tmp_path / "intkey.yaml").write_text("base:\n  1: 2\ngrid:\n  ratio: [10]\n")
    (tmp_path / "list.yaml").write_text("[1, 2]\n")
    (tmp_path / "badvalue.yaml").write_text("grid:\n  ratio: [10, " + BIG + "]\n")
    (tmp_path / "nested.yaml").write_text("grid:\n  counts: " + "[" * 80 + "]" * 80 + "\n")
    (tmp_path / "notrun.json").write_text('{"format": "procrustes-run", "version": 2}')
    return tmp_path


def run_cli(args, capsys) -> tuple[int, list[str]]:
    """Exit status and stderr lines of ``procrustes ARGS`` run in this process."""
    try:
        code = main(args)
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    return code, capsys.readouterr().err.strip().splitlines()


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


CLI = [
    # settings
    (["train", *TINY, "--epochs", BIG], "epochs='1000"), (["train", *TINY, "--epochs", HUGE], "epochs='1000"),
    (["train", *TINY, "--epochs", "1e5000"], "epochs='1e5000'"), (["train", *TINY, "--ratio", "abc"], "ratio='abc'"),
    (["train", *TINY, "--profile", "custom", "--counts", BIG + ",5"], "counts='1000"),
    (["train", *TINY, "--profile", "custom", "--counts", HUGE + ",5"], "counts='1000"),
    (["train", *TINY, "--strength", "2"], "mfw_strength=2.0"), (["train", *TINY, "--dataset", "x" * 1000], "…"),
    (["train", *TINY, "--n-max", BIG], "n_max='1000"), (["train", *TINY, "--seed", "-1"], "seed=-1"),
    (["train", *TINY, "--download", "maybe"], "download='maybe'"), (["train", *TINY, "--preset", "nope"], "preset="),
    (["train", *TINY, "--preset", ""], "preset='': expected one of"),
    # settings files
    (["train", *TINY, "--config", "missing.json"], "no such file"), (["train", *TINY, "--config", "adir"], "folder"),
    (["train", *TINY, "--config", "latin1.json"], "not UTF-8"), (["train", *TINY, "--config", "deep.json"], "nested"),
    (["train", *TINY, "--config", "hugeint.json"], "4300 digits"),
    (["train", *TINY, "--config", "list.json"], "expected a mapping"),
    (["train", *TINY, "--config", "colour.json"], "'colour'"), (["train", *TINY, "--config", "empty.json"], "JSON"),
    (["train", *TINY, "--config", ""], "config='': expected a path"),
    (["train", *TINY, "--config", "/dev/zero"], "regular file"),
    # output paths, checked before training
    (["train", *TINY, "--out", ""], "out='': expected a path"), (["train", *TINY, "--out", "adir"], "is a folder"),
    (["train", *TINY, "--out", "adir/"], "is a folder"), (["train", *TINY, "--out", "nope/run.json"], "does not exist"),
    (["train", *TINY, "--out", "afile/run.json"], "is not a folder"),
    (["train", *TINY, "--out", "r" * 300 + ".json"], "longer than 255"),
    (["report", "missing.json"], "no such file"), (["report", "adir"], "is a folder"),
    (["report", "latin1.json"], "not valid JSON"), (["report", "deep.json"], "nested"),
    (["report", "notrun.json"], "not a valid Procrustes run"), (["report", ""], "run='': expected a path"),
    (["report", "notrun.json", "--html", ""], "html='': expected a path"),
    (["report", "notrun.json", "--html", "adir"], "is a folder"),
    (["report", "notrun.json", "--html", "nope/r.html"], "does not exist"),
    # sweeps
    (["sweep", *TINY, "--grid", "ratio=10", "--out-dir", ""], "out_dir='': expected a path"),
    (["sweep", *TINY, "--grid", "ratio=10", "--out-dir", "afile"], "is a file, expected a folder"),
    (["sweep", *TINY, "--grid", "ratio=10", "--out-dir", "nope/deeper/x"], "does not exist"),
    (["sweep", *TINY, "--grid", "ratio", "--out-dir", "s"], "expected SETTING=V1,V2"),
    (["sweep", *TINY, "--grid", "ratio=", "--out-dir", "s"], "expected SETTING=V1,V2"),
    (["sweep", *TINY, "--grid", "=1", "--out-dir", "s"], "grid setting ''"),
    (["sweep", *TINY, "--grid", "colour=1", "--out-dir", "s"], "grid setting 'colour'"),
    (["sweep", *TINY, "--grid", "epochs=1e999", "--out-dir", "s"], "epochs='1e999'"),
    (["sweep", *TINY, "--grid", "epochs=1," + HUGE, "--out-dir", "s"], "epochs='1000"),
    (["sweep", *TINY, "--grid", "n_max=abc", "--out-dir", "s"], "n_max='abc'"),
    (["sweep", *TINY, "--grid", "counts=5,5;" + BIG + ",1", "--profile", "custom", "--counts", "5,5",
      "--out-dir", "s"], "counts='1000"),
    (["sweep", *TINY, "--grid", "ratio=" + ",".join(["2"] * 1001), "--out-dir", "s"],
     "1001 values, expected at most 1000"),
    (["sweep", *TINY, "--grid", "seed=" + ",".join(map(str, range(200))), "--grid",
      "epochs=" + ",".join(map(str, range(1, 61))), "--out-dir", "s"], "12000 points"),
    (["sweep", *TINY, "--grid", "mfw_strength=0.5", "--out-dir", "s"], "mixer=mfw"),
    (["sweep", *TINY, "--out-dir", "s"], "nothing to sweep"),
    (["sweep", *TINY, "--grid", "ratio=10", "--seeds", "-1", "--out-dir", "s"], "--seeds: '-1'"),
    (["sweep", *TINY, "--grid", "ratio=10", "--seeds", BIG, "--out-dir", "s"], "--seeds: '1000"),
    (["sweep", *TINY, "--grid", "ratio=10", "--workers", "0", "--out-dir", "s"], "--workers: '0'"),
    (["sweep", *TINY, "--grid", "ratio=10", "--backend", "spark" * 20, "--out-dir", "s"], "--backend: 'spark"),
    (["sweep", *TINY, "--file", "missing.yaml", "--out-dir", "s"], "no such file"),
    (["sweep", *TINY, "--file", "latin1.yaml", "--out-dir", "s"], "not UTF-8 text (byte 0xe9 at position 21)"),
    (["sweep", *TINY, "--file", "deep.yaml", "--out-dir", "s"], "not valid YAML (nested"),
    (["sweep", *TINY, "--file", "deep.toml", "--out-dir", "s"], "not valid TOML (nested"),
    (["sweep", *TINY, "--file", "alias.yaml", "--out-dir", "s"], "aliases"),
    (["sweep", *TINY, "--file", "intkey.yaml", "--out-dir", "s"], "base: unknown setting 1"),
    (["sweep", *TINY, "--file", "list.yaml", "--out-dir", "s"], "expected a mapping with 'base' and 'grid'"),
    (["sweep", *TINY, "--file", "badvalue.yaml", "--out-dir", "s"], "ratio=1000"),
    (["sweep", *TINY, "--file", "nested.yaml", "--out-dir", "s"], "nested deeper than 64"),
    (["sweep", *TINY, "--file", "adir", "--out-dir", "s"], "is a folder"),
    # the rest
    (["app", "--port", "abc"], "--port: 'abc'"), (["app", "--port", BIG], "--port: '1000"),
    (["app", "--port", "70000"], "--port: '70000'"), (["methods", "--kind", "bogus"], "--kind: 'bogus'"),
    (["train", *TINY, "--colour", "red"], "unrecognized arguments"), (["nope"], "invalid choice"),
]


@pytest.mark.parametrize("args, message", CLI, ids=lambda v: shown(" ".join(v) if isinstance(v, list) else v, 50))
def test_bad_command_lines_exit_2_with_one_line_and_write_nothing(workdir, capsys, args, message):
    before = tree(workdir)
    code, err = run_cli(args, capsys)
    assert code == 2 and len(err) == 1, err
    assert message in one_line(err[0]), err[0]
    assert "error: " in err[0]
    assert tree(workdir) == before  # nothing trained, nothing written, no folder made


def test_a_folder_path_holding_nul_is_one_line_where_it_is_read():
    from procrustes_core.data.datasets import load_pool

    with pytest.raises(ProcrustesError, match="data_dir='a\\\\x00b': a path cannot hold a NUL character"):
        load_pool("mnist", data_dir="a\x00b", download=True)


@pytest.mark.parametrize("port, message", [("abc", "PORT='abc'"), ("99999", "PORT='99999'"), (BIG, "PORT='1000"),
                                           ("-1", "PORT='-1'"), ("8501.5", "PORT='8501.5'")])
def test_a_bad_port_in_the_environment_is_one_line_for_the_app_only(monkeypatch, capsys, port, message):
    monkeypatch.setenv("PORT", port)
    assert run_cli(["methods", "--kind", "mixer"], capsys)[0] == 0  # PORT concerns no other command
    code, err = run_cli(["app"], capsys)
    assert code == 2 and len(err) == 1 and message in one_line(err[0]) and "expected a port number" in err[0]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused_before_training(tmp_path, capsys):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        code, err = run_cli(["train", *TINY, "--out", str(folder / "run.json")], capsys)
    finally:
        folder.chmod(0o700)
    assert code == 2 and len(err) == 1 and "is not writable" in err[0] and list(folder.iterdir()) == []


def test_an_unwritable_folder_is_refused_before_training(tmp_path, capsys, monkeypatch):
    import tempfile

    from procrustes_core.training import trainer

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # as a read-only folder answers, even as root
    monkeypatch.setattr(trainer.Trainer, "__init__", lambda *a: pytest.fail("trained"))
    code, err = run_cli(["train", *TINY, "--out", str(tmp_path / "run.json")], capsys)
    assert code == 2 and len(err) == 1 and "is not writable (Permission denied)" in err[0]
    assert list(tmp_path.iterdir()) == []


def test_a_failing_write_is_one_line_and_leaves_no_file(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run.json"
    _history().save(run)

    def disk_full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(ProcrustesError, match=r"^out='.*again.json': cannot be written \(No space left on device\)$"):
        _history().save(tmp_path / "again.json")
    code, err = run_cli(["report", str(run), "--html", str(tmp_path / "r.html")], capsys)
    assert code == 2 and len(err) == 1 and err[0].startswith("error: html=") and "No space left" in err[0]
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # neither the files nor their temporaries


@pytest.mark.parametrize("args", [["train", "--ratio", "-3"], ["train", "--epochs", HUGE],
                                  ["report", "missing.json"], ["sweep", "--out-dir", "s"]])
def test_the_console_shows_no_traceback(tmp_path, args):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PORT": "abc"}
    result = subprocess.run([sys.executable, "-m", "procrustes_core.cli", *args], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr and result.stderr.startswith("error: ")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- crafted run files


def _history() -> RunHistory:
    history = RunHistory(TrainConfig(ratio=10, epochs=5), [100, 100, 10, 10], {"major": [0, 1], "minor": [2, 3]},
                         ["a", "b", "c", "d"], warnings=["epoch 1: something"])
    for e in (1, 2):
        per_class = [0.1 * e + 0.01 * c for c in range(4)]
        history.records.append(EpochRecord(
            epoch=e, train_acc=per_class, test_acc=per_class, loss=per_class, grad_norm=per_class,
            precision=per_class, recall=per_class, f1=per_class, accuracy=0.5, balanced_acc=0.4, seconds=e * 1.5,
            group_train_acc={"major": 0.6, "minor": 0.1}, train_loss=1.0 / e,
            confusion=[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
        ))
    return history


def _crafted(path: str, value) -> str:
    """The valid run's JSON with the field at ``path`` ('records.1.test_acc') set to ``value``
    (``DELETE`` removes it)."""
    data = json.loads(_history().to_json())
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    key = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return json.dumps(data)


DELETE = object()
RUN_FILES = [
    ("format", DELETE, "'format' is not"), ("format", "procrustes", "'format' is not"),
    ("version", "2", "version '2'"), ("version", 99, "version 99"), ("version", 10**400, "version 1000"),
    ("config", DELETE, "no 'config'"), ("config", [], "config: config=[]"),
    ("config.ratio", -3, "config: ratio=-3"), ("config.epochs", 10**400, "config: epochs=1000"),
    ("counts", "5", "'counts' must list"), ("counts", [1.5, 2, 3, 4], "'counts' must list"),
    ("counts", [True, 2, 3, 4], "'counts' must list"), ("counts", [10**400, 5, 5, 5], "'counts' must list"),
    ("counts", [5] * 1001, "'counts' must list 2 to 1000"), ("counts", [1], "'counts' must list"),
    ("class_names", [1, 2, 3, 4], "'class_names' must list 4"), ("class_names", ["a", "b"], "'class_names' must"),
    ("class_names", ["a", "b", "c", "x" * 201], "'class_names'"), ("class_names", ["a", "b", "c", "d\ne"], "names"),
    ("class_names", ["a", "b", "c", "\ud800"], "'class_names'"), ("class_names", ["a", "b", "c", ""], "names"),
    ("groups", [], "'groups' must map"), ("groups", {"all": [0, 1, 2]}, "every class 0..3 exactly once"),
    ("groups", {"major": [0, 1, 1], "minor": [2, 3]}, "exactly once"), ("groups", {"major": [0, 1, 7]}, "0..3"),
    ("groups", {"major": [0, 1, 2, 3], "minor": []}, "non-empty"), ("groups", {"major": [0, 1, 2.0, 3]}, "0..3"),
    ("groups", {"minor": [2, 3], "major": [0, 1]}, "largest classes to the smallest"),
    ("groups", {"": [0, 1], "minor": [2, 3]}, "'groups' must map names"),
    ("stopped", 5, "'stopped' must be null or a line"), ("stopped", ["x"], "'stopped'"),
    ("stopped", "a\nb", "'stopped'"), ("stopped", "x" * 2001, "'stopped'"),
    ("threads", 0, "'threads' must be"), ("threads", "4", "'threads'"), ("threads", 10**400, "'threads'"),
    ("threads", True, "'threads'"), ("variants", "x", "'variants' must map"),
    ("variants", {"v": {"magic": 1}}, "'variants' must map"), ("variants", {"v": {"la_tau": 99}}, "la_tau=99"),
    ("warnings", "x", "'warnings' must list"), ("warnings", [5], "'warnings'"), ("warnings", ["a\nb"], "'warnings'"),
    ("records", {}, "'records' must be a list"), ("records", [{}] * 10_001, "at most 10000"),
    ("records.0", [], "record 0: not an object"), ("records.0.epoch", DELETE, "record 0: lacks 'epoch'"),
    ("records.0.epoch", "1", "record 0: 'epoch' must be"), ("records.0.epoch", 0, "record 0: 'epoch'"),
    ("records.1.epoch", 1, "record 1: 'epoch' must be an integer after 1"),
    ("records.1.epoch", 6, "≤ the config's 5 epochs"),
    ("records.1.test_acc", [0.1, 0.2], "record 1: 'test_acc' must list 4 numbers in [0, 1] or null"),
    ("records.1.test_acc", [0.1, 0.2, 0.3, 1.5], "'test_acc' must list 4"),
    ("records.1.test_acc", "high", "'test_acc'"), ("records.1.train_acc", [True, 0, 0, 0], "'train_acc'"),
    ("records.1.loss", [-1, 0, 0, 0], "'loss' must list 4 non-negative"),
    ("records.1.grad_norm", [10**400, 0, 0, 0], "'grad_norm'"), ("records.1.accuracy", 2, "'accuracy' must be"),
    ("records.1.seconds", -1, "'seconds'"), ("records.1.group_train_acc", {"tiny": 0.5}, "this run's groups"),
    ("records.1.group_test_acc", {"major": 2}, "'group_test_acc'"), ("records.1.mfw_strength", None, "'mfw_str"),
    ("records.1.val_acc", [0.5], "'val_acc'"), ("records.1.confusion", [[1, 0, 0, 0]] * 3, "4 × 4 matrix"),
    ("records.1.confusion", [[-1, 0, 0, 0]] * 4, "non-negative integers"),
    ("records.1.confusion", [[1.5, 0, 0, 0]] * 4, "'confusion'"), ("records.1.confusion", [[10**400] * 4] * 4, "4 × 4"),
    ("records.1.loss_weights", [-1, 1, 1, 1], "'loss_weights'"), ("records.1.lr", "fast", "'lr'"),
    ("records.1.variants", {"other": {}}, "this run's variants"),
    ("records.1.train_loss", 10**400, "'train_loss'"), ("records.1.f1", None, "'f1' must list"),
]


@pytest.mark.parametrize("path, value, message", RUN_FILES, ids=lambda v: shown(v, 20))
def test_a_crafted_run_file_is_refused_naming_its_first_problem(path, value, message):
    with pytest.raises(ProcrustesError) as err:
        RunHistory.from_json(_crafted(path, value), "'run.json'")
    text = one_line(str(err.value))
    assert text.startswith("'run.json': not a valid Procrustes run (") and text.endswith(")")
    assert message in text, text


BROKEN_FILES = [
    (b"[" * 100_000, "not valid JSON (nested"), (b'{"format": ' + HUGE.encode() + b"}", "4300 digits"),
    (b"\xff\xfe\x00", "not valid JSON"), (b'{"class_names": ["caf\xe9"]}', "not UTF-8 text: byte 0xe9"),
    (b'{"records": ' + b"[" * 70 + b"]" * 70 + b"}", "nested deeper than 64"), (b"", "not valid JSON"),
    (_history().to_json()[:-40].encode(), "not valid JSON"),
]


@pytest.mark.parametrize("content, message", BROKEN_FILES, ids=lambda v: shown(v, 20))
def test_a_broken_run_file_is_one_line_in_the_api_and_exit_2_in_the_cli(tmp_path, capsys, content, message):
    path = tmp_path / "run.json"
    path.write_bytes(content)
    with pytest.raises(ProcrustesError) as err:
        RunHistory.load(path)
    assert message in one_line(str(err.value)) and "run.json" in str(err.value)
    code, lines = run_cli(["report", str(path), "--html", str(tmp_path / "r.html")], capsys)
    assert code == 2 and len(lines) == 1 and message in lines[0] and not (tmp_path / "r.html").exists()


def test_a_valid_run_file_still_loads_with_nulls_warnings_and_ints_as_floats():
    data = json.loads(_history().to_json())
    data["records"][0]["test_acc"] = [None, 1, 0, 0.5]
    data["records"][0]["train_loss"] = None
    history = RunHistory.from_json(json.dumps(data))
    assert math.isnan(history.records[0].test_acc[0]) and history.records[0].test_acc[1] == 1.0
    assert math.isnan(history.records[0].train_loss) and history.warnings == ["epoch 1: something"]
    assert RunHistory.from_json(history.to_json()).to_json() == history.to_json()


def test_a_version_1_file_is_still_read():
    data = json.loads(_history().to_json())
    data["version"] = 1
    data["config"].update(mixer="mfw", mfw_strength=0.0, drw_epoch=3)
    del data["warnings"], data["threads"], data["variants"]
    for record in data["records"]:
        record["class_weights"] = record.pop("loss_weights")
    history = RunHistory.from_json(json.dumps(data))
    assert history.config.mixer == "none" and history.config.drw_epoch == 2 and history.warnings == []


def test_markup_in_names_is_shown_as_text_in_the_html_report(tmp_path):
    from procrustes_core.figures.report import write_html_report

    data = json.loads(_history().to_json())
    data["class_names"] = ["<script>alert(1)</script>", "<b>bold</b>", "a & b", '<a href="javascript:x">x</a>']
    data["groups"] = {"<i>major</i>": [0, 1], "minor": [2, 3]}
    for record in data["records"]:
        record["group_train_acc"] = {"<i>major</i>": 0.5, "minor": 0.1}
        record["group_test_acc"] = {"<i>major</i>": 0.5, "minor": 0.1}
    data["stopped"] = "<img src=x onerror=alert(1)>"
    page = write_html_report(RunHistory.from_json(json.dumps(data)), tmp_path / "r.html").read_text()
    for markup in ("<script>alert", "<b>bold", "<i>major", "<img src", 'href="javascript'):
        assert markup not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;i&gt;major&lt;/i&gt;" in page


# ---------------------------------------------------------------- sweeps

SWEEP = ["--n-samples", "1000", "--width", "4", "--epochs", "1", "--threads", "1", "--quiet", "--backend", "serial"]


def test_a_point_that_fails_at_train_time_is_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "s"
    code, err = run_cli(["sweep", *SWEEP, "--grid", "n_max=10,100000", "--out-dir", str(out)], capsys)
    assert code == 1 and "grid point 1 (n_max=100000) failed: class 0 needs 100000 training samples" in err[0]
    frame = pd.read_csv(out / "results.csv")
    assert frame["failed"].isna().tolist() == [True, False] and "lower n_max" in frame["failed"][1]
    assert len(list((out / "runs").glob("*.json"))) == 1


def test_a_layer_the_model_lacks_fails_only_its_point():
    base = TrainConfig(n_samples=1000, width=4, epochs=1, threads=1, model="mlp", mixer="mfw")
    frame = run_sweep(base, {"mfw_layer": ["block1", "block5"]})
    assert frame["failed"].isna().tolist() == [True, False] and frame["balanced_acc"].notna()[0]
    assert frame["failed"][1] == "mfw_layer='block5': this model has blocks 1..3 (or use input, penultimate, random)"


def test_sweep_heatmaps_draw_named_values_lists_and_failed_cells():
    import pandas as pd

    from procrustes_core.sweep import sweep_figures

    grid = {"mfw_layer": ["block1", "<b>block5</b>"], "counts": [[5, 3], [4, 4]]}
    frame = pd.DataFrame({"mfw_layer": ["block1", "block1", "<b>block5</b>", "<b>block5</b>"],
                          "counts": [[5, 3], [4, 4], [5, 3], [4, 4]], "balanced_acc": [0.5, 0.6, None, None],
                          "tail_test_acc": [0.1, 0.2, None, None]})
    figures = sweep_figures(frame, grid)
    assert set(figures) == {"balanced_acc", "tail_test_acc"}
    assert sorted(figures["balanced_acc"].data[0].x) == ["&lt;b&gt;block5&lt;/b&gt;", "block1"]


def test_a_truncated_or_foreign_run_file_is_trained_again(tmp_path, monkeypatch):
    from procrustes_core import sweep as sweep_module
    from procrustes_core.training import worker as worker_module

    base = TrainConfig(n_samples=1000, width=4, epochs=1, threads=1)
    grid = {"ratio": [10.0, 20.0, 50.0]}
    first = run_sweep(base, grid, tmp_path)
    a, b, c = (tmp_path / "runs" / f"{sweep_module.point_id(base.replace(ratio=r))}.json" for r in grid["ratio"])
    a.write_text(a.read_text()[:100])  # cut short
    c.write_bytes(b.read_bytes())  # another point's run
    (tmp_path / "runs" / ".stale.json.x1y2.tmp").write_text("{")  # left by a killed write
    trained = []
    original = worker_module.train_and_ship
    monkeypatch.setattr(worker_module, "train_and_ship", lambda *a: trained.append(a) or original(*a))
    again = run_sweep(base, grid, tmp_path)
    assert len(trained) == 2 and not list((tmp_path / "runs").glob(".*"))
    assert again.drop(columns="seconds").equals(first.drop(columns="seconds"))


def test_a_sweep_whose_folder_stops_taking_files_ends_with_one_line(tmp_path, capsys, monkeypatch):
    from procrustes_core.training import worker as worker_module

    trained = []
    original = worker_module.train_and_ship
    monkeypatch.setattr(worker_module, "train_and_ship", lambda *a: trained.append(a) or original(*a))

    def disk_full(self, path):
        raise ProcrustesError(f"out={shown(str(path))}: cannot be written (No space left on device)")

    monkeypatch.setattr(RunHistory, "save", disk_full)
    code, err = run_cli(["sweep", *SWEEP, "--grid", "ratio=10,20,50", "--out-dir", str(tmp_path / "s")], capsys)
    assert code == 2 and len(err) == 1 and "No space left on device" in err[0]
    assert len(trained) == 1 and not (tmp_path / "s" / "results.csv").exists()  # the other points never trained


def test_ray_missing_or_not_starting_is_one_line_before_anything_is_on_disk(tmp_path, monkeypatch, capsys):
    out = tmp_path / "s"
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    code, err = run_cli(["sweep", *SWEEP[:-2], "--grid", "ratio=10", "--backend", "ray", "--out-dir", str(out)],
                        capsys)
    assert code == 2 and len(err) == 1 and "Ray is not installed" in err[0] and not out.exists()

    def init(**kwargs):
        raise RuntimeError("Failed to start the GCS server.\nmore detail")

    fake = types.SimpleNamespace(is_initialized=lambda: False, init=init)
    monkeypatch.setitem(sys.modules, "ray", fake)
    code, err = run_cli(["sweep", *SWEEP[:-2], "--grid", "ratio=10", "--backend", "ray", "--out-dir", str(out)],
                        capsys)
    assert code == 2 and len(err) == 1 and "the local Ray did not start (RuntimeError: Failed to start" in err[0]
    assert not out.exists()


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc/N/stat: 'N (name) state ppid ...')."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the pool's workers through /proc")
def test_a_sweep_killed_with_sigkill_leaves_whole_files_and_resumes_to_the_same_results(tmp_path):
    import pandas as pd

    out = tmp_path / "s"
    args = [sys.executable, "-m", "procrustes_core.cli", "sweep", "--n-samples", "1000", "--width", "4",
            "--epochs", "2", "--threads", "1", "--quiet", "--grid", "ratio=2,5,10,20,50,100", "--backend", "local",
            "--workers", "2", "--out-dir", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    driver = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 240
        while not list((out / "runs").glob("*.json")) and driver.poll() is None and time.monotonic() < deadline:
            workers = _children(driver.pid) or workers
            time.sleep(0.05)
        workers = _children(driver.pid) or workers
        assert driver.poll() is None, "the sweep ended before it could be killed"
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        saved = list((out / "runs").glob("*.json"))
        assert 1 <= len(saved) < 6 and not (out / "results.csv").exists()
        for path in saved:
            RunHistory.load(path)  # whole files only: each was written to a temporary and renamed
        deadline = time.monotonic() + 30
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(w) for w in workers), "the pool's workers outlived their killed driver"
    finally:
        for pid in [driver.pid, *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        driver.stderr.close()
    resumed = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=400)
    assert resumed.returncode == 0, resumed.stderr
    assert len(list((out / "runs").glob("*.json"))) == 6 and not list((out / "runs").glob(".*"))
    frame = pd.read_csv(out / "results.csv")
    fresh = run_sweep(TrainConfig(n_samples=1000, width=4, epochs=2, threads=1),
                      {"ratio": [2.0, 5.0, 10.0, 20.0, 50.0, 100.0]})
    for column in ("ratio", "balanced_acc", "tail_test_acc"):
        assert frame[column].tolist() == pytest.approx(fresh[column].tolist(), abs=1e-12)


# ---------------------------------------------------------------- divergence warnings


def test_the_divergence_rules():
    from procrustes_core.training.trainer import chance_warning, loss_warning

    assert loss_warning(1, 2.0, 10, 0.1) is None and loss_warning(1, 2302.0, 10, 0.1) is None
    assert loss_warning(1, 1.5e12, 10, 100).startswith("epoch 1: training loss 1.5e+12 is over 1000 × ")
    assert chance_warning(2, [0.1] * 10, 90.0, 100) is None  # too early to say
    assert chance_warning(3, [0.1] * 10, 2.0, 100) is None  # at chance, but the loss is going down
    assert chance_warning(3, [0.5] * 10, 90.0, 100) is None  # learning
    assert "at chance (1/10)" in chance_warning(3, [0.1] * 10, 90.0, 100)


@pytest.mark.slow
def test_a_finite_but_exploding_loss_is_warned_about_and_saved(tmp_path, capsys):
    out = tmp_path / "run.json"
    code, err = run_cli(["train", "--dataset", "digits", "--lr", "100", "--epochs", "3", "--width", "4",
                         "--threads", "1", "--quiet", "--out", str(out)], capsys)
    warnings = [line for line in err if line.startswith("warning: ")]
    assert code == 0 and len(warnings) == 2
    assert "training loss" in warnings[0] and "at chance (1/10)" in warnings[1]
    assert RunHistory.load(out).warnings == [w.removeprefix("warning: ") for w in warnings]


# ---------------------------------------------------------------- what the suite tries


def _past_each_end(rule) -> list:
    """The nearest values outside a number rule's range: its open ends themselves, else one step beyond."""
    outside = []
    for end, open_, away in ((rule.lo, rule.lo_open, -math.inf), (rule.hi, rule.hi_open, math.inf)):
        if math.isfinite(end):
            beyond = end if open_ else (end + (1 if away > 0 else -1) if rule.integer else math.nextafter(end, away))
            outside.append(int(beyond) if rule.integer else float(beyond))
    return outside


NUMBER_SETTINGS = [n for n in field_names() if type(field_rule(n)).__name__ == "Number"]


@pytest.mark.parametrize("name", NUMBER_SETTINGS)
def test_every_number_setting_refuses_the_nearest_values_past_its_range_in_one_line(name):
    """Generated from the declared rules: a setting added later is covered with no change here."""
    outside = _past_each_end(field_rule(name))
    assert outside, f"{name}: a number setting with no finite end"
    for value in outside:
        with pytest.raises(ProcrustesError) as err:
            TrainConfig(**{name: value})
        assert one_line(str(err.value)).startswith(f"{name}=") and ": expected " in str(err.value)


def test_grid_files_read_through_the_shared_reader(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text("base:\n  epochs: 2\ngrid:\n  ratio: [10, 100]\n")
    assert load_grid_file(path) == ({"epochs": 2}, {"ratio": [10, 100]})
