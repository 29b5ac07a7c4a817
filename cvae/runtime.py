"""The numerical runtime of every process: PyTensor's flags, NumPy's BLAS threads, glibc's heap.

`configure()` sets all of it, once per process (later calls return at once); every entry point
calls it before it builds or runs a graph: the command line (`cvae.cli`), a Dask worker's warm-up
and each fit it runs (`cvae.jobs.fit_task`), the web server's warm start (`ui.warm_start`) and
every session's script (`navigation.py`). Importing `cvae.nn` calls it too, so a notebook gets
the same set-up; nothing depends any more on which module happens to be imported first.

What it sets, and why:

- PyTensor `floatX = "float32"`: PyMC's Adam updates must match the network's float32 shared
  variables, or compiling the step fails with a type mismatch. A process-wide global, unavoidably.
- PyTensor `linker = "cvm"` (the C virtual machine) where the linker is PyTensor's default and a C++
  compiler was found: "auto" means that on PyTensor 2, but Numba on PyTensor 3, which compiles for
  ~23 s on every new fit and runs our Ops in object mode. A linker or mode named in
  PYTENSOR_FLAGS is left alone.
- PyTensor `cxx`: read, not set. Empty (no g++ on PATH, or `PYTENSOR_FLAGS=cxx=`) means every
  node runs its Python implementation on a Python loop, and our own C kernels (`cvae.nn.patches`,
  `winograd`, `epilogue`, built with that compiler) give way to NumPy: a fit many times slower.
  `configure()` warns then; `Runtime.compiles_c` says which case a process is in.
- PyTensor `blas__ldflags`: resolved here, with PyTensor's "could not link to a BLAS installation"
  warning silenced. A pip-installed PyTensor finds no BLAS to link and says so at its first C
  compile, not at its import (so importing `cvae.nn` before PyMC, as comments once required, never
  quietened it); our Ops bring their own BLAS (`cvae.nn.blas`) and PyTensor's Gemm falls back to
  NumPy's, so the warning only alarmed newcomers.
- PyTensor `compiledir`: PyTensor's per-user default, left alone, so the command line, the web
  server and the embedded workers share one compile cache (the warm-up's marker lives in it);
  PYTENSOR_FLAGS=compiledir=... moves it (the warm-up's tests, the benchmarks' cold runs).
- glibc's heap (`cvae.nn.blas.tune_malloc`, off with CVAE_MALLOC_TUNING=0): arrays up to 32 MB from
  the heap, 256 MB of freed heap kept, so the convolutions do not page-fault fresh zeroed memory
  every step. It also overrides the MALLOC_TRIM_THRESHOLD_=65536 that Dask's nanny gives workers.
- NumPy's BLAS threads, only where asked (`numpy_blas_threads`): the web server and the workers
  use 1 (`SERVER_BLAS_THREADS`, `WORKER_BLAS_THREADS`); the command line keeps OpenBLAS's default.
- numba and umap-learn: nothing here. Importing them costs 2-4 s that a process that never draws a
  UMAP should not pay; umap's functions get numba's disk cache when first imported
  (`cvae.explore.projections.umap`).

The import effect once recorded in `navigation.py` ("that import left the next fit in PyTensor's
Python thunks, >15 min, not 45 s"), explained: PyTensor's `alloc` shape inference wraps a rewrite in
`config.change_flags(cxx="")`, a process-wide flag saved and restored without a lock. Two threads
building graphs at once each save the other's "", and the process keeps cxx="" for good: every fit
after it runs Python code. A test's Dask worker once reran the whole app script bare (spawn reruns
`__main__`, which after an AppTest run was `navigation.py`), building graphs beside the worker's
warm-up; deploy/'s worker did the same with two warm-ups, one per replica registering the worker
plugin (a fit ran at ~5 steps a minute, seen with py-spy). Now `navigation.py` runs nothing unless
served, a worker warms up once, and every fit first calls `ensure_c()`, which puts the compiler back.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, replace

__all__ = ["FLOAT", "SERVER_BLAS_THREADS", "WORKER_BLAS_THREADS", "Runtime", "configure", "ensure_c"]

FLOAT = "float32"
# one thread each: the server's products are small and run on many sessions' threads; a worker
# runs one fit whose Ops have their own threads (cvae.nn.parallel). At two threads, NumPy's OpenBLAS
# spin-waits for the other core on a busy machine (a 0.09 ms classifier call took 2.7-3.6 ms of CPU).
SERVER_BLAS_THREADS = 1
WORKER_BLAS_THREADS = 1
_C_LINKERS = ("cvm", "cvm_nogc", "c", "c|py", "c|py_nogc", "vm", "vm_nogc")  # run C thunks when cxx is set
_BLAS_ADVICE = "PyTensor could not link to a BLAS installation"


@dataclass(frozen=True)
class Runtime:
    """What `configure()` left in effect in this process."""

    float_x: str
    linker: str
    cxx: str  # empty: no C++ compiler, PyTensor runs Python code
    compiledir: str
    malloc_tuned: bool
    numpy_blas_threads: int | None  # None: as the process started (OPENBLAS_NUM_THREADS, else all cores)

    @property
    def compiles_c(self) -> bool:
        """Whether new PyTensor functions run compiled C thunks."""
        return bool(self.cxx) and self.linker in _C_LINKERS


# re-entrant: the malloc step imports cvae.nn, whose import calls configure() (returns what is set so far)
_lock = threading.RLock()
_runtime: Runtime | None = None


def configure(*, numpy_blas_threads: int | None = None) -> Runtime:
    """Set this process's runtime (see the module's docstring); idempotent and thread-safe.

    Parameters
    ----------
    numpy_blas_threads
        Limit NumPy's BLAS (the libraries loaded so far) to this many threads; None leaves it.
    """
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = _configure_pytensor()
            _runtime = replace(_runtime, malloc_tuned=_tune_malloc())
        if numpy_blas_threads is not None and numpy_blas_threads != _runtime.numpy_blas_threads:
            import numpy  # noqa: F401 - loads NumPy's OpenBLAS: threadpoolctl limits the libraries already loaded
            from threadpoolctl import threadpool_limits

            threadpool_limits(numpy_blas_threads, user_api="blas")
            _runtime = replace(_runtime, numpy_blas_threads=numpy_blas_threads)
        return _runtime


def ensure_c() -> bool:
    """Put back the C++ compiler PyTensor had at `configure()`, if something cleared it; True if it did.

    PyTensor's `alloc` shape inference runs `config.change_flags(cxx="")` around a rewrite: a
    process-wide flag, saved and restored without a lock. Two threads building graphs at once (a
    Dask worker's warm-up and a fit; two warm-ups, one per replica that registers the worker plugin)
    can each save the other's "", and the process keeps cxx="" for good: every later fit runs
    Python code (seen in deploy/'s worker: a fit at ~5 steps a minute). Fits call this first."""
    import pytensor

    lost = _runtime is not None and bool(_runtime.cxx) and not pytensor.config.cxx
    if lost:
        pytensor.config.cxx = _runtime.cxx
        message = "PyTensor's C++ compiler was cleared by a concurrent graph build: restored"
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    return lost


def _tune_malloc() -> bool:
    from cvae.nn.blas import tune_malloc

    return tune_malloc()


def _configure_pytensor() -> Runtime:
    import pytensor

    config = pytensor.config
    config.floatX = FLOAT
    if config.linker == "auto" and type(config).linker.is_default and config.cxx:
        config.linker = "cvm"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_BLAS_ADVICE)
        config.blas__ldflags  # noqa: B018 - resolved now, quietly: PyTensor would warn at its first compile
    if not config.cxx:
        warnings.warn(
            "PyTensor found no C++ compiler (g++): every fit runs PyTensor's Python code, many times "
            "slower. Install g++ (Debian: apt-get install g++); PYTENSOR_FLAGS=cxx= turns C off on purpose.",
            RuntimeWarning,
            stacklevel=3,
        )
    return Runtime(
        float_x=config.floatX,
        linker=config.linker,
        cxx=config.cxx,
        compiledir=str(config.compiledir),
        malloc_tuned=False,  # the next step's
        numpy_blas_threads=None,
    )
