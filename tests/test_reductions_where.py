"""Reductions with ``where=`` and ``initial=``: numpy.sum, mean, prod, nansum, max, min (and
the array methods), in programs written the way people write them: masks that broadcast,
masks computed from the data, masks that change in a loop, an ``initial=`` that is a
differentiated value. Every derivative is compared with central differences of the
function itself (gradient, Jacobian-vector product, Hessian-vector product, grad(grad(f)));
the ties an extremum's ``initial=`` takes part in are derived by hand. Each rule's
examples (tests/test_array_rules.py, tests/test_forward.py) check the rules one by one."""

import warnings

import numpy
import pytest

import srcdiff

from arrays import (assert_gradients_close, assert_hvp_matches_second_differences,
                    direction, numeric_gradient, shifted)

np = numpy
rng = numpy.random.default_rng(79)

MASK = numpy.array([[True, False, True, True], [False, True, False, True],
                    [True, True, True, False]])
COLUMNS = numpy.array([True, False, True, True])  # broadcasts along the first axis


# --- programs ----------------------------------------------------------------------------

def masked_energy(x, c):
    """sum and max with a mask computed from the data, and a differentiated initial=."""
    positive = x > 0.0
    total = np.sum(x ** 2, where=positive, initial=c)
    peak = np.max(x * c, axis=1, where=MASK, initial=c)
    return total + np.sum(peak ** 2)


def row_means(x, w):
    """mean over a broadcast mask, along an axis, kept."""
    m = np.mean(x * w, axis=1, keepdims=True, where=COLUMNS)
    centred = x - m
    return np.sum(np.mean(centred ** 2, axis=0, where=MASK) * w)


def masked_products(x, c):
    """prod with a mask along axes, an initial= factor; nansum by keyword."""
    p = np.prod(x, axis=0, where=MASK, initial=c)
    q = np.nansum(x * c, axis=1, where=COLUMNS, initial=c)
    return np.sum(p * np.arange(1.0, 5.0)) + np.sum(q ** 2)


def loop_masks(x, c):
    """The mask and the initial value change in a loop: the backward sweep needs each
    iteration's own (taped)."""
    total = 0.0
    h = x
    for k in range(3):
        keep = h > 0.1 * k
        low = np.min(h, axis=1, where=keep, initial=c)
        total = total + np.sum(low) + np.sum(h, where=keep) * 0.3
        h = np.tanh(h + low[:, None])
        c = c * 0.5 + np.mean(h, where=keep)
    return total


def methods(x, c):
    """The array methods route to the same rules."""
    a = x.sum(axis=0, where=np.logical_and(COLUMNS, MASK), initial=c)
    b = x.max(initial=c) + x.min(axis=1, where=MASK, initial=1.5).sum()
    return np.sum(a ** 2) * b + x.mean(where=MASK) + x.prod(axis=1, where=MASK).sum()


def _matrix():
    return rng.uniform(-2.0, 2.0, size=(3, 4))


CASES = [
    (masked_energy, lambda: (_matrix(), 0.7)),
    (row_means, lambda: (_matrix(), rng.uniform(0.5, 2.0, size=4))),
    (masked_products, lambda: (rng.uniform(0.5, 2.0, size=(3, 4)), 1.3)),
    (loop_masks, lambda: (_matrix(), -0.4)),
    (methods, lambda: (_matrix(), 0.3)),
]
IDS = [f.__name__ for f, _ in CASES]


@pytest.mark.parametrize("func, arguments", CASES, ids=IDS)
def test_gradient_matches_central_differences(func, arguments):
    args = arguments()
    wrt = tuple(range(len(args)))
    gradient = srcdiff.grad(func, wrt=wrt)(*args)
    assert_gradients_close(gradient, numeric_gradient(func, list(args), wrt), args, wrt,
                           rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("func, arguments", CASES, ids=IDS)
def test_forward_mode_matches_central_differences(func, arguments):
    args = arguments()
    wrt = tuple(range(len(args)))
    tangents = direction(args, rng)
    value, derivative = srcdiff.jvp(func, wrt=wrt)(*args, *tangents)
    h = 1e-6
    expected = (func(*shifted(args, tangents, h)) - func(*shifted(args, tangents, -h))) / (2 * h)
    assert value == pytest.approx(func(*args), rel=1e-12)
    assert derivative == pytest.approx(expected, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("func, arguments", CASES, ids=IDS)
def test_hessian_vector_product_matches_second_differences(func, arguments):
    args = arguments()
    assert_hvp_matches_second_differences(func, args, rng)


def scaled(s, x):
    """grad(grad(f)) differentiates the forward code of every rule here once more."""
    y = x * s
    return (np.sum(y ** 3, where=COLUMNS, initial=s) + np.sum(np.max(y, axis=1, where=MASK, initial=s) ** 2)
            + np.sum(np.prod(1.0 + 0.1 * y, axis=0, where=MASK, initial=s) ** 2)
            + np.sum(np.mean(y ** 2, axis=1, where=MASK)) + np.nansum(y ** 2, where=MASK, initial=s))


def test_second_derivative_matches_second_differences():
    x = numpy.array([[0.3, -0.7, 1.1, 0.2], [0.9, -0.4, 0.5, -1.2], [-0.6, 0.8, 0.1, 0.4]])
    s = 0.9
    got = srcdiff.grad(srcdiff.grad(scaled, wrt=0), wrt=0)(s, x)
    h = 1e-4
    expected = (scaled(s + h, x) - 2 * scaled(s, x) + scaled(s - h, x)) / h ** 2
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-6)


# --- initial= in an extremum ---------------------------------------------------------------

def biggest_or_first(x):
    return np.max(x, initial=x[0])


def biggest_of_the_rest_or_first(x):
    return np.max(x, where=numpy.array([False, True, True]), initial=x[0])


def test_a_differentiated_initial_shares_the_ties():
    """x[0] is the result twice over, as an element and as initial=: each takes half, and
    both halves reach x[0], whose derivative is 1 (by hand: max(x, initial=x[0]) is
    x[0] near a point where x[0] is the strict maximum of x)."""
    x = numpy.array([2.0, 1.0, -0.5])
    assert list(srcdiff.grad(biggest_or_first)(x)) == [1.0, 0.0, 0.0]
    value, tangent = srcdiff.jvp(biggest_or_first)(x, numpy.array([0.3, 5.0, 7.0]))
    assert (value, tangent) == (2.0, 0.3)
    # x[0] left out by the mask: the result is initial= alone
    assert list(srcdiff.grad(biggest_of_the_rest_or_first)(x)) == [1.0, 0.0, 0.0]
    y = numpy.array([-1.0, 1.0, 0.5])  # the result is x[1]: nothing reaches initial=
    assert list(srcdiff.grad(biggest_of_the_rest_or_first)(y)) == [0.0, 1.0, 0.0]


def floor_at_zero(x):
    return np.sum(np.max(x, axis=1, initial=0.0))


def test_a_constant_initial_takes_no_share():
    """A row whose elements are all below a constant initial= has a constant maximum: no
    adjoint reaches its elements (not 0/0). A tie between an element and the constant
    gives the element all of it (only elements share ties)."""
    x = numpy.array([[-1.0, -2.0, -0.5], [1.0, 3.0, 3.0], [0.0, -1.0, -3.0]])
    gradient = srcdiff.grad(floor_at_zero)(x)
    numpy.testing.assert_array_equal(gradient, [[0, 0, 0], [0, 0.5, 0.5], [1, 0, 0]])
    _, tangent = srcdiff.jvp(floor_at_zero)(x, numpy.arange(9.0).reshape(3, 3))
    assert tangent == pytest.approx((4.0 + 5.0) / 2 + 6.0)


# --- means that select nothing ---------------------------------------------------------------

EMPTY_ROW = numpy.array([[True, False, True], [False, False, False], [True, True, False]])


def row_means_empty(x):
    return np.mean(x, axis=1, where=EMPTY_ROW)


def some_rows(x):
    means = row_means_empty(x)
    return means[0] * 2.0 + means[2] ** 2


def every_row(x):
    return np.sum(row_means_empty(x))


def test_a_mean_of_nothing_is_nan_and_passes_nothing_back():
    """NumPy gives nan (with a warning) for a row that selects nothing; no element
    reaches it, so its elements' adjoint is zero (never nan), and the other rows'
    gradients are those of central differences. A function of the nan row is nan, its
    gradient finite: the Jacobian's columns for the nan output are zero."""
    x = rng.uniform(-2.0, 2.0, size=(3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gradient = srcdiff.grad(some_rows)(x)
        expected = numeric_gradient(some_rows, [x], (0,))
        assert_gradients_close([gradient], expected, [x], (0,), rtol=1e-6, atol=1e-8)
        value, every = srcdiff.value_and_grad(every_row)(x)
    assert numpy.isnan(value)
    numpy.testing.assert_array_equal(every, [[0.5, 0, 0.5], [0, 0, 0], [0.5, 0.5, 0]])


# --- dtypes and refusals ---------------------------------------------------------------------

def float32_program(x):
    return (np.sum(x, axis=0, where=COLUMNS[:3], initial=1.0) @ np.ones(3, dtype=np.float32)
            + np.mean(x, where=MASK[:, :3]) + np.max(x, axis=1, where=MASK[:, :3], initial=0.0)[0])


def test_float32_stays_float32():
    x = numpy.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [1.0, 3.0, 0.0]], dtype=numpy.float32)
    gradient = srcdiff.grad(float32_program)(x)
    assert gradient.dtype == numpy.float32
    expected = numeric_gradient(float32_program, [x.astype(numpy.float64)], (0,), h=1e-3)
    numpy.testing.assert_allclose(gradient, expected[0], rtol=1e-3, atol=1e-3)


def with_out(x):
    return np.sum(x, out=np.zeros(()))


def with_dtype(x):
    return np.sum(x, where=MASK, dtype=np.float32)


def mean_initial(x):
    return np.mean(x, initial=1.0)


def var_where(x):
    return x.var(where=MASK)


def array_initial(x, y):
    return np.sum(np.sum(x, axis=0, initial=y))


def max_dtype(x):
    return np.max(x, dtype=float)


@pytest.mark.parametrize("func, message", [
    (with_out, "`out=` of numpy.sum is not supported"),
    (with_dtype, "`dtype=` of numpy.sum is not supported"),
    (mean_initial, "numpy.mean has no parameter 'initial'"),
    (var_where, "numpy.var \\(`.var\\(\\)`\\) has no parameter 'where'"),
    (max_dtype, "numpy.max has no parameter 'dtype'"),
])
def test_what_is_still_refused_is_refused_with_its_line(func, message):
    with pytest.raises(srcdiff.SrcdiffError, match=message) as caught:
        srcdiff.grad(func)(MASK * 1.0)
    assert "test_reductions_where.py" in str(caught.value)


def test_an_array_initial_is_refused():
    with pytest.raises(srcdiff.SrcdiffError, match="`initial=` of numpy.sum must be a number"):
        srcdiff.grad(array_initial, wrt=(0, 1))(MASK * 1.0, numpy.ones(4))


def test_a_float64_initial_of_a_float32_minimum_takes_its_share():
    # arrays seed 505: NumPy rounds initial= to the array's float32 before comparing; the
    # adjoint compared it unrounded, found it never the result, and lost its rows' share
    W = np.array([[0.9, 1.4, 0.2], [-0.8, -0.6, 1.0]], dtype=np.float32)
    mask = np.array([[True, True, False], [True, False, False]])

    def program(W, m):
        return np.sum(np.min(W, axis=1, where=mask, initial=m))

    m = np.float64(0.1) + np.float64(0.523456789)  # not a float32 number
    gradient_m = srcdiff.grad(program, wrt=1)(W, m)
    assert gradient_m == 1.0  # row 0's minimum is initial (0.62 < 0.9, 1.4); row 1's is W
    gradient_W = srcdiff.grad(program, wrt=0)(W, m)
    np.testing.assert_array_equal(gradient_W, [[0, 0, 0], [1, 0, 0]])


def test_the_same_in_forward_mode():
    W = np.array([[0.9, 1.4, 0.2], [-0.8, -0.6, 1.0]], dtype=np.float32)
    mask = np.array([[True, True, False], [True, False, False]])

    def program(W, m):
        return np.sum(np.min(W, axis=1, where=mask, initial=m))

    m = np.float64(0.1) + np.float64(0.523456789)
    _, derivative = srcdiff.jvp(program, wrt=1)(W, m, 1.0)
    assert derivative == 1.0
