"""One way to derive a seed from others: a run's per-test seeds, a batch's per-submission seeds,
an nbgrader course's per-student seeds.

``derive(bits, *parts)`` hashes the parts joined by ``:`` with SHA-256 and keeps the low ``bits``
bits of the first 8 bytes read little-endian. Seeds that look alike give unrelated results, and
the same parts always give the same seed, on every machine and Python.
"""

from __future__ import annotations

import hashlib

__all__ = ["derive"]


def derive(bits: int, *parts: object) -> int:
    """A seed in ``[0, 2**bits)`` fixed by ``parts`` (``bits`` from 1 to 64)."""
    if not 1 <= bits <= 64:
        raise ValueError(f"bits={bits}: a derived seed has 1 to 64 bits")
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**bits - 1)
