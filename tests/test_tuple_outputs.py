"""Functions that return a tuple (several outputs): ``vjp``, ``jvp`` and ``jacobian``.

- Every program below against central differences, output by output (the Jacobians
  computed here from the function alone), through all three entry points: the pull-back
  of a random tuple of cotangents is ``sum_i J_i^T ct_i``, the push-forward of random
  tangents is ``(J_i v)_i``, ``jacobian`` in both modes is ``(J_i)_i`` (outputs outer,
  parameters inner).
- The dot-product test ``<ū, J v> = <Jᵀ ū, v>`` between vjp and jvp, in every
  optimisation setting.
- ``return a, a``, a constant or inactive output, a helper returning a tuple.
- Refusals: grad and the rest need one number, every return gives as many values, the
  cotangent has the value's structure.
"""

import math

import numpy
import pytest

import srcdiff
from srcdiff.errors import ArgumentKindError, UnsupportedSyntaxError
from srcdiff.kinds import array
from srcdiff.pipeline import generate

from test_translation_validation import SETTINGS


# --- the programs -----------------------------------------------------------------------

def fn_multiple_return(a):  # Tangent's corpus
    return 2 * a, a


def numbers(x, y):
    s = math.sin(x) * y
    return s, x * x + y, math.exp(s / 3)


def arrays(x, W):
    h = numpy.tanh(W @ x)
    return h, W @ h * x


def mixed(x, W):
    h = numpy.tanh(W @ x)
    return numpy.sum(h * h), h, float(numpy.max(x)) * 2.0


def branches(x, y):
    if x > 0:
        return x * y, math.sin(x)
    return y, x ** 2


def early_in_loop(x, n):
    acc = 1.0
    for i in range(n):
        acc = acc * x + 0.5
        if acc > 10.0:
            return acc, acc * i
    return math.sqrt(acc), x


def while_loop(x, y):
    total = 0.0
    while total < 5.0:
        total = total + x * y
        if total > 4.0 and y > 1.5:
            return total, y
    return total * 2.0, y * y


def polar(r, t):
    return r * math.cos(t), r * math.sin(t)


def through_helper(r, t):
    x, y = polar(r, t)
    return x * y, y


def returns_helper(r, t):
    if r > 5.0:
        return polar(r, t)
    p, q = polar(t, r)
    return p + q, p - q


def returns_nested(r, t):
    def inner(a, b):
        return a * math.cos(b), a * math.sin(b)
    if r > 5.0:
        return inner(r, t)
    return inner(t, r)[1] * r, inner(r, t)[0]


def twice(a, b):
    c = a * b
    return c, c, a


def with_constant(x):
    return math.cos(x), 3.0, 2


def inactive_array(x, W):
    return W * 2.0, numpy.sum(W) * x, W.shape[0]


def unrolled(x):
    out = x
    for k in range(3):
        out = out * x - k
    return out, out / x


PROGRAMS = [
    (fn_multiple_return, (0.7,)),
    (numbers, (0.4, 1.3)),
    (numbers, (-1.1, 0.2)),
    (arrays, (numpy.array([0.3, -0.2, 0.5]), numpy.arange(9.0).reshape(3, 3) / 10 - 0.3)),
    (mixed, (numpy.array([0.3, -0.2, 0.5]), numpy.arange(6.0).reshape(2, 3) / 10 - 0.2)),
    (branches, (0.6, 1.5)),
    (branches, (-0.6, 1.5)),
    (early_in_loop, (1.5, 8)),  # returns from the loop
    (early_in_loop, (0.3, 3)),  # runs to the end
    (while_loop, (0.7, 1.9)),  # returns from the loop
    (while_loop, (0.45, 1.0)),  # runs to the end
    (through_helper, (1.3, 0.4)),
    (returns_helper, (1.3, 0.4)),
    (returns_helper, (6.3, 0.4)),
    (returns_nested, (1.3, 0.4)),
    (returns_nested, (6.3, 0.4)),
    (twice, (0.8, -1.7)),
    (with_constant, (0.9,)),
    (inactive_array, (0.5, numpy.array([[1.0, 2.0], [3.0, -1.0]]))),
    (unrolled, (1.2,)),
]
IDS = [f"{f.__name__}-{i}" for i, (f, _) in enumerate(PROGRAMS)]


def _floats(args):
    """The positions of the arguments to differentiate: the float ones."""
    return tuple(i for i, a in enumerate(args) if not isinstance(a, int))


def _differences(func, args, k, h=1e-6):
    """(∂ y_i / ∂ args[k])_i by central differences, each of shape y_i.shape +
    args[k].shape."""
    point = args[k]
    values = [numpy.asarray(v, dtype=float) for v in func(*args)]
    result = [numpy.zeros(v.shape + numpy.shape(point)) for v in values]
    for index in numpy.ndindex(numpy.shape(point)):
        up, down = list(args), list(args)
        if numpy.ndim(point):
            up[k], down[k] = point.copy(), point.copy()
            up[k][index] += h
            down[k][index] -= h
        else:
            up[k], down[k] = point + h, point - h
        for i, (above, below) in enumerate(zip(func(*up), func(*down))):
            result[i][(...,) + index] = (numpy.asarray(above, dtype=float)
                                         - numpy.asarray(below, dtype=float)) / (2 * h)
    return result


def _random_like(value, rng):
    return rng.normal(size=numpy.shape(value)) if numpy.ndim(value) else float(rng.normal())


def _inner(a, b):
    return float(numpy.sum(numpy.asarray(a) * numpy.asarray(b)))


# --- against central differences --------------------------------------------------------

@pytest.mark.parametrize("func, args", PROGRAMS, ids=IDS)
def test_vjp_pulls_back_a_tuple_of_cotangents(func, args):
    wrt = _floats(args)
    value, pullback = srcdiff.vjp(func, wrt=wrt)(*args)
    expected_value = func(*args)
    assert type(value) is tuple and len(value) == len(expected_value)
    for got, want in zip(value, expected_value):
        numpy.testing.assert_array_equal(got, want)
    rng = numpy.random.default_rng(len(args))
    cotangent = tuple(_random_like(v, rng) for v in value)
    pulled = pullback(cotangent)
    assert len(pulled) == len(wrt)
    for k, got in zip(wrt, pulled):
        expected = sum(numpy.tensordot(c, J, axes=numpy.ndim(c))
                       for c, J in zip(cotangent, _differences(func, args, k)))
        assert numpy.shape(got) == numpy.shape(args[k])
        numpy.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("func, args", PROGRAMS, ids=IDS)
def test_jvp_pushes_forward_to_a_tuple_of_tangents(func, args):
    wrt = _floats(args)
    rng = numpy.random.default_rng(7)
    tangents = [_random_like(args[k], rng) for k in wrt]
    value, pushed = srcdiff.jvp(func, wrt=wrt)(*args, *tangents)
    expected_value = func(*args)
    assert type(value) is tuple and type(pushed) is tuple
    assert len(pushed) == len(value) == len(expected_value)
    for got, want in zip(value, expected_value):
        numpy.testing.assert_array_equal(got, want)
    expected = [0.0 for _ in value]
    for k, t in zip(wrt, tangents):
        for i, J in enumerate(_differences(func, args, k)):
            expected[i] = expected[i] + numpy.tensordot(J, t, axes=numpy.ndim(t))
    for i, (got, want) in enumerate(zip(pushed, expected)):
        assert numpy.shape(got) == numpy.shape(value[i])  # zero of the output's shape too
        numpy.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("mode", ["forward", "reverse", None])
@pytest.mark.parametrize("func, args", PROGRAMS, ids=IDS)
def test_jacobian_has_one_per_output(func, args, mode):
    wrt = _floats(args)
    several = srcdiff.jacobian(func, wrt=wrt, mode=mode)(*args)
    first = srcdiff.jacobian(func, wrt=wrt[0], mode=mode)(*args)
    expected = {k: _differences(func, args, k) for k in wrt}
    value = func(*args)
    assert type(several) is tuple and len(several) == len(value)
    assert type(first) is tuple and len(first) == len(value)
    for i in range(len(value)):  # outputs outer, parameters inner
        assert type(several[i]) is tuple and len(several[i]) == len(wrt)
        for position, k in enumerate(wrt):
            want = expected[k][i]
            assert numpy.shape(several[i][position]) == want.shape
            numpy.testing.assert_allclose(several[i][position], want, rtol=1e-6, atol=1e-7)
        numpy.testing.assert_allclose(first[i], expected[wrt[0]][i], rtol=1e-6, atol=1e-7)
        if not want.shape:
            assert type(first[i]) is float


@pytest.mark.parametrize("setting, options", SETTINGS, ids=[s for s, _ in SETTINGS])
@pytest.mark.parametrize("func, args", PROGRAMS, ids=IDS)
def test_dot_product_of_vjp_and_jvp(func, args, setting, options):
    """<ū, J v> = <Jᵀ ū, v>, the two generated codes of each setting side by side."""
    wrt = _floats(args)
    names = tuple(list(__import__("inspect").signature(func).parameters)[k] for k in wrt)
    kinds = {name: array(numpy.ndim(a)) for name, a in
             zip(__import__("inspect").signature(func).parameters, args) if numpy.ndim(a)}
    reverse = generate(func, names, name="vjp", vjp=True, kinds=kinds, several=True, **options)
    forward = generate(func, names, name="jvp", mode="forward", with_value=True,
                       kinds=kinds, several=True, **options)
    rng = numpy.random.default_rng(11)
    value = func(*args)
    cotangent = [_random_like(v, rng) for v in value]
    tangents = [_random_like(args[k], rng) for k in wrt]
    forward_value, pushed = forward.function(*args, *tangents)
    pulled = reverse.function(*args, *cotangent)
    for got, want in zip(forward_value, value):
        numpy.testing.assert_array_equal(got, want)
    left = sum(_inner(c, p) for c, p in zip(cotangent, pushed))
    right = sum(_inner(p, t) for p, t in zip(pulled, tangents))
    assert left == pytest.approx(right, rel=1e-12, abs=1e-12)


# --- particular outputs -------------------------------------------------------------------

def test_an_output_returned_twice_adds_its_cotangents():
    value, pullback = srcdiff.vjp(fn_multiple_return)(3.0)
    assert value == (6.0, 3.0)
    assert pullback((1.0, 0.0)) == 2.0
    assert pullback((0.0, 1.0)) == 1.0
    assert pullback((0.5, 4.0)) == 5.0

    def same(x):
        return x, x
    assert srcdiff.vjp(same)(2.0)[1]((1.5, 2.5)) == 4.0
    assert srcdiff.jvp(same)(2.0, 3.0) == ((2.0, 2.0), (3.0, 3.0))
    assert srcdiff.jacobian(same)(2.0) == (1.0, 1.0)


def test_constant_and_inactive_outputs_have_zero_derivatives():
    value, tangent = srcdiff.jvp(with_constant)(0.9, 1.0)
    assert value == (math.cos(0.9), 3.0, 2)
    assert tangent == (-math.sin(0.9), 0.0, 0.0)
    assert all(type(t) is float for t in tangent)
    _, pullback = srcdiff.vjp(with_constant)(0.9)
    assert pullback((1.0, 100.0, 7.0)) == -math.sin(0.9)
    W = numpy.array([[1.0, 2.0], [3.0, -1.0]])
    value, tangent = srcdiff.jvp(inactive_array)(0.5, W, 2.0)  # with respect to x only
    assert isinstance(tangent[0], numpy.ndarray) and tangent[0].shape == (2, 2)
    assert not tangent[0].any() and tangent[1] == 2.0 * numpy.sum(W) and tangent[2] == 0.0
    _, pullback = srcdiff.vjp(inactive_array)(0.5, W)
    assert pullback((numpy.ones((2, 2)), 1.0, 5.0)) == numpy.sum(W)


def test_a_cotangent_is_not_changed():
    """The code adds to an output's adjoint, which starts as its cotangent: a 0-d array
    given as one must come back as it was (for one output too)."""
    cotangent = (numpy.array(1.5), numpy.array(2.5), numpy.array(0.5))
    _, pullback = srcdiff.vjp(twice, wrt=(0, 1))(0.8, -1.7)
    assert pullback(cotangent) == pytest.approx((4.0 * -1.7 + 0.5, 4.0 * 0.8))
    assert cotangent[0] == 1.5 and cotangent[1] == 2.5 and cotangent[2] == 0.5

    def doubled(x):
        return x + x
    one = numpy.array(1.0)
    assert srcdiff.vjp(doubled)(3.0)[1](one) == 2.0
    assert one == 1.0


def test_the_value_is_the_functions():
    x, W = PROGRAMS[3][1]
    value, _ = srcdiff.vjp(arrays, wrt=(0, 1))(x, W)
    numpy.testing.assert_array_equal(value[0], numpy.tanh(W @ x))
    value, _ = srcdiff.jvp(arrays)(x, W, numpy.ones(3))
    numpy.testing.assert_array_equal(value[1], W @ numpy.tanh(W @ x) * x)


# --- refusals -----------------------------------------------------------------------------

def _line_of(func, text):
    import inspect
    lines, start = inspect.getsourcelines(func)
    return start + next(i for i, line in enumerate(lines) if text in line)


@pytest.mark.parametrize("transform", [
    srcdiff.grad, srcdiff.value_and_grad, srcdiff.hessian,
    lambda f: (lambda *a: srcdiff.hvp(f)(*a, 1.0)),
    lambda f: (lambda *a: srcdiff.check_grad(f, *a)),
], ids=["grad", "value_and_grad", "hessian", "hvp", "check_grad"])
def test_one_number_transforms_refuse_tuples_at_the_return(transform):
    with pytest.raises(UnsupportedSyntaxError) as caught:
        transform(fn_multiple_return)(0.7)
    error = caught.value
    assert error.message == ("this function returns several values; a gradient needs a "
                             "function that returns one number")
    assert error.hint == ("srcdiff.vjp, srcdiff.jvp and srcdiff.jacobian take functions "
                          "that return a tuple")
    assert error.filename == __file__
    assert error.lineno == _line_of(fn_multiple_return, "return 2 * a, a")
    assert error.source_line.strip() == "return 2 * a, a"
    assert error.source_line[error.col:].startswith("2 * a, a")


def test_a_helper_returning_a_tuple_is_refused_where_grad_meets_it():
    with pytest.raises(UnsupportedSyntaxError) as caught:
        srcdiff.grad(through_helper)(1.0, 0.3)
    assert caught.value.lineno == _line_of(through_helper, "return x * y, y")


def returns_what_a_nested_function_returns(x):
    def inner(a):
        return a * 2.0, a * 3.0
    return inner(x)  # the tuple inner returns


def test_grad_of_a_function_returning_a_nested_functions_tuple_is_refused_at_its_return():
    with pytest.raises(UnsupportedSyntaxError) as caught:
        srcdiff.grad(returns_what_a_nested_function_returns)(1.0)
    assert caught.value.message == ("this function returns several values; a gradient needs "
                                    "a function that returns one number")
    assert caught.value.lineno == _line_of(returns_what_a_nested_function_returns,
                                           "return inner(x)")
    value, tangents = srcdiff.jvp(returns_what_a_nested_function_returns)(1.5, 1.0)
    assert value == (3.0, 4.5) and tangents == (2.0, 3.0)


def numbers_of_values_differ(x):
    if x > 0:
        return x, 2 * x
    return x


def lengths_differ(x):
    if x > 0:
        return x, 2 * x
    return x, x, x


@pytest.mark.parametrize("func, line, given, first", [
    (numbers_of_values_differ, "    return x\n", 1, 2),
    (lengths_differ, "return x, x, x", 3, 2),
])
def test_every_return_gives_as_many_values(func, line, given, first):
    for transform in (srcdiff.vjp, srcdiff.jvp):
        with pytest.raises(UnsupportedSyntaxError) as caught:
            transform(func)(1.0, *(() if transform is srcdiff.vjp else (1.0,)))
        error = caught.value
        first_line = _line_of(func, "return x, 2 * x")
        assert error.message == (f"this return gives {given} value{'s' if given > 1 else ''}"
                                 f" where the one on line {first_line} gives {first}: every "
                                 "return of a function must give as many values")
        assert error.lineno == _line_of(func, line.strip() if given > 1 else line)
        assert error.source_line[error.col:].startswith("return")


def test_the_cotangent_has_the_values_structure():
    _, pullback = srcdiff.vjp(mixed)(*PROGRAMS[4][1])
    with pytest.raises(ArgumentKindError, match=r"^the function returns a tuple of 3 values: "
                       r"pass a tuple of 3 cotangents, one for each \(not a float\)$"):
        pullback(1.0)
    with pytest.raises(ArgumentKindError, match=r"\(not a tuple of 2\)$"):
        pullback((1.0, numpy.ones(2)))
    with pytest.raises(ArgumentKindError, match=r"^the cotangent for \"the result's element 1\" "
                       r"has shape \(3,\); it must have shape \(2,\)$"):
        pullback((1.0, numpy.ones(3), 1.0))


# --- vjp's point ----------------------------------------------------------------------------

def _same(a):
    return a


def halves_in_place(x):
    view = _same(x)
    view *= 0.5
    return numpy.sum(view * view), view


def test_vjp_pulls_back_at_the_point_given():
    """The function changes its argument in place when vjp runs it for the value; the
    pull-back is the derivative at the argument as it was given (found by the fuzz
    campaign's tuple variant: it was taken at the changed array)."""
    given = numpy.array([1.0, 2.0])
    value, pullback = srcdiff.vjp(halves_in_place)(given)
    numpy.testing.assert_array_equal(given, [0.5, 1.0])  # as Python does
    numpy.testing.assert_array_equal(value[1], [0.5, 1.0])
    # d/dx sum((x/2)^2) = x/2; d(x/2)/dx = 1/2, at x = (1, 2)
    numpy.testing.assert_allclose(pullback((1.0, numpy.zeros(2))), [0.5, 1.0])
    numpy.testing.assert_allclose(pullback((0.0, numpy.ones(2))), [0.5, 0.5])


# --- the srcdiff command -----------------------------------------------------------------

def test_the_command_writes_a_jvp_module_for_tuple_outputs(tmp_path):
    """``srcdiff generate --mode jvp`` writes the tuple of tangents too, in a module that
    runs without srcdiff; ``--mode grad`` refuses the function at its return."""
    import subprocess
    import sys
    import textwrap
    from test_cli import run
    (tmp_path / "shapes.py").write_text(textwrap.dedent('''
        import math

        def polar(r, t):
            return r * math.cos(t), r * math.sin(t)
        '''))
    result = run("generate", "shapes.py", "--mode", "jvp", "--wrt", "t", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    check = ("import sys; sys.modules['srcdiff'] = None; import shapes_jvp; "
             "print(repr(shapes_jvp.jvp_polar(2.0, 0.5, 1.0)))")
    printed = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True,
                             text=True, check=True).stdout
    (value, tangent) = eval(printed)
    assert value == polar(2.0, 0.5)
    assert tangent == pytest.approx((-2.0 * math.sin(0.5), 2.0 * math.cos(0.5)), rel=1e-15)
    refused = run("generate", "shapes.py", cwd=tmp_path)
    assert refused.returncode != 0
    assert "shapes.py:5:12: this function returns several values; a gradient needs a " \
        "function that returns one number" in refused.stderr
