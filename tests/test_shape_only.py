"""Values the backward sweep reads only for their shape and dtype are taped as
``runtime.stand_in`` of them (the ``shape_only`` optimisation), where the tape used to keep
the arrays themselves: ``acc += numpy.tanh(X[i] * w)`` in a loop kept every ``acc``, read
back only as the ``like`` of its adjoint's ``unbroadcast``. Checked here: every helper
argument the reverse pass counts as shape-only gives the same result given a stand-in;
the stand-in itself; which variables are taped so and which are not; the gradients in
every setting against central differences, a gradient derived by hand and the
unoptimised code; and the tape's size."""

import tracemalloc

import numpy
import pytest

import srcdiff
from arrays import numeric_gradient
from srcdiff import runtime
from srcdiff.kinds import array
from srcdiff.pipeline import OPTIMIZATIONS, generate
from srcdiff.reverse import _NUMPY_SHAPE_FUNCTIONS, _SHAPE_ONLY_ARGUMENTS

np = numpy
rng = numpy.random.default_rng(11)


# -- the helpers' shape-only arguments -------------------------------------------------

def _a(*shape, dtype=float):
    return rng.normal(size=shape).astype(dtype)


# For each helper, calls whose shape-only arguments (``_SHAPE_ONLY_ARGUMENTS``) are arrays
# of several shapes and dtypes.
CALLS = {
    "broadcast_like": [(1.0, _a(2, 3, dtype=numpy.float32)), (_a(3), _a(2, 3)),
                       (numpy.float32(2.0), _a(1, 1, dtype=numpy.float32)),
                       (_a(2, 3), _a(2, 3)), (0, numpy.arange(4))],
    "unbroadcast": [(_a(2, 3), _a(1, 3)), (_a(2, 3), _a(3)), (_a(2, 3), _a(2, 3)),
                    (0.0, _a(4)), (_a(1, 3), _a(2, 3))],
    "unbroadcast_product": [(_a(8, 32, 32), _a(8, 32, 32), _a(1, 32, 32)),
                            (_a(8, 32, 32), _a(1, 32, 32), _a(32, 32)),
                            (_a(2, 3), _a(2, 3), _a(3))],
    "scatter": [(_a(2), numpy.arange(5), [0, 2]), (_a(2), _a(5, dtype=numpy.float32), [1, 1]),
                (1.0, _a(3, 2), (1, slice(None)))],
    "scatter_add": [(numpy.zeros(5), _a(2), _a(5), [0, 2]),
                    (numpy.zeros(5), _a(2), _a(5), numpy.array([3, 3])),
                    (0.0, 1.5, _a(4), 2)],
    "zero_item": [(_a(5), _a(5), 2), (1.0, _a(2, 3, dtype=numpy.float32), (0, slice(1, 3)))],
    "assigned": [(_a(5), _a(5), numpy.array([0, 0, 2]), _a(3)), (_a(5), _a(5), 1, 0.5),
                 (_a(2, 3), _a(2, 3), 0, _a(1, 3))],
    "gradient_like": [(_a(3), _a(3, dtype=numpy.float32), True), (0.0, _a(2, 2), False)],
    "number_like": [(1.25, _a(3, dtype=numpy.float32)), (1.25, _a(3))],
    "diagonal_vjp": [(_a(3), _a(3, 3)), (_a(2), _a(2, 4, dtype=numpy.float32))],
    "diagonal_adjoint": [(_a(3), _a(3, 4), 0, 0, 1), (_a(2), _a(3, 4), 1, 1, 0)],
    "take_adjoint": [(_a(3, 3), _a(4, 3), numpy.array([0, 0, 2]), 0),
                     (_a(3), _a(2, 3), numpy.array([1, 5, 5]), None)],
    "tile_adjoint": [(_a(4, 3), _a(2, 3), (2, 1)), (_a(2, 6), _a(3), (2, 2))],
    "repeat_adjoint": [(_a(2, 6), _a(2, 3), 2, 1), (_a(12), _a(2, 3), 2, None)],
    "einsum_adjoint": [(_a(3), "i", "ii", _a(3, 3)), (_a(2), "i", "ij", _a(2, 4))],
}


def _same(got, want):
    assert type(got) is type(want)
    if isinstance(want, numpy.ndarray):
        assert got.shape == want.shape and got.dtype == want.dtype
        numpy.testing.assert_array_equal(got, want)
    else:
        assert got == want


def test_every_shape_only_helper_has_calls_here():
    assert set(CALLS) == set(_SHAPE_ONLY_ARGUMENTS)


@pytest.mark.parametrize("helper", sorted(_SHAPE_ONLY_ARGUMENTS))
def test_a_stand_in_gives_each_helper_the_same_result(helper):
    function = getattr(runtime, helper)
    positions = _SHAPE_ONLY_ARGUMENTS[helper]
    stood = 0
    for arguments in CALLS[helper]:
        copies = [numpy.copy(a) if isinstance(a, numpy.ndarray) else a for a in arguments]
        want = function(*copies)
        replaced = [runtime.stand_in(a) if i in positions else
                    (numpy.copy(a) if isinstance(a, numpy.ndarray) else a)
                    for i, a in enumerate(arguments)]
        stood += sum(replaced[i] is not arguments[i] and isinstance(arguments[i], numpy.ndarray)
                     for i in positions)
        _same(function(*replaced), want)
    assert stood  # each helper was given a stand-in at least once


@pytest.mark.parametrize("name", sorted(_NUMPY_SHAPE_FUNCTIONS))
def test_numpy_shape_functions_of_a_stand_in(name):
    for value in (_a(2, 3), _a(4, dtype=numpy.float32), numpy.arange(6).reshape(3, 1, 2)):
        assert getattr(numpy, name)(runtime.stand_in(value)) == getattr(numpy, name)(value)


def test_the_stand_in():
    value = _a(3, 4, dtype=numpy.float32)
    stand = runtime.stand_in(value)
    assert type(stand) is numpy.ndarray and stand.shape == (3, 4) and stand.dtype == numpy.float32
    assert not stand.flags.writeable and stand.base is not None and stand.base.nbytes == 4
    assert runtime.stand_in(_a(3, 4, dtype=numpy.float32)) is stand  # shared
    assert runtime.stand_in(_a(3, 4)) is not stand  # float64: another
    for kept in (1.5, 3, None, numpy.float64(2.0), numpy.array(2.0), [1.0, 2.0],
                 numpy.ma.masked_array([1.0, 2.0])):
        assert runtime.stand_in(kept) is kept  # numbers, 0-d arrays, subclasses, lists
    for n in range(runtime._STAND_INS_KEPT + 10):  # the shapes kept are bounded
        runtime.stand_in(numpy.zeros(n + 1))
    assert len(runtime.stand_in.__defaults__[0]) <= runtime._STAND_INS_KEPT


# -- gradients --------------------------------------------------------------------------

def accumulated(X, w):
    acc = np.zeros(X.shape[1])
    for i in range(X.shape[0]):
        acc += np.tanh(X[i] * w)
    return np.sum(acc * acc)


def grown(X, w):
    acc = 0.0  # a number until the first pass makes it an array
    for i in range(X.shape[0]):
        acc = acc + np.tanh(X[i] * w)
    return np.sum(np.sin(acc))


def branched(X, w):
    h = np.zeros((1, X.shape[1]))  # (1, m), each row (m,) broadcast into it
    for i in range(X.shape[0]):
        if i % 2 == 0:
            h = h + np.sin(X[i] * w)
        else:
            h = h - 0.5 * X[i] * w
    return np.sum(h ** 2)


def scaled(X, w):
    acc = np.ones(X.shape[1])
    for i in range(X.shape[0]):
        acc = acc * np.cos(X[i] * w)  # acc's values: its partial reads them
    return np.sum(acc)


def by_hand(X, w):
    """``accumulated``'s gradient: 2 acc times the sum of (1 - tanh²) X[i]."""
    t = np.tanh(X * w)
    return np.sum(2 * np.sum(t, axis=0) * (1 - t ** 2) * X, axis=0)


X0, W0 = rng.normal(size=(5, 4)), rng.normal(size=4)
PROGRAMS = [(accumulated, {"acc", "add"}), (grown, {"add"}), (branched, {"h"}), (scaled, set())]
SETTINGS = [("optimised", {}), ("unoptimised", {"optimize": False})] + [
    (f"without {name}", {"disable": (name,)}) for name in OPTIMIZATIONS]


def stand_ins(generated):
    return {line.split("stand_in(")[1].split(")")[0]
            for line in generated.source.splitlines() if "stand_in(" in line}


@pytest.mark.parametrize("func, names", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_which_values_are_taped_as_stand_ins(func, names):
    kinds = {"X": array(2), "w": array(1)}
    assert stand_ins(generate(func, ("w",), name="g", kinds=kinds)) >= names
    if func is scaled:
        assert "acc" not in stand_ins(generate(func, ("w",), name="g", kinds=kinds))
    assert not stand_ins(generate(func, ("w",), name="g", kinds=kinds, disable=("shape_only",)))


@pytest.mark.parametrize("func, names", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_right_in_every_setting(func, names):
    kinds = {"X": array(2), "w": array(1)}
    args = (X0 * 0.7, W0)
    want = numeric_gradient(func, args, (0, 1))
    reference = generate(func, ("X", "w"), name="g", kinds=kinds, optimize=False).function(*args)
    for label, setting in SETTINGS:
        got = generate(func, ("X", "w"), name="g", kinds=kinds, **setting).function(*args)
        for g, n, r in zip(got, want, reference):
            numpy.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8, err_msg=label)
            numpy.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14, err_msg=label)
    if func is accumulated:
        numpy.testing.assert_allclose(srcdiff.grad(func, wrt=1)(*args), by_hand(*args),
                                      rtol=1e-12)


def test_float32_stays_float32():
    X, w = X0.astype(numpy.float32), W0.astype(numpy.float32)
    got = srcdiff.grad(accumulated, wrt=1)(X, w)
    assert got.dtype == numpy.float32
    numpy.testing.assert_allclose(got, by_hand(X0, W0), rtol=1e-4)


def test_second_derivatives():
    vector = rng.normal(size=4)
    product = srcdiff.hvp(accumulated, wrt=1)(X0, W0, vector)
    gradient = srcdiff.grad(accumulated, wrt=1)
    h = 1e-5
    numpy.testing.assert_allclose(
        product, (gradient(X0, W0 + h * vector) - gradient(X0, W0 - h * vector)) / (2 * h),
        rtol=1e-5, atol=1e-7)


def test_the_tape_keeps_the_values_it_needs_and_not_acc():
    """1000 rows of 400: the tanh values the backward sweep reads are 3.2 MB; the arrays
    ``acc`` took as many again."""
    X, w = rng.normal(size=(1000, 400)), rng.normal(size=400) * 0.1
    peaks = {}
    for label, disable in (("stand-ins", ()), ("arrays", ("shape_only",))):
        gradient = generate(accumulated, ("w",), name="g", kinds={"X": array(2)},
                            disable=disable).function
        gradient(X, w)
        tracemalloc.start()
        gradient(X, w)
        peaks[label] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    needed = X.nbytes
    assert peaks["stand-ins"] < 1.2 * needed, peaks
    assert peaks["arrays"] > 1.8 * needed, peaks  # (what the test would catch)


def dotted(X, w):
    s = 0.0
    for i in range(X.shape[0]):
        s = s + np.tanh(X[i] @ w)  # X[i] @ w: a number, its stand-in would be itself
    return s


def test_numbers_are_taped_as_they_are():
    generated = generate(dotted, ("X", "w"), name="g", kinds={"X": array(2), "w": array(1)})
    assert "tape.append(matmul)" in generated.source and not stand_ins(generated)
    got = generated.function(X0, W0)
    want = numeric_gradient(dotted, (X0, W0), (0, 1))
    for g, n in zip(got, want):
        numpy.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8)
