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
