"""Compiled gradients (``compile="numba"``, srcdiff/jit.py): every program of the scalar
collections gives the same gradient compiled and plain (the plain one is checked against
SymPy, dual numbers and central differences elsewhere), or is refused with a located
srcdiff error, never a numba traceback. Skipped, saying why, where numba is not
installed (the ``test`` extra installs it, so CI runs them); the missing-numba error is
tested either way."""

import importlib.util
import math
import math as m
import sys

import numpy as np
import pytest

import programs
import programs_calls
import programs_control
import srcdiff
from oracles import assert_close
from sharding import CI, share

NUMBA = importlib.util.find_spec("numba") is not None
needs_numba = pytest.mark.skipif(not NUMBA, reason="numba is not installed: pip install "
                                 "'srcdiff[numba]' to test compiled gradients")


@pytest.fixture(autouse=True)
def bounds_checked(monkeypatch):
    """Every gradient compiled here checks its indices: a preallocated tape too short
    raises IndexError instead of writing past its end."""
    import srcdiff.jit
    monkeypatch.setitem(srcdiff.jit.NJIT_OPTIONS, "boundscheck", True)


def _collection():
    seen, cases = set(), []
    for func, point in ([(f, p) for f, p, _ in programs.PROGRAMS] + list(programs_control.CONTROL)
                        + list(programs_calls.CALLS)):
        if (func, point) not in seen:
            seen.add((func, point))
            cases.append((func, point))
    return cases


CASES = _collection()
IDS = [f"{func.__name__}{list(point)}" for func, point in CASES]
# the programs outside numba's nopython subset, and what the refusal names
REFUSED = {
    "logarithms_and_roots": "Unknown attribute 'cbrt'",       # numba has no math.cbrt
    "exactly_rounded_sums": "Unknown attribute 'fsum'",       # nor math.fsum
    "truncated_remainder": "Unknown attribute 'fmod'",        # nor math.fmod
    "recursion": "a recursive call cannot be compiled",
    "recursion_in_expressions": "a recursive call cannot be compiled",
    "mutual_recursion": "a recursive call cannot be compiled",
    "recursion_in_a_loop": "a recursive call cannot be compiled",
    # a raise with a formatted message; a loop variable holding strings, then numbers
    "string_option_of_the_function": "numba raises exceptions whose arguments are constants",
    "strings_in_a_loop": "Cannot unify float64 and unicode_type",
}


def _float_positions(point):
    return tuple(i for i, v in enumerate(point) if isinstance(v, float))


@needs_numba
@pytest.mark.parametrize("func, point", CASES, ids=IDS)
def test_compiled_equals_plain(func, point, capsys):
    wrt = _float_positions(point)
    if func.__name__ in REFUSED:
        with pytest.raises(srcdiff.CompileError, match=REFUSED[func.__name__]) as caught:
            srcdiff.grad(func, wrt=wrt, compile="numba")(*point)
        assert "numba.core" not in type(caught.value).__module__
        return
    compiled = srcdiff.grad(func, wrt=wrt, compile="numba")
    got = compiled(*point)
    want = srcdiff.grad(func, wrt=wrt)(*point)
    assert type(got) is tuple and len(got) == len(want)
    assert_close(got, want, rel=1e-12, abs_=1e-300)
    assert compiled.numba_function.signatures, "the gradient was not compiled"


def test_every_refusal_is_in_the_collection():
    names = {func.__name__ for func, _ in CASES}
    assert set(REFUSED) <= names


@needs_numba
@pytest.mark.parametrize("func, point", [c for c in CASES if c[0] in (
    programs_control.branch_inside_loop, programs_control.loop_with_break,
    programs_control.nested_loops, programs_control.while_loop,
    programs_calls.callee_with_loop_and_early_return)], ids=lambda v: getattr(v, "__name__", ""))
def test_value_and_grad_and_jvp_compiled(func, point):
    wrt = _float_positions(point)
    value, gradient = srcdiff.value_and_grad(func, wrt=wrt, compile="numba")(*point)
    want_value, want_gradient = srcdiff.value_and_grad(func, wrt=wrt)(*point)
    assert value == want_value
    assert_close(gradient, want_gradient, rel=1e-12, abs_=1e-300)
    tangents = [0.5 + 0.25 * k for k in range(len(wrt))]
    value, slope = srcdiff.jvp(func, wrt=wrt, compile="numba")(*point, *tangents)
    want_value, want_slope = srcdiff.jvp(func, wrt=wrt)(*point, *tangents)
    assert value == want_value
    assert_close([slope], [want_slope], rel=1e-12, abs_=1e-300)


@needs_numba
def test_typed_code_has_no_none_and_a_tape_per_variable():
    compiled = srcdiff.grad(programs_control.branch_inside_loop, compile="numba")
    text = srcdiff.source(compiled)
    assert "None" not in text and "tape = []" not in text
    # a top-level loop over range: arrays as long as its trip count (rem: an int)
    assert "tape_total = numpy.empty(len(range(6)) * 3, numpy.float64)" in text  # 3 saves
    assert "tape_rem = numpy.empty(len(range(6)), numpy.int64)" in text
    plain = srcdiff.source(srcdiff.grad(programs_control.branch_inside_loop))
    assert "tape = []" in plain and "None" in plain  # the plain form is unchanged
    # saved twice an iteration (before the test, and in a branch): twice as long
    text = srcdiff.source(srcdiff.grad(programs_control.loop_with_break, compile="numba"))
    assert "tape_total = numpy.empty(len(range(n)) * 2, numpy.float64)" in text
    # an inner loop's saves: a list (how many is not known before the outer loop)
    text = srcdiff.source(srcdiff.grad(programs_control.nested_loops, wrt=(0, 1),
                                       compile="numba"))
    assert "= []" in text


def maybe_unbound(x, n):
    for i in range(n):
        if i > 1:
            y = x * i
        x = x * 0.5 + y * 0.1
    return x


@needs_numba
def test_unbound_read_raises_as_python_does():
    compiled = srcdiff.grad(maybe_unbound, compile="numba")
    with pytest.raises(UnboundLocalError):
        maybe_unbound(1.0, 3)
    with pytest.raises(UnboundLocalError, match="'y'"):
        compiled(1.0, 3)
    with pytest.raises(UnboundLocalError, match="'y'"):
        srcdiff.grad(maybe_unbound)(1.0, 3)
    assert compiled(1.0, 0) == srcdiff.grad(maybe_unbound)(1.0, 0) == 1.0


def cube_root(x):
    return math.cbrt(x) * x


@needs_numba
def test_numba_refusal_is_a_located_srcdiff_error():
    with pytest.raises(srcdiff.CompileError) as caught:
        srcdiff.grad(cube_root, compile="numba")(2.0)
    error = caught.value
    assert isinstance(error, srcdiff.SrcdiffError)
    assert "math.cbrt(x)" in error.source_line  # the generated line numba refused
    assert "the gradient of cube_root" in str(error) and "test_compiled.py" in str(error)
    assert error.__cause__ is None and error.__suppress_context__


def square_root(x):
    return math.sqrt(x)


@needs_numba
def test_arithmetic_errors_go_to_the_plain_gradient():
    # 1 / (2 * sqrt(0)): a ZeroDivisionError in compiled code; the plain gradient gives
    # inf there, as IEEE arithmetic does (srcdiff.ieee)
    assert srcdiff.grad(square_root, compile="numba")(0.0) == math.inf
    assert srcdiff.grad(square_root, compile="numba")(4.0) == 0.25


def polynomial(x, y=2.0, *, scale=1.0):
    return scale * (x * x * y + y)


@needs_numba
def test_arguments_keywords_defaults_and_ints():
    compiled = srcdiff.grad(polynomial, wrt=(0, "y"), compile="numba")
    plain = srcdiff.grad(polynomial, wrt=(0, "y"))
    assert compiled(3.0) == plain(3.0) == (12.0, 10.0)
    assert compiled(3, y=1, scale=2.0) == plain(3, y=1, scale=2.0)
    assert compiled is srcdiff.grad(polynomial, wrt=(0, "y"), compile="numba")  # cached
    with pytest.raises(srcdiff.SrcdiffError, match="is a list"):
        compiled([1.0, 2.0])
    with pytest.raises(srcdiff.SrcdiffError, match="compile is None or 'numba'"):
        srcdiff.grad(polynomial, compile="jax")


def test_missing_numba_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError

    def f(x):
        return x * x
    with pytest.raises(srcdiff.CompilerMissingError, match=r"pip install 'srcdiff\[numba\]'"):
        srcdiff.grad(f, compile="numba")
    with pytest.raises(srcdiff.SrcdiffError):
        srcdiff.value_and_grad(f, compile="numba")
    assert srcdiff.grad(f)(3.0) == 6.0  # plain gradients need no numba


def logarithm(x, base):
    return math.log(x, base) * x


@needs_numba
def test_two_argument_log_is_rewritten():
    # numba has no math.log(a, b): the typed form writes log(a) / log(b), as CPython
    # computes it, so the numbers are the same
    compiled = srcdiff.grad(logarithm, wrt=(0, 1), compile="numba")
    assert "math.log(x) / math.log(base)" in srcdiff.source(compiled)
    assert compiled(3.0, 2.5) == srcdiff.grad(logarithm, wrt=(0, 1))(3.0, 2.5)


def logistic(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, -y * z))


def broadcast(w, X, b):
    return np.sum(np.tanh(X * w + b) ** 2) + np.sum(w[None, :] * X)


def network(W1, b1, W2, b2, X, y):
    hidden = np.tanh(X @ W1 + b1)
    return np.mean((hidden @ W2 + b2 - y) ** 2)


def first_two(x):
    return x[0] * x[1]


@needs_numba
def test_numpy_code_is_compiled_where_numba_has_its_helpers():
    rng = np.random.default_rng(0)
    X, w, y = rng.normal(size=(30, 4)), rng.normal(size=4), np.sign(rng.normal(size=30))
    W1, b1, W2 = rng.normal(size=(4, 5)), rng.normal(size=5), rng.normal(size=5)
    cases = [(logistic, (w, X, y), 0), (broadcast, (w, X, 0.3), (0, 2)),
             (network, (W1, b1, W2, 0.1, X, y), (0, 1, 2, 3))]
    for func, args, wrt in cases:
        compiled = srcdiff.grad(func, wrt=wrt, compile="numba")
        got, want = compiled(*args), srcdiff.grad(func, wrt=wrt)(*args)
        got, want = (got, want) if isinstance(wrt, tuple) else ((got,), (want,))
        for a, b in zip(got, want):
            assert np.shape(a) == np.shape(b)
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)
        assert compiled.numba_function.signatures
    assert not np.shares_memory(srcdiff.grad(logistic, compile="numba")(w, X, y), w)


@needs_numba
def test_array_code_numba_cannot_compile_is_refused_at_its_line():
    with pytest.raises(srcdiff.CompileError, match="helper scatter .* not compiled") as caught:
        srcdiff.grad(first_two, compile="numba")(np.ones(3))
    assert "scatter(" in caught.value.source_line
    # the scalar code is made when grad is called; a function that needs arrays says
    # so at a call with numbers, as the plain gradient does
    with pytest.raises(srcdiff.KindError):
        srcdiff.grad(logistic, compile="numba")(1.0, 2.0, 3.0)


def printing(x):
    y = x * x
    print(f"y is {y}")
    return y


@needs_numba
def test_f_strings_are_refused_where_written():
    # numba would print "y is <object type:float64>": refused, located in the source
    with pytest.raises(srcdiff.CompileError, match="f-strings") as caught:
        srcdiff.grad(printing, compile="numba")
    assert caught.value.source_line.strip() == 'print(f"y is {y}")'


def logarithm_and_flag(x, base):
    flag = float(x > base)
    return m.log(x, base) * x + flag * x


@needs_numba
def test_aliased_log_and_float_of_a_bool_are_rewritten():
    compiled = srcdiff.grad(logarithm_and_flag, wrt=(0, 1), compile="numba")
    text = srcdiff.source(compiled)
    assert "float(" not in text and "m.log(x) / m.log(base)" in text
    plain = srcdiff.grad(logarithm_and_flag, wrt=(0, 1))
    for point in [(3.0, 2.5), (2.0, 2.5)]:
        assert_close(compiled(*point), plain(*point), rel=1e-15, abs_=0.0)


# The typed form is plain Python too: run in CPython, it must give what the plain form
# gives on random programs (tests/fuzz/scalar.py), with or without numba; every
# COMPILE_EVERY-th is compiled with numba as well. More seeds with CI set: 300, shared
# out over CI's Pythons (tests/sharding.py).
TYPED_SEEDS = share(range(300)) if CI else list(range(60))
COMPILE_EVERY = 4 if CI else 6


@pytest.mark.parametrize("chunk", range(0, len(TYPED_SEEDS), 20))
def test_typed_form_agrees_on_random_programs(chunk):
    from fuzz import scalar
    from fuzz.harness import copy_point, load, quiet
    from srcdiff.pipeline import generate
    checked = 0
    for seed in TYPED_SEEDS[chunk:chunk + 20]:
        case = scalar.generate(seed)
        func, _ = load(case)
        wrt = case.wrt_names
        try:
            plain = generate(func, wrt, name="plain", as_tuple=True)
        except srcdiff.SrcdiffError:
            continue
        try:
            typed = generate(func, wrt, name="typed", as_tuple=True, typed=True)
        except srcdiff.CompileError:  # recursion, f-strings: refused, located
            continue
        results = []
        for code in (plain, typed):
            try:
                with quiet():
                    results.append(("value", code.function(*copy_point(case.point))))
            except (NameError, UnboundLocalError):  # (plain: NameError where a dead
                results.append(("unbound", None))   # assignment of the name went)
            except Exception as error:
                results.append((type(error).__name__, None))
        assert results[0][0] == results[1][0], (seed, results)
        if results[0][0] != "value":
            continue
        assert_close(results[1][1], results[0][1], rel=1e-15, abs_=0.0)
        checked += 1
        if NUMBA and seed % COMPILE_EVERY == 0:
            try:
                with quiet():
                    compiled = srcdiff.grad(func, wrt=wrt, compile="numba")(
                        *copy_point(case.point))
            except srcdiff.CompileError:  # math.cbrt, global lists: refused, located
                continue
            compiled = compiled if isinstance(compiled, tuple) else (compiled,)
            assert_close(compiled, results[0][1], rel=1e-12, abs_=1e-300)
    assert checked >= 6  # of 20 (8 to 19 in the CI seeds: the rest refused, or raise where run)


@pytest.mark.parametrize("setting", ["optimised", "unoptimised"] + [
    f"without {name}" for name in __import__("srcdiff.pipeline").pipeline.OPTIMIZATIONS])
def test_typed_form_in_every_optimisation_setting(setting, capsys):
    """Translation validation of the typed form: the control-flow and call programs,
    run in CPython, give the plain optimised gradient with the optimiser on, off and
    each optimisation off alone."""
    from srcdiff.pipeline import generate
    options = {} if setting == "optimised" else {"optimize": False} \
        if setting == "unoptimised" else {"disable": (setting.split()[-1],)}
    checked = 0
    for func, point in list(programs_control.CONTROL) + list(programs_calls.CALLS):
        wrt = tuple(func.__code__.co_varnames[i] for i in _float_positions(point))
        try:
            typed = generate(func, wrt, name="typed", as_tuple=True, typed=True, **options)
        except srcdiff.CompileError:
            continue
        want = generate(func, wrt, name="plain", as_tuple=True).function(*point)
        assert_close(typed.function(*point), want, rel=1e-12, abs_=1e-300)
        checked += 1
    assert checked >= 25


RATE = 2.0
WEIGHTS = np.array([1.0, 2.0])


def scaled(x):
    return RATE * x * x


def weighted(x):
    return np.sum(WEIGHTS * x)


@needs_numba
def test_a_global_number_changed_is_seen(monkeypatch):
    # numba copies RATE into the compiled code; a new value compiles it again
    compiled = srcdiff.grad(scaled, compile="numba")
    assert compiled(3.0) == 12.0
    monkeypatch.setitem(globals(), "RATE", 5.0)
    assert compiled(3.0) == 30.0 == srcdiff.grad(scaled)(3.0)


@needs_numba
def test_a_global_array_is_refused():
    with pytest.raises(srcdiff.CompileError, match="reads the array 'WEIGHTS'"):
        srcdiff.grad(weighted, compile="numba")(np.ones(2))
