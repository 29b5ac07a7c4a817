"""A shared hypothesis strategy: valid files mutated the way corrupt downloads and hostile uploads are."""

from hypothesis import strategies as st

__all__ = ["mutated_bytes"]


@st.composite
def mutated_bytes(draw, seeds, *, max_ops: int, chunk: int, extremes: list[bytes]) -> bytes:
    """One of `seeds` with 1..max_ops bit flips, byte sets, truncations, insertions or deletions of
    up to `chunk` bytes, or a 4-byte word (a size or length field) set to one of `extremes`."""
    data = bytearray(draw(seeds))
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "int32"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=chunk))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, chunk))]
        elif op == "int32":
            data[pos : pos + 4] = draw(st.sampled_from(extremes))
    return bytes(data)
