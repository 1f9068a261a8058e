"""Everyday statements around the arithmetic: tests against None on values that are not
differentiated (or that are, and are never None). Expected values are derived by hand."""

import math

import numpy as np
import pytest

import srcdiff
from srcdiff.errors import UnsupportedSyntaxError


def scaled(x, scale=None):
    if scale is None:
        scale = 2.0
    return scale * math.sin(x)


def masked(x, mask=None):
    y = x * x
    if mask is not None:
        y = y * mask
    return np.sum(y)


def test_is_none_on_an_optional_argument():
    # d/dx scale sin x = scale cos x, with scale 2 when not given
    assert srcdiff.grad(scaled)(0.3) == pytest.approx(2.0 * math.cos(0.3))
    assert srcdiff.grad(scaled)(0.3, 5.0) == pytest.approx(5.0 * math.cos(0.3))
    assert srcdiff.grad(scaled, wrt=(0, 1))(0.3, 5.0) == pytest.approx(
        (5.0 * math.cos(0.3), math.sin(0.3)))
    assert srcdiff.jvp(scaled)(0.3, 0.5) == pytest.approx((2 * math.sin(0.3),
                                                           2 * math.cos(0.3) * 0.5))


def test_is_not_none_on_an_array_argument():
    x = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(srcdiff.grad(masked)(x), 2 * x)  # Σ x²
    mask = np.array([1.0, 0.0, 3.0])
    np.testing.assert_allclose(srcdiff.grad(masked)(x, mask), 2 * x * mask)  # Σ m x²


def test_a_differentiated_number_is_never_none():
    def f(x):
        if x is not None and x > 0:
            return x * x
        return -x

    assert srcdiff.grad(f)(3.0) == 6.0 and srcdiff.grad(f)(-3.0) == -1.0


@pytest.mark.parametrize("test", ["x in (1.0, 2.0)", "x is x", "x is None is None"])
def test_other_identity_and_membership_tests_are_refused_where_they_are(test):
    from arrays import program
    func = program(f"def probe(x):\n    if {test}:\n        return x\n    return 2.0 * x\n")
    with pytest.raises(UnsupportedSyntaxError, match="tests against None") as caught:
        srcdiff.grad(func)
    assert caught.value.source_line.strip() == f"if {test}:"
