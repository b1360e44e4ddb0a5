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

import hashlib
import html
import itertools
import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

from microgradnn.checks import check_path, display_label
from microgradnn.fileio import write_atomic
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

# Fragments shown in one notebook get distinct element ids (a counter, so that re-running a
# notebook gives the same output).
_instances = itertools.count(1)


def explore(root: Any, **draw_options: Any) -> Explorer:
    """An interactive page of the graph of ``root`` (one Value): step through backprop, hover nodes.

    In Jupyter the result displays inline; ``.save("graph.html")`` writes one self-contained
    HTML file (no network access needed, e.g. for a slide or a course page). Drawing options
    (``local_grads``, ``rankdir``, ``max_nodes``, ``precision``, ...) are those of ``draw_dot``.
    The user's graph is only read: no ``data`` or ``grad`` is changed.
    """
    return Explorer(root, **draw_options)


def _json_for_script(data: Any) -> str:
    """JSON that can sit inside a <script> element: ``<``, ``>`` and ``&`` cannot end it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _asset(name: str) -> str:
    return resources.files("microgradnn.viz").joinpath(name).read_text(encoding="utf-8")


class Explorer:
    """The explorer of one graph: displays in Jupyter, ``.save(path)`` writes an HTML file.

    Built by :func:`explore`. The graph is read when the Explorer is made: later changes to
    its Values do not show. Graphviz runs when the Explorer is displayed or saved.
    """

    def __init__(self, root: Any, **draw_options: Any) -> None:
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
        self.root = root
        self._options = make_options(**draw_options)
        self.steps: list[ChainRuleStep] = chain_rule_steps(root)
        self._layout: GraphLayout = layout_graph([root], self._options)
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
        return re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg class="mgn-svg"', svg, count=1).strip()

    # ------------------------------------------------------------------ the numbers
    def _name(self, node: Any) -> str:
        """A node's name in the page's formulas: its label quoted, else what it is."""
        label = display_label(getattr(node, "label", ""))
        if label:
            return repr(label)
        if node._prev:
            return f"[{node._op} node]"
        return f"[leaf {format_number(node.data, self._options.precision)}]"

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
        """Everything the page's script needs, as plain JSON-able data; nodes by their index."""
        p = self._options.precision
        layout = self._layout
        nodes = layout.nodes
        index = {node: i for i, node in enumerate(nodes)}
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

        # Steps as numbers only (the page writes the sentences around them): a loss of 10,000
        # nodes has 5,000 steps. Backward: [node, its grad, how many inputs, [[input, local,
        # local·grad, input's grad after the step], ...]] for the inputs the page's line lists
        # and those it draws; the forward pass visits the operations in index order.
        backward = [
            [
                index[step.node],
                format_number(step.grad, p),
                len(step.terms),
                [
                    [
                        index[t.input],
                        format_number(t.local, p),
                        format_number(t.contribution, p),
                        format_number(t.after, p),
                    ]
                    for position, t in enumerate(step.terms)
                    if position < _LINE_TERMS or index[t.input] in shown
                ],
            ]
            for step in self.steps
        ]
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
        return {
            "title": f"backprop explorer: {self._name(self.root)}",
            "output": self._name(self.root),
            "zero": format_number(0.0, p),
            "one": format_number(1.0, p),
            # The fills of BackwardStepper (how far each grad is summed), unless the user chose
            # draw_dot's colours by role or gradient.
            "fills": STEP_FILLS if self._options.color_by is None else None,
            "names": [self._name(node) for node in nodes],
            "ops": [str(node._op) if node._prev else "" for node in nodes],
            "values": [format_number(node.data, p) for node in nodes],
            "inputs": layout.children,
            "groupOf": group_of,
            "expandable": expandable,
            "nodes": records,
            "backward": backward,
            "panels": self._panels(sorted(shown), final),
        }

    # ------------------------------------------------------------------ the page
    def _pictures(self) -> tuple[str, dict[int, str]]:
        """The main picture and, for each box that expands, the picture with it expanded."""
        return self.svg(), {gi: self.svg(expanded=gi) for gi in self.expandable()}

    def _fragment(self, pictures: tuple[str, dict[int, str]] | None, standalone: bool) -> str:
        """The explorer as one <div> with its style and script, for a page or a notebook cell."""
        uid = hashlib.sha1(_json_for_script(self._data).encode("utf-8")).hexdigest()[:8]
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
            f'<div class="mgn-explorer" id="{element_id}" tabindex="0">'
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
            '<button type="button" data-act="fit" title="fit to the width">fit</button>'
            '<button type="button" data-act="collapse" title="back to the summary" hidden>summary</button>'
            "</span>"
            "</div>"
            '<div class="mgn-line" aria-live="polite"></div>'
            f'<div class="mgn-view">{picture}</div>{expansions}'
            '<div class="mgn-panel">Point at a node to see its numbers.</div>'
            '<p class="mgn-nojs">(The buttons need JavaScript: in Jupyter, trust the notebook or run '
            "the cell.)</p>"
            f'<script type="application/json" class="mgn-data">{_json_for_script(self._data)}</script>'
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
