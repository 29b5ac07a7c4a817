"""Training jobs on a Dask cluster: the cluster (embedded or a teacher's scheduler), the fit task a
worker runs, its live event stream, the job registry and its records, CLI batches and sweeps.

The only package that imports `distributed`."""
