"""Serving a department from one machine: `deploy/run-local.sh PORT [REPLICAS]` (`deploy.local`) starts
PostgreSQL, a Dask scheduler and worker, the app's replicas and HAProxy in front of them, all on 127.0.0.1."""
