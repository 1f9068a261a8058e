"""Lists, tuples, comprehensions and reductions (tests/programs_lists.py) against
independent oracles, and what is still refused, refused where it is written.

``sum`` adds left to right from 0, as Python 3.11 does; Python 3.12 and later compensate
the rounding of float sums, so there a value computed through a ``sum`` may differ from
the function's in the last bits (the derivative is the same): values are compared
exactly except through ``sum`` on 3.12 and later.
"""

import inspect
import math

import numpy as np
import pytest

import srcdiff
from dual import forward_gradient
from oracles import assert_close, assert_same_value, central_difference, sympy_gradient
from programs_lists import LISTS
from srcdiff.errors import MissingRuleError, UnsupportedSyntaxError
from srcdiff.pipeline import generate

IDS = [func.__name__ for func, _, _ in LISTS]


def _wrt(point):
    return tuple(i for i, v in enumerate(point) if isinstance(v, float))


@pytest.mark.parametrize("func, point, _", LISTS, ids=IDS)
def test_matches_dual_numbers(func, point, _):
    wrt = _wrt(point)
    assert_close(srcdiff.grad(func, wrt=wrt)(*point), forward_gradient(func, point, wrt),
                 rel=1e-12, abs_=1e-12)


@pytest.mark.parametrize("func, point, _", LISTS, ids=IDS)
def test_matches_central_differences(func, point, _):
    wrt = _wrt(point)
    assert_close(srcdiff.grad(func, wrt=wrt)(*point), central_difference(func, point, wrt),
                 rel=1e-6, abs_=1e-8)


SYMBOLIC = [case for case in LISTS if case[2]]


@pytest.mark.parametrize("func, point, _", SYMBOLIC, ids=[c[0].__name__ for c in SYMBOLIC])
def test_matches_sympy(func, point, _):
    wrt = _wrt(point)
    assert_close(srcdiff.grad(func, wrt=wrt)(*point), sympy_gradient(func, point, wrt),
                 rel=1e-12, abs_=1e-12)


@pytest.mark.parametrize("func, point, _", LISTS, ids=IDS)
def test_value_forward_mode_and_unoptimised(func, point, _):
    wrt = _wrt(point)
    names = tuple(func.__code__.co_varnames[i] for i in wrt)
    value, gradient = srcdiff.value_and_grad(func, wrt=wrt)(*point)
    assert_same_value(value, func, point)
    plain = generate(func, names, name="plain", optimize=False, as_tuple=True).function(*point)
    assert_close(plain, gradient, rel=1e-14)
    for position, expected in zip(wrt, gradient):  # forward mode, one direction each
        _, tangent = srcdiff.jvp(func, wrt=position)(*point, 1.0)
        assert tangent == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_second_derivative_through_a_comprehension():
    # d²/dx² Σ_k sin(k x) over k = 0..3 is -Σ k² sin(k x)
    def f(x):
        return sum(math.sin(k * x) for k in range(4))
    expected = -sum(k * k * math.sin(k * 0.3) for k in range(4))
    assert srcdiff.grad(srcdiff.grad(f))(0.3) == pytest.approx(expected, rel=1e-12)
    assert srcdiff.hessian(f)(0.3) == pytest.approx(expected, rel=1e-12)


def test_max_keeps_the_first_of_equal_elements():
    # Python's max replaces only when an element is greater: the derivative follows the
    # first of two equal maxima
    def f(x, y):
        return max(v for v in (x, y, 0.5 * x))
    assert srcdiff.grad(f, wrt=(0, 1))(1.0, 1.0) == (1.0, 0.0)
    assert srcdiff.grad(f, wrt=(0, 1))(1.0, 2.0) == (0.0, 1.0)


def test_max_of_nothing_raises_like_python():
    def f(x, n):
        return max(x * k for k in range(n)) + x
    assert srcdiff.grad(f)(0.5, 3) == 2.0 + 1.0
    with pytest.raises(ValueError):
        f(0.5, 0)
    with pytest.raises(AssertionError, match="max\\(\\) iterable argument is empty"):
        srcdiff.grad(f)(0.5, 0)


def test_any_stops_at_the_element_that_decides():
    calls = []

    def positive(v):
        print("looked at", v)
        return v > 0.0

    def f(x):
        if any(positive(v) for v in (x, -x, 2.0 * x)):
            return x * x
        return x

    def g(x):
        return srcdiff.grad(f)(x)

    import io
    from contextlib import redirect_stdout
    for x in (0.5, -0.5):
        seen, expected = io.StringIO(), io.StringIO()
        with redirect_stdout(seen):
            g(x)
        with redirect_stdout(expected):
            f(x)
        calls.append(seen.getvalue())
        assert seen.getvalue() == expected.getvalue()
    assert calls == ["looked at 0.5\n", "looked at -0.5\nlooked at 0.5\n"]


def test_sum_over_the_rows_of_an_array():
    def f(w, X):
        return sum(np.dot(row, w) ** 2 for row in X)
    X = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.25]])
    w = np.array([0.3, -0.7])
    expected = 2 * X.T @ (X @ w)  # d/dw Σ (x·w)²
    np.testing.assert_allclose(srcdiff.grad(f)(w, X), expected, rtol=1e-12)


def test_a_list_comprehension_becomes_an_array():
    def f(x):
        powers = np.array([x ** k for k in range(4)])
        return np.sum(powers * np.array([1.0, -1.0, 2.0, 0.5]))
    # d/dx (1 - x + 2x² + 0.5x³) = -1 + 4x + 1.5x²
    assert srcdiff.grad(f)(0.4) == pytest.approx(-1 + 4 * 0.4 + 1.5 * 0.16, rel=1e-12)


def test_a_list_of_arrays_stacked():
    def f(a):
        rows = []
        for k in range(3):
            rows.append(a * (k + 1.0))
        return np.sum(np.stack(rows) ** 2) + np.mean([a[0], a[1]])
    a = np.array([0.5, -1.5])
    # Σ_k (k+1)² a_i² -> 2 a_i Σ (k+1)² = 28 a_i; mean of a0, a1 adds 1/2 to each
    np.testing.assert_allclose(srcdiff.grad(f)(a), 28 * a + 0.5, rtol=1e-12)


# -- refused, where it is written --------------------------------------------------------
def changed_in_a_branch(x):
    out = [x]
    if x > 0.0:
        out[0] = 2.0 * x  # refused
    return sum(out)


def made_in_two_branches(x):
    if x > 0.0:
        out = [x, x]
    else:
        out = [x]  # refused
    return sum(out)


def made_in_a_branch(x):
    if x > 0.0:
        out = [x, x]
    else:
        return x
    return sum(out)  # refused


def list_of_lists_at_a_variable_position(x, i):
    rows = [[x, 1.0], [2.0 * x, 3.0]]
    return rows[i][0]  # refused


def appends_to_an_argument(x, out):
    out.append(x)  # refused
    return x


def out_of_range(x):
    values = [x]
    return values[1]  # refused


def breaks_out_of_a_list_loop(x):
    total = 0.0
    for v in [x, 2.0 * x]:  # refused
        if v > 1.0:
            break
        total += v
    return total


def list_then_number(x):
    out = [x]
    out = 2.0 * x  # refused
    return out


def too_long_for_a_variable_position(x, i):
    values = [x * k for k in range(65)]
    return values[i]  # refused


def too_few_to_unpack(x):
    a, b, *c = (x,)  # refused
    return a


def spreads_a_run_time_length(x):
    values = np.array([1.0, 2.0]) * x
    return math.atan2(*values)  # refused


def spread_of_the_wrong_length(x):
    return math.atan2(*(x,))  # refused


def read_after_del(x):
    t = x * x
    if x > 0.0:
        del t
    return t * 2.0  # refused


def read_after_del_in_an_earlier_iteration(x):
    t = x
    s = 0.0
    for i in range(3):
        s = s + t  # refused
        del t
    return s


def del_twice(x):
    t = x
    del t
    del t  # refused
    return x


def del_of_an_item(x):
    xs = [x, x]
    del xs[0]  # refused
    return x


def dict_read_at_a_missing_key(x):
    d = {"a": x}
    return d["b"]  # refused


def dict_used_as_a_value(x):
    d = {"a": x}
    print(d)  # refused
    return x


def dict_with_a_computed_key(x, k):
    d = {"a": x}
    return d[k]  # refused


def item_of_something_else_by_a_str(x):
    values = np.zeros(2)
    values["a"] = x  # refused
    return x


def dict_view_as_a_value(x):
    d = {"a": x}
    view = d.items()  # refused
    return x


def deleted_name_read_by_a_local_function(x):
    t = x
    g = lambda: t * 2.0  # refused
    del t
    return g()


def fsum_of_lists(x):
    return math.fsum([[x], [2.0 * x]])  # refused


def fsum_of_a_dict(x):
    d = {"a": x}
    return math.fsum(d)  # refused


def dist_of_an_array(x, y):
    return math.dist(np.array([x, 1.0]), (y, 2.0))  # refused


def dist_of_points_of_different_lengths(x, y):
    return math.dist((x, y), (1.0,))  # refused


# lists grown while the function runs: read as the rules define, anything else refused
def grown_slice(a):
    ys = [v * v for v in a]
    return np.sum(ys[1:])  # refused


def grown_returned(a):
    ys = [v * v for v in a]
    return ys  # refused


def grown_method(a):
    ys = [v * v for v in a]
    return np.sum(ys.copy())  # refused


def grown_concatenated(a):
    ys = [v * a for v in a]
    return np.sum(np.concatenate(ys))  # refused


def grown_holds_tuples(a):
    ys = []
    for v in a:
        ys.append([w * v for w in a])  # refused
    return 0.0


def grown_with_another_name(a):
    ys = []
    zs = ys
    for v in a:  # refused
        ys.append(v)
    return np.sum(zs)


def grown_joined(a):
    ys = [v * v for v in a]
    return np.sum(ys + ys)  # refused


def grown_while_looped_over(a):
    ys = [v * v for v in a]
    for y in ys:  # refused
        ys.append(y)
    return np.sum(ys)


def grown_in_a_branch_read_after(a):
    if a[0] > 0.0:
        ys = [v for v in a]
    else:
        ys = [2.0 * v for v in a]
    return np.sum(ys)  # refused


def grown_as_a_truth_value(a):
    ys = [v for v in a if v > 5.0]
    return 1.0 if ys else np.sum(a)  # refused


def grown_in_a_list(a):
    ys = [v for v in a]
    rows = [ys, ys]  # refused
    return np.sum(rows)


_GROWN = "a list the function grows while it runs, is used here in a way srcdiff does not"
REFUSED = [
    (grown_slice, f"`ys`, {_GROWN}"),
    (grown_returned, f"`ys`, {_GROWN}"),
    (grown_method, "`ys` is a list grown while the function runs: srcdiff supports `.append` "
                   "of it, not `.copy`"),
    (grown_concatenated, f"`ys`, {_GROWN}"),
    (grown_holds_tuples, "its elements are numbers or arrays, not lists or tuples"),
    (grown_with_another_name, "`ys` grows in a loop whose length srcdiff knows only when the "
                              "function runs, and is also known as `zs`"),
    (grown_joined, f"`ys`, {_GROWN}"),
    (grown_while_looped_over, "the loop appends to `ys`, the list it goes over"),
    (grown_in_a_branch_read_after, "`ys` is a list grown inside a loop or branch and read "
                                   "after it"),
    (grown_as_a_truth_value, f"`ys`, {_GROWN}"),
    (grown_in_a_list, "`ys` is a list grown while the function runs: srcdiff does not put it "
                      "in a list or tuple"),
    (fsum_of_lists, "math.fsum of `[[x], [2.0 * x]]`, whose elements are lists or tuples: "
                    "Python raises TypeError"),
    (fsum_of_a_dict, "math.fsum of a dict (it goes over the keys): not supported"),
    (dist_of_an_array, "math.dist of `np.array([x, 1.0])`, whose elements srcdiff knows only "
                       "when the function runs"),
    (dist_of_points_of_different_lengths, "math.dist of points of 2 and 1 coordinates: "
                                          "Python raises ValueError"),
    (changed_in_a_branch, "`out` grows or changes inside a branch"),
    (made_in_two_branches, "`out` stands for a list here and is bound elsewhere too"),
    (made_in_a_branch, "`out` is made inside a loop or branch and read after it"),
    (list_of_lists_at_a_variable_position, "items of `rows` are read at constant positions"),
    (too_long_for_a_variable_position, "at positions known when the function runs where it "
                                       "holds at most 64 numbers"),
    (appends_to_an_argument, "append to `out`, which is not a list the function makes"),
    (out_of_range, "`values` has 1 elements here: `values[1]` raises IndexError"),
    (breaks_out_of_a_list_loop, "not this one: it has a break, continue, return or else"),
    (list_then_number, "`out` stands for a list the function makes, and is bound to another"),
    (too_few_to_unpack, "2 names and a starred one for 1 elements: Python raises ValueError"),
    (spreads_a_run_time_length, "`*values`: srcdiff spreads lists and tuples whose elements it knows"),
    (spread_of_the_wrong_length, "no derivative rule for math.atan2 with 1 argument"),
    (read_after_del, "`t` is read where `del t` may have deleted it"),
    (read_after_del_in_an_earlier_iteration, "`t` is read where `del t` may have deleted it"),
    (del_twice, "`del t` where `t` may be deleted already: Python raises"),
    (del_of_an_item, "`del` of an item or attribute is not supported"),
    (dict_read_at_a_missing_key, "`d` has no key 'b' here: `d['b']` raises KeyError"),
    (dict_used_as_a_value, "`d` is a dict srcdiff follows: it is read by key, looped over"),
    (dict_with_a_computed_key, "items of `d`, a dict, are read with constant keys"),
    (item_of_something_else_by_a_str, "`values` is not a dict the function makes"),
    (dict_view_as_a_value, "`.items()` of a dict srcdiff follows is supported where it is "
                           "looped over"),
    (deleted_name_read_by_a_local_function, "`t`, which the function deletes, is read by a "
                                            "local function or lambda"),
]


def spreads_an_argument(x, n):
    return math.atan2(*n)  # refused


def test_spreading_an_argument_that_is_an_array_to_srcdiff_is_refused_at_the_call():
    # a tuple of numbers not differentiated is an array to srcdiff: its length is not known
    # when the gradient is written (a structure differentiated with respect to is spread)
    with pytest.raises(srcdiff.KindError, match="`[*]n` spreads the argument `n`") as caught:
        srcdiff.grad(spreads_an_argument)(1.0, (1.0, 2.0))
    assert caught.value.lineno == _marked_line(spreads_an_argument)


def deletes_what_may_be_unbound(x):
    if x > 10.0:
        t = x
    del t
    return x * 2.0


def test_del_of_a_name_that_may_be_unbound_raises_as_python_does():
    assert srcdiff.grad(deletes_what_may_be_unbound)(11.0) == 2.0
    with pytest.raises(UnboundLocalError):
        deletes_what_may_be_unbound(1.0)
    with pytest.raises(UnboundLocalError):
        srcdiff.grad(deletes_what_may_be_unbound)(1.0)


def _marked_line(func) -> int:
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, line in enumerate(lines) if "# refused" in line)


@pytest.mark.parametrize("func, message", REFUSED, ids=[f.__name__ for f, _ in REFUSED])
def test_refused_where_it_is_written(func, message):
    error = MissingRuleError if func is spread_of_the_wrong_length else UnsupportedSyntaxError
    with pytest.raises(error) as caught:
        srcdiff.grad(func)
    assert message in caught.value.message
    assert caught.value.filename == __file__
    assert caught.value.lineno == _marked_line(func)
    if func is spread_of_the_wrong_length:
        assert caught.value.hint == ("math.atan2 does not take 1 argument: Python raises "
                                     "TypeError here")


def test_fsum_of_a_1d_array_adds_exactly_with_derivative_one_each():
    def f(x, w):
        return math.fsum(np.sin(x) * w) * math.fsum(x)
    x, w = np.array([0.3, -1.2, 2.0, 1e-3]), np.array([1.5, 0.5, -2.0, 4.0])
    value, gradient = srcdiff.value_and_grad(f)(x, w)
    assert value == f(x, w)
    # d/dx_i [S(x) T(x)] = cos(x_i) w_i T + S, S = Σ sin(x) w, T = Σ x
    expected = np.cos(x) * w * x.sum() + (np.sin(x) * w).sum()
    np.testing.assert_allclose(gradient, expected, rtol=1e-12)
    for i in range(4):  # central differences, element by element
        step = np.zeros(4)
        step[i] = 1e-6
        assert gradient[i] == pytest.approx((f(x + step, w) - f(x - step, w)) / 2e-6, rel=1e-6)
    t = np.array([1.0, -0.5, 0.25, 2.0])
    assert srcdiff.jvp(f)(x, w, t)[1] == pytest.approx(float(expected @ t), rel=1e-12)
    small = x.astype(np.float32)
    assert srcdiff.grad(f)(small, w).dtype == np.float32


def test_fsum_of_an_array_of_another_rank_raises_as_python_does():
    def f(x):
        return math.fsum(x)
    with pytest.raises(srcdiff.KindError, match="math.fsum of an array of rank 2: Python "
                                                "raises TypeError"):
        srcdiff.grad(f)(np.ones((2, 2)))
    with pytest.raises(srcdiff.KindError, match="math.fsum of a number: Python raises "
                                                "TypeError"):
        srcdiff.grad(f)(1.5)


def test_fsum_in_generated_code_is_one_call_with_the_same_value():
    def f(x, y):
        return math.fsum([x, 1e100, y, -1e100])  # x + y exactly; left to right: 0.0
    text = srcdiff.source(srcdiff.value_and_grad(f, wrt=(0, 1)), 0.5, 0.25)
    assert "math.fsum((x, 1e+100, y, -1e+100))" in text
    assert srcdiff.value_and_grad(f, wrt=(0, 1))(0.5, 0.25) == (0.75, (1.0, 1.0))
    assert srcdiff.jvp(f, wrt=1)(0.5, 0.25, 2.0) == (0.75, 2.0)
    assert srcdiff.hessian(f)(0.5, 0.25) == 0.0
