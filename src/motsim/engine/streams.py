"""Random streams keyed by what they are for, never by who computes them.

A stream is keyed by (seed, variant key, replication, purpose...). Variants of a comparison
share variant key 0, so customer i meets moment j's k-th occurrence with the same random
numbers in every variant (common random numbers); `independent=True` in a comparison gives
each variant a key of its own. Worker count and order never enter a key, so results are
identical on 1 worker, N workers or a cluster.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

BLOCK = 4096  # customers per random stream block: streams keyed by block never depend on how many run together


def _word(part: int | str) -> int:
    return part if isinstance(part, int) else zlib.crc32(part.encode("utf-8"))


@dataclass(frozen=True)
class Streams:
    """Random streams keyed by (seed, variant, replication, purpose): the same keys give the same numbers."""

    seed: int
    variant_key: int
    replication: int
    prefix: tuple[int | str, ...] = ()  # a vintage of an open population: its own customers' streams

    def generator(self, *purpose: int | str) -> np.random.Generator:
        """An independent generator for one purpose of this replication."""
        key = (self.variant_key, self.replication, *(_word(p) for p in (*self.prefix, *purpose)))
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=key)))

    def within(self, *prefix: int | str) -> Streams:
        """The streams of a part of the replication (a vintage): the same purposes, keyed apart."""
        return Streams(self.seed, self.variant_key, self.replication, (*self.prefix, *prefix))
