"""The scalar autograd engine. Read it in order:

1. `Value`: one number of a computation graph, its gradient, and the node it came from.
2. Building a node: each row of the table of operations (:mod:`microgradnn.ops`, where every
   operation's value and local gradients are written once) becomes Value methods here.
3. Topological order and `backward`: the chain rule, node by node, from the output back.
4. `grad` and `hessian`: gradients as floats, or as Values that can be differentiated again.
5. `no_grad` and `gc_paused`.

No node refers back to itself (no closures), so a graph that goes out of scope is freed by
reference counting alone. This module imports nothing outside the standard library.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from numbers import Real
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Union

from microgradnn import ops
from microgradnn.ops import OPS, Operation, leaky_relu_op, power_op

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

    # A node is ONE object: inputs and local gradients live in slots, not tuples or closures:
    #   leaf              _a = None
    #   one input x       _a = x,        _b = None,   _da = ∂out/∂x,  _db = None
    #   x and a number c  _a = x,        _b = None,   _da = ∂out/∂x,  _db = c  (x + 2, 2 ** x)
    #   inputs x, y       _a = x,        _b = y,      _da = ∂out/∂x,  _db = ∂out/∂y
    #   any inputs        _a = (x, ...), _b = _MANY,  _da = (∂out/∂x, ...)
    # A number operand becomes a leaf Value only when `_prev` asks for it: most never do.
    __slots__ = ("data", "grad", "_op", "label", "_a", "_b", "_da", "_db", "__weakref__")
    data: float
    grad: float
    _op: str
    label: str
    _a: Any
    _b: Any
    _da: Any
    _db: Any

    def __init__(self, data: Any, _children: Iterable[Value] = (), _op: str = "", label: str = "") -> None:
        self.data, self.grad, self._op, self.label = _real(data, "Value(data)"), 0.0, _op, label
        self._set_inputs(tuple(_children), ())  # by hand: no local gradients, as in micrograd

    @property
    def _prev(self) -> tuple[Value, ...]:
        """The node's inputs, an ordered tuple (micrograd's attribute)."""
        if self._b is None and self._db is not None:
            self._number_as_leaf()
        a, b = self._a, self._b
        return () if a is None else (a,) if b is None else a if b is _MANY else (a, b)

    @_prev.setter
    def _prev(self, children: Iterable[Value]) -> None:
        self._set_inputs(tuple(children), self._local)

    @property
    def _local(self) -> tuple:
        """The local gradients ∂node/∂input, aligned with `_prev` (empty if built by hand)."""
        if self._b is None and self._db is not None:
            self._number_as_leaf()
        if self._a is None:
            return ()
        return (self._da,) if self._b is None else self._da if self._b is _MANY else (self._da, self._db)

    @_local.setter
    def _local(self, local: Iterable[float]) -> None:
        self._set_inputs(self._prev, tuple(local))

    def _set_inputs(self, children: tuple[Value, ...], local: tuple) -> None:
        for child in children:
            if not isinstance(child, Value):
                raise TypeError(f"Value(_children): every child must be a Value, got {type(child).__name__}")
        self._a = self._b = self._da = self._db = None
        if len(children) == len(local) == 1:
            self._a, self._da = children[0], local[0]
        elif len(children) == len(local) == 2:
            (self._a, self._b), (self._da, self._db) = children, local
        elif children:  # backward pairs inputs with local gradients as zip does
            self._a, self._b, self._da = children, _MANY, local

    def _number_as_leaf(self) -> None:
        """Turn `x ∘ c` (c kept as a number) into the two-input node micrograd would have made;
        the new leaf gets the gradient of the last backward(), as if it had been there all along."""
        row, x, c = self._op, self._a, Value(self._db)
        assert isinstance(row, Operation) and row.base is not None
        inputs = (c, x) if row.number_first else (x, c)
        self._op, (self._a, self._b) = row.base, inputs
        self._da, self._db = row.base.grads(self.data, inputs[0].data, inputs[1].data)
        c.grad = (self._da if row.number_first else self._db) * self.grad

    if TYPE_CHECKING:  # made from the table when the module loads (`_attach`), for type checkers
        def __add__(self, other: Operand) -> Value: ...
        def __radd__(self, other: Number) -> Value: ...
        def __sub__(self, other: Operand) -> Value: ...
        def __rsub__(self, other: Number) -> Value: ...
        def __mul__(self, other: Operand) -> Value: ...
        def __rmul__(self, other: Number) -> Value: ...
        def __truediv__(self, other: Operand) -> Value: ...
        def __rtruediv__(self, other: Number) -> Value: ...
        def __rpow__(self, other: Number) -> Value: ...
        def __neg__(self) -> Value: ...
        def __abs__(self) -> Value: ...
        def exp(self) -> Value: ...
        def log(self) -> Value: ...
        def tanh(self) -> Value: ...
        def sigmoid(self) -> Value: ...
        def relu(self) -> Value: ...
        def abs(self) -> Value: ...

    def __pow__(self, other: Operand) -> Value:
        """Value ** number: the row of the family **p; Value ** Value: the row "**"."""
        if isinstance(other, Value):
            return make_node_of(ops.POW, (self, other))
        try:
            method = _power_methods.get(other)  # the fast path: an exponent seen before
        except TypeError:  # unhashable: not a number, which _real says below
            method = None
        if method is None:
            method = _family_method(_power_methods, power_op, _real(other, "Value ** exponent"))
        return method(self)

    def leaky_relu(self, alpha: float = 0.01) -> Value:
        return _family_method(_leaky_methods, leaky_relu_op, _real(alpha, "leaky_relu(alpha)"))(self)

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
        return self.data < _data(other)

    def __le__(self, other: Operand) -> bool:
        return self.data <= _data(other)

    def __gt__(self, other: Operand) -> bool:
        return self.data > _data(other)

    def __ge__(self, other: Operand) -> bool:
        return self.data >= _data(other)

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

        1. Order the nodes with inputs so each comes after its inputs, their grads reset to 0.
        2. Seed ∂self/∂self = 1.
        3. From the output back, each node adds ``local gradient × its grad`` to each input
           (a node used twice, ``a + a``, receives both contributions).

        Interior gradients are recomputed by every call while leaves (parameters, data)
        accumulate, as in PyTorch: zero the leaves between steps. No recursion: any depth works.
        """
        order = _interior_order_zeroed(self)
        self.grad = self.grad + 1.0 if self._a is None else 1.0
        for node in reversed(order):
            g, b = node.grad, node._b
            if b is None:
                node._a.grad += node._da * g
            elif b is _MANY:
                if g != 0.0:  # e.g. a neuron's dot behind a ReLU that is off: +0 for all inputs
                    for child, local in zip(node._a, node._da):
                        child.grad += local * g
            else:
                node._a.grad += node._da * g
                b.grad += node._db * g

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


def _real(x: Any, where: str) -> float:
    """x as a float, or a TypeError/ValueError naming ``where`` and what was given."""
    if type(x) is float:
        return x
    if isinstance(x, Real) and not isinstance(x, Value):
        try:
            return float(x)
        except OverflowError:
            raise ValueError(f"{where}: {_short(x)} is too large for a float (max ≈ 1.8e308)") from None
    if getattr(x, "ndim", None) == 0 and getattr(getattr(x, "dtype", None), "kind", "") in "biuf":
        return float(getattr(x, "item")())  # a numpy 0-d array  # noqa: B009
    if isinstance(x, Value):
        raise TypeError(f"{where}: expected a number, got a Value; use v.data for its number or v.detach()")
    raise TypeError(f"{where}: expected a real number (int or float), got {type(x).__name__}: {_short(x)}")


def _short(x: object) -> str:
    text = repr(x)
    return text if len(text) <= 60 else f"{text[:25]}…{text[-25:]} ({len(text)} characters)"


def _data(x: Operand) -> float:
    return x.data if isinstance(x, Value) else _real(x, "comparison with a Value")


# ---------------------------------------------------------------------- 2. building a node
_new, _get_data = object.__new__, attrgetter("data")
_DOMAIN = (ArithmeticError, ValueError)
_power_methods: dict[float, Callable[[Value], Value]] = {}
_leaky_methods: dict[float, Callable[[Value], Value]] = {}


def _family_method(cache: dict[float, Callable[[Value], Value]], family: Callable[[float], Operation],
                   p: float) -> Callable[[Value], Value]:  # fmt: skip
    """The Value method of the row ``family(p)`` (x ** p, leaky_relu with slope p), made once."""
    method = cache.get(p)
    if method is None:
        method = _unary_method(family(p))
        if len(cache) < 256:
            cache[p] = method
    return method


def make_node(data: float, inputs: Sequence[Value], op: Operation, local_grads: Sequence[Any]) -> Value:
    """THE way a node is made: ``data`` computed by ``op`` from ``inputs``, with ∂node/∂input in
    ``local_grads`` (layouts in `Value.__slots__`). Under `no_grad`, a bare leaf."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if not _grad_enabled:
        out._op = ""
        out._a = out._b = out._da = out._db = None
    elif len(inputs) == 1:
        out._op, out._a, out._da = op, inputs[0], local_grads[0]
        out._b = out._db = None
    elif len(inputs) == 2:
        out._op, (out._a, out._b), (out._da, out._db) = op, inputs, local_grads
    else:
        out._op, out._a, out._b, out._da, out._db = op, tuple(inputs), _MANY, tuple(local_grads), None
    return out


def make_node_of(op: Operation, inputs: tuple[Value, ...]) -> Value:
    """The node of the row ``op`` on ``inputs`` (a fused row's groups joined): its value and
    local gradients from the row."""
    data = tuple(map(_get_data, inputs))
    args = op.grouped(data) if op.arity is None else data
    try:
        out = op.forward(*args)
    except _DOMAIN as e:
        raise _domain_error(e, *inputs) from None
    local = op.grads(out, *args)
    if op.arity != 2:  # one derivative, or one tuple per group: one local gradient per input
        local = (local,) if op.arity == 1 else sum(local, ())
    return make_node(out, inputs, op, local)


def _domain_error(error: Exception, *inputs: Any) -> Exception:
    """The row's own error, with the labels of the nodes it was given."""
    names = [f"node {v.label!r} = {v.data!r}" for v in inputs if isinstance(v, Value) and v.label]
    return type(error)(f"{error}" + (f" ({', '.join(names)})" if names else ""))


def _constant_grads(op: Operation, arity: int) -> Any:
    """The rule's result when it does not depend on its inputs (+, -, neg), else None."""
    try:
        local = op.grads(*(object() for _ in range(arity + 1)))
    except Exception:  # noqa: BLE001 - the rule used its inputs: not constant
        return None
    return local if all(type(d) is float for d in (local if arity == 2 else (local,))) else None


def _binary_methods(op: Operation) -> tuple[Callable, Callable]:
    """``x ∘ y`` and the reflected ``c ∘ x`` of a two-input row. A number operand stays a
    number inside the node rather than becoming a leaf (a third of all nodes, in practice)."""
    forward, grads, constant = op.forward, op.grads, _constant_grads(op, 2)
    number_right, number_left = op.with_number(first=False), op.with_number(first=True)

    def method(self: Value, other: Operand) -> Value:
        a = self.data
        if isinstance(other, Value):
            b, row, second = other.data, op, other
        else:
            b = other if type(other) is float else _real(other, f"Value {op} operand")
            row, second = number_right, None
        try:
            out = forward(a, b)
        except _DOMAIN as e:
            raise _domain_error(e, self, other) from None
        da, db = constant if constant is not None else grads(out, a, b)
        # make_node's body, written out: these operators make most nodes of any graph, and the
        # call saved is 5-10% of making one (benchmarks/compare.py, gc off).
        node = _new(Value)
        node.data = out
        node.grad = 0.0
        node.label = ""
        if _grad_enabled:
            node._op = row
            node._a = self
            node._b = second
            node._da = da
            node._db = db if second is not None else b
        else:
            node._op = ""
            node._a = node._b = node._da = node._db = None
        return node

    def reflected(self: Value, other: Number) -> Value:
        a, b = _real(other, f"operand {op} Value"), self.data
        try:
            out = forward(a, b)
        except _DOMAIN as e:
            raise _domain_error(e, self) from None
        db = (constant if constant is not None else grads(out, a, b))[1]
        node = make_node(out, (self,), number_left, (db,))
        if _grad_enabled:
            node._db = a  # the number, kept
        return node

    return method, reflected


def _unary_method(op: Operation) -> Callable[[Value], Value]:
    forward, grads, constant = op.forward, op.grads, _constant_grads(op, 1)

    def method(self: Value) -> Value:
        a = self.data
        try:
            out = forward(a)
        except _DOMAIN as e:
            raise _domain_error(e, self) from None
        node = _new(Value)  # make_node's body, written out, as in _binary_methods
        node.data = out
        node.grad = 0.0
        node.label = ""
        node._b = node._db = None
        if _grad_enabled:
            node._op = op
            node._a = self
            node._da = constant if constant is not None else grads(out, a)
        else:
            node._op = ""
            node._a = node._da = None
        return node

    method.__name__ = method.__qualname__ = op.methods[-1] if op.methods else op.name
    method.__doc__ = f"The operation {op.name!r} of the table (microgradnn.ops)."
    return method


def _attach(op: Operation) -> Callable[..., Value]:
    """Give Value the methods a row names; return the row as a function of Values/numbers."""
    if op.arity == 2:
        method, reflected = _binary_methods(op)
        for name in op.methods:
            setattr(Value, name, reflected if name.startswith("__r") else method)
        return lambda x, y: method(x, y) if isinstance(x, Value) else reflected(_as_value(y), x)
    if op.arity == 1:
        unary = _unary_method(op)
        for name in op.methods:
            setattr(Value, name, unary)
        return lambda x: unary(_as_value(x))
    return lambda *groups: make_node_of(op, _as_values(sum(map(tuple, groups), ()), op.name))


def define_op(
    name: str, forward: Callable[..., float], grads: Callable[..., Any], *, arity: int = 1,
    method: str | None = None, numpy: Callable | None = None, numpy_grads: Callable | None = None,
    sympy: Callable | None = None, activation: bool = False,
) -> Callable[..., Value]:  # fmt: skip
    """Add an operation of your own: one row of the table, exactly as the built-in ones.

    ``forward`` computes its value on floats (raise a clear error outside its domain);
    ``grads(out, *inputs)`` gives ∂out/∂input (the derivative itself for one input, a pair for
    two), written with arithmetic and the functions of :mod:`microgradnn.ops` so that it works
    on floats, Values (higher order) and numpy arrays; ``numpy``/``sympy`` give the value on
    arrays / in sympy; ``activation=True`` lets ``nn`` use it. It becomes ``Value.<method>``
    (default ``name``) and works in backward, grad/hessian, drawings, gradcheck, the test
    strategies and compiled batches. Returns it as a function of Values or numbers.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"define_op(name): expected a Python identifier, got {name!r}")
    if arity not in (1, 2):
        raise ValueError(f"define_op(arity): expected 1 or 2, got {arity!r}")
    for arg, value in (("forward", forward), ("grads", grads)):
        if not callable(value):
            raise TypeError(f"define_op({arg}): expected a function, got {type(value).__name__}")
    method = method or name
    if method in OPS or hasattr(Value, method):
        raise ValueError(f"define_op: {method!r} already names an operation or a Value attribute")
    try:  # the commonest slip, caught now rather than deep inside backward()
        local = grads(forward(*(0.5,) * arity), *(0.5,) * arity)
    except Exception:  # noqa: BLE001 - 0.5 may lie outside the op's domain: nothing to learn
        local = None
    if isinstance(local, (tuple, list)) != (arity == 2) and local is not None:
        raise TypeError(f"define_op({name!r}): grads must return the derivative itself for one input "
                        f"and a pair for two, got {local!r}")
    OPS[name] = op = Operation(name, forward, grads, arity=arity, methods=(method,), numpy=numpy,
                               numpy_grads=numpy_grads, sympy=sympy, number_operand=arity == 2,
                               activation=activation and arity == 1)
    return _attach(op)


def inputs_of(node: Value) -> tuple[str, tuple[Any, ...]]:
    """The node's operation and its inputs, read without changing the node: a number operand
    (the 2 of ``x * 2``) is given as the number, with the row of ``*``."""
    row, a, b = node._op, node._a, node._b
    if a is None:
        return row, ()
    if b is _MANY:
        return row, a
    if b is None and node._db is not None:
        return row.base, ((node._db, a) if row.number_first else (a, node._db))  # type: ignore[attr-defined]
    return row, (a,) if b is None else (a, b)


def _as_value(x: Operand) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _as_values(items: Any, where: str) -> tuple[Value, ...]:
    if type(items) is not tuple:
        if isinstance(items, (Value, str, bytes)) or not hasattr(items, "__iter__"):
            raise TypeError(f"{where}: expected a sequence of Values or numbers, got {type(items).__name__}")
        items = tuple(items)
    if all(map(isinstance, items, repeat(Value))):
        return items
    return tuple(v if isinstance(v, Value) else Value(_real(v, f"{where} item {i}"))
                 for i, v in enumerate(items))  # fmt: skip


def value_sum(values: Iterable[Operand]) -> Value:
    """Σ vᵢ as ONE node with many inputs;  ∂/∂vᵢ = 1.  Numbers become leaves."""
    children = _as_values(values, "value_sum(values)")
    if not children:
        raise ValueError("value_sum(values): needs at least one value")
    return make_node_of(ops.SUM, children)


def dot(xs: Iterable[Operand], ys: Iterable[Operand]) -> Value:
    """Σ xᵢ·yᵢ as ONE node with inputs ``xs + ys``;  ∂/∂xᵢ = yᵢ, ∂/∂yᵢ = xᵢ. Numbers become leaves.
    This is what makes a neuron one node instead of a chain of 2n."""
    xs, ys = _as_values(xs, "dot(xs)"), _as_values(ys, "dot(ys)")
    if len(xs) != len(ys) or not xs:
        raise ValueError(f"dot: needs two sequences of equal, non-zero length, got {len(xs)} and {len(ys)}")
    return make_node_of(ops.DOT, xs + ys)


# ---------------------------------------------------------------------- 3. topological order
class _Marker:
    """A named singleton that copies and pickles to itself."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return self.name


_MANY = _Marker("_MANY")  # `_b` of a node whose inputs are the tuple in `_a`
_EMIT = _Marker("_EMIT")  # on a traversal stack: the node below has all its inputs in the order


def _interior_order_zeroed(root: Value) -> list[Value]:
    """The nodes with inputs that `root` depends on, inputs first, each one's grad reset to 0.

    Each visited node's grad is set to a 0.0 object made for this call, so "visited?" is one
    identity test instead of a set, and backward's reset comes free.
    """
    order: list[Value] = []
    stack: list[Any]
    zero, stack = float("0"), [root]  # float("0"): a new object, unlike the literal 0.0
    push, pop, append = stack.append, stack.pop, order.append
    while stack:
        node: Any = pop()
        if node is _EMIT:
            append(pop())
            continue
        # Depth first: mark the node and go straight on into its first input; the other inputs
        # wait on the stack.
        while node._a is not None and node.grad is not zero:
            node.grad = zero
            push(node)
            push(_EMIT)
            a, b = node._a, node._b
            if b is _MANY:
                for child in reversed(a):
                    if child._a is not None and child.grad is not zero:
                        push(child)
                break
            if b is not None and b._a is not None and b.grad is not zero:
                push(b)
            node = a
    return order


def topological_order(roots: Value | Iterable[Value]) -> list[Value]:
    """Every node the root(s) depend on, each after its inputs (iterative, deterministic);
    ``reversed(...)`` is the order backward visits. A number operand is listed as a leaf."""
    roots = [roots] if isinstance(roots, Value) else list(_only_values(roots, "topological_order(roots)"))
    order: list[Value] = []
    visited: set[int] = set()
    stack: list[Any] = list(roots[::-1])
    while stack:
        node = stack.pop()
        if node is _EMIT:
            order.append(stack.pop())
        elif id(node) not in visited:
            visited.add(id(node))
            inputs = node._prev
            if not inputs:
                order.append(node)
            else:
                stack += (node, _EMIT, *reversed(inputs))
    return order


# ---------------------------------------------------------------------- 4. grad and hessian
def grad(output: Value, inputs: Value | Sequence[Value], create_graph: bool = False) -> list:
    """∂output/∂input for each input, without touching any ``.grad``.

    Floats by default. With ``create_graph=True``, Values built by the same rules of the table
    on the graph's Values, so they can be differentiated again (higher derivatives, mixed
    partials). An input that ``output`` does not depend on gets 0.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad(output): expected a Value, got {type(output).__name__}")
    wanted = [inputs] if isinstance(inputs, Value) else list(_only_values(inputs, "grad(inputs)"))
    grads: dict[Value, Any] = {output: 1.0}
    for node in reversed(topological_order(output)):
        g, children = grads.get(node), node._prev
        if g is None or not children:
            continue
        for child, d in zip(children, _local_values(node, children) if create_graph else node._local):
            grads[child] = d * g if child not in grads else grads[child] + d * g
    result = [grads.get(v, 0.0) for v in wanted]
    if create_graph:
        return [g if isinstance(g, Value) else Value(g) for g in result]
    return [float(g.data if isinstance(g, Value) else g) for g in result]


def _local_values(node: Value, children: tuple[Value, ...]) -> tuple:
    """The node's local gradients as Values: its row's rule applied to its inputs."""
    row = node._op
    if not isinstance(row, Operation):
        raise TypeError(f"grad(create_graph=True): node {node!r} (op {row!r}) was built by hand and has no "
                        "differentiable rule; build it from Value operations or define_op")
    if row.arity is None:
        return sum(row.grads(node, *row.grouped(children)), ())
    local = row.grads(node, *children)
    return (local,) if len(children) == 1 and row.arity == 1 and not isinstance(local, tuple) else local


def _only_values(items: Any, where: str) -> tuple[Value, ...]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(f"{where}: expected a Value or a sequence of Values, got {type(items).__name__}")
    values = tuple(items)
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"{where}: item {i} must be a Value, got {type(v).__name__}")
    return values


def hessian(f: Callable[..., Value], inputs: Sequence[Number | Value]) -> list[list[float]]:
    """The matrix of second derivatives ∂²f/∂xᵢ∂xⱼ at ``inputs`` (numbers or Values)."""
    if not callable(f):
        raise TypeError(f"hessian(f): expected a function of Values, got {type(f).__name__}")
    if isinstance(inputs, (str, bytes, Value)) or not isinstance(inputs, Iterable):
        raise TypeError(f"hessian(inputs): expected a sequence of numbers or Values, got {_short(inputs)}")
    xs = [Value(_data(x) if isinstance(x, Value) else _real(x, f"hessian(inputs) item {i}"), label=f"x{i}")
          for i, x in enumerate(inputs)]  # fmt: skip
    out = f(*xs)
    if not isinstance(out, Value):
        raise TypeError(f"hessian(f): f must return a Value, got {type(out).__name__}")
    return [grad(g, xs) for g in grad(out, xs, create_graph=True)]


# ---------------------------------------------------------------------- 5. no_grad, gc_paused
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


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block (`fit` and the batch forward use it).

    Graphs have no reference cycles, so the collector finds nothing in them, yet it would
    re-scan the large live graph again and again while one is built. On leaving, the objects
    alive then are handed to the collector's oldest generation (``gc.freeze()`` then
    ``gc.unfreeze()``: two constant-time list moves) instead of being scanned at once, which
    would cost 10-15% of a training step; the next full collection still visits them all.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


for _each in list(OPS.values()):
    if _each.methods:
        _attach(_each)
