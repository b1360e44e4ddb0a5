"""What :func:`~microgradnn.testing.check_engine` hands back: a report for a terminal and Jupyter.

:class:`EngineReport` is truthy when every check passed. ``str(report)`` is plain text (what
``microgradnn check`` prints); in Jupyter the same report shows as HTML, with a drawing of the
learner's graph at the first failure: the node whose local derivative is wrong and the edge to
the input it shortchanged are red, and the expected local derivative is written beside theirs.
Nothing here imports more than the standard library until a drawing is rendered.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Blame", "Capability", "Convention", "EngineReport", "Failure", "GraphPicture", "LeafGrad",
           "PictureNode"]  # fmt: skip


def _num(x: float | None) -> str:
    if x is None:
        return "(none)"
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return str(x)
    return f"{x:.6g}"


@dataclass(frozen=True)
class Capability:
    """One operation looked for: ``key`` such as ``"a + 2"``, whether it works, and why not."""

    key: str
    supported: bool
    reason: str = ""


@dataclass(frozen=True)
class Convention:
    """Something correct engines do differently, reported (not failed)."""

    name: str
    finding: str


@dataclass
class LeafGrad:
    """One input's gradient: microgradnn's (expected) and the learner's (actual)."""

    name: str
    expected: float
    actual: float | None

    @property
    def ok(self) -> bool:
        from microgradnn.testing.engine_check import ABS_TOL, REL_TOL

        if self.actual is None or math.isnan(self.actual):
            return False
        return math.isclose(
            self.actual, self.expected, rel_tol=REL_TOL, abs_tol=ABS_TOL * max(1.0, abs(self.expected))
        )


@dataclass
class Blame:
    """The first place in the learner's engine that is wrong.

    ``kind``: ``"value"`` (a node's forward value), ``"local"`` (the node adds the wrong amount
    to an input's grad: a wrong local derivative, or ``=`` for ``+=``), ``"error"`` (its
    ``_backward()`` raised), ``"seed"`` / ``"order"`` (backward() itself: the output's grad
    is not set to 1, or the nodes' ``_backward()`` run in a wrong order, twice, or not at all).
    """

    index: int
    where: str  # the node as a formula: "a * b"
    method: str  # the method that made it: "__mul__"
    kind: str
    input_index: int | None
    expected: float | None
    actual: float | None
    detail: str = ""
    grad: float | None = None  # the node's own grad when its _backward() ran (kind "local")
    input_name: str = ""
    late_user: str = ""  # kind "order": the node whose _backward() should have run first

    def text(self) -> list[str]:
        if self.kind == "value":
            return [
                f"the first wrong value: {self.where} (made by your {self.method})",
                f"    expected {_num(self.expected)}, yours {_num(self.actual)}",
            ]
        first_wrong = f"the first node of the backward pass that is wrong: {self.where}"
        if self.kind == "local":
            lines = [
                f"{first_wrong} (made by your {self.method})",
                f"    local derivative d({self.where})/d{_paren(self.input_name)}: "
                f"expected {_num(self.expected)}, yours {_num(self.actual)}",
                f"    ({self.detail})",
            ]
            if self.actual is not None and self.expected and _close_ratio(self.actual, self.expected):
                lines.append(
                    "    yours is one of its terms only: is a grad assigned (=) where it must be added (+=)?"
                )
            return lines
        if self.kind == "error":
            return [
                f"{first_wrong} (made by your {self.method})",
                f"    {self.detail}",
            ]
        if self.kind == "unknown":
            return [f"(the wrong node cannot be found: {self.detail})"]
        return [f"every node passes gradients on correctly, but your backward() does not: {self.detail}"]


def _short(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _paren(name: str) -> str:
    return name if name.isidentifier() else f"({name})"


def _close_ratio(actual: float, expected: float) -> bool:
    # a + a or a * a with `=`: the node hands on one of two equal terms, half of the sum
    return math.isclose(actual * 2, expected, rel_tol=1e-6) and actual != 0


@dataclass
class PictureNode:
    """One node of the learner's graph, as read through ``_prev``, ``_op``, ``data``, ``grad``."""

    index: int
    label: str
    op: str
    data: float | None
    grad: float | None
    inputs: list[int]
    blamed: bool
    formula: str


@dataclass
class GraphPicture:
    """The learner's graph at a failure: text for terminals, DOT for Graphviz."""

    nodes: list[PictureNode]
    highlight_inputs: set[int]
    blame: Blame | None
    late_edges: set[tuple[int, int]] = field(default_factory=set)  # (node, user that ran too late)

    def name(self, node: PictureNode) -> str:
        return node.formula or node.label or f"#{node.index}"

    def text(self) -> list[str]:
        lines = ["your graph, output first, as your _prev/_op/data/grad give it (>> marks the wrong node):"]
        for node in reversed(self.nodes):
            mark = ">>" if node.blamed else "  "
            op = f" [{node.op}]" if node.op else ""
            inputs = ", ".join(self.name(self.nodes[i]) for i in node.inputs)
            line = f"  {mark} {self.name(node)}{op}  data {_num(node.data)}  grad {_num(node.grad)}"
            lines.append(line + (f"  <- {inputs}" if inputs else ""))
        return lines

    def dot(self) -> str:
        """Graphviz DOT source in the lecture's style: records {name | data | grad}, op nodes."""
        out = [
            "digraph learner {",
            '  rankdir="LR";',
            '  node [fontname="Helvetica", fontsize=11];',
            '  edge [fontname="Helvetica", fontsize=10];',
        ]
        b = self.blame
        for node in self.nodes:
            color = ', style=filled, fillcolor="#ffd6d6", color="#c00000", penwidth=2' if node.blamed else ""
            label = f"{{ {_record(self.name(node))} | data {_num(node.data)} | grad {_num(node.grad)} }}"
            out.append(f'  n{node.index} [shape=record, label="{label}"{color}];')
            if node.inputs:
                op_color = ', style=filled, fillcolor="#ffd6d6", color="#c00000"' if node.blamed else ""
                out.append(f'  op{node.index} [label="{_quote(node.op or "?")}"{op_color}];')
                out.append(f"  op{node.index} -> n{node.index};")
                for i in node.inputs:
                    edge = ""
                    if node.blamed and b is not None and i in self.highlight_inputs:
                        note = (
                            f"d/d{b.input_name}: expected {_num(b.expected)}\\nyours {_num(b.actual)}"
                            if b.kind == "local"
                            else ""
                        )
                        edge = (
                            f' [color="#c00000", penwidth=2.5, fontcolor="#c00000", label="{_quote(note)}"]'
                        )
                    elif (i, node.index) in self.late_edges:
                        note = "its _backward() ran before\\nthis one's: its grad was incomplete"
                        edge = (
                            f' [color="#c00000", penwidth=2.5, fontcolor="#c00000", label="{_quote(note)}"]'
                        )
                    out.append(f"  n{i} -> op{node.index}{edge};")
        if b is not None and b.kind == "value":
            blamed = [n for n in self.nodes if n.blamed and n.formula == b.where]
            if blamed:
                note = f"expected data {_num(b.expected)}"
                out.append(
                    f'  note [shape=note, color="#c00000", fontcolor="#c00000", label="{_quote(note)}"];'
                )
                out.append(f'  note -> n{blamed[0].index} [style=dashed, color="#c00000"];')
        out.append("}")
        return "\n".join(out)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\\\\n", "\\n")


def _record(text: str) -> str:
    """Text for a Graphviz record field, escaped as microgradnn's drawings escape theirs."""
    from microgradnn.viz.drawing import escape_record

    return escape_record(text)


@dataclass
class Failure:
    """One failing check, shrunk: the expression, its inputs, the gradients, the wrong node."""

    kind: str  # "value", "grad" or "error"
    message: str
    formula: str
    inputs: dict[str, float]
    leaves: list[LeafGrad]
    blame: Blame | None
    picture: GraphPicture | None = None
    expression: Any = None  # the microgradnn.testing.Expression that failed

    @property
    def operations(self) -> int:
        """How many operations the failing expression has."""
        return int(self.expression.op_count()) if self.expression is not None else 0

    def text(self) -> list[str]:
        head = {"value": "wrong value", "grad": "wrong gradients", "error": "an exception"}[self.kind]
        lines = [
            f"FAILED ({head}): {self.formula}",
            "  inputs: " + ", ".join(f"{k} = {v!r}" for k, v in self.inputs.items()),
            f"  {self.message}",
        ]
        if self.kind == "grad":
            width = max(len(r.name) for r in self.leaves)
            lines.append(f"  {'leaf':<{max(width, 4)}}  {'expected grad':>14}  {'your grad':>14}")
            for r in self.leaves:
                mark = "" if r.ok else "   <- wrong"
                lines.append(
                    f"  {r.name:<{max(width, 4)}}  {_num(r.expected):>14}  {_num(r.actual):>14}{mark}"
                )
        if self.blame is not None:
            lines += ["  " + line for line in self.blame.text()]
        if self.picture is not None:
            lines += ["  " + line for line in self.picture.text()]
        return lines

    def dot(self) -> str | None:
        """The learner's graph at this failure as Graphviz DOT source (None if not drawn)."""
        return None if self.picture is None else self.picture.dot()


def _json_number(x: float | None) -> float | str | None:
    return x if x is None or math.isfinite(x) else str(x)


def _failure_dict(f: Failure) -> dict[str, Any]:
    b = f.blame
    return {
        "kind": f.kind,
        "formula": f.formula,
        "message": f.message,
        "inputs": {k: _json_number(v) for k, v in f.inputs.items()},
        "leaves": [{"name": r.name, "expected": _json_number(r.expected), "yours": _json_number(r.actual),
                    "ok": r.ok} for r in f.leaves],  # fmt: skip
        "first_wrong_node": None if b is None else {
            "node": b.where, "method": b.method, "kind": b.kind, "input": b.input_name or None,
            "expected": _json_number(b.expected), "yours": _json_number(b.actual), "detail": b.detail,
        },  # fmt: skip
    }


@dataclass
class EngineReport:
    """The result of :func:`~microgradnn.testing.check_engine`: truthy when everything passed."""

    engine: str
    capabilities: list[Capability]
    failures: list[Failure]
    random_examples: int
    conventions: list[Convention] = field(default_factory=list)
    seconds: float = 0.0
    printed_lines: int = 0  # lines the class itself printed during the checks (not shown)

    def __bool__(self) -> bool:
        return not self.failures

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def supported(self) -> list[str]:
        return [c.key for c in self.capabilities if c.supported]

    @property
    def failure(self) -> Failure | None:
        """The first failure (the one diagnosed in full), or None."""
        return self.failures[0] if self.failures else None

    def lines(self) -> list[str]:
        status = (
            "PASSED"
            if self
            else f"FAILED ({len(self.failures)} failing check{'s' * (len(self.failures) > 1)})"
        )
        lines = [
            f"check_engine({self.engine}): {status}  [{self.seconds:.1f} s]",
            "found:     " + (", ".join(self.supported) or "(nothing)"),
        ]
        missing = [c for c in self.capabilities if not c.supported]
        if missing:
            lines.append("not found (not tested):")
            lines += [f"  {c.key:<10} {_short(c.reason)}" for c in missing]
        if self:
            lines.append(self._summary())
        for k, failure in enumerate(self.failures):
            lines.append("")
            lines += failure.text() if k == 0 else [f"also FAILED: {failure.formula}: {failure.message}"]
        if self.printed_lines:
            lines += ["", f"(your class printed {self.printed_lines} lines during the checks; not shown)"]
        if self.conventions:
            lines += ["", "conventions (reported, not failed):"]
            lines += [f"  {c.name}: {c.finding}" for c in self.conventions]
        return lines

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``microgradnn check --json``): numbers stay numbers,
        except NaN and ±inf, which standard JSON cannot hold and are written "nan", "inf", "-inf"."""
        return {
            "engine": self.engine,
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
            "supported": self.supported,
            "not_found": {c.key: c.reason for c in self.capabilities if not c.supported},
            "random_examples": self.random_examples,
            "failures": [_failure_dict(f) for f in self.failures],
            "conventions": {c.name: c.finding for c in self.conventions},
        }

    def _summary(self) -> str:
        return (
            f"every operation alone and {self.random_examples} random expression graphs: values of every "
            "node and gradients of every input agree with microgradnn"
        )

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        return f"<EngineReport {self.engine}: {'passed' if self else 'failed'}>"

    def draw(self) -> object | None:
        """The first failure's drawing as a ``graphviz.Source`` (None when nothing failed)."""
        source = None if self.failure is None else self.failure.dot()
        if source is None:
            return None
        import graphviz

        return graphviz.Source(source)

    def _repr_html_(self) -> str:
        """The report for Jupyter: the same content as ``str``, in tables, with the drawing."""
        e = html.escape
        color = "#1a7f37" if self else "#c00000"
        status = "PASSED" if self else "FAILED"
        parts = [
            f'<div><p style="color:{color};font-weight:bold">check_engine({e(self.engine)}): {status}'
            f' <span style="font-weight:normal;color:#666">[{self.seconds:.1f} s]</span></p>',
            f"<p><b>found:</b> {e(', '.join(self.supported) or '(nothing)')}</p>",
        ]
        missing = [c for c in self.capabilities if not c.supported]
        if missing:
            rows = "".join(
                f"<tr><td><code>{e(c.key)}</code></td><td>{e(_short(c.reason))}</td></tr>" for c in missing
            )
            parts.append(
                f"<details><summary><b>not found</b> (not tested): {e(', '.join(c.key for c in missing))}"
                f"</summary><table>{rows}</table></details>"
            )
        if self:
            parts.append(
                f"<p>{e(self.lines()[-1 - len(self.conventions) - (2 if self.conventions else 0)])}</p>"
            )
        failure = self.failure
        if failure is not None:
            parts.append(_failure_html(failure))
            for other in self.failures[1:]:
                parts.append(f"<p>also FAILED: <code>{e(other.formula)}</code>: {e(other.message)}</p>")
        if self.conventions:
            items = "".join(f"<li><b>{e(c.name)}</b>: {e(c.finding)}</li>" for c in self.conventions)
            parts.append(f"<p><b>conventions</b> (reported, not failed):</p><ul>{items}</ul>")
        parts.append("</div>")
        return "".join(parts)


def _failure_html(failure: Failure) -> str:
    e = html.escape
    head = {"value": "wrong value", "grad": "wrong gradients", "error": "an exception"}[failure.kind]
    inputs = ", ".join(f"{k} = {v!r}" for k, v in failure.inputs.items())
    parts = [
        f'<p style="color:#c00000"><b>FAILED ({head}):</b> <code>{e(failure.formula)}</code>'
        f" at {e(inputs)}</p>",
        f"<p>{e(failure.message)}</p>",
    ]
    if failure.kind == "grad":
        red = ' style="color:#c00000"'
        rows = "".join(
            f"<tr{'' if r.ok else red}><td><code>{e(r.name)}</code></td>"
            f"<td>{_num(r.expected)}</td><td>{_num(r.actual)}</td></tr>"
            for r in failure.leaves
        )
        parts.append(f"<table><tr><th>input</th><th>expected grad</th><th>your grad</th></tr>{rows}</table>")
    if failure.blame is not None:
        first, *rest = failure.blame.text()
        parts.append(f"<p><b>{e(first)}</b>" + "".join(f"<br>{e(line.strip())}" for line in rest) + "</p>")
    source = failure.dot()
    if source is not None:
        parts.append(_svg_or_source(source))
    return "".join(parts)


def _svg_or_source(source: str) -> str:
    """The drawing as inline SVG; its DOT source when Graphviz is not available (never raises)."""
    try:
        from microgradnn.viz import render_svg
        from microgradnn.viz.rendering import fit_to_width

        svg = fit_to_width(render_svg(source))  # a wide graph shrinks to the notebook's width
        start = svg.find("<svg")
        return svg[start:] if start >= 0 else svg
    except Exception as exc:  # noqa: BLE001 - showing a report must not fail
        return f"<p>(cannot render the drawing: {html.escape(str(exc))})</p><pre>{html.escape(source)}</pre>"
