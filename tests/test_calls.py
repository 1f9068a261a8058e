"""Calls to user functions are inlined; the gradient is checked as for any program."""

import math

import pytest

import srcdiff
from dual import forward_gradient
from oracles import assert_close, central_difference
from programs_calls import CALLS

IDS = [func.__name__ for func, _ in CALLS]


@pytest.mark.parametrize("func, point", CALLS, ids=IDS)
def test_calls_match_central_differences(func, point):
    wrt = tuple(i for i, v in enumerate(point) if isinstance(v, float))
    assert_close(srcdiff.grad(func, wrt=wrt)(*point), central_difference(func, point, wrt),
                 rel=1e-6, abs_=1e-8)


@pytest.mark.parametrize("func, point", CALLS, ids=IDS)
def test_calls_value(func, point):
    value, _ = srcdiff.value_and_grad(func)(*point)
    assert value == func(*point)


def test_callee_globals_are_read_where_the_callee_lives():
    from programs_calls import callee_from_another_module
    text = srcdiff.source(srcdiff.grad(callee_from_another_module))
    # the callee's own globals (`m` is its math, RATE its constant) keep their names,
    # brought into the gradient's closure because the caller's module has neither
    assert "m.tanh(div)" in text and "/ RATE" in text


def test_generated_code_documents_inlining():
    from programs_calls import module_functions_keywords_defaults
    text = srcdiff.source(srcdiff.grad(module_functions_keywords_defaults))
    assert "math.sin" in text and "def " in text and text.count("def ") == 1


def test_recursive_function_differentiated_directly():
    from programs_calls import power
    gradient = srcdiff.grad(power)
    assert_close([gradient(1.3, 5)], [5 * 1.3 ** 4], rel=1e-14)  # d/dx x^5 = 5 x^4
    # the recursive call's adjoint is x (b_power_1 = 1.0 times x), passed to the VJP
    assert "power_vjp(x, sub, x)" in srcdiff.source(gradient)


def test_recursion_agrees_with_forward_mode():
    from programs_calls import mutual_recursion
    assert_close([srcdiff.grad(mutual_recursion)(0.4, 5)],
                 forward_gradient(mutual_recursion, (0.4, 5), (0,)), rel=1e-12)


def test_a_helpers_string_flag_picks_its_branch_where_the_gradient_is_written():
    """activation(x, "relu") inlined: the test of the string is decided when the gradient
    is written (the branch taken is the one Python takes), so the gradient holds only the
    code of the branches taken, and no test of a string is left."""
    from programs_calls import string_flags_of_a_helper
    text = srcdiff.source(srcdiff.grad(string_flags_of_a_helper, wrt=(0, 1)))
    assert "'tanh'" not in text and "'relu'" not in text and "returned" not in text, text
    assert "math.tanh" in text and "max(" in text
    x, w = 0.3, 0.7
    t = math.tanh(x * w)
    assert srcdiff.grad(string_flags_of_a_helper, wrt=(0, 1))(x, w) == pytest.approx(
        ((1 - t * t) * w + w, (1 - t * t) * x + x), rel=1e-14)


def test_a_string_option_of_the_function_is_a_value_at_run_time():
    from programs_calls import string_option_of_the_function as f
    gradient = srcdiff.grad(f)
    mean = (math.cos(0.6) + 1.2 - math.exp(-0.6)) / 3
    assert gradient(0.6, "mean") == pytest.approx(mean, rel=1e-14)
    assert gradient(0.6, "sum") == pytest.approx(3 * mean, rel=1e-14)
    with pytest.raises(ValueError, match="reduction is 'mean' or 'sum', not 'max'"):
        gradient(0.6, "max")
    assert srcdiff.jvp(f)(0.6, "sum", 1.0)[1] == pytest.approx(3 * mean, rel=1e-14)


def test_an_unknown_flag_raises_as_the_function_does():
    from programs_calls import activation

    def unknown(x):
        return activation(x, "gelu")
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        srcdiff.grad(unknown)(0.5)
    text = srcdiff.source(srcdiff.grad(unknown))
    assert text.count("raise ValueError(") == 1 and "unknown activation" in text, text


def string_arithmetic(x, kind="fast"):
    label = kind + "_mode"  # refused
    if label == "fast_mode":
        return x * x
    return x


def string_formatted_into_a_number(x):
    return float("%.3f" % x)  # refused


def returns_a_string(x):
    if x > 0:
        return "positive"  # refused
    return x


@pytest.mark.parametrize("func", [string_arithmetic, string_formatted_into_a_number,
                                  returns_a_string])
def test_strings_anywhere_else_are_refused_where_written(func):
    """A string is an option: passed, assigned, compared. In arithmetic (where it could
    carry a number's value, rounded, past its derivative) it is refused where written."""
    import inspect
    from srcdiff.errors import UnsupportedSyntaxError
    with pytest.raises(UnsupportedSyntaxError, match="str constants are not supported") as caught:
        srcdiff.grad(func)
    lines, first = inspect.getsourcelines(func)
    assert caught.value.lineno == first + next(i for i, line in enumerate(lines)
                                               if "# refused" in line)
