"""Tests of microgradnn.data: shapes, label conventions, geometry, seeding and errors."""

from __future__ import annotations

import math
import random

import pytest

from microgradnn.data import (
    DATASETS,
    bmi_table,
    make_blobs,
    make_circles,
    make_moons,
    make_regression_1d,
    make_spiral,
    make_xor,
    standardize,
)

TWO_CLASS = [make_moons, make_circles, make_xor, make_spiral, lambda *a, **k: make_blobs(*a, centers=2, **k)]


@pytest.mark.parametrize("make", TWO_CLASS)
def test_two_class_datasets_are_plain_lists_with_plus_minus_one_labels(make):
    X, y = make(60, seed=1)
    assert isinstance(X, list) and isinstance(y, list) and len(X) == len(y) == 60
    assert all(isinstance(row, list) and len(row) == 2 and all(type(v) is float for v in row) for row in X)
    assert set(y) == {-1, 1} and all(type(label) is int for label in y)
    X01, y01 = make(60, seed=1, labels="index")
    assert X01 == X and y01 == [(label + 1) // 2 for label in y]


@pytest.mark.parametrize("make", TWO_CLASS)
def test_seeds_reproduce_and_differ(make):
    assert make(40, seed=3) == make(40, seed=3)
    assert make(40, seed=3) != make(40, seed=4)
    assert make(40, rng=random.Random(3)) == make(40, seed=3)
    random.seed(11)
    first = make(40)
    random.seed(11)
    assert make(40) == first  # no seed: the global random module, as micrograd


def test_moons_lie_on_their_half_circles_without_noise():
    X, y = make_moons(51, noise=0.0, seed=0)
    assert y.count(-1) == 25 and y.count(1) == 26
    for (a, b), label in zip(X, y):
        if label == -1:  # upper moon: (cos t, sin t)
            assert math.hypot(a, b) == pytest.approx(1.0) and b >= -1e-12
        else:  # lower moon: (1 − cos t, 1/2 − sin t)
            assert math.hypot(a - 1.0, b - 0.5) == pytest.approx(1.0) and b <= 0.5 + 1e-12


def test_moons_noise_has_the_requested_spread():
    # distance to the nearer half circle ≈ |normal component of the noise|, mean 0.2·√(2/π) ≈ 0.16
    noisy, _ = make_moons(2000, noise=0.2, seed=5)
    distances = [min(abs(math.hypot(a, b) - 1.0), abs(math.hypot(a - 1.0, b - 0.5) - 1.0)) for a, b in noisy]
    assert 0.1 < sum(distances) / len(distances) < 0.2


def test_circles_have_their_radii_without_noise():
    X, y = make_circles(40, noise=0.0, factor=0.3, seed=0)
    for (a, b), label in zip(X, y):
        assert math.hypot(a, b) == pytest.approx(1.0 if label == -1 else 0.3)


def test_blobs_cluster_around_given_centers_with_index_labels():
    centers = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]
    X, y = make_blobs(301, centers=centers, cluster_std=0.5, seed=2)
    assert sorted(set(y)) == [0, 1, 2] and [y.count(c) for c in range(3)] == [101, 100, 100]
    for c, (cx, cy) in enumerate(centers):
        members = [p for p, label in zip(X, y) if label == c]
        assert sum(p[0] for p in members) / len(members) == pytest.approx(cx, abs=0.2)
        assert sum(p[1] for p in members) / len(members) == pytest.approx(cy, abs=0.2)
        assert all(math.hypot(p[0] - cx, p[1] - cy) < 3.0 for p in members)
    X3, _ = make_blobs(30, centers=4, n_features=3, seed=1)
    assert all(len(p) == 3 for p in X3)


def test_xor_labels_are_the_sign_of_the_product_and_respect_the_margin():
    X, y = make_xor(200, margin=0.2, seed=4)
    for (a, b), label in zip(X, y):
        assert label == (1 if a * b > 0 else -1)
        assert 0.2 <= abs(a) <= 1.0 and 0.2 <= abs(b) <= 1.0
    assert 60 < y.count(1) < 140


def test_spiral_arms():
    X, y = make_spiral(90, classes=3, noise=0.0, seed=0)
    assert sorted(set(y)) == [0, 1, 2] and [y.count(c) for c in range(3)] == [30, 30, 30]
    assert all(0.0 < math.hypot(a, b) <= 1.0 + 1e-12 for a, b in X)
    # without noise each point sits at angle 2π(turns·r + c/k) for its radius r
    for (a, b), c in zip(X, y):
        r = math.hypot(a, b)
        expected = 2 * math.pi * (r + c / 3)
        assert math.cos(math.atan2(b, a) - expected) == pytest.approx(1.0)


def test_regression_sampler_without_noise_is_the_function():
    X, y = make_regression_1d(lambda x: x**3 - x, n_samples=30, low=-2.0, high=1.0, noise=0.0, seed=0)
    xs = [row[0] for row in X]
    assert xs == sorted(xs) and all(-2.0 <= x <= 1.0 for x in xs)
    assert y == [x**3 - x for x in xs]
    _, noisy = make_regression_1d(n_samples=400, noise=0.3, seed=1)
    X2, _ = make_regression_1d(n_samples=400, noise=0.0, seed=1)
    residuals = [a - math.sin(row[0]) for a, row in zip(noisy, X2)]
    assert 0.2 < math.sqrt(sum(r * r for r in residuals) / len(residuals)) < 0.4


def test_the_lecture_notes_bmi_table():
    X, y = bmi_table()
    assert X == [[160.0, 60.0], [170.0, 65.0], [180.0, 70.0], [190.0, 71.0]]
    assert y == [21.0, 22.0, 20.0, 18.0]
    _, computed = bmi_table(computed=True)
    assert computed == pytest.approx([60 / 1.6**2, 65 / 1.7**2, 70 / 1.8**2, 71 / 1.9**2])


def test_standardize():
    X, means, stds = standardize([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    assert means == [3.0, 5.0] and stds[0] == pytest.approx(math.sqrt(8 / 3)) and stds[1] == 1.0
    assert [row[0] for row in X] == pytest.approx([-1.224744871391589, 0.0, 1.224744871391589])
    assert [row[1] for row in X] == [0.0, 0.0, 0.0]


def test_registry_of_the_demos_datasets():
    assert list(DATASETS) == ["moons", "circles", "xor", "spiral"]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: make_moons(1), "n_samples"),
        (lambda: make_moons(10, noise=-0.1), "noise"),
        (lambda: make_moons(10, labels="pm"), r"make_moons\(labels\) must be one of .signed., .index."),
        (lambda: make_moons(10, seed=1, rng=random.Random(1)), "either seed or rng"),
        (lambda: make_moons(10, seed="1"), r"make_moons\(seed\) must be an integer, got str"),
        (lambda: make_circles(10, factor=1.5), "factor"),
        (lambda: make_blobs(10, centers=3, labels="signed"), "exactly 2 classes"),
        (lambda: make_blobs(2, centers=3), "fewer than"),
        (
            lambda: make_blobs(10, centers=[[0, 0], [1]]),
            r"make_blobs\(centers\): row 1 has 1 features, but row 0 has 2",
        ),
        (lambda: make_xor(10, margin=1.0), "margin"),
        (lambda: make_spiral(10, classes=1), "classes"),
        (lambda: make_spiral(10, turns=0), "turns"),
        (lambda: make_regression_1d("sin"), "function"),
        (lambda: make_regression_1d(low=1.0, high=0.0), "low must be below high"),
        (lambda: standardize([]), "empty"),
        (lambda: standardize([[1.0], [1.0, 2.0]]), r"standardize\(X\): row 1 has 2 features"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
