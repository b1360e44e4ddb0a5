"""The table of operations: every operation of the engine, each written once, in one place.

Read it top to bottom. Each row is one :class:`Operation`:

* ``forward``: the operation's value, computed on floats. It raises a clear error where the
  operation is undefined (``log`` of a negative number), naming the operation and the number.
* ``grads(out, *inputs)``: the *local gradients* ∂out/∂input: the derivative itself for one
  input, a pair for two, one tuple per group for the fused rows (sum, dot). The rule is
  written with arithmetic and with the functions below (``exp``, ``log``, ``sigmoid``, ...),
  which work on floats, on Values and on numpy arrays. So the same line gives floats for
  ``backward()``, Values for ``grad(create_graph=True)`` (so higher derivatives come free)
  and arrays for the compiled batch path.
* ``numpy``: the forward value on numpy arrays, where it differs from ``forward`` (and
  ``numpy_grads`` where the rule has a Python ``if``, which arrays can't take).
* ``sympy``: the same function in sympy, the independent oracle of the tests.
* ``methods``: the Value methods and operators the row provides (``__mul__``, ``tanh``, ...).

Adding an operation is adding one row (or calling :func:`microgradnn.engine.define_op`,
which does the same from your own code): the engine makes its Value method from the row, and
the drawings, the ``graph`` command, ``grad``/``hessian``, ``microgradnn.testing``, the
activations of ``nn`` and the compiled path all read the row.

This module imports nothing outside the standard library (numpy and sympy are passed in).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from operator import add, mul, neg, sub
from typing import Any

__all__ = [
    "OPS", "Operation", "bce_op", "cross_entropy_op", "exp", "leaky_relu_op", "log", "power_op", "sigmoid",
    "tanh",
]  # fmt: skip


class Operation(str):
    """One row of the table. Being a ``str`` (its name), ``node._op`` compares equal to what
    micrograd code expects ('+', '*', '**2', 'ReLU', ...) while carrying the row with it."""

    forward: Callable[..., float] | None
    grads: Callable[..., tuple]
    arity: int | None  # None: any number of inputs, given as `groups` tuples (sum, dot)
    groups: int
    methods: tuple[str, ...]
    numpy: Callable[..., Any] | None
    numpy_grads: Callable[..., tuple] | None
    sympy: Callable[..., Any] | None
    number_operand: bool  # a number may stand for one input (x + 2, 2 ** x)
    param: float | None  # the number inside a family's row: the p of **p, the α of leaky_relu
    activation: bool  # nn may apply it to a neuron's w·x + b (defined for every real input)
    base: Operation | None  # for `x ∘ c` with the number c kept in the node: the row of ∘
    number_first: bool  # ... and whether c is the left operand (2 - x)

    def __new__(
        cls,
        name: str,
        forward: Callable[..., float] | None,
        grads: Callable[..., tuple] | None = None,
        *,
        arity: int | None = 1,
        groups: int = 1,
        methods: tuple[str, ...] = (),
        numpy: Callable[..., Any] | None = None,
        numpy_grads: Callable[..., tuple] | None = None,
        sympy: Callable[..., Any] | None = None,
        number_operand: bool = False,
        param: float | None = None,
        activation: bool = False,
    ) -> Operation:
        if grads is None:  # microgradnn 0.1's Operation(name, local_grads): no forward function
            forward, grads = None, forward
        op = super().__new__(cls, name)
        op.forward, op.grads, op.arity, op.groups, op.methods = forward, grads, arity, groups, methods
        op.numpy, op.numpy_grads, op.sympy = numpy, numpy_grads, sympy
        op.number_operand, op.param, op.activation = number_operand, param, activation
        op.base, op.number_first, op._variants = None, False, {}
        return op

    def split(self, inputs: tuple) -> tuple[tuple, ...]:
        """A fused node's inputs cut into the row's groups (dot: xs and ys)."""
        k = len(inputs) // self.groups
        return tuple(inputs[i * k : (i + 1) * k] for i in range(self.groups))

    def with_number(self, first: bool) -> Operation:
        """This row with one operand a number that the node keeps aside instead of making it a
        leaf (``x + 2``: one input, the 2 stored); `_op` still shows the row's name."""
        variant = self._variants.get(first)
        if variant is None:
            variant = Operation(self.name, self.forward, self.grads, arity=1)
            variant.base, variant.number_first = self, first
            self._variants[first] = variant
        return variant

    @property
    def name(self) -> str:
        return str(self)

    # The rule's older name (microgradnn 0.1): ``op.local_grads(out, *inputs)``.
    @property
    def local_grads(self) -> Callable[..., tuple]:
        return self.grads

    # Rows are singletons: copying a graph shares them; pickling finds them again by name.
    def __copy__(self) -> Operation:
        return self

    def __deepcopy__(self, memo: dict) -> Operation:
        return self

    def __reduce__(self) -> tuple:
        if self.base is not None:
            return (Operation.with_number, (self.base, self.number_first))
        return (_find, (str(self), self.param))


#: Every operation by name (the families ``**p`` and ``leaky_relu`` by their family name).
OPS: dict[str, Operation] = {}


def _row(op: Operation) -> Operation:
    OPS[op.name] = op
    return op


def _find(name: str, param: float | None) -> Operation:
    if name.startswith("**") and name != "**":
        return power_op(param)  # type: ignore[arg-type]
    if name.startswith("LeakyReLU"):
        return leaky_relu_op(param)  # type: ignore[arg-type]
    return OPS[name]


# ---------------------------------------------------------------------- functions for the rules
# A rule is called on floats (backward), on Values (create_graph) and on numpy arrays (the
# compiled path); these few functions work on all three, so one rule serves all of them.
def exp(x: Any) -> Any:
    if isinstance(x, (float, int)):
        return math.exp(x)
    return x.exp() if hasattr(x, "exp") else _np(x).exp(x)


def log(x: Any) -> Any:
    if isinstance(x, (float, int)):
        return math.log(x)
    return x.log() if hasattr(x, "log") else _np(x).log(x)


def tanh(x: Any) -> Any:
    if isinstance(x, (float, int)):
        return math.tanh(x)
    return x.tanh() if hasattr(x, "tanh") else _np(x).tanh(x)


def sigmoid(x: Any) -> Any:
    if isinstance(x, (float, int)):
        return _sigmoid(x)
    return x.sigmoid() if hasattr(x, "sigmoid") else _np_sigmoid(x)


def _np(x: Any) -> Any:
    import numpy  # only ever reached with an array in hand, so numpy is already loaded

    return numpy


def _sigmoid(x: float) -> float:
    # Two branches so that exp never sees a large positive number: no overflow, and
    # sigmoid(±1000) is exactly 1.0 or 0.0.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _np_sigmoid(x: Any) -> Any:
    np = _np(x)
    e = np.exp(-np.abs(x))  # the same two branches, elementwise
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp: e**{x!r} is too large for a float") from None


def _log(x: float) -> float:
    if x <= 0.0:
        raise ValueError(f"log: input must be positive, got {x!r}")
    return math.log(x)  # NaN gives NaN


def _divide(a: float, b: float) -> float:
    if b == 0.0:
        raise ZeroDivisionError(f"division by zero: the divisor is {b!r} (dividend {a!r})")
    return a / b


def _power(a: float, p: float) -> float:
    if a == 0.0 and p < 0.0:
        raise ZeroDivisionError(f"pow: {a!r} ** {p!r}: zero cannot be raised to a negative power")
    if a < 0.0 and math.isfinite(p) and p != int(p):
        raise ValueError(f"pow: {a!r} ** {p!r}: a negative base with a non-integer exponent has no real value")
    try:
        return a**p
    except OverflowError:
        raise OverflowError(f"pow: {a!r} ** {p!r}: the result is too large for a float") from None


def _power_positive_base(a: float, b: float) -> float:
    # With a Value exponent, ∂/∂b = a^b · ln a needs ln a, so the base must be positive.
    if not a > 0.0 and a == a:
        raise ValueError(
            f"pow: {a!r} ** Value({b!r}): with a Value exponent the base must be positive "
            "(∂/∂exponent = a^b·ln a needs ln a); use a number exponent for powers of zero or negatives"
        )
    return _power(a, b)


def _inf_power(a: Any, q: float) -> Any:
    """a ** q inside a rule. A local derivative may be infinite (√x at 0): floats give IEEE ±inf
    where Python would raise; a Value there gives Value(±inf), a constant (nothing to trace)."""
    try:
        return a**q
    except (ZeroDivisionError, OverflowError):
        x = getattr(a, "data", a)
        odd = math.isfinite(q) and q == int(q) and int(q) % 2 == 1
        limit = -math.inf if odd and math.copysign(1.0, x) < 0.0 else math.inf
        return type(a)(limit) if not isinstance(a, float) else limit


# ---------------------------------------------------------------------- the table
# name       forward on floats (add is a + b)  local gradients: rule(out, *inputs)
ADD = _row(Operation("+", add, lambda out, a, b: (1.0, 1.0), arity=2,
                     methods=("__add__", "__radd__"), number_operand=True,
                     sympy=lambda sp, a, b: a + b))
SUB = _row(Operation("-", sub, lambda out, a, b: (1.0, -1.0), arity=2,
                     methods=("__sub__", "__rsub__"), number_operand=True,
                     sympy=lambda sp, a, b: a - b))
MUL = _row(Operation("*", mul, lambda out, a, b: (b, a), arity=2,
                     methods=("__mul__", "__rmul__"), number_operand=True,
                     sympy=lambda sp, a, b: a * b))
DIV = _row(Operation("/", _divide, lambda out, a, b: (1.0 / b, -out / b), arity=2,
                     methods=("__truediv__", "__rtruediv__"), number_operand=True,
                     numpy=lambda a, b: a / b, sympy=lambda sp, a, b: a / b))
NEG = _row(Operation("neg", neg, lambda out, a: -1.0,
                     methods=("__neg__",), sympy=lambda sp, a: -a))
# a ** b with a Value exponent (and c ** x for a number base c): ∂/∂a = b·a^(b−1), ∂/∂b = a^b·ln a
POW = _row(Operation("**", _power_positive_base, lambda out, a, b: (b * _inf_power(a, b - 1.0), out * log(a)),
                     arity=2, methods=("__rpow__",), number_operand=True,
                     numpy=lambda a, b: a**b, sympy=lambda sp, a, b: a**b))
EXP = _row(Operation("exp", _exp, lambda out, a: out,
                     methods=("exp",), numpy=exp, sympy=lambda sp, a: sp.exp(a)))
LOG = _row(Operation("log", _log, lambda out, a: 1.0 / a,
                     methods=("log",), numpy=log, sympy=lambda sp, a: sp.log(a)))
TANH = _row(Operation("tanh", math.tanh, lambda out, a: 1.0 - out * out,
                      methods=("tanh",), numpy=tanh, activation=True, sympy=lambda sp, a: sp.tanh(a)))
SIGMOID = _row(Operation("sigmoid", _sigmoid, lambda out, a: out * (1.0 - out),
                         methods=("sigmoid",), numpy=sigmoid, activation=True, sympy=lambda sp, a: 1 / (1 + sp.exp(-a))))
# The kinks (relu, abs, leaky_relu) take the derivative 0 (or α) at 0, as micrograd and PyTorch.
RELU = _row(Operation("ReLU", lambda a: a if a > 0.0 else (0.0 if a == a else a),
                      lambda out, a: 1.0 if a > 0.0 else 0.0,
                      methods=("relu",), numpy=lambda a: a * (a > 0), activation=True,
                      numpy_grads=lambda out, a: (a > 0) * 1.0,
                      sympy=lambda sp, a: sp.Piecewise((a, a > 0), (0, True))))
ABS = _row(Operation("abs", abs, lambda out, a: 1.0 if a > 0.0 else -1.0 if a < 0.0 else 0.0,
                     methods=("__abs__", "abs"), numpy=lambda a: abs(a),
                     numpy_grads=lambda out, a: _np(a).sign(a),
                     sympy=lambda sp, a: sp.Piecewise((a, a > 0), (-a, True))))
# Fused nodes with any number of inputs: a neuron's weighted sum is ONE node, not 2n. Their rows
# take the inputs as `groups` tuples (sum: xs; dot: xs and ys, of equal length); the rule
# returns one tuple of local gradients per group, and the node's inputs are the groups joined.
SUM = _row(Operation("sum", lambda xs: sum(xs), lambda out, xs: ((1.0,) * len(xs),), arity=None,
                     sympy=lambda sp, xs: sp.Add(*xs)))
DOT = _row(Operation("dot", lambda xs, ys: sum(map(mul, xs, ys)), lambda out, xs, ys: (ys, xs),
                     arity=None, groups=2, sympy=lambda sp, xs, ys: sp.Add(*map(mul, xs, ys))))


# Two families: one row per number p (x ** p) or slope α (leaky_relu), made when first used.
@lru_cache(maxsize=256)
def power_op(p: float) -> Operation:
    """x ** p for a number p;  ∂/∂x = p·x^(p−1) (0 for p = 0, even at x = 0)."""
    q = p - 1.0
    grads = (lambda out, a: 0.0) if p == 0.0 else (lambda out, a: p * _inf_power(a, q))
    name = f"**{int(p) if math.isfinite(p) and p == int(p) else p}"
    return Operation(name, lambda a: _power(a, p), grads, param=p,
                     numpy=lambda a: a**p, sympy=lambda sp, a: a ** sp.Rational(repr(p)))


@lru_cache(maxsize=256)
def leaky_relu_op(alpha: float) -> Operation:
    """x if x > 0 else α·x;  ∂/∂x = 1 if x > 0 else α."""
    name = "LeakyReLU" if alpha == 0.01 else f"LeakyReLU({alpha:g})"
    return Operation(name, lambda a: a if a > 0.0 else alpha * a,
                     lambda out, a: 1.0 if a > 0.0 else alpha, param=alpha, activation=True,
                     numpy=lambda a: _np(a).where(a > 0, a, alpha * a),
                     numpy_grads=lambda out, a: _np(a).where(a > 0, 1.0, alpha),
                     sympy=lambda sp, a: sp.Piecewise((a, a > 0), (sp.Rational(repr(alpha)) * a, True)))


# Two per-sample losses as single nodes, for accuracy and speed (microgradnn.losses makes them):
# binary cross-entropy on a logit z with target t, and softmax cross-entropy on logits zs with
# a class index. Both are written so that exp never sees a large positive number.
def _bce(z: float, t: float) -> float:  # log(1 + e^z) − t·z
    if z >= 0.0:
        return ((1.0 - t) * z if t != 1.0 else 0.0) + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z)) - (t * z if t != 0.0 else 0.0)


@lru_cache(maxsize=1024)
def bce_op(t: float) -> Operation:
    """log(1 + e^z) − t·z (= −[t log σ(z) + (1 − t) log(1 − σ(z))]);  ∂/∂z = σ(z) − t."""
    return Operation("BCEWithLogits", lambda z: _bce(z, t), lambda out, z: sigmoid(z) - t, param=t,
                     numpy=lambda z: _np(z).maximum(z, 0) - t * z + _np(z).log1p(_np(z).exp(-abs(z))),
                     sympy=lambda sp, z: sp.log(1 + sp.exp(z)) - sp.Rational(repr(t)) * z)


def _softmax(zs: tuple) -> list:
    m = max(getattr(z, "data", z) for z in zs)  # a constant shift: changes neither value nor slope
    e = [exp(z - m) for z in zs]
    total = sum(e[1:], e[0])
    return [x / total for x in e]


def _cross_entropy(zs: tuple, target: int) -> float:  # −log softmax(zs)[target]
    top = max(range(len(zs)), key=zs.__getitem__)
    rest = math.fsum(math.exp(z - zs[top]) for j, z in enumerate(zs) if j != top)
    return (zs[top] - zs[target]) + math.log1p(rest)  # log Σ e^(z − max) = log1p(Σ the others)


@lru_cache(maxsize=1024)
def cross_entropy_op(target: int) -> Operation:
    """−log softmax(zs)[target];  ∂/∂zⱼ = softmax(zs)ⱼ − [j = target]."""
    return Operation(
        "CrossEntropy", lambda zs: _cross_entropy(zs, target),
        lambda out, zs: (tuple(p - 1.0 if j == target else p for j, p in enumerate(_softmax(zs))),),
        arity=None, param=float(target),
        sympy=lambda sp, zs: sp.log(sp.Add(*map(sp.exp, zs))) - zs[target])


OPS["**p"] = power_op(2.0)
OPS["leaky_relu"] = leaky_relu_op(0.01)
