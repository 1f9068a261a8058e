"""End-to-end gradients over the shared collection, against SymPy and central differences."""

import pytest

import srcdiff
from oracles import assert_close, central_difference, sympy_gradient
from programs import PROGRAMS

IDS = [func.__name__ for func, _, _ in PROGRAMS]
SYMPY_PROGRAMS = [entry for entry in PROGRAMS if entry[2]]


def _wrt_choices(point):
    n = len(point)
    single = [(i,) for i in range(n)]
    return single + ([tuple(range(n))] if n > 1 else [])


@pytest.mark.parametrize("func, point, use_sympy", SYMPY_PROGRAMS,
                         ids=[func.__name__ for func, _, _ in SYMPY_PROGRAMS])
def test_gradient_matches_sympy(func, point, use_sympy):
    """Programs with piecewise-constant parts are checked by central differences only."""
    for wrt in _wrt_choices(point):
        assert_close(srcdiff.grad(func, wrt=wrt)(*point), sympy_gradient(func, point, wrt), rel=1e-10)


@pytest.mark.parametrize("func, point, use_sympy", PROGRAMS, ids=IDS)
def test_gradient_matches_central_differences(func, point, use_sympy):
    for wrt in _wrt_choices(point):
        if any(isinstance(point[i], int) for i in wrt):
            continue  # integer parameters (loop counts, powers) are not perturbed
        gradient = srcdiff.grad(func, wrt=wrt)
        assert_close(gradient(*point), central_difference(func, point, wrt),
                     rel=1e-6, abs_=1e-8)


@pytest.mark.parametrize("func, point, use_sympy", PROGRAMS, ids=IDS)
def test_value_and_grad(func, point, use_sympy):
    value, gradient = srcdiff.value_and_grad(func)(*point)
    assert value == func(*point)
    assert gradient == srcdiff.grad(func)(*point)


@pytest.mark.parametrize("func, point, use_sympy", PROGRAMS, ids=IDS)
def test_unoptimized_pipeline_agrees(func, point, use_sympy):
    """The optimiser only removes work: with and without it, the same numbers."""
    from srcdiff.pipeline import generate
    names = func.__code__.co_varnames[:len(point)]
    wrt = tuple(n for n, v in zip(names, point) if not isinstance(v, int))
    plain = generate(func, wrt, name="plain", optimize=False).function(*point)
    optimized = generate(func, wrt, name="optimized").function(*point)
    plain = plain if isinstance(plain, tuple) else (plain,)
    optimized = optimized if isinstance(optimized, tuple) else (optimized,)
    assert_close(optimized, plain, rel=1e-14)


def test_lecture_numbers():
    from programs import lecture, lecture_graph
    assert srcdiff.grad(lecture)(3.0) == pytest.approx(2 / 3, rel=1e-15)
    # e = c * d: de/dc = d = 2 and de/dd = c = 6 at a = 2, b = 4
    assert srcdiff.grad(lambda_free_e, wrt=(0, 1))(6.0, 2.0) == (2.0, 6.0)
    # flowing on: de/da = d - c = -4, de/db = d + c = 8
    assert srcdiff.grad(lecture_graph, wrt=("a", "b"))(2.0, 4.0) == (-4.0, 8.0)


def lambda_free_e(c, d):
    return c * d


def test_integer_arguments_give_the_same_gradient():
    from programs import lecture
    assert srcdiff.grad(lecture)(3) == pytest.approx(2 / 3, rel=1e-15)


def test_every_rule_appears_in_the_collection():
    """Each primitive of the table is exercised end to end by some program."""
    import ast
    import inspect
    from srcdiff.rules import RULES
    text = "\n".join(inspect.getsource(func) for func, _, _ in PROGRAMS)
    used = {node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Attribute, ast.Name))}
    operators = {"a + b": "+", "a - b": "-", "a * b": "*", "a / b": "/", "a ** b": "**",
                 "a % b": "%", "-a": "-", "+a": "+"}
    for rule in RULES:
        if rule.name.startswith(("numpy.", "scipy.")):
            continue  # NumPy's rules: every one is checked by tests/test_arrays.py
        if rule.name.startswith("srcdiff.runtime."):
            continue  # what generated array code calls (number_like): differentiated again
            # by every hvp of an array program returning a number (tests/test_dtypes.py)
        short = rule.name.split(".")[-1]
        assert short in used or rule.name in operators, f"no program calls {rule.name}"
