"""cvae/ (and ui/ helpers) in this process: NumPy, PyTensor, short real PyMC fits; no server, cluster or database."""
