"""Rules for functions new users call in ordinary code, which srcdiff refused: numpy.sort
(along an axis, or flattened), numpy.ptp, numpy.append, and numpy.linalg.norm of other
orders (vectors: 1, 2, inf, -inf, 0 and any p; matrices: 'fro').

Each is compared with values derived by hand (at ties and kinks too, where the
derivative is a convention), with central differences at two step sizes, forward mode
against reverse mode by the dot-product test, the Hessian-vector product against second
differences, and grad(grad(f)); float32 in gives float32 out; what stays refused says
so, with the line. Each rule's examples are also checked one by one in
tests/test_array_rules.py (reverse), tests/test_forward.py (forward) and
tests/test_dtypes.py (float32)."""

import inspect

import numpy
import pytest

import srcdiff

from arrays import (assert_forward_and_reverse_agree, assert_gradient_matches_differences,
                    assert_hvp_matches_second_differences,
                    assert_second_derivatives_match_differences,
                    assert_tangent_matches_differences)

np = numpy
rng = numpy.random.default_rng(2024)
STEPS = (1e-4, 1e-6)


# --- programs, written as people write them --------------------------------------------

def sorted_weights(x, w):
    return np.sum(w * np.sort(x))


def top_two(x):
    return np.sum(np.sort(x)[::-1][:2] ** 3)  # descending, through indexing


def sorted_columns(X, s):
    total = 0.0
    for k in range(2):
        total = total + np.sum(np.sort(X * s, axis=0)[k] * (k + 1.0))
    return total + np.sum(np.sort(np.sin(X), axis=-1) ** 2) + np.sum(np.sort(X, axis=None)[:3])


def sorted_cube(T):
    return np.sum(np.sort(T ** 2, axis=1) * np.arange(24.0).reshape(2, 3, 4))


def ranges(X):
    total = np.ptp(X) ** 2
    if total > 0:
        total = total + np.sum(np.ptp(X * X, axis=0) * np.array([1.0, 2.0, 3.0]))
    return total + np.sum(np.ptp(X, axis=1, keepdims=True) * X)


def appended(x, A, s):
    flat = np.append(A, x * s)  # both flattened
    rows = np.append(A, x[None, :] * 2.0, axis=0)
    cols = np.append(A, np.cos(A[:, :1]), axis=1)
    return np.sum(flat ** 2) + np.sum(np.tanh(rows)) + np.sum(cols ** 3) + np.sum(np.append(x, s) * 0.5)


def norms(x, A):
    return (np.linalg.norm(x, 1) + np.linalg.norm(x, ord=3) ** 2 + np.linalg.norm(x, np.inf)
            + np.linalg.norm(x, ord=-np.inf) + np.linalg.norm(x, 0.5) + np.linalg.norm(x, -1.5)
            + np.sum(np.linalg.norm(A, ord=1, axis=0)) + np.sum(np.linalg.norm(A, 2.5, axis=1) ** 2)
            + np.linalg.norm(A, 'fro') + np.linalg.norm(x, 2) + np.linalg.norm(x, 0))


X0 = rng.normal(size=(3, 3))
CASES = [
    (sorted_weights, (rng.normal(size=5), rng.normal(size=5))),
    (top_two, (numpy.array([0.3, -1.2, 2.0, 0.7, 1.1]),)),
    (sorted_columns, (rng.normal(size=(3, 4)), 0.8)),
    (sorted_cube, (rng.normal(size=(2, 3, 4)),)),
    (ranges, (X0,)),
    (appended, (rng.normal(size=3), rng.normal(size=(2, 3)), 0.6)),
    # elements away from 0 and from each other in magnitude: no kink within a step
    (norms, (numpy.array([0.7, -1.3, 0.4, -2.1]), rng.uniform(0.5, 1.5, size=(2, 3))
             * numpy.array([[1.0, -1.0, 1.0], [-1.0, 1.0, 1.0]]))),
]
IDS = [f.__name__ for f, _ in CASES]


@pytest.mark.parametrize("func, args", CASES, ids=IDS)
def test_gradient_matches_central_differences_at_two_steps(func, args):
    assert_gradient_matches_differences(func, args, STEPS)


@pytest.mark.parametrize("func, args", CASES, ids=IDS)
def test_tangent_is_the_gradient_along_the_direction(func, args):
    """The dot-product test: jvp(v) = <grad, v>, and central differences along v."""
    assert_tangent_matches_differences(func, args, STEPS, rng, against_gradient=True)


@pytest.mark.parametrize("func, args", CASES, ids=IDS)
def test_hessian_vector_product_matches_second_differences(func, args):
    assert_hvp_matches_second_differences(func, args, rng)


def scaled(s, x):
    return (np.sum(np.sort(x * s) * np.arange(5.0)) + np.ptp(np.sin(x * s)) * s
            + np.sum(np.append(x * s, s ** 2) ** 3) + np.linalg.norm(x * s, 3) ** 2
            + np.linalg.norm(np.sin(x) * s, -np.inf) * s + np.linalg.norm(x * s, 1) * s)


def test_second_derivatives():
    """grad(grad(f)) and hessian differentiate each forward rule's code again (sort's
    tangent is indexing; ptp's and the norms' are comparisons, sums and powers)."""
    assert_second_derivatives_match_differences(
        scaled, 0.9, numpy.array([0.3, -0.7, 1.1, 1.6, -0.4]), atol=1e-5)


# --- each rule alone, returning an array: forward against reverse mode -------------------

def dp_sort_rows(X):
    return np.sort(X)


def dp_sort_columns(X):
    return np.sort(X, axis=0)


def dp_sort_flat(X):
    return np.sort(X, axis=None)


def dp_ptp(X):
    return np.ptp(X, axis=0)


def dp_append(X, v):
    return np.append(X, v[None, :], axis=0)


def dp_norms(X):
    return np.linalg.norm(X, 3, axis=1) + np.linalg.norm(X, np.inf, axis=1) + np.linalg.norm(X, 1, axis=1)


DOT_CASES = [(dp_sort_rows, (rng.normal(size=(3, 4)),)), (dp_sort_columns, (rng.normal(size=(3, 4)),)),
             (dp_sort_flat, (rng.normal(size=(2, 3)),)), (dp_ptp, (rng.normal(size=(3, 4)),)),
             (dp_append, (rng.normal(size=(2, 3)), rng.normal(size=3))),
             (dp_norms, (rng.normal(size=(2, 4)),))]


@pytest.mark.parametrize("func, args", DOT_CASES, ids=[f.__name__ for f, _ in DOT_CASES])
def test_forward_and_reverse_agree_by_the_dot_product_test(func, args):
    assert_forward_and_reverse_agree(func, args, tuple(range(len(args))), rng)


# --- hand-derived values, at ties and kinks (the conventions) ----------------------------

def test_sort_gives_each_element_the_adjoint_of_its_position():
    w = numpy.array([1.0, 10.0, 100.0])
    numpy.testing.assert_array_equal(srcdiff.grad(sorted_weights)(numpy.array([3.0, 1.0, 2.0]), w),
                                     [100.0, 1.0, 10.0])
    # ties: a stable sort keeps equal elements in their order (the first takes the lower
    # position), as JAX and PyTorch; the two 2.0s get 10 and 100, not a share each
    numpy.testing.assert_array_equal(srcdiff.grad(sorted_weights)(numpy.array([2.0, 2.0, 1.0]), w),
                                     [10.0, 100.0, 1.0])
    _, tangent = srcdiff.jvp(dp_sort_rows)(numpy.array([[2.0, 2.0, 1.0]]), numpy.array([[1.0, 2.0, 3.0]]))
    numpy.testing.assert_array_equal(tangent, [[3.0, 1.0, 2.0]])


def test_sort_along_axes():
    X = numpy.array([[3.0, -1.0], [1.0, 4.0], [2.0, 0.0]])
    W = numpy.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])

    def columns(X):
        return np.sum(W * np.sort(X, axis=0))

    def flat(X):
        return np.sum(np.sort(X, axis=None) * np.arange(6.0))
    # column 0 sorted: 1, 2, 3 (rows 1, 2, 0); column 1: -1, 0, 4 (rows 0, 2, 1)
    numpy.testing.assert_array_equal(srcdiff.grad(columns)(X), [[5.0, 2.0], [1.0, 6.0], [3.0, 4.0]])
    # flattened: -1, 0, 1, 2, 3, 4 are elements 1, 5, 2, 4, 0, 3
    numpy.testing.assert_array_equal(srcdiff.grad(flat)(X), [[4.0, 0.0], [2.0, 5.0], [3.0, 1.0]])


def test_ptp_is_max_minus_min_with_ties_sharing():
    def spread(x):
        return np.ptp(x)
    numpy.testing.assert_array_equal(srcdiff.grad(spread)(numpy.array([1.0, 5.0, -2.0, 5.0])),
                                     [0.0, 0.5, -1.0, 0.5])
    # every element equal: the range is 0 whatever the element moved, and so is the
    # derivative (the maximum's share and the minimum's cancel)
    numpy.testing.assert_array_equal(srcdiff.grad(spread)(numpy.full(3, 2.0)), [0.0, 0.0, 0.0])
    _, tangent = srcdiff.jvp(spread)(numpy.array([1.0, 5.0, -2.0, 5.0]), numpy.array([1.0, 2.0, 3.0, 4.0]))
    assert tangent == 3.0 - 3.0  # (2 + 4) / 2 - 3


def test_append_flattens_without_an_axis():
    def joined(A, v):
        return np.sum(np.append(A, v) * np.arange(1.0, 8.0))
    A, v = numpy.ones((2, 2)), numpy.ones(3)
    gA, gv = srcdiff.grad(joined, wrt=(0, 1))(A, v)
    numpy.testing.assert_array_equal(gA, [[1.0, 2.0], [3.0, 4.0]])
    numpy.testing.assert_array_equal(gv, [5.0, 6.0, 7.0])

    def number(x, s):
        return np.sum(np.append(x, s) * np.array([1.0, 2.0, 3.0]))
    gx, gs = srcdiff.grad(number, wrt=(0, 1))(numpy.ones(2), 0.5)
    numpy.testing.assert_array_equal(gx, [1.0, 2.0])
    assert gs == 3.0 and type(gs) is float


def test_norm_orders_at_kinks_and_ties():
    def one(x):
        return np.linalg.norm(x, 1)

    def biggest(x):
        return np.linalg.norm(x, np.inf)

    def smallest(x):
        return np.linalg.norm(x, -np.inf)

    def cubic(x):
        return np.linalg.norm(x, 3)

    def count(x):
        return np.linalg.norm(x, 0)
    x = numpy.array([2.0, 0.0, -3.0, 3.0, -1.0])
    numpy.testing.assert_array_equal(srcdiff.grad(one)(x), [1.0, 0.0, -1.0, 1.0, -1.0])  # 0 at 0, as abs
    numpy.testing.assert_array_equal(srcdiff.grad(biggest)(x), [0.0, 0.0, -0.5, 0.5, 0.0])  # ties share
    numpy.testing.assert_array_equal(srcdiff.grad(smallest)(x), [0.0, 0.0, 0.0, 0.0, 0.0])  # |0|: abs at 0
    numpy.testing.assert_array_equal(srcdiff.grad(smallest)(numpy.array([2.0, -1.0, 1.0])), [0.0, -0.5, 0.5])
    norm = numpy.sum(numpy.abs(x) ** 3) ** (1 / 3)
    numpy.testing.assert_allclose(srcdiff.grad(cubic)(x), numpy.sign(x) * (numpy.abs(x) / norm) ** 2,
                                  rtol=1e-14)
    numpy.testing.assert_array_equal(srcdiff.grad(count)(x), numpy.zeros(5))

    def root(x):
        return np.linalg.norm(x, 0.5)  # |x|^(p - 1) is infinite at 0: 0 there
    gradient = srcdiff.grad(root)(x)
    assert gradient[1] == 0.0 and numpy.all(numpy.isfinite(gradient))
    for func in (one, biggest, smallest, cubic, root):
        _, tangent = srcdiff.jvp(func)(x, numpy.arange(5.0))
        assert tangent == pytest.approx(float(srcdiff.grad(func)(x) @ numpy.arange(5.0)), rel=1e-14)


# --- float32 in, float32 out ------------------------------------------------------------

def float32_program(x, W):
    return (np.sum(np.sort(x, axis=0) * W) + np.ptp(x) + np.sum(np.append(x, W, axis=1) ** 2)
            + np.linalg.norm(x, 3, axis=0)[0] + np.linalg.norm(x[0], np.inf)
            + np.linalg.norm(x[1], -np.inf) + np.linalg.norm(x[:, 0], 1))


def test_float32_in_float32_out():
    x = rng.normal(size=(3, 2)).astype(numpy.float32)
    W = rng.normal(size=(3, 2)).astype(numpy.float32)
    gx, gW = srcdiff.grad(float32_program, wrt=(0, 1))(x, W)
    assert gx.dtype == numpy.float32 and gW.dtype == numpy.float32
    expected = srcdiff.grad(float32_program, wrt=(0, 1))(x.astype(float), W.astype(float))
    numpy.testing.assert_allclose(gx, expected[0], rtol=1e-4, atol=1e-5)
    numpy.testing.assert_allclose(gW, expected[1], rtol=1e-4, atol=1e-5)
    for func in (dp_sort_rows, dp_sort_columns, dp_sort_flat, dp_ptp, dp_norms):
        _, tangent = srcdiff.jvp(func)(x, numpy.ones_like(x))
        assert tangent.dtype == numpy.float32, func.__name__


# --- refused, with the line ---------------------------------------------------------------

def spectral(A):
    return np.linalg.norm(A, ord=2)


def nuclear(A):
    return np.linalg.norm(A, 'nuc')


def matrix_one(A):
    return np.linalg.norm(A, 1, axis=(0, 1))


def matrix_minus_inf(A):
    return np.linalg.norm(A, -np.inf)


def of_a_stack(T):
    return np.linalg.norm(T, 1)


def frobenius_of_a_vector(x):
    return np.linalg.norm(x, 'fro')


def sort_along_an_argument(x, k):
    return np.sum(np.sort(x, axis=k))


def ptp_into(x, out):
    return np.ptp(x, out=out)


REFUSED = [
    (spectral, (numpy.eye(2),), "numpy.linalg.norm of a matrix is differentiated for the Frobenius "
     "norm \\(ord=None or 'fro'\\), not ord=2"),
    (nuclear, (numpy.eye(2),), "not ord='nuc'"),
    (matrix_one, (numpy.eye(2),), "not ord=1"),
    (matrix_minus_inf, (numpy.eye(2),), "not ord=computed as `neg`"),
    (of_a_stack, (numpy.ones((2, 2, 2)),), "numpy.linalg.norm with ord=1 of an array of rank 3"),
    (frobenius_of_a_vector, (numpy.ones(2),), "numpy.linalg.norm of vectors with ord='fro'"),
    (sort_along_an_argument, (numpy.ones(2), 0), "`axis` of numpy.sort must be written as a constant"),
    (ptp_into, (numpy.ones(2), numpy.zeros(())), "`out=` of numpy.ptp is not supported"),
]


@pytest.mark.parametrize("func, args, message", REFUSED, ids=[f.__name__ for f, _, _ in REFUSED])
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_what_is_not_differentiated_is_refused_with_its_line(func, args, message, mode):
    line = inspect.getsourcelines(func)[1] + 1
    with pytest.raises(srcdiff.KindError, match=message) as refused:
        if mode == "grad":
            srcdiff.grad(func)(*args)
        else:
            srcdiff.jvp(func)(*args, numpy.ones_like(args[0]))
    assert f":{line}:" in str(refused.value)


def sorts_in_place(x):
    y = x * 1.0
    y.sort()  # a method that changes y: refused by the fence
    return np.sum(y)


def test_sorting_in_place_stays_refused():
    with pytest.raises(srcdiff.UnsupportedSyntaxError):
        srcdiff.grad(sorts_in_place)(numpy.ones(2))
