"""``try`` statements around constants (issue 13, item 6): run as written in the
gradient's forward sweep, contributing nothing to the backward sweep. The programs of
tests/programs_try.py against central differences, dual numbers and forward mode, in
every optimisation setting; and the refusals, each located where the user wrote it."""

import inspect
import math

import numpy as np
import pytest

import srcdiff
from dual import forward_gradient
from oracles import assert_close, central_difference
from programs_try import TRY
from srcdiff.errors import CompileError, UnsupportedSyntaxError
from srcdiff.pipeline import OPTIMIZATIONS, generate

IDS = [f"{func.__name__}-{i}" for i, (func, _) in enumerate(TRY)]
SETTINGS = [("optimised", {}), ("unoptimised", {"optimize": False})] + [
    (f"without {name}", {"disable": (name,)}) for name in OPTIMIZATIONS]


def _float_positions(point):
    return tuple(i for i, v in enumerate(point) if isinstance(v, float))


@pytest.mark.parametrize("func, point", TRY, ids=IDS)
def test_matches_central_differences_and_dual_numbers(func, point):
    wrt = _float_positions(point)
    gradient = srcdiff.grad(func, wrt=wrt)(*point)
    assert_close(gradient, central_difference(func, point, wrt), rel=1e-6, abs_=1e-8)
    assert_close(gradient, forward_gradient(func, point, wrt), rel=1e-12, abs_=1e-12)


@pytest.mark.parametrize("func, point", TRY, ids=IDS)
def test_every_setting_and_forward_mode(func, point):
    wrt = _float_positions(point)
    names = tuple(func.__code__.co_varnames[i] for i in wrt)
    value, reference = srcdiff.value_and_grad(func, wrt=wrt)(*point)
    assert value == func(*point)
    for label, setting in SETTINGS:
        got = generate(func, names, name="g", as_tuple=True, **setting).function(*point)
        assert_close(got, reference, rel=1e-12, abs_=1e-14)
    for i in range(len(wrt)):  # forward mode: each tangent is a gradient's component
        tangents = [1.0 if j == i else 0.0 for j in range(len(wrt))]
        _, tangent = srcdiff.jvp(func, wrt=wrt)(*point, *tangents)  # value and tangent
        assert_close([tangent], [reference[i]], rel=1e-12,
                     abs_=1e-14)


def test_runs_as_written_in_the_forward_sweep():
    from programs_try import config_lookup
    text = srcdiff.source(srcdiff.grad(config_lookup))
    assert "try:\n        scale = config['scale']\n    except KeyError:\n        scale = 2.0" \
        in text
    assert "b_scale" not in text


def test_uncaught_exceptions_are_raised_as_the_function_raises():
    from programs_try import parse_count

    def strict(x, s):
        try:
            n = int(s)
        except KeyError:
            n = 1
        return x ** n
    with pytest.raises(ValueError, match="invalid literal for int"):
        srcdiff.grad(strict)(0.5, "x")
    assert srcdiff.grad(parse_count)(0.5, "2") == pytest.approx(1.0)


def test_value_saved_per_iteration():
    """A name the try assigns in a loop and the backward sweep reads: each iteration's
    value, from the tape."""
    def f(x, s):
        total = 0.0
        for i in range(3):
            try:
                n = int(s) + i
            except ValueError:
                n = 3
            total = total + n * math.sin(x)
            x = x * 1.5
        return total
    for s in ("2", "x"):
        assert_close([srcdiff.grad(f)(0.3, s)], central_difference(f, (0.3, s), (0,)),
                     rel=1e-7)


def test_unbound_after_try_raises_as_python_does():
    def f(x, s):
        y = x
        for i in range(2):
            try:
                k = int(s)
            except ValueError:
                pass
            y = y * k
        return y
    assert srcdiff.grad(f)(0.7, "3") == pytest.approx(9.0)
    with pytest.raises(UnboundLocalError):
        f(0.7, "a")
    with pytest.raises(UnboundLocalError):
        srcdiff.grad(f)(0.7, "a")


def test_numba_refuses_a_try():
    pytest.importorskip("numba")
    from programs_try import config_lookup
    with pytest.raises(CompileError, match="a `try` statement cannot be compiled with numba"):
        srcdiff.grad(config_lookup, compile="numba")


# -- refusals ------------------------------------------------------------------------

def reads_the_parameter(x):
    try:
        y = math.log(x)  # refused
    except ValueError:
        y = 0.0
    return y


def reads_a_dependent_value(x, config):
    z = x * 2
    try:
        scale = config["scale"] * z  # refused
    except KeyError:
        scale = 2.0
    return scale * x


def assigns_a_dependent_name(x):
    y = x
    for i in range(2):
        y = y * x
        try:
            y = 1.0  # refused
        except ValueError:
            pass
    return y


def returns_inside(x, s):
    try:
        return x * int(s)  # refused
    except ValueError:
        pass
    return x


def breaks_out_of_a_loop(x, s):
    for i in range(3):
        try:
            k = int(s)
            break  # refused
        except ValueError:
            pass
        x = x * 2
    return x


def continues_a_loop(x, s):
    for i in range(3):
        try:
            k = int(s)
        except ValueError:
            continue  # refused
        x = x * k
    return x


def yields_inside(x):
    try:
        yield x  # refused
    except ValueError:
        pass
    return x


def deletes_inside(x, s):
    k = 1
    try:
        del k  # refused
    except NameError:
        pass
    return x


def defines_a_function_inside(x):
    try:
        def g(v):  # refused
            return v
    except ValueError:
        pass
    return x


def uses_a_local_function(x, s):
    def parse(v):
        return int(v)
    try:
        k = parse(s)  # refused
    except ValueError:
        k = 1
    return x * k


def reads_a_followed_list(x, s):
    xs = [1.0, 2.0]
    xs.append(3.0)
    try:
        k = xs[int(s)]  # refused
    except (ValueError, IndexError):
        k = 0.0
    return x * k


def differentiated_through_a_callee(x):
    return _helper(x)


def _helper(v):
    try:
        w = v + 1  # refused
    except TypeError:
        w = 0.0
    return w


def imports_a_submodule(x):
    try:  # refused
        import os.path  # noqa: F401  (refused before it runs)
    except ImportError:
        pass
    return x


def try_star(x):
    try:  # refused
        k = 1
    except* ValueError:
        k = 2
    return x * k


REFUSED = [
    (reads_the_parameter, "`try` around differentiated values is not supported: `x` is "
     "differentiated"),
    (reads_a_dependent_value, "`try` around differentiated values is not supported: `z` "
     "depends on x"),
    (assigns_a_dependent_name, "`try` around differentiated values is not supported: `y` "
     "depends on x"),
    (returns_inside, "`return` inside `try` is not supported"),
    (breaks_out_of_a_loop, "`break` inside `try` of a loop outside it is not supported"),
    (continues_a_loop, "`continue` inside `try` of a loop outside it is not supported"),
    (yields_inside, "`yield` inside `try` is not supported"),
    (deletes_inside, "`del` inside `try` is not supported"),
    (defines_a_function_inside, "a function defined inside `try` is not supported"),
    (uses_a_local_function, "the local function `parse` is used inside `try`"),
    (reads_a_followed_list, "`xs` stands for a list srcdiff follows, which has no value "
     "of its own at run time"),
    (differentiated_through_a_callee, "`try` around differentiated values is not supported: "
     "`v` depends on x"),
    (imports_a_submodule, "`import os.path` inside `try` is not supported"),
    (try_star, "`try`/`except*` statements are not supported"),
]


def _marked(func):
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, line in enumerate(lines) if "# refused" in line)


@pytest.mark.parametrize("func, message", REFUSED, ids=[f.__name__ for f, _ in REFUSED])
def test_refused_where_written(func, message):
    with pytest.raises(UnsupportedSyntaxError, match="^" + __import__("re").escape(
            f"{__file__}:")) as caught:
        srcdiff.grad(func)
    failure = caught.value
    assert failure.message.startswith(message), failure.message
    marked = _marked(_helper if func is differentiated_through_a_callee else func)
    assert failure.lineno == marked
    assert "# refused" in failure.source_line


def test_standalone_module_carries_the_try(tmp_path):
    """``srcdiff generate``: the try, its imports and its handler's name are the
    module's own code, not names to import."""
    import subprocess
    import sys
    import textwrap
    (tmp_path / "model.py").write_text(textwrap.dedent("""
        import math


        def f(x, s: str):
            total = 0.0
            for i in range(3):
                try:
                    import math as m
                    n = int(s) + i + 0 * m.pi
                except ValueError as problem:
                    n = len(str(problem)) % 3
                total = total + n * math.sin(x)
                x = x * 1.5
            return total
    """))
    result = subprocess.run([sys.executable, "-m", "srcdiff", "generate", "model.py"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        import model
        import model_grad
        for s in ("2", "two"):
            assert model_grad.grad_f(0.3, s) == srcdiff.grad(model.f)(0.3, s)
            assert_close([model_grad.grad_f(0.3, s)], central_difference(model.f, (0.3, s),
                                                                         (0,)), rel=1e-7)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("model", None)
        sys.modules.pop("model_grad", None)


def test_explain_runs_the_try():
    from programs_try import raising_in_loop
    explanation = srcdiff.explain(raising_in_loop, 0.8, 3)
    text = str(explanation)
    assert "mul_1 = r * cos    ∂mul_1/∂cos = r = -5" in text  # 10 // (0 - 2)
    assert "∂mul_1 (3)/∂cos = r = 0" in text  # 10 // 0 raised, caught: r = 0
    assert float(explanation.gradient["x"]) == pytest.approx(
        srcdiff.grad(raising_in_loop)(0.8, 3))


def scale_from(x, config):
    try:
        scale = config["scale"]
    except KeyError:
        scale = 2.0
    return np.mean(scale * x)


def test_what_a_try_assigns_must_be_a_number_where_a_derivative_reads_it():
    # srcdiff takes it for a number (kinds are known before the function runs): an array
    # there would change np.mean's derivative (its size), so it raises instead
    assert srcdiff.grad(scale_from)(0.5, {}) == 2.0
    assert srcdiff.grad(scale_from)(0.5, {"scale": 3}) == 3.0
    assert srcdiff.grad(scale_from)(0.5, {"scale": np.float64(4.0)}) == 4.0
    line = inspect.getsourcelines(scale_from)[1] + 1
    message = (f"{__file__}:{line}: `scale`, assigned in this `try`, is a ndarray here; "
               "srcdiff takes what a `try` assigns for a number (an int or a float) where a "
               "derivative reads it")
    for transformation in (srcdiff.grad(scale_from), srcdiff.value_and_grad(scale_from)):
        with pytest.raises(TypeError) as caught:
            transformation(0.5, {"scale": np.ones(3)})
        assert str(caught.value) == message
    with pytest.raises(TypeError) as caught:
        srcdiff.jvp(scale_from)(0.5, {"scale": np.ones(3)}, 1.0)
    assert str(caught.value) == message


def reread_in_else(x):
    s = 0.0
    for i in range(3):
        try:
            caught = 0.806 / (i % 3)
        except ZeroDivisionError:
            caught = 0.928
        else:
            caught = caught * 0.5
        s = s + math.sin(caught * x)
    return s


def test_a_try_reading_what_it_assigned_first():
    # fuzz seed 1053: caught is saved on the tape (the loop overwrites it, the backward sweep reads it):
    # no test that it is bound may come before the try, which assigns it before reading
    x = 0.7
    expected = sum(math.cos(c * x) * c for c in (0.928, 0.806 / 1 * 0.5, 0.806 / 2 * 0.5))
    assert srcdiff.grad(reread_in_else)(x) == pytest.approx(expected, rel=1e-12)
