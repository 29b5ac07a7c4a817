"""The app's embedded Dask cluster, in a process of its own: `python -m cvae.jobs.local_cluster`.

Why a separate process: the worker processes are spawned, and a spawned child imports its
parent's `__main__`, which inside a Streamlit server is the page script being run (it would
start the app again); apart, the scheduler's work does not share the web server's GIL either.
The launcher prints one JSON line (the scheduler's address and the TLS credentials it made for
this run, so no other local user can submit code to it), then keeps the cluster until its stdin
closes: when the app exits, however it exits, the cluster goes with it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

__all__ = ["main"]

NICENESS = 5  # the whole cluster yields the CPU to the web server's page runs, never the other way round


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cvae.jobs.local_cluster")
    parser.add_argument("--workers", type=int, required=True)
    args = parser.parse_args(argv)

    import dask
    from distributed import LocalCluster
    from distributed.security import Security

    from cvae.jobs.cluster import CLUSTER_CONFIG, nice_at_least

    nice_at_least(NICENESS)  # inherited by the scheduler's threads, the nannies and every worker
    security = Security.temporary()  # certificates for this run only, never written to disk
    with dask.config.set(CLUSTER_CONFIG):
        # dashboard_address: the scheduler's HTTP routes (health, info) on a free port of 127.0.0.1
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            security=security,
            protocol="tls://",
            silence_logs=logging.WARNING,
        )
    credentials = {
        "address": cluster.scheduler_address,
        "ca": security.tls_ca_file,
        "cert": security.tls_client_cert,
        "key": security.tls_client_key,
    }
    # The scheduler unpickles each submitted fit, which imports its module: ~2 s the first time,
    # spent now, before the app is told the cluster is ready, instead of before a student's first point.
    import cvae.jobs.fit_task  # noqa: F401

    try:
        sys.stdout.write(json.dumps(credentials) + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # returns at EOF: the app closed its end, or died
    except BrokenPipeError:  # the app exited before reading the address: nothing to serve
        pass
    finally:
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
