"""The Compare runs page under AppTest with 0, 1 and 2 saved runs (the shipped model hidden)."""

import pytest

import cvae
from tests import factories
from tests.conftest import open_app


def _save_run(path, **config):
    """A small real checkpoint (untrained weights) with a made-up 80-step history."""
    beta = cvae.TrainConfig(**config).beta
    history = factories.history(80, start=400.0, kl=1.0 + beta, beta=beta, dt=1.0)
    return factories.saved_run(path, history, steps=80, **config)


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    from ui import model_choice

    monkeypatch.setenv("CVAE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(model_choice, "PRETRAINED", tmp_path / "no-shipped-model")
    return tmp_path / "runs"


def _compare(at_runs: int, root):
    for beta in (0.0, 1.0)[:at_runs]:
        _save_run(root / f"beta{beta:g}", beta=beta, epochs=2)
    return open_app("compare")


def test_no_runs(runs_root):
    at = _compare(0, runs_root)
    assert any("No saved runs yet" in i.value for i in at.info)
    assert not at.multiselect


def test_one_run(runs_root):
    at = _compare(1, runs_root)
    assert at.multiselect(key="compare_runs").value == ["beta0"]
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 1
    assert any("share every setting" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 2  # curves + one map


def test_two_runs_compare_beta(runs_root):
    at = _compare(2, runs_root)
    assert not at.main.error, [e.value for e in at.main.error]
    assert sorted(at.multiselect(key="compare_runs").value) == ["beta0", "beta1"]
    table = at.dataframe[0].value
    assert sorted(table["beta"]) == [0.0, 1.0]
    assert list(table.columns) == [
        "run",
        "model",
        "arch",
        "latent dim",
        "likelihood",
        "prior",
        "conditional",
        "batch norm",
        "beta",
        "epochs",
        "final train -ELBO",
        "final KL",
    ]
    assert table["final train -ELBO"].tolist() == [339.5, 339.5]  # 400 - mean step 60.5 of steps 41-80 (40 per epoch)
    assert any("Settings that differ: **beta**" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 3
    assert any("plain autoencoder (beta = 0)" in c.value for c in at.caption)
    assert {b.proto.label for b in at.get("download_button")} == {"Download PNG", "Download SVG"}
    assert [e.label for e in at.expander] == ["Teaching tips"]
    at.toggle(key="compare_same_axes").set_value(True).run()
    assert not at.exception, at.exception


def test_deselecting_everything_and_a_broken_run(runs_root):
    at = _compare(2, runs_root)
    at.multiselect(key="compare_runs").set_value([]).run()
    assert any("Pick one or more runs" in i.value for i in at.info)
    (runs_root / "beta0" / "params.npz").write_bytes(b"not an npz")  # new mtime: the cache reloads it
    at.multiselect(key="compare_runs").set_value(["beta0", "beta1"]).run()
    assert not at.exception, at.exception
    assert any("`beta0` cannot be shown" in w.value for w in at.warning)
    assert len(at.get("plotly_chart")) == 2


def test_only_the_teacher_sees_the_sweep_form(runs_root):
    at = _compare(1, runs_root)
    assert not [f for f in at.get("form") if "sweep" in str(f.proto).lower()]
    assert any("a teacher signed in on the Classroom page can train a whole grid" in c.value for c in at.caption)


@pytest.mark.slow
def test_a_teachers_sweep_trains_on_the_workers_and_lands_in_the_comparison(runs_root):
    from tests.conftest import wait_until_done
    from ui import model_choice
    from ui.jobs import job_registry

    at = _compare(1, runs_root)
    at.session_state["teacher"] = True
    at.run()
    at.multiselect(key="sweep_betas").set_value([0.0, 1.0])
    at.number_input(key="sweep_epochs").set_value(1)
    next(b for b in at.button if b.label == "Start the sweep").click().run()
    assert not at.exception, at.exception
    jobs = [job_registry().get(job_id) for job_id in at.session_state["sweep_jobs"]]
    assert [job.config.beta for job in jobs] == [0.0, 1.0]
    for job in jobs:
        wait_until_done(job, timeout=600)
    assert all(job.saved for job in jobs), [job.message for job in jobs]
    at.run()  # the progress fragment's timer never fires under AppTest: a rerun draws what arrived
    names = {job.name for job in jobs}
    assert names <= set(model_choice.saved_runs())
    assert not at.exception
