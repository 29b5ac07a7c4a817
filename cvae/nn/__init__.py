"""Neural-network building blocks in PyTensor: layers, the architectures, and the fast Ops under them.

Importing this sets up the process's runtime (`cvae.runtime.configure`: PyTensor's floatX and
linker, glibc's heap), which the entry points also do first; the private BLAS, the Winograd
kernels and the thread pool behind the Ops load on first use (`cvae.nn.blas`, `cvae.nn.conv_kernels`).
"""

from cvae.runtime import FLOAT, configure

configure()  # a notebook (no entry point) gets what the command line, the server and the workers get

__all__ = ["FLOAT"]
