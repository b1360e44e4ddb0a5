"""microgradnn: a scalar autograd engine and a small neural-network library on top of it.

A drop-in successor to Karpathy's micrograd: ``from microgradnn import Value``.
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

__version__ = "0.1.0"

__all__ = [
    "Value",
    "dot",
    "grad",
    "hessian",
    "is_grad_enabled",
    "no_grad",
    "topological_order",
    "value_sum",
]
