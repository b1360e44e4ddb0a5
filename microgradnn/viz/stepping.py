"""Step-through backpropagation: the graph as it is after k chain-rule steps of backward.

``backward`` seeds the output's grad with 1 and then, for each operation in reverse
topological order, applies one chain-rule step: every input's grad += local derivative × the
operation's grad. Here those steps are replayed on a private table of gradients, so a notebook
can show the picture after each one while the user's graph is left untouched.
"""

from __future__ import annotations

from typing import Any

from microgradnn.checks import check_int, describe
from microgradnn.engine import topological_order
from microgradnn.viz.drawing import (
    DEFAULT_MAX_NODES,
    Drawing,
    StepView,
    _describe,
    build_drawing,
    format_number,
    is_value,
    make_options,
)

__all__ = ["BackwardStepper", "backward_steps", "draw_backward_steps", "grads_after_steps"]

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


def _replay(root: Any, steps: list[Any], k: int) -> dict[Any, float]:
    grads = {node: 0.0 for node in topological_order(root)}
    grads[root] = 1.0
    for node in steps[:k]:
        locals_ = getattr(node, "_local", None)
        if locals_ is None:
            raise TypeError(
                "step-through backprop needs microgradnn Values (each node keeps its local "
                f"derivatives in _local); got a {type(node).__name__} without them"
            )
        g = grads[node]
        for child, local in zip(node._prev, locals_):
            grads[child] += local * g
    return grads


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
    return _replay(root, steps, _check_k(k, len(steps), "grads_after_steps"))


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
        # Who reads each node: its grad is final once all of them have applied their step.
        self._readers: dict[Any, list[Any]] = {}
        for node in self.steps:
            for child in node._prev:
                self._readers.setdefault(child, []).append(node)

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
        return _replay(self.root, self.steps, self.k)

    def draw(self) -> Drawing:
        """The graph after the current number of steps."""
        grads = self.grads()
        applied = set(self.steps[: self.k])
        state: dict[Any, str] = {}
        for node in grads:
            readers = self._readers.get(node, ())
            if node is self.root or (readers and all(r in applied for r in readers)):
                state[node] = "final"
            elif any(r in applied for r in readers):
                state[node] = "partial"
            else:
                state[node] = "pending"
        current = self.steps[self.k - 1] if self.k else None
        view = StepView(
            grads=grads,
            state=state,
            current=current,
            updated=frozenset(current._prev) if current is not None else frozenset(),
            caption=self._caption(grads, current),
        )
        return build_drawing([self.root], self._options, view)

    def _caption(self, grads: dict[Any, float], current: Any) -> list[str]:
        p = self._options.precision
        total = len(self.steps)
        if current is None:
            return [
                f"backward, step 0 of {total}: the output's grad is set to 1; no chain-rule step applied yet"
            ]
        g = grads[current]
        lines = [
            f"backward, step {self.k} of {total}: {_describe(current, p)} (op {current._op}, grad "
            f"{format_number(g, p)}) adds local derivative × its grad to each input:"
        ]
        locals_ = tuple(getattr(current, "_local", ()))
        pairs = list(zip(current._prev, locals_))
        for child, local in pairs[:_CAPTION_INPUTS]:
            lines.append(
                f"    {_describe(child, p)}.grad += {format_number(local, p)} × {format_number(g, p)} "
                f"= {format_number(local * g, p)}  (now {format_number(grads[child], p)})"
            )
        if len(pairs) > _CAPTION_INPUTS:
            lines.append(f"    … and {len(pairs) - _CAPTION_INPUTS} more inputs")
        if self.done:
            lines.append("all steps applied: every grad is now ∂output/∂node")
        return lines

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **_: Any) -> dict[str, str]:
        return self.draw()._repr_mimebundle_()

    def __repr__(self) -> str:
        return f"BackwardStepper(step {self.k} of {len(self.steps)})"


def _check_count(n: Any, where: str) -> int:
    return check_int(f"{where}(n), the number of steps,", n, lo=0)


def draw_backward_steps(root: Any, k: int, **draw_options: Any) -> Drawing:
    """The graph of ``root`` as it is after k chain-rule steps of backward (see BackwardStepper)."""
    return BackwardStepper(root, **draw_options).goto(k)
