"""Scalar code at tensor speed: trace a per-sample function of Values once, run it on batches.

::

    from microgradnn import MLP
    from microgradnn.compiled import compile_step
    from microgradnn.losses import hinge

    model = MLP(2, [16, 16, 1], seed=1337)
    step = compile_step(lambda x, y: hinge([model(x)], [y]), model.parameters(), X[0], y[0])
    loss = step(X, y)          # the batch's mean loss; every parameter's .grad is set
    print(step.source)         # the generated numpy code

How it works, in four steps (one module each):

1. **Trace** (`tracing`). ``fn`` is called ONCE on the example: the inputs become placeholder
   leaves, the parameters are the model's own Values, and the Value graph it builds is
   recorded through the table of operations (:mod:`microgradnn.ops`).
2. **Plan** (`plan`). The nodes of ONE operation at ONE level (1 + the highest level of their
   inputs) become ONE array operation: a layer's ReLUs one ``relu`` over a (batch, width)
   array, its ``dot`` nodes one matrix product.
3. **Generate** (`codegen`). The groups are written out as one straight-line Python function
   of array calls, forward and backward, compiled once and cached (``Compiled.source``). The
   parameters live in one flat buffer read through strided views (a layer's weights one matrix).
4. **Run** (`core`). A batch goes through the generated function; the gradients equal what
   ``backward()`` on the scalar graph of the whole batch gives, up to the rounding of a
   different summation order.

`fit`, `evaluate` and `predict` with ``compiled=True`` use `compile_model`: the model is
traced once, a built-in loss is attached with the labels as data, the plan is cached per
model, and `fit` trains on the buffer, writing ``.data``/``.grad`` back into the Values only at
the end, before each callback and each recorded frame.

numpy is imported when this package is first used (``import microgradnn`` does not load it).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from microgradnn.compiled.core import Compiled, LossHead, as_batch, as_labels, compile_step
from microgradnn.compiled.plan import Group
from microgradnn.compiled.tracing import CompileError
from microgradnn.engine import Value

__all__ = [
    "CompileError", "Compiled", "Group", "LossHead", "Trainer", "checked_data", "compile_model",
    "compile_step",
    "evaluate", "predict",
]  # fmt: skip


# ---------------------------------------------------------------------- models
def _loss_name(loss_fn: Callable | None) -> str | None:
    from microgradnn.losses import LOSSES

    return next((name for name, fn in LOSSES.items() if fn is loss_fn), None)


def _check_sample(X: Any) -> Any:
    """The sample most unlike the first (largest L1 distance): traced too, so that a Python
    ``if`` on ``.data`` that the two samples take differently is caught, not frozen."""
    if len(X) < 2:
        return None
    A = np.asarray(X, dtype=np.float64)
    far = int(np.abs(A - A[0]).sum(axis=1).argmax())
    return A[far].tolist() if far else None


def compile_model(
    model: Any,
    loss_fn: Callable | None,
    example: Sequence[float],
    target: Any = None,
    *,
    dtype: str = "float64",
    check: Any = None,
    backend: str = "numpy",
    device: Any = None,
) -> Compiled:
    """A model's per-sample step, compiled: ``loss_fn([model(x)], [y])`` with the model's output
    beside it (``loss_fn=None``: the outputs alone, for predictions). What ``fit``, ``evaluate``
    and ``predict`` use with ``compiled=True``.

    A built-in loss (mse, half_mse, hinge, bce, cross_entropy) is traced ONCE with the labels
    as data; a loss of your own is traced once per distinct label (``targets='labels'``)."""
    options: dict[str, Any] = {"dtype": dtype, "check": check, "backend": backend, "device": device}
    if loss_fn is None:
        single: list[bool] = []

        def outputs_of(x: list[Value]) -> list[Value]:
            out = model(x)
            single.append(isinstance(out, Value))
            return [out] if isinstance(out, Value) else list(out)

        step = Compiled(outputs_of, model.parameters(), example, **options)
        step.trace.single_output = single[0]
        return step
    name = _loss_name(loss_fn)
    out = _output_count(model, example)
    if name is not None and out is not None and (name != "cross_entropy" or out[1]):
        head = LossHead(name, out[0])

        def per_sample_head(x: list[Value], ys: list[Value]) -> tuple[Value, Any]:
            output = model(x)
            return head.build(output, ys), output

        return Compiled(per_sample_head, model.parameters(), example, head=head, **options)

    def per_sample(x: list[Value], y: Any) -> tuple[Value, Any]:
        output = model(x)
        return loss_fn([output], [y]), output

    return Compiled(per_sample, model.parameters(), example, target, **options)


def _output_count(model: Any, example: Sequence[float]) -> tuple[int, bool] | None:
    """(number of outputs, whether they come as a list) of the model, from its layers' sizes
    if it says (MLP does), else None (the generic path is taken)."""
    nouts = getattr(model, "nouts", None)
    if isinstance(nouts, list) and nouts and isinstance(nouts[-1], int):
        return nouts[-1], nouts[-1] != 1
    return None


def checked_data(where: str, model: Any, X: Any, y: Any, loss_fn: Callable) -> tuple[Any, Any]:
    """X and y checked as `fit` checks them (`microgradnn.checks`), as arrays: numpy arrays of
    numbers pass with numpy's checks alone; anything else goes through the list checks, which
    name the sample and what is wrong."""
    A = as_batch(X, _width(model, X), f"{where}(X)", np.float64, "the model")
    name = _loss_name(loss_fn)
    out = _output_count(model, A[0].tolist())
    if name is not None and out is not None:
        return A, as_labels(y, len(A), f"{where}(y)", LossHead(name, out[0]))
    from microgradnn.checks import as_targets

    labels = as_targets(f"{where}(y)", y, n=len(A))
    if name is not None:
        from microgradnn.losses import check_labels

        check_labels(loss_fn, labels, None, f"{where}(y)")
    try:
        return A, np.asarray(labels, dtype=np.float64)
    except ValueError:  # ragged lists: kept as they are for a loss of your own
        return A, labels


# ---------------------------------------------------------------------- the cache of plans
# One compiled plan per (model, what, dtype, backend), kept while the model lives; it is
# rebuilt when the model's parameters are no longer the same Values.
_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cached_model(model: Any, loss_fn: Callable | None, X: Any, y: Any, **options: Any) -> Compiled:
    params = model.parameters()
    ids = [id(p) for p in params]
    try:
        plans = _PLANS.setdefault(model, {})
    except TypeError:  # not weak-referenceable: compile every time
        plans = {}
    key = (loss_fn, tuple(sorted(options.items())))
    entry = plans.get(key)
    if entry is not None and entry[0] == ids:
        return entry[1]
    example = np.asarray(X[0], dtype=np.float64).tolist()
    target = None if y is None else (y[0].tolist() if hasattr(y[0], "tolist") else y[0])
    step = compile_model(model, loss_fn, example, target, check=_check_sample(X), **options)
    plans[key] = (ids, step)
    return step


def predict(model: Any, X: Any, **options: Any) -> list:
    """``microgradnn.train.predict(model, X)`` through the model's cached compiled forward pass."""
    probe = as_batch(X, _width(model, X), "predict(X)", np.float64, "the model")
    step = cached_model(model, None, probe, None, **options)
    _, outputs = step.forward(probe)
    return outputs.tolist()


def evaluate(model: Any, X: Any, y: Any, loss_fn: Callable, l2: float, metric: Any, **options: Any) -> tuple:
    """``(loss, metric)`` as `microgradnn.train.evaluate` gives them, on the cached compiled plan."""
    A = as_batch(X, _width(model, X), "evaluate(X)", np.float64, "the model")
    step = cached_model(model, loss_fn, A, _first_label(y), **options)
    loss, outputs = step.forward(A, y)
    assert loss is not None
    if l2:
        loss += l2 * math.fsum(p.data * p.data for p in step.params)
    return loss, _metric(metric, outputs, y)


def _first_label(y: Any) -> Any:
    try:
        return [y[0]]
    except (TypeError, IndexError, KeyError):
        return None


def _width(model: Any, X: Any) -> int:
    nin = getattr(model, "nin", None)
    if isinstance(nin, int) and not isinstance(nin, bool):
        return nin
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2:
        return int(shape[1])
    try:
        return len(X[0])
    except (TypeError, IndexError, KeyError):
        return 0


def _metric(metric: Any, outputs: Any, y: Any) -> float | None:
    """The metric of the outputs (arrays) against the labels: accuracy and R² on arrays, any
    other metric function on lists as the scalar path gives it."""
    if metric is None:
        return None
    from microgradnn.train import accuracy, r2_score

    if metric is accuracy or metric is r2_score:
        t = np.asarray(y, dtype=np.float64)
        o = np.asarray(outputs, dtype=np.float64)
        if metric is accuracy:
            if o.ndim == 1:
                return float(((o > 0.0) == (t > 0)).mean())
            return float((o.argmax(axis=1) == t).mean())
        t = t.reshape(o.shape)
        total = float(((t - t.mean()) ** 2).sum())
        return 1.0 - float(((t - o) ** 2).sum()) / total if total > 0.0 else math.nan
    return float(metric(outputs.tolist(), y if isinstance(y, list) else np.asarray(y).tolist()))


# ---------------------------------------------------------------------- training on the buffer
class Trainer:
    """`fit(compiled=True)`'s steps: the parameters stay in the compiled step's buffer, the
    optimizer (SGD, Adam, AdamW) updates the buffer with the same arithmetic as on the Values,
    and the Values are written only by `sync` (fit calls it at the end, and before callbacks and
    recorded frames). Any other optimizer is run on the Values, which are then written each step."""

    def __init__(self, step: Compiled, X: Any, y: Any, optimizer: Any, l2: float) -> None:
        self.compiled, self.opt, self.l2 = step, optimizer, l2
        self.X = np.asarray(X, dtype=step.dtype)  # fit checked it (microgradnn.checks.as_matrix)
        self.y = y if isinstance(y, np.ndarray) else np.asarray(y, dtype=np.float64)
        self.full = step.batch(self.X, self.y, "fit")
        self._on_buffer = self._optimizer_state()
        self.last_grad: Any = None
        step.load()

    def _optimizer_state(self) -> bool:
        from microgradnn.optim import SGD, Adam, AdamW

        opt, step = self.opt, self.compiled
        if type(opt) not in (SGD, Adam, AdamW):
            return False
        index = {id(p): i for i, p in enumerate(step.params)}
        if len(opt.params) != len(step.params) or any(id(p) not in index for p in opt.params):
            return False
        positions = step.to_numpy(step.positions)
        # the buffer position of each of the optimizer's parameters, in the optimizer's order
        self._opt_at = positions[[index[id(p)] for p in opt.params]]
        self._state: dict[str, Any] = {}
        for name, values in opt.state.items():
            buffer = np.zeros(len(positions), dtype=step.dtype)
            buffer[self._opt_at] = values
            self._state[name] = step.to_backend(buffer)
        return True

    def step(self, batch: Sequence[int] | None) -> tuple[float, Any]:
        """One step on the samples ``batch`` (None: all); returns the objective (before the
        update) and the outputs."""
        step, opt = self.compiled, self.opt
        if batch is None:
            args = self.full
        else:
            rows = np.asarray(batch, dtype=np.intp)
            args = step.batch(self.X[rows], self.y[rows], "fit")
        if not self._on_buffer:
            step.load()
        loss, outputs = step.run(args, backward=True, quiet=True)
        value = cast_float(loss)
        P, G = step.P, step.G
        if self.l2:
            value += self.l2 * float(P @ P)
            G = G + (2.0 * self.l2) * P  # ∂(l2·Σp²)/∂p, added as the scalar path adds it
        if not self._on_buffer:
            step.store(grads=G, data=False)
            opt.step()
            return value, outputs
        self.last_grad = G
        self._update(G, opt.lr)
        opt.steps += 1
        return value, outputs

    def _update(self, G: Any, lr: float) -> None:
        """The optimizer's update on the buffer: each line the arithmetic of `microgradnn.optim`
        on one parameter, in the same order, so the numbers are the same."""
        from microgradnn.optim import AdamW

        opt, P, state = self.opt, self.compiled.P, self._state
        wd = opt.weight_decay
        if "velocity" in state:  # SGD
            mu = opt.momentum
            if mu == 0.0 and wd == 0.0:
                P -= lr * G
                return
            g = G + wd * P if wd else G
            if mu:
                b = state["velocity"]
                b *= mu
                b += g
                g = g + mu * b if opt.nesterov else b
            P -= lr * g
            return
        beta1, beta2 = opt.betas
        t = opt.steps + 1
        bias1, bias2 = 1.0 - beta1**t, 1.0 - beta2**t
        g = G
        if wd:
            if isinstance(opt, AdamW):
                P -= lr * wd * P
            else:
                g = G + wd * P
        m, v = state["m"], state["v"]
        m[...] = beta1 * m + (1.0 - beta1) * g
        v[...] = beta2 * v + (1.0 - beta2) * g * g
        P -= lr * (m / bias1) / ((v / bias2) ** 0.5 + opt.eps)

    def sync(self) -> None:
        """Write the buffer into the Values (.data, and .grad from the last step) and the
        optimizer's state."""
        if not self._on_buffer:
            return
        step = self.compiled
        step.store(grads=self.last_grad if self.last_grad is not None else step.G)
        for name, buffer in self._state.items():
            self.opt.state[name][:] = step.to_numpy(buffer)[self._opt_at].tolist()

    def reload(self) -> None:
        """Read the Values into the buffer again (a callback may have changed them)."""
        self.compiled.load()
        for name, buffer in self._state.items():
            fresh = np.zeros(len(self._opt_at), dtype=self.compiled.dtype)
            fresh[...] = self.opt.state[name]
            host = self.compiled.to_numpy(buffer)
            host[self._opt_at] = fresh
            if host is not buffer:
                buffer[...] = self.compiled.to_backend(host)

    def metric(self, metric: Any, outputs: list, order: Sequence[int] | None) -> float | None:
        """The epoch's metric from its batches' outputs (in the order the samples were seen)."""
        joined = outputs[0] if len(outputs) == 1 else _concatenate(outputs)
        joined = self.compiled.to_numpy(joined)
        y = self.y if order is None else self.y[np.asarray(order, dtype=np.intp)]
        return _metric(metric, joined, y)


def quiet() -> Any:
    """numpy's floating-point warnings off, for a whole training loop (see `Compiled.run`)."""
    return np.errstate(all="ignore")


def cast_float(x: Any) -> float:
    return float(x)


def _concatenate(parts: list) -> Any:
    first = parts[0]
    if isinstance(first, np.ndarray):
        return np.concatenate(parts)
    import torch

    return torch.cat(parts)
