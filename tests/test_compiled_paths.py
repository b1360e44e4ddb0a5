"""The compiled path's generated code, one trace per function, cached plans, honest limits,
the checks of its inputs, and the torch backend: each against the scalar engine."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from microgradnn import MLP, Value, define_op, value_sum
from microgradnn.compiled import CompileError, compile_model, compile_step, core
from microgradnn.data import make_moons
from microgradnn.losses import binary_cross_entropy_with_logits, cross_entropy, half_mse, hinge, mse
from microgradnn.ops import OPS
from microgradnn.optim import SGD, Adam
from microgradnn.testing import expressions, finite_floats
from microgradnn.train import evaluate, fit, predict


def scalar_reference(loss_fn, model, X, y):
    """The loss and gradients of loss_fn on the whole batch, by the scalar engine's backward()."""
    model.zero_grad()
    loss = loss_fn([model(x) for x in X], y)
    loss.backward()
    return loss.data, [p.grad for p in model.parameters()]


def close(a, b, tol=1e-12):
    scale = max(1.0, max(map(abs, b), default=0.0))
    return max((abs(u - v) for u, v in zip(a, b)), default=0.0) <= tol * scale


@pytest.fixture
def count_traces(monkeypatch):
    """How many times the compiled path runs the user's function to trace it."""
    calls = []
    real = core.trace

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(core, "trace", counting)
    return calls


def multiclass(n=40, nin=5, k=10, seed=0):
    rng = random.Random(seed)
    X = [[rng.gauss(0, 1) for _ in range(nin)] for _ in range(n)]
    return X, [rng.randrange(k) for _ in range(n)]


# ---------------------------------------------------------------------- generated code
def test_the_generated_source_is_straight_line_array_code():
    X, y = make_moons(50, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    step = compile_model(model, hinge, X[0], y[0])
    source = step.source
    compile(source, "generated", "exec")  # plain Python
    assert source.startswith("def step(X, Y, L, T):") and "def forward(X, Y, L, T):" in source
    step_part = source.split("def forward")[0]
    assert "for " not in step_part and "while " not in step_part  # straight line
    # Three layers: three weight-gradient products written into the gradient buffer, and the
    # inputs' gradient of only the two upper layers (nobody needs ∂loss/∂X).
    assert step_part.count("np.matmul(") == 3
    assert step_part.count("@ w") == 2 + 3  # 3 forward products (x @ W.T), 2 input gradients
    # The biases and the ReLUs (two hidden, the hinge's max(0, ·)) in place:
    # v += b and np.maximum(v, 0.0, out=v).
    assert step_part.count("out=v") == 3 and step_part.count(" += w") == 3


def test_parameters_are_strided_views_of_one_buffer():
    model = MLP(3, [4, 2], seed=1)
    step = compile_model(model, cross_entropy, [0.1, 0.2, 0.3], 1)
    assert all(v.positions is None for v in step.program.views)  # no gather/scatter
    names = step._step_fn.__globals__
    weights = names["w0"]
    assert weights.shape == (4, 3) and np.shares_memory(weights, step.P)
    step.load()
    first = model.layers[0].neurons
    assert weights.tolist() == [[w.data for w in n.w] for n in first]


def test_cross_entropy_keeps_the_softmax_and_picks_by_one_hot():
    model = MLP(4, [5, 3], seed=2)
    step = compile_model(model, cross_entropy, [0.0] * 4, 0)
    assert "take_along_axis" not in step.source
    backward = step.source.split("# backward")[1].split("def forward")[0]
    assert "np.exp(" not in backward  # the forward's e and s are reused


# ---------------------------------------------------------------------- one trace per function
def test_ten_classes_trace_as_often_as_two(count_traces):
    for k in (2, 10):
        X, y = multiclass(k=k)
        fit(MLP(5, [8, k], seed=0), X, y, loss="cross_entropy", epochs=2, progress=False, compiled=True)
    # the example and the control-flow check sample: the same for 2 and for 10 classes
    assert count_traces == [1, 1, 1, 1]


@pytest.mark.parametrize(
    "loss, labels",
    [
        (hinge, lambda t: t),
        (hinge, lambda t: 1 if t > 0 else 0),
        (binary_cross_entropy_with_logits, lambda t: 1 if t > 0 else 0),
        (binary_cross_entropy_with_logits, lambda t: 0.8 if t > 0 else 0.3),
        (mse, lambda t: t * 1.7),
        (half_mse, lambda t: -t),
    ],
)
def test_a_built_in_loss_takes_its_labels_as_data(loss, labels, count_traces):
    X, y = make_moons(40, noise=0.2, seed=4)
    y = [labels(t) for t in y]
    model = MLP(2, [6, 1], seed=3)
    step = compile_model(model, loss, X[0], y[0])
    value = step(X, y)
    grads = [p.grad for p in model.parameters()]
    ref_loss, ref_grads = scalar_reference(loss, model, X, y)
    assert value == pytest.approx(ref_loss, rel=1e-12)
    assert close(grads, ref_grads)
    assert count_traces == [1]


def test_regression_with_many_distinct_targets_traces_once(count_traces):
    rng = random.Random(5)
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(2000)]
    y = [[x[0] * x[1] + rng.gauss(0, 0.01), x[0] - x[1]] for x in X]  # 4,000 distinct numbers
    settings = dict(loss="mse", optimizer="adam", lr=0.01, epochs=3, batch_size=500, seed=0, progress=False)
    fast = fit(MLP(2, [8, 2], seed=0), X, y, compiled=True, **settings)
    assert count_traces == [1, 1]
    scalar = fit(MLP(2, [8, 2], seed=0), X, y, **settings)
    assert fast.loss == pytest.approx(scalar.loss, rel=0, abs=1e-9)
    assert fast.metric == pytest.approx(scalar.metric, rel=0, abs=1e-9)


# ---------------------------------------------------------------------- fit on the buffer
def test_fit_writes_the_values_only_at_the_end_and_for_callbacks(monkeypatch):
    stores = []
    real = core.Compiled.store

    def counting(self, *args, **kwargs):
        stores.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(core.Compiled, "store", counting)
    X, y = make_moons(60, noise=0.1, seed=2)
    fit(MLP(2, [8, 1], seed=0), X, y, loss="hinge", epochs=25, progress=False, compiled=True)
    assert len(stores) == 1  # 25 steps, one write of .data/.grad
    seen_fast, seen_scalar = [], []
    for compiled, seen in ((True, seen_fast), (False, seen_scalar)):
        model = MLP(2, [8, 1], seed=0)

        def callback(epoch, history, model=model, seen=seen):
            seen.append([(p.data, p.grad) for p in model.parameters()])

        fit(model, X, y, loss="hinge", optimizer=SGD(model.parameters(), lr=0.1, momentum=0.9), epochs=6,
            progress=False, compiled=compiled, callback=callback, l2=1e-3)  # fmt: skip
    assert len(seen_fast) == len(seen_scalar) == 6
    for a, b in zip(seen_fast, seen_scalar):
        assert close([d for pair in a for d in pair], [d for pair in b for d in pair], 1e-9)


def test_fit_with_adam_and_weight_decay_gives_the_scalar_history_and_state():
    X, y = multiclass(n=30, k=3, seed=8)
    histories, states = [], []
    for compiled in (True, False):
        model = MLP(5, [6, 3], seed=0)
        opt = Adam(model.parameters(), lr=0.02, weight_decay=0.01)
        h = fit(model, X, y, loss="cross_entropy", optimizer=opt, epochs=5, batch_size=7, seed=2,
                progress=False, compiled=compiled)  # fmt: skip
        histories.append(h)
        states.append([p.data for p in model.parameters()] + opt.state["m"] + opt.state["v"] + [opt.steps])
    assert histories[0].loss == pytest.approx(histories[1].loss, rel=0, abs=1e-9)
    assert close(states[0], states[1], 1e-9)


# ---------------------------------------------------------------------- cached predict and evaluate
def test_predict_reuses_its_plan_and_takes_arrays_as_they_are(count_traces, monkeypatch):
    X, y = make_moons(300, noise=0.1, seed=1)
    A = np.asarray(X)
    model = MLP(2, [8, 8, 1], seed=1)
    first = predict(model, A, compiled=True)
    traced = len(count_traces)

    real = core.as_matrix

    def no_lists(name, X, **kwargs):
        assert len(X) == 1, f"{name}: the batch was turned into lists"  # one sample (an example) is fine
        return real(name, X, **kwargs)

    monkeypatch.setattr(core, "as_matrix", no_lists)
    again = predict(model, A, compiled=True)
    assert len(count_traces) == traced  # no new trace
    assert again == first == pytest.approx(predict(model, X), abs=1e-12)
    model.parameters()[0].data += 0.5  # the plan reads the weights afresh at every call
    assert predict(model, A, compiled=True) == pytest.approx(predict(model, X), abs=1e-12)
    loss, accuracy = evaluate(model, A, np.asarray(y), loss="hinge", l2=1e-3, compiled=True)
    assert (loss, accuracy) == pytest.approx(evaluate(model, X, y, loss="hinge", l2=1e-3), abs=1e-12)
    assert len(count_traces) == traced + 2  # evaluate's plan (with the loss) traced once ...
    evaluate(model, A, np.asarray(y), loss="hinge", compiled=True)
    assert len(count_traces) == traced + 2  # ... and then reused


def test_a_model_with_new_parameters_gets_a_new_plan():
    model = MLP(2, [3, 1], seed=0)
    X = np.array([[0.5, -1.0], [1.5, 2.0]])
    predict(model, X, compiled=True)
    model.layers[0].neurons[0].w[0] = Value(7.0)  # a different Value: the cached plan is stale
    assert predict(model, X, compiled=True) == pytest.approx(predict(model, X), abs=1e-12)


# ---------------------------------------------------------------------- honest limits
class Branchy:
    """A model whose Python code branches on a number: the scalar path follows every branch."""

    nin = 1

    def __init__(self) -> None:
        self.w = Value(2.0)

    def parameters(self):
        return [self.w]

    def __call__(self, x):
        x0 = x[0] if isinstance(x[0], Value) else Value(x[0])
        return x0 * self.w if x0.data > 0 else x0.exp()


def test_control_flow_on_data_is_refused_not_frozen():
    model = Branchy()
    X = [[1.0], [-1.0]]
    assert predict(model, X) == pytest.approx([2.0, math.exp(-1.0)])
    advice = r"compiled=False"
    with pytest.raises(CompileError, match=rf"operation 'exp'.*{advice}"):
        predict(model, X, compiled=True)
    with pytest.raises(CompileError, match=advice):
        evaluate(model, X, [1.0, 0.5], loss="mse", compiled=True)
    with pytest.raises(CompileError, match=advice):
        fit(model, X, [1.0, 0.5], loss="mse", epochs=1, progress=False, compiled=True)


def test_a_user_operation_without_numpy_runs_element_by_element():
    cube = define_op("cube_without_numpy", lambda a: a * a * a, lambda out, a: 3.0 * math.pow(a, 2))
    try:
        w = [Value(0.4), Value(-1.3)]

        def fn(x):
            return cube(x[0] * w[0] + w[1]).tanh() + cube(w[0])

        X = [[0.5], [-2.0], [1.25]]
        step = compile_step(fn, w, X[0])
        loss = step(X)
        grads = [p.grad for p in w]
        for p in w:
            p.grad = 0.0
        ref = value_sum([fn([Value(v) for v in x]) for x in X]) * (1.0 / len(X))
        ref.backward()
        assert loss == pytest.approx(ref.data, rel=1e-12)
        assert close(grads, [p.grad for p in w])
    finally:
        del OPS["cube_without_numpy"]
        delattr(Value, "cube_without_numpy")


# ---------------------------------------------------------------------- checks of the inputs (issue 22)
@pytest.fixture
def small_step():
    model = MLP(2, [3, 1], seed=0)
    return compile_model(model, hinge, [0.5, 0.5], 1)


@pytest.mark.parametrize(
    "X, error, message",
    [
        (
            np.array([[1 + 2j, 0.5]]),
            TypeError,
            r"step\(X\) must hold real numbers, got an array of dtype complex128",
        ),
        (
            np.array([["2020-01-01", "2020-01-02"]], dtype="datetime64[D]"),
            TypeError,
            r"step\(X\) must hold real numbers",
        ),
        (np.array([["1.5", "2"]]), TypeError, r"step\(X\) must hold real numbers"),
        ([["1.5", 2.0]], TypeError, r"step\(X\): sample 0, column 0 must be a real number, got str"),
        (np.array([[1.0, np.inf]]), ValueError, r"step\(X\): sample 0, column 1 is inf"),
        (np.array([[np.nan, 1.0]]), ValueError, r"step\(X\): sample 0, column 0 is nan"),
        (np.array([[True, False]]), TypeError, r"step\(X\) must hold numbers, got an array of bool"),
    ],
)
def test_step_checks_X_as_fit_does(small_step, X, error, message):
    with pytest.raises(error, match=message):
        small_step(X, [1])


@pytest.mark.parametrize(
    "y, error, message",
    [
        (None, TypeError, r"step\(y\) must be a list with one label per sample"),
        ({0: 1}, TypeError, r"step\(y\) must be a list with one label per sample"),
        ([[1]], ValueError, r"step\(y\): label 0 is a list, but the hinge loss takes one number"),
        ([[[1]]], TypeError, r"step\(y\): label 0, entry 0 must be a real number, got list"),
        ([2], ValueError, r"step\(y\): label 0 is 2, but the hinge loss needs labels ±1"),
        (np.array([1 + 0j]), TypeError, r"step\(y\) must hold real numbers"),
        (np.array([np.inf]), ValueError, r"step\(y\): label 0 is inf"),
    ],
)
def test_step_checks_y_as_fit_does(small_step, y, error, message):
    with pytest.raises(error, match=message):
        small_step(np.array([[0.5, 0.25]]), y)


def test_step_of_compile_step_checks_its_labels_too():
    w = Value(1.0)
    step = compile_step(lambda x, t: (x[0] * w - t) ** 2, [w], [1.0], 1.0)
    for bad, error in ((None, TypeError), ({1: 2}, TypeError), ([[[1.0]]], TypeError), (["1.5"], TypeError)):
        with pytest.raises(error, match=r"step\(y\)"):
            step([[1.0]], bad)


@pytest.mark.parametrize("example", [np.array(1.0), 1.0, "12", np.zeros((2, 2)), {"a": 1.0}])
def test_compile_step_names_a_bad_example(example):
    w = Value(1.0)
    with pytest.raises(
        TypeError, match=r"compile_step\(example\): expected one sample, a sequence of numbers"
    ):
        compile_step(lambda x: x[0] * w, [w], example)


# ---------------------------------------------------------------------- the torch backend
def test_torch_backend_agrees_with_numpy_and_the_scalar_engine():
    torch = pytest.importorskip("torch")
    X, y = multiclass(n=25, nin=4, k=3, seed=9)
    model = MLP(4, [7, 3], activation="tanh", seed=2)
    step = compile_model(model, cross_entropy, X[0], y[0], backend="torch", device="cpu")
    assert "torch." in step.source and "np." not in step.source
    assert isinstance(step.P, torch.Tensor)
    loss = step(X, y)
    grads = [p.grad for p in model.parameters()]
    ref_loss, ref_grads = scalar_reference(cross_entropy, model, X, y)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert close(grads, ref_grads)
    numpy_step = compile_model(model, cross_entropy, X[0], y[0])
    numpy_step(X, y)
    assert close(grads, [p.grad for p in model.parameters()])
    # Training on the buffer with the torch tensors: the scalar History.
    from microgradnn.compiled import Trainer

    fast, slow = MLP(4, [7, 3], seed=5), MLP(4, [7, 3], seed=5)
    trainer = Trainer(compile_model(fast, cross_entropy, X[0], y[0], backend="torch"), X, y,
                      SGD(fast.parameters(), lr=0.1), 0.0)  # fmt: skip
    opt = SGD(slow.parameters(), lr=0.1)
    for _ in range(3):
        value, _ = trainer.step(None)
        ref, _ = scalar_reference(cross_entropy, slow, X, y)
        opt.step()
        assert value == pytest.approx(ref, rel=1e-12)
    trainer.sync()
    assert close([p.data for p in fast.parameters()], [p.data for p in slow.parameters()])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(
    expression=expressions(n_leaves=3, max_ops=8),
    batch=st.lists(st.lists(finite_floats(-3, 3), min_size=3, max_size=3), min_size=1, max_size=5),
)
def test_torch_backend_on_random_graphs(expression, batch):
    pytest.importorskip("torch")
    for row in batch:
        assume(expression.kink_distance(row[:1] + batch[0][1:]) > 1e-3)
    params = [Value(v) for v in batch[0][1:]]
    X = [row[:1] for row in batch]

    def fn(x):
        return expression.build(list(x) + params)

    loss = compile_step(fn, params, X[0], backend="torch")(X)
    torch_grads = [p.grad for p in params]
    numpy_loss = compile_step(fn, params, X[0])(X)
    assert loss == pytest.approx(numpy_loss, rel=1e-9, abs=1e-12)
    assert close(torch_grads, [p.grad for p in params], 1e-9)


def test_torch_backend_refuses_an_operation_without_an_array_form():
    pytest.importorskip("torch")
    op = define_op("plain_float_op", lambda a: a * 2.0, lambda out, a: 2.0)
    try:
        w = Value(1.0)
        with pytest.raises(CompileError, match="'plain_float_op' has no array form"):
            compile_step(lambda x: op(x[0] * w), [w], [1.0], backend="torch")
    finally:
        del OPS["plain_float_op"]
        delattr(Value, "plain_float_op")
