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


# examples that need a package the test extra installs but srcdiff does not require
NEEDS = {"dask_sweep.py": "distributed", "scipy_fit.py": "scipy",
         "gaussian_mixture.py": "scipy"}


# what an example prints that its own test cannot see in-process
PRINTS = {"dask_sweep.py": "200 gradients on 2 worker processes; equal to the serial ones: True"}


def needs(name):
    module = NEEDS.get(name)
    if module is not None:
        pytest.importorskip(module, reason=f"{name} needs {module}, which is not "
                            "installed: pip install -e '.[test]' installs it")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_example_runs_as_a_script(path):
    needs(path.name)
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "def " in result.stdout  # every example shows generated source
    assert PRINTS.get(path.name, "") in result.stdout


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


def _numeric(func, args, wrt):
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from arrays import numeric_gradient
    return numeric_gradient(func, list(args), wrt)


def test_logistic_regression_trains_and_its_gradient_is_right():
    import numpy
    module = load("logistic_regression")
    final, accuracy, (w, b), (X, y) = module.main()
    assert final < 0.15 and accuracy > 0.93
    for point in ((numpy.zeros(2), 0.0), (w, b)):
        dw, db = module.gradient(*point, X, y)
        expected = _numeric(module.loss, (*point, X, y), (0, 1))
        numpy.testing.assert_allclose(dw, expected[0], rtol=1e-6, atol=1e-9)
        assert db == pytest.approx(expected[1], rel=1e-6, abs=1e-9)


def test_two_layer_network_fits_and_its_gradient_is_right():
    import numpy
    module = load("two_layer_network")
    first, final, variance = module.main()
    assert first > 0.5 and final < 0.01 * variance * 5  # under 5% of the variance left
    X, y = module.data(n=20)
    rng = numpy.random.default_rng(0)
    parameters = [rng.normal(size=(2, 4)), rng.normal(size=4), rng.normal(size=4), 0.3]
    value, grads = module.gradient(*parameters, X, y)
    assert value == module.loss(*parameters, X, y)
    expected = _numeric(module.loss, (*parameters, X, y), (0, 1, 2, 3))
    for mine, theirs in zip(grads, expected):
        numpy.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-9)


def test_gaussian_mixture_finds_the_means_with_scipy_and_its_gradient_is_right():
    import numpy
    pytest.importorskip("scipy")
    module = load("gaussian_mixture")
    value, found, true_means, theta, X = module.main()
    numpy.testing.assert_allclose(found, true_means, atol=0.1)
    rng = numpy.random.default_rng(1)
    for point in (theta, theta + 0.3 * rng.normal(size=theta.shape)):
        expected = _numeric(module.negative_log_likelihood, (point, X[:50]), (0,))[0]
        numpy.testing.assert_allclose(module.gradient(point, X[:50]), expected,
                                      rtol=1e-6, atol=1e-8)


def test_scipy_fit_finds_the_known_minima():
    import numpy
    needs("scipy_fit.py")
    module = load("scipy_fit")
    found, ridge, exact = module.main()
    assert set(found) == {"BFGS", "Newton-CG", "trust-exact"}
    for method, result in found.items():
        assert result.success, (method, result.message)
        numpy.testing.assert_allclose(result.x, numpy.ones(4), atol=1e-6)  # Rosenbrock's
    assert found["Newton-CG"].nhev > 0 and found["trust-exact"].nhev > 0  # hess was used
    X, y = module.ridge_data()
    numpy.testing.assert_allclose(exact, numpy.linalg.lstsq(
        numpy.vstack([X, numpy.sqrt(2.0) * numpy.eye(3)]), numpy.concatenate([y, numpy.zeros(3)]),
        rcond=None)[0], rtol=1e-12)  # the normal equations, solved another way
    numpy.testing.assert_allclose(ridge.x, exact, rtol=1e-8)


def test_dask_sweep_numbers():
    """The sweep's numbers (computed here; test_example_runs_as_a_script runs the example
    on its cluster of two worker processes and checks it gets these): the best angles
    against the drag-free answer (45°), the gradient against central differences."""
    needs("dask_sweep.py")
    module = load("dask_sweep")
    results = [module.sweep(*point) for point in module.GRID]
    best = module.best_angles(results)
    assert len(results) == 200 and len(best) == len(module.DRAGS)
    assert best[0.0] == pytest.approx(45.0, abs=0.2)  # 45° without drag (Euler steps)
    assert all(a > b for a, b in zip(list(best.values()), list(best.values())[1:]))
    for k in (0, 57, 199):
        speed, angle, drag = module.GRID[k]
        value, (d_angle, d_drag) = results[k]
        assert value == module.distance(speed, angle, drag)
        h = 1e-6
        for mine, plus, minus in (
                (d_angle, (speed, angle + h, drag), (speed, angle - h, drag)),
                (d_drag, (speed, angle, drag + h), (speed, angle, drag - h))):
            central = (module.distance(*plus) - module.distance(*minus)) / (2 * h)
            assert mine == pytest.approx(central, rel=1e-5, abs=1e-6)


def test_model_parameters_fit_and_the_gradient_has_their_structure():
    import numpy
    module = load("model_parameters")
    first, final, variance = module.main()
    assert final < 0.01 * variance < first
    X, y = module.data(n=15)
    params = module.initial(seed=9, width=3)
    value, grads = module.gradient(params, X, y)
    assert value == module.loss(params, X, y)
    # each leaf against central differences of the loss, moving that leaf alone
    leaves = [(params["hidden"][k], key) for k in range(2) for key in ("W", "b")] + [
        (params["out"], "W")]
    mine = [grads["hidden"][k][key] for k in range(2) for key in ("W", "b")] + [
        grads["out"]["W"]]
    for (holder, key), gradient in zip(leaves, mine):
        original = holder[key].copy()
        expected = numpy.zeros_like(original)
        for index in numpy.ndindex(original.shape):
            values = []
            for sign in (1, -1):
                holder[key] = original.copy()
                holder[key][index] += sign * 1e-6
                values.append(module.loss(params, X, y))
            expected[index] = (values[0] - values[1]) / 2e-6
        holder[key] = original
        numpy.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-9)
