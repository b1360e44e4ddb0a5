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
from numbers import Integral
from typing import Any

from microgradnn._seeding import random_source
from microgradnn.checks import (
    as_list,
    as_matrix,
    check_bool,
    check_callable,
    check_choice,
    check_int,
    check_real,
    describe,
    is_array,
)

__all__ = [
    "DATASETS",
    "bmi_table",
    "load_digits",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_regression_1d",
    "make_spiral",
    "make_xor",
    "standardize",
]

Dataset = tuple[list[list[float]], list]


#: The most samples (and, for `make_blobs`, numbers in X) a generator makes: beyond this a
#: typo such as ``10**9`` would fill the memory for minutes before failing.
MAX_SIZE = 10_000_000


def _count(n: object, what: str, minimum: int = 1) -> int:
    return check_int(what, n, lo=minimum, hi=MAX_SIZE)


def _nonneg(x: object, what: str) -> float:
    return check_real(what, x, lo=0.0)


def _label_map(labels: str | None, classes: int, what: str) -> Callable[[int], int]:
    """How class c (0..classes−1) is written in y."""
    if labels is None:
        labels = "signed" if classes == 2 else "index"
    check_choice(f"{what}(labels)", labels, ("signed", "index"))
    if labels == "index":
        return lambda c: c
    if labels == "signed":
        if classes != 2:
            raise ValueError(f"{what}: labels='signed' (−1/+1) needs exactly 2 classes, got {classes}")
        return lambda c: 2 * c - 1
    raise AssertionError(labels)  # unreachable: check_choice allows only the two above


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
    factor = check_real("make_circles(factor)", factor, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
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
    if isinstance(centers, Integral) and not isinstance(centers, bool):
        k = _count(centers, "make_blobs(centers)", 2)
        d = _count(n_features, "make_blobs(n_features)")
        if n * d > MAX_SIZE:
            raise ValueError(
                f"make_blobs(n_samples) × make_blobs(n_features) = {n} × {d} is more than {MAX_SIZE} numbers"
            )
        box = as_list("make_blobs(center_box)", center_box, "a pair (low, high)")
        if len(box) != 2:
            raise ValueError(f"make_blobs(center_box) must be a pair (low, high), got {len(box)} numbers")
        low = check_real("make_blobs(center_box[0])", box[0])
        high = check_real("make_blobs(center_box[1])", box[1])
        if not low < high:
            raise ValueError(f"make_blobs(center_box) must have low < high, got ({low!r}, {high!r})")
        centre_points = [[source.uniform(low, high) for _ in range(d)] for _ in range(k)]
    else:
        a_list = isinstance(centers, Sequence) or (is_array(centers) and getattr(centers, "ndim", 0) > 0)
        if isinstance(centers, (str, bytes)) or not a_list:
            raise TypeError(
                f"make_blobs(centers) must be a count or a list of center points, got {describe(centers)}"
            )
        centre_points = as_matrix("make_blobs(centers)", centers)
        k = len(centre_points)
        if k < 2:
            raise ValueError(f"make_blobs(centers): give at least 2 centers, got {k}")
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
    margin = check_real("make_xor(margin)", margin, lo=0.0, hi=1.0, hi_open=True)
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
    turns = check_real("make_spiral(turns)", turns, lo=0.0, hi=10.0, lo_open=True)
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
    check_callable("make_regression_1d(f)", f, "a function of one float")
    n = _count(n_samples, "make_regression_1d(n_samples)")
    noise = _nonneg(noise, "make_regression_1d(noise)")
    low = check_real("make_regression_1d(low)", low)
    high = check_real("make_regression_1d(high)", high)
    if not low < high:
        raise ValueError(f"make_regression_1d: low must be below high, got low={low!r}, high={high!r}")
    source = random_source(seed, rng, "make_regression_1d")
    xs = sorted(source.uniform(low, high) for _ in range(n))
    ys = []
    for x in xs:
        # f is the user's: a NaN or a string from it would otherwise surface only in training
        ys.append(check_real(f"make_regression_1d(f): f({x!r})", f(x)) + source.gauss(0.0, noise))
    return [[x] for x in xs], ys


# The table from the lecture notes (../shared/seeds/): height in cm, weight in kg, and the BMI
# as the notes print it (which differs from weight/height² by up to 2.4).
_BMI_NOTES = [(160.0, 60.0, 21.0), (170.0, 65.0, 22.0), (180.0, 70.0, 20.0), (190.0, 71.0, 18.0)]


def bmi_table(computed: bool = False) -> tuple[list[list[float]], list[float]]:
    """The lecture notes' four rows: X = [height (cm), weight (kg)], y = BMI as printed there.

    With ``computed=True``, y is the actual body-mass index weight/(height/100)² instead. The
    inputs are in the hundreds: `standardize` them before training.
    """
    computed = check_bool("bmi_table(computed)", computed)
    X = [[h, w] for h, w, _ in _BMI_NOTES]
    if computed:
        return X, [w / (h / 100.0) ** 2 for h, w, _ in _BMI_NOTES]
    return X, [b for _, _, b in _BMI_NOTES]


def standardize(
    X: Sequence[Sequence[float]],
) -> tuple[list[list[float]], list[float], list[float]]:
    """Scale each column to mean 0 and standard deviation 1: x' = (x − mean)/std.

    Returns ``(scaled X, means, stds)``; a constant column keeps std 1 (it becomes all 0).
    Apply the same means and stds to new inputs. ``X``: a list of samples or a 2-D numpy array.
    """
    X = as_matrix("standardize(X)", X)
    d = len(X[0])
    n = len(X)
    means = [math.fsum(row[j] for row in X) / n for j in range(d)]
    stds = []
    for j in range(d):
        var = math.fsum((row[j] - means[j]) ** 2 for row in X) / n
        stds.append(math.sqrt(var) if var > 0.0 else 1.0)
    return [[(row[j] - means[j]) / stds[j] for j in range(d)] for row in X], means, stds


def load_digits(*, seed: int | None = None, rng: random.Random | None = None) -> Dataset:
    """Handwritten digits: scikit-learn's bundled 1,797 images of 8×8 pixels (no download).

    ``X``: 64 pixel intensities per image, scaled from 0..16 to [0, 1], row by row; ``y``: the
    digit 0..9 (class indices, for `cross_entropy`). With ``seed`` (or ``rng``) the samples are
    shuffled, so that a slice of them is a fair held-out set; otherwise in scikit-learn's order.
    Needs the ``digits`` extra: ``pip install 'microgradnn[digits]'``.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise ImportError(
            "load_digits needs scikit-learn (it ships the images): pip install 'microgradnn[digits]'"
        ) from None
    bunch: Any = sklearn_digits()  # a Bunch (its type depends on return_X_y)
    X = (bunch.data / 16.0).tolist()
    y = [int(t) for t in bunch.target]
    if seed is None and rng is None:
        return X, y
    return _shuffled(X, y, random_source(seed, rng, "load_digits"))


#: The two-class 2-D datasets by name (as ``microgradnn demo --dataset`` takes them).
DATASETS: dict[str, Callable[..., Dataset]] = {
    "moons": make_moons,
    "circles": make_circles,
    "xor": make_xor,
    "spiral": make_spiral,
}
