"""``microgradnn demo``: micrograd's demo, watchable, with everything it makes saved to a folder.

Trains ``MLP(2, [16, 16, 1])`` on 100 two-moons points with the max-margin hinge loss plus
1e-4·L2, by full-batch SGD whose learning rate falls linearly from 1.0 to 0.1 over 100 steps
(micrograd's demo notebook), shows a progress bar, prints the loss and accuracy of the last
epoch (measured before its update, as the bar shows them) and of the final model, and writes
into the output folder:

- ``model.json``: the trained model (load it with ``microgradnn.nn.load_model``);
- ``loss.png``: the loss (and accuracy) per epoch;
- ``decision_boundary.png``: the regions the network assigns to each class;
- ``training.gif``: the decision boundary and the loss curve moving together as it trains;
- ``neuron.svg``: the computation graph of one neuron with its data and gradients
  (``neuron.dot``, the Graphviz source, when Graphviz is not installed);
- ``neuron.html``: the same graph as a page to step through backpropagation in a browser.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

from microgradnn.data import DATASETS
from microgradnn.engine import Value, topological_order
from microgradnn.nn import ACTIVATIONS, MLP
from microgradnn.optim import SGD, Adam, Constant, LinearDecay, Optimizer
from microgradnn.train import History, evaluate, fit

__all__ = ["add_parser", "run"]

DEFAULT_OUT = "microgradnn-demo"
DEFAULT_SEED = 1337
DEFAULT_LR = {"sgd": 1.0, "adam": 0.05}
DATASET_NAMES = {"moons": "two-moons", "circles": "two-circles", "xor": "XOR", "spiral": "two-spiral"}
DEMO_INSTALL = "pip install 'microgradnn[demo]'"
# training.gif shows the model this many times, evenly spread over the run (plus before training):
# enough to see the boundary move, few enough to keep the demo quick.
GIF_FRAMES = 10


# ---------------------------------------------------------------------- argument types
def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def _samples(text: str) -> int:
    n = _positive_int(text)
    if n < 4:
        raise argparse.ArgumentTypeError(f"need at least 4 samples, got {text!r}")
    return n


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _float(text: str, *, positive: bool) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(x) or x < 0.0 or (positive and x == 0.0):
        raise argparse.ArgumentTypeError(
            f"expected a {'positive' if positive else 'non-negative'} number, got {text!r}"
        )
    return x


def _positive_float(text: str) -> float:
    return _float(text, positive=True)


def _nonnegative_float(text: str) -> float:
    return _float(text, positive=False)


def _widths(text: str) -> list[int]:
    parts = [p.strip() for p in text.split(",")]
    widths = []
    for p in parts:
        if not p.isdigit() or int(p) < 1:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated positive layer widths such as 16,16, got {text!r}"
            )
        widths.append(int(p))
    return widths


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``demo`` subcommand to the ``microgradnn`` command's subparsers."""
    parser = subparsers.add_parser(
        "demo",
        help="train a small network on a toy 2-D dataset (micrograd's demo) and save the model and pictures",
        description=(
            "Train an MLP on a toy 2-D dataset the way micrograd's demo does (hinge loss + L2, "
            "full-batch gradient descent), show progress, print the loss and accuracy before and after "
            "the last update, and "
            "write the trained model (JSON), the loss curve and decision boundary (PNG) and the "
            "computation graph of one neuron (SVG, and an HTML page to step through it) into a folder."
        ),
        epilog=f"Everything it writes needs: {DEMO_INSTALL}",
    )
    arg = parser.add_argument
    arg(
        "--out",
        metavar="DIR",
        default=DEFAULT_OUT,
        help=f"folder to write into, made if needed (default: ./{DEFAULT_OUT}/)",
    )
    arg(
        "--dataset",
        choices=[*DATASET_NAMES, "digits"],
        default="moons",
        help="the toy dataset to learn (default: moons); digits: 1,797 handwritten 8×8 images, 10 classes "
        "(needs pip install 'microgradnn[digits]'; trains compiled, see --compiled)",
    )
    arg("--samples", type=_samples, default=100, metavar="N", help="number of points (default: 100)")
    arg(
        "--noise",
        type=_nonnegative_float,
        default=None,
        metavar="STD",
        help="noise of the dataset (default: the dataset's own; 0.1 for moons)",
    )
    arg(
        "--hidden",
        type=_widths,
        default=[16, 16],
        metavar="W1,W2,...",
        help="hidden layer widths; an output layer of 1 neuron is added (default: 16,16)",
    )
    arg(
        "--activation",
        choices=[a for a in ACTIVATIONS if a != "linear"],
        default="relu",
        help="activation of the hidden layers (default: relu)",
    )
    arg("--epochs", type=_positive_int, default=100, metavar="N", help="passes over the data (default: 100)")
    arg("--optimizer", choices=["sgd", "adam"], default="sgd", help="gradient descent or Adam (default: sgd)")
    arg(
        "--lr",
        type=_positive_float,
        default=None,
        help="starting learning rate (default: 1.0 for sgd, 0.05 for adam)",
    )
    arg(
        "--schedule",
        choices=["linear", "constant"],
        default="linear",
        help="linear: the learning rate falls linearly to a tenth of --lr by the last step, as in "
        "micrograd's demo (default: linear)",
    )
    arg(
        "--batch-size",
        type=_positive_int,
        default=None,
        metavar="N",
        help="samples per step (default: all of them, as in micrograd's demo)",
    )
    arg(
        "--l2",
        type=_nonnegative_float,
        default=1e-4,
        metavar="ALPHA",
        help="strength α of the L2 regularisation α·Σp² (default: 1e-4)",
    )
    arg(
        "--seed",
        type=_int,
        default=DEFAULT_SEED,
        help=f"seed of the data and of the initial weights (default: {DEFAULT_SEED})",
    )
    arg("--no-progress", action="store_true", help="do not show the progress bar")
    arg(
        "--compiled",
        action="store_true",
        help="trace the network once and train on numpy arrays (same numbers, much faster; "
        "always on for digits)",
    )
    parser.set_defaults(run=run)
    return parser


# ---------------------------------------------------------------------- the demo
def _error(message: str) -> int:
    print(f"microgradnn demo: error: {message}", file=sys.stderr)
    return 1


def _optimizer(args: argparse.Namespace, model: MLP) -> tuple[Optimizer, str]:
    lr = DEFAULT_LR[args.optimizer] if args.lr is None else args.lr
    steps_per_epoch = 1 if args.batch_size is None else math.ceil(args.samples / args.batch_size)
    if args.schedule == "linear":
        schedule: Any = LinearDecay(lr, lr / 10.0, args.epochs * steps_per_epoch)
        described = f"learning rate {lr:g} → {lr / 10.0:g}"
    else:
        schedule = Constant(lr)
        described = f"learning rate {lr:g}"
    cls = SGD if args.optimizer == "sgd" else Adam
    return cls(model.parameters(), lr=schedule), f"{cls.__name__}, {described}"


def _use_agg_backend() -> None:
    """Draw off-screen; only when nothing has chosen a backend yet (a notebook keeps its own)."""
    if "matplotlib.pyplot" in sys.modules:
        return
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.use("Agg")


def _write_plots(
    out: Path, model: MLP, history: History, X: list, y: list, written: list, skipped: list, dataset: str
) -> None:
    from microgradnn import plot

    _use_agg_backend()
    try:
        plot.plot_loss(history, path=out / "loss.png", title="Training loss and accuracy")
        written.append(out / "loss.png")
        title = f"MLP(2, {model.nouts}) on {len(X)} {DATASET_NAMES[dataset]} points"
        plot.plot_decision_boundary(model, X, y, path=out / "decision_boundary.png", title=title)
        written.append(out / "decision_boundary.png")
        plot.animate_training(history, X, y, path=out / "training.gif")
        written.append(out / "training.gif")
    except plot.MissingMatplotlibError:
        skipped.append(
            f"loss.png, decision_boundary.png and training.gif: matplotlib is not installed ({DEMO_INSTALL})"
        )


def _chosen_neuron(model: MLP, X: list) -> tuple[int, int]:
    """(neuron, sample) of the first layer whose pre-activation is positive, so that gradients
    flow through the ReLU and the picture shows non-zero grads; (0, 0) if there is none."""
    first = model.layers[0].neurons
    for j, neuron in enumerate(first):
        for i, x in enumerate(X):
            if sum(w.data * xi for w, xi in zip(neuron.w, x)) + neuron.b.data > 0.0:
                return j, i
    return 0, 0


def _write_neuron_graph(out: Path, model: MLP, X: list, written: list, skipped: list) -> None:
    from microgradnn.viz import RenderError, draw_dot, explore, save

    j, i = _chosen_neuron(model, X)
    neuron = model.layers[0].neurons[j]
    inputs = [Value(v, label=f"x{k + 1}") for k, v in enumerate(X[i])]
    # Short names that match the inputs' (w1 multiplies x1), so that the dot node can list
    # its products; the output keeps the neuron's name in the model. Restored after drawing.
    names = [p.label for p in neuron.parameters()]
    for k, w in enumerate(neuron.w):
        w.label = f"w{k + 1}"
    neuron.b.label = "b"
    model.zero_grad()
    output = neuron(inputs)
    output.label = f"layers.0.neurons.{j}"
    # Name the weighted sum and the pre-activation, found by their operations in the graph
    # (a neuron is activation(dot(w, x) + b)), not by where they sit in `_prev`.
    for node in topological_order(output):
        if node._op == "dot":
            node.label = "w·x"
        elif node._op == "+":
            node.label = "w·x + b"
    output.backward()
    drawing = draw_dot(output)
    explorer = explore(output)
    for p, name in zip(neuron.parameters(), names):
        p.label = name
    model.zero_grad()  # the drawing's backward added to the parameters' gradients
    try:
        written.append(save(drawing, out / "neuron.svg"))
        written.append(explorer.save(out / "neuron.html"))
    except RenderError:
        written.append(save(drawing, out / "neuron.dot"))
        skipped.append(
            "neuron.svg and neuron.html: Graphviz is not installed, wrote its source neuron.dot instead "
            f"({DEMO_INSTALL})"
        )


def run(args: argparse.Namespace) -> int:
    """Run the demo with parsed arguments; returns the exit status."""
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"microgradnn demo: error: --out {str(out)!r} exists and is not a folder", file=sys.stderr)
        return 2
    try:  # find out now, not after training, that the folder cannot be made
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return _error(f"cannot write into {str(out)!r}: {e.strerror or e}")
    if args.dataset == "digits":
        return _run_digits(args, out)
    make = DATASETS[args.dataset]
    data_kwargs: dict[str, Any] = {"seed": args.seed}
    if args.noise is not None:
        data_kwargs["noise"] = args.noise
    X, y = make(args.samples, **data_kwargs)
    model = MLP(2, [*args.hidden, 1], activation=args.activation, seed=args.seed)
    optimizer, described = _optimizer(args, model)
    print(
        f"Training MLP(2, {[*args.hidden, 1]}) ({model.num_parameters()} parameters) on {len(X)} "
        f"{DATASET_NAMES[args.dataset]} points: hinge loss + {args.l2:g}·L2, {described}, "
        f"{args.epochs} epoch{'s' if args.epochs != 1 else ''}",
        flush=True,
    )
    start = time.perf_counter()
    history = fit(
        model,
        X,
        y,
        loss="hinge",
        optimizer=optimizer,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        l2=args.l2,
        progress=not args.no_progress,
        record_every=max(1, args.epochs // GIF_FRAMES),
        compiled=args.compiled,
    )
    seconds = time.perf_counter() - start
    loss, acc = evaluate(model, X, y, loss="hinge", l2=args.l2, compiled=args.compiled)
    correct = round((acc or 0.0) * len(X))
    # The bar shows each epoch's loss as measured during it, before that epoch's last update;
    # the trained model is measured once more, after it, so the two numbers differ a little.
    print(f"Trained in {seconds:.2f} s.")
    print(
        f"  last epoch, before its update (the progress bar): loss {history.loss[-1]:.4g}, "
        f"accuracy {history.metric[-1]:.1%}"
    )
    print(f"  final model, after the last update: loss {loss:.4g}, accuracy {acc:.1%} ({correct}/{len(X)})")

    written: list[Path] = []
    skipped: list[str] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        written.append(model.save(out / "model.json"))
        _write_plots(out, model, history, X, y, written, skipped, args.dataset)
        _write_neuron_graph(out, model, X, written, skipped)
    except OSError as e:
        return _error(f"cannot write into {str(out)!r}: {e.strerror or e}")
    print(f"Wrote {len(written)} file{'s' if len(written) != 1 else ''}:")
    for path in written:
        print(f"  {path}")
    for note in skipped:
        print(f"Skipped {note}")
    return 0


# The digits' own settings, used where the options keep the toy datasets' defaults.
DIGITS: dict[str, Any] = {"hidden": [32], "epochs": 20, "lr": 0.01, "batch_size": 64, "held_out": 360}


def _run_digits(args: argparse.Namespace, out: Path) -> int:
    """Handwritten digits: an MLP on 64 pixels, softmax cross-entropy, Adam, compiled; the
    accuracy is measured on 360 images it never trained on."""
    from microgradnn.data import load_digits

    try:
        X, y = load_digits(seed=args.seed)
    except ImportError as e:
        return _error(str(e))
    hidden = DIGITS["hidden"] if args.hidden == [16, 16] else args.hidden
    epochs = DIGITS["epochs"] if args.epochs == 100 else args.epochs
    lr = DIGITS["lr"] if args.lr is None else args.lr
    batch_size = args.batch_size or DIGITS["batch_size"]
    n_train = len(X) - DIGITS["held_out"]
    model = MLP(64, [*hidden, 10], activation=args.activation, seed=args.seed)
    print(
        f"Training MLP(64, {[*hidden, 10]}) ({model.num_parameters()} parameters) on {n_train} handwritten "
        f"digits, compiled: cross-entropy, Adam lr {lr:g}, batches of {batch_size}, {epochs} epochs",
        flush=True,
    )
    start = time.perf_counter()
    fit(model, X[:n_train], y[:n_train], loss="cross_entropy", optimizer="adam", lr=lr, epochs=epochs,
        batch_size=batch_size, seed=args.seed, progress=not args.no_progress, compiled=True)
    seconds = time.perf_counter() - start
    _, train_acc = evaluate(model, X[:n_train], y[:n_train], loss="cross_entropy", compiled=True)
    loss, acc = evaluate(model, X[n_train:], y[n_train:], loss="cross_entropy", compiled=True)
    correct = round((acc or 0.0) * (len(X) - n_train))
    print(
        f"Trained in {seconds:.2f} s: training accuracy {train_acc:.1%}; held-out {len(X) - n_train} "
        f"images: loss {loss:.4g}, accuracy {acc:.1%} ({correct}/{len(X) - n_train})"
    )
    try:
        path = model.save(out / "model.json")
    except OSError as e:
        return _error(f"cannot write into {str(out)!r}: {e.strerror or e}")
    print(f"Wrote 1 file:\n  {path}")
    return 0
