"""Step 2 of the compiled path: group the trace's nodes into array operations.

Every node gets a *level* (1 + the highest level of its inputs; leaves are 0). The nodes of
ONE operation at ONE level become ONE array operation (a `Group`): a layer's 16 ReLUs one
``relu`` over a (batch, 16) array; a layer's ``dot`` nodes, which all read the same input
vector, one matrix product. Each input of a group (a `Slot`) says which columns of which
earlier groups it reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from microgradnn import ops
from microgradnn.compiled.tracing import CONST, LOSS_ROWS, PARAM, Trace, X, Y

__all__ = ["Group", "Plan", "Slot"]

VCONST = "labelled const"


@dataclass
class Slot:
    """Where one array input of a group comes from: runs of columns of earlier groups."""

    parts: list[tuple[int, list[int] | None, int, int, bool]]  # (group, columns or None, start, stop, unique)
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
    slots: list[Slot] = field(default_factory=list)
    k: int = 0  # inputs per node (sum, dot, cross-entropy)
    needs_grad: bool = False
    target_from_y: bool = False  # a loss group whose targets are columns of y


class Plan:
    def __init__(
        self, trace: Trace, n_x: int, n_params: int, varying: list[int], n_y: int, varying_targets: set[int]
    ) -> None:
        self.trace = trace
        kinds = trace.kind
        n = len(kinds)
        level = [0] * n
        self.loc: list[tuple[int, int]] = [(-1, -1)] * n
        groups: list[Group] = []

        def leaf_group(name: str, size: int, batched: bool) -> int:
            groups.append(Group(name, 0, size, batched, needs_grad=name == PARAM))
            return len(groups) - 1

        self.g_x = leaf_group(X, n_x, True)
        self.g_y = leaf_group(Y, n_y, True)
        self.g_param = leaf_group(PARAM, n_params, False)
        self.varying = varying
        vary = set(varying)
        self.static_consts = [i for i in range(len(trace.consts)) if i not in vary]
        self.g_const = leaf_group(CONST, len(self.static_consts), False)
        self.g_vconst = leaf_group(VCONST, len(varying), True)
        const_col = {c: j for j, c in enumerate(self.static_consts)}
        vconst_col = {c: j for j, c in enumerate(varying)}

        # Leaves first, then the nodes bucketed by (operation, level, number of inputs).
        buckets: dict[tuple, int] = {}
        batched = [False] * n
        loc, index, inputs, op_of = self.loc, trace.index, trace.inputs, trace.op
        for e in range(n):
            k = kinds[e]
            if k == PARAM:
                loc[e] = (self.g_param, index[e])
            elif k == CONST:
                c = index[e]
                if c in vary:
                    loc[e], batched[e] = (self.g_vconst, vconst_col[c]), True
                else:
                    loc[e] = (self.g_const, const_col[c])
            elif k == X:
                loc[e], batched[e] = (self.g_x, index[e]), True
            elif k == Y:
                loc[e], batched[e] = (self.g_y, index[e]), True
            else:
                ins = inputs[e]
                level[e] = 1 + max(map(level.__getitem__, ins))
                from_y = e in trace.target_y
                # A loss node whose target differs between samples is per sample too.
                batched[e] = any(map(batched.__getitem__, ins)) or e in varying_targets or from_y
                op = op_of[e]
                arity = len(ins) if (isinstance(op, str) and op in LOSS_ROWS) or op.arity is None else 0
                key: tuple = (op, level[e], arity, batched[e], from_y)
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
                    groups.append(Group(name, level[e], 0, batched[e], row=op, k=arity, target_from_y=from_y))
                    g = buckets[key] = len(groups) - 1
                group = groups[g]
                loc[e] = (g, group.size)
                group.members.append(e)
                group.size += 1

        # Groups run by level; within a level, in the order they were made.
        self.order = sorted(range(self.g_vconst + 1, len(groups)), key=lambda g: groups[g].level)
        self.groups = groups
        for g in self.order:
            self._make_slots(groups[g])
            groups[g].needs_grad = any(groups[p[0]].needs_grad for s in groups[g].slots for p in s.parts)

    def _slot(self, sources: Sequence[int]) -> Slot:
        parts: list[tuple[int, list[int] | None, int, int, bool]] = []
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
        return Slot(parts, any(self.groups[p[0]].batched for p in parts), len(sources))

    def _part(
        self, g: int, cols: list[int], start: int, stop: int
    ) -> tuple[int, list[int] | None, int, int, bool]:
        whole = len(cols) == self.groups[g].size and cols == list(range(self.groups[g].size))
        return (g, None if whole else cols, start, stop, len(set(cols)) == len(cols))

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

    def consumers(self) -> dict[int, int]:
        """How many slot parts read each group (a group read once may be overwritten in place)."""
        count: dict[int, int] = {}
        for g in self.order:
            for slot in self.groups[g].slots:
                for part in slot.parts:
                    count[part[0]] = count.get(part[0], 0) + 1
        return count
