"""A correct micrograd-style engine with switches that plant the bugs learners make.

``make_value_class(None)`` is correct; ``make_value_class(name)`` for each name in ``MUTANTS``
has exactly one bug. Unlike lecture_value.py, subtraction, negation and division are nodes of
their own here (with their own ``_backward``), so their derivatives can be wrong too.
"""

import math

MUTANTS = {
    "tanh_grad": "tanh's derivative written 1 - t instead of 1 - t**2",
    "exp_grad": "exp's backward forgets the factor exp(x)",
    "pow_grad": "x ** n's derivative written n * x**n",
    "log_grad": "log's derivative written 1 / x**2",
    "sigmoid_grad": "sigmoid's derivative written s instead of s * (1 - s)",
    "relu_grad": "relu passes the gradient on even where x < 0",
    "mul_swapped": "a * b gives a the derivative a (instead of b)",
    "mul_assign": "a * b assigns (=) its inputs' grads instead of adding (+=)",
    "add_assign": "a + b assigns (=) its inputs' grads instead of adding (+=)",
    "add_one_side": "a + b forgets to pass the gradient to b",
    "div_grad": "a / b gives b the derivative +a / b**2",
    "neg_grad": "-a passes the gradient on unchanged",
    "rsub_wrong": "2 - a computed as a - 2 (__rsub__ with the operands swapped)",
    "rtruediv_wrong": "2 / a computed as a / 2 (__rtruediv__ with the operands swapped)",
    "no_seed": "backward() does not set the output's grad to 1",
    "forward_order": "backward() calls the nodes in topological order, not reversed",
    "preorder": "the topological sort appends a node before its inputs (pre-order)",
    "no_visited": "the topological sort has no visited set (shared nodes run twice)",
}


def make_value_class(bug=None):
    if bug is not None and bug not in MUTANTS:
        raise ValueError(f"unknown mutant {bug!r}")

    class Value:
        def __init__(self, data, _children=(), _op=""):
            self.data = data
            self.grad = 0.0
            self._backward = lambda: None
            self._prev = set(_children)
            self._op = _op

        def __repr__(self):
            return f"Value(data={self.data}, grad={self.grad})"

        @staticmethod
        def _wrap(x):
            return x if isinstance(x, Value) else Value(x)

        def __add__(self, other):
            other = self._wrap(other)
            out = Value(self.data + other.data, (self, other), "+")

            def _backward():
                if bug == "add_assign":
                    self.grad = out.grad
                    other.grad = out.grad
                    return
                self.grad += out.grad
                if bug != "add_one_side":
                    other.grad += out.grad

            out._backward = _backward
            return out

        def __radd__(self, other):
            return self + other

        def __mul__(self, other):
            other = self._wrap(other)
            out = Value(self.data * other.data, (self, other), "*")

            def _backward():
                if bug == "mul_assign":
                    self.grad = other.data * out.grad
                    other.grad = self.data * out.grad
                    return
                self.grad += (self.data if bug == "mul_swapped" else other.data) * out.grad
                other.grad += self.data * out.grad

            out._backward = _backward
            return out

        def __rmul__(self, other):
            return self * other

        def __neg__(self):
            out = Value(-self.data, (self,), "neg")

            def _backward():
                self.grad += (1.0 if bug == "neg_grad" else -1.0) * out.grad

            out._backward = _backward
            return out

        def __sub__(self, other):
            other = self._wrap(other)
            out = Value(self.data - other.data, (self, other), "-")

            def _backward():
                self.grad += out.grad
                other.grad -= out.grad

            out._backward = _backward
            return out

        def __rsub__(self, other):
            return self - other if bug == "rsub_wrong" else self._wrap(other) - self

        def __truediv__(self, other):
            other = self._wrap(other)
            out = Value(self.data / other.data, (self, other), "/")

            def _backward():
                self.grad += out.grad / other.data
                sign = 1.0 if bug == "div_grad" else -1.0
                other.grad += sign * self.data / other.data**2 * out.grad

            out._backward = _backward
            return out

        def __rtruediv__(self, other):
            return self / other if bug == "rtruediv_wrong" else self._wrap(other) / self

        def __pow__(self, n):
            assert isinstance(n, (int, float)), "only number exponents"
            out = Value(self.data**n, (self,), f"**{n}")

            def _backward():
                power = n if bug == "pow_grad" else n - 1
                self.grad += n * self.data**power * out.grad

            out._backward = _backward
            return out

        def _unary(self, value, derivative, op):
            out = Value(value, (self,), op)

            def _backward():
                self.grad += derivative() * out.grad

            out._backward = _backward
            return out

        def tanh(self):
            t = math.tanh(self.data)
            return self._unary(t, (lambda: 1 - t) if bug == "tanh_grad" else (lambda: 1 - t**2), "tanh")

        def exp(self):
            e = math.exp(self.data)
            return self._unary(e, (lambda: 1.0) if bug == "exp_grad" else (lambda: e), "exp")

        def log(self):
            x = self.data
            return self._unary(
                math.log(x), (lambda: 1 / x**2) if bug == "log_grad" else (lambda: 1 / x), "log"
            )

        def sigmoid(self):
            s = 1 / (1 + math.exp(-self.data))
            return self._unary(s, (lambda: s) if bug == "sigmoid_grad" else (lambda: s * (1 - s)), "sigmoid")

        def relu(self):
            x = self.data
            return self._unary(
                max(x, 0.0), (lambda: 1.0) if bug == "relu_grad" else (lambda: float(x > 0)), "ReLU"
            )

        def backward(self):
            topo = []
            visited = set()

            def build(v):
                if bug == "no_visited" or v not in visited:
                    visited.add(v)
                    if bug == "preorder":
                        topo.append(v)
                    for child in v._prev:
                        build(child)
                    if bug != "preorder":
                        topo.append(v)

            build(self)
            if bug != "no_seed":
                self.grad = 1.0
            for node in topo if bug in ("forward_order", "preorder") else reversed(topo):
                node._backward()

    Value.__qualname__ = Value.__name__ = f"Value_{bug}" if bug else "Value"
    return Value
