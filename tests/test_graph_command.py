"""The ``microgradnn graph`` command, end to end.

Values and gradients it prints are checked against closed forms, sympy and finite
differences; the pictures it writes are parsed; hostile expressions must be refused with a
one-line error (exit status 2) without anything being evaluated.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pygraphviz
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradnn.cli import main
from microgradnn.graph_command import MAX_EXPONENT, ExpressionError, parse_bindings, parse_expression
from microgradnn.testing import gradcheck

PYTHON = sys.executable
REPO = Path(__file__).resolve().parent.parent
NEURON = "tanh(x1*w1 + x2*w2 + b)"
NEURON_AT = ["x1=2", "x2=0", "w1=-3", "w2=1", "b=6.8813735870195432"]


def graph(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``microgradnn graph ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        status = main(["graph", *args])
    except SystemExit as exc:  # argparse's own usage errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def printed(out: str) -> tuple[float, dict[str, float]]:
    """The output value and the gradients the command printed."""
    value = float(re.search(r"^output = (\S+)$", out, re.M).group(1))
    grads = {
        m.group(1): float(m.group(2)) for m in re.finditer(r"^d\(output\)/d\((\w+)\) = (\S+)", out, re.M)
    }
    return value, grads


def neuron_closed_form() -> tuple[float, dict[str, float]]:
    x1, x2, w1, w2, b = 2.0, 0.0, -3.0, 1.0, 6.8813735870195432
    o = math.tanh(x1 * w1 + x2 * w2 + b)
    d = 1 - o * o  # d tanh(n)/dn
    return o, {"x1": w1 * d, "x2": w2 * d, "w1": x1 * d, "w2": x2 * d, "b": d}


# ----------------------------------------------------------------------------- the lecture neuron
def test_neuron_values_gradients_and_svg(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "neuron.svg"
    status, out, err = graph(capsys, NEURON, "--at", *NEURON_AT, "-o", str(target))
    assert status == 0, err
    value, grads = printed(out)
    expected_value, expected_grads = neuron_closed_form()
    assert value == pytest.approx(expected_value, rel=1e-12)
    assert list(grads) == ["x1", "x2", "w1", "w2", "b"]  # every input, in --at order
    for name, g in expected_grads.items():
        assert grads[name] == pytest.approx(g, rel=1e-12, abs=1e-15)
    assert f"wrote {target}" in out
    texts = {t.text for t in ET.parse(target).getroot().iter() if t.tag.endswith("text")}
    assert {"x1", "w1", "b", "x1*w1", "tanh", "data 0.7071", "grad -1.5000"} <= texts


def test_dot_output_labels_every_node_with_its_piece_of_the_expression(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "neuron.dot"
    status, _, err = graph(capsys, NEURON, "--at", *NEURON_AT, "-o", str(target))
    assert status == 0, err
    parsed = pygraphviz.AGraph(string=target.read_text(encoding="utf-8"))
    labels = sorted(
        n.attr["label"].split(" | ")[0][2:] for n in parsed.nodes() if n.attr.get("shape") == "record"
    )
    assert labels == sorted(
        ["x1", "x2", "w1", "w2", "b", "x1*w1", "x2*w2", "x1*w1 + x2*w2", "x1*w1 + x2*w2 + b", NEURON]
    )


def test_png_is_written(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "neuron.png"
    status, _, err = graph(capsys, NEURON, "--at", *NEURON_AT, "-o", str(target))
    assert status == 0, err
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_teaching_options_reach_the_picture(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "n.dot"
    args = ["--local-grads", "--order", "--color", "role", "--params", "w1", "w2", "b", "--rankdir", "TB"]
    status, _, err = graph(capsys, NEURON, "--at", *NEURON_AT, "-o", str(target), *args)
    assert status == 0, err
    parsed = pygraphviz.AGraph(string=target.read_text(encoding="utf-8"))
    assert parsed.graph_attr["rankdir"] == "TB"
    edge_labels = [parsed.get_edge(u, v, k).attr["label"] for u, v, k in parsed.edges(keys=True)]
    assert "∂=-3.0000" in edge_labels  # ∂(x1*w1)/∂x1 = w1
    ops = sorted(n.attr["label"] for n in parsed.nodes() if str(n).endswith("op"))
    assert ops == ["* #4", "* #5", "+ #2", "+ #3", "tanh #1"]
    fills = {
        n.attr["label"].split(" | ")[0][2:]: n.attr["fillcolor"]
        for n in parsed.nodes()
        if n.attr.get("fillcolor")
    }
    assert fills["w1"] == fills["b"] != fills["x1"]


def test_step_draws_the_graph_part_way_through_backward(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "step.dot"
    status, out, err = graph(capsys, NEURON, "--at", *NEURON_AT, "-o", str(target), "--step", "1")
    assert status == 0, err
    source = target.read_text(encoding="utf-8")
    assert "backward, step 1 of 5" in source
    assert re.search(r"\{ x1 \| data 2\.0000 \| grad 0\.0000 \}", source)  # not reached after one step
    assert printed(out)[1]["x1"] == pytest.approx(neuron_closed_form()[1]["x1"])  # printed grads are final
    status, _, err = graph(capsys, NEURON, "--at", *NEURON_AT, "-o", str(target), "--step", "9")
    assert status == 2 and "--step must be between 0 and 5 (this backward has 5 steps)" in err
    status, _, err = graph(capsys, NEURON, "--at", *NEURON_AT, "-o", str(target), "--step", "-1")
    assert status == 2 and "--step must be between 0 and 5" in err
    status, _, err = graph(capsys, "x*y", "--at", "x=1", "y=2", "-o", str(target), "--step", "2")
    assert status == 2 and "(this backward has 1 step)" in err
    status, _, err = graph(capsys, NEURON, "--at", *NEURON_AT, "--step", "1")
    assert status == 2 and "--step draws a picture: give -o FILE too" in err


# ----------------------------------------------------------------------------- gradients vs oracles
def test_smooth_expression_matches_sympy(capsys: pytest.CaptureFixture[str]) -> None:
    text = "x*exp(-y) + log(x + y)/tanh(y) - sigmoid(x)**2 + x**y - 2**(x*y) + 3/x"
    at = {"x": 1.3, "y": 0.7}
    status, out, err = graph(capsys, text, "--at", *(f"{k}={v}" for k, v in at.items()))
    assert status == 0, err
    x, y = sympy.symbols("x y")
    expr = (
        x * sympy.exp(-y)
        + sympy.log(x + y) / sympy.tanh(y)
        - (1 / (1 + sympy.exp(-x))) ** 2
        + x**y
        - 2 ** (x * y)
        + 3 / x
    )
    subs = {x: sympy.Rational(13, 10), y: sympy.Rational(7, 10)}
    value, grads = printed(out)
    assert value == pytest.approx(float(expr.subs(subs)), rel=1e-12)
    for name, sym in (("x", x), ("y", y)):
        assert grads[name] == pytest.approx(float(sympy.diff(expr, sym).subs(subs)), rel=1e-10)


def test_kinked_functions_match_finite_differences(capsys: pytest.CaptureFixture[str]) -> None:
    text = "relu(x - y) + abs(y - 2*x) + leaky_relu(-x, 0.2) + leaky_relu(y) - (-x)*y"

    def f(x: Any, y: Any) -> Any:  # on floats or on Values
        lr = lambda v, a: v if v > 0 else a * v  # noqa: E731
        return max(x - y, 0.0) + abs(y - 2 * x) + lr(-x, 0.2) + lr(y, 0.01) - (-x) * y

    point = {"x": 0.9, "y": -0.4}
    status, out, err = graph(capsys, text, "--at", "x=0.9", "y=-0.4")
    assert status == 0, err
    value, grads = printed(out)
    assert value == pytest.approx(f(**point), rel=1e-12)
    numeric = [row.numeric for row in gradcheck(f, [0.9, -0.4], eps=1e-6).rows]  # central differences
    assert [grads["x"], grads["y"]] == pytest.approx(numeric, rel=1e-6)


def test_a_bare_variable_a_constant_and_an_unused_binding(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = graph(capsys, "x", "--at", "x=5", "z=1")
    assert status == 0
    value, grads = printed(out)
    assert value == 5.0 and grads == {"x": 1.0, "z": 0.0}
    assert "d(output)/d(z) = 0.0   (not used in the expression)" in out
    assert "(add -o graph.svg to draw the graph)" in out
    status, out, _ = graph(capsys, "2 * 3 - 1")
    assert status == 0 and printed(out) == (5.0, {})


def test_same_variable_twice_is_one_node(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "sq.dot"
    status, out, _ = graph(capsys, "x*x + x", "--at", "x=3", "-o", str(target))
    assert status == 0 and printed(out)[1] == {"x": 7.0}
    parsed = pygraphviz.AGraph(string=target.read_text(encoding="utf-8"))
    (x_node,) = [n for n in parsed.nodes() if n.attr.get("label", "").startswith("{ x |")]
    assert len(parsed.out_edges(x_node)) == 3


# ----------------------------------------------------------------------------- refusals
HOSTILE = [
    ("__import__('os').system('touch PWNED')", "attribute access"),
    ("__import__('os')", "calling '__import__' is not allowed"),
    ("x.__class__", "attribute access"),
    ("x.exp()", "attribute access"),
    ("open('PWNED', 'w')", "calling 'open' is not allowed"),
    ("print(x)", "calling 'print' is not allowed"),
    ("eval('1')", "calling 'eval' is not allowed"),
    ("(lambda: 1)()", "calling an expression"),
    ("lambda: 1", "lambda"),
    ("[x for x in (1, 2)]", "comprehensions"),
    ("sum(x for x in (1, 2))", "calling 'sum' is not allowed"),
    ("(x for x in (1,))", "generator expressions"),
    ("'abc'", "strings"),
    ("f'{x}'", "strings"),
    ("b'x'", "bytes"),
    ("x[0]", "indexing"),
    ("[x]", "lists"),
    ("(x, x)", "tuples"),
    ("{x: 1}", "dicts"),
    ("x < 1", "comparisons"),
    ("x and 1", "and/or"),
    ("not x", "the operator not"),
    ("x if x else 1", "conditional expressions"),
    ("(y := 2)", "assignment (:=)"),
    ("x // 2", "the operator //"),
    ("x % 2", "the operator %"),
    ("x ^ 2", "for powers write **"),
    ("x @ x", "the operator @"),
    ("~x", "the operator ~"),
    ("True + x", "True/False"),
    ("None", "None"),
    ("1j * x", "complex numbers"),
    ("exp(x=1)", "keyword arguments are not allowed"),
    ("exp(*[x])", "starred"),
    ("exp(x, x)", "exp() takes 1 argument, got 2"),
    ("leaky_relu(x, x)", "alpha must be a number"),
    ("exp + 1", "'exp' is a function"),
    ("x ** 10**10", "exponent"),
    ("9 ** 9 ** 9 ** 9", "exponent"),
    ("2 ** 100000000", "exponent"),
    ("x ** -5000", "exponent"),
    ("x ** 1e999", "exponent"),
    ("x +", "not a valid expression"),
    ("import os", "not a valid expression"),
    ("x = 1", "not a valid expression"),
    ("x\n+1", "one line"),
    ("", "the expression is empty"),
    ("   ", "the expression is empty"),
    ("(" * 300 + "x" + ")" * 300, "too many nested parentheses"),
    ("+" * 1000 + "x", "too large"),
    ("+".join(["x"] * 400), "too large"),
    ("x" * 3000, "too long"),
]


@pytest.mark.parametrize(("expression", "complaint"), HOSTILE, ids=[h[0][:30] for h in HOSTILE])
def test_hostile_expressions_are_refused(
    expression: str,
    complaint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "out.svg"
    status, out, err = graph(capsys, expression, "--at", "x=2", "-o", str(target))
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("microgradnn graph: error: "), err
    assert complaint in err
    assert not target.exists() and not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    ("expression", "hint"),
    [
        ("2x", "write 2*x for multiplication"),
        ("3.5 w + b", "write 3.5*w for multiplication"),
        ("x y", "write x*y for multiplication"),
        ("tanh(2x)", "write 2*x for multiplication"),
    ],
)
def test_a_product_without_star_is_explained(expression: str, hint: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(hint)) as caught:
        parse_expression(expression)
    assert "decimal literal" not in str(caught.value)


def test_other_syntax_errors_keep_pythons_message() -> None:
    with pytest.raises(ExpressionError, match="'\\(' was never closed"):
        parse_expression("tanh(x")


def test_parse_expression_reports_the_names_it_uses() -> None:
    assert parse_expression("tanh(x1*w1 + b) - x1").names == ["x1", "w1", "b"]
    with pytest.raises(ExpressionError, match="exponent 2000 is too large"):
        parse_expression(f"x ** {2 * int(MAX_EXPONENT)}")


def test_unbound_names_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = graph(capsys, "x*y + z*w", "--at", "x=1", "w=2")
    assert status == 2
    assert "'y', 'z' are not bound: add --at y=... z=..." in err
    status, _, err = graph(capsys, "exp(q)")
    assert status == 2 and "'q' is not bound: add --at q=..." in err


@pytest.mark.parametrize(
    ("pairs", "complaint"),
    [
        (["x"], "expected NAME=NUMBER"),
        (["=2"], "'' is not a valid variable name"),
        (["1x=2"], "'1x' is not a valid variable name"),
        (["for=2"], "'for' is not a valid variable name"),
        (["x=abc"], "'abc' is not a number"),
        (["x="], "'' is not a number"),
        (["x=1_000"], "'1_000' is not a number"),
        (["x=1", "x=2"], "'x' is given twice"),
        (["exp=1"], "'exp' is a function's name"),
    ],
)
def test_malformed_bindings_are_refused(
    pairs: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ExpressionError, match=re.escape(complaint)):
        parse_bindings(pairs)
    status, _, err = graph(capsys, "x", "--at", *pairs)
    assert status == 2 and complaint in err and err.count("\n") == 1


def test_bindings_accept_signs_exponents_and_ieee_specials() -> None:
    assert parse_bindings(["a=-3", "b=+2.5", "c=1e-3", "d=inf"]) == {
        "a": -3.0,
        "b": 2.5,
        "c": 1e-3,
        "d": math.inf,
    }


@pytest.mark.parametrize(
    ("expression", "at", "complaint"),
    [
        ("log(x - 3)", "x=2", "log: input must be positive"),
        ("1/(x - 2)", "x=2", "division by zero"),
        ("(x - 5)**y", "x=2 y=0.5", "base must be positive"),
        ("exp(x)", "x=1000", "too large for a float"),
        ("x ** y", "x=2 y=5000", "the exponent 5000 is too large"),
    ],
)
def test_values_where_the_expression_cannot_be_computed(
    expression: str, at: str, complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = graph(capsys, expression, "--at", *at.split())
    assert status == 2 and out == "" and complaint in err and err.count("\n") == 1


def test_output_file_problems(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = graph(capsys, "x", "--at", "x=1", "-o", str(tmp_path / "g.jpg"))
    assert status == 2 and "cannot tell the picture format ('.jpg'); use .svg, .png, .dot or .html" in err
    status, _, err = graph(capsys, "x", "--at", "x=1", "-o", str(tmp_path / "graph"))
    assert status == 2 and "(no suffix)" in err
    status, _, err = graph(capsys, "x", "--at", "x=1", "-o", str(tmp_path / "missing" / "g.dot"))
    assert status == 1 and "cannot write" in err and err.count("\n") == 1
    status, _, err = graph(capsys, "x", "--at", "x=1", "--params", "w", "-o", str(tmp_path / "g.dot"))
    assert status == 2 and "--params w: not bound by --at" in err


# ----------------------------------------------------------------------------- as a real command
def run_command(
    *args: str, env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "microgradnn", "graph", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


def test_command_line_end_to_end(tmp_path: Path) -> None:
    target = tmp_path / "neuron.svg"
    result = run_command(NEURON, "--at", *NEURON_AT, "-o", str(target))
    assert result.returncode == 0, result.stderr
    value, grads = printed(result.stdout)
    expected_value, expected_grads = neuron_closed_form()
    assert value == pytest.approx(expected_value) and grads == pytest.approx(expected_grads)
    ET.parse(target)
    hostile = run_command("__import__('os').system('touch PWNED')", cwd=tmp_path)
    assert hostile.returncode == 2 and hostile.stdout == "" and hostile.stderr.count("\n") == 1
    assert not (tmp_path / "PWNED").exists()


def test_command_without_any_graphviz_explains_and_still_writes_dot(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = dict(os.environ, PATH=str(empty))
    code = (
        "import sys; sys.modules['pygraphviz'] = None\n"
        "from microgradnn.cli import main\n"
        "sys.exit(main(['graph', 'x*y', '--at', 'x=2', 'y=3', '-o', sys.argv[1]]))\n"
    )
    svg = subprocess.run(
        [PYTHON, "-c", code, str(tmp_path / "g.svg")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert svg.returncode == 1
    assert svg.stderr.count("\n") == 1
    assert "apt-get install graphviz" in svg.stderr and "pip install 'microgradnn[render]'" in svg.stderr
    assert "d(output)/d(x) = 3.0" in svg.stdout  # the numbers are still printed
    assert not (tmp_path / "g.svg").exists()
    dot = subprocess.run(
        [PYTHON, "-c", code, str(tmp_path / "g.dot")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert dot.returncode == 0, dot.stderr
    assert (tmp_path / "g.dot").read_text(encoding="utf-8").startswith("digraph {")


# ------------------------------------------------- errors: one line, status 2 or 1, any terminal
ASCII_TERMINAL = dict(os.environ, PYTHONIOENCODING="ascii")


def assert_one_line_error(result: subprocess.CompletedProcess, status: int, complaint: str) -> None:
    assert result.returncode == status, (result.returncode, result.stderr)
    assert result.stderr.startswith("microgradnn graph: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and complaint in result.stderr, result.stderr


def test_a_non_ascii_name_on_an_ascii_terminal_is_printed_escaped() -> None:
    result = run_command("é*2", "--at", "é=1", env=ASCII_TERMINAL)
    assert result.returncode == 0 and result.stderr == ""
    assert "d(output)/d(\\xe9) = 2.0" in result.stdout


@pytest.mark.parametrize(
    "args, complaint",
    [
        (["y*2", "--at", "y=é"], "--at 'y=\\xe9': '\\xe9' is not a number"),
        (["x × y", "--at", "x=1", "y=2"], "invalid character '\\xd7' (U+00D7)"),
        (["x", "--at", "é"], "--at '\\xe9': expected NAME=NUMBER"),
        (["x", "--at", "x=1", "--color", "é"], "invalid choice: '\\xe9'"),
        (["ξ", "--at", "x=1"], "'\\u03be' is not bound"),
    ],
)
def test_bad_non_ascii_input_on_an_ascii_terminal_is_one_line(args: list[str], complaint: str) -> None:
    assert_one_line_error(run_command(*args, env=ASCII_TERMINAL), 2, complaint)


def test_help_on_an_ascii_terminal_documents_the_exit_statuses() -> None:
    result = run_command("--help", env=ASCII_TERMINAL)
    assert result.returncode == 0 and result.stderr == ""
    assert "\\u2202out/\\u2202in" in result.stdout  # --local-grads' help, escaped, not a crash
    text = " ".join(result.stdout.split())
    assert "Exit status: 0 when done; 2 for bad input" in text and "1 when the picture" in text


def test_a_non_ascii_output_file_on_an_ascii_terminal(tmp_path: Path) -> None:
    result = run_command("x", "--at", "x=1", "-o", str(tmp_path / "é.dot"), env=ASCII_TERMINAL)
    assert result.returncode == 0 and result.stderr == ""
    assert (tmp_path / "é.dot").read_text(encoding="utf-8").startswith("digraph")
    assert result.stdout.endswith("\\xe9.dot\n")


def test_bytes_that_are_not_utf8_in_the_arguments(tmp_path: Path) -> None:
    # Linux hands such bytes to Python as lone surrogates; nothing may fail on them.
    result = subprocess.run(
        [PYTHON, "-m", "microgradnn", "graph", b"x\xff", "--at", "x=1"],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert_one_line_error(result, 2, "not a valid expression")
    target = os.fsencode(tmp_path) + b"/\xff.dot"
    result = subprocess.run(
        [PYTHON, "-m", "microgradnn", "graph", "x", "--at", "x=1", "-o", target],
        capture_output=True, cwd=REPO, timeout=60,
    )
    assert result.returncode == 0 and result.stderr == b"" and os.path.exists(target)


def test_ligature_names_are_read_as_python_reads_them() -> None:
    # Python reads the name 'ﬁ' (one ligature character) in an expression as 'fi'.
    result = run_command("ﬁ*2", "--at", "ﬁ=3")
    assert result.returncode == 0 and "d(output)/d(fi) = 2.0" in result.stdout


@pytest.mark.parametrize(
    "name, complaint",
    [
        ("", "-o: the file name is empty"),
        ("g.svg/", "ends with '/', so it names a folder"),
        ("graph", "cannot tell the picture format (no suffix)"),
    ],
)
def test_output_names_refused_before_anything_is_written(name: str, complaint: str, tmp_path: Path) -> None:
    result = run_command("x", "--at", "x=1", "-o", name, cwd=tmp_path)
    assert_one_line_error(result, 2, complaint)
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


def test_nul_characters_are_refused_in_the_output_name_and_the_expression(tmp_path: Path) -> None:
    # A real command line cannot carry a NUL; a program calling main() can. The arguments
    # travel as JSON, which writes the NUL as \u0000.
    code = "import json, sys\nfrom microgradnn.cli import main\nsys.exit(main(json.loads(sys.argv[1])))\n"
    for args, complaint in [
        (["x", "--at", "x=1", "-o", "a\0b.svg"], "-o 'a\\x00b.svg': a file name cannot contain a NUL"),
        (["x\0", "--at", "x=1"], "not a valid expression"),
        (["x", "--at", "x=1\0"], "is not a number"),
    ]:
        result = subprocess.run(
            [PYTHON, "-c", code, json.dumps(["graph", *args])],
            capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=60,
        )
        assert_one_line_error(result, 2, complaint)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "case", ["missing folder", "a folder in its place", "a file in the path", "a newline"]
)
def test_an_output_that_cannot_be_written_is_status_1(case: str, tmp_path: Path) -> None:
    (tmp_path / "g.dot").mkdir()
    (tmp_path / "file").write_text("")
    target, complaint = {
        "missing folder": (tmp_path / "missing" / "g.dot", "No such file or directory"),
        "a folder in its place": (tmp_path / "g.dot", "is a folder; give the name of a file"),
        "a file in the path": (tmp_path / "file" / "g.dot", "Not a directory"),
        "a newline": (tmp_path / "no\nfolder" / "g.dot", "no\\nfolder/g.dot': No such file"),
    }[case]
    result = run_command("x*y", "--at", "x=2", "y=3", "-o", str(target))
    assert_one_line_error(result, 1, complaint)
    assert "d(output)/d(x) = 3.0" in result.stdout  # the numbers were still printed


def test_a_read_only_folder_is_status_1(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write into a read-only folder")
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o500)
    try:
        result = run_command("x", "--at", "x=1", "-o", str(folder / "g.dot"))
        assert_one_line_error(result, 1, "Permission denied")
    finally:
        os.chmod(folder, 0o700)


def test_standard_output_full_closed_or_a_broken_pipe_is_status_1() -> None:
    if os.path.exists("/dev/full"):
        with open("/dev/full", "w") as full:
            result = subprocess.run(
                [PYTHON, "-m", "microgradnn", "graph", "x", "--at", "x=1"],
                stdout=full, stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=60,
            )
        assert_one_line_error(result, 1, "cannot write to standard output: No space left on device")
    closed = subprocess.run(
        [PYTHON, "-m", "microgradnn", "graph", "x", "--at", "x=1"],
        stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=60, preexec_fn=lambda: os.close(1),
    )
    assert_one_line_error(closed, 1, "standard output is closed")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first line: `microgradnn graph ... | head -0`
    try:
        broken = subprocess.run(
            [PYTHON, "-m", "microgradnn", "graph", "x", "--at", "x=1"],
            stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=60,
        )
    finally:
        os.close(write_end)
    assert broken.returncode == 1 and broken.stderr == ""  # quiet, like any filter, and no traceback


# Pieces of expressions and arguments: valid ones, operators, and what breaks naive code
# (control characters, NUL, non-ASCII letters and digits, quotes, option-like dashes).
PIECES = st.sampled_from(
    ["x", "y", "é", "ﬁ", "2", "1e999", "-", "+", "*", "/", "**", "(", ")", ",", "=", " ", "\n", "\0",
     "\t", "\x1b", "\u2028", "tanh", "exp", "log", "'", '"', "__import__", ".", "--", "-o", "١", "\udcff"]
)
TEXTS = st.lists(PIECES, max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(expression=TEXTS, at=st.lists(TEXTS, max_size=3), output=st.none() | TEXTS)
def test_any_input_gives_a_status_and_at_most_one_line_of_error(
    expression: str, at: list[str], output: str | None
) -> None:
    args = ["graph", expression, "--at", *at] if at else ["graph", expression]
    with tempfile.TemporaryDirectory() as folder:
        if output is not None:
            args += ["-o", os.path.join(folder, output + ".dot")]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(args)
            except SystemExit as exc:  # argparse's own usage errors
                status = exc.code
    assert status in (0, 1, 2)
    if status == 0:
        assert err.getvalue() == "" and out.getvalue().startswith("output = ")
    else:
        # argparse reports arguments it does not know at the top level: "microgradnn: error: ..."
        assert err.getvalue().startswith(("microgradnn graph: error: ", "microgradnn: error: "))
        assert err.getvalue().count("\n") == 1, err.getvalue()
