"""The scalar autograd engine: `Value`, building a node, topological order, backward, grad.

Read it in order:

1. `Value`: one number of a computation graph, its gradient, and the node it came from.
2. Building a node: every operation of :mod:`microgradnn.ops` (the table, where each
   operation's value and local gradients are written once) becomes Value methods here, and
   every node is made by one function, `_node`.
3. Topological order and `backward`: the chain rule, node by node, outputs first.
4. `grad` and `hessian`: gradients as floats, or as Values that can be differentiated again.
5. `no_grad` and `gc_paused`.

No node keeps a closure or any other reference back to itself, so a graph that goes out of
scope is freed by reference counting alone, without waiting for the cyclic garbage collector.
This module imports nothing outside the standard library.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from numbers import Real
from operator import attrgetter
from typing import Any, Union

from microgradnn import ops
from microgradnn.ops import OPS, Operation, leaky_relu_op, power_op

__all__ = [
    "Number", "Operation", "Value", "define_op", "dot", "gc_paused", "grad", "hessian",
    "is_grad_enabled", "make_node", "make_node_of", "no_grad", "topological_order", "value_sum",
]  # fmt: skip

Number = Union[int, float]  # noqa: UP007 - a runtime alias, kept for Python 3.10
Operand = Union["Value", int, float]  # noqa: UP007


# ---------------------------------------------------------------------- 1. Value
class Value:
    """One scalar in a computation graph: its number, its gradient, and how it was made.

    Drop-in compatible with micrograd: ``Value(data, _children=(), _op='', label='')`` with
    attributes ``data``, ``grad``, ``_prev`` (the inputs, an ordered tuple), ``_op`` and
    ``label``. ``data`` may be any real number (numpy scalars and 0-d arrays included); NaN and
    ±inf follow IEEE-754 (they propagate through operations and gradients, never raise).
    """

    # A node is ONE object: inputs and local gradients live in slots, not in tuples or
    # closures, which saves memory and the cyclic collector's time. The layouts:
    #   leaf                 _a = None
    #   one input x          _a = x,        _b = None,  _da = ∂out/∂x,  _db = None
    #   x and a number c     _a = x,        _b = None,  _da = ∂out/∂x,  _db = c  (x + 2, 2 ** x)
    #   two inputs x, y      _a = x,        _b = y,     _da = ∂out/∂x,  _db = ∂out/∂y
    #   any inputs           _a = (x, ...), _b = _MANY, _da = (∂out/∂x, ...)
    # A number operand becomes a leaf Value only when `_prev` is asked for: most never are.
    __slots__ = ("data", "grad", "_op", "label", "_a", "_b", "_da", "_db", "__weakref__")

    data: float
    grad: float
    _op: str
    label: str

    def __init__(self, data: Any, _children: Iterable[Value] = (), _op: str = "", label: str = "") -> None:
        self.data = _real(data, "Value(data)")
        self.grad = 0.0
        self._op = _op
        self.label = label
        # Nodes built by hand have no local gradients, so backward passes them by (as in
        # micrograd), unless `_local` is then set.
        self._set_inputs(tuple(_children), ())

    @property
    def _prev(self) -> tuple[Value, ...]:
        """The node's inputs, an ordered tuple (micrograd's attribute)."""
        a, b = self._a, self._b
        if a is None:
            return ()
        if b is None:
            return (a,) if self._db is None else self._number_as_leaf()
        return a if b is _MANY else (a, b)

    @_prev.setter
    def _prev(self, children: Iterable[Value]) -> None:
        self._set_inputs(tuple(children), self._local)

    @property
    def _local(self) -> tuple:
        """The local gradients ∂node/∂input, aligned with `_prev` (empty if built by hand)."""
        a, b = self._a, self._b
        if a is None:
            return ()
        if b is None:
            if self._db is not None:
                self._number_as_leaf()
                return (self._da, self._db)
            return (self._da,)
        return self._da if b is _MANY else (self._da, self._db)

    @_local.setter
    def _local(self, local: Iterable[float]) -> None:
        self._set_inputs(self._prev, tuple(local))

    def _set_inputs(self, children: tuple[Value, ...], local: tuple) -> None:
        for child in children:
            if not isinstance(child, Value):
                raise TypeError(f"Value(_children): every child must be a Value, got {type(child).__name__}")
        n = len(children)
        self._a = self._b = self._da = self._db = None
        if n == 1 and len(local) == 1:
            self._a, self._da = children[0], local[0]
        elif n == 2 and len(local) == 2:
            self._a, self._b = children
            self._da, self._db = local
        elif n:  # backward pairs inputs with local gradients as zip does: missing ones count 0
            self._a, self._b, self._da = children, _MANY, local

    def _number_as_leaf(self) -> tuple[Value, Value]:
        """Turn `x ∘ c` (c kept as a number) into the two-input node micrograd would have made."""
        op, x, c = self._op, self._a, Value(self._db)
        assert isinstance(op, Operation) and op.base is not None
        inputs = (c, x) if op.number_first else (x, c)
        self._op, (self._a, self._b) = op.base, inputs
        self._da, self._db = op.base.grads(self.data, inputs[0].data, inputs[1].data)
        # The number's gradient from the last backward(), as if it had been a leaf all along.
        c.grad = (self._da if op.number_first else self._db) * self.grad
        return inputs

    # Value ** number picks the row of the family **p; Value ** Value is the row "**".
    def __pow__(self, other: Operand) -> Value:
        if isinstance(other, Value):
            return _pow_values(self, other)
        try:
            method = _power_methods.get(other)  # the method of the row **p, made once per p
        except TypeError:  # unhashable: not a number, _real says so below
            method = None
        if method is None:
            method = _unary_method(power_op(_real(other, "Value ** exponent")))
            if len(_power_methods) < 256:
                _power_methods[other] = method
        return method(self)

    def leaky_relu(self, alpha: float = 0.01) -> Value:
        return _unary_method(leaky_relu_op(_real(alpha, "leaky_relu(alpha)")))(self)

    @staticmethod
    def sum(values: Iterable[Operand]) -> Value:
        """Σ vᵢ as ONE node with many inputs (see `value_sum`)."""
        return value_sum(values)

    @staticmethod
    def dot(xs: Iterable[Operand], ys: Iterable[Operand]) -> Value:
        """Σ xᵢ·yᵢ as ONE node with many inputs (see `dot`)."""
        return dot(xs, ys)

    # Ordering compares data and returns a bool, so max/min/sorted work; == and hash stay
    # identity-based so that Values can live in sets and dicts (as in micrograd).
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

    # Conversions would silently drop the graph: fail loudly and say what to write instead.
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
        raise TypeError("the truth value of a Value is ambiguous: compare it (v > 0) or test v.data")

    def __round__(self, ndigits: int | None = None) -> float:
        raise TypeError("round(Value) would drop the graph: use round(v.data)")

    # ------------------------------------------------------------------ 3. backpropagation
    def backward(self) -> None:
        """Set ``grad`` of every node to ∂self/∂node, by the chain rule.

        1. Order the nodes with inputs so that each comes after its inputs, resetting their
           grads to 0 (`_interior_order_zeroed`).
        2. Seed: ∂self/∂self = 1.
        3. Visit the nodes outputs first; each adds ``local gradient × its own grad`` to each
           of its inputs. A node used twice (``a + a``) receives both contributions.

        Every call recomputes the interior nodes' gradients from scratch while leaves
        (parameters, data) accumulate, so two calls leave twice the gradient in each leaf,
        as PyTorch does: zero the leaves between steps. Iterative, so any depth works. A fused
        node whose gradient is exactly 0 passes nothing on (+0 to its inputs, not 0·∞ = NaN).
        """
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
                if g != 0.0:  # e.g. a neuron's dot behind a ReLU that is off
                    for child, local in zip(node._a, node._da):
                        child.grad += local * g
            else:
                node._a.grad += node._da * g
                b.grad += node._db * g

    def _backward(self) -> None:
        """One step of the chain rule for this node alone (the lecture calls it by hand)."""
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


def _real(x: Any, where: str) -> float:
    """x as a float, or a TypeError/ValueError that names ``where`` and what was given."""
    if type(x) is float:
        return x
    if isinstance(x, Real) and not isinstance(x, Value):
        try:
            return float(x)
        except OverflowError:
            raise ValueError(f"{where}: {_short(x)} is too large for a float (max ≈ 1.8e308)") from None
    if getattr(x, "ndim", None) == 0 and getattr(getattr(x, "dtype", None), "kind", "") in "biuf":
        return float(x.item())  # a numpy 0-d array
    if isinstance(x, Value):
        raise TypeError(f"{where}: expected a number, got a Value; use v.data for its number or v.detach()")
    raise TypeError(f"{where}: expected a real number (int or float), got {type(x).__name__}: {_short(x)}")


def _short(x: object) -> str:
    text = repr(x)
    return text if len(text) <= 60 else f"{text[:25]}…{text[-25:]} ({len(text)} characters)"


def _data(x: Operand) -> float:
    return x.data if isinstance(x, Value) else _real(x, "comparison with a Value")


# ---------------------------------------------------------------------- 2. building a node
_new = object.__new__
_get_data = attrgetter("data")
_DOMAIN = (ArithmeticError, ValueError)


def make_node(data: float, inputs: Sequence[Value], op: Operation, local_grads: Sequence[Any]) -> Value:
    """THE way a node is made: value ``data``, computed by ``op`` from ``inputs``, with
    ∂node/∂input in ``local_grads`` (layouts in `Value.__slots__`); under no_grad, a bare leaf."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if not _grad_enabled:
        out._op = ""
        out._a = out._b = out._da = out._db = None
    elif len(inputs) == 2:
        out._op = op
        out._a, out._b = inputs
        out._da, out._db = local_grads
    elif len(inputs) == 1:
        out._op = op
        out._a, out._b, out._da, out._db = inputs[0], None, local_grads[0], None
    else:
        out._op = op
        out._a, out._b, out._da, out._db = tuple(inputs), _MANY, tuple(local_grads), None
    return out


def _domain_error(error: Exception, *inputs: Value) -> Exception:
    """The forward function's own error, with the labels of the nodes it was given."""
    names = [f"node {v.label!r} = {v.data!r}" for v in inputs if isinstance(v, Value) and v.label]
    return type(error)(f"{error}" + (f" ({', '.join(names)})" if names else ""))


def _apply2(op: Operation, x: Value, y: Value) -> Value:
    a, b = x.data, y.data
    try:
        out = op.forward(a, b)
    except _DOMAIN as e:
        raise _domain_error(e, x, y) from None
    da, db = op.grads(out, a, b)
    return make_node(out, (x, y), op, (da, db))


def _constant_grads(op: Operation, arity: int) -> tuple | None:
    """The rule's result when it does not depend on its inputs (+, -, neg), else None: then a
    node needs no call of the rule at all."""
    try:
        local = op.grads(*(object() for _ in range(arity + 1)))
    except TypeError:
        return None
    if arity == 1:
        return local if type(local) is float else None
    return local if all(type(d) is float for d in local) else None


def _binary_methods(op: Operation) -> tuple[Callable, Callable]:
    """``x ∘ y`` and the reflected ``c ∘ x`` for a row of two inputs; a number operand is kept
    aside in the node instead of becoming a leaf Value (a third of all nodes, in practice)."""
    forward, grads = op.forward, op.grads
    constant = _constant_grads(op, 2)
    if constant is not None:
        grads = lambda out, a, b: constant  # noqa: E731 - the row's rule, evaluated once
    number_right, number_left = op.with_number(first=False), op.with_number(first=True)

    def method(self: Value, other: Operand) -> Value:
        a = self.data
        if isinstance(other, Value):
            b, row, second = other.data, op, other
        else:  # the number stays a number: the node's second slot keeps it (see Value.__slots__)
            b = other if type(other) is float else _real(other, f"Value {op} operand")
            row, second = number_right, None
        try:
            out = forward(a, b)
        except _DOMAIN as e:
            raise _domain_error(e, self, other) from None
        if constant is not None:
            da, db = constant
        else:
            da, db = grads(out, a, b)
        if second is None:
            db = b
        # `make_node`'s body, written out: these methods make most nodes of any graph, and the
        # call saved is 5-10% of building one (benchmarks/compare.py, gc off).
        node = _new(Value)
        node.data = out
        node.grad = 0.0
        node.label = ""
        if _grad_enabled:
            node._op = row
            node._a = self
            node._b = second
            node._da = da
            node._db = db
        else:
            node._op = ""
            node._a = node._b = node._da = node._db = None
        return node

    def reflected(self: Value, other: Operand) -> Value:
        a, b = _real(other, f"operand {op} Value"), self.data
        try:
            out = forward(a, b)
        except _DOMAIN as e:
            raise _domain_error(e, self) from None
        node = make_node(out, (self,), number_left, (grads(out, a, b)[1],))
        if _grad_enabled:
            node._db = a  # the number, kept aside (see Value.__slots__)
        return node

    return method, reflected


def _unary_method(op: Operation) -> Callable[[Value], Value]:
    forward, grads = op.forward, op.grads
    constant = _constant_grads(op, 1)

    def method(self: Value) -> Value:
        a = self.data
        try:
            out = forward(a)
        except _DOMAIN as e:
            raise _domain_error(e, self) from None
        node = _new(Value)  # `make_node`'s body, written out as in `_binary_methods`
        node.data = out
        node.grad = 0.0
        node.label = ""
        if _grad_enabled:
            node._op = op
            node._a = self
            node._b = None
            node._da = constant if constant is not None else grads(out, a)
            node._db = None
        else:
            node._op = ""
            node._a = node._b = node._da = node._db = None
        return node

    method.__name__ = method.__qualname__ = op.methods[0] if op.methods else op.name
    method.__doc__ = f"The operation {op.name!r} (see microgradnn.ops)."
    return method


def _attach(op: Operation) -> Callable[..., Value]:
    """Give Value the methods a row names, and return the row as a function of Values/numbers."""
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
    return lambda *xs: make_node_of(op, _as_values(xs, op.name))


def define_op(
    name: str,
    forward: Callable[..., float],
    grads: Callable[..., tuple],
    *,
    arity: int = 1,
    method: str | None = None,
    numpy: Callable[..., Any] | None = None,
    numpy_grads: Callable[..., tuple] | None = None,
    sympy: Callable[..., Any] | None = None,
    activation: bool = False,
) -> Callable[..., Value]:
    """Add an operation of your own: one row of the table, exactly as the built-in ones.

    ``forward`` computes the value on floats (raise a clear error outside its domain);
    ``grads(out, *inputs)`` returns ∂out/∂input for each input, written with arithmetic and
    the functions of :mod:`microgradnn.ops` so that it works on floats, Values (higher order)
    and numpy arrays (the compiled path); ``numpy``/``sympy`` give the forward value on
    arrays / in sympy; ``activation=True`` lets ``nn`` use it (``MLP(..., activation=name)``). The operation becomes ``Value.<method>`` (default: ``name``) and works
    in backward, grad/hessian, the drawings, gradcheck, the test strategies and compiled
    batches. Returns it as a function of Values or numbers.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"define_op(name): expected a Python identifier, got {name!r}")
    if arity not in (1, 2):
        raise ValueError(f"define_op(arity): expected 1 or 2, got {arity!r}")
    for arg, value in (("forward", forward), ("grads", grads)):
        if not callable(value):
            raise TypeError(f"define_op({arg}): expected a function, got {type(value).__name__}")
    method = method or name
    if method in OPS or (hasattr(Value, method) and method not in {m for o in OPS.values() for m in o.methods}):
        raise ValueError(f"define_op: {method!r} already names an operation or a Value attribute")
    _probe_rule(name, forward, grads, arity)
    op = Operation(name, forward, grads, arity=arity, methods=(method,), numpy=numpy,
                   numpy_grads=numpy_grads, sympy=sympy, number_operand=arity == 2,
                   activation=activation and arity == 1)
    OPS[name] = op
    return _attach(op)


def _probe_rule(name: str, forward: Callable, grads: Callable, arity: int) -> None:
    """Catch the commonest slip at once: a one-input rule must give the derivative itself, a
    two-input rule a pair (otherwise backward() would fail far from the cause)."""
    try:
        xs = (0.5,) * arity
        local = grads(forward(*xs), *xs)
    except Exception:  # noqa: BLE001 - 0.5 may be outside the op's domain: nothing to learn
        return
    if arity == 1 and isinstance(local, (tuple, list)):
        raise TypeError(f"define_op({name!r}): grads for one input must return the derivative itself, "
                        f"got a {type(local).__name__} {local!r}")
    if arity == 2 and not (isinstance(local, (tuple, list)) and len(local) == 2):
        raise TypeError(f"define_op({name!r}): grads for two inputs must return a pair, got {local!r}")


def make_node_of(op: Operation, inputs: tuple[Value, ...]) -> Value:
    """A node of ``op`` on ``inputs`` (a fused row's groups joined): value and local gradients
    from the row."""
    data = tuple(map(_get_data, inputs))
    args = op.split(data) if op.arity is None else data
    try:
        out = op.forward(*args)
    except _DOMAIN as e:
        raise _domain_error(e, *inputs) from None
    local = op.grads(out, *args)
    return make_node(out, inputs, op, sum(local, ()) if op.arity is None else (local,) if op.arity == 1 else local)


_power_methods: dict[float, Callable[[Value], Value]] = {}


def _as_value(x: Operand) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _as_values(items: Iterable[Operand], where: str = "") -> tuple[Value, ...]:
    if type(items) is not tuple:
        if isinstance(items, (Value, str, bytes)) or not hasattr(items, "__iter__"):
            raise TypeError(f"{where}: expected a sequence of Values or numbers, got {type(items).__name__}")
        items = tuple(items)
    if all(map(isinstance, items, repeat(Value))):
        return items
    return tuple(v if isinstance(v, Value) else Value(_real(v, f"{where} item {i}")) for i, v in enumerate(items))


def _pow_values(base: Value, exponent: Value) -> Value:
    return _apply2(ops.POW, base, exponent)


def value_sum(values: Iterable[Operand]) -> Value:
    """Σ vᵢ as ONE node with many inputs;  ∂/∂vᵢ = 1.  Numbers are wrapped as leaves."""
    children = _as_values(values, "value_sum(values)")
    if not children:
        raise ValueError("value_sum(values): needs at least one value")
    return make_node_of(ops.SUM, children)


def dot(xs: Iterable[Operand], ys: Iterable[Operand]) -> Value:
    """Σ xᵢ·yᵢ as ONE node with inputs ``xs + ys``;  ∂/∂xᵢ = yᵢ, ∂/∂yᵢ = xᵢ.

    This is what makes a neuron one node instead of a chain of 2n. Numbers become leaves.
    """
    xs, ys = _as_values(xs, "dot(xs)"), _as_values(ys, "dot(ys)")
    if len(xs) != len(ys):
        raise ValueError(f"dot: the two sequences must have equal length, got {len(xs)} and {len(ys)}")
    if not xs:
        raise ValueError("dot: needs at least one pair")
    return make_node_of(ops.DOT, xs + ys)


for _op in list(OPS.values()):
    if _op.methods:
        _attach(_op)


# ---------------------------------------------------------------------- 3. topological order
class _Marker:
    """A named singleton; copying or pickling it gives the same object back."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return self.name


_MANY = _Marker("_MANY")  # `_b` of a node whose inputs are the tuple in `_a`
_EMIT = _Marker("_EMIT")  # on a traversal stack: the node below it has all its inputs in the order


def _interior_order_zeroed(root: Value) -> list[Value]:
    """The nodes with inputs that `root` depends on, inputs first, each one's grad reset to 0.

    Instead of a set of visited nodes, each visited node's grad is set to a 0.0 float object
    made for this call, so "visited?" is one identity test, and backward's reset comes free.
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
        # Depth first: mark the node, then go straight on into its first input; the other
        # inputs wait on the stack, last to first.
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

    Iterative and deterministic (inputs in their stored order); ``reversed(...)`` of it is
    the order backward visits. A number operand (the 2 of ``x + 2``) is listed as a leaf.
    """
    roots = [roots] if isinstance(roots, Value) else list(_as_values_only(roots, "topological_order(roots)"))
    order: list[Value] = []
    visited: set[int] = set()
    stack: list = roots[::-1]
    while stack:
        node = stack.pop()
        if node is _EMIT:
            order.append(stack.pop())
        elif id(node) not in visited:
            visited.add(id(node))
            if node._b is None and node._db is not None:
                node._number_as_leaf()  # list the number as the leaf micrograd would have
            a, b = node._a, node._b
            if a is None:
                order.append(node)
                continue
            stack += (node, _EMIT)
            stack.extend(reversed(a) if b is _MANY else (a,) if b is None else (b, a))
    return order


# ---------------------------------------------------------------------- 4. grad and hessian
def grad(output: Value, inputs: Value | Sequence[Value], create_graph: bool = False) -> list:
    """∂output/∂input for each input, without touching any node's ``.grad``.

    Floats by default. With ``create_graph=True`` they are Values built from the graph by
    the same rules of the table, so they can be differentiated again (higher derivatives,
    mixed partials). An input that ``output`` does not depend on gets 0.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad(output): expected a Value, got {type(output).__name__}")
    wanted = [inputs] if isinstance(inputs, Value) else list(_as_values_only(inputs, "grad(inputs)"))
    grads: dict[Value, Any] = {output: 1.0}
    for node in reversed(topological_order(output)):
        g = grads.get(node)
        if g is None or node._a is None:
            continue
        children = node._prev
        if create_graph:
            rule = getattr(node._op, "grads", None)
            if rule is None:
                raise TypeError(
                    f"grad(create_graph=True): node {node!r} (op {node._op!r}) was built by hand and has "
                    "no differentiable rule; build it from Value operations or define_op"
                )
            if getattr(node._op, "arity", 1) is None:  # a fused row: its inputs come in groups
                local = sum(rule(node, *node._op.split(children)), ())
            elif len(children) == 1 and getattr(node._op, "forward", None) is not None:
                local = (rule(node, *children),)  # a one-input row gives the derivative itself
            else:
                local = rule(node, *children)
        else:
            local = node._local
        for child, d in zip(children, local):
            term = d * g
            previous = grads.get(child)
            grads[child] = term if previous is None else previous + term
    result = [grads.get(v, 0.0) for v in wanted]
    if create_graph:
        return [g if isinstance(g, Value) else Value(g) for g in result]
    return [float(g.data if isinstance(g, Value) else g) for g in result]


def _as_values_only(items: Any, where: str) -> tuple[Value, ...]:
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
        raise TypeError(f"hessian(inputs): expected a sequence of numbers or Values, got {type(inputs).__name__}")
    xs = [Value(_data(x) if isinstance(x, Value) else _real(x, f"hessian(inputs) item {i}"), label=f"x{i}")
          for i, x in enumerate(inputs)]
    out = f(*xs)
    if not isinstance(out, Value):
        raise TypeError(f"hessian(f): f must return a Value, got {type(out).__name__}")
    return [grad(g, xs) for g in grad(out, xs, create_graph=True)]


# ---------------------------------------------------------------------- 5. no_grad, gc_paused
# A plain module global: one lookup per node is cheaper than a context variable, and
# autograd on scalars is not used across threads.
_grad_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside a :func:`no_grad` block."""
    return _grad_enabled


@contextmanager
def no_grad() -> Iterator[None]:
    """Operations inside compute data only and record no graph (``with no_grad():`` or
    ``@no_grad()`` on a function)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block, restoring its state after.

    Graphs have no reference cycles, so building one gives the collector nothing to find;
    left running, it would re-scan the large live graph again and again. Used by `fit` and
    the batch forward.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

