"""``explore``: the computation graph as a page you can click, in Jupyter or as one offline file.

``explore(o)`` shows the picture ``draw_dot(o)`` draws, with controls to step through
backpropagation (buttons, the ← / → keys, a slider), optionally after the forward pass, and a
panel that explains any node you point at: its data, its grad, the local derivative to each
input and its grad written out as a sum over the operations that read it.

Everything the page shows comes from code the rest of ``microgradnn.viz`` uses: the picture
is ``draw_dot``'s SVG (rendered with ``dot``, else pygraphviz), and the steps and their numbers
are :func:`~microgradnn.viz.stepping.chain_rule_steps`, the model behind ``BackwardStepper``.
The page is self-contained: its script and style are inline, and it makes no network request.
Text reaches the page only as escaped JSON set with ``textContent``, never as markup.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import itertools
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any, cast

from microgradnn.checks import check_path, describe, display_label
from microgradnn.fileio import write_atomic
from microgradnn.viz.collapse import module_owners, module_path
from microgradnn.viz.drawing import (
    DEFAULT_MAX_NODES,
    STEP_FILLS,
    Drawing,
    GraphLayout,
    build_drawing,
    format_number,
    is_value,
    layout_graph,
    make_options,
)
from microgradnn.viz.rendering import INSTALL_HINT, GraphvizMissingError, RenderError, render_svg
from microgradnn.viz.stepping import ChainRuleStep, chain_rule_steps, grad_states

__all__ = ["Explorer", "explore"]

# How many inputs a step's line and how many consumers a node's panel list one by one.
_LINE_TERMS = 4  # as explore.js
_PANEL_TERMS = 8
# A click on a box of a big graph's summary draws its nodes one by one: for boxes this small,
# and this many of them (each is one more picture in the page).
_EXPAND_NODES = 80
_EXPAND_BOXES = 12
# Each expanded box is a whole second picture in the page: stop adding them past this many
# characters of SVG, so that a saved page stays small (the rest stay boxes).
_EXPAND_BUDGET = 200_000
# Graphviz's `dot` needs seconds for a few hundred records and many minutes for thousands
# (measured: 834 records 3.5 s; 1,230 records of the moons loss > 5 minutes): the explorer
# refuses at once to draw more than this many one by one.
MAX_DRAWN = 600
# Page data longer than this (characters of JSON) is gzipped: the page then starts a moment
# after loading, once the browser has unpacked it (DecompressionStream).
_PACK_ABOVE = 100_000

# Fragments shown in one notebook get distinct element ids (a counter, so that re-running a
# notebook gives the same output).
_instances = itertools.count(1)


def explore(root: Any, *, model: Any = None, **draw_options: Any) -> Explorer:
    """An interactive page of the graph of ``root`` (one Value): step through backprop, hover nodes.

    In Jupyter the result displays inline; ``.save("graph.html")`` writes one self-contained
    HTML file (no network access needed, e.g. for a slide or a course page). Drawing options
    (``local_grads``, ``rankdir``, ``max_nodes``, ``precision``, ...) are those of ``draw_dot``.
    ``model``: the Module whose parameters the graph reads (e.g. an MLP). Its
    ``named_parameters()`` name every unlabelled node after the module that made it
    (``layers[1].neurons[3] dot``) and let the page step a neuron or a layer at a time. Without
    it, parameters labelled with dotted names (as microgradnn's modules label them) do the same.
    The user's graph is only read: no ``data`` or ``grad`` is changed.
    """
    return Explorer(root, model=model, **draw_options)


def _json_for_script(data: Any) -> str:
    """JSON that can sit inside a <script> element: ``<``, ``>`` and ``&`` cannot end it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _asset(name: str) -> str:
    return resources.files("microgradnn.viz").joinpath(name).read_text(encoding="utf-8")


def _module_name(path: tuple[str, ...]) -> str:
    """``('layers', '1', 'neurons', '3')`` as Python reads it: ``layers[1].neurons[3]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


def _module_of(nodes: list[Any], model: Any) -> list[tuple[str, ...] | None]:
    """The module that made each node (as the summary's boxes find it), or None.

    A parameter belongs to the module named by its dotted name (``model.named_parameters()``,
    else its label); an operation to the module whose parameters it reads directly (a neuron's
    dot, its ``+ b``), else to the module all its inputs belong to (the activation above them).
    """
    if model is not None:
        named = getattr(model, "named_parameters", None)
        if not callable(named):
            raise TypeError(
                "explore(model) must be a Module with named_parameters() (such as an MLP), "
                f"got {describe(model)}"
            )
        pairs = cast("Iterable[tuple[str, Any]]", named())
        path_of = {param: module_path(name) for name, param in pairs}
        paths = [None if node._prev else path_of.get(node) for node in nodes]
    else:
        labels = [display_label(getattr(node, "label", "")) for node in nodes]
        paths = [None if node._prev else module_path(label) for node, label in zip(nodes, labels)]
    index = {node: i for i, node in enumerate(nodes)}
    children = [[index[c] for c in node._prev] for node in nodes]
    return module_owners(children, paths, [path is not None for path in paths])


def _levels(paths: list[tuple[str, ...] | None]) -> list[tuple[int, str]]:
    """The module levels to step by, finest first: (depth, name) such as (4, 'neuron'), (2, 'layer').

    A level is a depth at which paths end in an index (``layers.1``, ``layers.1.neurons.3``);
    it is named by the list it indexes, made singular. At most two: the finest and the coarsest.
    """
    depths = sorted(
        {d for path in paths if path for d in range(2, len(path) + 1) if path[d - 1].isdigit()}, reverse=True
    )
    chosen = depths[:1] + depths[-1:] if len(depths) > 1 else depths
    named = []
    for depth in chosen:
        word = next(
            path[depth - 2] for path in paths if path and len(path) >= depth and path[depth - 1].isdigit()
        )
        named.append((depth, word[:-1] if word.endswith("s") and len(word) > 1 else word))
    return named


def _runs(keys: list[Any]) -> list[int]:
    """Where runs of equal consecutive keys end (1-based positions): [3, 5] for a a a b b."""
    return [i + 1 for i in range(len(keys)) if i + 1 == len(keys) or keys[i + 1] != keys[i]]


_FIXED = re.compile(r"-?\d+(\.\d+)?")


def _short(text: str) -> str:
    """A number as format_number wrote it, without the characters the page can put back:
    ``1.0000`` -> ``1``, ``-0.5000`` -> ``-.5`` (explore.js pads the decimals again, exactly)."""
    if not _FIXED.fullmatch(text):
        return text  # scientific notation, nan, inf: as they are
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.startswith(("0.", "-0.")):
        text = text.replace("0.", ".", 1)
    return text


# Attributes Graphviz writes on nearly every element, with the values explore.css gives to
# elements without them: a third of a big picture's bytes.
_DEFAULTS = re.compile(
    r' (?:font-family="Times,serif"|font-size="14.00"|text-anchor="middle")'
    r'|(?<=<polyline) fill="none" stroke="black"'
)


def _lean(svg: str) -> str:
    """Graphviz's SVG without what the page's style sheet restores (see _DEFAULTS)."""
    svg = _DEFAULTS.sub("", svg).replace("&#45;", "-")
    return re.sub(r"\n\s*\n", "\n", svg)


def _stream(tokens: list[Any]) -> str:
    return " ".join(map(str, tokens))


class Explorer:
    """The explorer of one graph: displays in Jupyter, ``.save(path)`` writes an HTML file.

    Built by :func:`explore`. The graph is read when the Explorer is made: later changes to
    its Values do not show. Graphviz runs when the Explorer is displayed or saved.
    """

    def __init__(self, root: Any, *, model: Any = None, **draw_options: Any) -> None:
        if not is_value(root):
            raise TypeError(f"explore: root must be a Value, got {type(root).__name__}")
        if not hasattr(root, "_local"):
            raise TypeError(
                "explore needs microgradnn Values (each keeps its local derivatives, which the "
                f"steps show); got a {type(root).__module__}.{type(root).__name__}"
            )
        if "format" in draw_options:
            raise TypeError("explore: format is not an option here (the page always shows SVG)")
        draw_options.setdefault("max_nodes", DEFAULT_MAX_NODES)
        # Every sample stays in the graph: the steps walk through all of backprop, and a sample
        # folded into one box (draw_dot's default for a batch loss) would hide its steps.
        draw_options.setdefault("repeats", None)
        self.root = root
        self._options = make_options(**draw_options)
        self._layout: GraphLayout = layout_graph([root], self._options)
        drawn = sum(self._layout.group(i) is None for i in range(len(self._layout.nodes)))
        if drawn > MAX_DRAWN:
            # Refuse before any work: Graphviz would take minutes (see MAX_DRAWN).
            asked = draw_options["max_nodes"]
            raise ValueError(
                f"explore: max_nodes={asked} would draw {drawn:,} records one by one, and Graphviz "
                f"takes minutes for more than {MAX_DRAWN}; use the default summary "
                f"(max_nodes={DEFAULT_MAX_NODES}: click a box to draw its nodes) or max_nodes <= "
                f"{MAX_DRAWN}; for the whole graph as one static picture, "
                "draw_dot(root, max_nodes=None).save('graph.svg') (slow)"
            )
        self.steps: list[ChainRuleStep] = chain_rule_steps(root)
        self._modules = _module_of(self._layout.nodes, model)
        self._names = self._node_names()
        self._data = self._page_data()
        # The DOT text now (a snapshot, as the numbers above); rendered when shown.
        self._sources = {gi: self._build(gi).source for gi in [None, *self.expandable()]}

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        nodes = len(self._layout.nodes)
        return f"<Explorer: {nodes} nodes, {len(self.steps)} backward steps; .save('graph.html') to keep it>"

    # ------------------------------------------------------------------ the picture
    def drawing(self, expanded: int | None = None) -> Drawing:
        """The drawing shown: ``draw_dot``'s, with ids the page's script finds nodes and edges by.

        ``expanded``: a box of a big graph's summary to draw node by node (see :meth:`expandable`).
        """
        return self._build(expanded)

    def _build(self, expanded: int | None) -> Drawing:
        boxes = frozenset() if expanded is None else frozenset([expanded])
        drawing = build_drawing([self.root], self._options, expanded=boxes)
        # Graphviz expands \N (node name), \T and \H (an edge's ends) in ids: n3 -> id "mgn-n3".
        drawing.node_attr["id"] = "mgn-\\N"
        drawing.edge_attr["id"] = "mgn-\\T-\\H"
        return drawing

    def svg(self, expanded: int | None = None) -> str:
        """The picture as SVG markup to put inside a page (raises RenderError without Graphviz)."""
        if expanded not in self._sources:
            raise ValueError(f"svg: box {expanded!r} is not one that expands; see .expandable()")
        svg = render_svg(self._sources[expanded])
        # Comments and <title>s name nodes by their DOT ids ("n3"): browsers would show those
        # as tooltips, and the page's own panel says more.
        svg = re.sub(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->|<title>.*?</title>", "", svg, flags=re.DOTALL)
        # The page sizes the picture itself (scaled to fit, zoomable): drop the fixed size.
        svg = re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg class="mgn-svg"', svg, count=1).strip()
        return _lean(svg)

    # ------------------------------------------------------------------ the numbers
    def _name(self, node: Any) -> str:
        """A node's name in the page's formulas: its label quoted, else where it is in the model
        (``layers[1].neurons[3] dot``), else what it is (``[+ node]``, ``[leaf 2.0000]``)."""
        return self._names[self._index[node]]

    def _node_names(self) -> list[str]:
        nodes, modules = self._layout.nodes, self._modules
        self._index = {node: i for i, node in enumerate(nodes)}
        # A module called on several inputs (a batch) makes the same node once per call, and
        # a module's parameters may each feed one (the p * p of an L2 penalty): " #k" tells
        # them apart, k counting in the order the graph was built (call k, for a batch).
        kinds: list[tuple[tuple[str, ...], str] | None] = [
            (module, str(node._op)) if node._prev and module else None for module, node in zip(modules, nodes)
        ]
        total = Counter(k for k in kinds if k is not None)
        seen: Counter = Counter()
        self._by_module = [False] * len(nodes)  # named after the module that made it
        names = []
        for i, node in enumerate(nodes):
            label = display_label(getattr(node, "label", ""))
            kind = kinds[i]
            if label:
                names.append(repr(label))
            elif node is self.root:
                names.append("[output]")
            elif kind is not None:
                self._by_module[i] = True
                seen[kind] += 1
                call = f" #{seen[kind]}" if total[kind] > 1 else ""
                names.append(f"{_module_name(kind[0])} {kind[1]}{call}")
            elif node._prev:
                names.append(f"[{node._op} node]")
            else:
                names.append(f"[leaf {format_number(node.data, self._options.precision)}]")
        return names

    def _panels(self, shown: list[int], final: dict[Any, float]) -> dict[int, list[str]]:
        """What the panel says about each node that some view draws as its own record."""
        p = self._options.precision
        consumers: dict[Any, list[tuple[Any, float, float, float]]] = {}
        for step in self.steps:
            for term in step.terms:
                use = (step.node, term.local, step.grad, term.contribution)
                consumers.setdefault(term.input, []).append(use)
        panels: dict[int, list[str]] = {}
        for i in shown:
            node = self._layout.nodes[i]
            name = self._name(node)
            kind = f"op {node._op}" if node._prev else "leaf"
            lines = [
                f"{name} ({kind})",
                f"data {format_number(node.data, p)}    grad {format_number(final[node], p)} "
                "(after backward)",
            ]
            if node._prev:
                lines.append("local derivatives:")
                for child, local in zip(node._prev, getattr(node, "_local", ())):
                    lines.append(f"  ∂{name}/∂{self._name(child)} = {format_number(local, p)}")
            if node is self.root:
                lines.append(f"grad = 1 (the output: ∂{name}/∂{name} = 1)")
            else:
                terms = consumers.get(node, [])
                if not terms:
                    lines.append("grad = 0 (nothing reads this node)")
                else:
                    lines.append(f"grad = Σ over the {len(terms)} uses of {name}: ∂use/∂{name} · use.grad")
                    for user, local, g, contribution in terms[:_PANEL_TERMS]:
                        lines.append(
                            f"  + ∂{self._name(user)}/∂{name} · {self._name(user)}.grad = "
                            f"{format_number(local, p)} · {format_number(g, p)} = "
                            f"{format_number(contribution, p)}"
                        )
                    if len(terms) > _PANEL_TERMS:
                        lines.append(f"  + … {len(terms) - _PANEL_TERMS} more")
                    lines.append(f"  = {format_number(final[node], p)}")
            panels[i] = lines
        return panels

    def expandable(self) -> list[int]:
        """The summary's boxes that a click draws node by node (small enough to be drawn)."""
        plan = self._layout.plan
        if plan is None:
            return []
        small = [gi for gi, group in enumerate(plan.groups) if len(group.members) <= _EXPAND_NODES]
        return small[:_EXPAND_BOXES]

    def _page_data(self) -> dict[str, Any]:
        """Everything the page's script needs, as compact JSON-able data; nodes by their index.

        A network's loss has thousands of steps, so the page gets numbers only (its script
        writes the sentences), as short as they can be: numbers as JSON numbers (see
        :func:`_compact`), names only where they differ from ``[op node]``/``[leaf v]``, all of a
        node's inputs only for nodes some view draws (else the first few the lines name).
        """
        p = self._options.precision
        layout = self._layout
        nodes = layout.nodes
        index = self._index
        group_of = [layout.group(i) for i in range(len(nodes))]
        expandable = self.expandable()
        # Nodes some view draws as records: those drawn anyway and those of boxes that expand.
        shown = {i for i, g in enumerate(group_of) if g is None}
        for gi in expandable:
            shown.update(layout.plan.groups[gi].members)  # type: ignore[union-attr]
        final = {node: 0.0 for node in nodes}
        final[self.root] = 1.0
        for step in self.steps:
            for term in step.terms:
                final[term.input] = term.after

        def num(x: float) -> str:
            return format_number(x, p)

        # Backward steps as flat lists: [node, its grad, how many inputs, then for the inputs
        # the page's line lists and those it draws: input, local, local·grad, input's grad
        # after the step, ...]; the forward pass visits the operations in index order.
        backward = []
        for step in self.steps:
            row: list[Any] = [index[step.node], num(step.grad), len(step.terms)]
            for position, t in enumerate(step.terms):
                if position < _LINE_TERMS or index[t.input] in shown:
                    row += [index[t.input], num(t.local), num(t.contribution), num(t.after)]
            backward.append(row)
        spans = grad_states([step.node for step in self.steps])
        records = {}
        for i in sorted(shown):
            node = nodes[i]
            first, last = spans.get(node, (0, 0))
            records[i] = {
                "leaf": not node._prev,
                "root": node is self.root,
                "first": first,
                "last": last,
            }
        op_names = sorted({str(node._op) for node in nodes if node._prev})
        op_code = {op: k + 1 for k, op in enumerate(op_names)}
        values = [num(node.data) for node in nodes]
        # Names the page can make itself are left out: "[op node]", "[leaf v]", and a module's
        # operation, made from the module's name (see _node_names).
        module_names = sorted({m for i, m in enumerate(self._modules) if m and nodes[i]._prev}, key=str)
        module_code = {m: k + 1 for k, m in enumerate(module_names)}
        modules = [_module_name(m) for m in module_names]
        module_of = [
            module_code[m] if m and by_module else 0 for m, by_module in zip(self._modules, self._by_module)
        ]
        names = {}
        for i, node in enumerate(nodes):
            default = f"[{node._op} node]" if node._prev else f"[leaf {format_number(node.data, p)}]"
            if self._names[i] != default and not module_of[i]:
                names[i] = self._names[i]
        inputs = [
            kids if i in shown or len(kids) <= _LINE_TERMS else kids[:_LINE_TERMS]
            for i, kids in enumerate(layout.children)
        ]
        arity = {i: len(kids) for i, kids in enumerate(layout.children) if len(inputs[i]) != len(kids)}
        return {
            "title": f"backprop explorer: {self._name(self.root)}",
            "output": self._name(self.root),
            "precision": p,
            "zero": format_number(0.0, p),
            "one": format_number(1.0, p),
            # The fills of BackwardStepper (how far each grad is summed), unless the user chose
            # draw_dot's colours by role or gradient.
            "fills": STEP_FILLS if self._options.color_by is None else None,
            "opNames": op_names,
            "ops": [op_code[str(node._op)] if node._prev else 0 for node in nodes],
            "names": names,
            "modules": modules,
            "moduleOf": module_of,
            "values": values,
            "inputs": inputs,
            "arity": arity,
            "groupOf": group_of,
            "expandable": expandable,
            "nodes": records,
            "backward": backward,
            "panels": self._panels(sorted(shown), final),
            "boxGrads": self._box_grads(),
            "levels": self._module_runs(),
        }

    def _box_grads(self) -> dict[int, list[Any]]:
        """For each box of the summary that holds parameters, its max |grad| as backward goes:
        [step, max |grad| after it, ...] at each step where the shown number changes."""
        plan = self._layout.plan
        if plan is None:
            return {}
        p = self._options.precision
        nodes, is_param = self._layout.nodes, self._layout.is_param
        members = {
            gi: [nodes[i] for i in group.members if is_param[i] and not nodes[i]._prev]
            for gi, group in enumerate(plan.groups)
        }
        box_of = {node: gi for gi, params in members.items() for node in params}
        grads: dict[Any, float] = {}
        shown: dict[int, str] = {}
        changes: dict[int, list[Any]] = {}
        zero = format_number(0.0, p)
        for step in self.steps:
            touched = set()
            for term in step.terms:
                gi = box_of.get(term.input)
                if gi is not None:
                    grads[term.input] = term.after
                    touched.add(gi)
            for gi in touched:
                # Over the whole box again: a grad can shrink as terms of both signs arrive.
                sizes = [abs(grads.get(node, 0.0)) for node in members[gi]]
                largest = math.nan if any(map(math.isnan, sizes)) else max(sizes)
                text = format_number(largest, p)
                if shown.get(gi, zero) != text:
                    shown[gi] = text
                    changes.setdefault(gi, []).extend([step.number, text])
        return changes

    def _module_runs(self) -> list[dict[str, Any]]:
        """For each module level (a neuron, a layer), where its runs of steps end: the page's
        "next neuron" jumps to the end of the run of steps the next step belongs to."""
        modules = self._modules
        index = self._index
        forward = [i for i, node in enumerate(self._layout.nodes) if node._prev]
        levels = []
        for depth, word in _levels(modules):

            def key(i: int, depth: int = depth) -> tuple[str, ...] | None:
                path = modules[i]
                return path[:depth] if path is not None and len(path) >= depth else None

            levels.append(
                {
                    "name": word,
                    "forward": _runs([key(i) for i in forward]),
                    "backward": _runs([key(index[step.node]) for step in self.steps]),
                }
            )
        return levels

    def _payload(self, expandable: list[int]) -> dict[str, Any]:
        """``_data`` as the page gets it: the long lists as strings of space-separated tokens.

        Numbers lose what the page can put back (:func:`_short`); a node is given by how far it
        is from the one before it in the list (indices count inputs first, so these are small);
        ``=`` stands for "the same text as the number before". For the moons loss this is less
        than half the size of the same lists as JSON arrays.
        """
        data = dict(self._data)
        data["expandable"] = expandable
        data["values"] = _stream([_short(v) for v in data["values"]])
        data["ops"] = _stream(data["ops"])
        data["moduleOf"] = _stream(data["moduleOf"])
        data["groupOf"] = _stream(["-" if g is None else g for g in data["groupOf"]])
        tokens: list[Any] = []
        for i, kids in enumerate(data["inputs"]):
            tokens.append(data["arity"].get(i, len(kids)))
            tokens += [i - c for c in kids]
        data["inputs"] = _stream(tokens)
        del data["arity"]
        tokens = []
        previous = len(self._layout.nodes)
        for row in data["backward"]:
            node, grad, count, terms = row[0], row[1], row[2], row[3:]
            tokens += [previous - node, _short(grad), count, len(terms) // 4]
            previous = node
            for k in range(0, len(terms), 4):
                child, local, contribution, after = terms[k : k + 4]
                tokens += [
                    node - child,
                    _short(local),
                    "=" if contribution == grad else _short(contribution),
                    "=" if after == contribution else _short(after),
                ]
        data["backward"] = _stream(tokens)
        data["boxGrads"] = {
            gi: _stream([_short(str(t)) for t in row]) for gi, row in data["boxGrads"].items()
        }
        return data

    # ------------------------------------------------------------------ the page
    def _pictures(self) -> tuple[str, dict[int, str]]:
        """The main picture and, for each box that expands, the picture with it expanded."""
        expansions: dict[int, str] = {}
        size = 0
        for gi in self.expandable():
            svg = self.svg(expanded=gi)
            size += len(svg)
            if size > _EXPAND_BUDGET:
                break  # the page stays small; the other boxes stay boxes
            expansions[gi] = svg
        return self.svg(), expansions

    def _fragment(self, pictures: tuple[str, dict[int, str]] | None, standalone: bool) -> str:
        """The explorer as one <div> with its style and script, for a page or a notebook cell."""
        payload = _json_for_script(self._payload(list(pictures[1]) if pictures else self.expandable()))
        packed = ""
        if len(payload) > _PACK_ABOVE:
            # A network's steps: gzip makes them 4 times smaller (base64 costs back a third).
            raw = gzip.compress(payload.encode("utf-8"), compresslevel=9, mtime=0)
            payload = json.dumps(base64.b64encode(raw).decode("ascii"))
            packed = ' data-packed="gzip"'
        uid = hashlib.sha1(payload.encode("utf-8")).hexdigest()[:8]
        element_id = f"mgn-explorer-{uid}-{next(_instances)}"
        if pictures is None:
            picture = (
                '<p class="mgn-missing" role="alert">The graph cannot be drawn here: Graphviz is not '
                f"available. To see it, {html.escape(INSTALL_HINT)}.</p>"
            )
        else:
            picture = pictures[0]
        # The pictures with a box expanded wait, inert, in <template>s until a click on the box.
        expansions = "".join(
            f'<template class="mgn-expansion" data-group="{gi}">{svg}</template>'
            for gi, svg in (pictures[1].items() if pictures else ())
        )
        config = {"id": element_id, "standalone": standalone, "hasPicture": pictures is not None}
        return (
            f'<div class="mgn-explorer{" mgn-page" if standalone else ""}" id="{element_id}" tabindex="0">'
            f"<style>{_asset('explore.css')}</style>"
            '<div class="mgn-bar">'
            '<button type="button" data-act="reset" title="back to the start (Home)">reset</button>'
            '<button type="button" data-act="prev" title="previous step (←)">◀ back</button>'
            '<button type="button" data-act="next" title="next step (→)">step ▶</button>'
            '<input type="range" class="mgn-slider" min="0" max="0" value="0" aria-label="step">'
            '<span class="mgn-counter" aria-live="polite">step 0 / 0</span>'
            '<label class="mgn-mode"><input type="checkbox" data-act="forward"> forward pass first</label>'
            '<span class="mgn-zoom">'
            '<button type="button" data-act="zoomin" title="zoom in">+</button>'
            '<button type="button" data-act="zoomout" title="zoom out">−</button>'
            '<button type="button" data-act="fit" title="back to the opening view">fit</button>'
            '<button type="button" data-act="whole" title="all of the picture">all</button>'
            '<button type="button" data-act="collapse" title="back to the summary" hidden>summary</button>'
            "</span>"
            "</div>"
            '<div class="mgn-line" aria-live="polite"></div>'
            f'<div class="mgn-view">{picture}'
            '<div class="mgn-panel">Point at a node to see its numbers.</div></div>'
            f"{expansions}"
            '<p class="mgn-nojs">(The buttons need JavaScript: in Jupyter, trust the notebook or run '
            "the cell.)</p>"
            f'<script type="application/json" class="mgn-data"{packed}>{payload}</script>'
            f'<script type="application/json" class="mgn-config">{_json_for_script(config)}</script>'
            f"<script>{_asset('explore.js')}\n;mgnExplorer({json.dumps(element_id)});</script>"
            "</div>"
        )

    def _pictures_or_none(self) -> tuple[str, dict[int, str]] | None:
        try:
            return self._pictures()
        except GraphvizMissingError:
            return None

    def _repr_html_(self) -> str:
        """The explorer inline in Jupyter; never raises (a message says what went wrong)."""
        try:
            return self._fragment(self._pictures_or_none(), standalone=False)
        except RenderError as exc:
            return f'<p class="mgn-missing">{html.escape(str(exc))}</p>'
        except Exception as exc:  # noqa: BLE001 - display must never raise
            problem = f"{type(exc).__name__}: {exc}"
            return f"<p>(could not show the explorer: {html.escape(problem)})</p>"

    def html(self) -> str:
        """The explorer as a complete HTML document (raises RenderError if it cannot be drawn)."""
        title = html.escape(str(self._data["title"]))
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            # An empty icon: without it a browser may ask a web server for /favicon.ico.
            '<link rel="icon" href="data:,">'
            f"<title>{title}</title>"
            "<style>body{margin:12px;font-family:system-ui,sans-serif}"
            "@media (prefers-color-scheme: dark){body{background:#1e1e1e;color:#ddd}}</style>"
            f"</head><body>{self._fragment(self._pictures(), standalone=True)}</body></html>\n"
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the explorer to ``path`` (an .html or .htm file) as one self-contained page.

        Raises :class:`~microgradnn.viz.RenderError` if neither ``dot`` nor pygraphviz can draw
        the graph; nothing is written then. The page replaces an old file atomically
        (:func:`microgradnn.fileio.write_atomic`).
        """
        path = Path(check_path("Explorer.save(path)", path))
        if path.suffix.lower() not in (".html", ".htm"):
            shown = repr(path.suffix) if path.suffix else "no suffix"
            raise ValueError(
                f"save: the explorer is a web page: give an .html file, not {str(path)!r} ({shown})"
            )
        page = self.html()  # render first, so that a failure leaves no partial file
        write_atomic(path, page, name="Explorer.save(path)")
        return path
