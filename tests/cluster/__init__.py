"""Real Dask clusters: jobs fitted on worker processes, the embedded and a teacher's scheduler, the registry."""
