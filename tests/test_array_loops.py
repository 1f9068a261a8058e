"""Loops over NumPy arrays (``for row in X``, ``enumerate(x)``, ``zip(x, y)``), read by
position (``srcdiff.iterate``). Expected gradients: central differences at two step
sizes that agree, in every optimisation setting (``test_regressions.check``), and
forward mode against the same differences."""

import inspect
import math

import numpy
import pytest

import srcdiff
from arrays import numeric_gradient, program
from test_regressions import check

np = numpy


def over_rows(X, w):
    s = 0.0
    for row in X:
        s = s + math.tanh(np.dot(row, w))
    return s


def enumerated(x):
    s = 0.0
    for i, v in enumerate(x):
        s = s * 0.5 + math.sin(v) * (i + 1)
    return s


def zipped(x, y):
    s = 0.0
    for a, b in zip(x, y):  # stops at the shorter
        s = s + a * b * a
    return s


def rebinds_what_it_iterates(x):
    s = 0.0
    for v in x:
        x = x * 2.0  # the loop goes on over the array it started with
        s = s + v * np.sum(x)
    return s


def nested_in_a_branch(W, b):
    total = 0.0
    if np.sum(b) > 0.0:
        for i, row in enumerate(W):
            for a, c in zip(row, b):
                total = total + a * c * (i + 1)
    return total


def changes_what_it_iterates(x):
    s = 0.0
    for v in x:
        x[0] = s + 1.0
        s = s + v
    return s


# lists grown while the function runs (a loop over an array appends to them, or a
# comprehension goes over one), then given to NumPy, read by position or looped over
def listcomp(x):
    # Tangent's listcomp, made nonlinear
    return np.sum([math.sin(i) * i * 3 for i in x])


def rows_stacked(X, w):
    scaled = [row * row[0] + w for row in X]
    return np.sum(np.stack(scaled, axis=1) * np.arange(1.0, 3.0)[:, None])


def rows_kept(X, w):
    kept = []
    for row in X:
        if np.dot(row, w) > 0.0:
            kept.append(np.tanh(row * w))
    return np.sum(np.array(kept) ** 2) / (len(kept) + 1.0) + np.sum(kept[-1])


def features_averaged(X, w):
    feats = [np.exp(-row * row) * w for row in X]
    return np.linalg.norm(np.mean(feats, axis=0)) + feats[0][1]


def grown_zipped_with_an_array(X, w):
    norms = [np.dot(row, row) for row in X]
    s = 0.0
    for n, v in zip(norms, w):
        s = s + math.sqrt(n) * v
    return s + max(norms)


_X = np.array([[0.3, -0.5], [1.0, 0.2], [-0.7, 0.4]])
CASES = [
    (listcomp, (np.array([0.3, -0.5, 1.2]),)),
    (rows_stacked, (_X, np.array([0.6, -1.1]))),
    (rows_kept, (_X, np.array([0.6, -1.1]))),
    (features_averaged, (_X, np.array([0.6, -1.1]))),
    (grown_zipped_with_an_array, (_X, np.array([0.6, -1.1]))),
    (over_rows, (np.array([[0.3, -0.5], [1.0, 0.2], [-0.7, 0.4]]), np.array([0.6, -1.1]))),
    (enumerated, (np.array([0.3, -0.5, 1.2]),)),
    (zipped, (np.array([0.3, -0.5, 1.2]), np.array([1.0, 2.0]))),
    (rebinds_what_it_iterates, (np.array([0.3, -0.5, 1.2]),)),
    (nested_in_a_branch, (np.array([[0.3, -0.5, 0.1], [1.0, 0.2, -0.3]]), np.array([0.5, 0.25]))),
]


@pytest.mark.parametrize("func, args", CASES, ids=[f.__name__ for f, _ in CASES])
def test_loops_over_arrays(func, args):
    check(func, *args)
    wrt = tuple(range(len(args)))
    tangents = [numpy.linspace(-1.0, 1.0, a.size).reshape(a.shape) for a in args]
    expected = sum(float(numpy.sum(g * t)) for g, t in
                   zip(numeric_gradient(func, list(args), wrt, h=1e-6), tangents))
    value, derivative = srcdiff.jvp(func, wrt=wrt)(*args, *tangents)
    assert value == func(*[a.copy() for a in args])
    assert derivative == pytest.approx(expected, rel=1e-6, abs=1e-8)


def test_changing_the_array_a_loop_iterates_over_is_refused():
    """Python's loop sees the change (the array is changed in place); srcdiff's
    arrays are new ones, so it refuses, naming the loop."""
    with pytest.raises(srcdiff.UnsupportedSyntaxError,
                       match="`x` is changed in place inside a loop that runs over it") as info:
        srcdiff.grad(changes_what_it_iterates)(numpy.array([0.3, -0.5, 1.2]))
    assert info.value.lineno == changes_what_it_iterates.__code__.co_firstlineno + 3
    assert "loop_over" not in str(info.value)  # (it named iterate's copy of the name)


def changes_the_array_a_view_iterates(x):
    y = x * 1.0
    s = 0.0
    for v in y[1:]:
        y[2] = y[2] + v  # refused
        s = s + v * v
    return s


def test_changing_the_array_a_loop_runs_over_a_view_of_is_refused():
    with pytest.raises(srcdiff.UnsupportedSyntaxError,
                       match="`y` is changed in place inside a loop that runs over it or over "
                       "a view of it") as info:
        srcdiff.grad(changes_the_array_a_view_iterates)(numpy.array([0.3, -0.5, 1.2]))
    assert info.value.source_line.endswith("# refused")
    assert "y[1:].copy()" in info.value.hint


def test_iterating_over_a_number_is_a_kind_error():
    with pytest.raises(srcdiff.KindError, match="iterating over `x`, which is a number here"):
        srcdiff.grad(enumerated)(0.5)


def names_a_local_range(x):
    s = 0.0
    for v in x:
        s = s + v * v
        range = len = s  # the loop over positions must not read these
    return s + range * len


def test_a_loop_over_an_array_does_not_read_locals_named_like_builtins():
    """Campaign scalar seeds 640393, 650155 and others: the loop over positions called
    ``range`` and ``len`` by those names, which the analyses took for the user's local
    ``range`` (UnboundLocalError in the gradient)."""
    check(names_a_local_range, np.array([0.3, -0.5, 1.2]))


def changes_an_array_a_grown_list_holds(X):
    out = []
    for row in X:
        r = row * 2.0
        out.append(r)
        r[0] = 0.0  # Python's list holds this array: changed in it too
    return np.sum(np.array(out) ** 2)


def changes_an_element_read_from_a_grown_list(X):
    out = [row * 2.0 for row in X]
    first = out[0]
    first[1] = 5.0  # changes out[0]
    return np.sum(np.array(out) ** 2)


@pytest.mark.parametrize("func, name", [(changes_an_array_a_grown_list_holds, "r"),
                                        (changes_an_element_read_from_a_grown_list, "first")])
def test_changing_an_array_a_grown_list_holds_is_refused(func, name):
    """A list refers to the arrays appended to it; srcdiff's item assignment makes a new
    array, so the list would keep the old one: refused, naming the change."""
    with pytest.raises(srcdiff.UnsupportedSyntaxError,
                       match=f"`{name}` is changed in place while `out`") as info:
        srcdiff.grad(func)(numpy.array([[0.3, -0.5], [1.0, 0.2]]))
    lines = inspect.getsource(func).splitlines()
    marked = next(i for i, line in enumerate(lines) if "changed in it too" in line
                  or "changes out[0]" in line)
    assert info.value.lineno == func.__code__.co_firstlineno + marked


def grown_with_a_scale(x, s):
    ys = [math.sin(v * s) * v for v in x if v > -1.0]
    out = []
    for y in ys:
        out.append(y * y * s)
    return np.sum(np.stack(out)) + np.mean(ys) * len(ys)


def test_second_derivatives_through_grown_lists():
    """The forward code a Hessian differentiates again appends tangents
    (runtime.appended_tangent, which has its rule): hessian and hvp against differences
    of the gradient, grad(grad(f)) against second differences."""
    x, s = np.array([0.3, -0.5, 1.2, -1.5]), 0.7
    gradient = srcdiff.grad(grown_with_a_scale, wrt=0)
    h = 1e-5
    expected = np.array([(gradient(x + h * e, s) - gradient(x - h * e, s)) / (2 * h)
                         for e in np.eye(4)])
    hessian = srcdiff.hessian(grown_with_a_scale, wrt=0)(x, s)
    np.testing.assert_allclose(hessian, expected, rtol=1e-6, atol=1e-8)
    v = np.array([1.0, 0.5, -0.3, 2.0])
    np.testing.assert_allclose(srcdiff.hvp(grown_with_a_scale, wrt=0)(x, s, v), expected @ v,
                               rtol=1e-6, atol=1e-8)
    second = srcdiff.grad(srcdiff.grad(grown_with_a_scale, wrt=1), wrt=1)(x, s)
    f = lambda t: grown_with_a_scale(x, t)
    h = 1e-4
    assert second == pytest.approx((f(s + h) - 2 * f(s) + f(s - h)) / h ** 2, rel=1e-5)


def zip_of_data_and_a_differentiated_array(W, s):
    z = s * np.ones(2)
    total = 0.0
    for row, zz in zip(W, z):
        total = total + np.sum(row) * np.sin(zz)
    return total


def test_zip_of_data_and_a_differentiated_array_with_respect_to_the_number():
    """grad with respect to s alone: srcdiff first writes the code for numbers (W a
    number too), where zip(W, z) is not a loop over arrays; that must defer to the first
    call (a KindError), not refuse the function (it raised "iterating over values that
    depend on s", campaign 829000)."""
    W = np.array([[0.3, 0.4], [0.5, -0.2]])
    got = srcdiff.grad(zip_of_data_and_a_differentiated_array, wrt=1)(W, 0.7)
    assert got == pytest.approx((0.7 + 0.3) * math.cos(0.7), rel=1e-14)
    with pytest.raises(srcdiff.KindError, match="iterating over `W`, which is a number here"):
        srcdiff.grad(zip_of_data_and_a_differentiated_array, wrt=1)(0.5, 0.7)


# -- enumerate(X, start) and enumerate(X, start=...) (a new user's loop was refused: keyword
# arguments to enumerate were not supported, a start of an array's enumerate neither) ------

def counted_from_one(x):
    s = 0.0
    for i, v in enumerate(x, 1):
        s += i * v ** 2
    return s


def counted_by_keyword(W, x):
    s = 0.0
    k = 2
    for i, row in enumerate(W, start=k):
        k = 10  # enumerate read k once, before the loop
        s = s + i * np.sum(np.tanh(row * x))
    return s


def tuple_from_two(a, b):
    s = 0.0
    for i, v in enumerate((a, b * a), start=2):
        s += i * v
    return s


def test_enumerate_with_a_start():
    x = np.array([0.3, -0.5, 1.2])
    # sum over i = 1.. of i x_i^2: 2 i x_i
    numpy.testing.assert_allclose(srcdiff.grad(counted_from_one)(x), 2 * np.arange(1, 4) * x,
                                  rtol=1e-14)
    assert srcdiff.jvp(counted_from_one)(x, np.ones(3))[1] == pytest.approx(
        float(np.sum(2 * np.arange(1, 4) * x)))
    numpy.testing.assert_allclose(srcdiff.hessian(counted_from_one)(x),
                                  np.diag(2.0 * np.arange(1, 4)), rtol=1e-14)
    W = np.array([[0.2, -0.4], [0.7, 0.1], [-0.3, 0.5]])
    y = np.array([0.6, -1.1])
    want = numeric_gradient(counted_by_keyword, (W, y), (0, 1))
    for got, expected in zip(srcdiff.grad(counted_by_keyword, wrt=(0, 1))(W, y), want):
        numpy.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9)
    # 2 a + 3 b a
    assert srcdiff.grad(tuple_from_two, wrt=(0, 1))(1.5, -0.5) == pytest.approx((0.5, 4.5))


def started_at(x, start):
    s = 0.0
    for i, v in enumerate(x, start):
        s += i * v
    return s


def test_enumerate_with_a_start_that_is_not_an_integer_raises_as_python_does():
    x = np.array([0.3, -0.5])
    assert srcdiff.grad(started_at)(x, 3) == pytest.approx([3.0, 4.0])
    with pytest.raises(TypeError):
        started_at(x, 1.5)
    with pytest.raises(TypeError):
        srcdiff.grad(started_at)(x, 1.5)


def test_other_keywords_to_enumerate_and_zip_stay_refused():
    func = program("def probe(x):\n    s = 0.0\n    for a, b in zip(x, x, strict=True):\n"
                   "        s += a * b\n    return s\n")
    with pytest.raises(srcdiff.UnsupportedSyntaxError, match="keyword arguments to zip"):
        srcdiff.grad(func)(np.array([1.0, 2.0]))
