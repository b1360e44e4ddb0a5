"""microgradnn: a scalar autograd engine and a small neural-network library on top of it.

A drop-in successor to Karpathy's micrograd: ``from microgradnn import Value``.

Layers, each depending only on those before it: ``ops`` (the table of operations) and
``engine`` (Value, backpropagation) <- ``nn`` (modules) <- ``losses``, ``optim``, ``data``,
``train``; ``viz`` and ``testing`` only read graphs. Importing the package loads only the
standard library: names that need a third-party package (``draw_dot``, ``fit``, ...) load
their module on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from microgradnn.engine import Value, dot, is_grad_enabled, no_grad, topological_order, value_sum
from microgradnn.higher_order import grad, hessian
from microgradnn.nn import MLP, Layer, Module, Neuron, load_model
from microgradnn.optim import SGD, Adam, AdamW
from microgradnn.user_ops import define_op

if TYPE_CHECKING:  # for type checkers and editors; at run time these load on first use
    from microgradnn.train import evaluate, fit, predict
    from microgradnn.viz import BackwardStepper, draw_dot

__version__ = "0.1.0"

# name -> the module that defines it, imported when the name is first used
_LAZY = {
    "BackwardStepper": "microgradnn.viz",
    "draw_dot": "microgradnn.viz",
    "evaluate": "microgradnn.train",
    "fit": "microgradnn.train",
    "predict": "microgradnn.train",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'microgradnn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "AdamW",
    "BackwardStepper",
    "Layer",
    "Module",
    "Neuron",
    "Value",
    "define_op",
    "dot",
    "draw_dot",
    "evaluate",
    "fit",
    "grad",
    "hessian",
    "is_grad_enabled",
    "load_model",
    "no_grad",
    "predict",
    "topological_order",
    "value_sum",
]
