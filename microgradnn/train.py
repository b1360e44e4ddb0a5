"""A training loop you can watch: `fit` with a progress bar, plus `evaluate` and `predict`.

::

    from microgradnn.nn import MLP
    from microgradnn.data import make_moons
    from microgradnn.train import fit

    X, y = make_moons(100, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    history = fit(model, X, y, loss="hinge", optimizer="sgd", lr=0.5, l2=1e-4, epochs=50)
    history.loss[-1], history.metric[-1]      # the last epoch's loss and accuracy

Evaluation and prediction record no graph (they run under ``no_grad``).
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from microgradnn.checks import (
    as_list,
    as_matrix,
    as_targets,
    check_bool,
    check_callable,
    check_choice,
    check_int,
    check_real,
    describe,
    is_real,
)
from microgradnn.engine import Value, dot, no_grad
from microgradnn.gc_control import gc_paused
from microgradnn.losses import LOSSES, check_labels
from microgradnn.optim import SGD, Adam, AdamW, LearningRate, Optimizer
from microgradnn.recording import DEFAULT_RESOLUTION, BoundaryFrame, BoundaryRecorder

__all__ = [
    "History",
    "NonFiniteLossError",
    "accuracy",
    "evaluate",
    "fit",
    "predict",
    "r2_score",
    "train_step",
]

LossFn = Callable[..., Value]
LossArg = Union[str, LossFn]  # noqa: UP007 - runtime alias for Python 3.10

#: Default learning rate of the optimizers `fit` builds by name.
DEFAULT_LR = {"sgd": 0.1, "adam": 0.01, "adamw": 0.01}
_OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


@dataclass
class History:
    """What `fit` measured: per epoch, the training loss, the metric and the learning rate.

    ``loss[e]`` is the mean over epoch e's batches of the training objective (the loss plus the
    L2 penalty, if any), each computed before that batch's update, as micrograd's demo prints
    it; ``metric[e]`` likewise (accuracy for classification losses, R² for regression).
    ``frames``: the decision boundary every few epochs, when fit was given ``record_every``.
    """

    loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    metric_name: str | None = None
    lr: list[float] = field(default_factory=list)
    seconds: float = 0.0
    frames: list[BoundaryFrame] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def __len__(self) -> int:
        return len(self.loss)

    def __repr__(self) -> str:
        """One line, e.g. ``History(60 epochs, loss 0.6931 → 0.01181, accuracy 100.0%)``.

        The lists can be long, and a notebook prints this at the end of a cell; the training
        time is left out so that a re-run notebook shows the same text.
        """
        if not self.loss:
            return "History(0 epochs)"
        parts = [f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}", f"loss {_trend(self.loss)}"]
        if self.metric:
            last = _format_metric(self.metric_name, self.metric[-1])
            parts.append(f"{self.metric_name or 'metric'} {last}")
        if self.frames:
            parts.append(f"{len(self.frames)} boundary frames")
        return f"History({', '.join(parts)})"


def _trend(values: list[float]) -> str:
    return f"{values[0]:.4g}" if len(values) == 1 else f"{values[0]:.4g} → {values[-1]:.4g}"


def _format_metric(name: str | None, value: float) -> str:
    return f"{value:.1%}" if name == "accuracy" else f"{value:.4g}"


class NonFiniteLossError(FloatingPointError):
    """`fit` stopped because the training loss became NaN or infinite (training diverged).

    ``epoch`` is the epoch's index (counting from 0, as ``History`` and the callback do),
    ``loss`` the non-finite value and ``history`` what was measured before it.
    """

    def __init__(self, message: str, epoch: int, loss: float, history: History) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.loss = loss
        self.history = history


# ---------------------------------------------------------------------- metrics
def _score(output: Any) -> Any:
    """A model output (Value, number or list of them) as number(s)."""
    if isinstance(output, Value):
        return output.data
    if isinstance(output, (list, tuple)):
        return [o.data if isinstance(o, Value) else float(o) for o in output]
    return float(output)


def _is_positive(label: Any) -> bool:
    return label > 0  # +1 (of ±1) and 1 (of 0/1) are the positive class


def _argmax(xs: Sequence[float]) -> int:
    return max(range(len(xs)), key=xs.__getitem__)


def accuracy(outputs: Sequence[Any], targets: Sequence[Any]) -> float:
    """Fraction of correct predictions. One output per sample: class +1 where it is > 0 (a score
    or logit), to compare with ±1 or 0/1 labels; several outputs: the argmax, to compare with
    class indices."""
    outputs, targets = _metric_arguments("accuracy", outputs, targets)
    correct = 0
    for out, t in zip(outputs, targets):
        s = _score(out)
        if isinstance(s, list):
            correct += _argmax(s) == t
        else:
            correct += (s > 0.0) == _is_positive(t)
    return correct / len(targets)


def r2_score(outputs: Sequence[Any], targets: Sequence[Any]) -> float:
    """Coefficient of determination R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)² (1 is a perfect fit; NaN
    when the targets are all equal)."""
    outputs, targets = _metric_arguments("r2_score", outputs, targets)
    preds: list[float] = []
    truth: list[float] = []
    for out, t in zip(outputs, targets):
        s = _score(out)
        if isinstance(s, list):
            preds.extend(s)
            truth.extend(float(v) for v in t)
        else:
            preds.append(s)
            truth.append(float(t))
    if not truth:
        raise ValueError("r2_score: no samples")
    mean = math.fsum(truth) / len(truth)
    total = math.fsum((t - mean) ** 2 for t in truth)
    residual = math.fsum((t - p) ** 2 for t, p in zip(truth, preds))
    return 1.0 - residual / total if total > 0.0 else math.nan


def _metric_arguments(where: str, outputs: Any, targets: Any) -> tuple[list, list]:
    """The outputs (Values, numbers or lists of them, one per sample) and the targets, checked."""
    outputs = as_list(f"{where}(outputs)", outputs)
    if not outputs:
        raise ValueError(f"{where}(outputs) is empty: no samples to score")
    for i, out in enumerate(outputs):
        if type(out) is not float and not (isinstance(out, (Value, list, tuple)) or is_real(out)):
            raise TypeError(
                f"{where}(outputs): output {i} must be a Value, a number or a list, got {describe(out)}"
            )
    nested = where == "r2_score"  # R² of several outputs compares lists; accuracy takes labels
    targets = as_targets(
        f"{where}(targets)", targets, n=len(outputs), paired_with="outputs", values_ok=True, nested=nested
    )
    for i, (out, t) in enumerate(zip(outputs, targets)):
        if isinstance(t, list) and (not isinstance(out, (list, tuple)) or len(out) != len(t)):
            raise ValueError(f"{where}(targets): target {i} is a list of {len(t)}, unlike output {i}")
    return outputs, targets


_METRICS: dict[str, Callable[[Sequence[Any], Sequence[Any]], float]] = {"accuracy": accuracy, "r2": r2_score}
_TASK_METRIC = {"binary": "accuracy", "multiclass": "accuracy", "regression": "r2"}


# ---------------------------------------------------------------------- argument handling
def _resolve_loss(loss: LossArg) -> LossFn:
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)} or pass a function")
        return LOSSES[loss]
    if not callable(loss):
        raise TypeError(f"loss must be a name or a function(predictions, targets) -> Value, got {loss!r}")
    return loss


def _resolve_metric(metric: str | Callable | None, loss_fn: LossFn) -> tuple[str | None, Callable | None]:
    if metric == "auto":
        task = getattr(loss_fn, "task", None)
        metric = _TASK_METRIC.get(task) if task else None
    if metric is None:
        return None, None
    if isinstance(metric, str):
        if metric not in _METRICS:
            raise ValueError(
                f"unknown metric {metric!r}; choose one of {', '.join(_METRICS)}, a function or None"
            )
        return metric, _METRICS[metric]
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    raise TypeError(f"metric must be 'auto', a name, a function or None, got {metric!r}")


def _check_model(where: str, model: Any, needs_parameters: bool) -> None:
    if isinstance(model, type):
        raise TypeError(
            f"{where}(model) must be a model, got the class {model.__name__} itself; "
            f"construct one first, e.g. {model.__name__}(...)"
        )
    what = "a model: a Module such as MLP(2, [16, 1]), or a function of one sample"
    check_callable(f"{where}(model)", model, what)
    if needs_parameters and not callable(getattr(model, "parameters", None)):
        raise TypeError(
            f"{where}(model) must have a parameters() method (a Module does), got {describe(model)}"
        )


def _model_size(model: Any, attribute: str) -> int | None:
    """The model's number of inputs ('nin') or outputs, if it says (MLP, Layer and Neuron do)."""
    if attribute == "nout":
        nouts = getattr(model, "nouts", None)
        if isinstance(nouts, list) and nouts and isinstance(nouts[-1], int):
            return nouts[-1]
    size = getattr(model, attribute, None)
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def _check_data(where: str, model: Any, X: Any, y: Any, loss_fn: LossFn | None = None) -> tuple[list, list]:
    """X as rows of floats of the model's width, y as labels for the loss: checked once, here, so
    that the training loop works on plain lists (numpy arrays are converted)."""
    nin = _model_size(model, "nin")
    X = as_matrix(f"{where}(X)", X, width=nin, width_of=f"the model takes {nin} inputs" if nin else "")
    y = as_targets(f"{where}(y)", y, n=len(X))
    if loss_fn is not None:
        check_labels(loss_fn, y, _model_size(model, "nout"), f"{where}(y)")
    return X, y


def _outputs(model: Any, X: Sequence) -> list:
    """The model's outputs (Values) for every sample, through its batch path if it has one."""
    forward_batch = getattr(model, "forward_batch", None)
    if forward_batch is not None:
        return forward_batch(X)
    return [model(x) for x in X]


# ---------------------------------------------------------------------- training
def train_step(
    model: Any,
    X: Sequence,
    y: Sequence,
    loss: LossArg,
    optimizer: Optimizer,
    l2: float = 0.0,
    parameters: Sequence[Value] | None = None,
) -> tuple[float, list]:
    """One step of gradient descent on the batch ``(X, y)``.

    Builds loss(model outputs, y) + l2·Σp², backpropagates, updates the parameters; returns the
    objective's value and the outputs' numbers, both from before the update. ``parameters``
    (default: ``model.parameters()``) are those the L2 penalty covers.
    """
    loss_fn = _resolve_loss(loss)
    with gc_paused():
        outputs = _outputs(model, X)
        objective = loss_fn(outputs, y)
        if l2:
            params = model.parameters() if parameters is None else parameters
            objective = objective + dot(params, params) * l2
        optimizer.zero_grad()
        objective.backward()
        optimizer.step()
        result = objective.data, [_score(o) for o in outputs]
        # Free the graph while the collector is still paused: freeing it also takes back the
        # allocations it counted, so no collection is triggered by a graph that is gone.
        del outputs, objective
    return result


def _make_optimizer(model: Any, optimizer: Optimizer | str, lr: LearningRate | None) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        if lr is not None:
            raise ValueError("give lr to the optimizer you construct, not to fit, when you pass an Optimizer")
        return optimizer
    if isinstance(optimizer, str):
        cls = _OPTIMIZERS.get(optimizer.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(_OPTIMIZERS)}")
        return cls(model.parameters(), lr=DEFAULT_LR[optimizer.lower()] if lr is None else lr)
    raise TypeError(f"optimizer must be an Optimizer or a name ({', '.join(_OPTIMIZERS)}), got {optimizer!r}")


def fit(
    model: Any,
    X: Sequence,
    y: Sequence,
    loss: LossArg = "mse",
    optimizer: Optimizer | str = "sgd",
    epochs: int = 100,
    batch_size: int | None = None,
    seed: int | None = None,
    *,
    lr: LearningRate | None = None,
    l2: float = 0.0,
    metric: str | Callable | None = "auto",
    progress: bool = True,
    callback: Callable[[int, History], Any] | None = None,
    record_every: int | None = None,
    record_resolution: int = DEFAULT_RESOLUTION,
    on_nonfinite: str = "raise",
    compiled: bool = False,
) -> History:
    """Train ``model`` on ``(X, y)`` by gradient descent; returns the `History`.

    - ``loss``: a name from `microgradnn.losses.LOSSES` ('mse', 'half_mse', 'hinge', 'bce',
      'cross_entropy') or a function ``(outputs, targets) -> Value``.
    - ``optimizer``: an `Optimizer` over the model's parameters, or 'sgd', 'adam', 'adamw'
      with learning rate ``lr`` (a number or a schedule; default 0.1 for SGD, 0.01 for Adam).
    - ``batch_size=None`` trains on the whole set at once (one step per epoch); otherwise the
      samples are shuffled each epoch (by ``seed``) and split into batches of that size.
    - ``l2``: adds l2·Σp² over the model's parameters to the loss (micrograd's demo: 1e-4).
    - ``metric``: 'auto' (accuracy for classification losses, R² for regression), 'accuracy',
      'r2', a function ``(outputs, targets) -> float``, or None.
    - ``progress``: a tqdm progress bar on stderr showing loss and metric; False prints nothing.
    - ``callback(epoch, history)`` runs after each epoch; returning True stops training.
    - ``record_every=k`` (2-D inputs only): evaluate the model on a ``record_resolution`` ×
      ``record_resolution`` grid before training, after every k-th epoch and after the last,
      into ``history.frames`` (see `microgradnn.plot.animate_training`).
    - ``on_nonfinite``: what to do when a batch's loss is NaN or infinite (training diverged):
      'raise' (default) stops with `NonFiniteLossError` naming the epoch; 'continue' trains on.
      An overflow inside the graph (a loss too large for a float) always stops with that error.

    ``X`` is a list of samples (lists of numbers) or a 2-D numpy array, ``y`` a list or 1-D
    array of labels; both are checked before anything trains (see docs/training.md).
    - ``compiled=True``: the model and loss are traced once and each step runs on numpy arrays
      (`microgradnn.compiled`), with the same numbers as the scalar path; needs numpy.
    """
    l2 = check_real("fit(l2)", l2, lo=0.0)
    _check_model("fit", model, needs_parameters=isinstance(optimizer, str) or bool(l2))
    epochs = check_int("fit(epochs)", epochs, lo=1)
    if batch_size is not None:
        batch_size = check_int("fit(batch_size)", batch_size, lo=1)
    if seed is not None:
        seed = check_int("fit(seed)", seed)
    check_bool("fit(progress)", progress)
    check_bool("fit(compiled)", compiled)
    if callback is not None:
        check_callable("fit(callback)", callback, "a function callback(epoch, history), or None")
    check_choice("fit(on_nonfinite)", on_nonfinite, ("raise", "continue"))
    loss_fn = _resolve_loss(loss)
    if compiled:  # the same checks, on arrays without turning them into lists
        from microgradnn import compiled as fast

        X, y = fast.checked_data("fit", model, X, y, loss_fn)
    else:
        X, y = _check_data("fit", model, X, y, loss_fn)
    metric_name, metric_fn = _resolve_metric(metric, loss_fn)
    opt = _make_optimizer(model, optimizer, lr)
    if compiled:
        return _fit_compiled(
            model, X, y, loss_fn, opt, epochs, batch_size, seed, l2, metric_name, metric_fn, progress,
            callback, record_every, record_resolution, on_nonfinite,
        )  # fmt: skip
    recorder = None if record_every is None else BoundaryRecorder(model, X, record_every, record_resolution)
    params = model.parameters() if l2 else None
    rng = random.Random(seed) if seed is not None else random
    n = len(X)
    size = n if batch_size is None else min(batch_size, n)
    history = History(metric_name=metric_name)
    order = list(range(n))
    start = time.perf_counter()
    if recorder is not None:
        recorder.start(history)

    bar = _progress_bar(epochs, enabled=progress)
    try:
        for epoch in range(epochs):
            history.lr.append(opt.lr)
            if size < n:
                rng.shuffle(order)
            total = 0.0
            outputs: list = []
            targets: list = []
            for first in range(0, n, size):
                batch = order[first : first + size] if size < n else order
                Xb = X if size == n else [X[i] for i in batch]
                yb = y if size == n else [y[i] for i in batch]
                try:
                    value, scores = train_step(model, Xb, yb, loss_fn, opt, l2, params)
                except OverflowError as e:
                    raise _diverged(epoch, epochs, math.inf, history, f" ({e})") from e
                if on_nonfinite == "raise" and not math.isfinite(value):
                    raise _diverged(epoch, epochs, value, history, "")
                total += value * len(batch)
                outputs.extend(scores)
                targets.extend(yb)
            history.loss.append(total / n)
            postfix = {"loss": f"{history.loss[-1]:.4g}"}
            if metric_fn is not None:
                history.metric.append(float(metric_fn(outputs, targets)))
                postfix[metric_name or "metric"] = _format_metric(metric_name, history.metric[-1])
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)
            if recorder is not None:
                recorder.epoch_done(epoch + 1, history)
            if callback is not None and callback(epoch, history) is True:
                break
        if recorder is not None:
            recorder.finish(history)
    finally:
        bar.close()
        history.seconds = time.perf_counter() - start
    return history


def _fit_compiled(
    model: Any, X: Any, y: Any, loss_fn: LossFn, opt: Optimizer, epochs: int, batch_size: int | None,
    seed: int | None, l2: float, metric_name: str | None, metric_fn: Callable | None, progress: bool,
    callback: Callable[[int, History], Any] | None, record_every: int | None, record_resolution: int,
    on_nonfinite: str,
) -> History:
    """`fit`'s loop on the compiled step (`microgradnn.compiled.Trainer`): the same batches, in the
    same order, with the same arithmetic; the parameters stay in arrays and are written into
    the Values at the end, and before each callback and recorded frame."""
    from microgradnn import compiled as fast  # numpy is imported only on this path

    step = fast.cached_model(model, loss_fn, X, [y[0]])
    trainer = fast.Trainer(step, X, y, opt, l2)
    recorder = None
    if record_every is not None:
        recorder = BoundaryRecorder(model, X.tolist(), record_every, record_resolution)
    rng = random.Random(seed) if seed is not None else random
    n = len(X)
    size = n if batch_size is None else min(batch_size, n)
    history = History(metric_name=metric_name)
    order = list(range(n))
    start = time.perf_counter()
    if recorder is not None:
        recorder.start(history)
    bar = _progress_bar(epochs, enabled=progress)
    try:
        with fast.quiet():
            _compiled_epochs(trainer, opt, history, epochs, n, size, rng, order, metric_fn, metric_name,
                             on_nonfinite, progress, bar, recorder, callback)  # fmt: skip
        if recorder is not None:
            trainer.sync()
            recorder.finish(history)
    finally:
        trainer.sync()
        bar.close()
        history.seconds = time.perf_counter() - start
    return history


def _compiled_epochs(
    trainer: Any, opt: Optimizer, history: History, epochs: int, n: int, size: int, rng: Any, order: list,
    metric_fn: Callable | None, metric_name: str | None, on_nonfinite: str, progress: bool, bar: Any,
    recorder: BoundaryRecorder | None, callback: Callable[[int, History], Any] | None,
) -> None:
    """The epochs of `_fit_compiled`."""
    for epoch in range(epochs):
        history.lr.append(opt.lr)
        if size < n:
            rng.shuffle(order)
        total, outputs = 0.0, []
        for first in range(0, n, size):
            batch = order[first : first + size] if size < n else None
            value, scores = trainer.step(batch)
            if on_nonfinite == "raise" and not math.isfinite(value):
                raise _diverged(epoch, epochs, value, history, "")
            total += value * (size if batch is None else len(batch))
            outputs.append(scores)
        history.loss.append(total / n)
        postfix = {"loss": f"{history.loss[-1]:.4g}"}
        if metric_fn is not None:
            history.metric.append(trainer.metric(metric_fn, outputs, order if size < n else None))
            postfix[metric_name or "metric"] = _format_metric(metric_name, history.metric[-1])
        if progress:
            bar.set_postfix(postfix, refresh=False)
        bar.update(1)
        if recorder is not None:
            trainer.sync()
            recorder.epoch_done(epoch + 1, history)
        if callback is not None:
            trainer.sync()
            stop = callback(epoch, history) is True
            trainer.reload()
            if stop:
                break


def _diverged(epoch: int, epochs: int, loss: float, history: History, detail: str) -> NonFiniteLossError:
    return NonFiniteLossError(
        f"fit: the training loss became {loss} in epoch {epoch + 1} of {epochs}{detail}: training "
        f"diverged. Try a smaller learning rate (this epoch used lr={history.lr[-1]:g}), or standardize the "
        "inputs; pass on_nonfinite='continue' to train on regardless",
        epoch,
        loss,
        history,
    )


# ---------------------------------------------------------------------- the progress bar
class _NotebookLine:
    """A file for tqdm that shows only its latest line, as one output of a Jupyter cell.

    In a terminal tqdm redraws its line with carriage returns; a notebook stores every write to
    stderr as another line, so a rendered page showed a pink block of 20-odd bars. Here each
    write replaces the text of one display (IPython's display handle), live and in the saved
    notebook, which keeps the final bar. tqdm.notebook's widget needs ipywidgets and saves
    its first state ("0%") as the text a rendered page shows.
    """

    def __init__(self) -> None:
        from IPython.display import display

        self._handle = display({"text/plain": ""}, raw=True, display_id=True)
        self.encoding = "utf-8"  # tqdm draws a Unicode bar, not #s, for a UTF-8 file

    def write(self, text: str) -> None:
        line = text.rsplit("\r", 1)[-1].strip()
        if line and self._handle is not None:
            self._handle.update({"text/plain": line}, raw=True)

    def flush(self) -> None:
        pass


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (not in a terminal, not in the IPython shell)."""
    if "ipykernel" not in sys.modules:
        return False
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


def _progress_bar(epochs: int, *, enabled: bool) -> Any:
    """tqdm's bar on stderr in a terminal; in a notebook the same bar, updated in place."""
    from tqdm import tqdm

    options: dict[str, Any] = {"total": epochs, "desc": "training", "unit": "epoch", "leave": True}
    if enabled and _in_notebook():
        return tqdm(file=_NotebookLine(), ncols=100, **options)
    return tqdm(file=sys.stderr, disable=not enabled, **options)


# ---------------------------------------------------------------------- evaluation
def predict(model: Any, X: Sequence, *, compiled: bool = False) -> list:
    """The model's output numbers for every sample (a float, or a list for several outputs),
    computed without recording a graph. ``X``: a list of samples or a 2-D numpy array
    (``compiled=True``: on numpy arrays, traced once)."""
    _check_model("predict", model, needs_parameters=False)
    if check_bool("predict(compiled)", compiled):
        from microgradnn import compiled as fast  # checks X itself, an array without lists

        return fast.predict(model, X)
    nin = _model_size(model, "nin")
    X = as_matrix("predict(X)", X, width=nin, width_of=f"the model takes {nin} inputs" if nin else "")
    predict_batch = getattr(model, "predict_batch", None)
    if predict_batch is not None:
        return predict_batch(X)
    with no_grad():
        return [_score(model(x)) for x in X]


def evaluate(
    model: Any,
    X: Sequence,
    y: Sequence,
    loss: LossArg = "mse",
    *,
    l2: float = 0.0,
    metric: str | Callable | None = "auto",
    compiled: bool = False,
) -> tuple[float, float | None]:
    """``(loss, metric)`` of the model on ``(X, y)``, without recording a graph; the loss
    includes l2·Σp² when ``l2`` is given, as in `fit` (``compiled=True``: on numpy arrays)."""
    l2 = check_real("evaluate(l2)", l2, lo=0.0)
    _check_model("evaluate", model, needs_parameters=bool(l2))
    loss_fn = _resolve_loss(loss)
    _, metric_fn = _resolve_metric(metric, loss_fn)
    if check_bool("evaluate(compiled)", compiled):
        from microgradnn import compiled as fast  # checks X and y itself, arrays without lists

        return fast.evaluate(model, X, y, loss_fn, l2, metric_fn)
    X, y = _check_data("evaluate", model, X, y, loss_fn)
    with no_grad():
        outputs = _outputs(model, X)
        value = loss_fn(outputs, y)
        if l2:
            params = model.parameters()
            value = value + dot(params, params) * l2
    return value.data, (float(metric_fn(outputs, y)) if metric_fn is not None else None)
