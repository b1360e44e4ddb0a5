"""microgradnn.torch: a model and its torch.nn.Sequential compute the same outputs and the same
parameter gradients (float64, to 1e-12), weights travel both ways exactly, anything else is
refused with a one-line error, and PyTorch's own DistributedDataParallel trains the module
across two processes (docs/compiled.md's example, run here)."""

from __future__ import annotations

import importlib
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install 'microgradnn[torch]')")

from hypothesis import assume, given, settings  # noqa: E402 - after the skip
from hypothesis import strategies as st  # noqa: E402

from microgradnn import MLP, Layer, Neuron, Value, define_op, load_model  # noqa: E402
from microgradnn.data import make_moons  # noqa: E402
from microgradnn.losses import binary_cross_entropy_with_logits, cross_entropy, hinge, mse  # noqa: E402
from microgradnn.ops import OPS  # noqa: E402
from microgradnn.torch import from_torch, to_torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "linear")
KINKED = ("relu", "leaky_relu")  # derivative undefined at 0
TOL = 1e-12  # |Δ| ≤ TOL·max(1, |reference|): float64 with a different order of additions


def close(a: float, b: float) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(b))


def layers_of(model: MLP | Layer | Neuron) -> list[list[Neuron]]:
    if isinstance(model, MLP):
        return [layer.neurons for layer in model.layers]
    return [model.neurons] if isinstance(model, Layer) else [[model]]


def linears(net: torch.nn.Module) -> list[torch.nn.Linear]:
    return [m for m in net if isinstance(m, torch.nn.Linear)]


def torch_in_model_order(net: torch.nn.Module, attr: str) -> list[float]:
    """The module's parameters (attr 'data') or gradients ('grad') in microgradnn's order:
    layer by layer, neuron by neuron, its weights then its bias."""
    flat = []
    for linear in linears(net):
        weight, bias = getattr(linear.weight, attr), getattr(linear.bias, attr)
        for j in range(linear.out_features):
            flat += [*weight[j].tolist(), bias[j].item()]
    return flat


# ---------------------------------------------------------------------- models to compare
@st.composite
def models(draw: st.DrawFn) -> MLP | Layer | Neuron:
    """A random MLP, Layer or Neuron with random activations and random nonzero biases."""
    kind = draw(st.sampled_from(["MLP", "MLP", "Layer", "Neuron"]))
    nin = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    act = st.sampled_from(ACTIVATIONS)
    model: MLP | Layer | Neuron
    if kind == "MLP":
        nouts = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
        model = MLP(nin, nouts, activation=draw(act), output_activation=draw(act), seed=seed)
    elif kind == "Layer":
        model = Layer(nin, draw(st.integers(1, 4)), activation=draw(act), seed=seed)
    else:
        model = Neuron(nin, activation=draw(act), seed=seed)
    rng = random.Random(seed)
    for neuron in (n for layer in layers_of(model) for n in layer):
        neuron.b.data = rng.uniform(-1.0, 1.0)  # the constructors leave biases at 0
    return model


def outputs(model: MLP | Layer | Neuron, X: list[list[float]]) -> list[list[Value]]:
    """model(x) for each sample, always as a list of output Values."""
    return [[y] if isinstance(y, Value) else list(y) for y in (model(x) for x in X)]


def pre_activations(net: torch.nn.Module, X: torch.Tensor) -> list[tuple[torch.Tensor, torch.nn.Module]]:
    """Each Linear's output with the module applied to it next."""
    found, h = [], X
    modules = list(net)
    for i, m in enumerate(modules):
        h = m(h)
        if isinstance(m, torch.nn.Linear) and i + 1 < len(modules):
            found.append((h, modules[i + 1]))
    return found


def losses(model: MLP | Layer | Neuron, X: list[list[float]], loss: str, c: list[list[float]], labels: list):
    """The loss in microgradnn on the model's outputs, and the same loss written with torch ops."""
    ys = outputs(model, X)
    if loss == "weighted sum":  # any upstream gradient: Σ cᵢⱼ·yᵢⱼ
        ours = sum((cij * yij for ci, yi in zip(c, ys) for cij, yij in zip(ci, yi)), Value(0.0))
        return ours, lambda out: (torch.tensor(c, dtype=torch.float64) * out).sum()
    if loss == "cross_entropy":
        targets = [t % len(ys[0]) for t in labels]
        return cross_entropy(ys, targets), lambda out: torch.nn.functional.cross_entropy(
            out, torch.tensor(targets)
        )
    scores = [y[0] for y in ys]
    signs = [1.0 if t % 2 else -1.0 for t in labels]
    t = torch.tensor(signs, dtype=torch.float64)
    if loss == "mse":
        return mse(scores, signs), lambda out: ((out[:, 0] - t) ** 2).mean()
    if loss == "hinge":
        return hinge(scores, signs), lambda out: torch.relu(1.0 - t * out[:, 0]).mean()
    return binary_cross_entropy_with_logits(
        scores, signs
    ), lambda out: torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], (t + 1) / 2)


MEASURED = {"output": 0.0, "loss": 0.0, "gradient": 0.0}  # the largest |Δ| seen, for the report


@settings(max_examples=150, deadline=None)
@given(model=models(), data=st.data())
def test_outputs_and_gradients_equal_the_models(model: MLP | Layer | Neuron, data: st.DataObject) -> None:
    nin = len(layers_of(model)[0][0].w)
    nout = len(layers_of(model)[-1])
    n = data.draw(st.integers(1, 6), label="samples")
    coordinate = st.floats(-3.0, 3.0, allow_nan=False, allow_subnormal=False)
    X = data.draw(
        st.lists(st.lists(coordinate, min_size=nin, max_size=nin), min_size=n, max_size=n), label="X"
    )
    kinds = ["weighted sum", "cross_entropy"] if nout > 1 else ["weighted sum", "mse", "hinge", "bce"]
    loss = data.draw(st.sampled_from(kinds), label="loss")
    c = data.draw(st.lists(st.lists(st.floats(-2, 2), min_size=nout, max_size=nout), min_size=n, max_size=n))
    labels = data.draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))

    net = to_torch(model)
    Xt = torch.tensor(X, dtype=torch.float64)
    # At a kink the derivative jumps; a pre-activation within rounding of 0 may fall on either
    # side in the two computations (test_the_kinks_take_the_same_derivative covers exactly 0).
    for z, after in pre_activations(net, Xt):
        if isinstance(after, (torch.nn.ReLU, torch.nn.LeakyReLU)):
            assume(bool((z.abs() > 1e-9).all()))
    ours, theirs = losses(model, X, loss, c, labels)
    model.zero_grad()
    ours.backward()
    out = net(Xt)
    their_loss = theirs(out)
    their_loss.backward()

    ys = outputs(model, X)
    for yi, oi in zip(ys, out.tolist()):
        for a, b in zip(yi, oi):
            assert close(b, a.data), (b, a.data)
            MEASURED["output"] = max(MEASURED["output"], abs(a.data - b))
    assert close(their_loss.item(), ours.data)
    MEASURED["loss"] = max(MEASURED["loss"], abs(their_loss.item() - ours.data))
    grads = torch_in_model_order(net, "grad")
    params = model.parameters()
    assert len(grads) == len(params)
    for p, g in zip(params, grads):
        assert close(g, p.grad), (g, p.grad)
        MEASURED["gradient"] = max(MEASURED["gradient"], abs(p.grad - g))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_a_digits_sized_network_agrees_too(activation: str) -> None:
    """MLP(64, [32, 32, 10]), 64 samples, cross-entropy: 64-term dot products, larger outputs."""
    rng = random.Random(8)
    model = MLP(64, [32, 32, 10], activation=activation, seed=8)
    for p in model.parameters():
        p.data = rng.uniform(-1.0, 1.0)
    X = [[rng.uniform(-3.0, 3.0) for _ in range(64)] for _ in range(64)]
    labels = [rng.randrange(10) for _ in X]
    net = to_torch(model)
    out = net(torch.tensor(X, dtype=torch.float64))
    torch.nn.functional.cross_entropy(out, torch.tensor(labels)).backward()
    ys = model.forward_batch(X)
    cross_entropy(ys, labels).backward()
    pairs = [(a.data, b) for y, o in zip(ys, out.tolist()) for a, b in zip(y, o)]
    assert all(close(b, a) for a, b in pairs)
    grads = torch_in_model_order(net, "grad")
    assert all(close(g, p.grad) for p, g in zip(model.parameters(), grads))
    MEASURED["64-wide output"] = max(MEASURED.get("64-wide output", 0.0), *(abs(a - b) for a, b in pairs))
    MEASURED["64-wide output, relative"] = max(
        MEASURED.get("64-wide output, relative", 0.0), *(abs(a - b) / max(1.0, abs(a)) for a, b in pairs)
    )
    MEASURED["64-wide gradient"] = max(
        MEASURED.get("64-wide gradient", 0.0), *(abs(p.grad - g) for p, g in zip(model.parameters(), grads))
    )
    assert sum(abs(g) for g in grads) > 0  # a dead network would agree trivially


@pytest.mark.parametrize("activation", KINKED)
def test_the_kinks_take_the_same_derivative(activation: str) -> None:
    """At exactly 0 both take ReLU's derivative as 0 and leaky ReLU's as its slope."""
    model = Neuron(2, activation=activation, seed=3)
    net = to_torch(model)
    model([0.0, 0.0]).backward()
    net(torch.zeros(1, 2, dtype=torch.float64)).sum().backward()
    bias_grad = net[0].bias.grad.item()
    assert bias_grad == model.b.grad == (0.0 if activation == "relu" else 0.01)


# ---------------------------------------------------------------------- weights both ways
@settings(max_examples=60, deadline=None)
@given(model=models())
def test_to_torch_then_from_torch_gives_the_model_back_exactly(model: MLP | Layer | Neuron) -> None:
    net = to_torch(model)
    assert torch_in_model_order(net, "data") == [p.data for p in model.parameters()]
    back = from_torch(net)
    assert isinstance(back, MLP)
    assert [p.data for p in back.parameters()] == [p.data for p in model.parameters()]
    assert back.nin == len(layers_of(model)[0][0].w)
    assert back.nouts == [len(layer) for layer in layers_of(model)]
    assert [layer.activation for layer in back.layers] == [layer[0].activation for layer in layers_of(model)]
    # and into the model it came from: nothing changes, the same Values stay
    before = model.parameters()
    assert from_torch(net, into=model) is model
    assert model.parameters() == before  # list of the same objects (Value compares identity)


@settings(max_examples=40, deadline=None)
@given(
    widths=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    hidden=st.sampled_from([torch.nn.ReLU, torch.nn.Tanh, torch.nn.Sigmoid, torch.nn.Identity]),
    seed=st.integers(0, 1000),
)
def test_from_torch_then_to_torch_gives_the_module_back_exactly(
    widths: list[int], hidden: type, seed: int
) -> None:
    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1], dtype=torch.float64))
        if i < len(widths) - 2:
            layers.append(hidden())
    net = torch.nn.Sequential(*layers)
    again = to_torch(from_torch(net))
    for a, b in zip(linears(net), linears(again)):
        assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    X = torch.rand(5, widths[0], dtype=torch.float64)
    assert torch.allclose(net(X), again(X), rtol=1e-13, atol=1e-13)


def test_weights_trained_with_torch_come_back_into_the_model() -> None:
    """The learner's round: build, train with torch's optimizer, bring the weights home."""
    X, y = make_moons(40, noise=0.1, seed=2)
    model = MLP(2, [8, 1], activation="tanh", seed=5)
    w0 = model.layers[0].neurons[0].w[0]
    net = to_torch(model)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    for _ in range(10):
        opt.zero_grad()
        torch.relu(1 - yt * net(Xt)[:, 0]).mean().backward()
        opt.step()
    before = w0.data
    from_torch(net, into=model)
    assert model.layers[0].neurons[0].w[0] is w0 and w0.data != before  # same Value, new number
    assert [p.data for p in model.parameters()] == torch_in_model_order(net, "data")
    assert [model.predict(x) for x in X] == pytest.approx(net(Xt)[:, 0].tolist(), rel=1e-13, abs=1e-13)
    # and the other way: a microgradnn step, written into the existing module
    for p in model.parameters():
        p.data -= 0.1
    assert to_torch(model, into=net) is net
    assert torch_in_model_order(net, "data") == [p.data for p in model.parameters()]


def test_float32_rounds_each_weight_once() -> None:
    model = MLP(3, [4, 2], seed=7)
    net = to_torch(model, dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in net.parameters())
    rounded = [float(torch.tensor(p.data, dtype=torch.float32)) for p in model.parameters()]
    assert [p.data for p in from_torch(net).parameters()] == rounded


def test_a_linear_without_bias_reads_as_bias_zero() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False, dtype=torch.float64), torch.nn.Tanh())
    model = from_torch(net)
    assert [n.b.data for n in model.layers[0].neurons] == [0.0, 0.0]
    X = torch.rand(4, 3, dtype=torch.float64)
    ours = [v for x in X.tolist() for v in model.predict(x)]
    assert ours == pytest.approx(net(X).flatten().tolist(), rel=1e-13, abs=1e-13)
    # writing back: zero biases fit, nonzero ones are refused rather than dropped
    to_torch(model, into=net)
    model.layers[0].neurons[1].b.data = 0.5
    with pytest.raises(
        ValueError,
        match=r"to_torch\(into\): layer 0 \(Linear\) has no bias but .* layer 0 has nonzero biases",
    ):
        to_torch(model, into=net)


def test_a_ddp_wrapper_is_read_through() -> None:
    """from_torch accepts the DistributedDataParallel wrapper itself (its .module is read)."""
    # A process group of one, in this process, with a file store: no network needed.
    import tempfile

    import torch.distributed as dist

    model = MLP(2, [3, 1], seed=1)
    with tempfile.TemporaryDirectory() as folder:
        dist.init_process_group("gloo", init_method=f"file://{folder}/store", rank=0, world_size=1)
        try:
            ddp = torch.nn.parallel.DistributedDataParallel(to_torch(model))
            assert [p.data for p in from_torch(ddp).parameters()] == [p.data for p in model.parameters()]
        finally:
            dist.destroy_process_group()


# ---------------------------------------------------------------------- refusals
def seq(*layers: torch.nn.Module) -> torch.nn.Sequential:
    return torch.nn.Sequential(*layers)


def lin(nin: int, nout: int, **kw: object) -> torch.nn.Linear:
    return torch.nn.Linear(nin, nout, dtype=torch.float64, **kw)


BAD_MODULES = [
    (seq(lin(2, 3), torch.nn.Dropout()), r"layer 1 is Dropout, not one an MLP computes"),
    (seq(torch.nn.Conv1d(1, 1, 1)), r"layer 0 is Conv1d"),
    (torch.nn.Conv2d(1, 1, 3), r"must be a torch.nn.Sequential .* got Conv2d$"),
    (
        seq(lin(2, 3), torch.nn.ReLU(), lin(4, 1)),
        r"layer 2 \(Linear\) takes 4 inputs but the Linear before it",
    ),
    (seq(torch.nn.ReLU(), lin(2, 1)), r"layer 0 \(ReLU\) comes before any Linear"),
    (seq(lin(2, 3), torch.nn.ReLU(), torch.nn.Tanh()), r"layer 2 \(Tanh\) follows another activation"),
    (seq(lin(2, 3), torch.nn.LeakyReLU(0.2)), r"layer 1 is LeakyReLU\(negative_slope=0.2\)"),
    (seq(lin(2, 3), seq(lin(3, 1))), r"layer 1 is Sequential"),
    (seq(lin(2, 3), torch.nn.Hardtanh()), r"layer 1 is Hardtanh, not one an MLP computes"),
    (seq(lin(2, 3), torch.nn.ReLU6()), r"layer 1 is ReLU6, not one"),  # a subclass of Hardtanh
    (seq(torch.nn.Bilinear(2, 2, 1)), r"layer 0 is Bilinear"),
    (
        seq(type("Doubled", (torch.nn.Linear,), {"forward": lambda self, x: 2 * x})(2, 2)),
        r"layer 0 is Doubled",
    ),
    (type("Shifted", (torch.nn.Sequential,), {"forward": lambda self, x: x + 1})(lin(2, 1)), r"got Shifted$"),
    (
        seq(lin(2, 3), torch.nn.ReLU(), lin(3, 3), torch.nn.Tanh(), lin(3, 1)),
        r"the Linear at layer 2 is followed by tanh but the one at layer 0 by relu",
    ),
    (seq(), r"has no Linear layer"),
    ("model.pt", r"from_torch\(module\) must be a torch.nn.Sequential .* got str: 'model.pt'"),
]


@pytest.mark.parametrize(("module", "message"), BAD_MODULES)
def test_from_torch_refuses_what_an_mlp_cannot_compute(module: object, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message) as error:
        from_torch(module)
    assert "\n" not in str(error.value) and str(error.value).startswith("from_torch(module")


def test_to_torch_refuses_bad_arguments() -> None:
    model = MLP(2, [3, 1], seed=0)
    other = to_torch(MLP(2, [4, 1], seed=0))
    cases = [
        (lambda: to_torch(torch.nn.Linear(2, 1)), TypeError, r"to_torch\(model\) must be a microgradnn MLP, "
         r"Layer or Neuron, got Linear"),
        (lambda: to_torch([1.0, 2.0]), TypeError, r"to_torch\(model\) must be .* got list"),
        (lambda: to_torch(model, dtype="float64"), TypeError, r"to_torch\(dtype\) must be a torch.dtype"),
        (lambda: to_torch(model, dtype=torch.int64), ValueError, r"to_torch\(dtype\) must be a "
         r"floating-point dtype .* got torch.int64"),
        (lambda: to_torch(model, dtype=torch.complex128), ValueError, r"floating-point dtype"),
        (lambda: to_torch(model, dtype=torch.float32, into=other), TypeError, r"give dtype= or into=, not"),
        (lambda: to_torch(model, into=other), ValueError, r"to_torch\(into\): the module's layers "
         r"\(2->4 relu, 4->1 linear\) do not match the model's \(2->3 relu, 3->1 linear\)"),
        (lambda: from_torch(other, into=Neuron(2)), ValueError, r"from_torch\(into\): the module's layers"),
        (lambda: from_torch(other, into="model"), TypeError, r"from_torch\(into\) must be a microgradnn MLP"),
    ]  # fmt: skip
    for call, kind, message in cases:
        with pytest.raises(kind, match=message) as error:
            call()
        assert "\n" not in str(error.value)


def test_a_model_computing_something_else_is_refused() -> None:
    class Residual(MLP):
        def __call__(self, x):  # a skip connection no Sequential of the layers computes
            return super().__call__(x) + x[0]

    with pytest.raises(TypeError, match=r"to_torch\(model\): Residual overrides MLP.__call__"):
        to_torch(Residual(2, [2, 1], seed=0))


def test_a_layer_mixing_activations_is_refused() -> None:
    layer = Layer(2, 2, activation="tanh", seed=0)
    layer.neurons[1] = Neuron(2, activation="sigmoid", seed=0)
    with pytest.raises(ValueError, match=r"to_torch\(model\): layer 0 mixes the activations sigmoid, tanh"):
        to_torch(layer)


def test_an_activation_of_your_own_is_refused_by_name() -> None:
    rows, methods = set(OPS), set(vars(Value))
    try:
        define_op("softsign", lambda a: a / (1 + abs(a)), lambda out, a: (1 + abs(a)) ** -2, activation=True)
        model = MLP(2, [3, 1], activation="softsign", seed=0)
        with pytest.raises(ValueError, match=r"layer 0 uses the activation 'softsign', which has no PyTorch"):
            to_torch(model)
    finally:  # leave the table as it ships for the tests after this one
        for name in set(OPS) - rows:
            del OPS[name]
        for name in set(vars(Value)) - methods:
            delattr(Value, name)


def test_import_microgradnn_does_not_load_torch_and_microgradnn_torch_loads_the_real_one() -> None:
    code = (
        "import sys, microgradnn, microgradnn.nn, microgradnn.losses, microgradnn.optim\n"
        "assert 'torch' not in sys.modules, 'import microgradnn loaded torch'\n"
        "import microgradnn.torch as bridge\n"
        "import torch\n"
        "assert bridge.torch is torch and hasattr(torch, 'nn') and torch.__version__.startswith('2.13.0')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


# ---------------------------------------------------------------------- DistributedDataParallel
def ddp_script(folder: Path) -> object:
    """docs/compiled.md's DDP example, written to ``folder`` and imported as the module
    ``ddp_moons`` (which the spawned processes import by that name, from sys.path)."""
    text = (ROOT / "docs" / "compiled.md").read_text(encoding="utf-8")
    section = text[text.index("## Scaling out with PyTorch") :]
    blocks = re.findall(r"^```python\n(.*?)^```", section, re.S | re.M)
    (code,) = [b for b in blocks if "DistributedDataParallel(" in b]
    (folder / "ddp_moons.py").write_text(code, encoding="utf-8")
    return importlib.import_module("ddp_moons")


def test_distributed_data_parallel_trains_the_module_as_one_process_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ddp_moons", raising=False)
    monkeypatch.delenv("GLOO_SOCKET_IFNAME", raising=False)  # main() sets it; restored after
    script: Any = ddp_script(tmp_path)
    try:
        start = time.perf_counter()
        script.main(str(tmp_path))  # two processes, gloo on 127.0.0.1
        print(f"DDP run: {time.perf_counter() - start:.1f} s")  # reported with -s, never asserted
    finally:
        sys.modules.pop("ddp_moons", None)
    replicas = [load_model(tmp_path / f"replica{rank}.json") for rank in range(script.WORKERS)]

    # DDP keeps the replicas in step: bit-identical weights
    assert replicas[0].state_dict() == replicas[1].state_dict()

    # One process, the whole batch, the same steps. Each step's gradient differs only in the
    # order of additions: each process sums its 50 samples' gradients, then the two means are
    # averaged, against one sum of 100. Rounding then differs by a few ulps of the gradient
    # (|Δ| ≲ 100·2⁻⁵³·max|g| ≈ 1e-14 per step for these O(1) gradients) and 20 steps of SGD
    # carry it along without amplifying it much: 1e-12 leaves a margin of ~100.
    X, y = script.moons()
    net = to_torch(MLP(2, [16, 16, 1], seed=0))
    opt = torch.optim.SGD(net.parameters(), lr=script.LR)
    for _ in range(script.STEPS):
        opt.zero_grad()
        torch.relu(1 - y * net(X)[:, 0]).mean().backward()
        opt.step()
    single = torch_in_model_order(net, "data")
    ddp = [p.data for p in replicas[0].parameters()]
    MEASURED["ddp weights"] = max(abs(a - b) for a, b in zip(ddp, single))
    assert MEASURED["ddp weights"] <= 1e-12
    assert ddp != [p.data for p in MLP(2, [16, 16, 1], seed=0).parameters()]  # it did train

    # and the MLP from_torch brought back predicts what the trained module does
    module_out = net(X)[:, 0].tolist()
    ours = [replicas[0].predict(x) for x in X.tolist()]
    MEASURED["ddp predictions"] = max(abs(a - b) for a, b in zip(ours, module_out))
    assert MEASURED["ddp predictions"] <= 1e-12
    print("max |Δ| DDP vs one process:", {k: v for k, v in MEASURED.items() if k.startswith("ddp")})


def test_report_the_largest_differences_seen() -> None:
    """Last in the file: prints what the tests above measured (run with -s to see it)."""
    print("max |Δ| torch vs microgradnn:", {k: f"{v:.2g}" for k, v in MEASURED.items()})
