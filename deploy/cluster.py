"""The deployment's Dask cluster: TLS files made for this run, the app's Dask settings, a scheduler and one worker.

The same choices as the app's embedded cluster (`cvae.jobs.local_cluster`): TLS with a key made for
this run, everything on 127.0.0.1, the app's `CLUSTER_CONFIG`; but as the separate `dask scheduler`
and `dask worker` processes a lab would run, so that every web replica is a client of the one scheduler.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml

__all__ = [
    "TlsFiles",
    "dask_config_dir",
    "read_scheduler_file",
    "scheduler_command",
    "worker_command",
    "workers_connected",
    "write_tls",
]

TlsFiles = dict[str, Path]  # "ca", "cert", "key" -> a PEM file


def write_tls(directory: Path) -> TlsFiles:
    """A self-signed key and certificate for every role (scheduler, worker, the replicas), as
    `distributed.security.Security.temporary()` makes them for the embedded cluster, written as files
    readable only by this user: `dask scheduler` and `dask worker` take paths, not PEM text."""
    from distributed.security import Security

    security = Security.temporary()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = {"ca": security.tls_ca_file, "cert": security.tls_client_cert, "key": security.tls_client_key}
    files = {name: directory / f"{name}.pem" for name in pem}
    for name, path in files.items():
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(pem[name])
    return files


def dask_config_dir(directory: Path) -> Path:
    """A Dask config folder (for DASK_CONFIG) holding the app's CLUSTER_CONFIG as YAML: a key with a
    trailing underscore (MALLOC_TRIM_THRESHOLD_) cannot travel as a DASK_* environment variable."""
    from cvae.jobs.cluster import CLUSTER_CONFIG

    nested: dict = {}
    for dotted, value in CLUSTER_CONFIG.items():
        *parents, leaf = dotted.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cvae.yaml").write_text(yaml.safe_dump(nested))
    return directory


def _tls_options(tls: TlsFiles) -> list[str]:
    return ["--tls-ca-file", str(tls["ca"]), "--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"])]


def scheduler_command(tls: TlsFiles, scheduler_file: Path) -> list[str]:
    """`dask scheduler` on a free TLS port of 127.0.0.1, its HTTP routes (health, counts) on another;
    the addresses land in `scheduler_file`. The preload imports the fit task's module, which the
    scheduler needs to unpickle each fit: spent at start, not before a student's first point."""
    return [
        sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
        "--protocol", "tls", *_tls_options(tls), "--dashboard-address", "127.0.0.1:0",
        "--scheduler-file", str(scheduler_file), "--preload", "cvae.jobs.fit_task",
    ]  # fmt: skip


def worker_command(address: str, tls: TlsFiles, local_directory: Path) -> list[str]:
    """One worker process under its nanny, one fit at a time (the app registers its FitWorker plugin
    on connect: priority and warm-up), everything on 127.0.0.1."""
    return [
        sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "1", "--nthreads", "1",
        "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0", *_tls_options(tls),
        "--name", "local", "--local-directory", str(local_directory),
    ]  # fmt: skip


def read_scheduler_file(path: Path) -> tuple[str, str] | None:
    """(the scheduler's address, its HTTP base URL) once the scheduler has written them, else None."""
    try:
        info = json.loads(path.read_text())
        return info["address"], f"http://127.0.0.1:{info['services']['dashboard']}"
    except (OSError, ValueError, KeyError):
        return None


def workers_connected(http_url: str) -> int:
    """How many workers the scheduler knows, from its /json/counts.json route (0 if it does not answer)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{http_url}/json/counts.json", timeout=2) as response:
            return int(json.loads(response.read())["workers"])
    except (urllib.error.URLError, OSError, ValueError, KeyError):
        return 0
