"""Higher-order derivatives: grad(..., create_graph=True) differentiated again, and hessian().

Oracles: closed forms for the issue's known cases, sympy's exact derivatives up to third
order for every operation (fused sum/dot included) and for random expression DAGs, and
central finite differences of first derivatives (gradcheck of a gradient function).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradnn.engine import Value, dot, grad, hessian, value_sum
from microgradnn.testing import ExpressionGraph, assert_gradcheck, expression_graphs, finite_floats

CLOSE = {"rel": 1e-9, "abs": 1e-12}
EXACT = {"rel": 1e-7, "abs": 1e-9}  # third derivatives of compositions vs sympy's formulas


def partials_by_engine(f: Callable[..., Value], point: Sequence[float], max_order: int) -> dict:
    """Every partial derivative of f up to max_order at point, by repeated grad(create_graph=True).

    Keys are index tuples in the order of differentiation: (0, 1) is ∂/∂x1 of ∂f/∂x0.
    """
    xs = [Value(v, label=f"x{i}") for i, v in enumerate(point)]
    level = {(): f(*xs)}
    result = {(): level[()].data}
    for _ in range(max_order):
        next_level = {}
        for key, node in level.items():
            for i, g in enumerate(grad(node, xs, create_graph=True)):
                assert isinstance(g, Value)
                next_level[(*key, i)] = g
                result[(*key, i)] = g.data
        level = next_level
    return result


@functools.cache
def sympy_partials_function(f: Callable[..., sympy.Expr], n_vars: int, keys: tuple[tuple, ...]) -> Callable:
    """A float function returning sympy's exact partial derivatives ``keys`` of f (made once per f)."""
    symbols = sympy.symbols(f"x0:{n_vars}", real=True)
    expr = f(*symbols)
    derivatives = [sympy.diff(expr, *(symbols[i] for i in key)) if key else expr for key in keys]
    return sympy.lambdify(symbols, derivatives, modules="math")


def partials_by_sympy(f: Callable[..., sympy.Expr], point: Sequence[float], keys: Sequence[tuple]) -> dict:
    return dict(zip(keys, sympy_partials_function(f, len(point), tuple(keys))(*point)))


def sym_sigmoid(a: sympy.Expr) -> sympy.Expr:
    return 1 / (1 + sympy.exp(-a))


def sym_relu(a: sympy.Expr) -> sympy.Expr:
    return sympy.Piecewise((a, a > 0), (0, True))


def sym_abs(a: sympy.Expr) -> sympy.Expr:
    return sympy.Piecewise((a, a > 0), (-a, True))  # sympy.Abs would differentiate to DiracDelta


def sym_leaky(a: sympy.Expr, alpha: float) -> sympy.Expr:
    return sympy.Piecewise((a, a > 0), (sympy.Rational(str(alpha)) * a, True))


ANY = finite_floats(-2.0, 2.0)
POSITIVE = finite_floats(0.25, 3.0)
AWAY = st.one_of(finite_floats(-2.0, -0.25), finite_floats(0.25, 2.0))  # kinks and poles stay away

# (name, domains of x0 and x1, the function on Values, the same function in sympy). Each puts
# the operation where second and third derivatives must flow through its local-gradient rule.
CASES = [
    ("add", (ANY, ANY),
     lambda x, y: (x + y) * (x + 2.0) * (3.0 + y),
     lambda x, y: (x + y) * (x + 2) * (3 + y)),
    ("sub", (ANY, ANY),
     lambda x, y: (x - y) * (3.0 - x) * (y - 1.0),
     lambda x, y: (x - y) * (3 - x) * (y - 1)),
    ("mul", (ANY, ANY),
     lambda x, y: x * y * x * y * 2.0,
     lambda x, y: 2 * x**2 * y**2),
    ("neg", (ANY, ANY),
     lambda x, y: -(x * y) * x,
     lambda x, y: -(x * y) * x),
    ("div", (ANY, AWAY),
     lambda x, y: x / y + 2.0 / (x * x + y * y),
     lambda x, y: x / y + 2 / (x**2 + y**2)),
    ("pow int", (AWAY, ANY),
     lambda x, y: x**3 * y**2 + x**-2 + (x * y) ** 4,
     lambda x, y: x**3 * y**2 + x**-2 + (x * y) ** 4),
    ("pow fractional", (POSITIVE, POSITIVE),
     lambda x, y: x**0.5 + (x * y) ** 1.5 + y**-0.5,
     lambda x, y: sympy.sqrt(x) + (x * y) ** sympy.Rational(3, 2) + y ** sympy.Rational(-1, 2)),
    ("pow value exponent", (POSITIVE, ANY),
     lambda x, y: x**y + (x * 2.0) ** (y * y),
     lambda x, y: x**y + (2 * x) ** (y**2)),
    ("pow of itself", (POSITIVE, ANY),
     lambda x, y: x**x * y,
     lambda x, y: x**x * y),
    ("rpow", (ANY, ANY),
     lambda x, y: 2.0 ** (x * y) + 0.5**x,
     lambda x, y: 2 ** (x * y) + sympy.Rational(1, 2) ** x),
    ("exp", (ANY, ANY),
     lambda x, y: (x * y).exp() + x.exp(),
     lambda x, y: sympy.exp(x * y) + sympy.exp(x)),
    ("log", (POSITIVE, POSITIVE),
     lambda x, y: (x * y).log() + (x + y * y).log() * x,
     lambda x, y: sympy.log(x * y) + sympy.log(x + y**2) * x),
    ("tanh", (ANY, ANY),
     lambda x, y: (x * y).tanh() + x.tanh() ** 2,
     lambda x, y: sympy.tanh(x * y) + sympy.tanh(x) ** 2),
    ("sigmoid", (ANY, ANY),
     lambda x, y: (x * y).sigmoid() * x,
     lambda x, y: sym_sigmoid(x * y) * x),
    ("relu", (AWAY, AWAY),
     lambda x, y: (x * y).relu() * x * x + y.relu() ** 3,
     lambda x, y: sym_relu(x * y) * x**2 + sym_relu(y) ** 3),
    ("leaky_relu", (AWAY, AWAY),
     lambda x, y: (x * y).leaky_relu(0.2) * x * y + x.leaky_relu() ** 3,
     lambda x, y: sym_leaky(x * y, 0.2) * x * y + sym_leaky(x, 0.01) ** 3),
    ("abs", (AWAY, AWAY),
     lambda x, y: abs(x * y) * x * x + y.abs() ** 3,
     lambda x, y: sym_abs(x * y) * x**2 + sym_abs(y) ** 3),
    ("sum", (ANY, ANY),
     lambda x, y: value_sum([x * x * x, x * y, y, 2.0]) * y + value_sum([x, x, y]) ** 3,
     lambda x, y: (x**3 + x * y + y + 2) * y + (2 * x + y) ** 3),
    ("dot", (ANY, ANY),
     lambda x, y: dot([x, y, x * y], [y, y, x]) ** 2 + dot([x], [x]) * y,
     lambda x, y: (x * y + y**2 + x**2 * y) ** 2 + x**2 * y),
]  # fmt: skip
ALL_KEYS_TO_THIRD_ORDER = [key for order in range(4) for key in itertools.product(range(2), repeat=order)]


@pytest.mark.parametrize(("name", "domains", "engine_f", "sympy_f"), CASES, ids=[c[0] for c in CASES])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_operation_up_to_third_order_matches_sympy(name, domains, engine_f, sympy_f, data) -> None:  # noqa: ANN001
    point = [data.draw(domain, label=f"x{i}") for i, domain in enumerate(domains)]
    got = partials_by_engine(engine_f, point, max_order=3)
    exact = partials_by_sympy(sympy_f, point, ALL_KEYS_TO_THIRD_ORDER)
    for key in ALL_KEYS_TO_THIRD_ORDER:
        assert got[key] == pytest.approx(exact[key], **EXACT), (name, key)


# ----------------------------------------------------------------------------- the cases
@settings(max_examples=50, deadline=None)
@given(finite_floats(-5.0, 5.0))
def test_second_and_third_derivative_of_x_cubed(x0: float) -> None:
    got = partials_by_engine(lambda x: x**3, [x0], max_order=3)
    assert got[(0,)] == pytest.approx(3 * x0**2, **CLOSE)
    assert got[(0, 0)] == pytest.approx(6 * x0, **CLOSE)
    assert got[(0, 0, 0)] == 6.0


@settings(max_examples=50, deadline=None)
@given(finite_floats(-5.0, 5.0), finite_floats(-5.0, 5.0))
def test_hessian_of_x_squared_y(x0: float, y0: float) -> None:
    h = hessian(lambda x, y: x**2 * y, [x0, y0])
    assert h == [pytest.approx([2 * y0, 2 * x0], **CLOSE), pytest.approx([2 * x0, 0.0], abs=0.0)]


@settings(max_examples=50, deadline=None)
@given(finite_floats(-4.0, 4.0))
def test_second_derivative_of_tanh(x0: float) -> None:
    t = math.tanh(x0)
    got = partials_by_engine(lambda x: x.tanh(), [x0], max_order=3)
    assert got[(0, 0)] == pytest.approx(-2 * t * (1 - t * t), **CLOSE)
    assert got[(0, 0, 0)] == pytest.approx(-2 * (1 - t * t) * (1 - 3 * t * t), **CLOSE)


def test_more_closed_forms_to_third_order() -> None:
    x0 = 0.7
    s = 1 / (1 + math.exp(-x0))
    sigmoid = partials_by_engine(lambda x: x.sigmoid(), [x0], max_order=3)
    assert sigmoid[(0, 0)] == pytest.approx(s * (1 - s) * (1 - 2 * s), **CLOSE)
    assert sigmoid[(0, 0, 0)] == pytest.approx(s * (1 - s) * (1 - 6 * s + 6 * s * s), **CLOSE)
    log = partials_by_engine(lambda x: x.log(), [x0], max_order=3)
    assert log[(0, 0)] == pytest.approx(-1 / x0**2, **CLOSE)
    assert log[(0, 0, 0)] == pytest.approx(2 / x0**3, **CLOSE)
    exp = partials_by_engine(lambda x: x.exp(), [x0], max_order=3)
    assert exp[(0, 0, 0)] == pytest.approx(math.exp(x0), **CLOSE)
    xyz = partials_by_engine(lambda x, y, z: x * y * z, [2.0, 3.0, 5.0], max_order=3)
    assert xyz[(0, 1)] == 5.0 and xyz[(0, 1, 2)] == 1.0 and xyz[(0, 0)] == 0.0
    inverse = partials_by_engine(lambda x: 1.0 / x, [x0], max_order=3)
    assert inverse[(0, 0, 0)] == pytest.approx(-6 / x0**4, **CLOSE)


# ----------------------------------------------------------------------------- random expressions
third_order_graphs = expression_graphs(st.integers(1, 3), max_ops=8)


@settings(max_examples=100, deadline=None)
@given(third_order_graphs, st.data())
def test_random_expressions_second_and_third_order_match_sympy(graph: ExpressionGraph, data) -> None:  # noqa: ANN001
    expression, xs = graph.expression, graph.leaves
    n = expression.n_leaves
    triple = tuple(data.draw(st.integers(0, n - 1), label="third-order index") for _ in range(3))
    pairs = [(i, j) for i in range(n) for j in range(n)]
    exact = expression.sympy_derivatives(graph.values, [*pairs, triple])
    first = grad(graph.output, xs, create_graph=True)
    second = [grad(g, xs, create_graph=True) for g in first]
    got = [second[i][j].data for i, j in pairs]
    i, j, k = triple
    got.append(grad(second[i][j], xs)[k])
    assert got == pytest.approx(exact, **EXACT)
    # Mixed partials commute: ∂²f/∂xi∂xj = ∂²f/∂xj∂xi.
    transposed = [second[j][i].data for i, j in pairs]
    assert [second[i][j].data for i, j in pairs] == pytest.approx(transposed, **CLOSE)


@settings(max_examples=100, deadline=None)
@given(third_order_graphs)
def test_hessian_of_random_expressions_matches_sympy(graph: ExpressionGraph) -> None:
    expression = graph.expression
    n = expression.n_leaves
    h = hessian(expression, graph.values)
    assert len(h) == n and all(len(row) == n and all(type(v) is float for v in row) for row in h)
    exact = expression.sympy_derivatives(graph.values, [(i, j) for i in range(n) for j in range(n)])
    assert [v for row in h for v in row] == pytest.approx(exact, **EXACT)


@settings(max_examples=100, deadline=None)
@given(expression_graphs(st.integers(1, 3), max_ops=8, kink_margin=0.01), st.data())
def test_first_derivatives_differentiated_again_match_finite_differences(graph: ExpressionGraph, data) -> None:  # noqa: ANN001,E501
    # gradcheck of the function x ↦ ∂f/∂xi (built with create_graph=True): its analytic column
    # is a second derivative by backward() through the gradient graph.
    i = data.draw(st.integers(0, graph.expression.n_leaves - 1), label="i")
    partial = lambda *xs: grad(graph.expression(*xs), xs[i], create_graph=True)[0]  # noqa: E731
    assert_gradcheck(partial, graph.values, rtol=1e-3, atol=1e-4)


# ----------------------------------------------------------------------------- grad() behaviour
def test_create_graph_gradients_are_values_in_a_graph_and_grad_attributes_stay_zero() -> None:
    x, y = Value(1.5), Value(-2.0)
    f = (x * y).tanh() + x**3
    gx, gy = grad(f, [x, y], create_graph=True)
    assert gx._prev and gy._prev  # built from the graph, so differentiable again
    assert all(node.grad == 0.0 for node in (x, y, f))
    gx.backward()  # backward works on a gradient graph too: it gives the Hessian's first row
    t = math.tanh(-3.0)
    assert x.grad == pytest.approx(-2 * t * (1 - t * t) * 4.0 + 6 * 1.5, **CLOSE)  # ∂²f/∂x²
    assert y.grad == pytest.approx((1 - t * t) - 2 * t * (1 - t * t) * (-3.0), **CLOSE)  # ∂²f/∂x∂y


def test_gradient_with_respect_to_an_unrelated_input_is_a_differentiable_zero() -> None:
    x, unrelated = Value(2.0), Value(5.0)
    (g,) = grad(x * x, [unrelated], create_graph=True)
    assert isinstance(g, Value) and g.data == 0.0
    assert grad(g, [x, unrelated]) == [0.0, 0.0]


def test_a_constant_first_derivative_has_zero_second_derivative() -> None:
    x = Value(3.0)
    (g,) = grad(x * 2.0 + 1.0, [x], create_graph=True)
    assert g.data == 2.0 and grad(g, [x]) == [0.0]


def test_create_graph_through_a_hand_built_node_raises_a_clear_error() -> None:
    x = Value(2.0)
    custom = Value(x.data**2, (x,), "sq")  # micrograd-style node: no differentiable rule
    custom._local = (2 * x.data,)
    assert grad(custom, [x]) == [4.0]  # first order uses the stored local gradient
    with pytest.raises(TypeError, match="was built by hand and has no differentiable rule"):
        grad(custom, [x], create_graph=True)


def test_hessian_accepts_values_and_labels_its_own_leaves() -> None:
    seen: list[str] = []

    def f(x: Value, y: Value) -> Value:
        seen.extend([x.label, y.label])
        return x * x * y + y.exp()

    h = hessian(f, [Value(1.0), 2])
    assert seen == ["x0", "x1"]
    assert h == [[4.0, 2.0], [2.0, pytest.approx(math.exp(2.0), **CLOSE)]]


def test_create_graph_gives_the_same_first_derivative_as_floats_where_it_is_infinite() -> None:
    x = Value(0.0)
    y = x**0.5
    assert grad(y, [x]) == [math.inf]  # √x has an infinite slope at 0: IEEE inf, as documented
    (g,) = grad(y, [x], create_graph=True)
    assert g.data == math.inf
