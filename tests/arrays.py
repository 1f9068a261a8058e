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


def assert_gradient_matches_differences(func, args, steps):
    """``srcdiff.grad`` with respect to every argument against central differences at
    each step of ``steps`` (agreeing at two steps: the point is smooth)."""
    import srcdiff
    wrt = tuple(range(len(args)))
    gradient = srcdiff.grad(func, wrt=wrt)(*args)
    for h in steps:
        assert_gradients_close(gradient, numeric_gradient(func, list(args), wrt, h=h), args, wrt,
                               rtol=1e-5, atol=1e-6)


def assert_tangent_matches_differences(func, args, steps, rng, against_gradient=False):
    """``srcdiff.jvp`` along a random direction: its value is the function's, its tangent
    central differences along the direction at each step (and, ``against_gradient``, the
    gradient's inner product with the direction: the dot-product test)."""
    import srcdiff
    wrt = tuple(range(len(args)))
    tangents = direction(args, rng)
    value, derivative = srcdiff.jvp(func, wrt=wrt)(*args, *tangents)
    assert value == pytest.approx(func(*args), rel=1e-12)
    if against_gradient:
        gradient = srcdiff.grad(func, wrt=wrt)(*args)
        inner = sum(float(numpy.sum(g * t)) for g, t in zip(gradient, tangents))
        assert derivative == pytest.approx(inner, rel=1e-10, abs=1e-12)
    for h in steps:
        expected = (func(*shifted(args, tangents, h)) - func(*shifted(args, tangents, -h))) / (2 * h)
        assert derivative == pytest.approx(expected, rel=1e-6, abs=1e-6)


def assert_forward_and_reverse_agree(func, args, wrt, rng):
    """The dot-product test: ``<u, J v>`` from ``srcdiff.jvp`` equals ``<J^T u, v>`` from
    ``srcdiff.vjp``, for a random direction ``v`` of the ``wrt`` arguments and a random
    cotangent ``u``; returns ``v`` and the tangent."""
    import srcdiff
    v = direction([args[i] for i in wrt], rng)
    value, tangent = srcdiff.jvp(func, wrt=wrt)(*args, *v)
    u = rng.uniform(-1.0, 1.0, size=numpy.shape(value))
    value_, pullback = srcdiff.vjp(func, wrt=wrt)(*args)
    numpy.testing.assert_array_equal(value_, value)
    back = pullback(u)
    assert float(numpy.sum(u * tangent)) == pytest.approx(
        sum(float(numpy.sum(b * t)) for b, t in zip(back, v)), rel=1e-10, abs=1e-12)
    return v, tangent


def assert_second_derivatives_match_differences(func, s, x, atol):
    """``grad(grad(func))`` in the number ``s`` against second differences, and
    ``hessian`` in the array ``x`` against central differences of central differences
    (``func(s, x)``)."""
    import srcdiff
    got = srcdiff.grad(srcdiff.grad(func, wrt=0), wrt=0)(s, x)
    h = 1e-4
    expected = (func(s + h, x) - 2 * func(s, x) + func(s - h, x)) / h ** 2
    assert got == pytest.approx(expected, rel=1e-5, abs=atol)
    hessian = srcdiff.hessian(func, wrt=1)(s, x)
    numeric = numpy.array([(numeric_gradient(lambda y: func(s, y), [x + h * e], (0,))[0]
                            - numeric_gradient(lambda y: func(s, y), [x - h * e], (0,))[0]) / (2 * h)
                           for e in numpy.eye(x.size)])
    numpy.testing.assert_allclose(hessian, numeric, rtol=1e-4, atol=1e-4)


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
