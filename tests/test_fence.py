"""One test per refused construct: the right error, at the right place, with a caret.

Each function marks its offending line with ``# refused``; the test finds that line in
the file itself, so the expected position is not taken from srcdiff.
"""

import inspect
import math

import numpy
import pytest

import srcdiff
from srcdiff.errors import (LocatedError, MissingRuleError, SrcdiffNameError,
                            UnsupportedSyntaxError)


TABLE = [0.0, 1.0]


def marked_line(func) -> int:
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, line in enumerate(lines) if "# refused" in line)








def f_recursive(x):
    def halve(v):
        if v > 1:
            return halve(v / 2)  # refused
        return v
    return halve(x)


def f_lambda(x):
    return (lambda v: v * v)(x)  # refused


def f_nested_def(x):
    if x > 0:
        def inner(v):  # refused
            return v
    return x


def f_unknown_method(x):
    return x.conjugate()  # refused


def f_try(x):
    try:
        y = x  # refused
    except ValueError:
        y = 0.0
    return y


def f_with(x):
    with open("f") as handle:  # refused
        pass
    return x


def f_global(x):
    global SOMETHING  # refused
    return x




def f_generator(x):
    yield x  # refused


def f_string_constant(x):
    y = "text" * 2  # refused (a string assigned, passed or compared is an option)
    return x


def f_bitwise(x):
    return x & 1  # refused


def f_unknown_keyword(x):
    return numpy.mean(x, initial=1.0)  # refused (numpy.sum takes initial=, numpy.mean does not)



def f_keywords(x):
    return round(x, ndigits=2)  # refused


def f_callee_error(x):
    return helper_with_while_else(x)


def helper_with_while_else(x):
    with open(x):  # refused
        pass
    return x


f_callee_error.marked_in = helper_with_while_else  # the error points into the callee


def f_kwargs(x, **options):  # refused
    return x


def f_unknown_name(x):
    return x * undefined_constant  # refused


def f_missing_rule(x):
    return math.gamma(x)  # refused


def f_wrong_arity(x):
    return math.atan2(x, x, x)  # refused


def f_item_assignment(x):
    TABLE[0] = x  # refused
    return x


def f_no_return(x):
    y = x * 2  # refused


def f_not_every_path_returns(x):
    if x > 0:  # refused
        return x
    elif x < -1:
        return -x


def f_active_iterable(x):
    pair = (x, 2 * x)
    total = 0.0
    for v in pair + pair:  # refused
        total += v
    return total


def f_other_expression_statement(x):
    math.sqrt(x)  # refused
    return x


def f_invert(x):
    return ~x  # refused


def f_returns_tuple(x):
    return x, x  # refused


def f_del(x):
    y = x
    del y
    return y  # refused: read after del


def f_import(x):
    import cmath  # refused  # noqa: F401
    return x


def f_complex(x):
    return x * 2j  # refused


def f_string_attribute(x):
    return x * math.__name__  # refused


CASES = [
    (f_recursive, UnsupportedSyntaxError, "recursive nested functions (halve) are not supported yet"),
    (f_lambda, UnsupportedSyntaxError, "only calls to named functions are supported"),
    (f_nested_def, UnsupportedSyntaxError, "nested functions inside blocks are not supported yet"),
    (f_try, UnsupportedSyntaxError, "`try` around differentiated values is not supported: "
     "`x` is differentiated"),
    (f_with, UnsupportedSyntaxError, "`with` statements are not supported"),
    (f_global, UnsupportedSyntaxError, "`global` declarations are not supported"),
    (f_generator, UnsupportedSyntaxError, "generators (`yield`) are not supported"),
    (f_string_constant, UnsupportedSyntaxError, "str constants are not supported"),
    (f_bitwise, UnsupportedSyntaxError, "the operator `&` is not supported"),
    (f_unknown_keyword, UnsupportedSyntaxError, "numpy.mean has no parameter 'initial'"),
    (f_keywords, UnsupportedSyntaxError, "keyword arguments to primitives are not supported yet"),
    (f_callee_error, UnsupportedSyntaxError, "`with` statements are not supported"),
    (f_kwargs, UnsupportedSyntaxError, "**kwargs parameters are not supported yet"),
    (f_unknown_name, SrcdiffNameError, "name `undefined_constant` is not defined"),
    (f_missing_rule, MissingRuleError, "no derivative rule for math.gamma"),
    (f_wrong_arity, MissingRuleError, "no derivative rule for math.atan2 with 3 arguments (rules take 2)"),
    (f_item_assignment, UnsupportedSyntaxError, "assignment to an item of `TABLE`, which is not a variable"),
    (f_no_return, UnsupportedSyntaxError, "not every path through f_no_return() ends with `return"),
    (f_not_every_path_returns, UnsupportedSyntaxError, "not every path through"),
    (f_active_iterable, UnsupportedSyntaxError, "lists and tuples holding values that depend "
     "on x are not supported yet"),
    (f_other_expression_statement, UnsupportedSyntaxError, "expression statements are not supported (except print"),
    (f_invert, UnsupportedSyntaxError, "the operator `~` is not supported"),
    (f_returns_tuple, UnsupportedSyntaxError, "this function returns several values; a "
     "gradient needs a function that returns one number"),
    (f_del, UnsupportedSyntaxError, "`y` is read where `del y` may have deleted it"),
    (f_import, UnsupportedSyntaxError, "imports inside the function are not supported"),
    (f_complex, UnsupportedSyntaxError, "complex numbers are not supported"),
    (f_string_attribute, UnsupportedSyntaxError, "`math.__name__` is a str"),
]


@pytest.mark.parametrize("func, error, message", CASES, ids=[c[0].__name__ for c in CASES])
def test_refused_with_location(func, error, message):
    with pytest.raises(error) as caught:
        srcdiff.grad(func)
    failure = caught.value
    assert isinstance(failure, srcdiff.SrcdiffError)
    assert message in failure.message
    assert failure.filename == __file__
    assert failure.lineno == marked_line(getattr(func, "marked_in", func))
    assert "# refused" in failure.source_line
    text = str(failure)
    source_row, caret_row = text.splitlines()[1:3]
    assert source_row == "    " + failure.source_line
    column = caret_row.index("^") - 4
    assert column == failure.col
    assert failure.source_line[column] not in " \t"  # the caret points at code
    assert text.startswith(f"{__file__}:{failure.lineno}:{failure.col + 1}: ")


def test_unknown_method_of_a_parameter_refused_at_the_call():
    """``x.conjugate()`` of a parameter: ``x`` might be an object whose class defines the
    method (inlined then), so the refusal waits for the call, and is located there."""
    gradient = srcdiff.grad(f_unknown_method)
    with pytest.raises(UnsupportedSyntaxError) as caught:
        gradient(2.0)
    assert "the method `.conjugate()` is not supported" in caught.value.message
    assert caught.value.filename == __file__
    assert caught.value.lineno == marked_line(f_unknown_method)


def test_missing_rule_says_how_to_register_one():
    with pytest.raises(MissingRuleError) as caught:
        srcdiff.grad(f_missing_rule)
    assert "srcdiff.register_rule(math.gamma" in caught.value.hint
    with pytest.raises(MissingRuleError) as caught:  # a known function, an arity Python refuses
        srcdiff.grad(f_wrong_arity)
    assert caught.value.hint == "math.atan2 does not take 3 arguments: Python raises TypeError here"


def scaled_sum(*values):
    return 2.0 * sum(values)


def f_another_arity(x):
    return scaled_sum(x, x)  # refused


def test_a_rule_of_another_arity_says_how_to_register_one():
    srcdiff.register_rule(scaled_sum, lambda a: (2.0,), primal=lambda a: 2.0 * a)
    try:
        with pytest.raises(MissingRuleError) as caught:
            srcdiff.grad(f_another_arity)
        assert "no derivative rule for " in caught.value.message
        assert "scaled_sum with 2 arguments (rules take 1)" in caught.value.message
        assert "srcdiff.register_rule(" in caught.value.hint
        assert "scaled_sum, lambda x0, x1: <partial derivatives>)" in caught.value.hint
    finally:
        from srcdiff.rules import RULES
        RULES.remove(scaled_sum, 1)


def f_ufunc_out(x):
    return numpy.arctan(x, x)  # refused


def test_a_ufuncs_out_argument_is_named():
    """``np.arctan(b, a)`` passes ``a`` as ``out`` (Tangent's corpus has the line)."""
    with pytest.raises(MissingRuleError) as caught:
        srcdiff.grad(f_ufunc_out)(numpy.ones(2))
    assert "numpy.arctan with 2 arguments (rules take 1)" in caught.value.message
    assert caught.value.hint == ("numpy.arctan takes 1 operand; the next positional "
                                 "argument is its `out` array, which srcdiff does not support")
    assert caught.value.lineno == marked_line(f_ufunc_out)


def test_caret_points_at_the_construct_not_the_line_start():
    with pytest.raises(LocatedError) as caught:
        srcdiff.grad(f_missing_rule)
    failure = caught.value
    assert failure.source_line[failure.col:].startswith("math.gamma(x)")


class Holder:
    def method(self, x):
        with open(x):  # refused
            pass
        return x


def test_indented_definitions_keep_true_columns():
    with pytest.raises(UnsupportedSyntaxError) as caught:
        srcdiff.grad(Holder.method, wrt=1)
    failure = caught.value
    assert failure.lineno == marked_line(Holder.method)
    assert failure.source_line[failure.col:].startswith("with open(x):")


def test_a_bound_method_is_read_like_its_function():
    # bound methods are differentiated (tests/test_structures.py): what the method
    # does outside the language is refused where it does it
    with pytest.raises(UnsupportedSyntaxError) as caught:
        srcdiff.grad(Holder().method)
    assert caught.value.source_line[caught.value.col:].startswith("with open(x):")


def test_errors_in_a_callee_from_another_file_name_that_file(tmp_path, monkeypatch):
    (tmp_path / "helper_module.py").write_text(
        "def helper(x):\n    total = [x]\n    if x > 0.0:\n        total[0] = 2.0 * x\n"
        "    return total[0]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import helper_module

    def caller(x):
        return helper_module.helper(x) * 2

    with pytest.raises(UnsupportedSyntaxError) as caught:
        srcdiff.grad(caller)
    assert caught.value.filename == str(tmp_path / "helper_module.py")
    assert caught.value.lineno == 4
    assert "total[0] = 2.0 * x" in caught.value.source_line


def test_every_refusal_above_is_a_distinct_construct():
    assert len({c[0] for c in CASES}) == len(CASES)
