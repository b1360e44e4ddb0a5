"""The compiled path (microgradnn.compiled) against batched PyTorch and hand-written numpy.

    pip install -e '.[bench]'            # torch==2.13.0 (CPU); without it the PyTorch rows are skipped
    python benchmarks/compiled.py        # a few minutes
    python benchmarks/compiled.py --quick
    python benchmarks/compiled.py --before /path/to/an/older/checkout   # its fit(compiled=True) too

What is timed, for the same network with the same starting weights, one thread, float64:

* **fit(compiled=True) per epoch**: ``fit(model, X, y, ..., epochs=E, compiled=True)`` divided
  by E, as users call it (full batch: one step per epoch, progress bar off). The plan is
  cached per model, so the first call's tracing is not in the rounds that follow;
* **compiled step**: the generated function alone (``Compiled.run``) on the prepared batch;
* **hand-written numpy**: the same forward, backward and SGD update written by hand;
* **PyTorch**: ``nn.Linear`` layers on a (batch, features) tensor, the same loss, backward and
  ``p -= lr * p.grad`` (``torch.set_num_threads(1)``).

Workloads: micrograd's moons demo (MLP(2, [16, 16, 1]), 100 points, mean hinge + 1e-4·Σp²),
MLP(64, [32, 32, 10]) on 64 samples with cross-entropy, and the same at width 512 on 8,192
samples. Then: MLP(784, [128, 10]) compile + first epoch on 64 samples (10 classes), and
``predict(compiled=True)`` on 10,000 moons samples (second call) against PyTorch's forward.
Timings are medians over rounds; in each round the cases run one after the other (their order
alternates), so a busy machine slows them alike. Not a test: nothing here is asserted.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# One thread for numpy's matrix products too, as for PyTorch: set before numpy loads its BLAS.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
L2, LR = 1e-4, 0.05
SIZES = {
    "full": {"rounds": 7, "min_time": 0.3},
    "quick": {"rounds": 3, "min_time": 0.15},
    "smoke": {"rounds": 1, "min_time": 0.0},
}


def torch_or_none() -> Any:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


# ---------------------------------------------------------------------- the workloads
def workload(name: str) -> tuple[Any, Any, Any, str]:
    """(X, y, nouts, loss) as numpy arrays; the model is MLP(X.shape[1], nouts, seed=...)."""
    sys.path.insert(0, str(ROOT))
    from microgradnn.data import make_moons

    if name.startswith("moons"):
        n = int(name.split(":")[1].removesuffix("smoke")) if ":" in name else 100
        X, y = make_moons(n, noise=0.1, seed=1337)
        width = 4 if name.endswith("smoke") else 16
        return np.asarray(X), np.asarray(y, dtype=float), [width, width, 1], "hinge"
    n, width, nin = {"mlp64": (64, 32, 64), "wide": (8192, 512, 64), "mlp64smoke": (16, 4, 8)}[name]
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n, nin))
    y = rng.integers(0, 10, n)
    return X, y, [width, width, 10], "cross_entropy"


def make_model(X: Any, nouts: list[int]) -> Any:
    from microgradnn import MLP

    return MLP(X.shape[1], nouts, seed=1337)


def weights_of(model: Any) -> list[tuple[Any, Any]]:
    return [
        (
            np.array([[w.data for w in n.w] for n in layer.neurons]),
            np.array([n.b.data for n in layer.neurons]),
        )
        for layer in model.layers
    ]


def fit_epochs(name: str, epochs: int) -> Callable[[], float]:
    """fit(compiled=True) on a fresh model (plan compiled by a first call); returns seconds per epoch."""
    from microgradnn.train import fit

    X, y, nouts, loss = workload(name)
    model = make_model(X, nouts)
    options = dict(loss=loss, optimizer="sgd", lr=LR, l2=L2, progress=False, compiled=True)
    fit(model, X, y, epochs=1, **options)

    def run() -> float:
        start = time.perf_counter()
        fit(model, X, y, epochs=epochs, **options)
        return (time.perf_counter() - start) / epochs

    return run


def compiled_step(name: str) -> Callable[[], None]:
    from microgradnn.compiled import compile_model
    from microgradnn.losses import cross_entropy, hinge

    X, y, nouts, loss = workload(name)
    model = make_model(X, nouts)
    step = compile_model(model, hinge if loss == "hinge" else cross_entropy, X[0].tolist(), y[0].item())
    args = step.batch(X, y)
    step.load()
    return lambda: step.run(args, backward=True) and None


def numpy_step(name: str) -> Callable[[], None]:
    """The same step written by hand in numpy: forward, backward, L2 and SGD."""
    X, y, nouts, loss = workload(name)
    layers = weights_of(make_model(X, nouts))
    params = [a for pair in layers for a in pair]
    n = len(X)
    if loss == "cross_entropy":
        onehot = np.eye(nouts[-1])[y.astype(int)]

    def step() -> None:
        acts = [X]
        for i, (W, b) in enumerate(layers):
            z = acts[-1] @ W.T
            z += b
            if i < len(layers) - 1:
                np.maximum(z, 0.0, out=z)
            acts.append(z)
        out = acts[-1]
        if loss == "hinge":
            margin = 1.0 - y * out[:, 0]
            _ = np.maximum(margin, 0.0).mean()
            g = ((margin > 0) * -y / n)[:, None]
        else:
            e = np.exp(out - out.max(axis=1, keepdims=True))
            s = e.sum(axis=1, keepdims=True)
            _ = (np.log(s[:, 0]) - (out * onehot).sum(axis=1)).mean()
            g = (e / s - onehot) / n
        _ = L2 * sum(float((p * p).sum()) for p in params)
        grads = []
        for i in range(len(layers) - 1, -1, -1):
            W, _b = layers[i]
            grads.append((g.T @ acts[i], g.sum(axis=0)))
            if i:
                g = (g @ W) * (acts[i] > 0)
        for (W, b), (gW, gb) in zip(layers, reversed(grads)):
            W -= LR * (gW + 2 * L2 * W)
            b -= LR * (gb + 2 * L2 * b)

    return step


def torch_step(torch: Any, name: str) -> Callable[[], None]:
    X, y, nouts, loss = workload(name)
    layers = []
    for W, b in weights_of(make_model(X, nouts)):
        linear = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
    params = [p for linear in layers for p in linear.parameters()]
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y) if loss == "hinge" else torch.from_numpy(y.astype(np.int64))

    def step() -> None:
        h = Xt
        for i, linear in enumerate(layers):
            h = linear(h)
            if i < len(layers) - 1:
                h = torch.relu(h)
        data = (
            torch.relu(1 - yt * h[:, 0]).mean()
            if loss == "hinge"
            else torch.nn.functional.cross_entropy(h, yt)
        )
        total = data + L2 * sum((p * p).sum() for p in params)
        for p in params:
            p.grad = None
        total.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad

    return step


# ---------------------------------------------------------------------- timing
def per_call(fn: Callable[[], Any], min_time: float) -> float:
    fn()  # warm-up
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and n >= 3:
            return elapsed / n


def before_fit(checkout: Path, name: str, epochs: int) -> float:
    """fit(compiled=True) per epoch with another checkout's microgradnn, in a fresh process."""
    code = (
        "import os, sys, time\n"
        f"sys.path.insert(0, {str(checkout)!r}); sys.path.insert(1, {str(ROOT / 'benchmarks')!r})\n"
        "import compiled as bench\n"
        f"bench.ROOT = __import__('pathlib').Path({str(checkout)!r})\n"
        f"run = bench.fit_epochs({name!r}, {epochs}); run()\n"
        "print(min(run() for _ in range(3)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1e3:.3f} ms"


def ratio(a: float | None, b: float | None) -> str:
    return "–" if a is None or b is None else f"{a / b:.2f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--before", type=Path, help="an older checkout whose fit(compiled=True) is timed too")
    parser.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    args = parser.parse_args()
    size = SIZES["smoke" if args.smoke else "quick" if args.quick else "full"]
    rounds, min_time = size["rounds"], size["min_time"]
    torch = torch_or_none()
    out: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load before": " ".join(f"{v:.1f}" for v in os.getloadavg()),
            "numpy": np.__version__,
            "torch": torch.__version__ if torch else None,
        },
    }
    lines = [f"## Compiled path against batched PyTorch (one thread, float64), {out['date']}", ""]
    if torch is None:
        lines += ["(PyTorch is not installed: its rows are skipped; pip install 'microgradnn[bench]')", ""]

    # 1. one training step / one epoch, side by side
    cases = {
        "moons MLP(2, [16, 16, 1]), 100 points, hinge + L2": ("moons", 200),
        "MLP(64, [32, 32, 10]), 64 samples, cross-entropy": ("mlp64", 200),
        "MLP(64, [512, 512, 10]), 8,192 samples, cross-entropy": ("wide", 3),
    }
    if args.smoke:
        cases = {"moons MLP(2, [4, 4, 1]), 25 points, hinge": ("moons:25smoke", 3),
                 "MLP(8, [4, 4, 10]), 16 samples": ("mlp64smoke", 3)}  # fmt: skip
    before_header = " | before: fit per epoch | before/PyTorch" if args.before else ""
    lines += [
        "| workload | fit(compiled=True) per epoch | compiled step | hand-written numpy | PyTorch step | "
        f"fit/PyTorch | numpy/PyTorch{before_header} |",
        "|---|---|---|---|---|---|---|" + ("---|---|" if args.before else ""),
    ]
    for title, (name, epochs) in cases.items():
        runs: dict[str, Callable[[], Any]] = {
            "numpy": numpy_step(name),
            "step": compiled_step(name),
        }
        if torch is not None:
            runs["PyTorch"] = torch_step(torch, name)
        fit_run = fit_epochs(name, epochs)
        times: dict[str, list[float]] = {key: [] for key in [*runs, "fit", "before"]}
        for r in range(rounds):
            names = list(runs) if r % 2 == 0 else list(runs)[::-1]
            for key in names:
                times[key].append(per_call(runs[key], min_time))
            times["fit"].append(fit_run())
            if args.before:
                times["before"].append(before_fit(args.before, name, epochs))
        t = {key: statistics.median(v) if v else None for key, v in times.items()}
        out[title] = t
        pt = t.get("PyTorch")
        row = (
            f"| {title} | {ms(t['fit'])} | {ms(t['step'])} | {ms(t['numpy'])} | {ms(pt)} | "
            f"{ratio(t['fit'], pt)} | {ratio(t['numpy'], pt)}"
        )
        if args.before:
            row += f" | {ms(t['before'])} | {ratio(t['before'], pt)}"
        lines.append(row + " |")

    # 2. compile + first epoch of a wide first layer (the tracing cost)
    from microgradnn.train import fit, predict

    nin, hidden, n = (784, 128, 64) if not args.smoke else (20, 8, 16)
    rng = np.random.default_rng(0)
    X = rng.random((n, nin))
    y = np.arange(n) % 10
    model = make_model(X, [hidden, 10])
    start = time.perf_counter()
    fit(model, X, y, loss="cross_entropy", epochs=1, progress=False, compiled=True)
    seconds = time.perf_counter() - start
    out[f"compile + first epoch MLP({nin}, [{hidden}, 10])"] = seconds
    lines += ["", "| compile + first epoch, 10 classes, 64 samples | seconds |", "|---|---|"]
    lines.append(f"| MLP({nin}, [{hidden}, 10]) | {seconds:.3f} |")

    # 3. predict on 10,000 samples, second call, against PyTorch's forward
    n = 10_000 if not args.smoke else 500
    Xp, _, nouts, _ = workload(f"moons:{n}")
    model = make_model(Xp, nouts)
    predict(model, Xp, compiled=True)  # the first call compiles
    cases2: dict[str, Callable[[], Any]] = {"predict": lambda: predict(model, Xp, compiled=True)}
    if torch is not None:
        layers = []
        for W, b in weights_of(model):
            linear = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W))
                linear.bias.copy_(torch.from_numpy(b))
            layers.append(linear)
        Xt = torch.from_numpy(Xp)

        def forward() -> Any:
            with torch.no_grad():
                h = Xt
                for i, linear in enumerate(layers):
                    h = linear(h)
                    if i < len(layers) - 1:
                        h = torch.relu(h)
                return h

        cases2["PyTorch forward"] = forward
    times2: dict[str, list[float]] = {key: [] for key in cases2}
    for r in range(rounds):
        for key in cases2 if r % 2 == 0 else list(cases2)[::-1]:
            times2[key].append(per_call(cases2[key], min_time))
    t2 = {key: statistics.median(v) for key, v in times2.items()}
    out[f"predict {n}"] = t2
    lines += ["", f"| {n:,} moons samples | predict(compiled=True), 2nd call | PyTorch forward | ratio |",
              "|---|---|---|---|"]  # fmt: skip
    lines.append(
        f"| MLP(2, {nouts}) | {ms(t2['predict'])} | {ms(t2.get('PyTorch forward'))} | "
        f"{ratio(t2['predict'], t2.get('PyTorch forward'))} |"
    )
    out["machine"]["load after"] = " ".join(f"{v:.1f}" for v in os.getloadavg())
    lines += ["", f"(machine: {out['machine']})"]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
