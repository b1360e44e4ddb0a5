"""microgradnn: a scalar autograd engine and a small neural-network library on top of it.

A drop-in successor to Karpathy's micrograd: ``from microgradnn import Value``.

Layers, each depending only on those before it: ``engine`` (Value, backpropagation) <- ``nn``
(modules) <- ``losses``, ``optim``, ``data``, ``train``; ``viz`` and ``testing`` only read graphs.
"""

from microgradnn.engine import (
    Value,
    dot,
    grad,
    hessian,
    is_grad_enabled,
    no_grad,
    topological_order,
    value_sum,
)
from microgradnn.nn import MLP, Layer, Module, Neuron, load_model
from microgradnn.optim import SGD, Adam, AdamW
from microgradnn.train import evaluate, fit, predict
from microgradnn.viz import BackwardStepper, draw_dot

__version__ = "0.1.0"

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
