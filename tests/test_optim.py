"""Tests of microgradnn.optim: each optimizer against its published update rule (step by step
and in closed form) and the learning-rate schedules."""

from __future__ import annotations

import math

import pytest

from microgradnn.engine import Value
from microgradnn.nn import MLP
from microgradnn.optim import (
    SGD,
    Adam,
    AdamW,
    Constant,
    CosineDecay,
    ExponentialDecay,
    LinearDecay,
    constant,
    cosine_decay,
    exponential_decay,
    linear_decay,
)


def run(optimizer, params, gradient, steps):  # noqa: ANN001, ANN201
    """Take `steps` steps with gradients given by gradient(p_data_list, k); return the trajectory."""
    trajectory = [[p.data for p in params]]
    for k in range(steps):
        grads = gradient([p.data for p in params], k)
        optimizer.zero_grad()
        for p, g in zip(params, grads):
            p.grad = g
        optimizer.step()
        trajectory.append([p.data for p in params])
    return trajectory


# ---------------------------------------------------------------------- SGD
def test_plain_sgd_step_is_p_minus_lr_times_grad():
    params = [Value(1.0), Value(-2.0)]
    opt = SGD(params, lr=0.1)
    params[0].grad, params[1].grad = 0.5, -3.0
    opt.step()
    assert [p.data for p in params] == [1.0 - 0.1 * 0.5, -2.0 - 0.1 * -3.0]
    assert opt.steps == 1


def test_sgd_with_momentum_under_a_constant_gradient_matches_the_closed_form():
    # b_t = μ b_{t−1} + g with b_0 = 0, so after t steps p moves by lr·g·Σ_{k=1..t} (1 − μ^k)/(1 − μ)
    mu, lr, g = 0.9, 0.05, 2.0
    p = Value(3.0)
    trajectory = run(SGD([p], lr=lr, momentum=mu), [p], lambda x, k: [g], 20)
    for t, (x,) in enumerate(trajectory):
        moved = lr * g * sum((1 - mu**k) / (1 - mu) for k in range(1, t + 1))
        assert x == pytest.approx(3.0 - moved, rel=1e-13)


def test_sgd_weight_decay_alone_shrinks_geometrically():
    p = Value(4.0)
    trajectory = run(SGD([p], lr=0.1, weight_decay=0.5), [p], lambda x, k: [0.0], 10)
    assert [x for (x,) in trajectory] == pytest.approx(
        [4.0 * (1 - 0.1 * 0.5) ** t for t in range(11)], rel=1e-14
    )


def test_sgd_momentum_nesterov_and_decay_follow_the_rule_step_by_step():
    # the published rule on f(p) = Σ a_i p_i² / 2 with a varying gradient, written out here
    a = [1.0, 3.0, 0.5]
    lr, mu, wd = 0.05, 0.8, 0.01
    for nesterov in (False, True):
        params = [Value(1.0), Value(-2.0), Value(0.5)]
        opt = SGD(params, lr=lr, momentum=mu, weight_decay=wd, nesterov=nesterov)
        trajectory = run(opt, params, lambda x, k: [ai * xi for ai, xi in zip(a, x)], 15)
        p, b = [1.0, -2.0, 0.5], [0.0, 0.0, 0.0]
        for step in range(1, 16):
            for i in range(3):
                gi = a[i] * p[i] + wd * p[i]
                b[i] = mu * b[i] + gi
                p[i] -= lr * (gi + mu * b[i] if nesterov else b[i])
            assert trajectory[step] == pytest.approx(p, rel=1e-13)


# ---------------------------------------------------------------------- Adam / AdamW
def test_adam_steps_by_lr_times_sign_under_a_constant_gradient():
    # with a constant gradient g the bias-corrected moments are exactly g and g², so every
    # step moves p by lr·g/(|g| + ε)
    lr, eps = 0.01, 1e-8
    params = [Value(1.0), Value(1.0)]
    trajectory = run(Adam(params, lr=lr, eps=eps), params, lambda x, k: [3.0, -0.002], 25)
    for t, xs in enumerate(trajectory):
        assert xs[0] == pytest.approx(1.0 - t * lr * 3.0 / (3.0 + eps), rel=1e-12)
        assert xs[1] == pytest.approx(1.0 + t * lr * 0.002 / (0.002 + eps), rel=1e-12)


def _adam_reference(p, grads_fn, steps, lr, b1, b2, eps, wd, decoupled):  # noqa: ANN001, ANN202
    """Adam (Kingma & Ba, Algorithm 1) / AdamW (Loshchilov & Hutter, Algorithm 2), transcribed."""
    p = list(p)
    m = [0.0] * len(p)
    v = [0.0] * len(p)
    out = []
    for t in range(1, steps + 1):
        g = grads_fn(p, t - 1)
        if not decoupled:
            g = [gi + wd * pi for gi, pi in zip(g, p)]
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi**2 for vi, gi in zip(v, g)]
        m_hat = [mi / (1 - b1**t) for mi in m]
        v_hat = [vi / (1 - b2**t) for vi in v]
        p = [
            pi - lr * (wd * pi if decoupled else 0.0) - lr * mh / (math.sqrt(vh) + eps)
            for pi, mh, vh in zip(p, m_hat, v_hat)
        ]
        out.append(p)
    return out


@pytest.mark.parametrize("cls, wd", [(Adam, 0.0), (Adam, 0.1), (AdamW, 0.1), (AdamW, 0.0)])
def test_adam_and_adamw_follow_the_published_algorithms_step_by_step(cls, wd):
    a = [1.0, 4.0, 0.25]
    start = [1.0, -0.5, 2.0]
    params = [Value(x) for x in start]
    opt = cls(params, lr=0.05, betas=(0.8, 0.95), eps=1e-6, weight_decay=wd)
    gradient = lambda x, k: [ai * xi + 0.1 * k for ai, xi in zip(a, x)]  # noqa: E731
    trajectory = run(opt, params, gradient, 30)
    reference = _adam_reference(start, gradient, 30, 0.05, 0.8, 0.95, 1e-6, wd, decoupled=cls is AdamW)
    for step in range(30):
        assert trajectory[step + 1] == pytest.approx(reference[step], rel=1e-12, abs=1e-15)


def test_adamw_decay_is_decoupled_from_the_gradient():
    # with zero gradient AdamW only shrinks p by (1 − lr·λ) each step; Adam's L2 instead feeds
    # λ·p into the moments and moves p by about lr per step
    p, q = Value(2.0), Value(2.0)
    decoupled = run(AdamW([p], lr=0.01, weight_decay=0.5), [p], lambda x, k: [0.0], 5)
    assert [x for (x,) in decoupled] == pytest.approx(
        [2.0 * (1 - 0.01 * 0.5) ** t for t in range(6)], rel=1e-14
    )
    coupled = run(Adam([q], lr=0.01, weight_decay=0.5), [q], lambda x, k: [0.0], 5)
    assert coupled[1][0] == pytest.approx(2.0 - 0.01, rel=1e-6)


def test_adam_minimises_a_quadratic():
    x = Value(-4.0)
    opt = Adam([x], lr=0.1)
    for _ in range(300):
        loss = (x - 3.0) ** 2
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert x.data == pytest.approx(3.0, abs=1e-2)


# ---------------------------------------------------------------------- schedules
def test_linear_decay_is_micrograds_demo_schedule_exactly():
    schedule = linear_decay(1.0, 0.1, 100)
    assert [schedule(k) for k in range(100)] == [1.0 - 0.9 * k / 100 for k in range(100)]
    assert schedule(100) == schedule(500) == 0.1


def test_other_schedules():
    assert constant(0.3)(0) == constant(0.3)(10**6) == 0.3
    assert [exponential_decay(2.0, 0.5)(k) for k in range(4)] == [2.0, 1.0, 0.5, 0.25]
    cosine = cosine_decay(1.0, 0.0, 10)
    assert cosine(0) == 1.0 and cosine(5) == pytest.approx(0.5) and cosine(10) == 0.0
    assert all(cosine(k) > cosine(k + 1) for k in range(10))
    assert repr(LinearDecay(1.0, 0.1, 100)) == "LinearDecay(start=1.0, end=0.1, steps=100)"


def test_the_optimizer_follows_its_schedule_and_reports_the_next_rate():
    p = Value(0.0)
    opt = SGD([p], lr=LinearDecay(1.0, 0.1, 4))
    seen = []
    for _ in range(6):
        seen.append(opt.lr)
        p.grad = 1.0
        before = p.data
        opt.step()
        assert before - p.data == pytest.approx(seen[-1])
    assert seen == pytest.approx([1.0, 0.775, 0.55, 0.325, 0.1, 0.1])
    custom = SGD([Value(0.0)], lr=lambda k: 1.0 / (k + 1))
    assert custom.lr == 1.0


def test_optimizers_take_a_module_and_zero_its_gradients():
    mlp = MLP(2, [3, 1], seed=0)
    opt = Adam(mlp, lr=0.01)
    assert opt.params == mlp.parameters()
    mlp([1.0, 2.0]).backward()
    opt.zero_grad()
    assert all(p.grad == 0.0 for p in mlp.parameters())


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: SGD([Value(1.0)], lr=-0.1), r"lr\) must be > 0, got -0\.1"),
        (lambda: SGD([Value(1.0)], lr=float("nan")), r"SGD\(lr\) must be a finite number, got nan"),
        (lambda: SGD([], lr=0.1), "empty parameter list"),
        (lambda: SGD([1.0], lr=0.1), r"SGD\(params\): entry 0 must be a Value, got float: 1\.0"),
        (lambda: SGD(Value(1.0), lr=0.1), "single Value"),
        (lambda: SGD([Value(1.0), *([Value(2.0)] * 2)], lr=0.1), "appears twice"),
        (lambda: SGD([Value(1.0)], lr=0.1, momentum=1.0), "momentum"),
        (lambda: SGD([Value(1.0)], lr=0.1, nesterov=True), "nesterov"),
        (lambda: Adam([Value(1.0)], betas=(0.9, 1.0)), "betas"),
        (lambda: Adam([Value(1.0)], betas=0.9), "pair"),
        (lambda: Adam([Value(1.0)], eps=0), "eps"),
        (lambda: AdamW([Value(1.0)], weight_decay=-1), "weight_decay"),
        (lambda: LinearDecay(1.0, 0.1, 0), "steps"),
        (lambda: ExponentialDecay(1.0, 1.5), "gamma"),
        (lambda: CosineDecay(1.0, -0.1, 5), "end"),
        (lambda: Constant(0), "lr"),
    ],
)
def test_bad_settings_raise_clear_errors(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_a_schedule_giving_a_bad_rate_is_reported_at_the_step():
    opt = SGD([Value(1.0)], lr=lambda k: -1.0)
    with pytest.raises(ValueError, match="learning rate -1.0 at step 0"):
        opt.step()


def test_a_learning_rate_out_of_range_is_named_with_its_bound() -> None:
    w = Value(1.0)
    with pytest.raises(ValueError, match=r"^SGD\(lr\) must be > 0, got -1\.0$"):
        SGD([w], lr=-1)


# ---------------------------------------------------------------------- state
def test_state_holds_each_optimizers_buffers_and_restoring_it_restores_the_trajectory():
    """`.state` is the public view of the running buffers: copying it out and back in (with
    the parameters and step count) makes the next steps the same as an uninterrupted run."""
    for make, names in ((lambda ps: SGD(ps, lr=0.05, momentum=0.9), ["velocity"]),
                        (lambda ps: Adam(ps, lr=0.05), ["m", "v"]),
                        (lambda ps: AdamW(ps, lr=0.05), ["m", "v"])):  # fmt: skip
        params = [Value(1.0), Value(-0.5)]
        opt = make(params)
        assert sorted(opt.state) == names and all(buf == [0.0, 0.0] for buf in opt.state.values())
        gradient = lambda x, k: [2 * x[0] - 1, 3 * x[1] ** 2]  # noqa: E731
        run(opt, params, gradient, 3)
        saved = ([p.data for p in params], {k: list(v) for k, v in opt.state.items()}, opt.steps)
        assert all(any(b != 0.0 for b in buf) for buf in opt.state.values())
        straight = run(opt, params, gradient, 4)
        for p, x in zip(params, saved[0]):
            p.data = x
        for name, buf in opt.state.items():
            buf[:] = saved[1][name]
        opt.steps = saved[2]
        assert run(opt, params, gradient, 4) == straight
        for buf in opt.state.values():  # zeroed buffers give a different path: the state is used
            buf[:] = [0.0, 0.0]
        for p, x in zip(params, saved[0]):
            p.data = x
        opt.steps = saved[2]
        assert run(opt, params, gradient, 4) != straight
