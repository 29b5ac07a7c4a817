"""What a fresh server does before it takes its first visitor: the first pages then show at once.

A new server process has imported none of PyTensor, Dask or Plotly, loaded no model and
started no training worker; left to the first session, that costs its first page seconds. The
server's lifespan (`app.py`) runs `warm()` before it accepts connections: start the training
cluster (its processes start on the other core meanwhile), import the page stack, load the model a
new session starts on, its stored test codes, decoder and default latent map into the same
server-wide caches the pages read, and wait until the cluster's scheduler is ready and its
workers have warmed up. Nothing here can stop the server: what fails is logged and left to the
page that needs it, which says what is wrong.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from streamlit.logger import get_logger

__all__ = ["lifespan", "warm"]

_PAGE_STACK = (  # what the first pages import: PyTensor (the largest), Plotly (the charts), the page modules
    "cvae.model.vae",
    "plotly.graph_objects",
    "ui.components",
    "ui.latent.payloads",
    "ui.latent.tools",
    "ui.latent.view",
)

_LOG = get_logger("cvae.warm_start")  # Streamlit's handler: the line lands in the server log


def warm() -> dict[str, float]:
    """Seconds each step took (a step that failed is logged and missing)."""
    steps = {  # the cluster first: its processes start on the other core while this one imports and loads
        "cluster start": _start_cluster,
        "runtime": _configure_runtime,
        "imports": _import_page_stack,
        "default model": _load_default,
        "training workers": _wait_for_cluster,
        "workers warm": _wait_for_workers_warm,
    }
    took = {}
    for name, step in steps.items():
        began = time.perf_counter()
        try:
            step()
        except Exception as err:  # the page that needs it reports it to its user
            _LOG.warning("warm start: %s failed (%s: %s); a page does it instead", name, type(err).__name__, err)
            continue
        took[name] = round(time.perf_counter() - began, 2)
    _LOG.info("warm start: %s", ", ".join(f"{name} {s:.2f} s" for name, s in took.items()))
    return took


def _configure_runtime() -> None:
    """PyTensor's flags, the heap, and NumPy's OpenBLAS at one thread (`cvae.runtime` says why), before
    anything imports PyTensor or loads a model. The training workers are other processes."""
    from cvae.runtime import SERVER_BLAS_THREADS, configure

    runtime = configure(numpy_blas_threads=SERVER_BLAS_THREADS)
    if not runtime.compiles_c:
        _LOG.warning("warm start: PyTensor runs Python code here (cxx %r, linker %s)", runtime.cxx, runtime.linker)


@asynccontextmanager
async def lifespan(_app):
    """st.App's startup hook: warm on a thread of ours (the event loop stays free), then serve."""
    logging.getLogger(_STREAMLIT_CONTEXT_LOGGER).addFilter(_OurThreadsNeedNoSession())
    with ThreadPoolExecutor(1, thread_name_prefix="cvae-warm-start") as pool:
        await asyncio.get_running_loop().run_in_executor(pool, warm)
    yield


_STREAMLIT_CONTEXT_LOGGER = "streamlit.runtime.scriptrunner_utils.script_run_context"


class _OurThreadsNeedNoSession(logging.Filter):
    """Streamlit warns when a thread outside any session reads its caches; ours (cvae-*) do so on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.threadName.startswith("cvae-") and "missing ScriptRunContext" in record.getMessage())


def _import_page_stack() -> None:
    for module in _PAGE_STACK:
        importlib.import_module(module)


def _start_cluster() -> None:
    from ui.jobs import job_registry

    job_registry()  # connects on a thread of its own


def _wait_for_cluster() -> None:
    from ui.jobs import job_registry

    job_registry().client  # noqa: B018 - up, and its scheduler ready, before the first visitor


WORKERS_WARM_S = 60.0  # a cold compile cache takes longer: the server then serves, and the workers go on


def _wait_for_workers_warm() -> None:
    """The embedded workers' warm-up (imports, the default fit's graph: ~8 s of one core) done.

    It runs at idle priority, and still the first visitor's page waited on it: right after the
    server's start the first Latent page took 3.0-3.5 s to show its map, 2.2 s once the
    warm-up was over (2 cores; the browser, the server and the warm-up on them at once)."""
    from cvae.jobs import fit_task
    from cvae.settings import settings
    from ui.jobs import job_registry

    if settings().scheduler:  # a teacher's workers run on other machines
        return
    warm = job_registry().client.run(fit_task.wait_until_warm, WORKERS_WARM_S)
    cold = sum(not done for done in warm.values())
    if cold:
        raise TimeoutError(f"{cold} of {len(warm)} workers not warm after {WORKERS_WARM_S:.0f} s")


def _load_default() -> None:
    from ui.latent.payloads import MAP_KEY, home_range, payload_for
    from ui.latent.projection import KINDS, ProjectionChoice
    from ui.model_cache import encoded_for, explorer_for, model_for
    from ui.model_choice import default_path

    path = default_path()
    model_for(path)
    encoded_for(path)
    explorer_for(path)
    first_view = ProjectionChoice(next(iter(KINDS)))  # what the projection selector starts on
    home_range(path, first_view)
    payload_for(path, first_view, target=MAP_KEY, density=False)
