"""The table of operations: what every operation computes and its local derivative, written once.

Read the table (at the bottom) top to bottom, as you read micrograd's engine: each row is an
:class:`Operation` with

* ``forward(*inputs)``: its value, on floats. Where the operation is undefined (``log`` of a
  negative number) it raises a clear error naming the operation and the number.
* ``grads(out, *inputs)``: its *local gradients* ∂out/∂input, given the output ``out``: the
  derivative itself for one input, a pair for two, one tuple per group for the fused rows
  (sum, dot). Each rule is ONE line of arithmetic and the functions ``exp log tanh sigmoid``
  below, which accept floats, Values and numpy arrays, so the same line serves ``backward()``
  (floats), ``grad(create_graph=True)`` (Values: higher derivatives come free) and the
  compiled batches (arrays).
* ``sympy``: the same function in sympy, the independent oracle of the tests; ``numpy`` (and
  ``numpy_grads``) where arrays need another form than the rule.
* ``methods``: the Value methods that reach the row (``Value.__mul__`` calls ``MUL``).

The engine (:mod:`microgradnn.engine`) builds nodes from the rows; the drawings, the ``graph``
command, ``microgradnn.testing``, ``nn``'s activations and the compiled path read them. Your own
operation is one more row: :func:`microgradnn.define_op`. Only the standard library is imported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from operator import add, mul, neg, sub
from typing import Any

__all__ = ["OPS", "Operation", "exp", "leaky_relu_op", "log", "power_op", "sigmoid", "tanh"]

Rule = Callable[..., Any]


class Operation(str):
    """One row of the table. It is a ``str`` (its name), so ``node._op`` compares equal to what
    micrograd code expects (``'+'``, ``'*'``, ``'**2'``, ``'ReLU'``) while carrying its row."""

    forward: Rule
    grads: Rule
    arity: int | None  # None: any number of inputs, given to the rules as `groups` tuples
    groups: int
    methods: tuple[str, ...]
    numpy: Rule | None
    numpy_grads: Rule | None
    sympy: Rule | None
    activation: bool  # nn may apply it to a neuron's w·x + b
    family: Callable[[float], Operation] | None  # the rows made per number: power_op(p), ...
    param: float | None  # ... and that number (p of x ** p, α of leaky_relu, a loss's target)

    def __new__(
        cls, name: str, forward: Rule | None, grads: Rule | None = None, *, arity: int | None = 1,
        groups: int = 1, methods: tuple[str, ...] = (), numpy: Rule | None = None,
        numpy_grads: Rule | None = None, sympy: Rule | None = None, activation: bool = False,
        family: Callable[[float], Operation] | None = None, param: float | None = None,
    ) -> Operation:  # fmt: skip
        if grads is None:  # microgradnn 0.1's Operation(name, local_grads): nodes via make_node only
            forward, grads = _no_forward(name), forward
        op = super().__new__(cls, name)
        op.forward, op.grads, op.arity, op.groups, op.methods = forward, grads, arity, groups, methods  # type: ignore[assignment]
        op.numpy, op.numpy_grads, op.sympy, op.activation = numpy, numpy_grads, sympy, activation
        op.family, op.param = family, param
        return op

    @property
    def name(self) -> str:
        return str(self)

    @property
    def local_grads(self) -> Rule:  # the rule's name in microgradnn 0.1
        return self.grads

    def grouped(self, inputs: tuple) -> tuple[tuple, ...]:
        """A fused node's inputs cut into the row's groups (dot: xs and ys)."""
        k = len(inputs) // self.groups
        return tuple(inputs[i * k : (i + 1) * k] for i in range(self.groups))

    # A row is one object: copies of a graph share it, and unpickling finds it again.
    def __copy__(self) -> Operation:
        return self

    def __deepcopy__(self, memo: dict) -> Operation:
        return self

    def __reduce__(self) -> tuple:
        if self.family is not None:
            return (self.family, (self.param,))
        return (_named, (str(self),))


def _no_forward(name: str) -> Rule:
    def forward(*inputs: float) -> float:
        raise TypeError(f"{name}: this Operation has no forward function; make its nodes with make_node")

    return forward


#: Every row by name (each family by one of its rows: "**p", "leaky_relu").
OPS: dict[str, Operation] = {}


def _row(op: Operation) -> Operation:
    OPS[op.name] = op
    return op


def _named(name: str) -> Operation:  # how an unpickled graph finds its rows
    return OPS[name]


# ---------------------------------------------------------------------- functions for the rules
# Each works on a float, a Value (its own method) or a numpy array (numpy's function): that is
# what lets one rule serve backward, higher-order grad and the compiled path.
def exp(x: Any) -> Any:
    return math.exp(x) if isinstance(x, (float, int)) else x.exp() if hasattr(x, "exp") else _np(x).exp(x)


def log(x: Any) -> Any:
    return math.log(x) if isinstance(x, (float, int)) else x.log() if hasattr(x, "log") else _np(x).log(x)


def tanh(x: Any) -> Any:
    return math.tanh(x) if isinstance(x, (float, int)) else x.tanh() if hasattr(x, "tanh") else _np(x).tanh(x)


def sigmoid(x: Any) -> Any:
    if isinstance(x, (float, int)):
        return _sigmoid(x)
    if hasattr(x, "sigmoid"):
        return x.sigmoid()
    np = _np(x)
    e = np.exp(-abs(x))  # the two branches of _sigmoid, elementwise
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _np(x: Any) -> Any:
    """numpy, for an array in hand (so already loaded); anything else is refused, unimported."""
    if not hasattr(x, "__array_ufunc__"):
        raise TypeError(f"expected a number, a Value or a numpy array, got {type(x).__name__}")
    import numpy

    return numpy


# ---------------------------------------------------------------------- forwards with clear errors
def _sigmoid(x: float) -> float:
    # exp never sees a large positive number: no overflow, and sigmoid(±1000) is exactly 1 or 0
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


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
    where = f"pow: {a!r} ** {p!r}"
    if a == 0.0 and p < 0.0:
        raise ZeroDivisionError(f"{where}: zero cannot be raised to a negative power")
    if a < 0.0 and math.isfinite(p) and p != int(p):
        raise ValueError(f"{where}: a negative base with a non-integer exponent has no real value")
    try:
        return a**p
    except OverflowError:
        raise OverflowError(f"{where}: the result is too large for a float") from None


def _power_positive_base(a: float, b: float) -> float:
    if not a > 0.0 and a == a:  # ∂/∂b = a^b·ln a needs ln a
        raise ValueError(f"pow: {a!r} ** Value({b!r}): with a Value exponent the base must be positive "
                         "(∂/∂exponent = a^b·ln a); use a number exponent for powers of zero or negatives")
    return _power(a, b)


def _inf_power(a: Any, q: float) -> Any:
    """a ** q inside a rule: where the derivative is infinite (√x at 0), IEEE ±inf instead of
    Python's exception (for a Value, a constant Value(±inf): nothing more to differentiate)."""
    try:
        return a**q
    except (ZeroDivisionError, OverflowError):
        odd = math.isfinite(q) and q == int(q) and int(q) % 2 == 1
        limit = -math.inf if odd and math.copysign(1.0, getattr(a, "data", a)) < 0.0 else math.inf
        return limit if isinstance(a, float) else type(a)(limit)


def _relu(a: float) -> float:
    return a if a > 0.0 else (0.0 if a == a else a)  # NaN stays NaN


# ---------------------------------------------------------------------- the table
# At a kink (relu, abs at 0) the derivative is taken as 0 (leaky_relu: α), as micrograd and PyTorch do.
#    name           forward                  local gradients ∂out/∂input, given out
ADD = _row(Operation("+", add, lambda out, a, b: (1.0, 1.0), arity=2,
                     methods=("__add__", "__radd__"), sympy=lambda sp, a, b: a + b))
SUB = _row(Operation("-", sub, lambda out, a, b: (1.0, -1.0), arity=2,
                     methods=("__sub__", "__rsub__"), sympy=lambda sp, a, b: a - b))
MUL = _row(Operation("*", mul, lambda out, a, b: (b, a), arity=2,
                     methods=("__mul__", "__rmul__"), sympy=lambda sp, a, b: a * b))
DIV = _row(Operation("/", _divide, lambda out, a, b: (1.0 / b, -out / b), arity=2,
                     methods=("__truediv__", "__rtruediv__"), sympy=lambda sp, a, b: a / b,
                     numpy=lambda a, b: a / b))
NEG = _row(Operation("neg", neg, lambda out, a: -1.0,
                     methods=("__neg__",), sympy=lambda sp, a: -a))
# a ** b with a Value exponent (and c ** x): ∂/∂a = b·a^(b−1), ∂/∂b = a^b·ln a
POW = _row(Operation("**", _power_positive_base, lambda out, a, b: (b * _inf_power(a, b - 1.0), out * log(a)),
                     arity=2, methods=("__rpow__",), sympy=lambda sp, a, b: a**b,
                     numpy=lambda a, b: a**b))
EXP = _row(Operation("exp", _exp, lambda out, a: out,
                     methods=("exp",), sympy=lambda sp, a: sp.exp(a), numpy=exp))
LOG = _row(Operation("log", _log, lambda out, a: 1.0 / a,
                     methods=("log",), sympy=lambda sp, a: sp.log(a), numpy=log))
TANH = _row(Operation("tanh", math.tanh, lambda out, a: 1.0 - out * out,
                      methods=("tanh",), sympy=lambda sp, a: sp.tanh(a), numpy=tanh, activation=True))
SIGMOID = _row(Operation("sigmoid", _sigmoid, lambda out, a: out * (1.0 - out),
                         methods=("sigmoid",), sympy=lambda sp, a: 1 / (1 + sp.exp(-a)), numpy=sigmoid,
                         activation=True))
RELU = _row(Operation("ReLU", _relu, lambda out, a: 1.0 if a > 0.0 else 0.0,
                      methods=("relu",), sympy=lambda sp, a: sp.Piecewise((a, a > 0), (0, True)),
                      numpy=lambda a: a * (a > 0), numpy_grads=lambda out, a: (a > 0) * 1.0, activation=True))
ABS = _row(Operation("abs", abs, lambda out, a: 1.0 if a > 0.0 else -1.0 if a < 0.0 else 0.0,
                     methods=("__abs__", "abs"), sympy=lambda sp, a: sp.Piecewise((a, a > 0), (-a, True)),
                     numpy=abs, numpy_grads=lambda out, a: _np(a).sign(a)))
# Fused rows: a whole sum or dot product as ONE node (a neuron's w·x is one node, not 2n). The
# rules take their inputs as groups (sum: xs; dot: xs and ys); the node's inputs are them joined.
SUM = _row(Operation("sum", lambda xs: sum(xs), lambda out, xs: ((1.0,) * len(xs),),
                     arity=None, sympy=lambda sp, xs: sp.Add(*xs)))
DOT = _row(Operation("dot", lambda xs, ys: sum(map(mul, xs, ys)), lambda out, xs, ys: (ys, xs),
                     arity=None, groups=2, sympy=lambda sp, xs, ys: sp.Add(*map(mul, xs, ys))))


# Families: one row per number, made on first use.
@lru_cache(maxsize=256)
def power_op(p: float) -> Operation:
    """x ** p for a number p;  ∂/∂x = p·x^(p−1) (0 for p = 0, even at x = 0)."""
    whole = math.isfinite(p) and p == int(p)

    def forward(a: float) -> float:
        if (a < 0.0 and not whole) or (a == 0.0 and p < 0.0):
            return _power(a, p)  # which raises the clear error (or gives NaN for a NaN exponent)
        try:
            return a**p
        except OverflowError:
            return _power(a, p)

    # x^(p−1) for p = 2 is x itself: the common square skips the guarded power
    grads = ((lambda out, a: 0.0) if p == 0.0 else (lambda out, a: p * a) if p == 2.0
             else (lambda out, a: p * _inf_power(a, p - 1.0)))  # fmt: skip
    return Operation(f"**{int(p) if whole else p}", forward, grads, numpy=lambda a: a**p,
                     sympy=lambda sp, a: a ** sp.Rational(repr(p)), family=power_op, param=p)


@lru_cache(maxsize=256)
def leaky_relu_op(alpha: float) -> Operation:
    """x if x > 0 else α·x;  ∂/∂x = 1 if x > 0 else α."""
    return Operation("LeakyReLU" if alpha == 0.01 else f"LeakyReLU({alpha:g})",
                     lambda a: a if a > 0.0 else alpha * a, lambda out, a: 1.0 if a > 0.0 else alpha,
                     sympy=lambda sp, a: sp.Piecewise((a, a > 0), (sp.Rational(repr(alpha)) * a, True)),
                     numpy=lambda a: _np(a).where(a > 0, a, alpha * a),
                     numpy_grads=lambda out, a: _np(a).where(a > 0, 1.0, alpha),
                     activation=True, family=leaky_relu_op, param=alpha)


OPS["**p"], OPS["leaky_relu"] = power_op(2.0), leaky_relu_op(0.01)
