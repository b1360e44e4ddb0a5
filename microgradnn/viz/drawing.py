"""``draw_dot``: a computation graph as a Graphviz picture that teaches.

Each Value is a record ``{ label | data 2.0000 | grad -3.0000 }`` and each operation a small
node feeding its result, as in the lecture that built micrograd. Optional layers of meaning:
the local derivative ∂out/∂in on every edge (so the chain rule can be read off the picture),
fill colours by role or by gradient, the order in which backward visits the operations, and a
summary of graphs too large to draw.

The DOT source is deterministic: node ids come from the graph's topological order, never from
``id()``, so the same graph gives the same bytes on every run and machine.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import graphviz

from microgradnn.checks import check_bool, check_choice, check_int, describe, display_label
from microgradnn.engine import Value, topological_order
from microgradnn.fileio import write_atomic
from microgradnn.viz.collapse import Plan, module_path, plan_collapse
from microgradnn.viz.rendering import Bundle, display_bundle, render, render_svg

__all__ = ["DEFAULT_MAX_NODES", "Drawing", "draw_dot"]

#: Graphs with more Values than this are summarised unless ``max_nodes`` says otherwise.
DEFAULT_MAX_NODES = 150
#: How many of a summarised sum's same-shaped terms (a batch loss's samples) are drawn.
DEFAULT_REPEATS = 1


class _DefaultRankdir(str):
    """``'LR'`` as the default of ``rankdir``, told apart (by identity) from an ``'LR'`` the
    caller passes: without one, a summarised batch loss is drawn top to bottom instead."""


DEFAULT_RANKDIR: str = _DefaultRankdir("LR")

ROLE_COLORS: dict[str, str] = {
    "parameter": "#b6d7a8",  # green
    "input": "#a4c2f4",  # blue
    "intermediate": "#ffffff",
    "output": "#ffd966",  # gold
}
_POSITIVE_RGB = (224, 102, 102)  # red: increasing this node increases the output
_NEGATIVE_RGB = (109, 158, 235)  # blue: increasing it decreases the output
_NAN_COLOR = "#cccccc"
_GROUP_COLOR = "#eeeeee"
_RANKDIRS = ("LR", "RL", "TB", "BT")
_COLOR_BY = ("role", "grad")


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` that displays in Jupyter even without Graphviz installed.

    ``.source``, ``.save()``, ``.render()``, ``.pipe()`` behave as in the graphviz package (the
    last two need the ``dot`` program), except that ``save`` and ``render`` write every file
    atomically: a render that fails leaves the files already there as they were. Jupyter
    display renders SVG (inline HTML) and a PNG at 2× with ``dot``, else with pygraphviz, else
    shows the DOT source with a one-line hint; it never raises. A picture wider than the output
    area is shrunk to it (click it for natural size); set ``fit = False`` to show it at natural
    size. To write a file with the same fallbacks use
    :func:`microgradnn.viz.save` (files keep the natural size).
    """

    #: Shrink the picture to the width of the notebook's output area (never enlarge it).
    fit: bool = True
    # The last display: (DOT source, fit) -> bundle, so that IPython's several formatters
    # asking for one picture run Graphviz once.
    _shown: tuple[tuple[str, bool], Bundle] | None = None

    def __repr__(self) -> str:
        # No memory address: an executed notebook stores this text, and it must not change
        # from one run to the next.
        nodes = sum(1 for line in self.body if "[" in line and "->" not in line)
        edges = sum(1 for line in self.body if "->" in line)
        return f"<Drawing: {nodes} nodes, {edges} edges; .source for the DOT text>"

    # graphviz's two writers, each file written whole or not at all (microgradnn.fileio).
    def save(  # pyright: ignore[reportIncompatibleMethodOverride]
        self, filename: str | os.PathLike[str] | None = None, directory: str | os.PathLike[str] | None = None,
        *, skip_existing: bool | None = False,
    ) -> str:  # fmt: skip
        """Write the DOT source to ``directory/filename`` (as graphviz's ``save``), atomically."""
        if filename is not None:
            self.filename = os.fspath(filename)
        if directory is not None:
            self.directory = os.fspath(directory)
        filepath = self.filepath
        if skip_existing and os.path.exists(filepath):
            return filepath
        Path(filepath).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(filepath, self.source, name="Drawing.save(filename)", encoding=self.encoding)
        return filepath

    def render(  # pyright: ignore[reportIncompatibleMethodOverride]
        self, filename: str | os.PathLike[str] | None = None, directory: str | os.PathLike[str] | None = None,
        view: bool = False, cleanup: bool = False, format: str | None = None, renderer: str | None = None,
        formatter: str | None = None, neato_no_op: bool | int | None = None, quiet: bool = False,
        quiet_view: bool = False, *, outfile: str | os.PathLike[str] | None = None, engine: str | None = None,
        raise_if_result_exists: bool = False, overwrite_source: bool = False,
    ) -> str:  # fmt: skip
        """Save the source and render it, with graphviz's arguments and file names; returns the
        rendered file's path. Graphviz renders into memory first, so nothing is written unless
        it succeeds, and each file is then written atomically. (Files the graph itself names,
        such as node images, are looked up from the current folder.)"""
        if outfile is not None:
            outfile = Path(outfile) if directory is not None else Path(os.fsdecode(self.directory), outfile)
            format = format or outfile.suffix.lstrip(".") or None
            if filename is None:
                filename = outfile.with_suffix(".gv")
        format = format or self.format
        folder = os.fspath(directory) if directory is not None else os.fsdecode(self.directory)
        source = Path(folder, os.fspath(filename) if filename is not None else os.fsdecode(self.filename))
        suffix = ".".join(part for part in (formatter, renderer, format) if part)
        result = outfile if outfile is not None else source.with_name(f"{source.name}.{suffix}")
        if result.resolve() == source.resolve() and not overwrite_source:
            raise ValueError(f"Drawing.render: outfile {os.fspath(result)!r} is the source file; "
                             "pass overwrite_source=True to write over it")  # fmt: skip
        if raise_if_result_exists and result.exists():
            raise graphviz.FileExistsError(f"output file exists: {os.fspath(result)!r}")
        data = self.pipe(format=format, renderer=renderer, formatter=formatter, neato_no_op=neato_no_op,
                         quiet=quiet, engine=engine)  # fmt: skip
        if cleanup:  # the source would be deleted at once: it is not written at all
            self.filename = os.fspath(filename) if filename is not None else self.filename
            self.directory = os.fspath(directory) if directory is not None else self.directory
        else:
            self.save(filename, directory=directory)
        result.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(result, data, name="Drawing.render(outfile)")
        if view or quiet_view:
            graphviz.view(os.fspath(result), quiet=quiet_view)
        return os.fspath(result)

    def _bundle(self) -> Bundle:
        key = (self.source, bool(self.fit))
        if self._shown is None or self._shown[0] != key:
            self._shown = (key, display_bundle(self, fit=bool(self.fit)))
        return self._shown[1]

    # (data, metadata), which IPython accepts: the metadata gives the PNG its natural width.
    def _repr_mimebundle_(  # pyright: ignore[reportIncompatibleMethodOverride]
        self, include: Any = None, exclude: Any = None, **_: Any
    ) -> Bundle:
        return self._bundle()

    def _repr_svg_(self) -> str | None:
        return self._bundle()[0].get("image/svg+xml")

    def _repr_image_svg_xml(self) -> str:
        return render_svg(self)

    def _repr_image_png(self) -> bytes:
        return render(self, "png")


# ---------------------------------------------------------------------- escaping and numbers
_CONTROL = {c: " " for c in (*range(0, 32), 127)}
_RECORD_ESCAPES = str.maketrans(
    {**_CONTROL, "\\": "\\\\", "{": "\\{", "}": "\\}", "|": "\\|", "<": "\\<", ">": "\\>", "\n": "\\n"}
)
_TEXT_ESCAPES = str.maketrans({**_CONTROL, "\\": "\\\\", "\n": "\\n"})


def escape_record(text: str) -> str:
    """Text made safe inside one field of a Graphviz record label (``{ } | < > \\`` escaped).

    Double quotes are escaped by the graphviz package when it quotes the attribute.
    """
    return text.translate(_RECORD_ESCAPES)


def escape_text(text: str) -> str:
    """Text made safe as a plain Graphviz label (backslashes doubled, newlines as ``\\n``)."""
    return text.translate(_TEXT_ESCAPES)


def _label(text: str) -> str:
    # nohtml: a label that happens to look like <...> must not be read as an HTML label.
    return graphviz.nohtml(text)


def format_number(x: float, precision: int = 4) -> str:
    """``x`` with ``precision`` decimals as in micrograd (``%.4f``), in scientific notation when
    that would show a nonzero number as 0 or print more than six digits before the point."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    magnitude = abs(x)
    if magnitude >= 1e6 or (0.0 < magnitude < 0.5 * 10.0**-precision):
        return f"{x:.{precision}e}"
    text = f"{x:.{precision}f}"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


# ---------------------------------------------------------------------- options
@dataclass(frozen=True)
class Options:
    """Validated drawing options (see :func:`draw_dot`)."""

    format: str = "svg"
    rankdir: str = "LR"
    auto_rankdir: bool = True  # rankdir not given: a summarised batch loss is drawn top to bottom
    local_grads: bool = False
    color_by: str | None = None
    order: bool = False
    max_nodes: int | None = DEFAULT_MAX_NODES
    parameters: frozenset = frozenset()
    parameters_given: bool = False
    precision: int = 4
    repeats: int | None = DEFAULT_REPEATS
    fit: bool = True


def make_options(
    format: str = "svg",
    rankdir: str = DEFAULT_RANKDIR,
    local_grads: bool = False,
    color_by: str | None = None,
    order: bool = False,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    parameters: Iterable[Any] | None = None,
    precision: int = 4,
    repeats: int | None = DEFAULT_REPEATS,
    fit: bool = True,
) -> Options:
    """Check every drawing option, with errors that name the option and its allowed values."""
    if not isinstance(format, str):
        raise TypeError(f"draw_dot(format) must be a string such as 'svg' or 'png', got {describe(format)}")
    if format not in graphviz.FORMATS:
        raise ValueError(f"draw_dot(format): unknown format {format!r}; use e.g. 'svg' or 'png'")
    auto_rankdir = rankdir is DEFAULT_RANKDIR
    check_choice("draw_dot(rankdir)", rankdir, _RANKDIRS)
    if color_by is not None:
        check_choice("draw_dot(color_by)", color_by, _COLOR_BY)
    if max_nodes is not None:
        max_nodes = check_int("draw_dot(max_nodes)", max_nodes, lo=2)
    precision = check_int("draw_dot(precision)", precision, lo=0, hi=17)
    local_grads = check_bool("draw_dot(local_grads)", local_grads)
    order = check_bool("draw_dot(order)", order)
    fit = check_bool("draw_dot(fit)", fit)
    if repeats is not None:
        repeats = check_int("draw_dot(repeats)", repeats, lo=1)
    params: frozenset = frozenset()
    if parameters is not None:
        module_parameters = getattr(parameters, "parameters", None)
        if callable(module_parameters):  # a Module stands for its parameters
            parameters = cast("Iterable[Any]", module_parameters())
        if (
            is_value(parameters)
            or isinstance(parameters, (str, bytes))
            or not isinstance(parameters, Iterable)
        ):
            raise TypeError(
                f"draw_dot(parameters) must be a list of Values (such as model.parameters()), "
                f"got {describe(parameters)}"
            )
        params_list = list(parameters)
        for i, p in enumerate(params_list):
            if not is_value(p):
                raise TypeError(f"draw_dot(parameters): entry {i} must be a Value, got {describe(p)}")
        params = frozenset(params_list)
    return Options(
        format, str(rankdir), auto_rankdir, local_grads, color_by, order, max_nodes, params,
        parameters is not None, precision, repeats, fit,
    )  # fmt: skip


def is_value(x: object) -> bool:
    """Whether ``x`` looks like a graph node (microgradnn's or micrograd's Value)."""
    return hasattr(x, "data") and hasattr(x, "grad") and hasattr(x, "_prev") and not isinstance(x, type)


def as_roots(root: Any, where: str) -> list[Any]:
    """One Value or an iterable of Values, as a list without repeats (first occurrence kept)."""
    if is_value(root):
        return [root]
    if isinstance(root, (str, bytes)) or not isinstance(root, Iterable):
        raise TypeError(f"{where}: expected a Value or a list of Values, got {type(root).__name__}")
    roots: list[Any] = []
    seen: set[int] = set()
    for r in root:
        if not is_value(r):
            raise TypeError(
                f"{where}: expected a Value or a list of Values, found a {type(r).__name__} in the list"
            )
        if id(r) not in seen:  # identity only decides repeats; ids never reach the output
            seen.add(id(r))
            roots.append(r)
    if not roots:
        raise ValueError(f"{where}: the list of roots is empty")
    return roots


# ---------------------------------------------------------------------- the picture
@dataclass
class StepView:
    """What a drawing shows in the middle of backward (filled in by microgradnn.viz.stepping)."""

    grads: Mapping[Any, float]
    state: Mapping[Any, str]  # "final", "partial" or "pending"
    current: Any = None  # the node whose chain-rule step was just applied
    updated: frozenset = frozenset()  # its inputs, whose grad just changed
    caption: list[str] = field(default_factory=list)


STEP_FILLS = {"final": "#b6d7a8", "partial": "#fff2cc", "pending": "#ffffff"}
_STEP_EDGE = {"color": "#cc0000", "penwidth": "2", "fontcolor": "#cc0000"}


def draw_dot(
    root: Any,
    format: str = "svg",
    rankdir: str = DEFAULT_RANKDIR,
    *,
    local_grads: bool = False,
    color_by: str | None = None,
    order: bool = False,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    parameters: Iterable[Any] | None = None,
    precision: int = 4,
    repeats: int | None = DEFAULT_REPEATS,
    fit: bool = True,
) -> Drawing:
    """Draw the computation graph of ``root`` (a Value or a list of Values) as a Graphviz digraph.

    Each Value is a record ``{ label | data … | grad … }``; each operation a small node feeding
    its result. Drawing only reads the graph: no ``data`` or ``grad`` is changed.

    - ``rankdir``: ``'LR'`` (left to right, the default), ``'TB'``, ``'RL'`` or ``'BT'``; when
      not given, a summarised batch loss (see ``repeats``) is drawn top to bottom, compactly,
      which fits a screen better than its long row.

    - ``local_grads``: write the local derivative ∂out/∂in on each edge, so that the chain
      rule can be read off: a node's grad = Σ over its outgoing edges of ∂ × grad of the result.
    - ``color_by``: ``'role'`` fills parameters, inputs, intermediates and outputs in four
      colours (parameters: ``parameters`` if given, else leaves with a dotted label such as
      ``layers.0.neurons.3.w.1``); ``'grad'`` fills by the gradient's sign (red +, blue −) and
      magnitude.
    - ``order``: number the operations in the order backward applies their chain-rule step.
    - ``max_nodes``: a graph with more Values than this is summarised in at most this many
      boxes (records); ``None`` draws everything, node by node.
    - ``repeats``: in a summarised graph, a sum of many same-shaped terms (a batch loss over
      its samples, built with Python's ``sum`` or ``value_sum``) shows its first ``repeats``
      terms and one box "… 99 more samples" for the rest; ``None`` keeps every term.
    - ``precision``: decimals shown for data, grad and local derivatives.
    - ``fit``: in a notebook, shrink a picture wider than the output area to its width (click
      it for natural size); ``False`` shows it at natural size. Saved files keep natural size.
    """
    options = make_options(
        format, rankdir, local_grads, color_by, order, max_nodes, parameters, precision, repeats, fit
    )
    return build_drawing(as_roots(root, "draw_dot(root)"), options)


def _grad_color(g: float, largest: float) -> str:
    if math.isnan(g):
        return _NAN_COLOR
    if g == 0.0 or largest == 0.0:
        return "#ffffff"
    strength = 1.0 if math.isinf(g) or math.isinf(largest) else math.sqrt(min(1.0, abs(g) / largest))
    base = _POSITIVE_RGB if g > 0 else _NEGATIVE_RGB
    r, gr, b = (round(255 + (c - 255) * strength) for c in base)
    return f"#{r:02x}{gr:02x}{b:02x}"


def _role(i: int, node: Any, is_param: list[bool], roots: set[int]) -> str:
    if i in roots:
        return "output"
    if node._prev:
        return "intermediate"
    return "parameter" if is_param[i] else "input"


def describe_node(node: Any, precision: int) -> str:
    """A short name for a node in captions: its label, else its operation, else its value."""
    label = display_label(getattr(node, "label", ""))
    if label:
        return repr(label)
    if node._prev:
        return f"the {node._op or '?'} node"
    return f"the leaf {format_number(node.data, precision)}"


def graph_order(roots: list[Any]) -> list[Any]:
    """All nodes the roots depend on, inputs first: the engine's order for microgradnn Values
    (so numbering matches backward), the same depth-first search for other node types
    (micrograd's Values, whose inputs are an unordered set)."""
    if all(isinstance(r, Value) for r in roots):
        return topological_order(roots)
    order: list[Any] = []
    visited: set[int] = set()  # ids only decide what was seen; they never reach the output
    for root in roots:
        if id(root) in visited:
            continue
        visited.add(id(root))
        stack = [(root, iter(tuple(root._prev)))]
        while stack:
            node, inputs = stack[-1]
            for child in inputs:
                if id(child) not in visited:
                    visited.add(id(child))
                    stack.append((child, iter(tuple(child._prev))))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


@dataclass
class GraphLayout:
    """Which nodes a drawing shows, and how: its nodes in order, their inputs, the summary."""

    nodes: list[Any]  # inputs first (see graph_order); node i is drawn as "n{i}"
    children: list[list[int]]  # indices of each node's inputs
    labels: list[str]
    is_param: list[bool]
    root_ids: list[int]
    plan: Plan | None  # how a big graph is summarised, None when every node is drawn
    expanded: frozenset[int] = frozenset()  # boxes of the summary drawn node by node instead

    def group(self, i: int) -> int | None:
        """The box that shows node i, or None if node i is drawn as its own record."""
        group = None if self.plan is None else self.plan.group_of[i]
        return None if group in self.expanded else group

    def element_id(self, i: int) -> str:
        """The DOT name of what shows node i: its own record ``n{i}`` or its summary box ``g{k}``."""
        group = self.group(i)
        return f"n{i}" if group is None else f"g{group}"


def layout_graph(roots: list[Any], options: Options, expanded: frozenset[int] = frozenset()) -> GraphLayout:
    """The nodes of the graph of ``roots`` and, for a big graph, which go into which box.

    ``expanded``: boxes (indices into the summary's groups) to draw node by node all the same.
    """
    nodes = graph_order(roots)
    index = {node: i for i, node in enumerate(nodes)}
    children = [[index[c] for c in node._prev] for node in nodes]
    root_ids = [index[r] for r in roots]
    # Labels can be set to anything after construction (v.label = 5, bytes, a lone surrogate,
    # 100,000 characters): drawings read them as safe, bounded text.
    labels = [display_label(getattr(node, "label", "")) for node in nodes]
    if options.parameters_given:
        is_param = [not node._prev and node in options.parameters for node in nodes]
    else:
        is_param = [not node._prev and module_path(lab) is not None for node, lab in zip(nodes, labels)]
    plan: Plan | None = None
    if options.max_nodes is not None:
        ops = [str(getattr(node, "_op", "")) if node._prev else "" for node in nodes]
        plan = plan_collapse(children, labels, is_param, root_ids, options.max_nodes, ops, options.repeats)
    return GraphLayout(nodes, children, labels, is_param, root_ids, plan, expanded if plan else frozenset())


def build_drawing(
    roots: list[Any], options: Options, view: StepView | None = None, expanded: frozenset[int] = frozenset()
) -> Drawing:
    """The drawing of the graph of ``roots`` (checked), optionally in the middle of backward.

    ``expanded``: boxes of a big graph's summary to draw node by node (see :func:`layout_graph`).
    """
    layout = layout_graph(roots, options, expanded)
    nodes, children, labels, is_param, plan = (
        layout.nodes,
        layout.children,
        layout.labels,
        layout.is_param,
        layout.plan,
    )
    root_set = set(layout.root_ids)
    single = [layout.group(i) is None for i in range(len(nodes))]

    p = options.precision
    grad_of = (lambda node: view.grads.get(node, 0.0)) if view is not None else (lambda node: node.grad)
    # Backward's chain-rule steps: operations in reverse topological order.
    step_number: dict[int, int] = {}
    if options.order or view is not None:
        for i in reversed(range(len(nodes))):
            if children[i]:
                step_number[i] = len(step_number) + 1
    largest = 0.0
    if options.color_by == "grad" and view is None:
        finite = [abs(grad_of(n)) for n, s in zip(nodes, single) if s and math.isfinite(grad_of(n))]
        largest = max(finite, default=0.0)

    # A batch loss boiled down to one sample is a long chain: drawn top to bottom, compactly,
    # with records in one row as in a left-to-right drawing, it fits one screen.
    batch = plan is not None and any(group.kind == "repeat" for group in plan.groups)
    compact = batch and options.auto_rankdir
    rankdir = "TB" if compact else options.rankdir
    graph_attr = {"rankdir": rankdir}
    if compact:
        # 11 pt text is 14.7 CSS px at natural size; moons' whole loss is then 1,304 × 1,117 px.
        graph_attr.update(ranksep="0.2", nodesep="0.2", fontsize="11")
    g = Drawing(format=options.format, graph_attr=graph_attr)
    if compact:
        g.attr("node", height="0.22", fontsize="11", margin="0.08,0.03")
        g.attr("edge", fontsize="11")
    g.fit = options.fit
    aggregated: dict[tuple[str, str], int] = {}

    for i, node in enumerate(nodes):
        if not single[i]:
            continue
        nid = f"n{i}"
        record = (
            f"{escape_record(labels[i])} | data {format_number(node.data, p)} "
            f"| grad {format_number(grad_of(node), p)}"
        )
        # Braces lay the fields out across the rank direction: one row left to right.
        record = record if compact else f"{{ {record} }}"
        attrs: dict[str, str] = {"shape": "record"}
        fill = None
        if view is not None:
            state = view.state.get(node, "pending")
            fill = STEP_FILLS[state]
            if state == "pending":
                attrs["fontcolor"] = "#999999"
            if node is view.current:
                attrs.update(color="#cc0000", penwidth="3")
            elif node in view.updated:
                attrs.update(color="#e69138", penwidth="2")
        elif options.color_by == "role":
            fill = ROLE_COLORS[_role(i, node, is_param, root_set)]
        elif options.color_by == "grad":
            fill = _grad_color(grad_of(node), largest)
        if fill is not None:
            attrs.update(style="filled", fillcolor=fill)
        g.node(nid, label=_label(record), **attrs)
        if not children[i]:
            continue
        op_id = f"{nid}op"
        op_text = escape_text(str(node._op) or "?") + _dot_pairs(node._op, [labels[c] for c in children[i]])
        if i in step_number and (options.order or view is not None):
            op_text += f" #{step_number[i]}"
        op_attrs: dict[str, str] = {}
        is_current = view is not None and node is view.current
        if is_current:
            op_attrs.update(color="#cc0000", penwidth="2", fontcolor="#cc0000")
        g.node(op_id, label=_label(op_text), **op_attrs)
        g.edge(op_id, nid)
        locals_ = tuple(getattr(node, "_local", ()))
        for position, c in enumerate(children[i]):
            if not single[c]:
                key = (f"g{plan.group_of[c]}", op_id)  # type: ignore[union-attr]
                aggregated[key] = aggregated.get(key, 0) + 1
                continue
            edge_attrs: dict[str, str] = {}
            if options.local_grads or is_current:
                local = locals_[position] if position < len(locals_) else None
                edge_attrs["label"] = "∂=" + (format_number(local, p) if local is not None else "?")
            if is_current:
                edge_attrs.update(_STEP_EDGE)
            g.edge(f"n{c}", op_id, **edge_attrs)

    if plan is not None:
        cluster_of = _draw_groups(g, plan, nodes, children, is_param, grad_of, p, layout.expanded)
        for i in range(len(nodes)):
            gi = layout.group(i)
            if gi is None:
                continue
            only = plan.groups[gi].inputs
            for c in children[i]:
                if only is not None and c not in only and layout.group(c) != gi:
                    continue  # a repeated sample's parameters: drawn with the first sample
                src = f"n{c}" if single[c] else f"g{plan.group_of[c]}"
                if src != f"g{gi}":
                    key = (src, f"g{gi}")
                    aggregated[key] = aggregated.get(key, 0) + 1
        aggregated = _merge_cluster_edges(g, aggregated, cluster_of)
    for (src, dst), count in aggregated.items():
        if count > 1:
            g.edge(src, dst, label=f"×{count}", style="dashed")
        else:
            g.edge(src, dst, style="dashed")

    caption = _caption(options, view, largest)
    if caption:
        g.attr(
            label=_label("".join(escape_text(line) + "\\l" for line in caption)), labelloc="b", labeljust="l"
        )
    return g


def _dot_pairs(op: object, input_labels: list[str]) -> str:
    """For a small fused dot node, which input pairs with which: ``\nw1·x1 + w2·x2``; else "".

    A dot node's inputs are the first vector, then the second; its edges alone do not say which
    weight multiplies which input. Long or missing labels (a network's dotted parameter names)
    would make the node wider than the graph, so they are left out.
    """
    half = len(input_labels) // 2
    if op != "dot" or not 1 <= half <= 4 or any(not 0 < len(label) <= 8 for label in input_labels):
        return ""
    pairs = " + ".join(f"{input_labels[k]}·{input_labels[half + k]}" for k in range(half))
    return "\\n" + escape_text(pairs)


def _draw_groups(
    g: Drawing,
    plan: Plan,
    nodes: list[Any],
    children: list[list[int]],
    is_param: list[bool],
    grad_of: Any,
    precision: int,
    expanded: frozenset[int] = frozenset(),
) -> dict[str, tuple[str, str]]:
    """The summary's boxes (inside clusters named after their parent module) and its note.

    Boxes in ``expanded`` are left out (their nodes are drawn one by one). Returns, for each
    box drawn inside a cluster, (the cluster's id, the box standing for the cluster when edges
    are drawn to or from the cluster as a whole).
    """
    clusters: dict[str | None, list[int]] = {}
    for gi, group in enumerate(plan.groups):
        clusters.setdefault(group.cluster, [])
        if gi not in expanded:
            clusters[group.cluster].append(gi)
    cluster_of: dict[str, tuple[str, str]] = {}
    for n_cluster, (cluster, members) in enumerate(clusters.items()):
        if not members:
            continue
        if cluster is None:
            for gi in members:
                _group_box(g, gi, plan, nodes, children, is_param, grad_of, precision)
            continue
        cluster_id = f"cluster_{n_cluster}"
        middle = f"g{members[len(members) // 2]}"
        # subgraph(name=...) returns a context manager; only subgraph(graph) returns None
        with g.subgraph(name=cluster_id) as sub:  # pyright: ignore[reportOptionalContextManager]
            sub.attr(label=_label(escape_text(cluster)), style="rounded", color="#999999")
            for gi in members:
                _group_box(sub, gi, plan, nodes, children, is_param, grad_of, precision)
                cluster_of[f"g{gi}"] = (cluster_id, middle)
    notes = plan.notes + [f"Drawn node by node: {plan.groups[gi].name}." for gi in sorted(expanded)]
    # Lines of at most ~72 characters: a long note would make the picture wider than a screen.
    wrapped = [part for line in notes for part in textwrap.wrap(line, 72, subsequent_indent="  ")]
    note = "".join(escape_text(line) + "\\l" for line in wrapped)
    g.node("summary_note", label=_label(note), shape="note", style="filled", fillcolor="#fffbe6")
    return cluster_of


def _merge_cluster_edges(
    g: Drawing, aggregated: dict[tuple[str, str], int], cluster_of: dict[str, tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Draw edges that enter or leave a cluster as one edge per cluster (a layer's 16 neurons
    feeding the next layer's 16 would otherwise be 256 edges); return the edges left to draw."""
    merged: dict[tuple[str, str], list] = {}  # (tail, head) -> [count, tail node, head node]
    rest: dict[tuple[str, str], int] = {}
    for (src, dst), count in aggregated.items():
        src_cluster = cluster_of.get(src)
        dst_cluster = cluster_of.get(dst)
        if src_cluster is None and dst_cluster is None:
            rest[(src, dst)] = count
            continue
        if src_cluster is not None and dst_cluster is not None and src_cluster[0] == dst_cluster[0]:
            rest[(src, dst)] = count  # between boxes of one cluster: keep as it is
            continue
        tail = src_cluster[0] if src_cluster else src
        head = dst_cluster[0] if dst_cluster else dst
        entry = merged.setdefault(
            (tail, head), [0, src_cluster[1] if src_cluster else src, dst_cluster[1] if dst_cluster else dst]
        )
        entry[0] += count
    if merged:
        g.attr(compound="true")
    for (tail, head), (count, src, dst) in merged.items():
        attrs = {"style": "dashed"}
        if tail.startswith("cluster_"):
            attrs["ltail"] = tail
        if head.startswith("cluster_"):
            attrs["lhead"] = head
        if count > 1:
            attrs["label"] = f"×{count}"
        g.edge(src, dst, **attrs)
    return rest


def _group_box(
    g: Any,
    gi: int,
    plan: Plan,
    nodes: list[Any],
    children: list[list[int]],
    is_param: list[bool],
    grad_of: Any,
    precision: int,
) -> None:
    group = plan.groups[gi]
    ops: dict[str, int] = {}
    n_params = n_leaves = 0
    largest_grad = 0.0
    for i in group.members:
        if children[i]:
            op = str(nodes[i]._op) or "?"
            ops[op] = ops.get(op, 0) + 1
        elif is_param[i]:
            n_params += 1
            gr = abs(grad_of(nodes[i]))
            largest_grad = gr if (gr > largest_grad or math.isnan(gr)) else largest_grad
        else:
            n_leaves += 1
    ranked = sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))
    op_text = ", ".join(f"{count:,} {op}" for op, count in ranked[:4]) + (", …" if len(ranked) > 4 else "")
    fields = [group.name, f"{len(group.members):,} nodes" + (f": {op_text}" if op_text else "")]
    extra = []
    if n_params:
        plural = "s" if n_params != 1 else ""
        extra.append(f"{n_params:,} parameter{plural}, max |grad| {format_number(largest_grad, precision)}")
    if n_leaves:
        extra.append(
            f"{n_leaves:,} input{'s' if n_leaves != 1 else ''}/constant{'s' if n_leaves != 1 else ''}"
        )
    if extra:
        fields.append("; ".join(extra))
    # A box, not a record: dot cannot route some edges between records inside clusters
    # ("flat edge between adjacent nodes one of which has a record shape").
    text = "\\n".join(escape_text(f) for f in fields)
    g.node(f"g{gi}", label=_label(text), shape="box", style="rounded,filled", fillcolor=_GROUP_COLOR)


def _caption(options: Options, view: StepView | None, largest: float) -> list[str]:
    lines: list[str] = []
    if view is not None:
        lines.extend(view.caption)
        lines.append(
            "fill: green = grad final, yellow = partly summed, white = not reached yet; "
            "red edges: the step just applied (∂ = local derivative)"
        )
    if options.local_grads:
        lines.append(
            "∂ on an edge = local derivative ∂out/∂in of the operation it enters; "
            "a node's grad = Σ over its outgoing edges of ∂ × grad of the operation's result"
        )
    if options.order and view is None:
        lines.append("#k on an operation: backward applies its chain-rule step k-th (#1 first)")
    if view is None and options.color_by == "role":
        lines.append("fill: green = parameter, blue = input, white = intermediate, gold = output")
    if view is None and options.color_by == "grad":
        lines.append(
            "fill: red = grad > 0, blue = grad < 0, deeper = larger |grad| "
            f"(largest |grad| {format_number(largest, options.precision)})"
        )
    return lines
