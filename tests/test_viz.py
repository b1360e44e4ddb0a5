"""Graph drawings: structure, determinism, escaping, teaching options, summaries, rendering.

The DOT text is never checked by eye or by substring alone: it is parsed by Graphviz's own
parser (pygraphviz's libcgraph), and the numbers read back from the records and edge labels
are compared with independent oracles (finite differences, closed forms, the lecture's
by-hand `_backward()` procedure). Fallback rendering is checked in subprocesses with the
`dot` program hidden (PATH emptied) and pygraphviz blocked.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import random
import re
import struct
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import graphviz
import pygraphviz
import pytest

from microgradnn.engine import Value, dot, grad, topological_order, value_sum
from microgradnn.testing import gradcheck
from microgradnn.viz import (
    BackwardStepper,
    Drawing,
    RenderError,
    backward_steps,
    draw_backward_steps,
    draw_dot,
    grads_after_steps,
    render_svg,
    save,
)
from microgradnn.viz.collapse import module_path
from microgradnn.viz.drawing import ROLE_COLORS, STEP_FILLS, format_number

PYTHON = sys.executable
REPO = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------- helpers
def lecture_neuron() -> dict[str, Value]:
    """The lecture's tanh neuron, every node labelled as in the lecture."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    s = x1w1 + x2w2
    s.label = "x1*w1 + x2*w2"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return {v.label: v for v in (x1, x2, w1, w2, b, x1w1, x2w2, s, n, o)}


def split_record(label: str) -> list[str]:
    """The fields of a record label ``{ a | b | c }`` as displayed (escapes removed); also
    ``a | b | c``, the one-row record of a batch loss drawn top to bottom."""
    braced = label.startswith("{ ") and label.endswith(" }")
    assert braced or " | data " in label, label
    body = label[2:-2] if braced else label
    fields, current, i = [], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            # \n \l \r are Graphviz line breaks; any other escaped character stands for itself
            current.append("\n" if body[i + 1] in "nlr" else body[i + 1])
            i += 2
            continue
        if ch == "|":
            fields.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    fields.append("".join(current).strip())
    return fields


def unescape_text(label: str) -> str:
    """A plain label as displayed: \\\\ is a backslash, \\n a line break."""
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nlr" else m.group(1), label)


class Parsed:
    """A drawing parsed by Graphviz's own DOT parser."""

    def __init__(self, drawing: graphviz.Digraph) -> None:
        self.graph = pygraphviz.AGraph(string=drawing.source)
        self.records: dict[str, list[str]] = {}
        self.ops: dict[str, str] = {}
        self.boxes: dict[str, str] = {}
        for node in self.graph.nodes():
            attrs = node.attr
            if attrs.get("shape") == "record":
                self.records[str(node)] = split_record(attrs["label"])
            elif str(node).endswith("op"):
                self.ops[str(node)] = attrs["label"]
            elif str(node).startswith("g"):
                self.boxes[str(node)] = unescape_text(attrs["label"])
        # Multi-edges (a node used twice) are kept: pygraphviz gives each one with its key.
        self.caption = unescape_text(self.graph.graph_attr.get("label") or "")
        note = (
            self.graph.get_node("summary_note").attr["label"] if self.graph.has_node("summary_note") else ""
        )
        self.note = unescape_text(note)
        self.edges = [
            (str(u), str(v), dict(self.graph.get_edge(u, v, key).attr))
            for u, v, key in self.graph.edges(keys=True)
        ]

    def number(self, node_id: str, field: str) -> float:
        index = {"data": 1, "grad": 2}[field]
        text = self.records[node_id][index]
        assert text.startswith(field + " "), text
        return float(text.split(" ", 1)[1])

    def by_label(self) -> dict[str, str]:
        return {fields[0]: node_id for node_id, fields in self.records.items()}


def run_python(
    code: str, env_extra: dict[str, str] | None = None, path: str | None = None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(env_extra or {})
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [PYTHON, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, cwd=REPO, timeout=60
    )


def finite_difference(f: Any, xs: list[float], i: int, h: float = 1e-6) -> float:
    """∂f/∂xᵢ by central differences, as the package's own gradcheck computes it."""
    return gradcheck(lambda *values: f(list(values)), xs, eps=h).rows[i].numeric


# ----------------------------------------------------------------------------- structure
def test_returns_a_graphviz_digraph_with_micrograd_records() -> None:
    nodes = lecture_neuron()
    nodes["o"].backward()
    drawing = draw_dot(nodes["o"])
    assert isinstance(drawing, graphviz.Digraph) and isinstance(drawing, Drawing)
    assert drawing.format == "svg"
    parsed = Parsed(drawing)
    assert parsed.graph.graph_attr["rankdir"] == "LR"
    assert len(parsed.records) == 10 and len(parsed.ops) == 5
    # Every record is exactly micrograd's "{ label | data %.4f | grad %.4f }".
    for fields in parsed.records.values():
        v = nodes[fields[0]]
        assert fields == [v.label, "data %.4f" % v.data, "grad %.4f" % v.grad]  # noqa: UP031 - micrograd's
    labels = parsed.by_label()
    assert parsed.records[labels["o"]][1:] == ["data 0.7071", "grad 1.0000"]
    assert parsed.records[labels["x1"]][1:] == ["data 2.0000", "grad -1.5000"]
    assert parsed.records[labels["w2"]][1:] == ["data 1.0000", "grad 0.0000"]


def test_edges_mirror_the_graph_value_to_operation_to_result() -> None:
    nodes = lecture_neuron()
    parsed = Parsed(draw_dot(nodes["o"]))
    labels = parsed.by_label()
    ids = {v: labels[name] for name, v in nodes.items()}
    expected = []
    for v in nodes.values():
        if v._prev:
            op_id = ids[v] + "op"
            assert parsed.ops[op_id] == v._op
            expected.append((op_id, ids[v]))
            expected.extend((ids[c], op_id) for c in v._prev)
    assert sorted((a, b) for a, b, _ in parsed.edges) == sorted(expected)
    # Leaves have no operation node.
    assert all(ids[v] + "op" not in parsed.ops for v in nodes.values() if not v._prev)


def test_options_rankdir_format_and_several_roots() -> None:
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    s, p = a + b, a * b
    s.label, p.label = "s", "p"
    drawing = draw_dot([s, p, s], format="png", rankdir="TB")
    assert drawing.format == "png"
    parsed = Parsed(drawing)
    assert parsed.graph.graph_attr["rankdir"] == "TB"
    assert sorted(f[0] for f in parsed.records.values()) == ["a", "b", "p", "s"]  # shared inputs once
    assert len(parsed.ops) == 2


def test_drawing_never_changes_the_graph() -> None:
    nodes = lecture_neuron()
    nodes["o"].backward()
    before = {name: (v.data, v.grad, v.label, v._prev, v._op) for name, v in nodes.items()}
    draw_dot(nodes["o"], local_grads=True, color_by="grad", order=True, max_nodes=3)
    BackwardStepper(nodes["o"]).step(3)
    draw_backward_steps(nodes["o"], 2)
    grads_after_steps(nodes["o"], 4)
    assert {name: (v.data, v.grad, v.label, v._prev, v._op) for name, v in nodes.items()} == before


def test_same_input_used_twice_gives_two_edges() -> None:
    a = Value(3.0, label="a")
    out = a * a + a
    out.label = "out"
    out.backward()
    parsed = Parsed(draw_dot(out, local_grads=True, precision=6))
    a_id = parsed.by_label()["a"]
    from_a = [(dst, attrs["label"]) for src, dst, attrs in parsed.edges if src == a_id]
    assert len(from_a) == 3  # twice into '*', once into '+'
    assert sorted(lab for _, lab in from_a) == ["∂=1.000000", "∂=3.000000", "∂=3.000000"]
    assert parsed.number(a_id, "grad") == pytest.approx(2 * 3.0 + 1.0)


def test_accepts_micrograd_values() -> None:
    from micrograd.engine import Value as MicrogradValue

    x = MicrogradValue(2.0)
    y = (x * 3 + 1).relu()
    y.backward()
    parsed = Parsed(draw_dot(y))
    assert sorted(parsed.ops.values()) == ["*", "+", "ReLU"]
    grads = sorted(parsed.number(n, "grad") for n in parsed.records)
    # y, the sum, the product and the constant 1 have grad 1; the constant 3 gets x = 2; x gets 3
    assert grads == [1.0, 1.0, 1.0, 1.0, 2.0, 3.0]


def test_bad_arguments_are_named() -> None:
    v = Value(1.0)
    with pytest.raises(TypeError, match="expected a Value or a list of Values, got float"):
        draw_dot(1.0)
    with pytest.raises(TypeError, match="found a str in the list"):
        draw_dot([v, "x"])
    with pytest.raises(ValueError, match="list of roots is empty"):
        draw_dot([])
    with pytest.raises(
        ValueError, match=r"draw_dot\(rankdir\) must be one of 'LR', 'RL', 'TB', 'BT', got 'XY'"
    ):
        draw_dot(v, rankdir="XY")
    with pytest.raises(ValueError, match="unknown format 'jpgg'"):
        draw_dot(v, format="jpgg")
    with pytest.raises(ValueError, match=r"draw_dot\(color_by\) must be one of 'role', 'grad'"):
        draw_dot(v, color_by="rainbow")
    with pytest.raises(ValueError, match=r"draw_dot\(max_nodes\) must be >= 2, got 0"):
        draw_dot(v, max_nodes=0)
    with pytest.raises(ValueError, match=r"draw_dot\(precision\) must be in \[0, 17\], got -1"):
        draw_dot(v, precision=-1)
    with pytest.raises(TypeError, match=r"draw_dot\(parameters\): entry 0 must be a Value, got float"):
        draw_dot(v, parameters=[1.0])
    with pytest.raises(TypeError, match=r"draw_dot\(parameters\) must be a list of Values .*, got int: 5"):
        draw_dot(v, parameters=5)
    with pytest.raises(TypeError, match=r"draw_dot\(max_nodes\) must be an integer, got str"):
        draw_dot(v, max_nodes="50")
    with pytest.raises(TypeError, match=r"draw_dot\(local_grads\) must be True or False, got int: 1"):
        draw_dot(v, local_grads=1)


def test_numbers_are_formatted_as_micrograd_except_where_that_would_mislead() -> None:
    assert format_number(2.0) == "2.0000"
    assert format_number(-1.5) == "-1.5000"
    assert format_number(-0.0) == "0.0000"
    assert format_number(3e-7) == "3.0000e-07"  # %.4f would show a nonzero gradient as 0
    assert format_number(2.5e9) == "2.5000e+09"
    assert format_number(math.nan) == "nan"
    assert format_number(-math.inf) == "-inf"
    assert format_number(0.123456, precision=2) == "0.12"


# ----------------------------------------------------------------------------- determinism
DETERMINISM_SCRIPT = """
import random, sys
from microgradnn.engine import Value, dot
from microgradnn.viz import draw_dot
junk = [Value(float(i)) for i in range(int(sys.argv[1]))]  # shifts every id()
rng = random.Random(7)
xs = [Value(rng.uniform(-1, 1), label=f"x{i}") for i in range(4)]
ws = [Value(rng.uniform(-1, 1), label=f"layer.w.{i}") for i in range(4)]
out = (dot(xs, ws) + xs[0] * xs[1]).tanh() + ws[2].exp() - xs[3] / 2.0
out.label = "out"
out.backward()
sys.stdout.write(draw_dot(out, local_grads=True, order=True, color_by="grad").source)
sys.stdout.write(draw_dot(out, max_nodes=5).source)
"""


def test_same_graph_same_bytes_across_processes() -> None:
    outputs = []
    for seed, junk in (("0", "0"), ("12345", "1000")):
        env = {k: v for k, v in os.environ.items()}
        env["PYTHONHASHSEED"] = seed
        result = subprocess.run(
            [PYTHON, "-c", DETERMINISM_SCRIPT, junk], capture_output=True, env=env, cwd=REPO, timeout=60
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert b"0x" not in outputs[0]  # no addresses anywhere
    assert re.findall(rb"\bn\d+\b", outputs[0])  # ids are positions in graph order


def test_two_equal_graphs_in_one_process_give_equal_sources() -> None:
    first, second = lecture_neuron(), lecture_neuron()
    first["o"].backward()
    second["o"].backward()
    assert draw_dot(first["o"], local_grads=True).source == draw_dot(second["o"], local_grads=True).source


# ----------------------------------------------------------------------------- escaping
NASTY_LABELS = [
    'a{b}c|d<e>f"g\\h',
    "ends with a backslash \\",
    '\\"quoted\\" \\\\ twice',
    "<b>looks like html</b>",
    "{ | }",
    "tab\tand\nnewline",
    "∂L/∂w ≥ 0 ✓",
]


@pytest.mark.parametrize("label", NASTY_LABELS)
def test_labels_cannot_break_the_dot(label: str) -> None:
    v = Value(1.5, label=label)
    out = v * 2.0
    odd = Value(0.0, (out,), _op=label)  # a hand-built node with a hostile operation name, too
    drawing = draw_dot(odd)
    parsed = Parsed(drawing)
    assert len(parsed.records) == 4 and len(parsed.ops) == 2
    assert all(len(fields) == 3 for fields in parsed.records.values())  # nothing split a record
    shown = label.replace("\t", " ")  # a tab is drawn as a space, a newline as a line break
    assert parsed.records["n0"] == [shown, "data 1.5000", "grad 0.0000"]
    assert unescape_text(parsed.ops["n3op"]) == shown
    # Graphviz accepts it and draws the text back.
    svg = render_svg(drawing)
    ET.fromstring(svg)
    joined = " ".join(html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg))
    for word in label.split():
        assert word in joined, (word, joined)


def test_record_label_escaping_exactly() -> None:
    label = 'a{b}c|d<e>f"g\\h'
    v = Value(1.0, label=label)
    parsed = Parsed(draw_dot(v))
    (fields,) = parsed.records.values()
    assert fields == [label, "data 1.0000", "grad 0.0000"]


# ----------------------------------------------------------------------------- local derivatives
def messy_function(xs: list[Any]) -> Any:
    """A function of four inputs touching most operations, with inputs reused."""
    a, b, c, d = xs
    if isinstance(a, Value):
        t = (a * b + c).tanh()
        u = (a * a).exp() / (d + 3.0)
        w = (b - c).sigmoid() * (a + 4.0).log() + abs(d - b) + (c * 2.0).relu() + b**3
        return t * u + w - d.leaky_relu(0.1) + 2.0**c
    t = math.tanh(a * b + c)
    u = math.exp(a * a) / (d + 3.0)
    w = (1 / (1 + math.exp(-(b - c)))) * math.log(a + 4.0) + abs(d - b) + max(c * 2.0, 0.0) + b**3
    return t * u + w - (d if d > 0 else 0.1 * d) + 2.0**c


def test_edge_labels_let_the_chain_rule_be_read_off_the_picture() -> None:
    point = [0.3, -0.7, 0.45, 1.2]
    xs = [Value(x, label=name) for x, name in zip(point, "abcd")]
    out = messy_function(xs)
    out.label = "out"
    out.backward()
    parsed = Parsed(draw_dot(out, local_grads=True, precision=15))
    result_of_op = {op_id: op_id[:-2] for op_id in parsed.ops}
    grad_in_picture = {n: parsed.number(n, "grad") for n in parsed.records}
    # grad of each node = sum over its edges of (local derivative × grad of the op's result)
    summed = {n: 0.0 for n in parsed.records}
    for src, dst, attrs in parsed.edges:
        if dst in result_of_op:
            local = float(attrs["label"].removeprefix("∂="))
            summed[src] += local * grad_in_picture[result_of_op[dst]]
    out_id = parsed.by_label()["out"]
    for node_id, total in summed.items():
        if node_id != out_id:
            assert total == pytest.approx(grad_in_picture[node_id], rel=1e-9, abs=1e-12)
    # and the gradients drawn are the true ones (finite differences, by gradcheck)
    labels = parsed.by_label()
    for i, name in enumerate("abcd"):
        expected = finite_difference(messy_function, point, i)
        assert grad_in_picture[labels[name]] == pytest.approx(expected, rel=1e-6, abs=1e-8)


def test_local_derivatives_on_edges_match_closed_forms() -> None:
    x, y = Value(0.8, label="x"), Value(-1.3, label="y")
    cases = {
        "x*y": (x * y, [y.data, x.data]),
        "x/y": (x / y, [1 / y.data, -x.data / y.data**2]),
        "tanh": (x.tanh(), [1 - math.tanh(x.data) ** 2]),
        "x**3": (x**3, [3 * x.data**2]),
        "x**y": (x**y, [y.data * x.data ** (y.data - 1), x.data**y.data * math.log(x.data)]),
    }
    for name, (out, expected) in cases.items():
        out.label = name
        parsed = Parsed(draw_dot(out, local_grads=True, precision=12))
        out_id = parsed.by_label()[name]
        labels = [attrs["label"] for src, dst, attrs in parsed.edges if dst == out_id + "op"]
        got = [float(lab.removeprefix("∂=")) for lab in labels]
        assert got == pytest.approx(expected, rel=1e-10), name


def test_hand_built_node_without_rule_shows_an_unknown_local_derivative() -> None:
    a = Value(1.0, label="a")
    odd = Value(5.0, (a,), "mystery", label="odd")
    parsed = Parsed(draw_dot(odd, local_grads=True))
    (label,) = [attrs["label"] for src, dst, attrs in parsed.edges if dst.endswith("op")]
    assert label == "∂=?"


# ----------------------------------------------------------------------------- colours
def test_colors_by_role() -> None:
    nodes = lecture_neuron()
    params = [nodes["w1"], nodes["w2"], nodes["b"]]
    parsed = Parsed(draw_dot(nodes["o"], color_by="role", parameters=params))
    fills = {parsed.records[n][0]: parsed.graph.get_node(n).attr["fillcolor"] for n in parsed.records}
    assert fills["o"] == ROLE_COLORS["output"]
    assert {fills[n] for n in ("w1", "w2", "b")} == {ROLE_COLORS["parameter"]}
    assert {fills[n] for n in ("x1", "x2")} == {ROLE_COLORS["input"]}
    assert {fills[n] for n in ("x1*w1", "x2*w2", "x1*w1 + x2*w2", "n")} == {ROLE_COLORS["intermediate"]}
    assert "green = parameter" in parsed.caption


def test_role_heuristic_uses_dotted_parameter_names() -> None:
    w = Value(0.5, label="layers.0.neurons.0.w.0")
    x = Value(2.0, label="x")
    out = (w * x).relu()
    parsed = Parsed(draw_dot(out, color_by="role"))
    fills = {parsed.records[n][0]: parsed.graph.get_node(n).attr["fillcolor"] for n in parsed.records}
    assert fills["layers.0.neurons.0.w.0"] == ROLE_COLORS["parameter"]
    assert fills["x"] == ROLE_COLORS["input"]


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def test_colors_by_gradient_sign_and_size() -> None:
    a, b, c, d = (Value(v, label=n) for v, n in ((1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")))
    e = Value(1.0, label="e")
    out = a * 1.0 - b * 0.1 + c * 0.5 - d * 2.0 + e * 0.0
    out.label = "out"
    out.backward()  # grads: a 1, b -0.1, c 0.5, d -2, e 0
    parsed = Parsed(draw_dot(out, color_by="grad"))
    fill = {parsed.records[n][0]: _rgb(parsed.graph.get_node(n).attr["fillcolor"]) for n in parsed.records}
    assert fill["e"] == (255, 255, 255)  # zero gradient: white
    for positive in ("a", "c"):
        r, g, bl = fill[positive]
        assert r > g and r > bl  # red
    for negative in ("b", "d"):
        r, g, bl = fill[negative]
        assert bl > r and bl > g  # blue
    assert sum(fill["a"]) < sum(fill["c"])  # |1| deeper than |0.5|
    assert sum(fill["d"]) < sum(fill["b"])  # |−2| deeper than |−0.1|
    # The largest |grad| (the constant 2.0 in d * 2.0 has grad d = ... −4) gets the full colour.
    grads = {n: parsed.number(n, "grad") for n in parsed.records}
    largest = max(grads, key=lambda n: abs(grads[n]))
    assert grads[largest] == -4.0
    assert _rgb(parsed.graph.get_node(largest).attr["fillcolor"]) == _rgb("#6d9eeb")


def test_nan_gradient_is_grey_not_an_error() -> None:
    a = Value(math.nan, label="a")
    out = a * 2.0
    out.backward()
    parsed = Parsed(draw_dot(out, color_by="grad"))
    labels = parsed.by_label()
    assert parsed.graph.get_node(labels["a"]).attr["fillcolor"] == "#e06666"  # data nan, grad 2: full red
    x = Value(1.0, label="x")
    y = x * math.nan
    y.backward()
    parsed = Parsed(draw_dot(y, color_by="grad"))
    assert parsed.graph.get_node(parsed.by_label()["x"]).attr["fillcolor"] == "#cccccc"


# ----------------------------------------------------------------------------- backward order
def test_order_numbers_follow_backward() -> None:
    point = [0.3, -0.7, 0.45, 1.2]
    xs = [Value(x, label=name) for x, name in zip(point, "abcd")]
    out = messy_function(xs)
    parsed = Parsed(draw_dot(out, order=True))
    number = {op_id[:-2]: int(label.rsplit("#", 1)[1]) for op_id, label in parsed.ops.items()}
    assert sorted(number.values()) == list(range(1, len(number) + 1))
    # The numbering is backward's: reversed topological order of the operations.
    order = topological_order(out)
    ops_in_backward = [n for n in reversed(order) if n._prev]
    assert backward_steps(out) == ops_in_backward
    assert [number[f"n{order.index(n)}"] for n in ops_in_backward] == list(range(1, len(number) + 1))
    # and it is a valid backward order: an operation is numbered before those making its inputs.
    for src, dst, _ in parsed.edges:
        if dst.endswith("op") and src in number:
            assert number[dst[:-2]] < number[src]


# ----------------------------------------------------------------------------- step-through backprop
def by_hand_after(k: int) -> dict[str, float]:
    """The lecture's procedure on a fresh neuron: grads zero, o.grad = 1, then k `_backward()` calls."""
    nodes = lecture_neuron()
    for v in nodes.values():
        v.grad = 0.0
    nodes["o"].grad = 1.0
    for node in [n for n in reversed(topological_order(nodes["o"])) if n._prev][:k]:
        node._backward()
    return {name: v.grad for name, v in nodes.items()}


def test_stepping_matches_the_lecture_by_hand_procedure() -> None:
    nodes = lecture_neuron()
    stepper = BackwardStepper(nodes["o"])
    assert len(stepper) == 5 and stepper.k == 0 and not stepper.done
    for k in range(len(stepper) + 1):
        drawing = stepper.goto(k)
        parsed = Parsed(drawing)
        labels = parsed.by_label()
        expected = by_hand_after(k)
        for name, node_id in labels.items():
            assert parsed.number(node_id, "grad") == pytest.approx(expected[name], abs=5e-5), (k, name)
        grads = {v.label: g for v, g in grads_after_steps(nodes["o"], k).items()}
        assert grads == pytest.approx(expected, rel=1e-15, abs=0)
    assert stepper.done
    # All steps: the full gradients, which the engine's functional grad() agrees with.
    final = grads_after_steps(nodes["o"], 5)
    leaves = [nodes[n] for n in ("x1", "x2", "w1", "w2", "b")]
    assert [final[v] for v in leaves] == pytest.approx(grad(nodes["o"], leaves), rel=1e-15)
    assert all(v.grad == 0.0 for v in nodes.values())  # the user's graph was never touched


def test_stepping_highlights_the_step_and_what_is_final() -> None:
    nodes = lecture_neuron()
    stepper = BackwardStepper(nodes["o"], local_grads=True)
    parsed = Parsed(stepper.step(2))  # tanh, then n = s + b
    labels = parsed.by_label()
    fill = {name: parsed.graph.get_node(i).attr["fillcolor"] for name, i in labels.items()}
    assert fill["o"] == fill["n"] == STEP_FILLS["final"]
    assert fill["x1*w1 + x2*w2"] == fill["b"] == STEP_FILLS["final"]  # their only reader has stepped
    assert fill["x1*w1"] == fill["x1"] == STEP_FILLS["pending"]
    assert parsed.graph.get_node(labels["n"]).attr["color"] == "#cc0000"  # the step just applied
    assert parsed.ops[labels["n"] + "op"] == "+ #2"
    red = [(s, d) for s, d, a in parsed.edges if a.get("color") == "#cc0000"]
    assert sorted(red) == sorted(
        [(labels["x1*w1 + x2*w2"], labels["n"] + "op"), (labels["b"], labels["n"] + "op")]
    )
    caption = parsed.caption
    assert "step 2 of 5" in caption and "'b'.grad += 1.0000 × 0.5000 = 0.5000" in caption
    # A node read twice is 'partial' after only one of its readers stepped.
    a = Value(2.0, label="a")
    p, q = a * 3.0, a.exp()
    p.label, q.label = "p", "q"
    out = p + q
    partial = Parsed(BackwardStepper(out).step(2))
    a_id = partial.by_label()["a"]
    assert partial.graph.get_node(a_id).attr["fillcolor"] == STEP_FILLS["partial"]


def test_stepping_sums_contributions_of_nodes_read_several_times() -> None:
    point = [0.3, -0.7, 0.45, 1.2]

    def build() -> tuple[Value, list[Value]]:
        xs = [Value(x, label=name) for x, name in zip(point, "abcd")]
        return messy_function(xs), xs

    out, xs = build()
    steps = backward_steps(out)
    for k in (1, len(steps) // 2, len(steps) - 1, len(steps)):
        # By hand, on a separate copy of the graph: seed, then k `_backward()` calls.
        copy_out, copy_xs = build()
        copy_order = topological_order(copy_out)
        for node in copy_order:
            node.grad = 0.0
        copy_out.grad = 1.0
        for node in [n for n in reversed(copy_order) if n._prev][:k]:
            node._backward()
        replayed = grads_after_steps(out, k)
        assert [replayed[n] for n in topological_order(out)] == [n.grad for n in copy_order]
    final = grads_after_steps(out, len(steps))
    for i, x in enumerate(xs):
        assert final[x] == pytest.approx(finite_difference(messy_function, point, i), rel=1e-6, abs=1e-8)


def test_stepper_navigation_and_errors() -> None:
    nodes = lecture_neuron()
    stepper = BackwardStepper(nodes["o"])
    stepper.step(3)
    assert stepper.k == 3
    stepper.back()
    assert stepper.k == 2
    stepper.step(100)
    assert stepper.k == 5 and stepper.done
    stepper.reset()
    assert stepper.k == 0
    assert "step 0 of 5" in Parsed(stepper.draw()).caption
    assert "image/svg+xml" in stepper._repr_mimebundle_()[0]
    with pytest.raises(ValueError, match="has 5 steps, so k must be in 0..5, got 6"):
        stepper.goto(6)
    with pytest.raises(
        ValueError, match=r"BackwardStepper.step\(n\), the number of steps, must be >= 0, got -1"
    ):
        stepper.step(-1)
    with pytest.raises(TypeError, match=r"BackwardStepper.goto\(k\) must be an integer, got float: 1\.0"):
        stepper.goto(1.0)
    with pytest.raises(TypeError, match="expected a Value"):
        BackwardStepper([nodes["o"]])
    with pytest.raises(ValueError, match="k must be in 0..5"):
        draw_backward_steps(nodes["o"], -1)
    source = draw_backward_steps(nodes["o"], 5).source
    assert "every grad is now ∂output/∂node" in source


# ----------------------------------------------------------------------------- large graphs
def engine_mlp_loss(n_samples: int, sizes: list[int], seed: int = 0) -> tuple[Value, list[Value]]:
    """A loss built like microgradnn.nn does it: labelled parameters, dot(w, x) + b, ReLU."""
    rng = random.Random(seed)
    layers = []
    for li, (nin, nout) in enumerate(zip(sizes, sizes[1:])):
        neurons = []
        for ni in range(nout):
            w = [Value(rng.uniform(-1, 1), label=f"layers.{li}.neurons.{ni}.w.{k}") for k in range(nin)]
            b = Value(0.0, label=f"layers.{li}.neurons.{ni}.b")
            neurons.append((w, b))
        layers.append(neurons)
    params = [p for layer in layers for w, b in layer for p in (*w, b)]
    losses = []
    for _ in range(n_samples):
        x: list[Any] = [rng.uniform(-1, 1) for _ in range(sizes[0])]
        for li, layer in enumerate(layers):
            last = li == len(layers) - 1
            x = [(dot(w, x) + b) if last else (dot(w, x) + b).relu() for w, b in layer]
        y = rng.choice([-1.0, 1.0])
        losses.append((1.0 - y * x[0]).relu())
    loss = value_sum(losses) / n_samples + 1e-4 * value_sum(p * p for p in params)
    loss.label = "loss"
    return loss, params


def check_summary(drawing: Drawing, root: Value, max_nodes: int) -> Parsed:
    """Common checks of a summarised drawing; returns it parsed."""
    parsed = Parsed(drawing)
    total = len(topological_order(root))
    assert len(parsed.records) + len(parsed.boxes) <= max_nodes
    # Every node is accounted for: drawn one by one or counted in exactly one box.
    in_boxes = sum(
        int(re.search(r"\n([\d,]+) nodes", label).group(1).replace(",", ""))
        for label in parsed.boxes.values()
    )
    assert len(parsed.records) + in_boxes == total
    note = parsed.note
    assert f"{total:,} nodes, more than max_nodes={max_nodes}" in note
    assert parsed.by_label()[root.label]  # the root is always drawn itself
    return parsed


def test_large_mlp_graph_is_collapsed_by_module() -> None:
    loss, params = engine_mlp_loss(n_samples=40, sizes=[2, 8, 8, 1])
    loss.backward()
    total = len(topological_order(loss))
    assert total > 2000
    drawing = draw_dot(loss, max_nodes=60, repeats=None)  # every sample: boxes hold them all
    parsed = check_summary(drawing, loss, 60)
    names = sorted(label.split("\n")[0] for label in parsed.boxes.values())
    neurons = [n for n in names if n.startswith("layers.")]
    assert neurons[:3] == ["layers.0.neurons.0", "layers.0.neurons.1", "layers.0.neurons.2"]
    assert len(neurons) == 8 + 8 + 1
    # Boxes are drawn in clusters named after the layer that holds them.
    clusters = {sub.graph_attr["label"] for sub in parsed.graph.subgraphs()}
    assert clusters == {"layers.0", "layers.1", "layers.2"}
    # A neuron's box holds its dot, + b and ReLU for every sample, and its parameters.
    box = [label for label in parsed.boxes.values() if label.startswith("layers.0.neurons.3\n")][0]
    assert "40 dot" in box and "40 ReLU" in box and "3 parameters" in box
    note = parsed.note
    assert "made by each module" in note
    svg = render_svg(drawing)
    ET.fromstring(svg)  # renders, and the SVG is well-formed


def test_collapse_coarsens_to_layers_when_neurons_are_too_many() -> None:
    loss, _ = engine_mlp_loss(n_samples=30, sizes=[2, 8, 8, 1])
    parsed = check_summary(draw_dot(loss, max_nodes=15, repeats=None), loss, 15)
    names = {label.split("\n")[0] for label in parsed.boxes.values()}
    assert {"layers.0", "layers.1", "layers.2"} <= names
    assert not any("neurons" in n for n in names)


def test_real_mlp_from_microgradnn_nn_is_collapsed_by_module() -> None:
    nn = pytest.importorskip("microgradnn.nn")
    model = nn.MLP(2, [6, 6, 1], seed=3)
    rng = random.Random(1)
    scores = [model([rng.uniform(-1, 1), rng.uniform(-1, 1)]) for _ in range(60)]
    loss = value_sum((1.0 - s * rng.choice([-1.0, 1.0])).relu() for s in scores) / 60.0
    loss.label = "loss"
    loss.backward()
    parsed = check_summary(draw_dot(loss, max_nodes=40, repeats=None), loss, 40)
    names = {label.split("\n")[0] for label in parsed.boxes.values()}
    assert "layers.0.neurons.5" in names and "layers.2.neurons.0" in names
    assert {p.label for p in model.parameters()} >= {"layers.0.neurons.5.b", "layers.1.neurons.0.w.4"}


def test_an_output_made_by_a_module_is_still_drawn_itself() -> None:
    nn = pytest.importorskip("microgradnn.nn")
    model = nn.MLP(3, [16, 16, 1], seed=0)
    out = model([0.5, -1.0, 2.0])
    out.label = "score"
    out.backward()
    parsed = check_summary(draw_dot(out, max_nodes=20), out, 20)
    score = parsed.by_label()["score"]
    assert parsed.ops[score + "op"] == "+"  # dot(w, x) + b of the last neuron, drawn with its op
    assert any(src.startswith("g") and dst == score + "op" for src, dst, _ in parsed.edges)  # fed by a box


def test_graph_without_labels_is_collapsed_by_distance_from_the_output() -> None:
    rng = random.Random(5)
    pool = [Value(rng.uniform(0.5, 1.5)) for _ in range(20)]
    for _ in range(1500):
        a, b = rng.choice(pool[-30:]), rng.choice(pool)
        pool.append(rng.choice([a + b, a * b, (a * 0.3).tanh() + b]))
    out = value_sum(pool[-5:])
    out.label = "out"
    parsed = check_summary(draw_dot(out, max_nodes=50), out, 50)
    boxes = list(parsed.boxes.values())
    assert boxes and all("from the output" in label for label in boxes)
    note = parsed.note
    assert "by their distance" in note


def test_small_graphs_are_never_summarised_and_none_disables_it() -> None:
    nodes = lecture_neuron()
    assert "summary_note" not in draw_dot(nodes["o"], max_nodes=10).source
    loss, _ = engine_mlp_loss(n_samples=5, sizes=[2, 3, 1])
    parsed = Parsed(draw_dot(loss, max_nodes=None))
    assert len(parsed.records) == len(topological_order(loss))


def moons_loss(n_samples: int = 100, sizes: tuple[int, ...] = (16, 16, 1)) -> tuple[Value, Any]:
    """micrograd's demo loss, built as its notebook builds it: Python's sum over the samples'
    hinge losses, their mean, plus an L2 penalty summed over the parameters."""
    from microgradnn.data import make_moons
    from microgradnn.nn import MLP

    X, y = make_moons(n_samples=n_samples, noise=0.1, seed=1)
    model = MLP(2, list(sizes), seed=1337)
    scores = [model([Value(a), Value(b)]) for a, b in X]
    losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    total = data_loss + reg_loss
    total.backward()
    return total, model


def svg_size_and_smallest_text(drawing: Drawing) -> tuple[float, float, float]:
    """The rendered picture's natural width and height and its smallest text, in CSS px."""
    svg = ET.fromstring(render_svg(drawing))
    sizes = [float(e.get("font-size", "0")) for e in svg.iter() if e.tag.endswith("text")]
    px = 4 / 3  # Graphviz writes points
    width, height = (float(svg.get(k, "0").removesuffix("pt")) * px for k in ("width", "height"))
    return width, height, min(sizes) * px


def test_a_batch_loss_shows_one_sample_and_a_box_for_the_others() -> None:
    loss, model = moons_loss(n_samples=30, sizes=(4, 4, 1))
    total = len(topological_order(loss))
    parsed = check_summary(draw_dot(loss), loss, 150)
    names = [label.split("\n")[0] for label in parsed.boxes.values()]
    assert "… 29 more samples, each like the first (× 30 in all)" in names
    n_params = len(model.parameters())
    assert f"… {n_params - 1} more terms, each like the first (× {n_params} in all)" in names
    # One sample's nodes are drawn or boxed by module; the box of samples holds the other 29
    # (each sample's own nodes and the additions of Python's sum), and reads no parameter.
    samples = next(label for label in parsed.boxes.values() if "more samples" in label)
    per_sample = len(topological_order(model([Value(0.0), Value(0.0)]))) - n_params
    assert f"\n{29 * (per_sample + 4) - 1 + 29 - 1:,} nodes" in samples or "parameter" not in samples
    assert "parameter" not in samples
    # drawn top to bottom with one-row records, compactly
    assert parsed.graph.graph_attr["rankdir"] == "TB"
    assert "A sum of 30 samples of the same shape" in parsed.note
    assert total > 150
    # repeats=3: the first three samples drawn
    names3 = [label.split("\n")[0] for label in Parsed(draw_dot(loss, repeats=3)).boxes.values()]
    assert "… 27 more samples, each like the first 3 (× 30 in all)" in names3
    # repeats=None: no box of samples (the summary by module only, as before)
    plain = Parsed(draw_dot(loss, repeats=None))
    assert not any("more samples" in label for label in plain.boxes.values())
    assert plain.graph.graph_attr["rankdir"] == "LR"
    # max_nodes=None: every node drawn
    assert len(Parsed(draw_dot(loss, max_nodes=None)).records) == total
    with pytest.raises(ValueError, match=r"draw_dot\(repeats\)"):
        draw_dot(loss, repeats=0)


def test_repeats_are_found_from_the_graph_not_from_a_model() -> None:
    # No Module, no labels: y ≈ w·x + b over 12 samples, summed with value_sum (one node).
    w, b = Value(0.5), Value(-1.0)
    terms = [(w * float(i) + b - float(2 * i)) ** 2 for i in range(12)]
    total = value_sum(terms)
    total.label = "L"
    parsed = Parsed(draw_dot(total, max_nodes=20))
    names = [label.split("\n")[0] for label in parsed.boxes.values()]
    assert names == ["… 11 more samples, each like the first (× 12 in all)"]
    # the first sample's records and the shared parameters are drawn, edge into the sum
    assert len(parsed.records) == len(topological_order(terms[0])) + 1
    # Terms of different shapes are not summarised as repeats.
    unlike = []
    for i in range(30):
        term = w * float(i)
        for _ in range(i):  # term i: i tanh deep, a shape of its own
            term = term.tanh()
        unlike.append(term)
    mixed = value_sum(unlike)
    mixed_boxes = Parsed(draw_dot(mixed, max_nodes=20)).boxes.values()
    assert not any("more samples" in label or "more terms" in label for label in mixed_boxes)


def test_micrograds_moons_loss_fits_one_screen_with_readable_text() -> None:
    loss, _ = moons_loss()
    assert len(topological_order(loss)) > 11_000
    width, height, smallest = svg_size_and_smallest_text(draw_dot(loss))
    assert width <= 1600 and height <= 1200 and smallest >= 9, (width, height, smallest)


def test_module_path_from_dotted_parameter_names() -> None:
    assert module_path("layers.0.neurons.3.w.1") == ("layers", "0", "neurons", "3")
    assert module_path("layers.0.neurons.3.b") == ("layers", "0", "neurons", "3")
    assert module_path("encoder.attn.q") == ("encoder", "attn")
    assert module_path("w1") is None and module_path("w.0") is None and module_path("a..b") is None


# ----------------------------------------------------------------------------- rendering with dot
def test_save_writes_svg_png_and_dot(tmp_path: Path) -> None:
    nodes = lecture_neuron()
    nodes["o"].backward()
    drawing = draw_dot(nodes["o"], local_grads=True)
    svg_path = save(drawing, tmp_path / "neuron.svg")
    root = ET.parse(svg_path).getroot()
    assert root.tag.endswith("svg")
    texts = {t.text for t in root.iter() if t.tag.endswith("text")}
    assert {"x1", "data 0.7071", "grad 1.0000", "tanh"} <= texts
    png = save(drawing, tmp_path / "neuron.PNG").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert save(drawing, tmp_path / "neuron.dot").read_text(encoding="utf-8") == drawing.source
    with pytest.raises(ValueError, match=r"\.jpg.*use a \.svg, \.png or \.dot file"):
        save(drawing, tmp_path / "neuron.jpg")
    assert not (tmp_path / "neuron.jpg").exists()


def test_jupyter_display_is_svg_with_dot() -> None:
    nodes = lecture_neuron()
    drawing = draw_dot(nodes["o"])
    bundle, metadata = drawing._repr_mimebundle_()
    # The picture three ways (issue #18): HTML for JupyterLab trusted or not, VS Code and
    # nbconvert; a PNG for front-ends without HTML or SVG; the SVG itself.
    assert sorted(bundle) == ["image/png", "image/svg+xml", "text/html"]
    svg = ET.fromstring(bundle["image/svg+xml"])
    assert drawing._repr_svg_() == bundle["image/svg+xml"]
    natural = float(svg.get("width", "0").removesuffix("pt")) * 4 / 3  # CSS px
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    png_width, png_height = struct.unpack(">II", png[16:24])
    # Drawn at 2x, with its natural width in the metadata so it is shown at natural size.
    assert metadata == {"image/png": {"width": round(natural)}}
    # ... but a picture wider than 1,600 px, shown shrunk, gets 2 pixels per CSS px of a 1,600 px area
    assert natural > 1600 and abs(png_width - 3200) <= 4, (png_width, natural)
    small = Value(2.0, label="a").tanh()
    bundle_small, metadata_small = draw_dot(small)._repr_mimebundle_()
    small_png = base64.b64decode(bundle_small["image/png"])
    small_width = metadata_small["image/png"]["width"]
    assert small_width < 1600 and abs(struct.unpack(">I", small_png[16:20])[0] - 2 * small_width) <= 4
    html = re.fullmatch(
        r'<div style="overflow-x:auto;max-width:100%">'
        r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)" '
        r'width="(\d+)" style="max-width:100%;height:auto;cursor:zoom-in" onclick="[^"]+" [^<>]*></div>',
        bundle["text/html"],
    )
    assert html, bundle["text/html"][:300]
    assert int(html.group(2)) == round(natural)
    assert base64.b64decode(html.group(1)).decode("utf-8") == render_svg(drawing)
    from IPython.core.formatters import DisplayFormatter

    data, shown_metadata = DisplayFormatter().format(drawing)
    assert {"text/html", "image/png", "image/svg+xml", "text/plain"} <= set(data)
    assert shown_metadata == metadata
    # fit=False: natural size, the PNG unconfined (JupyterLab's name for "do not shrink")
    bundle, metadata = draw_dot(nodes["o"], fit=False)._repr_mimebundle_()
    assert metadata["image/png"]["unconfined"] is True
    assert "max-width:none" in bundle["text/html"] and 'style="max-width' not in bundle["image/svg+xml"]


def test_a_small_dot_node_lists_which_weight_multiplies_which_input() -> None:
    w = [Value(0.5, label="w1"), Value(-2.0, label="w2")]
    x = [Value(3.0, label="x1"), Value(1.0, label="x2")]
    source = draw_dot(dot(w, x)).source
    assert re.search(r'label="dot\\nw1·x1 \+ w2·x2"', source), source
    # long (a network's dotted names) or missing labels: just "dot", the node stays small
    long = [Value(0.5, label="layers.0.neurons.0.w.0"), Value(1.0, label="layers.0.neurons.0.w.1")]
    assert "·" not in draw_dot(dot(long, x)).source
    assert "·" not in draw_dot(dot([Value(1.0), Value(2.0)], x)).source
    assert "·" not in draw_dot(dot([Value(1.0, label=f"w{i}") for i in range(5)], [1.0] * 5)).source


def test_jupyter_shrinks_a_wide_graph_to_the_page_and_save_keeps_its_size(tmp_path: Path) -> None:
    x = [Value(float(i), label=f"x{i}") for i in range(3)]
    wide = value_sum([(xi * float(k)).tanh() for xi in x for k in range(1, 5)])
    wide.backward()
    drawing = draw_dot(wide)
    svg_ns = "{http://www.w3.org/2000/svg}svg"
    shown = ET.fromstring(drawing._repr_mimebundle_()[0]["image/svg+xml"])
    saved = ET.fromstring(save(drawing, tmp_path / "wide.svg").read_text(encoding="utf-8"))
    assert shown.tag == saved.tag == svg_ns
    assert shown.get("style") == "max-width:100%;height:auto" and saved.get("style") is None
    # the same picture, natural size and viewBox, in both: only the display may shrink it
    assert shown.get("width") == saved.get("width") and shown.get("viewBox") == saved.get("viewBox")
    assert float(saved.get("width", "0").removesuffix("pt")) > 800  # wider than a laptop's notebook
    stepper = BackwardStepper(wide)
    stepper.step()
    stepped = ET.fromstring(stepper._repr_mimebundle_()[0]["image/svg+xml"])
    assert stepped.get("style") == "max-width:100%;height:auto"


def test_display_never_raises_even_for_source_graphviz_rejects() -> None:
    drawing = draw_dot(Value(1.0, label="x"))
    drawing.body.append("\tbroken -> -> {{{\n")
    bundle, metadata = drawing._repr_mimebundle_()
    assert list(bundle) == ["text/plain"] and metadata == {}
    hint, source = bundle["text/plain"].split("\n", 1)
    assert "could not draw this graph" in hint and source == drawing.source
    with pytest.raises(RenderError, match="could not draw this graph"):
        render_svg(drawing)


# ----------------------------------------------------------------------------- fallbacks
FALLBACK_SCRIPT = """
import json, shutil, sys
if sys.argv[1] == "blocked":
    sys.modules["pygraphviz"] = None  # import pygraphviz now raises ImportError
from microgradnn.engine import Value
from microgradnn.viz import RenderError, draw_dot, save
from IPython.core.formatters import DisplayFormatter
x, w = Value(2.0, label="x"), Value(-3.0, label="w")
out = (x * w).tanh()
out.label = "out"
out.backward()
d = draw_dot(out, local_grads=True)
report = {"dot_on_path": shutil.which("dot"), "source": d.source}
report["bundle"] = d._repr_mimebundle_()[0]
report["ipython"] = sorted(DisplayFormatter().format(d)[0])
for suffix in ("svg", "png", "dot"):
    path = sys.argv[2] + "/neuron." + suffix
    try:
        save(d, path)
        report[suffix] = open(path, "rb").read()[:8].hex()
    except RenderError as exc:
        report[suffix] = "RenderError: " + str(exc)
        import os
        report[suffix + "_file_left"] = os.path.exists(path)
print(json.dumps(report))
"""


def run_fallback(mode: str, tmp_path: Path) -> tuple[dict, str]:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = run_python(
        FALLBACK_SCRIPT.replace("sys.argv[1]", repr(mode)).replace("sys.argv[2]", repr(str(tmp_path))),
        path=str(empty),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_without_dot_pygraphviz_renders_and_stays_quiet(tmp_path: Path) -> None:
    report, stderr = run_fallback("available", tmp_path)
    assert report["dot_on_path"] is None
    svg = report["bundle"]["image/svg+xml"]
    assert "<svg" in svg and ">out</text>" in svg
    # the PNG beside it, from the same fallback
    assert base64.b64decode(report["bundle"]["image/png"]).startswith(b"\x89PNG")
    assert "image/svg+xml" in report["ipython"]
    assert bytes.fromhex(report["png"]) == b"\x89PNG\r\n\x1a\n"
    assert bytes.fromhex(report["svg"]).startswith(b"<?xml")
    assert "Fontconfig" not in stderr  # the bundled Graphviz's font warnings are kept out of sight


def test_without_dot_or_pygraphviz_display_shows_source_and_save_explains(tmp_path: Path) -> None:
    report, _ = run_fallback("blocked", tmp_path)
    text = report["bundle"]["text/plain"]
    assert list(report["bundle"]) == ["text/plain"]
    hint, source = text.split("\n", 1)
    assert source == report["source"]  # the DOT source, whole
    assert "apt-get install graphviz" in hint and "pip install 'microgradnn[render]'" in hint
    assert report["ipython"] == ["text/plain"]  # IPython's own formatter shows it without error
    for suffix in ("svg", "png"):
        message = report[suffix]
        assert message.startswith("RenderError: cannot render " + suffix.upper())
        assert "apt-get install graphviz" in message and "pip install 'microgradnn[render]'" in message
        assert report[suffix + "_file_left"] is False
    assert bytes.fromhex(report["dot"]) == b"digraph "  # .dot needs no Graphviz


@pytest.mark.parametrize("kwargs", [
    {"filename": "g", "format": "svg"},
    {"outfile": "out/p.png"},
    {"filename": "d.gv", "directory": "sub", "format": "svg", "renderer": "cairo"},
    {"filename": "c", "format": "svg", "cleanup": True},
])  # fmt: skip
def test_drawing_render_names_and_fills_its_files_as_graphviz_does(
    kwargs: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Drawing.render` writes atomically, but the same files, by the same names, as graphviz."""
    ours = draw_dot(Value(1.5, label="a").tanh())
    written = {}
    for who, drawing in (("ours", ours), ("graphviz", graphviz.Source(ours.source))):
        (tmp_path / who).mkdir()
        monkeypatch.chdir(tmp_path / who)
        path = drawing.render(**kwargs)
        files = sorted(str(p.relative_to(tmp_path / who)) for p in (tmp_path / who).rglob("*") if p.is_file())
        written[who] = (path, files, Path(path).read_bytes())
    assert written["ours"][:2] == written["graphviz"][:2]
    if kwargs.get("format") == "svg":  # same source, same Graphviz: the same picture
        assert written["ours"][2] == written["graphviz"][2]
    assert written["ours"][2]
