"""Forward mode (``srcdiff.jvp``) against reverse mode and against independent oracles.

- The dot-product test on every collection program: for a random tangent ``v``, the
  directional derivative forward mode gives equals ``<grad, v>`` from reverse mode, and
  the value equals the function's; in every optimisation setting.
- Every NumPy array rule's forward rule against central differences, from the examples
  each rule carries (the same ones that check its vector-Jacobian rule).
- Functions with array outputs against central differences; the API's errors.
"""

import math

import numpy
import pytest

import srcdiff
from srcdiff.array_rules import ArrayRule
from srcdiff.errors import ArgumentKindError, KindError, SrcdiffError, UnsupportedSyntaxError
from srcdiff.kinds import array
from srcdiff.pipeline import generate
from srcdiff.rules import RULES

from arrays import program
from oracles import assert_same_value
from test_translation_validation import CASES, SETTINGS, _float_positions



def _with_defaults(func, point):
    import inspect
    bound = inspect.signature(func).bind(*point)
    bound.apply_defaults()
    return list(bound.arguments.values())


def _tangents(point, wrt, seed):
    rng = numpy.random.default_rng(seed)
    return [rng.normal(size=numpy.shape(point[i])) if isinstance(point[i], numpy.ndarray)
            else float(rng.normal()) for i in wrt]


def _inner(gradients, tangents):
    return sum(float(numpy.sum(numpy.asarray(g) * numpy.asarray(t)))
               for g, t in zip(gradients, tangents))


@pytest.mark.parametrize("func, point", CASES, ids=[f"{f.__name__}-{i}" for i, (f, _) in
                                                     enumerate(CASES)])
def test_forward_mode_agrees_with_reverse_mode(func, point):
    wrt = _float_positions(point)
    names = func.__code__.co_varnames
    wrt_names = tuple(names[i] for i in wrt)
    kinds = {names[i]: array(numpy.ndim(v)) for i, v in enumerate(point)
             if isinstance(v, numpy.ndarray)}
    reverse = generate(func, wrt_names, name="g", as_tuple=True, kinds=kinds)
    gradients = reverse.function(*point)
    tangents = _tangents(point, wrt, seed=len(CASES))
    expected = _inner(gradients, tangents)
    value, derivative = srcdiff.jvp(func, wrt=wrt)(*point, *tangents)
    assert_same_value(value, func, point)  # bit for bit, but where sum() compensates
    assert type(derivative) is float
    assert derivative == pytest.approx(expected, rel=1e-9, abs=1e-9 * max(1.0, abs(expected)))
    every = _with_defaults(func, point)
    for label, options in SETTINGS:
        generated = generate(func, wrt_names, name="j", kinds=kinds, mode="forward",
                             with_value=True, **options)
        value_, derivative_ = generated.function(*every, *tangents)
        assert value_ == value, label
        assert derivative_ == pytest.approx(derivative, rel=1e-10, abs=1e-12), label


def _array_rules():
    return sorted({id(r): r for r in RULES.array_rules() if r.examples}.values(),
                  key=lambda r: r.name)


def _example_function(rule, example, rng):
    """A function applying the rule's NumPy function to its example's arguments (as the
    vector-Jacobian test writes it), and arguments drawn as that test draws them."""
    from test_array_rules import call_text, sample
    names = [f"x{i}" for i in range(len(example.shapes))]
    source = f"def apply({', '.join(names)}):\n    return {call_text(rule, names, example)}\n"
    return program(source, name="apply", srcdiff=srcdiff), [sample(s, rng, example) for s in example.shapes]


@pytest.mark.parametrize("rule", _array_rules(), ids=lambda r: r.name)
def test_every_array_rule_has_a_forward_rule_that_matches_differences(rule):
    assert isinstance(rule, ArrayRule) and rule.jvp is not None
    for example in rule.examples:
        func, args = _example_function(rule, example, numpy.random.default_rng(5))
        wrt = tuple(range(len(example.shapes)))
        tangents = _tangents(args, wrt, seed=3)
        value, derivative = srcdiff.jvp(func, wrt=wrt)(*args, *tangents)
        numpy.testing.assert_allclose(value, func(*args), rtol=1e-12)
        h = 1e-6
        up = [a + h * t for a, t in zip(args, tangents)] + list(args[len(wrt):])
        down = [a - h * t for a, t in zip(args, tangents)] + list(args[len(wrt):])
        difference = (numpy.asarray(func(*up)) - numpy.asarray(func(*down))) / (2 * h)
        assert numpy.shape(derivative) == numpy.shape(value)
        numpy.testing.assert_allclose(derivative, difference, rtol=1e-5, atol=1e-7,
                                      err_msg=f"{rule.name} {example}")


def softmax_in_loop(x, W):
    h = x
    for i in range(2):
        h = numpy.tanh(W @ h)
        h = numpy.exp(h) / numpy.sum(numpy.exp(h))
    return h


def rotate(angle, v):
    c, s = math.cos(angle), math.sin(angle)
    return numpy.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


@pytest.mark.parametrize("func, args", [
    (softmax_in_loop, (numpy.array([0.3, -0.2, 0.5]), numpy.arange(9.0).reshape(3, 3) / 10)),
    (rotate, (0.4, numpy.array([1.0, 2.0]))),
])
def test_array_outputs_match_differences(func, args):
    wrt = tuple(range(len(args)))
    tangents = _tangents(args, wrt, seed=1)
    value, derivative = srcdiff.jvp(func, wrt=wrt)(*args, *tangents)
    h = 1e-6
    up = [a + h * t for a, t in zip(args, tangents)]
    down = [a - h * t for a, t in zip(args, tangents)]
    numpy.testing.assert_allclose(value, func(*args))
    numpy.testing.assert_allclose(derivative, (func(*up) - func(*down)) / (2 * h), rtol=1e-6,
                                  atol=1e-9)
    assert derivative.dtype == float and not numpy.shares_memory(derivative, tangents[-1])


def identity(x):
    return x


def test_the_tangent_returned_is_a_new_array():
    t = numpy.array([1.0, 2.0])
    _, derivative = srcdiff.jvp(identity)(numpy.zeros(2), t)
    derivative *= 3
    assert list(t) == [1.0, 2.0]


def test_loops_branches_and_defaults():
    def f(x, n=3, k=0.5):
        s = x
        for i in range(n):
            if s > 0.2:
                s = math.sin(s + x) * k
            else:
                s = s * s + x
        return s

    value, derivative = srcdiff.jvp(f, wrt="x")(0.7, 1.0)  # n and k take their defaults
    assert value == f(0.7)
    assert derivative == pytest.approx(srcdiff.grad(f)(0.7), rel=1e-12)
    value, derivative = srcdiff.jvp(f, wrt=("x", "k"))(0.7, 4, 0.25, 1.0, -2.0)
    dx, dk = srcdiff.grad(f, wrt=("x", "k"))(0.7, 4, 0.25)
    assert value == f(0.7, 4, 0.25)
    assert derivative == pytest.approx(dx - 2.0 * dk, rel=1e-12)


def test_errors():
    def f(x, y):
        return x * y
    with pytest.raises(ArgumentKindError, match="has shape"):
        srcdiff.jvp(f)(numpy.ones(2), 1.0, numpy.ones(3))
    with pytest.raises(ArgumentKindError, match="tangent for 'x' is a str"):
        srcdiff.jvp(f)(1.0, 2.0, "1")
    with pytest.raises(TypeError, match="then 2 tangent"):
        srcdiff.jvp(f, wrt=(0, 1))(1.0)
    assert srcdiff.jvp(f) is srcdiff.jvp(f)


def root(x):
    return math.sqrt(x)


def test_infinite_derivatives_follow_ieee():
    assert srcdiff.jvp(root)(0.0, 1.0) == (0.0, math.inf)


def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def halving(a, k):
    if k < 1:
        return math.tanh(a)
    return 0.5 * halving(a * 0.5, k - 1) + 0.5 * halving(math.sin(a), k - 2)


def test_recursion():
    """A recursive call is differentiated by the callee's own generated
    Jacobian-vector function, which returns the value and the tangent together."""
    assert srcdiff.jvp(power)(1.3, 5, 2.0) == (pytest.approx(1.3 ** 5), pytest.approx(10 * 1.3 ** 4))
    text = srcdiff.source(srcdiff.jvp(power))
    assert "= power_jvp(x, n - 1, d_x)" in text and " power(" not in text  # never twice
    x = 0.7
    expected = srcdiff.grad(halving)(x, 5)  # reverse mode, through halving_vjp
    for label, options in SETTINGS:
        generated = generate(halving, ("a",), name="j", mode="forward", with_value=True, **options)
        assert generated.function(x, 5, 1.0)[1] == pytest.approx(expected, rel=1e-12), label
    with pytest.raises(srcdiff.SrcdiffError, match="power calls itself: srcdiff "
                       "differentiates recursion once"):
        srcdiff.hessian(power)(1.3, 5)


COEFFS = (0.77, -1.49, 0.68)


def loop_variable_made_active(x, y):
    d = math.exp(x)
    for coef in COEFFS:
        y = y * 0.9 + coef * d
        d, coef = coef, math.tanh(d * y)
        d = d + coef
    return d + coef * y


def row_made_active(w):
    s = 0.0
    for row in numpy.eye(3):
        s = s + numpy.sum(row * w)
        row = numpy.sin(row * w)
        s = s + numpy.sum(row)
    return s + numpy.sum(row * w)


def test_a_loop_variable_the_body_makes_active():
    """``for coef in COEFFS`` binds a constant at each iteration, and the body then
    assigns it an active value: its tangent starts at zero in each iteration (forward
    mode refused this). Against dual numbers and settled central differences."""
    from arrays import numeric_gradient
    from dual import forward_gradient
    x, y = 0.3, 0.5
    expected = forward_gradient(loop_variable_made_active, [x, y], (0, 1))
    for label, options in SETTINGS:
        jvp = generate(loop_variable_made_active, ("x", "y"), name="j", mode="forward",
                       with_value=True, **options).function
        assert jvp(x, y, 1.0, 0.0)[1] == pytest.approx(expected[0], rel=1e-12), label
        assert jvp(x, y, 0.0, 1.0)[1] == pytest.approx(expected[1], rel=1e-12), label
    w, t = numpy.array([0.3, -0.2, 0.9]), numpy.array([1.0, 2.0, -1.0])
    fine = numeric_gradient(row_made_active, [w], (0,), h=1e-6)[0]
    coarse = numeric_gradient(row_made_active, [w], (0,), h=1e-4)[0]
    numpy.testing.assert_allclose(fine, coarse, rtol=1e-6)
    assert srcdiff.jvp(row_made_active)(w, t)[1] == pytest.approx(fine @ t, rel=1e-7)


def test_recursive_nested_functions():
    def rec(x, n):
        if n == 0:
            return x
        return rec(x * 1.1, n - 1)

    def calls_rec(x):
        def inner(y, n):
            return y if n == 0 else inner(y * 1.1, n - 1)
        return inner(x, 2)
    assert srcdiff.jvp(rec)(1.0, 2, 2.0) == (pytest.approx(1.21), pytest.approx(2.42))
    with pytest.raises(UnsupportedSyntaxError, match="recursive nested functions") as info:
        srcdiff.jvp(calls_rec)(1.0, 1.0)
    assert info.value.lineno == calls_rec.__code__.co_firstlineno + 2  # the call in inner


def test_a_rule_without_a_forward_rule_is_refused(monkeypatch):
    import dataclasses
    rule = RULES.lookup(numpy.prod, 1)
    monkeypatch.setitem(RULES.rules, (numpy.prod, 1), dataclasses.replace(rule, jvp=None))

    def f(x):
        return numpy.prod(x)
    with pytest.raises(KindError, match="forward mode does not differentiate numpy.prod"):
        srcdiff.jvp(f)(numpy.ones(2), numpy.ones(2))


# --- vjp and jacobian ------------------------------------------------------------------

def _differences_jacobian(func, args, k, h=1e-6):
    """∂ func / ∂ args[k] by central differences: shape value.shape + args[k].shape."""
    point = args[k]
    value = numpy.asarray(func(*args))
    result = numpy.zeros(value.shape + numpy.shape(point))
    for index in numpy.ndindex(numpy.shape(point)):
        up, down = list(args), list(args)
        if numpy.ndim(point):
            up[k], down[k] = point.copy(), point.copy()
            up[k][index] += h
            down[k][index] -= h
        else:
            up[k], down[k] = point + h, point - h
        result[(...,) + index] = (numpy.asarray(func(*up)) - numpy.asarray(func(*down))) / (2 * h)
    return result


@pytest.mark.parametrize("func, args", [
    (softmax_in_loop, (numpy.array([0.3, -0.2, 0.5]), numpy.arange(9.0).reshape(3, 3) / 10)),
    (rotate, (0.4, numpy.array([1.0, 2.0]))),
    (root, (2.0,)),
])
def test_jacobians_in_both_modes_match_differences(func, args):
    wrt = tuple(range(len(args)))
    forward = srcdiff.jacobian(func, wrt=wrt, mode="forward")(*args)
    reverse = srcdiff.jacobian(func, wrt=wrt, mode="reverse")(*args)
    chosen = srcdiff.jacobian(func, wrt=wrt)(*args)
    for k in wrt:
        expected = _differences_jacobian(func, args, k)
        assert numpy.shape(forward[k]) == expected.shape == numpy.shape(reverse[k])
        numpy.testing.assert_allclose(forward[k], expected, rtol=1e-6, atol=1e-8)
        numpy.testing.assert_allclose(reverse[k], forward[k], rtol=1e-12, atol=1e-14)
        # by default, forward mode when the arguments have fewer elements than the result
        numpy.testing.assert_array_equal(
            chosen[k], forward[k] if _fewer_inputs(args, func(*args)) else reverse[k])
    single = srcdiff.jacobian(func)(*args)
    numpy.testing.assert_allclose(single, forward[0], rtol=1e-12, atol=1e-14)


def _fewer_inputs(args, value):
    return sum(numpy.size(a) for a in args) < numpy.size(value)


def test_vjp_is_the_transpose_of_jvp():
    """<ct, J v> = <J^T ct, v>, for the array-valued functions above."""
    args = (numpy.array([0.3, -0.2, 0.5]), numpy.arange(9.0).reshape(3, 3) / 10)
    rng = numpy.random.default_rng(4)
    v = [rng.normal(size=a.shape) for a in args]
    ct = rng.normal(size=3)
    value, Jv = srcdiff.jvp(softmax_in_loop, wrt=(0, 1))(*args, *v)
    value_, pullback = srcdiff.vjp(softmax_in_loop, wrt=(0, 1))(*args)
    numpy.testing.assert_array_equal(value, value_)
    JTct = pullback(ct)
    assert float(ct @ Jv) == pytest.approx(sum(float(numpy.sum(g * t)) for g, t in zip(JTct, v)),
                                           rel=1e-12)
    assert JTct[1].shape == (3, 3)
    with pytest.raises(ArgumentKindError, match="cotangent for 'the result' has shape"):
        pullback(numpy.ones(2))


def test_vjp_of_a_number_is_the_gradient():
    def f(x, y):
        return math.sin(x) * y
    value, pullback = srcdiff.vjp(f, wrt=(0, 1))(0.3, 2.0)
    assert value == f(0.3, 2.0)
    assert pullback(1.0) == srcdiff.grad(f, wrt=(0, 1))(0.3, 2.0)
    assert srcdiff.vjp(f)(0.3, 2.0)[1](2.0) == 2 * srcdiff.grad(f)(0.3, 2.0)


# --- check_grad ----------------------------------------------------------------------------

def softplus(x):
    return math.log1p(math.exp(x))


def uses_softplus(x, w):
    return softplus(x * w) + w * w


def smooth(x, W):
    return numpy.sum(numpy.tanh(W @ x)) + math.sin(float(x[0]))


def test_check_grad_passes_on_right_derivatives():
    srcdiff.check_grad(smooth, numpy.array([0.3, -0.2]), numpy.eye(2) * 0.5, wrt=(0, 1))
    srcdiff.check_grad(uses_softplus, 0.4, 1.5)


def test_check_grad_reports_a_wrong_registered_rule():
    from srcdiff.expr import exp
    srcdiff.register_rule(softplus, lambda x: 2 / (1 + exp(-x)))   # twice the derivative
    try:
        with pytest.raises(srcdiff.GradientCheckError) as info:
            srcdiff.check_grad(uses_softplus, 0.4, 1.5, wrt=(0, 1))
        report = str(info.value)
        assert "x: reverse mode" in report and "w: reverse mode" in report
        # forward and reverse mode share the wrong rule: they agree with each other
        assert "forward mode" not in report
    finally:
        RULES.remove(softplus, 1)


def test_check_grad_does_not_judge_kinks():
    def kinked(x):
        return abs(x - 0.3) + x
    srcdiff.check_grad(kinked, 0.3 + 1e-7)   # differences straddle the kink: not judged
    srcdiff.register_rule(softplus, lambda x: 0.5)   # wrong away from the kink of kinked
    try:
        with pytest.raises(srcdiff.GradientCheckError, match="x: reverse mode 0.5"):
            srcdiff.check_grad(calls_softplus, 2.0)
    finally:
        RULES.remove(softplus, 1)


def test_check_grad_of_second_order(monkeypatch):
    srcdiff.check_grad(smooth, numpy.array([0.3, -0.2]), numpy.eye(2) * 0.5, wrt=(0, 1), order=2)
    srcdiff.check_grad(loop_and_branch, 0.3, 0.7, wrt=(0, 1), order=2)
    from srcdiff import api
    real = api.hvp

    def doubled(func, wrt=0):
        product = real(func, wrt)
        return lambda *args: tuple(2 * p for p in product(*args))
    monkeypatch.setattr(api, "hvp", doubled)
    srcdiff.check_grad(loop_and_branch, 0.3, 0.7, wrt=(0, 1))   # order 1 does not look
    with pytest.raises(srcdiff.GradientCheckError, match=r"v \. \(H v\) by the Hessian-vector"):
        srcdiff.check_grad(loop_and_branch, 0.3, 0.7, wrt=(0, 1), order=2)
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        srcdiff.check_grad(loop_and_branch, 0.3, 0.7, order=3)


def calls_softplus(x):
    return softplus(x)


# --- second derivatives: hvp and hessian (reverse mode over forward mode) -------------------

def _sympy_hessian(func, point):
    import sympy
    from oracles import sympy_version
    symbols = sympy.symbols(f"p0:{len(point)}", real=True)
    expression = sympy.sympify(sympy_version(func)(*symbols))
    values = dict(zip(symbols, point))
    return [[float(sympy.diff(expression, a, b).subs(values).evalf(30)) for b in symbols]
            for a in symbols]


def _sympy_programs():
    import programs
    return [(f, p) for f, p, use in programs.PROGRAMS if use and
            all(isinstance(v, float) for v in p)]


@pytest.mark.parametrize("func, point", _sympy_programs(), ids=lambda v: getattr(v, "__name__", ""))
def test_hessians_match_sympy(func, point):
    """Every loop-free program of the shared collection: each column of the Hessian from
    hvp, against SymPy's second derivatives."""
    expected = _sympy_hessian(func, point)
    wrt = tuple(range(len(point)))
    product = srcdiff.hvp(func, wrt=wrt)
    for j in wrt:
        vectors = [1.0 if i == j else 0.0 for i in wrt]
        column = product(*point, *vectors)
        for i in wrt:
            assert column[i] == pytest.approx(expected[i][j], rel=1e-8, abs=1e-10), (i, j)
    # grad(grad(f)): row i is the gradient of ∂f/∂x_i
    for i in wrt:
        row = srcdiff.grad(srcdiff.grad(func, wrt=i), wrt=wrt)(*point)
        for j in wrt:
            assert row[j] == pytest.approx(expected[i][j], rel=1e-8, abs=1e-10), (i, j)


def loop_and_branch(x, y):
    s = x
    for i in range(3):
        if s > 0.0:
            s = math.sin(s * y) + x
        else:
            s = s * s - y
    return s * s


def tanh_times_product(x):
    return numpy.sum(numpy.tanh(x) ** 2) * numpy.prod(x)


def test_hessian_through_loops_and_branches():
    import sympy
    X, Y = sympy.symbols("x y")
    s = X
    for _ in range(3):   # the branch taken at (0.3, 0.7): s stays positive
        s = sympy.sin(s * Y) + X
    expected = sympy.hessian(s * s, (X, Y)).subs({X: 0.3, Y: 0.7}).evalf(30)
    assert srcdiff.hessian(loop_and_branch)(0.3, 0.7) == pytest.approx(float(expected[0, 0]),
                                                                        rel=1e-10)
    assert type(srcdiff.hessian(loop_and_branch, wrt="y")(0.3, 0.7)) is float
    hx, hy = srcdiff.hvp(loop_and_branch, wrt=(0, 1))(0.3, 0.7, 0.0, 1.0)
    assert (hx, hy) == pytest.approx((float(expected[0, 1]), float(expected[1, 1])), rel=1e-10)


def test_hessian_of_an_array_function_matches_sympy():
    import sympy
    x = numpy.array([0.3, -0.5, 0.8])
    symbols = sympy.symbols("a b c")
    G = sum(sympy.tanh(v) ** 2 for v in symbols) * symbols[0] * symbols[1] * symbols[2]
    expected = numpy.array(sympy.hessian(G, symbols).subs(dict(zip(symbols, x))).evalf(30),
                           dtype=float)
    H = srcdiff.hessian(tanh_times_product)(x)
    assert H.shape == (3, 3)
    numpy.testing.assert_allclose(H, expected, rtol=1e-10)
    v = numpy.array([0.2, -1.0, 0.5])
    numpy.testing.assert_allclose(srcdiff.hvp(tanh_times_product)(x, v), expected @ v, rtol=1e-10)
    with pytest.raises(ArgumentKindError, match="vector for 'x' has shape"):
        srcdiff.hvp(tanh_times_product)(x, numpy.ones(2))


# --- grad(grad(f)) ------------------------------------------------------------------------

def scaled_tanh_energy(s, x):
    return numpy.sum(numpy.tanh(s * x) ** 2) + s * numpy.dot(x, x)


def test_grad_of_grad_through_loops_branches_and_calls():
    import sympy
    X, Y = sympy.symbols("x y")
    s = X
    for _ in range(3):   # the branch taken at (0.3, 0.7)
        s = sympy.sin(s * Y) + X
    expected = sympy.hessian(s * s, (X, Y)).subs({X: 0.3, Y: 0.7}).evalf(30)
    dx = srcdiff.grad(loop_and_branch)
    assert srcdiff.grad(dx)(0.3, 0.7) == pytest.approx(float(expected[0, 0]), rel=1e-10)
    assert srcdiff.grad(dx, wrt="y")(0.3, 0.7) == pytest.approx(float(expected[0, 1]), rel=1e-10)
    value, second = srcdiff.value_and_grad(dx)(0.3, 0.7)
    assert value == pytest.approx(dx(0.3, 0.7), rel=1e-12)
    assert second == pytest.approx(float(expected[0, 0]), rel=1e-10)
    assert type(second) is float
    assert srcdiff.grad(dx) is srcdiff.grad(dx)
    # a call to a helper: softplus'' = sigmoid * (1 - sigmoid)
    sigmoid = 1 / (1 + math.exp(-0.4))
    assert srcdiff.grad(srcdiff.grad(calls_softplus))(0.4) == pytest.approx(
        sigmoid * (1 - sigmoid), rel=1e-12)
    # as decorators
    @srcdiff.grad
    @srcdiff.grad
    def cube(x):
        return x * x * x
    assert cube(2.0) == pytest.approx(12.0)


def test_grad_of_grad_of_a_numpy_function_matches_sympy():
    import sympy
    S = sympy.Symbol("s")
    x = numpy.array([0.3, -0.5, 0.8])
    E = sum(sympy.tanh(S * float(v)) ** 2 for v in x) + S * float(x @ x)
    expected = float(sympy.diff(E, S, 2).subs(S, 0.7).evalf(30))
    second = srcdiff.grad(srcdiff.grad(scaled_tanh_energy))
    assert second(0.7, x) == pytest.approx(expected, rel=1e-10)
    # the mixed derivative with respect to the array: d/dx of dE/ds
    mixed = srcdiff.grad(srcdiff.grad(scaled_tanh_energy), wrt=1)(0.7, x)
    Xs = sympy.symbols("a b c")
    E2 = sum(sympy.tanh(S * v) ** 2 for v in Xs) + S * sum(v * v for v in Xs)
    want = [float(sympy.diff(E2, S, v).subs({S: 0.7, **dict(zip(Xs, x))}).evalf(30)) for v in Xs]
    numpy.testing.assert_allclose(mixed, want, rtol=1e-10)
    assert "def ddscaled_tanh_energy_ds_ds" in srcdiff.source(second, 0.7, x)


def test_grad_of_grad_errors():
    with pytest.raises(ArgumentKindError, match="returns an array here"):
        srcdiff.grad(srcdiff.grad(tanh_times_product))(numpy.array([0.3, 0.5]))
    with pytest.raises(SrcdiffError, match="once more when it is srcdiff.grad"):
        srcdiff.grad(srcdiff.value_and_grad(loop_and_branch))
    with pytest.raises(SrcdiffError, match="once more when it is srcdiff.grad"):
        srcdiff.grad(srcdiff.grad(loop_and_branch, wrt=(0, 1)))
    with pytest.raises(SrcdiffError, match="jvp of a gradient"):
        srcdiff.jvp(srcdiff.grad(loop_and_branch))
    with pytest.raises(SrcdiffError, match="was made by srcdiff"):
        srcdiff.grad(srcdiff.grad(srcdiff.grad(loop_and_branch)))


# --- a user rule on a function without source, in every mode ------------------------------

_namespace: dict = {}
exec("def cube(x):\n    return x * x * x\n", _namespace)   # no source srcdiff can read
cube_without_source = _namespace["cube"]


def uses_cube(x):
    return cube_without_source(math.sin(x)) * x


def test_a_user_rule_without_source_is_used_by_every_mode():
    import sympy
    srcdiff.register_rule(cube_without_source, lambda x: 3 * x ** 2)
    try:
        X = sympy.Symbol("x")
        F = sympy.sin(X) ** 3 * X
        at = lambda e: float(e.subs(X, 0.7).evalf(30))
        first, second = at(sympy.diff(F, X)), at(sympy.diff(F, X, 2))
        assert srcdiff.grad(uses_cube)(0.7) == pytest.approx(first, rel=1e-12)
        assert srcdiff.jvp(uses_cube)(0.7, 2.0)[1] == pytest.approx(2 * first, rel=1e-12)
        assert srcdiff.vjp(uses_cube)(0.7)[1](1.5) == pytest.approx(1.5 * first, rel=1e-12)
        assert srcdiff.jacobian(uses_cube)(0.7) == pytest.approx(first, rel=1e-12)
        assert srcdiff.hessian(uses_cube)(0.7) == pytest.approx(second, rel=1e-10)
        assert srcdiff.hvp(uses_cube)(0.7, 0.5) == pytest.approx(0.5 * second, rel=1e-10)
        assert srcdiff.grad(srcdiff.grad(uses_cube))(0.7) == pytest.approx(second, rel=1e-10)
    finally:
        RULES.remove(cube_without_source, 1)
    with pytest.raises(srcdiff.SrcdiffError):
        srcdiff.grad(uses_cube)(0.7)


def scaled_root(x, y, c=2.0):
    return c * math.sqrt(x) * y


def test_jvp_and_hvp_of_numbers_take_the_short_path_to_the_same_values():
    """Called with numbers by position, ``jvp`` and ``hvp`` go straight to the scalar
    code; by keyword, or with a bool tangent, through the general path: the same values,
    the same errors, and IEEE results where the derivative is infinite."""
    jvp = srcdiff.jvp(scaled_root, wrt=(0, 1))
    x, y = 2.0, 3.0
    expected = (2.0 * math.sqrt(x) * y, 2.0 * (y / (2 * math.sqrt(x)) * 0.5 + math.sqrt(x) * 1))
    assert jvp(x, y, 0.5, 1) == pytest.approx(expected, rel=1e-15)
    assert jvp(x, y, 0.5, 1, c=2.0) == pytest.approx(expected, rel=1e-15)
    assert jvp(x, y, 2.0, 0.5, 1) == pytest.approx(expected, rel=1e-15)  # c by position
    with pytest.raises(ArgumentKindError, match="the tangent for 'y' is a bool"):
        jvp(x, y, 0.5, True)
    assert jvp(0.0, y, 1.0, 0.0) == (0.0, math.inf)
    hvp = srcdiff.hvp(scaled_root, wrt=(0, 1))
    h_xx, h_xy = -2.0 * y / (4 * x ** 1.5), 2.0 / (2 * math.sqrt(x))
    assert hvp(x, y, 1.0, 0.0) == pytest.approx((h_xx, h_xy), rel=1e-12)
    assert hvp(x, y, 1.0, 0.0, c=2.0) == pytest.approx((h_xx, h_xy), rel=1e-12)


def with_defaults(x, y=2.0, steps=3, scale=None):
    total = 0.0
    for _ in range(steps):
        total = total + math.sin(x * y) * (1.0 if scale is None else scale)
    return total


def test_numbers_left_to_their_defaults_take_the_fast_path_and_agree():
    # the fast path fills trailing defaults that are numbers; a default that is not a
    # number (scale=None) ends the run of defaults it can fill: the general path then
    def expected(x, y, steps, dx):  # steps sin(x y), differentiated by hand along x
        return steps * math.sin(x * y), steps * math.cos(x * y) * y * dx

    j = srcdiff.jvp(with_defaults)
    assert j(0.3, 1.0) == pytest.approx(expected(0.3, 2.0, 3, 1.0))   # y, steps defaulted
    assert j(0.3, 1.5, 0.5) == pytest.approx(expected(0.3, 1.5, 3, 0.5))
    assert j(0.3, 1.5, 2, 0.5) == pytest.approx(expected(0.3, 1.5, 2, 0.5))
    assert j(0.3, 1.5, 2, None, 0.5) == pytest.approx(expected(0.3, 1.5, 2, 0.5))
    h = srcdiff.hvp(with_defaults)
    # d²/dx² of steps sin(x y) = -steps y² sin(x y)
    assert h(0.3, 1.0) == pytest.approx(-3 * 4.0 * math.sin(0.6))
    assert h(0.3, 1.5, 2, 1.0) == pytest.approx(-2 * 2.25 * math.sin(0.45))


def test_fused_forward_code_agrees_with_unfused():
    from srcdiff.pipeline import generate
    fused = generate(with_defaults, ("x", "y"), name="j", mode="forward", with_value=True)
    plain = generate(with_defaults, ("x", "y"), name="j", mode="forward", with_value=True,
                     disable=("fuse",))
    assert fused.source != plain.source  # the pass did something here
    args = (0.3, 1.5, 4, None, 0.7, -0.2)
    assert fused.function(*args) == plain.function(*args)



def capped(x, y=2.0, steps=3, cap=math.inf, /):
    total = 0.0
    for _ in range(steps):
        total = total + (x * y if x < cap else cap) / (1.0 + y)
    return total


def keyword_only(x, *, s=1.5):
    return s * x * x


@pytest.mark.parametrize("make", [srcdiff.jvp, srcdiff.hvp], ids=["jvp", "hvp"])
def test_the_fast_wrapper_gives_what_the_general_path_gives(make):
    """jvp and hvp are written for the function's signature: numbers by position, with
    trailing defaults left out or given, go straight to the code; a call with a keyword
    takes the general path. Both give the same values, bit for bit."""
    transform = make(scaled_root, wrt=(0, 1))
    for x, y, c, dx, dy in [(2.0, 3.0, 2.0, 0.5, 1), (0.7, -1.5, 3.0, -1.0, 0.25),
                            (2.0, 3, 2, 1, 0)]:
        general = transform(x, y, dx, dy, c=c)
        assert transform(x, y, c, dx, dy) == general
        if c == 2.0:  # the default
            assert transform(x, y, dx, dy) == general
    assert transform(0.5, 2.0, 1.0, 0.0) == make(scaled_root, wrt=(0, 1))(0.5, 2.0, 1.0, 0.0)


def test_the_fast_wrappers_fill_defaults_in_order_even_infinite_ones():
    # (positional-only parameters; a default the wrapper cannot write as a literal)
    def by_hand(x, y, steps, cap, dx):  # steps x y / (1 + y) below the cap
        return steps * x * y / (1.0 + y), steps * y / (1.0 + y) * dx
    jvp, hvp = srcdiff.jvp(capped), srcdiff.hvp(capped)
    for args in [(0.5, 1.0), (3.0, 1.0), (0.5, 3.0, 1.0), (0.5, 3.0, 4, 1.0),
                 (5.0, 3.0, 4, 9.0, 1.0)]:
        full = {1: 2.0, 2: 3, 3: math.inf} | dict(enumerate(args[:-1]))
        point = [full[i] for i in range(4)]
        assert jvp(*args) == pytest.approx(by_hand(*point, args[-1]), rel=1e-14)
        assert hvp(*args) == 0.0  # linear in x
    assert jvp(2.0, 3.0, 4, 1.0, 1.0) == (1.0, 0.0)  # above the cap: 4 * 1 / (1 + 3)


@pytest.mark.parametrize("make", [srcdiff.jvp, srcdiff.hvp], ids=["jvp", "hvp"])
def test_the_fast_wrapper_refuses_what_the_general_path_refuses(make):
    transform = make(scaled_root, wrt=(0, 1))
    transform(2.0, 3.0, 0.5, 1.0)  # the scalar code exists: the fast path is open
    for args, error in [((2.0, 3.0, 0.5, True), ArgumentKindError),  # a bool tangent
                        ((2.0, 3.0, True, 0.5), ArgumentKindError),
                        ((2.0, 3.0, 0.5, "1"), ArgumentKindError),  # not a number
                        ((2.0, 3.0, numpy.ones(2), 1.0), ArgumentKindError),  # an array's shape
                        ((2.0, "3", 0.5, 1.0), ArgumentKindError),  # an argument
                        ((2.0, 3.0, 2.0, 0.5, 1.0, 7.0), TypeError),  # one too many
                        ((2.0,), TypeError)]:  # too few
        with pytest.raises(error):
            transform(*args)
    with pytest.raises(TypeError):
        transform(2.0, 3.0, 2.0, 0.5, 1.0, c=2.0)  # c twice
    # a keyword-only parameter is not given by position, not even on the fast path
    for transform in (make(keyword_only), make(keyword_only, wrt="x")):
        assert transform(2.0, 1.0) == transform(2.0, 1.0, s=1.5)
        with pytest.raises(TypeError):
            transform(2.0, 1.5, 1.0)


def test_the_fast_wrappers_see_a_changed_global(monkeypatch):
    """The dependency test is written into the wrapper: a global helper redefined, or a
    rule registered, makes the next call generate again."""
    jvp, hvp = srcdiff.jvp(uses_global_helper), srcdiff.hvp(uses_global_helper)
    assert jvp(2.0, 1.0) == (8.0, 12.0) and hvp(2.0, 1.0) == 12.0  # x ** 3
    monkeypatch.setitem(globals(), "global_helper", lambda x: x * x * x * x)
    assert jvp(2.0, 1.0) == (16.0, 32.0) and hvp(2.0, 1.0) == 48.0  # x ** 4


def test_the_fast_wrappers_see_a_deleted_global(monkeypatch):
    """The dependency test reads a global as its module's item: once the name is gone,
    the test fails (a KeyError, taken as stale), the code is generated again, and that
    refuses the name, as the function itself raises NameError."""
    gradient, jvp = srcdiff.grad(uses_global_helper), srcdiff.jvp(uses_global_helper)
    assert gradient(2.0) == 12.0 and jvp(2.0, 1.0) == (8.0, 12.0)
    monkeypatch.delitem(globals(), "global_helper")
    with pytest.raises(NameError, match="global_helper"):
        uses_global_helper(2.0)
    for call in (lambda: gradient(2.0), lambda: jvp(2.0, 1.0)):
        with pytest.raises(srcdiff.SrcdiffNameError, match="name `global_helper` is not defined"):
            call()
    monkeypatch.undo()
    assert gradient(2.0) == 12.0 and jvp(2.0, 1.0) == (8.0, 12.0)


def global_helper(x):
    return x * x * x


def uses_global_helper(x):
    return global_helper(x)


def asserts_below_cap(x, cap=4.0):
    assert x < cap, "x must stay below the cap"
    return math.sqrt(x) * x


def test_the_forward_wrapper_runs_the_scalar_code_in_place_of_calling_it():
    """jvp's wrapper runs the generated body itself where that is the same computation
    (``api._inlined``), its parameters assigned from the arguments (defaults written
    in); what the body raises comes from the generated function, run again by the
    general path, and IEEE results are as before."""
    import traceback
    transform = srcdiff.jvp(asserts_below_cap)
    assert transform(1.0, 1.0) == transform(1.0, 4.0, 1.0) == transform(1.0, 1.0, cap=4.0)
    assert "d_x" in transform.__code__.co_varnames  # the generated code's, in the wrapper
    value, tangent = transform(2.25, 2.0)
    assert value == math.sqrt(2.25) * 2.25 and tangent == pytest.approx(3 * 1.5, rel=1e-15)
    # at 0 the code divides by 0 (d_x / (2 * sqrt)); the IEEE variant gives inf * 0: nan
    value, tangent = transform(0.0, 1.0)
    assert value == 0.0 and math.isnan(tangent)
    with pytest.raises(AssertionError, match="below the cap") as caught:
        transform(5.0, 1.0)
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert frames[-1].filename.startswith("<srcdiff generated")


def test_the_source_of_a_hessian_vector_product_is_the_gradient_of_its_tangent_code():
    """srcdiff.source reads hvp's code too: the gradient of the forward-mode code, for
    example arguments then vectors, or the code last generated."""
    h = srcdiff.hvp(root_for_source, wrt=(0, 1))  # (hvp(f) is hvp(f): f used here only)
    with pytest.raises(srcdiff.SrcdiffError, match="no code before its first call"):
        srcdiff.source(h)
    text = srcdiff.source(h, 2.0, 3.0, 0.5, 1.0)
    assert text.startswith("def grad_tangent_root_for_source(x, y, c, d_x, d_y):"), text
    assert srcdiff.source(h) == text
    namespace = {"math": math}
    exec(text, namespace)  # the code shown computes what h returns
    assert namespace["grad_tangent_root_for_source"](2.0, 3.0, 2.0, 0.5, 1.0) == \
        h(2.0, 3.0, 0.5, 1.0)
    with pytest.raises(srcdiff.SrcdiffError, match="was not made by srcdiff.grad, "
                                                   "value_and_grad, jvp or hvp"):
        srcdiff.source(root_for_source)


def test_the_source_of_a_second_derivative_is_the_code_its_last_call_ran():
    """grad(grad(f)): for example arguments, or (after a call) the code that call ran;
    before any call, the error says to call it or pass arguments (not that it needs
    arrays)."""
    second = srcdiff.grad(srcdiff.grad(root_for_source))
    with pytest.raises(srcdiff.SrcdiffError, match="has no code before its first call: "
                                                   r"pass example arguments, srcdiff\.source"):
        srcdiff.source(second)
    assert second(4.0, 3.0) == pytest.approx(-2.0 * 3.0 / (4 * 4.0 ** 1.5), rel=1e-15)
    text = srcdiff.source(second)
    assert text == srcdiff.source(second, 4.0, 3.0)
    namespace = {"math": math}
    exec(text, namespace)  # the code shown computes what the second derivative returns
    name = text.split("(")[0].removeprefix("def ")
    assert namespace[name](4.0, 3.0, 2.0, 1.0) == second(4.0, 3.0)


def root_for_source(x, y, c=2.0):
    return c * math.sqrt(x) * y
