"""`streamlit run app.py` warms up before its first visitor (st.App's lifespan), and a model that
cannot be loaded does not stop it: a real server in a subprocess, its log read after it answers."""

import json
import re
import urllib.request

from harness import ROOT
from harness.server import serving

STEPS = ("cluster start", "runtime", "imports", "default model", "training workers", "workers warm")


def warm_line(log: str) -> str:
    found = re.search(r"warm start: (cluster start .*)", log)
    assert found, f"no warm-start summary in the server log:\n{log}"
    return found.group(1)


def test_a_fresh_server_has_warmed_up_by_the_time_it_answers(tmp_path):
    with serving(tmp_path / "runs", tmp_path / "server.log") as server:
        log = server.log_tail(20_000)  # read at once: health answers only after the lifespan's warm-up
        line = warm_line(log)
        for step in STEPS:
            assert re.search(rf"{step} \d+\.\d+ s", line), line
        assert "failed" not in log
        assert "missing ScriptRunContext" not in log  # our warm-up threads need no session, and say nothing


def test_the_web_servers_numpy_blas_runs_one_thread():
    """Its small products on many sessions' threads: at two threads OpenBLAS spin-waits for a core."""
    import subprocess
    import sys

    code = (
        "import json; from threadpoolctl import threadpool_info; from ui.warm_start import _configure_runtime; "
        "_configure_runtime(); print(json.dumps([(i['internal_api'], i['num_threads']) for i in threadpool_info() "
        "if i['user_api'] == 'blas']))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    blas = json.loads(out.stdout.strip().splitlines()[-1])
    assert blas and all(threads == 1 for _, threads in blas), blas


def test_a_damaged_default_model_is_logged_and_the_server_still_serves(tmp_path):
    runs = tmp_path / "runs"
    broken = runs / "broken-run"
    broken.mkdir(parents=True)
    (broken / "params.npz").write_bytes(b"not a zip file")
    (broken / "config.json").write_text("{}")
    (runs / "classroom.json").write_text(json.dumps({"default_run": "broken-run"}))
    with serving(runs, tmp_path / "server.log") as server:
        log = server.log_tail(20_000)
        assert re.search(r"warm start: default model failed \(\w*Error", log), log
        line = warm_line(log)
        assert "imports" in line and "training workers" in line and "default model" not in line
        assert "failed" not in line
        with urllib.request.urlopen(server.url + "/_stcore/health", timeout=10) as response:
            assert response.read().strip() == b"ok"
