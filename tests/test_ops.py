"""Every row of the table of operations (microgradnn/ops.py) against sympy, an independent oracle.

For each row: its forward value, its local-gradient rule on floats (what backward uses) and on
Values (what grad(create_graph=True) uses, checked to second order), and its numpy forms, at
hypothesis-drawn points inside the row's domain and away from the kinks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from microgradnn import Value, grad, ops
from microgradnn.engine import make_node_of
from microgradnn.losses import bce_op, cross_entropy_op

# (row, the domain its inputs are drawn from); families at a few of their parameters
ROWS = [
    (ops.ADD, (-5, 5)), (ops.SUB, (-5, 5)), (ops.MUL, (-5, 5)), (ops.DIV, (0.2, 5)), (ops.NEG, (-5, 5)),
    (ops.POW, (0.2, 3)), (ops.EXP, (-5, 5)), (ops.LOG, (0.05, 9)), (ops.TANH, (-4, 4)),
    (ops.SIGMOID, (-8, 8)), (ops.RELU, (-5, 5)), (ops.ABS, (-5, 5)),
    (ops.power_op(2.0), (-4, 4)), (ops.power_op(3.0), (-3, 3)), (ops.power_op(-1.0), (0.2, 4)),
    (ops.power_op(0.5), (0.05, 9)), (ops.power_op(0.0), (-4, 4)), (ops.leaky_relu_op(0.01), (-5, 5)),
    (ops.leaky_relu_op(0.2), (-5, 5)), (bce_op(1.0), (-6, 6)), (bce_op(0.25), (-6, 6)),
]  # fmt: skip
KINKED = {"ReLU", "abs"}


_CACHE: dict = {}


def _exact(row: ops.Operation) -> tuple:
    # keyed by name AND param: a row is a str, and the rows of one family share their name
    key = (str(row), row.param)
    if key not in _CACHE:
        _CACHE[key] = _differentiate(row)
    return _CACHE[key]


def _differentiate(row: ops.Operation) -> tuple:
    """The row's value, gradient and Hessian from sympy, differentiated once, as float functions."""
    symbols = sympy.symbols(f"a0:{row.arity}", real=True)
    exact = row.sympy(sympy, *symbols)
    first = [sympy.diff(exact, s) for s in symbols]
    second = [[sympy.diff(d, t) for t in symbols] for d in first]
    return tuple(sympy.lambdify(symbols, e, modules="math") for e in (exact, first, second))


@settings(max_examples=40, deadline=None)
@pytest.mark.parametrize(("row", "domain"), ROWS, ids=[f"{r}{r.param or ''}" for r, _ in ROWS])
@given(data=st.data())
def test_a_row_agrees_with_its_sympy_form(row, domain, data) -> None:  # noqa: ANN001
    n = row.arity
    xs = [data.draw(st.floats(*domain, allow_nan=False)) for _ in range(n)]
    assume(all(abs(x) > 1e-3 for x in xs) or not (row in KINKED or row.startswith("LeakyReLU")))
    value, first, second = _exact(row)
    out = row.forward(*xs)
    assert out == pytest.approx(value(*xs), rel=1e-12, abs=1e-300)
    local = row.grads(out, *xs)
    local = (local,) if n == 1 else local
    assert list(local) == pytest.approx(first(*xs), rel=1e-11, abs=1e-12)
    # the same rule on Values: a graph that differentiates again (second derivatives)
    values = [Value(x) for x in xs]
    node = make_node_of(row, tuple(values))
    hessian = second(*xs)
    for i in range(n):
        (g,) = grad(node, [values[i]], create_graph=True)
        assert grad(g, values) == pytest.approx(hessian[i], rel=1e-9, abs=1e-10)
    # the numpy forms give the same numbers on arrays
    arrays = [np.array([x, x]) for x in xs]
    forward = row.numpy or row.forward
    assert np.allclose(forward(*arrays), out, rtol=1e-13, atol=0)
    np_local = (row.numpy_grads or row.grads)(np.array([out, out]), *arrays)
    np_local = (np_local,) if n == 1 else np_local
    assert all(np.allclose(a, b, rtol=1e-12, atol=1e-14) for a, b in zip(np_local, local))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-4, 4, allow_nan=False), min_size=1, max_size=5), st.data())
def test_the_fused_rows_agree_with_sympy(zs: list[float], data) -> None:  # noqa: ANN001
    ys = [data.draw(st.floats(-4, 4, allow_nan=False)) for _ in zs]
    target = data.draw(st.integers(0, len(zs) - 1))
    for row, groups in ((ops.SUM, (zs,)), (ops.DOT, (zs, ys)), (cross_entropy_op(target), (zs,))):
        symbols = [sympy.symbols(f"g{k}_0:{len(g)}", real=True) for k, g in enumerate(groups)]
        exact = row.sympy(sympy, *symbols)
        flat = [s for group in symbols for s in group]
        at = dict(zip(flat, [sympy.Rational(repr(v)) for g in groups for v in g]))
        args = tuple(tuple(g) for g in groups)
        out = row.forward(*args)
        assert out == pytest.approx(float(exact.subs(at)), rel=1e-12, abs=1e-12)
        local = sum(row.grads(out, *args), ())
        assert list(local) == pytest.approx([float(sympy.diff(exact, s).subs(at)) for s in flat],
                                            rel=1e-10, abs=1e-12)


def test_every_row_has_what_the_rest_of_the_package_reads() -> None:
    for name, row in ops.OPS.items():
        assert row.forward is not None and row.sympy is not None, name
        assert row.arity in (1, 2, None), name
        if row.arity == 1 and name not in ("**p", "leaky_relu"):
            assert row.methods, name  # a Value method, for users, the graph command, the strategies
    assert math.isclose(ops.sigmoid(1000.0), 1.0) and ops.sigmoid(-1000.0) == 0.0  # no overflow
