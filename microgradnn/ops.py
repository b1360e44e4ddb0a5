"""The table of operations: every operation of the engine, each written once, in one place.

Read it top to bottom. Each row is an :class:`Operation`:

* ``forward``: its value, on floats. Where the operation is undefined (``log`` of a negative
  number) it raises a clear error that names the operation and the number.
* ``grads(out, *inputs)``: its *local gradients* ∂out/∂input: the derivative itself for one
  input, a pair for two, one tuple per group for the fused rows (sum, dot). The rule uses
  arithmetic and the functions below (``exp``, ``log``, ``sigmoid``, ...), which work on floats,
  Values and numpy arrays, so the same line serves ``backward()`` (floats),
  ``grad(create_graph=True)`` (Values: higher derivatives come free) and the compiled path.
* ``numpy`` (and ``numpy_grads``): the forms for numpy arrays, where they differ.
* ``sympy``: the same function in sympy, the independent oracle of the tests.
* ``methods``: the Value methods and operators the row provides.

Adding an operation is one row here, or :func:`microgradnn.engine.define_op` from your own code;
the engine, the drawings, the ``graph`` command, ``microgradnn.testing``, ``nn``'s activations
and the compiled path all read the rows. Imports nothing outside the standard library.
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

Rule = Callable[..., Any]


class Operation(str):
    """One row. Being a ``str`` (its name), ``node._op`` equals what micrograd code expects
    ('+', '*', '**2', 'ReLU', ...) while carrying the row with it."""

    forward: Rule
    grads: Rule
    arity: int | None  # None: any number of inputs, given as `groups` tuples
    groups: int
    methods: tuple[str, ...]
    numpy: Rule | None
    numpy_grads: Rule | None
    sympy: Rule | None
    number_operand: bool  # a number may stand for one input (x + 2, 2 ** x)
    param: float | None  # the number of a family's row: p of **p, α of leaky_relu, a target
    activation: bool  # nn may apply it to a neuron's w·x + b
    base: Operation | None  # `x ∘ c` with the number c kept in the node: the row of ∘ ...
    number_first: bool  # ... and whether c is its left operand (2 - x)
    _variants: dict[bool, Operation]

    def __new__(
        cls, name: str, forward: Rule | None, grads: Rule | None = None, *, arity: int | None = 1,
        groups: int = 1, methods: tuple[str, ...] = (), numpy: Rule | None = None,
        numpy_grads: Rule | None = None, sympy: Rule | None = None, number_operand: bool = False,
        param: float | None = None, activation: bool = False,
    ) -> Operation:  # fmt: skip
        if grads is None:  # microgradnn 0.1's Operation(name, local_grads): nodes via make_node only
            forward, grads = _no_forward(name), forward
        op = super().__new__(cls, name)
        op.forward, op.grads, op.arity, op.groups, op.methods = forward, grads, arity, groups, methods  # type: ignore[assignment]
        op.numpy, op.numpy_grads, op.sympy, op.number_operand = numpy, numpy_grads, sympy, number_operand
        op.param, op.activation, op.base, op.number_first, op._variants = param, activation, None, False, {}
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

    def with_number(self, first: bool) -> Operation:
        """This row with one operand a number that the node keeps instead of a leaf (``x + 2``)."""
        if first not in self._variants:
            variant = self._variants[first] = Operation(self.name, self.forward, self.grads)
            variant.base, variant.number_first = self, first
        return self._variants[first]

    # Rows are singletons: copying a graph shares them; pickling finds them again.
    def __copy__(self) -> Operation:
        return self

    def __deepcopy__(self, memo: dict) -> Operation:
        return self

    def __reduce__(self) -> tuple:
        if self.base is not None:
            return (Operation.with_number, (self.base, self.number_first))
        return (_find, (str(self), self.param))


def _no_forward(name: str) -> Rule:
    def forward(*inputs: float) -> float:
        raise TypeError(f"{name}: this Operation has no forward function; make its nodes with make_node")

    return forward


#: Every operation by name (the families by their family name: "**p", "leaky_relu").
OPS: dict[str, Operation] = {}


def _row(op: Operation) -> Operation:
    OPS[op.name] = op
    return op


def _find(name: str, param: float | None) -> Operation:
    if param is None:
        return OPS[name]
    if name.startswith("**"):
        return power_op(param)
    if name.startswith("LeakyReLU"):
        return leaky_relu_op(param)
    return {"BCEWithLogits": bce_op, "CrossEntropy": cross_entropy_op}[name](param)


# ---------------------------------------------------------------------- functions for the rules
# Each works on a float, a Value (its method) or a numpy array (numpy's function).
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
    """numpy, for an array in hand (already loaded then); anything else is refused, unimported."""
    if not hasattr(x, "__array_ufunc__"):
        raise TypeError(f"expected a number, a Value or a numpy array, got {type(x).__name__}")
    import numpy

    return numpy


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
    Python's exception (a Value there gives a constant Value(±inf): nothing more to trace)."""
    try:
        return a**q
    except (ZeroDivisionError, OverflowError):
        odd = math.isfinite(q) and q == int(q) and int(q) % 2 == 1
        limit = -math.inf if odd and math.copysign(1.0, getattr(a, "data", a)) < 0.0 else math.inf
        return limit if isinstance(a, float) else type(a)(limit)


# ---------------------------------------------------------------------- the table
#     name     forward      local gradients: rule(out, *inputs)
ADD = _row(Operation("+", add, lambda out, a, b: (1.0, 1.0), arity=2, number_operand=True,
                     methods=("__add__", "__radd__"), sympy=lambda sp, a, b: a + b))
SUB = _row(Operation("-", sub, lambda out, a, b: (1.0, -1.0), arity=2, number_operand=True,
                     methods=("__sub__", "__rsub__"), sympy=lambda sp, a, b: a - b))
MUL = _row(Operation("*", mul, lambda out, a, b: (b, a), arity=2, number_operand=True,
                     methods=("__mul__", "__rmul__"), sympy=lambda sp, a, b: a * b))
DIV = _row(Operation("/", _divide, lambda out, a, b: (1.0 / b, -out / b), arity=2, number_operand=True,
                     methods=("__truediv__", "__rtruediv__"), numpy=lambda a, b: a / b,
                     sympy=lambda sp, a, b: a / b))
NEG = _row(Operation("neg", neg, lambda out, a: -1.0, methods=("__neg__",), sympy=lambda sp, a: -a))
# a ** b with a Value exponent, and c ** x for a number c: ∂/∂a = b·a^(b−1), ∂/∂b = a^b·ln a
POW = _row(Operation("**", _power_positive_base, lambda out, a, b: (b * _inf_power(a, b - 1.0), out * log(a)),
                     arity=2, number_operand=True, methods=("__rpow__",), numpy=lambda a, b: a**b,
                     sympy=lambda sp, a, b: a**b))
EXP = _row(Operation("exp", _exp, lambda out, a: out, methods=("exp",), numpy=exp,
                     sympy=lambda sp, a: sp.exp(a)))
LOG = _row(Operation("log", _log, lambda out, a: 1.0 / a, methods=("log",), numpy=log,
                     sympy=lambda sp, a: sp.log(a)))
TANH = _row(Operation("tanh", math.tanh, lambda out, a: 1.0 - out * out, methods=("tanh",), numpy=tanh,
                      activation=True, sympy=lambda sp, a: sp.tanh(a)))
SIGMOID = _row(Operation("sigmoid", _sigmoid, lambda out, a: out * (1.0 - out), methods=("sigmoid",),
                         numpy=sigmoid, activation=True, sympy=lambda sp, a: 1 / (1 + sp.exp(-a))))
# The kinks take the derivative 0 (leaky_relu: α) at 0, as micrograd and PyTorch do.
RELU = _row(Operation("ReLU", lambda a: a if a > 0.0 else (0.0 if a == a else a),
                      lambda out, a: 1.0 if a > 0.0 else 0.0, methods=("relu",), activation=True,
                      numpy=lambda a: a * (a > 0), numpy_grads=lambda out, a: (a > 0) * 1.0,
                      sympy=lambda sp, a: sp.Piecewise((a, a > 0), (0, True))))
ABS = _row(Operation("abs", abs, lambda out, a: 1.0 if a > 0.0 else -1.0 if a < 0.0 else 0.0,
                     methods=("__abs__", "abs"), numpy=abs, numpy_grads=lambda out, a: _np(a).sign(a),
                     sympy=lambda sp, a: sp.Piecewise((a, a > 0), (-a, True))))
# Fused rows: one node for a whole sum or dot product (a neuron's w·x is ONE node, not 2n). Their
# inputs come as `groups` tuples (sum: xs; dot: xs and ys) and the node's inputs are them joined.
SUM = _row(Operation("sum", lambda xs: sum(xs), lambda out, xs: ((1.0,) * len(xs),), arity=None,
                     sympy=lambda sp, xs: sp.Add(*xs)))
DOT = _row(Operation("dot", lambda xs, ys: sum(map(mul, xs, ys)), lambda out, xs, ys: (ys, xs), arity=None,
                     groups=2, sympy=lambda sp, xs, ys: sp.Add(*map(mul, xs, ys))))


# Families: one row per number, made when first used.
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
    return Operation(f"**{int(p) if whole else p}", forward, grads, param=p, numpy=lambda a: a**p,
                     sympy=lambda sp, a: a ** sp.Rational(repr(p)))


@lru_cache(maxsize=256)
def leaky_relu_op(alpha: float) -> Operation:
    """x if x > 0 else α·x;  ∂/∂x = 1 if x > 0 else α."""
    return Operation("LeakyReLU" if alpha == 0.01 else f"LeakyReLU({alpha:g})",
                     lambda a: a if a > 0.0 else alpha * a, lambda out, a: 1.0 if a > 0.0 else alpha,
                     param=alpha, activation=True, numpy=lambda a: _np(a).where(a > 0, a, alpha * a),
                     numpy_grads=lambda out, a: _np(a).where(a > 0, 1.0, alpha),
                     sympy=lambda sp, a: sp.Piecewise((a, a > 0), (sp.Rational(repr(alpha)) * a, True)))


# Two per-sample losses as one node each (microgradnn.losses makes them), written so that exp
# never sees a large positive number: cross-entropy on a logit z with target t ...
def _bce(z: float, t: float) -> float:  # log(1 + e^z) − t·z
    if z >= 0.0:
        return ((1.0 - t) * z if t != 1.0 else 0.0) + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z)) - (t * z if t != 0.0 else 0.0)


@lru_cache(maxsize=1024)
def bce_op(t: float) -> Operation:
    """log(1 + e^z) − t·z = −[t log σ(z) + (1 − t) log(1 − σ(z))];  ∂/∂z = σ(z) − t."""
    return Operation("BCEWithLogits", lambda z: _bce(z, t), lambda out, z: sigmoid(z) - t, param=t,
                     numpy=lambda z: _np(z).maximum(z, 0) - t * z + _np(z).log1p(_np(z).exp(-abs(z))),
                     sympy=lambda sp, z: sp.log(1 + sp.exp(z)) - sp.Rational(repr(t)) * z)


# ... and softmax cross-entropy on logits zs with a class index.
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
    target = int(target)
    return Operation("CrossEntropy", lambda zs: _cross_entropy(zs, target),
                     lambda out, zs: (tuple(p - (j == target) for j, p in enumerate(_softmax(zs))),),
                     arity=None, param=float(target),
                     sympy=lambda sp, zs: sp.log(sp.Add(*map(sp.exp, zs))) - zs[target])


OPS["**p"], OPS["leaky_relu"] = power_op(2.0), leaky_relu_op(0.01)
