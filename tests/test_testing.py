"""microgradnn.testing itself: gradcheck, the expression descriptions, and the hypothesis strategies.

gradcheck is checked on functions with closed-form derivatives and on deliberately wrong
gradients (hand-built nodes with a wrong local gradient, as a user's custom op could have);
the strategies on the properties they promise (valid domains, bounded values, real fan-out,
readable and correct formulas, small shrunk counterexamples).
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import pytest
import sympy
from hypothesis import Phase, example, given, seed, settings
from hypothesis import strategies as st

from microgradnn.engine import Value, grad, topological_order
from microgradnn.testing import (
    ALL_OPS,
    KINK_OPS,
    SMOOTH_OPS,
    Expression,
    ExpressionBuilder,
    ExpressionGraph,
    GradcheckError,
    GradcheckResult,
    Node,
    assert_gradcheck,
    expression_graphs,
    expressions,
    finite_floats,
    gradcheck,
)


def wrong_square(x: Value, slope_factor: float = 2.0) -> Value:
    """x², hand-built with local gradient slope_factor·x: wrong unless slope_factor == 2."""
    out = Value(x.data * x.data, (x,), "sq")
    out._local = (slope_factor * x.data,)
    return out


# ----------------------------------------------------------------------------- gradcheck
def test_gradcheck_agrees_on_a_correct_function_with_closed_form_derivatives() -> None:
    result = gradcheck(lambda x, y: x * y + y.exp(), [1.5, -0.5])
    assert isinstance(result, GradcheckResult) and result.ok and bool(result)
    x_row, y_row = result.rows
    assert (x_row.name, x_row.value, y_row.name, y_row.value) == ("x0", 1.5, "x1", -0.5)
    assert x_row.analytic == pytest.approx(-0.5, abs=1e-15)  # ∂/∂x = y
    assert y_row.analytic == pytest.approx(1.5 + math.exp(-0.5), rel=1e-15)  # ∂/∂y = x + e^y
    assert x_row.numeric == pytest.approx(-0.5, rel=1e-8)
    assert y_row.numeric == pytest.approx(1.5 + math.exp(-0.5), rel=1e-8)
    assert result.output == pytest.approx(1.5 * -0.5 + math.exp(-0.5), rel=1e-15)
    assert result.failures == ()


def test_gradcheck_finds_a_wrong_local_gradient_and_names_only_that_input() -> None:
    # f = x·y + x²(wrong) ; the wrong rule says ∂x²/∂x = 3x, so only ∂f/∂x is off.
    result = gradcheck(lambda x, y: x * y + wrong_square(x, 3.0), [2.0, 5.0])
    assert not result.ok and not bool(result)
    bad, good = result.rows
    assert not bad.ok and good.ok
    assert bad.analytic == 5.0 + 6.0 and bad.numeric == pytest.approx(5.0 + 4.0, rel=1e-8)
    assert result.failures == (bad,)
    assert bad.abs_error == pytest.approx(2.0, rel=1e-7)


def test_assert_gradcheck_raises_with_the_table() -> None:
    with pytest.raises(GradcheckError) as caught:
        assert_gradcheck(lambda x, y: x * y + wrong_square(x, 3.0), [Value(2.0, label="w"), 5.0])
    message = str(caught.value)
    assert isinstance(caught.value, AssertionError)
    assert caught.value.result.failures[0].name == "w"
    lines = message.splitlines()
    assert lines[0].startswith("gradcheck: 1 of 2 inputs disagree")
    assert lines[1].split()[:2] == ["input", "value"]
    assert lines[2].split()[0] == "w" and lines[2].rstrip().endswith("NO")
    assert lines[3].split()[0] == "x1" and lines[3].rstrip().endswith("yes")
    assert "11" in lines[2] and "9" in lines[2]  # analytic 11, numeric ≈ 9


def test_assert_gradcheck_returns_the_result_when_all_agree() -> None:
    result = assert_gradcheck(lambda x: x.tanh(), [0.3])
    assert result.ok and result.rows[0].analytic == pytest.approx(1 - math.tanh(0.3) ** 2, rel=1e-15)


def test_tolerances_are_absolute_plus_relative_to_the_numeric_gradient() -> None:
    # Analytic gradient off by a relative 1e-4: within rtol=1e-3, outside rtol=1e-6 with atol=0.
    f = lambda x: wrong_square(x, 2.0 * (1 + 1e-4))  # noqa: E731
    assert gradcheck(f, [3.0]).ok
    assert not gradcheck(f, [3.0], rtol=1e-6, atol=0.0).ok
    assert gradcheck(f, [3.0], rtol=0.0, atol=1e-3).ok  # |error| = 6e-4


def test_argument_values_are_copied_not_touched() -> None:
    x = Value(0.7, label="a")
    x.grad = 42.0
    seen: list[Value] = []

    def f(v: Value) -> Value:
        seen.append(v)
        return v * v * v

    result = gradcheck(f, [x])
    assert result.ok and result.rows[0].name == "a"
    assert all(v is not x for v in seen) and {v.label for v in seen} == {"a"}
    assert x.data == 0.7 and x.grad == 42.0


def test_closure_over_values_perturbs_in_place_and_restores_data_and_grads_exactly() -> None:
    w = [Value(0.1 * k - 0.35, label=f"w{k}") for k in range(7)]
    for k, p in enumerate(w):
        p.grad = float(k)  # pre-existing gradients must survive the check
    before = [(p.data, p.grad) for p in w]
    xs = [0.3, -1.2, 0.8, 2.0, -0.4, 1.1, 0.05]
    loss = lambda: sum(((wk * x).tanh() - 0.5) ** 2 for wk, x in zip(w, xs))  # noqa: E731
    result = assert_gradcheck(loss, w)
    assert [row.name for row in result.rows] == [p.label for p in w]
    assert [(p.data, p.grad) for p in w] == before
    for row, p, x in zip(result.rows, w, xs):  # ∂/∂w = 2(tanh(wx) − ½)(1 − tanh²(wx))·x
        t = math.tanh(p.data * x)
        assert row.analytic == pytest.approx(2 * (t - 0.5) * (1 - t * t) * x, rel=1e-12)


def test_closure_data_is_restored_even_when_f_raises_midway() -> None:
    p = Value(1.25, label="p")
    calls = []

    def loss() -> Value:
        calls.append(p.data)
        if len(calls) == 3:  # the first perturbed evaluation
            raise RuntimeError("boom")
        return p * p

    with pytest.raises(RuntimeError, match="boom"):
        gradcheck(loss, [p])
    assert calls[2] != 1.25 and p.data == 1.25


def test_gradcheck_of_a_model_loss_with_respect_to_its_parameters() -> None:
    nn = pytest.importorskip("microgradnn.nn")
    model = nn.MLP(2, [3, 1], activation="tanh", seed=7)
    data = [([0.5, -1.0], 1.0), ([-0.3, 0.8], -1.0), ([1.2, 0.1], 0.5)]

    def loss() -> Value:
        return sum((model(x) - y) ** 2 for x, y in data)

    params = model.parameters()
    before = [(p.data, p.grad) for p in params]
    result = assert_gradcheck(loss, params)
    assert len(result.rows) == len(params) == 13
    assert [row.name for row in result.rows] == [p.label for p in params]
    assert all(row.name.startswith("layers.") for row in result.rows)
    assert [(p.data, p.grad) for p in model.parameters()] == before
    # The analytic column is backward()'s: the same numbers a training step would use.
    loss().backward()
    assert [row.analytic for row in result.rows] == pytest.approx([p.grad for p in params], rel=1e-12)


def test_an_input_the_function_ignores_has_zero_gradient_both_ways() -> None:
    result = gradcheck(lambda x, y: x.exp(), [0.5, 3.0])
    assert result.ok and result.rows[1].analytic == 0.0 and result.rows[1].numeric == 0.0


def test_a_step_across_a_domain_boundary_is_reported_not_raised() -> None:
    result = gradcheck(lambda x: x.log(), [1e-7])
    (row,) = result.rows
    assert not result.ok and math.isnan(row.numeric)
    assert "ValueError" in row.note and "log" in row.note
    assert row.analytic == pytest.approx(1e7)
    assert "ValueError" in str(result)


def test_gradcheck_checks_second_derivatives_through_create_graph() -> None:
    # f(x) = d/dx x³ = 3x², so gradcheck compares d²/dx² x³ = 6x with differences of 3x².
    first_derivative = lambda x: grad(x**3, [x], create_graph=True)[0]  # noqa: E731
    result = assert_gradcheck(first_derivative, [1.5])
    assert result.rows[0].analytic == pytest.approx(9.0, rel=1e-14)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"eps": 0.0}, r"gradcheck\(eps\) must be > 0, got 0\.0"),
        ({"eps": math.nan}, r"gradcheck\(eps\) must be a finite number, got nan"),
        ({"atol": -1e-3}, r"gradcheck\(atol\) must be >= 0, got -0\.001"),
        ({"rtol": math.inf}, r"gradcheck\(rtol\) must be a finite number, got inf"),
    ],
)
def test_bad_tolerances_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gradcheck(lambda x: x, [1.0], **kwargs)


def test_bad_inputs_and_functions_are_rejected_with_specific_messages() -> None:
    with pytest.raises(ValueError, match="inputs is empty"):
        gradcheck(lambda: Value(1.0), [])
    with pytest.raises(TypeError, match="wrap one in a list"):
        gradcheck(lambda x: x, Value(1.0))
    with pytest.raises(TypeError, match="input 1 must be a number or a Value, got str"):
        gradcheck(lambda x, y: x, [1.0, "2"])
    with pytest.raises(TypeError, match="f must be callable"):
        gradcheck(3.0, [1.0])
    with pytest.raises(TypeError, match="f must return a Value"):
        gradcheck(lambda x: x.data * 2, [1.0])
    with pytest.raises(TypeError, match=r"accepts neither 3 positional argument\(s\)"):
        gradcheck(lambda x, y: x * y, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="input 1 is the number 2.0"):
        gradcheck(lambda: Value(1.0), [Value(1.0), 2.0])


def test_numpy_numbers_are_accepted_as_inputs() -> None:
    numpy = pytest.importorskip("numpy")
    result = gradcheck(lambda x, y: x * y, [numpy.float64(2.0), numpy.int64(3)])
    assert result.ok and [row.value for row in result.rows] == [2.0, 3.0]


def test_result_summary_and_repr() -> None:
    result = gradcheck(lambda x, y: x * y, [2.0, 3.0])
    assert result.summary().startswith("gradcheck: all 2 inputs agree")
    assert repr(result).startswith("<GradcheckResult: gradcheck: all 2 inputs agree")
    assert str(result).splitlines()[0] == result.summary()
    assert gradcheck(lambda x: x * x, [1.0]).summary().startswith("gradcheck: the input agrees (f = 1;")
    one_wrong = gradcheck(lambda x: wrong_square(x, 3.0), [1.0])
    assert one_wrong.summary().startswith("gradcheck: the input disagrees")


# ----------------------------------------------------------------------------- expressions by hand
def test_builder_guards_log_division_and_powers_only_where_needed() -> None:
    b = ExpressionBuilder(2)  # leaves in [-3, 3]: may be zero or negative
    assert str(b.finish(b.apply("log", [0]))) == "log(x0 ** 2 + 1)"
    assert str(b.finish(b.apply("div", [0, 1]))) == "x0 / (x1 ** 2 + 1)"
    assert str(b.finish(b.apply("div", [1], 2.0, number_first=True))) == "2 / (x1 ** 2 + 1)"
    assert str(b.finish(b.apply("div", [1], -2.0))) == "x1 / (-2)"
    assert str(b.finish(b.apply("pow", [0], 0.5))) == "(x0 ** 2 + 1) ** 0.5"
    assert str(b.finish(b.apply("pow", [0], -1.0))) == "(x0 ** 2 + 1) ** (-1)"
    assert str(b.finish(b.apply("pow", [0], 3.0))) == "x0 ** 3"
    # (x0² + 1) ** x1 could reach 10³ > 100, so both inputs are squashed first.
    assert str(b.finish(b.apply("vpow", [0, 1]))) == "(tanh(x0) ** 2 + 1) ** tanh(x1)"
    narrow = ExpressionBuilder(2, leaf_range=(-1.5, 1.5))
    assert str(narrow.finish(narrow.apply("vpow", [0, 1]))) == "(x0 ** 2 + 1) ** x1"
    positive = ExpressionBuilder(1, leaf_range=(0.5, 2.0))
    assert str(positive.finish(positive.apply("log", [0]))) == "log(x0)"
    assert str(positive.finish(positive.apply("pow", [0], -2.0))) == "x0 ** (-2)"
    assert str(positive.finish(positive.apply("vpow", [0, 0]))) == "x0 ** x0"


def test_builder_squashes_arguments_whose_result_could_exceed_the_bound() -> None:
    small = ExpressionBuilder(1, leaf_range=(-3.0, 3.0))
    assert str(small.finish(small.apply("exp", [0]))) == "exp(x0)"  # e³ ≈ 20 <= 100
    wide = ExpressionBuilder(1, leaf_range=(-10.0, 10.0))
    assert str(wide.finish(wide.apply("exp", [0]))) == "exp(tanh(x0))"
    cube = wide.apply("pow", [0], 3.0)  # |x0³| <= 1000 > 100
    assert str(wide.finish(cube)) == "tanh(x0) ** 3"
    assert wide.interval(cube) == pytest.approx((math.tanh(-10) ** 3, math.tanh(10) ** 3))


def test_identical_nodes_are_made_once_and_shared() -> None:
    b = ExpressionBuilder(2)
    t1 = b.apply("tanh", [b.apply("mul", [0, 1])])
    assert b.apply("tanh", [b.apply("mul", [0, 1])]) == t1
    expression = b.finish(b.apply("add", [b.apply("mul", [t1, t1]), b.apply("exp", [t1])]))
    assert str(expression) == "tanh(x0 * x1) * tanh(x0 * x1) + exp(tanh(x0 * x1))"
    assert expression.formula(name_shared=True) == "t1 * t1 + exp(t1)  where t1 = tanh(x0 * x1)"
    assert [expression.nodes[i].op for i in expression.shared_nodes()] == ["tanh"]
    assert expression.fan_out()[expression.shared_nodes()[0]] == 3


def test_shared_nodes_become_one_value_object_with_several_parents() -> None:
    b = ExpressionBuilder(2)
    t = b.apply("sigmoid", [b.apply("add", [0, 1])])
    expression = b.finish(b.apply("dot", [t, 0, t, t]))  # dot([t, x0], [t, t])
    x0, x1 = Value(0.3), Value(-0.2)
    out = expression.build([x0, x1])
    interior = [v for v in topological_order(out) if v._prev]
    assert len(interior) == expression.op_count() == 3  # add, sigmoid, dot: nothing rebuilt
    (shared,) = [v for v in interior if v._op == "sigmoid"]
    assert sum(child is shared for child in out._prev) == 3
    s = 1 / (1 + math.exp(-0.1))
    out.backward()  # f = s² + x0·s, s = σ(x0 + x1): ∂f/∂x1 = (2s + x0)·s(1 − s)
    assert x1.grad == pytest.approx((2 * s + 0.3) * s * (1 - s), rel=1e-14)


def test_formulas_print_precedence_like_python() -> None:
    b = ExpressionBuilder(2)
    neg_sum = b.apply("neg", [b.apply("add", [0, 1])])
    assert str(b.finish(neg_sum)) == "-(x0 + x1)"
    assert str(b.finish(b.apply("pow", [b.apply("neg", [0])], 2.0))) == "(-x0) ** 2"
    assert str(b.finish(b.apply("neg", [b.apply("pow", [0], 2.0)]))) == "-x0 ** 2"
    assert str(b.finish(b.apply("sub", [0, b.apply("sub", [0, 1])]))) == "x0 - (x0 - x1)"
    assert str(b.finish(b.apply("sub", [b.apply("sub", [0, 1]), 0]))) == "x0 - x1 - x0"
    unit = ExpressionBuilder(2, leaf_range=(-1.0, 1.0))  # so that 0.5 ** (x0·x1) needs no squashing
    assert str(unit.finish(unit.apply("rpow", [unit.apply("mul", [0, 1])], 0.5))) == "0.5 ** (x0 * x1)"
    assert str(b.finish(b.apply("sum", [0, 1, 0]))) == "sum(x0, x1, x0)"
    assert str(b.finish(b.apply("leaky_relu", [1], 0.2))) == "leaky_relu(x1, 0.2)"
    assert str(b.finish(b.apply("mul", [0], -1.0, number_first=True))) == "(-1) * x0"


def test_to_sympy_and_exact_derivatives_of_a_known_expression() -> None:
    b = ExpressionBuilder(2)
    expression = b.finish(b.apply("mul", [b.apply("log", [0]), 1]))  # log(x0² + 1)·x1
    x0, x1 = expression.symbols()
    assert sympy.simplify(expression.to_sympy() - sympy.log(x0**2 + 1) * x1) == 0
    value, d0, d01, d001 = expression.sympy_derivatives([2.0, 3.0], [(), (0,), (0, 1), (0, 0, 1)])
    assert value == pytest.approx(math.log(5) * 3, rel=1e-15)
    assert d0 == pytest.approx(2 * 2.0 / 5 * 3, rel=1e-15)  # 2x0·x1/(x0² + 1)
    assert d01 == pytest.approx(4 / 5, rel=1e-15)  # 2x0/(x0² + 1)
    assert d001 == pytest.approx((2 * 5 - 4 * 4) / 25, rel=1e-15)  # 2(1 − x0²)/(x0² + 1)²


def test_kinks_are_exact_piecewise_in_sympy_and_measured_by_kink_distance() -> None:
    b = ExpressionBuilder(1)
    expression = b.finish(b.apply("abs", [b.apply("add", [0], -1.0)]))  # abs(x0 + (-1))
    assert str(expression) == "abs(x0 + (-1))"
    assert expression.kink_distance([1.25]) == pytest.approx(0.25)
    assert expression.sympy_derivatives([0.5], [(0,)]) == [-1.0]
    assert expression.sympy_derivatives([1.5], [(0,)]) == [1.0]
    smooth = ExpressionBuilder(1)
    assert smooth.finish(smooth.apply("tanh", [0])).kink_distance([0.0]) == math.inf


def test_expression_and_builder_reject_malformed_input() -> None:
    with pytest.raises(ValueError, match="unknown operation 'sin'"):
        ExpressionBuilder(1).apply("sin", [0])
    with pytest.raises(ValueError, match="tanh takes one input, got 2"):
        ExpressionBuilder(2).apply("tanh", [0, 1])
    with pytest.raises(ValueError, match="pow needs a number param"):
        ExpressionBuilder(1).apply("pow", [0])
    with pytest.raises(ValueError, match="division by the number 0"):
        ExpressionBuilder(1).apply("div", [0], 0.0)
    with pytest.raises(ValueError, match="vpow cannot take a number operand"):
        ExpressionBuilder(1).apply("vpow", [0], 2.0)
    with pytest.raises(ValueError, match="existing node indices"):
        ExpressionBuilder(1).apply("exp", [3])
    with pytest.raises(ValueError, match="leaf_range must satisfy"):
        ExpressionBuilder(1, leaf_range=(2.0, 1.0))
    with pytest.raises(ValueError, match="bound must be a finite number >= 20"):
        ExpressionBuilder(1, bound=5.0)
    with pytest.raises(ValueError, match="refer to earlier nodes only"):
        Expression(1, (Node("leaf"), Node("exp", (1,))))
    with pytest.raises(ValueError, match="node 0 must be leaf x0"):
        Expression(1, (Node("exp", (0,)),))
    expression = Expression(1, (Node("leaf"), Node("exp", (0,))))
    with pytest.raises(ValueError, match="expected 1 leaves, got 2"):
        expression.build([Value(1.0), Value(2.0)])


# ----------------------------------------------------------------------------- strategies
@settings(max_examples=100, deadline=None)
@given(finite_floats(), finite_floats(-0.5, 10.0))
def test_finite_floats_stay_finite_and_in_range(default: float, custom: float) -> None:
    assert math.isfinite(default) and -3.0 <= default <= 3.0
    assert -0.5 <= custom <= 10.0


def test_strategy_arguments_are_checked_when_the_strategy_is_made() -> None:
    with pytest.raises(ValueError, match="unknown operation"):
        expressions(ops=["tanh", "sine"])
    with pytest.raises(TypeError, match="not the string"):
        expressions(ops="tanh")
    with pytest.raises(ValueError, match=r"expressions\(max_ops\) must be >= 3, got 2"):
        expressions(min_ops=3, max_ops=2)
    with pytest.raises(ValueError, match=r"expressions\(n_leaves\) must be >= 1, got 0"):
        expressions(0)
    with pytest.raises(ValueError, match="leaf_range must satisfy"):
        expression_graphs(leaf_range=(1.0, -1.0))
    with pytest.raises(ValueError, match="kink_margin"):
        expression_graphs(kink_margin=-1.0)
    with pytest.raises(ValueError, match="needs finite numbers min_value < max_value, got 1.0, 1.0"):
        finite_floats(1.0, 1.0)
    with pytest.raises(ValueError, match="finite numbers"):
        finite_floats(0.0, math.inf)


def _eval_namespace() -> dict:
    sigmoid = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    return {
        "exp": math.exp, "log": math.log, "tanh": math.tanh, "sigmoid": sigmoid, "abs": abs,
        "relu": lambda x: max(x, 0.0), "leaky_relu": lambda x, a: x if x > 0 else a * x,
        "sum": lambda *xs: math.fsum(xs), "dot": lambda xs, ys: sum(x * y for x, y in zip(xs, ys)),
    }  # fmt: skip


@st.composite
def expressions_and_points(draw: st.DrawFn) -> tuple[Expression, list[float]]:
    """An expression and leaf values for it: any in the range, including its ends and a step of
    gradcheck's default eps (1e-6) beyond them, where gradcheck evaluates at the ends."""
    expression = draw(expressions(st.integers(1, 3), max_ops=10))
    edges = st.sampled_from([-3.0 - 1e-6, 3.0 + 1e-6, 0.0])
    return expression, [draw(st.one_of(finite_floats(), edges)) for _ in range(expression.n_leaves)]


def _steps_reaching_the_bound_at_the_ends() -> Expression:
    """What the builder makes of x0 * x0, tanh, 2 ** (that), x0 ** (that): once
    (x0 ** 2 + 1) ** 2 ** tanh(x0 * x0), which is 99.99999 at x0 = ±3 and passed the bound of
    100 at ±(3 + 1e-6), one finite-difference step outside the range its intervals covered."""
    builder = ExpressionBuilder(1)
    square = builder.apply("mul", (0, 0))
    power = builder.apply("rpow", (builder.apply("tanh", (square,)),), 2.0)
    builder.apply("vpow", (0, power))
    return builder.finish()


@settings(max_examples=200, deadline=None)
@example((_steps_reaching_the_bound_at_the_ends(), [-3.0 - 1e-6]))
@given(expressions_and_points())
def test_every_expression_is_valid_bounded_and_printed_as_a_correct_formula(
    case: tuple[Expression, list[float]],
) -> None:
    expression, values = case
    nodes = expression.evaluate_nodes(values)
    assert all(math.isfinite(v) and abs(v) <= 100.0 for v in nodes.values())
    out = expression.build([Value(v) for v in values])  # the engine accepts every domain
    assert out.data == pytest.approx(nodes[expression.output], rel=1e-12, abs=1e-12)
    namespace = _eval_namespace() | {f"x{i}": v for i, v in enumerate(values)}
    assert eval(expression.formula(), namespace) == pytest.approx(out.data, rel=1e-12, abs=1e-12)
    assert set(expression.ops_used()) <= set(ALL_OPS)


@settings(max_examples=100, deadline=None)
@given(expression_graphs(3, max_ops=6, kink_margin=0.01))
def test_expression_graphs_give_labelled_leaves_and_a_differentiable_point(graph: ExpressionGraph) -> None:
    assert [leaf.label for leaf in graph.leaves] == ["x0", "x1", "x2"]
    assert [leaf.data for leaf in graph.leaves] == list(graph.values)
    assert all(not leaf._prev and leaf.grad == 0.0 for leaf in graph.leaves)
    assert graph.expression.kink_distance(graph.values) > 0.01
    assert graph.output.data == pytest.approx(graph.expression.evaluate(graph.values), rel=1e-12, abs=1e-12)
    assert repr(graph).startswith(f"ExpressionGraph({str(graph.expression)!r} at x0=")


@settings(max_examples=100, deadline=None)
@given(expressions(2, max_ops=6, ops=SMOOTH_OPS))
def test_smooth_op_sets_contain_no_kinks(expression: Expression) -> None:
    assert not expression.ops_used() & KINK_OPS
    assert expression.kink_distance([0.0, 0.0]) == math.inf


@settings(max_examples=100, deadline=None)
@given(expressions(2, max_ops=5, ops=["exp", "mul"]))
def test_a_chosen_op_set_is_used_plus_only_guards_and_the_final_sum(expression: Expression) -> None:
    # exp/mul as drawn; tanh squashes arguments that could overflow; + adds up unused results.
    assert expression.ops_used() <= {"exp", "mul", "tanh", "add"}


def _op_and_expression_using_only_it(op: str) -> st.SearchStrategy[tuple[str, Expression]]:
    return st.tuples(st.just(op), expressions(1, max_ops=2, ops=[op]))


@settings(max_examples=170, deadline=None)
@given(st.sampled_from(ALL_OPS).flatmap(_op_and_expression_using_only_it))
def test_each_operation_can_be_drawn_alone(op_and_expression: tuple[str, Expression]) -> None:
    op, expression = op_and_expression
    assert op in expression.ops_used()


def test_fan_out_of_intermediate_nodes_really_occurs_often() -> None:
    shared_counts: list[int] = []

    @seed(20240610)
    @settings(max_examples=200, deadline=None, database=None)
    @given(expressions(3, max_ops=8))
    def collect(expression: Expression) -> None:
        shared_counts.append(len(expression.shared_nodes()))

    collect()
    with_sharing = sum(1 for n in shared_counts if n > 0)
    assert with_sharing >= 0.25 * len(shared_counts), (with_sharing, len(shared_counts))


def test_shrinking_a_gradient_bug_gives_a_small_readable_formula(monkeypatch: pytest.MonkeyPatch) -> None:
    # Inject a bug into tanh's local gradient (1 − t instead of 1 − t²), run a property test
    # that gradchecks random graphs, and read the counterexample hypothesis reports.
    def buggy_tanh(self: Value) -> Value:
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")
        out._local = (1.0 - t,)
        return out

    monkeypatch.setattr(Value, "tanh", buggy_tanh)
    failing: list[ExpressionGraph] = []

    # (hypothesis's "explain" phase, slow and not needed here, is left out)
    @seed(7)
    @settings(max_examples=200, deadline=None, database=None, phases=[Phase.generate, Phase.shrink])
    @given(expression_graphs(3, max_ops=8, ops=["add", "mul", "tanh", "exp", "sigmoid"]))
    def gradients_are_right(graph: ExpressionGraph) -> None:
        if not gradcheck(graph.expression, graph.values).ok:
            failing.append(graph)
        assert_gradcheck(graph.expression, graph.values)

    with pytest.raises(GradcheckError) as caught:
        gradients_are_right()
    shrunk = failing[-1]  # hypothesis replays the shrunk example last
    assert "tanh" in shrunk.expression.ops_used() and shrunk.expression.op_count() <= 3, shrunk
    # hypothesis attaches "Falsifying example: gradients_are_right(graph=...)" to the error,
    # showing the expression as its formula.
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert f"graph={shrunk!r}" in notes, notes
    assert len(str(shrunk.expression)) <= 30, shrunk


def test_strategies_explain_how_to_install_hypothesis_when_it_is_missing() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["hypothesis"] = None  # as if it were not installed
        from microgradnn.testing import gradcheck, expressions
        assert gradcheck(lambda x: x * x, [3.0]).ok
        try:
            expressions()
        except ImportError as error:
            print(error)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pip install 'microgradnn[testing]'" in done.stdout
    assert "microgradnn.testing.expressions needs hypothesis" in done.stdout
