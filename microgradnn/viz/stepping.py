"""Step-through backpropagation: the graph as it is after k chain-rule steps of backward.

``backward`` seeds the output's grad with 1 and then, for each operation in reverse
topological order, applies one chain-rule step: every input's grad += local derivative × the
operation's grad. Here those steps are replayed on a private table of gradients, so a notebook
can show the picture after each one while the user's graph is left untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from microgradnn.checks import check_int, describe
from microgradnn.engine import topological_order
from microgradnn.viz.drawing import (
    DEFAULT_MAX_NODES,
    Drawing,
    StepView,
    build_drawing,
    describe_node,
    format_number,
    is_value,
    make_options,
)
from microgradnn.viz.rendering import Bundle

__all__ = [
    "BackwardStepper",
    "ChainRuleStep",
    "ChainRuleTerm",
    "backward_steps",
    "chain_rule_steps",
    "draw_backward_steps",
    "grad_states",
    "grads_after_steps",
    "state_after",
]

# How many inputs of the current operation the caption lists one by one.
_CAPTION_INPUTS = 4


def _check_root(root: Any, where: str) -> Any:
    if not is_value(root):
        raise TypeError(f"{where}(root): expected a Value, got {describe(root)}")
    return root


def backward_steps(root: Any) -> list[Any]:
    """The operations whose chain-rule step backward applies, in the order it applies them.

    That is every node with inputs, in reverse topological order (leaves have no step).
    """
    _check_root(root, "backward_steps")
    return [node for node in reversed(topological_order(root)) if node._prev]


@dataclass(frozen=True)
class ChainRuleTerm:
    """One input's share of a chain-rule step: ``input.grad += local × grad of the step's node``."""

    input: Any
    local: float  # ∂node/∂input
    contribution: float  # local × the node's grad
    after: float  # the input's grad once the whole step has been applied


@dataclass(frozen=True)
class ChainRuleStep:
    """One chain-rule step of backward: ``node`` passes its (final) grad on to its inputs."""

    number: int  # 1 for the first step backward applies
    node: Any
    grad: float  # the node's grad, final when its step is applied
    terms: tuple[ChainRuleTerm, ...]


def chain_rule_steps(root: Any) -> list[ChainRuleStep]:
    """Every chain-rule step of a fresh backward from ``root``, with its numbers.

    The one model of "a backprop step" behind :class:`BackwardStepper`, :func:`grads_after_steps`
    and the explorer (``microgradnn.viz.explore``): the output is seeded with grad 1, then each
    operation, in :func:`backward_steps` order, adds local derivative × its grad to each input.
    The graph's own ``grad`` attributes are not touched.
    """
    return _replay(root, backward_steps(root), None)[1]


def _replay(root: Any, steps: list[Any], k: int | None) -> tuple[dict[Any, float], list[ChainRuleStep]]:
    """Grads after the first k steps (all when k is None), and the steps applied, recorded."""
    grads = {node: 0.0 for node in topological_order(root)}
    grads[root] = 1.0
    recorded: list[ChainRuleStep] = []
    for number, node in enumerate(steps[:k], start=1):
        locals_ = getattr(node, "_local", None)
        if locals_ is None:
            raise TypeError(
                "step-through backprop needs microgradnn Values (each node keeps its local "
                f"derivatives in _local); got a {type(node).__name__} without them"
            )
        g = grads[node]
        pairs = list(zip(node._prev, locals_))
        for child, local in pairs:
            grads[child] += local * g
        terms = tuple(ChainRuleTerm(child, local, local * g, grads[child]) for child, local in pairs)
        recorded.append(ChainRuleStep(number, node, g, terms))
    return grads, recorded


def grad_states(steps: list[Any]) -> dict[Any, tuple[int, int]]:
    """For each node read by some of ``steps`` (as from :func:`backward_steps`), the (first, last)
    number of the steps that pass it grad, counting from 1.

    After k steps a node's grad is final when k >= last, partly summed when k >= first, and
    still 0 before that (the output's grad, seeded with 1, is final from the start).
    """
    spans: dict[Any, tuple[int, int]] = {}
    for number, node in enumerate(steps, start=1):
        for child in node._prev:
            spans[child] = (spans.get(child, (number, number))[0], number)
    return spans


def state_after(node: Any, k: int, root: Any, spans: dict[Any, tuple[int, int]]) -> str:
    """``'final'``, ``'partial'`` or ``'pending'``: how far node's grad is summed after k steps."""
    first, last = spans.get(node, (0, 0))
    if node is root or (node in spans and k >= last):
        return "final"
    return "partial" if node in spans and k >= first else "pending"


def _check_k(k: Any, total: int, where: str) -> int:
    k = check_int(f"{where}(k)", k)
    if not 0 <= k <= total:
        raise ValueError(
            f"{where}: this graph's backward has {total} steps, so k must be in 0..{total}, got {k}"
        )
    return k


def grads_after_steps(root: Any, k: int) -> dict[Any, float]:
    """Every node's grad after the output is seeded with 1 and k chain-rule steps are applied.

    As for a fresh backward (all grads starting at 0); ``k = len(backward_steps(root))`` gives
    the full gradients ∂root/∂node. The graph's own ``grad`` attributes are not touched.
    """
    steps = backward_steps(_check_root(root, "grads_after_steps"))
    return _replay(root, steps, _check_k(k, len(steps), "grads_after_steps"))[0]


class BackwardStepper:
    """Walk through backpropagation one chain-rule step at a time, drawing the graph each time.

    In a notebook::

        stepper = BackwardStepper(out)
        stepper.step()      # shows the graph after the first step; run the cell again for the next

    Green records have their final gradient, yellow ones have received part of it, white ones
    nothing yet; the operation just applied and its edges are red, labelled with the local
    derivatives it used. The user's graph is never modified. Drawing options
    (``local_grads``, ``rankdir``, ``max_nodes``, ...) are those of :func:`draw_dot`.
    """

    def __init__(self, root: Any, **draw_options: Any) -> None:
        self.root = _check_root(root, "BackwardStepper")
        draw_options.setdefault("max_nodes", DEFAULT_MAX_NODES)
        self._options = make_options(**draw_options)
        self.steps = backward_steps(root)
        self.k = 0
        # For each node, the steps that pass it grad: final once the last of them is applied.
        self._spans = grad_states(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def done(self) -> bool:
        """Whether every step has been applied."""
        return self.k == len(self.steps)

    def step(self, n: int = 1) -> Drawing:
        """Apply the next ``n`` steps (stopping at the end) and return the drawing."""
        self.k = min(len(self.steps), self.k + _check_count(n, "BackwardStepper.step"))
        return self.draw()

    def back(self, n: int = 1) -> Drawing:
        """Undo the last ``n`` steps (stopping at the start) and return the drawing."""
        self.k = max(0, self.k - _check_count(n, "BackwardStepper.back"))
        return self.draw()

    def goto(self, k: int) -> Drawing:
        """Jump to the state after ``k`` steps and return the drawing."""
        self.k = _check_k(k, len(self.steps), "BackwardStepper.goto")
        return self.draw()

    def reset(self) -> Drawing:
        """Back to the start: only the output's grad (1) is set."""
        return self.goto(0)

    def grads(self) -> dict[Any, float]:
        """Every node's grad after the current number of steps."""
        return _replay(self.root, self.steps, self.k)[0]

    def draw(self) -> Drawing:
        """The graph after the current number of steps."""
        grads, applied = _replay(self.root, self.steps, self.k)
        state = {node: state_after(node, self.k, self.root, self._spans) for node in grads}
        current = applied[-1] if applied else None
        view = StepView(
            grads=grads,
            state=state,
            current=current.node if current is not None else None,
            updated=frozenset(current.node._prev) if current is not None else frozenset(),
            caption=self._caption(current),
        )
        return build_drawing([self.root], self._options, view)

    def _caption(self, current: ChainRuleStep | None) -> list[str]:
        p = self._options.precision
        total = len(self.steps)
        if current is None:
            return [
                f"backward, step 0 of {total}: the output's grad is set to 1; no chain-rule step applied yet"
            ]
        node, g = current.node, current.grad
        lines = [
            f"backward, step {self.k} of {total}: {describe_node(node, p)} (op {node._op}, grad "
            f"{format_number(g, p)}) adds local derivative × its grad to each input:"
        ]
        for term in current.terms[:_CAPTION_INPUTS]:
            lines.append(
                f"    {describe_node(term.input, p)}.grad += {format_number(term.local, p)} × "
                f"{format_number(g, p)} = {format_number(term.contribution, p)}  "
                f"(now {format_number(term.after, p)})"
            )
        if len(current.terms) > _CAPTION_INPUTS:
            lines.append(f"    … and {len(current.terms) - _CAPTION_INPUTS} more inputs")
        if self.done:
            lines.append("all steps applied: every grad is now ∂output/∂node")
        return lines

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **_: Any) -> Bundle:
        return self.draw()._repr_mimebundle_()

    def __repr__(self) -> str:
        return f"BackwardStepper(step {self.k} of {len(self.steps)})"


def _check_count(n: Any, where: str) -> int:
    return check_int(f"{where}(n), the number of steps,", n, lo=0)


def draw_backward_steps(root: Any, k: int, **draw_options: Any) -> Drawing:
    """The graph of ``root`` as it is after k chain-rule steps of backward (see BackwardStepper)."""
    return BackwardStepper(root, **draw_options).goto(k)
