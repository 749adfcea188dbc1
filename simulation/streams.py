"""Random streams keyed by what they decide, so that runs repeat and scenarios share their luck.

Every draw of the simulator comes from a stream of its own, named by the run's seed, the day, the
purpose and the entity it is about (a pickup point's code, a resident, a supplier's product): the
same seed gives the same draws whatever else changes. A bigger fleet does not reshuffle which
residents fail to come, and a different purchasing policy does not change the traffic: two
scenarios run on one seed differ by their policies alone (common random numbers), and a run
repeats exactly, whatever order the database returns rows in.
"""
import hashlib
import random
from datetime import date

import numpy as np


def _key(seed: int, day: date | None, purpose: str, entity: tuple) -> int:
    text = repr((seed, day.isoformat() if day else None, purpose, entity))
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def stream(seed: int, day: date | None, purpose: str, *entity) -> random.Random:
    """Python's generator for one (seed, day, purpose, entity); ``day`` None for the city itself."""
    return random.Random(_key(seed, day, purpose, entity))


def array_stream(seed: int, day: date | None, purpose: str, *entity) -> np.random.Generator:
    """NumPy's generator for one (seed, day, purpose, entity), for vectorised draws."""
    return np.random.default_rng(_key(seed, day, purpose, entity))
