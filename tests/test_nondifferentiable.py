"""srcdiff.nondifferentiable: user functions whose results srcdiff takes as constants.
Expected derivatives are written from the mathematics, the marked results held
constant."""

import math

import numpy
import pytest

import srcdiff
from srcdiff.kinds import array
from srcdiff.pipeline import OPTIMIZATIONS, generate

SETTINGS = [dict(), dict(optimize=False)] + [dict(disable=(p,)) for p in OPTIMIZATIONS]
CALLS = []


@srcdiff.nondifferentiable
def level(v):
    try:  # srcdiff would refuse `try`; it never reads this body
        return math.floor(v * 4.0) / 4.0
    except ValueError:
        return 0.0


@srcdiff.nondifferentiable(returns="number")
def largest_at(w):
    return float(numpy.argmax(w))


@srcdiff.nondifferentiable
def quantized(w):
    return numpy.round(w * 2.0) / 2.0


@srcdiff.nondifferentiable
def said_elementwise(w):
    return float(numpy.sum(w))


@srcdiff.nondifferentiable(returns="array")
def said_array(v):
    return v * 2.0


@srcdiff.nondifferentiable
def counted(v):
    CALLS.append(v)
    return 2.0


def stepped(x):
    s = 0.0
    for i in range(3):
        s = s + x * level(x + i) + math.sin(level(x * 2.0))
    return s


def weighted(w):
    return numpy.sum(w * quantized(w)) * largest_at(w) + w[0] * largest_at(w)


def trusts_a_wrong_declaration(w):
    return numpy.sum(w * said_elementwise(w))


def calls_twice(x):
    return x * counted(x) + x * counted(x)


def test_scalar_code():
    x = 1.3
    expected = sum(level(x + i) for i in range(3))  # d/dx (x * c_i), sin(c) constant
    assert srcdiff.grad(stepped)(x) == pytest.approx(expected, rel=1e-12)
    for setting in SETTINGS:
        assert generate(stepped, ("x",), name="g", **setting).function(x) == \
            pytest.approx(expected, rel=1e-12), setting
    assert srcdiff.jvp(stepped)(x, 2.0) == pytest.approx((stepped(x), 2 * expected), rel=1e-12)
    assert srcdiff.hessian(stepped)(x) == 0.0
    assert srcdiff.grad(srcdiff.grad(stepped))(x) == 0.0
    assert "level(" in srcdiff.source(srcdiff.grad(stepped))  # called, not inlined


def test_array_code():
    w = numpy.array([0.3, 1.4, -0.8])
    k = 1.0  # argmax
    expected = quantized(w) * k + numpy.array([k, 0.0, 0.0])
    numpy.testing.assert_allclose(srcdiff.grad(weighted)(w), expected, rtol=1e-12)
    for setting in SETTINGS:
        got = generate(weighted, ("w",), name="g", kinds={"w": array(1)}, **setting).function(w)
        numpy.testing.assert_allclose(got, expected, rtol=1e-12)
    tangent = numpy.array([0.5, -1.0, 2.0])
    assert srcdiff.jvp(weighted)(w, tangent)[1] == pytest.approx(expected @ tangent, rel=1e-12)


def test_a_result_unlike_the_declaration_raises():
    w = numpy.array([0.3, 1.4])
    message = ("said_elementwise is marked srcdiff.nondifferentiable to return an array of "
               "rank 1, like its arguments, but returned a number")
    with pytest.raises(srcdiff.ArgumentKindError, match=message):
        trusts_a_wrong_declaration(w)
    with pytest.raises(srcdiff.ArgumentKindError, match=message):
        srcdiff.grad(trusts_a_wrong_declaration)(w)
    with pytest.raises(srcdiff.ArgumentKindError, match="to return an array, but returned a number"):
        said_array(1.5)
    assert said_array(numpy.ones(2)).tolist() == [2.0, 2.0]


def test_it_is_called_as_often_as_the_function_calls_it():
    """A marked function may count its calls or draw random numbers: the gradient
    calls it as the function does, never once for two calls."""
    CALLS.clear()
    assert srcdiff.grad(calls_twice)(0.5) == 4.0
    assert len(CALLS) == 2
    for setting in SETTINGS:
        CALLS.clear()
        assert generate(calls_twice, ("x",), name="g", **setting).function(0.5) == 4.0
        assert len(CALLS) == 2, setting


def test_bad_uses():
    with pytest.raises(ValueError, match="returns is None"):
        srcdiff.nondifferentiable(math.floor, returns="float")
    with pytest.raises(srcdiff.SrcdiffError, match="needs a callable"):
        srcdiff.nondifferentiable(3.0)
    marked = srcdiff.nondifferentiable(math.floor)
    assert marked.__name__ == "floor" and marked.__wrapped__ is math.floor
