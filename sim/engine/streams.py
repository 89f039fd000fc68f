"""One independent random stream per random source.

Each stream is derived from (root seed, replication, stream name) with
:class:`numpy.random.SeedSequence`, so adding or removing a stream never
shifts the numbers of another, and two scenarios run with the same seed see
the same numbers replication by replication (common random numbers).
The global ``random`` / ``np.random`` state is never used.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["Streams", "Draws"]


class Streams:
    """Factory of named generators for one replication."""

    def __init__(self, seed: int, replication: int):
        self.seed = int(seed)
        self.replication = int(replication)

    def rng(self, name: str) -> np.random.Generator:
        """The generator of stream ``name`` (same name → same numbers)."""
        key = (self.replication, zlib.crc32(name.encode("utf-8")))
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=key)))


class Draws:
    """An endless supply of Python floats, drawn from numpy in blocks.

    ``fill(n)`` must return ``n`` numbers; one call of the instance returns the
    next one. Drawing in blocks keeps the per-contact cost to a list iteration.
    """

    __slots__ = ("_fill", "_block", "_it")

    def __init__(self, fill, block: int = 8192):
        self._fill = fill
        self._block = block
        self._it = iter(())

    def __call__(self) -> float:
        try:
            return next(self._it)
        except StopIteration:
            self._it = iter(self._fill(self._block).tolist())
            return next(self._it)
