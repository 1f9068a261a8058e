"""Rules for ordinary functions users' trials found without one: math.fmod and
numpy.fmod; NumPy 2's new spellings of existing rules, numpy.linalg.vector_norm,
numpy.matrix_transpose and numpy.linalg.matrix_transpose, numpy.vecdot and
numpy.linalg.vecdot, numpy.cumulative_sum; numpy.float_power and numpy.nan_to_num.

Each is compared with values derived by hand (at the jumps too, where the derivative
is a convention), with central differences at two step sizes, forward mode against
reverse mode by the dot-product test, the Hessian-vector product against second
differences, and grad(grad(f)); what stays refused says so, with the line. The
elementwise rules are also proved by tests/test_rules.py (numerically: SymPy cannot
differentiate Mod) and fuzzed with shapes that broadcast by tests/test_array_rules.py;
the array rules' examples are checked one by one in tests/test_array_rules.py
(reverse), tests/test_forward.py (forward) and tests/test_dtypes.py (float32)."""

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


# --- NumPy 2's names ------------------------------------------------------------------------

def test_vector_norm_is_a_vector_norm_whatever_the_rank():
    """Over every element without an axis (a 2-d array is one vector: ord=1 is the sum
    of |x|, not linalg.norm's matrix 1-norm), over the axes given otherwise."""
    X = numpy.array([[0.5, -2.0, 1.0], [0.0, 3.0, -1.5]])

    def one(X):
        return np.linalg.vector_norm(X, ord=1)

    def two(X):
        return np.linalg.vector_norm(X)

    def largest_of_columns(X):
        return np.sum(np.linalg.vector_norm(X, axis=0, ord=np.inf) * np.array([1.0, 2.0, 3.0]))

    def cubic_of_rows(X):
        return np.sum(np.linalg.vector_norm(X, axis=(1,), ord=3, keepdims=True))
    numpy.testing.assert_array_equal(srcdiff.grad(one)(X), numpy.sign(X))  # 0 at the 0.0
    numpy.testing.assert_allclose(srcdiff.grad(two)(X), X / numpy.sqrt(numpy.sum(X * X)),
                                  rtol=1e-15)
    # column maxima of |X|: 0.5 (row 0), 3.0 (row 1), 1.5 (row 1)
    numpy.testing.assert_array_equal(srcdiff.grad(largest_of_columns)(X),
                                     [[1.0, 0.0, 0.0], [0.0, 2.0, -3.0]])
    norms = numpy.sum(numpy.abs(X) ** 3, axis=1, keepdims=True) ** (1 / 3)
    numpy.testing.assert_allclose(srcdiff.grad(cubic_of_rows)(X),
                                  numpy.sign(X) * (numpy.abs(X) / norms) ** 2, rtol=1e-14)
    ties = numpy.array([2.0, -2.0, 1.0])

    def biggest(x):
        return np.linalg.vector_norm(x, ord=np.inf)
    numpy.testing.assert_array_equal(srcdiff.grad(biggest)(ties), [0.5, -0.5, 0.0])  # shared


def test_matrix_transpose_swaps_the_last_two_axes():
    W = numpy.arange(6.0).reshape(3, 2)

    def weighted(X):
        return np.sum(W * np.matrix_transpose(X)) + np.sum(np.linalg.matrix_transpose(X) ** 2)
    X = numpy.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    numpy.testing.assert_array_equal(srcdiff.grad(weighted)(X), W.T + 2 * X)
    T = numpy.arange(24.0).reshape(2, 3, 4)
    V = numpy.arange(24.0).reshape(2, 4, 3) * 0.5

    def stacked(T):
        return np.sum(V * np.matrix_transpose(T))
    numpy.testing.assert_array_equal(srcdiff.grad(stacked)(T), numpy.swapaxes(V, -1, -2))


def test_vecdot_is_a_sum_of_products_along_an_axis():
    A = numpy.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = numpy.array([0.5, -1.0, 2.0])
    w = numpy.array([1.0, 10.0])

    def rows(A, b):
        return np.sum(w * np.vecdot(A, b))  # b broadcast against A's rows

    def columns(A, B):
        return np.sum(np.array([1.0, 2.0, 3.0]) * np.linalg.vecdot(A, B, axis=0))
    gA, gb = srcdiff.grad(rows, wrt=(0, 1))(A, b)
    numpy.testing.assert_array_equal(gA, numpy.outer(w, b))
    numpy.testing.assert_array_equal(gb, w @ A)  # 1 * row 0 + 10 * row 1
    B = A[::-1] * 0.5
    gA, gB = srcdiff.grad(columns, wrt=(0, 1))(A, B)
    numpy.testing.assert_array_equal(gA, B * [1.0, 2.0, 3.0])
    numpy.testing.assert_array_equal(gB, A * [1.0, 2.0, 3.0])

    def dot(x, y):
        return np.vecdot(x, y)  # a number, of two vectors
    gx, gy = srcdiff.grad(dot, wrt=(0, 1))(b, b * 2)
    numpy.testing.assert_array_equal(gx, b * 2)
    numpy.testing.assert_array_equal(gy, b)


def test_cumulative_sum_sums_the_adjoint_from_the_end():
    x = numpy.array([1.0, 2.0, 3.0, 4.0])
    w = numpy.array([1.0, 10.0, 100.0, 1000.0])

    def running(x):
        return np.sum(w * np.cumulative_sum(x))

    def with_initial(x):  # 0, x0, x0 + x1, ...: five sums, the first of nothing
        return np.sum(np.append(w, 10000.0) * np.cumulative_sum(x, include_initial=True))
    numpy.testing.assert_array_equal(srcdiff.grad(running)(x), [1111.0, 1110.0, 1100.0, 1000.0])
    numpy.testing.assert_array_equal(srcdiff.grad(with_initial)(x),
                                     [11110.0, 11100.0, 11000.0, 10000.0])
    X = numpy.arange(6.0).reshape(2, 3)

    def along_rows(X):
        return np.sum(np.cumulative_sum(X, axis=1, include_initial=True) * np.arange(4.0))
    numpy.testing.assert_array_equal(srcdiff.grad(along_rows)(X), [[6.0, 5.0, 3.0]] * 2)


def numpy2_program(X, Y, s):
    total = 0.0
    for k in range(2):
        Z = np.matrix_transpose(np.tanh(X * s + k)) @ Y
        total = total + np.linalg.vector_norm(Z, ord=3) + np.sum(np.vecdot(X, Y * s) ** 2)
        if k == 1:
            total = total + np.sum(np.linalg.vector_norm(X, axis=0, keepdims=True) * Y)
        else:
            total = total - np.sum(np.cumulative_sum(Y * s, axis=0, include_initial=True) ** 2)
    return total + np.sum(np.linalg.vecdot(np.matrix_transpose(X), np.matrix_transpose(Y)))


NUMPY2_CASES = [(numpy2_program, (rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), 0.7))]


@pytest.mark.parametrize("func, args", NUMPY2_CASES, ids=["numpy2_program"])
def test_numpy2_gradient_matches_central_differences_at_two_steps(func, args):
    assert_gradient_matches_differences(func, args, STEPS)


@pytest.mark.parametrize("func, args", NUMPY2_CASES, ids=["numpy2_program"])
def test_numpy2_tangent_is_the_gradient_along_the_direction(func, args):
    assert_tangent_matches_differences(func, args, STEPS, rng, against_gradient=True)


@pytest.mark.parametrize("func, args", NUMPY2_CASES, ids=["numpy2_program"])
def test_numpy2_hessian_vector_product_matches_second_differences(func, args):
    assert_hvp_matches_second_differences(func, args, rng)


def dp_vector_norm(X):
    return np.linalg.vector_norm(X, axis=1, ord=1.5)


def dp_matrix_transpose(X):
    return np.matrix_transpose(X)


def dp_vecdot(X, Y):
    return np.vecdot(X, Y[:, None, :], axis=-1)


def dp_cumulative_sum(X):
    return np.cumulative_sum(X, axis=-1, include_initial=True)


NUMPY2_DOT_CASES = [(dp_vector_norm, (rng.normal(size=(3, 4)),)),
                    (dp_matrix_transpose, (rng.normal(size=(2, 3, 4)),)),
                    (dp_vecdot, (rng.normal(size=(2, 3)), rng.normal(size=(4, 3)))),
                    (dp_cumulative_sum, (rng.normal(size=(2, 3)),))]


@pytest.mark.parametrize("func, args", NUMPY2_DOT_CASES, ids=[f.__name__ for f, _ in NUMPY2_DOT_CASES])
def test_numpy2_forward_and_reverse_agree_by_the_dot_product_test(func, args):
    assert_forward_and_reverse_agree(func, args, tuple(range(len(args))), rng)


def numpy2_scaled(s, x):
    return (np.linalg.vector_norm(x * s, ord=3) ** 2 + np.vecdot(np.sin(x) * s, x) * s
            + np.sum(np.cumulative_sum(x * s, include_initial=True) ** 3)
            + np.sum(np.matrix_transpose(np.outer(x, x) * s) ** 2))


def test_numpy2_second_derivatives():
    assert_second_derivatives_match_differences(numpy2_scaled, 0.8,
                                                numpy.array([0.3, -0.7, 1.1, 0.4]), atol=1e-5)


def test_the_view_matrix_transpose_gives_is_known_to_the_alias_analysis():
    def changes_a_view(X):
        Y = X * 1.0
        T = np.matrix_transpose(Y)
        Y[0, 0] = 5.0  # changes T too, in Python
        return np.sum(T * T)
    with pytest.raises(srcdiff.SrcdiffError, match="may refer to the same array"):
        srcdiff.grad(changes_a_view)(numpy.ones((2, 2)))


# --- float_power (** in float64) and nan_to_num -------------------------------------------

def test_float_power_has_the_derivatives_of_power_in_float64():
    x, y = numpy.array([0.5, 1.5, 2.0]), numpy.array([2.0, -0.5, 3.0])

    def weighted(x, y):
        return np.sum(np.float_power(x, y) * np.array([1.0, 2.0, 3.0]))
    gx, gy = srcdiff.grad(weighted, wrt=(0, 1))(x, y)
    w = numpy.array([1.0, 2.0, 3.0])
    numpy.testing.assert_allclose(gx, w * y * x ** (y - 1), rtol=1e-15)
    numpy.testing.assert_allclose(gy, w * x ** y * numpy.log(x), rtol=1e-15)
    # as **: x ** 0 has slope 0 in x, even at x = 0, and 0 ** y slope 0 in y
    gx, gy = srcdiff.grad(weighted, wrt=(0, 1))(numpy.array([0.0, 0.0, 2.0]),
                                                numpy.array([0.0, 2.0, 1.0]))
    numpy.testing.assert_array_equal(gx, [0.0, 0.0, 3.0])
    numpy.testing.assert_array_equal(gy, [0.0, 0.0, 3.0 * 2.0 * math.log(2.0)])
    # float32 in: the value is float64, as NumPy computes it; the gradient float32
    g32 = srcdiff.grad(weighted)(x.astype(numpy.float32), y.astype(numpy.float32))
    assert g32.dtype == numpy.float32
    numpy.testing.assert_allclose(g32, srcdiff.grad(weighted)(x, y), rtol=1e-6)

    def of_numbers(a, b):
        return np.float_power(a, b) * a
    ga, gb = srcdiff.grad(of_numbers, wrt=(0, 1))(1.5, 2.5)
    assert ga == pytest.approx(3.5 * 1.5 ** 2.5, rel=1e-15)  # d(a ** 3.5) / da
    assert gb == pytest.approx(1.5 ** 3.5 * math.log(1.5), rel=1e-15)


def test_nan_to_num_is_the_identity_where_x_is_finite_and_a_constant_elsewhere():
    """At nan, inf and -inf the result is a constant (0.0, the largest finite numbers, or
    the values given): no gradient reaches those elements."""
    def cleaned(x):
        return np.sum(np.nan_to_num(x * 2.0) * np.array([1.0, 2.0, 3.0, 4.0]))
    x = numpy.array([0.5, numpy.nan, numpy.inf, -numpy.inf])
    numpy.testing.assert_array_equal(srcdiff.grad(cleaned)(x), [2.0, 0.0, 0.0, 0.0])
    numpy.testing.assert_array_equal(srcdiff.grad(cleaned)(numpy.arange(4.0)),
                                     [2.0, 4.0, 6.0, 8.0])
    _, tangent = srcdiff.jvp(cleaned)(x, numpy.ones(4))
    assert tangent == 2.0

    def given_values(x):
        return np.sum(np.nan_to_num(x, nan=1.5, posinf=9.0, neginf=-9.0) * x)
    # d/dx (nan_to_num(x) * x) = nan_to_num(x) + x * [x finite]
    numpy.testing.assert_array_equal(srcdiff.grad(given_values)(numpy.array([2.0, -1.0])),
                                     [4.0, -2.0])

    def given_weighted(x):
        return np.sum(np.nan_to_num(x, nan=1.5, posinf=9.0, neginf=-9.0) * np.array([1.0, 2.0, 3.0]))
    numpy.testing.assert_array_equal(
        srcdiff.grad(given_weighted)(numpy.array([2.0, numpy.inf, numpy.nan])), [1.0, 0.0, 0.0])

    def of_a_number(s):
        return np.nan_to_num(s) * s
    assert srcdiff.grad(of_a_number)(1.5) == 3.0


def test_nan_to_num_does_not_make_an_infinite_derivative_finite():
    """The chain rule multiplies nan_to_num's zero by the derivative of what made the
    nan or inf: log's at 0 is infinite, and 0 * inf is nan (as in JAX)."""
    def logs(x):
        return np.sum(np.nan_to_num(np.log(x)))
    with numpy.errstate(divide="ignore", invalid="ignore"):
        gradient = srcdiff.grad(logs)(numpy.array([0.0, 2.0]))
    assert numpy.isnan(gradient[0]) and gradient[1] == 0.5


def cleaned_program(x, y):
    total = 0.0
    for k in range(2):
        z = np.nan_to_num(np.float_power(np.abs(x) + 0.5, y * (k + 1)))
        total = total + np.sum(z * x) if k == 0 else total - np.sum(np.sqrt(z))
    return total


CLEANED_CASES = [(cleaned_program, (rng.normal(size=3), rng.normal(size=3)))]


@pytest.mark.parametrize("func, args", CLEANED_CASES, ids=["cleaned_program"])
def test_float_power_and_nan_to_num_match_central_differences_at_two_steps(func, args):
    assert_gradient_matches_differences(func, args, STEPS)


@pytest.mark.parametrize("func, args", CLEANED_CASES, ids=["cleaned_program"])
def test_float_power_and_nan_to_num_tangent_is_the_gradient_along_the_direction(func, args):
    assert_tangent_matches_differences(func, args, STEPS, rng, against_gradient=True)


@pytest.mark.parametrize("func, args", CLEANED_CASES, ids=["cleaned_program"])
def test_float_power_and_nan_to_num_hessian_vector_product(func, args):
    assert_hvp_matches_second_differences(func, args, rng)


def dp_float_power(x, y):
    return np.nan_to_num(np.float_power(x, y))


def test_float_power_and_nan_to_num_by_the_dot_product_test():
    assert_forward_and_reverse_agree(dp_float_power, (numpy.array([0.5, 1.5, 2.5]),
                                                      numpy.array([1.5, -0.5, 2.0])), (0, 1), rng)


def powered(s, x):
    return np.sum(np.nan_to_num(np.float_power(x * x + 0.5, s)) * x) + np.float_power(s, 3.0)


def test_float_power_and_nan_to_num_second_derivatives():
    assert_second_derivatives_match_differences(powered, 1.3, numpy.array([0.3, -0.7, 1.1]),
                                                atol=1e-5)


# --- refused, with the line ---------------------------------------------------------------

def fmod_of_an_array(x):
    return math.fmod(x, 2.0) + 0.0


def fmod_into(x, z):
    return np.sum(np.fmod(x, 2.0, out=z))


def vector_norm_of_a_matrix_order(X):
    return np.linalg.vector_norm(X, ord="fro")


def cumulative_sum_without_axis(X):
    return np.sum(np.cumulative_sum(X))


def vecdot_into(x, z):
    return np.sum(np.vecdot(x, x, z))


def vecdot_counted_from_the_first(X, y):
    return np.sum(np.vecdot(X, y, axis=0))


def vecdot_keeping_dims(x):
    return np.sum(np.vecdot(x, x, keepdims=True))


def matrix_transpose_of_a_vector(x):
    return np.sum(np.matrix_transpose(x))


def nan_to_num_in_place(x):
    return np.sum(np.nan_to_num(x * 1.0, copy=False))


def nan_to_num_of_a_differentiated_fill(x):
    return np.sum(np.nan_to_num(x, nan=x[0]))


REFUSED = [
    (nan_to_num_in_place, (numpy.ones(3),), srcdiff.KindError,
     "numpy.nan_to_num with `copy=False` changes its argument in place"),
    (nan_to_num_of_a_differentiated_fill, (numpy.ones(3),), srcdiff.KindError,
     "numpy.nan_to_num's nan \\(`.+`\\) depends on the differentiated arguments"),
    (vector_norm_of_a_matrix_order, (numpy.ones((2, 2)),), srcdiff.KindError,
     "numpy.linalg.vector_norm takes a number `ord`, not 'fro'"),
    (cumulative_sum_without_axis, (numpy.ones((2, 2)),), srcdiff.KindError,
     "numpy.cumulative_sum of an array of more than one axis needs `axis`"),
    (vecdot_into, (numpy.ones(3), numpy.zeros(())), srcdiff.KindError,
     "`out=` of numpy.vecdot is not supported"),
    (vecdot_counted_from_the_first, (numpy.ones((2, 3)), numpy.ones(2)), srcdiff.KindError,
     "numpy.vecdot with axis=0 of arrays of different or unknown ranks"),
    (vecdot_keeping_dims, (numpy.ones(3),), srcdiff.UnsupportedSyntaxError,
     "numpy.vecdot has no parameter 'keepdims' that srcdiff differentiates"),
    (matrix_transpose_of_a_vector, (numpy.ones(3),), srcdiff.KindError,
     "numpy.matrix_transpose of an array of rank 1 is not supported"),
    (fmod_of_an_array, (numpy.ones(3),), srcdiff.KindError,
     "math.fmod takes a number, but `x` is an array"),
    (fmod_into, (numpy.ones(3), numpy.zeros(3)), srcdiff.UnsupportedSyntaxError,
     "numpy.fmod has no parameter 'out' that srcdiff differentiates"),
]


@pytest.mark.parametrize("func, args, error, message", REFUSED,
                         ids=[f.__name__ for f, *_ in REFUSED])
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_what_the_rules_do_not_take_is_refused_with_its_line(func, args, error, message, mode):
    line = inspect.getsourcelines(func)[1] + 1
    with pytest.raises(error, match=message) as refused:
        if mode == "grad":
            srcdiff.grad(func)(*args)
        else:
            srcdiff.jvp(func)(*args, numpy.ones_like(args[0]))
    assert f":{line}:" in str(refused.value)
