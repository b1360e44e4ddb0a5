"""Hostile input: every public function, given a malformed argument, fails at once with a
TypeError or ValueError (or a documented subclass) whose message names that argument.

Three parts: hypothesis drawing bad values per argument kind for every public function; the
calls named in issue #12, one by one; numpy arrays giving exactly what lists give.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microgradnn import (
    MLP,
    Layer,
    Neuron,
    Value,
    dot,
    draw_dot,
    evaluate,
    fit,
    grad,
    hessian,
    predict,
    value_sum,
)
from microgradnn.checks import as_matrix, as_targets, check_int, check_real
from microgradnn.data import (
    MAX_SIZE,
    bmi_table,
    make_blobs,
    make_circles,
    make_moons,
    make_regression_1d,
    make_spiral,
    make_xor,
    standardize,
)
from microgradnn.losses import (
    LOSSES,
    binary_cross_entropy_with_logits,
    cross_entropy,
    half_mse,
    hinge,
    l2_penalty,
    log_softmax,
    mse,
    softmax,
)
from microgradnn.optim import (
    SGD,
    Adam,
    AdamW,
    constant,
    cosine_decay,
    exponential_decay,
    linear_decay,
)
from microgradnn.plot import plot_decision_boundary, plot_loss, plot_regression
from microgradnn.testing import gradcheck
from microgradnn.train import NonFiniteLossError, accuracy, r2_score
from microgradnn.viz import BackwardStepper, grads_after_steps, render

X8, Y8 = make_moons(8, noise=0.1, seed=0)  # labels ±1
MODEL = MLP(2, [3, 1], seed=0)


# ---------------------------------------------------------------------- bad values by kind
def _numpy_oddities() -> st.SearchStrategy:
    """numpy values that are no number of the usual kind: arrays, bools, complex, strings."""
    return st.sampled_from(
        [np.array([1.0, 2.0]), np.array([[1]]), np.bool_(True), np.complex128(1 + 2j), np.str_("3")]
    )


# (the losses take a Value as a target, standing for its number, so it is kept apart)
NOT_A_NUMBER_NOR_VALUE = st.one_of(
    st.text(max_size=4),
    st.none(),
    st.booleans(),
    st.complex_numbers(allow_nan=False, max_magnitude=10),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.just(object()),
    _numpy_oddities(),
)
NOT_A_NUMBER = st.one_of(NOT_A_NUMBER_NOR_VALUE, st.just(Value(1.0)))
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf, np.float64("nan"), np.float32("inf")])


def bad_int(lo: int, hi: int | None = None) -> st.SearchStrategy:
    """Anything that is not an integer in lo..hi (numpy integers in range are fine, so absent)."""
    too_big = [st.integers(min_value=hi + 1, max_value=hi * 10**6)] if hi is not None else []
    return st.one_of(
        NOT_A_NUMBER,
        NON_FINITE,
        st.floats(allow_nan=False, allow_infinity=False),  # 3.0 is a float, not a count
        st.builds(np.float64, st.integers(lo, lo + 5)),
        st.integers(max_value=lo - 1, min_value=lo - 10**6),
        st.builds(np.int64, st.integers(max_value=lo - 1, min_value=lo - 100)),
        *too_big,
    )


def bad_real(lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> st.SearchStrategy:
    """Anything that is not a finite real number in the range."""
    out_of_range = []
    if lo is not None:
        out_of_range.append(
            st.floats(max_value=lo, exclude_max=not lo_open, allow_nan=False, min_value=-1e300)
        )
    if hi is not None:
        out_of_range.append(st.floats(min_value=hi, exclude_min=True, allow_nan=False, max_value=1e300))
    return st.one_of(NOT_A_NUMBER, NON_FINITE, st.just(10**400), *out_of_range)


BAD_BOOL = st.one_of(
    st.integers(0, 1), st.text(max_size=3), st.none(), st.floats(), st.just(np.array([True]))
)
BAD_LOGITS = st.one_of(st.none(), st.integers(), st.text(max_size=3), st.just([]), st.just(Value(1.0)))
BAD_SEED = st.one_of(
    NOT_A_NUMBER.filter(lambda v: v is not None),
    NON_FINITE,
    st.floats(),
    st.builds(np.float64, st.integers(0, 9)),
)
BAD_CALLABLE = st.one_of(st.integers(), st.text(max_size=3), st.none(), st.lists(st.integers(), max_size=2))


def bad_choice(choices: tuple[str, ...]) -> st.SearchStrategy:
    return st.one_of(
        st.text(max_size=6).filter(lambda s: s not in choices),
        st.none(),
        st.integers(),
        st.booleans(),
        st.just([choices[0]]),
    )


finite = st.floats(-5, 5, allow_nan=False)


def bad_matrix(width: int, fixed_width: bool = True) -> st.SearchStrategy:
    """Samples that are not n rows of ``width`` finite numbers (n ≥ 1); with ``fixed_width=False``
    (standardize, make_blobs' centers) rows of another width are fine."""
    row = st.lists(finite, min_size=width, max_size=width)
    rows = st.lists(row, min_size=1, max_size=6)
    two_or_more = st.lists(row, min_size=2, max_size=6)

    def poison(draw_rows: list[list[float]], i: int, j: int, bad: Any) -> list[list[Any]]:
        out = [list(r) for r in draw_rows]
        out[i % len(out)][j % width] = bad
        return out

    poisoned = st.builds(
        poison, rows, st.integers(0, 5), st.integers(0, width - 1), st.one_of(NON_FINITE, NOT_A_NUMBER)
    )
    ragged = st.builds(  # one row longer or shorter than the others
        lambda r, i, extra: [*r[:i], r[i % len(r)] + [0.0] * extra if extra else r[i % len(r)][:-1], *r[i:]],
        two_or_more,
        st.integers(0, 5),
        st.integers(0, 2),
    )
    wrong_width = [st.just(np.ones((3, width + 1))), st.just([np.zeros(width + 1)])] if fixed_width else []
    return st.one_of(
        poisoned,
        ragged,
        *wrong_width,
        st.just([]),
        st.lists(finite, min_size=1, max_size=4),  # one sample, not a list of samples
        st.text(max_size=4),
        st.none(),
        st.integers(),
        st.just(np.zeros(width)),  # 1-D
        st.just(np.zeros((2, width, 1))),  # 3-D
        st.just(np.array([[math.nan] * width])),
        st.just(np.ones((3, width), dtype=bool)),
        st.just([[True] * width]),
    )


def bad_labels(n: int, values_ok: bool = False) -> st.SearchStrategy:
    """Labels for n samples that are malformed, of the wrong number, or not finite
    (``values_ok``: a Value stands for its number, as in the losses)."""
    good = st.lists(st.sampled_from([-1, 1]), min_size=n, max_size=n)
    odd = NOT_A_NUMBER_NOR_VALUE if values_ok else NOT_A_NUMBER
    return st.one_of(
        st.builds(lambda ys, i, bad: [*ys[:i], bad, *ys[i + 1 :]], good, st.integers(0, n - 1), NON_FINITE),
        st.builds(lambda ys, i, bad: [*ys[:i], bad, *ys[i + 1 :]], good, st.integers(0, n - 1), odd),
        st.lists(st.sampled_from([-1, 1]), max_size=n - 1),
        st.lists(st.sampled_from([-1, 1]), min_size=n + 1, max_size=n + 3),
        st.text(max_size=3),
        st.none(),
        st.integers(),
        st.just(np.ones(n, dtype=bool)),
        st.just(np.ones((n, 1, 1))),
        st.just(np.full(n, math.nan)),
    )


def bad_params() -> st.SearchStrategy:
    return st.one_of(
        st.none(),
        st.integers(),
        st.text(max_size=3),
        st.just([]),
        st.lists(st.floats(), min_size=1, max_size=3),
        st.just(Value(1.0)),
    )


# ---------------------------------------------------------------------- every public function
def _model() -> MLP:
    return MLP(2, [3, 1], seed=0)


# (name, function, valid keyword arguments, {argument: bad values}); every call is by keyword.
CASES: list[tuple[str, Callable[..., Any], dict[str, Any], dict[str, st.SearchStrategy]]] = [
    (
        "make_moons",
        make_moons,
        {"n_samples": 10},
        {
            "n_samples": bad_int(2, MAX_SIZE),
            "noise": bad_real(lo=0.0),
            "seed": BAD_SEED,
            "labels": bad_choice(("signed", "index")).filter(lambda v: v is not None),
        },
    ),
    (
        "make_circles",
        make_circles,
        {"n_samples": 10},
        {"n_samples": bad_int(2, MAX_SIZE), "noise": bad_real(lo=0.0), "factor": bad_real(0.0, 1.0)},
    ),
    (
        "make_blobs",
        make_blobs,
        {"n_samples": 10},
        {
            "n_samples": bad_int(3, MAX_SIZE),
            "centers": st.one_of(
                bad_int(2, MAX_SIZE).filter(lambda v: not isinstance(v, (list, np.ndarray))),
                bad_matrix(2, fixed_width=False).filter(lambda v: not isinstance(v, int)),
            ),
            "n_features": bad_int(1, MAX_SIZE),
            "cluster_std": bad_real(lo=0.0),
            "center_box": st.one_of(
                NOT_A_NUMBER.filter(lambda v: not isinstance(v, (list, np.ndarray))),
                st.tuples(NON_FINITE, finite),
                st.tuples(finite, NOT_A_NUMBER),
                st.just((1.0, 1.0)),
                st.just((2.0, -2.0)),
                st.lists(finite, max_size=1),
                st.lists(finite, min_size=3, max_size=4),
            ),
        },
    ),
    (
        "make_xor",
        make_xor,
        {"n_samples": 10},
        {"n_samples": bad_int(1, MAX_SIZE), "noise": bad_real(lo=0.0), "margin": bad_real(0.0, 1.0)},
    ),
    (
        "make_spiral",
        make_spiral,
        {"n_samples": 10},
        {
            "n_samples": bad_int(2, MAX_SIZE),
            "classes": bad_int(2, MAX_SIZE),
            "noise": bad_real(lo=0.0),
            "turns": bad_real(0.0, 10.0, lo_open=True),
        },
    ),
    (
        "make_regression_1d",
        make_regression_1d,
        {"n_samples": 5},
        {
            "f": st.one_of(BAD_CALLABLE, st.just(lambda x: math.nan), st.just(lambda x: "1")),
            "n_samples": bad_int(1, MAX_SIZE),
            "low": bad_real(hi=3.0).filter(lambda v: not (isinstance(v, float) and v < 3.0)),
            "high": bad_real(lo=-3.0).filter(lambda v: not (isinstance(v, float) and v > -3.0)),
            "noise": bad_real(lo=0.0),
        },
    ),
    ("bmi_table", bmi_table, {}, {"computed": BAD_BOOL}),
    ("standardize", standardize, {"X": X8}, {"X": bad_matrix(2, fixed_width=False)}),
    (
        "fit",
        fit,
        {"model": None, "X": X8, "y": Y8, "loss": "hinge", "epochs": 1, "progress": False},
        {
            "model": st.one_of(st.none(), st.integers(), st.text(max_size=4), st.just(MLP), st.just([1.0])),
            "X": bad_matrix(2),
            "y": st.one_of(bad_labels(8), st.just([2] * 8), st.just([0.5] * 8)),
            "loss": st.one_of(
                st.text(max_size=4).filter(lambda s: s not in LOSSES), st.none(), st.integers()
            ),
            "optimizer": st.one_of(
                st.text(max_size=4).filter(lambda s: s.lower() not in ("sgd", "adam")),
                st.none(),
                st.integers(),
            ),
            "epochs": bad_int(1),
            "batch_size": bad_int(1).filter(lambda v: v is not None),
            "seed": BAD_SEED,
            "lr": bad_real(lo=0.0, lo_open=True).filter(lambda v: v is not None and not callable(v)),
            "l2": bad_real(lo=0.0),
            "metric": st.one_of(st.text(max_size=4).filter(lambda s: s not in ("auto", "r2")), st.integers()),
            "progress": BAD_BOOL,
            "callback": BAD_CALLABLE.filter(lambda v: v is not None),
            "on_nonfinite": bad_choice(("raise", "continue")),
        },
    ),
    (
        "evaluate",
        evaluate,
        {"model": None, "X": X8, "y": Y8, "loss": "hinge"},
        {
            "model": st.one_of(st.none(), st.integers(), st.text(max_size=4)),
            "X": bad_matrix(2),
            "y": bad_labels(8),
            "l2": bad_real(lo=0.0),
        },
    ),
    (
        "predict",
        predict,
        {"model": None, "X": X8},
        {"model": st.one_of(st.none(), st.integers(), st.text(max_size=4)), "X": bad_matrix(2)},
    ),
    (
        "accuracy",
        accuracy,
        {"outputs": [0.5] * 8, "targets": Y8},
        {
            "outputs": st.one_of(
                st.none(), st.integers(), st.text(max_size=3), st.just([]), st.just(["a"] * 8)
            ),
            "targets": bad_labels(8, values_ok=True),
        },
    ),
    ("r2_score", r2_score, {"outputs": [0.5] * 8, "targets": Y8}, {"targets": bad_labels(8, values_ok=True)}),
    *[
        (
            loss.__name__,
            loss,
            {"targets": [1.0, -1.0, 1.0], "reduction": "mean", first: [Value(0.5), Value(-1.0), Value(2.0)]},
            {
                first: st.one_of(st.none(), st.integers(), st.text(max_size=3), st.just(Value(1.0))),
                "targets": bad_labels(3, values_ok=True),
                "reduction": bad_choice(("mean", "sum")),
            },
        )
        for loss, first in (
            (mse, "predictions"),
            (half_mse, "predictions"),
            (hinge, "scores"),
            (binary_cross_entropy_with_logits, "logits"),
        )
    ],
    (
        "hinge margin",
        hinge,
        {"scores": [Value(0.5)], "targets": [1]},
        {"margin": bad_real(lo=0.0)},
    ),
    (
        "cross_entropy",
        cross_entropy,
        {"logits": [[Value(0.5), Value(-1.0)]], "targets": [1]},
        {
            "targets": st.one_of(
                st.lists(
                    st.one_of(NON_FINITE, NOT_A_NUMBER_NOR_VALUE, st.integers(2, 10), st.integers(-10, -1)),
                    min_size=1,
                    max_size=1,
                ),
                st.lists(st.floats(0.01, 0.99), min_size=1, max_size=1),
            ),
            "reduction": bad_choice(("mean", "sum")),
        },
    ),
    (
        "l2_penalty",
        l2_penalty,
        {"parameters": [Value(1.0)]},
        {"parameters": bad_params(), "alpha": bad_real(lo=0.0)},
    ),
    *[
        (
            opt.__name__,
            opt,
            {"params": [Value(1.0)], "lr": 0.1},
            {"params": bad_params(), "lr": bad_real(lo=0.0, lo_open=True).filter(lambda v: not callable(v))},
        )
        for opt in (SGD, Adam, AdamW)
    ],
    (
        "SGD settings",
        SGD,
        {"params": [Value(1.0)], "lr": 0.1, "momentum": 0.5},
        {"momentum": bad_real(0.0, 1.0), "weight_decay": bad_real(lo=0.0), "nesterov": BAD_BOOL},
    ),
    (
        "Adam settings",
        Adam,
        {"params": [Value(1.0)]},
        {
            "betas": st.one_of(st.none(), st.integers(), st.tuples(NON_FINITE, finite), st.just((0.9,))),
            "eps": bad_real(lo=0.0, lo_open=True),
            "weight_decay": bad_real(lo=0.0),
        },
    ),
    ("constant", constant, {"lr": 0.1}, {"lr": bad_real(lo=0.0, lo_open=True)}),
    *[
        (
            schedule.__name__,
            schedule,
            {"start": 1.0, "end": 0.1, "steps": 10},
            {"start": bad_real(lo=0.0, lo_open=True), "end": bad_real(lo=0.0), "steps": bad_int(1)},
        )
        for schedule in (linear_decay, cosine_decay)
    ],
    (
        "exponential_decay",
        exponential_decay,
        {"start": 1.0, "gamma": 0.5},
        {"start": bad_real(lo=0.0, lo_open=True), "gamma": bad_real(0.0, 1.0, lo_open=True)},
    ),
    (
        "MLP",
        MLP,
        {"nin": 2, "nouts": [2, 1]},
        {
            "nin": bad_int(1),
            "nouts": st.one_of(
                st.none(),
                st.integers(),
                st.text(max_size=3),
                st.just([]),
                st.lists(bad_int(1), min_size=1, max_size=2),
            ),
            "activation": bad_choice(("relu", "tanh", "sigmoid", "leaky_relu", "linear")),
            "output_activation": bad_choice(("relu", "tanh", "sigmoid", "leaky_relu", "linear")),
            "init": bad_choice(("uniform", "xavier", "he")),
            "seed": BAD_SEED,
            "rng": st.one_of(st.integers(), st.text(max_size=3), st.just([1])),
        },
    ),
    ("Neuron", Neuron, {"nin": 2}, {"nin": bad_int(1)}),
    ("Layer", Layer, {"nin": 2, "nout": 2}, {"nin": bad_int(1), "nout": bad_int(1)}),
    (
        "draw_dot",
        draw_dot,
        {"root": Value(1.0) * 2.0},
        {
            "root": st.one_of(st.none(), st.integers(), st.text(max_size=3), st.just([]), st.just([1.0])),
            "format": st.one_of(st.none(), st.integers(), st.just("jpgg")),
            "rankdir": bad_choice(("LR", "RL", "TB", "BT")),
            "local_grads": BAD_BOOL,
            "color_by": bad_choice(("role", "grad")).filter(lambda v: v is not None),
            "order": BAD_BOOL,
            "max_nodes": bad_int(2).filter(lambda v: v is not None),
            "parameters": bad_params().filter(
                lambda v: v is not None and not (isinstance(v, list) and not v)
            ),
            "precision": bad_int(0, 17),
        },
    ),
    *[
        (
            fn.__name__,
            fn,
            {"logits": [Value(0.5), Value(-1.0)]},
            {"logits": BAD_LOGITS},
        )
        for fn in (softmax, log_softmax)
    ],
    (
        "BackwardStepper",
        BackwardStepper,
        {"root": Value(1.0) * 2.0},
        {"root": st.one_of(st.none(), st.integers(), st.text(max_size=3), st.just([Value(1.0)]))},
    ),
    (
        "grads_after_steps",
        grads_after_steps,
        {"root": Value(1.0) * 2.0, "k": 1},
        {"root": st.one_of(st.none(), st.integers(), st.just([Value(1.0)])), "k": bad_int(0, 1)},
    ),
    (
        "gradcheck",
        gradcheck,
        {"f": lambda x: x * x, "inputs": [1.0]},
        {
            "f": BAD_CALLABLE,
            "inputs": st.one_of(st.none(), st.just([]), st.just(["a"]), st.just(1.0), st.just([None])),
            "eps": bad_real(lo=0.0, lo_open=True),
            "atol": bad_real(lo=0.0),
            "rtol": bad_real(lo=0.0),
        },
    ),
    (
        "plot_decision_boundary",
        plot_decision_boundary,
        {"model": _model(), "X": X8, "y": Y8},
        {"X": bad_matrix(2), "y": bad_labels(8), "resolution": bad_int(2, 1000), "padding": bad_real(lo=0.0)},
    ),
    (
        "plot_loss",
        plot_loss,
        {"history": [1.0, 0.5]},
        {
            "history": st.one_of(st.none(), st.integers(), st.text(max_size=3), st.just([])),
            "log_scale": BAD_BOOL,
        },
    ),
    (
        "render",
        render,
        {"drawing": draw_dot(Value(1.0) * 2.0)},
        {"drawing": st.one_of(st.none(), st.integers()), "format": bad_choice(("svg", "png"))},
    ),
    (
        "plot_regression",
        plot_regression,
        {"model": MLP(1, [1], seed=0), "X": [[0.0], [1.0]], "y": [0.0, 1.0]},
        {"X": bad_matrix(1), "y": bad_labels(2), "points": bad_int(2)},
    ),
]


def _names_argument(message: str, argument: str) -> bool:
    """Whether the message names the argument as a word ('fit(epochs) must ...'), or one of its
    entries ('target 3' of targets)."""
    names = {argument, argument[:-1]} if argument.endswith("s") else {argument}
    return any(re.search(rf"(?<![A-Za-z_]){re.escape(n)}(?![A-Za-z_])", message) for n in names)


PAIRS = [
    pytest.param(fn, valid, argument, bad, id=f"{name}-{argument}")
    for name, fn, valid, arguments in CASES
    for argument, bad in arguments.items()
]


@pytest.mark.parametrize("fn, valid, argument, bad", PAIRS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_a_bad_argument_fails_at_once_naming_it(fn, valid, argument, bad, data) -> None:  # noqa: ANN001
    kwargs = dict(valid)
    if "model" in kwargs and kwargs["model"] is None:
        kwargs["model"] = _model()
    value = data.draw(bad, label=argument)
    kwargs[argument] = value
    with pytest.raises((TypeError, ValueError)) as caught:
        fn(**kwargs)
    assert type(caught.value).__module__ in ("builtins", "microgradnn.nn"), caught.value
    message = str(caught.value)
    assert _names_argument(message, argument), f"{fn.__name__}({argument}={value!r}): {message}"
    assert "\n" not in message.strip() or argument == "X", message


# ---------------------------------------------------------------------- issue #12, call by call
def _sample_model_state(model: MLP) -> list[float]:
    return [p.data for p in model.parameters()]


Z = [[Value(1.0), Value(2.0)]]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: SGD(None, lr=0.1), TypeError, r"SGD\(params\) must be a list of Values .*got NoneType"),
        (lambda: fit("model", X8, Y8), TypeError, r"fit\(model\) must be a model.*got str: 'model'"),
        (lambda: cross_entropy(Z, [math.nan]), ValueError, r"cross_entropy\(targets\): target 0 is nan"),
        (
            lambda: make_blobs(center_box=5),
            TypeError,
            r"make_blobs\(center_box\) must be a pair \(low, high\)",
        ),
        (
            lambda: make_blobs(center_box=(math.nan, 1)),
            ValueError,
            r"make_blobs\(center_box\[0\]\) must be a finite",
        ),
        (lambda: standardize([[math.nan], [1]]), ValueError, r"standardize\(X\): sample 0, column 0 is nan"),
        (lambda: mse([Value(1.0)], [math.nan]), ValueError, r"mse\(targets\): target 0 is nan"),
        (
            lambda: hinge([Value(1.0)], [1], margin=math.nan),
            ValueError,
            r"hinge\(margin\) must be a finite number",
        ),
        (
            lambda: draw_dot(Value(1.0), parameters=5),
            TypeError,
            r"draw_dot\(parameters\) must be a list of Values",
        ),
        (
            lambda: fit(MODEL, [[0.0, math.inf], *X8[1:]], Y8, progress=False),
            ValueError,
            r"fit\(X\): sample 0, column 1 is inf",
        ),
        (
            lambda: fit(MODEL, X8, [*Y8[:5], math.nan, *Y8[6:]], progress=False),
            ValueError,
            r"fit\(y\): label 5 is nan",
        ),
        (
            lambda: evaluate(MODEL, [*X8[:3], [1.0], *X8[4:]], Y8),
            ValueError,
            r"evaluate\(X\): row 3 has 1 features, but the model takes 2 inputs",
        ),
        (
            lambda: predict(MODEL, [[1.0, 2.0, 3.0]]),
            ValueError,
            r"predict\(X\): row 0 has 3 features, but the model takes 2 inputs",
        ),
        (
            lambda: fit(MODEL, X8, [*Y8[:2], 2, *Y8[3:]], loss="hinge", progress=False),
            ValueError,
            r"fit\(y\): label 2 is 2, but the hinge loss needs labels ±1",
        ),
        (
            lambda: fit(
                MLP(2, [3], seed=0), X8, [0, 1, 2, 3, 0, 1, 2, 0], loss="cross_entropy", progress=False
            ),
            ValueError,
            r"fit\(y\): label 3 is 3, but cross-entropy needs class indices 0..2",
        ),
        (lambda: cross_entropy([[Value(0.0)] * 3], [-1]), ValueError, r"class index 0\.\.2, got -1"),
        (
            lambda: binary_cross_entropy_with_logits([Value(0.0)], [1.5]),
            ValueError,
            r"0/1 \(or ±1, or a probability in \[0, 1\]\)",
        ),
        (
            lambda: accuracy([0.5, 0.1], [1]),
            ValueError,
            r"accuracy\(targets\) has 1 entries but outputs has 2",
        ),
        (
            lambda: fit(MODEL, np.array(X8)[:, 0], Y8),
            ValueError,
            r"fit\(X\) must be 2-D.*X\.reshape\(-1, 1\)",
        ),
        (
            lambda: fit(MODEL, X8, np.array(Y8) > 0),
            TypeError,
            r"fit\(y\) must hold numbers, got an array of bool",
        ),
        (lambda: make_moons(10**9), ValueError, r"make_moons\(n_samples\) must be in \[2, 10000000\]"),
        (
            lambda: make_regression_1d(lambda x: math.nan, 3),
            ValueError,
            r"make_regression_1d\(f\): f\(.*\) must be",
        ),
        (
            lambda: fit(MODEL, X8, Y8, on_nonfinite="ignore"),
            ValueError,
            r"fit\(on_nonfinite\) must be one of",
        ),
    ],
)
def test_the_issues_calls_fail_with_clear_errors(call, error, message) -> None:  # noqa: ANN001
    with pytest.raises(error, match=message):
        call()


def test_a_bad_callback_is_refused_before_anything_trains() -> None:
    model = _model()
    before = _sample_model_state(model)
    with pytest.raises(
        TypeError, match=r"fit\(callback\) must be a function callback\(epoch, history\).*got int: 5"
    ):
        fit(model, X8, Y8, loss="hinge", epochs=3, callback=5, progress=False)
    assert _sample_model_state(model) == before


def test_labels_outside_the_loss_domain_are_refused_before_anything_trains() -> None:
    model = _model()
    before = _sample_model_state(model)
    with pytest.raises(ValueError, match=r"fit\(y\): label 7 is 0\.5, but the hinge loss"):
        fit(model, X8, [*Y8[:7], 0.5], loss="hinge", epochs=3, batch_size=2, seed=0, progress=False)
    assert _sample_model_state(model) == before


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: dot(1, 2), r"dot.*xs"),
        (lambda: value_sum(None), r"value_sum.*values"),
        (lambda: grad(Value(2.0) * 3.0, None), r"grad.*inputs"),
        (lambda: hessian(lambda x: x * x, 1.0), r"hessian.*(inputs|point)"),
    ],
)
def test_engine_functions_name_their_arguments(call, message) -> None:  # noqa: ANN001
    with pytest.raises(TypeError, match=message):
        call()


def test_value_of_a_huge_integer_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="data"):
        Value(10**400)


# ---------------------------------------------------------------------- divergence
def test_a_diverging_fit_stops_naming_the_epoch_and_the_learning_rate() -> None:
    X, y = make_moons(20, seed=1)
    with pytest.raises(
        NonFiniteLossError, match=r"became nan in epoch 2 of 5.*smaller learning rate.*lr=1e\+308"
    ) as e:
        fit(MLP(2, [8, 1], seed=1), X, y, loss="hinge", lr=1e308, epochs=5, progress=False)
    assert e.value.epoch == 1 and math.isnan(e.value.loss)
    assert len(e.value.history.loss) == 1 and math.isfinite(e.value.history.loss[0])


def test_an_overflow_inside_the_graph_is_reported_as_divergence() -> None:
    X, y = make_moons(20, seed=0)
    with pytest.raises(NonFiniteLossError, match=r"became inf in epoch \d+ of 30 \(pow: .* too large") as e:
        fit(MLP(2, [16, 16, 1], seed=1), X, y, loss="mse", lr=50, epochs=30, progress=False)
    assert isinstance(e.value.__cause__, OverflowError)


def test_on_nonfinite_continue_trains_on() -> None:
    X, y = make_moons(20, seed=1)
    history = fit(
        MLP(2, [8, 1], seed=1),
        X,
        y,
        loss="hinge",
        lr=1e308,
        epochs=4,
        progress=False,
        on_nonfinite="continue",
    )
    assert len(history.loss) == 4 and math.isnan(history.loss[-1])


# ---------------------------------------------------------------------- numpy arrays
def _train(X: Any, y: Any, **kwargs: Any) -> tuple[list[float], list[float], list[float]]:
    model = MLP(2, [6, 6, 1], seed=3)
    history = fit(model, X, y, progress=False, **kwargs)
    return history.loss, history.metric, [p.data for p in model.parameters()]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"loss": "hinge", "lr": 0.3, "epochs": 5},
        {"loss": "mse", "lr": 0.05, "epochs": 4, "batch_size": 7, "seed": 2},
        {"loss": "bce", "optimizer": "adam", "lr": 0.02, "epochs": 4, "l2": 1e-3},
    ],
)
def test_fit_on_numpy_arrays_is_fit_on_the_same_lists(kwargs: dict[str, Any]) -> None:
    X, y = make_moons(30, noise=0.2, seed=5)
    assert _train(np.array(X), np.array(y), **kwargs) == _train(X, y, **kwargs)
    # numpy integer labels and float32 features: the same numbers, so the same training
    X32 = np.array(X, dtype=np.float32)
    assert _train(X32, np.array(y, dtype=np.int8), **kwargs) == _train(X32.tolist(), y, **kwargs)


def test_evaluate_predict_and_accuracy_on_numpy_arrays() -> None:
    X, y = make_blobs(24, centers=3, seed=4)
    model = MLP(2, [5, 3], seed=4)
    Xa, ya = np.array(X), np.array(y, dtype=np.int64)
    assert evaluate(model, Xa, ya, loss="cross_entropy") == evaluate(model, X, y, loss="cross_entropy")
    outputs = predict(model, Xa)
    assert outputs == predict(model, X)
    assert accuracy(np.array(outputs), ya) == accuracy(outputs, y)
    assert accuracy(outputs, [np.int64(t) for t in y]) == accuracy(outputs, y)
    assert r2_score(np.array([1.0, 2.0, 3.5]), np.array([1.0, 2.0, 3.0])) == r2_score(
        [1.0, 2.0, 3.5], [1, 2, 3]
    )


def test_losses_take_numpy_targets_and_numpy_scalar_labels() -> None:
    z = [Value(0.3), Value(-1.2), Value(2.0)]
    for loss in (mse, half_mse, hinge, binary_cross_entropy_with_logits):
        assert loss(z, np.array([1, -1, 1])).data == loss(z, [1, -1, 1]).data
    logits = [[Value(0.1), Value(0.5)], [Value(-1.0), Value(2.0)]]
    assert cross_entropy(logits, np.array([1, 0])).data == cross_entropy(logits, [1, 0]).data
    assert cross_entropy(logits, [np.int64(1), np.uint8(0)]).data == cross_entropy(logits, [1, 0]).data
    assert cross_entropy(logits[0], np.int64(1)).data == cross_entropy(logits[0], 1).data


def test_datasets_and_standardize_take_numpy() -> None:
    X = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0]])
    assert standardize(X) == standardize(X.tolist())
    assert make_moons(np.int64(12), noise=np.float64(0.1), seed=np.int32(3)) == make_moons(
        12, noise=0.1, seed=3
    )
    centers = np.array([[0.0, 0.0], [5.0, 5.0]])
    assert make_blobs(10, centers=centers, seed=1) == make_blobs(10, centers=centers.tolist(), seed=1)
    with pytest.raises(ValueError, match=r"make_blobs\(centers\): sample 1, column 0 is nan"):
        make_blobs(10, centers=np.array([[0.0, 0.0], [math.nan, 1.0]]))


# ---------------------------------------------------------------------- the helpers themselves
def test_the_helpers_convert_what_they_accept() -> None:
    assert check_int("n", np.int64(3)) == 3 and type(check_int("n", np.int64(3))) is int
    assert check_int("n", np.array(4)) == 4
    assert check_real("x", np.float32(0.5)) == 0.5 and check_real("x", np.array(2.5)) == 2.5
    assert as_matrix("X", np.arange(6).reshape(3, 2)) == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert as_matrix("X", [np.array([1, 2]), (3, 4.5)]) == [[1.0, 2.0], [3.0, 4.5]]
    labels = as_targets("y", np.array([0, 2, 1]))
    assert labels == [0, 2, 1] and all(type(t) is int for t in labels)
    assert as_targets("y", [[1, 2.5], np.array([3.0, 4.0])]) == [[1.0, 2.5], [3.0, 4.0]]


class _FrameLike:
    """What matters of a pandas DataFrame here: no array interface of its own, but to_numpy()."""

    def to_numpy(self) -> np.ndarray:
        return np.zeros((2, 2))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: as_matrix("X", _FrameLike()),
            TypeError,
            r"X must be .*got _FrameLike.*convert it with \.to_numpy\(\)",
        ),
        (
            lambda: check_int("fit(epochs)", 2.0),
            TypeError,
            r"fit\(epochs\) must be an integer, got float: 2\.0",
        ),
        (lambda: check_int("n", True), TypeError, r"n must be an integer, got bool: True"),
        (lambda: check_int("n", 0, lo=1), ValueError, r"n must be >= 1, got 0"),
        (lambda: check_real("lr", "0.1"), TypeError, r"lr must be a real number, got str: '0\.1'"),
        (lambda: check_real("lr", 10**400), ValueError, r"lr is too large for a float"),
        (
            lambda: check_real("p", 1.5, lo=0, hi=1, hi_open=True),
            ValueError,
            r"p must be in \[0, 1\), got 1\.5",
        ),
        (lambda: as_matrix("X", [[1, 2], [3]]), ValueError, r"X: row 1 has 1 features, but row 0 has 2"),
        (lambda: as_matrix("X", [[1, 2], "ab"]), TypeError, r"X: row 1 must be a list of numbers, got str"),
        (
            lambda: as_matrix("X", [[1, Value(2.0)]]),
            TypeError,
            r"X: sample 0, column 1 must be a number, got a Value",
        ),
        (lambda: as_matrix("X", [[]]), ValueError, r"X: row 0 is empty"),
        (lambda: as_targets("y", [1, 2], n=3), ValueError, r"y has 2 entries but X has 3"),
        (lambda: as_targets("y", {1, 2}), TypeError, r"y must be a list with one label per sample.*got set"),
        (lambda: as_targets("y", [10**400]), ValueError, r"y: label 0 is an integer too large for a float"),
    ],
)
def test_the_helpers_errors(call, error, message) -> None:  # noqa: ANN001
    with pytest.raises(error, match=message):
        call()
