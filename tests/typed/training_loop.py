"""A student's training loop, type-checked by tests/test_typing.py with mypy and pyright.

It must pass both checkers with no error and no ``cast``: this is the code a user writes.
"""

from __future__ import annotations

from microgradnn import MLP, Value, value_sum


def train(steps: int = 30, lr: float = 0.05) -> list[float]:
    """The lecture's all-tanh network on its four examples; returns the loss of every step."""
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    model = MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh", seed=0)
    losses: list[float] = []
    for _ in range(steps):
        # Python's sum() starts from 0, so type checkers call its result "Value | int";
        # value_sum (one fused node) or a Value as the start, sum(..., Value(0.0)), is a Value.
        loss = value_sum((model(x) - y) ** 2 for x, y in zip(xs, ys))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
        losses.append(loss.data)
    return losses


def predictions(xs: list[list[float]]) -> list[float]:
    """A model with one output gives a Value; with several, annotate it as MLP[list[Value]]."""
    one = MLP(3, [4, 1], seed=1)
    several: MLP[list[Value]] = MLP(3, [4, 2], seed=1)
    total = sum(((one(x) - 1.0) ** 2 for x in xs), Value(0.0))  # micrograd's sum, typed as a Value
    total.backward()
    scores = [max(v.data for v in several(x)) for x in xs]
    return [total.data, *scores]
