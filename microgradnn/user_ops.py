"""Your own operation, as one more row of the table: `define_op`.

A row added here is used exactly as the built-in ones are: it becomes a Value method, and
backward, grad/hessian, the drawings, gradcheck, the test strategies, ``nn``'s activations and
the compiled path all read it from :data:`microgradnn.ops.OPS`.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from typing import Any

from microgradnn.checks import to_float
from microgradnn.engine import Value, make_node_of
from microgradnn.ops import OPS, Operation

__all__ = ["define_op"]

_PROBES = (0.5, 1.5, 0.25, -0.5, 2.0)  # points to try a new rule at: one is usually in its domain


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
    if arity not in (1, 2):
        raise ValueError(f"define_op(arity): expected 1 or 2, got {arity!r}")
    method = name if method is None else method
    for arg, given in (("name", name), ("method", method)):
        _check_new_name(arg, given)
    for arg, rule in (("forward", forward), ("grads", grads)):
        if not callable(rule):
            raise TypeError(f"define_op({arg}): expected a function, got {type(rule).__name__}")
    _check_rule_shape(name, forward, grads, arity)
    OPS[name] = op = Operation(name, forward, grads, arity=arity, methods=(method,), numpy=numpy,
                               numpy_grads=numpy_grads, sympy=sympy, activation=activation and arity == 1)

    def apply(*operands: Any) -> Value:
        where = f"{name}() operand"
        inputs = tuple(x if isinstance(x, Value) else Value(to_float(x, where)) for x in operands)
        return make_node_of(op, inputs)

    def as_method(self: Value, *other: Any) -> Value:
        return apply(self, *other)

    as_method.__name__ = as_method.__qualname__ = method
    as_method.__doc__ = f"The operation {name!r}, added with define_op."
    setattr(Value, method, as_method)
    return apply


def _check_new_name(arg: str, name: object) -> None:
    """A name that means nothing yet: not a row, not a Value attribute, a dunder or a keyword."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"define_op({arg}): expected a Python identifier, got {name!r}")
    taken = (
        "is a Python keyword" if keyword.iskeyword(name) or keyword.issoftkeyword(name)
        else "is a special (dunder) name" if name.startswith("__") and name.endswith("__")
        else "already names an operation of the table" if name in OPS
        or any(name == row.name or name in row.methods for row in OPS.values())
        else "is already a Value attribute" if hasattr(Value, name)
        else ""
    )  # fmt: skip
    if taken:
        raise ValueError(f"define_op({arg}): {name!r} {taken}; choose another name")


def _check_rule_shape(name: str, forward: Callable, grads: Callable, arity: int) -> None:
    """The commonest slips, caught now rather than deep inside backward(): the rule must give
    the derivative itself for one input and a pair of derivatives for two."""
    for x in _PROBES:
        try:
            local = grads(forward(*(x,) * arity), *(x,) * arity)
        except Exception:  # noqa: BLE001 - x may lie outside the operation's domain: try another
            continue
        pair = isinstance(local, (tuple, list))
        if pair != (arity == 2) or (pair and len(local) != 2):
            need = "the derivative itself (one input)" if arity == 1 else "a pair of derivatives (two inputs)"
            raise TypeError(f"define_op({name!r}): grads must return {need}, got {local!r}")
        return
