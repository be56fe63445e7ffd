"""The caps of an upload are operator settings read with the others, and every setting is documented."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from app import limits as limits_module
from app.limits import Limits, read_limits
from procrustes_core import ProcrustesError
from procrustes_core.data.uploaded import MB, UploadCaps
from procrustes_core.training.budget import Budget

ROOT = Path(__file__).resolve().parent.parent
UPLOAD_SETTINGS = {"PROCRUSTES_MAX_DATA_MB": "3", "PROCRUSTES_MAX_ZIP_MB": "9", "PROCRUSTES_MAX_ZIP_FILES": "50",
                   "PROCRUSTES_MAX_CLASSES": "4"}


def test_the_upload_caps_are_read_from_their_environment_variables(monkeypatch):
    assert read_limits().upload_caps == UploadCaps() == Limits().upload_caps
    for name, value in UPLOAD_SETTINGS.items():
        monkeypatch.setenv(name, value)
    assert read_limits().upload_caps == UploadCaps(max_bytes=3 * MB, max_unpacked_bytes=9 * MB, max_members=50,
                                                   max_classes=4)


@pytest.mark.parametrize("name", sorted(UPLOAD_SETTINGS))
def test_a_bad_upload_cap_is_one_line_naming_the_variable(monkeypatch, name):
    monkeypatch.setenv(name, "0")
    with pytest.raises(ProcrustesError, match=f"^{name}='0': expected a whole number ≥ 1$"):
        read_limits()


def read_variables() -> set[str]:
    """Every environment variable limits.py reads: named in its code, or a budget field's PROCRUSTES_<FIELD>."""
    source = Path(limits_module.__file__).read_text()
    code = source.split('"""', 2)[2]
    named = set(re.findall(r'"((?:PROCRUSTES|RAY)_[A-Z_]+)"', code))
    return named | {f"PROCRUSTES_{f.name.upper()}" for f in fields(Budget)}


def test_every_operator_setting_is_in_the_limits_table_and_the_readme():
    variables = read_variables()
    assert set(UPLOAD_SETTINGS) <= variables and "PROCRUSTES_MAX_EPOCHS" in variables
    table = limits_module.__doc__
    readme = (ROOT / "README.md").read_text()
    for name in sorted(variables):
        assert f"| `{name}` |" in table, f"{name} is not in app/limits.py's table"
        assert f"`{name}`" in readme, f"{name} is not in the README's operator settings"


# ------------------------------------------------------------------ Ray: the cluster cannot read this machine's store


def test_your_data_on_a_ray_cluster_is_refused_in_one_line_and_other_data_pass(tmp_path):
    from app.limits import RAY_REFUSAL, server_settings
    from procrustes_core import TrainConfig

    ray = Limits(ray_address="10.0.0.1:6379")
    mine = TrainConfig(dataset="your-data", data_path=str(tmp_path / "pets.csv"), profile="natural")
    with pytest.raises(ProcrustesError) as caught:
        server_settings(mine, ray)
    assert str(caught.value) == RAY_REFUSAL and "\n" not in RAY_REFUSAL and str(tmp_path) not in RAY_REFUSAL
    assert server_settings(mine, Limits()) is mine  # local workers read the store
    assert server_settings(TrainConfig(dataset="digits"), ray).dataset == "digits"


def test_a_server_on_a_ray_cluster_offers_no_upload_and_says_why(monkeypatch):
    pytest.importorskip("ray")
    import socket

    from app_support import TINY, new_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")  # nobody answers: the page still draws
    at = new_app(TINY).run()
    assert not at.exception
    assert not at.sidebar.get("file_uploader")
    assert any("Your own data: not on this server, which trains on a Ray cluster" in c.value
               for c in at.sidebar.caption)
    monkeypatch.delenv("RAY_ADDRESS")
    assert new_app(TINY).run().sidebar.file_uploader(key="w_your_data") is not None
