"""Rules for ordinary functions users' trials found without one: math.fmod and
numpy.fmod.

Each is compared with values derived by hand (at the jumps too, where the derivative
is a convention), with central differences at two step sizes, forward mode against
reverse mode by the dot-product test, the Hessian-vector product against second
differences, and grad(grad(f)); what stays refused says so, with the line. The
elementwise rules are also proved by tests/test_rules.py (numerically: SymPy cannot
differentiate Mod) and fuzzed with shapes that broadcast by tests/test_array_rules.py."""

import inspect
import math
from fractions import Fraction

import numpy
import pytest

import srcdiff

from arrays import (assert_forward_and_reverse_agree, assert_gradient_matches_differences,
                    assert_hvp_matches_second_differences,
                    assert_second_derivatives_match_differences,
                    assert_tangent_matches_differences)

np = numpy
rng = numpy.random.default_rng(2025)
STEPS = (1e-4, 1e-6)


def exact_quotient(x, y):
    """The integer fmod takes away: x / y truncated, of the two floats exactly."""
    return int(Fraction(x) / Fraction(y))


# --- fmod: x - q y, q = trunc(x / y), the dividend's sign ---------------------------------

def fmod_of_numbers(x, y):
    return math.fmod(x, y) * x


def test_fmod_is_one_in_x_and_minus_the_quotient_in_y():
    gradient = srcdiff.grad(fmod_of_numbers, wrt=(0, 1))
    for x, y in ((7.3, 2.0), (-7.3, 2.0), (7.3, -2.0), (-7.3, -2.0), (0.4, 3.0), (1.0, 0.1)):
        remainder, q = math.fmod(x, y), exact_quotient(x, y)
        gx, gy = gradient(x, y)
        assert gx == pytest.approx(remainder + x, rel=1e-15)  # d/dx (fmod * x) = 1 * x + fmod
        assert gy == -q * x, (x, y)
        assert type(gx) is float and type(gy) is float
    # 1.0 / 0.1 rounds to 10.0, but 0.1 is a little more than a tenth: fmod(1.0, 0.1) takes
    # away 9 of them (0.0999...), and its slope in y is -9, not trunc(1.0 / 0.1) = -10
    assert exact_quotient(1.0, 0.1) == 9 and math.trunc(1.0 / 0.1) == 10
    assert gradient(1.0, 0.1)[1] == -9.0


def test_fmod_at_a_jump_takes_the_quotient_fmod_takes_there():
    """At x = k y, fmod is 0 and its quotient k: the derivative in y is -k (the side of
    y just below, for x, y > 0), 1 in x."""
    def plain(x, y):
        return math.fmod(x, y)
    assert srcdiff.grad(plain, wrt=(0, 1))(6.0, 2.0) == (1.0, -3.0)
    assert srcdiff.grad(plain, wrt=(0, 1))(-6.0, 2.0) == (1.0, 3.0)
    _, tangent = srcdiff.jvp(plain, wrt=(0, 1))(6.0, 2.0, 1.0, 1.0)
    assert tangent == 1.0 - 3.0


def fmod_program(x, y, s):
    total = 0.0
    for k in range(3):
        r = np.fmod(x * s + k, y)  # arrays and a number, broadcast
        if k % 2 == 0:
            total = total + np.sum(r ** 2)
        else:
            total = total + math.fmod(s * 5.0, 1.5 + k) * np.sum(r)
    return total + np.sum(np.fmod(x[:, None], y[None, :]) * 0.5)


# points away from the jumps (no x / y within a step of an integer)
X = numpy.array([0.7, -1.3, 2.45, -0.35])
Y = numpy.array([0.9, -1.1, 1.6, 0.55])
FMOD_CASES = [(fmod_program, (X, Y, 0.83))]


@pytest.mark.parametrize("func, args", FMOD_CASES, ids=["fmod_program"])
def test_fmod_gradient_matches_central_differences_at_two_steps(func, args):
    assert_gradient_matches_differences(func, args, STEPS)


@pytest.mark.parametrize("func, args", FMOD_CASES, ids=["fmod_program"])
def test_fmod_tangent_is_the_gradient_along_the_direction(func, args):
    assert_tangent_matches_differences(func, args, STEPS, rng, against_gradient=True)


@pytest.mark.parametrize("func, args", FMOD_CASES, ids=["fmod_program"])
def test_fmod_hessian_vector_product_matches_second_differences(func, args):
    assert_hvp_matches_second_differences(func, args, rng)


def fmod_elementwise(x, y):
    return np.fmod(x, y)


def test_fmod_forward_and_reverse_agree_by_the_dot_product_test():
    assert_forward_and_reverse_agree(fmod_elementwise, (X, Y), (0, 1), rng)


def fmod_scaled(s, x):
    return np.sum(np.fmod(x * s, 0.7) ** 3) + math.fmod(s * s, 0.3) * s


def test_fmod_second_derivatives():
    """Between the jumps fmod is linear: its quotient is a constant to a derivative
    (round and numpy.rint carry none)."""
    assert_second_derivatives_match_differences(fmod_scaled, 0.9,
                                                numpy.array([0.3, -0.5, 1.1, 0.8]), atol=1e-5)


def test_fmod_float32_in_float32_out():
    def program(x):
        return np.sum(np.fmod(x, np.float32(0.7)) * x)
    x = numpy.array([0.3, -1.2, 1.9], dtype=numpy.float32)
    gradient = srcdiff.grad(program)(x)
    assert gradient.dtype == numpy.float32
    numpy.testing.assert_allclose(gradient, srcdiff.grad(program)(x.astype(float)), rtol=1e-5)


# --- refused, with the line ---------------------------------------------------------------

def fmod_of_an_array(x):
    return math.fmod(x, 2.0) + 0.0


def fmod_into(x, z):
    return np.sum(np.fmod(x, 2.0, out=z))


REFUSED = [
    (fmod_of_an_array, (numpy.ones(3),), srcdiff.KindError,
     "math.fmod takes a number, but `x` is an array"),
    (fmod_into, (numpy.ones(3), numpy.zeros(3)), srcdiff.UnsupportedSyntaxError,
     "numpy.fmod has no parameter 'out' that srcdiff differentiates"),
]


@pytest.mark.parametrize("func, args, error, message", REFUSED,
                         ids=[f.__name__ for f, *_ in REFUSED])
def test_what_the_rules_do_not_take_is_refused_with_its_line(func, args, error, message):
    line = inspect.getsourcelines(func)[1] + 1
    with pytest.raises(error, match=message) as refused:
        srcdiff.grad(func)(*args)
    assert f":{line}:" in str(refused.value)
