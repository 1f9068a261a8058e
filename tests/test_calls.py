"""Calls to user functions are inlined; the gradient is checked as for any program."""

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
