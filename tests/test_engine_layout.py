"""The engine as a student reads it (issue: the engine you can read in one sitting), and the
engine's share of round two of hostile inputs: define_op refusing names that already mean
something, labels that are not text, exponents of the wrong type, hessian's arity."""

from __future__ import annotations

import copy
import inspect
import pickle
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings

from microgradnn import MLP, Value, define_op, grad, hessian, ops, topological_order
from microgradnn.engine import make_node_of
from microgradnn.losses import bce_op, binary_cross_entropy_with_logits, cross_entropy, cross_entropy_op
from microgradnn.ops import OPS
from microgradnn.testing import expression_graphs
from microgradnn.testing.expressions import ExpressionGraph

PACKAGE = Path(__file__).resolve().parent.parent / "microgradnn"


# ---------------------------------------------------------------------- a node is plain data
def test_a_node_is_plain_tuples_and_reading_them_changes_nothing() -> None:
    x = Value(3.0, label="x")
    y = x * 2.0
    prev, local, op = y._prev, y._local, y._op
    assert type(prev) is tuple and type(local) is tuple
    assert prev[0] is x and type(prev[1]) is Value and prev[1].data == 2.0 and not prev[1]._prev
    assert local == (2.0, 3.0)
    for _ in range(3):  # reading is reading: same objects, same operation, nothing made
        assert y._prev is prev and y._local is local and y._op is op
    assert set(Value.__slots__) >= {"data", "grad", "_op", "label", "_prev", "_local"}


@pytest.mark.parametrize(
    ("build", "number_first"),
    [(lambda x: x + 2, False), (lambda x: 2 + x, True), (lambda x: 2 - x, True), (lambda x: x / 4, False),
     (lambda x: 2 / x, True), (lambda x: 2 ** x, True), (lambda x: x * 5, False)],
)  # fmt: skip
def test_a_number_operand_is_a_leaf_that_receives_its_gradient(build, number_first: bool) -> None:  # noqa: ANN001
    x = Value(1.5)
    y = build(x)
    number = y._prev[0 if number_first else 1]
    assert y._prev[1 if number_first else 0] is x
    assert not number._prev and number.grad == 0.0
    y.backward()
    expected = grad(y, [number])[0]
    assert number.grad == expected


def test_every_row_method_is_a_method_written_in_the_value_class() -> None:
    source = inspect.getsource(Value)
    for row in OPS.values():
        for method in row.methods:
            assert f"def {method}(self" in source, f"{method} of row {row!r} is not written in Value"
    x, y = Value(0.7), Value(1.3)
    made = {"__add__": x + y, "__radd__": 2 + x, "__sub__": x - y, "__rsub__": 2 - x, "__mul__": x * y,
            "__rmul__": 2 * x, "__truediv__": x / y, "__rtruediv__": 2 / x, "__rpow__": 2 ** x,
            "__neg__": -x, "__abs__": abs(x), "abs": x.abs(), "exp": x.exp(), "log": x.log(),
            "tanh": x.tanh(), "sigmoid": x.sigmoid(), "relu": x.relu()}  # fmt: skip
    for row in (ops.ADD, ops.SUB, ops.MUL, ops.DIV, ops.POW, ops.NEG, ops.ABS, ops.EXP, ops.LOG, ops.TANH,
                ops.SIGMOID, ops.RELU):  # fmt: skip
        for method in row.methods:
            assert made[method]._op is row


def test_the_engine_and_the_table_fit_one_sitting() -> None:
    assert len((PACKAGE / "engine.py").read_text(encoding="utf-8").splitlines()) <= 400
    assert len((PACKAGE / "ops.py").read_text(encoding="utf-8").splitlines()) <= 350
    source = (PACKAGE / "engine.py").read_text(encoding="utf-8")
    assert source.count("def topological_order") == 1 and "setattr(" not in source
    assert source.count("_new(Value)") == 1  # one node builder


@settings(max_examples=60, deadline=None)
@given(expression_graphs(3, max_ops=10))
def test_backward_equals_stepping_every_node_by_hand(graph: ExpressionGraph) -> None:
    """backward() is `_backward()` applied from the output back (what the lecture does by hand)."""
    out = graph.output
    out.backward()
    auto = {id(n): n.grad for n in topological_order(out)}
    order = topological_order(out)
    for node in order:
        node.grad = 0.0
    out.grad = 1.0
    for node in reversed(order):
        node._backward()
    for node in order:
        assert node.grad == pytest.approx(auto[id(node)], rel=1e-12, abs=1e-12)


def test_backward_skips_a_node_whose_gradient_is_zero() -> None:
    class Counting(tuple):  # counts how often backward reads a node's local gradients
        reads = 0

        def __iter__(self):  # noqa: ANN204
            Counting.reads += 1
            return super().__iter__()

    x = Value(-2.0)
    off = x * 3.0  # behind a ReLU that is off: its gradient stays 0
    off._local = Counting(off._local)
    out = off.relu() + x
    out.backward()
    assert Counting.reads == 0 and x.grad == 1.0


@settings(max_examples=60, deadline=None)
@given(expression_graphs(3, max_ops=10))
def test_leaves_false_is_the_same_order_without_the_leaves(graph: ExpressionGraph) -> None:
    """What backward visits: the full order with the nodes that have no inputs taken out."""
    out = graph.output
    interior = topological_order(out, leaves=False)
    assert interior == [n for n in topological_order(out) if n._prev]
    assert topological_order([*graph.leaves, out], leaves=False) == interior


def test_leaves_false_on_a_leaf_is_empty_and_backward_still_seeds_it() -> None:
    x = Value(2.0)
    assert topological_order(x, leaves=False) == [] and topological_order(x) == [x]
    x.backward()
    x.backward()
    assert x.grad == 2.0  # a leaf root accumulates, as every leaf does


def test_topological_order_lists_each_node_once_after_its_inputs_at_any_depth() -> None:
    x = Value(1.0)
    y = x
    for _ in range(200_000):
        y = y * 1.0 + x
    order = topological_order(y)
    position = {id(n): i for i, n in enumerate(order)}
    assert len(position) == len(order)
    assert all(position[id(c)] < position[id(n)] for n in order for c in n._prev)
    y.backward()
    assert x.grad == 200_001.0


def test_a_graph_with_family_and_loss_rows_pickles_and_copies() -> None:
    x = Value(0.3, label="x")
    loss = (x**3).leaky_relu(0.2) + binary_cross_entropy_with_logits([x], [1])
    loss = loss + cross_entropy([[x, x * 2]], [1])
    for clone in (pickle.loads(pickle.dumps(loss)), copy.deepcopy(loss)):
        clone.backward()
        ops_of = [n._op for n in topological_order(clone)]
        assert ops.power_op(3.0) in ops_of and any(o is ops.leaky_relu_op(0.2) for o in ops_of)
        assert any(o is bce_op(1.0) for o in ops_of) and any(o is cross_entropy_op(1) for o in ops_of)
        assert clone.data == loss.data
    loss.backward()
    assert pickle.loads(pickle.dumps(loss))._prev[0]._op is loss._prev[0]._op


def test_the_loss_rows_live_with_the_losses() -> None:
    assert not hasattr(ops, "bce_op") and not hasattr(ops, "cross_entropy_op")
    z = Value(0.4)
    node = make_node_of(bce_op(0.0), (z,))
    assert node._op.family is bce_op and node._local == pytest.approx((1 / (1 + 2.718281828459045**-0.4),))


def test_import_microgradnn_loads_only_the_standard_library() -> None:
    import subprocess
    import sys

    code = ("import sys; before = set(sys.modules); import microgradnn, microgradnn.engine\n"
            "import microgradnn.higher_order, microgradnn.user_ops\n"
            "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
            "print(sorted(new - set(sys.stdlib_module_names)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "['microgradnn']", done.stderr


# ---------------------------------------------------------------------- define_op refuses taken names
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"name": "tanh", "method": "mytanh"}, "already names an operation"),
     ({"name": "exp"}, "already names an operation"),
     ({"name": "ReLU", "method": "myrelu"}, "already names an operation"),
     ({"name": "relu"}, "already names an operation"),
     ({"name": "mine", "method": "tanh"}, "already names an operation"),
     ({"name": "mine", "method": "backward"}, "already a Value attribute"),
     ({"name": "mine", "method": "data"}, "already a Value attribute"),
     ({"name": "__len__"}, "dunder"), ({"name": "mine", "method": "__iter__"}, "dunder"),
     ({"name": "class"}, "keyword"), ({"name": "None"}, "keyword"),
     ({"name": "mine", "method": "match"}, "keyword"),
     ({"name": "not a name"}, "identifier"), ({"name": 5}, "identifier")],
)  # fmt: skip
def test_define_op_refuses_names_that_already_mean_something(kwargs: dict, message: str) -> None:
    rows, methods = dict(OPS), set(vars(Value))
    with pytest.raises(ValueError, match=message):
        define_op(forward=lambda x: 2 * x, grads=lambda out, x: 2.0, **kwargs)
    assert OPS == rows and set(vars(Value)) == methods
    assert OPS["tanh"] is ops.TANH and OPS["exp"] is ops.EXP and len(Value(1.0)._prev) == 0
    model = MLP(2, [3, 1], activation="tanh", output_activation="tanh", seed=0)  # built-ins work
    assert model([0.5, -0.5])._op == "tanh"


def test_define_op_refuses_a_two_input_rule_with_three_derivatives() -> None:
    with pytest.raises(TypeError, match="pair of derivatives"):
        define_op("mix3", lambda a, b: a * b, lambda out, a, b: (b, a, 1.0), arity=2)
    assert "mix3" not in OPS and not hasattr(Value, "mix3")


def test_define_op_refused_rules_are_checked_where_the_first_probe_is_outside_the_domain() -> None:
    with pytest.raises(TypeError, match="derivative itself"):  # log-like: 0.5 fine, but a tuple
        define_op("only_above_one", lambda x: _only_above_one(x), lambda out, x: (1.0 / x,))
    assert "only_above_one" not in OPS


def _only_above_one(x: float) -> float:
    if x <= 1.0:
        raise ValueError("only_above_one: x must be > 1")
    return x - 1.0


# ---------------------------------------------------------------------- labels, exponents, hessian
@pytest.mark.parametrize("label", [5, b"x", None, 1.5, ["x"]])
def test_a_label_must_be_text(label: object) -> None:
    with pytest.raises(TypeError, match=r"Value\(label\) must be a string, got"):
        Value(2.0, label=label)  # type: ignore[arg-type]


def test_a_str_subclass_label_is_kept_as_plain_text() -> None:
    class Fancy(str):
        pass

    v = Value(1.0, label=Fancy("w1"))
    assert type(v.label) is str and v.label == "w1"


@pytest.mark.parametrize("exponent", [Decimal(2), "2", None, [2]])
def test_an_exponent_of_the_wrong_type_is_refused_every_time(exponent: object) -> None:
    x = Value(2.0)
    for _ in range(2):  # the second time too: no cache skips the check
        _ = x**2
        with pytest.raises(TypeError, match=r"Value \*\* exponent: expected a real number"):
            _ = x**exponent  # type: ignore[operator]
    assert (x ** Fraction(1, 2)).data == pytest.approx(2**0.5)


def test_hessian_explains_a_function_that_takes_fewer_inputs_than_given() -> None:
    with pytest.raises(TypeError, match=r"hessian: f\(a\) cannot take 2 positional argument"):
        hessian(lambda a: a * a, [1.0, 2.0])
    assert hessian(lambda a, b: a * a * b, [1.0, 2.0]) == [[4.0, 2.0], [2.0, 0.0]]
