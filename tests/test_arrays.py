"""NumPy code as people write it: methods, indexing, item assignment in loops,
broadcasting, mixed numbers and arrays; gradients checked by central differences.
And what srcdiff refuses, rather than return a wrong gradient."""

import inspect
import math

import numpy
import pytest

import srcdiff

from arrays import assert_gradients_close, numeric_gradient, program

rng = numpy.random.default_rng(7)


def check(func, *args, wrt=None, rtol=1e-6):
    wrt = tuple(range(len(args))) if wrt is None else wrt
    gradient = srcdiff.grad(func, wrt=wrt)(*args)
    expected = numeric_gradient(func, list(args), wrt)
    assert_gradients_close(gradient, expected, args, wrt, rtol=rtol)
    return gradient


# --- the cases named in the issue -------------------------------------------------------

def sum_of_ratio(a, y):
    return np.sum(a / y)


np = numpy


def test_scalar_divided_by_vector_gives_a_scalar_gradient():
    """Tangent gets this wrong: the gradient for ``a`` must be a number, summed over y."""
    y = numpy.array([1.0, 2.0, 4.0])
    da, dy = srcdiff.grad(sum_of_ratio, wrt=(0, 1))(2.0, y)
    assert numpy.shape(da) == () and da == pytest.approx(1 + 1 / 2 + 1 / 4)
    numpy.testing.assert_allclose(dy, -2.0 / y ** 2)


def total(x):
    return x.sum()


def test_method_sum():
    x = rng.normal(size=(3, 4))
    gradient = check(total, x)[0]
    assert gradient.dtype == numpy.float64


def squares_in_a_loop(x, n):
    a = np.zeros(n)
    for i in range(n):
        a[i] = x[i] ** 2 * (i + 1)
    return np.sum(a * a)


def test_item_assignment_in_a_loop():
    x = rng.normal(size=5)
    gradient = check(squares_in_a_loop, x, 5, wrt=(0,))[0]
    numpy.testing.assert_allclose(gradient, 4 * x ** 3 * numpy.arange(1, 6) ** 2)


def overwrite(x):
    a = x * 1.0
    for i in range(3):
        a[i] = a[i] * a[i] + a[i + 1]  # reads the value it overwrites, and a neighbour
    return np.sum(a)


def test_item_assignment_reads_the_value_it_overwrites():
    check(overwrite, rng.normal(size=5))


# --- indexing ---------------------------------------------------------------------------

def indexed(x):
    return (x[0, 1] * x[-1, 0] + np.sum(x[1:, :2] ** 2) + np.sum(x[:, None, 1])
            + np.sum(x[..., 2]))


def fancy(x, index):
    return np.sum(x[index] ** 2)


def test_integer_slice_none_and_ellipsis_indexing():
    check(indexed, rng.normal(size=(3, 3)))


def test_repeated_indices_accumulate():
    x = rng.normal(size=4)
    index = numpy.array([0, 2, 2, 2])
    gradient = check(fancy, x, index, wrt=(0,))[0]
    numpy.testing.assert_allclose(gradient, [2 * x[0], 0, 6 * x[2], 0])


def set_column(x, v):
    m = np.ones((3, 3))
    m[:, 1] = v * x
    m[1:-1] = m[1:-1] * 2.0
    m[0] += x
    return np.sum(m ** 2)


def test_slice_and_column_assignment_and_item_increment():
    check(set_column, rng.normal(size=3), 0.7)


def running(x, w):
    s = np.zeros(3)
    for k in range(4):
        s += w * x[k]
        s[k % 3] -= 0.5 * s[(k + 1) % 3]
    return np.dot(s, s)


def test_in_place_operators_inside_a_loop():
    check(running, rng.normal(size=(4, 3)), rng.normal(size=3))


# --- shapes, broadcasting, methods ------------------------------------------------------

def methods(x, y):
    z = x.T.dot(y).reshape(2, 3)
    return z.mean(axis=0).sum() + x.max() + (x * x).var() + x.reshape(-1).std()


def test_method_forms():
    check(methods, rng.normal(size=(4, 2)), rng.normal(size=(4, 3)))


def broadcast(a, row, column, s):
    return np.sum(np.maximum(a * row, column) ** 2 / (1.0 + s * np.exp(-column)))


def test_broadcasting_in_every_direction():
    check(broadcast, rng.normal(size=(3, 4)), rng.normal(size=4) + 3.0,
          rng.normal(size=(3, 1)), 0.5)


def stacked(a, b):
    c = np.array([a, 2.0 * b, a * b])
    m = np.stack([c, c ** 2])
    return np.sum(np.concatenate([m[0], m[1] * 3.0]) * np.arange(6))


def test_array_from_numbers_and_stacks():
    check(stacked, 0.3, -1.2)


def unused(x, y):
    return np.sum(x) * 2.0


def test_gradient_of_an_unused_array_has_its_shape():
    dx, dy = srcdiff.grad(unused, wrt=(0, 1))(numpy.ones(3), numpy.ones((2, 2)))
    numpy.testing.assert_array_equal(dy, numpy.zeros((2, 2)))


def through_a_loop_that_may_not_run(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sum(x[i] * x)
    return s


def test_gradient_through_a_loop_that_runs_zero_times():
    x = rng.normal(size=3)
    assert srcdiff.grad(through_a_loop_that_may_not_run)(x, 0).shape == (3,)
    check(through_a_loop_that_may_not_run, x, 3, wrt=(0,))


def test_float32_gradients_stay_float32():
    x = numpy.arange(1.0, 4.0, dtype=numpy.float32)
    assert srcdiff.grad(total)(x).dtype == numpy.float32


def logistic(w, X, t):
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    return -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))


def test_matrix_code():
    X = rng.normal(size=(6, 3))
    t = (rng.uniform(size=6) > 0.5).astype(float)
    check(logistic, rng.normal(size=3), X, t, wrt=(0,))
    assert "X.T @ b_" in srcdiff.source(srcdiff.grad(logistic), numpy.zeros(3), X, t)


def test_code_that_needs_arrays_is_generated_at_the_first_call():
    fresh = program("def loss(w, X, t):\n    return np.sum((X @ w - t) ** 2)\n", "loss")
    gradient = srcdiff.grad(fresh)  # `@` of numbers: no scalar code to make
    with pytest.raises(srcdiff.SrcdiffError, match="needs arrays: pass example arguments"):
        srcdiff.source(gradient)
    assert not hasattr(gradient, "__wrapped__")  # never the primal's source
    assert str(inspect.signature(gradient)) == "(w, X, t)"
    gradient(numpy.zeros(3), numpy.ones((2, 3)), numpy.ones(2))
    assert "X.T @ b_" in srcdiff.source(gradient)
    with pytest.raises(srcdiff.KindError, match="matmul of a number"):
        gradient(0.5, 2.0, 1.0)


def squashed(w, x):
    return np.sum(np.tanh(w * x) ** 2)


def test_one_gradient_specialised_per_kind_of_argument():
    gradient = srcdiff.grad(squashed, wrt=(0, 1))
    scalar = srcdiff.source(gradient, 0.5, 2.0)
    assert "unbroadcast" not in scalar and "numpy.sum" not in scalar
    assert "numpy.sum(" in srcdiff.source(gradient, 0.5, numpy.ones(3))  # w was broadcast
    assert "unbroadcast(" in srcdiff.source(gradient, numpy.ones((2, 1)), numpy.ones(3))
    for args in [(0.5, 2.0), (0.5, rng.normal(size=3)), (rng.normal(size=(2, 1)), rng.normal(size=3)),
                 (rng.normal(size=3), rng.normal(size=3))]:
        check(squashed, *args)


def scalar_loop(x, n):
    for i in range(n):
        x = x * 0.9 + math.sin(x)
    return x


def test_scalar_code_has_no_array_helpers():
    text = srcdiff.source(srcdiff.grad(scalar_loop))
    assert "numpy" not in text and "unbroadcast" not in text


# --- refused, with a located error -------------------------------------------------------

def math_of_array(x):
    return np.sum(math.sin(x))


def returns_array(x):
    return x * 2.0


def shared(x):
    a = x * 1.0
    b = a[1:]
    a[1] = 0.0
    return np.sum(b)


def view_then_change(x):
    a = x * 1.0
    b = a.T
    b += 1.0
    return np.sum(a * x)


def test_math_function_of_an_array_is_refused():
    with pytest.raises(srcdiff.KindError, match=r"math.sin takes a number, but `x` is an array"):
        srcdiff.grad(math_of_array)(numpy.ones(3))


def test_array_result_is_refused():
    with pytest.raises(srcdiff.KindError, match="returns an array"):
        srcdiff.grad(returns_array)(numpy.ones(3))


@pytest.mark.parametrize("func, changed, other", [(shared, "a", "b"), (view_then_change, "b", "a")])
def test_changing_a_shared_array_in_place_is_refused(func, changed, other):
    with pytest.raises(srcdiff.UnsupportedSyntaxError,
                       match=f"`{changed}` is changed in place while `{other}`, which may "
                       "refer to the same array, is still read"):
        srcdiff.grad(func)(numpy.ones(3))


def test_integer_arrays_are_refused_as_variables():
    with pytest.raises(srcdiff.ArgumentKindError, match="float arrays only"):
        srcdiff.grad(total)(numpy.arange(3))


def test_lists_are_refused_with_advice():
    # a list differentiated with respect to is a structure (tests/test_structures.py),
    # whose items the function may read; used as an array, it is refused with advice
    with pytest.raises(srcdiff.errors.UnsupportedSyntaxError,
                       match="`x` is a list used as a value") as caught:
        srcdiff.grad(total)([1.0, 2.0])
    assert "numpy.asarray" in caught.value.hint


def axis_from_argument(x, k):
    return np.sum(np.sum(x, axis=k))


def test_non_constant_axis_is_refused():
    with pytest.raises(srcdiff.KindError, match="`axis` of numpy.sum must be written as a constant"):
        srcdiff.grad(axis_from_argument)(numpy.ones((2, 2)), 0)


def test_probe_programs_work_without_a_file():
    probe = program("def probe(x):\n    return numpy.sum(x ** 3)\n")
    numpy.testing.assert_allclose(srcdiff.grad(probe)(numpy.array([1.0, 2.0])), [3.0, 12.0])


def test_srcdiff_works_without_numpy(tmp_path):
    """NumPy is optional: with it missing, scalar code is differentiated as before and
    loading NumPy's rules is skipped quietly."""
    import subprocess
    import sys
    (tmp_path / "scalar_module.py").write_text(
        "import math\n\ndef f(x):\n    return math.sin(x) * x\n\n"
        "def g(x):\n    return x.sum() * 2.0\n\n"
        "def h(x, n):\n    return [x * k for k in range(n)][1]\n")
    script = ("import sys; sys.modules['numpy'] = None; sys.modules['scipy'] = None\n"
              "import srcdiff\n"
              "from srcdiff.rules import RULES\n"
              "RULES.load_extensions(everything=True)\n"
              "assert not RULES.loaded, RULES.loaded\n"
              "from scalar_module import f, g, h\n"
              "print(srcdiff.grad(f)(1.0))\n"
              "for func in (g, h):\n"
              "    try:\n        srcdiff.grad(func, wrt=0)(1.0, *([3] if func is h else []))\n"
              "    except srcdiff.UnsupportedSyntaxError as e:\n        print(e)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first, refusals = result.stdout.split("\n", 1)
    assert float(first) == pytest.approx(math.cos(1.0) + math.sin(1.0))
    # an array method with no NumPy to mean it is refused where written, not an internal error
    assert "scalar_module.py:7:12: `numpy.sum` is what this means on an array" in refusals
    # and so is a list of a length known only when the function runs (an array's rules)
    assert "scalar_module.py:10:12: this list's length is known only when the function " \
        "runs: srcdiff differentiates such lists as NumPy arrays, and NumPy is not " \
        "imported" in refusals


def plus(a, b):
    return np.sum(a + b) + np.sum(np.mean(a, axis=0))


def test_returned_gradients_are_writable_and_distinct():
    """An adjoint may be a broadcast view or one array for two parameters: the gradients
    handed back can still be updated in place, independently."""
    da, db = srcdiff.grad(plus, wrt=(0, 1))(numpy.ones((2, 3)), numpy.ones((2, 3)))
    assert da.flags.writeable and db.flags.writeable
    assert not numpy.may_share_memory(da, db)
    da -= 1.0
    numpy.testing.assert_array_equal(db, numpy.ones((2, 3)))
    numpy.testing.assert_array_equal(srcdiff.grad(total)(numpy.ones(2)), [1.0, 1.0])
    assert srcdiff.grad(total)(numpy.ones(2)).flags.writeable


def test_scalar_code_does_not_import_numpy(tmp_path):
    """Generating scalar gradients never imports NumPy (it costs 100 ms)."""
    import subprocess
    import sys
    (tmp_path / "scalar_only.py").write_text(
        "import math\n\ndef f(x, n):\n    s = 0.0\n    for i in range(n):\n"
        "        s = s + math.sin(x * i)\n    return s\n")
    script = ("import sys, srcdiff\nfrom scalar_only import f\n"
              "print(srcdiff.grad(f)(0.5, 3), 'numpy' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] == "False"


def view_after_the_changes(x):
    a = x * 1.0
    for i in range(2):
        a[i] = a[i] * 0.5 + 1.0
    b = a[1:]  # taken after the last change: nothing changes it later
    return np.sum(b * b)


def test_a_view_taken_after_the_last_change_is_accepted():
    """Found by tests/test_random_arrays.py: the sharing check follows program order."""
    check(view_after_the_changes, rng.normal(size=3))


def mean_by_shape(w, X):
    n, d = X.shape
    rows, columns = np.shape(X)
    return np.sum(X @ w) / (n * d) + np.sum(w) / (rows + columns)


OFFSETS = (0.5, 2.0)


def unpack_constants(x):
    low, high = OFFSETS
    return x * low + x * x * high


def test_unpacking_shapes_and_tuples_of_constants():
    """Found in the final review: `n, d = np.shape(X)` raised an InternalError."""
    w, X = rng.normal(size=3), rng.normal(size=(4, 3))
    gradient = check(mean_by_shape, w, X, wrt=(0,))[0]
    numpy.testing.assert_allclose(gradient, X.sum(axis=0) / 12 + 1 / 7)
    assert srcdiff.grad(unpack_constants)(3.0) == 0.5 + 2 * 3.0 * 2.0


def weighted_square_loss(w, X, y):
    return np.sum((X @ w - y) ** 2)


def test_calls_with_arrays_of_types_seen_before_skip_the_argument_checks():
    """A call whose arguments are floats, ints, bools and NumPy arrays of the types,
    ranks and dtypes of an earlier call goes to that call's code at once (api._types_of);
    anything new goes through the checks, which refuse as before."""
    g = srcdiff.grad(weighted_square_loss)
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=5)

    def expected(w):
        return 2 * X.T @ (X @ w - y)
    for _ in range(3):  # the first call checks; the next ones take the short way
        w = rng.normal(size=3)
        np.testing.assert_allclose(g(w, X, y), expected(w), rtol=1e-12)
    with pytest.raises(srcdiff.ArgumentKindError, match="array of int64"):
        g(np.arange(3), X, y)  # same rank, integer dtype: checked, refused
    w32 = rng.normal(size=3).astype(np.float32)
    assert g(w32, X.astype(np.float32), y.astype(np.float32)).dtype == np.float32
    with pytest.raises(srcdiff.ArgumentKindError):
        g(np.arange(3), X, y)  # still refused after other calls
    np.testing.assert_allclose(g(w, X, y), expected(w), rtol=1e-12)
    np.testing.assert_array_equal(g(w, X, y=y), g(w, X, y))  # a keyword: the general path


def test_jvp_and_hvp_with_arrays_of_types_seen_before_skip_the_argument_checks():
    """jvp and hvp remember the kinds of arguments of each combination of types, ranks
    and dtypes too (the tangents or vectors after them); each tangent is still checked
    against its argument's shape on every call, and anything new goes through the
    checks, which refuse as before."""
    jvp, hvp = srcdiff.jvp(weighted_square_loss), srcdiff.hvp(weighted_square_loss)
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=5)
    hessian = 2 * X.T @ X  # of sum((X w - y)^2), derived by hand
    for _ in range(3):  # the first call checks; the next ones take the short way
        w, v = rng.normal(size=3), rng.normal(size=3)
        value, tangent = jvp(w, X, y, v)
        assert value == pytest.approx(np.sum((X @ w - y) ** 2), rel=1e-12)
        assert tangent == pytest.approx(2 * (X @ w - y) @ (X @ v), rel=1e-12)
        np.testing.assert_allclose(hvp(w, X, y, v), hessian @ v, rtol=1e-12)
    for product in (jvp, hvp):
        with pytest.raises(srcdiff.ArgumentKindError, match=r"shape \(4,\); it must have shape \(3,\)"):
            product(w, X, y, rng.normal(size=4))  # same type, rank and dtype, wrong shape
        with pytest.raises(srcdiff.ArgumentKindError, match=r"has shape \(\); it must"):
            product(w, X, y, 1.0)  # a number for an array
        with pytest.raises(srcdiff.ArgumentKindError, match="array of int64"):
            product(np.arange(3), X, y, v)  # an integer array: checked, refused
    np.testing.assert_allclose(hvp(w, X, y, v), hessian @ v, rtol=1e-12)


SCRATCH = numpy.array([0.5, 1.0, 2.0])


def changes_a_global_through_an_alias(x, s):
    row = SCRATCH
    row[1] = s * np.sum(row)
    return np.sum(row * x) * s


def test_vjp_refuses_a_function_that_changes_a_global_array_in_place():
    """vjp runs the function for its value: a change it makes to a global array in place
    would be what its pull-back reads, at another point than the value's. Refused where
    the change is written, and so is jacobian, which runs vjp for the value's shape in
    either mode; grad, which does not run the function, computes at the array as it was
    and leaves it so (the README says so)."""
    before = SCRATCH.copy()
    x, s = numpy.array([1.0, -2.0, 0.5]), 1.5
    with pytest.raises(srcdiff.UnsupportedSyntaxError,
                       match="`row` may be the array `SCRATCH` from outside the function, "
                             "which it changes in place here") as caught:
        srcdiff.vjp(changes_a_global_through_an_alias, wrt=1)(x, s)
    assert caught.value.lineno == changes_a_global_through_an_alias.__code__.co_firstlineno + 2
    assert "SCRATCH.copy()" in caught.value.hint
    for mode in ("reverse", "forward"):
        with pytest.raises(srcdiff.UnsupportedSyntaxError, match="may be the array `SCRATCH`"):
            srcdiff.jacobian(changes_a_global_through_an_alias, wrt=0, mode=mode)(x, s)
    numpy.testing.assert_array_equal(SCRATCH, before)  # refused before running anything
    # d/ds of s * sum((a0, s * total, a2) * x), total = sum(SCRATCH) = 3.5, by hand:
    # s * (a0 x0 + s * total * x1 + a2 x2) -> (a0 x0 + a2 x2) + 2 s total x1
    expected = (0.5 * 1.0 + 2.0 * 0.5) + 2 * s * 3.5 * -2.0
    assert srcdiff.grad(changes_a_global_through_an_alias, wrt=1)(x, s) == pytest.approx(
        expected, rel=1e-14)
    numpy.testing.assert_array_equal(SCRATCH, before)
