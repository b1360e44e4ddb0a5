"""Pictures of training with matplotlib (``pip install 'microgradnn[plot]'``).

Each function returns the matplotlib ``Figure`` (in Jupyter, a cell ending with the call shows
it once) and, given ``path``, also saves it (PNG unless the suffix says otherwise). Pass
``ax=`` to draw into axes of your own figure instead.

matplotlib is imported only when a plot is made, so the rest of microgradnn works without it.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from microgradnn.checks import as_matrix, as_targets, check_bool, check_int, check_path, check_real
from microgradnn.engine import Value, no_grad
from microgradnn.fileio import write_atomic

__all__ = [
    "MissingMatplotlibError",
    "TrainingAnimation",
    "animate_training",
    "plot_decision_boundary",
    "plot_loss",
    "plot_regression",
]

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


def _save_figure(fig: Any, path: str | os.PathLike[str], name: str) -> None:
    """``fig.savefig(path)``, but atomic: rendered into memory, then written by `write_atomic`,
    so that a failure never leaves a truncated picture in place of the old one."""
    import io

    target = Path(check_path(name, path))
    # The suffix chooses the format, as savefig does for a path; no suffix: matplotlib's default.
    fmt = target.suffix[1:].lower() or None
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=120, bbox_inches="tight")
    write_atomic(target, buffer.getvalue(), name=name)


def _finish(fig: Any, path: str | os.PathLike[str] | None, made: bool, name: str) -> Any:
    try:
        if path is not None:
            _save_figure(fig, path, name)
    finally:
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
            f"plot_loss(history) must be a History from fit or a list of losses, got {type(history).__name__}"
        )
    if not losses:
        raise ValueError("plot_loss(history) is empty (no epochs)")
    log_scale = check_bool("plot_loss(log_scale)", log_scale)
    if path is not None:
        check_path("plot_loss(path)", path)
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
    return _finish(fig, path, made, "plot_loss(path)")


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


def _class_margins(score: Any, classes: list[int]) -> dict[int, float]:
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
    X = as_matrix("plot_decision_boundary(X)", X, width=2, width_of="the points must be 2-D")
    y = as_targets("plot_decision_boundary(y)", y, n=len(X), nested=False)
    resolution = check_int("plot_decision_boundary(resolution)", resolution, lo=2, hi=1000)
    padding = check_real("plot_decision_boundary(padding)", padding, lo=0.0)
    show_accuracy = check_bool("plot_decision_boundary(show_accuracy)", show_accuracy)
    if path is not None:
        check_path("plot_decision_boundary(path)", path)
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
    margins = [_class_margins(s, classes) for s in scores]
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
    return _finish(fig, path, made, "plot_decision_boundary(path)")


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
    X = as_matrix("plot_regression(X)", X, width=1, width_of="the samples must be 1-D")
    y = as_targets("plot_regression(y)", y, n=len(X), nested=False)
    points = check_int("plot_regression(points)", points, lo=2)
    if path is not None:
        check_path("plot_regression(path)", path)
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
    return _finish(fig, path, made, "plot_regression(path)")


# ---------------------------------------------------------------------- training you can watch
# matplotlib's HTML player takes its button icons from Font Awesome on a CDN. Offline (on a
# slide, in an e-mail) those would be blank buttons, so the page gets plain characters instead.
_BUTTON_TEXT = {
    "fa-minus": "&minus;",
    "fa-fast-backward": "|&#9664;&#9664;",
    "fa-step-backward": "|&#9664;",
    "fa-play fa-flip-horizontal": "&#9664;",
    "fa-pause": "&#10074;&#10074;",
    "fa-play": "&#9654;",
    "fa-step-forward": "&#9654;|",
    "fa-fast-forward": "&#9654;&#9654;|",
    "fa-plus": "+",
}
_BUTTON_STYLE = "<style>.anim-buttons button { width: auto; min-width: 36px; font-size: 13px; }</style>\n"
# Colours per frame in the HTML player: the frames are flat fills, lines and text, which 64
# colours show without a visible difference in a third of the bytes of full-colour PNGs.
_HTML_COLOURS = 64


def _offline(fragment: str) -> str:
    """matplotlib's animation HTML without its one network request (the icon font)."""
    fragment = re.sub(r"<link[^>]*href=\"https?://[^\"]*\"[^>]*>\s*", "", fragment)
    fragment = re.sub(
        r"<i class=\"fa ([^\"]*)\"></i>",
        lambda m: _BUTTON_TEXT.get(m.group(1), m.group(1).replace("fa-", "")),
        fragment,
    )
    return _BUTTON_STYLE + fragment


def _still_picture(fragment: str) -> str:
    """The player's image starts out showing the last frame: where its script does not run (an
    untrusted notebook, a page viewer that strips scripts) the trained boundary still shows; where
    it runs, the player sets its first frame as before."""
    frames = re.findall(r'frames\[\d+\] = "(data:image/png;base64,[A-Za-z0-9+/=\\\n]+)"', fragment)
    if not frames:
        return fragment
    last = frames[-1].replace("\\\n", "")
    still = lambda m: f'<img id="{m.group(1)}" src="{last}">'  # noqa: E731
    return re.sub(r'<img id="(_anim_img[0-9a-f]*)">', still, fragment, count=1)


def _smaller_frames(fragment: str) -> str:
    """The player's embedded PNG frames re-encoded with a palette of `_HTML_COLOURS` colours."""
    import base64
    import io

    from PIL import Image  # a dependency of matplotlib

    def shrink(match: re.Match[str]) -> str:
        # matplotlib splits the base64 text over lines ending in a backslash (JavaScript's
        # line continuation); the frame is the text without them.
        original = base64.b64decode(match.group(1).replace("\\\n", ""))
        image = Image.open(io.BytesIO(original)).convert("RGB")
        buffer = io.BytesIO()
        image.quantize(_HTML_COLOURS, method=Image.Quantize.MEDIANCUT).save(buffer, "PNG", optimize=True)
        smaller = buffer.getvalue() if buffer.tell() < len(original) else original
        return f'"data:image/png;base64,{base64.b64encode(smaller).decode("ascii")}"'

    return re.sub(r'"data:image/png;base64,([A-Za-z0-9+/=\\\n]+)"', shrink, fragment)


def _margins(scores: list[list[Any]]) -> list[tuple[int, list[list[float]]]]:
    """For each class c, the grid of how far c's score is ahead of the best other class: > 0
    where the model predicts c. One output (a score, class 1 where it is > 0): ``-s`` and ``s``."""
    if not isinstance(scores[0][0], list):
        return [(0, [[-s for s in row] for row in scores]), (1, scores)]
    margins = []
    for c in range(len(scores[0][0])):
        margins.append(
            (c, [[s[c] - max(v for i, v in enumerate(s) if i != c) for s in row] for row in scores])
        )
    return margins


def _remove_contours(contours: Any) -> None:
    from matplotlib.artist import Artist

    if isinstance(contours, Artist):  # matplotlib >= 3.8
        contours.remove()
    else:  # before 3.8 a contour set was a list of collections
        for collection in contours.collections:
            collection.remove()


class TrainingAnimation:
    """What `animate_training` returns: the decision boundary and the loss curve, frame by frame.

    In Jupyter it shows itself as a player with a slider. ``save("training.gif")`` writes a GIF,
    ``save("training.html")`` one self-contained page (the frames are inside it; it works
    offline), and ``to_html()`` gives the player as an HTML fragment to put into a page of your
    own. ``figure`` is the matplotlib Figure, showing the last frame.
    """

    def __init__(self, figure: Any, draw: Any, frames: list[Any], fps: int, dpi: int, title: str) -> None:
        self.figure = figure
        self.frames = frames
        self.fps = fps
        self.dpi = dpi
        self.title = title
        self._draw = draw
        self._html: str | None = None

    def __len__(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        first, last = self.frames[0].epoch, self.frames[-1].epoch
        return f"TrainingAnimation({len(self.frames)} frames, epochs {first}..{last}, {self.fps} fps)"

    def _render(self, writer: Any, target: Path, hold: int = 0) -> None:
        """Every frame into ``writer``, the last one ``hold`` more times."""
        import matplotlib

        # A 'tight' bounding box (a common setting) would give frames of different sizes.
        with matplotlib.rc_context({"savefig.bbox": None}), writer.saving(self.figure, str(target), self.dpi):
            for k in range(len(self.frames)):
                self._draw(k)
                writer.grab_frame()
            for _ in range(hold):
                writer.grab_frame()

    def to_html(self) -> str:
        """The player (frames, slider and buttons) as one HTML fragment with no external links."""
        if self._html is None:
            from tempfile import TemporaryDirectory

            from matplotlib.animation import HTMLWriter

            with TemporaryDirectory() as folder:
                target = Path(folder, "animation.html")
                self._render(HTMLWriter(fps=self.fps, embed_frames=True, default_mode="once"), target)
                self._html = _still_picture(_smaller_frames(_offline(target.read_text(encoding="utf-8"))))
        return self._html

    def _repr_html_(self) -> str:
        return self.to_html()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``path``: a GIF (``.gif``) or a web page with the player (``.html``).

        The file replaces an old one atomically (`microgradnn.fileio.write_atomic`)."""
        name = "TrainingAnimation.save(path)"
        target = Path(check_path(name, path))
        suffix = target.suffix.lower()
        if suffix == ".gif":
            from tempfile import TemporaryDirectory

            from matplotlib.animation import PillowWriter

            # Pillow writes the GIF to a file name of its own; a private folder holds it
            # until it is complete, and only then does it replace the user's file.
            with TemporaryDirectory() as folder:
                rendered = Path(folder, "training.gif")
                # Hold the end of training for about a second before the GIF starts
                # again; Pillow merges the repeated frames into one that is shown longer.
                self._render(PillowWriter(fps=self.fps), rendered, hold=self.fps)
                write_atomic(target, rendered.read_bytes(), name=name)
        elif suffix in (".html", ".htm"):
            from html import escape

            page = (
                f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                f"<title>{escape(self.title)}</title>\n</head>\n<body>\n{self.to_html()}\n</body>\n</html>\n"
            )
            write_atomic(target, page, name=name)
        else:
            raise ValueError(f"{name} must end in .gif or .html, got {str(path)!r}")
        return target


def animate_training(
    history: Any,
    X: Sequence[Sequence[float]],
    y: Sequence[Any],
    *,
    path: str | os.PathLike[str] | None = None,
    fps: int = 4,
    log_scale: bool = False,
    dpi: int = 80,
    title: str | None = None,
) -> TrainingAnimation:
    """The decision boundary and the loss curve moving together, one frame per recorded epoch.

    ``history`` comes from ``fit(model, X, y, ..., record_every=k)`` on 2-D data, which
    evaluated the model on a grid every k epochs; nothing is trained or evaluated again here.
    ``X, y`` are drawn as points on every frame. Given ``path``, the animation is also saved: a
    GIF for ``.gif``, a self-contained web page with a slider for ``.html``. ``fps`` is frames per
    second; ``dpi`` sets the pixel size (the figure is 9 × 3.6 inches); ``title`` goes in front
    of each frame's heading ("epoch 25 of 100 · loss 0.0987 · accuracy 98%").
    """
    frames = getattr(history, "frames", None)
    if not isinstance(frames, list) or not hasattr(history, "loss"):
        raise TypeError(
            f"animate_training: expected the History returned by fit, got {type(history).__name__}"
        )
    if not frames:
        raise ValueError(
            "animate_training: the history has no frames; record them while training with "
            "fit(model, X, y, ..., record_every=5)"
        )
    if not X or any(len(p) != 2 for p in X):
        raise ValueError("animate_training: X must be a non-empty list of 2-D points")
    if len(X) != len(y):
        raise ValueError(f"animate_training: X has {len(X)} points but y has {len(y)} labels")
    if isinstance(fps, bool) or not isinstance(fps, int) or not 1 <= fps <= 50:
        raise ValueError(
            f"animate_training: fps must be a whole number of frames per second in 1..50, got {fps!r}"
        )
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 20 <= dpi <= 600:
        raise ValueError(f"animate_training: dpi must be an integer in 20..600, got {dpi!r}")
    if path is not None:
        suffix = Path(check_path("animate_training(path)", path)).suffix.lower()
        if suffix not in (".gif", ".html", ".htm"):
            raise ValueError(f"animate_training: path must end in .gif or .html, got {str(path)!r}")
    try:
        labels = [_class_of_label(t) for t in y]
    except ValueError as e:
        raise ValueError(str(e).replace("plot_decision_boundary", "animate_training")) from None

    plt = _pyplot()
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(9.0, 3.6), dpi=dpi, width_ratios=(1.0, 1.15))
    plt.close(fig)  # shown by the animation, never as a static figure of its own
    xs = [float(p[0]) for p in X]
    ys = [float(p[1]) for p in X]
    # The classes of every frame and label, fixed for the whole run, so colours never shift.
    classes = sorted(set(labels) | {_class_of(s) for f in frames for row in f.scores for s in row})
    cmap = plt.get_cmap("coolwarm" if len(classes) <= 2 else "Spectral")
    # The colours plot_decision_boundary gives each class's region.
    low, high = classes[0] - 0.5, classes[-1] + 0.5
    colour = {c: cmap((c - low) / (high - low)) for c in classes}

    losses = list(history.loss)
    total = len(losses)
    ax_loss.plot(range(1, total + 1), losses, color="0.8", linewidth=1.0, label="the whole run")
    (so_far,) = ax_loss.plot([], [], color="tab:blue", linewidth=2.0, label="so far")
    # clip_on=False: the marker of the last epoch sits on the right edge of the axes.
    (now,) = ax_loss.plot([], [], "o", color="tab:red", markersize=6, clip_on=False, zorder=3)
    ax_loss.set_xlim(0, max(total, 1))
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    if log_scale:
        ax_loss.set_yscale("log")
    ax_loss.set_title("training loss")
    ax_loss.grid(True, alpha=0.3)
    ax_loss.legend(loc="upper right", fontsize=8)
    heading = fig.suptitle("")
    metric_name = getattr(history, "metric_name", None) or "metric"

    # The points, the limits and the labels stay; each frame replaces only the boundary.
    ax.scatter(
        xs,
        ys,
        c=labels,
        cmap=cmap,
        vmin=classes[0],
        vmax=classes[-1],
        edgecolors="black",
        linewidths=0.5,
        s=22,
        zorder=3,
    )
    ax.set_xlim(frames[0].xs[0], frames[0].xs[-1])
    ax.set_ylim(frames[0].ys[0], frames[0].ys[-1])
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title("decision boundary")
    boundary: list[Any] = []

    def draw(k: int) -> None:
        frame = frames[k]
        while boundary:
            _remove_contours(boundary.pop())
        for c, margin in _margins(frame.scores):
            finite = [m for row in margin for m in row if math.isfinite(m)]
            if not finite or max(finite) <= 0.0:
                continue  # the class wins nowhere in this frame
            # Class c's region is where its margin is > 0, each region drawn from the model's
            # scores interpolated over the grid, so neighbours meet exactly on one line.
            levels = [0.0, max(finite) + 1.0]
            boundary.append(
                ax.contourf(frame.xs, frame.ys, margin, levels=levels, colors=[colour[c]], alpha=0.35)
            )
            if min(finite) < 0.0:
                line = ax.contour(frame.xs, frame.ys, margin, levels=[0.0], colors="black", linewidths=1.2)
                boundary.append(line)
        e = frame.epoch
        so_far.set_data(range(1, e + 1), losses[:e])
        now.set_data([e], [losses[e - 1]]) if e else now.set_data([], [])
        parts = [f"epoch {e} of {total}" if e else f"before training (epoch 0 of {total})"]
        if frame.loss is not None:
            parts.append(f"loss {frame.loss:.4g}")
        if frame.metric is not None:
            shown = f"{frame.metric:.0%}" if metric_name == "accuracy" else f"{frame.metric:.3g}"
            parts.append(f"{metric_name} {shown}")
        heading.set_text((f"{title}: " if title else "") + " · ".join(parts))

    draw(len(frames) - 1)
    # Lay the figure out once, on the last frame, so that the axes stay put from frame to frame.
    # (fig.tight_layout() would leave a layout engine on the figure, and with one, every saved
    # frame is drawn twice.)
    from matplotlib.layout_engine import TightLayoutEngine

    TightLayoutEngine().execute(fig)
    animation = TrainingAnimation(fig, draw, frames, fps, dpi, title or "Training")
    if path is not None:
        animation.save(path)
    return animation
