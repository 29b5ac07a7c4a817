"""Environment settings: one typed place, clear errors, and the docs document every variable."""

import re

import pytest

from cvae.settings import ENV, ROOT, Settings, SettingsError, settings


def test_defaults_and_a_changed_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("CVAE_RUNS_DIR", raising=False)
    assert settings().runs_dir == ROOT / "runs"
    monkeypatch.setenv("CVAE_RUNS_DIR", str(tmp_path))
    assert settings().runs_dir == tmp_path
    assert settings() is settings()  # parsed once per environment


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("CVAE_MAX_QUEUED", "many", "whole number"),
        ("CVAE_MAX_QUEUED", "0", "at least 1"),
        ("CVAE_WINOGRAD", "yes", "0 or 1"),
        ("CVAE_PRIVATE_BLAS", "mkl", "one of"),
    ],
)
def test_bad_values_are_refused_by_name(name, value, message):
    with pytest.raises(SettingsError, match=f"{name}.*{message}"):
        Settings.from_env({name: value})


def test_the_docs_document_every_variable_with_its_default():
    page = (ROOT / "docs" / "environment.md").read_text()
    rows = dict(re.findall(r"^\| `(CVAE_\w+)` \| ([^|]+) \|", page, re.M))
    assert set(rows) == set(ENV), "docs/environment.md's table and cvae/settings.py disagree"
    for name, (_, default, _) in ENV.items():
        assert rows[name].strip() == default, name
