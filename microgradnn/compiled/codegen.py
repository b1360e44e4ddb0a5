"""Step 3 of the compiled path: write the plan as ONE straight-line Python function.

The plan's groups become lines of array code, forward then backward, in a function that is
generated once per plan and cached, the way ``jax.jit`` stages a program; unlike jax the
result is ordinary source you can print (``Compiled.source``). The same generator writes
numpy calls or torch calls (``backend='torch'``).

Where the parameters live: one flat buffer ``P`` (and ``G`` for their gradient), laid out so
that each group reads a *view*: a layer's weights are one (neurons, inputs) matrix, its biases
one vector, both basic strided views of the buffer made once, never gathered or scattered by
fancy indexing (which only a parameter read in two different places still needs).

What the generator saves, compared with replaying the groups one by one:
- no Python dispatch per group: one function, its array calls in a row;
- no gradient for what needs none (the inputs X: the first layer's input gradient);
- a bias added, and a ReLU applied, in place where nothing else reads the array;
- cross-entropy keeps its softmax from the forward pass for the backward, and picks the
  target's logit with a one-hot product, not an index gather.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from microgradnn.compiled.plan import Group, Plan, Slot
from microgradnn.compiled.tracing import CompileError

__all__ = ["Program", "generate"]

# The operations whose backward reads their own output: a later group must not overwrite it.
# (The groups that may overwrite their input, below, read only their output in the backward.)
_NEEDS_OUT = {"exp", "tanh", "sigmoid", "ReLU", "/", "**"}
# One-input operations that can write their result over their input.
_IN_PLACE_UNARY = {"ReLU", "exp", "tanh", "neg"}


@dataclass
class View:
    """A group's read of the parameters: a strided view (offset, shape, strides) of the flat
    buffer, or, for a parameter read in several places at once, positions to gather."""

    name: str
    offset: int = 0
    shape: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()
    positions: list[int] | None = None


@dataclass
class Program:
    source: str
    names: dict[str, Any]  # the constants and views the source refers to
    views: list[View]
    positions: list[int]  # the buffer position of each parameter (in the order of params)
    size: int
    shared: bool  # a parameter is read in more than one place: G is zeroed and added into
    target_columns: dict[int, tuple[list[int] | None, tuple[int, ...]]] = field(default_factory=dict)


class _Dialect:
    """The array library's spelling of each call the generated code makes."""

    def __init__(self, backend: str) -> None:
        self.torch = backend == "torch"
        self.m = "torch" if self.torch else "np"

    def keep(self) -> str:
        return "keepdim=True" if self.torch else "keepdims=True"

    def relu(self, a: str, in_place: bool) -> str:
        if in_place:
            return f"{a}.clamp_min_(0.0)" if self.torch else f"np.maximum({a}, 0.0, out={a})"
        return f"torch.clamp_min({a}, 0.0)" if self.torch else f"np.maximum({a}, 0.0)"

    def unary(self, fn: str, a: str, in_place: bool = False) -> str:
        if fn == "neg":
            return (f"{a}.neg_()" if self.torch else f"np.negative({a}, out={a})") if in_place else f"-{a}"
        if fn == "sigmoid":
            return f"torch.sigmoid({a})" if self.torch else f"sigmoid({a})"
        if in_place:
            return f"{a}.{fn}_()" if self.torch else f"np.{fn}({a}, out={a})"
        return f"{self.m}.{fn}({a})"

    def repeat(self, g: str, k: int) -> str:
        return f"torch.repeat_interleave({g}, {k}, dim=-1)" if self.torch else f"np.repeat({g}, {k}, axis=-1)"

    def cat(self, parts: list[str]) -> str:
        return (
            f"torch.cat([{', '.join(parts)}], dim=-1)"
            if self.torch
            else f"np.concatenate([{', '.join(parts)}], axis=-1)"
        )

    def full(self, shape: str, value: str) -> str:
        return (
            f"torch.full({shape}, {value}, dtype=DTYPE, device=DEVICE)"
            if self.torch
            else f"np.full({shape}, {value})"
        )

    def broadcast(self, a: str, shape: str) -> str:
        return f"{a}.expand({shape})" if self.torch else f"np.broadcast_to({a}, {shape})"

    def add_at(self, target: str, index: str, piece: str, axis: int) -> str:
        if self.torch:
            return f"{target}.index_add_({axis}, {index}, {piece})"
        where = index if axis == 0 else f"(Ellipsis, {index})"
        return f"np.add.at({target}, {where}, {piece})"


def _columns(cols: list[int] | None) -> str | None:
    """A run of columns as a slice, if it is one (None: every column)."""
    if cols is None:
        return None
    if len(cols) == 1:
        return f"{cols[0]}:{cols[0] + 1}"
    step = cols[1] - cols[0]
    if step > 0 and all(b - a == step for a, b in zip(cols, cols[1:])):
        return f"{cols[0]}:{cols[-1] + 1}" + (f":{step}" if step != 1 else "")
    return None


class _Writer:
    def __init__(self, plan: Plan, static_consts: Any, backend: str, protected: set[int]) -> None:
        self.plan, self.groups = plan, plan.groups
        self.d = _Dialect(backend)
        self.static_consts = static_consts
        self.names: dict[str, Any] = {}
        self.lines: list[str] = []
        self.protected = protected  # groups read after the forward pass (the loss, the outputs)
        self.views: dict[tuple[int, int, int], View] = {}
        self.view_list: list[View] = []
        self.positions: list[int] = []
        self.size = 0
        self.shared = False
        self.consumers = plan.consumers()
        self.in_place: dict[int, int] = {}  # group -> the slot it overwrites

    # ------------------------------------------------------------------ layout of P
    def layout(self) -> None:
        n = self.groups[self.plan.g_param].size
        pos = [-1] * n
        uses = [0] * n
        free = 0
        for g in self.plan.order:
            group = self.groups[g]
            for s, slot in enumerate(group.slots):
                for p, (src, cols, _, _, unique) in enumerate(slot.parts):
                    if src != self.plan.g_param:
                        continue
                    members = list(range(n)) if cols is None else cols
                    for c in members:
                        uses[c] += 1
                    matrix = group.shape == "matmul" and s == 1 and len(slot.parts) == 1
                    shape = (group.size, group.k) if matrix else (len(members),)
                    name = f"w{len(self.view_list)}"
                    if unique and all(pos[c] < 0 for c in members):
                        for j, c in enumerate(members):
                            pos[c] = free + j
                        strides = (group.k, 1) if matrix else (1,)
                        view = View(name, free, shape, strides)
                        free += len(members)
                    else:
                        for c in members:
                            if pos[c] < 0:
                                pos[c], free = free, free + 1
                        at = [pos[c] for c in members]
                        step = at[1] - at[0] if len(at) > 1 else 1
                        if unique and step > 0 and all(b - a == step for a, b in zip(at, at[1:])):
                            strides = (group.k * step, step) if matrix else (step,)
                            view = View(name, at[0], shape, strides)
                        else:
                            view = View(name, shape=shape, positions=at)
                    self.views[(g, s, p)] = view
                    self.view_list.append(view)
        for c in range(n):  # parameters fn does not use: at the end
            if pos[c] < 0:
                pos[c], free = free, free + 1
        self.positions, self.size = pos, free
        self.shared = any(u > 1 for u in uses) or any(v.positions is not None for v in self.view_list)

    # ------------------------------------------------------------------ helpers
    def const(self, value: Any, hint: str) -> str:
        name = f"{hint}{len(self.names)}"
        self.names[name] = value
        return name

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)

    def value_of(self, g: int) -> str:
        plan = self.plan
        return {plan.g_x: "X", plan.g_y: "Y", plan.g_vconst: "L"}.get(g, f"v{g}")

    def part_expr(self, g: int, s: int, p: int, part: tuple) -> str:
        src, cols, _, _, _ = part
        plan = self.plan
        if src == plan.g_param:
            view = self.views[(g, s, p)]
            if view.positions is not None:
                idx = self.const(view.positions, "i")
                expr = f"P[{idx}]"
                return f"{expr}.reshape({view.shape})" if len(view.shape) == 2 else expr
            return view.name
        if src == plan.g_const:
            values = [
                float(self.static_consts[c])
                for c in (cols if cols is not None else range(self.groups[src].size))
            ]
            return self.const(values, "c")
        base = self.value_of(src)
        if cols is None:
            return base
        run = _columns(cols)
        if run is not None:
            return f"{base}[..., {run}]"
        return f"{base}[..., {self.const(cols, 'i')}]"

    def slot_expr(self, g: int, s: int, slot: Slot, scalar_ok: bool) -> str:
        parts = slot.parts
        if scalar_ok and len(parts) == 1 and parts[0][0] == self.plan.g_const:
            src, cols, _, _, _ = parts[0]
            values = {
                float(self.static_consts[c])
                for c in (cols if cols is not None else range(self.groups[src].size))
            }
            if len(values) == 1:  # the same number for every node: a literal (x + 1.0)
                return repr(values.pop())
        exprs = [self.part_expr(g, s, p, part) for p, part in enumerate(parts)]
        if len(exprs) == 1:
            return exprs[0]
        if slot.batched:
            exprs = [
                e if self.groups[part[0]].batched else self.d.broadcast(e, f"(B, {part[3] - part[2]})")
                for e, part in zip(exprs, parts)
            ]
        return self.d.cat(exprs)

    # ------------------------------------------------------------------ forward
    def can_overwrite(self, g: int, slot: Slot) -> bool:
        """Whether the group may write its result over this input (read by nothing else)."""
        if len(slot.parts) != 1:
            return False
        src, cols, _, _, _ = slot.parts[0]
        source = self.groups[src]
        return (
            cols is None
            and src >= self.plan.g_vconst + 1
            and source.batched
            and self.groups[g].batched
            and source.size == self.groups[g].size
            and self.consumers.get(src, 0) == 1
            and source.op not in _NEEDS_OUT
            and src not in self.protected
            and source.op != "CrossEntropy"
        )

    def forward(self, g: int) -> None:
        group = self.groups[g]
        d, op = self.d, group.op
        what = f"{group.size} × {op}" + (" as one matrix product" if group.shape == "matmul" else "")
        self.emit(f"# level {group.level}: {what}{'' if group.batched else ' (the same for every sample)'}")
        literal = self.literal_slots(group)
        args = []
        for s, slot in enumerate(group.slots):
            expr = self.slot_expr(g, s, slot, scalar_ok=s in literal)
            if not expr.isidentifier() and not _is_number(expr):
                self.emit(f"a{g}_{s} = {expr}")
                expr = f"a{g}_{s}"
            args.append(expr)
        v = f"v{g}"
        if group.shape == "matmul":
            a, w = args
            if not group.slots[1].batched:
                weights = w if self._is_matrix_view(g) else f"{w}.reshape({group.size}, {group.k})"
                if weights != w:
                    self.emit(f"W{g} = {weights}")
                    weights = f"W{g}"
                self.emit(f"{v} = {a} @ {weights}.T")
            else:
                self.emit(f"W{g} = {w}.reshape({w}.shape[:-1] + ({group.size}, {group.k}))")
                self.emit(f"{v} = {d.m}.einsum('...k,...mk->...m', {a}, W{g})")
        elif op == "sum":
            a = args[0]
            self.emit(f"{v} = {a}.reshape({a}.shape[:-1] + ({group.size}, {group.k})).sum(-1)")
        elif op == "CrossEntropy":
            a = args[0]
            self.emit(f"z{g} = {a}.reshape({a}.shape[:-1] + ({group.size}, {group.k}))")
            self.emit(f"m{g} = {d.m}.amax(z{g}, -1, {d.keep()})")
            self.emit(f"e{g} = {d.m}.exp(z{g} - m{g})")
            self.emit(f"s{g} = e{g}.sum(-1, {d.keep()})")
            self.emit(f"t{g} = T[{g}]  # one-hot targets")
            self.emit(f"{v} = ({d.m}.log(s{g}) + m{g} - (z{g} * t{g}).sum(-1, {d.keep()}))[..., 0]")
        elif op == "BCEWithLogits":
            z = args[0]
            self.emit(f"t{g} = T[{g}]")
            self.emit(f"{v} = {d.relu(z, False)} - t{g} * {z} + {d.m}.log1p({d.m}.exp(-{d.m}.abs({z})))")
        else:
            value = self.elementwise(g, group, args)
            if value is not None:
                self.emit(f"{v} = {value}")

    def _is_matrix_view(self, g: int) -> bool:
        view = self.views.get((g, 1, 0))
        return view is not None and view.positions is None and len(view.shape) == 2

    def elementwise(self, g: int, group: Group, args: list[str]) -> str | None:
        """The expression of v{g}; None when the lines written already set it (in place)."""
        d, op = self.d, group.op
        if len(args) == 2 and op in ("+", "-", "*", "/"):
            a, b = args
            for s in (0, 1) if op == "+" else (0,) if op == "-" else ():
                if self.can_overwrite(g, group.slots[s]):  # the bias added in place
                    self.in_place[g] = s
                    first, other = (a, b) if s == 0 else (b, a)
                    self.emit(f"v{g} = {first}")
                    self.emit(f"v{g} {op}= {other}")
                    return None
            return f"{a} {op} {b}"
        if op == "**" and len(args) == 2:
            return f"{args[0]} ** {args[1]}"
        a = args[0] if args else ""
        row = group.row
        if op == "ReLU":
            if self.can_overwrite(g, group.slots[0]):
                self.in_place[g] = 0
                return d.relu(a, True)
            return d.relu(a, False)
        if op in ("exp", "tanh", "neg", "log", "abs", "sigmoid"):
            if op in _IN_PLACE_UNARY and self.can_overwrite(g, group.slots[0]):
                self.in_place[g] = 0
                return d.unary(op, a, True)
            return d.unary(op, a)
        if op.startswith("**") and row.param is not None:
            return f"{a} ** {float(row.param)!r}"
        if op.startswith("LeakyReLU") and row.param is not None:
            return f"{d.m}.where({a} > 0, {a}, {float(row.param)!r} * {a})"
        fn = self.const(forward_of(row, self.d.torch), "f_")
        return f"{fn}({', '.join(args)})"

    # ------------------------------------------------------------------ backward
    def backward(self, g: int, defined: dict[str, bool]) -> None:
        """Emit the gradient of each slot of group g (whose gradient is g{g}) into its sources."""
        group = self.groups[g]
        d, op, gg = self.d, group.op, f"g{g}"
        wanted = [any(self.groups[p[0]].needs_grad for p in slot.parts) for slot in group.slots]
        if not any(wanted):
            return
        self.emit(f"# level {group.level}: {group.size} × {op}")
        args = [self._arg(g, s) for s in range(len(group.slots))]
        out = f"v{g}"
        contributions: list[tuple[str, str] | None] = [None] * len(group.slots)
        if group.shape == "matmul":
            a, w = args
            if not group.slots[1].batched:
                weights = w if self._is_matrix_view(g) else f"W{g}"
                if wanted[0]:
                    contributions[0] = ("", f"{gg} @ {weights}")
                if wanted[1]:
                    if group.slots[0].batched:
                        contributions[1] = ("matmul_t", f"{gg}|{a}")  # summed over the batch already
                    else:
                        contributions[1] = ("reduced", f"{d.m}.outer({gg}, {a})")
            else:
                if wanted[0]:
                    contributions[0] = ("", f"{d.m}.einsum('...m,...mk->...k', {gg}, W{g})")
                if wanted[1]:
                    contributions[1] = (
                        "",
                        f"({gg}[..., :, None] * {a}[..., None, :]).reshape({gg}.shape[:-1] + (-1,))",
                    )
        elif op == "sum":
            contributions[0] = ("", d.repeat(gg, group.k))
        elif op == "CrossEntropy":
            contributions[0] = ("", f"((e{g} / s{g} - t{g}) * {gg}[..., None]).reshape({args[0]}.shape)")
        elif op == "BCEWithLogits":
            contributions[0] = ("", f"{gg} * ({d.unary('sigmoid', args[0])} - t{g})")
        else:
            for s, expr in enumerate(self.local_rules(g, group, args, out)):
                if wanted[s] and expr is not None:
                    contributions[s] = ("", expr)
        for s, slot in enumerate(group.slots):
            if wanted[s] and contributions[s] is not None:
                self.distribute(g, s, slot, contributions[s], defined)  # type: ignore[arg-type]

    def literal_slots(self, group: Group) -> set[int]:
        """The slots that may be written as a number literal (x + 1.0): those of a two-input
        elementwise group whose other input is an array."""
        if (
            group.k
            or group.shape == "matmul"
            or len(group.slots) != 2
            or group.op not in ("+", "-", "*", "/")
        ):
            return set()
        uniform = [self.uniform_const(slot) for slot in group.slots]
        return {s for s in (0, 1) if uniform[s] and not uniform[1 - s]}

    def uniform_const(self, slot: Slot) -> bool:
        if len(slot.parts) != 1 or slot.parts[0][0] != self.plan.g_const:
            return False
        src, cols, _, _, _ = slot.parts[0]
        return (
            len(
                {
                    float(self.static_consts[c])
                    for c in (cols if cols is not None else range(self.groups[src].size))
                }
            )
            == 1
        )

    def _arg(self, g: int, s: int) -> str:
        # the forward pass assigned every non-trivial input to a{g}_{s}
        slot = self.groups[g].slots[s]
        expr = self.slot_expr(g, s, slot, scalar_ok=s in self.literal_slots(self.groups[g]))
        return expr if expr.isidentifier() or _is_number(expr) else f"a{g}_{s}"

    def local_rules(self, g: int, group: Group, args: list[str], out: str) -> list[str | None]:
        """Each input's gradient, g × ∂out/∂input, by the same rules as the table's."""
        d, op, gg, row = self.d, group.op, f"g{g}", group.row
        a = args[0]
        b = args[1] if len(args) > 1 else ""
        if op == "+":
            return [gg, gg]
        if op == "-":
            return [gg, f"-{gg}"]
        if op == "*":
            return [f"{gg} * {b}", f"{gg} * {a}"]
        if op == "/":
            return [f"{gg} / {b}", f"-{gg} * {out} / {b}"]
        if op == "neg":
            return [f"-{gg}"]
        if op == "exp":
            return [f"{gg} * {out}"]
        if op == "log":
            return [f"{gg} / {a}"]
        if op == "tanh":
            return [f"{gg} * (1.0 - {out} * {out})"]
        if op == "sigmoid":
            return [f"{gg} * ({out} * (1.0 - {out}))"]
        if op == "ReLU":
            return [f"{gg} * ({out} > 0)"]
        if op == "abs":
            return [f"{gg} * {d.m}.sign({a})"]
        if op == "**":
            return [f"{gg} * ({b} * {a} ** ({b} - 1.0))", f"{gg} * ({out} * {d.m}.log({a}))"]
        if op.startswith("**") and row.param is not None:
            p = float(row.param)
            if p == 0.0:
                return [None]
            if p == 2.0:
                return [f"{gg} * (2.0 * {a})"]
            return [f"{gg} * ({p!r} * {a} ** {p - 1.0!r})"]
        if op.startswith("LeakyReLU") and row.param is not None:
            return [f"{d.m}.where({a} > 0, {gg}, {float(row.param)!r} * {gg})"]
        rule = self.const(grads_of(row, self.d.torch), "d_")
        if row.arity == 1:
            return [f"{gg} * {rule}({out}, {a})"]
        self.emit(f"l{g} = {rule}({out}, {', '.join(args)})")
        return [f"{gg} * l{g}[0]", f"{gg} * l{g}[1]"]

    def distribute(
        self, g: int, s: int, slot: Slot, contribution: tuple[str, str], defined: dict[str, bool]
    ) -> None:
        kind, expr = contribution
        consumer_batched = self.groups[g].batched
        single = len(slot.parts) == 1
        original = expr
        if kind == "matmul_t":
            gg, a = expr.split("|")
            expr = f"{gg}.T @ {a}"
        if not single:
            if kind == "matmul_t" or kind == "reduced":
                expr = f"({expr}).reshape(-1)"
            self.emit(f"c{g}_{s} = {expr}")
        for p, part in enumerate(slot.parts):
            src, cols, start, stop, unique = part
            source = self.groups[src]
            if not source.needs_grad:
                continue
            piece = expr if single else f"c{g}_{s}[..., {start}:{stop}]"
            reduced = kind in ("matmul_t", "reduced")
            matrix_view = src == self.plan.g_param and len(self.views[(g, s, p)].shape) == 2
            if single and reduced and not matrix_view:  # a (nodes, k) product, read as one row
                piece = f"({expr}).reshape(-1)"
            if not source.batched and consumer_batched and not reduced:
                piece = f"({piece}).sum(0)"
                reduced = True
            if src == self.plan.g_param:
                same = single and matrix_view
                self.param_gradient(
                    self.views[(g, s, p)], piece, kind if same else "", original if same else ""
                )
                continue
            name = f"g{src}"
            if cols is None:
                if name not in defined:
                    self.emit(f"{name} = {piece}")
                    defined[name] = False  # not ours: may be another array, never changed in place
                else:
                    self.emit(f"{name} = {name} + {piece}")
                    defined[name] = True
                continue
            if name not in defined:
                self.emit(f"{name} = {self.d.m}.zeros_like({self.value_of(src)})")
            elif not defined[name]:
                self.emit(f"{name} = {name}.clone()" if self.d.torch else f"{name} = {name}.copy()")
            defined[name] = True
            run = _columns(cols) if unique else None
            if run is not None:
                self.emit(f"{name}[..., {run}] += {piece}")
            elif unique:
                self.emit(f"{name}[..., {self.const(cols, 'i')}] += {piece}")
            else:
                self.emit(self.d.add_at(name, self.const(cols, "i"), piece, -1))

    def param_gradient(self, view: View, piece: str, kind: str, expr: str) -> None:
        gname = "g" + view.name
        if view.positions is not None:
            idx = self.const(view.positions, "i")
            self.emit(self.d.add_at("G", idx, f"({piece}).reshape(-1)", 0))
        elif self.shared:
            self.emit(f"{gname}[...] += {piece}")
        elif kind == "matmul_t":
            gg, a = expr.split("|")
            self.emit(f"{self.d.m}.matmul({gg}.T, {a}, out={gname})")
        elif piece.endswith(").sum(0)"):
            self.emit(f"{self.d.m}.sum({piece[1 : -len(').sum(0)')]}, 0, out={gname})")
        else:
            self.emit(f"{gname}[...] = {piece}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def forward_of(row: Any, torch: bool) -> Callable:
    """A row's forward on arrays: its numpy form, or its float forward applied element by element."""
    if row.numpy is not None:
        return row.numpy
    if torch:
        raise CompileError(
            f"compile_step(backend='torch'): the operation {str(row)!r} has no array form; define it "
            "with define_op(..., numpy=...) written with functions that work on tensors"
        )
    import numpy as np

    return np.vectorize(row.forward, otypes=[float])


def grads_of(row: Any, torch: bool) -> Callable:
    """A row's local-gradient rule on arrays: numpy_grads, the rule itself if it works on arrays
    (the table's rules do), or the float rule applied element by element."""
    if row.numpy_grads is not None:
        return row.numpy_grads
    import numpy as np

    probe = np.array([0.25, 0.5])
    try:
        args = [probe] * ((row.arity or 1) + 1)
        local = row.grads(*args)
        parts = local if isinstance(local, tuple) else (local,)
        if all(np.shape(x) in ((), (2,)) for x in parts):
            return row.grads
    except Exception:  # noqa: BLE001 - a rule written for floats only: vectorize it below
        pass
    if torch:
        raise CompileError(
            f"compile_step(backend='torch'): the gradient rule of {str(row)!r} does not work on arrays; "
            "give define_op(..., numpy_grads=...)"
        )
    if row.arity == 2:
        return np.vectorize(row.grads, otypes=[float, float])
    return np.vectorize(row.grads, otypes=[float])


def generate(plan: Plan, static_consts: Any, backend: str, loss_e: int, outputs: list[int] | None,
             reduction: str) -> Program:  # fmt: skip
    """The plan as the source of two functions, ``step`` (forward and backward: the loss, the
    outputs, and the parameters' gradient in G) and ``forward`` (the loss and the outputs)."""
    trace = plan.trace
    protected = {plan.loc[e][0] for e in ([loss_e] if loss_e >= 0 else []) + (outputs or [])}
    sources = {}
    program = None
    first: _Writer | None = None
    for backward in (True, False):
        w = _Writer(plan, static_consts, backend, protected)
        if first is None:
            w.layout()
            first = w
        else:  # the same layout for both functions
            w.views, w.view_list, w.positions, w.size, w.shared = (
                first.views,
                first.view_list,
                first.positions,
                first.size,
                first.shared,
            )
        name = "step" if backward else "forward"
        head = f"def {name}(X, Y, L, T):"
        w.emit("B = X.shape[0]")
        for g in plan.order:
            w.forward(g)
        w.emit("# the batch's loss and outputs")
        if loss_e >= 0:
            rg, rc = plan.loc[loss_e]
            root = w.groups[rg]
            col = f"v{rg}" if root.size == 1 else f"v{rg}[..., {rc}]"
            scale = "1.0 / B" if reduction == "mean" else "1.0"
            w.emit(f"scale = {scale}")
            w.emit(
                f"loss = float({col}.sum()) * scale"
                if root.batched
                else f"loss = float({col}.sum()) * B * scale"
            )
        else:
            w.emit("loss = None")
        if outputs:
            locs = [plan.loc[e] for e in outputs]
            og = {g for g, _ in locs}
            cols = [c for _, c in locs]
            if len(og) == 1 and w.groups[locs[0][0]].batched:
                src = f"v{locs[0][0]}"
                run = _columns(cols) if cols != list(range(w.groups[locs[0][0]].size)) else None
                expr = (
                    src
                    if cols == list(range(w.groups[locs[0][0]].size))
                    else (f"{src}[..., {run}]" if run else f"{src}[..., {w.const(cols, 'i')}]")
                )
                w.emit(f"outputs = {expr}")
            else:
                columns = [
                    f"v{g}[..., {c}:{c + 1}]"
                    if w.groups[g].batched
                    else w.d.broadcast(f"v{g}[{c}:{c + 1}]", "(B, 1)")
                    for g, c in locs
                ]
                w.emit(f"outputs = {w.d.cat(columns)}")
        else:
            w.emit("outputs = None")
        if backward and loss_e >= 0:
            w.emit("# backward: the chain rule on arrays, from the loss back to the parameters")
            if w.shared:
                w.emit("G[...] = 0.0")
            rg, rc = plan.loc[loss_e]
            root = w.groups[rg]
            if root.batched:
                if root.size == 1:
                    w.emit(f"g{rg} = {w.d.full('(B, 1)', 'scale')}")
                else:
                    w.emit(f"g{rg} = {w.d.full(f'(B, {root.size})', '0.0')}")
                    w.emit(f"g{rg}[..., {rc}] = scale")
            else:
                w.emit(f"g{rg} = {w.d.full(f'({root.size},)', '0.0')}")
                w.emit(f"g{rg}[{rc}] = scale * B")
            defined: dict[str, bool] = {f"g{rg}": True}
            for g in reversed(plan.order):
                if f"g{g}" in defined:
                    w.backward(g, defined)
        w.emit("return loss, outputs")
        sources[name] = "\n".join([head, *w.lines])
        if backward:
            program = w
    assert program is not None
    del trace
    source = sources["step"] + "\n\n\n" + sources["forward"] + "\n"
    return Program(source, program.names, program.view_list, program.positions, program.size, program.shared)
