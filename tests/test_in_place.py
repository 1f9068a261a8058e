"""Item assignments in loops change the function's own arrays in place (the ``in_place``
optimisation: ``runtime.write_item`` pushes the part it overwrites, the backward sweep
writes it back with ``runtime.restore_item``), where each used to copy the whole array
and tape the copy: a loop filling an array of n items kept n copies of n items. Checked
here: which assignments are changed in place and which are left to copies, the gradients
of programs whose backward sweep reads the array's values of every pass, in every
setting against central differences and the unoptimised code, second derivatives, and
the tape's size."""

import tracemalloc

import numpy
import pytest

import srcdiff
from arrays import numeric_gradient
from srcdiff.kinds import array
from srcdiff.pipeline import OPTIMIZATIONS, generate

np = numpy
rng = numpy.random.default_rng(5)


def filled(x, w):
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = np.tanh(x[i] * w)
    return np.sum(out ** 2)


def recurrence(x, w):
    out = np.zeros(x.shape[0])
    out[0] = x[0]
    for i in range(1, x.shape[0]):
        out[i] = np.sin(out[i - 1] * w) + x[i]  # the pass before's item, in each partial
    return np.sum(out * out) + np.sum(out[-1:])


def rows(X, W):
    H = np.zeros_like(X)
    H[0] = X[0]
    for i in range(1, X.shape[0]):
        H[i] = np.tanh(H[i - 1] @ W) + X[i]  # a row: the overwritten part is an array
    return np.sum(H ** 2)


def overwritten(x, w):
    out = x * 1.0  # a new array: arithmetic
    for k in range(3):
        for i in range(x.shape[0]):
            if out[i] > 0.0:
                out[i] = out[i] * w  # each item written again on every pass
            else:
                out[i : i + 1] = np.cos(out[i : i + 1] + w)  # a slice
        out[np.array([0, 0])] = out[1] * w  # a repeated index: the last write stays
    return np.sum(out ** 2)


def mixed(x, w):
    out = np.ones(x.shape[0]) * w
    total = 0.0
    for i in range(x.shape[0]):
        total = total + np.sum(out * x)  # the whole array, read before each change
        out[i] = total * 0.1
    return total + np.sum(np.sin(out))


# The backward sweep recomputed a temporary read from a view of the array (`item =
# u[1:]`) at the start of a later statement's backward statements, before the change
# was undone: the view showed the new values, and the gradient was silently wrong
# (a new user's heat equation: d/dalpha 1.2786 where it is 1.3812).
def slice_scaled(x, w):
    u = x.copy()
    for _ in range(1):
        d = u[1:] * 2.0  # recomputed from the view u[1:], after u[1:] changed
        u[1:] = w * d
    return np.sum(u)


def slice_augmented(x, w):
    u = x.copy()
    for _ in range(1):
        u[1:] += w * (u[1:] * 2.0)
    return np.sum(u)


def overlapping(x, w):
    y = x.copy()
    for _ in range(1):
        y[1:] *= w * y[:-1]
    return np.sum(y)


def heat(x, w):
    u = x.copy()
    for _ in range(5):
        u[1:-1] += w * (u[2:] - 2 * u[1:-1] + u[:-2])
    return np.sum(u ** 2)


def whole_then_slice(x, w):
    u = x * 1.0
    for _ in range(2):
        d = u * 2.0  # the whole array, changed in place after it is read
        u[1:] = w * d[:-1]
    return np.sum(u * u)


PROGRAMS = [(filled, (rng.normal(size=6), 0.7), {"x": array(1)}),
            (recurrence, (rng.normal(size=6) * 0.5, 0.9), {"x": array(1)}),
            (rows, (rng.normal(size=(4, 3)) * 0.5, rng.normal(size=(3, 3)) * 0.5),
             {"X": array(2), "W": array(2)}),
            (overwritten, (rng.normal(size=4), 0.8), {"x": array(1)}),
            (mixed, (rng.normal(size=5), 0.6), {"x": array(1)})] + [
            (func, (rng.normal(size=6), 0.3), {"x": array(1)})
            for func in (slice_scaled, slice_augmented, overlapping, heat, whole_then_slice)]
def code(generated):
    """The generated source without its comments (which quote the primal statements)."""
    return "\n".join(line.split("  # ")[0] for line in generated.source.splitlines())


SETTINGS = [("optimised", {}), ("unoptimised", {"optimize": False})] + [
    (f"without {name}", {"disable": (name,)}) for name in OPTIMIZATIONS]


@pytest.mark.parametrize("func, args, kinds", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_changed_in_place_and_right_in_every_setting(func, args, kinds):
    names = tuple(kinds) + tuple(n for n in ("w", "W") if n in func.__code__.co_varnames[:2]
                                 and n not in kinds)
    optimised = generate(func, names, name="g", kinds=kinds)
    assert "write_item(" in code(optimised) and "restore_item(" in code(optimised)
    without = generate(func, names, name="g", kinds=kinds, disable=("in_place",))
    assert "write_item(" not in code(without) and "set_item(" in code(without)
    before = [numpy.copy(a) for a in args]
    want = numeric_gradient(func, args, (0, 1))
    reference = generate(func, names, name="g", kinds=kinds, optimize=False).function(*args)
    for label, setting in SETTINGS:
        got = generate(func, names, name="g", kinds=kinds, **setting).function(*args)
        for g, n, r in zip(got, want, reference):
            numpy.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8, err_msg=label)
            numpy.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14, err_msg=label)
    for a, b in zip(args, before):
        numpy.testing.assert_array_equal(a, b)  # the caller's arrays are untouched


@pytest.mark.parametrize("func, args, kinds", PROGRAMS[:3], ids=[p[0].__name__ for p in PROGRAMS[:3]])
def test_second_derivatives(func, args, kinds):
    vector = tuple(rng.normal(size=numpy.shape(a)) for a in args)
    if not numpy.shape(args[1]):
        vector = (vector[0], float(vector[1]))
    product = srcdiff.hvp(func, wrt=(0, 1))(*args, *vector)
    gradient = srcdiff.grad(func, wrt=(0, 1))
    h = 1e-5
    plus = gradient(*(a + h * v for a, v in zip(args, vector)))
    minus = gradient(*(a - h * v for a, v in zip(args, vector)))
    for got, p, m in zip(product, plus, minus):
        numpy.testing.assert_allclose(got, (p - m) / (2 * h), rtol=1e-5, atol=1e-7)


def test_views_of_an_array_changed_in_place_by_hand():
    # sum(u) = x0 + 2 w (x1 + x2), for both forms of slice_scaled and slice_augmented's
    # u[1:] (1 + 2 w); overlapping: y0 + w y0 y1 + w y1 y2 (the right side is computed
    # before the change)
    x, w = numpy.array([1.0, 2.0, 3.0]), 0.3
    for func in (slice_scaled, slice_augmented):
        got = srcdiff.grad(func, wrt=(0, 1))(x, w)
        numpy.testing.assert_allclose(got[0], [1.0, 2 * w if func is slice_scaled
                                               else 1 + 2 * w, 2 * w if func is slice_scaled
                                               else 1 + 2 * w], rtol=1e-14)
        assert got[1] == pytest.approx(2 * (x[1] + x[2]), rel=1e-14)
    got = srcdiff.grad(overlapping, wrt=(0, 1))(x, w)
    numpy.testing.assert_allclose(got[0], [1 + w * x[1], w * x[0] + w * x[2], w * x[1]],
                                  rtol=1e-14)
    assert got[1] == pytest.approx(x[0] * x[1] + x[1] * x[2], rel=1e-14)
    assert srcdiff.jvp(overlapping, wrt=1)(x, w, 1.0)[1] == pytest.approx(
        x[0] * x[1] + x[1] * x[2], rel=1e-14)


def test_a_loop_filling_an_array_makes_no_copy_of_it():
    generated = generate(filled, ("x", "w"), name="g", kinds={"x": array(1)})
    assert "set_item(" not in code(generated) and code(generated).count("write_item(") == 1


def test_the_value_returned_with_the_gradient():
    x = rng.normal(size=5)
    value, _ = srcdiff.value_and_grad(recurrence)(x, 0.9)
    assert value == recurrence(x, 0.9)


def test_the_tape_holds_an_item_a_pass_not_the_array():
    gradient = srcdiff.grad(filled, wrt=(0, 1))
    peaks = {}
    for n in (500, 2000):
        x = rng.normal(size=n)
        gradient(x, 0.7)
        tracemalloc.start()
        gradient(x, 0.7)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # with copies: 8 n^2 bytes (32 MB at 2000); in place, a few hundred bytes a pass
    assert peaks[2000] < 1_000_000, peaks
    assert peaks[2000] < 6 * peaks[500], peaks


# -- left to copies: what else may see the array, or code that cannot undo the change --------

def changes_a_parameter(x, w):
    for i in range(x.shape[0]):
        x[i] = x[i] * w
    return np.sum(x ** 2)


def changes_a_view_of_a_parameter(x, w):
    part = x[1:]
    for i in range(part.shape[0]):
        part[i] = part[i] * w
    return np.sum(part ** 2)


def changes_what_a_call_returned(x, w):
    out = np.asarray(x)  # a view: may be the caller's array
    for i in range(x.shape[0]):
        out[i] = out[i] * w
    return np.sum(out ** 2)


SCRATCH = numpy.zeros(3)


def changes_a_global(x, w):
    buffer = SCRATCH
    for i in range(3):
        buffer[i] = x[i] * w
    return np.sum(buffer ** 2)


def outside_a_loop(x, w):
    out = np.zeros(3)
    out[0] = x[0] * w  # at the top level: one copy, made once
    return np.sum(out * x)


@pytest.mark.parametrize("func", [changes_a_parameter, changes_a_view_of_a_parameter,
                                  changes_what_a_call_returned, outside_a_loop])
def test_left_to_copies(func):
    x = rng.normal(size=3)
    generated = generate(func, ("x", "w"), name="g", kinds={"x": array(1)})
    assert "write_item(" not in code(generated) and "set_item(" in code(generated)
    before = x.copy()
    got = generated.function(x, 0.7)
    numpy.testing.assert_array_equal(x, before)
    want = numeric_gradient(lambda x, w: func(x.copy(), w), (x, 0.7), (0, 1))  # it changes x
    for g, n in zip(got, want):
        numpy.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8)


def test_a_global_array_is_left_to_copies():
    x = rng.normal(size=3)
    generated = generate(changes_a_global, ("x", "w"), name="g", kinds={"x": array(1)})
    assert "write_item(" not in code(generated)
    generated.function(x, 0.7)
    assert not SCRATCH.any()  # the gradient leaves the module's array as it was


def test_vector_jacobian_checkpointed_and_compiled_code_copies():
    kinds = {"x": array(1)}
    vjp = generate(filled, ("x", "w"), name="g", kinds=kinds, vjp=True)
    checkpointed = generate(filled, ("x", "w"), name="g", kinds=kinds, checkpoints=2)
    for generated in (vjp, checkpointed):
        assert "write_item(" not in code(generated) and "set_item(" in code(generated)
    x = rng.normal(size=5)
    numpy.testing.assert_allclose(checkpointed.function(x, 0.7)[0],
                                  srcdiff.grad(filled, wrt=(0, 1))(x, 0.7)[0], rtol=1e-14)


# -- an array made afresh in the change's block: only names bound since can refer to it ----
# (a new user's wave equation was refused: `new` is changed in place while `u`, which may
# refer to the same array, is still read; `u` refers to the array of the step before)

def wave(x, w):
    u = x.copy()
    prev = x.copy()
    for _ in range(4):
        new = u.copy()
        new[1:-1] = 2 * u[1:-1] - prev[1:-1] + w * (u[2:] - 2 * u[1:-1] + u[:-2])
        prev = u
        u = new
    return np.sum(u ** 2)


def ping_pong(x, w):
    a = x * 1.0
    for _ in range(3):
        b = np.zeros_like(a)
        b[0] = a[-1] * w
        b[1:] = np.sin(a[:-1]) + w * a[1:]
        a = b
    return np.sum(a * a) + a[0]


def wave_with_boundaries(x, w):
    # the fresh array changed at its ends too, before and after (found by the arrays
    # generator: the first change hid where the array was made)
    u = x.copy()
    prev = x.copy()
    for _ in range(3):
        new = u.copy()
        new[0] = w
        new[1:-1] = 2 * u[1:-1] - prev[1:-1] + w * (u[2:] - 2 * u[1:-1] + u[:-2])
        new[-1] = u[-2] * w
        prev = u
        u = new
    return np.sum(u ** 2)


@pytest.mark.parametrize("func", [wave, ping_pong, wave_with_boundaries])
def test_a_fresh_array_changed_while_the_step_before_is_read(func):
    x = rng.normal(size=6)
    before = x.copy()
    want = numeric_gradient(func, (x, 0.3), (0, 1))
    reference = generate(func, ("x", "w"), name="g", kinds={"x": array(1)},
                         optimize=False).function(x, 0.3)
    for label, setting in SETTINGS:
        got = generate(func, ("x", "w"), name="g", kinds={"x": array(1)},
                       **setting).function(x, 0.3)
        for g, n, r in zip(got, want, reference):
            numpy.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8, err_msg=label)
            numpy.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14, err_msg=label)
    numpy.testing.assert_array_equal(x, before)
    value, _ = srcdiff.value_and_grad(func, wrt=(0, 1))(x, 0.3)
    assert value == func(x, 0.3)
    tangent = rng.normal(size=6)
    assert srcdiff.jvp(func)(x, 0.3, tangent)[1] == pytest.approx(
        float(numpy.dot(want[0], tangent)), rel=1e-6)


def bound_since_and_read(x, w):
    u = x.copy()
    s = 0.0
    for _ in range(2):
        new = u * 1.0
        alias = new  # bound after the array was made: it is the same array
        new[0] = w
        s = s + alias[0]
        u = new
    return s + np.sum(u)


def bound_in_a_branch_since(x, w):
    u = x.copy()
    s = 0.0
    for _ in range(2):
        new = u * 1.0
        if w > 0:
            part = new[1:]
        else:
            part = u[1:]
        new[1] = w
        s = s + np.sum(part)
        u = new
    return s


def made_in_another_block(x, w):
    new = x * 1.0
    u = new
    for i in range(2):
        new[i] = w  # the array made before the loop: u is the same array
    return np.sum(u)


def made_by_a_view(x, w):
    u = x.copy()
    for _ in range(2):
        new = np.asarray(u)  # may return u itself
        new[0] = w
        u = u * 1.0 + np.sum(new)
    return np.sum(u)


def bound_between_changes(x, w):
    u = x.copy()
    s = 0.0
    for _ in range(2):
        new = u.copy()
        new[0] = w
        alias = new  # the same array, changed again below
        new[1] = w * 2.0
        s = s + alias[1]
        u = new
    return s


@pytest.mark.parametrize("func, changed, other", [
    (bound_since_and_read, "new", "alias"), (bound_in_a_branch_since, "new", "part"),
    (bound_between_changes, "new", "alias"),
    (made_in_another_block, "new", "u"), (made_by_a_view, "new", "u")])
def test_still_refused_where_another_name_may_hold_the_array(func, changed, other):
    # Python changes the array both names hold: the gradient would not see it
    with pytest.raises(srcdiff.UnsupportedSyntaxError,
                       match=f"`{changed}` is changed in place while `{other}`, which may "
                       "refer to the same array, is still read"):
        srcdiff.grad(func, wrt=(0, 1))(rng.normal(size=3), 0.4)


def verlet_like(x):
    a = numpy.zeros_like(x)
    for i in range(x.size):
        a[i] += x[i] ** 2
    for _ in range(2):
        a_new = numpy.zeros_like(x)  # a new array each step, filled by the loop below
        for i in range(x.size):
            a_new[i] += x[i] ** 2
        x = x + 0.1 * (a + a_new)
        a = a_new  # the last step's array: never the new one
    return numpy.sum(x)


def filled_then_kept(x):
    buf = numpy.zeros_like(x)
    total = 0.0
    for _ in range(2):
        for i in range(x.size):
            buf[i] += x[i] * 2.0  # refused: prev is this array from the second step on
        total = total + numpy.sum(prev) if _ else total
        prev = buf
    return total


def test_an_array_filled_by_a_nested_loop_each_step_is_not_an_alias():
    # a sixth trial's velocity Verlet: refused before ('a_new is changed in place while
    # a, which may refer to the same array'); the array is made anew by the step's body
    # before the loop filling it, so a (bound after, to the last step's) is never it
    x = numpy.array([0.5, -0.3, 0.2])
    expected = numeric_gradient(verlet_like, (x,), (0,))[0]
    numpy.testing.assert_allclose(srcdiff.grad(verlet_like)(x), expected, rtol=1e-6)
    with pytest.raises(srcdiff.UnsupportedSyntaxError, match="may refer to the same array"):
        srcdiff.grad(filled_then_kept)(x)
