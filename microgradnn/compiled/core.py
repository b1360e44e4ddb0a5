"""The `Compiled` object: a traced, planned and generated per-sample function, run on batches."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from microgradnn.checks import as_matrix, as_targets, describe, is_array
from microgradnn.compiled.codegen import Program, generate
from microgradnn.compiled.plan import Group, Plan
from microgradnn.compiled.tracing import NODE, CompileError, Trace, X, compare, leaf_params, trace
from microgradnn.engine import Value
from microgradnn.ops import sigmoid

__all__ = ["Compiled", "LossHead", "compile_step"]

_BLUE, _GREEN = "#cfe8ff", "#d9f2d9"  # the inputs and the operation nodes in `Compiled.draw`
_DTYPES = {"float64": np.float64, "float32": np.float32}
_ADVICE = "; train or predict with compiled=False (the scalar path follows every branch)"


@dataclass
class LossHead:
    """A built-in loss of microgradnn.losses as the end of the traced graph, with the labels as
    data (a column of y per sample), so that one trace serves every label: ±1 and 0/1 labels,
    class indices (one-hot columns) and continuous targets alike."""

    name: str  # 'mse', 'half_mse', 'hinge', 'bce', 'cross_entropy'
    n_out: int
    from_y: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return 1 if self.name in ("hinge", "bce") else self.n_out

    def build(self, out: Any, ys: list[Value]) -> Value:
        from microgradnn.engine import value_sum
        from microgradnn.losses import binary_cross_entropy_with_logits, cross_entropy

        outs = out if isinstance(out, list) else [out]
        if self.name in ("mse", "half_mse"):
            terms = [(o - t) ** 2 for o, t in zip(outs, ys)]  # the float operations of losses.mse
            scale = (0.5 if self.name == "half_mse" else 1.0) / len(terms)
            total = value_sum(terms) if len(terms) > 1 else terms[0]
            return total if scale == 1.0 else total * scale
        if self.name == "hinge":  # y holds −label, so this is losses.hinge's s·(−y) + 1
            return (outs[0] * ys[0] + 1.0).relu()
        if self.name == "bce":
            node = binary_cross_entropy_with_logits([outs[0]], [0.0])
        else:
            node = cross_entropy([outs], [0])
        self.from_y[id(node)] = (0, self.width)  # its target: columns of y, not the 0 in its row
        return node

    def prepare(self, y: Any, dtype: Any) -> Any:
        """The labels as the columns of y the traced graph reads."""
        y = np.asarray(y)
        if self.name in ("mse", "half_mse"):
            return y.astype(dtype).reshape(len(y), self.n_out)
        if self.name == "hinge":
            return np.where(y == 1, -1.0, 1.0).astype(dtype)[:, None]
        if self.name == "bce":
            return np.where(y == -1, 0.0, y).astype(dtype)[:, None]
        return (y[:, None] == np.arange(self.n_out)).astype(dtype)

    def valid(self, y: Any) -> bool:
        """Whether every label is in the loss's domain (else the slow check names the sample)."""
        if self.name in ("mse", "half_mse"):
            return y.ndim == 1 and self.n_out == 1 or y.ndim == 2 and y.shape[1] == self.n_out
        if y.ndim != 1:
            return False
        if self.name == "hinge":
            return bool(((y == 1) | (y == -1) | (y == 0)).all())
        if self.name == "bce":
            return bool(((y == -1) | ((y >= 0) & (y <= 1))).all())
        return bool(((y == np.floor(y)) & (y >= 0) & (y < self.n_out)).all())


class Compiled:
    """A per-sample function of Values, traced once, planned as array operations and written
    as one generated function (``.source``).

    Call it (or ``.step``) on a batch ``X`` (and targets ``y``): it returns the batch's loss
    (the mean, or the sum with ``reduction='sum'``, of fn over the samples) and sets every
    parameter's ``.grad`` to what ``backward()`` on the scalar graph of the batch gives.
    ``.outputs`` then holds the outputs fn returned beside the loss, one row per sample.
    ``.forward(X, y)`` computes the same without gradients.
    """

    def __init__(
        self,
        fn: Callable,
        params: Sequence[Value] | Any,
        example: Sequence[float],
        target: Any = None,
        *,
        targets: str = "labels",
        reduction: str = "mean",
        dtype: str = "float64",
        check: Any = None,
        backend: str = "numpy",
        device: Any = None,
        head: LossHead | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"compile_step(fn): expected a function of Values, got {describe(fn)}")
        params = list(cast(Any, params).parameters() if hasattr(params, "parameters") else params)
        for i, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"compile_step(params): item {i} must be a Value, got {describe(p)}")
        for name, value, choices in (
            ("targets", targets, ("labels", "values")),
            ("reduction", reduction, ("mean", "sum")),
            ("dtype", dtype, tuple(_DTYPES)),
            ("backend", backend, ("numpy", "torch")),
        ):
            if value not in choices:
                raise ValueError(
                    f"compile_step({name}): expected one of {', '.join(map(repr, choices))}, got {value!r}"
                )
        self.fn, self.params, self.targets, self.reduction = fn, params, targets, reduction
        self.dtype = _DTYPES[dtype]
        self.backend, self.head = backend, head
        self._torch = _torch_module() if backend == "torch" else None
        self.device = device
        self._param_index = leaf_params(params)
        example = _sample(example, "compile_step(example)")
        self.n_inputs, self._example = len(example), example
        self.has_target = target is not None or head is not None
        self.outputs: Any = None
        mode = "values" if head is not None else targets
        if head is not None:
            target = [0.0] * head.width
        self._target = target
        self.trace = trace(fn, self._param_index, example, target, mode, self._from_y)
        # targets="labels": a label read as a number is traced once per distinct label; the
        # traces share one plan and their numbers become per-sample lookup tables.
        self._labels: dict[Any, int] = {}
        self._traces: list[Trace] = []
        if target is not None and mode == "labels":
            self._add_label(target, self.trace)
        self.n_y = (
            (len(target) if isinstance(target, (list, tuple)) else 1)
            if mode == "values" and target is not None
            else 0
        )
        if target is not None and mode == "values" and head is None:
            # A target read as a number (y.data, as the built-in losses do) would be frozen at the
            # example's: trace again with other target numbers and compare.
            moved = [v + 1.0 for v in target] if isinstance(target, (list, tuple)) else target + 1.0
            try:
                compare(self.trace, trace(fn, self._param_index, example, moved, mode), "", True)
            except CompileError:
                raise CompileError(
                    "compile_step(targets='values'): fn reads the target as a number (y.data; the losses of "
                    "microgradnn.losses do), so it would stay the example's for every sample; use "
                    "targets='labels', or compute the loss from the target Value itself, e.g. (out - y) ** 2"
                ) from None
        if check is not None:
            self._check(check, example, target, mode)
        self._replan()

    def _from_y(self) -> dict[int, tuple[int, int]]:
        return self.head.from_y if self.head is not None else {}

    # -------------------------------------------------------------- tracing and planning
    def _check(self, check: Any, example: list[float], target: Any, mode: str) -> None:
        x2, y2 = check if (isinstance(check, tuple) and len(check) == 2) else (check, target)
        x2 = _sample(x2, "compile_step(check)")
        if len(x2) != len(example):
            raise CompileError(
                f"compile_step(check): the sample has {len(x2)} inputs, the example {len(example)}"
            )
        # With the example's own target, every difference comes from the inputs' numbers.
        if self.head is not None:
            self.head.from_y.clear()
        other = trace(self.fn, self._param_index, x2, target, mode, self._from_y)
        compare(self.trace, other, "the check sample", True, _ADVICE)
        if target is not None and y2 != target and mode == "labels":
            self._add_label(y2, None)

    def _add_label(self, label: Any, traced: Trace | None) -> None:
        if isinstance(label, float) and math.isnan(label):
            raise CompileError("compile_step: a target is NaN")
        if traced is None:
            traced = trace(self.fn, self._param_index, self._example, label, "labels")
            compare(self.trace, traced, f"the target {label!r}", numbers_too=False)
        self._labels[_key(label)] = len(self._traces)
        self._traces.append(traced)

    def _replan(self) -> None:
        traces = self._traces or [self.trace]
        table = np.array([t.consts for t in traces], dtype=np.float64).reshape(len(traces), -1)
        varying = [c for c in range(table.shape[1]) if (table[:, c] != table[0, c]).any()]
        target_nodes = sorted(self.trace.target)
        targets = np.array([[t.target[e] for e in target_nodes] for t in traces]).reshape(len(traces), -1)
        varying_targets = {e for j, e in enumerate(target_nodes) if (targets[:, j] != targets[0, j]).any()}
        self.plan = Plan(self.trace, self.n_inputs, len(self.params), varying, self.n_y, varying_targets)
        self._const_table = table[:, varying].astype(self.dtype)
        static = table[0, self.plan.static_consts]
        self._targets = targets.astype(self.dtype)
        self._target_col = {e: j for j, e in enumerate(target_nodes)}
        numeric = sorted((k, i) for k, i in self._labels.items() if type(k) in (int, float))
        self._known_labels = (
            np.array([k for k, _ in numeric]),
            np.array([i for _, i in numeric], dtype=np.intp),
        )
        self.program: Program = generate(
            self.plan, static, self.backend, self.trace.loss, self.trace.outputs, self.reduction
        )
        self._bind()

    def _bind(self) -> None:
        """Make the buffers P and G, their views, and the generated functions."""
        program = self.program
        if self._torch is not None:
            torch = self._torch
            tdtype = torch.float64 if self.dtype == np.float64 else torch.float32
            self.P = torch.zeros(program.size, dtype=tdtype, device=self.device)
            self.G = torch.zeros(program.size, dtype=tdtype, device=self.device)
            names: dict[str, Any] = {"torch": torch, "DTYPE": tdtype, "DEVICE": self.device}
            for name, value in program.names.items():
                if callable(value):
                    names[name] = value
                elif name.startswith("i"):
                    names[name] = torch.tensor(value, dtype=torch.long, device=self.device)
                else:
                    names[name] = torch.tensor(value, dtype=tdtype, device=self.device)

            def view(buffer: Any, v: Any) -> Any:
                return torch.as_strided(buffer, v.shape, v.strides, v.offset)

            self.positions = torch.tensor(program.positions, dtype=torch.long, device=self.device)
        else:
            self.P = np.zeros(program.size, dtype=self.dtype)
            self.G = np.zeros(program.size, dtype=self.dtype)
            names = {"np": np, "sigmoid": sigmoid}
            for name, value in program.names.items():
                if callable(value):
                    names[name] = value
                else:
                    names[name] = np.array(value, dtype=np.intp if name.startswith("i") else self.dtype)
            item = self.P.itemsize

            def view(buffer: Any, v: Any) -> Any:
                strides = tuple(s * item for s in v.strides)
                return np.lib.stride_tricks.as_strided(buffer[v.offset :], v.shape, strides)

            self.positions = np.array(program.positions, dtype=np.intp)
        names["P"], names["G"] = self.P, self.G
        for v in program.views:
            if v.positions is None:
                names[v.name] = view(self.P, v)
                names["g" + v.name] = view(self.G, v)
        code = compile(program.source, f"<microgradnn.compiled {id(self):x}>", "exec")
        exec(code, names)  # the generated source: made above from the plan, nothing from outside
        self._step_fn, self._forward_fn = names["step"], names["forward"]
        self._static_targets = {
            g: self._group_targets(g, None, None)
            for g in self._loss_groups()
            if not self.plan.groups[g].batched
        }

    @property
    def source(self) -> str:
        """The generated code: ``step`` (forward and backward) and ``forward``, as Python source."""
        return self.program.source

    @property
    def groups(self) -> list[Group]:
        """The plan: the leaf groups, then one array operation per group, in running order."""
        return [g for g in self.plan.groups[: self.plan.g_vconst + 1] if g.size] + [
            self.plan.groups[g] for g in self.plan.order
        ]

    def _loss_groups(self) -> list[int]:
        return [g for g in self.plan.order if self.plan.groups[g].op in ("CrossEntropy", "BCEWithLogits")]

    # -------------------------------------------------------------- the parameters
    def load(self) -> None:
        """Copy every parameter's ``.data`` into the buffer P."""
        data = [p.data for p in self.params]
        if self._torch is not None:
            self.P[self.positions] = self._torch.tensor(data, dtype=self.P.dtype, device=self.device)
        else:
            self.P[self.positions] = data

    def to_numpy(self, a: Any) -> Any:
        return a.detach().cpu().numpy() if self._torch is not None and a is not None else a

    def store(self, grads: Any = None, data: bool = True) -> None:
        """Write the buffer back into the Values: ``.data`` from P, ``.grad`` from ``grads``
        (an array in the buffer's layout; G by default)."""
        at = self.to_numpy(self.positions)
        if data:
            for p, v in zip(self.params, self.to_numpy(self.P)[at].tolist()):
                p.data = v
        g = self.to_numpy(self.G if grads is None else grads)[at].tolist()
        for p, v in zip(self.params, g):
            p.grad = v

    # -------------------------------------------------------------- batches
    def batch(self, X: Any, y: Any = None, where: str = "step") -> tuple[Any, Any, Any, dict]:
        """X, Y, L and T (the generated functions' arguments) for a batch, checked as fit checks."""
        A = as_batch(X, self.n_inputs, f"{where}(X)", self.dtype)
        Y = L = None
        T: dict[int, Any] = {}
        index = None
        if not self.has_target:
            if y is not None:
                raise CompileError(
                    f"{where}(y): the function was compiled without a target, so the batch takes none"
                )
        elif self.head is not None:
            Y = self.head.prepare(as_labels(y, len(A), f"{where}(y)", self.head), self.dtype)
        elif self.targets == "values":
            Y = np.asarray(as_targets(f"{where}(y)", y, n=len(A)), dtype=self.dtype).reshape(len(A), -1)
            if Y.shape[1] != self.n_y:
                raise CompileError(f"{where}(y): each target must have {self.n_y} numbers, got {Y.shape[1]}")
        else:
            index = self._label_index(y, len(A), where)
            L = self._const_table[index]
        for g in self._loss_groups():
            T[g] = (
                self._static_targets[g]
                if not self.plan.groups[g].batched
                else self._group_targets(g, Y, index)
            )
        return (
            self.to_backend(A),
            self.to_backend(Y),
            self.to_backend(L),
            {g: self.to_backend(t) for g, t in T.items()},
        )

    def to_backend(self, a: Any) -> Any:
        if a is None or self._torch is None:
            return a
        return self._torch.as_tensor(a, device=self.device)

    def _group_targets(self, g: int, Y: Any, index: Any) -> Any:
        group = self.plan.groups[g]
        trace = self.trace
        if group.target_from_y:
            cols = [j for e in group.members for j in range(trace.target_y[e][0], sum(trace.target_y[e]))]
            t = Y if cols == list(range(Y.shape[1])) else Y[:, cols]
            width = len(cols) // group.size
            return t.reshape(len(Y), group.size, width) if group.op == "CrossEntropy" else t
        cols = [self._target_col[e] for e in group.members]
        t = self._targets[index][:, cols] if group.batched and index is not None else self._targets[0, cols]
        if group.op == "CrossEntropy":
            return (t[..., None] == np.arange(group.k)).astype(self.dtype)
        return t

    def _label_index(self, y: Any, n: int, where: str) -> Any:
        if is_array(y) and y.ndim == 1 and y.dtype.kind in "iuf" and len(y) == n and np.isfinite(y).all():
            return self._label_rows(np.asarray(y))
        labels = as_targets(f"{where}(y)", y, n=n)
        keys = [_key(v) for v in labels]
        new = [v for k, v in dict(zip(keys, labels)).items() if k not in self._labels]
        if new:
            for v in new:
                self._add_label(v, None)
            self._replan()
        return np.fromiter(map(self._labels.__getitem__, keys), dtype=np.intp, count=len(labels))

    def _label_rows(self, labels: Any) -> Any:
        """Each sample's row of the label tables, for labels that are numbers (found with numpy:
        the samples are many, the distinct labels few)."""
        known, rows = self._known_labels
        pos = np.searchsorted(known, labels).clip(0, max(len(known) - 1, 0))
        if len(known) and (known[pos] == labels).all():
            return rows[pos]
        for v in np.unique(labels).tolist():
            if _key(v) not in self._labels:
                self._add_label(v, None)
        self._replan()
        return self._label_rows(labels)

    def run(self, args: tuple, backward: bool, quiet: bool = False) -> tuple[float | None, Any]:
        """The generated function on prepared arguments (see `batch`): the loss and the outputs;
        with ``backward`` the gradient is left in the buffer G. numpy's warnings about inf and
        NaN are silenced (the scalar path gives them as IEEE numbers too); ``quiet=True``: the
        caller already did (numpy.errstate costs as much as a small array operation)."""
        fn = self._step_fn if backward else self._forward_fn
        if quiet:
            loss, outputs = fn(*args)
        else:
            with np.errstate(all="ignore"):
                loss, outputs = fn(*args)
        if outputs is not None and self.trace.single_output:
            outputs = outputs[:, 0]
        return loss, outputs

    # -------------------------------------------------------------- the public calls
    def step(self, X: Any, y: Any = None) -> float:
        """The batch's loss; sets every parameter's ``.grad`` (and ``.outputs``)."""
        self._need_loss()
        args = self.batch(X, y)
        self.load()
        loss, outputs = self.run(args, backward=True)
        self.outputs = self.to_numpy(outputs)
        self.store(data=False)
        return cast(float, loss)

    __call__ = step

    def step_arrays(self, X: Any, y: Any = None, *, weights: Any) -> tuple[float, Any]:
        """The step on arrays alone: ``weights`` holds the parameters' numbers (in the order of
        ``params``) and the gradient comes back as an array in that order; no Value is read or
        written."""
        w = np.asarray(weights, dtype=self.dtype)
        if w.shape != (len(self.params),):
            raise CompileError(
                f"weights: expected shape ({len(self.params)},), one per parameter, got {w.shape}"
            )
        self._need_loss()
        args = self.batch(X, y)
        at = self.to_numpy(self.positions)
        if self._torch is not None:
            self.P[self.positions] = self._torch.as_tensor(w, device=self.device)
        else:
            self.P[at] = w
        loss, outputs = self.run(args, backward=True)
        self.outputs = self.to_numpy(outputs)
        return cast(float, loss), self.to_numpy(self.G)[at]

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
        args = self.batch(X, y, "forward")
        self.load()
        loss, outputs = self.run(args, backward=False)
        self.outputs = self.to_numpy(outputs)
        return loss, self.outputs

    # -------------------------------------------------------------- pictures and text
    def describe(self) -> str:
        """The plan as text: one line per array operation."""
        lines = [f"{len(self.trace.kind)} elements of the trace in {len(self.plan.order)} array operations:"]
        for g in self.groups:
            what = f"{g.size} × {g.op}" + (f" ({g.k} inputs each)" if g.k else "")
            shape = " as one matrix product" if g.shape == "matmul" else ""
            lines.append(f"  level {g.level}: {what}{shape}{'' if g.batched else ', same for every sample'}")
        return "\n".join(lines)

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
            members = [e for e, (h, _) in enumerate(plan.loc) if h == g and trace.kind[e] in (X, NODE)]
            if not members:
                continue
            # subgraph(name=...) returns a context manager; only subgraph(graph) returns None
            with picture.subgraph(name=f"cluster_{g}") as box:  # pyright: ignore[reportOptionalContextManager]
                title = "inputs" if group.op == X else f"level {group.level}: {len(members)} × {group.op}"
                title += "\nONE matrix product" if group.shape == "matmul" else ""
                box.attr(label=title, style="rounded,filled", fillcolor="#f4f4f4", color="#888888")
                for e in members:
                    shown.add(e)
                    if trace.kind[e] == X:
                        box.node(str(e), f"x{trace.index[e]}", shape="box", style="filled", fillcolor=_BLUE)
                    else:
                        box.node(str(e), str(trace.op[e]), shape="ellipse", style="filled", fillcolor=_GREEN)
        for e, inputs in enumerate(trace.inputs):
            for i in dict.fromkeys(inputs):
                if i in shown and e in shown:
                    picture.edge(str(i), str(e), color="#999999", arrowsize="0.5")
        return picture


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
    backend: str = "numpy",
    device: Any = None,
) -> Compiled:
    """Trace ``fn(x, y)`` (or ``fn(x)`` without a target) once on ``example``, plan it as array
    operations and generate their code; returns a :class:`Compiled` to call on whole batches.

    - ``fn`` gets the sample's inputs as a list of placeholder Values and its target, and
      returns the sample's loss (a Value), or ``(loss, outputs)`` to also get the outputs.
    - ``params``: the Values whose ``.grad`` each step sets (a model, or a list); any other
      leaf fn uses is a constant.
    - ``targets='labels'``: the target is passed as the number it is (a class index, ±1, 0/1),
      and fn is traced once per distinct label; ``'values'``: as a placeholder Value (or list).
      (`compile_model` traces a model with a built-in loss once, whatever the labels.)
    - ``reduction``: 'mean' or 'sum' of the per-sample losses; ``dtype``: 'float64' or 'float32'.
    - ``check``: a second sample ``x`` or ``(x, y)``, traced too; a difference from the
      example's graph raises :class:`CompileError` naming the first node that differs.
    - ``backend``: 'numpy', or 'torch' to run the generated code on torch tensors on ``device``
      (e.g. 'cuda'); needs PyTorch.
    """
    return Compiled(
        fn, params, example, target, targets=targets, reduction=reduction, dtype=dtype, check=check,
        backend=backend, device=device,
    )  # fmt: skip


# ---------------------------------------------------------------------- checks of the data
def _sample(x: Any, what: str) -> list[float]:
    """One sample (the example, or check=) as a list of floats, or a one-line error."""
    if isinstance(x, (str, bytes, Value, dict)) or (is_array(x) and x.ndim != 1):
        shape = f" of shape {getattr(x, 'shape', None)}" if is_array(x) else ""
        raise TypeError(f"{what}: expected one sample, a sequence of numbers, got {describe(x)}{shape}")
    if not isinstance(x, Sequence) and not is_array(x):
        raise TypeError(f"{what}: expected one sample, a sequence of numbers, got {describe(x)}")
    rows = as_matrix(what, [x])
    return rows[0]


def as_batch(X: Any, n_inputs: int, name: str, dtype: Any, whose: str = "the compiled function") -> Any:
    """X as a 2-D float array of ``n_inputs`` columns, checked exactly as `fit` checks it: an
    array of numbers passes with numpy's checks alone (no Python lists); anything else, or an
    array that fails them, goes through `microgradnn.checks.as_matrix`, which names the problem."""
    if (
        isinstance(X, np.ndarray)
        and X.ndim == 2
        and X.dtype.kind in "fiu"
        and X.shape[1] == n_inputs
        and len(X)
    ):
        A = X if X.dtype == dtype else X.astype(dtype)
        if np.isfinite(A).all():
            return A
    rows = as_matrix(name, X, width=n_inputs or None, width_of=f"{whose} takes {n_inputs} inputs")
    return np.asarray(rows, dtype=dtype)


def as_labels(y: Any, n: int, name: str, head: LossHead) -> Any:
    """The labels of a built-in loss as an array, checked as `fit` checks them."""
    if isinstance(y, np.ndarray) and y.dtype.kind in "fiu" and len(y) == n and y.ndim in (1, 2):
        if np.isfinite(y).all() and head.valid(y):
            return y
    from microgradnn.losses import LOSSES, check_labels

    labels = as_targets(name, y, n=n)
    check_labels(LOSSES[head.name], labels, head.n_out, name)
    array = np.asarray(labels, dtype=np.float64)
    if not head.valid(array):
        raise ValueError(
            f"{name}: the labels do not fit the model's {head.n_out} output(s) and the {head.name} loss"
        )
    return array


def _key(label: Any) -> Any:
    """A target as a dict key (a list of numbers as a tuple)."""
    return tuple(label) if isinstance(label, list) else label


def _torch_module() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError(
            "compile_step(backend='torch') needs PyTorch: pip install torch"
        ) from None
    return torch
