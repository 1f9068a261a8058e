"""Gradients keep the dtype (issue 13, item 9): float32 in, float32 out, as in JAX.

A gradient has its parameter's dtype and a tangent its result's; in between, every adjoint
and tangent is computed in the dtype NumPy's own promotion gives (NumPy 2: a Python float
does not promote a float32 array). srcdiff must add no float64 of its own: no counts of a
mask in int64, no ``numpy.eye`` or ``numpy.ones`` in float64, no Python float made into a
float64 array.

The returned gradient is cast to its parameter's dtype (``runtime.gradient_like``) and an
array tangent to its result's (``runtime.tangent_like``), which would hide a rule that
promotes. So the checks here watch the generated code as it runs (:class:`Locals`): every
float array and NumPy scalar it binds must be float32, the casts coming after. Each array
rule's examples (those whose arguments are all arrays), each elementwise rule, and whole
programs (a two-layer network, logistic regression, a softmax with ``np.max``) are run in
float32 and compared with the float64 derivative at the same point (relative 1e-3); the
rules that NumPy runs in float16 also in float16. Mixed float32 and float64 arguments give
what NumPy's promotion gives. The tests at the end pin what once made a float64 or a Python
float outside the rules and helpers (a number's derivative, an adjoint given its shape, a zero
tangent, a select of numbers, copysign of a number).
"""

import sys

import numpy
import pytest

import srcdiff
from srcdiff import runtime

from arrays import program
from test_array_rules import ARRAY_RULES, ELEMENTWISE, call_text, sample

F32 = numpy.dtype(numpy.float32)


class Locals:
    """While active (``with``), watches each frame of code srcdiff generated: every float
    value bound to one of its locals (an array or a NumPy scalar: Python floats are weak
    and promote nothing) whose dtype is not ``dtype`` is recorded in ``wrong`` (name ->
    dtype); ``frames`` counts the generated frames seen."""

    def __init__(self, dtype=F32):
        self.dtype = numpy.dtype(dtype)
        self.wrong = {}
        self.frames = 0

    def __enter__(self):
        self.previous = sys.gettrace()
        sys.settrace(self._call)
        return self

    def __exit__(self, *exc):
        sys.settrace(self.previous)

    def _call(self, frame, event, arg):
        if not frame.f_code.co_filename.startswith("<srcdiff generated"):
            return None
        self.frames += 1
        return self._line

    def _line(self, frame, event, arg):
        if event in ("line", "return"):
            for name, value in frame.f_locals.items():
                if isinstance(value, (numpy.ndarray, numpy.generic)) and value.dtype.kind == "f" \
                        and value.dtype != self.dtype:
                    self.wrong.setdefault(name, str(value.dtype))
        return self._line


def watched(function, *args, dtype=F32):
    """``function(*args)`` (a gradient or a Jacobian-vector product), its generated code
    checked by :class:`Locals` to compute in ``dtype`` throughout."""
    function(*args)  # generate the code first, unwatched
    with Locals(dtype) as locals_:
        result = function(*args)
    assert locals_.frames, "no generated code ran"
    assert not locals_.wrong, f"generated code computed in another dtype: {locals_.wrong}"
    return result


def as32(values):
    return [numpy.asarray(v, dtype=F32) if isinstance(v, numpy.ndarray) else v for v in values]


def as64(values):
    return [v.astype(numpy.float64) if isinstance(v, numpy.ndarray) else v for v in values]


def assert_float32_like(got, want):
    """``got`` (float32) agrees with the float64 ``want`` to float32's precision."""
    scale = max(1.0, float(numpy.max(numpy.abs(want)))) if numpy.size(want) else 1.0
    numpy.testing.assert_allclose(numpy.asarray(got, dtype=numpy.float64), want,
                                  rtol=1e-3, atol=1e-4 * scale)


# --- every array rule, from its examples -----------------------------------------------------

# Functions NumPy and SciPy compute in float64 whatever their arguments (numpy.cov's
# dtype is at least float64, numpy.interp's float64, numpy.float64 is the cast,
# numpy.float_power is ** in float64; SciPy's
# xlogy and xlog1py of a float32 array and a Python float, in some versions of SciPy):
# their values, adjoints and tangents are float64, their gradients their parameters' dtype
# (test_float64_results_give_gradients_of_the_parameters_dtype)
FLOAT64_RESULTS = {numpy.interp, runtime.interp_slope, numpy.cov, runtime.cov_tangent,
                   numpy.float64, numpy.float_power}
FLOAT64_WITH_A_NUMBER = {"scipy.special.xlogy", "scipy.special.xlog1py"}
EXAMPLES = [(rule, example) for rule in ARRAY_RULES for example in rule.examples
            if () not in example.shapes]  # the examples whose arguments are all arrays
FLOATING = [(rule, example) for rule, example in EXAMPLES if rule.func not in FLOAT64_RESULTS]
IDS = [f"{rule.name}-{rule.examples.index(example)}" for rule, example in FLOATING]


def _rule_point(rule, example):
    names = [f"x{i}" for i in range(len(example.shapes))]
    rng = numpy.random.default_rng(len(str(example)))
    args = as32([sample(s, rng, example) for s in example.shapes])
    return names, args, call_text(rule, names, example), rng


@pytest.mark.parametrize("rule, example", FLOATING, ids=IDS)
def test_array_rule_gradient_is_float32(rule, example):
    names, args, expression, rng = _rule_point(rule, example)
    value = eval(expression, {"numpy": numpy, "scipy": __import__("scipy"), "srcdiff": srcdiff},
                 dict(zip(names, args)))
    weight = rng.uniform(-1.0, 1.0, size=numpy.shape(value)).astype(F32)
    probe = program(f"def probe({', '.join(names)}):\n    return numpy.sum(W * {expression})\n",
                    W=weight, srcdiff=srcdiff)
    wrt = tuple(range(len(args)))
    gradients = watched(srcdiff.grad(probe, wrt=wrt), *args)
    expected = srcdiff.grad(probe, wrt=wrt)(*as64(args))  # W * f(x): float64 throughout
    for got, want, arg in zip(gradients, expected, args):
        assert type(got) is numpy.ndarray and got.dtype == F32 and got.shape == arg.shape
        assert want.dtype == numpy.float64
        assert_float32_like(got, want)


@pytest.mark.parametrize("rule, example", FLOATING, ids=IDS)
def test_array_rule_tangent_is_float32(rule, example):
    names, args, expression, rng = _rule_point(rule, example)
    apply = program(f"def apply({', '.join(names)}):\n    return {expression}\n", name="apply",
                    srcdiff=srcdiff)
    wrt = tuple(range(len(args)))
    tangents = [rng.normal(size=a.shape).astype(F32) for a in args]
    value, tangent = watched(srcdiff.jvp(apply, wrt=wrt), *args, *tangents)
    _, expected = srcdiff.jvp(apply, wrt=wrt)(*as64(args), *as64(tangents))
    if numpy.ndim(value):  # an array (slogdet's pair of float32 numbers: a vector); for a
        # number, see test_jvp_of_a_float32_number_is_float32
        assert type(tangent) is numpy.ndarray and tangent.dtype == numpy.asarray(value).dtype == F32
        assert tangent.shape == numpy.shape(value)
    assert_float32_like(tangent, expected)


# --- every elementwise rule ------------------------------------------------------------------

def _elementwise_point(rule, number_last):
    rng = numpy.random.default_rng(len(rule.name))
    args = []
    for domain in rule.domain:
        values = rng.uniform(domain.low, domain.high, size=(2, 3))
        if domain.nonzero:
            values = values * rng.choice([-1.0, 1.0], size=(2, 3))
        args.append(values.astype(F32))
    if rule.func is numpy.where:
        args[0] = args[0] > 0.75
    if number_last:  # a Python float constant: weak, so the result stays float32
        args[-1] = float(args[-1][0, 0])
    wrt = tuple(i for i, a in enumerate(args) if not (rule.func is numpy.where and i == 0)
                and isinstance(a, numpy.ndarray))
    return args, wrt


ELEMENTWISE_CASES = [(rule, number_last) for rule in ELEMENTWISE
                     if rule.func not in FLOAT64_RESULTS
                     for number_last in ([False, True] if rule.arity > 1 else [False])
                     if not (number_last and rule.name in FLOAT64_WITH_A_NUMBER)]


@pytest.mark.parametrize("rule, number_last", ELEMENTWISE_CASES,
                         ids=[f"{r.name}{'-number' if n else ''}" for r, n in
                              (getattr(c, "values", c) for c in ELEMENTWISE_CASES)])
def test_elementwise_rule_keeps_float32(rule, number_last):
    args, wrt = _elementwise_point(rule, number_last)
    names = [f"x{i}" for i in range(rule.arity)]
    call = f"{rule.name}({', '.join(names)})"
    weight = numpy.random.default_rng(1).uniform(-1.0, 1.0, size=(2, 3)).astype(F32)
    probe = program(f"def probe({', '.join(names)}):\n    return numpy.sum(W * {call})\n", W=weight)
    gradients = watched(srcdiff.grad(probe, wrt=wrt), *args)
    expected = srcdiff.grad(probe, wrt=wrt)(*as64(args))
    for got, want in zip(gradients, expected):
        assert type(got) is numpy.ndarray and got.dtype == F32
        assert_float32_like(got, want)
    apply = program(f"def apply({', '.join(names)}):\n    return {call}\n", name="apply")
    tangents = [numpy.ones_like(args[i]) for i in wrt]
    value, tangent = watched(srcdiff.jvp(apply, wrt=wrt), *args, *tangents)
    assert value.dtype == tangent.dtype == F32
    assert_float32_like(tangent, srcdiff.jvp(apply, wrt=wrt)(*as64(args), *tangents)[1])


FLOAT64_CASES = [(rule, example) for rule, example in EXAMPLES if rule.func in FLOAT64_RESULTS] \
    + [(rule, None) for rule in ELEMENTWISE
       if rule.func in FLOAT64_RESULTS or rule.name in FLOAT64_WITH_A_NUMBER]


@pytest.mark.parametrize("rule, example", FLOAT64_CASES,
                         ids=[r.name + ("" if e is None else f"-{r.examples.index(e)}")
                              for r, e in FLOAT64_CASES])
def test_float64_results_give_gradients_of_the_parameters_dtype(rule, example):
    if example is None:  # elementwise: (2, 3) arrays, the last argument a Python float
        args, _ = _elementwise_point(rule, rule.arity > 1)
        names = [f"x{i}" for i in range(rule.arity)]
        expression = f"{rule.name}({', '.join(names)})"
    else:
        names, args, expression, _ = _rule_point(rule, example)
    wrt = tuple(i for i, a in enumerate(args) if isinstance(a, numpy.ndarray))
    probe = program(f"def probe({', '.join(names)}):\n    return numpy.sum({expression})\n",
                    srcdiff=srcdiff)
    apply = program(f"def apply({', '.join(names)}):\n    return {expression}\n", name="apply",
                    srcdiff=srcdiff)
    gradients = srcdiff.grad(probe, wrt=wrt)(*args)
    gradients = gradients if isinstance(gradients, tuple) else (gradients,)
    expected = srcdiff.grad(probe, wrt=wrt)(*as64(args))
    expected = expected if isinstance(expected, tuple) else (expected,)
    for got, want in zip(gradients, expected):
        assert type(got) is numpy.ndarray and got.dtype == F32
        assert_float32_like(got, want)
    tangents = [numpy.ones_like(args[i]) for i in wrt]
    value, tangent = srcdiff.jvp(apply, wrt=wrt)(*args, *tangents)
    # the function's own dtype: float64 for NumPy's; for SciPy's xlogy and xlog1py of a
    # float32 array and a Python float, float64 or float32 as the SciPy installed computes
    # it (the CI's fresh environments on 3.12 and 3.13 gave float32)
    primal = numpy.asarray(apply(*args)).dtype
    assert primal == numpy.float64 or rule.name in FLOAT64_WITH_A_NUMBER
    assert numpy.asarray(value).dtype == numpy.asarray(tangent).dtype == primal
    assert_float32_like(tangent, srcdiff.jvp(apply, wrt=wrt)(*as64(args), *tangents)[1])


# --- whole programs --------------------------------------------------------------------------

def two_layer_loss(W1, b1, W2, b2, X, y):  # examples/two_layer_network.py
    hidden = numpy.tanh(X @ W1 + b1)
    prediction = hidden @ W2 + b2
    return numpy.mean((prediction - y) ** 2)


def logistic_loss(w, b, X, y):  # examples/logistic_regression.py
    z = X @ w + b
    return numpy.mean(y * numpy.logaddexp(0.0, -z) + (1 - y) * numpy.logaddexp(0.0, z))


def softmax_loss(W, X, labels):
    z = X @ W
    z = z - numpy.max(z, axis=1, keepdims=True)  # the stable softmax: np.max's adjoint
    p = numpy.exp(z) / numpy.sum(numpy.exp(z), axis=1, keepdims=True)
    return -numpy.mean(numpy.sum(labels * numpy.log(p), axis=1))


def _programs():
    rng = numpy.random.default_rng(9)
    X = rng.uniform(-1.0, 1.0, size=(16, 2))
    y = numpy.sin(3 * X[:, 0]) + X[:, 1] ** 2
    net = (rng.normal(size=(2, 5)), numpy.zeros(5), rng.normal(size=5) / 3, numpy.float32(0.1),
           X, y)
    logistic = (rng.normal(size=2), numpy.float32(0.2), X, (y > 0.5).astype(float))
    labels = numpy.eye(3)[rng.integers(0, 3, size=16)]
    softmax = (rng.normal(size=(2, 3)), X, labels)
    return [(two_layer_loss, as32(net), (0, 1, 2)), (logistic_loss, as32(logistic), (0,)),
            (softmax_loss, as32(softmax), (0,))]


PROGRAMS = _programs()


@pytest.mark.parametrize("func, args, wrt", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_float32_programs_stay_float32(func, args, wrt):
    value, gradients = watched(srcdiff.value_and_grad(func, wrt=wrt), *args)
    assert value.dtype == F32  # the function's own value
    expected = srcdiff.grad(func, wrt=wrt)(*as64(args))
    for got, want in zip(gradients, expected):
        assert type(got) is numpy.ndarray and got.dtype == F32
        assert_float32_like(got, want)
    tangents = [numpy.ones_like(args[i]) for i in wrt]
    _, derivative = watched(srcdiff.jvp(func, wrt=wrt), *args, *tangents)
    assert derivative == pytest.approx(
        srcdiff.jvp(func, wrt=wrt)(*as64(args), *as64(tangents))[1], rel=1e-3)
    products = watched(srcdiff.hvp(func, wrt=wrt), *args, *tangents)
    for got, want in zip(products, srcdiff.hvp(func, wrt=wrt)(*as64(args), *as64(tangents))):
        assert got.dtype == F32
        assert_float32_like(got, want)


def test_float64_programs_stay_float64():
    """The watch itself: float64 code is float64 throughout, and it sees a float32 value."""
    func, args, wrt = PROGRAMS[2]
    watched(srcdiff.grad(func, wrt=wrt), *as64(args), dtype=numpy.float64)
    with pytest.raises(AssertionError, match="another dtype"):
        watched(srcdiff.grad(func, wrt=wrt), *args, dtype=numpy.float64)


# --- mixed dtypes: NumPy's promotion -----------------------------------------------------------

def mixed(x, y):
    return numpy.sum(numpy.tanh(x * y) * x)


def mixed_array(x, y):
    return numpy.sin(x) * y


SCALE = numpy.array([2.0, 0.5, 1.5])  # float64


def with_float64_global(x):
    return numpy.sum(SCALE * x ** 2)


def test_mixed_dtypes_follow_numpy_promotion():
    """A gradient has its parameter's dtype, whatever the primal promotes to; the value and
    a tangent have the primal's dtype (float32 and float64 make float64)."""
    x = numpy.array([0.3, -0.5, 0.8], dtype=F32)
    y = numpy.array([1.5, 0.25, -2.0])
    value, (dx, dy) = srcdiff.value_and_grad(mixed, wrt=(0, 1))(x, y)
    assert value.dtype == numpy.result_type(x, y) == numpy.float64
    assert (dx.dtype, dy.dtype) == (F32, numpy.float64)
    value, tangent = srcdiff.jvp(mixed_array, wrt=(0, 1))(x, y, numpy.ones_like(x), numpy.ones_like(y))
    assert value.dtype == tangent.dtype == numpy.float64
    numpy.testing.assert_allclose(tangent, numpy.cos(x) * y + numpy.sin(x), rtol=1e-6)
    _, tangent = srcdiff.jvp(mixed_array, wrt=0)(x, y.astype(F32), numpy.ones_like(x))
    assert tangent.dtype == F32
    gradient = srcdiff.grad(with_float64_global)(x)  # 2 * SCALE * x is float64; x is float32
    assert gradient.dtype == F32
    numpy.testing.assert_allclose(gradient, 2 * SCALE * x, rtol=1e-6)


# --- float16 -----------------------------------------------------------------------------------

# numpy.linalg has no float16 (runtime.eigenvalues is eigh's, runtime.cofactor det's); x.item()
# is a Python float, whose numpy.sum is float64
HALF = [(rule, example) for rule, example in FLOATING
        if "linalg" not in rule.name and rule.func not in (runtime.item_of, runtime.eigenvalues,
                                                           runtime.cofactor)]


@pytest.mark.parametrize("rule, example", HALF, ids=[f"{r.name}-{r.examples.index(e)}" for r, e in HALF])
def test_float16_gradients_stay_float16(rule, example):
    names, args, expression, rng = _rule_point(rule, example)
    args = [a.astype(numpy.float16) for a in args]
    probe = program(f"def probe({', '.join(names)}):\n    return numpy.sum({expression})\n",
                    srcdiff=srcdiff)
    wrt = tuple(range(len(args)))
    gradients = watched(srcdiff.grad(probe, wrt=wrt), *args, dtype=numpy.float16)
    expected = srcdiff.grad(probe, wrt=wrt)(*as64(args))
    for got, want in zip(gradients, expected):
        assert got.dtype == numpy.float16
        scale = max(1.0, float(numpy.max(numpy.abs(want))))
        numpy.testing.assert_allclose(got.astype(float), want, rtol=2e-2, atol=2e-2 * scale)


# --- the helpers generated code calls ------------------------------------------------------------

def test_runtime_helpers_keep_float32():
    x = numpy.array([[2.0, 1.0], [1.0, 3.0]], dtype=F32)
    assert runtime.tangent_like(numpy.ones(2), numpy.zeros(2, F32)).dtype == F32
    assert runtime.tangent_like(0.0, numpy.zeros(2, numpy.float16)).dtype == numpy.float16
    assert runtime.tangent_like(0.0, numpy.zeros(2, int)).dtype == numpy.float64
    assert runtime.tangent_like(0.0, numpy.zeros(2)).dtype == numpy.float64
    # a branch's zero adjoint of a (1, 3) shape for a (2, 3) operand
    assert runtime.unbroadcast(numpy.zeros((1, 3), F32), numpy.ones((2, 3), F32)).dtype == F32
    assert runtime.matmul_vjp(1.0, x[0], x[1], True).dtype == F32  # an inner product's adjoint
    assert runtime.cofactor(x, numpy.linalg.det(x)).dtype == F32
    singular = numpy.ones((2, 2), F32)
    assert runtime.cofactor(singular, numpy.linalg.det(singular)).dtype == F32
    assert runtime.diff_adjoint(numpy.ones(3, F32), 2, -1).dtype == F32


# --- what once gave float64 or a Python float (outside the rules and helpers) ------------------

def total(x):
    return numpy.sum(x * x)


def scaled_total(s, x):
    return numpy.sum(s * x)


def variance_unless_large(x):
    if numpy.sum(x) > 100.0:
        return numpy.sum(x)
    return numpy.var(x)


def joined(x, y):
    return numpy.concatenate([x, y * 2.0])


X32 = numpy.array([0.3, -0.5, 0.8], dtype=F32)


def test_jvp_of_a_float32_number_is_float32():
    value, tangent = srcdiff.jvp(total)(X32, numpy.ones_like(X32))
    assert type(value) is numpy.float32 and type(tangent) is numpy.float32


def test_gradient_for_a_float32_number_is_float32():
    ds, _ = srcdiff.grad(scaled_total, wrt=(0, 1))(numpy.float32(0.5), X32)
    assert type(ds) is numpy.float32


def test_numbers_that_are_not_float32_give_python_floats():
    """A Python float (or a NumPy float64) parameter's gradient, and the tangent of a float64
    result that is a number, are Python floats, as before."""
    for s in (0.5, numpy.float64(0.5)):
        ds, _ = srcdiff.grad(scaled_total, wrt=(0, 1))(s, X32)
        assert type(ds) is float and ds == pytest.approx(float(numpy.sum(X32)))
    _, tangent = srcdiff.jvp(total)(X32.astype(float), numpy.ones(3))
    assert type(tangent) is float


def test_adjoint_given_its_shape_keeps_float32():
    watched(srcdiff.grad(variance_unless_large), X32)


def test_zero_tangent_keeps_float32():
    watched(srcdiff.jvp(joined, wrt=0), X32, numpy.ones(2, F32), numpy.ones_like(X32))


def clipped(x, s):
    return numpy.maximum(x, s)


def test_tangent_of_a_python_float_keeps_float32():
    watched(srcdiff.jvp(clipped, wrt=(0, 1)), X32, 0.1, numpy.ones_like(X32), 1.0)
