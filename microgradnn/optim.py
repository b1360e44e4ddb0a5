"""Optimizers that update parameters from their gradients, and learning-rate schedules.

Usage, as in PyTorch::

    optimizer = SGD(model.parameters(), lr=linear_decay(1.0, 0.1, steps=100))
    for k in range(100):
        loss = ...
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

``lr`` is a number or a schedule: any function of the step index k = 0, 1, 2, ... (the number
of steps taken before this one) returning the learning rate for step k.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from numbers import Real
from typing import Any, Union

from microgradnn.checks import check_bool, check_int, check_real, describe
from microgradnn.engine import Value

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "Constant",
    "CosineDecay",
    "ExponentialDecay",
    "LinearDecay",
    "Optimizer",
    "Schedule",
    "constant",
    "cosine_decay",
    "exponential_decay",
    "linear_decay",
]


def _number(x: object, what: str, *, low: float = 0.0, low_ok: bool = True, high: float = math.inf) -> float:
    """Check that x is a finite real number in the range (low or [low, ..., high), and return it."""
    return check_real(
        what, x, lo=low, lo_open=not low_ok, hi=None if high == math.inf else high, hi_open=True
    )


# ---------------------------------------------------------------------- schedules
class Schedule:
    """A learning rate that depends on the step index k = 0, 1, 2, ...; call it with k."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class Constant(Schedule):
    """lr(k) = lr."""

    def __init__(self, lr: float) -> None:
        self.lr = _number(lr, "Constant(lr)", low_ok=False)

    def __call__(self, step: int) -> float:
        return self.lr


class _DecayOverSteps(Schedule):
    """A schedule that goes from ``start`` to ``end`` over ``steps`` steps, then stays at end."""

    def __init__(self, start: float, end: float, steps: int) -> None:
        name = type(self).__name__
        self.start = _number(start, f"{name}(start)", low_ok=False)
        self.end = _number(end, f"{name}(end)")
        self.steps = check_int(f"{name}(steps)", steps, lo=1)


class LinearDecay(_DecayOverSteps):
    """lr(k) = start − (start − end)·k/steps for k < steps, then end.

    ``LinearDecay(1.0, 0.1, 100)`` is micrograd's demo: lr = 1.0 − 0.9·k/100.
    """

    def __call__(self, step: int) -> float:
        if step >= self.steps:
            return self.end
        return self.start - (self.start - self.end) * step / self.steps


class ExponentialDecay(Schedule):
    """lr(k) = start·gammaᵏ."""

    def __init__(self, start: float, gamma: float) -> None:
        self.start = _number(start, "ExponentialDecay(start)", low_ok=False)
        self.gamma = _number(gamma, "ExponentialDecay(gamma)", low_ok=False)
        if self.gamma > 1.0:
            raise ValueError(f"ExponentialDecay(gamma) must be in (0, 1], got {gamma!r}")

    def __call__(self, step: int) -> float:
        return self.start * self.gamma**step


class CosineDecay(_DecayOverSteps):
    """lr(k) = end + ½(start − end)(1 + cos(π·k/steps)) for k < steps, then end."""

    def __call__(self, step: int) -> float:
        if step >= self.steps:
            return self.end
        return self.end + 0.5 * (self.start - self.end) * (1.0 + math.cos(math.pi * step / self.steps))


def constant(lr: float) -> Constant:
    """A constant learning rate."""
    return Constant(lr)


def linear_decay(start: float, end: float, steps: int) -> LinearDecay:
    """From ``start`` down to ``end`` in a straight line over ``steps`` steps (micrograd's demo)."""
    return LinearDecay(start, end, steps)


def exponential_decay(start: float, gamma: float) -> ExponentialDecay:
    """``start`` multiplied by ``gamma`` after every step."""
    return ExponentialDecay(start, gamma)


def cosine_decay(start: float, end: float, steps: int) -> CosineDecay:
    """From ``start`` to ``end`` along half a cosine over ``steps`` steps."""
    return CosineDecay(start, end, steps)


LearningRate = Union[float, Callable[[int], float]]  # noqa: UP007 - runtime alias for Python 3.10


# ---------------------------------------------------------------------- optimizers
class Optimizer:
    """Base class: keeps the parameter list, the learning-rate schedule and the step count.

    ``params`` is an iterable of Values (or a Module, whose ``parameters()`` are used). The list
    is made once: the optimizer updates exactly these Values on every `step`.
    """

    def __init__(self, params: Iterable[Value] | Any, lr: LearningRate) -> None:
        method = getattr(params, "parameters", None)  # a Module
        if callable(method):
            params = method()
        name = type(self).__name__
        if isinstance(params, Value):
            raise TypeError(f"{name}(params) must be a list of Values, got a single Value; wrap it in a list")
        if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
            raise TypeError(
                f"{name}(params) must be a list of Values or a Module (e.g. model.parameters()), "
                f"got {describe(params)}"
            )
        self.params: list[Value] = list(params)
        if not self.params:
            raise ValueError(f"{name}(params) is empty: got an empty parameter list")
        seen: set[int] = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"{name}(params): entry {i} must be a Value, got {describe(p)}")
            if id(p) in seen:
                raise ValueError(
                    f"{name}(params): entry {i} ({p.label or p!r}) appears twice; "
                    "it would be updated twice per step"
                )
            seen.add(id(p))
        if callable(lr) and not isinstance(lr, type):
            self.schedule: Callable[[int], float] = lr
        else:
            self.schedule = Constant(_number(lr, f"{type(self).__name__}(lr)", low_ok=False))
        #: how many steps have been taken
        self.steps = 0
        #: the running quantities kept per parameter, by name, each a list in ``params`` order
        #: (SGD's momentum buffer ``velocity``; Adam's moments ``m`` and ``v``). Change the
        #: numbers in place to restore a checkpoint; the compiled `fit` keeps them in step too.
        self.state: dict[str, list[float]] = {}

    @property
    def lr(self) -> float:
        """The learning rate the next `step` will use."""
        return self._lr_at(self.steps)

    def _lr_at(self, k: int) -> float:
        lr = self.schedule(k)
        if isinstance(lr, bool) or not isinstance(lr, Real) or not math.isfinite(lr) or lr < 0:
            raise ValueError(f"{type(self).__name__}: the schedule gave learning rate {lr!r} at step {k}")
        return float(lr)

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to 0."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter once from its current gradient."""
        self._update(self._lr_at(self.steps))
        self.steps += 1

    def _update(self, lr: float) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({len(self.params)} parameters, lr={self.schedule!r}, steps={self.steps})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum and L2 weight decay.

    gₜ = ∇L(pₜ) + λ·pₜ;  with momentum μ: bₜ = μ·bₜ₋₁ + gₜ (b₀ = 0), and pₜ₊₁ = pₜ − lr·bₜ
    (with ``nesterov=True``: pₜ₊₁ = pₜ − lr·(gₜ + μ·bₜ)); without: pₜ₊₁ = pₜ − lr·gₜ.
    """

    def __init__(
        self,
        params: Iterable[Value] | Any,
        lr: LearningRate,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _number(momentum, "SGD(momentum)", high=1.0)
        self.weight_decay = _number(weight_decay, "SGD(weight_decay)")
        nesterov = check_bool("SGD(nesterov)", nesterov)
        if nesterov and self.momentum == 0.0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        self.nesterov = bool(nesterov)
        self.state["velocity"] = [0.0] * len(self.params)

    def _update(self, lr: float) -> None:
        mu, wd = self.momentum, self.weight_decay
        if mu == 0.0 and wd == 0.0:
            for p in self.params:
                p.data -= lr * p.grad
            return
        velocity = self.state["velocity"]
        for i, p in enumerate(self.params):
            g = p.grad + wd * p.data if wd else p.grad
            if mu:
                b = velocity[i] = mu * velocity[i] + g
                g = g + mu * b if self.nesterov else b
            p.data -= lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with optional L2 weight decay added to the gradient.

    gₜ = ∇L + λ·p;  mₜ = β₁mₜ₋₁ + (1 − β₁)gₜ;  vₜ = β₂vₜ₋₁ + (1 − β₂)gₜ²;
    m̂ = mₜ/(1 − β₁ᵗ);  v̂ = vₜ/(1 − β₂ᵗ);  p ← p − lr·m̂/(√v̂ + ε).
    """

    _decoupled = False

    def __init__(
        self,
        params: Iterable[Value] | Any,
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        name = type(self).__name__
        if not isinstance(betas, (tuple, list)):
            raise TypeError(f"{name}(betas) must be a pair (beta1, beta2), got {describe(betas)}")
        if len(betas) != 2:
            raise ValueError(f"{name}(betas) must be a pair (beta1, beta2), got {len(betas)} numbers")
        self.betas = (
            _number(betas[0], f"{name}(betas[0])", high=1.0),
            _number(betas[1], f"{name}(betas[1])", high=1.0),
        )
        self.eps = _number(eps, f"{name}(eps)", low_ok=False)
        self.weight_decay = _number(weight_decay, f"{name}(weight_decay)")
        self.state["m"] = [0.0] * len(self.params)
        self.state["v"] = [0.0] * len(self.params)

    def _update(self, lr: float) -> None:
        beta1, beta2 = self.betas
        t = self.steps + 1
        bias1 = 1.0 - beta1**t
        bias2 = 1.0 - beta2**t
        wd, eps, m, v = self.weight_decay, self.eps, self.state["m"], self.state["v"]
        decoupled = self._decoupled
        for i, p in enumerate(self.params):
            g = p.grad
            if wd:
                if decoupled:
                    p.data -= lr * wd * p.data
                else:
                    g = g + wd * p.data
            m[i] = mi = beta1 * m[i] + (1.0 - beta1) * g
            v[i] = vi = beta2 * v[i] + (1.0 - beta2) * g * g
            p.data -= lr * (mi / bias1) / (math.sqrt(vi / bias2) + eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019):
    p ← p − lr·λ·p, then the Adam step on the plain gradient."""

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Value] | Any,
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)
