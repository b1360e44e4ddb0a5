"""Scalar code at tensor speed: trace a per-sample function of Values once, run it on batches.

::

    from microgradnn import MLP
    from microgradnn.compiled import compile_step
    from microgradnn.losses import hinge

    model = MLP(2, [16, 16, 1], seed=1337)
    step = compile_step(lambda x, y: hinge([model(x)], [y]), model.parameters(), X[0], y[0])
    loss = step(X, y)          # the batch's mean loss; every parameter's .grad is set

How it works, in three steps:

1. **Trace.** ``fn`` is called ONCE on the example: the inputs become placeholder leaves, the
   parameters are the model's own Values, and the Value graph it builds is recorded (node by
   node, through the table of operations, :mod:`microgradnn.ops`).
2. **Plan.** Every node gets a *level* (1 + the highest level of its inputs; leaves are 0).
   The nodes of ONE operation at ONE level are grouped into ONE array operation: a layer's
   16 ReLUs become one ``relu`` over a (batch, 16) array, and a layer's fused ``dot`` nodes,
   which all share the same input vector, become one matrix product. Grouping is the whole
   point: replaying the graph node by node over the batch would be slower than the scalars.
3. **Replay.** A batch runs the groups in order (forward), then in reverse (the chain rule on
   arrays, with the local-gradient rules of the same table), and sums each parameter's
   gradient over the batch: exactly what ``backward()`` on the scalar graph of the whole batch
   gives, up to the rounding of a different summation order.

What tracing freezes: the graph is recorded for the example, so anything decided from numbers
while tracing is fixed for every sample. A Python ``if x.data > 0`` takes the example's branch;
a number read from ``.data`` (``x * x.data``, the max subtracted by ``softmax``) stays the
example's number. Give ``check=`` a second sample to detect both: it is traced too and the
first node where the two graphs differ is named. Targets are exempt: a class label read as a
number (the losses do, for ±1, 0/1 and class indices) is handled by tracing once per distinct
label value (``targets="labels"``, the default); for continuous targets use
``targets="values"``, which passes the target to ``fn`` as a placeholder Value.

numpy is imported when this module is first used (``import microgradnn`` does not load it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, cast

import numpy as np

from microgradnn import ops
from microgradnn.engine import Value, gc_paused, inputs_of
from microgradnn.ops import Operation

__all__ = ["CompileError", "Compiled", "Group", "compile_step"]


class CompileError(ValueError):
    """The function cannot be compiled, or a batch does not fit the compiled function."""


# Kinds of elements of a trace: the leaves, then the nodes made by operations.
_X, _Y, _PARAM, _CONST, _NODE = "x", "y", "param", "const", "node"
_BLUE, _GREEN = "#cfe8ff", "#d9f2d9"  # the inputs and the operation nodes in `Compiled.draw`
_DTYPES = {"float64": np.float64, "float32": np.float32}


@dataclass
class _Trace:
    """One recorded graph, as lists indexed by element (leaves and nodes, inputs first)."""

    kind: list[str] = field(default_factory=list)
    index: list[int] = field(default_factory=list)  # x/y/param index, or const slot
    op: list[Any] = field(default_factory=list)  # the node's row (a kind name for the losses)
    inputs: list[tuple[int, ...]] = field(default_factory=list)
    target: dict[int, float] = field(default_factory=dict)  # the loss nodes' targets
    consts: list[float] = field(default_factory=list)
    loss: int = -1
    outputs: list[int] | None = None  # None: fn returned only the loss
    single_output: bool = True

    def signature(self, e: int) -> tuple:
        """What must be equal in two traces for one plan to serve both (numbers excluded)."""
        return (
            self.kind[e],
            self.index[e] if self.kind[e] != _CONST else None,
            str(self.op[e]),
            self.inputs[e],
        )

    def describe(self, e: int) -> str:
        if self.kind[e] == _NODE:
            return f"node {e} (operation {str(self.op[e])!r} of inputs {list(self.inputs[e])})"
        if self.kind[e] == _CONST:
            return f"element {e} (the constant {self.consts[self.index[e]]!r})"
        return f"element {e} (the leaf {self.kind[e]}[{self.index[e]}])"


# ---------------------------------------------------------------------- 1. trace
# The per-sample losses of microgradnn.losses are rows without a forward function whose target
# is inside the row; their batched forms live here, the target read back from the rule itself.
def _loss_target(op: Operation, n_inputs: int) -> float:
    return float(op.param)  # type: ignore[arg-type]  # the rows of ops.bce_op / ops.cross_entropy_op


_LOSS_ROWS = ("CrossEntropy", "BCEWithLogits")


def _node_inputs(node: Value) -> tuple[Operation, list]:
    """The node's row and inputs, read without changing the node (a kept number stays a float)."""
    op, inputs = inputs_of(node)
    if not isinstance(op, Operation):
        raise CompileError(
            f"compile_step: the node {node!r} with _op {op!r} was built by hand and has no row in the "
            "table of operations; build it from Value operations or microgradnn.engine.define_op"
        )
    return op, list(inputs)


def _split_result(result: Any) -> tuple[Value | None, list[Value] | None, bool]:
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
    raise CompileError(
        "compile_step(fn): fn must return a Value (the sample's loss), a tuple (loss, outputs) with "
        "outputs a Value or a list of Values, or a list of Values (outputs alone); it returned "
        f"{type(result).__name__}: {_short(result)}"
    )


def _short(x: object) -> str:
    text = repr(x)
    return text if len(text) <= 80 else text[:77] + "..."


def _trace(fn: Callable, params: dict[int, int], x: Sequence[float], y: Any, targets: str) -> _Trace:
    xs = [Value(v, label=f"x[{i}]") for i, v in enumerate(x)]
    placeholders = {id(v): (_X, i) for i, v in enumerate(xs)}
    label: Any = y
    if y is not None and targets == "values":
        many = isinstance(y, (list, tuple))
        ys = [Value(v, label=f"y[{i}]") for i, v in enumerate(y if many else [y])]
        placeholders.update({id(v): (_Y, i) for i, v in enumerate(ys)})
        label = ys if many else ys[0]
    with gc_paused():
        result = fn(xs) if y is None else fn(xs, label)
    loss, outputs, single = _split_result(result)

    t = _Trace(single_output=single)
    ids: dict[int, int] = {}

    def add(kind: str, index: int, op: Any = None, inputs: tuple[int, ...] = ()) -> int:
        t.kind.append(kind)
        t.index.append(index)
        t.op.append(op)
        t.inputs.append(inputs)
        return len(t.kind) - 1

    def constant(c: float) -> int:
        t.consts.append(float(c))
        return add(_CONST, len(t.consts) - 1)

    # Depth first, iterative (a deep graph must not hit the recursion limit); an element gets
    # its number after all of its inputs, so the numbering is a topological order.
    roots = ([] if loss is None else [loss]) + (outputs or [])
    for root in roots:
        stack: list[tuple[Any, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if id(node) in ids:
                continue
            if not inputs_of(node)[1]:  # a leaf
                where = placeholders.get(id(node))
                if where is not None:
                    ids[id(node)] = add(*where)
                elif id(node) in params:
                    ids[id(node)] = add(_PARAM, params[id(node)])
                else:
                    ids[id(node)] = constant(node.data)
                continue
            op, inputs = _node_inputs(node)
            if not ready:
                stack.append((node, True))
                stack.extend(
                    (v, False) for v in reversed(inputs) if isinstance(v, Value) and id(v) not in ids
                )
                continue
            refs = tuple(ids[id(v)] if isinstance(v, Value) else constant(v) for v in inputs)
            kind = str(op) if op in _LOSS_ROWS else op
            if kind in _LOSS_ROWS:
                e = add(_NODE, -1, kind, refs)
                t.target[e] = _loss_target(op, len(refs))
            else:
                if op.arity is not None and op.arity != len(refs):
                    raise CompileError(f"compile_step: node {node!r} of {str(op)!r} has {len(refs)} inputs")
                if op.forward is None and op.numpy is None:
                    raise CompileError(
                        f"compile_step: the operation {str(op)!r} has no forward function, so it cannot "
                        "run on arrays; define it with microgradnn.engine.define_op(..., numpy=...)"
                    )
                e = add(_NODE, -1, op, refs)
            ids[id(node)] = e
    t.loss = -1 if loss is None else ids[id(loss)]
    t.outputs = None if outputs is None else [ids[id(o)] for o in outputs]
    return t


def _compare(first: _Trace, other: _Trace, what: str, numbers_too: bool) -> None:
    """Raise naming the first element where ``other`` differs from ``first``."""
    n = min(len(first.kind), len(other.kind))
    for e in range(n):
        if first.signature(e) != other.signature(e):
            raise CompileError(
                f"compile_step: the graph of {what} differs from the example's at {other.describe(e)}; "
                f"the example has {first.describe(e)} there. The function's structure depends on the "
                "sample's numbers (a Python if on .data?), so one trace cannot stand for every sample"
            )
        if (
            numbers_too
            and first.kind[e] == _CONST
            and first.consts[first.index[e]] != other.consts[other.index[e]]
        ):
            raise CompileError(
                f"compile_step: the graph of {what} differs from the example's at {other.describe(e)}; the "
                f"example has the constant {first.consts[first.index[e]]!r} there: a number read from .data "
                "while tracing is frozen at the example's value"
            )
        if numbers_too and first.target.get(e) != other.target.get(e):
            raise CompileError(f"compile_step: the target of {other.describe(e)} differs from the example's")
    if len(first.kind) != len(other.kind) or (first.loss, first.outputs) != (other.loss, other.outputs):
        raise CompileError(
            f"compile_step: the graph of {what} has {len(other.kind)} elements, the example's "
            f"{len(first.kind)}: the function's structure depends on the sample's numbers"
        )


# ---------------------------------------------------------------------- 2. plan
@dataclass
class _Slot:
    """Where one array input of a group comes from: runs of columns of earlier groups."""

    parts: list[tuple[int, Any, int, int, bool]]  # (group, columns or None, start, stop, columns unique)
    batched: bool
    width: int


@dataclass
class Group:
    """One array operation of the plan: ``size`` nodes of ``op`` at ``level``."""

    op: str  # the row's name, or 'x', 'y', 'param', 'const', 'labelled const' for leaves
    level: int
    size: int
    batched: bool  # has a batch axis (depends on the sample), or is the same for every sample
    shape: str = ""  # 'matmul' for a dot group that is one matrix product
    members: list[int] = field(default_factory=list)  # the trace's elements, in column order
    row: Any = None
    slots: list[_Slot] = field(default_factory=list)
    k: int = 0  # inputs per node (sum, dot, cross-entropy)
    needs_grad: bool = False


class _Plan:
    def __init__(
        self, trace: _Trace, n_x: int, n_params: int, varying: list[int], n_y: int, varying_targets: set[int]
    ) -> None:
        self.trace = trace
        kinds = trace.kind
        n = len(kinds)
        level = [0] * n
        self.loc: list[tuple[int, int]] = [(-1, -1)] * n
        groups: list[Group] = []

        def leaf_group(name: str, size: int, batched: bool) -> int:
            groups.append(Group(name, 0, size, batched, needs_grad=name == _PARAM))
            return len(groups) - 1

        self.g_x = leaf_group(_X, n_x, True)
        self.g_y = leaf_group(_Y, n_y, True)
        self.g_param = leaf_group(_PARAM, n_params, False)
        self.varying = varying
        vary = set(varying)
        static_consts = [i for i in range(len(trace.consts)) if i not in vary]
        self.static_consts = static_consts
        self.g_const = leaf_group(_CONST, len(static_consts), False)
        self.g_vconst = leaf_group("labelled const", len(varying), True)
        const_col = {c: j for j, c in enumerate(static_consts)}
        vconst_col = {c: j for j, c in enumerate(varying)}

        # Leaves first, then the nodes bucketed by (operation, level, number of inputs).
        buckets: dict[tuple, int] = {}
        batched = [False] * n
        for e in range(n):
            k = kinds[e]
            if k == _X:
                self.loc[e], batched[e] = (self.g_x, trace.index[e]), True
            elif k == _Y:
                self.loc[e], batched[e] = (self.g_y, trace.index[e]), True
            elif k == _PARAM:
                self.loc[e] = (self.g_param, trace.index[e])
            elif k == _CONST:
                c = trace.index[e]
                self.loc[e], batched[e] = (
                    ((self.g_vconst, vconst_col[c]), True)
                    if c in vary
                    else ((self.g_const, const_col[c]), False)
                )
            else:
                ins = trace.inputs[e]
                level[e] = 1 + max(level[i] for i in ins)
                # A loss node whose target differs between labels is per sample too.
                batched[e] = any(batched[i] for i in ins) or e in varying_targets
                op = trace.op[e]
                arity = len(ins) if (isinstance(op, str) and op in _LOSS_ROWS) or op.arity is None else 0
                key: tuple = (op, level[e], arity, batched[e])
                if op is ops.DOT:
                    # The neurons of a layer share the side that depends on the sample (their
                    # input vector): bucket by that side, so that each bucket is one matrix
                    # product (dot nodes that share nothing are buckets of one).
                    half = len(ins) // 2
                    side = ins[half:] if any(batched[i] for i in ins[half:]) else ins[:half]
                    key += (side,)
                g = buckets.get(key)
                if g is None:
                    name = op if isinstance(op, str) else op.name
                    groups.append(Group(name, level[e], 0, batched[e], row=op, k=arity))
                    g = buckets[key] = len(groups) - 1
                group = groups[g]
                self.loc[e] = (g, group.size)
                group.members.append(e)
                group.size += 1

        # Groups run by level; within a level, in the order they were made.
        self.order = sorted(range(self.g_vconst + 1, len(groups)), key=lambda g: groups[g].level)
        self.groups = groups
        for g in self.order:
            self._make_slots(groups[g])
            groups[g].needs_grad = any(groups[p[0]].needs_grad for s in groups[g].slots for p in s.parts)

    def _slot(self, sources: Sequence[int]) -> _Slot:
        parts: list[tuple[int, Any, int, int, bool]] = []
        start = 0
        cols: list[int] = []
        current = -1
        for i, e in enumerate(sources):
            g, c = self.loc[e]
            if g != current and cols:
                parts.append(self._part(current, cols, start, i))
                start, cols = i, []
            current = g
            cols.append(c)
        parts.append(self._part(current, cols, start, len(sources)))
        return _Slot(parts, any(self.groups[p[0]].batched for p in parts), len(sources))

    def _part(self, g: int, cols: list[int], start: int, stop: int) -> tuple[int, Any, int, int, bool]:
        whole = cols == list(range(self.groups[g].size))
        return (g, None if whole else np.array(cols, dtype=np.intp), start, stop, len(set(cols)) == len(cols))

    def _make_slots(self, group: Group) -> None:
        ins = [self.trace.inputs[e] for e in group.members]
        if group.op == "dot":
            k = group.k // 2
            firsts, seconds = [i[:k] for i in ins], [i[k:] for i in ins]
            # The bucket's nodes share one side (a layer's neurons read the same input vector),
            # so the group is one matrix product, (batch, k) @ (k, nodes): slot 0 is the shared
            # side, slot 1 the other sides of all nodes, one after the other.
            shared, other = (seconds, firsts) if all(s == seconds[0] for s in seconds) else (firsts, seconds)
            group.shape, group.k = "matmul", k
            group.slots = [self._slot(shared[0]), self._slot([e for o in other for e in o])]
            return
        if group.k:  # sum and the losses: every node's inputs side by side, (..., nodes, k)
            group.slots = [self._slot([e for i in ins for e in i])]
            return
        group.slots = [self._slot([i[j] for i in ins]) for j in range(len(ins[0]))]


# ---------------------------------------------------------------------- 3. replay
def _gather(vals: list, slot: _Slot, batch: int) -> Any:
    arrays = []
    for g, cols, _, _, _ in slot.parts:
        a = vals[g]
        arrays.append(a if cols is None else a[..., cols])
    if len(arrays) == 1:
        return arrays[0]
    if slot.batched:  # a static part (same for every sample) joins the batched ones
        arrays = [a if a.ndim == 2 else np.broadcast_to(a, (batch, a.shape[0])) for a in arrays]
    return np.concatenate(arrays, axis=-1)


def _scatter(
    grads: list, owned: set[int], vals: list, groups: list[Group], slot: _Slot, contribution: Any
) -> None:
    """Add a slot's gradient into the gradients of the groups it was gathered from.

    A group's gradient starts as None. The first contribution to all of its columns is kept as
    it is, without a copy (it may be another group's array, or read-only): such an array is
    never changed in place, only replaced by a sum. Arrays made here (``owned``) are added
    into in place.
    """
    single = len(slot.parts) == 1
    for g, cols, start, stop, unique in slot.parts:
        if not groups[g].needs_grad:
            continue
        piece = contribution if single else contribution[..., start:stop]
        if not groups[g].batched and piece.ndim == 2:
            piece = piece.sum(axis=0)  # a parameter's gradient is the sum over the samples
        target = grads[g]
        if cols is None:
            if target is None:
                grads[g] = piece
            elif g in owned:
                target += piece
            else:
                grads[g] = target + piece
                owned.add(g)
            continue
        if target is None:
            target = grads[g] = np.zeros(vals[g].shape, dtype=vals[g].dtype)
            owned.add(g)
        elif g not in owned:
            target = grads[g] = target.copy()
            owned.add(g)
        if unique:
            target[..., cols] += piece
        else:  # a node used twice in one slot (x * x): np.add.at adds both contributions
            np.add.at(target, (Ellipsis, cols), piece)  # type: ignore[arg-type]


def _apply(row: Operation, *args: Any) -> Any:
    forward = row.numpy or row.forward
    assert forward is not None  # rows without either are refused when tracing
    return forward(*args)


def _forward(group: Group, inputs: list, targets: Any) -> Any:
    op = group.op
    if op == "dot":
        a, b = inputs  # the shared side (..., k) and the nodes' other sides (..., nodes·k)
        w = b.reshape(b.shape[:-1] + (group.size, group.k))
        if w.ndim == 2:  # the other sides are the same for every sample: weights
            return a @ w.T
        return np.einsum("...k,...mk->...m", a, w)
    if op == "sum":
        z = inputs[0]
        return z.reshape(z.shape[:-1] + (group.size, group.k)).sum(axis=-1)
    if op == "CrossEntropy":
        z = inputs[0].reshape(inputs[0].shape[:-1] + (group.size, group.k))
        top = z.max(axis=-1, keepdims=True)
        lse = top[..., 0] + np.log(np.exp(z - top).sum(axis=-1))
        picked = np.take_along_axis(z, np.broadcast_to(targets, z.shape[:-1])[..., None].astype(np.intp), -1)
        return lse - picked[..., 0]
    if op == "BCEWithLogits":
        z = inputs[0]
        return np.maximum(z, 0) - targets * z + np.log1p(np.exp(-np.abs(z)))
    return _apply(group.row, *inputs)


def _backward(group: Group, inputs: list, out: Any, g: Any, targets: Any) -> list:
    """The gradient of each slot of the group, given the gradient ``g`` of its outputs."""
    op = group.op
    if op == "dot":
        a, b = inputs
        w = b.reshape(b.shape[:-1] + (group.size, group.k))
        if w.ndim == 2 and a.ndim == 2:
            return [g @ w, (g.T @ a).reshape(-1)]  # the weights' gradient summed over the batch
        da = np.einsum("...m,...mk->...k", g, w)
        dw = g[..., :, None] * a[..., None, :]
        return [da, dw.reshape(dw.shape[:-2] + (-1,))]
    if op == "sum":
        z = inputs[0]
        full = np.broadcast_to(g[..., None], g.shape + (group.k,))
        return [full.reshape(z.shape)]
    if op == "CrossEntropy":
        z = inputs[0].reshape(inputs[0].shape[:-1] + (group.size, group.k))
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        p = e / e.sum(axis=-1, keepdims=True)
        onehot = np.arange(group.k) == np.broadcast_to(targets, z.shape[:-1])[..., None]
        return [(g[..., None] * (p - onehot)).reshape(inputs[0].shape)]
    if op == "BCEWithLogits":
        return [g * (ops.sigmoid(inputs[0]) - targets)]
    row = group.row
    local = (row.numpy_grads or row.grads)(out, *inputs)
    if row.arity == 1:  # a one-input rule gives its derivative itself
        local = (local,)
    # The local gradient of + (and of - for its first input) is the number 1: pass g on instead
    # of multiplying a whole array by 1 (a slot's gradient is only read, added into others).
    return [g if type(d) is float and d == 1.0 else d * g for d in local]


# ---------------------------------------------------------------------- the public object
def _key(label: Any) -> Any:
    """A target as a dict key (a list of numbers as a tuple)."""
    return tuple(label) if isinstance(label, list) else label


def _finite_batch(name: str, array: Any) -> None:
    bad = np.isnan(array)
    if bad.any():
        sample = int(np.nonzero(bad.reshape(len(array), -1).any(axis=1))[0][0])
        raise CompileError(f"{name}: sample {sample} contains NaN: {array[sample].tolist()}")


class Compiled:
    """A per-sample function of Values, traced once and planned as array operations.

    Call it (or ``.step``) on a batch ``X`` (and targets ``y``): it returns the batch's loss
    (the mean, or the sum with ``reduction='sum'``, of fn over the samples) and sets every
    parameter's ``.grad`` to what ``backward()`` on the scalar graph of the batch gives.
    ``.outputs`` then holds the outputs fn returned beside the loss, one row per sample.
    ``.forward(X, y)`` computes the same without gradients.
    """

    def __init__(
        self,
        fn: Callable,
        params: Sequence[Value],
        example: Sequence[float],
        target: Any = None,
        *,
        targets: str = "labels",
        reduction: str = "mean",
        dtype: str = "float64",
        check: Any = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"compile_step(fn): expected a function of Values, got {type(fn).__name__}")
        params = list(cast(Any, params).parameters() if hasattr(params, "parameters") else params)
        for i, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"compile_step(params): item {i} must be a Value, got {type(p).__name__}")
        if targets not in ("labels", "values"):
            raise ValueError(f"compile_step(targets): expected 'labels' or 'values', got {targets!r}")
        if reduction not in ("mean", "sum"):
            raise ValueError(f"compile_step(reduction): expected 'mean' or 'sum', got {reduction!r}")
        if dtype not in _DTYPES:
            raise ValueError(f"compile_step(dtype): expected 'float64' or 'float32', got {dtype!r}")
        self.fn, self.params, self.targets, self.reduction = fn, params, targets, reduction
        self.dtype = _DTYPES[dtype]
        self._param_index = {id(p): i for i, p in enumerate(params)}
        example = self._sample(example, "compile_step(example)")
        self.n_inputs, self._example = len(example), example
        self.has_target = target is not None
        self.outputs: Any = None
        self.trace = _trace(fn, self._param_index, example, target, targets)
        # targets="labels": one trace per distinct label value; they share one plan, their
        # numbers (and the losses' targets) become per-sample lookup tables.
        self._labels: dict[Any, int] = {}
        self._traces: list[_Trace] = []
        if self.has_target and targets == "labels":
            self._add_label(target, self.trace)
        self.n_y = (
            len(target)
            if (targets == "values" and isinstance(target, (list, tuple)))
            else (1 if targets == "values" and self.has_target else 0)
        )
        if self.has_target and targets == "values":
            # A target read as a number (y.data, as the built-in losses do) would be frozen at the
            # example's: trace again with other target numbers and compare.
            moved = [v + 1.0 for v in target] if isinstance(target, (list, tuple)) else target + 1.0
            try:
                _compare(self.trace, _trace(fn, self._param_index, example, moved, targets), "", True)
            except CompileError:
                raise CompileError(
                    "compile_step(targets='values'): fn reads the target as a number (y.data; the losses of "
                    "microgradnn.losses do), so it would stay the example's for every sample; use "
                    "targets='labels', or compute the loss from the target Value itself, e.g. (out - y) ** 2"
                ) from None
        if check is not None:
            self._check(check, example, target)
        self._replan()

    # -------------------------------------------------------------- tracing and planning
    @staticmethod
    def _sample(x: Any, what: str) -> list[float]:
        if isinstance(x, (str, bytes, Value)) or not isinstance(x, Sequence) and not hasattr(x, "tolist"):
            raise TypeError(f"{what}: expected one sample, a sequence of numbers, got {type(x).__name__}")
        values = list(cast(Any, x).tolist() if hasattr(x, "tolist") else x)
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, Real):
                raise TypeError(f"{what}: item {i} must be a number, got {type(v).__name__}: {v!r}")
        return [float(v) for v in values]

    def _check(self, check: Any, example: list[float], target: Any) -> None:
        x2, y2 = check if (isinstance(check, tuple) and len(check) == 2) else (check, target)
        x2 = self._sample(x2, "compile_step(check)")
        if len(x2) != len(example):
            raise CompileError(
                f"compile_step(check): the sample has {len(x2)} inputs, the example {len(example)}"
            )
        # With the example's own target, every difference comes from the inputs' numbers.
        other = _trace(self.fn, self._param_index, x2, target, self.targets)
        _compare(self.trace, other, "the check sample", numbers_too=True)
        if self.has_target and y2 != target and self.targets == "labels":
            self._add_label(y2, None)

    def _add_label(self, label: Any, trace: _Trace | None) -> None:
        if isinstance(label, float) and math.isnan(label):
            raise CompileError("compile_step: a target is NaN")
        if trace is None:
            trace = _trace(self.fn, self._param_index, self._example, label, "labels")
            _compare(self.trace, trace, f"the target {label!r}", numbers_too=False)
        self._labels[_key(label)] = len(self._traces)
        self._traces.append(trace)

    def _replan(self) -> None:
        traces = self._traces or [self.trace]
        table = np.array([t.consts for t in traces], dtype=np.float64).reshape(len(traces), -1)
        varying = [c for c in range(table.shape[1]) if (table[:, c] != table[0, c]).any()]
        target_nodes = sorted(self.trace.target)
        targets = np.array([[t.target[e] for e in target_nodes] for t in traces]).reshape(len(traces), -1)
        varying_targets = {e for j, e in enumerate(target_nodes) if (targets[:, j] != targets[0, j]).any()}
        self.plan = _Plan(self.trace, self.n_inputs, len(self.params), varying, self.n_y, varying_targets)
        self._const_table = table[:, varying].astype(self.dtype)
        self._static_consts = table[0, self.plan.static_consts].astype(self.dtype)
        self._targets = targets.astype(self.dtype)
        self._target_col = {e: j for j, e in enumerate(target_nodes)}
        # The numeric labels sorted, with their rows, for np.searchsorted in _label_rows.
        numeric = sorted((k, i) for k, i in self._labels.items() if type(k) in (int, float))
        rows = np.array([i for _, i in numeric], dtype=np.intp)
        self._known_labels = (np.array([k for k, _ in numeric]), rows)

    @property
    def groups(self) -> list[Group]:
        """The plan: the leaf groups, then one array operation per group, in running order."""
        return [g for g in self.plan.groups[: self.plan.g_vconst + 1] if g.size] + [
            self.plan.groups[g] for g in self.plan.order
        ]

    def draw(self, rankdir: str = "LR") -> Any:
        """The one-sample graph as a ``graphviz.Digraph``, every operation node inside a box for
        its group (the inputs in one box on the left). Parameters and constants are left out:
        each group gathers the ones it needs into one array."""
        # A viz Drawing (a graphviz.Digraph): shown in a notebook like draw_dot's pictures,
        # fitted to the output area, with a PNG beside the SVG.
        from microgradnn.viz.drawing import Drawing

        trace, plan = self.trace, self.plan
        picture = Drawing(
            graph_attr={"rankdir": rankdir, "fontname": "Helvetica", "fontsize": "11"},
            node_attr={"fontname": "Helvetica", "fontsize": "10", "height": "0.3"},
        )
        shown: set[int] = set()
        for g, group in enumerate(plan.groups):
            members = [e for e, (h, _) in enumerate(plan.loc) if h == g and trace.kind[e] in (_X, _NODE)]
            if not members:
                continue
            # subgraph(name=...) returns a context manager; only subgraph(graph) returns None
            with picture.subgraph(name=f"cluster_{g}") as box:  # pyright: ignore[reportOptionalContextManager]
                title = "inputs" if group.op == _X else f"level {group.level}: {len(members)} × {group.op}"
                title += "\nONE matrix product" if group.shape == "matmul" else ""
                box.attr(label=title, style="rounded,filled", fillcolor="#f4f4f4", color="#888888")
                for e in members:
                    shown.add(e)
                    if trace.kind[e] == _X:
                        box.node(str(e), f"x{trace.index[e]}", shape="box", style="filled", fillcolor=_BLUE)
                    else:
                        box.node(str(e), str(trace.op[e]), shape="ellipse", style="filled", fillcolor=_GREEN)
        for e, inputs in enumerate(trace.inputs):
            for i in dict.fromkeys(inputs):
                if i in shown and e in shown:
                    picture.edge(str(i), str(e), color="#999999", arrowsize="0.5")
        return picture

    def describe(self) -> str:
        """The plan as text: one line per array operation."""
        lines = [f"{len(self.trace.kind)} elements of the trace in {len(self.plan.order)} array operations:"]
        for g in self.groups:
            what = f"{g.size} × {g.op}" + (f" ({g.k} inputs each)" if g.k else "")
            shape = " as one matrix product" if g.shape == "matmul" else ""
            lines.append(f"  level {g.level}: {what}{shape}{'' if g.batched else ', same for every sample'}")
        return "\n".join(lines)

    # -------------------------------------------------------------- running on a batch
    def _batch(self, X: Any, y: Any) -> tuple[Any, Any, Any]:
        try:
            A = np.asarray(X, dtype=self.dtype)
        except (TypeError, ValueError) as e:
            raise CompileError(
                f"X: expected a batch of samples of {self.n_inputs} numbers each ({e})"
            ) from None
        if A.ndim != 2 or A.shape[1] != self.n_inputs:
            raise CompileError(
                f"X: expected a batch of shape (samples, {self.n_inputs}), got shape {A.shape}: each sample "
                f"must have the {self.n_inputs} inputs of the example"
            )
        if len(A) == 0:
            raise CompileError("X: the batch is empty")
        _finite_batch("X", A)
        if not self.has_target:
            if y is not None:
                raise CompileError("y: the function was compiled without a target, so the batch takes none")
            return A, None, None
        if y is None:
            raise CompileError("y: the function was compiled with a target; give one per sample")
        if len(y) != len(A):
            raise CompileError(f"y: {len(y)} targets for {len(A)} samples of X; they must pair up one to one")
        if self.targets == "values":
            Y = np.asarray(y, dtype=self.dtype).reshape(len(A), -1)
            if Y.shape[1] != self.n_y:
                raise CompileError(f"y: each target must have {self.n_y} numbers, got {Y.shape[1]}")
            _finite_batch("y", Y)
            return A, Y, None
        numbers = np.asarray(y) if not isinstance(y, np.ndarray) else y
        if numbers.ndim == 1 and numbers.dtype.kind in "iuf":
            return A, None, self._label_rows(numbers)
        labels = list(y.tolist() if hasattr(y, "tolist") else y)
        keys = [_key(v) for v in labels]
        new = [v for k, v in dict(zip(keys, labels)).items() if k not in self._labels]
        for i, v in enumerate(labels):
            if isinstance(v, float) and math.isnan(v):
                raise CompileError(f"y: sample {i} has a NaN target")
        if new:
            for v in new:
                self._add_label(v, None)
            self._replan()
        index = np.fromiter(map(self._labels.__getitem__, keys), dtype=np.intp, count=len(labels))
        return A, None, index

    def _label_rows(self, labels: Any) -> Any:
        """Each sample's row of the label tables, for labels that are numbers (found with numpy:
        the samples are many, the distinct labels few)."""
        if labels.dtype.kind == "f" and np.isnan(labels).any():
            raise CompileError(f"y: sample {int(np.nonzero(np.isnan(labels))[0][0])} has a NaN target")
        known, rows = self._known_labels
        pos = np.searchsorted(known, labels).clip(0, max(len(known) - 1, 0))
        if len(known) and (known[pos] == labels).all():
            return rows[pos]
        for v in np.unique(labels).tolist():
            if _key(v) not in self._labels:
                self._add_label(v, None)
        self._replan()
        return self._label_rows(labels)


    def _run(self, X: Any, y: Any, backward: bool, weights: Any = None) -> tuple[Any, Any]:
        """(loss or None, the parameters' gradient or None) of the batch; sets ``.outputs``."""
        A, Y, index = self._batch(X, y)
        plan, groups = self.plan, self.plan.groups
        B = len(A)
        vals: list[Any] = [None] * len(groups)
        vals[plan.g_x], vals[plan.g_y] = A, Y
        gradient = None
        if weights is None:
            weights = np.array([p.data for p in self.params], dtype=self.dtype)
        vals[plan.g_param] = weights
        vals[plan.g_const] = self._static_consts
        if index is not None:
            vals[plan.g_vconst] = self._const_table[index]
        cache: list[Any] = [None] * len(groups)
        target_of: dict[int, Any] = {}
        with np.errstate(all="ignore"):
            for g in plan.order:
                group = groups[g]
                targets = None
                if group.op in _LOSS_ROWS:
                    cols = [self._target_col[e] for e in group.members]
                    targets = (
                        self._targets[index][:, cols]
                        if group.batched and index is not None
                        else (self._targets[0, cols])
                    )
                    target_of[g] = targets
                inputs = [_gather(vals, s, B) for s in group.slots]
                cache[g] = inputs
                vals[g] = _forward(group, inputs, targets)
            scale = 1.0 / B if self.reduction == "mean" else 1.0
            loss = None
            if self.trace.loss >= 0:
                root_g, root_c = plan.loc[self.trace.loss]
                per_sample = vals[root_g][..., root_c]
                loss = (
                    float(per_sample.sum() * scale)
                    if groups[root_g].batched
                    else float(per_sample) * B * scale
                )
            if self.trace.outputs is not None:
                cols = [vals[plan.loc[e][0]][..., plan.loc[e][1]] for e in self.trace.outputs]
                outs = np.stack([np.broadcast_to(c, (B,)) for c in cols], axis=1)
                self.outputs = outs[:, 0] if self.trace.single_output else outs
            if backward:
                gradient = self._backward(vals, cache, target_of, B, scale)
        return loss, gradient

    def _backward(self, vals: list, cache: list, target_of: dict, B: int, scale: float) -> Any:
        plan, groups = self.plan, self.plan.groups
        grads: list[Any] = [None] * len(groups)
        root_g, root_c = plan.loc[self.trace.loss]
        if groups[root_g].needs_grad:
            # ∂loss/∂(each sample's loss) = 1/B for the mean: the seed of the scalar graph's backward.
            grads[root_g] = np.zeros(vals[root_g].shape, dtype=self.dtype)
            grads[root_g][..., root_c] = scale if groups[root_g].batched else scale * B
            owned = {root_g}
            for g in reversed(plan.order):
                group = groups[g]
                if not group.needs_grad or grads[g] is None:  # None: the loss does not depend on it
                    continue
                slot_grads = _backward(group, cache[g], vals[g], grads[g], target_of.get(g))
                for slot, contribution in zip(group.slots, slot_grads):
                    if np.ndim(contribution) == 0 or contribution.shape[-1:] != (slot.width,):
                        contribution = np.broadcast_to(contribution, grads[g].shape[:-1] + (slot.width,))
                    _scatter(grads, owned, vals, groups, slot, contribution)
        gradient = grads[plan.g_param]
        return np.zeros(len(self.params), dtype=self.dtype) if gradient is None else gradient

    def step(self, X: Any, y: Any = None) -> float:
        """The batch's loss; sets every parameter's ``.grad`` (and ``.outputs``)."""
        self._need_loss()
        loss, gradient = self._run(X, y, backward=True)
        for p, value in zip(self.params, gradient.tolist()):
            p.grad = value
        return loss

    __call__ = step

    def step_arrays(self, X: Any, y: Any = None, *, weights: Any) -> tuple[float, Any]:
        """The step on arrays alone: ``weights`` holds the parameters' numbers (in the order of
        ``params``) and the gradient comes back as an array; no Value is read or written.
        For training loops that keep their parameters in an array (reading and writing thousands
        of Values costs more than the arithmetic of a small network's step)."""
        w = np.asarray(weights, dtype=self.dtype)
        if w.shape != (len(self.params),):
            raise CompileError(
                f"weights: expected shape ({len(self.params)},), one per parameter, got {w.shape}"
            )
        self._need_loss()
        return self._run(X, y, backward=True, weights=w)

    def _need_loss(self) -> None:
        if self.trace.loss < 0:
            raise CompileError(
                "step: fn returned outputs only (a list of Values), so there is no loss to "
                "differentiate; use .forward(X), or return the loss (or (loss, outputs))"
            )

    def forward(self, X: Any, y: Any = None) -> tuple[float | None, Any]:
        """``(loss, outputs)`` of the batch without gradients: the loss as `step` gives it (None
        when fn returns outputs only) and the outputs fn returned, one row per sample (None when
        fn returns only a loss)."""
        self.outputs = None
        loss, _ = self._run(X, y, backward=False)
        return loss, self.outputs


def compile_step(
    fn: Callable,
    params: Sequence[Value] | Any,
    example: Sequence[float],
    target: Any = None,
    *,
    targets: str = "labels",
    reduction: str = "mean",
    dtype: str = "float64",
    check: Any = None,
) -> Compiled:
    """Trace ``fn(x, y)`` (or ``fn(x)`` without a target) once on ``example`` and plan it as
    array operations; returns a :class:`Compiled` to call on whole batches.

    - ``fn`` gets the sample's inputs as a list of placeholder Values and its target, and
      returns the sample's loss (a Value), or ``(loss, outputs)`` to also get the outputs.
    - ``params``: the Values whose ``.grad`` each step sets (a model, or a list); any other
      leaf fn uses is a constant.
    - ``targets='labels'``: the target is passed as the number it is (a class index, ±1, 0/1),
      and fn is traced once per distinct label; ``'values'``: as a placeholder Value (or list).
    - ``reduction``: 'mean' or 'sum' of the per-sample losses; ``dtype``: 'float64' or 'float32'.
    - ``check``: a second sample ``x`` or ``(x, y)``, traced too; a difference from the
      example's graph raises :class:`CompileError` naming the first node that differs.
    """
    return Compiled(
        fn, params, example, target, targets=targets, reduction=reduction, dtype=dtype, check=check
    )


# ---------------------------------------------------------------------- models (for microgradnn.train)
def _as_list(output: Any) -> list:
    return list(output) if isinstance(output, (list, tuple)) else [output]


def compile_model(
    model: Any, loss_fn: Callable, example: Sequence[float], target: Any = None, *, dtype: str = "float64"
) -> Compiled:
    """A model's training step, compiled: per sample ``loss_fn([model(x)], [y])`` (the term the
    batch's mean is made of) with the model's output beside it. What ``fit`` and ``evaluate`` use
    with ``compiled=True``."""

    def per_sample(x: list[Value], y: Any) -> tuple[Value, Any]:
        out = model(x)
        return loss_fn([out], [y]), out

    return compile_step(per_sample, model.parameters(), example, target, dtype=dtype)


def _l2(params: Sequence[Value], l2: float) -> float:
    return sum(p.data * p.data for p in params) * l2  # as dot(params, params) * l2 adds them


def train_step(
    step: Compiled, X: Any, y: Any, optimizer: Any, l2: float = 0.0, parameters: Sequence[Value] | None = None
) -> tuple[float, list]:
    """`microgradnn.train.train_step` on a compiled model step: the same objective (with the
    L2 penalty l2·Σp² over ``parameters``), gradients and update; returns the objective and
    the outputs' numbers, both from before the update."""
    value = step.step(X, y)
    scores = step.outputs.tolist()
    if l2:
        params = step.params if parameters is None else parameters
        value += _l2(params, l2)
        for p in params:
            p.grad += 2.0 * l2 * p.data  # ∂(l2·Σp²)/∂p
    optimizer.step()
    return value, scores


def evaluate(step: Compiled, X: Any, y: Any, l2: float = 0.0) -> tuple[float, list]:
    """The objective (as `train_step` computes it) and the outputs' numbers, without updating."""
    loss, outputs = step.forward(X, y)
    assert loss is not None and outputs is not None  # compile_model's fn returns (loss, outputs)
    return loss + (_l2(step.params, l2) if l2 else 0.0), outputs.tolist()


def predict(model: Any, X: Any) -> list:
    """``microgradnn.train.predict(model, X)`` through a compiled forward pass."""
    if len(X) == 0:
        return []
    single = []  # whether the model returns one Value (not a list) for a sample

    def outputs_of(x: list[Value]) -> list[Value]:
        out = model(x)
        single.append(isinstance(out, Value))
        return _as_list(out)

    step = compile_step(outputs_of, model.parameters(), X[0])
    _, outputs = step.forward(X)
    return outputs[:, 0].tolist() if single[0] else outputs.tolist()
