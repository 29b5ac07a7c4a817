"""Helpers the tests import (not tests): crash injection, byte fuzzing, NumPy references."""
