"""Tests of microgradnn.losses: values and gradients against closed forms and finite
differences, numerical stability at extreme logits, label conventions, and errors."""

from __future__ import annotations

import math
import random

import pytest

from microgradnn.engine import Value, grad, hessian, topological_order
from microgradnn.losses import (
    LOSSES,
    binary_cross_entropy_with_logits,
    cross_entropy,
    half_mse,
    hinge,
    l2_penalty,
    log_softmax,
    mse,
    softmax,
)
from microgradnn.testing import assert_gradcheck


def values(xs):  # noqa: ANN001, ANN201
    return [Value(float(x)) for x in xs]


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def closed_softmax(zs: list[float]) -> list[float]:
    m = max(zs)
    e = [math.exp(z - m) for z in zs]
    return [x / sum(e) for x in e]


# ---------------------------------------------------------------------- regression losses
def test_mse_and_half_mse_values_and_gradients():
    p, t = [0.5, -1.0, 2.0, 0.0], [1.0, -1.5, 0.0, 0.25]
    n = len(p)
    for fn, scale in ((mse, 1.0), (half_mse, 0.5)):
        preds = values(p)
        loss = fn(preds, t)
        assert loss.data == pytest.approx(scale * sum((a - b) ** 2 for a, b in zip(p, t)) / n, rel=1e-15)
        loss.backward()
        assert [v.grad for v in preds] == pytest.approx(
            [2 * scale * (a - b) / n for a, b in zip(p, t)], rel=1e-15
        )
        total = fn(values(p), t, reduction="sum")
        assert total.data == pytest.approx(scale * sum((a - b) ** 2 for a, b in zip(p, t)), rel=1e-15)


def test_mse_over_several_outputs_per_sample_and_numbers():
    preds = [values([1.0, 2.0]), values([0.0, -1.0])]
    loss = mse(preds, [[0.0, 2.0], [1.0, 1.0]])
    assert loss.data == pytest.approx((1 + 0 + 1 + 4) / 4)
    loss.backward()
    assert [v.grad for v in preds[1]] == pytest.approx([2 * (0 - 1) / 4, 2 * (-1 - 1) / 4])
    assert mse([3.0], [1.0]).data == 4.0  # plain numbers are accepted as predictions


# ---------------------------------------------------------------------- hinge
def test_hinge_is_micrograds_demo_loss_with_its_gradient():
    scores, y = [2.0, 0.5, -0.3, -2.0, 1.0], [1, 1, 1, -1, -1]
    s = values(scores)
    loss = hinge(s, y)
    expected = sum(max(0.0, 1 - yi * si) for yi, si in zip(y, scores)) / len(y)
    assert loss.data == pytest.approx(expected, rel=1e-15)
    loss.backward()
    assert [v.grad for v in s] == [(-yi / 5 if 1 - yi * si > 0 else 0.0) for yi, si in zip(y, scores)]


def test_hinge_reads_0_1_labels_as_minus_one_plus_one_and_respects_the_margin():
    scores = [0.3, -0.2, 1.5]
    assert hinge(values(scores), [1, 0, 0]).data == hinge(values(scores), [1, -1, -1]).data
    assert hinge(values(scores), [1, -1, -1], margin=0.0).data == pytest.approx(1.5 / 3)
    assert hinge(values(scores), [1, -1, -1], reduction="sum").data == pytest.approx(0.7 + 0.8 + 2.5)


# ---------------------------------------------------------------------- binary cross-entropy
@pytest.mark.parametrize("z", [-30.0, -3.0, -0.5, 0.0, 0.5, 3.0, 30.0])
@pytest.mark.parametrize("t", [0.0, 1.0, 0.25])
def test_bce_with_logits_matches_the_definition_and_its_gradient_is_sigmoid_minus_target(z, t):
    logit = Value(z)
    loss = binary_cross_entropy_with_logits([logit], [t])

    # −[t·log σ(z) + (1 − t)·log(1 − σ(z))], with log(1 − σ(z)) = log σ(−z) and
    # log σ(x) = −log(1 + e^−x) written stably
    def log_sigmoid(x: float) -> float:
        return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))

    expected = -(t * log_sigmoid(z) + (1 - t) * log_sigmoid(-z))
    assert loss.data == pytest.approx(expected, rel=1e-12, abs=1e-15)
    loss.backward()
    assert logit.grad == pytest.approx(sigmoid(z) - t, rel=1e-12, abs=1e-15)


def test_bce_is_stable_at_extreme_logits_and_averages_over_the_batch():
    z = values([1000.0, -1000.0, 1000.0, -1000.0])
    loss = binary_cross_entropy_with_logits(z, [1, 0, 0, 1])
    assert loss.data == pytest.approx((0 + 0 + 1000 + 1000) / 4)
    loss.backward()
    assert [v.grad for v in z] == [0.0, 0.0, 0.25, -0.25]


def test_bce_accepts_plus_minus_one_labels():
    z = [0.3, -1.2, 2.0]
    assert (
        binary_cross_entropy_with_logits(values(z), [1, -1, -1]).data
        == binary_cross_entropy_with_logits(values(z), [1, 0, 0]).data
    )


# ---------------------------------------------------------------------- softmax family
def test_softmax_values_and_jacobian_against_the_closed_form():
    zs = [0.5, -1.0, 2.0, 0.0]
    z = values(zs)
    s = softmax(z)
    expected = closed_softmax(zs)
    assert [v.data for v in s] == pytest.approx(expected, rel=1e-14)
    assert math.fsum(v.data for v in s) == pytest.approx(1.0, rel=1e-15)
    for j in range(4):
        row = grad(s[j], z)  # ∂s_j/∂z_k = s_j(δ_jk − s_k)
        assert row == pytest.approx(
            [expected[j] * ((j == k) - expected[k]) for k in range(4)], rel=1e-12, abs=1e-15
        )


def test_log_softmax_values_and_gradient():
    zs = [1.0, 3.0, -2.0]
    z = values(zs)
    out = log_softmax(z)
    expected = closed_softmax(zs)
    assert [v.data for v in out] == pytest.approx([math.log(p) for p in expected], rel=1e-14)
    for j in range(3):
        assert grad(out[j], z) == pytest.approx(
            [(j == k) - expected[k] for k in range(3)], rel=1e-12, abs=1e-15
        )


def test_softmax_family_is_stable_for_logits_of_plus_minus_1000():
    z = values([1000.0, -1000.0, 1000.0])
    assert [v.data for v in softmax(z)] == [0.5, 0.0, 0.5]
    assert [v.data for v in log_softmax(z)] == pytest.approx(
        [-math.log(2), -2000 - math.log(2), -math.log(2)]
    )
    loss = cross_entropy([z], [1])
    assert loss.data == pytest.approx(2000 + math.log(2))
    loss.backward()
    assert [v.grad for v in z] == pytest.approx([0.5, -1.0, 0.5])
    assert all(math.isfinite(v.grad) for v in z)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    rng = random.Random(0)
    batch = [[rng.uniform(-3, 3) for _ in range(4)] for _ in range(5)]
    targets = [0, 3, 2, 2, 1]
    logits = [values(row) for row in batch]
    loss = cross_entropy(logits, targets)
    n = len(batch)
    assert loss.data == pytest.approx(
        sum(-math.log(closed_softmax(row)[t]) for row, t in zip(batch, targets)) / n, rel=1e-13
    )
    loss.backward()
    for row, t, zs in zip(batch, targets, logits):
        p = closed_softmax(row)
        assert [v.grad for v in zs] == pytest.approx(
            [(p[k] - (k == t)) / n for k in range(4)], rel=1e-12, abs=1e-15
        )


def test_cross_entropy_of_a_single_sample_and_sum_reduction():
    z = [0.2, 0.1, -0.4]
    single = cross_entropy(values(z), 2)
    assert single.data == pytest.approx(-math.log(closed_softmax(z)[2]))
    both = cross_entropy([values(z), values(z)], [2, 2], reduction="sum")
    assert both.data == pytest.approx(2 * single.data)


# ---------------------------------------------------------------------- L2
def test_the_fused_cross_entropy_nodes_are_accurate_for_tiny_losses():
    # log(1 + e^−30) = 9.357622968839737e-14; a naive log(1 + tiny) keeps only 3 digits of it
    tiny = math.log1p(math.exp(-30.0))
    assert binary_cross_entropy_with_logits(values([30.0]), [1]).data == pytest.approx(tiny, rel=1e-15)
    assert binary_cross_entropy_with_logits(values([-30.0]), [0]).data == pytest.approx(tiny, rel=1e-15)
    assert cross_entropy([values([30.0, 0.0])], [0]).data == pytest.approx(tiny, rel=1e-15)
    node = cross_entropy([values([1.0, 2.0, 3.0])], [0], reduction="sum")
    assert node._op == "CrossEntropy" and len(node._prev) == 3  # one node per sample


def test_second_derivatives_through_the_fused_losses():
    # d²/dz² BCE = σ(z)(1 − σ(z));  the Hessian of cross-entropy is diag(p) − p·pᵀ
    for z in (-2.0, 0.0, 0.7):
        assert hessian(lambda v: binary_cross_entropy_with_logits([v], [1]), [z])[0][0] == pytest.approx(
            sigmoid(z) * (1 - sigmoid(z)), rel=1e-12
        )
    zs = [0.3, -1.0, 2.0]
    p = closed_softmax(zs)
    h = hessian(lambda a, b, c: cross_entropy([[a, b, c]], [2]), zs)
    assert h == [
        pytest.approx([(j == k) * p[j] - p[j] * p[k] for k in range(3)], rel=1e-12, abs=1e-15)
        for j in range(3)
    ]


def test_l2_penalty_value_gradient_and_single_node():
    params = values([0.5, -2.0, 3.0])
    penalty = l2_penalty(params, alpha=0.01)
    assert penalty.data == pytest.approx(0.01 * (0.25 + 4 + 9))
    penalty.backward()
    assert [p.grad for p in params] == pytest.approx([2 * 0.01 * p.data for p in params])
    assert sum(1 for n in topological_order(penalty) if n._op == "dot") == 1
    assert l2_penalty(params).data == pytest.approx(1e-4 * 13.25)  # micrograd's demo's alpha


# ---------------------------------------------------------------------- every loss by finite differences
def _finite_difference_check(build, inputs: list[float]) -> None:  # noqa: ANN001
    # the package's own gradcheck: central differences with step 1e-6, input by input
    assert_gradcheck(lambda *xs: build(list(xs)), inputs, eps=1e-6, atol=1e-8, rtol=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_every_loss_agrees_with_finite_differences(seed):
    rng = random.Random(seed)
    p = [rng.uniform(-2, 2) for _ in range(6)]
    _finite_difference_check(lambda xs: mse(xs, [0.5] * 6), p)
    _finite_difference_check(lambda xs: half_mse(xs, [-0.5] * 6), p)
    # keep the hinge away from its kink at y·s = 1
    _finite_difference_check(
        lambda xs: hinge(xs, [1, -1, 1, -1, 1, -1]), [v if abs(abs(v) - 1) > 0.01 else 0 for v in p]
    )
    _finite_difference_check(lambda xs: binary_cross_entropy_with_logits(xs, [1, 0, 1, 0, 0.3, 1]), p)
    _finite_difference_check(lambda xs: cross_entropy([xs[:3], xs[3:]], [0, 2]), p)
    _finite_difference_check(lambda xs: softmax(xs)[1] * 3 + softmax(xs)[4], p)
    _finite_difference_check(lambda xs: log_softmax(xs)[0] - log_softmax(xs)[5], p)
    _finite_difference_check(lambda xs: l2_penalty(xs, 0.3), p)


# ---------------------------------------------------------------------- registry and errors
def test_registry_names_and_tasks():
    assert set(LOSSES) == {"mse", "half_mse", "hinge", "bce", "cross_entropy"}
    assert {name: fn.task for name, fn in LOSSES.items()} == {
        "mse": "regression",
        "half_mse": "regression",
        "hinge": "binary",
        "bce": "binary",
        "cross_entropy": "multiclass",
    }


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: mse(values([1, 2]), [1]), ValueError, "has 1 entries but predictions has 2"),
        (lambda: mse([], []), ValueError, "at least one target"),
        (
            lambda: mse(values([1]), [1], reduction="avg"),
            ValueError,
            r"mse\(reduction\) must be one of 'mean', 'sum'",
        ),
        (lambda: mse(Value(1.0), [1.0]), TypeError, "one entry per sample"),
        (
            lambda: mse(values([1]), ["a"]),
            TypeError,
            r"mse\(targets\): target 0 must be a real number, got str",
        ),
        (lambda: mse([values([1, 2])], [[1.0]]), ValueError, "target must be a list of 2"),
        (lambda: hinge(values([1]), [0.5]), ValueError, "binary label"),
        (lambda: binary_cross_entropy_with_logits(values([1]), [2]), ValueError, "0/1"),
        (lambda: cross_entropy([values([1, 2, 3])], [3]), ValueError, r"class index 0\.\.2"),
        (lambda: cross_entropy([values([1, 2, 3])], [1.5]), ValueError, "class index"),
        (lambda: softmax([]), ValueError, "at least one logit"),
        (lambda: l2_penalty([]), ValueError, "at least one parameter"),
        (lambda: l2_penalty(values([1]), alpha=-1), ValueError, "alpha"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_cross_entropy_on_a_single_output_model_says_what_to_change() -> None:
    from microgradnn.losses import cross_entropy

    with pytest.raises(TypeError, match=r"one neuron per class, e\.g\. MLP\(nin, \[\.\.\., k\]\)"):
        cross_entropy([Value(0.5), Value(-0.2)], [0, 1])
