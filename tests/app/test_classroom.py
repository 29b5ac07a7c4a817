"""Teacher settings (atomic JSON, confined run names, teacher code) and the Classroom page."""

import json
import logging
import os

import pytest

import cvae
from cvae.store import teacher_settings as classroom
from cvae.store.teacher_settings import TeacherSettings, load_settings, save_settings
from tests import factories
from tests.conftest import open_app


def test_missing_file_gives_defaults(tmp_path):
    assert load_settings(tmp_path / "nowhere") == TeacherSettings(None)


def test_save_and_load_round_trip(tmp_path):
    path = save_settings(tmp_path / "runs", TeacherSettings("beta1"))
    assert path == tmp_path / "runs" / "classroom.json"
    assert json.loads(path.read_text()) == {"default_run": "beta1"}
    assert load_settings(tmp_path / "runs") == TeacherSettings("beta1")
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["classroom.json"]  # no temp file left


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        '"a string"',
        "[1, 2]",
        '{"default_run": 3}',
        '{"default_run": "../etc"}',
        '{"locked": "yes"}',
        '{"extra": 1}',
        "\xff",
    ],
)
def test_corrupt_or_invalid_file_gives_defaults_and_logs(tmp_path, caplog, text):
    (tmp_path / "classroom.json").write_text(text, encoding="latin-1")
    with caplog.at_level(logging.WARNING, logger="cvae.store.teacher_settings"):
        assert load_settings(tmp_path) == TeacherSettings()
    assert "classroom settings" in caplog.text


@pytest.mark.parametrize("name", ["../outside", "a/b", "", ".hidden", "classroom.json"])
def test_save_refuses_names_outside_the_runs_dir(tmp_path, name):
    with pytest.raises(cvae.CheckpointError):
        save_settings(tmp_path, TeacherSettings(name))
    assert not (tmp_path / "classroom.json").exists()


def test_an_older_file_with_a_lock_still_loads(tmp_path):
    (tmp_path / "classroom.json").write_text('{"default_run": "beta1", "locked": true}')
    assert load_settings(tmp_path) == TeacherSettings("beta1")


def test_failed_replace_keeps_the_old_file(tmp_path, monkeypatch):
    save_settings(tmp_path, TeacherSettings("old"))

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        save_settings(tmp_path, TeacherSettings("new"))
    assert load_settings(tmp_path).default_run == "old"
    assert sorted(os.listdir(tmp_path)) == ["classroom.json"]


def test_default_run_path(tmp_path):
    _save_run(tmp_path / "beta1")
    assert classroom.default_run_path(tmp_path, TeacherSettings("beta1")) == tmp_path / "beta1"
    assert classroom.default_run_path(tmp_path, TeacherSettings("gone")) is None
    assert classroom.default_run_path(tmp_path, TeacherSettings()) is None


def _save_run(path, **config):
    history = factories.history(5, start=300.0, kl=2.0, beta=config.get("beta", 1.0), dt=1.0)
    return factories.saved_run(path, history, **config)


# ---- the page --------------------------------------------------------------------------------


@pytest.fixture
def runs(tmp_path, monkeypatch):
    from ui import access

    access._teacher_gate.clear()  # every test is a fresh server: no delay left by another test's wrong codes
    root = tmp_path / "runs"
    monkeypatch.setenv("CVAE_RUNS_DIR", str(root))
    _save_run(root / "beta0", beta=0.0)
    _save_run(root / "beta1", beta=1.0)
    return root


def _page():
    return open_app("classroom")


def _sign_in(monkeypatch, typed: str, at=None):
    """The Classroom page (`at`, or a new tab), teacher code 'open-sesame' configured, after typing
    `typed` into its form."""
    monkeypatch.setenv("CVAE_TEACHER_CODE", "open-sesame")
    at = at or _page()
    at.text_input(key="teacher_code_input").input(typed)
    at.button[0].click().run()
    return at


def test_teacher_mode_disabled_without_a_code(runs, monkeypatch):
    monkeypatch.delenv("CVAE_TEACHER_CODE", raising=False)
    at = _page()
    assert any("Teacher mode is disabled" in i.value and "CVAE_TEACHER_CODE" in i.value for i in at.info)
    assert not any(t.label == "Teacher code" for t in at.text_input)


def test_wrong_code_is_refused(runs, monkeypatch):
    at = _sign_in(monkeypatch, "guess")
    assert not at.exception
    assert any("not the teacher code" in e.value for e in at.error)
    assert not any("guess" in e.value for e in [*at.error, *at.markdown, *at.caption])  # never echoed
    assert "teacher" not in at.session_state or not at.session_state["teacher"]
    assert not (runs / "classroom.json").exists()
    assert not any(s.key == "classroom_default" for s in at.selectbox)


def test_wrong_codes_slow_down_every_tab_of_the_server(runs, monkeypatch):
    from ui import access

    monkeypatch.setenv("CVAE_TEACHER_CODE", "open-sesame")
    # the server's one gate, on a clock the test moves: opening a tab on a busy machine can take longer
    # than the 1 s delay, so real time would let tab B in for the wrong reason
    now = [1000.0]
    monkeypatch.setattr(access.teacher_gate(), "_clock", lambda: now[0])
    tab_b = _page()
    first = _sign_in(monkeypatch, "guess")  # tab A: a wrong code
    assert any("next try is accepted in 1 s" in e.value for e in first.error)
    second = _sign_in(monkeypatch, "open-sesame", tab_b)  # tab B, at once, with the right code: it must wait too
    assert any("Too many wrong codes on this server" in e.value for e in second.error)
    assert "teacher" not in second.session_state or not second.session_state["teacher"]
    now[0] += 1.1
    third = _sign_in(monkeypatch, "open-sesame")  # a new tab after the wait gets in
    assert third.session_state["teacher"] is True


def test_right_code_sets_the_default_run(runs, monkeypatch):
    at = _sign_in(monkeypatch, "open-sesame")
    assert not at.exception, at.exception
    assert at.session_state["teacher"] is True
    assert set(at.selectbox(key="classroom_default").options) == {"pretrained (shipped)", "beta0", "beta1"}
    at.selectbox(key="classroom_default").set_value("beta1")
    next(b for b in at.button if b.label == "Save classroom settings").click().run()
    assert not at.exception, at.exception
    assert json.loads((runs / "classroom.json").read_text()) == {"default_run": "beta1"}
    assert any("Saved" in s.value for s in at.success)
    assert any("**Default model:** `beta1`" in m.value for m in at.markdown)


@pytest.mark.parametrize("n_runs, shipped", [(0, False), (0, True), (1, False)])
def test_page_renders_with_few_runs(tmp_path, monkeypatch, n_runs, shipped):
    from ui import model_choice

    monkeypatch.setenv("CVAE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CVAE_TEACHER_CODE", "x")
    if not shipped:
        monkeypatch.setattr(model_choice, "PRETRAINED", tmp_path / "no-shipped-model")
    for i in range(n_runs):
        _save_run(tmp_path / "runs" / f"run{i}")
    at = _page()
    at.session_state["teacher"] = True
    at.run()
    assert not at.exception, at.exception
    assert len(at.selectbox(key="classroom_default").options) == 1 + n_runs
    if n_runs == 0 and not shipped:
        assert any("No saved run to export" in c.value for c in at.caption)
    else:
        assert len(at.get("download_button")) == 1


def test_export_and_import_a_run_as_zip(runs, monkeypatch):
    from cvae.store.bundle import export_bundle

    monkeypatch.delenv("CVAE_TEACHER_CODE", raising=False)
    at = _page()
    at.selectbox(key="bundle_export_run").set_value("beta0").run()
    assert [b.proto.label for b in at.get("download_button")] == ["Download beta0.zip"]
    at.file_uploader(key="bundle_upload").set_value(("shared.zip", export_bundle(runs / "beta0"), "application/zip"))
    at.run()
    assert at.text_input(key="bundle_name_shared").value == "shared"
    at.button(key="bundle_import").click().run()
    assert not at.exception, at.exception
    assert (runs / "shared" / "params.npz").is_file()
    assert any("Imported as `shared`" in s.value for s in at.success)
    assert at.session_state["active_run"] == str((runs / "shared").resolve())
    assert at.sidebar.selectbox[0].value == "shared"


def test_import_refuses_a_bad_zip_and_an_existing_name(runs, monkeypatch):
    from cvae.store.bundle import export_bundle

    at = _page()
    at.file_uploader(key="bundle_upload").set_value(("junk.zip", b"not a zip", "application/zip"))
    at.run()
    at.button(key="bundle_import").click().run()
    assert any("Not imported" in e.value and "not a zip" in e.value for e in at.error)
    assert not (runs / "junk").exists()
    at.file_uploader(key="bundle_upload").set_value(("beta1.zip", export_bundle(runs / "beta0"), "application/zip"))
    at.run()
    at.button(key="bundle_import").click().run()
    assert any("already exists" in e.value for e in at.error)
    assert json.loads((runs / "beta1" / "config.json").read_text())["config"]["beta"] == 1.0  # untouched


def test_new_sessions_start_on_the_teacher_default(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    monkeypatch.setenv("CVAE_RUNS_DIR", str(root))
    _save_run(root / "beta0", beta=0.0)
    _save_run(root / "beta1", beta=1.0)
    save_settings(root, TeacherSettings("beta0"))
    at = open_app()
    assert at.sidebar.selectbox[0].value == "beta0"
    at.sidebar.selectbox[0].set_value("beta1").run()  # a student may still pick another model
    assert at.sidebar.selectbox[0].value == "beta1" and not at.exception


def test_without_a_shipped_model_the_newest_run_is_active(tmp_path, monkeypatch):
    from ui import model_choice

    monkeypatch.setenv("CVAE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(model_choice, "PRETRAINED", tmp_path / "no-shipped-model")
    _save_run(tmp_path / "runs" / "only")
    at = open_app()
    assert not at.error, [e.value for e in at.error]
    assert at.sidebar.selectbox[0].value == "only"
