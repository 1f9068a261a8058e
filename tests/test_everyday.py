"""Everyday statements around the arithmetic: tests against None on values that are not
differentiated (or that are, and are never None). Expected values are derived by hand."""

import math

import numpy as np
import pytest

import srcdiff
from srcdiff.errors import UnsupportedSyntaxError


def scaled(x, scale=None):
    if scale is None:
        scale = 2.0
    return scale * math.sin(x)


def masked(x, mask=None):
    y = x * x
    if mask is not None:
        y = y * mask
    return np.sum(y)


def test_is_none_on_an_optional_argument():
    # d/dx scale sin x = scale cos x, with scale 2 when not given
    assert srcdiff.grad(scaled)(0.3) == pytest.approx(2.0 * math.cos(0.3))
    assert srcdiff.grad(scaled)(0.3, 5.0) == pytest.approx(5.0 * math.cos(0.3))
    assert srcdiff.grad(scaled, wrt=(0, 1))(0.3, 5.0) == pytest.approx(
        (5.0 * math.cos(0.3), math.sin(0.3)))
    assert srcdiff.jvp(scaled)(0.3, 0.5) == pytest.approx((2 * math.sin(0.3),
                                                           2 * math.cos(0.3) * 0.5))


def test_is_not_none_on_an_array_argument():
    x = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(srcdiff.grad(masked)(x), 2 * x)  # Σ x²
    mask = np.array([1.0, 0.0, 3.0])
    np.testing.assert_allclose(srcdiff.grad(masked)(x, mask), 2 * x * mask)  # Σ m x²


def powered(x, n, scale=None):
    if isinstance(n, int):  # an int count: a power; anything else: a product
        y = x ** n
    else:
        y = x * n
    if isinstance(scale, (float, (int, np.floating))) and not isinstance(scale, bool):
        y = y * scale
    return y


def test_isinstance_on_values_that_are_not_differentiated():
    # d/dx x^3 = 3x^2; d/dx 3.0 x = 3; times scale where it is a number that is no bool
    assert srcdiff.grad(powered)(0.5, 3) == pytest.approx(3 * 0.25)
    assert srcdiff.grad(powered)(0.5, 3.0) == pytest.approx(3.0)
    assert srcdiff.grad(powered)(0.5, 3, 2.0) == pytest.approx(2 * 3 * 0.25)
    assert srcdiff.grad(powered)(0.5, 3, np.float32(2.0)) == pytest.approx(2 * 3 * 0.25)
    assert srcdiff.grad(powered)(0.5, 3, True) == pytest.approx(3 * 0.25)
    assert srcdiff.jvp(powered)(0.5, 3, 2.0, 1.0) == pytest.approx((0.25, 1.5))
    # the test is of the argument as given: an int count and a float count differ
    assert srcdiff.grad(srcdiff.grad(powered))(0.5, 3) == pytest.approx(6 * 0.5)
    # the dual-number oracle (which binds `float` to a function of its own) agrees
    from dual import forward_gradient
    # (it runs every float argument as a dual number, which is no float: ints here)
    assert forward_gradient(powered, [0.5, 3, 2], (0,)) == pytest.approx([1.5])
    assert forward_gradient(powered, [0.5, 3.0], (0,)) == pytest.approx([3.0])


@pytest.mark.parametrize("test", ["isinstance(x, 'float')", "isinstance(x, float, int)",
                                  "isinstance(x, t)"])
def test_isinstance_of_something_else_than_classes_is_refused_where_it_is(test):
    from arrays import program
    func = program(f"def probe(x, t):\n    if {test}:\n        return x\n    return 2.0 * x\n")
    with pytest.raises(UnsupportedSyntaxError, match=r"isinstance\(x, T\) is supported with T "
                       "a class or a tuple of classes") as caught:
        srcdiff.grad(func, wrt=0)
    assert caught.value.source_line.strip() == f"if {test}:"


def test_a_differentiated_number_is_never_none():
    def f(x):
        if x is not None and x > 0:
            return x * x
        return -x

    assert srcdiff.grad(f)(3.0) == 6.0 and srcdiff.grad(f)(-3.0) == -1.0


@pytest.mark.parametrize("test", ["x in [1.0] * 2", "x is x", "x is None is None"])
def test_other_identity_and_membership_tests_are_refused_where_they_are(test):
    from arrays import program
    func = program(f"def probe(x):\n    if {test}:\n        return x\n    return 2.0 * x\n")
    with pytest.raises(UnsupportedSyntaxError, match="tests against None") as caught:
        srcdiff.grad(func)
    assert caught.value.source_line.strip() == f"if {test}:"


def test_membership_in_a_tuple_of_constants_is_a_test():
    """`x in (1.0, 2.0)` is x == 1.0 or x == 2.0: a test, never differentiated."""
    from arrays import program
    func = program("def probe(x):\n    if x in (1.0, 2.0):\n        return x\n    return 2.0 * x\n")
    assert srcdiff.grad(func)(2.0) == 1.0 and srcdiff.grad(func)(1.5) == 2.0
    assert srcdiff.jvp(func)(1.0, 1.0) == (1.0, 1.0)


def steps(x, n=3):
    s = 0.0
    while (k := n - 1) >= 0:  # bound, then tested, at each test of the loop
        n = k
        s = s + math.sin(x * n)
        print(f"step {n}: s={s:.3f} {x * 2!r}", end="; ", flush=True)
    assert s == s, f"nan at {x}"
    if (y := s * s) > 0.5:
        return y
    return s


def scale_and_add(a, b):
    return a * 10.0 + b


def read_before_rebound(x):
    v = x * 2.0
    first = v + (v := x * 3.0)  # the old v, then the new: 2x + 3x
    second = scale_and_add(v, (v := x * 5.0))  # the argument read before the walrus: 3x
    third = v * (v := v + 1.0)  # 5x (5x + 1)
    return first + second + third


def test_a_name_read_before_an_assignment_expression_rebinds_it():
    # The read was left in the expression and evaluated after the hoisted assignment, so
    # it saw the new value: value and gradient wrong, silently (found reviewing the inlining
    # of arguments). By hand: 5x + (30x + 5x) + (25x^2 + 5x) = 45x + 25x^2.
    x = 0.7
    assert read_before_rebound(x) == pytest.approx(45 * x + 25 * x * x, rel=1e-15)
    value, gradient = srcdiff.value_and_grad(read_before_rebound)(x)
    assert value == pytest.approx(45 * x + 25 * x * x, rel=1e-15)
    assert gradient == pytest.approx(45 + 50 * x, rel=1e-15)
    assert srcdiff.jvp(read_before_rebound)(x, 1.0)[1] == pytest.approx(45 + 50 * x, rel=1e-15)


def test_walrus_print_keywords_f_strings_and_assert_messages(capsys):
    # s = sin(2x) + sin(x) + sin(0); at x = 0.7, s > 0.5**0.5, so the result is s²
    x = 0.7
    s = math.sin(2 * x) + math.sin(x)
    assert s * s > 0.5
    assert srcdiff.grad(steps)(x) == pytest.approx(2 * s * (2 * math.cos(2 * x) + math.cos(x)))
    printed = capsys.readouterr().out
    # printed once, by the gradient's forward sweep, as the function prints
    assert printed == (f"step 2: s={math.sin(1.4):.3f} 1.4; step 1: s={s:.3f} 1.4; "
                       f"step 0: s={s:.3f} 1.4; ")
    # at x = 0.1, s < 0.5**0.5: the result is s itself
    assert srcdiff.grad(steps)(0.1) == pytest.approx(2 * math.cos(0.2) + math.cos(0.1))
    value, tangent = srcdiff.jvp(steps)(0.1, 1.0)
    assert tangent == pytest.approx(2 * math.cos(0.2) + math.cos(0.1))


def test_an_assert_message_is_formatted_only_when_the_assertion_fails():
    def checked(x):
        assert x > 0, f"x must be positive, not {x}"
        return math.log(x)

    assert srcdiff.grad(checked)(2.0) == 0.5
    with pytest.raises(AssertionError, match="x must be positive, not -1.0"):
        srcdiff.grad(checked)(-1.0)


@pytest.mark.parametrize("body, message", [
    ("print(x, sep=x)", "print's sep="),
    ("print(x, file=x)", "print's file="),
    ("assert x > 0, f'{x + 1}'", "f-strings of names"),
])
def test_what_stays_refused_around_printing(body, message):
    from arrays import program
    func = program(f"def probe(x):\n    {body}\n    return x * x\n")
    with pytest.raises(UnsupportedSyntaxError, match=message):
        srcdiff.grad(func)


COEFFICIENTS, OFFSETS = (1.0, 2.0), (3.0, 4.0)


def nested_targets(x):
    s = 0.0
    for i, (a, b) in enumerate(zip(COEFFICIENTS, OFFSETS)):
        s = s + a * x + b * i * x * x
    (p, q), r = COEFFICIENTS, x * x
    return s + p * q * r


def test_nested_unpacking_targets():
    # s = 1x + 2x + 4x² (i = 0, 1); p q r = 1 · 2 · x²: d/dx = 3 + 8x + 4x
    x = 1.5
    assert srcdiff.grad(nested_targets)(x) == pytest.approx(3 + 12 * x)
    assert srcdiff.jvp(nested_targets)(x, 1.0)[1] == pytest.approx(3 + 12 * x)


def over_enumerated_zip(x, y):
    s = 0.0
    for k, (u, v) in enumerate(zip(x, y)):
        s = s + u * v * k
    return s


def over_enumerated_reversed(x):
    s = 0.0
    for i, v in enumerate(reversed(x)):
        s = s + v * i
    return s


def test_enumerate_of_zip_of_arrays_is_read_by_position():
    # for k, (u, v) in enumerate(zip(x, y)) over arrays: refused before (iterating over
    # values that depend on x); s = sum_k k u_k v_k, so ds/du_k = k v_k, ds/dv_k = k u_k
    x, y = np.array([1.0, 2.0, -3.0]), np.array([0.5, 1.5, 4.0])
    du, dv = srcdiff.grad(over_enumerated_zip, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(du, [0.0, 1.5, 8.0])
    np.testing.assert_allclose(dv, [0.0, 2.0, -6.0])
    tx, ty = np.array([1.0, -1.0, 0.5]), np.array([0.25, 2.0, -1.0])
    value, tangent = srcdiff.jvp(over_enumerated_zip, wrt=(0, 1))(x, y, tx, ty)
    assert value == pytest.approx(over_enumerated_zip(x, y))
    assert tangent == pytest.approx(du @ tx + dv @ ty)
    # of a zip that stops at the shorter array, as Python's
    assert srcdiff.grad(over_enumerated_zip)(x, y[:2]) == pytest.approx([0.0, 1.5, 0.0])


@pytest.mark.parametrize("func, args", [
    (over_enumerated_reversed, (np.array([1.0, 2.0]),)),
])
def test_iterators_over_differentiated_arrays_are_refused_where_they_are(func, args):
    # enumerate(reversed(x)) of arrays: the iterator was taken for an array and looped
    # over by position, and len() of it raised TypeError in the gradient (a crash, not a
    # refusal)
    with pytest.raises(UnsupportedSyntaxError, match="iterating over values that depend on") \
            as caught:
        srcdiff.grad(func, wrt=tuple(range(len(args))))(*args)
    assert caught.value.source_line.strip().startswith("for ")


def two_loops_over_one_zip(x):
    s = 0.0
    for i, pair in enumerate(zip(COEFFICIENTS, OFFSETS)):
        s = s + pair[0] * x
    for j, (a, b) in enumerate(zip(COEFFICIENTS, OFFSETS)):
        s = s + b * x * x
    return s


def test_two_loops_over_the_same_zip_each_get_their_own_iterator():
    # zip(...) inside enumerate(...) is computed into a temporary; the second one was
    # taken for the first (common subexpressions), whose iterator the first loop had
    # consumed: the second loop never ran (value 4.5 and gradient 3.0 here, silently).
    # s = (1 + 2) x + (3 + 4) x²
    x = 1.5
    assert srcdiff.value_and_grad(two_loops_over_one_zip)(x) == pytest.approx(
        (3 * x + 7 * x * x, 3 + 14 * x))
    from srcdiff.pipeline import OPTIMIZATIONS, generate
    for disabled in OPTIMIZATIONS:
        generated = generate(two_loops_over_one_zip, ("x",), name="g", disable=(disabled,))
        assert generated.function(x) == pytest.approx(3 + 14 * x), disabled


def softmax(z, axis=-1):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def expected_position(z, weight=None):
    if weight is None:
        weight = 1.0
    return np.sum(softmax(z) * np.arange(3.0)) * weight + np.sum(
        np.clip(z, a_min=0.0, a_max=None) + np.clip(z, max=0.5))


def test_constant_arguments_of_inlined_functions_stay_constants():
    # the axis of softmax comes from its default; numpy.clip's bounds by keyword
    z = np.array([0.3, -1.0, 2.0])
    p = softmax(z)
    positions = np.arange(3.0)
    # d/dz Σ p k = p (k - Σ p k); clips: 1 where z > 0, and 1 where z < 0.5
    expected = p * (positions - np.sum(p * positions)) + (z > 0) + (z < 0.5)
    np.testing.assert_allclose(srcdiff.grad(expected_position)(z), expected, rtol=1e-12)
    np.testing.assert_allclose(srcdiff.grad(expected_position)(z, 2.0),
                               expected + p * (positions - np.sum(p * positions)), rtol=1e-12)


# -- `in` a tuple or list written out with variables in it (a new user's trapezoid weights,
# `1.0 if i in (0, n) else 2.0`, were refused: only tuples of constants were) -------------

def trapezoid_weights(x, n=3):
    s = 0.0
    for i in range(n + 1):
        w = 1.0 if i in (0, n) else 2.0
        s += w * math.sin(x * i)
    return s


def not_in_a_list(x, k):
    s = x * x
    if k not in [1, k + 1]:
        s = s * 3.0
    return s


def in_of_differentiated_values(x):
    y = 0.0
    for i in range(4):
        if x * i in (x, 2 * x):  # a test: never differentiated, decided as Python does
            y = y + x * i
    return y


def test_in_a_tuple_with_variables():
    x = 0.3
    # sin(0) + 2 sin(x) + 2 sin(2x) + sin(3x)
    want = 2 * math.cos(x) + 4 * math.cos(2 * x) + 3 * math.cos(3 * x)
    assert srcdiff.grad(trapezoid_weights)(x) == pytest.approx(want, rel=1e-14)
    assert srcdiff.jvp(trapezoid_weights)(x, 1.0)[1] == pytest.approx(want, rel=1e-14)
    second = -2 * math.sin(x) - 8 * math.sin(2 * x) - 9 * math.sin(3 * x)
    assert srcdiff.hessian(trapezoid_weights)(x) == pytest.approx(second, rel=1e-13)
    assert srcdiff.grad(not_in_a_list)(0.5, 2) == pytest.approx(3.0)  # 3 x^2
    assert srcdiff.grad(not_in_a_list)(0.5, 1) == pytest.approx(1.0)  # x^2
    # i = 1 and i = 2 pass the test: y = x + 2x
    assert srcdiff.grad(in_of_differentiated_values)(0.7) == pytest.approx(3.0)
    # x is in (x, 2.0), even a NaN: `in` asks `is` first (refused before)
    from arrays import program
    func = program("def probe(x):\n    if x in (x, 2.0):\n        return x\n    return 2.0 * x\n")
    assert srcdiff.grad(func)(0.5) == 1.0
    assert srcdiff.grad(func)(math.nan) == 1.0  # (x == x is False for a NaN)


def in_a_tuple_of_arrays(x):
    a = np.array([1.0, 2.0])
    if x in (a, 3.0):
        return np.sum(x)
    return np.sum(x * x)


def test_in_a_tuple_of_arrays_raises_as_python_does():
    x = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="truth value of an array"):
        in_a_tuple_of_arrays(x)
    with pytest.raises(ValueError, match="truth value of an array"):
        srcdiff.grad(in_a_tuple_of_arrays)(x)


def in_a_starred_tuple(x, rest):
    return x * 2.0 if 1 in (0, *rest) else x


def test_in_a_tuple_with_a_star_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match="`\\*` in the tuple an `in` test reads"):
        srcdiff.grad(in_a_starred_tuple)(0.5, (1, 2))
