"""What the install declares: the library runs without either user interface, and each extra names
what it brings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from procrustes_core import ProcrustesError
from procrustes_core.extras import INTERFACE_MODULES, require

ROOT = Path(__file__).resolve().parent.parent


def _project() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

LIBRARY_RUN = """
import json, sys, tempfile
from pathlib import Path
import procrustes_core
from procrustes_core import TrainConfig
from procrustes_core.cli import main
tiny = ["--n-samples", "600", "--ratio", "10", "--width", "4", "--epochs", "1", "--threads", "1"]
out = Path(tempfile.mkdtemp())
codes = [main(["train", *tiny, "--quiet", "--out", str(out / "run.json")]),
         main(["compare", *tiny, "--seeds", "2", "--workers", "1", "--out", str(out / "verdicts.json")])]
print(json.dumps({"codes": codes, "modules": sorted(m.split(".")[0] for m in sys.modules)}))
"""


def _name(requirement: str) -> str:
    return requirement.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip().lower()


def test_the_library_and_its_command_line_train_and_compare_without_importing_a_user_interface():
    done = subprocess.run([sys.executable, "-c", LIBRARY_RUN], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["codes"] == [0, 0]
    loaded = set(found["modules"])
    assert "torch" in loaded  # it did train
    assert not loaded & {*INTERFACE_MODULES, "jupyter_client", "ipykernel"}, loaded & set(INTERFACE_MODULES)


def test_the_core_dependencies_carry_no_user_interface_and_each_interface_is_an_extra():
    project = _project()
    core = {_name(r) for r in project["dependencies"]}
    extras = {name: {_name(r) for r in reqs} for name, reqs in project["optional-dependencies"].items()}
    assert not core & {"streamlit", "jupyterlab", "ipywidgets", "anywidget", "ipython", "ray"}
    assert {"scipy", "torch", "plotly"} <= core  # imported by the core
    assert "streamlit" in extras["app"]
    assert {"jupyterlab", "ipywidgets", "anywidget", "ipython"} <= extras["lessons"]
    assert "ray" in extras["cluster"]
    assert "procrustes" in extras["dev"] and {"pytest", "hypothesis"} <= extras["dev"]  # dev = everything


def test_the_streamlit_floor_is_the_tested_minor_version():
    from importlib.metadata import version

    floor = next(r for r in _project()["optional-dependencies"]["app"] if _name(r) == "streamlit")
    installed = version("streamlit").split(".")[:2]
    assert f">={installed[0]}.{installed[1]}" in floor, (floor, installed)


def test_a_missing_extra_is_one_line_naming_it():
    with pytest.raises(ProcrustesError, match=r"^no_such_module_x is not installed: .*'dev' extra") as err:
        require("no_such_module_x")
    assert "\n" not in str(err.value)
    require("torch")  # installed: nothing raised


def _planned(target: str, venv: Path) -> str:
    """What ``make TARGET`` would run (``make -n``) with ``venv`` as the virtual environment."""
    import shutil

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(["make", "-n", target, f"VENV={venv}"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_each_make_target_installs_its_own_extras_and_again_when_they_change(tmp_path):
    import os

    venv = tmp_path / "venv"
    venv.mkdir()
    assert '-e ".[dev]"' in _planned("test", venv) and '-e ".[app]"' in _planned("app", venv)
    assert '-e ".[lessons]"' in _planned("lessons", venv)
    (venv / ".installed-dev").touch()  # `make test` has installed the dev extra, after pyproject.toml changed
    assert "pip install" not in _planned("test", venv)
    assert '-e ".[app]"' in _planned("app", venv)  # the app's extra was never installed: it is now
    older = (ROOT / "pyproject.toml").stat().st_mtime - 60
    os.utime(venv / ".installed-dev", (older, older))  # pyproject.toml changed since
    assert '-e ".[dev]"' in _planned("test", venv)
