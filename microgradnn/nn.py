"""Neural-network modules on the engine: `Module`, `Neuron`, `Layer`, `MLP`.

Drop-in compatible with micrograd's ``nn.py``: ``Neuron(nin, nonlin=True)``,
``Layer(nin, nout, **kwargs)`` and ``MLP(nin, nouts)`` have its signatures and defaults
(weights uniform(−1, 1) from Python's ``random`` module, bias 0, ReLU hidden layers, a linear
last layer, a one-output layer returning a bare Value), and ``parameters()`` lists the
parameters in the same order (layer → neuron → weights, bias).

A neuron computes ``activation(w·x + b)`` where ``w·x`` is ONE fused node of the graph
(:func:`microgradnn.engine.dot`), not a chain of 2n additions and multiplications.

Every parameter's ``label`` is its dotted name from :meth:`Module.named_parameters`, e.g.
``layers.0.neurons.3.w.1``, so that graph drawings can say which weight is which.

Models save to and load from JSON with an exact float round trip (:meth:`Module.save`,
:meth:`Module.load`, :func:`load_model`).
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from numbers import Real
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Union, cast

from microgradnn import modelfile
from microgradnn._seeding import random_source
from microgradnn.checks import check_int, check_path, describe, is_array
from microgradnn.engine import Number, Value, make_node, no_grad
from microgradnn.fileio import write_atomic
from microgradnn.gc_control import gc_paused
from microgradnn.modelfile import ModelFileError
from microgradnn.ops import DOT, OPS

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "MLP",
    "Layer",
    "ModelFileError",
    "Module",
    "Neuron",
    "load_model",
]

PathLike = Union[str, "os.PathLike[str]"]  # noqa: UP007 - runtime alias for Python 3.10

# What calling a Layer or an MLP returns: a bare Value (one output, the default) or a list of
# Values. Type checkers take it from the annotation, ``MLP[list[Value]]`` for several outputs;
# it cannot follow from ``nouts``, whose last entry a type checker does not see. A default for
# a TypeVar (PEP 696) is in `typing` only from Python 3.13; type checkers read it from their
# own copy of typing_extensions' stubs, so nothing extra is needed at run time.
if TYPE_CHECKING:
    from typing_extensions import TypeVar

    Output = TypeVar("Output", bound=Union[Value, list[Value]], default=Value)  # noqa: UP007
else:
    from typing import TypeVar

    Output = TypeVar("Output")


def activations() -> tuple[str, ...]:
    """What a neuron can apply to ``w·x + b``: 'linear' (nothing) or an operation of the table
    marked as an activation (relu, tanh, sigmoid, leaky_relu, and any of yours made with
    ``define_op(..., activation=True)``)."""
    names = [op.methods[0] if op.methods else key for key, op in OPS.items() if op.activation]
    return (*names, "linear")


#: The activations of the table when this module was loaded (see `activations()` for the current).
ACTIVATIONS: tuple[str, ...] = activations()

#: Weight initialisations: micrograd's uniform(−1, 1), and the uniform Xavier/Glorot and He
#: schemes. Biases always start at 0. All are uniform draws (a + (b − a)·random()), so a seed
#: gives bit-identical weights on every platform.
INITS: tuple[str, ...] = ("uniform", "xavier", "he")


def _activation(name: str) -> Callable[[Value], Value] | None:
    """The Value method of an activation's name (None for 'linear')."""
    return None if name == "linear" else getattr(Value, name)


def _check_activation(name: object, what: str) -> str:
    choices = activations()
    if not isinstance(name, str) or name not in choices:
        raise ValueError(f"{what}: unknown activation {name!r}; choose one of {', '.join(choices)}")
    return name


def _check_count(n: object, what: str) -> int:
    return check_int(what, n, lo=1)


def _init_bound(init: str, nin: int, fan_out: int) -> float:
    """Half-width of the uniform range the weights are drawn from."""
    if init == "uniform":
        return 1.0
    if init == "xavier":  # Glorot & Bengio (2010): Var(w) = 2 / (fan_in + fan_out)
        return math.sqrt(6.0 / (nin + fan_out))
    if init == "he":  # He et al. (2015): Var(w) = 2 / fan_in
        return math.sqrt(6.0 / nin)
    raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")


def _as_inputs(x: Sequence[Value | Number], nin: int, what: str) -> tuple[Value, ...]:
    """The input vector as Values, numbers wrapped once (not once per neuron that reads them)."""
    kind = type(x)
    # A sample is an ordered sequence: a set (or a dict, whose keys iterate) has a len and can be
    # iterated, but in an order that is not the features' order. list and tuple are tested first
    # by type, which is cheaper than the abstract Sequence check on every forward pass.
    if kind is not list and kind is not tuple and (
        isinstance(x, (str, bytes)) or not (isinstance(x, Sequence) or is_array(x))
    ):
        hint = "; a set or dict has no order of features" if isinstance(x, (AbstractSet, Mapping)) else ""
        raise TypeError(
            f"{what}(x) must be one sample, a sequence of {nin} numbers (a list, tuple or 1-D array), "
            f"got {describe(x)}{hint}"
        )
    n = len(x)
    if n != nin:
        raise ValueError(f"{what} expects {nin} inputs, got {n}")
    try:
        return tuple([v if isinstance(v, Value) else Value(v) for v in x])
    except TypeError:
        i, bad = next((i, v) for i, v in enumerate(x) if not isinstance(v, (Value, Real)))
        got = f"{type(bad).__name__}: {bad!r}"
        raise TypeError(f"{what}: input {i} must be a number or a Value, got {got}") from None


def _check_batch(X: object, what: str) -> None:
    """A batch is an ordered sequence of samples: a set or dict would put the outputs in an
    order of its own, not the samples' (generators and other iterables keep theirs)."""
    if isinstance(X, (AbstractSet, Mapping, str, bytes)):
        raise TypeError(
            f"{what} must be a sequence of samples (a list, tuple or 2-D array), got {describe(X)}; "
            "a set or dict has no order of samples"
        )


# ---------------------------------------------------------------------- the forward pass
# One pass serves Neuron, Layer, MLP, forward_batch and predict (under no_grad). A "plan" is a
# snapshot of each neuron's weights and their numbers, taken once per call or per batch:
# reading a weight's number costs more than the multiplication it feeds, so reading them once
# per batch instead of once per sample halves a forward pass. Each neuron then makes the nodes
# activation(dot(w, x) + b), the dot node by the table's own row (`ops.DOT`).
_data = attrgetter("data")
_Plan = list  # per layer: [(w, numbers of w, b, activation or None), ...]


def _plan(layers: Sequence[Sequence[Neuron]]) -> _Plan:
    return [[(tuple(n.w), tuple(map(_data, n.w)), n.b, n._activate) for n in layer] for layer in layers]


def _run(plan: _Plan, x: tuple[Value, ...]) -> list[Value]:
    dot_value, dot_grads = DOT.forward, DOT.grads
    out: list[Value] = list(x)
    for layer in plan:
        xd = tuple(map(_data, x))
        out = []
        for w, wd, b, activate in layer:
            y = dot_value(wd, xd)
            dw, dx = dot_grads(y, wd, xd)
            act = make_node(y, w + x, DOT, dw + dx) + b
            out.append(act if activate is None else activate(act))
        x = tuple(out)
    return out


class Module:
    """Base class of everything with parameters.

    A subclass stores its parameters as attributes: a Value, a list/tuple of Values, another
    Module, or a list/tuple of Modules. :meth:`named_parameters` finds them in attribute order,
    so parameter names and order are stable: ``layers.0.neurons.3.w.1``.
    """

    def __call__(self, x: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __call__")

    # ------------------------------------------------------------------ parameters
    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Value]]:
        """Yield ``(dotted name, parameter)`` pairs; a Value reachable twice is yielded once."""
        seen: set[int] = set()
        for name, p in self._walk(prefix):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def _walk(self, prefix: str) -> Iterator[tuple[str, Value]]:
        for attr, member in vars(self).items():
            if attr.startswith("_"):
                continue
            name = f"{prefix}{attr}"
            if isinstance(member, Value):
                yield name, member
            elif isinstance(member, Module):
                yield from member._walk(name + ".")
            elif isinstance(member, (list, tuple)):
                for i, item in enumerate(member):
                    if isinstance(item, Value):
                        yield f"{name}.{i}", item
                    elif isinstance(item, Module):
                        yield from item._walk(f"{name}.{i}.")

    def parameters(self) -> list[Value]:
        """All parameters, in the order of :meth:`named_parameters` (micrograd's order)."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many scalar parameters the module has."""
        return sum(1 for _ in self.named_parameters())

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0."""
        for p in self.parameters():
            p.grad = 0.0

    def label_parameters(self, prefix: str = "") -> None:
        """Set each parameter's ``label`` to its dotted name (done by the constructors; call it
        again on a module of your own that contains others)."""
        for name, p in self.named_parameters(prefix):
            p.label = name

    # ------------------------------------------------------------------ graph-free forward
    def predict(self, x: Sequence[Number | Value]) -> float | list[float]:
        """The output's number(s) for one input, computed without recording a graph."""
        with no_grad():
            out = self(x)
        return out.data if isinstance(out, Value) else [v.data for v in out]

    def predict_batch(self, X: Sequence[Sequence[Number | Value]]) -> list:
        """``[self.predict(x) for x in X]`` (through `forward_batch` where the module has one)."""
        _check_batch(X, f"{type(self).__name__}.predict_batch(X)")
        batch = getattr(self, "forward_batch", None)
        with no_grad():
            outs = batch(X) if batch is not None else [self(x) for x in X]
        return [o.data if isinstance(o, Value) else [v.data for v in o] for o in outs]

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, float]:
        """``{dotted name: value}`` for every parameter, in parameter order."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, float]) -> None:
        """Set the parameters from ``state`` (as made by :meth:`state_dict`).

        The names must match exactly and every value must be a real number; otherwise a
        ``ValueError``/``TypeError`` names the problem and no parameter is changed.
        """
        if not isinstance(state, dict):
            raise TypeError(f"load_state_dict: expected a dict of name -> number, got {type(state).__name__}")
        named = dict(self.named_parameters())
        missing = [k for k in named if k not in state]
        unexpected = [k for k in state if k not in named]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"missing {len(missing)} ({_preview(missing)})")
            if unexpected:
                parts.append(f"unexpected {len(unexpected)} ({_preview(unexpected)})")
            raise ValueError(
                f"load_state_dict: the parameter names do not match this {type(self).__name__} "
                f"with {len(named)} parameters: " + "; ".join(parts)
            )
        values = {}
        for name in named:
            v = state[name]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise TypeError(
                    f"load_state_dict: parameter {name!r} must be a number, got {type(v).__name__}"
                )
            values[name] = float(v)
        # Only now, with everything checked, change the model.
        for name, p in named.items():
            p.data = values[name]

    def _config(self) -> dict[str, Any] | None:
        """The constructor arguments that rebuild this architecture (None: not rebuildable)."""
        return None

    def save(self, path: PathLike) -> Path:
        """Write the architecture and every parameter to ``path`` as JSON; returns the path.

        Floats are written with ``repr``, so loading gives back bit-identical values. The file
        is written by :func:`microgradnn.fileio.write_atomic`: to a temporary file in the same
        folder, then renamed over ``path``, so a failure never leaves a half-written file (nor
        the temporary one). A symbolic link is written through to its target. A folder at
        ``path`` raises ``IsADirectoryError``, an empty path ``FileNotFoundError``, a FIFO or
        device ``OSError``: ``except OSError`` catches every file-system problem. An existing
        file keeps its permission bits. NaN and infinite parameters are written as the strings
        ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (standard JSON) and load back exactly.
        """
        check_path("Module.save(path)", path)  # before the model is turned into text
        text = modelfile.model_document(type(self).__name__, self._config(), self.state_dict())
        write_atomic(path, text, name="Module.save(path)")
        return Path(path)

    def load(self, path: PathLike) -> Module:
        """Load parameters saved by :meth:`save` into this model (in place); returns ``self``.

        The file must describe the same architecture. A missing file raises
        ``FileNotFoundError``; any other file that cannot be loaded (not a regular file, too
        large, not valid JSON, truncated, the wrong structure or the wrong shape) raises
        :class:`ModelFileError` naming it. In every case the model is unchanged.
        """
        self._load_document(path, modelfile.read_model_file(path))
        return self

    def _load_document(self, path: PathLike, document: dict[str, Any]) -> None:
        if document["config"] is not None and document["class"] in modelfile.REBUILDABLE:
            # Strictly, so that "nin": 2.0 or true is refused here as by load_model.
            modelfile.check_config(path, document, activations())
        config = self._config()
        if document["class"] != type(self).__name__ or (
            config is not None and document["config"] is not None and document["config"] != config
        ):
            raise ModelFileError(
                f"{path}: the file holds {_describe(document['class'], document['config'])}, "
                f"which does not match this model, {_describe(type(self).__name__, config)}"
            )
        try:
            self.load_state_dict(document["parameters"])
        except (ValueError, TypeError) as e:
            raise ModelFileError(f"{path}: {e}") from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.num_parameters()} parameters)"


def _preview(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (", ..." if len(names) > limit else "")


def _describe(cls: str, config: dict[str, Any] | None) -> str:
    if not config:
        return cls
    # The config may come from a hostile file: show a few entries, each cut short.
    shown = [
        f"{k if k.isidentifier() and len(k) <= 30 else modelfile.shorten(k)}={modelfile.shorten(v)}"
        for k, v in list(config.items())[:6]
    ]
    return f"{cls}(" + ", ".join(shown) + (", ..." if len(config) > 6 else "") + ")"


def load_model(path: PathLike) -> Module:
    """Rebuild the model saved in ``path`` (a `Neuron`, `Layer` or `MLP`) with its parameters.

    The file is checked completely (see :mod:`microgradnn.modelfile`) before anything is
    built, so a bad or hostile file raises :class:`ModelFileError` naming it.
    """
    document = modelfile.read_model_file(path)
    config = modelfile.check_config(path, document, activations())
    classes: dict[str, Callable[..., Module]] = {"Neuron": Neuron, "Layer": Layer, "MLP": MLP}
    try:
        model = classes[document["class"]](**config, seed=0)
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: invalid 'config' entry: {e}") from None
    model._load_document(path, document)
    return model


class Neuron(Module):
    """One neuron: ``activation(w·x + b)`` with ``w·x`` a single fused dot-product node.

    ``Neuron(nin, nonlin=True)`` as in micrograd: ReLU if ``nonlin`` else linear. Give
    ``activation=`` ('relu', 'tanh', 'sigmoid', 'leaky_relu', 'linear') to choose another.
    Weights are drawn from ``init`` ('uniform' is micrograd's U(−1, 1); 'xavier' and 'he' are
    uniform with the Glorot/He variance), bias 0. Randomness comes from ``rng`` (a
    ``random.Random``), else a new ``Random(seed)``, else the global ``random`` module.
    """

    def __init__(
        self,
        nin: int,
        nonlin: bool = True,
        *,
        activation: str | None = None,
        init: str = "uniform",
        seed: int | None = None,
        rng: random.Random | None = None,
        fan_out: int = 1,
    ) -> None:
        nin = _check_count(nin, "Neuron(nin)")
        source = random_source(seed, rng, "Neuron")
        bound = _init_bound(init, nin, fan_out)
        uniform = source.uniform
        self.w = [Value(uniform(-bound, bound)) for _ in range(nin)]
        self.b = Value(0.0)
        self.activation = _check_activation(activation or ("relu" if nonlin else "linear"), "Neuron")
        self._activate = _activation(self.activation)
        self.label_parameters()

    @property
    def nonlin(self) -> bool:
        """True unless the neuron is linear (micrograd's attribute)."""
        return self.activation != "linear"

    @property
    def nin(self) -> int:
        return len(self.w)

    def __call__(self, x: Sequence[Value | Number]) -> Value:
        """activation(w·x + b) for one input vector ``x`` (numbers or Values)."""
        return _run(_plan([[self]]), _as_inputs(x, len(self.w), "Neuron"))[0]

    # The named walk of Module builds a dotted name per parameter; training loops call
    # parameters() every step, so the built-in modules list theirs directly (same order).
    def parameters(self) -> list[Value]:
        """The weights, then the bias (micrograd's order)."""
        return [*self.w, self.b]

    def _config(self) -> dict[str, Any]:
        return {"nin": len(self.w), "activation": self.activation}

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module, Generic[Output]):
    """``nout`` neurons reading the same ``nin`` inputs; keyword arguments go to each `Neuron`.

    As in micrograd, calling a layer with one output returns a bare Value, otherwise a list.
    For type checkers a layer returns a Value unless annotated as ``Layer[list[Value]]``.
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        *,
        seed: int | None = None,
        rng: random.Random | None = None,
        **kwargs: Any,
    ) -> None:
        nin = _check_count(nin, "Layer(nin)")
        nout = _check_count(nout, "Layer(nout)")
        source = random_source(seed, rng, "Layer")
        kwargs.setdefault("fan_out", nout)
        self.neurons = [Neuron(nin, rng=source, **kwargs) for _ in range(nout)]
        self.label_parameters()

    @property
    def nin(self) -> int:
        return len(self.neurons[0].w)

    @property
    def nout(self) -> int:
        return len(self.neurons)

    def parameters(self) -> list[Value]:
        """Every neuron's parameters, neuron by neuron (micrograd's order)."""
        return [p for neuron in self.neurons for p in neuron.parameters()]

    @property
    def activation(self) -> str:
        return self.neurons[0].activation

    def __call__(self, x: Sequence[Value | Number]) -> Output:
        """[activation(wᵢ·x + bᵢ) for each neuron i] for one input vector ``x``."""
        out = _run(_plan([self.neurons]), _as_inputs(x, self.nin, "Layer"))
        return cast(Output, out[0] if len(out) == 1 else out)

    def _config(self) -> dict[str, Any]:
        return {"nin": self.nin, "nout": self.nout, "activation": self.activation}

    def __repr__(self) -> str:
        return f"Layer({self.nin} -> {self.nout}, activation={self.activation!r})"


class MLP(Module, Generic[Output]):
    """A multi-layer perceptron: ``MLP(nin, nouts)`` as in micrograd.

    ``nouts`` lists the layer widths; hidden layers use ``activation`` (default 'relu') and the
    last layer ``output_activation`` (default 'linear'), so ``MLP(3, [4, 4, 1],
    activation='tanh', output_activation='tanh')`` is the lecture's all-tanh network. A model
    with one output returns a bare Value, otherwise a list of Values; for type checkers,
    ``model(x)`` is a Value unless the model is annotated ``MLP[list[Value]]``. ``init``,
    ``seed`` and ``rng`` choose the weights (see `Neuron`).
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        *,
        activation: str = "relu",
        output_activation: str = "linear",
        init: str = "uniform",
        seed: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        nin = _check_count(nin, "MLP(nin)")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(f"MLP(nouts) must be a non-empty list of layer widths, got {nouts!r}")
        nouts = [_check_count(n, f"MLP(nouts) entry {i}") for i, n in enumerate(nouts)]
        _check_activation(activation, "MLP(activation)")
        _check_activation(output_activation, "MLP(output_activation)")
        _init_bound(init, 1, 1)  # reject an unknown init before drawing anything
        source = random_source(seed, rng, "MLP")
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [
            Layer(
                sizes[i],
                sizes[i + 1],
                rng=source,
                init=init,
                activation=output_activation if i == last else activation,
            )
            for i in range(len(nouts))
        ]
        self.label_parameters()

    @property
    def nin(self) -> int:
        return self.layers[0].nin

    @property
    def nouts(self) -> list[int]:
        return [layer.nout for layer in self.layers]

    def parameters(self) -> list[Value]:
        """Every layer's parameters, layer by layer (micrograd's order)."""
        return [p for layer in self.layers for p in layer.parameters()]

    def __call__(self, x: Sequence[Value | Number]) -> Output:
        """The network's output for one input vector ``x`` (numbers or Values)."""
        out = _run(_plan([layer.neurons for layer in self.layers]), _as_inputs(x, self.nin, "MLP"))
        return cast(Output, out[0] if len(out) == 1 else out)

    def forward_batch(self, X: Sequence[Sequence[Value | Number]]) -> list[Output]:
        """``[model(x) for x in X]``, faster: the weights are read once for the whole batch."""
        _check_batch(X, "MLP.forward_batch(X)")
        plan = _plan([layer.neurons for layer in self.layers])
        nin = self.nin
        with gc_paused():
            outs = [_run(plan, _as_inputs(x, nin, "MLP")) for x in X]
        return cast("list[Output]", [o[0] for o in outs] if self.layers[-1].nout == 1 else outs)

    def _config(self) -> dict[str, Any]:
        return {
            "nin": self.nin,
            "nouts": self.nouts,
            "activation": self.layers[0].activation if len(self.layers) > 1 else "relu",
            "output_activation": self.layers[-1].activation,
        }

    def __repr__(self) -> str:
        lines = [f"MLP({self.nin}, {self.nouts}) with {self.num_parameters()} parameters ["]
        lines += [f"  layers.{i}: {layer!r}," for i, layer in enumerate(self.layers)]
        return "\n".join(lines) + "\n]"
