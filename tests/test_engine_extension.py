"""The engine's extension points: an operation of one's own, and pausing the collector."""

from __future__ import annotations

import gc
import math

import pytest

from microgradnn import Value, grad, no_grad
from microgradnn.engine import Operation, gc_paused, make_node


# softplus(x) = ln(1 + eˣ);  d/dx = σ(x). The rule works on floats and on Values.
def softplus_grads(out, x):  # noqa: ANN001, ANN201 - floats or Values
    return (x.sigmoid() if isinstance(x, Value) else 1 / (1 + math.exp(-x)),)


SOFTPLUS = Operation("softplus", softplus_grads)


def softplus(x: Value) -> Value:
    data = math.log1p(math.exp(x.data))
    return make_node(data, (x,), SOFTPLUS, SOFTPLUS.local_grads(data, x.data))


def test_a_custom_operation_backpropagates_and_differentiates_twice() -> None:
    x = Value(0.3, label="x")
    y = softplus(x * 2.0)
    assert y._op == "softplus" and y._prev[0]._prev[0] is x
    y.backward()
    sigma = 1 / (1 + math.exp(-0.6))
    assert x.grad == pytest.approx(2 * sigma, rel=1e-12)
    (dy,) = grad(y, [x], create_graph=True)
    (d2y,) = grad(dy, [x])
    assert dy.data == pytest.approx(2 * sigma, rel=1e-12)
    assert d2y == pytest.approx(4 * sigma * (1 - sigma), rel=1e-9)  # d/dx 2σ(2x) = 4σ(1−σ)


def test_make_node_records_nothing_under_no_grad() -> None:
    x = Value(1.0)
    with no_grad():
        y = softplus(x)
    assert y._prev == () and y._op == ""
    assert y.data == pytest.approx(math.log1p(math.e))


@pytest.mark.parametrize("enabled_before", [True, False])
def test_gc_paused_restores_the_collectors_state_even_after_an_error(enabled_before: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled_before else gc.disable()
        with pytest.raises(RuntimeError), gc_paused():
            assert not gc.isenabled()
            raise RuntimeError("inside")
        assert gc.isenabled() is enabled_before
    finally:
        gc.enable() if was else gc.disable()
