"""Small toy datasets in pure Python, seeded, as plain lists (no NumPy, no scikit-learn).

Every generator returns ``(X, y)``: ``X`` a list of samples, each a list of floats, and ``y``
a list of labels (classification) or floats (regression).

Label convention (the ``labels`` argument): with two classes the labels are −1/+1 by default
(``labels='signed'``, as micrograd's demo and the hinge loss use); with more classes they are
class indices 0..k−1 (``labels='index'``, as `cross_entropy` uses). ``labels='index'`` gives
0/1 for two classes too.

Randomness: ``seed`` (an int) makes the data reproducible; a ``random.Random`` may be passed
as ``rng`` instead; with neither, the global ``random`` module is used.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

from microgradnn._seeding import random_source

__all__ = [
    "DATASETS",
    "bmi_table",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_regression_1d",
    "make_spiral",
    "make_xor",
    "standardize",
]

Dataset = tuple[list[list[float]], list]


def _count(n: object, what: str, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {n!r}")
    return n


def _nonneg(x: object, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, Real) or not 0.0 <= float(x) < math.inf:
        raise ValueError(f"{what} must be a finite number >= 0, got {x!r}")
    return float(x)


def _label_map(labels: str | None, classes: int, what: str) -> Callable[[int], int]:
    """How class c (0..classes−1) is written in y."""
    if labels is None:
        labels = "signed" if classes == 2 else "index"
    if labels == "index":
        return lambda c: c
    if labels == "signed":
        if classes != 2:
            raise ValueError(f"{what}: labels='signed' (−1/+1) needs exactly 2 classes, got {classes}")
        return lambda c: 2 * c - 1
    raise ValueError(f"{what}: labels must be 'signed' (−1/+1) or 'index' (0..k−1), got {labels!r}")


def _shuffled(points: list[list[float]], classes: list, rng: Any) -> Dataset:
    order = list(range(len(points)))
    rng.shuffle(order)
    return [points[i] for i in order], [classes[i] for i in order]


def make_moons(
    n_samples: int = 100,
    noise: float = 0.1,
    *,
    seed: int | None = None,
    rng: random.Random | None = None,
    labels: str | None = None,
) -> Dataset:
    """Two interleaving half circles: the upper moon (cos t, sin t), t ∈ [0, π], is class −1,
    the lower one (1 − cos t, ½ − sin t) class +1; Gaussian noise of std ``noise`` is added to
    both coordinates. Samples are shuffled."""
    n = _count(n_samples, "make_moons(n_samples)", 2)
    noise = _nonneg(noise, "make_moons(noise)")
    label = _label_map(labels, 2, "make_moons")
    source = random_source(seed, rng, "make_moons")
    n_upper = n // 2
    points, classes = [], []
    for c, count in ((0, n_upper), (1, n - n_upper)):
        for i in range(count):
            t = math.pi * i / (count - 1) if count > 1 else 0.0
            if c == 0:
                x, y = math.cos(t), math.sin(t)
            else:
                x, y = 1.0 - math.cos(t), 0.5 - math.sin(t)
            points.append([x + source.gauss(0.0, noise), y + source.gauss(0.0, noise)])
            classes.append(label(c))
    return _shuffled(points, classes, source)


def make_circles(
    n_samples: int = 100,
    noise: float = 0.05,
    factor: float = 0.5,
    *,
    seed: int | None = None,
    rng: random.Random | None = None,
    labels: str | None = None,
) -> Dataset:
    """Two concentric circles: radius 1 is class −1, radius ``factor`` (< 1) class +1; points
    evenly spaced in angle, with Gaussian noise of std ``noise``. Samples are shuffled."""
    n = _count(n_samples, "make_circles(n_samples)", 2)
    noise = _nonneg(noise, "make_circles(noise)")
    if isinstance(factor, bool) or not isinstance(factor, Real) or not 0.0 < factor < 1.0:
        raise ValueError(f"make_circles(factor) must be between 0 and 1 (inner radius), got {factor!r}")
    label = _label_map(labels, 2, "make_circles")
    source = random_source(seed, rng, "make_circles")
    n_outer = n // 2
    points, classes = [], []
    for c, count, radius in ((0, n_outer, 1.0), (1, n - n_outer, float(factor))):
        for i in range(count):
            t = 2.0 * math.pi * i / count
            x, y = radius * math.cos(t), radius * math.sin(t)
            points.append([x + source.gauss(0.0, noise), y + source.gauss(0.0, noise)])
            classes.append(label(c))
    return _shuffled(points, classes, source)


def make_blobs(
    n_samples: int = 100,
    centers: int | Sequence[Sequence[float]] = 3,
    n_features: int = 2,
    cluster_std: float = 1.0,
    center_box: tuple[float, float] = (-5.0, 5.0),
    *,
    seed: int | None = None,
    rng: random.Random | None = None,
    labels: str | None = None,
) -> Dataset:
    """Gaussian blobs: ``centers`` clusters (a count, drawn uniformly in ``center_box``, or the
    center coordinates themselves), each isotropic with std ``cluster_std``; cluster i is
    class i. Samples are shuffled."""
    n = _count(n_samples, "make_blobs(n_samples)")
    std = _nonneg(cluster_std, "make_blobs(cluster_std)")
    source = random_source(seed, rng, "make_blobs")
    if isinstance(centers, int):  # True and False too, refused by _count
        k = _count(centers, "make_blobs(centers)", 2)
        d = _count(n_features, "make_blobs(n_features)")
        low, high = center_box
        centre_points = [[source.uniform(low, high) for _ in range(d)] for _ in range(k)]
    else:
        centre_points = [[float(v) for v in c] for c in centers]
        k = len(centre_points)
        if k < 2 or len({len(c) for c in centre_points}) != 1 or not centre_points[0]:
            raise ValueError(
                "make_blobs(centers): give at least 2 centers, all with the same number of coordinates"
            )
    if n < k:
        raise ValueError(f"make_blobs: n_samples={n} is fewer than the {k} centers")
    label = _label_map(labels, k, "make_blobs")
    points, classes = [], []
    for c, centre in enumerate(centre_points):
        count = n // k + (1 if c < n % k else 0)
        for _ in range(count):
            points.append([m + source.gauss(0.0, std) for m in centre])
            classes.append(label(c))
    return _shuffled(points, classes, source)


def make_xor(
    n_samples: int = 100,
    noise: float = 0.0,
    margin: float = 0.1,
    *,
    seed: int | None = None,
    rng: random.Random | None = None,
    labels: str | None = None,
) -> Dataset:
    """The XOR problem: points uniform in the square [−1, 1]², at least ``margin`` away from
    both axes; class +1 where x·y > 0 (first and third quadrants), −1 elsewhere. Gaussian noise
    of std ``noise`` is added after labelling."""
    n = _count(n_samples, "make_xor(n_samples)")
    noise = _nonneg(noise, "make_xor(noise)")
    if isinstance(margin, bool) or not isinstance(margin, Real) or not 0.0 <= margin < 1.0:
        raise ValueError(f"make_xor(margin) must be in [0, 1), got {margin!r}")
    label = _label_map(labels, 2, "make_xor")
    source = random_source(seed, rng, "make_xor")
    points, classes = [], []
    for _ in range(n):
        # |coordinate| uniform in [margin, 1], sign uniform
        x = math.copysign(source.uniform(margin, 1.0), source.random() - 0.5)
        y = math.copysign(source.uniform(margin, 1.0), source.random() - 0.5)
        classes.append(label(1 if x * y > 0 else 0))
        points.append([x + source.gauss(0.0, noise), y + source.gauss(0.0, noise)] if noise else [x, y])
    return points, classes


def make_spiral(
    n_samples: int = 100,
    classes: int = 2,
    noise: float = 0.1,
    turns: float = 1.0,
    *,
    seed: int | None = None,
    rng: random.Random | None = None,
    labels: str | None = None,
) -> Dataset:
    """Interleaved spiral arms, one per class: along arm c the radius r grows from 0 to 1 while
    the angle is 2π(turns·r + c/classes) plus Gaussian noise of std ``noise`` (radians).
    Samples are shuffled."""
    n = _count(n_samples, "make_spiral(n_samples)")
    k = _count(classes, "make_spiral(classes)", 2)
    noise = _nonneg(noise, "make_spiral(noise)")
    if isinstance(turns, bool) or not isinstance(turns, Real) or not 0.0 < turns <= 10.0:
        raise ValueError(f"make_spiral(turns) must be in (0, 10], got {turns!r}")
    if n < k:
        raise ValueError(f"make_spiral: n_samples={n} is fewer than the {k} classes")
    label = _label_map(labels, k, "make_spiral")
    source = random_source(seed, rng, "make_spiral")
    points, ys = [], []
    for c in range(k):
        count = n // k + (1 if c < n % k else 0)
        for i in range(count):
            r = (i + 1) / count
            angle = 2.0 * math.pi * (turns * r + c / k) + source.gauss(0.0, noise)
            points.append([r * math.cos(angle), r * math.sin(angle)])
            ys.append(label(c))
    return _shuffled(points, ys, source)


def make_regression_1d(
    f: Callable[[float], float] = math.sin,
    n_samples: int = 50,
    low: float = -3.0,
    high: float = 3.0,
    noise: float = 0.1,
    *,
    seed: int | None = None,
    rng: random.Random | None = None,
) -> tuple[list[list[float]], list[float]]:
    """Samples of y = f(x) + ε: x uniform in [low, high] (returned in increasing order, each as a
    one-element list), ε Gaussian with std ``noise``."""
    if not callable(f):
        raise TypeError(f"make_regression_1d(f) must be a function of one float, got {type(f).__name__}")
    n = _count(n_samples, "make_regression_1d(n_samples)")
    noise = _nonneg(noise, "make_regression_1d(noise)")
    if not (isinstance(low, Real) and isinstance(high, Real) and math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"make_regression_1d: low and high must be finite numbers, got {low!r}, {high!r}")
    if not low < high:
        raise ValueError(f"make_regression_1d: low must be below high, got low={low!r}, high={high!r}")
    source = random_source(seed, rng, "make_regression_1d")
    xs = sorted(source.uniform(low, high) for _ in range(n))
    return [[x] for x in xs], [float(f(x)) + source.gauss(0.0, noise) for x in xs]


# The table from the lecture notes (../shared/seeds/): height in cm, weight in kg, and the BMI
# as the notes print it (which differs from weight/height² by up to 2.4).
_BMI_NOTES = [(160.0, 60.0, 21.0), (170.0, 65.0, 22.0), (180.0, 70.0, 20.0), (190.0, 71.0, 18.0)]


def bmi_table(computed: bool = False) -> tuple[list[list[float]], list[float]]:
    """The lecture notes' four rows: X = [height (cm), weight (kg)], y = BMI as printed there.

    With ``computed=True``, y is the actual body-mass index weight/(height/100)² instead. The
    inputs are in the hundreds: `standardize` them before training.
    """
    X = [[h, w] for h, w, _ in _BMI_NOTES]
    if computed:
        return X, [w / (h / 100.0) ** 2 for h, w, _ in _BMI_NOTES]
    return X, [b for _, _, b in _BMI_NOTES]


def standardize(
    X: Sequence[Sequence[float]],
) -> tuple[list[list[float]], list[float], list[float]]:
    """Scale each column to mean 0 and standard deviation 1: x' = (x − mean)/std.

    Returns ``(scaled X, means, stds)``; a constant column keeps std 1 (it becomes all 0).
    Apply the same means and stds to new inputs.
    """
    if not X:
        raise ValueError("standardize: X is empty")
    d = len(X[0])
    if any(len(row) != d for row in X):
        raise ValueError("standardize: every sample must have the same number of features")
    n = len(X)
    means = [math.fsum(row[j] for row in X) / n for j in range(d)]
    stds = []
    for j in range(d):
        var = math.fsum((row[j] - means[j]) ** 2 for row in X) / n
        stds.append(math.sqrt(var) if var > 0.0 else 1.0)
    return [[(row[j] - means[j]) / stds[j] for j in range(d)] for row in X], means, stds


#: The two-class 2-D datasets by name (as ``microgradnn demo --dataset`` takes them).
DATASETS: dict[str, Callable[..., Dataset]] = {
    "moons": make_moons,
    "circles": make_circles,
    "xor": make_xor,
    "spiral": make_spiral,
}
