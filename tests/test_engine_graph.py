"""The graph side of the engine: backward()'s semantics, depth without recursion,
topological_order, no_grad/detach, memory (no reference cycles, __slots__)."""

from __future__ import annotations

import copy
import gc
import inspect
import math
import sys
import weakref
from collections.abc import Callable

import pytest

from microgradnn.engine import (
    Value,
    dot,
    grad,
    is_grad_enabled,
    no_grad,
    topological_order,
    value_sum,
)


def build_readme_graph(a: Value, b: Value) -> Value:
    """micrograd's README expression: many shared nodes, relu, powers, division."""
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


# ----------------------------------------------------------------------------- backward semantics
def test_backward_seeds_the_root_with_one() -> None:
    x = Value(3.0)
    y = x * 2.0
    y.backward()
    assert y.grad == 1.0
    assert x.grad == 2.0


def test_backward_on_a_leaf_gives_it_one_and_accumulates() -> None:
    x = Value(3.0)
    x.backward()
    assert x.grad == 1.0
    x.backward()
    assert x.grad == 2.0


def test_node_used_twice_gets_both_contributions() -> None:
    a = Value(3.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0
    assert b._prev[0] is a and b._prev[1] is a

    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0


def test_node_used_in_several_places() -> None:
    # the lecture's example: f = (a·b)·(a + b);  ∂f/∂a = b(a+b) + ab,  ∂f/∂b = a(a+b) + ab
    a, b = Value(-2.0), Value(3.0)
    d, e = a * b, a + b
    f = d * e
    f.backward()
    assert (d.grad, e.grad) == (1.0, -6.0)
    assert a.grad == 3.0 * 1.0 + (-6.0)
    assert b.grad == -2.0 * 1.0 + (-6.0)

    # an interior node feeding three later nodes: y = h·h + h + tanh h with h = 3x
    x = Value(0.2)
    h = x * 3
    y = h * h + h + h.tanh()
    y.backward()
    hv = 0.6
    assert h.grad == pytest.approx(2 * hv + 1 + (1 - math.tanh(hv) ** 2), rel=1e-12)
    assert x.grad == pytest.approx(3 * h.grad, rel=1e-12)


def test_diamond_needs_reverse_topological_order() -> None:
    # x feeds y, y feeds both z1 and z2, both feed w: y's gradient is final only after both
    x = Value(1.5)
    y = x * 2.0
    z1, z2 = y + 1.0, y * 3.0
    w = z1 * z2
    w.backward()
    # w = (2x + 1)(6x) = 12x² + 6x;  dw/dx = 24x + 6
    assert x.grad == 24 * 1.5 + 6


def test_second_backward_doubles_leaves_and_recomputes_interior() -> None:
    a, b = Value(-4.0), Value(2.0)
    g = build_readme_graph(a, b)
    g.backward()
    interior = [n for n in topological_order(g) if n._prev]
    leaves = [n for n in topological_order(g) if not n._prev]
    once_leaves = [n.grad for n in leaves]
    once_interior = [n.grad for n in interior]
    g.backward()
    assert [n.grad for n in leaves] == [2 * v for v in once_leaves]
    assert [n.grad for n in interior] == once_interior
    assert a.grad == 2 * once_leaves[leaves.index(a)] and a.grad != 0.0


def test_zeroing_leaves_between_backward_calls_gives_the_single_pass_gradient() -> None:
    a, b = Value(-4.0), Value(2.0)
    g = build_readme_graph(a, b)
    g.backward()
    first = (a.grad, b.grad)
    a.grad = b.grad = 0.0
    g.backward()
    assert (a.grad, b.grad) == first


def test_backward_from_two_outputs_sharing_leaves_accumulates() -> None:
    w = Value(3.0)
    loss1 = w * w
    loss2 = w * 5.0
    loss1.backward()
    loss2.backward()
    assert w.grad == 6.0 + 5.0


def test_interior_grads_belong_to_the_last_backward_call() -> None:
    x = Value(2.0)
    h = x * x
    out1 = h * 3.0
    out2 = h + 1.0
    out1.backward()
    assert h.grad == 3.0
    out2.backward()
    assert h.grad == 1.0  # recomputed from scratch, not 3 + 1
    assert x.grad == 3.0 * 4.0 + 1.0 * 4.0  # the leaf accumulated both passes


def test_hand_built_node_without_a_rule_passes_gradient_by() -> None:
    # as in micrograd: a node made with the constructor has no backward rule
    a, b = Value(1.0), Value(2.0)
    node = Value(3.0, (a, b), "+")
    out = node * 2.0
    out.backward()
    assert node.grad == 2.0
    assert a.grad == 0.0 and b.grad == 0.0


def test_hand_built_node_with_local_gradients_takes_part_in_backward() -> None:
    # the way to add an operation of one's own: the node plus its local gradients ∂node/∂input
    x = Value(3.0)
    cube = Value(x.data**3, (x,), "cube")
    cube._local = (3 * x.data**2,)
    out = cube * 2.0
    out.backward()
    assert x.grad == 2.0 * 27.0


def test_local_gradients_are_taken_when_the_node_is_built() -> None:
    # unlike micrograd's closures, changing a leaf's data afterwards does not change the
    # recorded derivative: rebuild the graph after updating parameters (as training loops do)
    a = Value(2.0)
    square = a * a
    a.data = 5.0
    square.backward()
    assert square.data == 4.0
    assert a.grad == 4.0


def test_one_million_node_chain_backpropagates_without_recursion() -> None:
    n = 1_000_000
    factor = 1.0001
    x0 = Value(1.0)
    c = Value(factor)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # building a million live nodes with the collector on only slows the test down
    try:
        x = x0
        for _ in range(n):
            x = x * c
    finally:
        if gc_was_enabled:
            gc.enable()
    assert len(x._prev) == 2
    x.backward()
    # x = x0·cⁿ:  ∂x/∂x0 = cⁿ,  ∂x/∂c = n·x0·cⁿ⁻¹ (a million contributions summed into c)
    assert x.data == pytest.approx(factor**n, rel=1e-9)
    assert x0.grad == pytest.approx(factor**n, rel=1e-9)
    assert c.grad == pytest.approx(n * factor ** (n - 1), rel=1e-9)


def test_deep_chain_works_under_a_small_recursion_limit() -> None:
    limit = sys.getrecursionlimit()
    x0 = Value(0.5)
    x = x0
    for _ in range(5000):
        x = -x.tanh() * 0.0 + x + 1.0  # x_{k+1} = x_k + 1, through several ops per step
    try:
        sys.setrecursionlimit(max(100, len(inspect.stack()) + 50))
        order = topological_order(x)
        x.backward()
        first, *_ = grad(x, [x0])
    finally:
        sys.setrecursionlimit(limit)
    assert x.data == 5000.5
    assert x0.grad == 1.0 and first == 1.0
    assert order[-1] is x


# ----------------------------------------------------------------------------- topological_order
def assert_topological(order: list[Value], roots: list[Value]) -> None:
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order), "a node appears twice"
    # every node reachable from the roots is present
    seen, stack = set(), list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(node._prev)
    assert seen == set(position)
    for node in order:
        for child in node._prev:
            assert position[id(child)] < position[id(node)], "an input comes after its user"


def test_topological_order_puts_inputs_first_each_node_once() -> None:
    a, b = Value(-4.0, label="a"), Value(2.0, label="b")
    g = build_readme_graph(a, b)
    order = topological_order(g)
    assert_topological(order, [g])
    assert order[-1] is g


def test_topological_order_of_a_leaf_is_the_leaf() -> None:
    x = Value(1.0)
    assert topological_order(x) == [x]


def test_topological_order_is_deterministic() -> None:
    def signature() -> list[tuple[str, float]]:
        a, b = Value(-4.0), Value(2.0)
        return [(str(n._op), n.data) for n in topological_order(build_readme_graph(a, b))]

    first = signature()
    assert all(signature() == first for _ in range(3))


def test_topological_order_follows_the_stored_input_order() -> None:
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    assert [n.label for n in topological_order(Value(3.0, (a, b), "+", "c"))] == ["a", "b", "c"]
    assert [n.label for n in topological_order(Value(3.0, (b, a), "+", "c"))] == ["b", "a", "c"]


def test_topological_order_accepts_several_roots() -> None:
    a, b = Value(1.0), Value(2.0)
    shared = a * b
    out1 = shared.tanh()
    out2 = shared + a
    out3 = b.exp()
    for roots in ([out1, out2, out3], (out1, out2, out3), iter([out1, out2, out3])):
        order = topological_order(roots)
        assert_topological(order, [out1, out2, out3])
        assert sum(node is shared for node in order) == 1
    # a root that is an input of another root still appears once
    both = topological_order([shared, out1])
    assert_topological(both, [shared, out1])
    assert both[-1] is out1
    assert topological_order([]) == []


def test_topological_order_of_a_fused_node() -> None:
    xs = [Value(float(i)) for i in range(4)]
    s = value_sum([dot(xs[:2], xs[2:]), xs[0]])
    order = topological_order(s)
    assert_topological(order, [s])
    assert len(order) == 6


@pytest.mark.parametrize("bad", [3, None, [Value(1.0), 2.0]], ids=["int", "None", "list with a float"])
def test_topological_order_rejects_non_values_naming_the_type(bad: object) -> None:
    with pytest.raises(TypeError, match="int|NoneType|float"):
        topological_order(bad)


# ----------------------------------------------------------------------------- no_grad and detach
NO_GRAD_OPERATIONS: list[tuple[str, Callable[[Value, Value], Value], float]] = [
    ("+", lambda a, b: a + b, 5.0),
    ("*", lambda a, b: a * b, 6.0),
    ("-", lambda a, b: a - b, -1.0),
    ("/", lambda a, b: a / b, 2.0 / 3.0),
    ("neg", lambda a, b: -a, -2.0),
    ("**number", lambda a, b: a**2, 4.0),
    ("**Value", lambda a, b: a**b, 8.0),
    ("number**", lambda a, b: 2**b, 8.0),
    ("exp", lambda a, b: a.exp(), math.exp(2.0)),
    ("log", lambda a, b: a.log(), math.log(2.0)),
    ("tanh", lambda a, b: a.tanh(), math.tanh(2.0)),
    ("sigmoid", lambda a, b: a.sigmoid(), 1.0 / (1.0 + math.exp(-2.0))),
    ("relu", lambda a, b: a.relu(), 2.0),
    ("leaky_relu", lambda a, b: (-a).leaky_relu(), -0.02),
    ("abs", lambda a, b: abs(-a), 2.0),
    ("sum", lambda a, b: value_sum([a, b, 1.0]), 6.0),
    ("dot", lambda a, b: dot([a, b], [b, a]), 12.0),
]


@pytest.mark.parametrize(("build", "data"), [case[1:] for case in NO_GRAD_OPERATIONS],
                         ids=[case[0] for case in NO_GRAD_OPERATIONS])
def test_no_grad_computes_data_and_records_no_graph(
    build: Callable[[Value, Value], Value], data: float
) -> None:
    a, b = Value(2.0), Value(3.0)
    with no_grad():
        out = build(a, b)
    assert out.data == pytest.approx(data, rel=1e-12)
    assert out._prev == ()
    assert out._op == ""
    out.backward()
    assert a.grad == 0.0 and b.grad == 0.0
    # the same operation outside records the graph again
    assert build(a, b)._prev != ()


def test_no_grad_nests_and_restores() -> None:
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
        assert (Value(1.0) * 2)._prev == ()
    assert is_grad_enabled()
    assert (Value(1.0) * 2)._prev != ()


def test_no_grad_is_restored_after_an_exception() -> None:
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            with no_grad():
                Value(1.0) / 0
    assert is_grad_enabled()
    assert (Value(1.0) * 2)._prev != ()


def test_no_grad_works_as_a_decorator() -> None:
    @no_grad()
    def evaluate(x: Value) -> Value:
        assert not is_grad_enabled()
        return x * 2.0

    x = Value(1.5)
    assert evaluate(x)._prev == ()
    assert evaluate(x).data == 3.0  # reusable
    assert is_grad_enabled()


def test_values_built_under_no_grad_are_leaves_in_later_graphs() -> None:
    w = Value(3.0)
    with no_grad():
        frozen = w * 2.0
    out = frozen * w
    out.backward()
    assert frozen.grad == 3.0
    assert w.grad == 6.0  # only the recorded path: ∂(frozen·w)/∂w with frozen constant


def test_detach_returns_a_new_leaf_with_the_same_data_and_label() -> None:
    x = Value(1.5, label="x")
    y = (x * 2.0).tanh()
    y.label = "y"
    cut = y.detach()
    assert cut is not y
    assert cut.data == y.data and cut.label == "y"
    assert cut._prev == () and cut._op == "" and cut.grad == 0.0


def test_gradient_does_not_flow_through_a_detached_value() -> None:
    x = Value(3.0)
    y = x.detach() * x
    y.backward()
    assert x.grad == 3.0  # not 2·x


def test_deepcopy_of_a_graph_is_an_independent_working_graph() -> None:
    # a snapshot of a graph (e.g. to draw it later) must not share nodes with the original
    a, b = Value(-4.0, label="a"), Value(2.0, label="b")
    g = build_readme_graph(a, b)
    snapshot = copy.deepcopy(g)
    copied = {n.label: n for n in topological_order(snapshot) if n.label}
    assert copied["a"] is not a and copied["a"].data == -4.0
    assert [str(n._op) for n in topological_order(snapshot)] == [str(n._op) for n in topological_order(g)]
    snapshot.backward()
    assert a.grad == 0.0 and b.grad == 0.0
    g.backward()
    assert (copied["a"].grad, copied["b"].grad) == (a.grad, b.grad)


# ----------------------------------------------------------------------------- memory
def graph_builders() -> list[tuple[str, Callable[[Value, Value], Value]]]:
    return [
        ("readme", build_readme_graph),
        ("unary", lambda a, b: ((a.exp() + b.log()).tanh().sigmoid() - abs(a).leaky_relu(0.1)).relu()),
        ("division", lambda a, b: 1 / a + b / 2.0 - a / b),
        ("powers", lambda a, b: a**2 + b**-0.5),
        ("value exponent", lambda a, b: b**a + 2**a),
        ("fused", lambda a, b: value_sum([dot([a, b], [b, a]), a, 3.0])),
    ]


def build_and_forget(build: Callable[[Value, Value], Value]) -> list[weakref.ref]:
    a, b = Value(0.5, label="a"), Value(2.0, label="b")
    out = build(a, b)
    out.backward()
    grad(out, [a, b])
    return [weakref.ref(node) for node in topological_order(out)]


GRAPH_BUILDERS = graph_builders()


@pytest.mark.parametrize("build", [b for _, b in GRAPH_BUILDERS], ids=[name for name, _ in GRAPH_BUILDERS])
def test_a_graph_is_freed_by_reference_counting_alone(build: Callable[[Value, Value], Value]) -> None:
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        refs = build_and_forget(build)
        assert len(refs) > 2
        alive = [r() for r in refs if r() is not None]
        assert alive == [], f"{len(alive)} nodes survive without the cyclic collector: {alive[:3]}"
    finally:
        if was_enabled:
            gc.enable()


def test_higher_order_graph_is_freed_by_reference_counting_alone() -> None:
    def build() -> list[weakref.ref]:
        x, y = Value(1.5), Value(0.5)
        f = (x * y).tanh() + x.exp() * y
        first = grad(f, [x, y], create_graph=True)
        return [weakref.ref(n) for n in topological_order(first)]

    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        refs = build()
        assert all(r() is None for r in refs)
    finally:
        if was_enabled:
            gc.enable()


def test_values_have_slots_and_no_instance_dict() -> None:
    v = Value(1.0)
    assert not hasattr(v, "__dict__")
    assert set(Value.__slots__) >= {"data", "grad", "_op", "label"}
    assert {"data", "grad", "_prev", "_op", "label"} <= set(dir(v))  # _prev may be a property
    with pytest.raises(AttributeError):
        v.some_new_attribute = 1
    out = v * 2.0
    assert not hasattr(out, "__dict__")


def test_prev_is_an_ordered_tuple() -> None:
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    cases = [(a - b, (a, b)), (b - a, (b, a)), (c / a, (c, a)), (value_sum([c, a, b]), (c, a, b))]
    for node, inputs in cases:
        assert type(node._prev) is tuple
        assert len(node._prev) == len(inputs)
        assert all(p is q for p, q in zip(node._prev, inputs))
