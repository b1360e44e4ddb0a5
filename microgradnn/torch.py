"""A road to PyTorch: the same network as a ``torch.nn.Module``, and back.

For the learner who outgrows one process: build and explore a network with microgradnn,
train it with PyTorch (its optimizers, a GPU, ``DistributedDataParallel`` across processes or
machines), then bring the trained weights home to draw and explore them.

- ``to_torch(model)`` turns an `MLP`, `Layer` or `Neuron` into a ``torch.nn.Sequential`` of
  ``Linear`` layers and activation modules with the same weights. In float64 (the default) its
  outputs and parameter gradients equal the model's to about 1e-15 relative (only the order
  of the dot products' additions differs).
- ``from_torch(module)`` reads such a ``Sequential`` back into a new `MLP`.
- ``from_torch(module, into=model)`` copies the module's weights into an existing model, in
  place (after training with PyTorch); ``to_torch(model, into=module)`` copies the model's
  weights into an existing module (after training with microgradnn).

A neuron's weights ``w`` are a row of ``Linear.weight`` (shape ``(nout, nin)``) and its bias
an entry of ``Linear.bias``. The module takes a batch ``(samples, nin)`` and returns
``(samples, nout)``, even where the model returns a bare Value for one output.

Needs PyTorch (``pip install 'microgradnn[torch]'``); ``import microgradnn`` never loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, overload

try:
    import torch
except ImportError as error:  # a clear message rather than a bare "No module named 'torch'"
    raise ImportError(
        "microgradnn.torch needs PyTorch: pip install 'microgradnn[torch]' (or torch==2.13.0)"
    ) from error

from microgradnn.checks import describe
from microgradnn.engine import Value
from microgradnn.nn import MLP, Layer, Neuron

__all__ = ["TORCH_ACTIVATIONS", "from_torch", "to_torch"]

Model = MLP | Layer | Neuron
M = TypeVar("M", MLP, Layer, Neuron)


def _leaky_slope() -> float:
    """The slope ``nn``'s 'leaky_relu' neurons use for negative inputs (``Value.leaky_relu``'s
    default), read off by applying the activation to −1 rather than copied here."""
    return -Value(-1.0).leaky_relu().data


#: microgradnn's activation names and the torch modules computing the same function with the
#: same derivative (at the kink 0 too: ReLU's derivative is 0 there, LeakyReLU's its slope).
#: 'linear' is no module at all. An activation of your own made with ``define_op`` has no
#: entry and is refused: nothing here can know what it computes.
TORCH_ACTIVATIONS: dict[str, Callable[[], torch.nn.Module]] = {
    "relu": torch.nn.ReLU,
    "tanh": torch.nn.Tanh,
    "sigmoid": torch.nn.Sigmoid,
    "leaky_relu": lambda: torch.nn.LeakyReLU(_leaky_slope()),
}


# ---------------------------------------------------------------------- architectures
# Both directions compare a "spec": per layer (nin, nout, activation name).
Spec = list[tuple[int, int, str]]


def _layers_of(model: object, what: str) -> list[list[Neuron]]:
    """The model's neurons layer by layer; anything but a microgradnn model is refused."""
    for base in (MLP, Layer, Neuron):
        # A subclass computing something else (a skip connection, say) would be copied as
        # if it were the plain stack of layers: refused rather than silently changed.
        if isinstance(model, base) and type(model).__call__ is not base.__call__:
            raise TypeError(
                f"{what}: {type(model).__name__} overrides {base.__name__}.__call__, so its layers "
                "alone need not compute what it does"
            )
    if isinstance(model, MLP):
        return [layer.neurons for layer in model.layers]
    if isinstance(model, Layer):
        return [model.neurons]
    if isinstance(model, Neuron):
        return [[model]]
    raise TypeError(f"{what} must be a microgradnn MLP, Layer or Neuron, got {describe(model)}")


def _model_spec(layers: list[list[Neuron]], what: str) -> Spec:
    spec = []
    for i, neurons in enumerate(layers):
        names = {n.activation for n in neurons}
        if len(names) > 1:
            raise ValueError(
                f"{what}: layer {i} mixes the activations {', '.join(sorted(names))}; "
                "a torch layer applies one activation to all its outputs"
            )
        spec.append((len(neurons[0].w), len(neurons), names.pop()))
    return spec


def _activation_name(layer: torch.nn.Module) -> str | None:
    """microgradnn's name of a torch activation module (None: not one nn can apply). Exact
    types only: a subclass may compute something else."""
    if type(layer) is torch.nn.Identity:
        return "linear"
    if type(layer) is torch.nn.LeakyReLU:
        return "leaky_relu" if layer.negative_slope == _leaky_slope() else None
    for name in ("relu", "tanh", "sigmoid"):
        if type(layer) is TORCH_ACTIVATIONS[name]:
            return name
    return None


_SUPPORTED = f"Linear, ReLU, Tanh, Sigmoid, LeakyReLU(negative_slope={_leaky_slope()!r}), Identity"


def _parse_module(module: object, what: str) -> tuple[list[torch.nn.Linear], Spec, list[int]]:
    """The ``Linear`` layers of a ``Sequential``, its spec and each Linear's index in it;
    anything an `MLP` cannot compute exactly is refused, naming the layer's index and type."""
    if isinstance(module, torch.nn.parallel.DistributedDataParallel):
        module = module.module  # the wrapped network: what DDP trained
    if type(module) is torch.nn.Linear:
        module = torch.nn.Sequential(module)
    if type(module) is not torch.nn.Sequential:  # a subclass may have a forward of its own
        got = type(module).__name__ if isinstance(module, torch.nn.Module) else describe(module)
        raise TypeError(f"{what} must be a torch.nn.Sequential of Linear and activation layers, got {got}")
    linears: list[torch.nn.Linear] = []
    spec: Spec = []
    where: list[int] = []
    last_kind = ""  # what the previous layer was: "" (none yet), "linear" or "activation"
    for i, layer in enumerate(module):
        kind = type(layer).__name__
        if type(layer) is torch.nn.Linear:
            if linears and layer.in_features != spec[-1][1]:
                raise ValueError(
                    f"{what}: layer {i} (Linear) takes {layer.in_features} inputs but the Linear "
                    f"before it gives {spec[-1][1]} outputs"
                )
            if not layer.weight.dtype.is_floating_point:
                raise ValueError(f"{what}: layer {i} (Linear) has {layer.weight.dtype} weights, not floats")
            linears.append(layer)
            where.append(i)
            spec.append((layer.in_features, layer.out_features, "linear"))
            last_kind = "linear"
            continue
        name = _activation_name(layer)
        if name is None:
            if type(layer) is torch.nn.LeakyReLU:
                kind += f"(negative_slope={layer.negative_slope!r})"
            raise ValueError(f"{what}: layer {i} is {kind}, not one an MLP computes (it has: {_SUPPORTED})")
        if last_kind != "linear":
            problem = "comes before any Linear" if not linears else "follows another activation"
            raise ValueError(f"{what}: layer {i} ({kind}) {problem}; an MLP has one activation per Linear")
        spec[-1] = (*spec[-1][:2], name)
        last_kind = "activation"
    if not linears:
        raise ValueError(f"{what} has no Linear layer")
    return linears, spec, where


def _describe_spec(spec: Spec) -> str:
    return ", ".join(f"{nin}->{nout} {activation}" for nin, nout, activation in spec)


def _check_same(model_spec: Spec, module_spec: Spec, what: str) -> None:
    if model_spec != module_spec:
        raise ValueError(
            f"{what}: the module's layers ({_describe_spec(module_spec)}) do not match the "
            f"model's ({_describe_spec(model_spec)})"
        )


def _check_dtype(dtype: object) -> torch.dtype:
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"to_torch(dtype) must be a torch.dtype such as torch.float64, got {describe(dtype)}")
    if not dtype.is_floating_point or dtype.is_complex:
        raise ValueError(f"to_torch(dtype) must be a floating-point dtype such as torch.float64, got {dtype}")
    return dtype


# ---------------------------------------------------------------------- copying weights
def _weights(neurons: list[Neuron]) -> tuple[list[list[float]], list[float]]:
    return [[w.data for w in n.w] for n in neurons], [n.b.data for n in neurons]


def _write_torch(
    layers: list[list[Neuron]], linears: list[torch.nn.Linear], where: list[int], what: str
) -> None:
    """Copy the neurons' numbers into the Linear layers (each keeps its dtype and device)."""
    for i, (neurons, linear) in enumerate(zip(layers, linears)):
        if linear.bias is None and any(n.b.data != 0.0 for n in neurons):
            raise ValueError(
                f"{what}: layer {where[i]} (Linear) has no bias but the model's layer {i} has nonzero biases"
            )
    for neurons, linear in zip(layers, linears):
        weight, bias = _weights(neurons)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(weight, dtype=torch.float64))
            if linear.bias is not None:
                linear.bias.copy_(torch.tensor(bias, dtype=torch.float64))


def _read_torch(linears: list[torch.nn.Linear], layers: list[list[Neuron]]) -> None:
    """Copy the Linear layers' numbers into the neurons; a Linear without bias gives bias 0.

    ``tolist`` turns float64 (and float32, float16) tensors into exactly the same numbers."""
    for linear, neurons in zip(linears, layers):
        weight = linear.weight.detach().cpu().double().tolist()
        bias = [0.0] * len(neurons) if linear.bias is None else linear.bias.detach().cpu().double().tolist()
        for neuron, row, b in zip(neurons, weight, bias):
            for w, x in zip(neuron.w, row):
                w.data = x
            neuron.b.data = b


# ---------------------------------------------------------------------- the public calls
def to_torch(
    model: Model, *, dtype: torch.dtype | None = None, into: torch.nn.Module | None = None
) -> torch.nn.Module:
    """The model as a ``torch.nn.Sequential`` of ``Linear`` and activation layers, same weights.

    ``model`` is an `MLP`, `Layer` or `Neuron` whose activations are relu, tanh, sigmoid,
    leaky_relu or linear. ``dtype`` is the new module's floating-point dtype (the default
    float64 keeps every weight exactly; float32 rounds them). Give ``into=`` an existing module of the same
    architecture (one made by ``to_torch``, say) to copy the model's weights into it, in place,
    instead; it keeps its own dtype and device, and is returned.
    """
    layers = _layers_of(model, "to_torch(model)")
    spec = _model_spec(layers, "to_torch(model)")
    if into is not None:
        if dtype is not None:
            raise TypeError("to_torch: give dtype= or into=, not both (into= keeps the module's own dtype)")
        linears, module_spec, where = _parse_module(into, "to_torch(into)")
        _check_same(spec, module_spec, "to_torch(into)")
        _write_torch(layers, linears, where, "to_torch(into)")
        return into
    dtype = torch.float64 if dtype is None else _check_dtype(dtype)
    modules: list[torch.nn.Module] = []
    linears = []
    for i, (nin, nout, activation) in enumerate(spec):
        linears.append(torch.nn.Linear(nin, nout, dtype=dtype))
        modules.append(linears[-1])
        if activation != "linear":
            if activation not in TORCH_ACTIVATIONS:
                raise ValueError(
                    f"to_torch(model): layer {i} uses the activation {activation!r}, which has no "
                    f"PyTorch equivalent here (supported: {', '.join(TORCH_ACTIVATIONS)}, linear)"
                )
            modules.append(TORCH_ACTIVATIONS[activation]())
    _write_torch(layers, linears, [modules.index(linear) for linear in linears], "to_torch(model)")
    return torch.nn.Sequential(*modules)


@overload
def from_torch(module: torch.nn.Module, *, into: None = None) -> MLP: ...
@overload
def from_torch(module: torch.nn.Module, *, into: M) -> M: ...
def from_torch(module: torch.nn.Module, *, into: Model | None = None) -> Model:
    """A new `MLP` with the weights of ``module``, a ``torch.nn.Sequential`` of ``Linear``
    layers, each optionally followed by one activation (ReLU, Tanh, Sigmoid, LeakyReLU with
    nn's slope, Identity); a ``DistributedDataParallel`` is read through to its module.

    The hidden layers must share one activation (an `MLP` has one for them and one for its
    last layer). A ``Linear`` without bias reads as bias 0. Give ``into=`` an existing `MLP`,
    `Layer` or `Neuron` of the same architecture to load the weights into it, in place (after
    training with PyTorch, to draw or explore the trained model); it is returned.
    """
    linears, spec, where = _parse_module(module, "from_torch(module)")
    if into is not None:
        layers = _layers_of(into, "from_torch(into)")
        _check_same(_model_spec(layers, "from_torch(into)"), spec, "from_torch(into)")
        _read_torch(linears, layers)
        return into
    hidden = {act for _, _, act in spec[:-1]}
    if len(hidden) > 1:
        first = spec[0][2]
        i = next(i for i, s in enumerate(spec[:-1]) if s[2] != first)
        raise ValueError(
            f"from_torch(module): the Linear at layer {where[i]} is followed by {spec[i][2]} but the "
            f"one at layer {where[0]} by {first}; an MLP's hidden layers share one activation"
        )
    model: MLP = MLP(
        spec[0][0],
        [nout for _, nout, _ in spec],
        activation=hidden.pop() if hidden else "relu",
        output_activation=spec[-1][2],
        seed=0,  # weights drawn only to be overwritten; a seed leaves the global random alone
    )
    _read_torch(linears, [layer.neurons for layer in model.layers])
    return model
