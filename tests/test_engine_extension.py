"""Adding an operation is ONE row of the table: softplus, defined once, works everywhere.

The row is added with `define_op` (what a row in microgradnn/ops.py does for the built-in
operations) and then checked in backward, second derivatives against sympy, the drawings,
gradcheck, the hypothesis strategies, the graph command, nn's activations and compiled batches.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator

import pytest
import sympy
from hypothesis import given, settings

from microgradnn import MLP, Value, define_op, draw_dot, grad, no_grad
from microgradnn.engine import gc_paused
from microgradnn.ops import OPS, sigmoid
from microgradnn.testing import assert_gradcheck, expression_graphs


def _softplus_numpy(a):  # noqa: ANN001, ANN202 - an array
    import numpy as np

    return np.logaddexp(0.0, a)


@pytest.fixture
def softplus() -> Iterator:
    """softplus(x) = ln(1 + eˣ);  d/dx = σ(x): the whole definition, in one place."""
    function = define_op(
        "softplus",
        lambda x: math.log1p(math.exp(-abs(x))) + max(x, 0.0),
        lambda out, x: sigmoid(x),
        numpy=_softplus_numpy,
        sympy=lambda sp, x: sp.log(1 + sp.exp(x)),
        activation=True,
    )
    yield function
    del OPS["softplus"]  # leave the table as the other tests expect it
    delattr(Value, "softplus")


X = sympy.Symbol("x", real=True)
SOFTPLUS = sympy.log(1 + sympy.exp(X))


@pytest.mark.parametrize("x0", [-3.0, -0.4, 0.0, 0.7, 5.0])
def test_backward_and_second_derivative_agree_with_sympy(softplus, x0: float) -> None:  # noqa: ANN001
    x = Value(x0, label="x")
    y = x.softplus()  # the method made from the row
    y.backward()
    assert y.data == pytest.approx(float(SOFTPLUS.subs(X, x0)), rel=1e-14)
    assert x.grad == pytest.approx(float(sympy.diff(SOFTPLUS, X).subs(X, x0)), rel=1e-14)
    (dy,) = grad(softplus(x), [x], create_graph=True)  # the same rule, on Values
    (d2y,) = grad(dy, [x])
    assert d2y == pytest.approx(float(sympy.diff(SOFTPLUS, X, 2).subs(X, x0)), rel=1e-12)


def test_gradcheck_of_a_function_using_it(softplus) -> None:  # noqa: ANN001
    assert_gradcheck(lambda a, b: (a * b).softplus() + softplus(a - 2.0), [0.3, -1.2])
    assert_gradcheck(lambda a: grad(a.softplus(), [a], create_graph=True)[0], [0.8])  # second order


def test_drawn_with_its_name_and_local_derivative(softplus) -> None:  # noqa: ANN001
    x = Value(0.5, label="x")
    y = x.softplus()
    y.backward()
    source = draw_dot(y, local_grads=True).source
    assert "softplus" in source
    assert f"{1 / (1 + math.exp(-0.5)):.4f}" in source  # ∂y/∂x = σ(0.5) on the edge


def test_no_grad_records_nothing(softplus) -> None:  # noqa: ANN001
    with no_grad():
        y = Value(1.0).softplus()
    assert y._prev == () and y._op == ""


def test_the_strategies_draw_it_and_sympy_agrees(softplus) -> None:  # noqa: ANN001
    drawn = []

    @settings(max_examples=60, deadline=None, database=None)
    @given(expression_graphs(n_leaves=2, max_ops=4, ops=["softplus", "mul", "add", "tanh"]))
    def check(graph) -> None:  # noqa: ANN001
        graph.output.backward()
        exact = graph.expression.sympy_derivatives(graph.values, [(0,), (1,)])
        assert [x.grad for x in graph.leaves] == pytest.approx(exact, rel=1e-8, abs=1e-10)
        drawn.append("softplus" in graph.expression.ops_used())

    check()
    assert any(drawn)


def test_the_graph_command_and_nn_can_use_it(softplus, capsys) -> None:  # noqa: ANN001
    from microgradnn.graph_command import FUNCTIONS
    from microgradnn.nn import activations

    assert "softplus" in FUNCTIONS and "softplus" in activations()
    model = MLP(2, [3, 1], activation="softplus", seed=0)
    dot_node = model([0.5, -1.0])._prev[0]  # the output is dot(w, h) + b; the dot's inputs are w + h
    assert [h._op for h in dot_node._prev[3:]] == ["softplus"] * 3  # h = softplus(w·x + b)


def test_compiled_batches_run_it(softplus) -> None:  # noqa: ANN001
    from microgradnn.compiled import compile_step

    w = [Value(0.3), Value(-0.7)]
    X = [[0.1, 2.0], [-1.0, 0.5], [3.0, -2.0]]
    step = compile_step(lambda x: (x[0] * w[0] + x[1] * w[1]).softplus(), w, X[0])
    loss = step(X)
    grads = [p.grad for p in w]
    for p in w:
        p.grad = 0.0
    total = sum((x[0] * w[0] + x[1] * w[1]).softplus() for x in X) / len(X)
    total.backward()
    assert loss == pytest.approx(total.data, rel=1e-12)
    assert grads == pytest.approx([p.grad for p in w], rel=1e-12)


def test_a_rule_of_the_wrong_shape_is_refused_at_once() -> None:
    with pytest.raises(TypeError, match="derivative itself"):
        define_op("bad_square", lambda x: x * x, lambda out, x: (2 * x,))
    assert "bad_square" not in OPS


@pytest.mark.parametrize("enabled_before", [True, False])
def test_gc_paused_restores_the_collectors_state_even_after_an_error(enabled_before: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled_before else gc.disable()
        with pytest.raises(RuntimeError), gc_paused():
            assert not gc.isenabled()
            raise RuntimeError("inside")
        assert gc.isenabled() is enabled_before
    finally:
        gc.enable() if was else gc.disable()


def test_define_op_neither_needs_nor_imports_numpy() -> None:
    # The rule is probed once when the row is attached; the table's functions must refuse that
    # probe without reaching for numpy, which a user of the scalar engine may not have at all.
    import subprocess
    import sys

    code = (
        "import math, sys; sys.modules['numpy'] = None\n"
        "from microgradnn import Value, define_op\n"
        "from microgradnn.ops import sigmoid\n"
        "softplus = define_op('softplus', lambda x: math.log1p(math.exp(x)), lambda out, x: sigmoid(x))\n"
        "x = Value(0.5); softplus(x).backward(); print(x.grad)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == pytest.approx(1 / (1 + math.exp(-0.5)), rel=1e-15)
