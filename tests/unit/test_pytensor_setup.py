"""What importing cvae.nn sets in PyTensor: float32, and the C virtual machine on every PyTensor."""

import os
import subprocess
import sys

import pytensor
import pytest

from tests.conftest import ROOT


@pytest.mark.skipif(not pytensor.config.cxx, reason="no C compiler: PyTensor runs Python code")
def test_functions_run_on_the_c_vm_unless_the_flags_say_otherwise():
    """PyTensor 3's default linker is Numba (~23 s of compiling per new fit); cvae.nn picks the C VM."""
    code = (
        "import pytensor, pytensor.tensor as pt, cvae.nn; x = pt.vector('x'); "
        "print(pytensor.config.floatX, type(pytensor.function([x], 2 * x).vm).__name__)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTENSOR_FLAGS"}

    def run(**flags):
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env | flags,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout.split()[-2:]

    assert run() == ["float32", "CVM"]
    assert run(PYTENSOR_FLAGS="linker=vm")[1] == "Loop"  # an explicit choice wins
