"""Gradients as values you can differentiate again: `grad` and `hessian`.

`Value.backward` stores floats in ``.grad``. Here the same chain rule runs over the same
topological order, but with ``create_graph=True`` each local gradient is the row's rule applied
to the node's input *Values* (see :mod:`microgradnn.ops`: one line per operation serves floats
and Values alike), so the gradient is itself a graph: second and third derivatives come free.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from microgradnn.checks import check_signature, check_values, describe, to_float
from microgradnn.engine import Number, Value, topological_order
from microgradnn.ops import Operation

__all__ = ["grad", "hessian"]


def grad(output: Value, inputs: Value | Sequence[Value], create_graph: bool = False) -> list:
    """∂output/∂input for each input, without touching any ``.grad``.

    Floats by default. With ``create_graph=True``, Values built by the table's rules on the
    graph's Values, so they can be differentiated again (higher derivatives, mixed partials).
    An input that ``output`` does not depend on gets 0.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad(output): expected a Value, got {type(output).__name__}")
    wanted = [inputs] if isinstance(inputs, Value) else check_values("grad(inputs)", inputs)
    # 1. Seed ∂output/∂output = 1; 2. walk back in topological order; 3. sum over paths.
    grads: dict[Value, Any] = {output: 1.0}
    for node in reversed(topological_order(output)):
        g = grads.get(node)
        if g is None or not node._prev:
            continue
        local = _local_values(node) if create_graph else node._local
        for child, d in zip(node._prev, local):
            grads[child] = d * g if child not in grads else grads[child] + d * g
    result = [grads.get(v, 0.0) for v in wanted]
    if create_graph:
        return [g if isinstance(g, Value) else Value(g) for g in result]
    return [float(g.data if isinstance(g, Value) else g) for g in result]


def _local_values(node: Value) -> tuple:
    """The node's local gradients as Values: its row's rule applied to its input Values."""
    row, inputs = node._op, node._prev
    if not isinstance(row, Operation):
        raise TypeError(f"grad(create_graph=True): node {node!r} (op {row!r}) was built by hand and has no "
                        "differentiable rule; build it from Value operations or define_op")
    if row.arity is None:
        return sum(row.grads(node, *row.grouped(inputs)), ())
    local = row.grads(node, *inputs)
    return local if row.arity == 2 else (local,)


def hessian(f: Callable[..., Value], inputs: Sequence[Number | Value]) -> list[list[float]]:
    """The matrix of second derivatives ∂²f/∂xᵢ∂xⱼ at ``inputs`` (numbers or Values)."""
    if not callable(f):
        raise TypeError(f"hessian(f): expected a function of Values, got {type(f).__name__}")
    if isinstance(inputs, (str, bytes, Value)) or not isinstance(inputs, Iterable):
        raise TypeError(f"hessian(inputs): expected a sequence of numbers or Values, got {describe(inputs)}")
    points = list(inputs)
    check_signature("hessian", f, len(points))
    xs = [Value(x.data if isinstance(x, Value) else to_float(x, f"hessian(inputs) item {i}"), label=f"x{i}")
          for i, x in enumerate(points)]  # fmt: skip
    out = f(*xs)
    if not isinstance(out, Value):
        raise TypeError(f"hessian(f): f must return a Value, got {type(out).__name__}")
    return [grad(g, xs) for g in grad(out, xs, create_graph=True)]
