"""The scalar autograd engine: `Value`, its operations, and reverse-mode backpropagation.

Every operation is defined in one place by two things written side by side:

* its forward value, computed on floats, and
* its *local gradients* ``∂out/∂input`` for each input, given by a rule ``rule(out, *inputs)``.

A rule is written with ordinary arithmetic so that it works on floats *and* on Values: the
forward pass calls it on floats and stores the numbers in ``node._local`` (the fast first-order
path), while :func:`grad` with ``create_graph=True`` calls it on the Values themselves, so the
gradients form a graph that can be differentiated again.

No node keeps a closure or any other reference back to itself, so a graph that goes out of
scope is freed by reference counting alone, without waiting for the cyclic garbage collector.

This module imports nothing outside the standard library.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import repeat
from numbers import Real
from operator import attrgetter
from operator import mul as _fmul
from typing import Union

__all__ = [
    "Operation",
    "Value",
    "Number",
    "dot",
    "gc_paused",
    "grad",
    "hessian",
    "is_grad_enabled",
    "make_node",
    "no_grad",
    "topological_order",
    "value_sum",
]

Number = Union[int, float]  # noqa: UP007 - a runtime alias, kept for Python 3.10
Operand = Union["Value", int, float]  # noqa: UP007
LocalGrads = Callable[..., tuple]


class Operation(str):
    """An operation: its display name (what ``node._op`` shows) and its local-gradient rule.

    ``local_grads(out, *inputs)`` returns ∂out/∂input for each input and must work on floats
    and on Values (write it with arithmetic and Value methods). To add an operation of your
    own, make one ``Operation`` and build nodes with :func:`make_node`.

    Being a ``str`` keeps ``node._op`` exactly what micrograd code expects ('+', '*', '**2',
    'ReLU', ...), while ``node._op.local_grads`` lets higher-order differentiation rebuild the
    local derivatives as Values.
    """

    local_grads: LocalGrads

    def __new__(cls, name: str, local_grads: LocalGrads) -> Operation:
        op = super().__new__(cls, name)
        op.local_grads = local_grads
        return op

    # Operations are immutable singletons: copying a graph shares them.
    def __copy__(self) -> Operation:
        return self

    def __deepcopy__(self, memo: dict) -> Operation:
        return self


# Whether operations record the graph. A plain module global: one lookup per node is cheaper
# than a context variable, and autograd on scalars is not used across threads.
_grad_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside a :func:`no_grad` block."""
    return _grad_enabled


@contextmanager
def no_grad() -> Iterator[None]:
    """Context manager: operations inside compute data only and record no graph."""
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = previous


def _check_real(data: object, where: str) -> float:
    if type(data) is float:  # exactly float: a subclass (numpy.float64) is converted below
        return data
    if isinstance(data, int) or (isinstance(data, Real) and not isinstance(data, Value)):
        return float(data)
    if isinstance(data, Value):
        raise TypeError(
            f"{where}: expected a real number (int or float), got a Value; "
            "use v.data for its number or v.detach() for a new leaf"
        )
    raise TypeError(f"{where}: expected a real number (int or float), got {type(data).__name__}: {data!r}")


def _name(v: Value) -> str:
    return f" (node {v.label!r})" if v.label else ""


class Value:
    """One scalar in a computation graph: its number, its gradient, and how it was made.

    Drop-in compatible with micrograd: ``Value(data, _children=(), _op='', label='')`` with
    attributes ``data``, ``grad``, ``_prev`` (the inputs, an ordered tuple), ``_op`` and
    ``label``. ``data`` may be any real number; NaN and ±inf are accepted and follow IEEE-754
    float semantics (they propagate through operations and gradients, never raise by
    themselves), exactly as Python floats and PyTorch do.
    """

    # A node is ONE object: the one- and two-input operations, nearly every node of a graph,
    # keep their inputs and local gradients in slots instead of in two small tuples per node,
    # which saves memory and the cyclic collector's time (it scans every container object).
    # The layouts below are read through the `_prev` and `_local` properties:
    #   leaf               _a = None
    #   one input x        _a = x,            _b = None,   _da = ∂out/∂x
    #   two inputs x, y    _a = x,            _b = y,      _da = ∂out/∂x,  _db = ∂out/∂y
    #   any inputs         _a = (inputs...),  _b = _MANY,  _da = (∂out/∂input, ...)
    __slots__ = ("data", "grad", "_op", "label", "_a", "_b", "_da", "_db", "__weakref__")

    data: float
    grad: float
    _op: str
    label: str

    def __init__(self, data: Number, _children: Iterable[Value] = (), _op: str = "", label: str = "") -> None:
        self.data = _check_real(data, "Value(data)")
        self.grad = 0.0
        children = tuple(_children)
        for child in children:
            if not isinstance(child, Value):
                raise TypeError(f"Value(_children): every child must be a Value, got {type(child).__name__}")
        self._op = _op
        self.label = label
        if children:
            # A hand-built node has no local-gradient rule: like micrograd, backward passes it
            # by (unless its `_local` is then set: the way to add an operation of one's own).
            self._set_inputs(children, ())
        else:
            self._a = self._b = self._da = self._db = None

    @property
    def _prev(self) -> tuple[Value, ...]:
        """The node's inputs, an ordered tuple (micrograd's attribute)."""
        a = self._a
        if a is None:
            return ()
        b = self._b
        if b is None:
            return (a,)
        return a if b is _MANY else (a, b)

    @_prev.setter
    def _prev(self, children: Iterable[Value]) -> None:
        self._set_inputs(tuple(children), self._local)

    @property
    def _local(self) -> tuple:
        """The local gradients ∂node/∂input, aligned with `_prev` (empty if built by hand)."""
        a = self._a
        if a is None:
            return ()
        b = self._b
        if b is None:
            return (self._da,)
        return self._da if b is _MANY else (self._da, self._db)

    @_local.setter
    def _local(self, local: Iterable[float]) -> None:
        self._set_inputs(self._prev, tuple(local))

    def _set_inputs(self, children: tuple[Value, ...], local: tuple) -> None:
        """Store inputs and local gradients in the layout that fits them (see __slots__)."""
        n = len(children)
        if n == 0:
            self._a = self._b = self._da = self._db = None
        elif n == len(local) == 1:
            self._a, self._b, self._da, self._db = children[0], None, local[0], None
        elif n == len(local) == 2:
            self._a, self._b = children
            self._da, self._db = local
        else:  # backward pairs inputs with local gradients as zip does: missing ones count 0
            self._a, self._b, self._da, self._db = children, _MANY, local, None

    # ------------------------------------------------------------------ building nodes
    @staticmethod
    def _node(data: float, children: tuple[Value, ...], op: Operation, local: tuple) -> Value:
        """A new node with `children` and their local gradients (skips __init__'s checks)."""
        out = _new(Value)
        out.data = data
        out.grad = 0.0
        out.label = ""
        if not _grad_enabled:
            out._op = ""
            out._a = out._b = out._da = out._db = None
            return out
        out._op = op
        n = len(children)
        if n == 2:
            out._a, out._b = children
            out._da, out._db = local
        elif n == 1:
            out._a = children[0]
            out._da = local[0]
            out._b = out._db = None
        else:
            out._a = children
            out._b = _MANY
            out._da = local
            out._db = None
        return out

    # ------------------------------------------------------------------ operations
    # Each operation: forward value on floats, then its local-gradient rule (see module doc).

    # + and *, most of the nodes of any graph, build their node inline: a call less per node.
    def __add__(self, other: Operand) -> Value:
        """a + b;  ∂/∂a = 1, ∂/∂b = 1."""
        if not isinstance(other, Value):
            other = _as_value(other)
        out = _new(Value)
        out.data = self.data + other.data
        out.grad = 0.0
        out.label = ""
        if _grad_enabled:
            out._op = _ADD
            out._a = self
            out._b = other
            out._da = 1.0
            out._db = 1.0
        else:
            out._op = ""
            out._a = out._b = out._da = out._db = None
        return out

    def __mul__(self, other: Operand) -> Value:
        """a · b;  ∂/∂a = b, ∂/∂b = a."""
        if not isinstance(other, Value):
            other = _as_value(other)
        a = self.data
        b = other.data
        out = _new(Value)
        out.data = a * b
        out.grad = 0.0
        out.label = ""
        if _grad_enabled:
            out._op = _MUL
            out._a = self
            out._b = other
            out._da = b
            out._db = a
        else:
            out._op = ""
            out._a = out._b = out._da = out._db = None
        return out

    def __sub__(self, other: Operand) -> Value:
        """a − b;  ∂/∂a = 1, ∂/∂b = −1."""
        other = _as_value(other)
        return _node2(self.data - other.data, self, other, _SUB, 1.0, -1.0)

    def __neg__(self) -> Value:
        """−a;  ∂/∂a = −1."""
        return _node1(-self.data, self, _NEG, -1.0)

    def __truediv__(self, other: Operand) -> Value:
        """a / b;  ∂/∂a = 1/b, ∂/∂b = −a/b²."""
        other = _as_value(other)
        b = other.data
        if b == 0.0:
            raise ZeroDivisionError(
                f"division by zero: the divisor{_name(other)} is 0.0 (dividend {self.data!r}{_name(self)})"
            )
        out = self.data / b
        return _node2(out, self, other, _DIV, *_div_grads(out, self.data, b))

    def __pow__(self, other: Operand) -> Value:
        """a ** p;  ∂/∂a = p·a^(p−1), and for a Value exponent ∂/∂p = a^p · ln a."""
        if isinstance(other, Value):
            return _pow_value(self, other)
        p = other if type(other) is float else _check_real(other, "Value ** exponent")
        op = _pow_const_op(p)
        x = self.data
        out = _power(x, p, self, None)
        return _node1(out, self, op, op.local_grads(out, x)[0])

    def __rpow__(self, base: Number) -> Value:
        """c ** a for a number c;  ∂/∂a = c^a · ln c."""
        return _pow_value(Value(_check_real(base, "number ** Value")), self)

    def exp(self) -> Value:
        """e^a;  ∂/∂a = e^a."""
        try:
            out = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp: e**{self.data!r}{_name(self)} is too large for a float") from None
        return _node1(out, self, _EXP, out)

    def log(self) -> Value:
        """ln a (natural logarithm);  ∂/∂a = 1/a."""
        x = self.data
        if not x > 0.0:  # also catches NaN, whose log is NaN only by accident of the platform
            if math.isnan(x):
                return _node1(math.nan, self, _LOG, math.nan)
            raise ValueError(f"log: input must be positive, got {x!r}{_name(self)}")
        return _node1(math.log(x), self, _LOG, 1.0 / x)

    def tanh(self) -> Value:
        """tanh a;  ∂/∂a = 1 − tanh²a."""
        t = math.tanh(self.data)
        return _node1(t, self, _TANH, 1.0 - t * t)

    def sigmoid(self) -> Value:
        """σ(a) = 1 / (1 + e^−a);  ∂/∂a = σ(a)(1 − σ(a))."""
        x = self.data
        # Two branches so that exp never sees a large positive argument (no overflow).
        if x >= 0.0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            s = e / (1.0 + e)
        return _node1(s, self, _SIGMOID, s * (1.0 - s))

    def relu(self) -> Value:
        """max(0, a);  ∂/∂a = 1 if a > 0 else 0 (0 at 0, as micrograd and PyTorch)."""
        x = self.data
        if x > 0.0:
            return _node1(x, self, _RELU, 1.0)
        return _node1(0.0 if x == x else x, self, _RELU, 0.0)

    def leaky_relu(self, alpha: float = 0.01) -> Value:
        """a if a > 0 else α·a;  ∂/∂a = 1 if a > 0 else α."""
        op = _leaky_relu_op(_check_real(alpha, "leaky_relu(alpha)"))
        x = self.data
        return _node1(x if x > 0.0 else op.alpha * x, self, op, op.local_grads(x, x)[0])

    def __abs__(self) -> Value:
        """|a|;  ∂/∂a = sign(a) (0 at 0)."""
        x = self.data
        return _node1(abs(x), self, _ABS, _abs_grads(x, x)[0])

    def abs(self) -> Value:
        """|a|;  ∂/∂a = sign(a) (0 at 0)."""
        return self.__abs__()

    @staticmethod
    def sum(values: Iterable[Operand]) -> Value:
        """Σ vᵢ as ONE node with many inputs;  ∂/∂vᵢ = 1."""
        return value_sum(values)

    @staticmethod
    def dot(xs: Iterable[Operand], ys: Iterable[Operand]) -> Value:
        """Σ xᵢ·yᵢ as ONE node with many inputs;  ∂/∂xᵢ = yᵢ, ∂/∂yᵢ = xᵢ."""
        return dot(xs, ys)

    # ------------------------------------------------------------------ reflected operators
    def __radd__(self, other: Number) -> Value:
        return _as_value(other) + self

    def __rmul__(self, other: Number) -> Value:
        return _as_value(other) * self

    def __rsub__(self, other: Number) -> Value:
        return _as_value(other) - self

    def __rtruediv__(self, other: Number) -> Value:
        return _as_value(other) / self

    # ------------------------------------------------------------------ comparisons
    # Ordering compares data and returns a bool; == and hash stay identity-based so that
    # Values can live in sets and dicts (as in micrograd).
    def __lt__(self, other: Operand) -> bool:
        return self.data < _data(other)

    def __le__(self, other: Operand) -> bool:
        return self.data <= _data(other)

    def __gt__(self, other: Operand) -> bool:
        return self.data > _data(other)

    def __ge__(self, other: Operand) -> bool:
        return self.data >= _data(other)

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    # ------------------------------------------------------------------ loud failures
    def __float__(self) -> float:
        raise TypeError(
            "float(Value) would drop the graph and its gradient: use v.data for the number, "
            "or the Value's own method (v.exp(), v.log(), v.tanh(), ...) instead of math.*"
        )

    def __int__(self) -> int:
        raise TypeError("int(Value) would drop the graph and its gradient: use int(v.data)")

    def __index__(self) -> int:
        raise TypeError("a Value cannot be used as an index: use int(v.data)")

    def __bool__(self) -> bool:
        raise TypeError(
            "the truth value of a Value is ambiguous: compare it (v > 0) or test v.data"
        )

    def __round__(self, ndigits: int | None = None) -> float:
        raise TypeError("round(Value) would drop the graph: use round(v.data)")

    # ------------------------------------------------------------------ backpropagation
    def backward(self) -> None:
        """Backpropagate: set ``grad`` of every node to ∂self/∂node, by the chain rule.

        Seeds ``self.grad`` with 1.0 and visits the graph in reverse topological order,
        adding ``local gradient × grad of the parent`` to each input.

        Semantics: every call recomputes the gradients of the intermediate nodes (nodes with
        inputs) from scratch, while leaves (nodes without inputs: parameters, data) accumulate.
        So two calls leave exactly twice the single-pass gradient in each leaf, as PyTorch does
        with ``retain_graph=True``; call ``zero_grad`` (or set ``p.grad = 0``) between steps.
        A node used twice (``a + a``) receives both contributions. The order is computed
        without recursion, so graphs of any depth work. A fused node (sum, dot) whose gradient
        is exactly 0 passes nothing on: its inputs get +0, not 0·∞ = NaN where an input is ±inf.
        """
        with gc_paused():
            order = _interior_order_zeroed(self)
            if self._a is None:
                self.grad += 1.0
            else:
                self.grad = 1.0
            many = _MANY
            for node in reversed(order):
                g = node.grad
                b = node._b
                if b is None:
                    node._a.grad += node._da * g
                elif b is many:
                    # A fused node (a neuron's dot) behind a ReLU that is off has gradient 0:
                    # its many inputs would each receive exactly 0, so skip the loop.
                    if g != 0.0:
                        for child, local in zip(node._a, node._da):
                            child.grad += local * g
                else:
                    node._a.grad += node._da * g
                    b.grad += node._db * g

    def _backward(self) -> None:
        """One step of the chain rule: add this node's gradient × local gradients to its inputs.

        The lecture calls this by hand, node by node; :meth:`backward` does it for the graph.
        """
        g = self.grad
        for child, local in zip(self._prev, self._local):
            child.grad += local * g

    def detach(self) -> Value:
        """A new leaf with the same data (and label), cut off from this graph."""
        return Value(self.data, label=self.label)

    def zero_grad(self) -> None:
        """Set the gradient of this node and of every node it depends on to 0."""
        for node in topological_order(self):
            node.grad = 0.0

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data}, grad={self.grad}{label})"


_new = object.__new__
_get_data = attrgetter("data")


# Value._node without its tuples, for the one- and two-input operations (the same nodes, faster).
def _node1(data: float, x: Value, op: Operation, dx: float) -> Value:
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._b = None
    out._db = None
    if _grad_enabled:
        out._op = op
        out._a = x
        out._da = dx
    else:
        out._op = ""
        out._a = out._da = None
    return out


def _node2(data: float, x: Value, y: Value, op: Operation, dx: float, dy: float) -> Value:
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _grad_enabled:
        out._op = op
        out._a = x
        out._b = y
        out._da = dx
        out._db = dy
    else:
        out._op = ""
        out._a = out._b = out._da = out._db = None
    return out


def _as_value(x: Operand) -> Value:
    if isinstance(x, Value):
        return x
    if type(x) is float:
        v = _new(Value)
        v.data = x
        v.grad = 0.0
        v._op = ""
        v.label = ""
        v._a = v._b = v._da = v._db = None
        return v
    return Value(x)


def _data(x: Operand) -> float:
    return x.data if isinstance(x, Value) else _check_real(x, "comparison with a Value")


# ---------------------------------------------------------------------- operation rules
# rule(out, *inputs) -> local gradients, one per input; written to work on floats and Values.

_ONE = (1.0,)
_ZERO = (0.0,)
_MINUS_ONE = (-1.0,)
_ONES2 = (1.0, 1.0)
_ONE_MINUS_ONE = (1.0, -1.0)

_ADD = Operation("+", lambda out, a, b: _ONES2)
_MUL = Operation("*", lambda out, a, b: (b, a))
_SUB = Operation("-", lambda out, a, b: _ONE_MINUS_ONE)
_NEG = Operation("neg", lambda out, a: _MINUS_ONE)


def _div_grads(out, a, b):  # noqa: ANN001, ANN202 - floats or Values
    return (1.0 / b, -out / b)


_DIV = Operation("/", _div_grads)
_EXP = Operation("exp", lambda out, a: (out,))
_LOG = Operation("log", lambda out, a: (1.0 / a,))
_TANH = Operation("tanh", lambda out, a: (1.0 - out * out,))
_SIGMOID = Operation("sigmoid", lambda out, a: (out * (1.0 - out),))
_RELU = Operation("ReLU", lambda out, a: _ONE if a > 0.0 else _ZERO)


def _abs_grads(out, a):  # noqa: ANN001, ANN202
    return _ONE if a > 0.0 else _MINUS_ONE if a < 0.0 else _ZERO


_ABS = Operation("abs", _abs_grads)


@lru_cache(maxsize=256)
def _leaky_relu_op(alpha: float) -> Operation:
    slope = (alpha,)
    name = "LeakyReLU" if alpha == 0.01 else f"LeakyReLU({alpha:g})"
    op = Operation(name, lambda out, a: _ONE if a > 0.0 else slope)
    op.alpha = alpha
    return op


def _power(base: float, p: float, node: Value, exponent_node: Value | None) -> float:
    """base ** p on floats, with errors that name the operation and its operands."""
    if base == 0.0 and p < 0.0:
        where = _pow_where(base, p, node, exponent_node)
        raise ZeroDivisionError(f"{where}: zero cannot be raised to a negative power")
    if base < 0.0 and math.isfinite(p) and p != int(p):
        where = _pow_where(base, p, node, exponent_node)
        raise ValueError(f"{where}: a negative base with a non-integer exponent has no real value")
    try:
        out = base**p
    except OverflowError:
        where = _pow_where(base, p, node, exponent_node)
        raise OverflowError(f"{where}: the result is too large for a float") from None
    return out


def _pow_where(base: float, p: float, node: Value, exponent_node: Value | None) -> str:
    # Formatted only for an error message: it costs more than the power itself.
    exponent_name = _name(exponent_node) if exponent_node is not None else ""
    return f"pow: {base!r}{_name(node)} ** {p!r}{exponent_name}"


@lru_cache(maxsize=256)
def _pow_const_op(p: float) -> Operation:
    """The op ``**p`` for a number exponent p; ∂/∂a = p·a^(p−1)."""
    if p == 0.0:
        rule = lambda out, a: _ZERO  # noqa: E731 - d/da a^0 = 0, even at a = 0
    elif p == 1.0:
        rule = lambda out, a: _ONE  # noqa: E731
    else:
        q = p - 1.0

        def rule(out, a):  # noqa: ANN001, ANN202
            return (p * _pow(a, q),)

    return Operation(f"**{int(p) if p == int(p) else p}" if math.isfinite(p) else f"**{p}", rule)


def _pow_value_grads(out, a, b):  # noqa: ANN001, ANN202
    return (b * _pow(a, b - 1.0), out * _log(a))


_POW = Operation("**", _pow_value_grads)


def _pow_value(base: Value, exponent: Value) -> Value:
    a, b = base.data, exponent.data
    if not a > 0.0 and not math.isnan(a):
        raise ValueError(
            f"pow: {a!r}{_name(base)} ** Value({b!r}){_name(exponent)}: with a Value exponent the base "
            "must be positive (the derivative ∂/∂exponent = a^b·ln a needs ln a); "
            "use a number exponent for powers of zero or negative numbers"
        )
    out = _power(a, b, base, exponent)
    return _node2(out, base, exponent, _POW, *_pow_value_grads(out, a, b))


def _log(x):  # noqa: ANN001, ANN202 - ln for a float or a Value, used inside rules
    return x.log() if isinstance(x, Value) else math.log(x)


def _pow(a, q):  # noqa: ANN001, ANN202 - a ** q inside rules, for a float or a Value
    """a ** q; on floats a local derivative may be infinite (√x at 0), so give IEEE ±inf.

    Python raises for 0.0 ** -0.5 and for overflow, where the derivative is simply infinite.
    On Values (create_graph) such a point gives a constant Value(±inf): the derivative is
    infinite there, and so no higher derivative exists to be traced.
    """
    try:
        return a**q
    except (ZeroDivisionError, OverflowError):
        x = a.data if isinstance(a, Value) else a
        negative = math.copysign(1.0, x) < 0.0 and math.isfinite(q) and q == int(q) and int(q) % 2 == 1
        limit = -math.inf if negative else math.inf
        return Value(limit) if isinstance(a, Value) else limit


def _sum_grads(out, *inputs):  # noqa: ANN001, ANN202
    return (1.0,) * len(inputs)


_SUM = Operation("sum", _sum_grads)


def _dot_grads(out, *inputs):  # noqa: ANN001, ANN202 - inputs = xs + ys
    n = len(inputs) // 2
    return inputs[n:] + inputs[:n]


_DOT = Operation("dot", _dot_grads)


def value_sum(values: Iterable[Operand]) -> Value:
    """Σ vᵢ as ONE node with many inputs;  ∂/∂vᵢ = 1.  Numbers are wrapped as leaves."""
    children = _as_values(values)
    if not children:
        raise ValueError("value_sum: needs at least one value")
    # Plain left-to-right addition: the same IEEE result (inf, NaN) as a chain of `+`.
    return Value._node(sum(map(_get_data, children)), children, _SUM, (1.0,) * len(children))


def dot(xs: Iterable[Operand], ys: Iterable[Operand]) -> Value:
    """Σ xᵢ·yᵢ as ONE node with many inputs;  ∂/∂xᵢ = yᵢ, ∂/∂yᵢ = xᵢ.

    The node's inputs are ``xs + ys``; numbers are wrapped as leaves. This is what makes a
    neuron one node instead of a chain of 2n.
    """
    xs = _as_values(xs)
    ys = _as_values(ys)
    if len(xs) != len(ys):
        raise ValueError(f"dot: the two sequences must have equal length, got {len(xs)} and {len(ys)}")
    if not xs:
        raise ValueError("dot: needs at least one pair")
    xd = tuple(map(_get_data, xs))
    yd = tuple(map(_get_data, ys))
    return Value._node(sum(map(_fmul, xd, yd)), xs + ys, _DOT, yd + xd)


def _as_values(items: Iterable[Operand]) -> tuple[Value, ...]:
    """The items as a tuple of Values, numbers wrapped as leaves (checked with C-level loops)."""
    values = tuple(items)
    if all(map(isinstance, values, repeat(Value))):
        return values
    return tuple(map(_as_value, values))


# ---------------------------------------------------------------------- graph traversal
class _Marker:
    """A named singleton; copying or pickling it gives the same object back."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return self.name


_MANY = _Marker("_MANY")  # `_b` of a node whose inputs are the tuple in `_a` (see Value.__slots__)
_EMIT = _Marker("_EMIT")  # on a traversal stack: the node below it has all its inputs in the order


def _interior_order_zeroed(root: Value) -> list[Value]:
    """The nodes with inputs that `root` depends on, inputs first, each one's grad reset to 0.0.

    The order of `topological_order` without its leaves, for backward. Instead of a set of
    visited nodes, each visited node's grad is set to a 0.0 float object made for this call,
    so "visited?" is one identity test on a node already in hand, and the reset to 0.0 that
    backward needs comes for free.
    """
    order: list[Value] = []
    if root._a is None:
        return order
    zero = float("0")  # a new object, unlike the literal 0.0
    many, emit = _MANY, _EMIT
    stack: list = [root]
    push, pop, append = stack.append, stack.pop, order.append
    while stack:
        node = pop()
        if node is emit:
            append(pop())
            continue
        # Depth first: expand the node, then go straight on into its first input (no push and
        # pop for it); the other inputs wait on the stack, last to first.
        while node.grad is not zero:
            node.grad = zero
            push(node)
            push(emit)
            a, b = node._a, node._b
            if b is many:
                for child in reversed(a):
                    if child._a is not None and child.grad is not zero:
                        push(child)
                break
            if b is not None and b._a is not None and b.grad is not zero:
                push(b)
            if a._a is None:
                break
            node = a
    return order


def topological_order(roots: Value | Iterable[Value]) -> list[Value]:
    """Every node the root(s) depend on, each after all of its inputs (inputs first).

    Iterative depth-first search, so graphs of any depth work; deterministic, because inputs
    are visited in their stored order. ``reversed(...)`` of it is the order backward visits.
    """
    roots = [roots] if isinstance(roots, Value) else list(roots)
    for root in roots:
        if not isinstance(root, Value):
            raise TypeError(f"topological_order: every root must be a Value, got {type(root).__name__}")
    order: list[Value] = []
    visited: set[Value] = set()
    add, append = visited.add, order.append
    many, emit = _MANY, _EMIT
    stack: list = roots[::-1]
    push, pop = stack.append, stack.pop
    with gc_paused():
        while stack:
            node = pop()
            if node is emit:
                append(pop())
                continue
            if node in visited:
                continue
            add(node)
            a = node._a
            if a is None:
                append(node)  # a leaf is finished as soon as it is seen
                continue
            push(node)
            push(emit)
            # Inputs pushed last to first: the first input's graph comes first in the order.
            b = node._b
            if b is many:
                stack.extend(reversed(a))
            elif b is None:
                push(a)
            else:
                push(b)
                push(a)
    return order


@contextmanager
def gc_paused() -> Iterator[None]:
    """Context manager: pause Python's cyclic garbage collector, restoring its state after.

    Graphs have no reference cycles, so building or traversing one gives the collector nothing
    to find; left running, it would re-scan the whole (large, live) graph again and again,
    which can cost more than the work itself. Used by backward, the batch forward and `fit`.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def make_node(data: float, inputs: Sequence[Value], op: Operation, local_grads: Sequence[float]) -> Value:
    """A new node: value ``data``, computed by ``op`` from ``inputs``, with ∂node/∂input given
    as numbers in ``local_grads`` (what ``op.local_grads(data, *input data)`` returns).

    The way to define an operation of your own; under :func:`no_grad` it records no inputs.
    """
    return Value._node(data, tuple(inputs), op, tuple(local_grads))


# ---------------------------------------------------------------------- functional gradients
def _local_grad_graph(node: Value) -> tuple:
    """The node's local gradients rebuilt as Values (for create_graph=True)."""
    rule = getattr(node._op, "local_grads", None)
    if rule is None:
        raise TypeError(
            f"grad(create_graph=True): node {node!r} (op {node._op!r}) was built by hand and has no "
            "differentiable rule; build it from Value operations instead"
        )
    return rule(node, *node._prev)


def grad(
    output: Value,
    inputs: Value | Sequence[Value],
    create_graph: bool = False,
) -> list:
    """∂output/∂input for each input, without touching any node's ``.grad``.

    With ``create_graph=False`` the gradients are floats. With ``create_graph=True`` they are
    Values built from the graph itself, so they can be differentiated again (second and
    higher derivatives, mixed partials). An input that ``output`` does not depend on gets 0.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type(output).__name__}")
    single = isinstance(inputs, Value)
    wanted = [inputs] if single else list(inputs)
    for v in wanted:
        if not isinstance(v, Value):
            raise TypeError(f"grad: every input must be a Value, got {type(v).__name__}")
    order = topological_order(output)
    grads: dict[Value, object] = {output: 1.0}
    if create_graph:
        for node in reversed(order):
            g = grads.get(node)
            if g is None or not node._prev:
                continue
            for child, local in zip(node._prev, _local_grad_graph(node)):
                contribution = local * g
                previous = grads.get(child)
                grads[child] = contribution if previous is None else previous + contribution
    else:
        for node in reversed(order):
            g = grads.get(node)
            if g is None:
                continue
            for child, local in zip(node._prev, node._local):
                grads[child] = grads.get(child, 0.0) + local * g
    result = []
    for v in wanted:
        g = grads.get(v, 0.0)
        if create_graph and not isinstance(g, Value):
            g = Value(g)
        elif not create_graph:
            g = float(g)
        result.append(g)
    return result


def hessian(f: Callable[..., Value], inputs: Sequence[Number | Value]) -> list[list[float]]:
    """The matrix of second derivatives ∂²f/∂xᵢ∂xⱼ at ``inputs`` (numbers or Values)."""
    xs = [Value(x.data if isinstance(x, Value) else x, label=f"x{i}") for i, x in enumerate(inputs)]
    out = f(*xs)
    first = grad(out, xs, create_graph=True)
    return [grad(g, xs) for g in first]
