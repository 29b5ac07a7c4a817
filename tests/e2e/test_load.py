"""The load test in CI at a small size: 6 protocol-level students pin points on the Latent page,
idle and while a training started from the Train page runs.

bench/load_test.py is the full version (30 students every 2 s). This one checks that nothing breaks
under load (every pin answered, no tab shows an error or is dropped, no traceback in the server log,
the training keeps fitting) and records its figures in artifacts/load_test_ci.json; latency is
bounded loosely: CI shares its 2 cores with other work.
"""

import pytest

from harness import ARTIFACTS

pytestmark = pytest.mark.slow


def test_six_students_pin_while_a_training_runs():
    from bench.load_test import run_load_test
    from bench.students import step_of

    result = run_load_test(
        sessions=6, interval=1.0, duration=10.0, epochs=200, out=ARTIFACTS / "load_test_ci.json", log=print
    )
    assert result["failures"] == [] and result["dropped_sessions"] == 0
    assert result["server_tracebacks"] == 0
    for phase in ("idle", "training"):
        assert result[phase]["n"] >= 6 * 5, result[phase]
        assert result[phase]["max_ms"] < 30_000, result[phase]
    assert step_of(result["training_progress_after"]) > step_of(result["training_progress_before"]) >= 1
