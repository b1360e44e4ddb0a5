"""Hypothesis strategies for property tests of gradients: safe floats and random expression graphs.

Import them into your own tests::

    from microgradnn.testing import expression_graphs, expressions, finite_floats

They need hypothesis (``pip install 'microgradnn[testing]'``). It is imported only when a
strategy is asked for, so this module (and ``gradcheck``) imports quickly and works without it;
a missing hypothesis gives an ImportError that says how to install it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from microgradnn.checks import check_int, check_real
from microgradnn.engine import Value
from microgradnn.testing.expressions import (
    BINARY_OPS,
    DEFAULT_BOUND,
    NARY_OPS,
    NUMBER_OPERAND_OPS,
    Expression,
    ExpressionBuilder,
    ExpressionGraph,
    all_ops,
)

if TYPE_CHECKING:  # pragma: no cover
    from hypothesis.strategies import DrawFn, SearchStrategy

__all__ = ["POW_EXPONENTS", "RPOW_BASES", "NUMBERS", "LEAKY_SLOPES", "expression_graphs", "expressions",
           "finite_floats"]  # fmt: skip

# The numbers drawn into expressions, simplest first (hypothesis shrinks towards the first).
NUMBERS = (2.0, 0.5, 3.0, -1.0, 1.5, -2.0)
POW_EXPONENTS = (2.0, 3.0, 0.5, -1.0, 1.5, -2.0)
RPOW_BASES = (2.0, 0.5, 3.0)
LEAKY_SLOPES = (0.01, 0.2)
MAX_NARY_WIDTH = 3  # sum of 1–3 inputs, dot of 1–3 pairs


def _hypothesis(what: str) -> tuple[Any, Any]:
    """hypothesis's ``strategies`` module and ``assume``, imported on first use."""
    try:
        from hypothesis import assume
        from hypothesis import strategies as st
    except ImportError:  # an optional dependency: the `testing` extra
        raise ImportError(
            f"microgradnn.testing.{what} needs hypothesis, which is not installed: "
            "pip install 'microgradnn[testing]'"
        ) from None
    return st, assume


def finite_floats(min_value: float = -3.0, max_value: float = 3.0) -> SearchStrategy[float]:
    """Finite floats in [min_value, max_value]: no NaN, no infinities, no subnormals."""
    st, _ = _hypothesis("finite_floats")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (min_value, max_value))
    if not (numbers and math.isfinite(min_value) and math.isfinite(max_value) and min_value < max_value):
        raise ValueError(
            f"finite_floats: needs finite numbers min_value < max_value, got {min_value!r}, {max_value!r}"
        )
    lo, hi = float(min_value), float(max_value)
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def _check_ops(ops: Iterable[str] | None) -> tuple[str, ...]:
    known = all_ops()  # the built-in operations and any added with define_op
    if ops is None:
        return known
    if isinstance(ops, str):
        raise TypeError(f"ops must be a collection of operation names, not the string {ops!r}")
    chosen = tuple(dict.fromkeys(ops))
    unknown = [op for op in chosen if op not in known]
    if unknown:
        raise ValueError(f"unknown operation(s) {unknown}; choose from {', '.join(known)}")
    if not chosen:
        raise ValueError("ops must name at least one operation")
    return tuple(op for op in known if op in chosen)  # canonical order: shrinks to the simplest


def _check_count(name: str, value: object, minimum: int) -> int:
    return check_int(f"expressions({name})", value, lo=minimum)


def expressions(
    n_leaves: int | SearchStrategy[int] = 2,
    *,
    min_ops: int = 1,
    max_ops: int = 8,
    ops: Iterable[str] | None = None,
    leaf_range: tuple[float, float] = (-3.0, 3.0),
    bound: float = DEFAULT_BOUND,
) -> SearchStrategy[Expression]:
    """Random :class:`Expression` DAGs with ``min_ops``–``max_ops`` drawn operations from ``ops``.

    Each drawn operation takes its inputs from the leaves and the earlier drawn operations, so
    sub-expressions are shared (fan-out); every operation nobody uses is added into the output.
    Domains are valid for all leaf values in ``leaf_range`` (and up to ``STEP_MARGIN``, 1e-3,
    beyond its ends, where finite differences step) and all values stay within ±``bound``
    (guards such as ``log(a ** 2 + 1)`` are part of the expression; see
    :class:`ExpressionBuilder`). ``n_leaves`` is a number or a strategy for one. Shrinks
    towards few operations, early operations in ``ALL_OPS`` and the leaf ``x0``.
    """
    st, _ = _hypothesis("expressions")
    leaves_drawn = isinstance(n_leaves, st.SearchStrategy)
    if not leaves_drawn:
        _check_count("n_leaves", n_leaves, 1)
    _check_count("min_ops", min_ops, 1)
    _check_count("max_ops", max_ops, min_ops)
    chosen_ops = _check_ops(ops)
    ExpressionBuilder(1, leaf_range, bound)  # validates leaf_range and bound now, not at draw time

    # One drawn operation is a fixed-shape step, so that the shrinker can delete steps and
    # simplify each one independently: (op, where a number operand goes, which number,
    # width of sum/dot, which nodes to use). Node choices are taken modulo the number of
    # nodes available (see _pick) and shrink towards 0, the leaf x0.
    step = st.tuples(
        st.sampled_from(chosen_ops),
        st.sampled_from(("none", "right", "left")),
        st.integers(0, 5),
        st.integers(1, MAX_NARY_WIDTH),
        st.lists(st.integers(0, 255), min_size=2 * MAX_NARY_WIDTH, max_size=2 * MAX_NARY_WIDTH),
    )

    def _pick(visible: list[int], leaf_count: int, k: int) -> int:
        # Small k (what the shrinker moves towards) picks any node, leaves first; k >= 128 picks
        # among the results of earlier steps, so that sub-expressions are shared often (fan-out).
        made = visible[leaf_count:]
        if k >= 128 and made:
            return made[k % len(made)]
        return visible[k % len(visible)]

    @st.composite
    def draw_expression(draw: DrawFn) -> Expression:
        leaf_count = draw(cast("SearchStrategy[int]", n_leaves)) if leaves_drawn else n_leaves
        if not isinstance(leaf_count, int) or leaf_count < 1:
            raise ValueError(f"expressions: the n_leaves strategy drew {leaf_count!r}, not a positive int")
        builder = ExpressionBuilder(leaf_count, leaf_range, bound)
        # The nodes a step may use: the leaves and the earlier steps' results (not the guard
        # nodes, which belong to the operation they guard).
        visible = list(range(leaf_count))
        used: set[int] = set()
        for op, side, number, width, picks in draw(st.lists(step, min_size=min_ops, max_size=max_ops)):
            nodes = [_pick(visible, leaf_count, k) for k in picks]
            param = None
            number_first = False
            if op in BINARY_OPS:
                if op in NUMBER_OPERAND_OPS and side != "none":
                    args = nodes[:1]
                    param = NUMBERS[number % len(NUMBERS)]
                    number_first = side == "left"
                else:
                    args = nodes[:2]
            elif op in NARY_OPS:
                args = nodes[: width * (2 if op == "dot" else 1)]
            else:
                args = nodes[:1]
                table = {"pow": POW_EXPONENTS, "rpow": RPOW_BASES, "leaky_relu": LEAKY_SLOPES}.get(op)
                if table is not None:
                    param = table[number % len(table)]
            used.update(args)
            node = builder.apply(op, args, param, number_first)
            if node not in visible:  # an identical node drawn twice is the same (shared) node
                visible.append(node)
        # Every drawn operation reaches the output: the unused ones are added up.
        unused = [i for i in visible[leaf_count:] if i not in used]
        output = unused[0]
        for i in unused[1:]:
            output = builder.apply("add", (output, i))
        return builder.finish(output)

    return draw_expression()


def expression_graphs(
    n_leaves: int | SearchStrategy[int] = 2,
    *,
    min_ops: int = 1,
    max_ops: int = 8,
    ops: Iterable[str] | None = None,
    leaf_range: tuple[float, float] = (-3.0, 3.0),
    kink_margin: float = 1e-3,
    bound: float = DEFAULT_BOUND,
) -> SearchStrategy[ExpressionGraph]:
    """Random expressions built on leaf Values: draws an :class:`ExpressionGraph`.

    Its ``output`` is a fresh Value graph on ``leaves`` (labelled ``x0 …``, values drawn from
    ``leaf_range`` by :func:`finite_floats`), its ``expression`` the description for other
    oracles. Points where a relu, leaky_relu or abs input is within ``kink_margin`` of 0 are
    rejected, so the output is differentiable there and central differences with steps well
    below ``kink_margin`` are meaningful. Other arguments as for :func:`expressions`.
    """
    st, assume = _hypothesis("expression_graphs")
    check_real("expression_graphs(kink_margin)", kink_margin, lo=0.0)
    expression_strategy = expressions(
        n_leaves, min_ops=min_ops, max_ops=max_ops, ops=ops, leaf_range=leaf_range, bound=bound
    )
    leaf_values = finite_floats(*leaf_range)

    @st.composite
    def draw_graph(draw: DrawFn) -> ExpressionGraph:
        expression = draw(expression_strategy)
        values = tuple(draw(leaf_values) for _ in range(expression.n_leaves))
        assume(expression.kink_distance(values) > kink_margin)
        leaves = tuple(Value(v, label=f"x{i}") for i, v in enumerate(values))
        return ExpressionGraph(expression, values, leaves, expression.build(leaves))

    return draw_graph()
