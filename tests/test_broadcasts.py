"""The ``broadcasts`` pass (``srcdiff.optimize.broadcasts``): the adjoint a sum or mean
gives its input (``numpy.full_like``, ``numpy.broadcast_to``) is not materialised where a
product stretches it anyway, and the array the gradient computed only for its shape is no
longer computed.

Each program is checked both ways: the pass fires (the generated source no longer has
the call), and the gradient is the very same, bit for bit and dtype for dtype, as with the
pass switched off, in float64 and in float32 (and float32 with float64 data, which NumPy
promotes); where the pass cannot prove what it needs (two arrays that may broadcast, a
seed that is a NumPy scalar), it leaves the code alone.
"""

import numpy
import pytest

from srcdiff.kinds import array
from srcdiff.pipeline import generate


def logistic(w, X, y):
    z = X @ w
    return numpy.mean(numpy.logaddexp(0.0, -y * z))


def squares(x):
    return numpy.mean(x ** 2)


def scaled_squares(x, a):
    return numpy.sum(a * x ** 2)  # a number, maybe a NumPy float64, broadcast: not folded


def cosine_squares(x):
    return numpy.sum(numpy.cos(x) ** 2)


def three_squares(x):
    return numpy.sum(3.0 * x ** 2)  # the seed times a constant: left (it would lose its shape)


def row_norms(x):
    return numpy.sum(numpy.sqrt(numpy.sum(x ** 2, axis=1)))


def kept_rows(x):
    return numpy.sum(numpy.mean(numpy.exp(x), axis=1, keepdims=True) ** 2)


def two_arrays(x, y):
    return numpy.mean(numpy.logaddexp(x, y))     # x and y may broadcast: not folded


def product_of_sums(x):
    return numpy.sum(numpy.exp(x)) * numpy.sum(x)  # a seed that is a NumPy scalar


def zero_dimensional(x, c):
    return numpy.mean(numpy.tanh(x * c) ** 2)


def _generate(func, args, wrt, **options):
    names = func.__code__.co_varnames[:func.__code__.co_argcount]
    kinds = {n: array(numpy.ndim(v)) for n, v in zip(names, args) if isinstance(v, numpy.ndarray)}
    return generate(func, tuple(names[i] for i in wrt), name="g", as_tuple=True, kinds=kinds,
                    **options)


def _same(got, want):
    for a, b in zip(got, want):
        assert type(a) is type(b)
        assert numpy.shape(a) == numpy.shape(b)
        assert getattr(a, "dtype", None) == getattr(b, "dtype", None)
        numpy.testing.assert_array_equal(a, b)


rng = numpy.random.default_rng(7)
X, Y = rng.normal(size=(40, 3)), numpy.where(rng.random(40) > 0.5, 1.0, -1.0)

# program, arguments, wrt, call that must be gone, variable that must no longer be computed
FOLDED = [
    (logistic, (rng.normal(size=3), X, Y), (0,), "full_like", "logaddexp ="),
    (squares, (rng.normal(size=(4, 3)),), (0,), "full_like", "power ="),
    (cosine_squares, (rng.normal(size=5),), (0,), "full_like", "power ="),
    (row_norms, (rng.normal(size=(4, 3)),), (0,), "broadcast_to", None),
    (kept_rows, (rng.normal(size=(4, 3)),), (0,), "broadcast_to", None),
    (zero_dimensional, (rng.normal(size=6), numpy.float64(0.7)), (0,), "full_like", None),
]


@pytest.mark.parametrize("func, args, wrt, gone, dead", FOLDED,
                         ids=[case[0].__name__ for case in FOLDED])
def test_the_pass_fires(func, args, wrt, gone, dead):
    text = _generate(func, args, wrt).source
    unfolded = _generate(func, args, wrt, disable=("broadcasts",)).source
    assert f"numpy.{gone}" in unfolded
    assert f"numpy.{gone}" not in text
    if dead is not None:
        assert f"\n    {dead}" in unfolded and f"\n    {dead}" not in text


DTYPES = [(numpy.float64, numpy.float64), (numpy.float32, numpy.float32),
          (numpy.float32, numpy.float64), (numpy.float16, numpy.float16)]


@pytest.mark.parametrize("differentiated, data", DTYPES, ids=lambda d: numpy.dtype(d).name)
@pytest.mark.parametrize("func, args, wrt", [c[:3] for c in FOLDED] + [
    (two_arrays, (rng.normal(size=(4, 1)), rng.normal(size=3)), (0, 1)),
    (two_arrays, (rng.normal(size=3), rng.normal(size=3)), (0, 1)),
    (product_of_sums, (rng.normal(size=5),), (0,)),
    (scaled_squares, (rng.normal(size=5), 0.3), (0, 1)),
    (three_squares, (rng.normal(size=5),), (0,)),
    (scaled_squares, (rng.normal(size=5), numpy.float64(0.3)), (0, 1)),
], ids=lambda value: getattr(value, "__name__", None))
def test_same_bits_and_dtype_as_without_it(func, args, wrt, differentiated, data):
    args = tuple(numpy.asarray(a, differentiated if i in wrt else data)
                 if isinstance(a, numpy.ndarray) else a for i, a in enumerate(args))
    with numpy.errstate(all="ignore"):
        folded = _generate(func, args, wrt).function(*args)
        unfolded = _generate(func, args, wrt, disable=("broadcasts",)).function(*args)
        unoptimised = _generate(func, args, wrt, optimize=False).function(*args)
    _same(folded, unfolded)
    for got, want in zip(folded, unoptimised):
        assert getattr(got, "dtype", None) == getattr(want, "dtype", None)
        numpy.testing.assert_allclose(got, want, rtol=1e-12 if differentiated == numpy.float64
                                      else 1e-3)


def test_left_alone_where_shapes_or_dtypes_are_not_known():
    x = rng.normal(size=3)
    assert "numpy.full_like" in _generate(two_arrays, (x, x), (0, 1)).source
    assert "numpy.full_like" in _generate(product_of_sums, (x,), (0,)).source
    assert "numpy.full_like" in _generate(scaled_squares, (x, 0.3), (0, 1)).source


def test_float32_stays_float32_in_the_folded_statement():
    x = rng.normal(size=(4, 3)).astype(numpy.float32)
    generated = _generate(squares, (x,), (0,))
    text = generated.source
    assert "numpy.size(x)" in text  # the shape read from the parameter, not from x ** 2
    (gradient,) = generated.function(x)
    assert gradient.dtype == numpy.float32
    numpy.testing.assert_array_equal(gradient, (2 * (1.0 / x.size)) * x)


def pairwise(x, y, a):
    return numpy.sum((x[:, None] - y[None, :]) ** 2) + numpy.sum(x - a)


def test_a_negated_adjoint_is_summed_then_negated():
    """``b_y = -unbroadcast(g, y)``, not ``unbroadcast(-g, y)``: the negation runs over
    the summed result (``adjoints.Adjoints.unbroadcast``); the same numbers."""
    x, y = rng.normal(size=4), rng.normal(size=3)
    for dtype in (numpy.float64, numpy.float32):
        args = (x.astype(dtype), y.astype(dtype), 0.5)
        generated = _generate(pairwise, args, (0, 1, 2))
        assert "unbroadcast(-" not in generated.source and "sum(-" not in generated.source
        assert "-unbroadcast(" in generated.source and "-numpy.sum(" in generated.source
        b_x, b_y, b_a = generated.function(*args)
        difference = args[0][:, None] - args[1][None, :]
        numpy.testing.assert_allclose(b_y, -2 * numpy.sum(difference, axis=0), rtol=1e-5)
        numpy.testing.assert_allclose(b_x, 2 * numpy.sum(difference, axis=1) + 1, rtol=1e-5)
        assert b_a == -4 and b_x.dtype == b_y.dtype == dtype


# -- products summed over leading axes: runtime.unbroadcast_product ---------------------

def mixture(means, log_sigmas, X):
    """The Gaussian mixture's inner term: an (n, K, d) array from (n, 1, d) and (1, K, d)."""
    scaled = (X[:, None, :] - means[None, :, :]) * numpy.exp(-log_sigmas)[None, :, :]
    return numpy.sum(numpy.log(numpy.sum(numpy.exp(-0.5 * numpy.sum(scaled ** 2, axis=2)), axis=1)))


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
def test_a_product_summed_over_rows_is_not_made(dtype):
    args = (rng.normal(size=(3, 4)).astype(dtype), 0.1 * rng.normal(size=(3, 4)).astype(dtype),
            rng.normal(size=(2000, 4)).astype(dtype))
    generated = _generate(mixture, args, (0, 1))
    text = generated.source
    # the product of the adjoint with the stretched operand, summed over the rows at once,
    # and the adjoint of the difference, read only to be summed again, not computed
    assert "unbroadcast_product(b_scaled, sub, item_2)" in text
    assert "-unbroadcast_product(b_scaled, item_2, item_1)" in text
    assert "b_sub =" not in text
    got = generated.function(*args)
    want = _generate(mixture, args, (0, 1), disable=("broadcasts",)).function(*args)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype == dtype
        numpy.testing.assert_allclose(a, b, rtol=1e-12 if dtype == numpy.float64 else 1e-5)


SHAPES = [((5000, 3), (1, 3), (1, 3)), ((5000, 3), (5000, 3), (3,)), ((50, 40, 3), (1, 40, 3), (40, 3)),
          ((50, 40, 3), (1, 1, 3), (1, 1, 3)), ((5000, 3), (5000, 1), (5000, 1)),  # inner axis
          ((5000, 3), (5000, 3), (5000, 3)), ((5000, 3), (5000, 3), ()), ((3, 5000), (1, 5000), (1, 1)),
          ((0, 3), (1, 3), (1, 3)), ((5000, 3), (3,), (3,)), ((10, 3), (1, 3), (1, 3))]


@pytest.mark.parametrize("a, b, like", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
def test_unbroadcast_product_is_unbroadcast_of_the_product(a, b, like, dtype):
    from srcdiff.runtime import unbroadcast, unbroadcast_product
    a, b = rng.normal(size=a).astype(dtype), rng.normal(size=b).astype(dtype)
    for target in (numpy.zeros(like, dtype), numpy.zeros(like, dtype).tolist()):
        got, want = unbroadcast_product(a, b, target), unbroadcast(a * b, target)
        assert type(got) is type(want) and numpy.shape(got) == numpy.shape(want)
        assert got.dtype == want.dtype
        numpy.testing.assert_allclose(got, want, rtol=1e-12 if dtype == numpy.float64 else 1e-5)
    # numbers and mixed dtypes are the product's business
    assert unbroadcast_product(a, 2.0, numpy.zeros(like, dtype)).dtype == dtype
    with pytest.raises(ValueError):
        unbroadcast_product(numpy.ones((5000, 3)), numpy.ones((5000, 2)), numpy.ones(3))


def looped(x, w, n):
    total = 0.0
    for _ in range(n):
        total = total + numpy.sum((x - w[None, :]) * w[None, :])
    return total


def test_left_alone_in_loops_and_where_an_adjoint_may_be_a_plain_zero():
    args = (rng.normal(size=(2000, 3)), rng.normal(size=3), 2)
    generated = _generate(looped, args, (0, 1))
    got = generated.function(*args)
    want = _generate(looped, args, (0, 1), disable=("broadcasts",)).function(*args)
    for a, b in zip(got, want):
        numpy.testing.assert_allclose(a, b, rtol=1e-12)
    assert "b_sub =" in _generate(looped, args, (0, 1)).source  # summed in two steps


# -- temporaries of the forward sweep read by the next statement: fuse.fuse_arrays --------

def squared_rows(x, w):
    scaled = x * w
    total = numpy.sum(numpy.sum(scaled ** 2, axis=1))      # scaled ** 2: freed once summed
    return total + numpy.sum(numpy.tanh(x) * numpy.tanh(x))  # read twice: kept


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
def test_a_temporary_array_read_by_the_next_statement_is_written_into_it(dtype):
    args = (rng.normal(size=(5, 3)).astype(dtype), rng.normal(size=3).astype(dtype))
    generated = _generate(squared_rows, args, (0, 1))
    unfused = _generate(squared_rows, args, (0, 1), disable=("fuse",))
    assert "\n    power = " in unfused.source and "\n    power = " not in generated.source
    assert "numpy.sum(scaled ** 2, axis=1)" in generated.source
    assert "\n    tanh = " in generated.source  # read twice
    _same(generated.function(*args), unfused.function(*args))


def not_broadcastable(x, w):
    return numpy.sum(numpy.sum((x * w) ** 2, axis=0) + x)


def test_an_error_is_raised_where_it_was():
    args = (rng.normal(size=(5, 3)), rng.normal(size=2))
    for options in ({}, {"disable": ("fuse",)}):
        with pytest.raises(ValueError, match="broadcast"):
            _generate(not_broadcastable, args, (0, 1), **options).function(*args)
