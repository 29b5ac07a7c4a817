"""cvae.runtime.configure(): what it sets, once, in a fresh process (the suite's own is set up already)."""

import json
import os
import subprocess
import sys

import pytensor
import pytest

from tests.conftest import ROOT

# In a fresh interpreter: configure() twice, then what PyTensor and the BLAS libraries say, and
# whether PyTensor's first C compile warns about BLAS (it did, at that point, before configure()).
PROBE = """
import json, warnings
from cvae import runtime
first = runtime.configure()
again = runtime.configure()
limited = runtime.configure(numpy_blas_threads=1)
import pytensor, pytensor.tensor as pt
from threadpoolctl import threadpool_info
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    x = pt.matrix("x")
    f = pytensor.function([x], pt.dot(x, x).sum())
print(json.dumps({
    "same": first is again, "first_threads": first.numpy_blas_threads, "limited": limited.numpy_blas_threads,
    "runtime": {k: getattr(limited, k) for k in ("float_x", "linker", "cxx", "compiledir", "malloc_tuned")},
    "compiles_c": limited.compiles_c,
    "config": [pytensor.config.floatX, pytensor.config.linker, pytensor.config.cxx, str(pytensor.config.compiledir)],
    "vm": type(getattr(f, "vm", None)).__name__,
    "blas_threads": [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"],
    "warnings": [str(w.message)[:80] for w in caught],
}))
"""


def _probe(**env) -> dict:
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTENSOR_FLAGS", "OPENBLAS_NUM_THREADS")}
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", PROBE],
        cwd=ROOT,
        env=environ | env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"stderr": done.stderr}


@pytest.mark.skipif(not pytensor.config.cxx, reason="no C compiler: PyTensor runs Python code")
def test_configure_sets_what_it_says_once_and_the_first_compile_is_quiet():
    seen = _probe()
    assert seen["same"], "a second call returns what the first set"
    assert seen["first_threads"] is None and seen["limited"] == 1
    runtime = seen["runtime"]
    assert [runtime["float_x"], runtime["linker"], runtime["cxx"], runtime["compiledir"]] == seen["config"]
    assert runtime["float_x"] == "float32" and runtime["linker"] == "cvm" and runtime["cxx"]
    assert runtime["malloc_tuned"] is True  # glibc, and CVAE_MALLOC_TUNING left on
    assert seen["compiles_c"] and seen["vm"] == "CVM"
    assert seen["blas_threads"] and set(seen["blas_threads"]) == {1}, seen["blas_threads"]
    assert not [w for w in seen["warnings"] if "BLAS" in w], seen["warnings"]
    assert "could not link to a BLAS" not in seen["stderr"]


def test_without_a_compiler_configure_says_so_and_reports_python_code():
    seen = _probe(PYTENSOR_FLAGS="cxx=")
    assert not seen["compiles_c"] and seen["vm"] != "CVM"
    assert seen["runtime"]["cxx"] == "" and seen["runtime"]["float_x"] == "float32"
    assert "PyTensor found no C++ compiler" in seen["stderr"]


def test_a_linker_named_in_the_flags_is_left_alone():
    seen = _probe(PYTENSOR_FLAGS="linker=py")
    assert seen["runtime"]["linker"] == "py" and not seen["compiles_c"]


@pytest.mark.skipif(not pytensor.config.cxx, reason="no C compiler: PyTensor runs Python code")
def test_a_compiler_cleared_by_two_concurrent_graph_builds_is_put_back():
    """PyTensor's alloc shape inference sets cxx="" for a moment, saved and restored without a lock: two
    threads interleaving that save and restore (here in the order that loses) leave cxx="" for good."""
    probe = (
        "import json, warnings, pytensor\n"
        "from cvae import runtime\n"
        "before = runtime.configure().cxx\n"
        "first, second = pytensor.config.change_flags(cxx=''), pytensor.config.change_flags(cxx='')\n"
        "first.__enter__(); second.__enter__(); first.__exit__(None, None, None); second.__exit__(None, None, None)\n"
        "cleared = pytensor.config.cxx\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    put_back = runtime.ensure_c()\n"
        "print(json.dumps({'before': before, 'cleared': cleared, 'put_back': put_back, 'after': pytensor.config.cxx,\n"
        "    'again': runtime.ensure_c(), 'said': [str(w.message) for w in caught]}))"
    )
    environ = {k: v for k, v in os.environ.items() if k != "PYTENSOR_FLAGS"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before"] and seen["cleared"] == "", "PyTensor's race, reproduced"
    assert seen["put_back"] and seen["after"] == seen["before"] and not seen["again"]
    assert any("cleared by a concurrent graph build" in said for said in seen["said"])
