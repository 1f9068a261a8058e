"""The adjoint of ``X[i]`` accumulated in place over a loop's backward sweep
(``srcdiff.optimize.accumulate``, ``runtime.scatter_add``): the pass rewrites exactly
the accumulations whose adjoint no other name can hold, and the gradients are those of
the code without it."""

import ast
import textwrap

import numpy
import pytest

import srcdiff
from arrays import numeric_gradient
from srcdiff.ir import Function, Namer
from srcdiff.optimize.accumulate import accumulate
from srcdiff.parse import parse
from srcdiff.pipeline import OPTIMIZATIONS, generate
from srcdiff.runtime import scatter, scatter_add


def _placeholder(X, w, n, tape, f):
    pass


def gradient_code(body, helpers):
    """``body``, gradient code of ``g(X, w, n, tape, f)`` calling runtime ``helpers``, as a
    Function the optimisation passes take."""
    tree = ast.parse(textwrap.dedent(body)).body
    function = Function("g", ast.parse("def g(X, w, n, tape, f): pass").body[0].args, tree,
                        parse(_placeholder), Namer())
    for helper in helpers:
        function.parsed.origins[helper] = ("helper", helper)
    return function


def rewritten(body):
    """The lines of ``body`` (gradient code using ``scatter``) that the pass rewrites."""
    function = gradient_code(body, ("scatter",))
    before = function.source().splitlines()
    after = accumulate(function).source().splitlines()
    assert len(before) == len(after)
    return [b.strip() for b, a in zip(before, after) if a != b]


ACCUMULATE = "b = b + scatter(w, X, i)"


def test_a_fresh_adjoint_accumulated_over_a_loop_is_added_in_place():
    assert rewritten("""
        b = 0.0
        for i in range(n):
            b = b + scatter(w, X, i)
        return b
        """) == [ACCUMULATE]


SHARING = ["c = b", "tape.append(b)", "c = f(b)", "c = b[0]", "c = b.T", "c = (b if n else w)",
           "c = [b]", "c, d = (b, w)"]
ARITHMETIC = ["c = b * 2.0", "c = -b", "c = b @ w + 1.0", "c = f(b * 1.0)", "flag = b < w"]


@pytest.mark.parametrize("reading", SHARING + ARITHMETIC)
def test_a_read_that_may_keep_the_array_leaves_it_arithmetic_does_not(reading):
    # read after the accumulation: the next pass would change what a sharing read kept;
    # arithmetic makes a new array
    assert rewritten(f"""
        b = 0.0
        for i in range(n):
            b = b + scatter(w, X, i)
            {reading}
        return b
        """) == ([] if reading in SHARING else [ACCUMULATE])


def test_an_adjoint_that_may_be_another_name_s_array_is_left():
    for start in ("b = w", "b = f(X)", "b = tape.pop()", "b = X[0]"):
        assert rewritten(f"""
            {start}
            for i in range(n):
                b = b + scatter(w, X, i)
            return b
            """) == [], start
    # a parameter is the caller's array
    assert rewritten("""
        for i in range(n):
            X = X + scatter(w, X, i)
        return X
        """) == []


def test_sharing_on_one_branch_is_enough_to_leave_it():
    assert rewritten("""
        b = 0.0
        if n:
            c = b
        for i in range(n):
            b = b + scatter(w, X, i)
        return (b, c)
        """) == []
    assert rewritten("""
        b = 0.0
        for i in range(n):
            if i > 2:
                break
            b = b + scatter(w, X, i)
            if i == 1:
                c = b
                continue
        return b
        """) == []


def test_a_new_value_after_the_sharing_makes_it_unshared_again():
    # the outer loop shares the adjoint after the inner one, then resets it
    assert rewritten("""
        total = 0.0
        for j in range(n):
            b = 0.0
            for i in range(n):
                b = b + scatter(w, X, i)
            total = total + b
            kept = b
        return (total, kept)
        """) == [ACCUMULATE]
    # without the reset, the next outer pass would change what `kept` holds
    assert rewritten("""
        b = 0.0
        for j in range(n):
            for i in range(n):
                b = b + scatter(w, X, i)
            kept = b
        return (b, kept)
        """) == []


def test_an_index_or_value_reading_the_adjoint_is_left():
    assert rewritten("""
        b = 0.0
        for i in range(n):
            b = b + scatter(b * w, X, i)
        return b
        """) == []


def test_code_the_analysis_does_not_follow_is_left_alone():
    assert rewritten("""
        b = 0.0
        for i in range(n):
            b = b + scatter(w, X, i)
            g = lambda: b
        return b
        """) == []
    assert rewritten("""
        b = 0.0
        for i in range(n):
            b = b + scatter(w, X, i)
            c = (d := b)
        return b
        """) == []


# -- the helper ------------------------------------------------------------------------

def test_scatter_add_is_the_sum_it_replaces():
    rng = numpy.random.default_rng(0)
    X = rng.normal(size=(4, 3))
    for index in (1, -1, numpy.int64(2), numpy.s_[1:3], (2, 0), (slice(None), 1), numpy.s_[...]):
        gradient = rng.normal(size=numpy.shape(X[index]))
        total = rng.normal(size=(4, 3))
        expected = total + scatter(gradient, X, index)
        got = scatter_add(total, gradient, X, index)
        assert got is total  # in place
        numpy.testing.assert_array_equal(got, expected)
    # the zero an adjoint starts from: a new array
    got = scatter_add(0.0, numpy.ones(3), X, 1)
    numpy.testing.assert_array_equal(got, scatter(numpy.ones(3), X, 1))


def test_scatter_add_makes_a_new_array_where_in_place_could_round_otherwise():
    X = numpy.zeros((3, 2), numpy.float32)
    total = numpy.ones((3, 2), numpy.float32)
    wide = numpy.array([1e-9, 1.0 / 3.0])  # float64 into a float32 adjoint
    got = scatter_add(total, wide, X, 0)
    assert got is not total
    numpy.testing.assert_array_equal(got, total + scatter(wide, X, 0))
    numpy.testing.assert_array_equal(total, numpy.ones((3, 2), numpy.float32))
    # an index selecting a position twice adds in another order: the sum itself
    total = numpy.full(4, 0.1)
    like = numpy.zeros(4)
    got = scatter_add(total, numpy.array([0.2, 0.3]), like, numpy.array([1, 1]))
    assert got is not total
    numpy.testing.assert_array_equal(got, numpy.full(4, 0.1) + scatter(
        numpy.array([0.2, 0.3]), like, numpy.array([1, 1])))
    # a view, a read-only array, another shape, the indexed array itself
    base = numpy.ones((3, 2))
    for total in (base[:, :], numpy.broadcast_to(numpy.ones(2), (3, 2)), numpy.ones((1, 2))):
        before = numpy.array(total)
        got = scatter_add(total, numpy.ones(2), base, 1)
        assert got is not total
        numpy.testing.assert_array_equal(total, before)
    got = scatter_add(base, numpy.ones(2), base, 1)
    assert got is not base


# -- gradients -------------------------------------------------------------------------

def rows_sum(X, w):
    s = 0.0
    for row in X:
        s = s + numpy.tanh(row @ w)
    return s


def indexed_twice(X, w):
    s = 0.0
    for i in range(len(X)):
        s = s + numpy.sum(X[i] * w) * X[i, 0]
    return s


def rows_then_all(X, w):
    s = 0.0
    for row in X:
        s = s + numpy.sin(row @ w)
    return s + numpy.sum(X ** 2) * s


def nested_rows(X, w):
    s = 0.0
    for k in range(3):
        for row in X:
            s = s + numpy.tanh(row @ w + 0.1 * k) * s
    return s


def rows_of_a_local(X, w):
    Y = X * w
    s = 0.0
    for i in range(len(Y)):
        if i % 2:
            s = s + numpy.sum(Y[i] ** 2)
        else:
            s = s * 0.5 + Y[i, 1]
    return s


PROGRAMS = [rows_sum, indexed_twice, rows_then_all, nested_rows, rows_of_a_local]
SETTINGS = [("optimised", {}), ("unoptimised", {"optimize": False})] + [
    (f"without {name}", {"disable": (name,)}) for name in OPTIMIZATIONS]


@pytest.mark.parametrize("func", PROGRAMS, ids=[f.__name__ for f in PROGRAMS])
def test_loops_over_rows_add_in_place_and_agree_with_every_setting(func):
    rng = numpy.random.default_rng(1)
    X, w = rng.normal(size=(5, 3)) * 0.5, rng.normal(size=3)
    kinds = {"X": srcdiff.kinds.array(2), "w": srcdiff.kinds.array(1)}
    optimised = generate(func, ("X", "w"), name="g", kinds=kinds)
    assert "scatter_add(" in optimised.source, optimised.source
    X_before, w_before = X.copy(), w.copy()
    want = numeric_gradient(func, (X, w), (0, 1))
    for label, setting in SETTINGS:
        got = generate(func, ("X", "w"), name="g", kinds=kinds, **setting).function(X, w)
        for g, n in zip(got, want):
            numpy.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8, err_msg=label)
        reference = generate(func, ("X", "w"), name="g", kinds=kinds,
                             optimize=False).function(X, w)
        for g, r in zip(got, reference):
            numpy.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14, err_msg=label)
    numpy.testing.assert_array_equal(X, X_before)  # the caller's arrays are untouched
    numpy.testing.assert_array_equal(w, w_before)


def test_the_returned_gradient_is_an_array_of_its_own():
    gradient = srcdiff.grad(rows_sum)
    X, w = numpy.ones((4, 2)), numpy.array([0.5, -0.5])
    first = gradient(X, w)
    kept = first.copy()
    second = gradient(X, w)
    assert second is not first
    numpy.testing.assert_array_equal(first, kept)  # the second call changed nothing of it


def test_a_try_is_read_as_one_statement():
    assert rewritten("""
        b = 0.0
        for i in range(n):
            b = b + scatter(w, X, i)
            try:
                c = b
            except ValueError:
                pass
        return b
        """) == []
    assert rewritten("""
        b = 0.0
        for i in range(n):
            try:
                c = w * 2.0
            except ValueError:
                pass
            b = b + scatter(c, X, i)
        return b
        """) == ["b = b + scatter(c, X, i)"]
    # a break out of a try: not followed, the code is left alone
    assert rewritten("""
        b = 0.0
        for i in range(n):
            b = b + scatter(w, X, i)
            try:
                c = b
                break
            except ValueError:
                pass
        return b
        """) == []


def test_while_loops_and_their_tests():
    assert rewritten("""
        b = 0.0
        i = 0
        while i < n:
            b = b + scatter(w, X, i)
            i += 1
        return b
        """) == [ACCUMULATE]
    assert rewritten("""
        b = 0.0
        i = 0
        while f(b):
            b = b + scatter(w, X, i)
        return b
        """) == []


def test_a_helper_s_new_array_is_unshared():
    function_body = """
        b = f(X)
        for j in range(n):
            b = zero_item(b, X, j)
            for i in range(n):
                b = b + scatter(w, X, i)
        return b
        """
    tree = ast.parse(textwrap.dedent(function_body)).body
    function = Function("g", ast.parse("def g(X, w, n, tape, f): pass").body[0].args, tree,
                        parse(_placeholder), Namer())
    function.parsed.origins.update({"scatter": ("helper", "scatter"),
                                    "zero_item": ("helper", "zero_item")})
    assert "b = scatter_add(b, w, X, i)" in accumulate(function).source()
    # without zero_item's new array, b is f's result, which f may keep
    del function.parsed.origins["zero_item"]
    assert "scatter_add" not in accumulate(function).source()


def test_broadcast_like_gives_the_numbers_and_dtype_the_view_gave():
    from srcdiff.runtime import broadcast_like
    rng = numpy.random.default_rng(2)
    cases = [(rng.normal(size=(2, 3)), numpy.zeros((2, 3))),
             (rng.normal(size=3).astype(numpy.float32), numpy.zeros(3, numpy.float32)),
             (numpy.float64(0.5), numpy.float64(2.0)), (numpy.float32(0.5), numpy.zeros(())),
             (rng.normal(size=3), numpy.zeros((2, 3))), (0.5, numpy.zeros(2, numpy.float32)),
             (numpy.float64(0.5), numpy.zeros(3))]
    for adjoint, like in cases:
        got = broadcast_like(adjoint, like)
        want = numpy.broadcast_to(adjoint if not isinstance(adjoint, float) else numpy.asarray(
            adjoint, numpy.result_type(adjoint, like)), numpy.shape(like))
        assert numpy.shape(got) == numpy.shape(like)
        assert numpy.result_type(got) == want.dtype
        numpy.testing.assert_array_equal(got, want)
