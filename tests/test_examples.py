"""Every example runs, as a user runs it, and prints the numbers it promises."""

import importlib.util
import math
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_example_runs_as_a_script(path):
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "def " in result.stdout  # every example shows generated source


def test_lecture_example_numbers():
    from fractions import Fraction
    results = load("lecture_chain_rule").main()
    assert results["dh/dx at 3"] == pytest.approx(2 / 3, rel=1e-15)
    assert results["exact gradient"] == Fraction(2, 3)
    assert results["chain rule"] == "∂h/∂x = 1 × 1/9 × 6 = 2/3"
    graph = load("lecture_graph").main()
    assert graph["[de/dc, de/dd]"] == [2, 6]  # e.grad_fn(1.) in PyTorch
    assert graph["[de/da, de/db]"] == [-4, 8]
    assert graph["grad"] == [-4.0, 8.0]


def test_black_scholes_matches_closed_form_greeks():
    module = load("black_scholes")
    price, greeks, expected = module.main()
    assert price == module.call_price(100.0, 95.0, 0.03, 0.2, 0.75)
    for mine, theirs in zip(greeks, expected):
        assert math.isclose(mine, theirs, rel_tol=1e-11)


def test_ode_gradient_matches_central_differences():
    value, gradient, reference = load("ode_parameters").main()
    for mine, theirs in zip(gradient, reference):
        assert math.isclose(mine, theirs, rel_tol=1e-6)


def test_newton_derivative_matches_the_implicit_function_theorem():
    for a, derivative, exact in load("newton").main():
        assert math.isclose(derivative, exact, rel_tol=1e-10)


def test_huber_fit_ignores_the_outlier_and_is_stationary():
    module = load("piecewise_loss")
    slope, intercept = module.main()
    assert abs(slope - 2.0) < 0.1 and abs(intercept - 1.0) < 0.2
    g_slope, g_intercept = module.gradient(slope, intercept)
    assert abs(g_slope) < 1e-6 and abs(g_intercept) < 1e-6
