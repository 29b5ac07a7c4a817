"""Neural-network building blocks in PyTensor: layers, the architectures, and the fast Ops under them.

Importing this sets PyTensor's floatX; the private BLAS, the Winograd kernels and the thread
pool behind the Ops load on first use (`cvae.nn.blas`, `cvae.nn.conv_kernels`).
"""

import warnings

with warnings.catch_warnings():
    # a pip-installed PyTensor links no BLAS and says so; our Ops bring their own (cvae.nn.blas)
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS installation")
    import pytensor

pytensor.config.floatX = "float32"  # unavoidable global: PyMC's updates need float32 shared variables to match
# The C virtual machine on every PyTensor: "auto" is that on 2.x but Numba on 3.x, which compiles for ~23 s
# on every new fit and runs our Ops in object mode. A linker or mode set in PYTENSOR_FLAGS is left alone.
if pytensor.config.linker == "auto" and type(pytensor.config).linker.is_default and pytensor.config.cxx:
    pytensor.config.linker = "cvm"
FLOAT = "float32"

__all__ = ["FLOAT"]
