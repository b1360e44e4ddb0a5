"""The workloads of ``compare.py``, written once and run on either engine.

Each function takes the engine's classes as arguments (``Value``, an ``MLP``), so micrograd and
microgradnn run literally the same Python code; only the "idiomatic" variants use what
microgradnn adds (``MLP.forward_batch``, the fused losses of ``microgradnn.losses``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

# ---------------------------------------------------------------------- 1. a random expression DAG
# The program is generated once, on plain floats, and then replayed on each engine. Every
# operation takes as its first input the node made `window` operations earlier (so every node
# is used and the root depends on all of them) and as its second input a random recent node.
# Operations whose result would leave the band 0.05 <= |x| <= 2 (or, for **2 and relu, be
# unbounded or stuck at 0) are replaced by a rescaling (x·c or x + c with a number c), so the
# numbers stay tame on both engines: no overflow, no underflow, no NaN. The numbers c come from
# a few dozen constants, as the literals of a real program would.
ADD, ADD_NUMBER, MUL, MUL_NUMBER, SQUARE, RELU = range(6)
OP_NAMES = ("x + y", "x + c", "x * y", "x * c", "x ** 2", "x.relu()")

Program = tuple[list[float], list[tuple[int, int, float]], int]


def make_program(n_ops: int = 100_000, *, window: int = 100, seed: int = 7) -> Program:
    """``(leaf values, [(op, second input index, number), ...], window)`` with ``n_ops`` operations
    in all: the random ones, then a chain of additions that sums the last ``window`` nodes."""
    if n_ops < 2 * window:
        raise ValueError(f"make_program: n_ops must be at least {2 * window}, got {n_ops}")
    rng = random.Random(seed)
    constants = [sign * (0.5 + i / 31) for i in range(32) for sign in (1.0, -1.0)]
    powers_of_two = [2.0**k for k in range(-4, 5)]
    values = [rng.uniform(-1.0, 1.0) for _ in range(window)]
    leaves = list(values)
    program = []
    for k in range(n_ops - (window - 1)):
        x = values[k]
        j = rng.randrange(len(values) - window, len(values))
        op = rng.randrange(6)
        c = rng.choice(constants)
        # the very float operations the engines do (x**2, not x*x: they can differ in the last bit)
        result = (x + values[j], x + c, x * values[j], x * c, x**2, x if x > 0.0 else 0.0)[op]
        if abs(result) > 2.0 and abs(x) >= 0.05:  # scale x back to about 0.6
            op, c = MUL_NUMBER, min(powers_of_two, key=lambda p: abs(abs(x) * p - 0.6))
            result = x * c
        elif abs(result) > 2.0 or (abs(result) < 0.05 and op != RELU):  # move x away from 0
            op, c = ADD_NUMBER, abs(rng.choice(constants)) * (1.0 if x >= 0.0 else -1.0)
            result = x + c
        program.append((op, j, c))
        values.append(result)
    return leaves, program, window


def replay(Value: type, program: Program) -> Any:
    """Build the program's graph with ``Value`` and return its root (forward pass only)."""
    leaves, ops, window = program
    nodes = [Value(x) for x in leaves]
    append = nodes.append
    for k, (op, j, c) in enumerate(ops):
        x = nodes[k]
        if op == ADD:
            append(x + nodes[j])
        elif op == ADD_NUMBER:
            append(x + c)
        elif op == MUL:
            append(x * nodes[j])
        elif op == MUL_NUMBER:
            append(x * c)
        elif op == SQUARE:
            append(x**2)
        else:
            append(x.relu())
    tail = nodes[-window:]
    root = tail[0]
    for node in tail[1:]:
        root = root + node
    return root


def count_nodes(root: Any) -> int:
    """Every Value the root depends on, itself, leaves and wrapped numbers included."""
    seen = {id(root)}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


# ---------------------------------------------------------------------- 2. training steps
def moons(n: int = 100, seed: int = 1337) -> tuple[list[list[float]], list[float]]:
    """micrograd's demo data: two moons, ``n`` points, noise 0.1, labels ±1."""
    from microgradnn.data import make_moons

    X, y = make_moons(n, noise=0.1, seed=seed)
    return X, [float(t) for t in y]


def regression_data(n: int = 64, nin: int = 64, nout: int = 10, seed: int = 3) -> tuple[list, list]:
    """``n`` random inputs of size ``nin`` and targets of size ``nout``, uniform in [-1, 1]."""
    rng = random.Random(seed)
    X = [[rng.uniform(-1.0, 1.0) for _ in range(nin)] for _ in range(n)]
    Y = [[rng.uniform(-1.0, 1.0) for _ in range(nout)] for _ in range(n)]
    return X, Y


def copy_parameters(source: Any, target: Any) -> None:
    """Give ``target`` the parameter values of ``source`` (same architecture, micrograd order)."""
    src, dst = source.parameters(), target.parameters()
    if len(src) != len(dst):
        raise ValueError(f"copy_parameters: {len(src)} parameters into {len(dst)}")
    for s, d in zip(src, dst):
        d.data = float(s.data)


def sgd_update(model: Any, lr: float) -> None:
    """p ← p − lr·∂loss/∂p for every parameter, then zero the gradients."""
    for p in model.parameters():
        p.data -= lr * p.grad
    model.zero_grad()


def moons_loss(Value: type, model: Any, X: Sequence, y: Sequence[float]) -> Any:
    """micrograd's demo loss, written as its notebook writes it: mean hinge loss + 1e-4·Σp²."""
    inputs = [list(map(Value, row)) for row in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def moons_loss_idiomatic(model: Any, X: Sequence, y: Sequence[float]) -> Any:
    """The same loss with microgradnn's batch forward and fused losses (one node per sum)."""
    from microgradnn.losses import hinge, l2_penalty

    return hinge(model.forward_batch(X), y) + l2_penalty(model.parameters(), 1e-4)


def mse_loss(Value: type, model: Any, X: Sequence, Y: Sequence) -> Any:
    """Mean squared error over every output of every sample, written with plain operators."""
    inputs = [list(map(Value, row)) for row in X]
    outputs = list(map(model, inputs))
    errors = [(o - t) ** 2 for out, target in zip(outputs, Y) for o, t in zip(out, target)]
    return sum(errors) * (1.0 / len(errors))


def mse_loss_idiomatic(model: Any, X: Sequence, Y: Sequence) -> Any:
    """The same loss with microgradnn's batch forward and its fused ``mse``."""
    from microgradnn.losses import mse

    return mse(model.forward_batch(X), Y)


def library_step(
    model: Any, X: Sequence, y: Sequence, loss: str, lr: float, l2: float
) -> Callable[[], float]:
    """The step `microgradnn.train.fit` (and the demo) runs: `train_step` with an SGD optimizer.

    Same loss, update and zero_grad as `training_step`; the library pauses the cyclic collector
    for the step and frees the graph before resuming it (the graph has no cycles to collect).
    """
    from microgradnn.optim import SGD
    from microgradnn.train import train_step

    optimizer = SGD(model.parameters(), lr=lr)

    def step() -> float:
        return train_step(model, X, y, loss, optimizer, l2=l2)[0]

    return step


def training_step(loss_fn: Callable[[], Any], model: Any, lr: float) -> float:
    """One full step: forward over the batch, backward, SGD update, zero_grad; returns the loss."""
    loss = loss_fn()
    loss.backward()
    sgd_update(model, lr)
    return loss.data


# ---------------------------------------------------------------------- 3. a deep chain
def chain(Value: type, steps: int) -> tuple[Any, Any]:
    """``x = x * 1.0001 + 0.0`` repeated ``steps`` times; returns (first x, last x)."""
    x0 = x = Value(1.0)
    for _ in range(steps):
        x = x * 1.0001 + 0.0
    return x0, x


def chain_gradient_ok(x0: Any, steps: int) -> bool:
    """Whether backward gave ∂x/∂x0 = 1.0001**steps."""
    return math.isclose(x0.grad, 1.0001**steps, rel_tol=1e-6)
