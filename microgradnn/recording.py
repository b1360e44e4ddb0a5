"""Snapshots of a 2-D classifier's decision boundary while it trains: ``fit(..., record_every=5)``.

Every few epochs `fit` evaluates the model on a fixed grid over the training points and keeps
the scores as a `BoundaryFrame` on the returned ``History.frames``; `microgradnn.plot`'s
``animate_training`` turns the frames into a GIF or an HTML page with a slider. A frame costs one
forward pass per grid point through `microgradnn.train.predict`, on floats, with no graph.

Standard library only: recording needs no plotting package, only drawing the frames does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from microgradnn.engine import Value

__all__ = ["BoundaryFrame", "BoundaryRecorder"]

#: Grid points per side when ``fit`` is not told otherwise (40 × 40 = 1,600 forward passes per frame).
DEFAULT_RESOLUTION = 40
#: Margin around the training points, in data units: the same as ``plot_decision_boundary``'s.
PADDING = 0.5


@dataclass(frozen=True)
class BoundaryFrame:
    """The model's scores on a grid after ``epoch`` epochs of training (0: before the first).

    ``scores[j][i]`` is the model's output at the point ``(xs[i], ys[j])``: a float for a model
    with one output, a list of floats (one per class) for several. ``loss`` and ``metric`` are
    ``History.loss[epoch - 1]`` and ``History.metric[epoch - 1]`` (None at epoch 0, and ``metric``
    None when fit computed no metric).
    """

    epoch: int
    loss: float | None
    metric: float | None
    xs: list[float]
    ys: list[float]
    scores: list[list[Any]]


def _number(v: Any) -> float:
    return v.data if isinstance(v, Value) else float(v)


class BoundaryRecorder:
    """Records a `BoundaryFrame` before training and after every ``every``-th epoch and the last.

    Made by `fit`; it checks its arguments when made, so a bad ``record_every`` or data that is
    not 2-D fails before any training is done.
    """

    def __init__(self, model: Any, X: Sequence, every: Any, resolution: Any = DEFAULT_RESOLUTION) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"record_every must be a positive number of epochs or None, got {every!r}")
        if isinstance(resolution, bool) or not isinstance(resolution, int) or not 2 <= resolution <= 1000:
            raise ValueError(f"record_resolution must be an integer in 2..1000, got {resolution!r}")
        for i, x in enumerate(X):
            if isinstance(x, (str, bytes)) or not isinstance(x, Sequence) or len(x) != 2:
                features = f"{len(x)} features" if isinstance(x, Sequence) else f"a {type(x).__name__}"
                raise ValueError(
                    "record_every: recording the decision boundary needs 2-D inputs (two numbers per "
                    f"sample, a point in the plane), but X[{i}] is {features}"
                )
        self.model = model
        self.every = every
        firsts = [_number(x[0]) for x in X]
        seconds = [_number(x[1]) for x in X]
        self.xs = _axis(min(firsts) - PADDING, max(firsts) + PADDING, resolution)
        self.ys = _axis(min(seconds) - PADDING, max(seconds) + PADDING, resolution)
        # Row by row, as contour plots read a grid: all xs at ys[0], then all xs at ys[1], ...
        self.points = [[a, b] for b in self.ys for a in self.xs]

    def frame(self, epoch: int, history: Any) -> BoundaryFrame:
        """The model as it is now, after ``epoch`` epochs whose losses are in ``history``."""
        # Imported here because train imports this module.
        from microgradnn.train import predict

        flat = predict(self.model, self.points)
        n = len(self.xs)
        rows = [flat[j * n : (j + 1) * n] for j in range(len(self.ys))]
        loss = history.loss[epoch - 1] if epoch > 0 else None
        metric = history.metric[epoch - 1] if epoch > 0 and len(history.metric) >= epoch else None
        return BoundaryFrame(epoch, loss, metric, self.xs, self.ys, rows)

    def start(self, history: Any) -> None:
        """Record the untrained model (epoch 0)."""
        history.frames.append(self.frame(0, history))

    def epoch_done(self, epochs: int, history: Any) -> None:
        """Called after each epoch with the number of epochs done so far."""
        if epochs % self.every == 0:
            history.frames.append(self.frame(epochs, history))

    def finish(self, history: Any) -> None:
        """Record the final model, unless its epoch was just recorded (training ended early or
        the epoch count is not a multiple of ``every``)."""
        if history.frames and history.frames[-1].epoch != history.epochs:
            history.frames.append(self.frame(history.epochs, history))


def _axis(low: float, high: float, n: int) -> list[float]:
    return [low + (high - low) * i / (n - 1) for i in range(n)]
