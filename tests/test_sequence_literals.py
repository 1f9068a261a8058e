"""Lists and tuples written out inside the sequence NumPy joins, and tangents of items of
values the kinds take for numbers.

A. ``np.concatenate([x, [a, a * a]])``: NumPy makes an array of each element of the
   sequence ``concatenate``, ``stack``, ``hstack`` and ``vstack`` take, a list written out
   too. srcdiff took such a list for a constant (a zero gradient, silently; ``jvp`` was
   right). Lowering now makes it ``numpy.array([a, mul])`` in a temporary, whose rule
   carries each element's derivative, in every mode.
B. The tangent of ``fo[1:]`` where ``fo = np.zeros_like(pos)`` is a number as the kinds
   see it (the code generated first, for numbers only): its tangent is the plain zero
   ``0.0``, and generated code read ``0.0[1:]`` (a SyntaxWarning when compiled; an
   InternalError under ``-W error``). The tangent indexed is now ``numpy.asarray(d_fo)``,
   which NumPy indexes as it indexes a NumPy scalar or a 0-d array.

Expected derivatives are worked out by hand (in the comments), and checked against
central differences with two step sizes.
"""

import subprocess
import sys
import textwrap
import warnings

import numpy
import pytest

import srcdiff

np = numpy
X = numpy.array([0.3, -0.7])
M = numpy.array([[1.0, 2.0], [3.0, 4.0]])


# --- A: list literals among the arrays a join takes --------------------------------------

def ones_then_a(a):
    return np.sum(np.concatenate([np.ones(2), [a]]))  # 2 + a


def x_then_a_and_square(a):
    return np.sum(np.concatenate([X, [a, a * a]]))  # sum(X) + a + a^2


def stacked_rows(a):
    return np.sum(np.stack([np.ones(2), [a, a]]))  # 2 + 2a


def hstacked_squares(a):
    return np.sum(np.hstack([X, [a]]) ** 2)  # |X|^2 + a^2


def vstacked_squares(a):
    return np.sum(np.vstack([X, [a, 1.0]]) ** 2)  # |X|^2 + a^2 + 1


def tuple_of_tuple(a):
    return np.sum(np.concatenate((X, (a, 2 * a))))  # sum(X) + 3a


def nested_row(a):
    return np.sum(np.concatenate([M, [[a, a * a]]], axis=0) ** 2)  # |M|^2 + a^2 + a^4


def stack_by_keyword(a):
    numpy = 3.0  # a local that hides the module: generated code must still find NumPy
    return np.sum(np.stack(arrays=[X, [a, a * numpy]]) ** 2)  # |X|^2 + 10 a^2


def list_first_axis_none(a):
    array = 2.0  # a name like the temporary srcdiff makes
    return np.sum(np.concatenate([[a * array, a], X], axis=None) * X[0])  # X0 (3a + sum X)


def einsum_operand(a):
    return np.einsum("i,i", X, [a, a * a])  # X0 a + X1 a^2


def sine_of_join(a):
    return np.sum(np.sin(np.hstack(([a, a * a], X))))  # sin a + sin a^2 + ...


A = 0.5
# f, f'(A), f''(A), by hand
CASES = [
    (ones_then_a, 1.0, 0.0),
    (x_then_a_and_square, 1.0 + 2 * A, 2.0),
    (stacked_rows, 2.0, 0.0),
    (hstacked_squares, 2 * A, 2.0),
    (vstacked_squares, 2 * A, 2.0),
    (tuple_of_tuple, 3.0, 0.0),
    (nested_row, 2 * A + 4 * A ** 3, 2.0 + 12 * A ** 2),
    (stack_by_keyword, 20 * A, 20.0),
    (list_first_axis_none, 3 * X[0], 0.0),
    (einsum_operand, X[0] + 2 * X[1] * A, 2 * X[1]),
    (sine_of_join, numpy.cos(A) + 2 * A * numpy.cos(A * A),
     -numpy.sin(A) + 2 * numpy.cos(A * A) - 4 * A * A * numpy.sin(A * A)),
]


def central(f, a, order=1):
    """Central differences at two step sizes, which must agree."""
    results = []
    for h in (1e-3, 5e-4):
        if order == 1:
            results.append((f(a + h) - f(a - h)) / (2 * h))
        else:
            results.append((f(a + h) - 2 * f(a) + f(a - h)) / h ** 2)
    assert results[0] == pytest.approx(results[1], rel=1e-4, abs=1e-5)
    return results[1]


@pytest.mark.parametrize("f,first,second", CASES, ids=[c[0].__name__ for c in CASES])
def test_list_in_a_join_carries_derivatives(f, first, second):
    assert central(f, A) == pytest.approx(first, rel=1e-6, abs=1e-8)
    assert central(f, A, order=2) == pytest.approx(second, rel=1e-4, abs=1e-4)
    assert srcdiff.grad(f)(A) == pytest.approx(first, rel=1e-12, abs=1e-12)
    value, tangent = srcdiff.jvp(f)(A, 1.0)
    assert value == pytest.approx(f(A), rel=1e-15) and tangent == pytest.approx(first, rel=1e-12)
    assert srcdiff.hessian(f)(A) == pytest.approx(second, rel=1e-12, abs=1e-12)
    assert srcdiff.grad(srcdiff.grad(f))(A) == pytest.approx(second, rel=1e-12, abs=1e-12)


def joined(x, a):
    return np.sum(np.concatenate([x, [a, a * a]]) ** 2)  # |x|^2 + a^2 + a^4


def test_array_and_list_both_differentiated():
    x = numpy.array([0.3, -0.7, 1.1])
    dx, da = srcdiff.grad(joined, wrt=(0, 1))(x, A)
    numpy.testing.assert_allclose(dx, 2 * x, rtol=1e-14)
    assert da == pytest.approx(2 * A + 4 * A ** 3, rel=1e-14)
    value, tangent = srcdiff.jvp(joined, wrt=(0, 1))(x, A, numpy.ones(3), 1.0)
    assert tangent == pytest.approx(2 * numpy.sum(x) + 2 * A + 4 * A ** 3, rel=1e-14)


def rows_written_out(v):
    return np.sum(np.concatenate([M, [v, 2 * v]]) ** 2)  # |M|^2 + 5 |v|^2


def test_a_list_of_arrays_among_the_arrays():
    v = numpy.array([0.5, -1.5])
    numpy.testing.assert_allclose(srcdiff.grad(rows_written_out)(v), 10 * v, rtol=1e-14)
    _, tangent = srcdiff.jvp(rows_written_out)(v, numpy.array([1.0, 0.5]))
    assert tangent == pytest.approx(10 * (v[0] + 0.5 * v[1]), rel=1e-14)
    numpy.testing.assert_allclose(srcdiff.hessian(rows_written_out)(v), 10 * numpy.eye(2),
                                  rtol=1e-14)


def test_the_list_becomes_the_array_numpy_makes():
    source = srcdiff.source(srcdiff.grad(x_then_a_and_square))
    assert "numpy.array([a, mul])" in source
    assert "np.concatenate([X, array])" in source  # (named after the call: `array`)


def literal_list(x, a):
    return np.sum(np.concatenate([x, [1.0, 2.0]]) * a)  # a (sum x + 3)


def test_a_literal_list_stays_as_written():
    x = numpy.array([0.3, -0.7], dtype=numpy.float32)
    gradient = srcdiff.grad(literal_list, wrt=(0, 1))
    dx, da = gradient(x, A)
    assert dx.dtype == numpy.float32 and numpy.all(dx == numpy.float32(A))
    assert da == pytest.approx(float(numpy.sum(x)) + 3.0, rel=1e-7)
    source = srcdiff.source(gradient)
    assert "np.concatenate([x, [1.0, 2.0]])" in source and "numpy.array" not in source


def joined_array(x):
    return np.concatenate([x, [x[0] * 2.0, x[1]]])


def joined_with_a_float(x):
    return np.concatenate([x, [x[0] * 2.0, 2.0]])


def stacked_columns(x):
    return np.stack([x, [x[0] * 2.0, x[1]]], axis=1)


@pytest.mark.parametrize("f", [joined_array, joined_with_a_float, stacked_columns])
def test_dtypes_as_numpy_gives_them(f):
    """float32 elements make a float32 array, a Python float among them a float64 one,
    as NumPy makes them: the value and the tangent have NumPy's dtype."""
    x = numpy.array([0.3, -0.7], dtype=numpy.float32)
    value, tangent = srcdiff.jvp(f)(x, numpy.ones(2, numpy.float32))
    expected = f(x)
    assert value.dtype == expected.dtype == tangent.dtype
    numpy.testing.assert_array_equal(value, expected)
    h = 1e-3
    difference = (f(x.astype(float) + h) - f(x.astype(float) - h)) / (2 * h)
    numpy.testing.assert_allclose(tangent, difference, rtol=1e-6)


def f32_joined(x, a):
    y = np.concatenate([x, [a, 2.0]])
    return np.sum(y * y)  # |x|^2 + a^2 + 4


def test_float32_gradient_keeps_the_parameter_dtype():
    x = numpy.array([0.3, -0.7], dtype=numpy.float32)
    dx, da = srcdiff.grad(f32_joined, wrt=(0, 1))(x, A)
    assert dx.dtype == numpy.float32
    numpy.testing.assert_allclose(dx, 2 * x, rtol=1e-6)
    assert da == pytest.approx(2 * A)


MODEL = '''
import numpy as np


def f(x, a):
    return np.sum(np.concatenate([x, [a, a * a]]) ** 2)
'''


def test_standalone_module(tmp_path):
    """The module the srcdiff command writes finds the NumPy call it inserted, and runs
    without srcdiff."""
    (tmp_path / "model.py").write_text(MODEL)
    for mode in ("grad", "jvp"):
        result = subprocess.run(
            [sys.executable, "-m", "srcdiff", "generate", "model.py", "--mode", mode,
             "--types", "x=array[1],a=float", "--wrt", "a"],
            capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert result.returncode == 0, result.stderr
    program = textwrap.dedent("""
        import sys
        sys.modules["srcdiff"] = None
        import numpy
        import model_grad, model_jvp
        x = numpy.array([0.3, -0.7])
        print(repr(float(model_grad.grad_f(x, 0.5))))
        print(repr(float(model_jvp.jvp_f(x, 0.5, 1.0)[1])))
    """)
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    gradient, tangent = map(float, result.stdout.split())
    assert gradient == pytest.approx(2 * A + 4 * A ** 3) and tangent == gradient


# --- B: the tangent of an item of a value the kinds take for a number ---------------------

def shifted_forces(k, pos):
    s = 0.0
    for i in range(2):
        fo = np.zeros_like(pos)
        fo[1:] -= k * pos[:-1]
        s += np.sum(fo ** 2)
    return s  # 2 k^2 (pos0^2 + pos1^2)


POS = numpy.array([0.3, -0.2, 0.5])


def test_no_literal_zero_indexed_in_tangent_code():
    """Generating the code for numbers (at decoration) compiled ``d_item = 0.0[1:]``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jvp = srcdiff.jvp(shifted_forces)
        jvp_pos = srcdiff.jvp(shifted_forces, wrt=1)
        gradient = srcdiff.grad(shifted_forces, wrt=(0, 1))
        hessian = srcdiff.hessian(shifted_forces)
        hessian_pos = srcdiff.hessian(shifted_forces, wrt=1)
        squares = POS[0] ** 2 + POS[1] ** 2
        k = 2.0
        value, tangent = jvp(k, POS, 1.0)
        assert value == pytest.approx(2 * k * k * squares, rel=1e-14)
        assert tangent == pytest.approx(4 * k * squares, rel=1e-14)
        direction = numpy.array([1.0, 0.5, 0.25])
        _, tangent_pos = jvp_pos(k, POS, direction)
        assert tangent_pos == pytest.approx(4 * k * k * (POS[0] + 0.5 * POS[1]), rel=1e-14)
        dk, dpos = gradient(k, POS)
        assert dk == pytest.approx(4 * k * squares, rel=1e-14)
        numpy.testing.assert_allclose(dpos, [4 * k * k * POS[0], 4 * k * k * POS[1], 0.0],
                                      rtol=1e-14)
        assert hessian(k, POS) == pytest.approx(4 * squares, rel=1e-14)
        numpy.testing.assert_allclose(hessian_pos(k, POS), numpy.diag([4 * k * k] * 2 + [0.0]),
                                      atol=1e-14)
    assert "0.0[" not in srcdiff.source(jvp, 2.0, 0.5, 1.0)  # the code for numbers
    f = lambda k: shifted_forces(k, POS)  # noqa: E731
    assert central(f, k) == pytest.approx(4 * k * squares, rel=1e-6)


def item_of_zero_d(a):
    z = np.zeros_like(a)  # of a number: a 0-d array, a number as the kinds see it
    z = z + a
    return z[...] * 3.0  # 3a


def written_into_zero_d(a):
    z = np.zeros_like(a)
    z[...] = a * a
    return z * 3.0  # 3a^2


def test_tangent_of_an_item_of_a_number():
    """``z[...]`` of a 0-d array the kinds take for a number: the tangent ``d_a`` is a
    Python float, which ``d_a[...]`` failed to index (a TypeError where the function
    runs); ``set_item`` was given the plain zero to write into."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, tangent = srcdiff.jvp(item_of_zero_d)(A, 1.0)
        assert value == pytest.approx(3 * A) and tangent == pytest.approx(3.0)
        assert srcdiff.hessian(item_of_zero_d)(A) == 0.0
        value, tangent = srcdiff.jvp(written_into_zero_d)(A, 1.0)
        assert value == pytest.approx(3 * A * A) and tangent == pytest.approx(6 * A)
