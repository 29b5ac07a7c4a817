"""The Dask cluster every fit runs on: an embedded LocalCluster on 127.0.0.1, or a teacher's scheduler.

The embedded cluster starts with the app (`cvae.jobs.local_cluster`: worker processes, one
fit each at a time, everything bound to 127.0.0.1, TLS with credentials made for that run).
`CVAE_SCHEDULER=tls://host:8786` connects to a teacher's scheduler instead, with the TLS
certificates named in the settings; a tcp:// address needs `CVAE_SCHEDULER_INSECURE=1`, because
a Dask scheduler runs whatever code its clients send.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading

from distributed import Client, WorkerPlugin
from distributed.security import Security

from cvae.settings import Settings, settings

__all__ = ["CLUSTER_CONFIG", "ClusterError", "FitWorker", "connect", "nice_at_least", "security_for", "shutdown"]

CLUSTER_CONFIG = {
    # a worker that dies mid-fit fails its job at once, instead of the fit being rerun on another worker
    "distributed.scheduler.allowed-failures": 0,
    # a worker takes its next fit only when it is free: the queue stays in submission order
    "distributed.scheduler.worker-saturation": 1.0,
    # live events kept per topic on the scheduler (a job's stream): bounded memory
    "distributed.admin.low-level-log-length": 100,
    # the nanny's malloc setting fights the heap tuning the convolutions need (cvae.nn.blas)
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}
WORKER_NICENESS = 5  # a training yields the CPU to the web server's page runs (remote workers; the
# embedded cluster's launcher lowers its own priority, and its workers inherit it)
CONNECT_TIMEOUT_S = 10


class ClusterError(RuntimeError):
    """The cluster cannot be started or reached; the message says what to check."""


class FitWorker(WorkerPlugin):
    """Runs in every worker when it starts: lower priority, and a warm compile cache and imports
    (in a thread, so the worker's event loop keeps answering) before the first fit arrives."""

    name = "cvae-fit-worker"

    def setup(self, worker) -> None:
        nice_at_least(WORKER_NICENESS)
        threading.Thread(target=_warm_worker, name="cvae-warm", daemon=True).start()


def nice_at_least(level: int) -> None:
    """Lower the calling thread (and the threads it starts) to nice `level`, unless it is there already.

    Not `os.nice(level)`, which adds: the embedded cluster's launcher is at 5 already, and its
    workers' fits ran at 10, so any busy process at 0 (a browser on the same machine, another
    user's job) took ~10 times their CPU share: measured, bench/inapp_training.py."""
    with contextlib.suppress(OSError):  # not permitted here: the worker still runs, at its priority
        if os.getpriority(os.PRIO_PROCESS, 0) < level:
            os.setpriority(os.PRIO_PROCESS, 0, level)


def _warm_worker() -> None:
    from cvae.jobs import fit_task

    # This thread only (Linux schedules threads): the warm-up takes CPU time no one else wants, so a
    # fresh server's first visitors (the page runs and their browsers, on the same cores) never wait on it.
    # A fit that arrives meanwhile raises it back (fit_task.run_fit): then someone is waiting on it.
    with contextlib.suppress(AttributeError, OSError):  # no SCHED_IDLE (not Linux): it warms at the worker's priority
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    fit_task.warm_worker()


def security_for(config: Settings) -> Security | None:
    """TLS credentials for a remote scheduler from the settings; None for a trusted tcp:// one."""
    address = config.scheduler or ""
    if address.startswith("tls://"):
        missing = [
            name
            for name, path in (
                ("CVAE_TLS_CA", config.tls_ca),
                ("CVAE_TLS_CERT", config.tls_cert),
                ("CVAE_TLS_KEY", config.tls_key),
            )
            if path is None
        ]
        if missing:
            raise ClusterError(f"a tls:// scheduler needs {', '.join(missing)} (certificate paths)")
        for path in (config.tls_ca, config.tls_cert, config.tls_key):
            if not path.is_file():
                raise ClusterError(f"TLS file {path} does not exist")
        return Security(
            tls_ca_file=str(config.tls_ca),
            tls_client_cert=str(config.tls_cert),
            tls_client_key=str(config.tls_key),
            require_encryption=True,
        )
    if address.startswith("tcp://") and not config.scheduler_insecure:
        raise ClusterError(
            f"refusing the unencrypted scheduler {address}: a Dask scheduler runs any code its "
            "clients send, so use tls:// with certificates, or set CVAE_SCHEDULER_INSECURE=1 "
            "only on a network no student can reach"
        )
    if not address.startswith(("tls://", "tcp://")):
        raise ClusterError(f"CVAE_SCHEDULER must start with tls:// or tcp://; got {address!r}")
    return None


def connect(config: Settings | None = None, *, workers: int | None = None) -> Client:
    """A client of the teacher's scheduler (CVAE_SCHEDULER) or of a new embedded cluster."""
    config = config or settings()
    if config.scheduler:
        security = security_for(config)
        try:
            client = Client(config.scheduler, security=security, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {config.scheduler}: {err}. Is it running, "
                "and can this machine reach it? (The README's 'A lab of machines' has the commands.)"
            ) from err
    else:
        client = _embedded(workers or config.workers)
    client.register_plugin(FitWorker())
    return client


def shutdown(client: Client) -> None:
    """Close `client`, and the embedded cluster if it started one (a teacher's scheduler keeps running)."""
    launcher = _launchers.pop(id(client), None)
    client.close()
    if launcher is not None:
        launcher.stdin.close()  # the launcher's signal to close the cluster
        try:
            launcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            launcher.kill()


_launchers: dict[int, subprocess.Popen] = {}


def _embedded(n_workers: int) -> Client:
    """Start `cvae.jobs.local_cluster` (see there why in its own process) and connect to it."""
    launcher = subprocess.Popen(
        [sys.executable, "-m", "cvae.jobs.local_cluster", "--workers", str(n_workers)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = launcher.stdout.readline()  # one JSON line once the cluster is up; EOF if it failed
    try:
        started = json.loads(line)
    except ValueError:
        launcher.kill()
        raise ClusterError(f"the embedded Dask cluster did not start (exit code {launcher.wait()})") from None
    security = Security(
        tls_ca_file=started["ca"],
        tls_client_cert=started["cert"],
        tls_client_key=started["key"],
        require_encryption=True,
    )
    client = Client(started["address"], security=security, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    _launchers[id(client)] = launcher
    return client
