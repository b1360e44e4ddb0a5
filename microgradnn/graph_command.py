"""``microgradnn graph``: draw the computation graph of a formula typed on the command line.

``microgradnn graph "tanh(x1*w1 + x2*w2 + b)" --at x1=2 x2=0 w1=-3 w2=1 b=6.88 -o neuron.svg``
builds the expression on Values, runs backward, prints the output's value and every input's
gradient, and writes the picture (.svg, .png or .dot by the file's suffix; .html writes the
interactive explorer of ``microgradnn.viz.explore``).

The expression is *parsed* with Python's ``ast`` and interpreted node by node here; it is
never evaluated by Python. Only numbers, names bound by ``--at``, ``+ - * / **``, unary ``-``
and the engine's functions are accepted; anything else is rejected with a one-line error.
"""

from __future__ import annotations

import argparse
import ast
import errno
import keyword
import math
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from microgradnn.cli import one_line
from microgradnn.engine import Value
from microgradnn.ops import OPS

__all__ = ["ExpressionError", "Expression", "add_parser", "parse_bindings", "parse_expression", "run"]

#: Limits that keep any accepted expression quick to build and to draw.
MAX_EXPRESSION_CHARS = 2000
MAX_EXPRESSION_NODES = 500
MAX_EXPONENT = 1000.0

_LABEL_CHARS = 24  # longest sub-expression text used as a node's label


class _TableFunctions(Mapping):
    """name -> (function, least and most number of arguments): the one-input operations of the
    table (`microgradnn.ops`) that have a Value method, and leaky_relu with its optional slope.
    Read from the table at each use, so operations added with ``define_op`` can be called too."""

    def _table(self) -> dict[str, tuple[Callable[..., Value], int, int]]:
        names = [m for op in OPS.values() if op.arity == 1 for m in op.methods if not m.startswith("_")]
        table = {name: (getattr(Value, name), 1, 1) for name in names}
        table["leaky_relu"] = (Value.leaky_relu, 1, 2)
        return table

    def __getitem__(self, name: str) -> tuple[Callable[..., Value], int, int]:
        return self._table()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


FUNCTIONS = _TableFunctions()

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}

# What to call the syntax we refuse, so the error names it.
_REFUSED = {
    ast.Attribute: "attribute access (.name)",
    ast.Subscript: "indexing/subscripts ([...])",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or",
    ast.IfExp: "conditional expressions (if/else)",
    ast.NamedExpr: "assignment (:=)",
    ast.JoinedStr: "strings",
    ast.FormattedValue: "strings",
    ast.Starred: "starred arguments (*)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}
_REFUSED_OPERATORS = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^ (for powers write **)",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Invert: "~",
    ast.Not: "not",
}

def allowed() -> str:
    """The syntax an expression may use, for error messages."""
    return "numbers, names bound by --at, + - * / **, unary -, and " + ", ".join(f"{f}()" for f in FUNCTIONS)


class ExpressionError(ValueError):
    """An expression the graph command refuses, or cannot compute at the given values."""


@dataclass
class Expression:
    """A checked expression: its syntax tree and the variable names it uses (in order)."""

    text: str
    tree: ast.expr
    names: list[str] = field(default_factory=list)


def parse_expression(text: str) -> Expression:
    """Parse and check ``text``: only the syntax listed by `allowed()` passes.

    Raises :class:`ExpressionError` naming what is not allowed.
    """
    if not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(
            f"the expression is too long ({len(text)} characters; at most {MAX_EXPRESSION_CHARS})"
        )
    if "\n" in text or "\r" in text:
        raise ExpressionError("the expression must be on one line")
    try:
        module = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid expression: {_missing_operator(text) or exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal with too many digits
        raise ExpressionError(f"not a valid expression: {exc}") from None
    names: list[str] = []
    _check(module.body, names)
    return Expression(text.strip(), module.body, names)


# Two operands side by side, as in written maths: 2x, 3.5 y, x y, (x+1)(x-1), (x+1)y.
_JUXTAPOSED = re.compile(r"((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[A-Za-z_]\w*|\))\s*([A-Za-z_]\w*|\()")


def _missing_operator(text: str) -> str | None:
    """A hint for the most common syntax error, a product written without ``*``; else None.

    Python's own message for ``2x`` is tokenizer jargon ("invalid decimal literal").
    """
    for match in _JUXTAPOSED.finditer(text):
        left, right = match.groups()
        # tanh(x) is a call, not a product; "x and y" is a misuse of a keyword, not of maths
        is_call = right == "(" and not left[0].isdigit() and left != ")"
        if is_call or keyword.iskeyword(left) or keyword.iskeyword(right):
            continue
        return f"write {left}*{right} for multiplication ('{match.group(0)}' has no operator between them)"
    return None


def _check(root: ast.expr, names: list[str]) -> None:
    """Walk the tree without recursion; refuse anything outside the allowed syntax."""
    stack: list[ast.AST] = [root]
    count = 0
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_EXPRESSION_NODES:
            raise ExpressionError(f"the expression is too large (more than {MAX_EXPRESSION_NODES} parts)")
        if isinstance(node, ast.Constant):
            _check_constant(node)
        elif isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise ExpressionError(f"{node.id!r} is a function: call it, as in {node.id}(x)")
            if node.id not in names:
                names.append(node.id)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise _refused(f"the operator {_REFUSED_OPERATORS.get(type(node.op), '?')}")
            if isinstance(node.op, ast.Pow):
                _check_exponent_literal(node.right)
            stack.append(node.right)
            stack.append(node.left)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise _refused(f"the operator {_REFUSED_OPERATORS.get(type(node.op), '?')}")
            stack.append(node.operand)
        elif isinstance(node, ast.Call):
            _check_call(node)
            for arg in reversed(node.args):
                stack.append(arg)
        else:
            raise _refused(_REFUSED.get(type(node), type(node).__name__))


def _refused(what: str) -> ExpressionError:
    return ExpressionError(f"not allowed: {what} (allowed: {allowed()})")


def _check_constant(node: ast.Constant) -> None:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = {
            str: "strings",
            bytes: "bytes",
            complex: "complex numbers",
            type(None): "None",
            type(...): "...",
        }.get(type(value), type(value).__name__)
        if isinstance(value, bool):
            kind = "True/False"
        raise _refused(kind)
    if isinstance(value, int) and abs(value) > 10**308:
        raise ExpressionError(f"the number {str(value)[:20]}… is too large for a float")


def _check_exponent_literal(node: ast.expr) -> None:
    # A literal exponent is checked before anything is computed; computed ones when applied.
    p = _literal_number(node)
    if p is not None:
        _check_exponent_value(p)


def _check_exponent_value(p: float) -> None:
    if math.isnan(p):
        raise ExpressionError("the exponent is nan (not a number)")
    if not abs(p) <= MAX_EXPONENT:
        raise ExpressionError(f"the exponent {p:g} is too large (at most {MAX_EXPONENT:g} in size)")


def _check_call(node: ast.Call) -> None:
    func = node.func
    if not isinstance(func, ast.Name):
        raise _refused(
            "attribute access (.name)" if isinstance(func, ast.Attribute) else "calling an expression"
        )
    if func.id not in FUNCTIONS:
        raise ExpressionError(f"calling {func.id!r} is not allowed; the functions are {', '.join(FUNCTIONS)}")
    if node.keywords:
        raise ExpressionError(f"{func.id}(): keyword arguments are not allowed")
    _, least, most = FUNCTIONS[func.id]
    n = len(node.args)
    if not least <= n <= most:
        expected = str(least) if least == most else f"{least} or {most}"
        raise ExpressionError(f"{func.id}() takes {expected} argument{'s' if most > 1 else ''}, got {n}")
    if func.id == "leaky_relu" and n == 2 and _literal_number(node.args[1]) is None:
        raise ExpressionError("leaky_relu(x, alpha): alpha must be a number")


def _literal_number(node: ast.expr) -> float | None:
    """The value of a number literal, possibly signed; None for anything else."""
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    ):
        # An integer literal too large for a float (10**400 written out) counts as infinite.
        return sign * (float(node.value) if abs(node.value) < 1e308 else math.inf)
    return None


def parse_bindings(pairs: Sequence[str]) -> dict[str, float]:
    """``['x1=2', 'w1=-3']`` -> ``{'x1': 2.0, 'w1': -3.0}``, refusing malformed or repeated names."""
    bindings: dict[str, float] = {}
    for pair in pairs:
        name, sep, number = pair.partition("=")
        # Python reads names in NFKC form (the expression's 'ﬁ' is 'fi'), so read --at's the same way.
        name = unicodedata.normalize("NFKC", name.strip())
        if not sep:
            raise ExpressionError(f"--at {pair!r}: expected NAME=NUMBER, e.g. x=2")
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ExpressionError(f"--at {pair!r}: {name!r} is not a valid variable name")
        if name in FUNCTIONS:
            raise ExpressionError(
                f"--at {pair!r}: {name!r} is a function's name, choose another variable name"
            )
        if name in bindings:
            raise ExpressionError(f"--at: {name!r} is given twice")
        number = number.strip()
        try:
            if "_" in number:  # float() would accept digit grouping like 1_000; keep to plain numbers
                raise ValueError(number)
            bindings[name] = float(number)
        except ValueError:
            raise ExpressionError(f"--at {pair!r}: {number!r} is not a number") from None
    return bindings


@dataclass
class Built:
    """An expression built on Values: its output and its named inputs."""

    output: Value
    inputs: dict[str, Value]


def build(expression: Expression, bindings: dict[str, float]) -> Built:
    """Build ``expression`` on Values with ``bindings`` (every name it uses must be bound)."""
    missing = [name for name in expression.names if name not in bindings]
    if missing:
        listed = ", ".join(repr(m) for m in missing)
        example = " ".join(f"{m}=..." for m in missing)
        raise ExpressionError(
            f"{listed} {'is' if len(missing) == 1 else 'are'} not bound: add --at {example}"
        )
    inputs = {name: Value(value, label=name) for name, value in bindings.items()}
    try:
        output = _interpret(expression, inputs)
    except (ValueError, ZeroDivisionError, OverflowError) as exc:
        if isinstance(exc, ExpressionError):
            raise
        raise ExpressionError(f"cannot compute the expression at these values: {exc}") from None
    if output._prev and not output.label:
        output.label = "output"
    return Built(output, inputs)


def _interpret(expression: Expression, inputs: dict[str, Value]) -> Value:
    """Compute the (checked) tree bottom-up with an explicit stack; never Python's eval."""
    results: dict[int, Value | float] = {}
    stack: list[tuple[ast.expr, bool]] = [(expression.tree, False)]
    while stack:
        node, ready = stack.pop()
        if not ready:
            stack.append((node, True))
            for child in _operands(node):
                stack.append((child, False))
            continue
        results[id(node)] = _apply(node, results, inputs, expression.text)
    out = results[id(expression.tree)]
    return out if isinstance(out, Value) else Value(out)


def _operands(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _as_node(x: Value | float) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _apply(
    node: ast.expr, results: dict[int, Value | float], inputs: dict[str, Value], text: str
) -> Value | float:
    """One node of the tree; number literals stay numbers (a constant exponent stays a number)."""
    if isinstance(node, ast.Constant):
        return float(node.value)  # type: ignore[arg-type]  # _check admits only number literals
    if isinstance(node, ast.Name):
        return inputs[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = results[id(node.operand)]
        result = -operand if isinstance(node.op, ast.USub) else operand
        return _labelled(result, node, text) if isinstance(result, Value) else result
    if isinstance(node, ast.BinOp):
        left, right = results[id(node.left)], results[id(node.right)]
        op = type(node.op)
        if op is ast.Pow:
            exponent = right.data if isinstance(right, Value) else right
            _check_exponent_value(exponent)
            result = _as_node(left) ** right
        elif op is ast.Add:
            result = _as_node(left) + right
        elif op is ast.Sub:
            result = _as_node(left) - right
        elif op is ast.Mult:
            result = _as_node(left) * right
        else:
            result = _as_node(left) / _as_node(right)
        return _labelled(result, node, text)
    if isinstance(node, ast.Call):
        func, _, _ = FUNCTIONS[node.func.id]  # type: ignore[attr-defined]
        args = [results[id(a)] for a in node.args]
        first = _as_node(args[0])
        result = func(first, *(float(a.data if isinstance(a, Value) else a) for a in args[1:]))
        return _labelled(result, node, text)
    raise ExpressionError(f"{type(node).__name__} is not allowed")  # unreachable after _check


def _labelled(v: Value, node: ast.expr, text: str) -> Value:
    """Label a new node with its own piece of the expression, when that is short."""
    if v._prev and not v.label:
        piece = ast.get_source_segment(text, node) or ""
        if piece and len(piece) <= _LABEL_CHARS:
            v.label = piece
    return v


# ---------------------------------------------------------------------- the command
def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``graph`` to the ``microgradnn`` command."""
    parser = subparsers.add_parser(
        "graph",
        help="draw the computation graph of a formula, with values and gradients",
        description=(
            "Build EXPRESSION on Values at the point given by --at, run backward, print the output and "
            "every input's gradient, and draw the graph. The expression is parsed, never evaluated: "
            f"allowed are {allowed()}."
        ),
        epilog=(
            'example: microgradnn graph "tanh(x1*w1 + x2*w2 + b)" --at x1=2 x2=0 w1=-3 w2=1 '
            "b=6.8813735870195432 -o neuron.svg   "
            "(write an expression that starts with '-' in parentheses: '(-x)*y').   "
            "Exit status: 0 when done; 2 for bad input (the expression, --at, an option or the "
            "output's name), with a one-line error; 1 when the picture or the printed report "
            "cannot be written (a missing or read-only folder, a folder of that name, no Graphviz "
            "for .svg or .png, standard output closed or full)."
        ),
    )
    parser.add_argument(
        "expression", metavar="EXPRESSION", help='the formula, in quotes, e.g. "x*y + exp(x)"'
    )
    parser.add_argument(
        "--at",
        nargs="+",
        default=[],
        metavar="NAME=NUMBER",
        help="the value of each variable, e.g. x=2 y=-1.5",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the picture here: .svg, .png or .dot (by the suffix), or .html: the interactive explorer",
    )
    parser.add_argument(
        "--local-grads", action="store_true", help="write the local derivative ∂out/∂in on each edge"
    )
    parser.add_argument(
        "--order", action="store_true", help="number the operations in the order backward visits them"
    )
    parser.add_argument(
        "--color", choices=("role", "grad"), help="fill nodes by role or by gradient sign/size"
    )
    parser.add_argument(
        "--params", nargs="+", default=[], metavar="NAME", help="which inputs are parameters (colours)"
    )
    parser.add_argument(
        "--step",
        type=int,
        metavar="K",
        help="draw the graph after K chain-rule steps of backward (0 = just seeded)",
    )
    parser.add_argument("--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR", help="layout direction")
    parser.set_defaults(run=run)
    return parser


def _fail(message: str, status: int = 2) -> int:
    if sys.stderr is None:  # started with stderr closed: the exit status still tells
        return status
    try:
        print(f"microgradnn graph: error: {one_line(message)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr broken on the way: the same
        pass
    return status


class _StdoutError(Exception):
    """Standard output could not be written (a closed pipe, a full disk)."""


def _say(line: str) -> None:
    """Print a line of the report, flushed now so that a failure to write surfaces here."""
    if sys.stdout is None:  # started with stdout closed (`>&-`): the report would vanish
        raise _StdoutError(OSError(errno.EBADF, "standard output is closed"))
    try:
        print(one_line(line), flush=True)
    except OSError as exc:
        raise _StdoutError(exc) from None


def _check_output_name(output: str | None) -> str | None:
    """What is wrong with the name given to -o, seen without touching the file system."""
    if output is None:
        return None
    if not output:
        return "-o: the file name is empty"
    if "\0" in output:
        return f"-o {output!r}: a file name cannot contain a NUL character"
    if output.endswith(("/", os.sep)):
        return f"-o {output}: ends with '{output[-1]}', so it names a folder; give a file such as graph.svg"
    return None


def run(args: argparse.Namespace) -> int:
    """Carry out ``microgradnn graph``; returns the exit status: 0 done, 2 bad input (with a
    one-line error), 1 the picture or the report could not be written."""
    try:
        return _run(args)
    except _StdoutError as failed:
        exc = failed.args[0]
        if isinstance(exc, BrokenPipeError):
            # The reader went away (`... | head -1`): say nothing more, like any Unix filter, and
            # point stdout at /dev/null so that Python's final flush does not complain either.
            _silence_stdout()
            return 1
        return _fail(f"cannot write to standard output: {exc.strerror or exc}", 1)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a notebook, a test)
        pass


def _run(args: argparse.Namespace) -> int:
    from microgradnn.fileio import write_atomic
    from microgradnn.viz import (
        Explorer,
        RenderError,
        backward_steps,
        draw_backward_steps,
        draw_dot,
        explore,
        render,
    )
    from microgradnn.viz.rendering import SAVE_FORMATS

    problem = _check_output_name(args.output)
    if problem:
        return _fail(problem)
    output_path = Path(args.output) if args.output else None
    page = output_path is not None and output_path.suffix.lower() in (".html", ".htm")
    if output_path is not None and not page and output_path.suffix.lower() not in SAVE_FORMATS:
        shown = repr(output_path.suffix) if output_path.suffix else "no suffix"
        return _fail(
            f"-o {args.output}: cannot tell the picture format ({shown}); use .svg, .png, .dot or .html"
        )
    if page and args.step is not None:
        return _fail("--step draws one picture; the .html explorer steps through backward itself")
    try:
        expression = parse_expression(args.expression)
        bindings = parse_bindings(args.at)
        unknown = [p for p in args.params if p not in bindings]
        if unknown:
            raise ExpressionError(f"--params {' '.join(unknown)}: not bound by --at")
        built = build(expression, bindings)
    except ExpressionError as exc:
        return _fail(str(exc))

    if args.step is not None and output_path is None:
        return _fail("--step draws a picture: give -o FILE too")
    out = built.output
    out.backward()  # fresh Values, so these are exactly the gradients ∂output/∂input
    if args.step is not None:
        total = len(backward_steps(out))
        if not 0 <= args.step <= total:
            steps = "step" if total == 1 else "steps"
            return _fail(f"--step must be between 0 and {total} (this backward has {total} {steps})")
    drawing = None
    if output_path is not None:
        options: dict = {"rankdir": args.rankdir, "local_grads": args.local_grads, "order": args.order}
        if args.color:
            options["color_by"] = args.color
        if args.params:
            options["parameters"] = [built.inputs[p] for p in args.params]
        try:
            if page:
                drawing = explore(out, **options)
            elif args.step is not None:
                drawing = draw_backward_steps(out, args.step, **options)
            else:
                drawing = draw_dot(out, **options)
        except (TypeError, ValueError) as exc:
            return _fail(str(exc))

    _say(f"output = {out.data!r}")
    for name, v in built.inputs.items():
        note = "" if name in expression.names else "   (not used in the expression)"
        _say(f"d(output)/d({name}) = {v.grad!r}{note}")
    if output_path is None:
        _say("(add -o graph.svg to draw the graph)")
        return 0
    assert drawing is not None  # made above whenever there is an output path
    try:
        # Everything is rendered before the file is touched, then written atomically: a failure
        # (Graphviz refusing, a full disk, a file-size limit) leaves an old file as it was.
        data: str | bytes
        if isinstance(drawing, Explorer):
            data = drawing.html()
        elif SAVE_FORMATS[output_path.suffix.lower()] == "dot":
            data = drawing.source
        else:
            data = render(drawing, SAVE_FORMATS[output_path.suffix.lower()])
        write_atomic(output_path, data, name="-o")
    except RenderError as exc:
        return _fail(str(exc), 1)
    except OSError as exc:  # write_atomic's messages name -o and the file
        return _fail(str(exc.strerror or exc), 1)
    _say(f"wrote {output_path}")
    return 0
