"""Bad input, domain errors, loud failures, numerical stability and the NaN/inf policy.

Policy (Value's docstring): data may be NaN or ±inf and follows IEEE-754 float semantics: they
propagate through operations and gradients and never raise by themselves. Errors are raised for
what has no real answer (log of a non-positive number, 0 ** negative, a negative base with a
non-integer exponent, division by zero) and for a forward result too large for a float (exp, **).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import pytest

from microgradnn.engine import Value, dot, grad, value_sum

INF, NAN = math.inf, math.nan


# ----------------------------------------------------------------------------- constructor input
@pytest.mark.parametrize(
    ("bad", "type_name"),
    [("3", "str"), (None, "NoneType"), (1 + 2j, "complex"), (Value(1.0), "Value"), ([1.0], "list"),
     (b"1", "bytes")],
    ids=["str", "None", "complex", "Value", "list", "bytes"],
)
def test_constructor_rejects_non_real_data_naming_the_type(bad: object, type_name: str) -> None:
    with pytest.raises(TypeError, match=type_name):
        Value(bad)


def test_constructor_rejects_a_value_and_says_how_to_get_its_number() -> None:
    with pytest.raises(TypeError, match=r"\.data|detach"):
        Value(Value(1.0))


def test_constructor_rejects_children_that_are_not_values() -> None:
    with pytest.raises(TypeError, match="float"):
        Value(3.0, (Value(1.0), 2.0), "+")


def test_numpy_scalars_become_plain_floats() -> None:
    numpy = pytest.importorskip("numpy")
    for number in (numpy.float64(2.5), numpy.float32(2.5), numpy.int64(3)):
        v = Value(number)
        assert type(v.data) is float, f"Value({number!r}).data is a {type(v.data).__name__}"
        assert v.data == float(number)


# ----------------------------------------------------------------------------- operand input
BAD_OPERANDS: list[tuple[str, Callable[[Value], object], str]] = [
    ("v + str", lambda v: v + "2", "str"),
    ("str + v", lambda v: "2" + v, "str"),
    ("v - None", lambda v: v - None, "NoneType"),
    ("v * list", lambda v: v * [1.0], "list"),
    ("v / complex", lambda v: v / 1j, "complex"),
    ("v ** str", lambda v: v ** "2", "str"),
    ("v ** None", lambda v: v**None, "NoneType"),
    ("v ** complex", lambda v: v ** (1 + 2j), "complex"),
    ("str ** v", lambda v: "2" ** v, "str"),
    ("v < str", lambda v: v < "a", "str"),
    ("v >= None", lambda v: v >= None, "NoneType"),
    ("leaky_relu(alpha=str)", lambda v: v.leaky_relu(alpha="0.1"), "str"),
    ("leaky_relu(alpha=Value)", lambda v: v.leaky_relu(alpha=Value(0.1)), "Value"),
    ("value_sum with str", lambda v: value_sum([v, "1"]), "str"),
    ("dot with None", lambda v: dot([v], [None]), "NoneType"),
]


@pytest.mark.parametrize(
    ("operation", "type_name"), [c[1:] for c in BAD_OPERANDS], ids=[c[0] for c in BAD_OPERANDS]
)
def test_bad_operands_raise_type_error_naming_the_type(
    operation: Callable[[Value], object], type_name: str
) -> None:
    with pytest.raises(TypeError, match=type_name):
        operation(Value(2.0))


def test_dot_of_unequal_lengths_names_both_lengths() -> None:
    with pytest.raises(ValueError, match=r"dot.*\b3\b.*\b2\b"):
        dot([Value(1.0)] * 3, [Value(1.0)] * 2)


def test_empty_dot_and_empty_sum_are_errors() -> None:
    with pytest.raises(ValueError, match="dot"):
        dot([], [])
    with pytest.raises(ValueError, match="value_sum"):
        value_sum([])
    with pytest.raises(ValueError, match="value_sum"):
        Value.sum(iter(()))


def test_grad_rejects_non_values() -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match="float"):
        grad(2.0, [x])
    with pytest.raises(TypeError, match="int"):
        grad(x * 2, [x, 3])


# ----------------------------------------------------------------------------- domain errors
@pytest.mark.parametrize("x0", [0.0, -0.0, -1.5, -INF])
def test_log_of_non_positive_names_op_value_and_label(x0: float) -> None:
    with pytest.raises(ValueError, match="log") as info:
        Value(x0, label="loss").log()
    message = str(info.value)
    assert repr(x0) in message
    assert "'loss'" in message


def test_log_of_unlabelled_value_does_not_mention_a_label() -> None:
    with pytest.raises(ValueError, match=r"log.*-2\.0") as info:
        Value(-2.0).log()
    assert "node" not in str(info.value)


def test_negative_base_with_non_integer_exponent() -> None:
    with pytest.raises(ValueError, match="pow") as info:
        Value(-8.0, label="q") ** (1 / 3)
    assert "-8.0" in str(info.value) and "'q'" in str(info.value)
    # integer exponents of negative numbers are fine
    x = Value(-2.0)
    y = x**3.0
    y.backward()
    assert (y.data, x.grad) == (-8.0, 12.0)


@pytest.mark.parametrize("exponent", [-1, -0.5, -2.0])
def test_zero_to_a_negative_power(exponent: float) -> None:
    with pytest.raises(ZeroDivisionError, match="pow") as info:
        Value(0.0, label="z") ** exponent
    message = str(info.value)
    assert "0.0" in message and repr(float(exponent)) in message and "'z'" in message


@pytest.mark.parametrize(("base", "exponent"), [(0.0, 2.0), (-2.0, 2.0), (-INF, 1.0)])
def test_value_exponent_needs_a_positive_base(base: float, exponent: float) -> None:
    with pytest.raises(ValueError, match="pow") as info:
        Value(base, label="base") ** Value(exponent, label="e")
    assert repr(base) in str(info.value) and "'base'" in str(info.value)
    with pytest.raises(ValueError, match="pow"):
        base ** Value(exponent)


def test_division_by_a_zero_value_names_divisor_and_dividend() -> None:
    with pytest.raises(ZeroDivisionError, match="division") as info:
        Value(1.5, label="numerator") / Value(0.0, label="denominator")
    message = str(info.value)
    assert "0.0" in message and "'denominator'" in message
    assert "1.5" in message and "'numerator'" in message


@pytest.mark.parametrize(
    "divide",
    [lambda v: v / 0, lambda v: v / 0.0, lambda v: v / -0.0, lambda v: v / Value(-0.0),
     lambda v: 1 / (v - v)],
    ids=["int 0", "float 0", "negative zero", "Value(-0.0)", "1 / (v - v)"],
)
def test_division_by_zero_in_every_spelling(divide: Callable[[Value], Value]) -> None:
    with pytest.raises(ZeroDivisionError, match="division"):
        divide(Value(2.0))


# ----------------------------------------------------------------------------- loud failures
LOUD: list[tuple[str, Callable[[Value], object]]] = [
    ("float", float),
    ("int", int),
    ("bool", bool),
    ("round", round),
    ("round digits", lambda v: round(v, 2)),
    ("complex", complex),
    ("math.exp", math.exp),
    ("math.log", math.log),
    ("math.tanh", math.tanh),
    ("math.sqrt", math.sqrt),
    ("math.isnan", math.isnan),
    ("operator.index", operator.index),
    ("%f", lambda v: "%f" % v),  # noqa: UP031 - printf formatting is what is tested
    ("if v", lambda v: 1 if v else 0),
    ("not v", lambda v: not v),
]


@pytest.mark.parametrize("convert", [c for _, c in LOUD], ids=[name for name, _ in LOUD])
def test_conversions_that_would_drop_the_graph_fail_loudly(convert: Callable[[Value], object]) -> None:
    with pytest.raises(TypeError):
        convert(Value(0.5))


def test_float_and_math_errors_point_to_data_and_the_value_methods() -> None:
    with pytest.raises(TypeError, match=r"v\.data") as info:
        math.exp(Value(1.0))
    assert "exp()" in str(info.value)
    with pytest.raises(TypeError, match=r"data"):
        bool(Value(1.0))


# ----------------------------------------------------------------------------- overflow
def test_exp_overflow_raises_a_clear_overflow_error() -> None:
    with pytest.raises(OverflowError, match="exp") as info:
        Value(1000.0, label="logit").exp()
    assert "1000.0" in str(info.value) and "'logit'" in str(info.value)
    assert "Numerical result out of range" not in str(info.value)


def test_exp_just_below_overflow_is_finite() -> None:
    x = Value(709.0)
    y = x.exp()
    y.backward()
    assert math.isfinite(y.data) and x.grad == y.data


def test_pow_overflow_raises_a_clear_overflow_error() -> None:
    with pytest.raises(OverflowError, match="pow") as info:
        Value(10.0, label="base") ** 400
    assert "'base'" in str(info.value)


def test_sum_and_product_overflow_to_inf_like_floats() -> None:
    big = Value(1e308)
    assert (big + big).data == INF
    assert (big * 10).data == INF
    assert (-big - big).data == -INF


def test_value_sum_overflows_to_inf_like_repeated_addition() -> None:
    s = value_sum([Value(1e308), Value(1e308)])
    assert s.data == INF


# ----------------------------------------------------------------------------- numerical stability
@pytest.mark.parametrize(
    ("operation", "x0", "data"),
    [
        (Value.tanh, 400.0, 1.0),
        (Value.tanh, -400.0, -1.0),
        (Value.sigmoid, -1000.0, 0.0),
        (Value.sigmoid, 1000.0, 1.0),
        (Value.sigmoid, -745.2, 0.0),
        (Value.exp, -1000.0, 0.0),
    ],
    ids=["tanh(400)", "tanh(-400)", "sigmoid(-1000)", "sigmoid(1000)", "sigmoid(-745.2)", "exp(-1000)"],
)
def test_saturating_functions_give_exact_limits_and_finite_gradients(
    operation: Callable[[Value], Value], x0: float, data: float
) -> None:
    x = Value(x0)
    y = operation(x)
    y.backward()
    assert y.data == data
    assert x.grad == 0.0 and math.isfinite(x.grad)


def test_sigmoid_is_accurate_far_into_the_negative_tail() -> None:
    # σ(−30) = e⁻³⁰/(1 + e⁻³⁰): the relative error must stay at rounding level
    y = Value(-30.0).sigmoid()
    expected = math.exp(-30.0) / (1.0 + math.exp(-30.0))
    assert y.data == pytest.approx(expected, rel=1e-14)


def test_tanh_and_sigmoid_gradients_in_the_normal_range() -> None:
    for x0 in (-20.0, -3.0, 0.0, 0.7, 20.0):
        x = Value(x0)
        x.sigmoid().backward()
        s = 1.0 / (1.0 + math.exp(-x0))
        assert x.grad == pytest.approx(s * (1 - s), rel=1e-9, abs=1e-300)
        x = Value(x0)
        x.tanh().backward()
        assert x.grad == pytest.approx(1.0 / math.cosh(x0) ** 2, rel=1e-6, abs=1e-16)


# ----------------------------------------------------------------------------- NaN and inf
@pytest.mark.parametrize("special", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
def test_special_floats_are_accepted_as_data(special: float) -> None:
    v = Value(special)
    assert v.data == special or (math.isnan(special) and math.isnan(v.data))


def same_float(got: float, expected: float) -> bool:
    return (math.isnan(got) and math.isnan(expected)) or got == expected


# (name, operation, the gradient at NaN): NaN where the local gradient depends on the input,
# the constant where it does not; for the piecewise functions the branch a NaN falls into.
NAN_PROPAGATION: list[tuple[str, Callable[[Value], Value], tuple[float, ...]]] = [
    ("+", lambda x: x + 1.0, (1.0,)),
    ("-", lambda x: 1.0 - x, (-1.0,)),
    ("*", lambda x: x * 3.0, (3.0,)),
    ("/", lambda x: x / 2.0, (0.5,)),
    ("number / x", lambda x: 2.0 / x, (NAN,)),
    ("neg", lambda x: -x, (-1.0,)),
    ("**2", lambda x: x**2, (NAN,)),
    ("**0.5", lambda x: x**0.5, (NAN,)),
    ("Value ** x", lambda x: Value(2.0) ** x, (NAN,)),
    ("2 ** x", lambda x: 2**x, (NAN,)),
    ("x ** Value", lambda x: x ** Value(2.0), (NAN,)),
    ("exp", Value.exp, (NAN,)),
    ("log", Value.log, (NAN,)),
    ("tanh", Value.tanh, (NAN,)),
    ("sigmoid", Value.sigmoid, (NAN,)),
    ("relu", Value.relu, (NAN, 0.0, 1.0)),
    ("leaky_relu", Value.leaky_relu, (NAN, 0.01, 1.0)),
    ("abs", abs, (NAN, 0.0, 1.0, -1.0)),
    ("sum", lambda x: value_sum([x, 1.0]), (1.0,)),
    ("dot", lambda x: dot([x, 1.0], [2.0, x]), (3.0,)),  # x meets 2.0 and 1.0
]


@pytest.mark.parametrize(("operation", "allowed_gradients"), [c[1:] for c in NAN_PROPAGATION],
                         ids=[c[0] for c in NAN_PROPAGATION])
def test_nan_propagates_through_every_operation_without_raising(
    operation: Callable[[Value], Value], allowed_gradients: tuple[float, ...]
) -> None:
    x = Value(NAN)
    y = operation(x)
    assert math.isnan(y.data)
    y.backward()
    assert any(same_float(x.grad, g) for g in allowed_gradients), f"gradient {x.grad!r}"


def test_nan_gradient_flows_back_through_the_graph() -> None:
    x, w = Value(NAN), Value(2.0)
    y = (x * w).tanh() + w
    y.backward()
    assert math.isnan(y.data)
    assert math.isnan(w.grad)  # ∂y/∂w = x·(1 − tanh²) + 1 with x = NaN
    assert math.isnan(x.grad)  # ∂y/∂x = w·(1 − tanh²)


INF_CASES: list[tuple[str, Callable[[Value], Value], float, float]] = [
    # (name, operation, input, expected data, expected gradient) by IEEE-754 arithmetic
    ("inf + 1", lambda x: x + 1.0, INF, INF, 1.0),
    ("inf * 2", lambda x: x * 2.0, INF, INF, 2.0),
    ("inf * inf", lambda x: x * x, INF, INF, INF),
    ("inf - inf", lambda x: x - x, INF, NAN, 0.0),
    ("inf * 0", lambda x: x * 0.0, INF, NAN, 0.0),
    ("1 / inf", lambda x: 1.0 / x, INF, 0.0, -0.0),
    ("inf / inf", lambda x: x / x, INF, NAN, NAN),
    ("exp(inf)", Value.exp, INF, INF, INF),
    ("exp(-inf)", Value.exp, -INF, 0.0, 0.0),
    ("log(inf)", Value.log, INF, INF, 0.0),
    ("tanh(inf)", Value.tanh, INF, 1.0, 0.0),
    ("tanh(-inf)", Value.tanh, -INF, -1.0, 0.0),
    ("sigmoid(inf)", Value.sigmoid, INF, 1.0, 0.0),
    ("sigmoid(-inf)", Value.sigmoid, -INF, 0.0, 0.0),
    ("relu(inf)", Value.relu, INF, INF, 1.0),
    ("relu(-inf)", Value.relu, -INF, 0.0, 0.0),
    ("leaky_relu(-inf)", Value.leaky_relu, -INF, -INF, 0.01),
    ("abs(-inf)", abs, -INF, INF, -1.0),
    ("inf ** 2", lambda x: x**2, INF, INF, INF),
    ("inf ** -1", lambda x: x**-1, INF, 0.0, -0.0),
    ("2 ** -inf", lambda x: 2**x, -INF, 0.0, 0.0),
    ("value_sum(inf, -inf)", lambda x: value_sum([x, -x]), INF, NAN, 0.0),
    ("value_sum(inf, 1)", lambda x: value_sum([x, 1.0]), INF, INF, 1.0),
    ("dot(inf, 0)", lambda x: dot([x], [0.0]), INF, NAN, 0.0),
]


@pytest.mark.parametrize(("operation", "x0", "data", "derivative"), [c[1:] for c in INF_CASES],
                         ids=[c[0] for c in INF_CASES])
def test_infinities_follow_ieee_arithmetic(
    operation: Callable[[Value], Value], x0: float, data: float, derivative: float
) -> None:
    x = Value(x0)
    y = operation(x)
    assert same_float(y.data, data), f"data {y.data!r}, expected {data!r}"
    y.backward()
    assert same_float(x.grad, derivative), f"gradient {x.grad!r}, expected {derivative!r}"


def test_infinite_local_gradient_at_a_finite_point_does_not_raise() -> None:
    # √x at 0: value 0, derivative ½·0^(−½) = +inf (as IEEE and PyTorch give)
    x = Value(0.0)
    y = x**0.5
    assert y.data == 0.0
    y.backward()
    assert x.grad == INF


@pytest.mark.parametrize(
    ("power", "x0"),
    [(lambda x: x**-308, 0.1), (lambda x: x ** Value(-1.0), 1e-300)],
    ids=["number exponent", "Value exponent"],
)
def test_gradient_overflow_gives_inf_not_an_exception(power: Callable[[Value], Value], x0: float) -> None:
    # 0.1^−308 ≈ 1e308 is a float, but its derivative −308·0.1^−309 ≈ −3e311 is not;
    # likewise (1e−300)^−1 = 1e300 with derivative −(1e−300)^−2 = −1e600
    x = Value(x0)
    y = power(x)
    assert math.isfinite(y.data)
    y.backward()
    assert x.grad == -INF


def test_log_gradient_at_the_smallest_positive_float_is_inf() -> None:
    x = Value(5e-324)
    y = x.log()
    y.backward()
    assert y.data == pytest.approx(math.log(5e-324)) and x.grad == INF
