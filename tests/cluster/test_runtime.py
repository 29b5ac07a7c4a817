"""A fit on a freshly spawned Dask worker runs PyTensor's compiled C code, whatever ran before it.

The worst order is forced, not hoped for: the test process's `__main__` is navigation.py (as after
any AppTest run; a spawned worker reruns it) and navigation's own imports are loaded, before the
worker is spawned. What is checked is structural: the step the fit ran is on the C virtual machine
and no node that has C code runs its Python implementation (with PYTENSOR_FLAGS=cxx= all 100 of the
default network's do, and its 10 steps did not finish in 600 s).
"""

import ast
import importlib
import sys
import types

import pytest
from distributed import Client, LocalCluster

from cvae.config import TrainConfig
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
NAVIGATION = ROOT / "navigation.py"


def _modules_navigation_imports() -> list[str]:
    tree = ast.parse(NAVIGATION.read_text())
    found = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    found += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
    return found


def _fit_then_inspect(job: dict) -> dict:
    """In the worker: the fit as the app submits it, then the compiled step that fit ran."""
    import dataclasses

    from pytensor.link.c.interface import CLinkerOp

    from cvae.jobs import fit_task
    from cvae.runtime import configure

    seen = {
        "rerun_main": getattr(sys.modules.get("__mp_main__"), "__file__", None),
        "streamlit_imported": "streamlit" in sys.modules,
        "runtime": dataclasses.asdict(configure()),
    }
    if not configure().compiles_c:  # a fit in Python code takes many minutes: report now
        return seen
    result = fit_task.run_fit(job)
    (trainer,) = fit_task._trainers()._idle.values()  # the fit's, given back compiled
    step = trainer.compiled_step()
    nodes = list(zip(step.vm.nodes, step.vm.thunks, strict=True))
    return seen | {
        "status": result["status"],
        "steps": result["steps"],
        "vm": type(step.vm).__name__,
        "c_nodes": sum(isinstance(node.op, CLinkerOp) for node, _ in nodes),
        "python_fallbacks": sorted(
            {
                type(node.op).__name__
                for node, thunk in nodes
                if isinstance(node.op, CLinkerOp) and not hasattr(thunk, "cthunk")
            }
        ),
    }


def test_a_fit_on_a_freshly_spawned_worker_runs_compiled_c_code(monkeypatch):
    for module in _modules_navigation_imports():
        importlib.import_module(module)
    served = types.ModuleType("__main__")  # what Streamlit's script runner leaves as __main__
    served.__file__ = str(NAVIGATION)
    monkeypatch.setitem(sys.modules, "__main__", served)
    job = {
        "id": "runtime",
        "name": "runtime-check",
        "config": TrainConfig(epochs=1, batch_size=400).to_dict(),  # 10 steps on mnist-5k
        "topic": "cvae-runtime-check",
        "stop": "cvae-runtime-check-stop",
    }
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as lab,
        Client(lab, set_as_default=False) as client,
    ):
        seen = client.submit(_fit_then_inspect, job, pure=False).result(timeout=600)
    assert seen["rerun_main"] == str(NAVIGATION), "the worker must have rerun navigation.py, or nothing was tested"
    assert not seen["streamlit_imported"], "navigation.py ran more than its constants in a spawned process"
    assert seen["runtime"]["cxx"] and seen["runtime"]["linker"] == "cvm", seen["runtime"]
    assert seen["status"] == "finished" and seen["steps"] == 10, seen
    assert seen["vm"] == "CVM" and seen["c_nodes"] > 0, seen
    assert seen["python_fallbacks"] == [], seen
