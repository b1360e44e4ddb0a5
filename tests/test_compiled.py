"""The compiled batch path against the scalar engine: same loss, same gradients, clear errors."""

from __future__ import annotations

import math
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from microgradnn import MLP, Value, define_op, value_sum
from microgradnn.compiled import CompileError, compile_step
from microgradnn.data import make_moons
from microgradnn.engine import topological_order
from microgradnn.losses import cross_entropy, hinge, mse
from microgradnn.ops import OPS, sigmoid
from microgradnn.testing import expressions, finite_floats
from microgradnn.train import evaluate, fit, predict


def scalar_reference(fn, params, X, y=None, reduction="mean"):
    """The loss and gradients of the scalar graph of the whole batch, by backward()."""
    for p in params:
        p.grad = 0.0
    samples = [[Value(v) for v in x] for x in X]
    terms = [fn(x) if y is None else fn(x, t) for x, t in zip(samples, y or [None] * len(X))]
    total = value_sum(terms)
    loss = total * (1.0 / len(X)) if reduction == "mean" else total
    loss.backward()
    return loss.data, [p.grad for p in params]


def gradient_magnitudes(fn, params, X):
    """Per parameter, the size of the terms its gradient is made of: the chain rule run with
    every factor replaced by the magnitude of what it is computed from. A forward value is as
    large as its terms (|a| + |b| for a - b), and 1 - tanh² x as large as 1 + tanh² x. Rounding
    errors (and numpy's tanh differing from math.tanh in the last bit) are relative to these
    magnitudes, not to the result: a saturated tanh's gradient of 1e-7 keeps the rounding of
    its O(1) terms."""
    samples = [[Value(v) for v in x] for x in X]
    root = value_sum([fn(x) for x in samples]) * (1.0 / len(X))
    order = topological_order(root)
    size = {}
    for node in order:  # forward: the magnitude of the terms of each value
        inputs = node._prev
        if not inputs:
            size[node] = abs(node.data)
            continue
        op, ins = str(node._op), [size[v] for v in inputs]
        if op in ("+", "-", "sum"):
            size[node] = sum(ins)
        elif op == "*":
            size[node] = ins[0] * ins[1]
        elif op == "dot":
            k = len(ins) // 2
            size[node] = sum(a * b for a, b in zip(ins[:k], ins[k:]))
        else:
            size[node] = abs(node.data) + sum(abs(d) * m for d, m in zip(node._local, ins))
    weight = {root: 1.0}
    for node in reversed(order):  # backward: each factor at the magnitude of its terms
        w, inputs = weight.get(node, 0.0), node._prev
        if not inputs or w == 0.0:
            continue
        op, out = str(node._op), node.data
        if op == "tanh":
            factors = [1.0 + out * out]
        elif op == "sigmoid":
            factors = [out + out * out]
        elif op == "*":
            factors = [size[inputs[1]], size[inputs[0]]]
        elif op == "dot":
            k = len(inputs) // 2
            factors = [size[v] for v in inputs[k:]] + [size[v] for v in inputs[:k]]
        else:
            factors = [abs(d) for d in node._local]
        for v, f in zip(inputs, factors):
            weight[v] = weight.get(v, 0.0) + f * w
    return [weight.get(p, 0.0) for p in params]


def assert_same_gradients(compiled_grads, scalar_grads, rel=1e-12, floor=1e-15):
    """max |Δgrad| ≤ rel × max |grad|, or a few units in the last place of numbers near 1: a
    gradient made by cancellation (1 − tanh² x of a saturated tanh, ~1e-7) keeps the rounding
    of its O(1) terms, and numpy's tanh may differ from math.tanh in the last bit."""
    scale = max(map(abs, scalar_grads), default=0.0)
    worst = max((abs(a - b) for a, b in zip(compiled_grads, scalar_grads)), default=0.0)
    assert worst <= max(rel * scale, floor), f"max |Δgrad| = {worst:g}, max |grad| = {scale:g}"


# ---------------------------------------------------------------------- every operation
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(
    expression=expressions(n_leaves=4, max_ops=10),
    n_inputs=st.integers(1, 3),
    batch=st.lists(st.lists(finite_floats(-3, 3), min_size=4, max_size=4), min_size=1, max_size=6),
)
def test_random_graphs_over_all_operations_agree_with_backward(expression, n_inputs, batch):
    # The expression's first leaves are the sample's inputs, the others are parameters.
    param_values = batch[0][n_inputs:]
    for row in batch:
        assume(expression.kink_distance(row[:n_inputs] + param_values) > 1e-3)
    params = [Value(v) for v in param_values]
    X = [row[:n_inputs] for row in batch]

    def fn(x):
        return expression.build(list(x) + params)

    step = compile_step(fn, params, X[0])
    loss = step(X)
    compiled_grads = [p.grad for p in params]
    scalar_loss, scalar_grads = scalar_reference(fn, params, X)
    assert loss == pytest.approx(scalar_loss, rel=1e-12, abs=1e-12)
    # Each gradient to 1e-12 of the terms it is summed from (see gradient_magnitudes).
    for i, (a, b, m) in enumerate(zip(compiled_grads, scalar_grads, gradient_magnitudes(fn, params, X))):
        assert abs(a - b) <= 1e-12 * m, f"parameter {i}: {a!r} vs {b!r}, terms of size {m:g}"


def test_a_saturated_tanh_agrees_to_the_size_of_its_terms():
    # The case test_random_graphs_... once failed on: 1 − tanh² of a saturated tanh is ~1e-15 made
    # from terms of size 1, so numpy's tanh and math.tanh, a bit apart, differ there by ~1e-16 ×
    # the later factors; max |Δgrad| against max |grad| flagged it, the size of the terms does not.
    w, v = Value(2.9), Value(-2.7)
    X = [[3.0], [2.6], [-2.95], [0.1]]

    def fn(x):
        return (x[0] * w).tanh() * v + (x[0] * v).tanh() * w * x[0]

    step = compile_step(fn, [w, v], X[0])
    step(X)
    _, scalar_grads = scalar_reference(fn, [w, v], X)
    sizes = gradient_magnitudes(fn, [w, v], X)
    for p, b, m in zip([w, v], scalar_grads, sizes):
        assert abs(p.grad - b) <= 1e-12 * m
    assert min(sizes) >= 1.0  # the terms are of size 1 while the saturated parts are tiny


# ---------------------------------------------------------------------- networks and losses
def test_moons_hinge_step_matches_backward():
    X, y = make_moons(100, noise=0.1, seed=1337)
    model = MLP(2, [16, 16, 1], seed=1337)

    def fn(x, t):
        return hinge([model(x)], [t])

    step = compile_step(fn, model, X[0], y[0])
    loss = step(X, y)
    grads = [p.grad for p in model.parameters()]
    ref_loss, ref_grads = scalar_reference(fn, model.parameters(), X, y)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert_same_gradients(grads, ref_grads)
    assert any(g != 0.0 for g in grads)
    # One matrix product per layer: the grouping is what makes it fast.
    assert [g.shape for g in step.groups if g.op == "dot"] == ["matmul"] * 3


def test_mlp_cross_entropy_with_class_index_targets():
    rng = random.Random(0)
    X = [[rng.gauss(0, 1) for _ in range(12)] for _ in range(40)]
    y = [rng.randrange(4) for _ in range(40)]
    model = MLP(12, [8, 8, 4], seed=3)

    def fn(x, t):
        out = model(x)
        return cross_entropy([out], [t]), out

    step = compile_step(fn, model, X[0], y[0])
    loss = step(X, y)
    grads = [p.grad for p in model.parameters()]
    ref_loss, ref_grads = scalar_reference(lambda x, t: fn(x, t)[0], model.parameters(), X, y)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert_same_gradients(grads, ref_grads)
    assert step.outputs.shape == (40, 4)
    assert np.allclose(step.outputs, [[o.data for o in model(x)] for x in X], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("labels", [(-1, 1), (0, 1)])
def test_binary_labels_are_placeholders(labels):
    X, y = make_moons(30, noise=0.2, seed=5)
    y = [labels[0] if t < 0 else labels[1] for t in y]
    model = MLP(2, [6, 1], seed=2)

    def fn(x, t):
        return hinge([model(x)], [t])

    step = compile_step(fn, model, X[0], y[0])
    loss = step(X, y)
    ref_loss, ref_grads = scalar_reference(fn, model.parameters(), X, y)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert_same_gradients([p.grad for p in model.parameters()], ref_grads)


def test_continuous_targets_as_values_and_sum_reduction():
    rng = random.Random(1)
    X = [[rng.uniform(-1, 1)] for _ in range(25)]
    y = [2.0 * x[0] + rng.gauss(0, 0.1) for x in X]
    model = MLP(1, [5, 1], activation="tanh", seed=0)

    def fn(x, t):
        return (model(x) - t) ** 2

    step = compile_step(fn, model, X[0], y[0], targets="values", reduction="sum")
    loss = step(X, y)
    ref_loss, ref_grads = scalar_reference(fn, model.parameters(), X, y, reduction="sum")
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert_same_gradients([p.grad for p in model.parameters()], ref_grads)


def test_list_targets_traced_per_distinct_target():
    # Regression with two outputs and mse, which reads the targets as numbers: each distinct
    # target list is traced once and its numbers become a per-sample table.
    rng = random.Random(2)
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(12)]
    y = [[round(x[0] + x[1], 1), round(x[0] - x[1], 1)] for x in X]
    model = MLP(2, [4, 2], seed=0)

    def fn(x, t):
        return mse([model(x)], [t])

    step = compile_step(fn, model, X[0], y[0])
    loss = step(X, y)
    ref_loss, ref_grads = scalar_reference(fn, model.parameters(), X, y)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert_same_gradients([p.grad for p in model.parameters()], ref_grads)
    # Labels as a numpy array, including one the compiled step has not met yet.
    X2, y2 = make_moons(20, noise=0.1, seed=3)
    net = MLP(2, [3, 1], seed=0)
    hinge_step = compile_step(lambda x, t: hinge([net(x)], [t]), net, X2[0], 1)
    labels = np.array([1 if t > 0 else 0 for t in y2])  # 0/1 labels: 0 is new here
    expected = hinge([net(x) for x in X2], labels.tolist()).data
    assert hinge_step(X2, labels) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match=r"step\(y\): label 1 is nan"):
        hinge_step(X2[:2], np.array([1.0, math.nan]))


def test_a_target_read_as_a_number_is_refused_as_a_value():
    model = MLP(1, [1], seed=0)
    with pytest.raises(CompileError, match="targets='labels'"):
        compile_step(lambda x, t: mse([model(x)], [t]), model, [0.5], 1.0, targets="values")


def test_user_defined_operation_runs_batched():
    softplus = define_op(
        "softplus_compiled_test",
        lambda a: math.log1p(math.exp(a)),
        lambda out, a: sigmoid(a),
        numpy=lambda a: np.log1p(np.exp(a)),
    )
    try:
        w = [Value(0.3), Value(-0.7)]

        def fn(x):
            return softplus(x[0] * w[0] + x[1] * w[1]) * w[0]

        X = [[0.1, 2.0], [-1.0, 0.5], [3.0, -2.0]]
        step = compile_step(fn, w, X[0])
        loss = step(X)
        ref_loss, ref_grads = scalar_reference(fn, w, X)
        assert loss == pytest.approx(ref_loss, rel=1e-12)
        assert_same_gradients([p.grad for p in w], ref_grads)
    finally:  # the table is shared by every test: leave it as it was
        del OPS["softplus_compiled_test"]
        delattr(Value, "softplus_compiled_test")


def test_float32_on_request():
    X, y = make_moons(50, noise=0.1, seed=0)
    model = MLP(2, [8, 1], seed=0)

    def fn(x, t):
        return hinge([model(x)], [t])

    step = compile_step(fn, model, X[0], y[0], dtype="float32")
    loss = step(X, y)
    ref_loss, ref_grads = scalar_reference(fn, model.parameters(), X, y)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    assert_same_gradients([p.grad for p in model.parameters()], ref_grads, rel=1e-5)
    assert step.step_arrays(X, y, weights=[p.data for p in model.parameters()])[1].dtype == np.float32


# ---------------------------------------------------------------------- errors
def test_function_returning_a_non_value():
    with pytest.raises(CompileError, match="returned float"):
        compile_step(lambda x: x[0].data, [], [1.0])


def test_mismatched_batch_shapes():
    w = Value(1.0)
    step = compile_step(lambda x, t: (x[0] * w - t) ** 2, [w], [1.0, 2.0], 1.0, targets="values")
    with pytest.raises(
        ValueError, match=r"step\(X\): row 0 has 3 features, but the compiled function takes 2"
    ):
        step([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"step\(y\) has 3 entries but X has 2"):
        step([[1.0, 2.0], [4.0, 5.0]], [1.0, 2.0, 3.0])


def test_nan_in_the_batch_names_the_sample():
    w = Value(1.0)
    step = compile_step(lambda x: x[0] * w, [w], [1.0])
    with pytest.raises(ValueError, match=r"step\(X\): sample 2, column 0 is nan"):
        step([[1.0], [2.0], [math.nan]])


def test_check_names_the_first_node_where_the_structure_differs():
    w = Value(0.5)

    def fn(x):  # a Python if on .data: the trace keeps only the example's branch
        return (x[0] * w).tanh() if x[0].data > 0 else (x[0] * w).exp()

    compile_step(fn, [w], [1.0], check=[2.0])  # the same branch: fine
    with pytest.raises(CompileError, match="operation 'exp'.*the example has node 3 \\(operation 'tanh'"):
        compile_step(fn, [w], [1.0], check=[-2.0])


def test_check_names_a_number_read_from_data():
    w = Value(0.5)
    with pytest.raises(CompileError, match="the constant 3.0.*example has the constant 2.0"):
        compile_step(lambda x: x[0] * w * x[0].data, [w], [2.0], check=[3.0])


def test_hand_built_node_is_refused():
    w = Value(0.5)

    def fn(x):
        out = Value(x[0].data * 2, (x[0],), "double")
        return out * w

    with pytest.raises(CompileError, match="built by hand"):
        compile_step(fn, [w], [1.0])


# ---------------------------------------------------------------------- fit, evaluate, predict
def test_fit_compiled_gives_the_scalar_history():
    X, y = make_moons(100, noise=0.1, seed=1337)
    scalar = fit(MLP(2, [16, 16, 1], seed=1337), X, y, loss="hinge", l2=1e-4, epochs=15, progress=False)
    model = MLP(2, [16, 16, 1], seed=1337)
    fast = fit(model, X, y, loss="hinge", l2=1e-4, epochs=15, progress=False, compiled=True)
    assert fast.loss == pytest.approx(scalar.loss, rel=0, abs=1e-9)
    assert fast.metric == pytest.approx(scalar.metric, abs=1e-9)
    assert fast.lr == scalar.lr
    scalar_eval = evaluate(model, X, y, loss="hinge", l2=1e-4)
    assert evaluate(model, X, y, loss="hinge", l2=1e-4, compiled=True) == pytest.approx(
        scalar_eval, abs=1e-12
    )
    assert predict(model, X, compiled=True) == pytest.approx(predict(model, X), abs=1e-12)


def test_fit_compiled_the_issue_example():
    X, y = make_moons(100, noise=0.1, seed=1337)
    scalar = fit(MLP(2, [16, 16, 1], seed=1337), X, y, loss="hinge", progress=False)
    fast = fit(MLP(2, [16, 16, 1], seed=1337), X, y, loss="hinge", progress=False, compiled=True)
    assert len(fast.loss) == len(scalar.loss) == 100
    assert max(abs(a - b) for a, b in zip(fast.loss, scalar.loss)) <= 1e-9
    assert max(abs(a - b) for a, b in zip(fast.metric, scalar.metric)) <= 1e-9


def test_fit_compiled_minibatches_and_cross_entropy():
    rng = random.Random(4)
    X = [[rng.gauss(0, 1) for _ in range(5)] for _ in range(30)]
    y = [rng.randrange(3) for _ in range(30)]
    kwargs = dict(loss="cross_entropy", optimizer="adam", epochs=4, batch_size=8, seed=1, progress=False)
    scalar = fit(MLP(5, [6, 3], seed=0), X, y, **kwargs)
    model = MLP(5, [6, 3], seed=0)
    fast = fit(model, X, y, compiled=True, **kwargs)
    assert fast.loss == pytest.approx(scalar.loss, rel=0, abs=1e-9)
    assert fast.metric == scalar.metric
    assert np.allclose(predict(model, X, compiled=True), predict(model, X), rtol=0, atol=1e-12)


# ---------------------------------------------------------------------- imports and data
def test_import_microgradnn_does_not_load_numpy():
    code = "import sys, microgradnn, microgradnn.engine; print('numpy' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    )


def test_load_digits_without_scikit_learn_names_the_extra():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "from microgradnn.data import load_digits\n"
        "try:\n    load_digits()\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "pip install 'microgradnn[digits]'" in out


def test_load_digits():
    pytest.importorskip("sklearn")
    from microgradnn.data import load_digits

    X, y = load_digits()
    assert len(X) == len(y) == 1797 and len(X[0]) == 64
    assert set(y) == set(range(10)) and 0.0 <= min(map(min, X)) and max(map(max, X)) == 1.0
    Xs, ys = load_digits(seed=0)
    assert sorted(ys) == sorted(y) and Xs != X


def test_demo_on_digits_reaches_95_percent_held_out(tmp_path, capsys):
    pytest.importorskip("sklearn")
    from microgradnn.cli import main

    assert main(["demo", "--dataset", "digits", "--out", str(tmp_path), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    held_out = re.search(r"held-out 360 images: loss [\d.]+, accuracy ([\d.]+)%", printed)
    assert held_out is not None, printed
    assert float(held_out.group(1)) >= 95.0
    assert (tmp_path / "model.json").exists()


def test_demo_compiled_matches_the_scalar_demo(tmp_path, capsys):
    from microgradnn.cli import main

    args = ["demo", "--epochs", "5", "--no-progress", "--out"]
    assert main([*args, str(tmp_path / "a")]) == 0
    scalar = capsys.readouterr().out
    assert main([*args, str(tmp_path / "b"), "--compiled"]) == 0
    compiled = capsys.readouterr().out
    final = re.compile(r"after the last update: loss ([\d.e-]+), accuracy ([\d.]+)%")
    assert final.search(scalar).groups() == final.search(compiled).groups()


def test_benchmark_script_runs(tmp_path):
    """benchmarks/compiled.py end to end on tiny sizes (no timing is checked)."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "compiled.py"
    if not script.exists():
        pytest.skip("benchmarks/compiled.py is not here")
    out = tmp_path / "compiled.json"
    command = [sys.executable, str(script), "--smoke", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "| moons MLP(2, [4, 4, 1]), 25 points, hinge |" in done.stdout
    assert "compile + first epoch MLP(20, [8, 10])" in out.read_text()


def test_draw_puts_each_group_in_one_box():
    model = MLP(2, [3, 3, 1], seed=1)
    step = compile_step(lambda x, t: hinge([model(x)], [t]), model, [0.5, -0.2], 1)
    source = step.draw().source
    # The inputs' box and one box per array operation; the three dot groups as matrix products.
    assert source.count("subgraph cluster_") == 1 + len(step.plan.order)
    assert source.count("ONE matrix product") == 3
    assert source.count("level 3: 3 × ReLU") == 1
