"""Step 1 of the compiled path: run the per-sample function once and record its graph.

The record (`Trace`) lists the elements of the graph, leaves first, each node after its inputs:
the sample's inputs (``x``), target placeholders (``y``), the parameters, constants (any other
leaf, and the number operand of ``x * 2`` whether the engine keeps it as a number or as a leaf
Value) and the nodes, each with its row of the table of operations. Only public parts of a
node are read: `inputs_of`, ``.data``, ``._op``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from microgradnn.engine import Value, inputs_of
from microgradnn.gc_control import gc_paused
from microgradnn.ops import Operation

__all__ = ["LOSS_ROWS", "CompileError", "Trace", "compare", "leaf_params", "split_result", "trace"]

X, Y, PARAM, CONST, NODE = "x", "y", "param", "const", "node"
#: The per-sample loss rows of microgradnn.losses, whose target is a number inside the row.
LOSS_ROWS = ("CrossEntropy", "BCEWithLogits")


class CompileError(ValueError):
    """The function cannot be compiled, or a batch does not fit the compiled function."""


@dataclass
class Trace:
    """One recorded graph, as lists indexed by element (leaves and nodes, inputs first)."""

    kind: list[str] = field(default_factory=list)
    index: list[int] = field(default_factory=list)  # x/y/param index, or const slot
    op: list[Any] = field(default_factory=list)  # the node's row (a name for the loss rows)
    inputs: list[tuple[int, ...]] = field(default_factory=list)
    target: dict[int, float] = field(default_factory=dict)  # loss nodes: the target in the row
    target_y: dict[int, tuple[int, int]] = field(default_factory=dict)  # loss nodes: columns of y
    consts: list[float] = field(default_factory=list)
    loss: int = -1
    outputs: list[int] | None = None  # None: fn returned only the loss
    single_output: bool = True

    def signature(self, e: int) -> tuple:
        """What must be equal in two traces for one plan to serve both (numbers excluded)."""
        return (
            self.kind[e],
            self.index[e] if self.kind[e] != CONST else None,
            str(self.op[e]),
            self.inputs[e],
        )

    def describe(self, e: int) -> str:
        if self.kind[e] == NODE:
            return f"node {e} (operation {str(self.op[e])!r} of inputs {list(self.inputs[e])})"
        if self.kind[e] == CONST:
            return f"element {e} (the constant {self.consts[self.index[e]]!r})"
        return f"element {e} (the leaf {self.kind[e]}[{self.index[e]}])"


def leaf_params(params: list[Value]) -> dict[int, int]:
    """id → index of the parameters. Each is a leaf of the trace: what made it (if anything)
    is not traced, as for a detached Value."""
    return dict(zip(map(id, params), range(len(params))))


def split_result(result: Any) -> tuple[Value | None, list[Value] | None, bool]:
    """fn's return: a Value (the loss), a tuple (loss, outputs) with outputs a Value or a list,
    or a list of Values (outputs alone: nothing to differentiate, for predictions)."""
    if isinstance(result, Value):
        return result, None, True
    if isinstance(result, list) and result and all(isinstance(o, Value) for o in result):
        return None, result, False
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], Value):
        loss, outputs = result
        if isinstance(outputs, Value):
            return loss, [outputs], True
        if isinstance(outputs, (list, tuple)) and outputs and all(isinstance(o, Value) for o in outputs):
            return loss, list(outputs), False
    text = repr(result)
    raise CompileError(
        "compile_step(fn): fn must return a Value (the sample's loss), a tuple (loss, outputs) with "
        "outputs a Value or a list of Values, or a list of Values (outputs alone); it returned "
        f"{type(result).__name__}: {text if len(text) <= 80 else text[:77] + '...'}"
    )


def trace(
    fn: Callable,
    params: dict[int, int],
    x: Sequence[float],
    y: Any,
    targets: str,
    target_from_y: Callable[[], dict[int, tuple[int, int]]] | None = None,
) -> Trace:
    """Run ``fn`` once on placeholders and record its graph.

    ``targets='values'``: y is passed as placeholder Value(s) ``y[j]``; ``'labels'``: as it is.
    ``target_from_y()`` (the loss heads of `compile_model`) names, after the call, the loss
    nodes whose target is columns of y rather than the number inside their row.
    """
    xs = [Value(v, label=f"x[{i}]") for i, v in enumerate(x)]
    placeholders = {id(v): (X, i) for i, v in enumerate(xs)}
    label: Any = y
    if y is not None and targets == "values":
        many = isinstance(y, (list, tuple))
        ys = [Value(v, label=f"y[{i}]") for i, v in enumerate(y if many else [y])]
        placeholders.update({id(v): (Y, i) for i, v in enumerate(ys)})
        label = ys if many else ys[0]
    with gc_paused():
        result = fn(xs) if y is None else fn(xs, label)
    loss, outputs, single = split_result(result)
    from_y = target_from_y() if target_from_y is not None else {}

    t = Trace(single_output=single)
    ids: dict[int, int] = {}
    kind, index, op_of, inputs_of_e = t.kind, t.index, t.op, t.inputs

    def add(k: str, i: int, op: Any = None, ins: tuple[int, ...] = ()) -> int:
        kind.append(k)
        index.append(i)
        op_of.append(op)
        inputs_of_e.append(ins)
        return len(kind) - 1

    def constant(c: Any) -> int:
        t.consts.append(float(c))
        return add(CONST, len(t.consts) - 1)

    # The placeholders and the parameters (``params`` holds only those that are leaves, see
    # `leaf_params`) are numbered first, all at once: then a node's inputs are looked up in C
    # (a layer's weights are most of the leaves).
    for where_id, (k, i) in placeholders.items():
        ids[where_id] = add(k, i)
    base = len(kind)
    kind.extend([PARAM] * len(params))
    index.extend(params.values())
    op_of.extend([None] * len(params))
    inputs_of_e.extend([()] * len(params))
    ids.update(zip(params, range(base, base + len(params))))
    placeholders_get, get = placeholders.get, ids.get

    def number(v: Any) -> int | None:
        """The element of an input: numbered now if it is a leaf; None for an interior node
        not numbered yet."""
        r = get(id(v))
        if r is not None:
            return r
        if not isinstance(v, Value):  # a number operand kept inside the node
            return constant(v)
        if inputs_of(v)[1]:
            return None
        where = placeholders_get(id(v))
        r = ids[id(v)] = add(*where) if where is not None else constant(v.data)
        return r

    # Depth first, iterative (a deep graph must not hit the recursion limit); an element gets
    # its number after all of its inputs, so the numbering is a topological order. Leaves are
    # numbered where a node first reads them (a layer's thousands of weights never go on the
    # stack), and a node whose inputs are all numbered is numbered on its first visit.
    roots = ([] if loss is None else [loss]) + (outputs or [])
    partial: dict[int, list[int | None]] = {}  # a node's inputs numbered so far
    for root in roots:
        if number(root) is not None:
            continue
        stack: list[Any] = [root]
        while stack:
            node = stack[-1]
            if get(id(node)) is not None:
                stack.pop()
                continue
            op, inputs = inputs_of(node)
            if not isinstance(op, Operation):
                raise CompileError(
                    f"compile_step: the node {node!r} with _op {op!r} was built by hand and has no row in "
                    "the table of operations; build it from Value operations or microgradnn.define_op"
                )
            refs = partial.pop(id(node), None)
            if refs is None:
                refs = list(map(get, map(id, inputs)))
                if None in refs:
                    refs = list(map(number, inputs))
            else:  # back after its interior inputs: number those (its constants exist already)
                refs = [r if r is not None else number(v) for r, v in zip(refs, inputs)]
            if None in refs:  # interior inputs first
                partial[id(node)] = refs
                stack.extend(v for v, r in zip(reversed(inputs), reversed(refs)) if r is None)
                continue
            stack.pop()
            numbered = cast("list[int]", refs)  # every input has its element now
            name = str(op)
            if name in LOSS_ROWS and op.param is not None:
                e = add(NODE, -1, name, tuple(numbered))
                if id(node) in from_y:
                    t.target_y[e] = from_y[id(node)]
                else:
                    t.target[e] = float(op.param)
            else:
                if op.arity is not None and op.arity != len(refs):
                    raise CompileError(f"compile_step: node {node!r} of {name!r} has {len(refs)} inputs")
                e = add(NODE, -1, op, tuple(numbered))
            ids[id(node)] = e
    t.loss = -1 if loss is None else ids[id(loss)]
    t.outputs = None if outputs is None else [ids[id(o)] for o in outputs]
    return t


def compare(first: Trace, other: Trace, what: str, numbers_too: bool, advice: str = "") -> None:
    """Raise naming the first element where ``other`` differs from ``first``."""
    if (  # the common case, compared list to list (in C)
        first.kind == other.kind
        and first.index == other.index
        and first.inputs == other.inputs
        and list(map(str, first.op)) == list(map(str, other.op))
        and (first.loss, first.outputs) == (other.loss, other.outputs)
        and (not numbers_too or (first.consts == other.consts and first.target == other.target))
    ):
        return
    n = min(len(first.kind), len(other.kind))
    for e in range(n):
        if first.signature(e) != other.signature(e):
            raise CompileError(
                f"compile_step: the graph of {what} differs from the example's at {other.describe(e)}; "
                f"the example has {first.describe(e)} there. The function's structure depends on the "
                "sample's numbers (a Python if on .data?), so one trace cannot stand for every "
                f"sample{advice}"
            )
        if (
            numbers_too
            and first.kind[e] == CONST
            and first.consts[first.index[e]] != other.consts[other.index[e]]
        ):
            raise CompileError(
                f"compile_step: the graph of {what} differs from the example's at {other.describe(e)}; the "
                f"example has the constant {first.consts[first.index[e]]!r} there: a number read from .data "
                f"while tracing is frozen at the example's value{advice}"
            )
        if numbers_too and first.target.get(e) != other.target.get(e):
            raise CompileError(
                f"compile_step: the target of {other.describe(e)} differs from the example's{advice}"
            )
    if len(first.kind) != len(other.kind) or (first.loss, first.outputs) != (other.loss, other.outputs):
        raise CompileError(
            f"compile_step: the graph of {what} has {len(other.kind)} elements, the example's "
            f"{len(first.kind)}: the function's structure depends on the sample's numbers{advice}"
        )
