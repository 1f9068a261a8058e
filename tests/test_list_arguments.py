"""Lists and tuples of NumPy arrays given as arguments that are not differentiated
(weights passed as data, a pair ``(A, c)``): read as the array NumPy stacks of them when
their arrays have one shape, else as a structure (``srcdiff.structures``), each array of
its own kind; never taken for a list of numbers (that gave math functions applied to
arrays, missing broadcasting reductions and "matmul of a number").

Expected gradients: by hand where short, else central differences that must agree at
two step sizes.
"""

import math

import numpy as np
import pytest

import srcdiff
from srcdiff.kinds import ANY_ARRAY, array, data_kind, ragged


def central(func, x, *rest):
    """d func / d x by central differences, checked at two step sizes."""
    x = np.asarray(x, dtype=float)
    found = []
    for h in (1e-5, 1e-6):
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            e = np.zeros_like(x)
            e[i] = h
            up, down = x + e, x - e
            if x.ndim == 0:
                up, down = float(up), float(down)
            g[i] = (func(up, *rest) - func(down, *rest)) / (2 * h)
        found.append(g)
    np.testing.assert_allclose(found[0], found[1], rtol=1e-5, atol=1e-7)
    return found[1] if x.ndim else float(found[1])


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-8)


RNG = np.random.default_rng(20240857)


def normal(*shape):
    return RNG.normal(size=shape)


def first(x, ws):
    return np.sum(ws[0] * x)


def sines(x, ws):
    s = 0.0
    for w in ws:
        s += np.sum(np.sin(x * w))
    return s


def affine(x, pair):
    A, c = pair
    return np.sum(np.tanh(A @ x + c))


def mlp(x, Ws):
    h = x
    for W in Ws:
        h = np.tanh(W @ h)
    return np.sum(h)


def zipped(x, Ws, bs):
    h = x
    for W, b in zip(Ws, bs):
        h = np.tanh(W @ h + b)
    return np.sum(h)


# -- the report's examples ---------------------------------------------------------------

def test_item_of_a_list_of_one_array():
    # d/dx sum(w * x) = sum(w): was a TypeError in runtime.number_like
    assert srcdiff.grad(first)(0.3, [np.array([1.0, 2.0])]) == 3.0
    assert srcdiff.grad(first)(0.3, (np.array([1.0, 2.0]), np.array([5.0]))) == 3.0


def test_loop_over_arrays_of_one_shape():
    ws = [np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    x = 0.3
    # d/dx sum(sin(x w)) = sum(w cos(x w))
    expected = sum(w * math.cos(x * w) for w in (1.0, 2.0, 3.0, 4.0))
    assert srcdiff.grad(sines)(x, ws) == pytest.approx(expected, rel=1e-12)


def test_loop_over_arrays_of_different_lengths():
    ws = [np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])]
    expected = sum(w * math.cos(0.3 * w) for w in (1.0, 2.0, 3.0, 4.0, 5.0))
    assert srcdiff.grad(sines)(0.3, ws) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("ws", [[np.array([1.0, 2.0]), np.array([3.0, 4.0])],
                                [np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])]],
                         ids=["one-shape", "ragged"])
def test_x_of_shape_one_broadcast_against_the_items(ws):
    x = np.array([0.3])
    got = srcdiff.grad(sines)(x, ws)
    assert got.shape == (1,)
    close(got, [sum(w * math.cos(0.3 * w) for w in np.concatenate(ws))])


def test_tuple_unpacked():
    A, c, x = normal(3, 2), normal(3), normal(2)
    got = srcdiff.grad(affine)(x, (A, c))
    # d/dx sum(tanh(A x + c)) = A^T (1 - tanh^2)
    close(got, A.T @ (1 - np.tanh(A @ x + c) ** 2))
    A2, c2 = normal(2, 2), normal(2)
    close(srcdiff.grad(affine)(x, (A2, c2)), A2.T @ (1 - np.tanh(A2 @ x + c2) ** 2))


def test_weights_of_a_network_given_as_data():
    Ws = [normal(3, 2), normal(4, 3), normal(1, 4)]
    x = normal(2)
    close(srcdiff.grad(mlp)(x, Ws), central(mlp, x, Ws))


def test_zip_of_two_lists_of_arrays():
    Ws, bs, x = [normal(3, 2), normal(4, 3)], [normal(3), normal(4)], normal(2)
    close(srcdiff.grad(zipped)(x, Ws, bs), central(zipped, x, Ws, bs))
    square = [normal(2, 2), normal(2, 2)], [normal(2), normal(2)]
    close(srcdiff.grad(zipped)(x, *square), central(zipped, x, *square))


def test_dict_holding_lists_of_arrays():
    def net(x, cfg):
        h = x
        for W, b in zip(cfg["Ws"], cfg["bs"]):
            h = np.tanh(W @ h + b)
        return np.sum(h)
    cfg = {"Ws": [normal(3, 2), normal(4, 3)], "bs": [normal(3), normal(4)]}
    x = normal(2)
    close(srcdiff.grad(net)(x, cfg), central(net, x, cfg))


# -- one gradient, called with lists of other lengths, shapes and kinds -------------------

def test_later_calls_with_other_lists_regenerate():
    """The code made for one list is used again only for lists it holds for: other
    lengths, other shapes, arrays of another rank, numbers in place of arrays."""
    gradient = srcdiff.grad(sines)
    calls = [
        [normal(2), normal(2)],
        [normal(2), normal(3)],
        [normal(2), normal(3), normal(1)],
        [normal(4), normal(2, 2)],
        [1.5, 2.5, -0.5],
        [normal(2, 2), normal(2, 2)],
        [normal(5)] * 4,
        [1.5, normal(3)],
        (normal(2), normal(3)),
        [normal(2), normal(2)],
        [normal(2), normal(3)],
    ]
    for ws in calls:
        close(gradient(0.3, ws), central(sines, 0.3, ws))


def test_network_of_other_depths_and_widths():
    gradient = srcdiff.grad(mlp)
    for Ws in ([normal(3, 2), normal(4, 3)], [normal(2, 2), normal(2, 2)],
               [normal(3, 2), normal(4, 3), normal(1, 4)], [normal(5, 2)]):
        x = normal(2)
        close(gradient(x, Ws), central(mlp, x, Ws))


def test_a_list_of_numbers_as_data_still_an_array():
    def f(x, ws):
        return np.sum(x - ws) + ws[0] * np.sum(x)
    x = np.array([0.3, 1.0])
    close(srcdiff.grad(f)(x, [1.0, 2.0]), [2.0, 2.0])
    close(srcdiff.grad(f)(x, [3.0, 2.0]), [4.0, 4.0])


def test_stacked_list_has_the_rank_numpy_gives_it():
    # three vectors stack into a matrix (rank 2; taken for rank 1, the gradient's code
    # broadcast an adjoint of the wrong shape: ValueError)
    def f(x, ws):
        return np.sum(np.array(ws) @ x ** 2)

    def g(x, ws):
        return np.sum(np.stack(ws).T @ x)
    ws = [np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([5.0, 6.0])]
    # d/dx sum(M x^2) = 2 x * (column sums of M); d/dx sum(M^T x) = row sums of M
    close(srcdiff.grad(f)(np.array([0.5, 1.0]), ws), [2 * 0.5 * 9.0, 2 * 1.0 * 12.0])
    close(srcdiff.grad(g)(np.array([0.5, 1.0, 2.0]), ws), [3.0, 7.0, 11.0])


# -- the other transformations -------------------------------------------------------------

def test_value_and_grad_and_jvp():
    ws = [normal(2), normal(3)]
    value, gradient = srcdiff.value_and_grad(sines)(0.3, ws)
    assert value == pytest.approx(sines(0.3, ws), rel=1e-12)
    close(gradient, central(sines, 0.3, ws))
    value, tangent = srcdiff.jvp(sines)(0.3, ws, 2.0)
    assert value == pytest.approx(sines(0.3, ws), rel=1e-12)
    close(tangent, 2.0 * central(sines, 0.3, ws))
    x, Ws = normal(2), [normal(3, 2), normal(1, 3)]
    t = normal(2)
    _, tangent = srcdiff.jvp(mlp)(x, Ws, t)
    close(tangent, central(mlp, x, Ws) @ t)


def test_arrays_of_one_shape_in_the_other_transformations():
    ws = [np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    # d2/dx2 sum(sin(x w)) = -sum(w^2 sin(x w))
    second = -sum(w * w * math.sin(0.3 * w) for w in (1.0, 2.0, 3.0, 4.0))
    first_ = sum(w * math.cos(0.3 * w) for w in (1.0, 2.0, 3.0, 4.0))
    assert float(srcdiff.hessian(sines)(0.3, ws)) == pytest.approx(second, rel=1e-10)
    assert float(srcdiff.hvp(sines)(0.3, ws, 1.0)) == pytest.approx(second, rel=1e-10)
    assert float(srcdiff.jacobian(sines)(0.3, ws)) == pytest.approx(first_, rel=1e-12)
    assert float(srcdiff.vjp(sines)(0.3, ws)[1](1.0)) == pytest.approx(first_, rel=1e-12)
    assert srcdiff.grad(srcdiff.grad(sines))(0.3, ws) == pytest.approx(second, rel=1e-10)


@pytest.mark.parametrize("transform", ["hessian", "jacobian", "vjp", "hvp", "gradgrad"])
def test_ragged_lists_refused_where_structures_are(transform):
    ws = [np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])]
    with pytest.raises(srcdiff.SrcdiffError, match="'ws' is a list holding arrays NumPy "
                       "does not stack"):
        if transform == "gradgrad":
            srcdiff.grad(srcdiff.grad(sines))(0.3, ws)
        elif transform == "vjp":
            srcdiff.vjp(sines)(0.3, ws)
        elif transform == "hvp":
            srcdiff.hvp(sines)(0.3, ws, 1.0)
        else:
            getattr(srcdiff, transform)(sines)(0.3, ws)


def test_computed_position_in_a_ragged_list_is_refused_where_written():
    def f(x, ws, i):
        return np.sum(ws[i] * x)
    with pytest.raises(srcdiff.SrcdiffError, match="reads its items with constant keys"):
        srcdiff.grad(f)(0.3, [np.ones(2), np.ones(3)], 1)
    # of one shape, the list is an array: any position
    assert srcdiff.grad(f)(0.3, [np.ones(2), 2 * np.ones(2)], 1) == 4.0


def test_source_names_the_items_read():
    text = srcdiff.source(srcdiff.grad(first), 0.3, [np.ones(2), np.ones(3)])
    assert text.startswith("def dfirst_dx(x, ws, ws_0):")


# -- kinds ----------------------------------------------------------------------------------

def test_data_kind_counts_the_arrays_axes():
    assert data_kind([np.ones(2)]) == array(2)
    assert data_kind([[np.ones((2, 3))], [np.ones((2, 3))]]) == array(4)
    assert data_kind((np.ones(2), np.ones(3))) == ANY_ARRAY
    assert data_kind([1.0, np.ones(2)]) == ANY_ARRAY
    assert data_kind([[1.0, 2.0], [3.0, 4.0]]) == array(2)  # numbers: as before
    assert data_kind([]) == array(1)
    assert ragged([np.ones(2), np.ones(3)]) and ragged((np.eye(2), np.ones(2)))
    assert not ragged([np.ones(2), np.ones(2)]) and not ragged([[1.0], [2.0, 3.0]])
    assert not ragged(np.ones(2)) and not ragged([])
