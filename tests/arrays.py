"""Oracles for array gradients: central differences of a scalar function of arrays."""

import numpy
import pytest

from oracles import register_program


def numeric_gradient(func, args, wrt, h=1e-6):
    """Central differences of ``func(*args)`` with respect to ``args[i]`` for i in ``wrt``:
    arrays element by element, numbers as numbers."""
    result = []
    for i in wrt:
        value = args[i]
        if isinstance(value, numpy.ndarray):
            gradient = numpy.zeros_like(value, dtype=float)
            for index in numpy.ndindex(value.shape):
                step = h * max(1.0, abs(value[index]))
                moved = [a.copy() if isinstance(a, numpy.ndarray) else a for a in args]
                moved[i][index] = value[index] + step
                up = func(*moved)
                moved[i][index] = value[index] - step
                down = func(*moved)
                gradient[index] = (up - down) / (2 * step)
            result.append(gradient)
        else:
            step = h * max(1.0, abs(value))
            up, down = list(args), list(args)
            up[i], down[i] = value + step, value - step
            result.append((func(*up) - func(*down)) / (2 * step))
    return result


def assert_gradients_close(actual, expected, args, wrt, rtol=1e-6, atol=1e-7):
    for got, want, i in zip(actual, expected, wrt):
        assert numpy.shape(got) == numpy.shape(args[i]), \
            f"gradient {i} has shape {numpy.shape(got)}, its argument {numpy.shape(args[i])}"
        numpy.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def program(source: str, name: str = "probe", **globals_):
    import scipy.special
    return register_program(source, name, {"numpy": numpy, "np": numpy, "scipy": scipy,
                                           **globals_})


def direction(args, rng):
    """A random tangent for each argument: an array of its shape, or a number."""
    return [rng.uniform(-1, 1, size=numpy.shape(a)) if numpy.ndim(a) else float(rng.uniform(-1, 1))
            for a in args]


def shifted(args, tangents, h):
    return [a + h * t for a, t in zip(args, tangents)]


def assert_hvp_matches_second_differences(func, args, rng):
    """``v . (H v)`` from ``srcdiff.hvp`` against ``(f(x + h v) - 2 f(x) + f(x - h v)) / h^2``,
    the Hessian along a random ``v`` for every argument at once."""
    import srcdiff
    vectors = direction(args, rng)
    products = srcdiff.hvp(func, wrt=tuple(range(len(args))))(*args, *vectors)
    along = sum(float(numpy.sum(p * v)) for p, v in zip(products, vectors))
    h = 1e-4
    expected = (func(*shifted(args, vectors, h)) - 2 * func(*args)
                + func(*shifted(args, vectors, -h))) / h ** 2
    assert along == pytest.approx(expected, rel=1e-4, abs=1e-5)
