"""Each pipeline stage, tested on the source it prints."""

import ast
import math
import textwrap

import pytest

import srcdiff

from srcdiff.analyse import analyse
from srcdiff.lower import lower
from srcdiff.normalize import normalize
from srcdiff.optimize import optimize
from srcdiff.parse import parse
from srcdiff.pipeline import STAGES, generate
from srcdiff.reverse import reverse


def stage_source(func, until, wrt=("x",)):
    function = normalize(parse(func))
    if until == "normalize":
        return function.source()
    function = lower(function)
    if until == "lower":
        return function.source()
    function = reverse(analyse(function, wrt), "grad")
    if until == "reverse":
        return function.source()
    return optimize(function).source()


def expect(text):
    return textwrap.dedent(text).strip()


def f_nested(x, y):
    return math.sin(x * y) / (1 + x ** 2)


def test_lower_names_temporaries_after_operations():
    assert stage_source(f_nested, "lower") == expect("""
        def f_nested(x, y):
            mul = x * y
            sin = math.sin(mul)
            power = x ** 2
            add = 1 + power
            f_nested = sin / add
            return f_nested
    """)


def f_overwrite(x):
    y = x * x
    y = y * x
    x = y + 1.0
    return x


def test_lower_renames_overwritten_variables():
    assert stage_source(f_overwrite, "lower") == expect("""
        def f_overwrite(x):
            y = x * x
            y_1 = y * x
            x_1 = y_1 + 1.0
            return x_1
    """)


def test_reverse_accumulates_every_use():
    assert stage_source(f_overwrite, "reverse") == expect("""
        def grad(x):
            y = x * x
            y_1 = y * x
            x_1 = y_1 + 1.0
            b_x_1 = 1.0
            b_y_1 = b_x_1
            b_y = b_y_1 * x
            b_x = b_y_1 * y
            b_x += b_y * x
            b_x += b_y * x
            return __gradient__(b_x, x)
    """)


def test_optimize_removes_unit_adjoints_and_dead_values():
    """(``__gradient__`` marks the returned gradient until it gets its final form: a float
    here, an array of the parameter's shape of its own for an array.)"""
    assert stage_source(f_overwrite, "optimize") == expect("""
        def grad(x):
            y = x * x
            b_x = y
            b_x += x * x
            b_x += x * x
            return __gradient__(b_x, x)
    """)


def f_inactive(x, n):
    k = math.floor(n)
    scale = k * 2.0
    return scale * x


def test_inactive_values_get_no_adjoint():
    text = stage_source(f_inactive, "reverse")
    assert "b_k" not in text and "b_n" not in text and "b_scale" not in text
    assert "b_x = b_f_inactive * scale" in text


def test_stages_listed_in_order():
    assert STAGES == ("normalize", "lower", "reverse", "optimize")
    generated = generate(f_nested, ("x",), name="g")
    assert list(generated.stages) == list(STAGES)
    for function in generated.stages.values():
        compile(function.source(), "<stage>", "exec")


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_prints_valid_python(stage):
    compile(stage_source(f_nested, stage, ("x", "y")), "<stage>", "exec")


def sin_cos(x, y):
    c = math.cos(x)
    s = math.sin(x)
    return s * c + math.exp(y) * x


def test_partials_reuse_values_the_forward_sweep_computed():
    """cse across sweeps: the derivative of sin is the cos the function already has."""
    gradient = srcdiff.grad(sin_cos, wrt=(0, 1))
    text = srcdiff.source(gradient)
    backward = "\n".join(line.split("#")[0] for line in text[text.index("b_"):].splitlines())
    assert "math.cos(x)" not in backward and "math.sin(x)" not in backward
    assert "math.exp(y)" not in backward
    dx, dy = gradient(0.7, 0.2)
    assert dx == pytest.approx(math.cos(1.4) + math.exp(0.2), rel=1e-12)
    assert dy == pytest.approx(0.7 * math.exp(0.2), rel=1e-12)
    unoptimised = generate(sin_cos, ("x", "y"), name="g", optimize=False)
    assert "b_s * math.cos(x)" in unoptimised.source
    assert unoptimised.function(0.7, 0.2) == pytest.approx((dx, dy), rel=1e-12)


def gaussian_plus_erf(x):
    e = math.exp(-(x * x))
    return math.erf(x) + 3.0 * e


def test_partials_reuse_values_the_forward_sweep_computed_from_its_own_temporaries():
    """The partial of erf, 2/sqrt(pi) * exp(-(x * x)), is found through the temporaries the
    forward sweep computed it with (x * x, then its negation, then exp): no second exp."""
    def calls_of_exp(text):  # in the code, not in the comments
        return sum(line.split("#")[0].count("math.exp(") for line in text.splitlines())
    text = generate(gaussian_plus_erf, ("x",), name="g").source
    assert calls_of_exp(text) == 1, text
    plain = generate(gaussian_plus_erf, ("x",), name="g", disable=("reuse",))
    assert calls_of_exp(plain.source) == 2, plain.source
    for x in (-1.3, 0.0, 0.4, 2.5):  # (2/sqrt(pi) - 6x) exp(-x^2), by hand
        expected = (2 / math.sqrt(math.pi) - 6 * x) * math.exp(-x * x)
        assert srcdiff.grad(gaussian_plus_erf)(x) == pytest.approx(expected, rel=1e-13, abs=1e-300)
        assert plain.function(x) == pytest.approx(expected, rel=1e-13, abs=1e-300)


def f_rk_step(k, x, steps):
    v = 0.0
    for _ in range(steps):
        a = -k * x - 0.5 * x * x * x
        x = x + 0.1 * v
        v = v + 0.1 * a
    return x * v


def test_fuse_writes_forward_temporaries_back_into_expressions_in_reverse_mode():
    """Reverse mode too: the forward sweep's temporaries read once are written into
    their reader (the loop computes ``a`` in one statement, as the user wrote it); the
    adjoints keep their own statements, each with the rule it comes from; the gradient
    is the same to the last bit."""
    fused = generate(f_rk_step, ("k", "x"), name="g")
    plain = generate(f_rk_step, ("k", "x"), name="g", disable=("fuse",))
    assert "a = neg * x - mul_2 * x * x" in fused.source or \
        "a = neg * x - 0.5 * x * x * x" in fused.source, fused.source
    assert "a = sub_1" not in fused.source and "a = sub" not in fused.source
    assert fused.source.count("# grad of:") == plain.source.count("# grad of:")
    for args in [(2.0, 0.5, 7), (0.3, -1.25, 1), (1.5, 2.0, 0)]:
        assert fused.function(*args) == plain.function(*args)


def test_fuse_leaves_a_temporary_a_later_iteration_reads():
    """``t`` is read once in the loop body's text, but the next iteration reads it
    again (``u = t + 1.0`` before ``t`` is assigned): it is live after its reader, and
    written into that reader it would be gone when the next iteration reads it."""
    from srcdiff.ir import Function, Namer
    from srcdiff.optimize.fuse import fuse
    body = ast.parse(textwrap.dedent("""
        t = 0.0
        u = 0.0
        for i in r:
            u = t + 1.0
            t = x * y
            s = t * 2.0
        return s + u
    """)).body
    function = Function("f", ast.parse("def f(x, y, r): pass").body[0].args, body, None,
                        Namer(), synthetic={"t", "u", "s"})
    source = fuse(function).source()
    assert "t = x * y" in source and "s = t * 2.0" in source, source
    namespace = {}
    exec(source, namespace)
    assert namespace["f"](3.0, 4.0, range(3)) == 24.0 + 13.0


def test_fuse_substitutes_only_into_a_reader_that_reads_the_temporary_once():
    from srcdiff.ir import Function, Namer
    from srcdiff.optimize.fuse import fuse
    body = ast.parse("t = x * y\ns = t * t\nm = x - y\nreturn s + m").body
    function = Function("f", ast.parse("def f(x, y): pass").body[0].args, body, None,
                        Namer(), synthetic={"t", "s", "m"})
    source = fuse(function).source()
    assert "t = x * y" in source and "return t * t + (x - y)" in source, source


def _propagated(text, synthetic, parameters="r, e"):
    """``propagate`` on a body, and the functions before and after, to compare."""
    from srcdiff.ir import Function, Namer
    from srcdiff.optimize.propagate import propagate
    body = ast.parse(textwrap.dedent(text)).body
    function = Function("f", ast.parse(f"def f({parameters}): pass").body[0].args, body, None,
                        Namer(), synthetic=set(synthetic))
    source = propagate(function).source()
    before, after = {}, {}
    before["math"] = after["math"] = math
    exec(function.source(), before)
    exec(source, after)
    return source, before["f"], after["f"]


def test_propagate_knows_a_number_a_loop_restores_at_the_end_of_every_pass():
    """The backward sweep resets an adjoint to 0.0 after reading it; before the loop it
    is 0.0 too: at the top of every pass it holds 0.0, and the first accumulation is an
    assignment. ``s``, whose value the pass carries to the next, keeps its ``+=``."""
    source, before, after = _propagated("""
        b = 0.0
        s = 0.0
        for i in r:
            b += e * i
            s += b
            b = 0.0
        return s
    """, {"b", "s"})
    assert "b = 0.0 + e * i" in source and "s += b" in source, source
    for r in (range(0), range(1), range(5)):
        assert after(r, 1.5) == before(r, 1.5) == sum(1.5 * i for i in r)


@pytest.mark.parametrize("text", [
    # the end of the pass leaves another number: not a number at the top of every pass
    """
    b = 0.0
    s = 0.0
    for i in r:
        s += b
        b += e * i
        b = 1.0
    return s
    """,
    # ``continue`` goes back to the top before the reset
    """
    b = 0.0
    s = 0.0
    for i in r:
        b += e * i
        s += b
        if i > 1:
            continue
        b = 0.0
    return s
    """,
    # a nested block may leave it changed
    """
    b = 0.0
    s = 0.0
    for i in r:
        b += e * i
        s += b
        if i > 1:
            b = 0.0
    return s
    """,
    # the loop's own target is assigned at the top of each pass
    """
    b = 0.0
    s = 0.0
    for b in r:
        s += b
        b = 0.0
    return s
    """,
    # -0.0 at the end of the pass, 0.0 before the loop: not the same number
    """
    b = 0.0
    s = 0.0
    for i in r:
        b += e * i
        s += math.copysign(1.0, b)
        b = -0.0
    return s
    """,
])
def test_propagate_keeps_accumulations_a_loop_does_not_reset(text):
    """Each loop breaks the invariant in its own way: the first accumulation stays."""
    source, before, after = _propagated(text, {"b", "s"})
    assert "b += e * i" in source or "s += b" in source, source
    assert "b = 0.0 + " not in source and "s = 0.0 + " not in source, source
    for r in (range(0), range(1), range(5)):
        assert after(r, -1.5) == before(r, -1.5)
