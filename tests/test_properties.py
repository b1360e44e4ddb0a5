"""Property tests of the engine over random expression DAGs with shared sub-expressions.

The graphs come from microgradnn.testing's own strategies (every operation of the engine,
fan-out included: one Value object used by several parents). Every leaf gradient is checked
against two independent oracles: central finite differences (gradcheck) and sympy's exact
symbolic derivative of the same expression.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from microgradnn.engine import Value, grad, no_grad, topological_order
from microgradnn.testing import (
    Expression,
    ExpressionBuilder,
    ExpressionGraph,
    assert_gradcheck,
    expression_graphs,
)

# Up to 3 leaves and 10 drawn operations (more nodes with the domain guards), all operations.
graphs = expression_graphs(st.integers(1, 3), max_ops=10)
EXACT = {"rel": 1e-8, "abs": 1e-10}  # sympy evaluates different formulas: rounding differs


@settings(max_examples=300, deadline=None)
@given(graphs)
def test_backward_matches_sympy_and_central_differences(graph: ExpressionGraph) -> None:
    expression, leaves = graph.expression, graph.leaves
    graph.output.backward()
    got = [leaf.grad for leaf in leaves]
    exact = expression.sympy_derivatives(graph.values, [(), *((i,) for i in range(expression.n_leaves))])
    assert graph.output.data == pytest.approx(exact[0], **EXACT)
    assert got == pytest.approx(exact[1:], **EXACT)
    result = assert_gradcheck(expression, graph.values)
    assert [row.analytic for row in result.rows] == got  # gradcheck's analytic column is backward()'s
    # A leaf the output does not depend on gets exactly 0.
    reachable = set(topological_order(graph.output))
    assert all(leaf.grad == 0.0 for leaf in leaves if leaf not in reachable)


@settings(max_examples=200, deadline=None)
@given(expression_graphs(st.integers(1, 3), max_ops=10, ops=["sum", "dot", "mul", "add", "tanh", "neg"]))
def test_fused_sum_and_dot_nodes_with_fan_out_match_sympy(graph: ExpressionGraph) -> None:
    graph.output.backward()
    exact = graph.expression.sympy_derivatives(graph.values, [(i,) for i in range(graph.expression.n_leaves)])
    assert [leaf.grad for leaf in graph.leaves] == pytest.approx(exact, **EXACT)


@settings(max_examples=200, deadline=None)
@given(graphs)
def test_grad_function_matches_backward_and_touches_no_grad(graph: ExpressionGraph) -> None:
    nodes = topological_order(graph.output)
    floats = grad(graph.output, graph.leaves)
    values = grad(graph.output, graph.leaves, create_graph=True)
    assert all(node.grad == 0.0 for node in nodes)  # grad() leaves .grad alone
    graph.output.backward()
    by_backward = [leaf.grad for leaf in graph.leaves]
    assert all(type(g) is float for g in floats) and all(isinstance(g, Value) for g in values)
    assert floats == pytest.approx(by_backward, rel=1e-12, abs=1e-15)
    assert [g.data for g in values] == pytest.approx(by_backward, rel=1e-12, abs=1e-15)


def graph_at(expression: Expression, values: tuple[float, ...]) -> ExpressionGraph:
    """The graph `expression_graphs` would draw for ``expression`` at ``values`` (for @example)."""
    leaves = tuple(Value(v, label=f"x{i}") for i, v in enumerate(values))
    return ExpressionGraph(expression, values, leaves, expression.build(leaves))


def _expression(*steps: tuple) -> Expression:
    builder = ExpressionBuilder(1)
    for step in steps:
        builder.apply(*step)
    return builder.finish()


# x0 * x0 + (x0 - x0) at a tiny x0: x0's gradient is 2·x0 + 1 − 1, whose ±1 cancel exactly.
CANCELLING = graph_at(_expression(("mul", (0, 0)), ("sub", (0, 0)), ("add", (1, 2))), (6.6e-23,))


@settings(max_examples=200, deadline=None)
@example(CANCELLING)
@given(graphs)
def test_second_backward_doubles_leaves_and_recomputes_interior_nodes(graph: ExpressionGraph) -> None:
    nodes = topological_order(graph.output)
    graph.output.backward()
    first = [node.grad for node in nodes]
    graph.output.backward()
    for node, g in zip(nodes, first):
        if node._prev:
            assert node.grad == g  # interior: recomputed from scratch, same numbers
        else:
            # Leaves (and number operands) accumulate: the second pass adds its contributions
            # one by one onto the first total, so the result is 2·g up to the rounding of those
            # additions. That rounding scales with the size of the terms added, not with their
            # sum, which may cancel to almost nothing (1 − 1 + 1e-22): the tolerance is relative
            # to the summed magnitudes, |g| plus every |parent.grad × local gradient| added.
            added = math.fsum(
                abs(parent.grad * d) for parent in nodes for child, d in zip(parent._prev, parent._local)
                if child is node
            )  # fmt: skip
            assert node.grad == pytest.approx(2 * g, rel=1e-12, abs=1e-12 * (abs(g) + added) + 1e-300)


@settings(max_examples=100, deadline=None)
@given(graphs)
def test_no_grad_computes_the_same_numbers_without_a_graph(graph: ExpressionGraph) -> None:
    with no_grad():
        untracked = graph.expression.build([Value(v) for v in graph.values])
    assert untracked.data == graph.output.data
    assert untracked._prev == () and untracked._local == ()
    assert graph.output.data == pytest.approx(graph.expression.evaluate(graph.values), rel=1e-12, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(graphs)
def test_topological_order_lists_each_node_once_after_its_inputs(graph: ExpressionGraph) -> None:
    order = topological_order(graph.output)
    position = {node: k for k, node in enumerate(order)}
    assert len(position) == len(order) and order[-1] is graph.output
    assert all(position[child] < position[node] for node in order for child in node._prev)
    # Exactly the nodes reachable from the output: one Value per expression node (shared
    # sub-expressions are not rebuilt), plus the leaves made for number operands.
    interior = [node for node in order if node._prev]
    assert len(interior) == graph.expression.op_count()
    used_leaves = {graph.expression.nodes[j].index for i in graph.expression.reachable()
                   for j in graph.expression.nodes[i].args if j < graph.expression.n_leaves}  # fmt: skip
    assert {k for k, leaf in enumerate(graph.leaves) if leaf in position} == used_leaves


@settings(max_examples=100, deadline=None)
@given(expression_graphs(2, max_ops=6), st.floats(-2.0, 2.0))
def test_chain_rule_through_a_composed_function(graph: ExpressionGraph, scale: float) -> None:
    # d/dx tanh(scale·f(x)) = scale·(1 − tanh²)·∂f/∂x, with ∂f/∂x from a separate graph.
    inner = grad(graph.output, graph.leaves)
    outer = (graph.output * scale).tanh()
    t = math.tanh(scale * graph.output.data)
    expected = [scale * (1 - t * t) * g for g in inner]
    assert grad(outer, graph.leaves) == pytest.approx(expected, rel=1e-12, abs=1e-15)
