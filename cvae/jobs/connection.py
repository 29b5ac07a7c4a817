"""The one Dask client of a process's job registry: connected on first use, in the background at
start, replaced when it gave up on a restarted scheduler, and not retried for RETRY_S after a failure."""

from __future__ import annotations

import contextlib
import threading
import time

from cvae.jobs import cluster

__all__ = ["RETRY_S", "Connection"]

RETRY_S = 15.0  # seconds before an unreachable cluster is tried again


class Connection:
    def __init__(self, connect=cluster.connect):
        self._connect, self._client = connect, None
        self._failure: tuple[float, cluster.ClusterError | None] = (0.0, None)
        self._lock = threading.Lock()

    @property
    def client(self):
        """The Dask client; raises ClusterError with a clear message. A failure is remembered for
        RETRY_S: pages ask on every run, and must not each wait out a connection timeout while the
        scheduler is down."""
        with self._lock:
            if self._client is not None and self._client.status in ("closed", "closing"):
                self._client = None
            if self._client is None:
                failed_at, error = self._failure
                if error is not None and time.monotonic() - failed_at < RETRY_S:
                    raise error
                try:
                    self._client = self._connect()
                except cluster.ClusterError as err:
                    self._failure = (time.monotonic(), err)
                    raise
            return self._client

    def current(self):
        """The client if one is connected and running now, else None (never connects)."""
        client = self._client
        return client if client is not None and client.status == "running" else None

    def try_client(self):
        """The client, or None where the cluster cannot be reached just now."""
        with contextlib.suppress(cluster.ClusterError):
            return self.client
        return None

    def connect_in_background(self) -> None:
        """Start (or reach) the cluster on a thread of its own: the first page need not wait for it,
        and the workers warm up while the class is still reading the Home page."""
        threading.Thread(target=self.try_client, name="cvae-cluster-connect", daemon=True).start()
