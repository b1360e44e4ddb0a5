"""The Value engine as micrograd users meet it: the constructor, micrograd's own examples, the
lecture's tanh neuron (including stepping `_backward()` by hand), and every operation.

Expected numbers come from independent oracles: sympy (exact rationals) for micrograd's
expressions, and closed-form derivatives written with `math` for single operations.
The hypothesis property tests (random graphs vs finite differences) live elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
import sympy

from microgradnn.engine import Value, dot, grad, hessian, topological_order, value_sum


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-12, abs=1e-15)


# ----------------------------------------------------------------------------- constructor
def test_constructor_defaults_match_the_lecture_version() -> None:
    v = Value(2.0)
    assert v.data == 2.0 and type(v.data) is float
    assert v.grad == 0.0 and type(v.grad) is float
    assert v._prev == () and type(v._prev) is tuple
    assert v._op == ""
    assert v.label == ""


def test_constructor_accepts_micrograd_positional_and_keyword_arguments() -> None:
    a, b = Value(1.0), Value(2.0)
    positional = Value(3.0, (a, b), "+", "c")
    keyword = Value(data=3.0, _children=(b, a), _op="+", label="c")
    assert positional._prev[0] is a and positional._prev[1] is b
    assert keyword._prev[0] is b and keyword._prev[1] is a
    assert positional._op == keyword._op == "+"
    assert positional.label == keyword.label == "c"


def test_constructor_accepts_a_set_of_children_as_micrograd_passes_them() -> None:
    a, b = Value(1.0), Value(2.0)
    node = Value(3.0, {a, b}, "+")
    assert type(node._prev) is tuple
    assert len(node._prev) == 2 and {id(p) for p in node._prev} == {id(a), id(b)}


@pytest.mark.parametrize("number", [3, -7, True, 2.5, Fraction(1, 4)])
def test_data_is_stored_as_a_float(number: object) -> None:
    v = Value(number)
    assert type(v.data) is float
    assert v.data == float(number)


def test_label_is_kept_and_op_results_can_be_labelled() -> None:
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = a * b
    assert a.label == "a" and b.label == "b"
    assert c.label == ""
    c.label = "c"
    assert c.label == "c"
    d = c + a
    assert c.label == "c" and d.label == ""


def test_repr_matches_micrograd_and_shows_the_label() -> None:
    a = Value(2.0)
    assert repr(a) == "Value(data=2.0, grad=0.0)"
    b = Value(-1.5, label="w1")
    assert repr(b) == "Value(data=-1.5, grad=0.0, label='w1')"
    c = a * b
    c.backward()
    assert repr(a) == "Value(data=2.0, grad=-1.5)"


# ----------------------------------------------------------------------------- micrograd's own examples
def sympy_relu(e: sympy.Expr) -> sympy.Expr:
    return sympy.Piecewise((e, e > 0), (0, True))


def readme_expression(a: Any, b: Any, relu: Callable[[Any], Any]) -> Any:
    """micrograd's README example (also its upstream `test_more_ops`), written once for any number type:
    our Values, micrograd's Values or sympy expressions."""
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + relu(b + a)
    d += 3 * d + relu(b - a)
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


def sanity_expression(x: Any, relu: Callable[[Any], Any]) -> Any:
    """The expression of micrograd's upstream `test_sanity_check`."""
    z = 2 * x + 2 + x
    q = relu(z) + z * x
    h = relu(z * z)
    return h + q + q * x


def readme_oracle() -> tuple[float, float, float]:
    """g, dg/da, dg/db at a = -4, b = 2, exact in sympy."""
    a, b = sympy.symbols("a b")
    # the README writes 2.0 and 10.0: make them exact rationals so that sympy computes exactly
    g = sympy.nsimplify(readme_expression(a, b, sympy_relu), rational=True)
    at = {a: -4, b: 2}
    exact = [expr.subs(at) for expr in (g, sympy.diff(g, a), sympy.diff(g, b))]
    assert all(isinstance(e, sympy.Rational) for e in exact)
    return tuple(float(e) for e in exact)


def test_readme_example_matches_sympy_and_the_printed_numbers() -> None:
    g_exact, dg_da, dg_db = readme_oracle()
    a, b = Value(-4.0), Value(2.0)
    g = readme_expression(a, b, Value.relu)
    g.backward()
    assert g.data == approx(g_exact)
    assert a.grad == approx(dg_da)
    assert b.grad == approx(dg_db)
    # the numbers micrograd's README prints
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


def test_upstream_more_ops_expression_matches_sympy() -> None:
    # sympy gives g = 2421/98, dg/da = 47620/343, dg/db = 221433/343 exactly
    g_exact, dg_da, dg_db = readme_oracle()
    assert (g_exact, dg_da, dg_db) == (2421 / 98, 47620 / 343, 221433 / 343)
    a, b = Value(-4.0), Value(2.0)
    g = readme_expression(a, b, Value.relu)
    g.backward()
    assert abs(g.data - g_exact) < 1e-12
    assert abs(a.grad - dg_da) < 1e-10
    assert abs(b.grad - dg_db) < 1e-10


def test_upstream_sanity_check_expression_matches_sympy() -> None:
    x_symbol = sympy.Symbol("x")
    y_symbolic = sanity_expression(x_symbol, sympy_relu)
    y_exact = y_symbolic.subs(x_symbol, -4)
    dy_exact = sympy.diff(y_symbolic, x_symbol).subs(x_symbol, -4)
    assert (y_exact, dy_exact) == (-20, 46)  # by hand: z = -10, q = 40, h = 100
    x = Value(-4.0)
    y = sanity_expression(x, Value.relu)
    y.backward()
    assert y.data == -20.0
    assert x.grad == 46.0


def test_same_results_as_micrograd_itself() -> None:
    micrograd_engine = pytest.importorskip("micrograd.engine")
    theirs_a, theirs_b = micrograd_engine.Value(-4.0), micrograd_engine.Value(2.0)
    theirs = readme_expression(theirs_a, theirs_b, micrograd_engine.Value.relu)
    theirs.backward()
    ours_a, ours_b = Value(-4.0), Value(2.0)
    ours = readme_expression(ours_a, ours_b, Value.relu)
    ours.backward()
    assert ours.data == approx(theirs.data)
    assert ours_a.grad == approx(theirs_a.grad)
    assert ours_b.grad == approx(theirs_b.grad)

    theirs_x = micrograd_engine.Value(-4.0)
    theirs_y = sanity_expression(theirs_x, micrograd_engine.Value.relu)
    theirs_y.backward()
    ours_x = Value(-4.0)
    ours_y = sanity_expression(ours_x, Value.relu)
    ours_y.backward()
    assert (ours_y.data, ours_x.grad) == (theirs_y.data, theirs_x.grad)


def test_micrograd_style_code_runs_unchanged() -> None:
    # what micrograd's nn.py does: Python's sum with a Value start, relu, parameters' data updates
    w = [Value(0.5), Value(-1.0)]
    bias = Value(0.25)
    x = [2.0, 3.0]
    act = sum((wi * xi for wi, xi in zip(w, x)), bias)
    out = act.relu() + sum([Value(1.0), Value(2.0)])  # sum() starts from the int 0
    out.backward()
    assert act.data == 0.5 * 2.0 - 1.0 * 3.0 + 0.25
    assert out.data == 3.0
    assert [p.grad for p in w] == [0.0, 0.0] and bias.grad == 0.0  # act < 0: relu blocks
    for p in w:
        p.data += -0.1 * p.grad
    assert [p.data for p in w] == [0.5, -1.0]


# ----------------------------------------------------------------------------- the lecture's tanh neuron
LECTURE_BIAS = 6.8813735870195432


def lecture_neuron(activation: str = "tanh") -> dict[str, Value]:
    """The lecture's neuron o = tanh(x1·w1 + x2·w2 + b), every node labelled as in the lecture."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(LECTURE_BIAS, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    if activation == "tanh":
        o = n.tanh()
    else:  # the lecture's second version: tanh spelled with exp
        e = (2 * n).exp()
        o = (e - 1) / (e + 1)
    o.label = "o"
    return dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, x1w1=x1w1, x2w2=x2w2, x1w1x2w2=x1w1x2w2, n=n, o=o)


def expected_neuron_grads() -> dict[str, float]:
    # n = 2·(−3) + 0·1 + b = asinh(1), so o = tanh(asinh 1) = 1/√2 and do/dn = 1 − o² = 1/2
    do_dn = 1.0 - 0.5
    return dict(o=1.0, n=do_dn, b=do_dn, x1w1x2w2=do_dn, x1w1=do_dn, x2w2=do_dn,
                x1=-3.0 * do_dn, w1=2.0 * do_dn, x2=1.0 * do_dn, w2=0.0 * do_dn)


@pytest.mark.parametrize("activation", ["tanh", "exp"])
def test_lecture_neuron_forward_and_backward(activation: str) -> None:
    nodes = lecture_neuron(activation)
    o = nodes["o"]
    assert o.data == pytest.approx(1 / math.sqrt(2), rel=1e-12)
    assert f"{o.data:.4f}" == "0.7071"
    o.backward()
    for name, expected in expected_neuron_grads().items():
        assert nodes[name].grad == pytest.approx(expected, rel=1e-9, abs=1e-12), name
    assert nodes["w2"].grad == 0.0


def test_lecture_neuron_stepped_by_hand_node_by_node() -> None:
    nodes = lecture_neuron()
    expected = expected_neuron_grads()
    o = nodes["o"]
    o.grad = 1.0
    # the lecture's order; after each step the gradients of that node's inputs are final
    steps = [("o", ["n"]), ("n", ["x1w1x2w2", "b"]), ("b", []), ("x1w1x2w2", ["x1w1", "x2w2"]),
             ("x2w2", ["x2", "w2"]), ("x1w1", ["x1", "w1"])]
    for name, finished in steps:
        untouched = [k for k, v in nodes.items() if v.grad == 0.0]
        nodes[name]._backward()
        for input_name in finished:
            assert nodes[input_name].grad == pytest.approx(expected[input_name], rel=1e-9), input_name
        for k in untouched:
            if k not in finished:
                assert nodes[k].grad == 0.0, f"{name}._backward() touched {k}"
    for name, value in expected.items():
        assert nodes[name].grad == pytest.approx(value, rel=1e-9, abs=1e-12), name


def test_lecture_neuron_stepped_in_reverse_topological_order_equals_backward() -> None:
    by_hand = lecture_neuron()
    by_hand["o"].grad = 1.0
    for node in reversed(topological_order(by_hand["o"])):
        node._backward()
    automatic = lecture_neuron()
    automatic["o"].backward()
    for name in by_hand:
        assert by_hand[name].grad == automatic[name].grad, name


def test_backward_step_on_a_leaf_does_nothing() -> None:
    leaf = Value(3.0)
    leaf.grad = 5.0
    leaf._backward()
    assert leaf.grad == 5.0 and leaf._prev == ()


# ----------------------------------------------------------------------------- operations
LN2 = math.log(2.0)


def sigmoid(x: float) -> float:
    """σ(x) = 1/(1 + e^−x); its derivative is σ(x)·(1 − σ(x)) = σ(x)·σ(−x)."""
    return 1.0 / (1.0 + math.exp(-x))


# (id, operation, input, expected data, expected d(data)/d(input)); closed forms by hand
UNARY_CASES = [
    ("x + int", lambda x: x + 2, 3.0, 5.0, 1.0),
    ("int + x", lambda x: 2 + x, 3.0, 5.0, 1.0),
    ("float + x", lambda x: 0.5 + x, 3.0, 3.5, 1.0),
    ("x - int", lambda x: x - 2, 3.0, 1.0, 1.0),
    ("int - x", lambda x: 1 - x, 3.0, -2.0, -1.0),
    ("float - x", lambda x: 0.5 - x, 3.0, -2.5, -1.0),
    ("x * float", lambda x: x * 2.5, 3.0, 7.5, 2.5),
    ("int * x", lambda x: 2 * x, 3.0, 6.0, 2.0),
    ("x / int", lambda x: x / 4, 3.0, 0.75, 0.25),
    ("int / x", lambda x: 1 / x, 4.0, 0.25, -1.0 / 16.0),
    ("float / x", lambda x: 3.0 / x, 2.0, 1.5, -3.0 / 4.0),
    ("-x", lambda x: -x, 3.0, -3.0, -1.0),
    ("x ** int", lambda x: x**3, 2.0, 8.0, 12.0),
    ("x ** int, negative base", lambda x: x**3, -2.0, -8.0, 12.0),
    ("x ** float", lambda x: x**0.5, 4.0, 2.0, 0.25),
    ("x ** negative int", lambda x: x**-2, 2.0, 0.25, -0.25),
    ("x ** 0", lambda x: x**0, 5.0, 1.0, 0.0),
    ("x ** 1", lambda x: x**1, 5.0, 5.0, 1.0),
    ("int ** x", lambda x: 2**x, 3.0, 8.0, 8.0 * LN2),
    ("float ** x", lambda x: 0.5**x, 2.0, 0.25, 0.25 * math.log(0.5)),
    ("exp", lambda x: x.exp(), 1.5, math.exp(1.5), math.exp(1.5)),
    ("log", lambda x: x.log(), 2.0, LN2, 0.5),
    ("tanh", lambda x: x.tanh(), 0.5, math.tanh(0.5), 1.0 / math.cosh(0.5) ** 2),
    ("sigmoid at 0", lambda x: x.sigmoid(), 0.0, 0.5, 0.25),
    ("sigmoid positive", lambda x: x.sigmoid(), 2.0, sigmoid(2.0), sigmoid(2.0) * sigmoid(-2.0)),
    ("sigmoid negative", lambda x: x.sigmoid(), -3.0, sigmoid(-3.0), sigmoid(-3.0) * sigmoid(3.0)),
    ("relu positive", lambda x: x.relu(), 1.5, 1.5, 1.0),
    ("relu negative", lambda x: x.relu(), -1.5, 0.0, 0.0),
    ("relu at 0", lambda x: x.relu(), 0.0, 0.0, 0.0),
    ("leaky_relu positive", lambda x: x.leaky_relu(), 2.0, 2.0, 1.0),
    ("leaky_relu negative", lambda x: x.leaky_relu(), -2.0, -0.02, 0.01),
    ("leaky_relu alpha", lambda x: x.leaky_relu(alpha=0.2), -2.0, -0.4, 0.2),
    ("leaky_relu alpha positional", lambda x: x.leaky_relu(0.5), -4.0, -2.0, 0.5),
    ("abs() negative", lambda x: abs(x), -3.0, 3.0, -1.0),
    ("abs method positive", lambda x: x.abs(), 2.5, 2.5, 1.0),
    ("abs at 0", lambda x: abs(x), 0.0, 0.0, 0.0),
]


@pytest.mark.parametrize(("operation", "x0", "data", "derivative"),
                         [case[1:] for case in UNARY_CASES], ids=[case[0] for case in UNARY_CASES])
def test_operation_value_and_gradient(
    operation: Callable[[Value], Value], x0: float, data: float, derivative: float
) -> None:
    x = Value(x0)
    y = operation(x)
    assert isinstance(y, Value)
    assert any(p is x for p in y._prev), "the input must be a direct input of the result node"
    assert y.data == approx(data)
    y.backward()
    assert x.grad == approx(derivative)


def test_binary_operations_between_values() -> None:
    a, b = Value(3.0), Value(-2.0)
    cases = [
        (lambda: a + b, 1.0, 1.0, 1.0),
        (lambda: a - b, 5.0, 1.0, -1.0),
        (lambda: a * b, -6.0, -2.0, 3.0),
        (lambda: a / b, -1.5, -0.5, -3.0 / 4.0),
    ]
    for build, data, da, db in cases:
        a.grad = b.grad = 0.0
        out = build()
        assert out._prev[0] is a and out._prev[1] is b
        out.backward()
        assert (out.data, a.grad, b.grad) == (approx(data), approx(da), approx(db))


def test_value_exponent_gives_gradient_to_base_and_exponent() -> None:
    a, b = Value(2.0), Value(3.0)
    out = a**b
    assert out._op == "**"
    assert out._prev[0] is a and out._prev[1] is b
    assert out.data == 8.0
    out.backward()
    assert a.grad == approx(3.0 * 2.0**2)  # b·a^(b−1)
    assert b.grad == approx(8.0 * LN2)  # a^b·ln a


def test_value_to_the_power_of_itself() -> None:
    x = Value(2.0)
    y = x**x
    y.backward()
    assert y.data == 4.0
    assert x.grad == approx(4.0 * (LN2 + 1.0))  # d/dx x^x = x^x (ln x + 1)


def test_number_base_node_has_the_value_as_exponent_input() -> None:
    x = Value(3.0)
    y = 2**x
    assert y._op == "**"
    assert y._prev[1] is x and y._prev[0].data == 2.0 and y._prev[0]._prev == ()


def test_number_operands_become_leaf_inputs() -> None:
    x = Value(3.0)
    for node in (x * 2, 2 * x, x + 1.5, 1.5 + x, x - 1, 1 - x, x / 2, 2 / x):
        assert len(node._prev) == 2
        numbers = [p for p in node._prev if p is not x]
        assert len(numbers) == 1 and numbers[0]._prev == () and isinstance(numbers[0], Value)
        assert numbers[0].data in (2.0, 1.5, 1.0)


OP_NAMES = [
    (lambda a, b: a + b, "+"),
    (lambda a, b: a * b, "*"),
    (lambda a, b: a - b, "-"),
    (lambda a, b: a / b, "/"),
    (lambda a, b: -a, "neg"),
    (lambda a, b: a**2, "**2"),
    (lambda a, b: a**-1, "**-1"),
    (lambda a, b: a**0.5, "**0.5"),
    (lambda a, b: a**b, "**"),
    (lambda a, b: a.exp(), "exp"),
    (lambda a, b: a.log(), "log"),
    (lambda a, b: a.tanh(), "tanh"),
    (lambda a, b: a.sigmoid(), "sigmoid"),
    (lambda a, b: a.relu(), "ReLU"),
    (lambda a, b: a.leaky_relu(), "LeakyReLU"),
    (lambda a, b: a.abs(), "abs"),
    (lambda a, b: value_sum([a, b]), "sum"),
    (lambda a, b: dot([a], [b]), "dot"),
]


@pytest.mark.parametrize(("build", "name"), OP_NAMES, ids=[name for _, name in OP_NAMES])
def test_op_names_are_the_micrograd_strings(build: Callable[[Value, Value], Value], name: str) -> None:
    node = build(Value(2.0), Value(3.0))
    assert node._op == name
    assert isinstance(node._op, str)
    assert str(node._op) == name
    assert len(node._local) == len(node._prev)


def test_leaky_relu_with_another_alpha_names_it() -> None:
    assert Value(1.0).leaky_relu(0.2)._op == "LeakyReLU(0.2)"


def test_local_gradients_are_aligned_with_inputs() -> None:
    a, b = Value(3.0), Value(5.0)
    assert (a * b)._local == (5.0, 3.0)
    assert (a - b)._local == (1.0, -1.0)
    assert (a / b)._local == (approx(1 / 5), approx(-3 / 25))
    assert dot([a, b], [b, a])._local == (5.0, 3.0, 3.0, 5.0)


# ----------------------------------------------------------------------------- fused n-ary nodes
@pytest.mark.parametrize("summation", [value_sum, Value.sum], ids=["value_sum", "Value.sum"])
def test_sum_is_one_node_with_many_inputs(summation: Callable[[list[Value]], Value]) -> None:
    xs = [Value(float(i), label=f"x{i}") for i in range(1, 6)]
    s = summation(xs)
    assert s._op == "sum"
    assert len(s._prev) == 5
    assert all(p is x for p, x in zip(s._prev, xs))
    assert s.data == 15.0
    assert len(topological_order(s)) == 6  # five leaves and the one sum node
    out = s * s
    out.backward()
    assert s.grad == 30.0
    assert [x.grad for x in xs] == [30.0] * 5


def test_sum_wraps_numbers_accepts_any_iterable_and_counts_repeats() -> None:
    a = Value(2.0)
    s = value_sum(v for v in (a, 3, a, 0.5))
    assert len(s._prev) == 4 and s._prev[0] is a and s._prev[2] is a
    assert s.data == 7.5
    s.backward()
    assert a.grad == 2.0


def test_large_sum_is_still_one_node() -> None:
    xs = [Value(float(i)) for i in range(1000)]
    s = value_sum(xs)
    assert len(s._prev) == 1000
    assert s.data == sum(range(1000))
    s.backward()
    assert all(x.grad == 1.0 for x in xs)


@pytest.mark.parametrize("product", [dot, Value.dot], ids=["dot", "Value.dot"])
def test_dot_is_one_node_with_inputs_xs_then_ys(product: Callable[[list[Value], list[Value]], Value]) -> None:
    xs = [Value(1.0), Value(-2.0), Value(3.0)]
    ws = [Value(0.5), Value(4.0), Value(-1.0)]
    d = product(xs, ws)
    assert d._op == "dot"
    assert len(d._prev) == 6
    assert all(p is v for p, v in zip(d._prev, xs + ws))
    assert d.data == 0.5 - 8.0 - 3.0
    assert len(topological_order(d)) == 7
    d.backward()
    assert [x.grad for x in xs] == [0.5, 4.0, -1.0]  # ∂/∂xᵢ = wᵢ
    assert [w.grad for w in ws] == [1.0, -2.0, 3.0]  # ∂/∂wᵢ = xᵢ


def test_dot_with_number_inputs_and_with_itself() -> None:
    ws = [Value(2.0), Value(-1.0)]
    d = dot([3, 0.5], ws)
    assert d.data == 5.5 and len(d._prev) == 4
    d.backward()
    assert [w.grad for w in ws] == [3.0, 0.5]

    xs = [Value(3.0), Value(-4.0)]
    squared_norm = dot(xs, xs)
    squared_norm.backward()
    assert squared_norm.data == 25.0
    assert [x.grad for x in xs] == [6.0, -8.0]  # ∂(Σxᵢ²)/∂xᵢ = 2xᵢ


def test_neuron_as_dot_plus_bias_matches_the_unfused_chain() -> None:
    xs = [0.3, -1.2, 2.0]
    fused_w = [Value(v) for v in (0.1, 0.2, -0.7)]
    fused_b = Value(0.05)
    fused = (dot(fused_w, xs) + fused_b).tanh()
    fused.backward()
    chain_w = [Value(v) for v in (0.1, 0.2, -0.7)]
    chain_b = Value(0.05)
    chain = (chain_w[0] * xs[0] + chain_w[1] * xs[1] + chain_w[2] * xs[2] + chain_b).tanh()
    chain.backward()
    assert fused.data == approx(chain.data)
    assert [w.grad for w in fused_w] == [approx(w.grad) for w in chain_w]
    assert fused_b.grad == approx(chain_b.grad)


# ----------------------------------------------------------------------------- comparisons, equality, hashing
def test_ordering_compares_data_and_returns_bool() -> None:
    two, three = Value(2.0), Value(3.0)
    results = [two < three, two <= three, three > two, three >= two, two < 3, 3 > two, 2 <= two, two >= 2,
               not (three < two), not (two > 2.5)]
    assert all(type(r) is bool for r in results)
    assert all(results)


def test_sorting_min_and_max_work_on_values() -> None:
    vs = [Value(3.0), Value(-1.0), Value(2.0)]
    assert [v.data for v in sorted(vs)] == [-1.0, 2.0, 3.0]
    assert max(vs) is vs[0] and min(vs) is vs[1]


def test_equality_and_hash_are_identity() -> None:
    a, b = Value(1.0), Value(1.0)
    assert a == a
    assert a != b
    assert not (a == b)
    assert a != 1.0  # not compared by data
    assert len({a, b}) == 2
    grads = {a: "first", b: "second"}
    assert grads[a] == "first" and grads[b] == "second"
    assert hash(a) != hash(b)
    assert a in [b, a] and Value(1.0) not in [a, b]


# ----------------------------------------------------------------------------- zero_grad, grad(), hessian()
def test_zero_grad_clears_the_node_and_everything_it_depends_on() -> None:
    a, b, unrelated = Value(2.0), Value(3.0), Value(4.0)
    unrelated.grad = 7.0
    out = (a * b).tanh() + a
    out.backward()
    assert a.grad != 0.0 and b.grad != 0.0
    out.zero_grad()
    assert all(node.grad == 0.0 for node in topological_order(out))
    assert unrelated.grad == 7.0


def test_grad_function_returns_floats_and_leaves_grad_attributes_alone() -> None:
    x, y, z = Value(2.0), Value(3.0), Value(5.0)
    f = x * y + y**3
    gx, gy, gz = grad(f, [x, y, z])
    assert (gx, gy, gz) == (3.0, 2.0 + 27.0, 0.0)  # ∂f/∂x = y, ∂f/∂y = x + 3y², z unused
    assert all(type(g) is float for g in (gx, gy, gz))
    assert x.grad == y.grad == f.grad == 0.0
    assert grad(f, x) == [3.0]


def test_grad_with_create_graph_can_be_differentiated_again() -> None:
    x, y = Value(2.0), Value(3.0)
    f = x * y + y**3
    gx, gy = grad(f, [x, y], create_graph=True)
    assert isinstance(gx, Value) and isinstance(gy, Value)
    assert (gx.data, gy.data) == (3.0, 29.0)
    assert grad(gy, [x, y]) == [1.0, 18.0]  # ∂²f/∂y∂x = 1, ∂²f/∂y² = 6y


def test_hessian_smoke() -> None:
    h = hessian(lambda x, y: x * y + y**3 + x.exp(), [0.0, 3])
    assert h == [[approx(1.0), approx(1.0)], [approx(1.0), approx(18.0)]]
