"""A bounded load test in CI: 8 browser sessions decode on the Latent page while a training runs.

bench/load_test.py is the full version (30 sessions); this one checks that nothing breaks under
load (every decode arrives, no session shows an error, the server logs no traceback, the training
keeps fitting) and records its figures in artifacts/load_test_ci.json. Latency is reported, not
asserted tightly: the CI machine has 2 cores shared with the browser.
"""

import re

import pytest

from tests import e2e_support as e2e

pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(e2e.chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)"),
]


def _step(progress: str) -> int:
    match = re.search(r"step (\d+)/", progress or "")
    return int(match.group(1)) if match else -1


def test_eight_sessions_decode_while_a_training_runs():
    from bench.load_test import run_load_test

    result = run_load_test(
        sessions=8,
        decodes=3,
        idle_decodes=5,
        training=True,
        epochs=100,
        budget_s=240,
        out=e2e.ARTIFACTS / "load_test_ci.json",
        log=print,
    )
    assert result["loaded"]["failures"] == []
    assert result["session_errors"] == {}
    assert result["server_tracebacks"] == 0
    assert result["idle"]["n"] == 5 and result["concurrent_no_training"]["n"] == 8
    assert result["loaded"]["n"] == 8 * 3
    assert _step(result["training_progress_after"]) > _step(result["training_progress_before"]) >= 1
    assert result["loaded"]["max_ms"] < 120_000
