"""Expression DAGs over the engine's operations, described as plain data.

An :class:`Expression` is a list of nodes (leaves ``x0, x1, ...`` first, then operations whose
inputs are earlier nodes), so one description can be turned into

* a graph of :class:`~microgradnn.engine.Value` on given leaves (:meth:`Expression.build`;
  a node used by several parents becomes ONE Value object used several times),
* a plain-float value computed with :mod:`math` alone (:meth:`Expression.evaluate`),
* a sympy expression on real symbols (:meth:`Expression.to_sympy`; sympy is imported only then),
* a readable formula such as ``tanh(x0 * x1) + log(x0 ** 2 + 1)`` (``str(expression)``).

Expressions are made by :class:`ExpressionBuilder`, which keeps every operation's domain valid
for all leaf values in a given range, by construction: it tracks an interval that contains each
node's value and, where an operation needs it, inserts a guard into the expression itself
(``log(a)`` becomes ``log(a ** 2 + 1)`` unless ``a`` is known positive; a divisor that may
come near zero becomes ``b ** 2 + 1``; an argument whose result could exceed the magnitude
bound is squashed by ``tanh``). So every expression it makes is smooth and bounded on the
leaf range, apart from the kinks of relu, leaky_relu and abs (see
:meth:`Expression.kink_distance`).

This module needs neither hypothesis nor sympy; :mod:`microgradnn.testing.strategies` draws
expressions from it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from microgradnn import ops
from microgradnn.engine import Value, dot, value_sum
from microgradnn.ops import OPS, Operation, leaky_relu_op, power_op

if TYPE_CHECKING:  # pragma: no cover
    import sympy

__all__ = [
    "ALL_OPS",
    "BINARY_OPS",
    "KINK_OPS",
    "NARY_OPS",
    "NUMBER_OPERAND_OPS",
    "SMOOTH_OPS",
    "UNARY_OPS",
    "Expression",
    "ExpressionBuilder",
    "ExpressionGraph",
    "Node",
    "all_ops",
    "row_of",
    "user_ops",
]

# Operation names. Unary: one node input (pow: a ** p with a number p; rpow: c ** a with a
# number base c; leaky_relu: with slope alpha). Binary: two inputs, either of which may be a
# number for the ops in NUMBER_OPERAND_OPS (so x + 2 and 2 - x are both made). N-ary: the fused
# engine nodes, sum(a, b, ...) and dot([a, b], [c, d]).
UNARY_OPS = ("neg", "pow", "tanh", "sigmoid", "exp", "log", "relu", "leaky_relu", "abs", "rpow")
BINARY_OPS = ("add", "mul", "sub", "div", "vpow")
NARY_OPS = ("sum", "dot")
# Ordered simplest first: hypothesis shrinks a drawn operation towards the start of this tuple.
ALL_OPS = (
    "add", "mul", "sub", "neg", "div", "pow", "tanh", "sigmoid", "exp", "log",
    "relu", "leaky_relu", "abs", "vpow", "rpow", "sum", "dot",
)  # fmt: skip
KINK_OPS = frozenset({"relu", "leaky_relu", "abs"})
# The rows of the table behind the names (the families **p and leaky_relu take the node's param).
_ROWS = {"add": ops.ADD, "sub": ops.SUB, "mul": ops.MUL, "div": ops.DIV, "vpow": ops.POW, "rpow": ops.POW,
         "neg": ops.NEG, "exp": ops.EXP, "log": ops.LOG, "tanh": ops.TANH, "sigmoid": ops.SIGMOID,
         "relu": ops.RELU, "abs": ops.ABS, "sum": ops.SUM, "dot": ops.DOT}  # fmt: skip


def user_ops() -> tuple[str, ...]:
    """The one-input operations added to the table with ``define_op`` (by method name): the
    strategies draw them too, applied to a squashed input (|x| ≤ 1), as they know no domain."""
    known = {row.name for row in _ROWS.values()} | {"**p", "leaky_relu"}
    return tuple(op.methods[0] for name, op in OPS.items()
                 if op.arity == 1 and op.methods and name not in known and op.forward is not None)


def all_ops() -> tuple[str, ...]:
    """`ALL_OPS` and the operations added with ``define_op`` since (see `user_ops`)."""
    return ALL_OPS + user_ops()


def row_of(node: Node) -> Operation:
    """The table's row for an expression node (its Operation)."""
    if node.op == "pow":
        return power_op(cast(float, node.param))
    if node.op == "leaky_relu":
        return leaky_relu_op(cast(float, node.param))
    row = _ROWS.get(node.op)
    if row is not None:
        return row
    for op in OPS.values():
        if op.arity == 1 and node.op in op.methods:
            return op
    raise ValueError(f"unknown operation {node.op!r}; known: {', '.join(all_ops())}")


def _row_args(node: Node, a: Sequence[Any]) -> tuple:
    """The node's inputs as the row takes them: a number operand in its place, fused rows' groups."""
    op, p = node.op, node.param
    if op == "sum":
        return (tuple(a),)
    if op == "dot":
        n = len(a) // 2
        return tuple(a[:n]), tuple(a[n:])
    if op == "rpow":
        return (p, a[0])
    if op in BINARY_OPS and p is not None:
        return (p, a[0]) if node.number_first else (a[0], p)
    return tuple(a)
SMOOTH_OPS = tuple(op for op in ALL_OPS if op not in KINK_OPS)
NUMBER_OPERAND_OPS = frozenset({"add", "mul", "sub", "div"})

# Guards: a value this far from zero is "away from zero" (divisors, bases of negative and
# fractional powers, arguments of log); the margin also covers finite-difference steps.
AWAY_FROM_ZERO = 0.25
DEFAULT_BOUND = 100.0
# Finite differences evaluate an expression a step outside the leaf range when a leaf sits at
# one of its ends (gradcheck's default step is 1e-6). The builder's intervals cover the range
# widened by this much on each side, so the domains and the bound hold there too; a bound
# reached exactly at an end of the range, as (x0 ** 2 + 1) ** 2 ** tanh(x0 * x0) reaches 100 at
# x0 = ±3, would otherwise be passed one step beyond it.
STEP_MARGIN = 1e-3


@dataclass(frozen=True)
class Node:
    """One node of an expression: a leaf ``x{index}`` or an operation on earlier nodes.

    ``args`` are indices of earlier nodes. ``param`` is the operation's number: the exponent of
    ``pow``, the base of ``rpow``, the slope of ``leaky_relu``, or, for a binary operation with
    one number operand, that number (on the left when ``number_first``, as in ``2 - x``).
    """

    op: str
    args: tuple[int, ...] = ()
    param: float | None = None
    number_first: bool = False
    index: int = 0


def _arity_error(op: str, args: Sequence[int], param: Any) -> str | None:
    """Why (op, args, param) is malformed, or None when it is well formed."""
    n = len(args)
    if param is not None and not (isinstance(param, (int, float)) and math.isfinite(param)):
        return f"{op}: param must be a finite number, got {param!r}"
    if op in UNARY_OPS:
        if n != 1:
            return f"{op} takes one input, got {n}"
        needs_param = op in ("pow", "rpow", "leaky_relu")
        if needs_param and param is None:
            return f"{op} needs a number param"
        if not needs_param and param is not None:
            return f"{op} takes no number param"
        if op == "rpow" and not cast(float, param) > 0.0:
            return f"rpow base must be positive, got {param!r}"
        if op == "leaky_relu" and not cast(float, param) > 0.0:
            return f"leaky_relu slope must be positive, got {param!r}"
        return None
    if op in BINARY_OPS:
        if param is None:
            return None if n == 2 else f"{op} takes two inputs, got {n}"
        if op not in NUMBER_OPERAND_OPS:
            return f"{op} cannot take a number operand"
        if n != 1:
            return f"{op} with a number operand takes one node input, got {n}"
        if op == "div" and param == 0.0:
            return "division by the number 0"
        return None
    if op == "sum":
        return None if n >= 1 and param is None else "sum takes one or more inputs and no param"
    if op == "dot":
        return None if n >= 2 and n % 2 == 0 and param is None else "dot takes 2k inputs (xs + ys)"
    if op in user_ops():
        return None if n == 1 and param is None else f"{op} takes one input and no number param"
    return f"unknown operation {op!r}; known: {', '.join(all_ops())}"


# ---------------------------------------------------------------------- interval arithmetic
def _hull(*points: float) -> tuple[float, float]:
    return min(points), max(points)


def _mul_iv(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return _hull(a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1])


def _pow_iv(a: tuple[float, float], p: float) -> tuple[float, float]:
    # Guards make x ** p monotone on each side of 0 here; an even power's minimum is at 0.
    lo, hi = a
    points = [lo**p, hi**p]
    if lo < 0.0 < hi and p > 0.0:
        points.append(0.0)
    return _hull(*points)


# ---------------------------------------------------------------------- one node, three ways
def _eval_float(node: Node, a: Sequence[float]) -> float:
    """The node's value on floats: the row's forward function."""
    return row_of(node).forward(*_row_args(node, a))


def _build_value(node: Node, a: Sequence[Value]) -> Value:
    """The node as Values, through the very method or operator a user calls (numbers stay
    numbers: x + 2, 2 ** x)."""
    op, p = node.op, cast(Any, node.param)
    if op == "sum":
        return value_sum(a)
    if op == "dot":
        n = len(a) // 2
        return dot(a[:n], a[n:])
    if op in ("pow", "vpow"):
        return a[0] ** (p if op == "pow" else a[1])
    if op == "rpow":
        return p ** a[0]
    if op == "leaky_relu":
        return a[0].leaky_relu(p)
    row = row_of(node)
    if row.arity == 1:
        return getattr(a[0], row.methods[-1])()  # abs: the method, not __abs__
    plain, reflected = (m for m in row.methods)  # ("__add__", "__radd__")
    if p is None:
        return getattr(a[0], plain)(a[1])
    return getattr(a[0], reflected if node.number_first else plain)(p)


def _to_sympy(node: Node, a: Sequence[Any], sympy: Any) -> Any:
    """The node in sympy, by the row's sympy form (exact numbers; the kinks as Piecewise)."""
    row = row_of(node)
    if row.sympy is None:
        raise ValueError(f"to_sympy: the operation {node.op!r} has no sympy form (give define_op sympy=...)")
    p = None if node.param is None else sympy.Rational(repr(node.param))
    args = _row_args(Node(node.op, node.args, p, node.number_first, node.index), a)
    return row.sympy(sympy, *args)


# ---------------------------------------------------------------------- formulas
_ATOM, _POWER, _UNARY, _PRODUCT, _SUM_PREC = 100, 90, 80, 70, 60


def _number_text(c: float) -> tuple[str, int]:
    text = str(int(c)) if c == int(c) else repr(c)
    # A negative number is always parenthesised inside an operation: x - (-2), not x - -2.
    return (text, _ATOM) if c >= 0 else (f"({text})", _ATOM)


def _wrap(part: tuple[str, int], needs_parens: bool) -> str:
    return f"({part[0]})" if needs_parens else part[0]


def _binary_text(symbol: str, prec: int, left: tuple[str, int], right: tuple[str, int]) -> tuple[str, int]:
    if symbol == "**":  # right-associative, and binds tighter than unary minus on its left
        return f"{_wrap(left, left[1] <= _POWER)} ** {_wrap(right, right[1] < _POWER)}", _POWER
    right_parens = right[1] <= prec or right[0].startswith("-")  # a + (-x), not a + -x
    return f"{_wrap(left, left[1] < prec)} {symbol} {_wrap(right, right_parens)}", prec


_BINARY_SYMBOLS = {"add": ("+", _SUM_PREC), "sub": ("-", _SUM_PREC), "mul": ("*", _PRODUCT),
                   "div": ("/", _PRODUCT), "vpow": ("**", _POWER)}  # fmt: skip


def _node_text(node: Node, a: Sequence[tuple[str, int]]) -> tuple[str, int]:
    op, p = node.op, cast(Any, node.param)
    if op in BINARY_OPS:
        symbol, prec = _BINARY_SYMBOLS[op]
        if p is None:
            return _binary_text(symbol, prec, a[0], a[1])
        left, right = (_number_text(p), a[0]) if node.number_first else (a[0], _number_text(p))
        return _binary_text(symbol, prec, left, right)
    if op == "sum":
        return f"sum({', '.join(t for t, _ in a)})", _ATOM
    if op == "dot":
        n = len(a) // 2
        xs = ", ".join(t for t, _ in a[:n])
        ys = ", ".join(t for t, _ in a[n:])
        return f"dot([{xs}], [{ys}])", _ATOM
    x = a[0]
    if op == "neg":
        return f"-{_wrap(x, x[1] <= _UNARY)}", _UNARY
    if op == "pow":
        return _binary_text("**", _POWER, x, _number_text(p))
    if op == "rpow":
        return _binary_text("**", _POWER, _number_text(p), x)
    if op == "leaky_relu":
        return f"leaky_relu({x[0]}, {p!r})", _ATOM
    return f"{op}({x[0]})", _ATOM


# ---------------------------------------------------------------------- the expression
@dataclass(frozen=True)
class Expression:
    """A DAG of operations on leaves ``x0 … x{n_leaves-1}``; its value is the last node's.

    ``nodes[:n_leaves]`` are the leaves; every other node's ``args`` point to earlier nodes.
    Calling it, ``expression(*leaves)``, builds the Value graph, so an Expression is itself a
    function that :func:`~microgradnn.testing.gradcheck` can check.
    """

    n_leaves: int
    nodes: tuple[Node, ...]

    def __post_init__(self) -> None:
        if self.n_leaves < 1:
            raise ValueError(f"Expression: needs at least one leaf, got n_leaves={self.n_leaves}")
        if len(self.nodes) < self.n_leaves:
            raise ValueError("Expression: nodes must start with the n_leaves leaves")
        for i, node in enumerate(self.nodes):
            if i < self.n_leaves:
                if node.op != "leaf" or node.index != i:
                    raise ValueError(f"Expression: node {i} must be leaf x{i}, got {node!r}")
                continue
            problem = _arity_error(node.op, node.args, node.param)
            if problem is not None:
                raise ValueError(f"Expression: node {i}: {problem}")
            if any(not 0 <= j < i for j in node.args):
                raise ValueError(f"Expression: node {i} must refer to earlier nodes only, got {node.args}")

    # ------------------------------------------------------------------ structure
    @property
    def output(self) -> int:
        """Index of the node whose value is the expression's value (the last one)."""
        return len(self.nodes) - 1

    def reachable(self) -> list[int]:
        """Indices of the nodes the output depends on, in increasing order."""
        seen = {self.output}
        for i in range(self.output, -1, -1):
            if i in seen:
                seen.update(self.nodes[i].args)
        return sorted(seen)

    def fan_out(self) -> dict[int, int]:
        """For each reachable node, how many times reachable operations use it as an input."""
        counts = dict.fromkeys(self.reachable(), 0)
        for i in counts:
            for j in self.nodes[i].args:
                counts[j] += 1
        return counts

    def shared_nodes(self) -> list[int]:
        """Operation nodes (not leaves) that feed two or more inputs: the shared sub-expressions."""
        return [i for i, n in self.fan_out().items() if i >= self.n_leaves and n >= 2]

    def ops_used(self) -> frozenset[str]:
        """Names of the operations the output depends on."""
        return frozenset(self.nodes[i].op for i in self.reachable() if i >= self.n_leaves)

    def op_count(self) -> int:
        """Number of operation nodes the output depends on."""
        return sum(1 for i in self.reachable() if i >= self.n_leaves)

    # ------------------------------------------------------------------ three interpretations
    def build(self, leaves: Sequence[Value]) -> Value:
        """The expression as a Value graph on ``leaves``; a shared node is ONE Value object."""
        if len(leaves) != self.n_leaves:
            raise ValueError(f"Expression.build: expected {self.n_leaves} leaves, got {len(leaves)}")
        return self._interpret(list(leaves), _build_value)

    def __call__(self, *leaves: Value) -> Value:
        """``expression(x0, x1, ...)`` is ``expression.build([x0, x1, ...])``."""
        return self.build(leaves)

    def evaluate(self, values: Sequence[float]) -> float:
        """The expression's value at the leaf values, computed on floats with :mod:`math`."""
        return self.evaluate_nodes(values)[self.output]

    def evaluate_nodes(self, values: Sequence[float]) -> dict[int, float]:
        """The value of every reachable node at the leaf values (floats, :mod:`math` only)."""
        if len(values) != self.n_leaves:
            raise ValueError(f"Expression.evaluate: expected {self.n_leaves} values, got {len(values)}")
        return self._interpret_all([float(v) for v in values], _eval_float)

    def kink_distance(self, values: Sequence[float]) -> float:
        """min |input| over the relu, leaky_relu and abs nodes at these leaf values (inf if none).

        The expression is differentiable where this is positive; finite differences need it to
        exceed the step times the input's sensitivity.
        """
        node_values = self.evaluate_nodes(values)
        distances = [
            abs(node_values[self.nodes[i].args[0]]) for i in node_values if self.nodes[i].op in KINK_OPS
        ]
        return min(distances, default=math.inf)

    def symbols(self) -> tuple[sympy.Symbol, ...]:
        """The real sympy symbols ``x0 …`` that :meth:`to_sympy` uses by default."""
        import sympy

        return tuple(sympy.Symbol(f"x{i}", real=True) for i in range(self.n_leaves))

    def to_sympy(self, symbols: Sequence[Any] | None = None) -> sympy.Expr:
        """The expression in sympy (exact numbers; relu, leaky_relu and abs as Piecewise)."""
        import sympy

        leaves = list(self.symbols() if symbols is None else symbols)
        if len(leaves) != self.n_leaves:
            raise ValueError(f"Expression.to_sympy: expected {self.n_leaves} symbols, got {len(leaves)}")
        return self._interpret(leaves, lambda node, a: _to_sympy(node, a, sympy))

    def sympy_derivatives(self, values: Sequence[float], partials: Sequence[Sequence[int]]) -> list[float]:
        """Exact partial derivatives by sympy, evaluated at the leaf values: an independent oracle.

        Each entry of ``partials`` lists leaf indices to differentiate by, in order: ``()`` is
        the value itself, ``(0,)`` is ∂/∂x0, ``(0, 1, 1)`` is ∂³/∂x0∂x1². Needs sympy.
        """
        import sympy

        if len(values) != self.n_leaves:
            raise ValueError(f"sympy_derivatives: expected {self.n_leaves} values, got {len(values)}")
        symbols = self.symbols()
        derivatives: dict[tuple[int, ...], Any] = {(): self.to_sympy(symbols)}
        wanted = []
        for partial in partials:
            key = tuple(partial)
            if any(not (isinstance(i, int) and 0 <= i < self.n_leaves) for i in key):
                raise ValueError(f"Expression.sympy_derivatives: {key} names a leaf that does not exist")
            for k in range(1, len(key) + 1):  # reuse the derivatives of shorter prefixes
                if key[:k] not in derivatives:
                    derivatives[key[:k]] = sympy.diff(derivatives[key[: k - 1]], symbols[key[k - 1]])
            wanted.append(derivatives[key])
        evaluate = sympy.lambdify(symbols, wanted, modules="math")
        return [float(v) for v in evaluate(*(float(v) for v in values))]

    def _interpret_all(self, leaves: list, rule: Any) -> dict[int, Any]:
        results: dict[int, Any] = dict(enumerate(leaves))
        for i in self.reachable():
            if i >= self.n_leaves:
                node = self.nodes[i]
                results[i] = rule(node, [results[j] for j in node.args])
        return results

    def _interpret(self, leaves: list, rule: Any) -> Any:
        return self._interpret_all(leaves, rule)[self.output]

    # ------------------------------------------------------------------ formulas
    def formula(self, name_shared: bool = False) -> str:
        """The expression as a Python-like formula, e.g. ``tanh(x0 * x1) + log(x0 ** 2 + 1)``.

        By default a shared sub-expression is written out at each use. With ``name_shared``
        each one gets a name: ``t1 * t1 + exp(t1)  where t1 = tanh(x0 + x1)``.
        """
        names = {i: f"t{k}" for k, i in enumerate(self.shared_nodes(), 1)} if name_shared else {}
        texts: dict[int, tuple[str, int]] = {i: (f"x{i}", _ATOM) for i in range(self.n_leaves)}
        definitions = []
        for i in self.reachable():
            if i < self.n_leaves:
                continue
            node = self.nodes[i]
            texts[i] = _node_text(node, [texts[j] for j in node.args])
            if i in names and i != self.output:
                definitions.append(f"{names[i]} = {texts[i][0]}")
                texts[i] = (names[i], _ATOM)
        main = texts[self.output][0]
        return f"{main}  where {', '.join(definitions)}" if definitions else main

    def __str__(self) -> str:
        """The formula; shared sub-expressions are named when writing them out gets long."""
        inline = self.formula()
        return inline if len(inline) <= 160 else self.formula(name_shared=True)

    def __repr__(self) -> str:
        return f"Expression({str(self)!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # hypothesis (and IPython) print dataclasses field by field; the formula reads better.
        printer.text(repr(self))


@dataclass(frozen=True)
class ExpressionGraph:
    """An expression built on leaves with given values: what :func:`expression_graphs` draws.

    ``output`` is the Value graph built on ``leaves`` (fresh Values labelled ``x0 …`` holding
    ``values``); ``expression`` describes it, for other oracles (sympy, floats, formula).
    """

    expression: Expression
    values: tuple[float, ...]
    leaves: tuple[Value, ...]
    output: Value

    def __repr__(self) -> str:
        at = ", ".join(f"x{i}={v!r}" for i, v in enumerate(self.values))
        return f"ExpressionGraph({str(self.expression)!r} at {at})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


# ---------------------------------------------------------------------- making expressions
class ExpressionBuilder:
    """Makes valid :class:`Expression` s step by step: ``apply`` an operation, ``finish``.

    Every leaf is assumed to lie in ``leaf_range``, or at most :data:`STEP_MARGIN` outside it
    (where a finite difference steps from its ends). The builder keeps an interval containing
    each node's value for every such leaf assignment and guards each operation's inputs so the
    result is defined, smooth (apart from relu/leaky_relu/abs kinks) and within ±``bound``.
    Identical nodes are made once (hash-consing), so repeated sub-expressions are shared.
    """

    def __init__(
        self, n_leaves: int, leaf_range: tuple[float, float] = (-3.0, 3.0), bound: float = DEFAULT_BOUND
    ) -> None:
        if not isinstance(n_leaves, int) or n_leaves < 1:
            raise ValueError(f"ExpressionBuilder: n_leaves must be a positive int, got {n_leaves!r}")
        if not (isinstance(bound, (int, float)) and 20.0 <= bound < math.inf):
            # Below 20 a squashed argument could still overflow the bound (e.g. 3 ** tanh(a)).
            raise ValueError(f"ExpressionBuilder: bound must be a finite number >= 20, got {bound!r}")
        lo, hi = _check_range(leaf_range, bound)
        self.n_leaves = n_leaves
        self.bound = float(bound)
        self._nodes: list[Node] = [Node("leaf", index=i) for i in range(n_leaves)]
        # Widened by STEP_MARGIN: where finite differences step from the range's ends.
        self._intervals: list[tuple[float, float]] = [(lo - STEP_MARGIN, hi + STEP_MARGIN)] * n_leaves
        self._index: dict[Node, int] = {}

    def __len__(self) -> int:
        return len(self._nodes)

    def interval(self, i: int) -> tuple[float, float]:
        """An interval that contains node ``i``'s value for all leaf values in the leaf range."""
        return self._intervals[i]

    def apply(
        self, op: str, args: Sequence[int], param: float | None = None, number_first: bool = False
    ) -> int:
        """Add ``op`` on nodes ``args`` (guarding them as needed); returns the new node's index."""
        args = tuple(args)
        problem = _arity_error(op, args, param)
        if problem is not None:
            raise ValueError(f"ExpressionBuilder.apply: {problem}")
        if any(not (isinstance(j, int) and 0 <= j < len(self._nodes)) for j in args):
            raise ValueError(f"ExpressionBuilder.apply: inputs must be existing node indices, got {args}")
        param = None if param is None else float(param)
        guarded = self._guard(op, args, param, number_first)
        interval = self._op_interval(op, guarded, param, number_first)
        if not self._within_bound(interval):
            squashed = tuple(self._squash(j) for j in args)
            guarded = self._guard(op, squashed, param, number_first)
            interval = self._op_interval(op, guarded, param, number_first)
            if not self._within_bound(interval):  # pragma: no cover - excluded by bound >= 20
                raise AssertionError(f"{op} of squashed inputs exceeds the bound: {interval}")
        return self._add(Node(op, guarded, param, number_first), interval)

    def finish(self, output: int | None = None) -> Expression:
        """The expression whose value is node ``output`` (default: the last node added).

        Nodes the output does not depend on are dropped (the leaves are always kept).
        """
        output = len(self._nodes) - 1 if output is None else output
        if not 0 <= output < len(self._nodes):
            raise ValueError(f"ExpressionBuilder.finish: no node {output}")
        keep = {output}
        for i in range(output, -1, -1):
            if i in keep:
                keep.update(self._nodes[i].args)
        kept = sorted(keep | set(range(self.n_leaves)))
        renumber = {old: new for new, old in enumerate(kept)}
        nodes = []
        for old in kept:
            node = self._nodes[old]
            nodes.append(Node(node.op, tuple(renumber[j] for j in node.args), node.param, node.number_first,
                              node.index))  # fmt: skip
        if output < self.n_leaves:  # the expression is a bare leaf: make it the last node
            nodes.append(Node("add", (renumber[output],), 0.0))
        return Expression(self.n_leaves, tuple(nodes))

    # ------------------------------------------------------------------ internals
    def _within_bound(self, interval: tuple[float, float]) -> bool:
        return -self.bound <= interval[0] and interval[1] <= self.bound

    def _add(self, node: Node, interval: tuple[float, float]) -> int:
        existing = self._index.get(node)
        if existing is not None:
            return existing
        self._nodes.append(node)
        self._intervals.append(interval)
        self._index[node] = len(self._nodes) - 1
        return len(self._nodes) - 1

    def _raw(self, op: str, args: tuple[int, ...], param: float | None = None) -> int:
        """A guard node, added as is (its inputs need no guard)."""
        return self._add(Node(op, args, param), self._op_interval(op, args, param, False))

    def _positive(self, j: int) -> int:
        """Node j if it is surely >= AWAY_FROM_ZERO, else j ** 2 + 1 (>= 1; j squashed first
        if j ** 2 + 1 could exceed the bound)."""
        lo, hi = self._intervals[j]
        if lo >= AWAY_FROM_ZERO:
            return j
        if max(-lo, hi) ** 2 + 1.0 > self.bound:
            j = self._squash(j)
        return self._raw("add", (self._raw("pow", (j,), 2.0),), 1.0)

    def _nonzero(self, j: int) -> int:
        """Node j if it surely stays AWAY_FROM_ZERO from 0, else j ** 2 + 1."""
        lo, hi = self._intervals[j]
        if lo >= AWAY_FROM_ZERO or hi <= -AWAY_FROM_ZERO:
            return j
        return self._positive(j)

    def _squash(self, j: int) -> int:
        """Node j if |j| <= 1 surely, else tanh(j)."""
        lo, hi = self._intervals[j]
        if -1.0 <= lo and hi <= 1.0:
            return j
        return self._raw("tanh", (j,))

    def _guard(
        self, op: str, args: tuple[int, ...], param: Any, number_first: bool
    ) -> tuple[int, ...]:
        if op in user_ops():
            return (self._squash(args[0]),)
        if op == "log":
            return (self._positive(args[0]),)
        if op == "pow":
            if param != int(param):
                return (self._positive(args[0]),)
            if param < 0:
                return (self._nonzero(args[0]),)
            return args
        if op == "vpow":
            return (self._positive(args[0]), args[1])
        if op == "div":
            if param is None:
                return (args[0], self._nonzero(args[1]))
            if number_first:  # number / node
                return (self._nonzero(args[0]),)
        return args

    def _op_interval(self, op: str, args: tuple[int, ...], param: Any, number_first: bool
                     ) -> tuple[float, float]:  # fmt: skip
        ivs = [self._intervals[j] for j in args]
        if op in BINARY_OPS:
            if param is not None:
                number = (param, param)
                ivs = [number, ivs[0]] if number_first else [ivs[0], number]
            a, b = ivs
            if op == "add":
                return a[0] + b[0], a[1] + b[1]
            if op == "sub":
                return a[0] - b[1], a[1] - b[0]
            if op == "mul":
                return _mul_iv(a, b)
            if op == "div":  # b excludes 0 (guarded)
                return _mul_iv(a, (1.0 / b[1], 1.0 / b[0]))
            # vpow: a ** b = exp(b · ln a) with a > 0 (guarded)
            e = _mul_iv(b, (math.log(a[0]), math.log(a[1])))
            return _safe_exp(e[0]), _safe_exp(e[1])
        if op == "sum":
            return math.fsum(iv[0] for iv in ivs), math.fsum(iv[1] for iv in ivs)
        if op == "dot":
            n = len(ivs) // 2
            products = [_mul_iv(x, y) for x, y in zip(ivs[:n], ivs[n:])]
            return math.fsum(p[0] for p in products), math.fsum(p[1] for p in products)
        lo, hi = ivs[0]
        if op == "neg":
            return -hi, -lo
        if op == "pow":
            return _pow_iv((lo, hi), param)
        if op == "rpow":  # p ** x = exp(x · ln p)
            e = _mul_iv((lo, hi), (math.log(param), math.log(param)))
            return _safe_exp(e[0]), _safe_exp(e[1])
        if op == "exp":
            return _safe_exp(lo), _safe_exp(hi)
        if op == "log":
            return math.log(lo), math.log(hi)
        if op == "tanh":
            return math.tanh(lo), math.tanh(hi)
        if op == "sigmoid":
            return ops.SIGMOID.forward(lo), ops.SIGMOID.forward(hi)
        if op == "relu":
            return ops.RELU.forward(lo), ops.RELU.forward(hi)
        if op == "leaky_relu":
            row = leaky_relu_op(param)
            return row.forward(lo), row.forward(hi)
        if op in user_ops():  # no interval arithmetic known: the hull of many samples
            f = row_of(Node(op, args)).forward
            samples = [f(lo + (hi - lo) * k / 64) for k in range(65)]
            return min(samples), max(samples)
        # abs
        if lo >= 0.0:
            return lo, hi
        if hi <= 0.0:
            return -hi, -lo
        return 0.0, max(-lo, hi)


def _safe_exp(x: float) -> float:
    return math.exp(x) if x < 709.0 else math.inf


def _check_range(leaf_range: tuple[float, float], bound: float) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in leaf_range)
    except (TypeError, ValueError):
        raise ValueError(f"leaf_range must be a pair of numbers (low, high), got {leaf_range!r}") from None
    if not (-bound <= lo < hi <= bound):
        raise ValueError(f"leaf_range must satisfy -{bound:g} <= low < high <= {bound:g}, got {leaf_range!r}")
    return lo, hi
