"""Tests of microgradnn.nn: modules, micrograd compatibility, the fused neuron, initialisation,
the fast forward paths, and saving/loading (exact round trip, every bad-file case)."""

from __future__ import annotations

import json
import math
import os
import random
import stat
import struct

import pytest

from microgradnn.engine import Value, dot, grad, topological_order
from microgradnn.nn import ACTIVATIONS, MLP, Layer, ModelFileError, Module, Neuron, load_model
from microgradnn.testing import assert_gradcheck, gradcheck


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


FLOAT_ACTIVATIONS = {
    "relu": lambda a: max(0.0, a),
    "tanh": math.tanh,
    "sigmoid": sigmoid,
    "leaky_relu": lambda a: a if a > 0 else 0.01 * a,
    "linear": lambda a: a,
}


# ---------------------------------------------------------------------- micrograd compatibility
def test_default_weights_and_order_match_micrograd_under_the_same_global_seed():
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(1337)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ours = MLP(2, [16, 16, 1])
    assert ours.num_parameters() == len(theirs.parameters()) == 337
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]


def test_forward_and_gradients_match_micrograd():
    micrograd_engine = pytest.importorskip("micrograd.engine")
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(7)
    theirs = micrograd_nn.MLP(3, [5, 4, 1])
    random.seed(7)
    ours = MLP(3, [5, 4, 1])
    x = [0.5, -1.25, 2.0]
    out_theirs = theirs([micrograd_engine.Value(v) for v in x])
    out_ours = ours(x)
    assert out_ours.data == pytest.approx(out_theirs.data, rel=1e-12, abs=1e-12)
    (out_theirs * out_theirs).backward()
    (out_ours * out_ours).backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert p.grad == pytest.approx(q.grad, rel=1e-10, abs=1e-12)


def test_micrograd_signatures_and_defaults():
    neuron = Neuron(3)
    assert neuron.nonlin is True and neuron.activation == "relu"
    assert Neuron(3, nonlin=False).activation == "linear" and Neuron(3, False).nonlin is False
    assert all(-1.0 <= w.data <= 1.0 for w in neuron.w) and neuron.b.data == 0.0
    assert isinstance(Layer(3, 1)([1.0, 2.0, 3.0]), Value)  # one output: a bare Value
    outs = Layer(3, 2)([1.0, 2.0, 3.0])
    assert isinstance(outs, list) and len(outs) == 2
    layer = Layer(3, 4, nonlin=False)  # keyword arguments reach the neurons
    assert {n.activation for n in layer.neurons} == {"linear"}
    mlp = MLP(2, [4, 3, 1])
    assert [layer.activation for layer in mlp.layers] == ["relu", "relu", "linear"]
    assert isinstance(mlp([1.0, 2.0]), Value)
    assert len(MLP(2, [4, 3])([1.0, 2.0])) == 3


def test_parameters_come_in_micrograd_order_with_dotted_names_and_labels():
    mlp = MLP(2, [3, 1], seed=0)
    names = [name for name, _ in mlp.named_parameters()]
    expected = []
    for i, (nin, nout) in enumerate([(2, 3), (3, 1)]):
        for j in range(nout):
            expected += [f"layers.{i}.neurons.{j}.w.{k}" for k in range(nin)] + [f"layers.{i}.neurons.{j}.b"]
    assert names == expected
    manual = [p for layer in mlp.layers for n in layer.neurons for p in [*n.w, n.b]]
    assert all(a is b for a, b in zip(mlp.parameters(), manual)) and len(manual) == len(names)
    assert [p.label for p in mlp.parameters()] == names
    assert [p.label for p in Neuron(2).parameters()] == ["w.0", "w.1", "b"]
    assert [p.label for p in Layer(2, 2).parameters()][:3] == [
        "neurons.0.w.0",
        "neurons.0.w.1",
        "neurons.0.b",
    ]


def test_zero_grad_num_parameters_and_repr():
    mlp = MLP(2, [16, 16, 1], seed=1)
    assert mlp.num_parameters() == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1 == 337
    mlp([1.0, -1.0]).backward()
    assert any(p.grad != 0.0 for p in mlp.parameters())
    mlp.zero_grad()
    assert all(p.grad == 0.0 for p in mlp.parameters())
    text = repr(mlp)
    assert "MLP(2, [16, 16, 1])" in text and "337 parameters" in text
    assert "Layer(16 -> 1, activation='linear')" in text
    assert repr(Neuron(3, activation="tanh")) == "Neuron(3, activation='tanh')"


def test_a_custom_module_finds_parameters_in_attributes():
    class Pair(Module):
        def __init__(self) -> None:
            self.scale = Value(2.0)
            self.parts = [MLP(1, [2], seed=0), MLP(2, [1], seed=1)]

        def __call__(self, x):  # noqa: ANN001, ANN204
            return self.scale * self.parts[1](self.parts[0](x))

    pair = Pair()
    pair.label_parameters()
    names = [n for n, _ in pair.named_parameters()]
    assert names[0] == "scale" and names[1] == "parts.0.layers.0.neurons.0.w.0"
    assert pair.num_parameters() == 1 + 4 + 3
    assert pair.parameters()[1].label == "parts.0.layers.0.neurons.0.w.0"
    assert isinstance(pair([0.5]), Value)


# ---------------------------------------------------------------------- the neuron's graph
def test_a_neuron_is_one_fused_dot_node_plus_bias_plus_activation():
    neuron = Neuron(5, seed=3)
    x = [Value(float(i), label=f"x{i}") for i in range(5)]
    out = neuron(x)
    assert out._op == "ReLU"
    (pre,) = out._prev
    assert pre._op == "+" and pre._prev[1] is neuron.b
    wx = pre._prev[0]
    assert wx._op == "dot" and list(wx._prev) == [*neuron.w, *x]
    assert len(topological_order(out)) == 5 + 5 + 1 + 3  # weights, inputs, bias, 3 nodes


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_each_activation_computes_its_formula(activation):
    neuron = Neuron(3, activation=activation, seed=11)
    x = [0.3, -0.7, 0.9]
    a = sum(w.data * xi for w, xi in zip(neuron.w, x)) + neuron.b.data
    assert neuron(x).data == pytest.approx(FLOAT_ACTIVATIONS[activation](a), rel=1e-12, abs=1e-15)
    assert neuron.predict(x) == neuron(x).data


def test_the_lectures_all_tanh_mlp_is_one_argument_away():
    mlp = MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh", seed=5)
    assert [layer.activation for layer in mlp.layers] == ["tanh", "tanh", "tanh"]
    assert -1.0 < mlp([2.0, 3.0, -1.0]).data < 1.0


def _graph_signature(root: Value, leaves: dict[int, str]) -> list:
    """The graph as (op, data bits, local gradients, input positions or leaf names) per node."""
    order = topological_order(root)
    position = {id(n): i for i, n in enumerate(order)}
    return [
        (
            str(n._op),
            bits(n.data),
            tuple(n._local),
            tuple(leaves.get(id(c), position[id(c)]) for c in n._prev),
        )
        for n in order
    ]


@pytest.mark.parametrize("activation", ["relu", "tanh", "leaky_relu"])
def test_the_fast_layer_path_builds_exactly_the_graph_of_dot_plus_bias(activation):
    mlp = MLP(3, [4, 5, 2], activation=activation, seed=2)
    x = [0.25, -1.5, 0.75]
    fast = mlp(x)
    # the same network written with the public operations, neuron by neuron
    h = [Value(v) for v in x]
    for layer in mlp.layers:
        outs = []
        for n in layer.neurons:
            act = dot(n.w, h) + n.b
            outs.append(act if n.activation == "linear" else getattr(act, n.activation)())
        h = outs
    names = {id(p): name for name, p in mlp.named_parameters()}
    fast_inputs = [leaf for leaf in topological_order(fast) if not leaf._prev and id(leaf) not in names]
    reference_inputs = [leaf for leaf in topological_order(h) if not leaf._prev and id(leaf) not in names]
    for a, b in zip(fast_inputs, reference_inputs):
        assert a.data == b.data
    fast_names = {**names, **{id(v): f"x{i}" for i, v in enumerate(fast_inputs)}}
    reference_names = {**names, **{id(v): f"x{i}" for i, v in enumerate(reference_inputs)}}
    for out_fast, out_ref in zip(fast, h):
        assert _graph_signature(out_fast, fast_names) == _graph_signature(out_ref, reference_names)


def test_gradients_of_an_mlp_match_finite_differences():
    mlp = MLP(3, [4, 3, 1], activation="tanh", seed=9)
    data = [([0.5, -0.2, 0.1], 0.7), ([-1.0, 0.4, 0.3], -0.2), ([0.2, 0.9, -0.6], 0.1)]

    def loss_value() -> Value:
        return sum(((mlp(x) - t) ** 2 for x, t in data), Value(0.0))

    # every parameter moved by ±1e-6 in place (and restored) by the package's own gradcheck
    result = assert_gradcheck(loss_value, mlp.parameters(), eps=1e-6, atol=1e-8, rtol=1e-6)
    assert len(result.rows) == mlp.num_parameters()


def test_batch_forward_predict_and_graph_agree_exactly():
    mlp = MLP(2, [8, 8, 3], seed=4)
    X = [[0.1 * i, -0.05 * i * i] for i in range(10)]
    batch = mlp.forward_batch(X)
    singles = [mlp(x) for x in X]
    assert [[v.data for v in o] for o in batch] == [[v.data for v in o] for o in singles]
    assert mlp.predict_batch(X) == [[v.data for v in o] for o in singles]
    assert [mlp.predict(x) for x in X] == mlp.predict_batch(X)
    single_output = MLP(2, [4, 1], seed=4)
    assert single_output.predict_batch(X) == [single_output(x).data for x in X]
    assert isinstance(single_output.forward_batch(X)[0], Value)
    layer = Layer(2, 3, seed=1)
    assert layer.predict([0.5, 0.25]) == [v.data for v in layer([0.5, 0.25])]


def test_inputs_may_be_values_and_gradients_reach_them():
    mlp = MLP(2, [3, 1], activation="tanh", seed=8)
    x = [Value(0.5), Value(-0.5)]
    mlp(x).backward()
    numeric = [row.numeric for row in gradcheck(lambda a, b: mlp([a, b]), [0.5, -0.5], eps=1e-6).rows]
    assert [v.grad for v in x] == pytest.approx(numeric, rel=1e-6)
    assert grad(mlp(x), x) == pytest.approx(numeric, rel=1e-6)


def test_wrong_inputs_raise_clear_errors():
    mlp = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="MLP expects 2 inputs, got 3"):
        mlp([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="Neuron expects 2 inputs, got 1"):
        Neuron(2)([1.0])
    with pytest.raises(ValueError, match="Layer expects 2 inputs, got 3"):
        Layer(2, 2).predict([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="sequence of 2 numbers"):
        mlp(5.0)
    with pytest.raises(TypeError, match="number or a Value"):
        mlp.predict([1.0, "a"])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: MLP(0, [1]), "nin"),
        (lambda: MLP(2, []), "non-empty"),
        (lambda: MLP(2, [3, 0]), "entry 1"),
        (lambda: MLP(2, "16"), "non-empty list"),
        (lambda: MLP(2, [1], activation="swish"), "unknown activation"),
        (lambda: MLP(2, [1], output_activation="softmax"), "unknown activation"),
        (lambda: MLP(2, [1], init="normal"), "unknown init"),
        (lambda: MLP(2, [1], seed=1, rng=random.Random(1)), "either seed or rng"),
        (lambda: Neuron(2.5), r"Neuron\(nin\) must be an integer, got float: 2\.5"),
        (lambda: Layer(2, True), r"Layer\(nout\) must be an integer, got bool: True"),
    ],
)
def test_bad_constructor_arguments_are_named(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


# ---------------------------------------------------------------------- initialisation
def test_seed_gives_the_same_weights_everywhere():
    # Random(0).random() is 0.8444218515250481 on every platform; uniform(-1, 1) = -1 + 2·that
    assert MLP(2, [1], seed=0).parameters()[0].data == 0.6888437030500962
    a = [p.data for p in MLP(2, [16, 16, 1], seed=42).parameters()]
    b = [p.data for p in MLP(2, [16, 16, 1], seed=42).parameters()]
    c = [p.data for p in MLP(2, [16, 16, 1], seed=43).parameters()]
    assert a == b and a != c
    reference = random.Random(42)
    expected = []
    for nin, nout in [(2, 16), (16, 16), (16, 1)]:
        for _ in range(nout):
            expected += [reference.uniform(-1.0, 1.0) for _ in range(nin)] + [0.0]
    assert a == expected


def test_an_rng_argument_is_used_and_advanced():
    rng = random.Random(5)
    first = [p.data for p in MLP(2, [3], rng=rng).parameters()]
    second = [p.data for p in MLP(2, [3], rng=rng).parameters()]
    assert first != second
    again = random.Random(5)
    assert first == [p.data for p in MLP(2, [3], rng=again).parameters()]


@pytest.mark.parametrize(
    "init, bound", [("xavier", lambda i, o: math.sqrt(6 / (i + o))), ("he", lambda i, o: math.sqrt(6 / i))]
)
def test_xavier_and_he_draw_uniformly_within_their_bounds(init, bound):
    mlp = MLP(8, [20, 4], init=init, seed=3)
    reference = random.Random(3)
    for layer in mlp.layers:
        a = bound(layer.nin, layer.nout)
        for n in layer.neurons:
            assert [w.data for w in n.w] == [reference.uniform(-a, a) for _ in range(layer.nin)]
            assert n.b.data == 0.0
            assert all(abs(w.data) <= a for w in n.w)
        assert max(abs(w.data) for n in layer.neurons for w in n.w) > 0.5 * a


# ---------------------------------------------------------------------- state and files
def test_state_dict_round_trip_and_unchanged_model_on_mismatch():
    mlp = MLP(2, [3, 1], seed=1)
    state = mlp.state_dict()
    assert list(state) == [n for n, _ in mlp.named_parameters()]
    other = MLP(2, [3, 1], seed=2)
    other.load_state_dict(state)
    assert other.state_dict() == state
    before = other.state_dict()
    with pytest.raises(ValueError, match="missing 1"):
        other.load_state_dict({k: v for k, v in state.items() if k != "layers.1.neurons.0.b"})
    with pytest.raises(ValueError, match="unexpected 1"):
        other.load_state_dict({**{k: 0.0 for k in state}, "extra": 1.0})
    bad = {k: 0.0 for k in state}
    bad["layers.1.neurons.0.b"] = "0.5"
    with pytest.raises(TypeError, match="must be a number"):
        other.load_state_dict(bad)
    assert other.state_dict() == before


TRICKY_FLOATS = [
    0.1 + 0.2,
    -0.0,
    5e-324,  # smallest subnormal
    2.2250738585072014e-308,
    1.7976931348623157e308,
    1 / 3,
    -123456789.12345679,
    math.pi,
    1e-300,
]


def _tricky_model() -> MLP:
    mlp = MLP(2, [4, 3, 1], activation="tanh", output_activation="sigmoid", seed=6)
    rng = random.Random(99)
    for i, p in enumerate(mlp.parameters()):
        p.data = TRICKY_FLOATS[i] if i < len(TRICKY_FLOATS) else rng.uniform(-1e3, 1e3) * rng.random() ** 20
    return mlp


def test_save_and_load_round_trip_every_float_bit_for_bit(tmp_path):
    mlp = _tricky_model()
    path = mlp.save(tmp_path / "model.json")
    fresh = MLP(2, [4, 3, 1], activation="tanh", output_activation="sigmoid", seed=0)
    assert fresh.load(path) is fresh
    assert [bits(p.data) for p in fresh.parameters()] == [bits(p.data) for p in mlp.parameters()]
    rebuilt = load_model(path)
    assert isinstance(rebuilt, MLP) and rebuilt.nouts == [4, 3, 1]
    assert [layer.activation for layer in rebuilt.layers] == ["tanh", "tanh", "sigmoid"]
    assert [bits(p.data) for p in rebuilt.parameters()] == [bits(p.data) for p in mlp.parameters()]
    assert [p.label for p in rebuilt.parameters()] == [n for n, _ in mlp.named_parameters()]
    document = json.loads(path.read_text())
    assert document["class"] == "MLP" and document["config"]["nouts"] == [4, 3, 1]


@pytest.mark.parametrize(
    "model", [Neuron(3, activation="sigmoid", seed=1), Layer(2, 3, seed=1, activation="tanh")]
)
def test_neurons_and_layers_save_and_load_too(tmp_path, model):
    path = model.save(tmp_path / "m.json")
    rebuilt = load_model(path)
    assert type(rebuilt) is type(model) and rebuilt.state_dict() == model.state_dict()
    assert repr(rebuilt) == repr(model)


def test_saved_file_has_ordinary_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    path = MLP(1, [1], seed=0).save(tmp_path / "m.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def _write(path, text):  # noqa: ANN001, ANN202
    path.write_text(text, encoding="utf-8")
    return path


def _bad_files(tmp_path):  # noqa: ANN001, ANN202
    good = MLP(2, [3, 1], seed=1).save(tmp_path / "good.json")
    text = good.read_text()
    document = json.loads(text)
    cases = {
        "empty": (_write(tmp_path / "empty.json", ""), "empty"),
        "truncated": (_write(tmp_path / "truncated.json", text[: len(text) // 2]), "truncated"),
        "cut at the last brace": (_write(tmp_path / "cut.json", text.rstrip()[:-1]), "not valid JSON"),
        "not json": (_write(tmp_path / "garbage.json", "hello, world"), "not valid JSON"),
        "a list": (_write(tmp_path / "list.json", "[1, 2, 3]"), "not a microgradnn model file"),
        "other json": (_write(tmp_path / "other.json", '{"a": 1}'), "not a microgradnn model file"),
        "new version": (
            _write(tmp_path / "v99.json", json.dumps({**document, "version": 99})),
            "unsupported model file version 99",
        ),
        "parameters not an object": (
            _write(tmp_path / "params.json", json.dumps({**document, "parameters": [1, 2]})),
            "'parameters' entry",
        ),
        "a string parameter": (
            _write(
                tmp_path / "string.json",
                json.dumps(
                    {**document, "parameters": {**document["parameters"], "layers.0.neurons.0.b": "x"}}
                ),
            ),
            "is not a number",
        ),
        "a missing parameter": (
            _write(
                tmp_path / "missing.json",
                json.dumps(
                    {
                        **document,
                        "config": None,
                        "parameters": {
                            k: v for k, v in document["parameters"].items() if k != "layers.1.neurons.0.b"
                        },
                    }
                ),
            ),
            "missing 1",
        ),
        "another shape": (MLP(2, [8, 1], seed=1).save(tmp_path / "shape.json"), "does not match this model"),
        "another class": (Layer(2, 3, seed=1).save(tmp_path / "layer.json"), "does not match this model"),
        "binary": (tmp_path / "binary.json", "not UTF-8"),
        "a folder": (tmp_path, "is a folder"),
    }
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    return cases


def test_every_bad_file_raises_a_clear_error_and_leaves_the_model_as_it_was(tmp_path):
    mlp = MLP(2, [3, 1], seed=2)
    before = [bits(p.data) for p in mlp.parameters()]
    for case, (path, message) in _bad_files(tmp_path).items():
        with pytest.raises(ModelFileError, match=message):
            mlp.load(path)
        assert [bits(p.data) for p in mlp.parameters()] == before, case
    with pytest.raises(FileNotFoundError, match="model file not found"):
        mlp.load(tmp_path / "nope.json")
    assert [bits(p.data) for p in mlp.parameters()] == before


def test_load_model_reports_bad_files_too(tmp_path):
    cases = _bad_files(tmp_path)
    for case in ("truncated", "not json", "new version", "a string parameter"):
        path, message = cases[case]
        with pytest.raises(ModelFileError, match=message):
            load_model(path)
    document = json.loads(cases["another shape"][0].read_text())
    broken = _write(tmp_path / "config.json", json.dumps({**document, "config": {"nin": 2, "nouts": "x"}}))
    with pytest.raises(ModelFileError, match="invalid 'config'"):
        load_model(broken)
    anonymous = _write(tmp_path / "anon.json", json.dumps({**document, "class": "Mine", "config": None}))
    with pytest.raises(ModelFileError, match="cannot rebuild"):
        load_model(anonymous)


def test_a_failed_save_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=1).save(path)
    old = path.read_bytes()

    def broken_replace(src, dst):  # noqa: ANN001, ANN202
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        MLP(2, [3, 1], seed=2).save(path)
    monkeypatch.undo()

    def broken_fsync(fd):  # noqa: ANN001, ANN202
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="I/O error"):
        MLP(2, [3, 1], seed=3).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]
    with pytest.raises(FileNotFoundError):
        MLP(1, [1]).save(tmp_path / "no such folder" / "m.json")
