"""Tools for testing gradients: ``gradcheck`` and hypothesis strategies for property tests.

* :func:`gradcheck` / :func:`assert_gradcheck`: the engine's gradients of a function (or of a
  loss with respect to a model's parameters) against central finite differences, input by input.
* :func:`finite_floats`, :func:`expressions`, :func:`expression_graphs`: hypothesis strategies
  for your own tests (they need ``pip install 'microgradnn[testing]'``; everything else here
  works without hypothesis).
* :class:`Expression`: a random expression as data, which builds the Value graph, evaluates on
  floats, converts to sympy (``to_sympy``) and prints as a formula.
* :func:`check_engine` / :func:`assert_engine`: check your own micrograd-style ``Value`` class
  against microgradnn: what it supports, values and gradients of random expression graphs,
  the first wrong node of a failure (the random part needs hypothesis). Loaded on first use.
"""

from typing import TYPE_CHECKING, Any

from microgradnn.testing.checking import (
    GradcheckError,
    GradcheckResult,
    GradcheckRow,
    assert_gradcheck,
    gradcheck,
)
from microgradnn.testing.expressions import (
    ALL_OPS,
    KINK_OPS,
    SMOOTH_OPS,
    Expression,
    ExpressionBuilder,
    ExpressionGraph,
    Node,
    all_ops,
)
from microgradnn.testing.strategies import expression_graphs, expressions, finite_floats

if TYPE_CHECKING:  # loaded lazily at run time, by __getattr__ below
    from microgradnn.testing.engine_check import EngineUnusableError, assert_engine, check_engine
    from microgradnn.testing.engine_report import EngineReport

__all__ = [
    "ALL_OPS",
    "KINK_OPS",
    "SMOOTH_OPS",
    "Expression",
    "ExpressionBuilder",
    "ExpressionGraph",
    "GradcheckError",
    "GradcheckResult",
    "GradcheckRow",
    "EngineReport",
    "EngineUnusableError",
    "Node",
    "all_ops",
    "assert_engine",
    "assert_gradcheck",
    "check_engine",
    "expression_graphs",
    "expressions",
    "finite_floats",
    "gradcheck",
]

# check_engine and its report load on first use: `import microgradnn.testing` stays as light as it was.
_LAZY = {"check_engine", "assert_engine", "EngineReport", "EngineUnusableError"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from microgradnn.testing import engine_check, engine_report

        return getattr(engine_check, name, None) or getattr(engine_report, name)
    raise AttributeError(f"module 'microgradnn.testing' has no attribute {name!r}")
