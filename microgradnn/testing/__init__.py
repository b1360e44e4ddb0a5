"""Tools for testing gradients: ``gradcheck`` and hypothesis strategies for property tests.

* :func:`gradcheck` / :func:`assert_gradcheck`: the engine's gradients of a function (or of a
  loss with respect to a model's parameters) against central finite differences, input by input.
* :func:`finite_floats`, :func:`expressions`, :func:`expression_graphs`: hypothesis strategies
  for your own tests (they need ``pip install 'microgradnn[testing]'``; everything else here
  works without hypothesis).
* :class:`Expression`: a random expression as data, which builds the Value graph, evaluates on
  floats, converts to sympy (``to_sympy``) and prints as a formula.
"""

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
    "Node",
    "all_ops",
    "assert_gradcheck",
    "expression_graphs",
    "expressions",
    "finite_floats",
    "gradcheck",
]
