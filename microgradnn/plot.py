"""Pictures of training with matplotlib (``pip install 'microgradnn[plot]'``).

Each function returns the matplotlib ``Figure`` (in Jupyter, a cell ending with the call shows
it once) and, given ``path``, also saves it (PNG unless the suffix says otherwise). Pass
``ax=`` to draw into axes of your own figure instead.

matplotlib is imported only when a plot is made, so the rest of microgradnn works without it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from microgradnn.engine import Value, no_grad

__all__ = ["MissingMatplotlibError", "plot_decision_boundary", "plot_loss", "plot_regression"]

INSTALL_HINT = "pip install 'microgradnn[plot]'"


class MissingMatplotlibError(ImportError):
    """Plotting was asked for but matplotlib is not installed."""


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise MissingMatplotlibError(
            f"plotting needs matplotlib, which is not installed: {INSTALL_HINT}"
        ) from e
    return plt


def _new_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any, bool]:
    """(figure, axes, whether we made the figure)."""
    plt = _pyplot()
    if ax is not None:
        return ax.figure, ax, False
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax, True


def _finish(fig: Any, path: str | os.PathLike[str] | None, made: bool) -> Any:
    if path is not None:
        fig.savefig(Path(path), dpi=120, bbox_inches="tight")
    if made:
        # Unregister the figure from pyplot: Jupyter then shows it once, as the cell's result,
        # instead of twice, and scripts that make many figures do not accumulate them.
        _pyplot().close(fig)
    return fig


def plot_loss(
    history: Any,
    *,
    ax: Any = None,
    path: str | os.PathLike[str] | None = None,
    title: str = "Training loss",
    log_scale: bool = False,
) -> Any:
    """The loss per epoch (and the metric, on a second axis, if the history has one).

    ``history`` is what `microgradnn.train.fit` returns, or a plain list of loss values.
    """
    if isinstance(history, Sequence) and not isinstance(history, (str, bytes)):
        losses, metric, metric_name = list(history), [], None
    elif not isinstance(history, (str, bytes)) and hasattr(history, "loss"):
        losses, metric, metric_name = list(history.loss), list(history.metric), history.metric_name
    else:
        raise TypeError(
            f"plot_loss: expected a History from fit or a list of losses, got {type(history).__name__}"
        )
    if not losses:
        raise ValueError("plot_loss: the history is empty (no epochs)")
    fig, ax, made = _new_axes(ax, (6.4, 4.0))
    epochs = range(1, len(losses) + 1)
    ax.plot(epochs, losses, color="tab:blue", label="loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss", color="tab:blue")
    if log_scale:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if metric:
        twin = ax.twinx()
        values = [100.0 * m for m in metric] if metric_name == "accuracy" else metric
        twin.plot(range(1, len(metric) + 1), values, color="tab:orange", label=metric_name)
        label = f"{metric_name} (%)" if metric_name == "accuracy" else str(metric_name)
        twin.set_ylabel(label, color="tab:orange")
        if metric_name == "accuracy":
            twin.set_ylim(0, 105)
    return _finish(fig, path, made)


def _model_scores(model: Any, points: list[list[float]]) -> list[Any]:
    predict_batch = getattr(model, "predict_batch", None)
    if predict_batch is not None:
        return predict_batch(points)
    with no_grad():
        outs = [model(p) for p in points]
    return [o.data if isinstance(o, Value) else [v.data for v in o] for o in outs]


def _class_of(score: Any) -> int:
    if isinstance(score, list):
        return max(range(len(score)), key=score.__getitem__)
    return 1 if score > 0.0 else 0


# Margins beyond ±_FAR (infinite scores) are drawn as ±_FAR, inside the filled level [0, 2·_FAR].
_FAR = 1e9


def _margins(score: Any, classes: list[int]) -> dict[int, float]:
    """How far each class is from losing: > 0 for the predicted class, < 0 for the others.

    One output: +score for class 1 and −score for class 0; several: the class's score minus
    the best other score. NaN stays NaN (not filled); ±inf becomes ±_FAR.
    """
    if isinstance(score, list):
        margins = {
            c: score[c] - max((v for d, v in enumerate(score) if d != c), default=-math.inf)
            if c < len(score)
            else -math.inf
            for c in classes
        }
    else:
        margins = {c: (score if c == 1 else -score) if c in (0, 1) else -math.inf for c in classes}
    return {c: m if math.isfinite(m) or m != m else math.copysign(_FAR, m) for c, m in margins.items()}


def plot_decision_boundary(
    model: Any,
    X: Sequence[Sequence[float]],
    y: Sequence[Any],
    *,
    ax: Any = None,
    path: str | os.PathLike[str] | None = None,
    resolution: int = 120,
    padding: float = 0.5,
    title: str = "Decision boundary",
    show_accuracy: bool = True,
) -> Any:
    """The regions a 2-D classifier assigns to each class, with the samples on top.

    One output: class +1 where the score is > 0 (±1 or 0/1 labels); several outputs: the
    argmax (class indices). The model is evaluated on a ``resolution`` × ``resolution`` grid
    without recording a graph. The boundary is where the score crosses 0 (between two classes'
    scores), interpolated between grid points, so it is a smooth curve. The axes are the
    features x1 and x2, the legend names the classes, and with ``show_accuracy`` the title
    gains a line with the model's accuracy on ``X``.
    """
    if not X or any(len(p) != 2 for p in X):
        raise ValueError("plot_decision_boundary: X must be a non-empty list of 2-D points")
    if len(X) != len(y):
        raise ValueError(f"plot_decision_boundary: X has {len(X)} points but y has {len(y)} labels")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not 2 <= resolution <= 1000:
        raise ValueError(
            f"plot_decision_boundary: resolution must be an integer in 2..1000, got {resolution!r}"
        )
    plt = _pyplot()
    fig, ax, made = _new_axes(ax, (6.0, 5.0))
    xs = [float(p[0]) for p in X]
    ys = [float(p[1]) for p in X]
    x0, x1 = min(xs) - padding, max(xs) + padding
    y0, y1 = min(ys) - padding, max(ys) + padding
    gx = [x0 + (x1 - x0) * i / (resolution - 1) for i in range(resolution)]
    gy = [y0 + (y1 - y0) * j / (resolution - 1) for j in range(resolution)]
    scores = _model_scores(model, [[a, b] for b in gy for a in gx])
    labels = [_class_of_label(t) for t in y]
    outputs = len(scores[0]) if isinstance(scores[0], list) else 2
    classes = sorted(set(labels) | set(range(outputs)))
    cmap = plt.get_cmap("coolwarm" if len(classes) <= 2 else "Spectral")
    colour = {c: cmap(k / max(1, len(classes) - 1)) for k, c in enumerate(classes)}
    margins = [_margins(s, classes) for s in scores]
    for c in classes:
        grid = [[margins[j * resolution + i][c] for i in range(resolution)] for j in range(resolution)]
        ax.contourf(gx, gy, grid, levels=[0.0, 2 * _FAR], colors=[colour[c]], alpha=0.3)
        if outputs > 2 or c == 1:  # one line per boundary: with one output, class 1's outline
            ax.contour(gx, gy, grid, levels=[0.0], colors="black", linewidths=0.8, alpha=0.6)
    signed = any((t.data if isinstance(t, Value) else t) == -1 for t in y)  # name them −1 and +1
    for c in classes:
        members = [k for k, t in enumerate(labels) if t == c]
        if not members:
            continue
        name = ("+1" if c == 1 else "−1") if signed else str(c)
        ax.scatter(
            [xs[k] for k in members],
            [ys[k] for k in members],
            color=colour[c],
            edgecolors="black",
            linewidths=0.5,
            s=28,
            label=f"class {name}",
        )
    ax.legend(loc="best", framealpha=0.85, fontsize="small")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if show_accuracy:
        predicted = [_class_of(s) for s in _model_scores(model, [[a, b] for a, b in zip(xs, ys)])]
        correct = sum(p == t for p, t in zip(predicted, labels))
        title = f"{title}\naccuracy {correct / len(labels):.1%} ({correct}/{len(labels)} points)"
    ax.set_title(title)
    return _finish(fig, path, made)


def _class_of_label(t: Any) -> int:
    """A label as a class number: ±1 or 0/1 → 0/1, class indices unchanged."""
    t = t.data if isinstance(t, Value) else t
    if t == -1:
        return 0
    if isinstance(t, float) and not t.is_integer():
        raise ValueError(f"plot_decision_boundary: labels must be ±1, 0/1 or class indices, got {t!r}")
    return int(t)


def plot_regression(
    model: Any,
    X: Sequence[Sequence[float]],
    y: Sequence[float],
    *,
    ax: Any = None,
    path: str | os.PathLike[str] | None = None,
    points: int = 200,
    title: str = "Fit",
) -> Any:
    """A 1-D regression: the samples and the model's curve over their range."""
    if not X or any(len(p) != 1 for p in X):
        raise ValueError("plot_regression: X must be a non-empty list of 1-element samples")
    fig, ax, made = _new_axes(ax, (6.4, 4.0))
    xs = [float(p[0]) for p in X]
    lo, hi = min(xs), max(xs)
    grid = [lo + (hi - lo) * i / (points - 1) for i in range(points)] if hi > lo else [lo]
    curve = _model_scores(model, [[g] for g in grid])
    ax.scatter(xs, [float(t) for t in y], s=16, color="tab:gray", label="samples")
    ax.plot(grid, [c if not isinstance(c, list) else c[0] for c in curve], color="tab:red", label="model")
    ax.legend()
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    return _finish(fig, path, made)
