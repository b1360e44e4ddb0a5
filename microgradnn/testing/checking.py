"""gradcheck: the engine's gradients against central finite differences, input by input."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from numbers import Real

from microgradnn.checks import check_real, describe
from microgradnn.engine import Number, Value, topological_order

__all__ = ["GradcheckError", "GradcheckResult", "GradcheckRow", "assert_gradcheck", "gradcheck"]


@dataclass(frozen=True)
class GradcheckRow:
    """One input: its value, ∂f/∂input by backward() and by central differences, and a verdict."""

    name: str
    value: float
    analytic: float
    numeric: float
    ok: bool
    note: str = ""

    @property
    def abs_error(self) -> float:
        """|analytic − numeric|."""
        return abs(self.analytic - self.numeric)


@dataclass(frozen=True)
class GradcheckResult:
    """What :func:`gradcheck` found: one row per input, and the settings used.

    True (``bool(result)``) when every input agrees; ``str(result)`` is the table.
    """

    rows: tuple[GradcheckRow, ...]
    output: float
    eps: float
    atol: float
    rtol: float

    @property
    def ok(self) -> bool:
        """Whether every input's analytic and numeric gradients agree."""
        return all(row.ok for row in self.rows)

    @property
    def failures(self) -> tuple[GradcheckRow, ...]:
        """The rows that disagree."""
        return tuple(row for row in self.rows if not row.ok)

    def __bool__(self) -> bool:
        return self.ok

    def summary(self) -> str:
        """One line: how many inputs disagree, and the tolerances."""
        n_bad, n = len(self.failures), len(self.rows)
        if n == 1:
            verdict = "the input agrees" if n_bad == 0 else "the input disagrees"
        else:
            verdict = f"all {n} inputs agree" if n_bad == 0 else f"{n_bad} of {n} inputs disagree"
        return (
            f"gradcheck: {verdict} (f = {self.output:.10g}; |analytic - numeric| <= atol + rtol·|numeric|, "
            f"eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g})"
        )

    def table(self) -> str:
        """The rows as an aligned text table."""
        header = ("input", "value", "analytic (backward)", "numeric (central diff)", "abs error", "agree")
        body = [
            (
                row.name,
                f"{row.value:.10g}",
                f"{row.analytic:.10g}",
                f"{row.numeric:.10g}",
                f"{row.abs_error:.3g}",
                ("yes" if row.ok else "NO") + (f"  {row.note}" if row.note else ""),
            )
            for row in self.rows
        ]
        widths = [max(len(r[k]) for r in [header, *body]) for k in range(len(header) - 1)]
        lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(r, widths)), r[-1]]) for r in [header, *body]]
        return "\n".join(line.rstrip() for line in lines)

    def __str__(self) -> str:
        return f"{self.summary()}\n{self.table()}"

    def __repr__(self) -> str:
        return f"<GradcheckResult: {self.summary()}>"


class GradcheckError(AssertionError):
    """Raised by :func:`assert_gradcheck`; ``result`` holds the :class:`GradcheckResult`."""

    def __init__(self, result: GradcheckResult) -> None:
        super().__init__(str(result))
        self.result = result


def _check_tolerance(name: str, value: object, positive: bool) -> float:
    return check_real(f"gradcheck({name})", value, lo=0.0, lo_open=positive)


def _takes_no_arguments(f: Callable, n_inputs: int) -> bool:
    """Whether f is to be called as f() (a closure over the input Values) rather than f(*inputs)."""
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):  # builtins without a signature: call with the inputs
        return False
    try:
        signature.bind(*range(n_inputs))
        return False
    except TypeError:
        pass
    try:
        signature.bind()
    except TypeError:
        raise TypeError(
            f"gradcheck: f{signature} accepts neither {n_inputs} positional argument(s) (one per input) "
            "nor none (a closure over the input Values)"
        ) from None
    return True


def gradcheck(
    f: Callable[..., Value],
    inputs: Iterable[Number | Value],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> GradcheckResult:
    """Compare ∂f/∂xᵢ from ``backward()`` with (f(xᵢ+ε) − f(xᵢ−ε)) / 2ε, for every input xᵢ.

    Two ways to call it:

    * ``gradcheck(f, [1.0, 2.0])``: f takes one Value per input, ``f(x0, x1) -> Value``; the
      inputs are numbers or Values, and f gets fresh leaf Values holding them (a Value's label
      is kept), so nothing of yours is touched.
    * ``gradcheck(loss, model.parameters())``: f takes no arguments and reads the given Values
      itself (a model's parameters). Their ``data`` is moved by ±ε in place while f is
      re-evaluated and restored exactly afterwards, even if f raises; their ``grad`` is
      restored too.

    f must be deterministic and return a Value. An input agrees when
    |analytic − numeric| ≤ atol + rtol·|numeric|. A re-evaluation that raises (for example a
    step across a domain boundary) gives a NaN numeric gradient and a note in that row.
    Returns a :class:`GradcheckResult`, true when every input agrees.
    """
    if not callable(f):
        raise TypeError(f"gradcheck: f must be callable, got {type(f).__name__}")
    eps = _check_tolerance("eps", eps, positive=True)
    atol = _check_tolerance("atol", atol, positive=False)
    rtol = _check_tolerance("rtol", rtol, positive=False)
    if isinstance(inputs, (Value, Real)):
        raise TypeError("gradcheck: inputs must be a sequence of numbers or Values (wrap one in a list)")
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Iterable):
        raise TypeError(f"gradcheck: inputs must be a sequence of numbers or Values, got {describe(inputs)}")
    given = list(inputs)
    if not given:
        raise ValueError("gradcheck: inputs is empty; give the numbers or Values to differentiate by")
    for i, x in enumerate(given):
        if isinstance(x, bool) or not isinstance(x, (Value, Real)):
            raise TypeError(f"gradcheck: input {i} must be a number or a Value, got {type(x).__name__} {x!r}")

    if _takes_no_arguments(f, len(given)):
        numbers = [i for i, x in enumerate(given) if not isinstance(x, Value)]
        if numbers:
            raise TypeError(
                f"gradcheck: f takes no arguments, so the inputs must be the Values f reads (such as "
                f"model.parameters()); input {numbers[0]} is the number {given[numbers[0]]!r}"
            )
        xs = [x for x in given if isinstance(x, Value)]  # all of them, as just checked

        def evaluate() -> Value:
            return _checked_output(f())
    else:
        xs = [
            Value(x.data, label=x.label) if isinstance(x, Value) else Value(x, label=f"x{i}")
            for i, x in enumerate(given)
        ]

        def evaluate() -> Value:
            return _checked_output(f(*xs))

    names = [x.label or f"x{i}" for i, x in enumerate(xs)]
    output, analytic = _backward_gradients(evaluate, xs)

    rows = []
    for i, x in enumerate(xs):
        numeric, note = _central_difference(evaluate, x, eps)
        a = analytic[i]
        if math.isfinite(a) and math.isfinite(numeric):
            ok = abs(a - numeric) <= atol + rtol * abs(numeric)
        else:
            ok = a == numeric  # equal infinities agree; NaN never does
            if not note:
                note = "non-finite gradient"
        rows.append(GradcheckRow(names[i], x.data, a, numeric, ok, note))
    return GradcheckResult(tuple(rows), output, eps, atol, rtol)


def assert_gradcheck(
    f: Callable[..., Value],
    inputs: Iterable[Number | Value],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> GradcheckResult:
    """:func:`gradcheck`, raising :class:`GradcheckError` (an AssertionError) with the table on
    disagreement; returns the result otherwise."""
    result = gradcheck(f, inputs, eps=eps, atol=atol, rtol=rtol)
    if not result.ok:
        raise GradcheckError(result)
    return result


def _checked_output(out: object) -> Value:
    if not isinstance(out, Value):
        raise TypeError(
            f"gradcheck: f must return a Value (the graph to differentiate), got {type(out).__name__} {out!r}"
        )
    return out


def _backward_gradients(evaluate: Callable[[], Value], xs: list[Value]) -> tuple[float, list[float]]:
    """∂out/∂x for each x by out.backward(), leaving every pre-existing node's grad as it was."""
    saved_inputs = [x.grad for x in xs]
    out = evaluate()
    nodes = topological_order(out)
    saved = [node.grad for node in nodes]
    try:
        for x in xs:
            x.grad = 0.0
        out.backward()
        # An input f does not use keeps the 0.0 set above: its gradient is 0.
        return out.data, [x.grad for x in xs]
    finally:
        for node, g in zip(nodes, saved):
            node.grad = g
        for x, g in zip(xs, saved_inputs):
            x.grad = g


def _central_difference(evaluate: Callable[[], Value], x: Value, eps: float) -> tuple[float, str]:
    """(f(x+ε) − f(x−ε)) / (the step actually taken), moving x.data in place and restoring it."""
    original = x.data
    plus, minus = original + eps, original - eps
    try:
        x.data = plus
        f_plus = evaluate().data
        x.data = minus
        f_minus = evaluate().data
    except (ArithmeticError, ValueError) as error:
        return math.nan, f"f(x ± eps) raised {type(error).__name__}: {error}"
    finally:
        x.data = original
    return (f_plus - f_minus) / (plus - minus), ""
