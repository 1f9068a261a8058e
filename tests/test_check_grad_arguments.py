"""check_grad takes what grad takes: structures (dicts, dataclasses, NamedTuples, lists,
tuples; checked leaf by leaf, forward mode along a structured tangent), ``*args``,
keyword-only and positional-only parameters, bound methods and ``functools.partial``.

A check that passes says little alone, so each kind of argument is also checked with a
derivative made wrong on purpose (a registered rule for ``softplus`` giving twice its
derivative, ``2 sigmoid(x)``, or a ``jvp`` doubled): the report must name exactly the
elements whose derivative, worked by hand, goes through the wrong rule.
"""

import dataclasses
import functools
import math
from typing import NamedTuple

import numpy as np
import pytest

import srcdiff
from srcdiff.errors import ArgumentKindError
from srcdiff.expr import exp
from srcdiff.rules import RULES


def softplus(x):
    return math.log1p(math.exp(x))


@pytest.fixture
def wrong_softplus():
    """softplus's derivative registered as 2 sigmoid(x), twice the true one."""
    srcdiff.register_rule(softplus, lambda x: 2 / (1 + exp(-x)))
    yield
    RULES.remove(softplus, 1)


def report_of(func, *args, **kwargs):
    with pytest.raises(srcdiff.GradientCheckError) as info:
        srcdiff.check_grad(func, *args, **kwargs)
    return str(info.value)


# -- structures ------------------------------------------------------------------------
@dataclasses.dataclass
class Model:
    w: np.ndarray
    c: float

    def loss(self, x):
        return self.c * softplus(self.w[1] * x) + self.w[0] * x


class Pair(NamedTuple):
    a: float
    b: float


def by_dict(p, x):  # ∂/∂a = softplus(bx); ∂/∂b = a x sigmoid(bx): only b's meets the rule
    return p["a"] * softplus(p["b"] * x)


def by_model(m, x):
    return m.loss(x)


def by_pair(p, x):
    return p.a * softplus(p.b * x)


def by_list(p, x):
    return p[0] * softplus(p[1] * x)


def by_tuple(p, x):
    a, b = p
    return a * softplus(b * x)


def layered(params, x):
    for W, b in params["layers"]:
        x = np.tanh(W @ x + b)
    return float(np.sum(x)) * params["scale"]


LAYERS = {"layers": [(np.array([[0.3, -0.2], [0.1, 0.4]]), np.array([0.05, -0.1])),
                     (np.array([[0.5, 0.7]]), np.array([0.2]))],
          "scale": 1.5}
X = np.array([0.6, -0.4])


@pytest.mark.parametrize("func, point", [
    (by_dict, {"a": 0.5, "b": 0.3}),
    (by_pair, Pair(0.5, 0.3)),
    (by_list, [0.5, 0.3]),
    (by_tuple, (0.5, 0.3)),
])
def test_structures_are_checked_leaf_by_leaf(func, point, wrong_softplus):
    report = report_of(func, point, 1.2)
    # p's second leaf (b) goes through softplus's derivative, its first (a) does not
    second = "p['b']" if isinstance(point, dict) else "p[1]"
    first = "p['a']" if isinstance(point, dict) else "p[0]"
    assert f"{second}: reverse mode" in report and f"{first}:" not in report


@pytest.mark.parametrize("func, point", [
    (by_dict, {"a": 0.5, "b": 0.3}),
    (by_pair, Pair(0.5, 0.3)),
    (by_list, [0.5, 0.3]),
    (by_tuple, (0.5, 0.3)),
    (by_model, Model(np.array([0.4, -0.7]), 1.3)),
    (layered, LAYERS),
])
def test_right_derivatives_of_structures_pass(func, point):
    srcdiff.check_grad(func, point, X if func is layered else 1.2)
    srcdiff.check_grad(func, point, X if func is layered else 1.2, wrt=(0, 1), seed=3)


def test_an_array_leaf_is_reported_element_by_element(wrong_softplus):
    # ∂/∂w[1] = c x sigmoid(w[1] x) meets the rule; ∂/∂w[0] = x and ∂/∂c do not
    report = report_of(by_model, Model(np.array([0.4, -0.7]), 1.3), 1.2)
    assert "m.w[1]: reverse mode" in report
    assert "m.w[0]" not in report and "m.c" not in report


def test_forward_mode_is_compared_along_a_structured_tangent(monkeypatch):
    from srcdiff import api
    real = api.jvp

    def doubled(func, wrt=0):
        tangent_map = real(func, wrt)

        def twice(*args):
            value, derivative = tangent_map(*args)
            return value, 2 * derivative
        return twice
    monkeypatch.setattr(api, "jvp", doubled)
    report = report_of(layered, LAYERS, X)
    assert "forward mode along a random tangent" in report
    assert "reverse mode" in report.split("forward mode")[1]  # no leaf is reported wrong
    assert "params[" not in report


def test_second_order_refuses_structures_clearly():
    with pytest.raises(ArgumentKindError, match="check_grad with order=2 checks hvp"):
        srcdiff.check_grad(by_dict, {"a": 0.5, "b": 0.3}, 1.2, order=2)


# -- *args -----------------------------------------------------------------------------
def star(x, *args):  # ∂/∂x = sum(args) + 2x; ∂/∂args[i] = x
    return x * sum(args) + x ** 2


def soft_star(x, *args):  # ∂/∂args[0] = x sigmoid(x args[0]) meets the rule; ∂/∂args[1] = x
    return softplus(x * args[0]) + x * args[1]


def test_varargs_are_passed_as_the_function_takes_them():
    srcdiff.check_grad(star, 0.5, 1.0, 2.0, 3.0)
    srcdiff.check_grad(star, 0.5, 1.0, 2.0, 3.0, wrt="args")
    srcdiff.check_grad(star, 0.5, 1.0, 2.0, 3.0, wrt=(0, "args"))


def test_varargs_are_checked_argument_by_argument(wrong_softplus):
    report = report_of(soft_star, 0.5, 1.0, 2.0, wrt="args")
    assert "args[0]: reverse mode" in report and "args[1]" not in report


def test_second_order_of_varargs_is_srcdiffs_refusal():
    with pytest.raises(srcdiff.SrcdiffError, match=r"\*args"):
        srcdiff.check_grad(star, 0.5, 1.0, 2.0, order=2)


# -- keyword-only and positional-only parameters ---------------------------------------
def mixed(x, /, y, *, k=2.0):
    return k * softplus(x * y) + x * x * y


def test_keyword_only_and_positional_only_parameters():
    srcdiff.check_grad(mixed, 0.3, 0.7, wrt=(0, 1), order=2)
    srcdiff.check_grad(mixed, 0.3, 0.7, k=1.5, wrt=(0, 1), order=2)
    srcdiff.check_grad(mixed, 0.3, y=0.7, k=1.5, wrt=(0, "y"))


def test_a_wrong_derivative_with_keyword_only_parameters_is_reported(wrong_softplus):
    # ∂/∂y = k x sigmoid(x y) + x² meets the rule
    assert "y: reverse mode" in report_of(mixed, 0.3, 0.7, k=1.5, wrt="y")


# -- what is not a Python function -------------------------------------------------------
class Squares:
    def __call__(self, x):
        return x * x


@pytest.mark.parametrize("thing", [math.sin, np.sin, Squares()])
def test_what_grad_refuses_check_grad_refuses_alike(thing):
    with pytest.raises(srcdiff.SrcdiffError, match="srcdiff differentiates Python functions"):
        srcdiff.check_grad(thing, 0.3)


# -- bound methods and functools.partial -----------------------------------------------
def cubic(x, k):
    return k * x ** 3 + softplus(x)


def test_bound_methods_and_partials():
    model = Model(np.array([0.4, -0.7]), 1.3)
    srcdiff.check_grad(model.loss, 1.2)
    srcdiff.check_grad(model.loss, 1.2, wrt="self")
    srcdiff.check_grad(model.loss, 1.2, wrt=("self", 0))
    srcdiff.check_grad(functools.partial(cubic, k=2.0), 0.3)
    srcdiff.check_grad(functools.partial(cubic, k=2.0), 0.3, order=2)
    srcdiff.check_grad(functools.partial(cubic, 0.3), 2.0)  # wrt=0: k, the first left


def test_a_wrong_derivative_through_a_binding_is_reported(wrong_softplus):
    model = Model(np.array([0.4, -0.7]), 1.3)
    report = report_of(model.loss, 1.2, wrt="self")
    assert "self.w[1]: reverse mode" in report
    assert "self.w[0]" not in report and "self.c" not in report
    # ∂/∂x = 3 k x² + sigmoid(x) meets the rule; ∂/∂k = x³ does not
    assert "x: reverse mode" in report_of(functools.partial(cubic, k=2.0), 0.3)
    srcdiff.check_grad(functools.partial(cubic, 0.3), 2.0)
