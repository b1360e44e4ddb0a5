"""Check someone else's micrograd-style ``Value`` class against microgradnn: ``check_engine``.

The learner's class needs only what the lecture's has: ``ValueClass(x)``, ``.data``, ``.grad``
and ``.backward()``. Everything else is found by trying it (:func:`discover`), and only what
was found is tested:

1. every operation alone, on fixed inputs, also used twice (``a * a``) and with numbers on
   either side: a bug in one local derivative shows here as a one-operation expression;
2. random expression DAGs drawn by hypothesis over the operations that passed step 1: shared
   sub-expressions, two paths meeting, long chains. A failing graph is shrunk on the graph
   itself (a node bypassed, a sub-expression taken as the output, leaves merged, rounder
   inputs) until nothing smaller fails. Values of every node and gradients of every leaf are
   compared with microgradnn's, with tolerances that allow for floating-point rounding.

A failure is then diagnosed (:mod:`microgradnn.testing.engine_report` shows it): the learner's
graph is replayed node by node — each ``_backward()`` called in a correct reverse topological
order, starting from grad 1 — and the increments it adds to its inputs are compared with the
local derivatives in microgradnn's table of operations; the first node that adds the wrong
amount is named. If every node is right, the learner's own ``backward()`` is watched instead:
the seed, the order of the ``_backward()`` calls, nodes skipped or run twice.

Conventions that differ between correct engines are reported, not failed: whether a second
``backward()`` accumulates, the depth at which a recursive topological sort raises
RecursionError, the derivative at a kink.

Needs hypothesis (``pip install 'microgradnn[testing]'``) for step 2.
"""

from __future__ import annotations

import contextlib
import io
import math
import random
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from microgradnn import ops
from microgradnn.engine import Value
from microgradnn.testing.engine_report import (
    Blame,
    Capability,
    Convention,
    EngineReport,
    Failure,
    GraphPicture,
    LeafGrad,
    PictureNode,
)
from microgradnn.testing.expressions import Expression, ExpressionBuilder, Node, row_of

__all__ = ["EngineUnusableError", "assert_engine", "check_engine", "discover"]

LEAF_NAMES = "abcdefgh"
# Numbers a failing check is written with; chosen to be unremarkable (no 0, ±1, equal values).
FIXED_INPUTS = (1.5, -0.75, 0.6)
POSITIVE_INPUTS = (1.5, 0.75, 2.25)
# Tolerances: values stay within ±100 (ExpressionBuilder's bound), so an absolute floor of
# 1e-8 is far above rounding and far below any real bug; relative 1e-6 allows for engines
# that compute tanh or sigmoid by another (equally correct) formula.
REL_TOL = 1e-6
ABS_TOL = 1e-8
KINK_MARGIN = 1e-3


class EngineUnusableError(ValueError):
    """The class cannot be checked at all: ``ValueClass(1.5)``, ``.data``, ``.grad`` or
    ``.backward()`` do not work as in micrograd."""


# ---------------------------------------------------------------------- operations to look for
@dataclass(frozen=True)
class _Op:
    """One thing a Value class may support, and how it maps onto an expression node."""

    key: str  # what the report shows: "a + 2"
    expr_op: str  # the expression's operation name
    side: str  # "none" (all Values), "right" (number on the right), "left" (number on the left)
    method: str  # the method that provides it, for hints
    call: Callable[[Any, Any, Any], Any]  # (a, b, number) -> result


def _number_text(x: float | None) -> str:
    return "?" if x is None else f"{x:.6g}"


def _fmt_num(p: float) -> Any:
    # An integral exponent is passed as an int (2, not 2.0): some engines accept only ints.
    return int(p) if float(p).is_integer() else p


OPERATIONS: tuple[_Op, ...] = (
    _Op("a + b", "add", "none", "__add__", lambda a, b, p: a + b),
    _Op("a + 2", "add", "right", "__add__", lambda a, b, p: a + p),
    _Op("2 + a", "add", "left", "__radd__", lambda a, b, p: p + a),
    _Op("a * b", "mul", "none", "__mul__", lambda a, b, p: a * b),
    _Op("a * 2", "mul", "right", "__mul__", lambda a, b, p: a * p),
    _Op("2 * a", "mul", "left", "__rmul__", lambda a, b, p: p * a),
    _Op("a - b", "sub", "none", "__sub__", lambda a, b, p: a - b),
    _Op("a - 2", "sub", "right", "__sub__", lambda a, b, p: a - p),
    _Op("2 - a", "sub", "left", "__rsub__", lambda a, b, p: p - a),
    _Op("-a", "neg", "none", "__neg__", lambda a, b, p: -a),
    _Op("a / b", "div", "none", "__truediv__", lambda a, b, p: a / b),
    _Op("a / 2", "div", "right", "__truediv__", lambda a, b, p: a / p),
    _Op("2 / a", "div", "left", "__rtruediv__", lambda a, b, p: p / a),
    _Op("a ** 2", "pow", "none", "__pow__", lambda a, b, p: a ** _fmt_num(p)),
    _Op("a ** 0.5", "pow_frac", "none", "__pow__", lambda a, b, p: a**p),
    _Op("2 ** a", "rpow", "none", "__rpow__", lambda a, b, p: p**a),
    _Op("a ** b", "vpow", "none", "__pow__", lambda a, b, p: a**b),
    _Op("tanh(a)", "tanh", "none", "tanh", lambda a, b, p: a.tanh()),
    _Op("exp(a)", "exp", "none", "exp", lambda a, b, p: a.exp()),
    _Op("log(a)", "log", "none", "log", lambda a, b, p: a.log()),
    _Op("sigmoid(a)", "sigmoid", "none", "sigmoid", lambda a, b, p: a.sigmoid()),
    _Op("relu(a)", "relu", "none", "relu", lambda a, b, p: a.relu()),
    _Op("abs(a)", "abs", "none", "__abs__", lambda a, b, p: abs(a)),
)
_BY_KEY = {op.key: op for op in OPERATIONS}
_NUMBER_OPS = {"add", "sub", "mul", "div"}
_PROBE_NUMBER = {"pow": 2.0, "pow_frac": 0.5, "rpow": 2.0}
# Exponents and bases drawn into random expressions (ExpressionBuilder guards their domains).
_INT_EXPONENTS = (2.0, 3.0, -1.0, -2.0)
_FRAC_EXPONENTS = (0.5, 1.5)
_NUMBERS = (2.0, 0.5, 3.0, -1.0, 1.5, -2.0)
_BASES = (2.0, 0.5, 3.0)


def _key_of(node: Node) -> str:
    """The capability an expression node needs (its operation, with the number's side)."""
    if node.op in _NUMBER_OPS:
        side = "none" if node.param is None else ("left" if node.number_first else "right")
        return next(op.key for op in OPERATIONS if op.expr_op == node.op and op.side == side)
    if node.op == "pow":
        return "a ** 2" if float(node.param or 0).is_integer() else "a ** 0.5"
    return next(op.key for op in OPERATIONS if op.expr_op == node.op)


# ---------------------------------------------------------------------- talking to the class
def _describe_exception(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    where = ""
    # Where in the learner's code (frames of microgradnn itself, which made the call, are not news).
    package = __file__.rsplit("/testing/", 1)[0]
    # A notebook cell's code lives in a temporary file whose name means nothing to its reader.
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith(package) and "ipykernel_" not in f.filename]  # fmt: skip
    if frames:
        last = frames[-1]
        where = f" ({last.filename.rsplit('/', 1)[-1]}, line {last.lineno}, in {last.name})"
    return f"{type(exc).__name__}{': ' + text if text else ''}{where}"


def _number(x: Any) -> float | None:
    """x as a float if it is a real number (not bool), else None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        try:  # numpy scalars and the like
            import numbers

            if isinstance(x, numbers.Real) and not isinstance(x, bool):
                return float(x)
        except Exception:  # noqa: BLE001
            return None
        return None
    return float(x)


def _data(node: Any) -> float | None:
    try:
        return _number(node.data)
    except Exception:  # noqa: BLE001 - a learner's property may raise anything
        return None


def _grad(node: Any) -> float | None:
    try:
        return _number(node.grad)
    except Exception:  # noqa: BLE001
        return None


def _children(node: Any) -> list[Any]:
    """A learner node's inputs (its ``_prev``), in a stable order, without duplicates."""
    prev = getattr(node, "_prev", None)
    if prev is None:
        return []
    try:
        items = list(prev)
    except TypeError:
        return []
    seen: set[int] = set()
    out = []
    for child in items:
        if id(child) not in seen and hasattr(child, "data"):
            seen.add(id(child))
            out.append(child)
    return out


def _topological(root: Any) -> list[Any]:
    """The learner's graph, each node after its inputs (iterative: any depth)."""
    order: list[Any] = []
    visited: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, emit = stack.pop()
        if emit:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)))
    return order


def _close(actual: float | None, expected: float, scale: float = 1.0) -> bool:
    if actual is None or math.isnan(actual):
        return math.isnan(expected) if actual is not None else False
    return math.isclose(actual, expected, rel_tol=REL_TOL, abs_tol=ABS_TOL * max(1.0, scale))


# ---------------------------------------------------------------------- discovery
def _basic_checks(cls: Any) -> None:
    """Raise EngineUnusableError unless ``cls(1.5)``, ``.data``, ``.grad``, ``.backward()`` work."""
    name = getattr(cls, "__name__", repr(cls))
    if not isinstance(cls, type):
        raise EngineUnusableError(f"{name!s} is not a class (got {type(cls).__name__})")
    try:
        x = cls(1.5)
    except Exception as exc:  # noqa: BLE001
        raise EngineUnusableError(f"{name}(1.5) failed: {_describe_exception(exc)}") from None
    data = _data(x)
    if data is None or data != 1.5:
        raise EngineUnusableError(f"{name}(1.5).data should be 1.5, got {getattr(x, 'data', '<missing>')!r}")
    if _grad(x) is None:
        raise EngineUnusableError(
            f"{name}(1.5).grad should be a number (0), got {getattr(x, 'grad', '<missing>')!r}"
        )
    if not callable(getattr(x, "backward", None)):
        raise EngineUnusableError(f"{name} has no backward() method")


def discover(cls: Any) -> list[Capability]:
    """What ``cls`` supports: each operation tried on simple inputs, every call guarded.

    An operation is supported when the call returns an instance of ``cls`` whose ``data`` is a
    number; its value is not judged here (a wrong value is a failure found by the checks).
    """
    _basic_checks(cls)
    found = []
    for op in OPERATIONS:
        positive = op.expr_op in ("log", "pow_frac", "vpow")
        a_value, b_value = (1.5, 0.75) if positive else (1.5, -0.75)
        number = _PROBE_NUMBER.get(op.expr_op, 2.0)
        try:
            a, b = cls(a_value), cls(b_value)
            result = op.call(a, b, number)
        except Exception as exc:  # noqa: BLE001 - anything the learner's code raises
            found.append(Capability(op.key, False, _describe_exception(exc)))
            continue
        if not isinstance(result, cls):
            found.append(Capability(op.key, False, f"returned {type(result).__name__}, not {cls.__name__}"))
        elif _data(result) is None:
            found.append(
                Capability(op.key, False, f"its .data is {getattr(result, 'data', None)!r}, not a number")
            )
        else:
            found.append(Capability(op.key, True, ""))
    return found


# ---------------------------------------------------------------------- one case
@dataclass
class _Built:
    """An expression built in some engine: expression index -> node, and who made which node."""

    images: dict[int, Any]
    owner: dict[int, int]  # id(learner node) -> expression index whose call created it
    nodes: list[Any] = field(default_factory=list)  # keeps every node alive (ids stay unique)


def _call(node: Node, args: Sequence[Any]) -> Any:
    key = _key_of(node)
    op = _BY_KEY[key]
    if node.op in ("pow", "rpow"):
        return op.call(args[0], None, node.param)
    if node.op in _NUMBER_OPS and node.param is not None:
        return op.call(args[0], None, node.param)
    return op.call(args[0], args[1] if len(args) > 1 else None, None)


def _build(cls: Any, expression: Expression, values: Sequence[float]) -> _Built:
    """Build the expression from ``cls`` leaves; raises what the class raises."""
    built = _Built({}, {})
    for i in range(expression.n_leaves):
        leaf = cls(values[i])
        built.images[i] = leaf
        built.owner[id(leaf)] = i
        built.nodes.append(leaf)
    for i in expression.reachable():
        if i < expression.n_leaves:
            continue
        node = expression.nodes[i]
        result = _call(node, [built.images[j] for j in node.args])
        built.images[i] = result
        # Every node this call created (an engine may make a - b as a + (-b)) belongs to i.
        stack = [result]
        while stack:
            n = stack.pop()
            if id(n) in built.owner:
                continue
            built.owner[id(n)] = i
            built.nodes.append(n)
            stack.extend(_children(n))
    return built


def _expected_locals(node: Node, out: float, args: Sequence[float]) -> list[float]:
    """∂node/∂(each node input), from microgradnn's table of operations."""
    row = row_of(node)
    p = node.param
    if node.op in _NUMBER_OPS and p is not None:
        pair = row.grads(out, p, args[0]) if node.number_first else row.grads(out, args[0], p)
        return [float(pair[1] if node.number_first else pair[0])]
    if node.op == "rpow":
        return [float(ops.POW.grads(out, p, args[0])[1])]
    result = row.grads(out, *args)
    return [float(g) for g in (result if isinstance(result, tuple) else (result,))]


class _Checker:
    """Runs one case (expression + leaf values) through both engines and compares."""

    def __init__(self, cls: Any) -> None:
        self.cls = cls
        # With ``_prev`` a set (as in micrograd), the order of a node's inputs follows object
        # ids, so a bug in the order of backward can hide in one build of a graph and show in
        # the next: such engines get each case built several times.
        try:
            x = cls(1.0)
            prev = getattr(x + x, "_prev", ()) if hasattr(x, "__add__") else ()
        except Exception:  # noqa: BLE001
            prev = ()
        self.builds = 4 if isinstance(prev, (set, frozenset)) else 1

    def fails(self, expression: Expression, values: Sequence[float]) -> bool:
        return any(self.run_once(expression, values, False) is not None for _ in range(self.builds))

    def run(self, expression: Expression, values: Sequence[float], diagnose: bool) -> Failure | None:
        """The case's failure, diagnosed; tries up to 20 builds of it to reproduce one."""
        for _ in range(20 if diagnose else self.builds):
            failure = self.run_once(expression, values, diagnose)
            if failure is not None:
                return failure
        return None

    def run_once(self, expression: Expression, values: Sequence[float], diagnose: bool) -> Failure | None:
        formula = _formula(expression)
        inputs = {LEAF_NAMES[i]: float(v) for i, v in enumerate(values)}
        reference = _build(Value, expression, values)
        expected_values = {i: float(reference.images[i].data) for i in reference.images}
        reference.images[expression.output].backward()
        expected_grads = [float(reference.images[i].grad) for i in range(expression.n_leaves)]
        leaf_rows = [LeafGrad(LEAF_NAMES[i], expected_grads[i], None) for i in range(expression.n_leaves)]

        def fail(
            kind: str,
            message: str,
            built: _Built | None = None,
            blame: Blame | None = None,
            picture: GraphPicture | None = None,
        ) -> Failure:
            if picture is None and diagnose and built is not None:
                picture = _picture(expression, built, blame)
            return Failure(kind, message, formula, inputs, leaf_rows, blame, picture, expression)

        # Forward: every node's value, in the order the expression computes them.
        try:
            built = _build(self.cls, expression, values)
        except Exception as exc:  # noqa: BLE001
            return fail("error", f"building {formula} raised {_describe_exception(exc)}")
        for i in expression.reachable():
            if i < expression.n_leaves:
                continue
            actual = _data(built.images[i])
            if not isinstance(built.images[i], self.cls):
                return fail(
                    "value",
                    f"{_node_formula(expression, i)} returned a "
                    f"{type(built.images[i]).__name__}, not a {self.cls.__name__}",
                )
            if not _close(actual, expected_values[i], abs(expected_values[i])):
                node = expression.nodes[i]
                blame = Blame(
                    i,
                    _node_formula(expression, i),
                    _BY_KEY[_key_of(node)].method,
                    "value",
                    None,
                    expected_values[i],
                    actual,
                )
                return fail(
                    "value",
                    f"the value of {_node_formula(expression, i)} is {actual!r}; "
                    f"expected {expected_values[i]!r}",
                    built,
                    blame,
                )
        # Backward: the learner's own backward() on a fresh graph.
        output = built.images[expression.output]
        try:
            output.backward()
        except Exception as exc:  # noqa: BLE001
            if not diagnose:
                return fail("error", f"backward() raised {_describe_exception(exc)}")
            found, picture = _blame(expression, built, expected_values)
            return fail("error", f"backward() raised {_describe_exception(exc)}", built, found, picture)
        scale = max([1.0] + [abs(g) for g in expected_grads])
        bad = False
        for i, row in enumerate(leaf_rows):
            row.actual = _grad(built.images[i])
            if not _close(row.actual, row.expected, scale):
                bad = True
        if not bad:
            return None
        wrong = ", ".join(
            f"{r.name}.grad is {r.actual!r}, expected {r.expected!r}"
            for r in leaf_rows
            if not _close(r.actual, r.expected, scale)
        )
        if not diagnose:
            return fail("grad", wrong)
        found, picture = _blame(expression, built, expected_values)
        return fail("grad", wrong, built, found, picture)


def _blame(expression: Expression, built: _Built, expected_values: dict[int, float]
           ) -> tuple[Blame | None, GraphPicture | None]:  # fmt: skip
    """The first wrong node, by replaying the graph that failed; and the picture of it.

    The same graph (the same objects, so the same order of set-valued ``_prev``) is replayed
    node by node; if every node is right, the learner's own backward() is watched on it."""
    output = built.images[expression.output]
    if not _children(output):
        note = Blame(expression.output, _node_formula(expression, expression.output), "_prev", "unknown",
                     None, None, None, "your nodes do not list their inputs in _prev, so the backward pass "
                     "cannot be replayed node by node")  # fmt: skip
        return note, _picture(expression, built, None)
    blame = _replay(expression, built, expected_values)
    if blame is not None:
        return blame, _picture(expression, built, blame)
    for node in _topological(built.images[expression.output]):
        _set_grad(node, 0.0)
    blame = _watch_backward(expression, built)
    return blame, _picture(expression, built, blame)


def _set_grad(node: Any, value: float) -> bool:
    try:
        node.grad = value
        return True
    except Exception:  # noqa: BLE001
        return False


def _replay(expression: Expression, built: _Built, expected_values: dict[int, float]) -> Blame | None:
    """Call each learner node's ``_backward()`` in a correct order, from grad 1 at the output,
    and compare what each expression node adds to its inputs' grads with local derivative × grad.
    Returns the first (from the output) node that adds a wrong amount."""
    output = built.images[expression.output]
    order = _topological(output)
    for node in order:
        if not _set_grad(node, 0.0):
            return None
    _set_grad(output, 1.0)
    image_ids = {id(built.images[i]): i for i in built.images}
    # Increments each expression node's calls gave to each learner node.
    added: dict[int, dict[int, float]] = {}
    grad_at_call: dict[int, float] = {}
    call_order: list[int] = []
    error: dict[int, str] = {}
    for node in reversed(order):
        backward = getattr(node, "_backward", None)
        owner = built.owner.get(id(node))
        if owner is None or owner < expression.n_leaves:
            continue  # a leaf (a number wrapped by the engine, or an input): nothing to pass on
        if id(node) in image_ids:
            grad_at_call[owner] = _grad(node) or 0.0
            call_order.append(owner)
        if not callable(backward):
            if _children(node):
                error.setdefault(owner, "has no _backward() to replay")
            continue
        children = _children(node)
        before = [_grad(c) or 0.0 for c in children]
        try:
            backward()
        except Exception as exc:  # noqa: BLE001
            error.setdefault(owner, f"_backward() raised {_describe_exception(exc)}")
            continue
        into = added.setdefault(owner, {})
        for child, b in zip(children, before):
            after = _grad(child)
            into[id(child)] = into.get(id(child), 0.0) + ((after if after is not None else math.nan) - b)
    for i in call_order:
        node = expression.nodes[i]
        g = grad_at_call[i]
        where = _node_formula(expression, i)
        method = _BY_KEY[_key_of(node)].method
        if i in error:
            return Blame(i, where, method, "error", None, None, None, error[i])
        locals_ = _expected_locals(node, expected_values[i], [expected_values[j] for j in node.args])
        expected_by_arg: dict[int, float] = {}
        for j, d in zip(node.args, locals_):
            expected_by_arg[j] = expected_by_arg.get(j, 0.0) + d
        for j, d in expected_by_arg.items():
            actual_inc = added.get(i, {}).get(id(built.images[j]), 0.0)
            if not _close(actual_inc, d * g, abs(d * g)):
                actual_local = actual_inc / g if g != 0 else None
                return Blame(
                    i,
                    where,
                    method,
                    "local",
                    j,
                    d,
                    actual_local,
                    f"grad of {_node_formula(expression, j)} went up by {actual_inc!r}; "
                    f"expected {d!r} × {g!r} = {d * g!r}",
                    grad=g,
                    input_name=_node_formula(expression, j),
                )
    return None


def _watch_backward(expression: Expression, built: _Built) -> Blame | None:
    """Every node passes gradients on correctly: watch the learner's own ``backward()``."""
    output = built.images[expression.output]
    order = _topological(output)
    calls: list[int] = []
    seed: list[float | None] = []
    for node in order:
        original = getattr(node, "_backward", None)
        if not callable(original):
            continue

        def recorder(node: Any = node, original: Any = original) -> Any:
            if node is output:
                seed.append(_grad(node))
            calls.append(id(node))
            return original()

        try:
            node._backward = recorder
        except Exception:  # noqa: BLE001 - __slots__ or a read-only attribute: cannot watch
            return None
    try:
        output.backward()
    except Exception as exc:  # noqa: BLE001
        return Blame(
            expression.output,
            "backward()",
            "backward",
            "order",
            None,
            None,
            None,
            f"backward() raised {_describe_exception(exc)}",
        )
    names = {id(built.images[i]): _node_formula(expression, i) for i in built.images}
    ops_of = {id(n): str(getattr(n, "_op", "") or "?") for n in order}

    def name(n_id: int) -> str:
        if n_id in names:
            return names[n_id]
        inside = built.owner.get(n_id)
        where = f" made inside {_node_formula(expression, inside)}" if inside is not None else ""
        return f"the '{ops_of.get(n_id, '?')}' node{where}"

    owner_index = {id(n): built.owner.get(id(n), expression.output) for n in order}
    if seed and not _close(seed[0], 1.0):
        return Blame(
            expression.output,
            _node_formula(expression, expression.output),
            "backward",
            "seed",
            None,
            1.0,
            seed[0],
            f"the output's grad was {seed[0]!r} when its _backward() ran: "
            "backward() must set it to 1 first (d out / d out = 1)",
        )
    if not seed and callable(getattr(output, "_backward", None)):
        return Blame(
            expression.output,
            _node_formula(expression, expression.output),
            "backward",
            "order",
            None,
            None,
            None,
            "backward() never called the output's _backward()",
        )
    users: dict[int, list[int]] = {}
    for n in order:
        for c in _children(n):
            users.setdefault(id(c), []).append(id(n))
    done: set[int] = set()
    has_backward = {id(n) for n in order if _children(n)}
    counted: set[int] = set()
    for n_id in calls:  # a node run twice first: it also shows as "too early" on its first run
        if n_id in has_backward and n_id in counted:
            return Blame(
                owner_index[n_id],
                name(n_id),
                "backward",
                "order",
                None,
                None,
                None,
                f"backward() called the _backward() of {name(n_id)} twice: its inputs got its "
                "gradient twice (mark nodes as visited when building the topological order)",
            )
        counted.add(n_id)
    for n_id in calls:
        if n_id not in has_backward:
            continue  # a leaf's _backward has nothing to do: its place in the order is harmless
        late = [u for u in users.get(n_id, []) if u in has_backward and u not in done]
        if late:
            return Blame(
                owner_index[n_id],
                name(n_id),
                "backward",
                "order",
                None,
                None,
                None,
                late_user=name(late[0]),
                detail=f"backward() called the _backward() of {name(n_id)} before that of {name(late[0])}, "
                f"which uses it: {name(n_id)}'s grad was not complete yet. Call them in reverse "
                "topological order (a node after every node that uses it)",
            )
        done.add(n_id)
    missing = [n for n in has_backward if n not in done]
    if missing:
        return Blame(
            owner_index[missing[0]],
            name(missing[0]),
            "backward",
            "order",
            None,
            None,
            None,
            f"backward() never called the _backward() of {name(missing[0])}",
        )
    return None


# ---------------------------------------------------------------------- formulas and pictures
def _rename(text: str) -> str:
    import re

    return re.sub(r"\bx(\d+)\b", lambda m: LEAF_NAMES[int(m.group(1))], text)


def _formula(expression: Expression) -> str:
    return _rename(str(expression))


def _node_formula(expression: Expression, i: int) -> str:
    if i < expression.n_leaves:
        return LEAF_NAMES[i]
    builder_free = Expression(expression.n_leaves, expression.nodes[: i + 1])
    return _rename(builder_free.formula())


def _picture(expression: Expression, built: _Built | None, blame: Blame | None) -> GraphPicture | None:
    """The learner's graph as the report draws it: nodes with data and grad, the blamed node."""
    if built is None:
        return None
    output = built.images[expression.output]
    order = _topological(output)
    index = {id(n): k for k, n in enumerate(order)}
    names = {id(built.images[i]): _node_formula(expression, i) for i in built.images}
    nodes = []
    for k, n in enumerate(order):
        owner = built.owner.get(id(n))
        # The blamed node and what its call made (a - b as a + (-b)); not the numbers it wrapped.
        blamed = (blame is not None and owner == blame.index and blame.index >= expression.n_leaves
                  and bool(_children(n)))  # fmt: skip
        label = getattr(n, "label", "") or ""
        if id(n) in names and int(owner or 0) < expression.n_leaves:
            label = names[id(n)]
        elif not label and not _children(n):
            label = _number_text(_data(n))  # a number the engine wrapped as a leaf
        op = getattr(n, "_op", "")
        nodes.append(
            PictureNode(
                k,
                str(label) if isinstance(label, str) else "",
                str(op) if op else "",
                _data(n),
                _grad(n),
                [index[id(c)] for c in _children(n)],
                blamed,
                names.get(id(n), ""),
            )
        )
    highlight_inputs: set[int] = set()
    if blame is not None and blame.input_index is not None:
        highlight_inputs.add(index.get(id(built.images[blame.input_index]), -1))
    late_edges: set[tuple[int, int]] = set()
    if blame is not None and blame.late_user:
        by_name = {names[id(n)]: index[id(n)] for n in order if id(n) in names}
        if blame.where in by_name and blame.late_user in by_name:
            late_edges.add((by_name[blame.where], by_name[blame.late_user]))
    return GraphPicture(nodes, highlight_inputs, blame, late_edges)


# ---------------------------------------------------------------------- drawing random cases
def _supported_keys(capabilities: Sequence[Capability]) -> set[str]:
    return {c.key for c in capabilities if c.supported}


def _apply(builder: ExpressionBuilder, op: _Op, args: list[int], k: int) -> int:
    if op.expr_op in _NUMBER_OPS:
        if op.side == "none":
            return builder.apply(op.expr_op, args[:2])
        return builder.apply(op.expr_op, args[:1], _NUMBERS[k % len(_NUMBERS)], op.side == "left")
    if op.expr_op == "pow":
        return builder.apply("pow", args[:1], _INT_EXPONENTS[k % len(_INT_EXPONENTS)])
    if op.expr_op == "pow_frac":
        return builder.apply("pow", args[:1], _FRAC_EXPONENTS[k % len(_FRAC_EXPONENTS)])
    if op.expr_op == "rpow":
        return builder.apply("rpow", args[:1], _BASES[k % len(_BASES)])
    if op.expr_op == "vpow":
        return builder.apply("vpow", args[:2])
    return builder.apply(op.expr_op, args[:1])


def _uses_only(expression: Expression, allowed: set[str]) -> bool:
    return all(
        _key_of(expression.nodes[i]) in allowed for i in expression.reachable() if i >= expression.n_leaves
    )


def _cases(allowed: set[str], max_ops: int, leaf_range: tuple[float, float]) -> Any:
    """A hypothesis strategy of (expression, leaf values) over the ``allowed`` operations.

    Built on ExpressionBuilder, which guards domains (``log(a ** 2 + 1)``); a step whose guards
    need an operation the class lacks is dropped. Steps pick earlier results often, so nodes
    are shared (``a * a``, two paths meeting); hypothesis shrinks towards fewer, simpler steps.
    """
    from hypothesis import assume
    from hypothesis import strategies as st

    chosen = [op for op in OPERATIONS if op.key in allowed]
    step = st.tuples(st.integers(0, len(chosen) - 1), st.integers(0, 11),
                     st.lists(st.integers(0, 255), min_size=2, max_size=2))  # fmt: skip
    values = st.floats(*leaf_range, allow_nan=False, allow_infinity=False, allow_subnormal=False)

    @st.composite
    def draw(draw: Any) -> tuple[Expression, tuple[float, ...]]:
        n_leaves = draw(st.integers(1, 3))
        builder = ExpressionBuilder(n_leaves, leaf_range)
        visible = list(range(n_leaves))
        used: set[int] = set()
        # One case in four is a long chain: each step takes the previous step's result first.
        chain = draw(st.integers(0, 3)) == 3
        for op_index, k, picks in draw(st.lists(step, min_size=1, max_size=max_ops * (5 if chain else 1))):
            made = visible[n_leaves:]
            # small numbers pick any node (leaves first); large ones a node made earlier (sharing)
            args = [made[p % len(made)] if p >= 128 and made else visible[p % len(visible)] for p in picks]
            if chain and made:
                args[0] = made[-1]
            node = _apply(builder, chosen[op_index], args, k)
            if not _uses_only(builder.finish(node), allowed):
                continue  # its guards need an operation the class lacks
            used.update(a for a in args[: 2 if chosen[op_index].side == "none" else 1])
            if node not in visible:
                visible.append(node)
        made = visible[n_leaves:]
        assume(made)
        unused = [i for i in made if i not in used] or made[-1:]
        output = unused[0]
        if "a + b" in allowed:
            for i in unused[1:]:
                total = builder.apply("add", (output, i))
                if _uses_only(builder.finish(total), allowed):  # a large sum is squashed by tanh
                    output = total
        expression = builder.finish(output)
        leaf_values = tuple(draw(values) for _ in range(n_leaves))
        assume(expression.kink_distance(leaf_values) > KINK_MARGIN)
        return expression, leaf_values

    return draw()


# ---------------------------------------------------------------------- the single-op pass
def _single_cases(key: str) -> list[tuple[Expression, tuple[float, ...]]]:
    """Each operation alone: on a positive and a negative input (both sides of a kink), on two
    leaves, and on the same leaf twice (``a * a``: both contributions must add up)."""
    op = _BY_KEY[key]
    # Leaves kept in [0.5, 3] where a domain needs it, so the expression needs no guard node.
    positive = op.expr_op in ("log", "pow_frac", "vpow", "div")
    leaf_range = (0.5, 3.0) if positive else (-3.0, 3.0)
    first, second = POSITIVE_INPUTS[:2] if positive else FIXED_INPUTS[:2]
    binary = op.side == "none" and op.expr_op in ("add", "sub", "mul", "div", "vpow")
    shapes: list[tuple[int, list[int], tuple[float, ...]]] = (
        [(2, [0, 1], (first, second)), (1, [0, 0], (first,))]
        if binary
        else [(1, [0, 0], (first,)), (1, [0, 0], (second,))]
    )
    out = []
    for n_leaves, args, case_values in shapes:
        builder = ExpressionBuilder(n_leaves, leaf_range)
        _apply(builder, op, args, 0)
        out.append((builder.finish(), case_values))
    return out


# ---------------------------------------------------------------------- conventions
def _conventions(cls: Any, allowed: set[str]) -> list[Convention]:
    found = []
    # 1. A second backward() on the same graph.
    if {"a * b", "a + b"} <= allowed:
        try:
            x, y = cls(1.5), cls(0.7)
            out = x * y + x
            out.backward()
            g1 = _grad(x)
            out.backward()
            g2 = _grad(x)
            if g1 is None or g2 is None:
                raise ValueError("grad is not a number")
            if _close(g2, g1):
                what = "resets: a second backward() gives the same gradients"
            elif _close(g2, 2 * g1):
                what = (
                    "accumulates: a second backward() adds the same gradients again (zero them between steps)"
                )
            else:
                what = (
                    f"accumulates unevenly: for a * b + a, a.grad went {g1:g} -> {g2:g}, not 2 x {g1:g}: "
                    "interior nodes keep their grads, so the second pass counts the first one again "
                    "(micrograd 0.1.0 does this too; zero every node's grad before backward())"
                )
            found.append(Convention("second backward()", what))
        except Exception as exc:  # noqa: BLE001
            found.append(Convention("second backward()", f"raised {_describe_exception(exc)}"))
    # 2. How deep a graph backward() handles.
    if "a + 2" in allowed or "a + b" in allowed:
        found.append(Convention("deep graphs", _depth_limit(cls, "a + 2" in allowed)))
    # 3. Derivatives at kinks.
    for key, name in (("relu(a)", "relu"), ("abs(a)", "abs")):
        if key in allowed:
            try:
                x = cls(0.0)
                out = _BY_KEY[key].call(x, None, None)
                out.backward()
                found.append(
                    Convention(
                        f"{name} at 0",
                        f"d{name}/da at a = 0 is {_grad(x)!r} (microgradnn, micrograd and PyTorch use 0)",
                    )
                )
            except Exception as exc:  # noqa: BLE001
                found.append(Convention(f"{name} at 0", f"raised {_describe_exception(exc)}"))
    return found


def _depth_limit(cls: Any, with_number: bool) -> str:
    ok = 0
    for depth in (100, 300, 1_000, 3_000, 10_000):
        try:
            x = cls(0.5)
            one = cls(0.001)
            out = x
            for _ in range(depth):
                out = out + 0.001 if with_number else out + one
            out.backward()
            if not _close(_grad(x), 1.0):
                return f"a chain of {depth} additions gives x.grad = {_grad(x)!r}, not 1"
        except RecursionError:
            limit = sys.getrecursionlimit()
            return (
                f"RecursionError at a depth of {depth} (fine at {ok}; Python's recursion limit is {limit}): "
                "the topological sort is recursive. An explicit stack removes the limit"
            )
        except Exception as exc:  # noqa: BLE001
            return f"a chain of {depth} additions raised {_describe_exception(exc)}"
        ok = depth
    return f"no RecursionError up to a depth of {ok}"


# ---------------------------------------------------------------------- the entry points
def check_engine(
    ValueClass: Any,  # noqa: N803 - named as users name it
    *,
    max_examples: int = 200,
    seed: int | None = 0,
    max_ops: int = 6,
    leaf_range: tuple[float, float] = (-3.0, 3.0),
    conventions: bool = True,
) -> EngineReport:
    """Check a micrograd-style Value class against microgradnn; returns an :class:`EngineReport`.

    The report is truthy when every check passes; ``str(report)`` is readable text and Jupyter
    shows it as HTML with a drawing of the failing graph. ``max_examples`` random expressions
    (of up to ``max_ops`` operations, leaves in ``leaf_range``) are tried after the
    one-operation checks; ``seed`` makes the run repeatable (None: a new random run).
    Raises :class:`EngineUnusableError` when the class cannot be checked at all.
    """
    from microgradnn.checks import check_int

    check_int("check_engine(max_examples)", max_examples, lo=1)
    check_int("check_engine(max_ops)", max_ops, lo=1)
    if seed is not None:
        check_int("check_engine(seed)", seed, lo=0)
    try:
        ExpressionBuilder(1, leaf_range)  # validates the range now, not inside hypothesis
    except ValueError as exc:
        raise ValueError(f"check_engine(leaf_range): {exc}") from None
    # The class's own print()s (debugging output in its operations) would bury the report
    # under hundreds of runs' worth of lines: they are caught, counted and left out.
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        report = _check(ValueClass, max_examples, seed, max_ops, leaf_range, conventions)
    report.printed_lines = printed.getvalue().count("\n")
    return report


def _check(ValueClass: Any, max_examples: int, seed: int | None, max_ops: int,  # noqa: N803
           leaf_range: tuple[float, float], conventions: bool) -> EngineReport:  # fmt: skip
    started = time.perf_counter()
    name = f"{getattr(ValueClass, '__module__', '?')}.{getattr(ValueClass, '__qualname__', ValueClass)}"
    capabilities = discover(ValueClass)
    allowed = _supported_keys(capabilities)
    if not allowed:
        raise EngineUnusableError(
            f"{name}: none of the operations {', '.join(op.key for op in OPERATIONS)} work"
        )
    checker = _Checker(ValueClass)
    failures: list[Failure] = []
    passed: list[str] = []
    # 1. Each operation alone.
    for key in [op.key for op in OPERATIONS if op.key in allowed]:
        failure = None
        for expression, values in _single_cases(key):
            if not _uses_only(expression, allowed):
                continue
            failure = checker.run_once(expression, values, diagnose=False)
            if failure is not None:
                failure = checker.run(expression, values, diagnose=True)
                break
        if failure is None:
            passed.append(key)
        else:
            failures.append(failure)
    # 2. Random expression graphs over the operations that passed alone.
    examples = 0
    if passed and not failures:
        failure, examples = _search(checker, set(passed), max_examples, seed, max_ops, leaf_range)
        if failure is not None:
            failures.append(failure)
    found_conventions = _conventions(ValueClass, set(passed)) if conventions else []
    return EngineReport(
        name, capabilities, failures, examples, found_conventions, time.perf_counter() - started
    )


def _search(checker: _Checker, allowed: set[str], max_examples: int, seed: int | None, max_ops: int,
            leaf_range: tuple[float, float]) -> tuple[Failure | None, int]:  # fmt: skip
    try:
        from hypothesis import HealthCheck, Phase, find, settings
        from hypothesis.errors import NoSuchExample
    except ImportError:
        raise ImportError(
            "check_engine needs hypothesis for its random expressions: pip install 'microgradnn[testing]'"
        ) from None
    count = [0]

    def fails(case: tuple[Expression, tuple[float, ...]]) -> bool:
        count[0] += 1
        return checker.fails(case[0], case[1])

    # hypothesis only generates; _shrink_more shrinks. Its shrinker works on the steps that drew
    # the graph, where deleting a step renumbers the later ones: measured on the order mutants
    # it took 4-20 s and left 4-5 operations, where shrinking the graph itself takes < 0.1 s.
    quiet = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
    config = settings(max_examples=max_examples, database=None, deadline=None, suppress_health_check=quiet,
                      report_multiple_bugs=False, phases=(Phase.generate,))  # fmt: skip
    rng = random.Random(seed) if seed is not None else None
    try:
        expression, values = find(_cases(allowed, max_ops, leaf_range), fails, settings=config, random=rng)
    except NoSuchExample:
        return None, min(count[0], max_examples)
    expression, values = _shrink_more(checker, expression, values)
    return checker.run(expression, values, diagnose=True), max_examples


# ---------------------------------------------------------------------- shrinking further
def _compact(expression: Expression, values: Sequence[float]) -> tuple[Expression, tuple[float, ...]]:
    """The expression without unreachable nodes and unused leaves (renumbered)."""
    reach = expression.reachable()
    leaves = [i for i in reach if i < expression.n_leaves] or [0]
    ops_ = [i for i in reach if i >= expression.n_leaves]
    renumber = {old: new for new, old in enumerate(leaves + ops_)}
    nodes = [Node("leaf", index=k) for k in range(len(leaves))]
    nodes += [Node(expression.nodes[i].op, tuple(renumber[j] for j in expression.nodes[i].args),
                   expression.nodes[i].param, expression.nodes[i].number_first) for i in ops_]  # fmt: skip
    return Expression(len(leaves), tuple(nodes)), tuple(values[i] for i in leaves)


def _valid(expression: Expression, values: Sequence[float]) -> bool:
    """microgradnn computes it without a domain error, finite, bounded, away from kinks."""
    try:
        built = _build(Value, expression, values)
    except Exception:  # noqa: BLE001 - a candidate outside an operation's domain
        return False
    data = [float(v.data) for v in built.images.values()]
    return (
        all(math.isfinite(d) and abs(d) <= 1e3 for d in data)
        and expression.kink_distance(values) > KINK_MARGIN
    )


def _candidates(expression: Expression, values: tuple[float, ...]) -> Any:
    """Smaller or simpler versions of a case: a sub-expression as the output, a node bypassed
    (its users take one of its inputs instead), two leaves merged, rounder input values."""
    n = expression.n_leaves
    for j in expression.reachable()[:-1]:
        if j >= n:
            yield Expression(n, expression.nodes[: j + 1]), values
    for i in expression.reachable():
        if i < n or i == expression.output:
            continue
        for k in dict.fromkeys(expression.nodes[i].args):
            nodes = [Node(m.op, tuple(k if a == i else a for a in m.args), m.param, m.number_first, m.index)
                     for m in expression.nodes]  # fmt: skip
            yield Expression(n, tuple(nodes)), values
    for leaf in range(1, n):
        nodes = [Node(m.op, tuple(0 if a == leaf else a for a in m.args), m.param, m.number_first, m.index)
                 for m in expression.nodes]  # fmt: skip
        yield Expression(n, tuple(nodes)), values
    for leaf, v in enumerate(values):
        for simpler in (round(v), round(v * 2) / 2, round(v, 1)):
            if simpler != v and simpler != 0:
                yield expression, values[:leaf] + (float(simpler),) + values[leaf + 1 :]


def _shrink_more(checker: _Checker, expression: Expression, values: tuple[float, ...]
                 ) -> tuple[Expression, tuple[float, ...]]:  # fmt: skip
    """Greedy structural shrinking on top of hypothesis's: hypothesis shrinks the steps that
    drew the graph, where deleting one step renumbers the others; this works on the graph."""
    expression, values = _compact(expression, values)
    improved = True
    while improved:
        improved = False
        for candidate, candidate_values in _candidates(expression, values):
            smaller, smaller_values = _compact(candidate, candidate_values)
            if not _valid(smaller, smaller_values) or not checker.fails(smaller, smaller_values):
                continue
            expression, values, improved = smaller, smaller_values, True
            break
    return expression, values


def assert_engine(ValueClass: Any, **options: Any) -> EngineReport:  # noqa: N803
    """:func:`check_engine`, raising AssertionError with the report when a check fails (pytest)."""
    report = check_engine(ValueClass, **options)
    if not report:
        raise AssertionError(str(report))
    return report
