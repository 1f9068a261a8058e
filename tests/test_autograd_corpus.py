"""Bugs found by running objectives from HIPS/autograd's examples and tests through
srcdiff (2026-12-05: 379 functions against central differences; the triage script lived
outside the tree). Each expected gradient here is derived by hand."""
import numpy as np
import pytest

import srcdiff
from arrays import program

W = np.array([[1.0, 2.0], [3.0, 4.0]])
V = np.arange(24.0).reshape(2, 4, 3)


def transposed_negative(x):
    return np.sum(np.transpose(x, (-1, 0)) * W)


def method_negative(x):
    return np.sum(x.transpose(-1, 0) * W)


def three_axes_negative(x):
    return np.sum(x.transpose(0, -1, 1) * V)


@pytest.mark.parametrize("func", [transposed_negative, method_negative])
def test_transpose_with_a_negative_axis_of_a_square_array(func):
    # argsort((-1, 0)) is the identity: the gradient came back untransposed, silently
    # (sum(x.T * W) = sum(x * W.T): the gradient is W.T)
    x = np.zeros((2, 2))
    np.testing.assert_array_equal(srcdiff.grad(func)(x), W.T)
    value, gradient = srcdiff.value_and_grad(func)(x)
    np.testing.assert_array_equal(gradient, W.T)
    t = np.array([[0.5, -1.0], [2.0, 0.25]])
    assert srcdiff.jvp(func)(x, t)[1] == np.sum(t.T * W)


def test_transpose_with_a_negative_axis_of_three_axes():
    # raised ValueError from the generated code (the permutation was not inverted)
    np.testing.assert_array_equal(srcdiff.grad(three_axes_negative)(np.zeros((2, 3, 4))),
                                  V.transpose(0, 2, 1))


@pytest.mark.parametrize("source, parameter", [
    ("def probe(x):\n    return np.sum(np.full(3, x))\n", "fill_value"),
    ("def probe(x):\n    return np.sum(np.full_like(np.ones(3), x))\n", "fill_value"),
    ("def probe(x):\n    return np.sum(np.full_like(np.ones(3), fill_value=x))\n", "fill_value"),
    ("def probe(x):\n    return np.sum(np.linspace(0.0, x, 5))\n", "stop"),
    ("def probe(x):\n    return np.sum(np.linspace(x, 1.0, 5))\n", "start"),
    ("def probe(x):\n    return np.sum(np.arange(x, x + 3.0))\n", "start"),
    ("def probe(x):\n    return np.sum(np.arange(0.0, 3.0, x))\n", "step"),
    ("def probe(x):\n    return np.sum(np.arange(3.0, step=x))\n", "step"),
    ("def probe(x):\n    return np.sum(np.heaviside(np.zeros(3), x))\n", "x2"),
])
def test_a_creation_from_a_differentiated_value_is_refused(source, parameter):
    # these were taken for constants whatever they were given: derivative 0, silently
    # (np.sum(np.full(3, x)) has derivative 3; autograd's examples/define_gradient.py)
    func = program(source)
    for transform in (srcdiff.grad, srcdiff.jvp):
        with pytest.raises(srcdiff.MissingRuleError) as caught:
            if transform is srcdiff.grad:
                transform(func)(0.7)
            else:
                transform(func)(0.7, 1.0)
        message = str(caught.value)
        assert f"'s {parameter} (`x`) depends on the differentiated arguments" in message
        assert caught.value.lineno == 2  # the line of the call, not the def


def test_creations_from_constants_and_the_hints_still_work():
    func = program("def probe(x):\n"
                   "    return np.sum(np.arange(3) * x) + np.sum(np.full(3, 2.0) * x) \\\n"
                   "        + np.sum(np.linspace(0.0, 1.0, 3) * x) + np.sum(np.heaviside(x, 0.5))\n")
    x = np.array([1.0, -2.0, 3.0])
    # d/dx: arange(3) + 2 + linspace(0, 1, 3); heaviside is piecewise constant
    np.testing.assert_allclose(srcdiff.grad(func)(x), [2.0, 3.5, 5.0], rtol=1e-15)
    hinted = program("def probe(x):\n    return np.sum(x * np.ones(3))\n")
    assert srcdiff.grad(hinted)(0.7) == 3.0


def test_concatenate_of_flattened_arrays():
    # axis=None flattens every array: the adjoint of each was cut along its second
    # axis (hstack's), an internal AxisError for arrays of two axes
    weights = np.arange(12.0)
    twice = program("def probe(a):\n"
                    "    return np.sum(np.concatenate([a, a], axis=None) * np.arange(12.0))\n")
    a = np.ones((2, 3))
    np.testing.assert_array_equal(srcdiff.grad(twice)(a),
                                  weights[:6].reshape(2, 3) + weights[6:].reshape(2, 3))
    mixed = program("def probe(a, b):\n"
                    "    return np.sum(np.concatenate([a, b], axis=None) * np.arange(10.0))\n")
    ga, gb = srcdiff.grad(mixed, wrt=(0, 1))(a, np.ones(4))
    np.testing.assert_array_equal(ga, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(gb, np.arange(6.0, 10.0))
    assert srcdiff.jvp(twice)(a, np.ones((2, 3)))[1] == np.sum(weights)


def test_forward_mode_of_the_trace_of_three_axes():
    # the trace of a 3-d array is a 1-d array; forward mode took it for a number and
    # called math.cos of it (TypeError). Reverse mode refuses it, as it did.
    func = program("def probe(x):\n    return np.sum(np.sin(np.trace(x)))\n")
    x = np.arange(8.0).reshape(2, 2, 2) / 10
    t = np.linspace(-1.0, 1.0, 8).reshape(2, 2, 2)
    value, derivative = srcdiff.jvp(func)(x, t)
    assert value == func(x)
    expected = np.sum(np.cos(x[0, 0] + x[1, 1]) * (t[0, 0] + t[1, 1]))
    assert derivative == pytest.approx(expected, rel=1e-14)
    with pytest.raises(srcdiff.KindError, match="numpy.trace of an array that is not 2-d"):
        srcdiff.grad(func)(x)


def test_a_creation_of_a_shape_written_as_a_tuple_has_that_many_axes():
    # np.ones((X.shape[0], 1)) had an unknown number of axes, and np.dot of it was refused
    func = program("def probe(w, X):\n"
                   "    column = np.ones((X.shape[1], 1))\n"
                   "    return np.sum(np.dot(X * w, column))\n")
    X = np.arange(6.0).reshape(2, 3)
    # d/dw sum_i sum_j X[i, j] w[j] = sum_i X[i, :]
    np.testing.assert_array_equal(srcdiff.grad(func)(np.ones(3), X), X.sum(axis=0))


def test_a_return_of_unknown_rank_says_so():
    # the message said the function "returns an array (array[?])", where it returns a
    # number made from an array srcdiff could not count the axes of
    # (np.ones(len(y)) is read as a 1-d array since: tests/test_regressions.py; so is
    # np.ones(n) of a parameter given a number, whose code is made for a number; given a
    # tuple, its code is made for an array, whose rank srcdiff does not know)
    func = program("def probe(w, y, n):\n"
                   "    k = np.ones(n) * w\n"
                   "    return np.dot(k, y)\n")
    assert srcdiff.grad(func)(0.5, np.array([1.0, 2.0, 3.0]), 3) == 6.0  # sum(y)
    with pytest.raises(srcdiff.KindError) as caught:
        srcdiff.grad(func)(0.5, np.ones(3), (3,))
    message = str(caught.value)
    assert "cannot tell that probe() returns one number" in message
    assert "np.ones_like(y)" in message
    assert "returns an array (" not in message


@pytest.mark.parametrize("call, expected", [
    ("np.clip(x, 0.1, None)", [0.0, 0.6, 1.8]),   # maximum(x, 0.1): 2x above 0.1
    ("np.clip(x, None, 0.5)", [0.0, 0.6, 0.0]),   # minimum(x, 0.5): 2x below 0.5
])
def test_clip_with_one_bound_none_by_position(call, expected):
    # refused ("NoneType constants are not supported") where a_max=None was accepted
    func = program(f"def probe(x):\n    return np.sum({call} ** 2)\n")
    x = np.array([0.0, 0.3, 0.9])
    np.testing.assert_allclose(srcdiff.grad(func)(x), expected, rtol=1e-15)


def test_the_rules_added_for_the_corpus():
    # degrees, radians, remainder (mod), flipud and fliplr were refused (no rule)
    x = np.array([[0.3, -1.2], [2.5, 0.7], [1.1, -0.4]])
    func = program("def probe(x):\n"
                   "    return np.sum(np.degrees(x) * W) + np.sum(np.radians(x) ** 2) \\\n"
                   "        + np.sum(np.remainder(x, 0.9) * W) + np.sum(np.mod(2.0, x + 3.0)) \\\n"
                   "        + np.sum(np.flipud(x) * W) + np.sum(np.fliplr(x) ** 2 * W)\n",
                   W=np.arange(6.0).reshape(3, 2))
    W = np.arange(6.0).reshape(3, 2)
    r = np.pi / 180
    # d/dx: W / r-degrees, 2 r^2 x, W (the remainder's slope), -floor(2 / (x + 3)),
    # flipud(W), 2 x * fliplr(W)
    expected = W / r + 2 * r * r * x + W - np.floor(2.0 / (x + 3.0)) + np.flipud(W) \
        + 2 * x * np.fliplr(W)
    np.testing.assert_allclose(srcdiff.grad(func)(x), expected, rtol=1e-13)
    t = np.linspace(-1.0, 1.0, 6).reshape(3, 2)
    assert srcdiff.jvp(func)(x, t)[1] == pytest.approx(np.sum(expected * t), rel=1e-13)


def test_a_write_through_flipud_changes_what_it_views():
    # flipud and fliplr return views: writing into one changes the array it views
    func = program("def probe(x):\n"
                   "    y = x * 2.0\n"
                   "    z = np.flipud(y)\n"
                   "    z[0] = 0.0\n"
                   "    return np.sum(y * W)\n", W=np.arange(3.0) + 1.0)
    x = np.array([0.5, -1.0, 2.0])
    try:
        gradient = srcdiff.grad(func)(x)
    except srcdiff.UnsupportedSyntaxError as error:
        assert "changed in place" in str(error)
    else:  # y[2] is overwritten through z: its weight 3 no longer reaches x[2]
        np.testing.assert_array_equal(gradient, [2.0, 4.0, 0.0])


def test_unpacking_an_item_of_a_structured_argument():
    # W, b = params[0] (autograd's vae and gan examples) was refused; last = params[-1]
    # then last[0] was not
    func = program("def probe(params, x):\n"
                   "    W, b = params[0]\n"
                   "    h = np.tanh(x @ W + b)\n"
                   "    out_W, out_b = params[-1]\n"
                   "    return np.sum(h @ out_W + out_b)\n")
    W, b = np.linspace(-1.0, 1.0, 6).reshape(2, 3), np.array([0.1, -0.2, 0.3])
    out_W, out_b = np.array([[0.5], [-1.0], [2.0]]), np.array([0.25])
    x = np.array([[0.5, -1.0], [2.0, 0.3]])
    (gW, gb), (g_out_W, g_out_b) = srcdiff.grad(func)([(W, b), (out_W, out_b)], x)
    h = np.tanh(x @ W + b)
    pre = (1 - h ** 2) * out_W[:, 0]  # d/d(x @ W + b) of sum(h @ out_W)
    np.testing.assert_allclose(gW, x.T @ pre, rtol=1e-14)
    np.testing.assert_allclose(gb, pre.sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(g_out_W, h.sum(axis=0)[:, None], rtol=1e-14)
    np.testing.assert_array_equal(g_out_b, [2.0])


def test_unpacking_a_row_of_an_array():
    # a, b = X[0] was refused (a KindError) before unpacking checked lengths as Python does
    func = program("def probe(X):\n    a, b = X[0]\n    return a * b + np.sum(X * X)\n")
    X = np.array([[1.5, -2.0], [3.0, 0.25]])
    # d/dX of X00 X01 + sum X^2: 2 X, plus X01 at (0, 0) and X00 at (0, 1)
    expected = 2 * X + np.array([[-2.0, 1.5], [0.0, 0.0]])
    np.testing.assert_array_equal(srcdiff.grad(func)(X), expected)
    value, derivative = srcdiff.jvp(func)(X, np.array([[1.0, 0.0], [0.0, 0.0]]))
    assert (value, derivative) == (func(X), expected[0, 0])
    with pytest.raises(ValueError, match=r"too many values to unpack \(expected 2\)"):
        srcdiff.grad(func)(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"not enough values to unpack \(expected 2, got 1\)"):
        srcdiff.grad(func)(np.ones((2, 1)))


def test_unpacking_an_item_of_a_number_is_refused_where_it_is():
    # X a number: Python raises TypeError; srcdiff a KindError at the line
    func = program("def probe(X):\n    a, b = X[0]\n    return a * b\n")
    with pytest.raises(TypeError):
        func(2.0)
    with pytest.raises(srcdiff.KindError, match=r"`X\[0\]` indexes `X`, which is a number "
                       "here") as caught:
        srcdiff.grad(func)(2.0)
    assert caught.value.source_line.strip() == "a, b = X[0]"


def test_a_grown_list_joined_by_vstack_is_refused_saying_so():
    # the message said such a list may be given to "a NumPy function", then refused this one
    joined = program("def probe(x, n):\n"
                     "    rows = []\n"
                     "    for i in range(n):\n"
                     "        rows.append(x * i)\n"
                     "    return np.sum(np.vstack(rows) ** 2)\n")
    with pytest.raises(srcdiff.UnsupportedSyntaxError) as caught:
        srcdiff.grad(joined)(np.ones(2), 3)
    assert "not one that joins a list of arrays: np.concatenate, np.vstack" in str(caught.value)
    stacked = program("def probe(x, n):\n"
                      "    rows = []\n"
                      "    for i in range(n):\n"
                      "        rows.append(x * i)\n"
                      "    return np.sum(np.stack(rows) ** 2)\n")
    x = np.array([1.0, -2.0])
    # sum over i of (x i)^2: derivative 2 x (0 + 1 + 4)
    np.testing.assert_allclose(srcdiff.grad(stacked)(x, 3), 10.0 * x, rtol=1e-15)
