"""The adjoint of an item assignment zeroed in place (``optimize.accumulate``'s pairs,
``runtime.zero_item_into``): a loop writing ``out[i]`` made its backward sweep copy the
adjoint of ``out`` on every pass to zero one item, O(n) a pass and O(n²) in all. Checked
here: the helper against ``zero_item``, which code the pass rewrites and which it leaves
(from liveness and the unshared analysis), the gradients of programs writing items, rows
and slices in every setting against central differences and the unoptimised code, and
that the loops' backward sweeps make no copy."""


import numpy
import pytest

from arrays import numeric_gradient
from srcdiff import runtime
from srcdiff.kinds import array
from srcdiff.optimize.accumulate import accumulate
from srcdiff.pipeline import OPTIMIZATIONS, generate
from test_accumulate import gradient_code
from test_in_place import filled, recurrence  # loops writing out[i]

np = numpy
rng = numpy.random.default_rng(17)


# -- the helper ---------------------------------------------------------------------------

def _zeroed(gradient, like, index):
    """``zero_item`` by its definition: the adjoint, of ``like``'s shape and float dtype,
    with the overwritten part zero."""
    result = numpy.array(numpy.broadcast_to(gradient, numpy.shape(like)),
                         numpy.result_type(like, 1.0))
    result[index] = 0.0
    return result


@pytest.mark.parametrize("gradient, like, index, in_place", [
    (rng.normal(size=5), numpy.zeros(5), 2, True),
    (rng.normal(size=(3, 4)), numpy.zeros((3, 4)), 1, True),  # a row
    (rng.normal(size=6), numpy.zeros(6), slice(1, 4), True),
    (rng.normal(size=6), numpy.zeros(6), numpy.array([0, 0, 3]), True),
    (rng.normal(size=5).astype(numpy.float32), numpy.zeros(5, numpy.float32), 0, True),
    (1.5, numpy.zeros(4), 1, False),  # a number: a new array
    (rng.normal(size=5), numpy.zeros(5, numpy.float32), 1, False),  # another dtype
    (numpy.broadcast_to(rng.normal(size=3), (2, 3)), numpy.zeros((2, 3)), 0, False),
    (rng.normal(size=(2, 5))[0], numpy.zeros(5), 3, False),  # a view
    (rng.normal(size=4), numpy.zeros(4, int), 2, True),  # an integer array's adjoint
])
def test_zero_item_into_is_zero_item(gradient, like, index, in_place):
    want = _zeroed(gradient, like, index)
    before = numpy.copy(gradient)
    got = runtime.zero_item_into(gradient, like, index, 0.0)
    assert got.dtype == want.dtype and got.shape == want.shape
    numpy.testing.assert_array_equal(got, want)
    assert (got is gradient) == in_place
    if not in_place and isinstance(gradient, numpy.ndarray):
        numpy.testing.assert_array_equal(gradient, before)  # left as it was


def test_a_part_taken_as_a_view_is_not_zeroed():
    gradient = rng.normal(size=6)
    taken = gradient[1:3]  # what a part would be, were assigned to return a view
    kept = taken.copy()
    got = runtime.zero_item_into(gradient, numpy.zeros(6), slice(1, 3), taken)
    assert got is not gradient
    numpy.testing.assert_array_equal(taken, kept)
    numpy.testing.assert_array_equal(got, _zeroed(kept.sum() * 0 + gradient, numpy.zeros(6),
                                                  slice(1, 3)))


@pytest.mark.parametrize("index", [1, slice(0, 2), (1, slice(None)), numpy.array([0, 0])])
def test_assigned_shares_no_memory_with_the_adjoint(index):
    gradient = rng.normal(size=(3, 4))
    like = numpy.zeros((3, 4))
    value = numpy.zeros(numpy.shape(like[index]))
    taken = runtime.assigned(gradient, like, index, value)
    assert not numpy.may_share_memory(taken, gradient)
    numpy.testing.assert_array_equal(taken, gradient[index] if not isinstance(index, numpy.ndarray)
                                     else [numpy.zeros(4), gradient[0]])


# -- the pass -----------------------------------------------------------------------------

def rewritten(body):
    """The source of ``body`` (gradient code) after the pass."""
    function = gradient_code(body, ("zero_item", "assigned", "broadcast_like", "unbroadcast"))
    return accumulate(function).source()


PAIR = """
    b = X * 2.0
    for i in range(n):
        g = broadcast_like(b, X)
        b = zero_item(g, X, i)
        v = assigned(g, X, i, w)
        f(v)
    return b
"""


def test_the_pair_is_swapped_and_zeroes_in_place():
    source = rewritten(PAIR)
    assert "v = assigned(g, X, i, w)\n        b = zero_item_into(g, X, i, v)" in source


@pytest.mark.parametrize("change, why", [
    ("    b = X * 2.0\n", "    b = f(X)\n"),  # f's result: f may keep it
    ("        f(v)\n", "        f(v, b)\n"),  # f may keep b's array: the next pass zeroes it
    ("        f(v)\n", "        f(v, b + 1.0)\n"),  # read by arithmetic: still rewritten
    ("        g = broadcast_like(b, X)\n", "        g = broadcast_like(b, X)\n        f(b)\n"),
    ("        v = assigned(g, X, i, w)\n", "        v = assigned(g, X, i, w)\n        f(g)\n"),
    ("        b = zero_item(g, X, i)\n", "        c = g\n        b = zero_item(g, X, i)\n"),
    ("        b = zero_item(g, X, i)\n", "        b = zero_item(g, X, i)\n        f(X)\n"),
    ("        v = assigned(g, X, i, w)\n", "        v = assigned(g, X, i, b)\n"),
    ("        v = assigned(g, X, i, w)\n", "        v = assigned(g, X, n, w)\n"),
    ("        b = zero_item(g, X, i)\n", "        b = zero_item(g, X, f(i))\n"),
])
def test_what_is_left_as_it_is(change, why):
    """Left: an array another name holds or may hold (``f``'s result, ``c = g``, an
    argument of ``f``), an adjoint read after the broadcast or after the pair, a pair not
    next to each other, a second statement reading the first's target."""
    source = rewritten(PAIR.replace(change, why))
    if why == "        f(v, b + 1.0)\n":
        assert "zero_item_into" in source
    else:
        assert "zero_item_into" not in source and "b = zero_item(g, X, " in source


def test_unbroadcast_passes_a_new_array_on():
    """``unbroadcast`` returns its argument, a view of it or a new array: of a product,
    an array no other name holds; of a name dead after, that name's array."""
    assert "zero_item_into" in rewritten(PAIR.replace("    b = X * 2.0\n",
                                                      "    b = unbroadcast(X * 2.0, X)\n"))
    assert "zero_item_into" in rewritten(PAIR.replace(
        "    b = X * 2.0\n", "    c = X * 2.0\n    b = unbroadcast(c, X)\n"))
    assert "zero_item_into" not in rewritten(PAIR.replace(  # c is read after: shared
        "    b = X * 2.0\n", "    c = X * 2.0\n    b = unbroadcast(c, X)\n").replace(
        "    return b\n", "    return (b, c)\n"))
    assert "zero_item_into" not in rewritten(PAIR.replace(  # f's result: f may keep it
        "    b = X * 2.0\n", "    b = unbroadcast(f(X), X)\n"))


def test_no_liveness_where_there_is_a_continue():
    """(``dataflow.Liveness`` reads ``continue`` as running on; generated code has none)"""
    body = PAIR.replace("        f(v)\n", "        f(v)\n        if w:\n            continue\n")
    assert "zero_item_into" not in rewritten(body)


def test_branches_keep_what_both_keep():
    body = PAIR.replace("        g = broadcast_like(b, X)\n",
                        "        if i > 2:\n            c = b\n        g = broadcast_like(b, X)\n")
    assert "zero_item_into" not in rewritten(body)
    body = PAIR.replace("        g = broadcast_like(b, X)\n",
                        "        if i > 2:\n            c = X\n        g = broadcast_like(b, X)\n")
    assert "zero_item_into" in rewritten(body)


# -- gradients ------------------------------------------------------------------------------

def rows(X, W):
    H = np.zeros_like(X)
    for i in range(X.shape[0]):
        H[i] = np.tanh(X[i] @ W)  # a row: a part of the adjoint is taken
    return np.sum(H ** 2) + np.sum(H[0] * H[-1])


def slices(x, w):
    out = x * 1.0
    for i in range(x.shape[0] - 1):
        out[i:i + 2] = np.cos(out[i:i + 2] * w)  # overlapping slices, each read then written
    return np.sum(out ** 3)


def weighted(x, w):
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i] * x[i] * w
    return np.sum(out * np.arange(float(x.shape[0])))  # b_out: unbroadcast of a product


def parameter(x, w):
    for i in range(x.shape[0]):
        x[i] = x[i] * w + 0.5  # a parameter's array: changed on a copy, not in place
    return np.sum(np.sin(x))


PROGRAMS = [(filled, (rng.normal(size=6), 0.7), {"x": array(1)}),
            (recurrence, (rng.normal(size=6) * 0.5, 0.9), {"x": array(1)}),
            (rows, (rng.normal(size=(4, 3)) * 0.5, rng.normal(size=(3, 3))),
             {"X": array(2), "W": array(2)}),
            (slices, (rng.normal(size=5), 0.8), {"x": array(1)}),
            (weighted, (rng.normal(size=5), 0.3), {"x": array(1)}),
            (parameter, (rng.normal(size=5), 0.6), {"x": array(1)})]
SETTINGS = [("optimised", {}), ("unoptimised", {"optimize": False})] + [
    (f"without {name}", {"disable": (name,)}) for name in OPTIMIZATIONS]


@pytest.mark.parametrize("func, args, kinds", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_zeroed_in_place_and_right_in_every_setting(func, args, kinds, monkeypatch):
    names = func.__code__.co_varnames[:2]
    optimised = generate(func, names, name="g", kinds=kinds)
    assert "zero_item_into(" in optimised.source
    without = generate(func, names, name="g", kinds=kinds, disable=("accumulate",))
    assert "zero_item_into(" not in without.source
    before = [numpy.copy(a) for a in args]
    # (the differences of a copy: ``parameter`` changes its argument)
    want = numeric_gradient(lambda a, b: func(numpy.copy(a), numpy.copy(b)), args, (0, 1))
    reference = generate(func, names, name="g", kinds=kinds, optimize=False).function(*args)
    for label, setting in SETTINGS:
        got = generate(func, names, name="g", kinds=kinds, **setting).function(*args)
        for g, n, r in zip(got, want, reference):
            numpy.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8, err_msg=label)
            numpy.testing.assert_allclose(g, r, rtol=1e-13, atol=1e-15, err_msg=label)
    copies = []  # zero_item_into's fallback, a copy of the adjoint
    original = runtime.zero_item
    monkeypatch.setattr(runtime, "zero_item", lambda *a: copies.append(1) or original(*a))
    got = optimised.function(*args)
    for g, r in zip(got, reference):
        numpy.testing.assert_allclose(g, r, rtol=1e-13, atol=1e-15)
    assert not copies  # every pass zeroed the adjoint's own array
    for a, b in zip(args, before):
        numpy.testing.assert_array_equal(a, b)  # the caller's arrays are untouched
