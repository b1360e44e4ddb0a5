"""Loss functions built from Values, so that ``loss.backward()`` gives every gradient.

Each loss takes a batch: ``predictions`` (one Value, or number, per sample; for `mse`
also a list of them per sample) and ``targets`` (one number, or list, per sample), and
returns one Value. ``reduction='mean'`` (the default) averages over the terms,
``reduction='sum'`` adds them up.

Label conventions: the binary losses (`hinge`, `binary_cross_entropy_with_logits`) accept
targets ±1 (as micrograd and ``microgradnn.data`` use) or 0/1; `cross_entropy` takes class
indices 0..k−1.

Numerical stability: the softmax family subtracts the largest logit first (which changes
neither the result nor the gradient) and never exponentiates a positive number, so logits of
±1000 give finite losses and exact gradients. `binary_cross_entropy_with_logits` and
`cross_entropy` make ONE node per sample whose value is computed with ``log1p`` (accurate to
the last digits even when the loss is 1e-14) and whose local gradients are the closed forms
σ(z) − t and softmax(z) − onehot(t); their rules also build those gradients from Values, so
`microgradnn.engine.grad(..., create_graph=True)` and `hessian` work through them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from numbers import Integral, Real
from typing import Any, Union, cast

from microgradnn.checks import as_list, as_targets, check_choice, check_real, describe
from microgradnn.engine import Value, dot, make_node_of, value_sum
from microgradnn.ops import Operation, exp, sigmoid

__all__ = [
    "LOSSES",
    "bce_op",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "cross_entropy_op",
    "half_mse",
    "hinge",
    "l2_penalty",
    "log_softmax",
    "mse",
    "softmax",
]

Scalar = Union[Value, int, float]  # noqa: UP007 - runtime alias for Python 3.10


# ---------------------------------------------------------------------- two rows of the table
# The per-sample terms of the two cross-entropy losses, each ONE node: rows of the table of
# operations (microgradnn.ops) made per target, written so that exp never sees a large positive
# number. Binary cross-entropy on a logit z with target t ...
def _bce(z: float, t: float) -> float:  # log(1 + e^z) − t·z
    if z >= 0.0:
        return ((1.0 - t) * z if t != 1.0 else 0.0) + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z)) - (t * z if t != 0.0 else 0.0)


@lru_cache(maxsize=1024)
def bce_op(t: float) -> Operation:
    """log(1 + e^z) − t·z = −[t log σ(z) + (1 − t) log(1 − σ(z))];  ∂/∂z = σ(z) − t."""
    return Operation("BCEWithLogits", lambda z: _bce(z, t), lambda out, z: sigmoid(z) - t,
                     sympy=lambda sp, z: sp.log(1 + sp.exp(z)) - sp.Rational(repr(t)) * z,
                     numpy=lambda z: _np_bce(z, t), family=bce_op, param=t)


def _np_bce(z: Any, t: float) -> Any:
    import numpy as np

    return np.maximum(z, 0) - t * z + np.log1p(np.exp(-abs(z)))


# ... and softmax cross-entropy on logits zs with a class index.
def _softmax(zs: tuple) -> list:
    m = max(getattr(z, "data", z) for z in zs)  # a constant shift: changes neither value nor slope
    e = [exp(z - m) for z in zs]
    total = sum(e[1:], e[0])
    return [x / total for x in e]


def _cross_entropy(zs: tuple, target: int) -> float:  # −log softmax(zs)[target]
    top = max(range(len(zs)), key=zs.__getitem__)
    rest = math.fsum(math.exp(z - zs[top]) for j, z in enumerate(zs) if j != top)
    return (zs[top] - zs[target]) + math.log1p(rest)  # log Σ e^(z − max) = log1p(Σ the others)


@lru_cache(maxsize=1024)
def cross_entropy_op(target: int) -> Operation:
    """−log softmax(zs)[target];  ∂/∂zⱼ = softmax(zs)ⱼ − [j = target]."""
    k = int(target)
    return Operation("CrossEntropy", lambda zs: _cross_entropy(zs, k),
                     lambda out, zs: (tuple(p - (j == k) for j, p in enumerate(_softmax(zs))),),
                     arity=None, sympy=lambda sp, zs: sp.log(sp.Add(*map(sp.exp, zs))) - zs[k],
                     family=cross_entropy_op, param=k)


def _reduce(terms: list[Value], reduction: str, scale: float, what: str) -> Value:
    """scale·Σ terms (sum) or scale·(1/n)·Σ terms (mean), as few nodes as possible."""
    if not terms:
        raise ValueError(f"{what}: needs at least one sample")
    total = value_sum(terms) if len(terms) > 1 else terms[0]
    if reduction == "mean":
        scale = scale / len(terms)
    elif reduction != "sum":
        raise ValueError(f"{what}: reduction must be 'mean' or 'sum', got {reduction!r}")
    return total if scale == 1.0 else total * scale


def _checked_batch(
    what: str, name: str, predictions: Any, targets: Any, reduction: str, nested: bool = False
) -> tuple[list, list]:
    """The batch's arguments checked where they enter: lists (numpy arrays converted), paired
    one to one, every target a finite number (or a list of them), a known reduction."""
    check_choice(f"{what}(reduction)", reduction, ("mean", "sum"))
    if isinstance(predictions, Value):
        raise TypeError(
            f"{what}({name}) must be a list with one entry per sample, got a single Value; wrap it in a list"
        )
    predictions = as_list(f"{what}({name})", predictions)
    targets = as_targets(
        f"{what}(targets)",
        targets,
        n=len(predictions),
        paired_with=name,
        values_ok=True,
        item="target",
        nested=nested,
    )
    return predictions, targets


def _check_batch(predictions: Sequence, targets: Sequence, what: str) -> None:
    for name, seq in (("predictions", predictions), ("targets", targets)):
        if isinstance(seq, (Value, str, bytes)) or not isinstance(seq, Sequence):
            raise TypeError(
                f"{what}: {name} must be a list with one entry per sample, got {type(seq).__name__}"
            )
    if len(predictions) != len(targets):
        raise ValueError(
            f"{what}: {len(predictions)} predictions but {len(targets)} targets; they must pair up one to one"
        )


def _number(t: object, what: str, i: int) -> float:
    if isinstance(t, Value):
        return t.data
    if isinstance(t, Real) and not isinstance(t, bool):
        return float(t)
    raise TypeError(f"{what}: target {i} must be a number, got {type(t).__name__}: {t!r}")


def _squared_errors(predictions: Sequence, targets: Sequence, what: str) -> list[Value]:
    _check_batch(predictions, targets, what)
    terms: list[Value] = []
    for i, (p, t) in enumerate(zip(predictions, targets)):
        if isinstance(p, (list, tuple)):  # a model with several outputs: one term per output
            if not isinstance(t, (list, tuple)) or len(t) != len(p):
                raise ValueError(
                    f"{what}: sample {i} has {len(p)} predictions, so its target must be a list of {len(p)}"
                )
            terms.extend((_as_value(pj) - _number(tj, what, i)) ** 2 for pj, tj in zip(p, t))
        else:
            if isinstance(t, (list, tuple)):
                raise ValueError(f"{what}: sample {i} has one prediction but a target list of {len(t)}")
            terms.append((_as_value(p) - _number(t, what, i)) ** 2)
    return terms


def _as_value(x: Scalar) -> Value:
    return x if isinstance(x, Value) else Value(x)


def mse(predictions: Sequence, targets: Sequence, reduction: str = "mean") -> Value:
    """Mean squared error: (1/n) Σ (pᵢ − tᵢ)²;  ∂/∂pᵢ = 2(pᵢ − tᵢ)/n."""
    predictions, targets = _checked_batch("mse", "predictions", predictions, targets, reduction, nested=True)
    return _reduce(_squared_errors(predictions, targets, "mse"), reduction, 1.0, "mse")


def half_mse(predictions: Sequence, targets: Sequence, reduction: str = "mean") -> Value:
    """Half mean squared error, the lecture-notes form: (1/n) Σ ½(pᵢ − tᵢ)²;  ∂/∂pᵢ = (pᵢ − tᵢ)/n."""
    predictions, targets = _checked_batch(
        "half_mse", "predictions", predictions, targets, reduction, nested=True
    )
    return _reduce(_squared_errors(predictions, targets, "half_mse"), reduction, 0.5, "half_mse")


def _signed_label(t: object, what: str, i: int) -> float:
    """A binary label as ±1 (0 is read as −1)."""
    v = _number(t, what, i)
    if v == 1.0:
        return 1.0
    if v in (-1.0, 0.0):
        return -1.0
    raise ValueError(f"{what}: target {i} must be a binary label, ±1 or 0/1, got {t!r}")


def hinge(scores: Sequence, targets: Sequence, margin: float = 1.0, reduction: str = "mean") -> Value:
    """Max-margin hinge loss (micrograd's demo): (1/n) Σ max(0, margin − yᵢ·sᵢ), yᵢ = ±1;
    ∂/∂sᵢ = −yᵢ/n where yᵢ·sᵢ < margin, else 0.  Targets 0/1 are read as −1/+1."""
    scores, targets = _checked_batch("hinge", "scores", scores, targets, reduction)
    margin = check_real("hinge(margin)", margin, lo=0.0)
    _check_batch(scores, targets, "hinge")
    terms = [
        (_as_value(s) * -_signed_label(t, "hinge", i) + margin).relu()
        for i, (s, t) in enumerate(zip(scores, targets))
    ]
    return _reduce(terms, reduction, 1.0, "hinge")


def _probability_target(t: object, what: str, i: int) -> float:
    """A binary target as a probability of the positive class (−1 is read as 0)."""
    v = _number(t, what, i)
    if v == -1.0:
        return 0.0
    if 0.0 <= v <= 1.0:
        return v
    raise ValueError(f"{what}: target {i} must be 0/1 (or ±1, or a probability in [0, 1]), got {t!r}")


def _bce_term(z: Value, t: float) -> Value:
    return make_node_of(bce_op(t), (z,))


def binary_cross_entropy_with_logits(logits: Sequence, targets: Sequence, reduction: str = "mean") -> Value:
    """Binary cross-entropy on logits zᵢ (scores, not probabilities):
    (1/n) Σ [log(1 + e^zᵢ) − tᵢ·zᵢ] = −(1/n) Σ [tᵢ log σ(zᵢ) + (1 − tᵢ) log(1 − σ(zᵢ))];
    ∂/∂zᵢ = (σ(zᵢ) − tᵢ)/n.  Targets tᵢ in [0, 1]; −1 is read as 0, so ±1 labels work."""
    what = "binary_cross_entropy_with_logits"
    logits, targets = _checked_batch(what, "logits", logits, targets, reduction)
    _check_batch(logits, targets, what)
    terms = [
        _bce_term(_as_value(z), _probability_target(t, what, i))
        for i, (z, t) in enumerate(zip(logits, targets))
    ]
    return _reduce(terms, reduction, 1.0, what)


def _logit_values(logits: Iterable[Scalar], what: str) -> list[Value]:
    if isinstance(logits, Value):
        raise TypeError(
            f"{what}: expected a list of logits (one per class) for each sample, got a single Value: "
            "the model gives 1 output per sample; give its last layer one neuron per class, "
            "e.g. MLP(nin, [..., k])"
        )
    if isinstance(logits, (str, bytes)) or not isinstance(logits, Iterable):
        raise TypeError(f"{what}: expected a list of logits, got {type(logits).__name__}")
    zs = [_as_value(z) for z in logits]
    if not zs:
        raise ValueError(f"{what}: needs at least one logit")
    return zs


def _shifted(zs: list[Value]) -> tuple[list[Value], Value]:
    """zⱼ − m with m = max z (a constant), and log Σ e^(zⱼ − m)."""
    m = max(z.data for z in zs)
    shifted = [z - m for z in zs]
    return shifted, value_sum([s.exp() for s in shifted]).log()


def softmax(logits: Iterable[Scalar]) -> list[Value]:
    """softmax(z)ⱼ = e^zⱼ / Σₖ e^zₖ (computed as e^(zⱼ−m) / Σₖ e^(zₖ−m), m = max z);
    ∂softmaxⱼ/∂zₖ = softmaxⱼ·([j = k] − softmaxₖ)."""
    zs = _logit_values(logits, "softmax")
    m = max(z.data for z in zs)
    exps = [(z - m).exp() for z in zs]
    total = value_sum(exps)
    return [e / total for e in exps]


def log_softmax(logits: Iterable[Scalar]) -> list[Value]:
    """log softmax(z)ⱼ = zⱼ − log Σₖ e^zₖ (computed as (zⱼ − m) − log Σₖ e^(zₖ−m));
    ∂/∂zₖ = [j = k] − softmaxₖ."""
    shifted, log_total = _shifted(_logit_values(logits, "log_softmax"))
    return [s - log_total for s in shifted]


def _class_index(t: object, k: int, i: int) -> int:
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t != int(t) or not 0 <= t < k:
        raise ValueError(f"cross_entropy: target {i} must be a class index 0..{k - 1}, got {t!r}")
    return int(t)


def _cross_entropy_term(zs: list[Value], target: int) -> Value:
    return make_node_of(cross_entropy_op(target), tuple(zs))


def cross_entropy(logits: Sequence, targets: Sequence | int, reduction: str = "mean") -> Value:
    """Softmax cross-entropy over classes: (1/n) Σᵢ −log softmax(zᵢ)[tᵢ];
    ∂/∂zᵢⱼ = (softmax(zᵢ)ⱼ − [j = tᵢ])/n.

    ``logits`` is a batch (one list of k logits per sample) with ``targets`` the class
    indices; a single sample (one list of logits and an int target) is accepted too.
    """
    if isinstance(targets, Integral) and not isinstance(targets, bool):  # numpy integers too
        logits, targets = [logits], [targets]
    logits, targets = _checked_batch("cross_entropy", "logits", logits, targets, reduction)
    _check_batch(logits, targets, "cross_entropy")
    terms = []
    for i, (zs, t) in enumerate(zip(logits, targets)):
        zs = _logit_values(zs, "cross_entropy")
        terms.append(_cross_entropy_term(zs, _class_index(t, len(zs), i)))
    return _reduce(terms, reduction, 1.0, "cross_entropy")


def l2_penalty(parameters: Iterable[Value], alpha: float = 1e-4) -> Value:
    """L2 regularisation: α·Σ p² over the parameters (one fused node);  ∂/∂p = 2αp.

    ``alpha`` defaults to micrograd's demo's 1e-4.
    """
    module_parameters = getattr(parameters, "parameters", None)
    if callable(module_parameters):  # a Module stands for its parameters
        parameters = cast("Iterable[Value]", module_parameters())
    if isinstance(parameters, (Value, str, bytes)) or not isinstance(parameters, Iterable):
        raise TypeError(
            f"l2_penalty(parameters) must be a list of Values or a Module, got {describe(parameters)}"
        )
    params = list(parameters)
    if not params:
        raise ValueError("l2_penalty(parameters) is empty: it needs at least one parameter")
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"l2_penalty(parameters): entry {i} must be a Value, got {describe(p)}")
    alpha = check_real("l2_penalty(alpha)", alpha, lo=0.0)
    return dot(params, params) * alpha


for _fn, _kind in (
    (mse, "regression"),
    (half_mse, "regression"),
    (hinge, "binary"),
    (binary_cross_entropy_with_logits, "binary"),
    (cross_entropy, "multiclass"),
):
    _fn.task = _kind  # type: ignore[union-attr]  # what `fit` measures besides the loss

#: The losses by name, as ``fit(loss=...)`` accepts them. Each has a ``task`` attribute:
#: 'regression', 'binary' or 'multiclass'.
LOSSES: dict[str, Callable[..., Value]] = {
    "mse": mse,
    "half_mse": half_mse,
    "hinge": hinge,
    "bce": binary_cross_entropy_with_logits,
    "cross_entropy": cross_entropy,
}

del _fn, _kind


def check_labels(loss: Callable[..., Value], targets: list, n_outputs: int | None, where: str) -> None:
    """Check every label against a built-in loss's domain before training starts, with errors
    naming the sample (`fit` and `evaluate` call this; custom losses are not checked).

    ``targets`` are already finite numbers or lists of them (`microgradnn.checks.as_targets`);
    ``n_outputs`` is the model's number of outputs, if known.
    """
    name = next((key for key, fn in LOSSES.items() if fn is loss), None)
    if name is None:
        return
    # cross-entropy's classes; a model with one output gets the loss's own error instead,
    # which explains what to change
    k = n_outputs if n_outputs is not None and n_outputs >= 2 else None
    for i, t in enumerate(targets):
        if name in ("mse", "half_mse"):
            width = len(t) if isinstance(t, list) else 1
            if n_outputs is not None and width != n_outputs:
                raise ValueError(
                    f"{where}: label {i} has {width} number(s), but the model has {n_outputs} output(s)"
                )
        elif isinstance(t, list):
            raise ValueError(f"{where}: label {i} is a list, but the {name} loss takes one number per sample")
        elif name == "hinge" and t not in (-1, 0, 1):
            raise ValueError(f"{where}: label {i} is {t!r}, but the hinge loss needs labels ±1 (or 0/1)")
        elif name == "bce" and not (t == -1 or 0 <= t <= 1):
            raise ValueError(
                f"{where}: label {i} is {t!r}, but binary cross-entropy needs 0/1 (or ±1, or a probability)"
            )
        elif name == "cross_entropy" and (t != int(t) or t < 0 or (k is not None and t >= k)):
            classes = f"0..{k - 1}, one per output of the model" if k is not None else "0, 1, ..."
            raise ValueError(f"{where}: label {i} is {t!r}, but cross-entropy needs class indices {classes}")
