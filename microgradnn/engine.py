"""The scalar autograd engine. Read it in order:

1. `Value`: one number of a computation graph, its gradient, and the node it came from. Every
   operator is a method; each hands its operation's row of the table to the node builder.
2. Building a node: the row (:mod:`microgradnn.ops`, where every operation's value and local
   derivative are written once) gives the value and the local gradients; `make_node` keeps them.
3. Topological order and backward: the chain rule, node by node, from the output back.
4. `no_grad`: build no graph at all.

A node is plain data: ``data``, ``grad``, ``_op`` (its row), ``label``, ``_prev`` (its inputs)
and ``_local`` (∂node/∂input for each input, beside them). There are no closures, so no node
refers back to itself and a graph that goes out of scope is freed at once by reference counting.
Higher derivatives (`grad`, `hessian`) are in :mod:`microgradnn.higher_order`, your own
operations (`define_op`) in :mod:`microgradnn.user_ops`, argument checks in
:mod:`microgradnn.checks`. Only the standard library is imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Union

from microgradnn.checks import check_label, check_values, to_float
from microgradnn.ops import (
    ABS,
    ADD,
    DIV,
    DOT,
    EXP,
    LOG,
    MUL,
    NEG,
    POW,
    RELU,
    SIGMOID,
    SUB,
    SUM,
    TANH,
    Operation,
    leaky_relu_op,
    power_op,
)

if TYPE_CHECKING:  # moved to modules of their own; still importable from here (see the bottom)
    from microgradnn.gc_control import gc_paused
    from microgradnn.higher_order import grad, hessian
    from microgradnn.user_ops import define_op

__all__ = [
    "Number", "Operation", "Value", "define_op", "dot", "gc_paused", "grad", "hessian", "inputs_of",
    "is_grad_enabled", "make_node", "make_node_of", "no_grad", "topological_order", "value_sum",
]  # fmt: skip

Number = Union[int, float]  # noqa: UP007 - runtime aliases, kept for Python 3.10
Operand = Union["Value", int, float]  # noqa: UP007


# ---------------------------------------------------------------------- 1. Value
class Value:
    """One scalar in a computation graph: its number, its gradient, and how it was made.

    Drop-in compatible with micrograd: ``Value(data, _children=(), _op='', label='')`` with
    ``data``, ``grad``, ``_prev`` (the inputs, an ordered tuple), ``_op`` and ``label``. ``data``
    is any real number (numpy scalars and 0-d arrays too); NaN and ±inf follow IEEE-754.
    """

    __slots__ = ("data", "grad", "_op", "label", "_prev", "_local", "__weakref__")
    data: float
    grad: float
    _op: str
    label: str
    _prev: tuple[Value, ...]
    _local: tuple[Any, ...]

    def __init__(self, data: Any, _children: Iterable[Value] = (), _op: str = "", label: str = "") -> None:
        self.data = to_float(data, "Value(data)")
        self.grad = 0.0
        self._op = _op
        self.label = label if type(label) is str else check_label(label, "Value(label)")
        self._prev = () if _children == () else _checked_children(_children)
        self._local = ()  # built by hand: no local gradients, as in micrograd (set them to take part)

    # Each operator applies a row of the table; a number operand becomes a leaf Value.
    def __add__(self, other: Operand) -> Value:
        return _binary(ADD, self, other)

    def __radd__(self, other: Number) -> Value:
        return _binary(ADD, other, self)

    def __sub__(self, other: Operand) -> Value:
        return _binary(SUB, self, other)

    def __rsub__(self, other: Number) -> Value:
        return _binary(SUB, other, self)

    def __mul__(self, other: Operand) -> Value:
        return _binary(MUL, self, other)

    def __rmul__(self, other: Number) -> Value:
        return _binary(MUL, other, self)

    def __truediv__(self, other: Operand) -> Value:
        return _binary(DIV, self, other)

    def __rtruediv__(self, other: Number) -> Value:
        return _binary(DIV, other, self)

    def __pow__(self, other: Operand) -> Value:
        if isinstance(other, Value):  # a Value exponent: a ** b, differentiable in both
            return _binary(POW, self, other)
        return _unary(power_op(to_float(other, "Value ** exponent")), self)  # the row x ** p

    def __rpow__(self, other: Number) -> Value:
        return _binary(POW, other, self)

    def __neg__(self) -> Value:
        return _unary(NEG, self)

    def __abs__(self) -> Value:
        return _unary(ABS, self)

    def abs(self) -> Value:
        return _unary(ABS, self)

    def exp(self) -> Value:
        return _unary(EXP, self)

    def log(self) -> Value:
        return _unary(LOG, self)

    def tanh(self) -> Value:
        return _unary(TANH, self)

    def sigmoid(self) -> Value:
        return _unary(SIGMOID, self)

    def relu(self) -> Value:
        return _unary(RELU, self)

    def leaky_relu(self, alpha: float = 0.01) -> Value:
        return _unary(leaky_relu_op(to_float(alpha, "leaky_relu(alpha)")), self)

    @staticmethod
    def sum(values: Iterable[Operand]) -> Value:
        """Σ vᵢ as ONE node (see `value_sum`)."""
        return value_sum(values)

    @staticmethod
    def dot(xs: Iterable[Operand], ys: Iterable[Operand]) -> Value:
        """Σ xᵢ·yᵢ as ONE node (see `dot`)."""
        return dot(xs, ys)

    # Ordering compares data (so max, min, sorted work); == and hash stay identity, as micrograd.
    def __lt__(self, other: Operand) -> bool:
        return self.data < _number(other)

    def __le__(self, other: Operand) -> bool:
        return self.data <= _number(other)

    def __gt__(self, other: Operand) -> bool:
        return self.data > _number(other)

    def __ge__(self, other: Operand) -> bool:
        return self.data >= _number(other)

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    # Conversions would silently drop the graph: fail loudly, saying what to write instead.
    def __float__(self) -> float:
        raise TypeError("float(Value) would drop the graph and its gradient: use v.data for the number, "
                        "or the Value's own method (v.exp(), v.log(), v.tanh(), ...) instead of math.*")

    def __int__(self) -> int:
        raise TypeError("int(Value) would drop the graph and its gradient: use int(v.data)")

    def __index__(self) -> int:
        raise TypeError("a Value cannot be used as an index: use int(v.data)")

    def __bool__(self) -> bool:
        raise TypeError("the truth value of a Value is ambiguous: compare it (v > 0) or test v.data")

    def __round__(self, ndigits: int | None = None) -> float:
        raise TypeError("round(Value) would drop the graph: use round(v.data)")

    # ------------------------------------------------------------------ 3. backpropagation
    def backward(self) -> None:
        """Set ``grad`` of every node to ∂self/∂node, by the chain rule.

        1. Order the nodes with inputs so that each comes after its inputs (`topological_order`).
        2. Reset their gradients: they belong to this call. Leaves (parameters, data) keep
           theirs and accumulate, as in PyTorch: zero them between steps.
        3. Seed ∂self/∂self = 1.
        4. From the output back, each node hands ``local gradient × its grad`` to each input
           (``_backward``). A node used twice, ``a + a``, receives both contributions.

        No recursion: any depth works.
        """
        order = topological_order(self, leaves=False)  # leaves have nothing to hand on
        for node in order:
            node.grad = 0.0
        self.grad += 1.0
        for node in reversed(order):
            g = node.grad
            if g != 0.0:  # nothing to hand on: half a network sits behind ReLUs that are off
                for child, local in zip(node._prev, node._local):  # node._backward(), inlined
                    child.grad += local * g

    def _backward(self) -> None:
        """One step of the chain rule for this node alone (the lecture calls it by hand)."""
        for child, local in zip(self._prev, self._local):
            child.grad += local * self.grad

    def detach(self) -> Value:
        """A new leaf with the same data (and label), cut off from this graph."""
        return Value(self.data, label=self.label)

    def zero_grad(self) -> None:
        """Set the gradient of this node and of every node it depends on to 0."""
        for node in topological_order(self):
            node.grad = 0.0

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad}{f', label={self.label!r}' if self.label else ''})"


def _checked_children(children: Iterable[Value]) -> tuple[Value, ...]:
    children = tuple(children)
    for child in children:
        if not isinstance(child, Value):
            raise TypeError(f"Value(_children): every child must be a Value, got {type(child).__name__}")
    return children


def _number(x: Operand) -> float:
    return x.data if isinstance(x, Value) else to_float(x, "comparison with a Value")


# ---------------------------------------------------------------------- 2. building a node
_DOMAIN_ERRORS = (ArithmeticError, ValueError)  # what a row's forward raises outside its domain
_new = object.__new__


def make_node(data: float, inputs: tuple[Value, ...], op: str, local_grads: tuple[Any, ...]) -> Value:
    """The one place a node is made: ``data`` computed by ``op`` from ``inputs``, with the local
    gradient ∂node/∂input of each input in ``local_grads`` (two tuples). Under `no_grad`, a bare
    leaf."""
    node = _new(Value)  # not Value(...): data and inputs are already known to be right
    node.data = data
    node.grad = 0.0
    node.label = ""
    if _grad_enabled:
        node._op = op
        node._prev = inputs
        node._local = local_grads
    else:
        node._op, node._prev, node._local = "", (), ()
    return node


def _unary(op: Operation, x: Value) -> Value:
    """``op(x)``: its value and its derivative, both from the row."""
    a = x.data
    try:
        out = op.forward(a)
    except _DOMAIN_ERRORS as e:
        raise _domain_error(e, x) from None
    return make_node(out, (x,), op, (op.grads(out, a),))


def _binary(op: Operation, x: Operand, y: Operand) -> Value:
    """``x ∘ y``; a number on either side becomes a leaf, as in micrograd."""
    x = x if isinstance(x, Value) else _leaf(x, "operand {} Value", op)
    y = y if isinstance(y, Value) else _leaf(y, "Value {} operand", op)
    a, b = x.data, y.data
    try:
        out = op.forward(a, b)
    except _DOMAIN_ERRORS as e:
        raise _domain_error(e, x, y) from None
    return make_node(out, (x, y), op, op.grads(out, a, b))


def _leaf(number: Any, where: str, op: Operation) -> Value:
    """A number operand as a leaf Value; ``where`` names it in the error if it is no number."""
    return make_node(number if type(number) is float else to_float(number, where.format(op)), (), "", ())


def make_node_of(op: Operation, inputs: tuple[Value, ...]) -> Value:
    """The node of the row ``op`` on ``inputs`` (a fused row's groups joined), with its value
    and local gradients from the row: any row, any number of inputs."""
    data = tuple(v.data for v in inputs)
    args = data if op.arity is not None else op.grouped(data)
    try:
        out = op.forward(*args)
    except _DOMAIN_ERRORS as e:
        raise _domain_error(e, *inputs) from None
    local = op.grads(out, *args)
    local = tuple(local) if op.arity == 2 else (local,) if op.arity == 1 else sum(local, ())
    return make_node(out, tuple(inputs), op, local)


def _domain_error(error: Exception, *inputs: Value) -> Exception:
    """The row's own error, with the labels of the nodes it was given."""
    names = [f"node {v.label!r} = {v.data!r}" for v in inputs if v.label]
    return type(error)(f"{error}" + (f" ({', '.join(names)})" if names else ""))


def inputs_of(node: Value) -> tuple[str, tuple[Value, ...]]:
    """The node's operation and its inputs (for code that reads graphs: the compiled path)."""
    return node._op, node._prev


def _as_values(items: Any, where: str) -> tuple[Value, ...]:
    if isinstance(items, (Value, str, bytes)) or not hasattr(items, "__iter__"):
        raise TypeError(f"{where}: expected a sequence of Values or numbers, got {type(items).__name__}")
    return tuple(v if isinstance(v, Value) else Value(to_float(v, f"{where} item {i}"))
                 for i, v in enumerate(items))  # fmt: skip


def value_sum(values: Iterable[Operand]) -> Value:
    """Σ vᵢ as ONE node with many inputs;  ∂/∂vᵢ = 1.  Numbers become leaves."""
    children = _as_values(values, "value_sum(values)")
    if not children:
        raise ValueError("value_sum(values): needs at least one value")
    return make_node_of(SUM, children)


def dot(xs: Iterable[Operand], ys: Iterable[Operand]) -> Value:
    """Σ xᵢ·yᵢ as ONE node with inputs ``xs + ys``;  ∂/∂xᵢ = yᵢ, ∂/∂yᵢ = xᵢ. Numbers become leaves.
    This is what makes a neuron one node instead of a chain of 2n."""
    xs, ys = _as_values(xs, "dot(xs)"), _as_values(ys, "dot(ys)")
    if len(xs) != len(ys) or not xs:
        raise ValueError(f"dot: needs two sequences of equal, non-zero length, got {len(xs)} and {len(ys)}")
    return make_node_of(DOT, xs + ys)


# ---------------------------------------------------------------------- 3. topological order
def topological_order(roots: Value | Iterable[Value], *, leaves: bool = True) -> list[Value]:
    """Every node the root(s) depend on, each after its inputs; ``reversed(...)`` is the order
    backward visits. ``leaves=False`` leaves out the nodes without inputs, as backward does: in
    a network they are most of the edges (every weight, every input) and have nothing to pass on.

    micrograd's recursive ``build_topo``, with a stack in place of the recursion, so any depth
    works: each entry of the stack is a node and an iterator over the inputs it has still to
    visit. A node goes into the order once all its inputs are there.
    """
    order: list[Value] = []
    visited: set[Value] = set()
    for root in [roots] if isinstance(roots, Value) else check_values("topological_order(roots)", roots):
        if root in visited or not (leaves or root._prev):
            continue
        visited.add(root)
        stack = [(root, iter(root._prev))]
        while stack:
            node, inputs = stack[-1]
            for child in inputs:
                if (leaves or child._prev) and child not in visited:  # visit it (and its inputs) first
                    visited.add(child)
                    stack.append((child, iter(child._prev)))
                    break
            else:  # every input is in the order: now the node itself
                stack.pop()
                order.append(node)
    return order


# ---------------------------------------------------------------------- 4. no_grad
_grad_enabled = True  # a module global: one lookup per node, cheaper than a context variable


def is_grad_enabled() -> bool:
    """True unless inside a :func:`no_grad` block."""
    return _grad_enabled


@contextmanager
def no_grad() -> Iterator[None]:
    """Operations inside record no graph (``with no_grad():``, or ``@no_grad()`` on a function)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


# The names that moved out of this module stay importable from it, loaded on first use.
_MOVED = {"grad": "higher_order", "hessian": "higher_order", "define_op": "user_ops",
          "gc_paused": "gc_control"}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        from importlib import import_module

        return getattr(import_module(f"microgradnn.{_MOVED[name]}"), name)
    raise AttributeError(f"module 'microgradnn.engine' has no attribute {name!r}")
