"""PyTensor settings every module relies on: float32 end to end."""
import pytensor

__all__ = ["FLOAT"]

pytensor.config.floatX = "float32"
FLOAT = "float32"
