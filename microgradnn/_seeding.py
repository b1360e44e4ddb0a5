"""The one rule for seeds shared by `nn` (initial weights) and `data` (datasets)."""

from __future__ import annotations

import random
from typing import Any

from microgradnn.checks import check_int


def random_source(seed: int | None, rng: random.Random | None, what: str) -> Any:
    """The random source: ``rng`` if given, a new ``Random(seed)`` if a seed is given, else the
    global ``random`` module (so ``random.seed(...)`` works as it does with micrograd)."""
    if seed is not None and rng is not None:
        raise ValueError(f"{what}: give either seed or rng, not both")
    if rng is not None:
        if not hasattr(rng, "uniform"):
            raise TypeError(f"{what}: rng must be a random.Random, got {type(rng).__name__}")
        return rng
    if seed is not None:
        return random.Random(check_int(f"{what}(seed)", seed))
    return random
