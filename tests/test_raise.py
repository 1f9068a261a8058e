"""``raise`` statements (tests/programs_raise.py): run as written where the function
raises, in reverse mode, forward mode, second derivatives, checkpointed and compiled
gradients, and the command's standalone modules; the same exception with the same
message, and elsewhere the gradient of central differences and dual numbers, in every
optimisation setting. The refusals, each located where the user wrote it."""

import inspect
import math

import numpy as np
import pytest

import srcdiff
from arrays import numeric_gradient
from dual import forward_gradient
from oracles import assert_close
from programs_raise import RAISE, RAISING
from srcdiff.errors import CompileError, UnsupportedSyntaxError
from srcdiff.pipeline import OPTIMIZATIONS, generate

IDS = [func.__name__ for func, _ in RAISE]
SETTINGS = [("optimised", {}), ("unoptimised", {"optimize": False})] + [
    (f"without {name}", {"disable": (name,)}) for name in OPTIMIZATIONS]


def _wrt(point):
    return tuple(i for i, v in enumerate(point) if isinstance(v, (float, np.ndarray)))


def _kinds(func, point):
    from srcdiff.kinds import array
    names = func.__code__.co_varnames
    return {names[i]: array(np.ndim(v)) for i, v in enumerate(point)
            if isinstance(v, np.ndarray)}


@pytest.mark.parametrize("func, point", RAISE, ids=IDS)
def test_where_it_returns_the_gradient_is_the_oracles(func, point):
    wrt = _wrt(point)
    gradient = srcdiff.grad(func, wrt=wrt)(*point)
    for got, want in zip(gradient, numeric_gradient(func, point, wrt)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    if not any(isinstance(v, np.ndarray) for v in point):
        assert_close(gradient, forward_gradient(func, point, wrt), rel=1e-12, abs_=1e-12)
    names = tuple(func.__code__.co_varnames[i] for i in wrt)
    for label, setting in SETTINGS:
        got = generate(func, names, name="g", as_tuple=True, kinds=_kinds(func, point),
                       **setting).function(*point)
        for g, want in zip(got, gradient):
            np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-14, err_msg=label)


def _gradients(func, point):
    """Every way srcdiff differentiates ``func`` at ``point``, by name."""
    wrt = _wrt(point)
    names = tuple(func.__code__.co_varnames[i] for i in wrt)
    made = {"grad": srcdiff.grad(func, wrt=wrt),
            "value_and_grad": srcdiff.value_and_grad(func, wrt=wrt),
            "jvp": lambda *a: srcdiff.jvp(func, wrt=wrt)(*a, *(np.ones_like(a[i]) for i in wrt)),
            "checkpoints": srcdiff.grad(func, wrt=wrt, checkpoints=2)}
    for label, setting in SETTINGS:
        made[label] = generate(func, names, name="g", as_tuple=True,
                               kinds=_kinds(func, point), **setting).function
    if all(isinstance(point[i], float) for i in wrt):
        made["grad(grad)"] = srcdiff.grad(srcdiff.grad(func, wrt=wrt[0]), wrt=wrt[0])
        made["hessian"] = srcdiff.hessian(func, wrt=wrt[0])
    return made


@pytest.mark.parametrize("func, point, error, message", RAISING, ids=IDS)
def test_where_it_raises_every_gradient_raises_the_same(func, point, error, message):
    with pytest.raises(error) as caught:
        func(*point)
    assert str(caught.value) == message  # the program's own, checked here first
    for label, gradient in _gradients(func, point).items():
        with pytest.raises(error) as caught:
            gradient(*point)
        assert type(caught.value) is error and str(caught.value) == message, label


def test_runs_as_written_in_the_forward_sweep_and_nowhere_else():
    from programs_raise import diverges_in_loop
    text = srcdiff.source(srcdiff.grad(diverges_in_loop))
    raise_line = "            raise OverflowError(f'diverged at step {i}: {s}')"
    assert text.count("raise ") == 1 and raise_line in text, text
    forward, backward = text.split("for _ in range(")
    assert raise_line in forward


def test_a_helpers_raise_reads_the_callers_values():
    """Inlined twice, each copy of the helper's ``raise`` reads its own argument."""
    from programs_raise import checked_in_a_helper
    text = srcdiff.source(srcdiff.grad(checked_in_a_helper, wrt=(0, 1)))
    assert text.count("raise ValueError('not positive: ' + str(") == 2, text
    with pytest.raises(ValueError, match="not positive: -0.1"):
        srcdiff.grad(checked_in_a_helper, wrt=(0, 1))(0.5, 0.4)


def test_the_command_writes_it_into_standalone_modules(tmp_path):
    from programs_raise import checked_log
    source = tmp_path / "checked.py"
    text = inspect.getsource(checked_log)
    source.write_text("import math\n\n\n" + text[text.index("def "):])  # no decorator
    from srcdiff.cli import main
    assert main(["generate", str(source), "--function", "checked_log",
                 "-o", str(tmp_path / "checked_grad.py")]) == 0
    namespace = {}
    exec(compile((tmp_path / "checked_grad.py").read_text(), "checked_grad", "exec"), namespace)
    assert namespace["grad_checked_log"](0.7) == pytest.approx(math.log(0.7) + 1.0, rel=1e-15)
    with pytest.raises(ValueError, match="x must be positive, got -0.5"):
        namespace["grad_checked_log"](-0.5)


def test_numba_compiles_a_raise_of_constants_and_refuses_a_formatted_one():
    pytest.importorskip("numba")

    def constant(x):
        if x < 0:
            raise ValueError("negative")
        return x * x
    assert srcdiff.grad(constant, compile="numba")(1.5) == 3.0
    with pytest.raises(ValueError, match="negative"):
        srcdiff.grad(constant, compile="numba")(-1.5)
    from programs_raise import checked_log
    with pytest.raises(CompileError, match="numba raises exceptions whose arguments are "
                       "constants only") as caught:
        srcdiff.grad(checked_log, compile="numba")
    lines, first = inspect.getsourcelines(checked_log)
    assert caught.value.lineno == first + next(i for i, line in enumerate(lines)
                                               if "raise" in line)


# -- refusals ------------------------------------------------------------------------

def raises_a_lambda(x):
    if x < 0:
        raise ValueError((lambda v: v)(x))  # refused
    return x


def binds_inside_a_raise(x):
    if x < 0:
        raise ValueError(y := x)  # refused
    return x


def raises_with_a_local_function(x):
    def describe(v):
        return v * 2
    if x < 0:
        raise ValueError(describe(x))  # refused
    return x


def raises_a_grown_list(x, n):
    out = [x * k for k in range(n)]
    if x < 0:
        raise ValueError(out)  # refused
    return sum(out)


@pytest.mark.parametrize("func, pattern", [
    (raises_a_lambda, "a lambda inside `raise` is not supported"),
    (binds_inside_a_raise, "`:=` inside `raise` is not supported"),
    (raises_with_a_local_function, "the local function `describe` is used inside `raise`"),
    (raises_a_grown_list, "`out` stands for a list srcdiff follows, which has no value of "
                          "its own at run time: a `raise`, run as written, cannot use it"),
])
def test_refused_where_written(func, pattern):
    with pytest.raises(UnsupportedSyntaxError, match=pattern) as caught:
        srcdiff.grad(func)
    lines, first = inspect.getsourcelines(func)
    refused = next(i for i, line in enumerate(lines) if "# refused" in line)
    assert caught.value.lineno == first + refused
