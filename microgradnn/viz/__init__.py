"""Drawing computation graphs: ``draw_dot``, step-through backprop, and rendering anywhere.

``draw_dot(root)`` returns a ``graphviz.Digraph`` (a :class:`Drawing`) that Jupyter shows as
SVG, rendered by Graphviz's ``dot`` program, else by pygraphviz (``pip install
'microgradnn[render]'``), else shown as DOT source with a hint: displaying never fails.
:func:`save` writes ``.svg``/``.png``/``.dot`` files with the same fallbacks.
:func:`explore` makes the same picture interactive (step through backprop, point at nodes),
inline in Jupyter or saved as one offline ``.html`` file.
"""

from microgradnn.viz.drawing import DEFAULT_MAX_NODES, ROLE_COLORS, Drawing, draw_dot
from microgradnn.viz.explore import Explorer, explore
from microgradnn.viz.rendering import GraphvizMissingError, RenderError, render, render_svg, save
from microgradnn.viz.stepping import BackwardStepper, backward_steps, draw_backward_steps, grads_after_steps

__all__ = [
    "DEFAULT_MAX_NODES",
    "ROLE_COLORS",
    "BackwardStepper",
    "Drawing",
    "Explorer",
    "GraphvizMissingError",
    "RenderError",
    "backward_steps",
    "draw_backward_steps",
    "draw_dot",
    "explore",
    "grads_after_steps",
    "render",
    "render_svg",
    "save",
]
