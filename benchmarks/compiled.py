"""The compiled batch path (microgradnn.compiled) against batched PyTorch, side by side.

    pip install -e '.[bench]'            # torch==2.13.0 (CPU); without it the PyTorch rows are skipped
    python benchmarks/compiled.py        # about a minute
    python benchmarks/compiled.py --quick

One training step on the whole batch, for the same network with the same weights:

* **compiled, .grad on Values**: ``step(X, y)`` sets every parameter's ``.grad``, then SGD on
  the Values (what ``fit(compiled=True)`` does);
* **compiled, arrays**: ``step.step_arrays(X, y, weights=w)`` and SGD on the array ``w``: the
  same arithmetic without reading and writing one Value per parameter;
* **PyTorch**: ``nn.Linear`` layers on a (batch, features) tensor, the same loss, backward and
  ``p -= lr * p.grad``, one thread (``torch.set_num_threads(1)``).

float64 and float32, one thread for numpy too. Workloads: micrograd's moons demo
(MLP(2, [16, 16, 1]), 100 points, mean hinge loss + 1e-4·Σp²) and MLP(64, [32, 32, 10]) on
64 random samples with softmax cross-entropy. Then the time to trace and plan the digits
network, and how the compiled step's time grows with the batch size (25 … 10,000) and the
width. Timings: medians over rounds, each round a back-to-back loop of steps after a warm-up,
wall clock; the workloads are interleaved within each round. Not a test: nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# One thread for numpy's matrix products too, as for PyTorch (and a busy machine's BLAS threads
# would otherwise fight over the cores): set before numpy loads its BLAS.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without installing

from microgradnn import MLP  # noqa: E402
from microgradnn.compiled import compile_model, compile_step  # noqa: E402
from microgradnn.data import make_moons  # noqa: E402
from microgradnn.losses import cross_entropy, hinge  # noqa: E402

BATCHES = [25, 100, 1000, 10_000]
SIZES = {
    "full": {"rounds": 5, "min_time": 0.2, "batches": BATCHES, "widths": [16, 32, 64, 128, 256]},
    "quick": {"rounds": 3, "min_time": 0.1, "batches": BATCHES, "widths": [16, 64, 256]},
    "smoke": {"rounds": 1, "min_time": 0.0, "batches": [25, 100], "widths": [8]},
}
L2, LR = 1e-4, 0.05


def torch_or_none() -> Any:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


# ---------------------------------------------------------------------- the workloads
def moons_case(n: int = 100, width: int = 16) -> tuple[MLP, Callable, list, list, str]:
    X, y = make_moons(n, noise=0.1, seed=1337)
    model = MLP(2, [width, width, 1], seed=1337)
    return model, lambda x, t: hinge([model(x)], [t]), X, y, "hinge"


def mlp_case(n: int = 64, width: int = 32, nin: int = 64) -> tuple[MLP, Callable, list, list, str]:
    rng = random.Random(3)
    X = [[rng.gauss(0, 1) for _ in range(nin)] for _ in range(n)]
    y = [rng.randrange(10) for _ in range(n)]
    model = MLP(nin, [width, width, 10], seed=3)
    return model, lambda x, t: cross_entropy([model(x)], [t]), X, y, "cross_entropy"


def compiled_steps(model: MLP, fn: Callable, X: list, y: list, dtype: str) -> dict[str, Callable[[], float]]:
    params = model.parameters()
    step = compile_step(fn, params, X[0], y[0], dtype=dtype)
    Xa, ya = np.asarray(X, dtype=dtype), np.asarray(y)
    start = [p.data for p in params]
    w = np.array(start, dtype=dtype)

    def on_values() -> float:
        loss = step(Xa, ya) + sum(p.data * p.data for p in params) * L2
        for p in params:
            p.data -= LR * (p.grad + 2 * L2 * p.data)
        return loss

    def on_arrays() -> float:
        loss, g = step.step_arrays(Xa, ya, weights=w)
        w[:] -= LR * (g + 2 * L2 * w)
        return loss + float(w @ w) * L2

    return {"compiled, .grad on Values": on_values, "compiled, arrays": on_arrays}


def torch_step(torch: Any, model: MLP, X: list, y: list, loss: str, dtype: str) -> Callable[[], float]:
    """The same network as nn.Linear layers, the weights copied from the microgradnn model."""
    tdtype = getattr(torch, dtype)
    layers = []
    for layer in model.layers:
        linear = torch.nn.Linear(len(layer.neurons[0].w), len(layer.neurons), dtype=tdtype)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=tdtype))
            linear.bias.copy_(torch.tensor([n.b.data for n in layer.neurons], dtype=tdtype))
        layers.append(linear)
    params = [p for linear in layers for p in linear.parameters()]
    Xt = torch.tensor(X, dtype=tdtype)
    yt = torch.tensor(y, dtype=tdtype if loss == "hinge" else torch.long)

    def step() -> float:
        h = Xt
        for i, linear in enumerate(layers):
            h = linear(h)
            if i < len(layers) - 1:
                h = torch.relu(h)
        if loss == "hinge":
            data = torch.relu(1 - yt * h[:, 0]).mean()
        else:
            data = torch.nn.functional.cross_entropy(h, yt)
        total = data + L2 * sum((p * p).sum() for p in params)
        for p in params:
            p.grad = None
        total.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
        return total.item()

    return step


# ---------------------------------------------------------------------- timing
def per_step(step: Callable[[], float], min_time: float) -> float:
    step()  # warm-up
    n, start = 0, time.perf_counter()
    while True:
        step()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and n >= 3:
            return elapsed / n


def interleaved(cases: dict[str, Callable[[], float]], rounds: int, min_time: float) -> dict[str, float]:
    """Median seconds per step of each case; within a round the cases run one after the other."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for r in range(rounds):
        names = list(cases) if r % 2 == 0 else list(cases)[::-1]
        for name in names:
            times[name].append(per_step(cases[name], min_time))
    return {name: statistics.median(t) for name, t in times.items()}


def workload_cases(make: Callable, torch: Any, dtype: str) -> dict[str, Callable[[], float]]:
    model, fn, X, y, loss = make()
    cases = compiled_steps(model, fn, X, y, dtype)
    if torch is not None:  # a fresh copy of the same network: the same starting weights
        cases["PyTorch"] = torch_step(torch, make()[0], X, y, loss, dtype)
    return cases


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and widths")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    args = parser.parse_args()
    size = SIZES["smoke" if args.smoke else "quick" if args.quick else "full"]
    torch = torch_or_none()
    out: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load": " ".join(f"{v:.1f}" for v in os.getloadavg()),
            "numpy": np.__version__,
            "torch": torch.__version__ if torch else None,
        }
    }
    lines = ["## Compiled batch path against batched PyTorch (one thread)", ""]
    if torch is None:
        lines += ["(PyTorch is not installed: its rows are skipped; pip install 'microgradnn[bench]')", ""]

    # 1. the two training steps, float64 and float32
    lines += ["| workload | dtype | compiled, .grad on Values | arrays | PyTorch | arrays/PyTorch |"]
    lines += ["|---|---|---|---|---|---|"]
    workloads = {
        "moons MLP(2, [16, 16, 1]), 100 points, hinge": moons_case,
        "MLP(64, [32, 32, 10]), 64 samples, cross-entropy": mlp_case,
    }
    if args.smoke:
        workloads = {"moons MLP(2, [4, 4, 1]), 25 points, hinge": lambda: moons_case(25, 4)}
    for dtype in ("float64", "float32"):
        for name, make in workloads.items():
            t = interleaved(workload_cases(make, torch, dtype), size["rounds"], size["min_time"])
            out[f"{name} {dtype}"] = t
            pt = t.get("PyTorch")
            ratio = f"{t['compiled, arrays'] / pt:.2f}×" if pt else "–"
            lines.append(
                f"| {name} | {dtype} | {ms(t['compiled, .grad on Values'])} | {ms(t['compiled, arrays'])} | "
                f"{ms(pt) if pt else '–'} | {ratio} |"
            )

    # 2. trace + plan of the digits networks
    lines += ["", "| trace + plan | seconds |", "|---|---|"]
    for hidden in ([32], [32, 32]) if not args.smoke else ([4],):
        model = MLP(64, [*hidden, 10], seed=0)
        start = time.perf_counter()
        step = compile_model(model, cross_entropy, [0.5] * 64, 3)
        seconds = time.perf_counter() - start
        out[f"trace+plan MLP(64, {[*hidden, 10]})"] = seconds
        lines.append(f"| MLP(64, {[*hidden, 10]}), {len(step.trace.kind)} elements | {seconds:.3f} |")

    # 3. growth with the batch size (moons network) and the width (MLP(64, [w, w, 10]), 64 samples)
    lines += ["", "| compiled step (arrays, float64) | size | compiled | per sample | PyTorch |"]
    lines += ["|---|---|---|---|---|"]
    rounds, min_time = size["rounds"], size["min_time"]
    for n in size["batches"]:
        t = interleaved(workload_cases(lambda n=n: moons_case(n), torch, "float64"), rounds, min_time)
        out[f"moons batch {n}"] = t
        pt = t.get("PyTorch")
        lines.append(
            f"| moons, batch | {n:,} | {ms(t['compiled, arrays'])} | "
            f"{t['compiled, arrays'] / n * 1e6:.2f} µs | {ms(pt) if pt else '–'} |"
        )
    for w in size["widths"]:
        t = interleaved(workload_cases(lambda w=w: mlp_case(64, w), torch, "float64"), rounds, min_time)
        out[f"mlp width {w}"] = t
        pt = t.get("PyTorch")
        lines.append(
            f"| MLP(64, [w, w, 10]), width | {w} | {ms(t['compiled, arrays'])} | "
            f"{t['compiled, arrays'] / 64 * 1e6:.2f} µs | {ms(pt) if pt else '–'} |"
        )
    lines += ["", f"(machine: {out['machine']})"]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
