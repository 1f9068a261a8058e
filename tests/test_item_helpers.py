"""The helpers of ``x[index] = value``'s adjoint (``runtime.assigned``, ``runtime.zero_item``)
take a quick path when the adjoint already has the array's shape (a loop writing
``out[i]`` calls them once a pass): the same numbers, dtype and writability as
broadcasting it first, checked here against that and against what the adjoint is by
definition, and the gradient of such a loop against central differences."""

import itertools

import numpy
import pytest

import srcdiff
from srcdiff.runtime import assigned, zero_item

from arrays import numeric_gradient

np = numpy
rng = numpy.random.default_rng(23)


def _assigned_by_definition(gradient, like, index, value):
    """The adjoint of ``value``: the change of ``sum(gradient * f(value))``, where ``f``
    writes ``value`` into a copy of ``like`` at ``index``, with respect to each element of
    ``value`` (``f`` is linear in ``value``: each unit vector's image, read off)."""
    value = numpy.asarray(value, float)
    gradient = numpy.broadcast_to(gradient, like.shape)
    result = numpy.zeros(value.shape)
    for position in itertools.product(*(range(n) for n in value.shape)):
        unit = numpy.zeros(value.shape)
        unit[position] = 1.0
        written = numpy.zeros(like.shape)
        written[index] = unit
        result[position] = numpy.sum(gradient * written)
    return result


LIKE = numpy.zeros((4, 3))
CASES = [  # index, value
    ((2, 1), 0.5), (2, numpy.ones(3)), ((slice(1, 3), 0), numpy.ones(2)),
    ((numpy.array([0, 2, 0]),), numpy.ones((3, 3))),  # row 0 written twice: the last stays
    ((Ellipsis, 2), numpy.ones(4)), (-1, 0.25),
]


@pytest.mark.parametrize("index, value", CASES, ids=[str(i) for i, _ in CASES])
@pytest.mark.parametrize("gradient", ["full", "row", "number"])
def test_assigned_and_zero_item_against_their_definitions(index, value, gradient):
    g = {"full": rng.normal(size=LIKE.shape), "row": rng.normal(size=(1, 3)),
         "number": 0.75}[gradient]
    got = assigned(g, LIKE, index, value)
    numpy.testing.assert_array_equal(numpy.broadcast_to(got, numpy.shape(value)),
                                     _assigned_by_definition(g, LIKE, index, value))
    # the old array's adjoint: the gradient where nothing was written over, else zero
    kept = numpy.ones(LIKE.shape)
    kept[index] = 0.0
    zeroed = zero_item(g, LIKE, index)
    numpy.testing.assert_array_equal(zeroed, numpy.broadcast_to(g, LIKE.shape) * kept)
    assert zeroed.dtype == numpy.float64 and zeroed.flags.writeable
    if isinstance(g, numpy.ndarray):
        assert not numpy.shares_memory(zeroed, g)


def test_a_part_of_the_adjoint_is_its_own_array_and_a_number_is_a_number():
    g = rng.normal(size=(4, 3))
    row = assigned(g, LIKE, 1, numpy.ones(3))
    # (zero_item_into may zero the adjoint's array next: the part must not see it)
    assert isinstance(row, numpy.ndarray) and not numpy.shares_memory(row, g)
    numpy.testing.assert_array_equal(row, g[1])
    item = assigned(g, LIKE, (1, 2), 0.5)
    assert isinstance(item, numpy.floating) and item == g[1, 2]


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_zero_item_keeps_the_array_dtype(dtype):
    like = numpy.zeros(5, dtype)
    g = rng.normal(size=5).astype(dtype)
    assert zero_item(g, like, 2).dtype == dtype
    assert zero_item(g, numpy.zeros(5, numpy.int64), 2).dtype == numpy.float64


def filled(x, w):
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = np.tanh(x[i] * w) + out[i - 1] * w  # reads what the pass before wrote
    return np.sum(out ** 2)


def test_the_gradient_of_a_loop_writing_items():
    x = rng.normal(size=7)
    got = srcdiff.grad(filled, wrt=(0, 1))(x, 0.7)
    want = numeric_gradient(filled, (x, 0.7), (0, 1))
    numpy.testing.assert_allclose(got[0], want[0], rtol=1e-7, atol=1e-9)
    assert got[1] == pytest.approx(want[1], rel=1e-7)
